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
#  - a new message queued then (sluice-queue names it on lock/trigger)
#    is delivered within 5 seconds, more than half of the backlog still
#    in todo: it does not wait for the scan;
#  - backlog messages are being delivered too (the batches go on).
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

. "$(dirname "$0")/../sched.sh"
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
# new mail while the backlog waits: sluice-queue names it on the
# trigger, sluice-send takes it before the backlog and puts its first
# delivery at the front of the line (sluice-send(8), Preprocessing)
inj "s@x.org" "newp@test.example" || bad "queue the new message" "sluice-queue failed"
newp_delivered() { [ "$(awk '$2 == "newp@test.example" && $4 == "K"' "$F/deliveries" | wc -l)" -ge 1 ]; }
if waitfor 50 newp_delivered; then
  ok "new message delivered within 5 s"
  todo_left=$(find "$Q/todo" -type f | wc -l)
  check "new message: more than half of the backlog still in todo ($todo_left)" test "$todo_left" -gt $((NB / 2))
else
  bad "new message delivered within 5 s" "not delivered; $(find "$Q/todo" -type f | wc -l) in todo"
fi
backlog_moving() { [ "$(awk '$2 ~ /^b[0-9]+@/' "$F/deliveries" | wc -l)" -ge 20 ]; }
waitfor 100 backlog_moving || bad "backlog delivered too" "$(awk '$2 ~ /^b[0-9]+@/' "$F/deliveries" | wc -l) deliveries"
stop
check_eq "no fakespawn errors" "$(cat "$F/errors")" ""
# the backlog is not waited for; its files go now
rm -rf "$Q/todo" "$Q/intd" "$Q/mess" "$Q/info" "$Q/local"

done_testing
