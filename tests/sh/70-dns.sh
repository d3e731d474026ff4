#!/bin/sh
# 70-dns.sh: the DNS stub resolver (src/lib/dns.c) against the test
# server build/tests/dnsd, through build/tests/dnsq, over 127.0.0.1 and
# ::1 on high ports:
#
#  1. MX in preference order, equal preferences in both orders over many
#     queries; names without regard to case or a trailing dot;
#  2. A and AAAA, in the order asked for; CNAME chains followed across
#     queries, a CNAME loop refused as temporary;
#  3. null MX; an existing name without MX (empty answer, exit 0);
#  4. truncation: UDP answer with TC, then the full answer over TCP;
#  5. SERVFAIL, REFUSED, a malformed answer and a silent server are
#     temporary (exit 111), the silent one within the configured time;
#     NXDOMAIN is permanent (exit 100);
#  6. a dead server first in DNSCACHEIP is skipped; an IPv6 server;
#  7. 0x20: the names go out with their letters in random case, and an
#     answer whose question is not the one sent, case included (dnsd's
#     FORGE), is dropped: no answer is taken, a temporary failure.
. "$(dirname "$0")/../lib.sh"

DNSD=$TOP/build/tests/dnsd
DNSQ=$TOP/build/tests/dnsq
[ -x "$DNSD" ] || { bad "dnsd built" "$DNSD missing (make units)"; done_testing; }
[ -x "$DNSQ" ] || { bad "dnsq built" "$DNSQ missing (make units)"; done_testing; }

cat > "$T/zone" <<'EOF'
# the zone of 70-dns.sh
MX example.test 20 mx2.example.test
MX example.test 10 mx1.example.test
MX example.test 10 mx1b.example.test
MX example.test 30 mx3.example.test
A mx1.example.test 127.0.0.1
A mx1.example.test 127.0.0.2
AAAA mx1.example.test ::1
AAAA mx6.example.test 2001:db8::25
CNAME alias.example.test mx1.example.test
CNAME alias2.example.test alias.example.test
CNAME mxalias.test example.test
CNAME loop1.test loop2.test
CNAME loop2.test loop1.test
NULLMX nomail.test
A nomx.test 127.0.0.9
TRUNC big.test
MX big.test 5 mx1.example.test
MX big.test 6 mx2.example.test
TRUNC bigip.test
A bigip.test 192.0.2.1
AAAA bigip.test 2001:db8::1
SERVFAIL broken.test
REFUSED refused.test
GARBAGE bad.test
SLOW slow.test
A forged-answer.zone-for-case.test 10.6.6.6
FORGE forged-answer.zone-for-case.test
EOF

# Every process started here, for the cleanup.
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  for p in $pids; do wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

# start_dnsd IP LOG: starts dnsd on a free high port; sets $port.
start_dnsd() {
  tries=0
  while [ $tries -lt 20 ]; do
    tries=$((tries + 1))
    port=$(( 10000 + ($$ * 7 + tries * 811) % 22000 ))
    : > "$2"
    "$DNSD" "$1" "$port" "$T/zone" > "$2" 2> "$2.err" &
    pid=$!
    n=0
    while [ $n -lt 50 ]; do
      if grep -q '^ready$' "$2" 2>/dev/null; then pids="$pids $pid"; return 0; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
      n=$((n + 1))
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  return 1
}

start_dnsd 127.0.0.1 "$T/log4" || { bad "dnsd on 127.0.0.1" "$(cat "$T/log4.err")"; done_testing; }
port4=$port
start_dnsd ::1 "$T/log6" || { bad "dnsd on ::1" "$(cat "$T/log6.err")"; done_testing; }
port6=$port
ok "dnsd started"

# q EXPECTED-EXIT NAME ARGS...: runs dnsq with DNSCACHEIP=$srv, compares
# its exit code; the output is in $T/out, the messages in $T/err.
q() {
  want=$1 name=$2; shift 2
  DNSCACHEIP=$srv "$DNSQ" "$@" > "$T/out" 2> "$T/err"
  rc=$?
  check_eq "$name (exit)" "$rc" "$want"
}
out() { cat "$T/out"; }
nl='
'

srv=127.0.0.1:$port4
DNSCACHEIP=$srv
export DNSCACHEIP

# 1. MX order
q 0 "mx example.test" mx example.test
got=$(out)
case $got in
  "10 mx1.example.test${nl}10 mx1b.example.test${nl}20 mx2.example.test${nl}30 mx3.example.test" |\
  "10 mx1b.example.test${nl}10 mx1.example.test${nl}20 mx2.example.test${nl}30 mx3.example.test") ok "mx order" ;;
  *) bad "mx order" "got [$got]" ;;
esac
first_a=0 first_b=0 i=0
while [ $i -lt 40 ]; do
  "$DNSQ" mx example.test > "$T/out" 2>/dev/null
  case $(sed -n 1p "$T/out") in
    "10 mx1.example.test") first_a=$((first_a + 1)) ;;
    "10 mx1b.example.test") first_b=$((first_b + 1)) ;;
  esac
  i=$((i + 1))
done
check_eq "equal preferences: 40 answers" "$((first_a + first_b))" 40
check "equal preferences shuffled (mx1 first $first_a times, mx1b $first_b)" test "$first_a" -gt 0 -a "$first_b" -gt 0
q 0 "mx in capitals with a dot" mx EXAMPLE.Test.
check_eq "mx in capitals: four hosts" "$(out | wc -l | tr -d ' ')" 4
check_eq "mx in capitals: last" "$(out | sed -n 4p)" "30 mx3.example.test"

