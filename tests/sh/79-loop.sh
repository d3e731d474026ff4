#!/bin/sh
# 79-loop.sh: mail for a domain whose best mail host is this host but
# which is not local here (not in control/locals or virtualdomains).
# A real DNS server, dnsmasq (Debian's dnsmasq-base), answers for the
# test domains on a loopback port; the real delivery set (sluice-start)
# of a private instance runs with DNSCACHEIP pointing at it, and this
# instance's own sluice-smtpd listens under tcpserver on 127.0.0.1, on
# the port of every "domain::port" route, taking mail for every domain
# (RELAYCLIENT): the misconfigured host of the defect, where each
# delivery came back to it, 51 times, until a 554.
#
#  1. loop79.test, MX 10 self.loop79.test = 127.0.0.1: one delivery
#     attempt, a permanent failure with 5.4.6 in the log, no connection
#     to sluice-smtpd, an RFC 3464 bounce with 5.4.6 to the sender;
#  2. backup79.test, MX 10 a sink on 127.0.0.2 (in control/notipme),
#     MX 20 self.loop79.test: this host is a backup mail host, the mail
#     goes to the sink, once;
#  then sluice-remote alone (as in 77-mxcap.sh), against the same DNS:
#  3. down79.test: MX 10 on 127.0.0.3 where nothing listens, MX 20 this
#     host, MX 30 a sink on 127.0.0.4: Z with the trouble of the better
#     host; neither this host nor the worse sink is tried; the same
#     with a better host whose name cannot be looked up, Z 4.4.3;
#  4. this host met other ways, each D 5.4.6 without a connection: a
#     domain without MX whose address is 127.0.0.1; an MX host on ::1;
#     one on 127.0.0.5 (all of 127.0.0.0/8 is this host); one on an
#     address listed in control/ipme (198.51.100.79); two MX hosts of
#     one preference, one of them this host (its sink gets nothing);
#     the address literal [127.0.0.1];
#  5. a relay named in smtproutes is not checked: a route to a sink on
#     127.0.0.1 delivers;
#  6. a malformed control/ipme: Z 4.3.5 naming the file;
#  7. sluice-showctl lists ipme and notipme and warns of the bad line.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh
for p in dnsmasq tcpserver tcprules; do
  command -v $p > /dev/null 2>&1 || { bad "$p is missing (apt-get install dnsmasq-base ucspi-tcp-ipv6)"; done_testing; }
done
DNSQ=$BIN/tests/dnsq
[ -x "$DNSQ" ] || { bad "dnsq built" "$DNSQ missing"; done_testing; }

DOM=e2e79.test
SU=sl79s
SENDER=$SU@$DOM
DUID=$(id -u sluiced) && DGID=$(id -g sluiced) || { bad "daemon user sluiced"; done_testing; }
# this run's ports, free for TCP and UDP: P (sluice-smtpd on 127.0.0.1,
# sinks on 127.0.0.2 and 127.0.0.4), P+1 (dnsmasq), P+2 (relay sink)
tries=0
while :; do
  P=$((12100 + ($$ * 7 + tries * 13) % 9000))
  busy=$(ss -Hltun 2> /dev/null | awk '{print $5}' | sed 's/.*://' | awk -v p=$P '$1 >= p && $1 <= p + 2' | head -n 1)
  [ -z "$busy" ] && break
  tries=$((tries + 1))
  [ $tries -lt 20 ] || { bad "no free ports"; done_testing; }
done
DP=$((P + 1)) RP=$((P + 2))
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
printf '%s\n' 127.0.0.2 127.0.0.3 127.0.0.4 > "$H/control/notipme"
printf '%s\n' "loop79.test::$P" "backup79.test::$P" > "$H/control/smtproutes"
mkuser "$SU"
SHOME=$(home_of "$SU")

