#!/bin/sh
# 51-retry.sh: sluice-send's retry schedule (sluice-send(8)), with
# fakespawn as both spawners ("defer..." recipients get Z).
#
#  1. after a deferral the channel file's header is 'R', 20 digits, NUL
#     and holds birth + (floor(sqrt(now - birth)) + unit)^2, unit 20 for
#     remote and 10 for local, birth being the b record of info (= the
#     todo file's mtime, here set 10000 s into the past), for a now
#     between the moments before and after the deferral (+-2 s); SIGALRM
#     retries at once, and an ok/ file turns the recipients into
#     deliveries so the queue empties;
#  2. on a frozen clock (libfaketime, package faketime) with birth B:
#     the first attempt at B sets the retries to B+100 (local) and B+400
#     (remote); restarted at B+99 nothing is attempted; at B+100 only the
#     local recipient is, and its next retry is B+400; at B+399 nothing;
#     at B+400 both, with next retries B+900 and B+1600; at B+850 nothing
#     until SIGALRM, which retries both with next retries B+1521 and
#     B+2401: a restarted sluice-send resumes the schedule from the queue.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

FTLIB=$(find /usr/lib /usr/lib64 -name libfaketime.so.1 2> /dev/null | head -n 1)
if [ -z "$FTLIB" ] && command -v apt-get > /dev/null 2>&1; then
  apt-get install -y faketime > /dev/null 2>&1
  FTLIB=$(find /usr/lib /usr/lib64 -name libfaketime.so.1 2> /dev/null | head -n 1)
fi
if [ -z "$FTLIB" ]; then
  bad "libfaketime" "package faketime is needed (libfaketime.so.1 not found)"
  done_testing
fi

. "$(dirname "$0")/../sched.sh"
# fstart TIME: sluice-start (and so every member) on a clock frozen at
# the epoch second TIME.
fstart() {
  start TZ=UTC LD_PRELOAD="$FTLIB" FAKETIME="$(fake_date "$1")" DONT_FAKE_MONOTONIC=1 FAKETIME_NO_CACHE=1 NO_FAKE_STAT=1
}
fake_date() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S'; }
# header DIR ID: the retry time in DIR/N/ID, as a number ("bad" when the
# header is not 'R', 20 digits, NUL)
header() {
  h_f=$Q/$1/$(($2 % SPLIT))/$2
  if [ "$(head -c 22 "$h_f" | tr '\0' '\n' | sed -n 1p | grep -cx 'R[0-9]\{20\}')" = 1 ] &&
     [ "$(head -c 22 "$h_f" | tail -c 1 | od -An -tu1 | tr -d ' ')" = 0 ]; then
    head -c 21 "$h_f" | tail -c 20 | awk '{ print $1 + 0 }'
  else
    echo bad
  fi
}
header_is() { [ "$(header "$1" "$2")" = "$3" ]; }
header_set() { h_v=$(header "$1" "$2"); [ "$h_v" != bad ] && [ "$h_v" != 0 ]; }
birth() { tr '\0' '\n' < "$Q/info/$(($1 % SPLIT))/$1" | sed -n 's/^b//p'; }
# in_window R BIRTH UNIT T0 T1: R is birth + (isqrt(now - birth) + unit)^2
# for some now in [T0, T1]
in_window() {
  awk -v r="$1" -v b="$2" -v u="$3" -v t0="$4" -v t1="$5" 'BEGIN {
    for (t = t0; t <= t1; t++) { s = int(sqrt(t - b)); while (s * s > t - b) s--; while ((s + 1) * (s + 1) <= t - b) s++;
      if (b + (s + u) * (s + u) == r) exit 0 }
    exit 1 }'
}

# ---- 1. the formula, real clock, birth 10000 s ago
inj "s1@x.org" "deferl1@test.example" "deferr1@remote.example" || bad "queue 1" "sluice-queue failed"
id=$(todo_id)
B=$(($(date +%s) - 10000))
touch -m -d "@$B" "$Q/todo/$((id % SPLIT))/$id"   # birth: the time of the todo entry (the message file keeps its stamp)
t0=$(($(date +%s) - 2))
start
waitfor 100 header_set local "$id" || bad "local retry recorded" "header $(header local "$id")"
waitfor 100 header_set remote "$id" || bad "remote retry recorded" "header $(header remote "$id")"
t1=$(($(date +%s) + 2))
check_eq "b record is the commit time" "$(birth "$id")" "$B"
rl=$(header local "$id"); rr=$(header remote "$id")
check "local retry formula (unit 10): $rl" in_window "$rl" "$B" 10 "$t0" "$t1"
check "remote retry formula (unit 20): $rr" in_window "$rr" "$B" 20 "$t0" "$t1"
check "local retry near B+110^2" test "$rl" -ge $((B + 10000 + 1)) -a "$rl" -le $((B + 110 * 110))
check "remote retry near B+120^2" test "$rr" -ge $((B + 10000 + 1)) -a "$rr" -le $((B + 120 * 120))
check_eq "one try each" "$(tries deferl1@test.example) $(tries deferr1@remote.example)" "1 1"
check "deferral logged" grep -q '^delivery [0-9]*: deferral: deferr1@remote.example: 4.3.0' "$LOG"
: > "$F/ok/deferl1@test.example"; : > "$F/ok/deferr1@remote.example"
chmod 666 "$F/ok/"*
kill -ALRM "$SPID"
waitfor 100 queue_empty || bad "SIGALRM retries" "$(queue_files) files left"
check_eq "tried again after SIGALRM" "$(tries deferl1@test.example) $(tries deferr1@remote.example)" "2 2"
check "retry-all logged" grep -q '^status: retrying everything now' "$LOG"
stop

