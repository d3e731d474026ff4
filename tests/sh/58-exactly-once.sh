#!/bin/sh
# 58-exactly-once.sh: a completed delivery is never made again because
# the scheduler died (issue 12; sluice-send(8), "CRASHES AND EXACTLY
# ONCE"; sluice-spawn(5), "Journals").
#
# The real set under svscan and supervise (tools/services), sluice-smtpd
# under tcpserver, the real spawners, sluice-local and sluice-remote.
# 300 messages go over 5 SMTP sessions, each to a local user whose
# delivery is slowed by a .qmail program (so deliveries are always in
# flight) and to a remote sink that waits before it accepts the data.
# During the stream sluice-send is killed with SIGKILL three times, the
# set is restarted once with svc -t, and sluice-start itself is killed
# with SIGKILL once (its sluice-send must end by itself). Then:
#  - all 300 reached the Maildir and all 300 the sink, each exactly once;
#  - the queue is empty (sluice-qstat 0, nothing under queue/, sluice-fsck
#    clean) and the log has an "end msg" line for every message;
#  - results of killed schedulers came from the journals.
. "$(dirname "$0")/../lib.sh"
need_root
for p in svscan supervise svc svok svstat multilog setuidgid softlimit tcpserver tcprules tcpclient python3 setpriv useradd pgrep; do
  command -v "$p" > /dev/null 2>&1 || { echo "FAIL $p is missing (apt-get install daemontools ucspi-tcp-ipv6 python3 util-linux passwd procps)"; echo "0 passed, 1 failed"; exit 1; }
done
inst_fresh

N=300
P=$((24000 + $$ % 4000 * 2))     # this run's ports: P, P+1
P_SMTP=$P P_SINK=$((P + 1))
NAME=mx.once.example
role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_SEND=$(role send)
TU=sleo$$
S=$H/service
L=$H/log
svscan_pid='' sink_pid=''
descendants() {
  for c in $(pgrep -P "$1" 2> /dev/null); do echo "$c"; descendants "$c"; done
}
cleanup() {
  trap - EXIT INT TERM HUP
  if [ -n "$svscan_pid" ]; then
    tree=$(descendants "$svscan_pid")
    kill -TERM "$svscan_pid" 2> /dev/null
    for d in "$S"/*/ "$S"/*/log/; do svok "$d" 2> /dev/null && svc -dx "$d"; done
    k=0
    while [ $k -lt 900 ]; do
      alive=0
      for d in "$S"/*/ "$S"/*/log/; do svok "$d" 2> /dev/null && alive=1; done
      [ $alive -eq 0 ] && break
      sleep 0.1; k=$((k + 1))
    done
    for p in $tree; do kill -KILL "$p" 2> /dev/null; done
  fi
  [ -n "$sink_pid" ] && kill -TERM "$sink_pid" 2> /dev/null
  [ -n "${stream_pid:-}" ] && kill -TERM "$stream_pid" 2> /dev/null
  getent passwd "$TU" > /dev/null 2>&1 && userdel -r "$TU" > /dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
waitfor() {
  _w=$(($1 * 5)); shift
  while [ $_w -gt 0 ]; do
    "$@" && return 0
    sleep 0.2; _w=$((_w - 1))
  done
  return 1
}
answers220() {
  case $(timeout 5 tcpclient -RHl0 "$1" "$2" sh -c 'IFS= read -r l <&6; printf "%s\n" "$l"; printf "QUIT\r\n" >&7' 2> /dev/null) in
    220*) return 0 ;;
  esac
  return 1
}
logof() { cat "$L/$1"/@*.[su] "$L/$1/current" 2> /dev/null; }
# the sluice-send of this instance: the child of its sluice-start (others
# may run on the machine)
send_pid() {
  _sp=$(svstat "$S/sluice-send" 2> /dev/null | sed -n 's/.*up (pid \([0-9]*\)).*/\1/p')
  [ -n "$_sp" ] && pgrep -x -u "$U_SEND" -P "$_sp" sluice-send | head -n 1
}
new_send() { _p=$(send_pid); [ -n "$_p" ] && [ "$_p" != "$1" ]; }

sh tools/config "$H" "$NAME" > "$T/config.out" 2>&1 || bad "tools/config" "$(cat "$T/config.out")"
sh tools/services "$H" > "$T/services.out" 2>&1 || bad "tools/services" "$(cat "$T/services.out")"
echo "remote.example:127.0.0.1:$P_SINK" > "$H/control/smtproutes"
echo 10 > "$H/control/concurrencylocal"
echo 10 > "$H/control/concurrencyremote"
echo 10 > "$H/control/concurrencyuser"   # all local mail here goes to one user
mkdir "$T/sink"
python3 tests/smtpsink.py --host 127.0.0.1 --port "$P_SINK" --dir "$T/sink" --ready "$T/sink.ready" \
  --pipelining --8bitmime --sleep eom=0.3 2> "$T/sink.err" &