# --- the DNS server ---
dnsmasq -d --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.1 \
  --port="$DP" --local=/test/ --log-queries --log-facility=- \
  --mx-host=loop79.test,self.loop79.test,10 --host-record=self.loop79.test,127.0.0.1 \
  --mx-host=backup79.test,primary.backup79.test,10 --mx-host=backup79.test,self.loop79.test,20 \
  --host-record=primary.backup79.test,127.0.0.2 \
  --mx-host=down79.test,down.down79.test,10 --mx-host=down79.test,self.loop79.test,20 \
  --mx-host=down79.test,worse.down79.test,30 \
  --host-record=down.down79.test,127.0.0.3 --host-record=worse.down79.test,127.0.0.4 \
  --host-record=noamx79.test,127.0.0.1 \
  --mx-host=six79.test,self6.six79.test,10 --host-record=self6.six79.test,::1 \
  --mx-host=lo79.test,lo.lo79.test,10 --host-record=lo.lo79.test,127.0.0.5 \
  --mx-host=nat79.test,pub.nat79.test,10 --host-record=pub.nat79.test,198.51.100.79 \
  --mx-host=equal79.test,a.equal79.test,10 --mx-host=equal79.test,self.loop79.test,10 \
  --host-record=a.equal79.test,127.0.0.2 \
  --mx-host=trouble79.test,mx.broken79.example,10 --mx-host=trouble79.test,self.loop79.test,20 \
  > "$T/dns.log" 2>&1 &
echo $! >> "$T/pids"
dns_up() { DNSCACHEIP=127.0.0.1:$DP "$DNSQ" -t 1000 -a 1 mx loop79.test > "$T/dnsq.out" 2>&1; }
wait_for 20 dns_up
check_eq "dnsmasq answers the MX of loop79.test" "$(cat "$T/dnsq.out")" "10 self.loop79.test"
check_eq "dnsmasq: two MX for backup79.test" \
  "$(DNSCACHEIP=127.0.0.1:$DP "$DNSQ" -t 1000 mx backup79.test | tr '\n' ' ')" "10 primary.backup79.test 20 self.loop79.test "

# --- this host's SMTP server, the sinks ---
printf ':allow,RELAYCLIENT=""\n' > "$T/open.rules"
tcprules "$T/open.cdb" "$T/open.tmp" < "$T/open.rules" || bad "tcprules"
tcpserver -v -H -R -l "$DOM" -u "$DUID" -g "$DGID" -x "$T/open.cdb" 127.0.0.1 "$P" "$H/bin/sluice-smtpd" \
  2> "$T/smtpd.log" &
