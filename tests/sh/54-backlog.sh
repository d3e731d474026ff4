#!/bin/sh
# 54-backlog.sh: a backlog of 100,000 messages in todo does not hold up
# deliveries of messages already preprocessed (sluice-send(8),
# Preprocessing: todo is read in bounded batches between scheduling
# rounds).
#
# A message to deferp@test.example is preprocessed and deferred, then
# sluice-start is stopped, its retry time reset to 0 (now) and the
# recipient made deliverable (fakespawn's ok/ file). tests/helpers/mktodo
# then fills todo with 100,000 messages to local recipients, as the
# queue user. sluice-start is started again with 100 ms per delivery:
#  - deferp@test.example is delivered within 5 seconds;
#  - fewer than 5% of the backlog had been delivered before it;
#  - more than half of the backlog was still in todo at that moment (so
#    it really was waiting behind an undrained todo);
#  - backlog messages are being delivered too (the batches go on).
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
role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
NB=${SLUICE_BACKLOG:-100000}
MKTODO=$BIN/tests/mktodo
[ -x "$MKTODO" ] || { bad "mktodo built" "$MKTODO missing"; done_testing; }

inj "s@x.org" "deferp@test.example" || bad "queue" "sluice-queue failed"
id=$(todo_id)
start
lf=$Q/local/$((id % SPLIT))/$id
deferred() { [ "$(tries deferp@test.example)" -ge 1 ] && [ -f "$lf" ] && [ "$(head -c 21 "$lf" | tail -c 20)" != 00000000000000000000 ]; }
waitfor 100 deferred || bad "first attempt deferred" "tries $(tries deferp@test.example)"
stop
check "preprocessed: info exists" test -f "$Q/info/$((id % SPLIT))/$id"
check_eq "todo empty" "$(find "$Q/todo" -type f | wc -l | tr -d ' ')" 0
printf 'R00000000000000000000' | dd of="$lf" conv=notrunc 2> /dev/null
: > "$F/ok/deferp@test.example"; chmod 666 "$F/ok/deferp@test.example"

t0=$(date +%s)
setpriv --reuid "$(role queue)" --regid "$(role group)" --clear-groups "$MKTODO" "$NB" b@x.org 'b%@test.example' ||
  bad "mktodo" "failed"
t1=$(date +%s)
echo "# mktodo: $NB messages in $((t1 - t0)) s"
check_eq "backlog in todo" "$(find "$Q/todo" -type f | wc -l | tr -d ' ')" "$NB"

start FAKESPAWN_DELAY_MS=100
t0=$(date +%s)
delivered_p() { [ "$(awk '$2 == "deferp@test.example" && $4 == "K"' "$F/deliveries" | wc -l)" -ge 1 ]; }
if waitfor 50 delivered_p; then
  ok "preprocessed message delivered within 5 s"
  todo_left=$(find "$Q/todo" -type f | wc -l)
  before=$(awk '$2 == "deferp@test.example" && $4 == "K" { exit } $2 ~ /^b[0-9]+@/ { n++ } END { print n + 0 }' "$F/deliveries")
  echo "# delivered after $(($(date +%s) - t0)) s; $before backlog deliveries before it; $todo_left still in todo"
  check "fewer than 5% of the backlog before it ($before)" test "$before" -lt $((NB / 20))
  check "more than half still in todo ($todo_left)" test "$todo_left" -gt $((NB / 2))
else
  bad "preprocessed message delivered within 5 s" "not delivered; $(find "$Q/todo" -type f | wc -l) in todo"
fi
backlog_moving() { [ "$(awk '$2 ~ /^b[0-9]+@/' "$F/deliveries" | wc -l)" -ge 20 ]; }
waitfor 100 backlog_moving || bad "backlog delivered too" "$(awk '$2 ~ /^b[0-9]+@/' "$F/deliveries" | wc -l) deliveries"
stop
check_eq "no fakespawn errors" "$(cat "$F/errors")" ""
# the backlog is not waited for; its files go now
rm -rf "$Q/todo" "$Q/intd" "$Q/mess" "$Q/info" "$Q/local"

done_testing