# ---- 2. frozen clock
B=$(TZ=UTC LD_PRELOAD=$FTLIB FAKETIME="2026-01-01 00:00:00" FAKETIME_NO_CACHE=1 date +%s)
check_eq "faketime works" "$B" "$(date -u -d '2026-01-01 00:00:00' +%s)"
inj "s2@x.org" "deferl2@test.example" "deferr2@remote.example" || bad "queue 2" "sluice-queue failed"
id=$(todo_id)
touch -m -d "@$B" "$Q/todo/$((id % SPLIT))/$id"   # birth: the time of the todo entry (the message file keeps its stamp)
L=deferl2@test.example; R=deferr2@remote.example

fstart "$B"
waitfor 100 header_set local "$id" || bad "B: local deferred" "header $(header local "$id")"
waitfor 100 header_set remote "$id" || bad "B: remote deferred" "header $(header remote "$id")"
stop
check_eq "B: birth" "$(birth "$id")" "$B"
check_eq "B: local retry at B+100" "$(header local "$id")" $((B + 100))
check_eq "B: remote retry at B+400" "$(header remote "$id")" $((B + 400))
check_eq "B: tries" "$(tries $L) $(tries $R)" "1 1"

fstart $((B + 99))
sleep 3
stop
check_eq "B+99: nothing retried" "$(tries $L) $(tries $R)" "1 1"

fstart $((B + 100))
waitfor 100 tries_ge $L 2 || bad "B+100: local retried" "tries $(tries $L)"
waitfor 100 header_is local "$id" $((B + 400)) || bad "B+100: local next" "header $(header local "$id")"
sleep 1
stop
check_eq "B+100: local retried, remote not" "$(tries $L) $(tries $R)" "2 1"
check_eq "B+100: local next at B+(10+10)^2" "$(header local "$id")" $((B + 400))
check_eq "B+100: remote still at B+400" "$(header remote "$id")" $((B + 400))

fstart $((B + 399))
sleep 3
stop
check_eq "B+399: nothing retried" "$(tries $L) $(tries $R)" "2 1"

fstart $((B + 400))
waitfor 100 tries_ge $R 2 || bad "B+400: remote retried" "tries $(tries $R)"
waitfor 100 header_is remote "$id" $((B + 1600)) || bad "B+400: remote next" "header $(header remote "$id")"
waitfor 100 header_is local "$id" $((B + 900)) || bad "B+400: local next" "header $(header local "$id")"
stop
check_eq "B+400: both retried" "$(tries $L) $(tries $R)" "3 2"
check_eq "B+400: local next at B+(20+10)^2" "$(header local "$id")" $((B + 900))
check_eq "B+400: remote next at B+(20+20)^2" "$(header remote "$id")" $((B + 1600))

fstart $((B + 850))
sleep 2
check_eq "B+850: nothing due" "$(tries $L) $(tries $R)" "3 2"
kill -ALRM "$SPID"
waitfor 100 header_is remote "$id" $((B + 2401)) || bad "B+850: remote next" "header $(header remote "$id")"
waitfor 100 header_is local "$id" $((B + 1521)) || bad "B+850: local next" "header $(header local "$id")"

check_eq "B+850 SIGALRM: both retried" "$(tries $L) $(tries $R)" "4 3"
check_eq "B+850: local next at B+(29+10)^2" "$(header local "$id")" $((B + 1521))
check_eq "B+850: remote next at B+(29+20)^2" "$(header remote "$id")" $((B + 2401))
: > "$F/ok/$L"; : > "$F/ok/$R"
kill -ALRM "$SPID"
waitfor 100 queue_empty || bad "frozen clock: drained" "$(queue_files) files left"
stop
check_eq "frozen clock: delivered at last" "$(awk -v l=$L -v r=$R '($2 == l || $2 == r) && $4 == "K"' "$F/deliveries" | wc -l | tr -d ' ')" 2
check_eq "no fakespawn errors" "$(cat "$F/errors")" ""
out=$("$H/bin/sluice-fsck" 2>&1)
check "sluice-fsck clean" test $? -eq 0 -a -z "$out"

done_testing
