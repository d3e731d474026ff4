#!/bin/sh
# bench/smtpd.sh: the rate at which sluice-smtpd accepts mail over SMTP,
# beside the raw fsync rate of the file system the queue lives on.
#
# Installs a private instance the way the tests do (tests/lib.sh) and
# runs sluice-smtpd under a real tcpserver (ucspi-tcp), as
# tests/sh/80-smtpd.sh does: as the daemon user of conf-users, on
# 127.0.0.1 and a high port, with a tcprules cdb that gives 127.0.0.1
# RELAYCLIENT, at most 40 connections at once, injecting through the
# real setuid sluice-queue. No scheduler runs, so every message stays
# in the queue. tests/helpers/smtpsource.c sends SMTPD_BENCH_MESSAGES
# (default 5000) messages of SMTPD_BENCH_SIZE bytes (2048) over
# SMTPD_BENCH_SESSIONS (20) parallel sessions, one command at a time,
# many messages per session. The run must end with no error and that
# many todo files, each message's Message-ID once. Rows:
#   smtpd-accept   messages per second accepted (the clock of
#                  smtpsource: first connection to last QUIT), with the
#                  fsync-bound reference of the same run: 20 fsyncrate
#                  processes at once (the clients are parallel too),
#                  measured before and after and averaged, at 4 fsyncs
#                  per message (sluice-queue(5)); fsync-raw-1 as well
#   smtpd-cpu      CPU (user + system) per message of the whole
#                  accepting side: tcpserver, every sluice-smtpd and
#                  sluice-queue (children reaped by tcpserver count in
#                  its rusage), in microseconds; the client's CPU is
#                  measured apart and shown in the reference
# Every wait is bounded (SMTPD_BENCH_LIMIT seconds for the sending,
# default 900). Needs root and tcpserver/tcprules (ucspi-tcp). Rows on
# fd 1 for bench/run; progress on fd 2.
BENCH_ROW=smtpd-accept
. bench/lib.sh
PATH=$PATH:/usr/sbin:/sbin
export PATH
N=${SMTPD_BENCH_MESSAGES:-5000}
S=${SMTPD_BENCH_SESSIONS:-20}
SIZE=${SMTPD_BENCH_SIZE:-2048}
LIMIT=${SMTPD_BENCH_LIMIT:-900}
RAW=${SMTPD_BENCH_RAW:-2000}

for p in tcpserver tcprules; do
  command -v $p > /dev/null 2>&1 || {
    printf '%s\t-\t-\tskipped: %s missing (apt-get install ucspi-tcp-ipv6)\n' "$BENCH_ROW" "$p"
    exit 0
  }
done

