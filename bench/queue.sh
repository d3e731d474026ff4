#!/bin/sh
# bench/queue.sh: injection rate of sluice-queue against the fsync-bound
# limit of the file system the queue lives on.
#
# sluice-queue makes four fsyncs per message (the mess file, mess/N, the
# intd file, todo/N: sluice-queue(5)), so on a small server its rate is
# bounded by the fsync rate. This script installs a private instance the
# way the tests do (tests/lib.sh: own conf-home, real users, setuid
# sluice-queue), then measures in the same run, on the same file system:
#   fsync-raw-1       one process: create a file, write 2 KB, fsync it,
#                     fsync its directory (tests/helpers/fsyncrate.c);
#                     the figure is fsyncs per second, and the reference
#                     column shows it as messages/s at 4 fsyncs each;
#   queue-1           2 KB messages, one injector at a time
#                     (tests/helpers/qbench.c forks and execs sluice-queue
#                     with pipes, so no shell runs per message);
#   fsync-raw-link-1  the same with a link before the directory fsync,
#                     so that the directory fsync has something to commit;
#   fsync-raw-20      20 fsyncrate processes at once, fsyncs per second of
#                     wall time (the file system may share journal
#                     commits between them);
# the raw rates are measured before and after the queue runs and
# averaged (both shown), as they drift on a shared machine;
#   queue-20          2 KB messages, 20 injectors at once;
# each queue figure with its percentage of the raw fsync-bound rate
# (target: at least 80%). Needs root (setup makes users and the setuid
# bit). Rows on fd 1 as bench/run wants them; progress on fd 2.
# QUEUE_BENCH_ONE / QUEUE_BENCH_MANY set the message counts (300, 2000).
BENCH_ROW=queue
. bench/lib.sh
ONE=${QUEUE_BENCH_ONE:-300}
MANY=${QUEUE_BENCH_MANY:-2000}
bench_install
Q=$H/bin/sluice-queue
QD=$H/queue
qclear() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f -exec rm -f {} +; }

mkdir -p "$H/fsyncbench" || die "cannot create $H/fsyncbench"
fstype=$(stat -f -c %T "$H/fsyncbench" 2> /dev/null)

# raw1: one process, ROUNDS MICROSECONDS FSYNCS_PER_SECOND; measured
# before and after the queue runs and averaged, as the rate drifts.
raw_one() {
  set -- $("$FSR" "$H/fsyncbench" "$ONE" ${1:-}) || die "fsyncrate failed"
  echo "$3"
}
# raw_many: 20 processes at once, fsyncs per second of wall time.
raw_many() {
  t0=$(date +%s%N)
  i=0
  while [ $i -lt 20 ]; do
    "$FSR" "$H/fsyncbench" $((MANY / 20)) > "$T/raw.$i" &
    i=$((i + 1))
  done
  wait
  t1=$(date +%s%N)
  [ "$(cat "$T"/raw.* | awk 'NF == 3' | wc -l)" -eq 20 ] || die "a parallel fsyncrate failed"
  echo $((2 * (MANY / 20) * 20 * 1000000000 / (t1 - t0)))
}

echo "fsync-raw-1: $ONE rounds" >&2
rawa=$(raw_one)
rawl=$(raw_one link)
echo "fsync-raw-20: 20 x $((MANY / 20)) rounds" >&2
raw20a=$(raw_many)

# queue, one injector: DONE FAILED MICROSECONDS MESSAGES_PER_SECOND
qclear
echo "queue-1: $ONE messages" >&2
set -- $("$QB" "$Q" 1 "$ONE" 2048) || die "qbench (1 injector) had failures: $*"
q1=$4
qclear
echo "queue-20: $MANY messages" >&2
set -- $("$QB" "$Q" 20 "$MANY" 2048) || die "qbench (20 injectors) had failures: $*"
q20=$4
qclear

echo "fsync-raw again" >&2
rawb=$(raw_one)
raw20b=$(raw_many)
raw1=$(((rawa + rawb) / 2))
raw20=$(((raw20a + raw20b) / 2))

ref1=$((raw1 / 4))
ref20=$((raw20 / 4))
[ "$ref1" -gt 0 ] || ref1=1
[ "$ref20" -gt 0 ] || ref20=1
printf 'fsync-raw-1\t%s\tfsyncs/s\t2 KB + fsync file + fsync dir on %s (%s, %s) = %s msg/s at 4 fsyncs each\n' "$raw1" "$fstype" "$rawa" "$rawb" "$ref1"
printf 'fsync-raw-link-1\t%s\tfsyncs/s\tthe same with a link before the dir fsync = %s msg/s at 4 fsyncs each\n' "$rawl" "$((rawl / 4))"
printf 'queue-1\t%s\tmsg/s\t%s%% of %s msg/s fsync-bound (target 80%%)\n' "$q1" "$((q1 * 100 / ref1))" "$ref1"
printf 'fsync-raw-20\t%s\tfsyncs/s\t20 processes at once (%s, %s) = %s msg/s at 4 fsyncs each\n' "$raw20" "$raw20a" "$raw20b" "$ref20"
printf 'queue-20\t%s\tmsg/s\t%s%% of %s msg/s fsync-bound, 20 at once (target 80%%)\n' "$q20" "$((q20 * 100 / ref20))" "$ref20"
