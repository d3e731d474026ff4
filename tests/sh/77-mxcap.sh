#!/bin/sh
# 77-mxcap.sh: sluice-remote bounds the DNS work of one delivery. The
# test DNS server (tests/helpers/dnsd.c) lists 50 MX hosts for a domain;
# sluice-remote, run directly as in 75-remote.sh, must look at no more
# than the 10 most preferred (REMOTE_MX_MAX) and make no more than 20
# address queries (REMOTE_LOOKUPS_MAX), counted in dnsd's log:
#
#  1. 50 MX hosts that do not exist: 20 address queries, 10 names, Z;
#  2. 50 MX hosts with an address on a closed port: 10 connections
#     refused at most, 20 address queries, Z;
#  3. a domain with 3 MX hosts, the third one listening: delivered
#     (the cap does not get in the way of an ordinary domain).
. "$(dirname "$0")/../lib.sh"
inst_build

DNSD=$BIN/tests/dnsd
[ -x "$DNSD" ] || { bad "dnsd built" "$DNSD missing"; done_testing; }
P=$((14000 + ($$ * 11) % 9000))   # this run's ports: P (dnsd), P+1 (closed), P+2 (sink)
HOME_R=$T/home
mkdir -p "$HOME_R/control" "$HOME_R/queue/lock"
echo client.example > "$HOME_R/control/me"
echo 5 > "$HOME_R/control/timeoutconnect"
# the MX hosts stand for other hosts, on 127.0.0.1: not this host for
# the loop check of sluice-remote (79-loop.sh)
echo 127.0.0.1 > "$HOME_R/control/notipme"
: > "$T/pids"
cleanup() {
  for p in $(cat "$T/pids" 2> /dev/null); do kill "$p" 2> /dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

{
  i=1
  while [ $i -le 50 ]; do
    echo "MX gone77.test $i h$i.gone77.test"
    echo "MX closed77.test $i h$i.closed77.test"
    echo "A h$i.closed77.test 127.0.0.1"
    i=$((i + 1))
  done
  echo "MX three77.test 10 a.three77.test"
  echo "MX three77.test 20 b.three77.test"
  echo "MX three77.test 30 c.three77.test"
  echo "A c.three77.test 127.0.0.1"
} > "$T/zone"
"$DNSD" 127.0.0.1 "$P" "$T/zone" > "$T/dns.log" 2> "$T/dns.err" &
echo $! >> "$T/pids"
k=0
while ! grep -q '^ready$' "$T/dns.log" 2> /dev/null && [ $k -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
check "dnsd ready" grep -q '^ready$' "$T/dns.log"

# every MX on the route's port: P+1 has nobody listening
printf '%s\n' "gone77.test::$((P + 1))" "closed77.test::$((P + 1))" "three77.test::$((P + 2))" \
  > "$HOME_R/control/smtproutes"

remote() { # remote DOMAIN RCPT: sluice-remote's results, one a line, in $T/out
  (cd "$HOME_R" && DNSCACHEIP=127.0.0.1:$P timeout 120 "$BIN/sluice-remote" "$1" a@client.example "$2" \
    < "$T/msg" > "$T/out.raw" 2> "$T/err")
  rc=$?
  tr '\0' '\n' < "$T/out.raw" > "$T/out"
}
# queries TYPE SUFFIX: address queries of that type dnsd saw for names under SUFFIX
queries() { grep -c "^udp [^ ]*\.$2 $1\$" "$T/dns.log"; }
printf 'Subject: cap\n\nbody\n' > "$T/msg"

# 1. 50 MX hosts that do not exist
remote gone77.test x@gone77.test
check_eq "gone: exit 0" "$rc" 0
check "gone: temporary failure" grep -q '^Z' "$T/out"
check "gone: the MX asked" grep -q '^udp gone77.test 15$' "$T/dns.log"
a=$(queries 1 gone77.test) aaaa=$(queries 28 gone77.test)
check "gone: at most 20 address queries (A $a, AAAA $aaaa)" test $((a + aaaa)) -le 20
check "gone: some asked (A $a)" test "$a" -ge 1
check "gone: no host past the 10th asked" sh -c '! grep -q "^udp h\(1[1-9]\|[2-5][0-9]\)\.gone77\.test " "$1"' x "$T/dns.log"

# 2. 50 MX hosts on a closed port
remote closed77.test x@closed77.test
check_eq "closed: exit 0" "$rc" 0
check "closed: temporary failure" grep -q '^Z4\.4\.1 unable to connect' "$T/out"
a=$(queries 1 closed77.test) aaaa=$(queries 28 closed77.test)
check "closed: at most 20 address queries (A $a, AAAA $aaaa)" test $((a + aaaa)) -le 20
check "closed: no host past the 10th asked" sh -c '! grep -q "^udp h\(1[1-9]\|[2-5][0-9]\)\.closed77\.test " "$1"' x "$T/dns.log"

# 3. an ordinary domain
rm -rf "$T/sink"; mkdir -p "$T/sink"
python3 tests/smtpsink.py --host 127.0.0.1 --port $((P + 2)) --dir "$T/sink" --ready "$T/sink.ready" 2> "$T/sink.err" &
echo $! >> "$T/pids"
k=0
while [ ! -f "$T/sink.ready" ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
remote three77.test x@three77.test
check_eq "three MX: delivered by the third" "$(cut -c1 "$T/out")" K
check_eq "three MX: every host asked" "$(queries 1 three77.test)" 3

done_testing
