#!/bin/sh
# 76-remote-e2e.sh: remote delivery end to end with the real delivery
# set: sluice-start running sluice-send, sluice-rspawn, sluice-remote
# (and sluice-lspawn/sluice-local for the bounces) in a private
# instance, against SMTP sinks (tests/smtpsink.py) on 127.0.0.1 and ::1
# high ports, routed with control/smtproutes; a test DNS server
# (tests/helpers/dnsd.c) named by DNSCACHEIP in sluice-start's
# environment. The sender is a local user of the instance, so bounces
# land in its Maildir.
#
#  1. 1,000 messages to three domains (a76.test and c76.test on
#     127.0.0.1, b76.test on [::1]); every 10th message to three
#     recipients at one domain, every 15th also to one recipient at a
#     second domain: each recipient is delivered exactly once (the
#     sinks' saved envelopes), each message once per domain (number of
#     transactions), the recipients of one message at one domain in one
#     transaction; the queue is empty after;
#  2. a sink answering 451 to some recipients: the others are delivered
#     at once, those stay queued; once the sink accepts and sluice-send
#     gets SIGALRM (through sluice-start) they are delivered, once;
#  3. a sink answering 550 to a recipient: the other recipient is
#     delivered, an RFC 3464 bounce (tests/dsncheck.py) with 5.1.1 for
#     that recipient reaches the sender's Maildir, with Return-Path <>;
#  4. by MX through dnsd (smtproutes "domain::port": MX on that port):
#     delivered to the MX host's sink, dnsd asked for the MX;
#  5. a null MX (RFC 7505): a bounce with 5.1.10;
#  6. the queue is empty (sluice-qstat, sluice-fsck exits 0); SIGTERM
#     ends the set with exit 0.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh
DNSD=$BIN/tests/dnsd
[ -x "$DNSD" ] || { bad "dnsd built" "$DNSD missing"; done_testing; }

SPLIT=$(sed -n 1p conf-split)
DOM=e2e76.test
SU=sl76s
SENDER=$SU@$DOM
NMSG=${E2E_REMOTE_MESSAGES:-1000}
P=$((12000 + ($$ * 7) % 9000))   # this run's ports: P..P+9
: > "$T/pids"

