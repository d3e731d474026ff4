#!/bin/sh
# bench/multihost.sh: throughput of the several-machines arrangement
# (INSTALL, "Several machines") with one queue host and with two, in
# the same run, printed as a ratio.
#
# Builds the namespaces of tests/sh/104-multihost.sh (tests/multihost.sh:
# a client, dnsmasq, two front ends, two queue hosts delivering into one
# Maildir) and sends MH_BENCH_MESSAGES (default 2000) messages from the
# client (tests/mhclient.py, 6 parallel senders, MX lookup) twice: first
# with the front ends' control/qmqpservers naming queue host 1 only,
# then naming both (qmqpspread roundrobin). Each pass is timed from the
# first message sent until the last one is in the Maildir and both
# queues are empty (end to end). Every machine shares this machine's
# CPUs and disk, so the ratio shows what a second queue host costs or
# gains here, not what a second machine would give. Rows:
#   multihost-1qh   messages per second with one queue host
#   multihost-2qh   messages per second with two, and the ratio 2qh/1qh
# Needs root, `ip netns`, dnsmasq, tcpserver; otherwise a skipped row.
# Every wait is bounded (MH_BENCH_LIMIT seconds per pass, default 300).
BENCH_ROW=multihost
. bench/lib.sh
skip() { printf '%s\t-\t-\tskipped: %s\n' "$BENCH_ROW" "$1"; exit 0; }
. tests/multihost.sh
mh_check
NMSG=${MH_BENCH_MESSAGES:-2000}
LIMIT=${MH_BENCH_LIMIT:-300}
bench_install
cleanup() {
  mh_cleanup
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mh_setup
[ "$t_fail" -eq 0 ] || die "the namespaces could not be set up"

now_ms() { date +%s%N | cut -c1-13; }
# pass SERVERS...: one pass with control/qmqpservers = SERVERS on both
# front ends; rate (messages per second) in $rate
pass() {
  for h in fe1 fe2; do printf '%s\n' "$@" > "$H.$h/control/qmqpservers"; rm -f "$H.$h/qmqp/tcpto"; done
  rm -rf "$MD"/new/* "$MD"/cur/*
  start=$(now_ms)
  client "$NMSG" 6 "$LIMIT" "$T" > "$T/client.out" 2>&1 || die "client: $(cat "$T/result" "$T/client.out" 2> /dev/null)"
  k=0
  while [ $k -lt $((LIMIT * 10)) ]; do
    [ "$(distinct)" -ge "$NMSG" ] && [ "$(queued)" -eq 0 ] && break
    sleep 0.1
    k=$((k + 1))
  done
  [ "$(distinct)" -ge "$NMSG" ] || die "only $(distinct) of $NMSG messages delivered"
  ms=$(($(now_ms) - start))
  rate=$((NMSG * 1000 / (ms > 0 ? ms : 1)))
  echo "bench/multihost: $* : $NMSG messages in $ms ms" >&2
}
pass $NET.21
r1=$rate
pass $NET.21 $NET.22
r2=$rate
ratio=$(awk -v a="$r1" -v b="$r2" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }')
printf 'multihost-1qh\t%s\tmsg/s\t%s messages, client to Maildir, one queue host\n' "$r1" "$NMSG"
printf 'multihost-2qh\t%s\tmsg/s\tratio 2qh/1qh %s (same run, every host on this machine)\n' "$r2" "$ratio"
