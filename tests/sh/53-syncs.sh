#!/bin/sh
# 53-syncs.sh: the sync calls of sluice-queue(5), "Durability", counted
# with strace (fsync, fdatasync, sync_file_range, syncfs, sync, with the
# path of each descriptor), fakespawn as both spawners (sched.sh):
#  1. one injection by sluice-queue makes exactly 4 calls: fsync of the
#     message file (still unnamed, or pid/PID), of mess/N, of the envelope
#     file intd/N/ID and of todo/N;
#  2. 30 messages queued while the set is stopped, one local recipient
#     each, are preprocessed in one batch: one fdatasync per info file,
#     two per channel file (when written, and after the delivery's
#     mark), and each local/N and info/N directory fsynced exactly once
#     however many names it received (group commit); the writeback of
#     each file written is started (sync_file_range) before the
#     fdatasyncs, so that one journal commit serves the batch;
#  3. a message whose one local recipient is deferred (defer...), tried
#     4 times (SIGALRM retries at once): its channel file gets 1
#     fdatasync, when it is written; a result that marks nothing syncs
#     nothing (before: one per deferral, 5);
#  4. a message with 10 local recipients whose results fakespawn writes
#     at once (FAKESPAWN_GATHER=10): each delivered once, its channel
#     file synced twice, when written and once for the 10 marks (before:
#     once per result, 11);
# and the queue ends empty each time. Needs strace.
. "$(dirname "$0")/../lib.sh"
need_root
command -v strace > /dev/null 2>&1 || { bad "strace installed" "apt-get install strace"; done_testing; }
inst_fresh
. "$(dirname "$0")/../sched.sh"
TPID=''
cleanup2() {
  cleanup
  [ -n "$TPID" ] && kill "$TPID" 2> /dev/null
}
trap cleanup2 EXIT
SYNCS=trace=fsync,fdatasync,sync_file_range,syncfs,sync
# tstart TRACE [VAR=VALUE...]: sluice-start under strace -f, its calls in
# TRACE; SPID is sluice-start's pid, so that stop works as in sched.sh
tstart() {
  ts_out=$1; shift
  env "$@" FAKESPAWN_DIR="$F" strace -f -qq -y -e "$SYNCS" -o "$ts_out" "$H/bin/sluice-start" >> "$LOG" 2>&1 < /dev/null &
  TPID=$!
  SPID=''
  waitfor 100 sh -c "pgrep -x -P $TPID sluice-start > /dev/null" || bad "sluice-start under strace started"
  SPID=$(pgrep -x -P "$TPID" sluice-start)
  waitfor 100 running || bad "sluice-send started" "not running after 10 s"
}
tstop() {
  stop
  wait "$TPID"
  TPID=''
}
# calls TRACE CALL PATH-REGEX: the number of CALL calls on a descriptor
# whose path matches $Q/PATH-REGEX exactly (a call cut in two by
# another process's is counted once: its "resumed" line has no path);
# total TRACE: every sync call
calls() { grep -Ec "^([0-9]+ +)?$2\\([0-9]+<$Q/$3>[) ]" "$1"; }
total() { grep -Ec "^([0-9]+ +)?(fsync|fdatasync|syncfs|sync)\\(" "$1"; }
# sfr TRACE: sync_file_range calls (the writeback started early, which
# guarantees nothing and is not one of the syncs; sluice-queue(5))
sfr() { grep -Ec "^([0-9]+ +)?sync_file_range\\(" "$1"; }
sub() { echo $(($1 % SPLIT)); }