tpid=''
# stop_server: SIGTERM to tcpserver, up to 10 s for it to end, then
# SIGKILL to the sessions it left and to it
stop_server() {
  [ -n "$tpid" ] || return 0
  kill -TERM "$tpid" 2> /dev/null
  k=0
  while kill -0 "$tpid" 2> /dev/null && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
  for c in $(pgrep -P "$tpid" 2> /dev/null); do kill -KILL "$c" 2> /dev/null; done
  kill -KILL "$tpid" 2> /dev/null
  wait "$tpid" 2> /dev/null
  tpid=''
}
cleanup() {
  stop_server
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 111' INT TERM HUP

bench_install
SS=$BIN/tests/smtpsource
[ -x "$FSR" ] && [ -x "$SS" ] || die "fsyncrate or smtpsource missing in $BIN/tests"
[ -x "$H/bin/sluice-smtpd" ] || die "sluice-smtpd not installed in $H/bin"
QD=$H/queue
C=$H/control
U_DAEMON=$(awk '$1 == "daemon" { print $2; exit }' conf-users)
DUID=$(id -u "$U_DAEMON") && DGID=$(id -g "$U_DAEMON") || die "no daemon user $U_DAEMON"

echo example.org > "$C/me"
echo example.org > "$C/rcpthosts"
chmod 644 "${C:?}"/*
printf '127.0.0.1:allow,RELAYCLIENT=""\n:deny\n' > "$T/rules"
tcprules "$T/rules.cdb" "$T/rules.tmp" < "$T/rules" || die "tcprules failed"
chmod 644 "$T/rules.cdb"

# a high port nothing listens on
P=$((28000 + $$ % 1000))
tries=0
while ss -Hltn "sport = :$P" 2> /dev/null | grep -q .; do
  P=$((P + 1)); tries=$((tries + 1))
  [ $tries -lt 50 ] || die "no free port found"
done

mkdir -p "$H/fsyncbench" || die "cannot create $H/fsyncbench"
fstype=$(stat -f -c %T "$H/fsyncbench" 2> /dev/null)
# raw_one: one process; raw_many: 20 at once, fsyncs per second of wall
# time (as in bench/queue.sh)
raw_one() {
  set -- $("$FSR" "$H/fsyncbench" 300) || die "fsyncrate failed"
  echo "$3"
}
raw_many() {
  t0=$(date +%s%N)
  i=0
  while [ $i -lt 20 ]; do
    timeout 600 "$FSR" "$H/fsyncbench" $((RAW / 20)) > "$T/raw.$i" &
    i=$((i + 1))
  done
  wait
  t1=$(date +%s%N)
  [ "$(cat "$T"/raw.* | awk 'NF == 3' | wc -l)" -eq 20 ] || die "a parallel fsyncrate failed"
  echo $((2 * (RAW / 20) * 20 * 1000000000 / (t1 - t0)))
}
echo "fsync-raw: 300 rounds, then 20 x $((RAW / 20))" >&2
raw1a=$(raw_one) && raw20a=$(raw_many) || exit 111

# the server: tcpserver -v logs "status: 0/40" once it listens
tcpserver -v -H -R -l mx.example.org -c 40 -b 64 -x "$T/rules.cdb" -u "$DUID" -g "$DGID" \
  127.0.0.1 "$P" "$H/bin/sluice-smtpd" < /dev/null > "$T/smtpd.log" 2>&1 &
tpid=$!
k=0
while ! grep -q 'status: 0/40' "$T/smtpd.log" 2> /dev/null && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
grep -q 'status: 0/40' "$T/smtpd.log" || die "tcpserver did not start: $(cat "$T/smtpd.log")"

echo "smtpd-accept: $N messages of $SIZE bytes, $S sessions, port $P" >&2
cpu_mark
src_cpu0=$cpu0
timeout "$LIMIT" "$SS" -s "$S" -m "$N" -l "$SIZE" -f bench@example.org -t user@example.org 127.0.0.1 "$P" > "$T/source.out"
src_rc=$?
times > "$T/times"
src_cpu1=$(cpu_children)
cat "$T/source.out" >&2
[ "$src_rc" -eq 0 ] || die "smtpsource exited $src_rc: $(cat "$T/source.out")"
set -- $(cat "$T/source.out")
[ "$1 $3" = "messages errors" ] || die "smtpsource wrote: $*"
sent=$2 errors=$4 secs=$6 rate=$8
rate=${rate%/s}
[ "$sent" -eq "$N" ] && [ "$errors" -eq 0 ] || die "$sent of $N messages accepted, $errors errors"

# every session has ended once tcpserver logged as many ends as it
# started (then its rusage holds theirs); bounded
sessions=$S
[ "$N" -lt "$S" ] && sessions=$N
k=0
while [ "$(grep -c ' end [0-9]* status ' "$T/smtpd.log")" -lt "$sessions" ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
ends=$(grep -c ' end [0-9]* status ' "$T/smtpd.log")
[ "$ends" -ge "$sessions" ] || die "tcpserver logged $ends session ends of $sessions"
times > "$T/times"
srv_cpu0=$(cpu_children)
stop_server
times > "$T/times"
srv_cpu1=$(cpu_children)
cpu=$(((srv_cpu1 - srv_cpu0) / N))
src_cpu=$(((src_cpu1 - src_cpu0) / N))

# the queue holds them all, each once
queued=$(find "$QD/todo" -type f | wc -l | tr -d ' ')
[ "$queued" -eq "$N" ] || die "$queued messages in queue/todo, want $N"
uniq=$(find "$QD/mess" -type f -exec grep -h '^Message-ID: ' {} + | sort -u | wc -l | tr -d ' ')
[ "$uniq" -eq "$N" ] || die "$uniq distinct Message-IDs in queue/mess, want $N"
bad=$(grep -c 'result [^2]' "$T/smtpd.log")
[ "$bad" -eq 0 ] || die "$bad transactions not accepted in the sluice-smtpd log"
find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f -exec rm -f {} +

echo "fsync-raw again" >&2
raw1b=$(raw_one) && raw20b=$(raw_many) || exit 111
raw1=$(((raw1a + raw1b) / 2))
raw20=$(((raw20a + raw20b) / 2))
ref=$((raw20 / 4))
[ "$ref" -gt 0 ] || ref=1
printf 'smtpd-accept\t%s\tmsg/s\t%s x %s B, %s SMTP sessions (%s s); %s%% of %s msg/s fsync-bound: fsync-raw-20 %s/s (%s, %s), fsync-raw-1 %s/s, on %s\n' \
  "$rate" "$N" "$SIZE" "$S" "$secs" "$((rate * 100 / ref))" "$ref" "$raw20" "$raw20a" "$raw20b" "$raw1" "$fstype"
printf 'smtpd-cpu\t%s\tus/msg\tCPU of tcpserver + sluice-smtpd + sluice-queue per message (client smtpsource %s)\n' \
  "$cpu" "$src_cpu"
