#!/bin/sh
# bench/local.sh: end-to-end local delivery rate with the real delivery
# set, beside the raw fsync rate of the same file system.
#
# Installs a private instance the way the tests do (tests/lib.sh), with
# one local user (useradd -m, removed at the end) to whom users/assign
# routes user@example.org, the recipient tests/helpers/qbench.c puts in
# its envelopes. With sluice-start running (sluice-send, sluice-lspawn,
# sluice-local, sluice-clean), qbench injects LOCAL_BENCH_MESSAGES
# (default 5000) 2 KB messages through sluice-queue, 20 at once; the
# clock runs from the first injection until the last message is in
# ~/Maildir/new (bounded by LOCAL_BENCH_LIMIT seconds, default 900).
# Rows:
#   local-e2e          messages per second, injection to Maildir/new
#   local-inject       the injection rate during that run
#   local-cpu          CPU (user + system) per message of every process
#                      involved (qbench, sluice-queue, the delivery set
#                      and its children), in microseconds (DESIGN.md 13: Postfix
#                      spends about 4000 on a 2-core machine)
#   local-fsync-raw-1  fsyncs per second of one process (file + dir),
#                      tests/helpers/fsyncrate.c, as in bench/queue.sh
# Needs root. Rows on fd 1 for bench/run; progress on fd 2.
BENCH_ROW=local-e2e
. bench/lib.sh
PATH=$PATH:/usr/sbin:/sbin
export PATH
N=${LOCAL_BENCH_MESSAGES:-5000}
LIMIT=${LOCAL_BENCH_LIMIT:-900}
BU=slbenchl
cleanup() {
  kill_set 300
  userdel -r "$BU" > /dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 111' INT TERM HUP

bench_install
[ -x "$FSR" ] && [ -x "$QB" ] || die "fsyncrate or qbench missing in $BIN/tests"

userdel -r "$BU" > /dev/null 2>&1
useradd -m -s /bin/sh "$BU" || die "useradd $BU failed"
BH=$(getent passwd "$BU" | cut -d: -f6)
(cd "$BH" && setpriv --reuid="$(id -u $BU)" --regid="$(id -g $BU)" --init-groups "$H/bin/sluice-maildirmake" Maildir) ||
  die "maildirmake failed"
echo example.org > "$H/control/me"
echo example.org > "$H/control/locals"
# every message goes to one user: no per-user cap below concurrencylocal
# (control/concurrencyuser, sluice-control(5)), or half the deliveries
# would be deferred
echo 1000 > "$H/control/concurrencyuser"
printf '=user:%s:%s:%s:%s:::\n.\n' "$BU" "$(id -u $BU)" "$(id -g $BU)" "$BH" > "$H/users/assign"
"$H/bin/sluice-newu" || die "sluice-newu failed"

mkdir -p "$H/fsyncbench" || die "cannot create $H/fsyncbench"
fstype=$(stat -f -c %T "$H/fsyncbench" 2> /dev/null)
set -- $("$FSR" "$H/fsyncbench" 300) || die "fsyncrate failed"
rawa=$3

cpu_mark

start_set
kill -0 "$spid" 2> /dev/null || die "sluice-start did not start: $(cat "$T/log")"

# count: the messages in Maildir/new into $got, with shell builtins only
# (no process, so the CPU figure is the mail system's alone)
count() { set -- "$BH"/Maildir/new/*; got=$#; [ -e "$1" ] || got=0; }
echo "local-e2e: $N messages of 2 KB, 20 injectors" >&2
t0=$(date +%s%N)
set -- $("$QB" "$H/bin/sluice-queue" 20 "$N" 2048) || die "qbench had failures: $*"
qrate=$4
k=0
count
while [ "$got" -lt "$N" ] && [ $k -lt $((LIMIT * 10)) ]; do sleep 0.1; k=$((k + 1)); count; done
t1=$(date +%s%N)
[ "$got" -eq "$N" ] || die "only $got of $N messages delivered within $LIMIT s"
rate=$((N * 1000000000 / (t1 - t0)))

stop_set "$N"
grep -c 'deferral\|failure' "$T/log" | awk '$1 > 0 { print "bench/local.sh: " $1 " deferrals or failures logged" }' >&2

set -- $("$FSR" "$H/fsyncbench" 300) || die "fsyncrate failed"
rawb=$3
raw=$(((rawa + rawb) / 2))
printf 'local-e2e\t%s\tmsg/s\t%s x 2 KB, injected 20 at once until all in Maildir/new (%s ms); fsync-raw-1 %s/s\n' \
  "$rate" "$N" "$(((t1 - t0) / 1000000))" "$raw"
printf 'local-inject\t%s\tmsg/s\tsluice-queue rate in the same run, deliveries running beside it\n' "$qrate"
printf 'local-cpu\t%s\tus/msg\tCPU of all processes per message, injection to Maildir (Postfix ~4000)\n' "$cpu"
printf 'local-fsync-raw-1\t%s\tfsyncs/s\t2 KB + fsync file + fsync dir on %s (%s, %s)\n' "$raw" "$fstype" "$rawa" "$rawb"