sink_pid=$!
waitfor 20 test -f "$T/sink.ready" || bad "sink listening"

useradd -m -s /bin/sh "$TU" || { bad "useradd $TU"; done_testing; }
HOMEDIR=$(getent passwd "$TU" | cut -d: -f6)
chmod 755 "$HOMEDIR"
(cd "$HOMEDIR" && setpriv --reuid="$TU" --regid="$(id -g "$TU")" --init-groups "$H/bin/sluice-maildirmake" Maildir) || bad "maildirmake"
printf '|sleep 0.3\n./Maildir/\n' > "$HOMEDIR/.qmail"
chown "$TU" "$HOMEDIR/.qmail"
chmod 644 "$HOMEDIR/.qmail"

cd "$S" || exit 1
env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin SLUICE_SMTPD_PORT=$P_SMTP \
  setsid svscan "$S" < /dev/null > "$T/svscan.out" 2>&1 &
svscan_pid=$!
cd "$TOP" || exit 1
# only the set and the IPv4 listener are needed here
for s in sluice-smtpd6 sluice-qmtpd sluice-qmqpd; do
  [ -d "$S/$s" ] && { waitfor 10 svok "$S/$s"; svc -d "$S/$s"; }
done
waitfor 30 answers220 127.0.0.1 "$P_SMTP"
check "SMTP answers" answers220 127.0.0.1 "$P_SMTP"
waitfor 20 new_send none
check "sluice-send runs" test -n "$(send_pid)"

cat > "$T/stream.py" <<'EOF'
# stream.py N PORT LOCAL REMOTE TAG OUT: N numbered messages in 5 SMTP
# sessions, each to LOCAL and REMOTE; what got no 250 is sent again and
# noted ("resent I" before DATA, "uncertain I" after an unanswered DATA).
import smtplib, sys, time
n, port, local, remote, tag, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
log = open(out, "w", buffering=1)
per = (n + 4) // 5
deadline = time.time() + 400
i, conn = 1, None
while i <= n:
    if time.time() > deadline:
        log.write("gave up at %d\n" % i); sys.exit(1)
    sent_data = False
    try:
        if conn is None:
            conn = smtplib.SMTP("127.0.0.1", port, local_hostname="stream.once.example", timeout=60)
            conn.ehlo()
        c, _ = conn.mail("stream@remote.example")
        if c != 250: raise smtplib.SMTPException("MAIL %d" % c)
        for r in (local, remote):
            c, _ = conn.rcpt(r)
            if c != 250: raise smtplib.SMTPException("RCPT %d" % c)
        sent_data = True
        body = "Subject: once %s %d\r\nX-Once: %d\r\n\r\nmessage %d\r\n" % (tag, i, i, i)
        c, _ = conn.data(body.encode())
        if c != 250: raise smtplib.SMTPException("DATA %d" % c)
        if i % per == 0:
            conn.quit()
            conn = None
        i += 1
        time.sleep(0.01)
    except (smtplib.SMTPException, OSError) as e:
        log.write("%s %d %s\n" % ("uncertain" if sent_data else "resent", i, str(e).replace("\n", " ")))
        try: conn.close()
        except Exception: pass
        conn = None
        time.sleep(0.2)
try: conn.quit()
except Exception: pass
log.write("sent %d\n" % n)
EOF
TAG=o$$
python3 "$T/stream.py" $N "$P_SMTP" "$TU@$NAME" "r@remote.example" "$TAG" "$T/stream.out" > "$T/stream.err" 2>&1 &
stream_pid=$!

# three kill -9 of sluice-send and one svc -t of the set, while
# deliveries are in flight (each waits for the set to be back first)
kills=0 restarts=0 startkills=0 spawnkills=0 last=none
for action in kill lspawn kill term killstart rspawn kill; do
  waitfor 60 new_send "$last"
  sleep 2
  pid=$(send_pid)
  [ -n "$pid" ] || continue
  last=$pid
  if [ $action = kill ]; then
    kill -KILL "$pid" && kills=$((kills + 1))
  elif [ $action = lspawn ] || [ $action = rspawn ]; then
    # a spawner: its deliveries in flight finish under their monitors,
    # which journal the results for the next sluice-send
    sp=$(svstat "$S/sluice-send" 2> /dev/null | sed -n 's/.*up (pid \([0-9]*\)).*/\1/p')
    kp=$([ -n "$sp" ] && pgrep -P "$sp" -x "sluice-$action" | head -n 1)
    [ -n "$kp" ] && kill -KILL "$kp" && spawnkills=$((spawnkills + 1))
  elif [ $action = killstart ]; then
    # sluice-start itself: its sluice-send must finish and end on its own
    sp=$(svstat "$S/sluice-send" 2> /dev/null | sed -n 's/.*up (pid \([0-9]*\)).*/\1/p')
    [ -n "$sp" ] && kill -KILL "$sp" && startkills=$((startkills + 1))
  else
    svc -t "$S/sluice-send" && restarts=$((restarts + 1))
  fi
