#!/bin/sh
# bench/remote.sh: remote delivery rate from the queue to an SMTP sink
# that accepts at once, and the concurrency the scheduler reaches.
#
# Installs a private instance the way the tests do (tests/lib.sh), with
# control/smtproutes sending example.org (the recipient domain of
# tests/helpers/qbench.c) to tests/helpers/smtpsink.c on a loopback high
# port. With the delivery set stopped, qbench queues
# REMOTE_BENCH_MESSAGES (default 5000) 2 KB messages through
# sluice-queue, 20 at once; then sluice-start runs the real sluice-send,
# sluice-rspawn, sluice-remote and sluice-clean, and the clock runs
# from its start until the queue is empty (bounded by
# REMOTE_BENCH_LIMIT seconds, default 900). Rows:
#   remote-relay       messages per second, queue to sink, including
#                      sluice-send's preprocessing of todo
#   remote-cpu         CPU (user + system) per message of the delivery
#                      set and its children, in microseconds
#   remote-peak-conns  the most connections open at the sink at one
#                      time, beside the most remote deliveries
#                      sluice-send logged in flight ("status:" lines);
#                      with a sink that answers at once a connection is
#                      a small part of a delivery's life, so this can
#                      stay below concurrencyremote;
#   remote-peak-conns-held  the same with REMOTE_BENCH_PEAK_MESSAGES
#                      (default 400) messages and a sink that greets
#                      100 ms after accepting: must be concurrencyremote
#                      (20), neither less nor more.
# A pass fails when the sink did not get every message.
# Needs root. Rows on fd 1 for bench/run; progress on fd 2.
BENCH_ROW=remote-relay
. bench/lib.sh
N=${REMOTE_BENCH_MESSAGES:-5000}
LIMIT=${REMOTE_BENCH_LIMIT:-900}
CONC=20
PEAKN=${REMOTE_BENCH_PEAK_MESSAGES:-400}
kpid=''
cleanup() {
  kill_set 300
  [ -n "$kpid" ] && kill "$kpid" 2> /dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 111' INT TERM HUP

bench_install
SINK=$BIN/tests/smtpsink
[ -x "$QB" ] && [ -x "$SINK" ] || die "qbench or smtpsink missing in $BIN/tests"

# start_sink [DELAYMS]: the sink on the first free port tried; $P, $kpid
start_sink() {
  tries=0
  while [ $tries -lt 10 ]; do
    P=$((10000 + ($$ * 11 + tries * 397) % 20000))
    : > "$T/sink.out"
    "$SINK" 127.0.0.1 "$P" "$@" > "$T/sink.out" 2> "$T/sink.err" &
    kpid=$!
    k=0
    while ! grep -q '^ready$' "$T/sink.out" 2> /dev/null && kill -0 "$kpid" 2> /dev/null && [ $k -lt 50 ]; do
      sleep 0.1; k=$((k + 1))
    done
    grep -q '^ready$' "$T/sink.out" && break
    kill "$kpid" 2> /dev/null
    wait "$kpid" 2> /dev/null
    kpid=''
    tries=$((tries + 1))
  done
  [ -n "$kpid" ] || die "the sink did not start: $(cat "$T/sink.err")"
  echo "example.org:127.0.0.1:$P" > "$H/control/smtproutes"
}

echo bench.invalid > "$H/control/me"
echo "$CONC" > "$H/control/concurrencyremote"
# no_mess: no file under queue/mess, with shell builtins only (no
# process, so the CPU figure is the mail system's alone)
no_mess() { set -- "$H"/queue/mess/*/*; [ ! -e "$1" ]; }

# pass COUNT [DELAYMS]: queue COUNT messages with the set stopped, then
# run the set until the queue is empty. Sets rate, ms, cpu, conns,
# peak (at the sink) and slots (the most remote deliveries sluice-send
# logged in flight at once).
pass() {
  n=$1; shift
  start_sink "$@"
  echo "queueing $n messages of 2 KB" >&2
  set -- $("$QB" "$H/bin/sluice-queue" 20 "$n" 2048) || die "qbench had failures: $*"
  cpu_mark
  echo "delivering them" >&2
  t0=$(date +%s%N)
  "$H/bin/sluice-start" < /dev/null > /dev/null 2> "$T/log" &
  spid=$!
  k=0
  while ! no_mess && [ $k -lt $((LIMIT * 10)) ]; do sleep 0.1; k=$((k + 1)); done
  t1=$(date +%s%N)
  queue_empty || die "queue not empty after $LIMIT s: $("$H/bin/sluice-qstat" | tr '\n' ' ')"
  ms=$(((t1 - t0) / 1000000))
  rate=$((n * 1000000000 / (t1 - t0)))
  stop_set "$n"
  kill -TERM "$kpid"
  wait "$kpid"
  kpid=''
  set -- $(sed -n 2p "$T/sink.out")
  [ "${1:-0}" -eq "$n" ] && [ "${2:-0}" -eq "$n" ] || die "the sink counted ${1:-?} messages, ${2:-?} recipients, want $n"
  conns=$3 peak=$4
  slots=$(sed -n 's/^status: .* remote \([0-9]*\)\/.*/\1/p' "$T/log" | sort -n | tail -n 1)
  grep -c 'deferral\|failure' "$T/log" | awk '$1 > 0 { print "bench/remote.sh: " $1 " deferrals or failures logged" }' >&2
}

echo "remote-relay: $N messages, a sink that answers at once" >&2
pass "$N"
printf 'remote-relay\t%s\tmsg/s\t%s x 2 KB from the queue to a sink on 127.0.0.1 (%s ms, %s connections)\n' \
  "$rate" "$N" "$ms" "$conns"
printf 'remote-cpu\t%s\tus/msg\tCPU of the delivery set per message, queue to sink\n' "$cpu"
printf 'remote-peak-conns\t%s\tconns\topen at the sink at once; sluice-send had up to %s/%s remote deliveries in flight\n' \
  "$peak" "$slots" "$CONC"
echo "remote-peak-conns-held: $PEAKN messages, the sink greets after 100 ms" >&2
pass "$PEAKN" 100
note="target $CONC = concurrencyremote"
[ "$peak" -eq "$CONC" ] || note="NOT concurrencyremote ($CONC)"
printf 'remote-peak-conns-held\t%s\tconns\topen at once when the sink greets after 100 ms, %s\n' "$peak" "$note"
