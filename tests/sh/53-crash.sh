#!/bin/sh
# 53-crash.sh: kill -9 of sluice-send during a stream of messages loses
# nothing (sluice-send(8), SIGTERM: "that one delivery may then happen
# twice, never zero times").
#
# 300 messages (one local, one remote recipient each) are queued one by
# one while sluice-start runs with fakespawn (30 ms per delivery,
# concurrencylocal 5, concurrencyremote 5); five times, at random
# moments, sluice-send is killed with SIGKILL; sluice-start must then
# exit 111, and it is started again. When everything is done:
#  - every one of the 600 recipients was delivered (K) at least once;
#  - duplicates (deliveries beyond the first) are at most
#    kills x (concurrencylocal + concurrencyremote): only a delivery in
#    flight at a kill may be repeated (the number is printed);
#  - no info, local, remote, todo, intd or bounce file is left; a mess
#    file may be left only for a message whose "end msg" was logged (its
#    removal request to sluice-clean died with sluice-send).
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

F=$T/fake
mkdir "$F" "$F/ok" && chmod 777 "$F" "$F/ok"
: > "$F/deliveries"; : > "$F/errors"; chmod 666 "$F/deliveries" "$F/errors"
# fakespawn writes the shared peak file through one temporary name from
# both spawners, a race that can kill one of them; a value no spawner
# reaches keeps them from writing it (the tests read peak.NAME instead)
echo 1000000 > "$F/peak"
for p in sluice-lspawn sluice-rspawn; do
  cp "$BIN/tests/fakespawn" "$H/bin/$p" && chmod 755 "$H/bin/$p"
done
echo test.example > "$H/control/me"
echo test.example > "$H/control/locals"
printf 'From: someone@x.org\nSubject: test\n\nbody\n' > "$T/msg"
LOG=$T/log
: > "$LOG"
SPLIT=$(sed -n 1p conf-split)
Q=$H/queue

inj() {
  inj_from=$1; shift
  { printf 'F%s\0' "$inj_from"; for r in "$@"; do printf 'T%s\0' "$r"; done; printf '\0'; } > "$T/env"
  "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env"
}
waitfor() {
  wf_n=$1; shift
  while [ "$wf_n" -gt 0 ]; do
    "$@" && return 0
    sleep 0.1
    wf_n=$((wf_n - 1))
  done
  return 1
}
SPID=""
send_pid() { [ -n "$SPID" ] && pgrep -x -P "$SPID" sluice-send; }
running() { send_pid > /dev/null; }
start() {
  env "$@" FAKESPAWN_DIR="$F" "$H/bin/sluice-start" >> "$LOG" 2>&1 < /dev/null &
  SPID=$!
  waitfor 100 running || { bad "sluice-send started" "not running after 10 s"; cat "$LOG" >&2; }
}
gone() { ! kill -0 "$1" 2> /dev/null; }
stop() {
  [ -n "$SPID" ] || return 0
  kill -TERM "$SPID" 2> /dev/null
  if waitfor 700 gone "$SPID"; then wait "$SPID"; else kill -KILL "$SPID"; bad "sluice-start ends" "still there 70 s after SIGTERM"; fi
  SPID=""
}
cleanup() {
  if [ -n "$SPID" ]; then
    for c in $(pgrep -P "$SPID" 2> /dev/null); do kill -KILL "$c" 2> /dev/null; done
    kill -KILL "$SPID" 2> /dev/null
  fi
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
queue_files() { find "$Q/mess" "$Q/todo" "$Q/intd" "$Q/info" "$Q/local" "$Q/remote" "$Q/bounce" "$Q/pid" -type f | wc -l; }
queue_empty() { [ "$(queue_files)" -eq 0 ]; }
# tries ADDR: how often fakespawn saw ADDR
tries() { awk -v a="$1" '$2 == a { n++ } END { print n + 0 }' "$F/deliveries"; }
tries_ge() { [ "$(tries "$1")" -ge "$2" ]; }
# the id of the only message in todo
todo_id() { find "$Q/todo" -type f | sed 's|.*/||'; }
IPID=""
cleanup2() { [ -n "$IPID" ] && kill -KILL "$IPID" 2> /dev/null; cleanup; }
trap cleanup2 EXIT

CL=5 CR=5 N=300 KILLS=5
echo $CL > "$H/control/concurrencylocal"
echo $CR > "$H/control/concurrencyremote"

# the stream of messages, in the background
(
  i=0
  while [ $i -lt $N ]; do
    { printf 'Fs%s@x.org\0' $i; printf 'Tl%s@test.example\0Tr%s@d%s.example\0\0' $i $i $((i % 10)); } > "$T/env.i"
    "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env.i" || echo "$i" >> "$T/inject.failed"
    sleep 0.01
    i=$((i + 1))
  done
) &
IPID=$!

start FAKESPAWN_DELAY_MS=30
k=0 exits=""
while [ $k -lt $KILLS ]; do
  sleep "$(awk -v s=$$ -v k=$k 'BEGIN { srand(s * 7 + k); printf "%.2f", 0.2 + rand() * 0.8 }')"
  sp=$(send_pid)
  if [ -z "$sp" ]; then bad "kill $k: sluice-send running" "no sluice-send"; break; fi
  kill -KILL "$sp"
  if waitfor 700 gone "$SPID"; then wait "$SPID"; exits="$exits $?"; else bad "kill $k: sluice-start ends" "still there after 70 s"; fi
  SPID=""
  k=$((k + 1))
  start FAKESPAWN_DELAY_MS=30
done
check_eq "sluice-start exits 111 after each kill" "$exits" " 111 111 111 111 111"
waitfor 600 gone "$IPID" || bad "injector done" "still running after 60 s"
wait "$IPID"
IPID=""
check_eq "every injection succeeded" "$(cat "$T/inject.failed" 2> /dev/null)" ""
# lost clean requests can leave mess files; everything else must go
busy_files() { find "$Q/todo" "$Q/intd" "$Q/info" "$Q/local" "$Q/remote" "$Q/bounce" -type f | wc -l; }
no_busy() { [ "$(busy_files)" -eq 0 ]; }
waitfor 1200 no_busy || bad "drained after the kills" "$(busy_files) files left after 120 s"
stop

i=0
while [ $i -lt $N ]; do
  echo "l$i@test.example"; echo "r$i@d$((i % 10)).example"
  i=$((i + 1))
done | sort > "$T/want"
awk '$4 == "K" { print $2 }' "$F/deliveries" | sort > "$T/got"
sort -u "$T/got" > "$T/got.u"
check "no recipient lost" cmp -s "$T/want" "$T/got.u"
check_eq "nothing but successes" "$(awk '$4 != "K"' "$F/deliveries" | wc -l | tr -d ' ')" 0
dups=$(($(wc -l < "$T/got") - $(wc -l < "$T/got.u")))
echo "# $KILLS kills, $dups duplicate deliveries (bound $((KILLS * (CL + CR))))"
check "duplicates at most kills x concurrency ($dups)" test "$dups" -le $((KILLS * (CL + CR)))
check_eq "no info, local, remote, todo, intd, bounce left" "$(busy_files)" 0
left=""
for m in $(find "$Q/mess" -type f | sed 's|.*/||'); do
  grep -qx "end msg $m" "$LOG" || left="$left $m"
done
check_eq "a mess file left only for an ended message" "$left" ""
check_eq "no pid file" "$(find "$Q/pid" -type f | wc -l | tr -d ' ')" 0
check_eq "no fakespawn errors" "$(cat "$F/errors")" ""

done_testing
