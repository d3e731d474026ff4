#!/bin/sh
# 101-report.sh: sluice-report(8) on real multilog logs of a private
# instance. The delivery set runs with its log through multilog t (tai64n
# stamps); sluice-smtpd sessions (as the daemon user) log through another
# multilog. Mail: 4 local messages, 3 remote ones to an SMTP sink
# (tests/smtpsink.py, routed by control/smtproutes), one to a recipient
# the sink defers (451) and one it refuses (550: a bounce to the local
# sender), 2 SMTP sessions (one accepted, one relay attempt refused).
#  1. the text report counts received, delivered, deferred, bounced and
#     rejected messages, bytes, top senders/recipients/domains, the
#     deferral (451) and bounce (550) reasons, delay percentiles and a
#     per-hour table;
#  2. --since after the last line gives an empty report; --until before
#     the first one too;
#  3. --html writes a page that python's html.parser reads, with two SVG
#     charts with bars and no reference to the network; when chromium
#     is installed, headless chromium renders it and a screenshot is
#     written (its path is printed).
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
command -v multilog > /dev/null 2>&1 || { bad "multilog (daemontools) missing"; done_testing; }
inst_fresh

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
DOM=e2e101.test
U=sl101u
mpid=''
cleanup() {
  kill_set 100
  [ -n "$mpid" ] && kill "$mpid" 2> /dev/null
  for f in "$T"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2> /dev/null; done
  userdel -r "$U" > /dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
echo "$DOM" > "$H/control/me"
echo "$DOM" > "$H/control/locals"
echo "$DOM" > "$H/control/rcpthosts"
echo 127.0.0.1 > "$H/control/notipme"
mkuser "$U"

free_ports 20000 2
rm -rf "$T/sink"; mkdir -p "$T/sink"
python3 tests/smtpsink.py --host 127.0.0.1 --port "$P" --dir "$T/sink" --ready "$T/sink.ready" \
  --rcpt 'temp*=451' --rcpt 'perm*=550' 2> "$T/sink.err" &
echo $! > "$T/sink.pid"
check "sink ready" wait_for 10 test -f "$T/sink.ready"
echo "r101.test:127.0.0.1:$P" > "$H/control/smtproutes"

# the delivery set, its log through multilog t
mkdir -p "$T/logs"
mkfifo "$T/send.fifo"
multilog t "$T/logs/sluice-send" < "$T/send.fifo" &
mpid=$!
"$H/bin/sluice-start" < /dev/null > /dev/null 2> "$T/send.fifo" &
spid=$!
check "sluice-start running" kill -0 "$spid"

inject() { # FROM RCPT SUBJECT
  printf 'From: %s\nTo: %s\nSubject: %s\n\nbody of %s\n' "$1" "$2" "$3" "$3" > "$T/msg"
  printf 'F%s\0T%s\0\0' "$1" "$2" > "$T/env"
  "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env"
}
fails=0
for i in 1 2 3 4; do inject alice@s1.example "$U@$DOM" "local $i" || fails=$((fails + 1)); done
for i in 1 2 3; do inject bob@s2.example "ok$i@r101.test" "remote $i" || fails=$((fails + 1)); done
inject carol@s3.example temp1@r101.test "deferred" || fails=$((fails + 1))
inject "$U@$DOM" perm1@r101.test "refused" || fails=$((fails + 1))
check_eq "injections" "$fails" 0

smtp() { # RCPT
  printf 'HELO client101\r\nMAIL FROM:<dave@s4.example>\r\nRCPT TO:<%s>\r\nDATA\r\nSubject: smtp\r\n\r\nhello\r\n.\r\nQUIT\r\n' "$1" |
    as "$U_DAEMON" env -i PATH=/usr/bin:/bin TCPREMOTEIP=127.0.0.1 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 PROTO=TCP \
      TCPREMOTEHOST=localhost "$H/bin/sluice-smtpd" 2>> "$T/smtpd.raw" > /dev/null
}
smtp "$U@$DOM"
smtp "victim@elsewhere101.example"
mkdir -p "$T/logs/sluice-smtpd"
multilog t "$T/logs/sluice-smtpd" < "$T/smtpd.raw"

# local 4 + smtp 1 + bounce 1 delivered, 3 remote, the deferral seen
maildir_count() { ls "$(home_of "$U")/Maildir/new" | wc -l | tr -d ' '; }
done_yet() {
  [ "$(maildir_count)" -ge 6 ] && [ "$(ls "$T/sink" | wc -l)" -ge 3 ] &&
    grep -q 'deferral' "$T/logs/sluice-send/current"
}
check "deliveries done" wait_for 90 done_yet
kill_set 100
spid=''
k=0
while kill -0 "$mpid" 2> /dev/null && [ $k -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
mpid=''

check "report" sh -c "'$H/bin/sluice-report' '$T/logs/sluice-send' '$T/logs/sluice-smtpd' > '$T/report'"
cat "$T/report"
total() { awk -v k="$1" '$2 == k && NF == 2 { print $1 }' "$T/report"; }
check_eq "received (9 + smtp + bounce)" "$(total received)" 11
check_eq "delivered" "$(total delivered)" 9
check "deferred" test "$(total deferred)" -ge 1
check_eq "bounced" "$(total bounced)" 1
check_eq "rejected" "$(total rejected)" 1
check "bytes" grep -q '[0-9.]*[kB]* *bytes received' "$T/report"
check "top sender" grep -q '^ *4  alice@s1.example$' "$T/report"
check "top recipient" grep -q "^ *6  $U@$DOM\$" "$T/report"
check "top domain" grep -q '^ *3  r101.test$' "$T/report"
check "deferral reason" sh -c "sed -n '/^Deferral reasons/,/^\$/p' '$T/report' | grep -q 451"
check "bounce reason" sh -c "sed -n '/^Bounce/,/^\$/p' '$T/report' | grep -q 550"
check "rejection reason" sh -c "sed -n '/^SMTP rejections/,/^\$/p' '$T/report' | grep -q 'RCPT 553'"
check "delay percentiles" grep -q '^  p50 [0-9.]*s  p90 [0-9.]*s  p95 [0-9.]*s  p99 [0-9.]*s  max [0-9.]*s$' "$T/report"
check "per-hour line" grep -q '^  20[0-9-]* [0-9][0-9]:00 *11 *9$' "$T/report"

"$H/bin/sluice-report" --since -0s "$T/logs/sluice-send" > "$T/empty" 2>&1
check_eq "--since now: nothing received" "$(awk '$2 == "received" && NF == 2 { print $1 }' "$T/empty")" 0
"$H/bin/sluice-report" --until 2000-01-01 "$T/logs/sluice-send" > "$T/empty" 2>&1
check_eq "--until 2000: nothing delivered" "$(awk '$2 == "delivered" && NF == 2 { print $1 }' "$T/empty")" 0
check_fail "bad option" "$H/bin/sluice-report" --bogus

check "--html" sh -c "'$H/bin/sluice-report' --html '$T/report.html' '$T/logs/sluice-send' '$T/logs/sluice-smtpd' > /dev/null"
check "html parses, two charts with bars, no network" python3 -c '
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.svg = 0; self.rect = 0; self.net = 0
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == "svg": self.svg += 1
        if tag == "rect" and a.get("class") == "bar" and float(a["height"]) > 0: self.rect += 1
        for k in ("src", "href"):
            if k in a and "://" in a[k]: self.net += 1
        if tag in ("script", "link", "img", "iframe"): self.net += 1
p = P(); p.feed(open(sys.argv[1]).read()); p.close()
sys.exit(0 if p.svg == 2 and p.rect >= 3 and p.net == 0 else "svg %d bars %d net %d" % (p.svg, p.rect, p.net))' "$T/report.html"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROMIUM" ]; then
  mkdir -p tests/tmp
  shot=$TOP/tests/tmp/101-report.png
  rm -f "$shot"
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$T/chromium" \
    --window-size=900,1400 --screenshot="$shot" "file://$T/report.html" > "$T/chromium.log" 2>&1
  check "chromium screenshot" test -s "$shot"
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$T/chromium" \
    --dump-dom "file://$T/report.html" > "$T/dom.html" 2> "$T/chromium.log"
  check "chromium DOM has the charts" test "$(grep -c '<svg' "$T/dom.html")" -eq 2
  echo "101-report: screenshot of the HTML report: $shot"
else
  echo "101-report: chromium missing: the HTML was checked with html.parser only"
fi
done_testing
