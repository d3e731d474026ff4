#!/bin/sh
# 52-bounce.sh: bounces sent by sluice-send (sluice-send(8)), with
# fakespawn as both spawners ("defer..." recipients get Z, "fail..." D,
# "slow..." K after FAKESPAWN_SLOW_MS). Each bounce goes to a "slow"
# address, so its queued message can be read while its delivery is held.
#
#  1. queuelifetime 1 and a message committed 100 s ago whose recipient
#     defers: the deferral becomes a failure ("too old" logged), a bounce
#     from <> to the sender is queued and is an RFC 3464 report
#     (tests/dsncheck.py) for that recipient with status 4.3.0, from
#     MAILER-DAEMON@bouncehost; the queue is empty afterwards;
#  2. a "fail" recipient: RFC 3464 bounce with Status 5.1.1;
#  3. control/bounceformat qsbmf: the bounce is QSBMF (dsncheck --qsbmf)
#     with (#5.1.1);
#  4. double bounce: a message from <> whose recipient fails produces a
#     message from #@[] to doublebounceto@doublebouncehost: by default
#     postmaster@me; with doublebounceto slowpm and doublebouncehost
#     dbh.example (after SIGHUP) slowpm@dbh.example, whose report parses;
#  5. triple bounce: a message from #@[] whose recipient fails is
#     dropped, logged "triple bounce: discarding", nothing is delivered
#     for it, and the queue ends empty (sluice-fsck clean).
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

. "$(dirname "$0")/../sched.sh"
# capture ADDR NAME: waits for the (slow) delivery to ADDR, then copies
# the message being delivered to $T/NAME.mess and its info to
# $T/NAME.info (NUL records as lines); sets cid to its id.
capture() {
  cid=""
  waitfor 200 tries_ge "$1" 1 || { bad "$2: delivery to $1" "none after 20 s"; return 1; }
  cid=$(awk -v a="$1" '$2 == a { print $1; exit }' "$F/deliveries")
  cp "$Q/mess/$((cid % SPLIT))/$cid" "$T/$2.mess" && tr '\0' '\n' < "$Q/info/$((cid % SPLIT))/$cid" > "$T/$2.info" ||
    bad "$2: copy of the bounce" "mess or info of $cid gone"
}
CHECKER="python3 $TOP/tests/dsncheck.py"
# hup: SIGHUP to sluice-start, and wait until sluice-send has reread
rereads() { grep -c '^control files reread' "$LOG"; }
reread_more() { [ "$(rereads)" -gt "$1" ]; }
hup() {
  hup_n=$(rereads)
  kill -HUP "$SPID"
  waitfor 100 reread_more "$hup_n" || bad "SIGHUP rereads" "no new 'control files reread' in the log"
}

start FAKESPAWN_SLOW_MS=3000

# ---- 1. queuelifetime
echo 1 > "$H/control/queuelifetime"
hup
stop
inj "slowlife@test.example" "deferlife@remote.example" || bad "queue 1" "sluice-queue failed"
id=$(todo_id)
touch -m -d "@$(($(date +%s) - 100))" "$Q/todo/$((id % SPLIT))/$id"
start FAKESPAWN_SLOW_MS=3000
capture slowlife@test.example life
check_eq "lifetime: tried once" "$(tries deferlife@remote.example)" 1
check "lifetime: too old logged" grep -q '^delivery [0-9]*: failure: too old: deferlife@remote.example: 4.3.0' "$LOG"
check "lifetime: bounce logged" grep -q "^bounce msg $id\.[0-9]* qp [0-9]" "$LOG"
check "lifetime: bounce from <>" grep -qx 'F' "$T/life.info"
got=$($CHECKER < "$T/life.mess" 2>&1)
check_eq "lifetime: RFC 3464 report" "$got" "deferlife@remote.example 4.3.0 failed"
check "lifetime: From MAILER-DAEMON@test.example" grep -q '^From: .*MAILER-DAEMON@test.example' "$T/life.mess"
check "lifetime: To the sender" grep -qi '^To: .*slowlife@test.example' "$T/life.mess"
waitfor 100 queue_empty || bad "lifetime: drained" "$(queue_files) files left"
rm -f "$H/control/queuelifetime"
hup