cleanup() {
  kill_set 100
  for p in $(cat "$T/pids" 2> /dev/null); do kill "$p" 2> /dev/null; done
  userdel -r "$SU" > /dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "$DOM" > "$H/control/me"
echo "$DOM" > "$H/control/locals"
echo 5 > "$H/control/timeoutconnect"
echo 60 > "$H/control/timeoutremote"
# the MX host of case 4 stands for another host, on 127.0.0.1: not this
# host for the loop check of sluice-remote (79-loop.sh)
echo 127.0.0.1 > "$H/control/notipme"

mkuser "$SU"
SHOME=$(home_of "$SU")

# sink NAME PORT HOST [options]: a smtpsink.py saving into $T/NAME;
# its pid in $T/NAME.pid
sink() {
  name=$1 port=$2 host=$3; shift 3
  rm -rf "$T/$name" "$T/$name.ready"; mkdir -p "$T/$name"
  python3 tests/smtpsink.py --host "$host" --port "$port" --dir "$T/$name" --ready "$T/$name.ready" \
    --pipelining "$@" 2> "$T/$name.err" &
  echo $! >> "$T/pids"
  echo $! > "$T/$name.pid"
  k=0
  while [ ! -f "$T/$name.ready" ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
  [ -f "$T/$name.ready" ] || { bad "sink $name started" "$(cat "$T/$name.err")"; done_testing; }
}
sink a $P 127.0.0.1
sink b $((P + 1)) ::1
sink c $((P + 2)) 127.0.0.1
sink t $((P + 3)) 127.0.0.1 --rcpt 'temp*=451'
sink d $((P + 4)) 127.0.0.1 --rcpt 'perm*=550'
sink mx $((P + 5)) 127.0.0.1

# dnsd: an MX for mx76.test, a null MX for null76.test
cat > "$T/zone" <<EOF
MX mx76.test 10 mail.mx76.test
A mail.mx76.test 127.0.0.1
NULLMX null76.test
EOF
DP=$((P + 6))
"$DNSD" 127.0.0.1 "$DP" "$T/zone" > "$T/dns.log" 2> "$T/dns.err" &
echo $! >> "$T/pids"
k=0
while ! grep -q '^ready$' "$T/dns.log" 2> /dev/null && [ $k -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
check "dnsd ready" grep -q '^ready$' "$T/dns.log"

cat > "$H/control/smtproutes" <<EOF
a76.test:127.0.0.1:$P
b76.test:[::1]:$((P + 1))
c76.test:127.0.0.1:$((P + 2))
t76.test:127.0.0.1:$((P + 3))
d76.test:127.0.0.1:$((P + 4))
mx76.test::$((P + 5))
EOF

# --- the delivery set, with DNSCACHEIP in its environment ---
start_set DNSCACHEIP=127.0.0.1:$DP
check "sluice-start running" kill -0 "$spid"

inject() {
  subj=$1; shift
  printf 'From: %s\nTo: %s\nSubject: %s\n\nbody of %s\n.leading dot\n' "$SENDER" "$1" "$subj" "$subj" > "$T/msg"
  { printf 'F%s\0' "$SENDER"; for r; do printf 'T%s\0' "$r"; done; printf '\0'; } > "$T/env"
  "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env"
}
# rcpts SINK...: every recipient the sinks accepted, one a line
rcpts() { for s; do for f in "$T/$s"/*.env; do [ -f "$f" ] && sed 1d "$f"; done; done; }
ntrans() { n=0; for s; do c=$(ls "$T/$s" | grep -c '\.env$'); n=$((n + c)); done; echo "$n"; }

# --- 1. the bulk ---
: > "$T/want"
: > "$T/groups"
doms="a76.test b76.test c76.test"
fails=0 trans=0
t0=$(date +%s)
i=0
while [ $i -lt "$NMSG" ]; do
  d=$(echo $doms | cut -d' ' -f$((i % 3 + 1)))
  set -- "m$i-0@$d"
  trans=$((trans + 1))
  if [ $((i % 10)) -eq 0 ]; then
    set -- "$@" "m$i-1@$d" "m$i-2@$d"
    echo "<m$i-0@$d> <m$i-1@$d> <m$i-2@$d>" >> "$T/groups"
  fi
  if [ $((i % 15)) -eq 0 ]; then
    d2=$(echo $doms | cut -d' ' -f$(((i + 1) % 3 + 1)))
    set -- "$@" "m$i-x@$d2"
    trans=$((trans + 1))
  fi
  for r; do echo "<$r>"; done >> "$T/want"
  inject "e2e76-$i" "$@" || fails=$((fails + 1))
  i=$((i + 1))
done
bulk_done() { [ "$(rcpts a b c | wc -l)" -ge "$want_total" ] && queue_empty; }
bulk_wait bulk_done
echo "# $NMSG messages ($want_total recipients, $trans transactions) in $((t1 - t0)) s" >&2
check "queue empty after the bulk" queue_empty
rcpts a b c | sort > "$T/got.s"
sort "$T/want" > "$T/want.s"
check_eq "recipients accepted by the sinks" "$(wc -l < "$T/got.s" | tr -d ' ')" "$want_total"
check_eq "no recipient delivered twice" "$(uniq -d "$T/got.s" | head -n 5)" ""
check "every recipient exactly once" cmp -s "$T/got.s" "$T/want.s"
check_eq "one transaction per message and domain" "$(ntrans a b c)" "$trans"
for s in a b c; do
  check_eq "sink $s: only its domain" "$(rcpts $s | grep -vc "@${s}76\.test>\$")" 0
done
check_eq "every envelope sender <$SENDER>" "$(head -q -n 1 "$T"/[abc]/*.env | grep -c "^FROM:<$SENDER>")" "$trans"
# each group of three in one transaction: the three lines of one .env
cat > "$T/groups.py" <<'PY'
import glob, sys
where = {}
for f in glob.glob(sys.argv[1] + "/[abc]/*.env"):
    for line in open(f).read().split("\n")[1:]:
        if line:
            where.setdefault(line, []).append(f)
bad = 0
for g in open(sys.argv[1] + "/groups"):
    r = g.split()
    files = set(x for a in r for x in where.get(a, []))
    if len(files) != 1:
        bad += 1
print(bad)
PY
check_eq "several recipients at one domain in one transaction ($(wc -l < "$T/groups" | tr -d ' ') groups)" \
  "$(python3 "$T/groups.py" "$T")" 0
f=$(grep -l '^<m10-0@b76.test>$' "$T"/b/*.env | head -n 1)
check "a message's data intact (dot unstuffed)" grep -q '^\.leading dot' "${f%.env}.data"
check "the IPv6 sink was used" test "$(ntrans b)" -gt 0
check_eq "no bounce for the bulk" "$(ls "$SHOME/Maildir/new" | wc -l | tr -d ' ')" 0

# --- 2. 451 then accepted ---
inject e2e76-temp "temp1@t76.test" "fine1@t76.test" "temp2@t76.test"
first_try() { [ "$(ntrans t)" -ge 1 ] && grep -q 'deferral: .*temp2@t76.test' "$T/log"; }
check "451: first attempt made" wait_for 30 first_try
check_eq "451: fine1 delivered at once" "$(rcpts t)" "<fine1@t76.test>"
check_eq "451: message still queued" "$("$H/bin/sluice-qstat" | sed -n 1p)" "messages in queue: 1"
id=$(sed -n 's/^starting delivery [0-9]*: msg \([0-9]*\)\.[0-9]* to remote .*temp1@t76.test.*/\1/p' "$T/log" | tail -n 1)
check_eq "451: remote/N/ID marks" "$(tail -c +23 "$H/queue/remote/$((${id:-0} % SPLIT))/${id:-0}" 2> /dev/null | tr '\0' ' ')" \
  "Ttemp1@t76.test Dfine1@t76.test Ttemp2@t76.test "
kill "$(cat "$T/t.pid")"
sleep 0.5
sink t2 $((P + 3)) 127.0.0.1
sleep 2
check_eq "451: nothing before SIGALRM" "$(ntrans t2)" 0
kill -ALRM "$spid"
retried() { [ "$(ntrans t2)" -ge 1 ] && queue_empty; }
check "451: retried after SIGALRM" wait_for 30 retried
check_eq "451: the two deferred delivered once, in one transaction" "$(rcpts t2 | tr '\n' ' ')" "<temp1@t76.test> <temp2@t76.test> "
check_eq "451: one transaction" "$(ntrans t2)" 1

# bounces in the sender's Maildir: bounce SUBJECT-PART writes the one
# bounce whose header mentions it to $T/bounce and its Return-Path to
# $T/bounce.rp; prints how many matched
cat > "$T/bounce.py" <<'PY'
import mailbox, sys
box = mailbox.Maildir(sys.argv[1], factory=None, create=False)
hits = [k for k in box.keys() if sys.argv[2].encode() in box.get_bytes(k)]
print(len(hits))
if hits:
    raw = box.get_bytes(hits[0])
    open(sys.argv[3], "wb").write(raw)
    lines = raw.split(b"\n")
    open(sys.argv[3] + ".top", "wb").write(lines[0] + b"\n" + lines[1] + b"\n")
PY
bounce() { python3 "$T/bounce.py" "$SHOME/Maildir" "$1" "$T/bounce"; }
bounced() { [ "$(ls "$SHOME/Maildir/new" | wc -l)" -ge "$1" ] && queue_empty; }

# --- 3. 550: a bounce ---
inject e2e76-perm "perm1@d76.test" "ok1@d76.test"
check "550: bounce delivered to the sender" wait_for 30 bounced 1
check_eq "550: ok1 delivered" "$(rcpts d)" "<ok1@d76.test>"
check_eq "550: one bounce for it" "$(bounce 'Subject: e2e76-perm')" 1
python3 tests/dsncheck.py < "$T/bounce" > "$T/dsn" 2> "$T/dsn.err"
check_eq "550: RFC 3464 bounce (dsncheck)" "$?:$(cat "$T/dsn.err")" "0:"
check_eq "550: the failed recipient, 5.1.1, failed" "$(cat "$T/dsn")" "perm1@d76.test 5.1.1 failed"
check_eq "550: bounce has Return-Path <> and Delivered-To" "$(cat "$T/bounce.top")" "Return-Path: <>
Delivered-To: $SENDER"
check "550: the server's reply quoted" grep -q '550 5\.1\.1' "$T/bounce"

# --- 4. by MX through dnsd ---
inject e2e76-mx "viamx@mx76.test"
mx_done() { [ "$(ntrans mx)" -ge 1 ] && queue_empty; }
check "MX: delivered" wait_for 30 mx_done
check_eq "MX: to the MX host's sink" "$(rcpts mx)" "<viamx@mx76.test>"
check "MX: dnsd asked for the MX of mx76.test" grep -q '^udp mx76.test 15$' "$T/dns.log"
check "MX: dnsd asked for the MX host's address" grep -q '^udp mail.mx76.test 1$' "$T/dns.log"

# --- 5. null MX ---
inject e2e76-nullmx "nobody@null76.test"
check "null MX: bounce delivered" wait_for 30 bounced 2
check_eq "null MX: one bounce" "$(bounce 'Subject: e2e76-nullmx')" 1
python3 tests/dsncheck.py < "$T/bounce" > "$T/dsn" 2> "$T/dsn.err"
check_eq "null MX: RFC 3464 bounce" "$?:$(cat "$T/dsn.err")" "0:"
check_eq "null MX: 5.1.10" "$(cat "$T/dsn")" "nobody@null76.test 5.1.10 failed"
check "null MX: dnsd asked" grep -q '^udp null76.test 15$' "$T/dns.log"

# --- 6. the end ---
end_checks mess info local remote todo bounce
check_eq "exactly two bounces in all" "$(ls "$SHOME/Maildir/new" | wc -l | tr -d ' ')" 2
done_testing
