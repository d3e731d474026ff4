#!/bin/sh
# bench/soak.sh: the soak. A stream of messages, local and remote,
# through the real services under svscan while they are restarted and
# killed; prints how many were lost or delivered twice, and the memory
# of each long-running process. `make soak` runs it (through bench/run,
# which prints the rows as a table); `make bench` does not, unless
# BENCH_SOAK=1. Needs root and daemontools, ucspi-tcp-ipv6, python3.
#
# A private instance (conf-home SLUICE_SOAK_HOME, default
# /tmp/sluice-soak/home, built in SLUICE_SOAK_BUILD, default build/soak)
# is set up as production is (tools/setup, tools/config, tools/services)
# and svscan runs its service/ directory on this run's ports: sluice-send
# (sluice-start and its set), sluice-smtpd, sluice-smtpd6, sluice-qmtpd,
# sluice-qmqpd, each with its multilog. One local user (slsoakr, made
# and removed by the script) gets mail in ~/Maildir; remote.example is
# routed by control/smtproutes to the sink of bench/soak.py on
# 127.0.0.1, which notes every message it accepts.
#
# The load (bench/soak.py send): SOAK_MESSAGES (default 10000) messages
# over SOAK_SESSIONS (default 8) SMTP sessions at once, alternately to
# 127.0.0.1 and ::1, even ones to the local user, odd ones to the sink,
# each with a unique "X-Soak: TAG N" header field and Message-ID. A
# message is sent again until a 250 follows its data; one whose data
# went out whole but whose reply never came is "ambiguous": it may have
# been queued, so its second copy is no duplicate of sluice's making.
#
# The chaos, while the load runs and then until the queue is empty
# (SOAK_CHAOS_DRAIN=0: only while the load runs), every
# SOAK_CHAOS_SECONDS (default 3;
# 0: none, for a calm run to compare memory with): kill -9 of one
# process drawn at random among sluice-start, sluice-send, sluice-lspawn,
# sluice-rspawn, sluice-clean and tcpserver (any one of this
# instance's, including sets orphaned by a kill -9 of sluice-start),
# then, a second later, svc -t of every service and log service.
# SOAK_KILL (default all six) names the processes kill -9 draws from
# (the deliveries of a killed spawner finish under their monitors, which
# journal the results: sluice-spawn(5)); SOAK_KILL="sluice-send" aims
# every kill at one process.
#
# Then the drain of what is left: no more chaos, svc -a every 10 seconds until sluice-qstat
# counts no message, at most SOAK_DRAIN_LIMIT seconds (default 1800), or
# until its count has not moved for SOAK_STALL_SECONDS (default 120:
# what is left then is stuck, typically message files that a killed
# sluice-send left without their state, "left by a crash"); a
# set left orphaned by a kill -9 of sluice-start (no supervise above it)
# is counted and sent SIGTERM first, as an operator would. Whole run
# bounded by SOAK_LIMIT seconds for the load (default 3600) plus the
# drain. Then every marker is counted in ~/Maildir/new (top-level header
# only) and at the sink.
#
# Rows (fd 1, bench/run's format) :
#   soak-messages      messages accepted by sluice-smtpd (250 after data),
#                      of SOAK_MESSAGES; chaos done
#   soak-lost          accepted but delivered nowhere (target 0)
#   soak-duplicated    delivered more than once, not counting ambiguous
#                      ones (target 0); local and remote, and how many of
#                      the remote ones follow a 250 at the sink that the
#                      client never went on from (SMTP's own window)
#   soak-ambiguous     messages resent after an unanswered data
#   soak-elapsed       seconds of load, copies delivered by its end
#                      (how far delivery kept up under the chaos), and
#                      seconds of drain
#   soak-queue-left    messages sluice-qstat counts after the drain, and
#                      files left under queue/mess; sluice-fsck's verdict;
#                      sets orphaned by kill -9 of sluice-start still
#                      there at the end, and how often a new sluice-send
#                      found the lock held (by such an orphan)
#   soak-mem-NAME      RSS in kB at the start (after the services came
#                      up, before the load) / at the end (after the
#                      drain), the largest RSS seen at any chaos round,
#                      and PSS start / end (from /proc/PID/smaps_rollup;
#                      with several processes of one name, tcpserver, the
#                      largest), for sluice-start, sluice-send,
#                      sluice-lspawn, sluice-rspawn, sluice-clean,
#                      tcpserver. sluice-smtpd lives one connection:
#                      skipped. Processes restarted by the chaos are new
#                      at the end: compare with SOAK_CHAOS_SECONDS=0 for
#                      leaks.
# Exit 0 when lost and duplicated are both 0 and the queue drained,
# 1 otherwise, 111 when the soak could not run. Progress on fd 2; the
# logs, the sender's and the sink's notes are kept under $SOAK_KEEP
# (default /tmp/sluice-soak/last) for a look afterwards.
BENCH_ROW=soak
SLUICE_BENCH_HOME=${SLUICE_SOAK_HOME:-/tmp/sluice-soak/home}
SLUICE_BENCH_BUILD=${SLUICE_SOAK_BUILD:-build/soak}
export SLUICE_BENCH_HOME SLUICE_BENCH_BUILD
. bench/lib.sh
PATH=$PATH:/usr/sbin:/sbin:/command
export PATH