echo $! >> "$T/pids"
# sink NAME ADDR PORT: a smtpsink.py saving into $T/NAME
sink() {
  rm -rf "$T/$1" "$T/$1.ready"; mkdir -p "$T/$1"
  python3 tests/smtpsink.py --host "$2" --port "$3" --dir "$T/$1" --ready "$T/$1.ready" --pipelining \
    2> "$T/$1.err" &
  echo $! >> "$T/pids"
  wait_for 20 test -f "$T/$1.ready" || { bad "sink $1 started" "$(cat "$T/$1.err")"; done_testing; }
}
sink primary 127.0.0.2 "$P"
sink worse 127.0.0.4 "$P"
sink relay 127.0.0.1 "$RP"
greets() { timeout 5 tcpclient -RHl0 127.0.0.1 "$P" sh -c 'IFS= read -r l <&6; printf "QUIT\r\n" >&7; case $l in 220*) exit 0;; esac; exit 1' 2> /dev/null; }
check "this host's sluice-smtpd answers on 127.0.0.1" wait_for 20 greets
# smtpd_connections: connections to it since this point (deliveries)
smtpd_count() { grep -a -c '^tcpserver: pid [0-9]* from ' "$T/smtpd.log"; }
base=$(smtpd_count)
smtpd_connections() { echo $(($(smtpd_count) - base)); }
rcpts() { for f in "$T/$1"/*.env; do [ -f "$f" ] && sed 1d "$f"; done; }

# --- the delivery set ---
start_set DNSCACHEIP=127.0.0.1:$DP
check "sluice-start running" kill -0 "$spid"
inject() {
  subj=$1; shift
  printf 'From: %s\nTo: %s\nSubject: %s\n\nbody of %s\n' "$SENDER" "$1" "$subj" "$subj" > "$T/msg"
  { printf 'F%s\0' "$SENDER"; for r; do printf 'T%s\0' "$r"; done; printf '\0'; } > "$T/env"
  "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env"
}
bounced() { [ "$(ls "$SHOME/Maildir/new" | wc -l)" -ge "$1" ] && queue_empty; }

# --- 1. the loop ---
inject loop79-subject x@loop79.test
check_eq "loop: injected" "$?" 0
check "loop: a bounce reaches the sender" wait_for 60 bounced 1
check_eq "loop: exactly one delivery attempt" \
  "$(grep -c '^starting delivery [0-9]*: msg [0-9.]* to remote x@loop79.test$' "$T/log")" 1
check "loop: permanent failure with 5.4.6 in the log" \
  grep -q '^delivery [0-9]*: failure: x@loop79\.test: 5\.4\.6 mail for loop79\.test would loop back to this host: its best mail host self\.loop79\.test \[127\.0\.0\.1\] is this host' "$T/log"
check_eq "loop: no connection to this host's sluice-smtpd" "$(smtpd_connections)" 0
check_eq "loop: no second message made (the original and the bounce)" "$(grep -c '^new msg ' "$T/log")" 2
f=$(ls "$SHOME/Maildir/new"/* 2> /dev/null | head -n 1)
python3 tests/dsncheck.py < "${f:-/dev/null}" > "$T/dsn" 2> "$T/dsn.err"
check_eq "loop: RFC 3464 bounce (dsncheck)" "$?:$(cat "$T/dsn.err")" "0:"
check_eq "loop: the bounce says 5.4.6, failed" "$(cat "$T/dsn")" "x@loop79.test 5.4.6 failed"
check "loop: the bounce explains" grep -q 'is not in control/locals' "${f:-/dev/null}"
check "loop: it is the bounce of the message" grep -q 'loop79-subject' "${f:-/dev/null}"

# --- 2. backup MX ---
inject backup79-subject y@backup79.test
done2() { [ -n "$(rcpts primary)" ] && queue_empty; }
check "backup: delivered" wait_for 60 done2
check_eq "backup: to the better MX host's sink, once" "$(rcpts primary)" "<y@backup79.test>"
check_eq "backup: no connection to this host" "$(smtpd_connections)" 0
check "backup: success in the log" grep -q '^delivery [0-9]*: success: .*127\.0\.0\.2' "$T/log"
end_checks mess info local remote todo bounce
check_eq "one bounce in all" "$(ls "$SHOME/Maildir/new" | wc -l | tr -d ' ')" 1

# --- sluice-remote alone ---
HOME_R=$T/r
mkdir -p "$HOME_R/control" "$HOME_R/queue/lock"
echo client79.test > "$HOME_R/control/me"
echo 5 > "$HOME_R/control/timeoutconnect"
cp "$H/control/notipme" "$HOME_R/control/notipme"
echo 198.51.100.79 > "$HOME_R/control/ipme"
{
  echo "relay79.test:127.0.0.1:$RP"
  for d in loop79 down79 trouble79 noamx79 six79 lo79 nat79 equal79; do echo "$d.test::$P"; done
} > "$HOME_R/control/smtproutes"
printf 'Subject: loop79 direct\n\nbody\n' > "$T/msg"
remote() { # remote DOMAIN RCPT: the results, one a line, in $T/out
  (cd "$HOME_R" && DNSCACHEIP=127.0.0.1:$DP timeout 120 "$BIN/sluice-remote" "$1" a@client79.test "$2" \
    < "$T/msg" > "$T/out.raw" 2> "$T/err")
  rc=$?
  tr '\0' '\n' < "$T/out.raw" > "$T/out"
}
loop_for() { grep -q "^D5\.4\.6 mail for $1 would loop back to this host: its best mail host $2 is this host" "$T/out"; }

# 3. backup MX whose better host is down
remote down79.test z@down79.test
check_eq "down: exit 0" "$rc" 0
check "down: Z with the better host's trouble" grep -q '^Z4\.4\.1 unable to connect to down\.down79\.test \[127\.0\.0\.3\]' "$T/out"
check_eq "down: the worse MX host not tried" "$(rcpts worse)" ""
check_eq "down: this host not tried" "$(smtpd_connections)" 0
# the better host's name cannot be looked up (dnsmasq has no server for
# .example: REFUSED): it may be a better host, so Z, not D, and this
# host is not tried
remote trouble79.test t@trouble79.test
check "DNS trouble before this host: Z 4.4.3" grep -q '^Z4\.4\.3 temporary DNS failure looking up mx\.broken79\.example$' "$T/out"
check_eq "DNS trouble: this host not tried" "$(smtpd_connections)" 0

# 4. this host, met other ways
remote noamx79.test a@noamx79.test
check "no MX, A 127.0.0.1: D 5.4.6" loop_for 'noamx79\.test' 'noamx79\.test \[127\.0\.0\.1\]'
remote six79.test a@six79.test
check "MX on ::1: D 5.4.6" loop_for 'six79\.test' 'self6\.six79\.test \[::1\]'
remote lo79.test a@lo79.test
check "MX on 127.0.0.5: D 5.4.6" loop_for 'lo79\.test' 'lo\.lo79\.test \[127\.0\.0\.5\]'
remote nat79.test a@nat79.test
check "MX on an address of control/ipme: D 5.4.6" loop_for 'nat79\.test' 'pub\.nat79\.test \[198\.51\.100\.79\]'
remote equal79.test a@equal79.test
check "this host among MX hosts of equal preference: D 5.4.6" loop_for 'equal79\.test' 'self\.loop79\.test \[127\.0\.0\.1\]'
check_eq "equal preference: the other host not tried" "$(rcpts primary)" "<y@backup79.test>"
remote '[127.0.0.1]' 'a@[127.0.0.1]'
check "the literal [127.0.0.1]: D 5.4.6" grep -q '^D5\.4\.6 mail for \[127\.0\.0\.1\] would loop back to this host' "$T/out"
check_eq "none of these connected to this host" "$(smtpd_connections)" 0

# 5. a relay on this host is the administrator's choice
remote relay79.test r@relay79.test
check "smtproutes relay on 127.0.0.1: delivered" grep -q '^K' "$T/out"
check_eq "smtproutes relay: the sink has it" "$(rcpts relay)" "<r@relay79.test>"

# 6. a malformed control/ipme
printf '%s\n' 198.51.100.79 198.51.100.300 > "$HOME_R/control/ipme"
remote loop79.test a@loop79.test
check "malformed control/ipme: Z 4.3.5" grep -q '^Z4\.3\.5 control/ipme has a malformed line: 198\.51\.100\.300$' "$T/out"
check_eq "malformed control/ipme: nothing tried" "$(smtpd_connections)" 0

# 7. sluice-showctl describes both files and flags the bad line
printf '%s\n' 198.51.100.0/24 bogus > "$H/control/ipme"
"$H/bin/sluice-showctl" > "$T/showctl" 2> /dev/null
check_eq "showctl: ipme listed" "$(sed -n '/^ipme:/,/^  [^ ]/p' "$T/showctl")" "ipme:
    198.51.100.0/24
    bogus
  more addresses of this host (ADDR or ADDR/LEN; e.g. a NAT router's): mail whose best MX host is one fails 5.4.6 instead of looping (sluice-remote(8))"
check_eq "showctl: notipme listed" "$(sed -n '/^notipme:/,/^  [^ ]/p' "$T/showctl" | sed -n 2,4p | tr -d ' ' | tr '\n' ' ')" \
  "127.0.0.2 127.0.0.3 127.0.0.4 "
check "showctl: the bad line warned about" grep -q '^WARNING: control/ipme: not an address: bogus; ' "$T/showctl"
check_fail "showctl: no other warning" grep -q '^WARNING: control/notipme' "$T/showctl"

done_testing
