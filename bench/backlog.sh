#!/bin/sh
# bench/backlog.sh: does a large queue hold new mail up? The rate of a
# stream of new messages through sluice-queue and sluice-send, on an
# empty queue and beside 100,000 other messages, in the same run.
#
# A private instance is installed as the tests do (tests/lib.sh), with
# tests/helpers/fakespawn as sluice-lspawn and sluice-rspawn: the stream
# (tests/helpers/qbench: STREAM messages, default 3000, 20 injections
# at once, 2 KB each, to user@example.org) is delivered at once, the
# backlog (tests/helpers/mktodo: BACKLOG messages, default 100,000, to
# defer%@remote.example) is deferred every time it is tried. Three
# runs, each timed from the first injection until sluice-send has
# logged the successful delivery of every message of the stream (its
# "end msg" follows once sluice-clean has removed its files, behind
# the backlog's own removals):
#   empty     nothing else in the queue;
#   todo      sluice-start started on BACKLOG messages still in todo,
#             the stream injected a second later (as in the empty run,
#             so that neither includes sluice-send's start): it runs
#             while the backlog is being preprocessed;
#   deferred  the same backlog once preprocessed (todo empty), every
#             message of it deferred and waiting for its retry.
# BACKLOG_ROUNDS rounds (default 3) of the three runs, A B C A B C, so
# that a slow spell of the machine or the disk does not decide; each
# figure is the median over the rounds, each ratio the median of the
# rounds' own ratios.
# Rows (bench/run's format):
#   backlog-rate-empty / -todo / -deferred   stream messages per second
#   backlog-ratio-todo / -deferred           rate as % of the empty one
#                                            of the same round
#                                            (target: at least 90%)
#   backlog-preprocessed                     backlog entries preprocessed
#                                            while the todo run's stream ran
# Needs root. BACKLOG_STREAM, BACKLOG_COUNT set the counts; each wait is
# bounded by BACKLOG_LIMIT seconds (default 900).
BENCH_ROW=backlog
. bench/lib.sh
STREAM=${BACKLOG_STREAM:-3000}
COUNT=${BACKLOG_COUNT:-100000}
LIMIT=${BACKLOG_LIMIT:-900}
ROUNDS=${BACKLOG_ROUNDS:-3}

bench_install
[ -x "$QB" ] || die "qbench missing in $BIN/tests"
bench_fakespawn
spid=''
cleanup() { [ -n "$spid" ] && kill -TERM "$spid" 2> /dev/null && wait "$spid"; kill_set; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# empty_queue, fill: each ends with sync, so that the next run does
# not compete with the writeback (and discards) of their files.
# settle: ext4 without a journal (as on the machines the figures come
# from) passes over inodes freed in the last 30 seconds or so
# (dirty_expire_centisecs) when it allocates one, so every file created
# shortly after many were removed costs a walk over them: a run waits
# that long after a mass removal (the cleared queue, the preprocessed
# todo backlog), so that it measures the queue and not that walk.
empty_queue() {
  find "$Q/mess" "$Q/todo" "$Q/intd" "$Q/info" "$Q/local" "$Q/remote" "$Q/bounce" "$Q/defer" "$Q/hold" -type f -exec rm -f {} +
  sync
}
settle() { sleep "${BACKLOG_SETTLE:-31}"; }
fill() {
  echo "mktodo: $1 messages" >&2
  setpriv --reuid "$(role queue)" --regid "$(role group)" --clear-groups \
    "$BIN/tests/mktodo" "$1" bench@x.org 'defer%@remote.example' || die "mktodo failed"
  sync
}
start() {
  "$H/bin/sluice-start" > "$T/log" 2>&1 < /dev/null &
  spid=$!
}
stop() {
  kill -TERM "$spid" 2> /dev/null
  wait "$spid"
  spid=''
}
# delivered: the stream's deliveries (the backlog's are all deferrals)
ends() { grep -c '^delivery [0-9]*: success: ' "$T/log"; }
todo_left() { find "$Q/todo" -type f | wc -l | tr -d ' '; }

# stream: injects STREAM messages, waits until all have ended; prints
# "MESSAGES_PER_SECOND TODO_LEFT_AT_THE_END"
stream() {
  base=$(ends)
  t0=$(date +%s%N)
  "$QB" "$H/bin/sluice-queue" 20 "$STREAM" 2048 > "$T/qb" || die "qbench had failures: $(cat "$T/qb")"
  k=0
  while [ $(($(ends) - base)) -lt "$STREAM" ]; do
    sleep 0.1
    k=$((k + 1))
    [ $k -lt $((LIMIT * 10)) ] || die "the stream had not ended after $LIMIT s ($(($(ends) - base)) of $STREAM)"
    kill -0 "$spid" 2> /dev/null || { tail -n 5 "$T/log" >&2; die "sluice-start ended"; }
  done
  t1=$(date +%s%N)
  echo "$((STREAM * 1000000000 / (t1 - t0))) $(todo_left)"
}

# one round: empty, then todo, then deferred; each rate on its own line
round() {
  rn=$1
  empty_queue
  [ "$rn" -gt 1 ] && settle
  start
  sleep 1
  set -- $(stream); re=$1
  echo "round $rn: empty queue: $re msg/s" >&2
  stop

  # todo: the backlog still in todo when the stream starts
  empty_queue
  fill "$COUNT"
  start
  sleep 1
  set -- $(stream); rt=$1 left=$2
  echo "round $rn: todo backlog of $COUNT: $rt msg/s, $left entries still in todo at the end" >&2

  # deferred: the backlog preprocessed, waiting for its retries
  k=0
  while [ "$(todo_left)" -gt 0 ]; do
    sleep 1
    k=$((k + 1))
    [ $k -lt "$LIMIT" ] || die "todo not preprocessed after $LIMIT s"
  done
  sync
  settle
  set -- $(stream); rd=$1
  echo "round $rn: deferred backlog of $COUNT: $rd msg/s" >&2
  stop
  empty_queue
  [ "$re" -gt 0 ] || re=1
  echo "$re $rt $rd $((rt * 100 / re)) $((rd * 100 / re)) $((COUNT - left))" >> "$T/rounds"
}
: > "$T/rounds"
r=1
while [ $r -le "$ROUNDS" ]; do
  round $r
  r=$((r + 1))
done
# median of column $1 over the rounds
med() { awk -v c="$1" '{ print $c }' "$T/rounds" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
re=$(med 1) rt=$(med 2) rd=$(med 3) pt=$(med 4) pd=$(med 5) pre=$(med 6)
printf 'backlog-rate-empty\t%s\tmsg/s\t%s messages, queue empty, fakespawn delivering at once\n' "$re" "$STREAM"
printf 'backlog-rate-todo\t%s\tmsg/s\tthe same while %s messages wait in todo\n' "$rt" "$COUNT"
printf 'backlog-rate-deferred\t%s\tmsg/s\tthe same beside %s deferred messages\n' "$rd" "$COUNT"
printf 'backlog-ratio-todo\t%s\t%%\ttodo rate as %% of the empty-queue rate (target 90%%)\n' "$pt"
printf 'backlog-ratio-deferred\t%s\t%%\tdeferred rate as %% of the empty-queue rate (target 90%%)\n' "$pd"
printf 'backlog-preprocessed\t%s\tmsg\tbacklog entries preprocessed by the end of the todo run\n' "$pre"
