#!/bin/sh
# bench/lib.sh: shared by the benchmarks bench/*.sh, and no benchmark
# itself: run on its own (bench/run runs every bench/*.sh) it prints
# nothing and exits 0. A benchmark names the row it prints when it is
# skipped and sources it from the top of the tree:
#   BENCH_ROW=NAME
#   . bench/lib.sh
# It points tests/lib.sh at the benchmark's own instance (conf-home
# SLUICE_BENCH_HOME, default /tmp/sluice-bench/home, compiled into
# SLUICE_BENCH_BUILD, default build/bench); unless running as root it
# prints the row "NAME - - skipped: ..." and exits 0; then it sources
# tests/lib.sh and tests/e2e.sh (start_set, kill_set, queue_empty...),
# sets FSR and QB (tests/helpers/fsyncrate and qbench as built) and
# defines:
#   die TEXT         "bench/SCRIPT: TEXT" on fd 2, and exit 111
#   bench_install    build and install the private instance (inst_fresh)
#   bench_fakespawn  fakespawn as both spawners; Q; role ROLE
#   cpu_children     CPU microseconds (user + system) of the finished
#                    children so far, from the shell's times as written
#                    to $T/times (times runs in the script's own shell,
#                    not in a command substitution's subshell)
#   cpu_mark         cpu0: cpu_children now
#   stop_set N       SIGTERM to sluice-start ($spid) and wait for it;
#                    cpu: CPU microseconds per message for N messages of
#                    every child since cpu_mark
#   strace_attach OUT PID...   strace -f -qq -y -s 256 (every call, no
#                    signals) attached to the PIDs and whatever they fork,
#                    written to OUT (bench/peers.py count reads it); in
#                    the background as $strace_pid, 2 s given to attach
#   strace_detach    ends that strace (SIGINT; at most 30 s) and waits
case ${0##*/} in lib.sh) exit 0 ;; esac
SLUICE_TEST_HOME=${SLUICE_BENCH_HOME:-/tmp/sluice-bench/home}
SLUICE_TEST_BUILD=${SLUICE_BENCH_BUILD:-build/bench}
export SLUICE_TEST_HOME SLUICE_TEST_BUILD
if [ "$(id -u)" -ne 0 ]; then
  printf '%s\t-\t-\tskipped: needs root (users, setuid sluice-queue)\n' "$BENCH_ROW"
  exit 0
fi
. tests/lib.sh
. tests/e2e.sh
FSR=$BIN/tests/fsyncrate
QB=$BIN/tests/qbench
die() { echo "bench/${0##*/}: $*" >&2; exit 111; }
# bench_fakespawn: tests/helpers/fakespawn as both spawners, this host
# bench.example, Q the queue, role ROLE: the user of a role (conf-users)
bench_fakespawn() {
  for p in sluice-lspawn sluice-rspawn; do
    cp "$BIN/tests/fakespawn" "$H/bin/$p" && chmod 755 "$H/bin/$p" || die "cannot install fakespawn"
  done
  echo bench.example > "$H/control/me"
  echo bench.example > "$H/control/locals"
  Q=$H/queue
}
role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
bench_install() {
  echo "building and installing a private instance in $H" >&2
  inst_fresh
}
cpu_children() { sed -n 2p "$T/times" | tr 'ms' '  ' | awk '{ printf "%d\n", ($1 * 60 + $2 + $3 * 60 + $4) * 1000000 }'; }
cpu_mark() {
  times > "$T/times"
  cpu0=$(cpu_children)
}
stop_set() {
  kill -TERM "$spid"
  wait "$spid"
  spid=''
  times > "$T/times"
  cpu1=$(cpu_children)
  cpu=$(((cpu1 - cpu0) / $1))
}
strace_pid=''
strace_attach() {
  out=$1
  shift
  args=''
  for q; do args="$args -p $q"; done
  # shellcheck disable=SC2086 # one -p per pid
  strace -f -qq -y -s 256 -e signal=none -o "$out" $args 2> "$out.err" &
  strace_pid=$!
  sleep 2
  kill -0 "$strace_pid" 2> /dev/null || die "strace did not start: $(cat "$out.err")"
}
strace_detach() {
  [ -n "$strace_pid" ] || return 0
  kill -INT "$strace_pid" 2> /dev/null
  k=0
  while kill -0 "$strace_pid" 2> /dev/null && [ $k -lt 300 ]; do sleep 0.1; k=$((k + 1)); done
  kill -0 "$strace_pid" 2> /dev/null && die "strace did not end"
  wait "$strace_pid" 2> /dev/null
  strace_pid=''
}
