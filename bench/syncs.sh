#!/bin/sh
# bench/syncs.sh: sync calls per message, counted as sluice-queue(5),
# "Durability", lists them.
#
# Installs a private instance the way the tests do (tests/lib.sh) and
# runs the whole suite under strace -f -y (fsync, fdatasync,
# sync_file_range, syncfs, sync): sluice-smtpd under a real tcpserver
# (as bench/smtpd.sh, injecting through the real setuid sluice-queue)
# and sluice-start with the real spawners, sluice-local and
# sluice-remote, control/smtproutes sending example.org to
# tests/helpers/smtpsink on loopback. tests/helpers/smtpsource sends,
# one phase after the other, each waiting for an empty queue:
#   syncs-local        SYNCS_BENCH_MESSAGES (default 200) messages over
#                      20 SMTP sessions at once, to one local user with
#                      ~/Maildir (so some deliveries are deferred by
#                      concurrencyuser: those must cost no sync)
#   syncs-local-seq    the same over one session
#   syncs-relay        the same number over 20 sessions to a recipient
#                      at example.org (the sink)
#   syncs-local-10rcpt a tenth as many messages, each to 10 local
#                      users (users/assign entries 1syncs..10syncs)
# Each row is the calls per message of that phase; on fd 2 each phase's
# calls by program, call and path (names made generic: queue/local/N/ID,
# Maildir/new...), per message. Needs root, strace and tcpserver.
BENCH_ROW=syncs-local
. bench/lib.sh
PATH=$PATH:/usr/sbin:/sbin
export PATH
N=${SYNCS_BENCH_MESSAGES:-200}
for p in strace tcpserver tcprules python3 setpriv useradd; do
  command -v $p > /dev/null 2>&1 || {
    printf '%s\t-\t-\tskipped: %s missing (apt-get install strace ucspi-tcp-ipv6)\n' "$BENCH_ROW" "$p"
    exit 0
  }
done
tpid='' kpid='' users=''
cleanup() {
  # strace leaves tcpserver running when it is killed: tcpserver first
  if [ -n "$tpid" ]; then
    for c in $(pgrep -P "$tpid" 2> /dev/null); do kill "$c" 2> /dev/null; done
    kill "$tpid" 2> /dev/null
  fi
  [ -n "$kpid" ] && kill "$kpid" 2> /dev/null
  kill_set 300
  for u in $users; do userdel -r "$u" > /dev/null 2>&1; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 111' INT TERM HUP

bench_install
SS=$BIN/tests/smtpsource SINK=$BIN/tests/smtpsink
[ -x "$SS" ] && [ -x "$SINK" ] || die "smtpsource or smtpsink missing in $BIN/tests"
C=$H/control
U_DAEMON=$(awk '$1 == "daemon" { print $2; exit }' conf-users)
DUID=$(id -u "$U_DAEMON") && DGID=$(id -g "$U_DAEMON") || die "no daemon user $U_DAEMON"
for i in 0 1 2 3 4 5 6 7 8 9; do
  mkuser slsyncb$i
  users="$users slsyncb$i"
done
: > "$H/users/assign"
for i in 1 2 3 4 5 6 7 8 9 10; do
  u=slsyncb$((i - 1))
  printf '=%ssyncs:%s:%s:%s:%s:::\n' $i "$u" "$(id -u $u)" "$(id -g $u)" "$(home_of $u)" >> "$H/users/assign"
done
echo . >> "$H/users/assign"
"$H/bin/sluice-newu" || die "sluice-newu failed"
echo syncs.test > "$C/me"
echo syncs.test > "$C/locals"
printf 'syncs.test\nexample.org\n' > "$C/rcpthosts"
printf '127.0.0.1:allow,RELAYCLIENT=""\n:deny\n' > "$T/rules"
tcprules "$T/rules.cdb" "$T/rules.tmp" < "$T/rules" || die "tcprules failed"
chmod 644 "$T/rules.cdb"
free_ports 31000 2
PS=$P PK=$((P + 1))
"$SINK" 127.0.0.1 "$PK" > "$T/sink.out" 2> "$T/sink.err" &
kpid=$!
echo "example.org:127.0.0.1:$PK" > "$C/smtproutes"
chmod 644 "${C:?}"/*
TR=trace=fsync,fdatasync,sync_file_range,syncfs,sync
strace -f -qq -y -e "$TR" -o "$T/smtpd.trace" \
  tcpserver -v -H -R -l mx.syncs.test -c 40 -x "$T/rules.cdb" -u "$DUID" -g "$DGID" \
  127.0.0.1 "$PS" "$H/bin/sluice-smtpd" < /dev/null > "$T/smtpd.log" 2>&1 &
tpid=$!
strace -f -qq -y -e "$TR" -o "$T/set.trace" "$H/bin/sluice-start" < /dev/null > /dev/null 2> "$T/log" &
spid=$!
wait_for 20 grep -q 'status: 0/40' "$T/smtpd.log" || die "tcpserver did not start: $(cat "$T/smtpd.log")"
wait_for 20 grep -q '^ready$' "$T/sink.out" || die "the sink did not start"
wait_for 20 grep -q 'status:' "$T/log" || die "sluice-start did not start"
# no_mess: no file under queue/mess
no_mess() { set -- "$H"/queue/mess/*/*; [ ! -e "$1" ]; }