num() { case $1 in ''|*[!0-9]*) echo "$2" ;; *) echo "$1" ;; esac; }
N=$(num "${SOAK_MESSAGES:-}" 10000)
SESSIONS=$(num "${SOAK_SESSIONS:-}" 8)
CHAOS=$(num "${SOAK_CHAOS_SECONDS:-}" 3)
CHAOS_DRAIN=$(num "${SOAK_CHAOS_DRAIN:-}" 1)
LIMIT=$(num "${SOAK_LIMIT:-}" 3600)
DRAIN=$(num "${SOAK_DRAIN_LIMIT:-}" 1800)
STALL=$(num "${SOAK_STALL_SECONDS:-}" 120)
KEEP=${SOAK_KEEP:-/tmp/sluice-soak/last}
[ "$N" -ge 2 ] || die "SOAK_MESSAGES must be at least 2"
[ "$SESSIONS" -ge 1 ] || SESSIONS=1
for p in svscan supervise svc svok svstat multilog setuidgid softlimit tcpserver tcpclient tcprules timeout python3 setpriv useradd userdel shuf; do
  command -v "$p" > /dev/null 2>&1 || die "$p is missing (apt-get install daemontools ucspi-tcp-ipv6 python3 util-linux passwd coreutils)"
done

NAME=mx.soak.example
TU=slsoakr
TAG=soak$$
S=$H/service
L=$H/log
# this run's ports: P .. P+3 (SMTP, QMTP, QMQP, the sink)
P=$((11000 + $$ % 4000 * 4))
P_SMTP=$P P_QMTP=$((P + 1)) P_QMQP=$((P + 2)) P_SINK=$((P + 3))
svscan_pid='' sink_pid='' send_pid=''

