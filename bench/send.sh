#!/bin/sh
# bench/send.sh: sluice-send's scheduling rate and CPU cost per message
# with a small and a large queue.
#
# A private instance is installed as the tests do (tests/lib.sh), with
# tests/helpers/fakespawn as sluice-lspawn and sluice-rspawn answering
# every delivery at once. tests/helpers/mktodo fills todo with SMALL
# (default 10,000) messages of two recipients each (one local, one
# remote); sluice-start is started and timed until todo and info are
# empty; sluice-send's utime + stime are read from /proc/PID/stat just
# before it is stopped. The same again with LARGE (default 100,000).
# Rows (bench/run's format, tab-separated):
#   send-rate-SMALL / send-rate-LARGE   recipients delivered per second
#   send-cpu-SMALL / send-cpu-LARGE     sluice-send CPU microseconds per message
#   send-rate-ratio                     rate at LARGE as % of the rate at SMALL
#                                       (target: at least 90%)
# Needs root. SEND_BENCH_SMALL / SEND_BENCH_LARGE set the counts;
# each run is bounded by SEND_BENCH_LIMIT seconds (default 1200).
BENCH_ROW=send
. bench/lib.sh
SMALL=${SEND_BENCH_SMALL:-10000}
LARGE=${SEND_BENCH_LARGE:-100000}
LIMIT=${SEND_BENCH_LIMIT:-1200}

bench_install
bench_fakespawn
TICK=$(getconf CLK_TCK)
cleanup() { kill_set; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
busy() { [ -n "$(find "$Q/todo" "$Q/info" -type f -print -quit)" ]; }

# run N: prints "RECIPIENTS_PER_SECOND CPU_MICROSECONDS_PER_MESSAGE"
run() {
  find "$Q/mess" "$Q/todo" "$Q/intd" "$Q/info" "$Q/local" "$Q/remote" "$Q/bounce" -type f -exec rm -f {} +
  echo "mktodo: $1 messages" >&2
  setpriv --reuid "$(role queue)" --regid "$(role group)" --clear-groups \
    "$BIN/tests/mktodo" "$1" bench@x.org 'l%@bench.example' 'r%@remote.example' || die "mktodo failed"
  "$H/bin/sluice-start" > "$T/log" 2>&1 < /dev/null &
  spid=$!
  t0=$(date +%s%N)
  k=0
  while busy; do
    sleep 0.2
    k=$((k + 1))
    [ $k -lt $((LIMIT * 5)) ] || die "queue of $1 not drained after $LIMIT s"
    kill -0 "$spid" 2> /dev/null || { tail -n 5 "$T/log" >&2; die "sluice-start ended"; }
  done
  t1=$(date +%s%N)
  sp=$(pgrep -x -P "$spid" sluice-send) || die "no sluice-send"
  cpu=$(awk '{ print $14 + $15 }' "/proc/$sp/stat")
  kill -TERM "$spid"
  wait "$spid"
  spid=""
  ends=$(grep -c '^end msg ' "$T/log")
  [ "$ends" -eq "$1" ] || die "$ends of $1 messages ended"
  echo "$1 messages: $(((t1 - t0) / 1000000)) ms, sluice-send cpu $cpu ticks" >&2
  echo "$((2 * $1 * 1000000000 / (t1 - t0))) $((cpu * 1000000 / TICK / $1))"
}

set -- $(run "$SMALL"); rs=$1 cs=$2
set -- $(run "$LARGE"); rl=$1 cl=$2
[ "$rs" -gt 0 ] || rs=1
printf 'send-rate-%s\t%s\trcpt/s\t%s messages x 2 recipients, fakespawn answering at once\n' "$SMALL" "$rs" "$SMALL"
printf 'send-rate-%s\t%s\trcpt/s\t%s messages x 2 recipients, fakespawn answering at once\n' "$LARGE" "$rl" "$LARGE"
printf 'send-rate-ratio\t%s\t%%\trate at %s as %% of the rate at %s (target 90%%)\n' "$((rl * 100 / rs))" "$LARGE" "$SMALL"
printf 'send-cpu-%s\t%s\tus/msg\tsluice-send utime+stime per message\n' "$SMALL" "$cs"
printf 'send-cpu-%s\t%s\tus/msg\tsluice-send utime+stime per message\n' "$LARGE" "$cl"