done
wait "$stream_pid"
check_eq "stream client finished" "$?" 0
stream_pid=''
check "stream client sent all $N" grep -q "^sent $N\$" "$T/stream.out"
check_eq "three kill -9 of sluice-send" "$kills" 3
check_eq "one svc -t of the set" "$restarts" 1
check_eq "one kill -9 of sluice-start" "$startkills" 1
check_eq "one kill -9 of each spawner" "$spawnkills" 2
# (this instance's only: its sluice-send works in $H/queue)
check_eq "no sluice-send left behind by the killed sluice-start" "$(pgrep -x -u "$U_SEND" sluice-send | while read -r p; do [ "$(ps -o ppid= -p "$p" | tr -d ' ')" = 1 ] && [ "$(readlink "/proc/$p/cwd")" = "$(cd "$H/queue" && pwd -P)" ] && echo "$p"; done)" ""

local_count() { find "$HOMEDIR/Maildir/new" -type f -exec grep -h "^X-Once: " {} + 2> /dev/null | sort -u | wc -l | tr -d ' '; }
sink_count() { cat "$T/sink"/*.data 2> /dev/null | grep -a "^X-Once: " | sort -u | wc -l | tr -d ' '; }
all_there() { [ "$(local_count)" -ge $N ] && [ "$(sink_count)" -ge $N ]; }
waitfor 240 all_there
qstat_zero() { [ "$("$H/bin/sluice-qstat" 2> /dev/null | sed -n 's/^messages in queue: //p')" = 0 ]; }
waitfor 60 qstat_zero
sleep 2

find "$HOMEDIR/Maildir/new" -type f -exec grep -h "^X-Once: " {} + 2> /dev/null | tr -d '\r' | sort | uniq -c > "$T/lcounts"
cat "$T/sink"/*.data 2> /dev/null | grep -a "^X-Once: " | tr -d '\r' | sort | uniq -c > "$T/rcounts"
sed -n 's/^uncertain \([0-9]*\) .*/\1/p' "$T/stream.out" | sort -u > "$T/uncertain"
nuncertain=$(wc -l < "$T/uncertain" | tr -d ' ')
ldup=$(awk '$1 > 1 { print $3 }' "$T/lcounts" | grep -vxF -f "$T/uncertain" | wc -l | tr -d ' ')
rdup=$(awk '$1 > 1 { print $3 }' "$T/rcounts" | grep -vxF -f "$T/uncertain" | wc -l | tr -d ' ')
logof sluice-send > "$T/send.log"
echo "# $N messages, $kills kill -9, $restarts svc -t: local $(wc -l < "$T/lcounts" | tr -d ' ') delivered, $ldup twice;" \
  "remote $(wc -l < "$T/rcounts" | tr -d ' ') delivered, $rdup twice; $nuncertain resent after an unanswered DATA;" \
  "$(grep -c 'delivery journal: msg' "$T/send.log") results applied from journals"
check_eq "local: all $N delivered" "$(wc -l < "$T/lcounts" | tr -d ' ')" $N
check_eq "remote: all $N delivered" "$(wc -l < "$T/rcounts" | tr -d ' ')" $N
check_eq "local: no duplicate" "$ldup" 0
check_eq "remote: no duplicate" "$rdup" 0
check "results of killed schedulers applied from the journals" grep -q "delivery journal: msg" "$T/send.log"
check "sluice-qstat: queue empty" qstat_zero
check_eq "nothing left under queue/" "$(find "$H/queue/mess" "$H/queue/intd" "$H/queue/todo" "$H/queue/info" "$H/queue/local" "$H/queue/remote" "$H/queue/bounce" "$H/queue/pid" "$H/queue/quarantine" -type f | wc -l | tr -d ' ')" 0
check "sluice-fsck finds the queue clean" "$H/bin/sluice-fsck" -n "$H/queue"
sed -n 's/.* new msg \([0-9][0-9.]*\)$/\1/p' "$T/send.log" | sort -u > "$T/new"
sed -n 's/.* end msg \([0-9][0-9.]*\)$/\1/p' "$T/send.log" | sort -u > "$T/end"
check_eq "every message has its end msg line" "$(comm -23 "$T/new" "$T/end" | tr '\n' ' ')" ""
check "at least $N messages logged" test "$(grep -c ' new msg ' "$T/send.log")" -ge $N

done_testing