# snap: this instance's processes now, "PID NAME PPID" a line, in
# $T/procs: those whose working directory is under conf-home (the set,
# tcpserver, supervise, multilog all run there). Other instances on this
# machine share the role users, never conf-home. One find, one cat and
# one awk: on a loaded machine every process started counts.
snap() {
  find /proc -mindepth 2 -maxdepth 2 -name cwd \( -lname "$H" -o -lname "$H/*" \) -printf '%h/stat\n' 2> /dev/null |
    xargs -r cat 2> /dev/null | awk '{ gsub(/[()]/, "", $2); print $1, $2, $4 }' > "$T/procs"
}
# pids NAME: this instance's processes called NAME at the last snap,
# not counting those whose parent has the same name (a spawner's
# delivery monitors, sluice-spawn(5), live as long as one delivery)
pids() { awk -v n="$1" 'NR == FNR { name[$1] = $2; next } $2 == n && name[$3] != n { print $1 }' "$T/procs" "$T/procs"; }
PROCS="sluice-start sluice-send sluice-lspawn sluice-rspawn sluice-clean tcpserver"
# the names kill -9 draws from (SOAK_KILL, default all of PROCS)
KILLS=${SOAK_KILL:-$PROCS}
# mem_snapshot WHEN: snap, then $T/mem.WHEN, one "NAME RSS PSS" a line (kB,
# from /proc/PID/smaps_rollup; of several processes of one name, the
# largest RSS), "NAME - -" for a name with no process
mem_snapshot() {
  snap
  _files=''
  for _p in $(awk -v names=" $PROCS " 'index(names, " " $2 " ") { print $1 }' "$T/procs"); do
    _files="$_files /proc/$_p/smaps_rollup"
  done
  { cat "$T/procs"; [ -n "$_files" ] && awk 'FNR == 1 { split(FILENAME, f, "/"); pid = f[3] }
      $1 == "Rss:" { print "rss", pid, $2 } $1 == "Pss:" { print "pss", pid, $2 }' $_files 2> /dev/null; } |
    awk -v names="$PROCS" '
      NF == 3 && $1 ~ /^[0-9]+$/ { name[$1] = $2; next }
      $1 == "rss" { rss[$2] = $3 } $1 == "pss" { pss[$2] = $3 }
      END {
        for (p in rss) { n = name[p]; if (!(n in best) || rss[p] > best[n]) { best[n] = rss[p]; bp[n] = pss[p] } }
        k = split(names, l, " ")
        for (i = 1; i <= k; i++) print l[i], (l[i] in best) ? best[l[i]] " " bp[l[i]] : "- -"
      }' > "$T/mem.$1"
}
# mem_peak: the largest RSS seen so far of each name, in $T/mem.peak
mem_peak() {
  mem_snapshot now
  cat "$T/mem.now" "$T/mem.peak" 2> /dev/null |
    awk '$2 != "-" { if (!($1 in m) || $2 + 0 > m[$1]) m[$1] = $2 + 0 } END { for (n in m) print n, m[n] }' > "$T/mem.peak.new"
  mv "$T/mem.peak.new" "$T/mem.peak"
}

# everything of this instance, supervised or orphaned, in the order to stop it
stop_all() {
  if [ -n "$svscan_pid" ]; then
    kill -TERM "$svscan_pid" 2> /dev/null
    for d in "$S"/*/ "$S"/*/log/; do svok "$d" 2> /dev/null && svc -dx "$d"; done
    k=0
    while [ $k -lt 900 ]; do
      alive=0
      for d in "$S"/*/ "$S"/*/log/; do svok "$d" 2> /dev/null && alive=1; done
      [ $alive -eq 0 ] && break
      sleep 0.1; k=$((k + 1))
    done
    svscan_pid=''
  fi
  # what is left (orphaned sets, their children): SIGKILL, twice over
  for k in 1 2; do
    snap
    for p in $(awk '{ print $1 }' "$T/procs"); do [ "$p" != $$ ] && kill -KILL "$p" 2> /dev/null; done
    sleep 0.2
  done
}
cleanup() {
  trap - EXIT INT TERM HUP
  [ -n "$send_pid" ] && kill -TERM "$send_pid" 2> /dev/null
  stop_all
  [ -n "$sink_pid" ] && kill -TERM "$sink_pid" 2> /dev/null
  if [ -d "$T" ]; then
    rm -rf "$KEEP"
    mkdir -p "$KEEP"
    cp "$T"/send.out "$T"/sink.log "$T"/chaos.log "$T"/counts.* "$KEEP"/ 2> /dev/null
    [ -d "$T/dupcopies" ] && cp -r "$T/dupcopies" "$KEEP"/ 2> /dev/null
    for s in "$L"/*/; do
      [ -d "$s" ] || continue
      cat "$s"/@*.[su] "$s"/current > "$KEEP/$(basename "$s").log" 2> /dev/null
    done
  fi
  getent passwd "$TU" > /dev/null 2>&1 && userdel -r "$TU" > /dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 111' INT TERM HUP

say() { echo "soak: $*" >&2; }
waitfor() {
  _w=$(($1 * 5)); shift
  while [ $_w -gt 0 ]; do
    "$@" && return 0
    sleep 0.2; _w=$((_w - 1))
  done
  return 1
}
greeting() { timeout 5 tcpclient -RHl0 "$1" "$2" sh -c 'IFS= read -r l <&6; printf "%s\n" "$l"; printf "QUIT\r\n" >&7' 2> /dev/null | tr -d '\r'; }
answers220() { case $(greeting "$1" "$2") in 220*) return 0 ;; esac; return 1; }
queue_count() { "$H/bin/sluice-qstat" 2> /dev/null | sed -n 's/^messages in queue: //p'; }

# ---------------------------------------------------------------------
# the instance
bench_install
for p in $P_SMTP $P_QMTP $P_QMQP $P_SINK; do
  ! answers220 127.0.0.1 "$p" || die "port $p is in use"
done
sh tools/config "$H" "$NAME" > "$T/config.out" 2>&1 || die "tools/config failed: $(cat "$T/config.out")"
sh tools/services "$H" > "$T/services.out" 2>&1 || die "tools/services failed: $(cat "$T/services.out")"
echo "remote.example:127.0.0.1:$P_SINK" > "$H/control/smtproutes"
echo 10 > "$H/control/timeoutconnect"

userdel -r "$TU" > /dev/null 2>&1
useradd -m -s /bin/sh "$TU" || die "useradd $TU failed"
TH=$(getent passwd "$TU" | cut -d: -f6)
chmod 755 "$TH"
(cd "$TH" && setpriv --reuid="$(id -u "$TU")" --regid="$(id -g "$TU")" --init-groups "$H/bin/sluice-maildirmake" Maildir) ||
  die "sluice-maildirmake for $TU failed"

: > "$T/sink.log"
python3 bench/soak.py sink --port "$P_SINK" --log "$T/sink.log" --ready "$T/sink.ready" 2> "$T/sink.err" &
sink_pid=$!
waitfor 20 test -f "$T/sink.ready" || die "the sink did not start: $(cat "$T/sink.err")"

cd "$S" || die "no $S"
env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
  SLUICE_SMTPD_PORT=$P_SMTP SLUICE_QMTPD_PORT=$P_QMTP SLUICE_QMQPD_PORT=$P_QMQP \
  setsid svscan "$S" < /dev/null > "$T/svscan.out" 2>&1 &
svscan_pid=$!
cd "$TOP" || exit 111
waitfor 30 answers220 127.0.0.1 "$P_SMTP" || die "SMTP does not answer on 127.0.0.1 port $P_SMTP"
hosts=127.0.0.1
if waitfor 10 answers220 ::1 "$P_SMTP"; then hosts=127.0.0.1,::1; else say "no SMTP on ::1: IPv4 only"; fi
waitfor 20 sh -c "cat '$L/sluice-send/current' 2> /dev/null | grep -q 'status:'" || die "sluice-send did not start"
running() { snap; [ -n "$(pids "$1")" ]; }
for n in sluice-start sluice-send sluice-lspawn sluice-rspawn sluice-clean; do
  waitfor 10 running "$n" || die "$n does not run"
done
sleep 1
mem_snapshot start
cp "$T/mem.start" "$T/mem.peak"

# ---------------------------------------------------------------------
# the load and the chaos
say "$N messages over $SESSIONS sessions to $hosts port $P_SMTP, chaos every ${CHAOS}s (0: none)"
t0=$(date +%s)
python3 bench/soak.py send --hosts "$hosts" --port "$P_SMTP" --count "$N" --tag "$TAG" \
  --local "$TU@$NAME" --remote-domain remote.example --out "$T/send.out" \
  --sessions "$SESSIONS" --limit "$LIMIT" > "$T/send.err" 2>&1 &
send_pid=$!
: > "$T/chaos.log"
rounds=0 svcs=0 kills=0
round_max=$((LIMIT + 60))
[ "$CHAOS" -gt 0 ] && round_max=$((LIMIT / CHAOS + 60))
# the chaos goes on after the load until the queue is empty
# (SOAK_CHAOS_DRAIN=1, the default), so that deliveries, not only
# injections, run under it; SOAK_CHAOS_DRAIN=0 stops it with the load
chaos_on() {
  kill -0 "$send_pid" 2> /dev/null && return 0
  [ "$CHAOS_DRAIN" = 1 ] && [ "$(queue_count)" != 0 ]
}
while chaos_on && [ $rounds -lt "$round_max" ]; do
  rounds=$((rounds + 1))
  if [ "$CHAOS" -eq 0 ]; then
    sleep 1
    [ $((rounds % 5)) -eq 0 ] && mem_peak
    continue
  fi
  sleep "$CHAOS"
  chaos_on || break
  mem_peak
  # the kill first, so that the victim had CHAOS seconds to come back
  # up since the last svc -t (on a loaded machine a run script can take
  # more than a second); a name with no process is tried for 2 s more
  victim=$(echo $KILLS | tr ' ' '\n' | shuf -n 1)
  vp=$(pids "$victim" | shuf -n 1)
  w=0
  while [ -z "$vp" ] && [ $w -lt 4 ]; do sleep 0.5; snap; vp=$(pids "$victim" | shuf -n 1); w=$((w + 1)); done
  if [ -n "$vp" ] && kill -KILL "$vp" 2> /dev/null; then
    kills=$((kills + 1))
    echo "$(date +%s) kill -9 $victim $vp" >> "$T/chaos.log"
  else
    echo "$(date +%s) no $victim to kill" >> "$T/chaos.log"
  fi
  sleep 1
  for d in "$S"/*/ "$S"/*/log/; do
    svc -t "$d" 2> /dev/null && svcs=$((svcs + 1))
  done
  echo "$(date +%s) svc -t every service" >> "$T/chaos.log"
  [ $((rounds % 20)) -eq 0 ] && say "$(date +%T): $(grep -c '^accepted ' "$T/send.out") accepted, queue $(queue_count)"
done
wait "$send_pid"
send_rc=$?
send_pid=''
t1=$(date +%s)
accepted=$(grep -c '^accepted ' "$T/send.out")
# delivered while the chaos ran: files in Maildir/new, messages at the sink
during=$(($(find "$TH/Maildir/new" -type f | wc -l) + $(grep -c '^250 ' "$T/sink.log")))
say "load done in $((t1 - t0)) s (exit $send_rc): $accepted accepted; $svcs svc -t, $kills kill -9"

# ---------------------------------------------------------------------
# the drain
# a set whose sluice-start was killed runs on with no supervise above it
snap
orphans=0
for p in $(awk 'NR == FNR { name[$1] = $2; parent[$1] = $3; next }
    $2 == "sluice-send" && !(name[$3] == "sluice-start" && name[parent[$3]] == "supervise") { print $1 }' "$T/procs" "$T/procs"); do
  orphans=$((orphans + 1))
  say "sluice-send $p has no supervised sluice-start above it: SIGTERM"
  kill -TERM "$p" 2> /dev/null
done
q=$(queue_count) lastq='' moved=$(date +%s) k=0
while [ "$q" != 0 ]; do
  now=$(date +%s)
  [ "$q" != "$lastq" ] && { lastq=$q; moved=$now; }
  [ $((now - t1)) -ge "$DRAIN" ] && { say "drain limit reached: queue $q"; break; }
  [ $((now - moved)) -ge "$STALL" ] && { say "queue stuck at $q for $STALL s"; break; }
  [ $((k % 10)) -eq 0 ] && svc -a "$S/sluice-send" 2> /dev/null
  [ $((k % 30)) -eq 29 ] && say "draining: queue $q"
  sleep 1; k=$((k + 1))
  q=$(queue_count)
done
sleep 3
t2=$(date +%s)
left=$(queue_count)
mess_left=$(find "$H/queue/mess" -type f 2> /dev/null | wc -l | tr -d ' ')
crashleft=$("$H/bin/sluice-qread" 2> /dev/null | grep -c 'left by a crash')
"$H/bin/sluice-fsck" > "$T/fsck.out" 2>&1
fsck_rc=$?
mem_snapshot end
mem_peak

# ---------------------------------------------------------------------
# the count
sed -n 's/^accepted \([0-9]*\)$/\1/p' "$T/send.out" | sort -n -u > "$T/counts.accepted"
sed -n 's/^ambiguous \([0-9]*\)$/\1/p' "$T/send.out" | sort -n -u > "$T/counts.ambiguous"
# local: X-Soak of the top-level header of every file in Maildir/new
find "$TH/Maildir/new" -type f -exec awk -v tag="$TAG" '
  FNR == 1 { h = 1 }
  h && /^\r?$/ { h = 0 }
  h && $1 == "X-Soak:" && $2 == tag { sub(/\r$/, "", $3); print $3 }' {} + 2> /dev/null |
  sort -n | uniq -c | awk '{ print $2, $1 }' > "$T/counts.local"
# remote: "250 CONN TAG/I" at the sink; "ack" when the client went on
awk -v tag="$TAG" '
  { split($3, m, "/") }
  m[1] != tag { next }
  $1 == "250" { n[m[2]]++; got[$2 " " m[2]] = 1 }
  $1 == "ack" { acked[$2 " " m[2]] = 1 }
  END {
    for (k in got) { split(k, a, " "); if (!(k in acked)) un[a[2]]++ }
    for (i in n) print i, n[i], un[i] + 0
  }' "$T/sink.log" | sort -n > "$T/counts.remote"
bounces=$(grep -c '^bounce ' "$T/sink.log")
# delivered copies of each message: "I COPIES WHERE UNACKED"
awk '
  FILENAME ~ /local$/ { print $1, $2, "local", 0 }
  FILENAME ~ /remote$/ { print $1, $2, "remote", $3 }' "$T/counts.local" "$T/counts.remote" > "$T/counts.delivered"
lost=$(awk 'FILENAME == ARGV[1] { d[$1] = 1; next } !($1 in d)' "$T/counts.delivered" "$T/counts.accepted" | wc -l | tr -d ' ')
awk 'FILENAME == ARGV[1] { amb[$1] = 1; next } $2 > 1 && !($1 in amb)' "$T/counts.ambiguous" "$T/counts.delivered" > "$T/counts.dups"
dups=$(wc -l < "$T/counts.dups" | tr -d ' ')
# the copies of each local duplicate are kept for a look at their trace
mkdir -p "$T/dupcopies"
for i in $(awk '$3 == "local" { print $1 }' "$T/counts.dups" | head -n 20); do
  grep -l "^X-Soak: $TAG $i\r\?\$" "$TH/Maildir/new"/* 2> /dev/null | while read -r f; do cp "$f" "$T/dupcopies/"; done
done
set -- $(awk '{ x += $2 - 1; if ($2 > m) m = $2 } END { print x + 0, m + 0 }' "$T/counts.dups")
extra=$1 most=$2
dups_local=$(grep -c ' local ' "$T/counts.dups")
dups_remote=$(grep -c ' remote ' "$T/counts.dups")
dups_window=$(awk '$3 == "remote" && $4 > 0' "$T/counts.dups" | wc -l | tr -d ' ')
ambiguous=$(wc -l < "$T/counts.ambiguous" | tr -d ' ')
amb_twice=$(awk 'FILENAME == ARGV[1] { amb[$1] = 1; next } $2 > 1 && ($1 in amb)' "$T/counts.ambiguous" "$T/counts.delivered" | wc -l | tr -d ' ')
unaccepted=$(awk 'FILENAME == ARGV[1] { a[$1] = 1; next } !($1 in a)' "$T/counts.accepted" "$T/counts.delivered" | wc -l | tr -d ' ')
resends=$(grep -c '^retry ' "$T/send.out")
blocked=$(cat "$L/sluice-send"/@*.[su] "$L/sluice-send/current" 2> /dev/null | grep -c 'another sluice-send is running')
kill_list=$(awk '$2 == "kill" { n[$4]++ } END { for (k in n) { printf "%s%s %d", s, k, n[k]; s = ", " } }' "$T/chaos.log")

say "lost: $(awk 'FILENAME == ARGV[1] { d[$1] = 1; next } !($1 in d)' "$T/counts.delivered" "$T/counts.accepted" | head -n 20 | tr '\n' ' ')"
say "duplicated: $(head -n 20 "$T/counts.dups" | tr '\n' ',')"
printf 'soak-messages\t%s\tmsg\taccepted of %s (%s local, %s remote); %s rounds: %s svc -t, %s kill -9 (%s)\n' \
  "$accepted" "$N" "$(wc -l < "$T/counts.local" | tr -d ' ')" "$(wc -l < "$T/counts.remote" | tr -d ' ')" \
  "$rounds" "$svcs" "$kills" "$kill_list"
printf 'soak-lost\t%s\tmsg\taccepted, delivered nowhere (target 0)\n' "$lost"
printf 'soak-duplicated\t%s\tmsg\tdelivered twice or more, ambiguous ones apart (target 0): %s local, %s remote (%s after an unacked 250 at the sink); %s extra copies, at most %s of one\n' \
  "$dups" "$dups_local" "$dups_remote" "$dups_window" "$extra" "$most"
printf 'soak-ambiguous\t%s\tmsg\tresent after data with no reply (%s of them delivered twice); %s resends before that; %s delivered never accepted; %s bounces\n' \
  "$ambiguous" "$amb_twice" "$resends" "$unaccepted" "$bounces"
printf 'soak-elapsed\t%s\ts\tload (sender exit %s), %s copies delivered meanwhile; drain %s s\n' \
  "$((t1 - t0))" "$send_rc" "$during" "$((t2 - t1))"
printf 'soak-queue-left\t%s\tmsg\tsluice-qstat after the drain (%s "left by a crash"); %s files in queue/mess; sluice-fsck exit %s%s; %s orphaned sets at the end, %s starts refused because one held the lock\n' \
  "${left:-?}" "$crashleft" "$mess_left" "$fsck_rc" "$(head -n 1 "$T/fsck.out" | sed 's/^/: /')" "$orphans" "$blocked"
for n in $PROCS; do
  set -- $(awk -v n="$n" '$1 == n { print $2, $3 }' "$T/mem.start") $(awk -v n="$n" '$1 == n { print $2, $3 }' "$T/mem.end")
  peak=$(awk -v n="$n" '$1 == n { print $2 }' "$T/mem.peak")
  printf 'soak-mem-%s\t%s/%s\tkB RSS\tstart/end; most %s kB; PSS %s/%s kB\n' "$n" "${1:--}" "${3:--}" "${peak:--}" "${2:--}" "${4:--}"
done
[ "$lost" -eq 0 ] && [ "$dups" -eq 0 ] && [ "${left:-1}" = 0 ] && [ "$send_rc" -eq 0 ]
