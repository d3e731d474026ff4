#!/bin/sh
# 75-remote.sh: sluice-remote against scriptable SMTP sinks (tests/smtpsink.py)
# on 127.0.0.1 and ::1, routed with control/smtproutes; sluice-tcpto.
# sluice-remote runs directly with a scratch conf-home as its current
# directory; no root needed.
. "$(dirname "$0")/../lib.sh"
inst_build

P=$((10000 + $$ % 9000))   # this run's first port; the sinks use P..P+29 (below the ephemeral range)
HOME_R=$T/home
mkdir -p "$HOME_R/control" "$HOME_R/queue/lock"
echo client.example > "$HOME_R/control/me"
echo 5 > "$HOME_R/control/timeoutconnect"
: > "$T/pids"
cleanup() {
  for p in $(cat "$T/pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# sink NAME PORT HOST [options]: starts a sink logging into $T/NAME
sink() {
  name=$1 port=$2 host=$3; shift 3
  rm -rf "$T/$name"; mkdir -p "$T/$name"
  python3 tests/smtpsink.py --host "$host" --port "$port" --dir "$T/$name" --ready "$T/$name.ready" "$@" \
    2> "$T/$name.err" &
  echo $! >> "$T/pids"
  i=0
  while [ ! -f "$T/$name.ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -f "$T/$name.ready" ] || bad "sink $name started" "$(cat "$T/$name.err")"
}

# remote MSGFILE DOMAIN SENDER RCPT...: runs sluice-remote; results one a
# line (NUL turned into newline) in $T/out, exit code in $rc
remote() {
  m=$1; shift
  (cd "$HOME_R" && "$BIN/sluice-remote" "$@" < "$m" > "$T/out.raw" 2> "$T/err")
  rc=$?
  tr '\0' '\n' < "$T/out.raw" > "$T/out"
}
letters() { cut -c1 "$T/out" | tr -d '\n'; }
line() { sed -n "$1p" "$T/out"; }
routes() { printf '%s\n' "$@" > "$HOME_R/control/smtproutes"; }
has() { grep -q -e "$2" "$1"; }

printf 'Subject: test\n\n.leading dot\n..two dots\n.\nend without newline' > "$T/msg"
printf 'Subject: 8bit\n\ncaf\351\n' > "$T/msg8"

# 1. accepted, per-recipient results, one transaction, pipelining
sink a $P 127.0.0.1 --pipelining --size 100000 --8bitmime --rcpt 'perm*=550' --rcpt 'temp*=451'
routes "example.org:127.0.0.1:$P"
remote "$T/msg" example.org alice@client.example x@example.org perm@example.org temp@example.org y@example.org
check_eq "exit 0" "$rc" 0
check_eq "four records" "$(tr -cd '\0' < "$T/out.raw" | wc -c | tr -d ' ')" 4
check_eq "K D Z K" "$(letters)" KDZK
check "D has the status code and the reply" has "$T/out" '^D5\.1\.1 \[127\.0\.0\.1\] said: 550 5\.1\.1 '
check "Z has a 4.x.x code" has "$T/out" '^Z4\.1\.1 \[127\.0\.0\.1\] said: 451'
check "K names the host" has "$T/out" '^K\[127\.0\.0\.1\] accepted the message: 250'
check_eq "one message" "$(ls "$T/a" | grep -c '\.data$')" 1
check_eq "both accepted recipients in one transaction" "$(sed 1d "$T/a/1.env" | tr '\n' ' ')" "<x@example.org> <y@example.org> "
check "pipelined MAIL and RCPT" has "$T/a/log" '^pipelined=yes'
check "EHLO with helohost default me" has "$T/a/log" '^EHLO client.example$'
check "SIZE declared" has "$T/a/log" '^MAIL FROM:<alice@client.example> SIZE=[0-9]'
check_fail "no BODY for 7-bit" has "$T/a/log" 'BODY='
{ cat "$T/msg"; echo; } > "$T/want"
tr -d '\r' < "$T/a/1.data" > "$T/got"
check "message intact (dots, final newline added)" cmp -s "$T/want" "$T/got"
check "CRLF on the wire" has "$T/a/1.data" "$(printf 'end without newline\r')"
check "QUIT sent" has "$T/a/log" '^QUIT'

# 8-bit message: BODY=8BITMIME; helohost used
echo helo.client.example > "$HOME_R/control/helohost"
remote "$T/msg8" example.org alice@client.example x@example.org
check_eq "8bit accepted" "$(letters)" K
check "BODY=8BITMIME" has "$T/a/log" '^MAIL FROM:<alice@client.example> SIZE=[0-9]* BODY=8BITMIME$'
check "EHLO with helohost" has "$T/a/log" '^EHLO helo.client.example$'
rm -f "$HOME_R/control/helohost"

# null sender and the double-bounce sender go out as <>
: > "$T/a/log"
remote "$T/msg" example.org '' x@example.org
remote "$T/msg" example.org '#@[]' x@example.org
check_eq "double bounce accepted" "$(letters)" K
check_eq "null path twice" "$(grep -c '^MAIL FROM:<> ' "$T/a/log")" 2

# an address with a line break is refused before it reaches the wire
remote "$T/msg" example.org alice@client.example "$(printf 'x@example.org\r\nDATA')" y@example.org
check_eq "unsafe recipient D, the other K" "$(letters)" DK
check_fail "no injected command" has "$T/a/log" '^DATA.*example'

# SIZE too big: D before MAIL
sink small $((P + 1)) 127.0.0.1 --size 20
routes "example.org:127.0.0.1:$((P + 1))"
remote "$T/msg" example.org alice@client.example x@example.org y@example.org
check_eq "too big: D D" "$(letters)" DD
check "5.3.4 text" has "$T/out" '^D5\.3\.4 message too big for \[127\.0\.0\.1\]'
check_fail "no MAIL sent" has "$T/small/log" '^MAIL'

# 2. PIPELINING off: MAIL waits for its reply
sink nopipe $((P + 2)) 127.0.0.1
routes "example.org:127.0.0.1:$((P + 2))"
remote "$T/msg" example.org alice@client.example x@example.org y@example.org
check_eq "no pipelining: K K" "$(letters)" KK
check "MAIL alone" has "$T/nopipe/log" '^pipelined=no'
check_fail "no SIZE when not offered" has "$T/nopipe/log" 'SIZE='

# 3. no EHLO: HELO fallback
sink noehlo $((P + 3)) 127.0.0.1 --code ehlo=502
routes "example.org:127.0.0.1:$((P + 3))"
remote "$T/msg" example.org alice@client.example x@example.org
check_eq "HELO server: K" "$(letters)" K
check "HELO sent" has "$T/noehlo/log" '^HELO client.example$'

# 4. failures at each stage: (port offset, sink options, recipients, letters)
n=4
stage() {
  want=$1; name=$2; shift 2
  sink "$name" $((P + n)) 127.0.0.1 --pipelining "$@"
  routes "example.org:127.0.0.1:$((P + n))"
  remote "$T/msg" example.org alice@client.example x@example.org perm@example.org y@example.org
  check_eq "$name gives $want" "$(letters)" "$want"
  n=$((n + 1))
}
stage ZZZ greet421 --code greeting=421
check "greeting text" has "$T/out" 'in reply to the greeting'
stage DDD greet554 --code greeting=554
stage ZZZ ehlo421 --code ehlo=421
stage DDD helo550 --code ehlo=502 --code helo=550
stage ZZZ mail451 --code mail=451 --rcpt 'perm*=550'
stage DDD mail550 --code mail=550
check "MAIL failure text" has "$T/out" '^D5\.0\.0 \[127\.0\.0\.1\] said: 550 5\.0\.0 refused at mail (in reply to MAIL)'
stage ZDZ data451 --code data=451 --rcpt 'perm*=550'
stage DDD data554 --code data=554 --rcpt 'perm*=550'
stage ZDZ eom452 --code eom=452 --rcpt 'perm*=550'
stage DDD eom552 --code eom=552 --rcpt 'perm*=550'
stage ZZZ rcptall451 --code rcpt=451
check_fail "no DATA without an accepted RCPT" has "$T/rcptall451/log" '^DATA'
stage KKK multiline --multiline mail --multiline rcpt --multiline eom
stage KKK longline --longline greeting --longline rcpt --longline eom
stage ZZZ garbage --garbage greeting
check "malformed reply named" has "$T/out" 'sent a malformed reply'
stage ZZZ garbage-rcpt --garbage rcpt
stage ZZZ dropped-body --disconnect body
check_eq "nothing saved after a disconnect" "$(ls "$T/dropped-body" | grep -c '\.data$')" 0
stage ZZZ dropped-rcpt --disconnect rcpt

# 5. slow server past timeoutremote
echo 2 > "$HOME_R/control/timeoutremote"
stage ZZZ slow-greeting --sleep greeting=8
check "timed out text" has "$T/out" 'timed out'
stage ZZZ slow-eom --sleep eom=8
# the sink answers after 8 s: a delivery that waited for it would have
# read its answer, not timed out
check "timed out at the end of data too" has "$T/out" 'timed out'
rm -f "$HOME_R/control/timeoutremote"

# 6. IPv6 sink on ::1, route by suffix
sink v6 $((P + 25)) ::1 --pipelining
routes "other.example:127.0.0.1:1" ".example.net:[::1]:$((P + 25))"
remote "$T/msg" sub.example.net alice@client.example x@sub.example.net
check_eq "IPv6 delivery: K" "$(letters)" K
check "IPv6 host named" has "$T/out" '^K\[::1\] accepted'
tr -d '\r' < "$T/v6/1.data" > "$T/got"
check "IPv6 message intact" cmp -s "$T/want" "$T/got"

# connection refused on a closed port: Z; the default route "" matches
routes "other.example:127.0.0.1:1" ":127.0.0.1:$((P + 26))"
remote "$T/msg" anything.example alice@client.example x@anything.example
check_eq "refused: Z" "$(letters)" Z
check "refused text" has "$T/out" '^Z4\.4\.1 unable to connect to \[127\.0\.0\.1\]'

# malformed smtproutes: Z, nothing tried
routes "example.org:127.0.0.1:$P" "broken line"
remote "$T/msg" example.org alice@client.example x@example.org
check_eq "bad smtproutes: Z" "$(letters)" Z
check "bad smtproutes text" has "$T/out" 'smtproutes'

# 7. tcpto: a recent timeout skips the host, an old one does not
mkrec() { # mkrec SECONDS-AGO COUNT: 127.0.0.1 in the table
  python3 -c 'import struct,sys,time
ago,count=int(sys.argv[1]),int(sys.argv[2])
rec=bytes([4,0,0,0])+struct.pack(">IQ",count,int(time.time())-ago)+bytes([127,0,0,1])+bytes(12)
open(sys.argv[3],"wb").write(rec)' "$1" "$2" "$HOME_R/queue/lock/tcpto"
}
mkrec 120 3
check_eq "sluice-tcpto lists it" "$("$BIN/sluice-tcpto" "$HOME_R/queue/lock/tcpto")" "127.0.0.1  timed out 2 minutes ago, 3 times"
routes "example.org:127.0.0.1:$P"
: > "$T/a/log"
remote "$T/msg" example.org alice@client.example x@example.org
check_eq "recently timed out: Z" "$(letters)" Z
check "tcpto text" has "$T/out" 'timed out within the last hour'
check_eq "no connection made" "$(wc -c < "$T/a/log" | tr -d ' ')" 0
mkrec 7200 1
remote "$T/msg" example.org alice@client.example x@example.org
check_eq "old timeout: K" "$(letters)" K
check_eq "entry cleared after a connect" "$("$BIN/sluice-tcpto" "$HOME_R/queue/lock/tcpto")" ""
check_eq "sluice-tcpto without a table" "$("$BIN/sluice-tcpto" "$T/none"; echo $?)" 0

# usage
(cd "$HOME_R" && "$BIN/sluice-remote" example.org a@b < "$T/msg" > /dev/null 2>&1)
check_eq "usage exit 64" $? 64

done_testing