# ---- 1. sluice-queue
{ printf 'Fs@x.org\0'; printf 'Tq1@test.example\0\0'; } > "$T/env"
strace -qq -y -e "$SYNCS" -o "$T/q.trace" "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env"
check_eq "sluice-queue exits 0 under strace" "$?" 0
id=$(todo_id)
n=$(sub "$id")
check_eq "sluice-queue: 4 sync calls" "$(total "$T/q.trace")" 4
# the message file: an unnamed file made in intd/P (strace shows it as
# intd/P/#ID, deleted) or, without O_TMPFILE, pid/PID
check_eq "the message file" "$(grep -Ec "^([0-9]+ +)?fsync\\([0-9]+<$Q/(intd/[0-9]+/#$id>\\(deleted\\)|pid/[0-9]+>)[) ]" "$T/q.trace")" 1
check_eq "mess/N" "$(calls "$T/q.trace" fsync "mess/$n")" 1
check_eq "the envelope file" "$(calls "$T/q.trace" fsync "intd/$n/$id")" 1
check_eq "todo/N" "$(calls "$T/q.trace" fsync "todo/$n")" 1
rm -f "$Q/todo/$n/$id" "$Q/intd/$n/$id" "$Q/mess/$n/$id"

# ---- 2. a batch of 30
i=0
while [ $i -lt 30 ]; do
  inj "s@x.org" "b$i@test.example" || bad "queue b$i"
  i=$((i + 1))
done
ids=$(find "$Q/todo" -type f | sed 's|.*/||' | sort -n)
dirs=$(for id in $ids; do sub "$id"; done | sort -u | wc -l | tr -d ' ')
tstart "$T/t2.trace"
waitfor 300 queue_empty || bad "batch delivered" "$(queue_files) files left"
tstop
check_eq "30 delivered" "$(awk '$4 == "K"' "$F/deliveries" | wc -l | tr -d ' ')" 30
c_info=0 c_local=0
for id in $ids; do
  c_info=$((c_info + $(calls "$T/t2.trace" fdatasync "info/$(sub "$id")/$id")))
  c_local=$((c_local + $(calls "$T/t2.trace" fdatasync "local/$(sub "$id")/$id")))
done
check_eq "one fdatasync per info file" "$c_info" 30
check_eq "two fdatasyncs per channel file" "$c_local" 60
check_eq "each local/N once ($dirs directories)" "$(calls "$T/t2.trace" fsync 'local/[0-9]+')" "$dirs"
check_eq "each info/N once" "$(calls "$T/t2.trace" fsync 'info/[0-9]+')" "$dirs"
check_eq "no other sync call" "$(total "$T/t2.trace")" $((30 + 60 + 2 * dirs))
check_eq "writeback started early for each info and channel file written" "$(sfr "$T/t2.trace")" 60

# ---- 3. deferrals
inj "s@x.org" "defer1@test.example" || bad "queue defer1"
id=$(todo_id)
tstart "$T/t3.trace"
waitfor 100 tries_ge defer1@test.example 1 || bad "first try"
# SIGALRM once the last deferral is logged: its pass is over by the time
# sluice-send reads the signal (results are handled whole first)
deferrals() { [ "$(grep -c 'deferral: 4.3.0 deferred' "$LOG")" -ge "$1" ]; }
for k in 2 3 4; do
  waitfor 100 deferrals $((k - 1)) || bad "deferral $((k - 1)) logged"
  kill -ALRM "$SPID"
  waitfor 100 tries_ge defer1@test.example $k || bad "try $k"
done
waitfor 100 deferrals 4 || bad "4 deferrals logged"
check_eq "4 tries" "$(tries defer1@test.example)" 4
check_eq "deferrals: the channel file synced only when written" \
  "$(calls "$T/t3.trace" fdatasync "local/$(sub "$id")/$id")" 1
touch "$F/ok/defer1@test.example"
kill -ALRM "$SPID"
waitfor 100 queue_empty || bad "defer1 delivered at last" "$(queue_files) files left"
tstop
check_eq "then delivered: one more for its mark" "$(calls "$T/t3.trace" fdatasync "local/$(sub "$id")/$id")" 2

# ---- 4. ten results read at once
inj "s@x.org" g0@test.example g1@test.example g2@test.example g3@test.example g4@test.example \
  g5@test.example g6@test.example g7@test.example g8@test.example g9@test.example || bad "queue g"
id=$(todo_id)
tstart "$T/t4.trace" FAKESPAWN_GATHER=10
waitfor 300 queue_empty || bad "g delivered" "$(queue_files) files left"
tstop
check_eq "10 recipients delivered once each" \
  "$(awk '$4 == "K" && $2 ~ /^g[0-9]@/ { print $2 }' "$F/deliveries" | sort -u | wc -l | tr -d ' ') $(awk '$2 ~ /^g[0-9]@/' "$F/deliveries" | wc -l | tr -d ' ')" "10 10"
check_eq "10 marks, one fdatasync" "$(calls "$T/t4.trace" fdatasync "local/$(sub "$id")/$id")" 2
check_eq "no fakespawn errors" "$(cat "$F/errors")" ""
check "the queue is empty" queue_empty

done_testing