# ---- 2. permanent failure
inj "slowfail@test.example" "failx@remote.example" || bad "queue 2" "sluice-queue failed"
capture slowfail@test.example fail
check "fail: failure logged" grep -q '^delivery [0-9]*: failure: failx@remote.example: 5.1.1' "$LOG"
check "fail: bounce from <>" grep -qx 'F' "$T/fail.info"
got=$($CHECKER < "$T/fail.mess" 2>&1)
check_eq "fail: RFC 3464 report, 5.1.1" "$got" "failx@remote.example 5.1.1 failed"
check "fail: Status line" grep -q '^Status: 5\.1\.1' "$T/fail.mess"
waitfor 100 queue_empty || bad "fail: drained" "$(queue_files) files left"

# ---- 3. QSBMF
echo qsbmf > "$H/control/bounceformat"
hup
inj "slowq@test.example" "failq@remote.example" || bad "queue 3" "sluice-queue failed"
capture slowq@test.example qsbmf
got=$($CHECKER --qsbmf < "$T/qsbmf.mess" 2>&1)
check_eq "qsbmf: QSBMF report" "$got" "failq@remote.example 5.1.1"
got=$($CHECKER < "$T/qsbmf.mess" 2>&1)
check "qsbmf: not RFC 3464" test -n "$got" -a "$got" != "failq@remote.example 5.1.1 failed"
waitfor 100 queue_empty || bad "qsbmf: drained" "$(queue_files) files left"
rm -f "$H/control/bounceformat"
hup

# ---- 4. double bounces
inj "" "faild@remote.example" || bad "queue 4" "sluice-queue failed"
waitfor 200 tries_ge postmaster@test.example 1 || bad "double bounce to postmaster@me" "no delivery after 20 s"
check "double bounce delivered" test "$(awk '$2 == "postmaster@test.example" && $4 == "K"' "$F/deliveries" | wc -l)" -eq 1
waitfor 100 queue_empty || bad "double: drained" "$(queue_files) files left"
echo slowpm > "$H/control/doublebounceto"
echo dbh.example > "$H/control/doublebouncehost"
hup
inj "" "faild2@remote.example" || bad "queue 4b" "sluice-queue failed"
capture slowpm@dbh.example double
check "double: from #@[]" grep -qx 'F#@\[\]' "$T/double.info"
got=$($CHECKER < "$T/double.mess" 2>&1)
check_eq "double: RFC 3464 report" "$got" "faild2@remote.example 5.1.1 failed"
waitfor 100 queue_empty || bad "double 2: drained" "$(queue_files) files left"

# ---- 5. triple bounce
n0=$(wc -l < "$F/deliveries")
inj "#@[]" "failt@remote.example" || bad "queue 5" "sluice-queue failed"
waitfor 200 grep -q '^triple bounce: discarding bounce/' "$LOG" || bad "triple bounce logged" "not after 20 s"
waitfor 100 queue_empty || bad "triple: drained" "$(queue_files) files left"
sleep 1
check_eq "triple: only the failed delivery" "$(($(wc -l < "$F/deliveries") - n0))" 1
check_eq "triple: it failed" "$(awk '$2 == "failt@remote.example" { print $4 }' "$F/deliveries")" D
check_eq "triple: no bounce injected (5 before it)" "$(grep -c '^bounce msg ' "$LOG")" 5
stop
check_eq "queue empty" "$(queue_files)" 0
out=$("$H/bin/sluice-fsck" 2>&1)
check "sluice-fsck clean" test $? -eq 0 -a -z "$out"
check_eq "no fakespawn errors" "$(cat "$F/errors")" ""

done_testing