# phase NAME MESSAGES SMTPSOURCE-ARGS...: the calls made while the
# messages go through, per message
phase() {
  name=$1 n=$2; shift 2
  wait_for 10 no_mess
  sleep 1
  s0=$(wc -c < "$T/smtpd.trace") q0=$(wc -c < "$T/set.trace")
  echo "$name: $n messages" >&2
  "$SS" "$@" -l 2048 -f bench@example.org 127.0.0.1 "$PS" > "$T/source.out" || die "smtpsource: $(cat "$T/source.out")"
  wait_for 300 no_mess || die "$name: the queue did not empty"
  sleep 2 # the last marks and removals
  { tail -c +$((s0 + 1)) "$T/smtpd.trace"; tail -c +$((q0 + 1)) "$T/set.trace"; } > "$T/$name.trace"
  python3 - "$T/$name.trace" "$n" "$H/" > "$T/$name.rows" << 'PY' || die "counting failed"
import collections, re, sys
path, n, home = sys.argv[1], int(sys.argv[2]), sys.argv[3]
call = re.compile(r'^(\d+)\s+(fsync|fdatasync|sync_file_range|syncfs|sync)\((\d+<([^>]*)>)?')
by = collections.Counter()
total = 0
for line in open(path, errors='replace'):
    m = call.match(line)
    if not m:
        continue
    p = (m.group(4) or '?').replace(home, '')
    p = re.sub(r'^/home/[^/]+/', '~/', p)
    p = re.sub(r'^(queue/\w+)/\d+/\d+$', r'\1/N/ID', p)
    p = re.sub(r'^(queue/\w+)/\d+$', r'\1/N', p)
    p = re.sub(r'^queue/pid/N$', 'queue/pid/PID (the message file)', p)
    p = re.sub(r'^queue/intd/\d+/#\d+$', 'queue/intd/P/#ID (the message file, still unnamed)', p)
    p = re.sub(r'Maildir/(tmp|new)/.+$', r'Maildir/\1/NAME', p)
    by[(m.group(2), p)] += 1
    total += 1
print('%.2f' % (total / n))
for (c, p), v in sorted(by.items(), key=lambda kv: -kv[1]):
    print('  %6.2f  %-9s %s' % (v / n, c, p))
PY
  sed 1d "$T/$name.rows" >&2
  figure=$(sed -n 1p "$T/$name.rows")
}
phase syncs-local "$N" -s 20 -m "$N" -t slsyncb0@syncs.test
printf 'syncs-local\t%s\tcalls/msg\t%s msgs, 20 SMTP sessions, one Maildir user (sluice-queue(5) lists 11, less what batches share)\n' "$figure" "$N"
phase syncs-local-seq "$N" -s 1 -m "$N" -t slsyncb0@syncs.test
printf 'syncs-local-seq\t%s\tcalls/msg\t%s msgs, one SMTP session, one Maildir user\n' "$figure" "$N"
phase syncs-relay "$N" -s 20 -m "$N" -t user@example.org
printf 'syncs-relay\t%s\tcalls/msg\t%s msgs, 20 SMTP sessions, to a sink (sluice-queue(5) lists 9, less what batches share)\n' "$figure" "$N"
M=$((N / 10))
[ "$M" -gt 0 ] || M=1
phase syncs-local-10rcpt "$M" -s 1 -m "$M" -r 10 -t syncs@syncs.test
printf 'syncs-local-10rcpt\t%s\tcalls/msg\t%s msgs, each to 10 Maildir users (8 + 10 x 2 + the marks, shared per read)\n' "$figure" "$M"
got=$(for u in $users; do ls "$(home_of "$u")/Maildir/new"; done | wc -l | tr -d ' ')
[ "$got" -eq $((2 * N + 10 * M)) ] || die "$got messages in the Maildirs, want $((2 * N + 10 * M))"