# 2. addresses and CNAMEs
q 0 "ip mx1" ip mx1.example.test
check_eq "ip mx1: A first" "$(out)" "127.0.0.1${nl}127.0.0.2${nl}::1"
q 0 "ip6 mx1" ip6 mx1.example.test
check_eq "ip6 mx1: AAAA first" "$(out)" "::1${nl}127.0.0.1${nl}127.0.0.2"
q 0 "ip6 mx6" ip6 mx6.example.test
check_eq "ip6 mx6: AAAA only" "$(out)" "2001:db8::25"
q 0 "ip alias" ip alias.example.test
check_eq "ip alias: CNAME followed" "$(out)" "127.0.0.1${nl}127.0.0.2${nl}::1"
q 0 "ip alias2" ip6 alias2.example.test
check_eq "ip alias2: two CNAMEs followed" "$(out)" "::1${nl}127.0.0.1${nl}127.0.0.2"
check "alias2 asked about each link" grep -q "^udp mx1.example.test 28$" "$T/log4"
q 0 "mx through a CNAME" mx mxalias.test
check_eq "mx through a CNAME: first is 10" "$(out | sed -n 1p | cut -d' ' -f1)" 10
check_eq "mx through a CNAME: four hosts" "$(out | wc -l | tr -d ' ')" 4
q 111 "CNAME loop is temporary" mx loop1.test
check "CNAME loop: EPROTO" grep -q EPROTO "$T/err"

# 3. null MX, no MX
q 0 "null MX" mx nomail.test
check_eq "null MX reported" "$(out)" "nullmx"
q 0 "name without MX" mx nomx.test
check_eq "name without MX: empty" "$(out)" ""
q 0 "name without AAAA" ip6 nomx.test
check_eq "name without AAAA: its A" "$(out)" "127.0.0.9"

# 4. truncation
q 0 "truncated mx" mx big.test
check_eq "truncated mx: full answer over TCP" "$(out)" "5 mx1.example.test${nl}6 mx2.example.test"
check "truncated mx: asked over UDP" grep -q "^udp big.test 15$" "$T/log4"
check "truncated mx: then over TCP" grep -q "^tcp big.test 15$" "$T/log4"
q 0 "truncated ip" ip6 bigip.test
check_eq "truncated ip: both over TCP" "$(out)" "2001:db8::1${nl}192.0.2.1"
check_eq "truncated ip: two TCP queries" "$(grep -c '^tcp bigip.test' "$T/log4")" 2

# 5. failures
q 111 "SERVFAIL is temporary" mx broken.test
check "SERVFAIL: EAGAIN" grep -q EAGAIN "$T/err"
check_eq "SERVFAIL: asked in both rounds" "$(grep -c '^udp broken.test 15$' "$T/log4")" 2
q 111 "REFUSED is temporary" -a 1 ip refused.test
q 111 "garbage is temporary" mx bad.test
check "garbage: EPROTO" grep -q EPROTO "$T/err"
q 100 "NXDOMAIN is permanent" mx nothere.test
check "NXDOMAIN: message" grep -q "does not exist" "$T/err"
q 100 "NXDOMAIN for addresses" ip nothere.test
start=$(date +%s)
q 111 "silent server is temporary" -t 700 -a 2 mx slow.test
took=$(( $(date +%s) - start ))
check "silent server: gave up in time (${took}s for 2 x 0.7s)" test "$took" -ge 1 -a "$took" -le 3
check_eq "silent server: asked twice" "$(grep -c '^udp slow.test 15$' "$T/log4")" 2
check "silent server: EAGAIN" grep -q EAGAIN "$T/err"

# 6. several servers, IPv6
# a port with nobody on it: the ICMP refusal sends us on at once
dead=$((port4 == 65000 ? 65001 : 65000))
start=$(date +%s)
srv="127.0.0.1:$dead 127.0.0.1:$port4"
q 0 "dead server skipped" -t 3000 -a 1 mx nomail.test
took=$(( $(date +%s) - start ))
check_eq "dead server skipped: answer" "$(out)" "nullmx"
check "dead server skipped: quickly (${took}s)" test "$took" -le 2
srv="[::1]:$port6"
q 0 "IPv6 server" mx example.test
check_eq "IPv6 server: four hosts" "$(out | wc -l | tr -d ' ')" 4
check "IPv6 server: asked" grep -q "^udp example.test 15$" "$T/log6"
q 0 "IPv6 server: truncation" mx big.test
check "IPv6 server: TCP" grep -q "^tcp big.test 15$" "$T/log6"
check_eq "IPv6 server: truncated answer" "$(out)" "5 mx1.example.test${nl}6 mx2.example.test"
srv="[::1]:$port6 127.0.0.1:$port4"
q 111 "SERVFAIL from both servers" -a 1 mx broken.test
check_eq "SERVFAIL: asked the second server" "$(grep -c '^udp broken.test' "$T/log6")" 1
srv="127.0.0.1:${port4}x"
q 111 "malformed DNSCACHEIP" mx example.test
check "malformed DNSCACHEIP: message" grep -q "DNS configuration" "$T/err"

# 7. 0x20
srv=127.0.0.1:$port4
spellings=$(grep -i '^case example\.test$' "$T/log4" | sort -u | wc -l | tr -d ' ')
check "example.test asked in random case ($spellings spellings)" test "$spellings" -ge 20
check_eq "log names in lower case" "$(grep -c '^udp .*[A-Z]' "$T/log4")" 0
start=$(date +%s)
q 111 "answers with the question in another case are dropped" -t 700 -a 1 ip forged-answer.zone-for-case.test
took=$(( $(date +%s) - start ))
check_eq "forged case: no address taken" "$(out)" ""
check "forged case: EAGAIN, waited for the real answer (${took}s)" grep -q EAGAIN "$T/err"
check_eq "forged case: dnsd answered both questions" "$(grep -c '^udp forged-answer.zone-for-case.test' "$T/log4")" 2

done_testing
