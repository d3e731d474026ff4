# tests/sched.sh: shared by the sluice-send tests tests/sh/50-54, which run
# sluice-start in a private instance with fakespawn
# (tests/helpers/fakespawn.c) as sluice-lspawn and sluice-rspawn. Source
# it after tests/lib.sh, need_root and inst_fresh:
#   . "$(dirname "$0")/../sched.sh"
# It sets up:
#   $F                fakespawn's directory (FAKESPAWN_DIR): ok/,
#                     deliveries, errors, peak
#   control/me, control/locals   test.example
#   $T/msg            the test message; $LOG sluice-start's log (empty)
#   $SPLIT, $Q        conf-split, the instance's queue
#   an EXIT trap that kills sluice-start and its children (cleanup)
# and defines:
#   inj FROM RCPT...          queue the test message with sluice-queue
#   waitfor TENTHS CMD...     until CMD succeeds, polled every 0.1 s
#   start [VAR=VALUE...]      sluice-start in the background ($SPID)
#   stop                      SIGTERM to sluice-start; it must end in 70 s
#   send_pid, running, gone PID, cleanup
#   queue_files, queue_empty  files left in the queue; none left
#   tries ADDR, tries_ge ADDR N   how often fakespawn saw ADDR
#   todo_id                   the id of the only message in todo

F=$T/fake
mkdir "$F" "$F/ok" && chmod 777 "$F" "$F/ok"
# made here so that both spawners (root and the remote user) can append
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

# inj FROM RCPT...: queues the test message with sluice-queue.
inj() {
  inj_from=$1; shift
  { printf 'F%s\0' "$inj_from"; for r in "$@"; do printf 'T%s\0' "$r"; done; printf '\0'; } > "$T/env"
  "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env"
}
# waitfor TENTHS CMD...: until CMD succeeds, polled every 0.1 s.
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
# start [VAR=VALUE...]: sluice-start in the background with fakespawn's
# settings; waits until sluice-send runs.
start() {
  env "$@" FAKESPAWN_DIR="$F" "$H/bin/sluice-start" >> "$LOG" 2>&1 < /dev/null &
  SPID=$!
  waitfor 100 running || { bad "sluice-send started" "not running after 10 s"; cat "$LOG" >&2; }
}
gone() { ! kill -0 "$1" 2> /dev/null; }
# stop: SIGTERM to sluice-start; it must end within 70 s.
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
