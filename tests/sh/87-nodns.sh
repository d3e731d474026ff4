#!/bin/sh
# 87-nodns.sh: the shipped service scripts do not make a client wait on
# DNS (issue 14). A private instance runs boot/sluice-smtpd/run and
# boot/sluice-qmtpd/run as installed by tools/services, under svscan,
# with DNSCACHEIP naming tests/helpers/dnsd on port 53 of a loopback
# address of this run (ucspi-tcp's tcpserver reads DNSCACHEIP too, on
# port 53 only) and SLUICE_HOSTS naming a hosts file of the test.
# Clients connect from loopback addresses of their own (127.X.Y.n):
#  1. a client whose PTR never gets an answer (dnsd SLOW) gets its
#     greeting before anything asked DNS about it (tcpserver -H); its
#     message is accepted, its Received line says "unknown", and with
#     control/smtpdnamewait 2000 (below the resolver's 5 s per try)
#     exactly one PTR question was asked: the total wait bounds it;
#  2. 127.0.0.1, named in the hosts file: Received names it, no DNS;
#  3. a client with a PTR name whose A record holds its address:
#     Received names it (forward-confirmed);
#  4. a PTR name whose A record points elsewhere: "unknown";
#  5. TCPREMOTEHOST set by a tcp.smtp rule wins: nothing is asked;
#  6. QMTP from 127.0.0.1: Received names it from the hosts file;
#  7. control/smtpdnamewait 0: no DNS question (hosts file still read);
#  8. under strace: a session without MAIL opens none of the control
#     files that cannot matter to it (badmailfrom, localiphost,
#     percenthack, morercpthosts.cdb, smtpdnamewait) nor the hosts
#     file; a RELAYCLIENT session with a message does not open
#     rcpthosts, and reads smtpdnamewait and the hosts file.
# The messages stay in the queue (no sluice-send here): the test reads
# the Received lines from queue/mess.
. "$(dirname "$0")/../lib.sh"
need_root
for p in svscan supervise svc svok multilog setuidgid softlimit tcpserver tcprules python3 strace; do
  command -v "$p" > /dev/null 2>&1 || { echo "FAIL $p is missing (apt-get install daemontools ucspi-tcp-ipv6 python3 strace)"; echo "0 passed, 1 failed"; exit 1; }
done
. "$(dirname "$0")/../e2e.sh"
inst_fresh
DNSD=$BIN/tests/dnsd
[ -x "$DNSD" ] || { bad "dnsd built" "$DNSD missing"; done_testing; }

free_ports 25000 2
P_SMTP=$P P_QMTP=$((P + 1))
# this run's loopback /24: 127.X.Y.0
X=$((100 + $$ % 100)) Y=$(($$ / 100 % 250))
NET=127.$X.$Y
DNSIP=$NET.53
C_SLOW=$NET.2 C_PTR=$NET.3 C_FORGED=$NET.4 C_RULE=$NET.5 C_OFF=$NET.6
rev() { echo "$1" | awk -F. '{ print $4 "." $3 "." $2 "." $1 ".in-addr.arpa" }'
}
NAME=nodns87.example
S=$H/service

svscan_pid='' dnsd_pid=''
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
    while [ $k -lt 100 ]; do
      alive=0
      for d in "$S"/*/ "$S"/*/log/; do svok "$d" 2> /dev/null && alive=1; done
      [ $alive -eq 0 ] && break
      sleep 0.1; k=$((k + 1))
    done
    for p in $tree; do kill -KILL "$p" 2> /dev/null; done
  fi
  [ -n "$dnsd_pid" ] && kill -TERM "$dnsd_pid" 2> /dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- the instance: config, our rules, the services -------------------
sh tools/config "$H" "$NAME" > "$T/config.out" 2>&1
check_eq "config exit" "$?" 0
{
  echo "127.0.0.1:allow,RELAYCLIENT=\"\""
  echo "$C_RULE:allow,TCPREMOTEHOST=\"rules87.example\""
  echo ":allow"
} > "$H/control/tcp.smtp"
sh tools/services "$H" > "$T/services.out" 2>&1
check_eq "services exit" "$?" 0
check "the installed smtpd run script runs tcpserver -H" grep -q 'tcpserver .*-H' "$S/sluice-smtpd/run"
# only the two services under test
for d in "$S"/*; do
  case ${d##*/} in sluice-smtpd|sluice-qmtpd) ;; *) rm -rf "$d" ;; esac
done

printf '127.0.0.1 hosts87.example localhost\n' > "$T/hosts"
cat > "$T/zone" << EOF
SLOW $(rev $C_SLOW)
SLOW $(rev $C_OFF)
PTR $(rev $C_PTR) ptr87.example
A ptr87.example $C_PTR
PTR $(rev $C_FORGED) forged87.example
A forged87.example 192.0.2.87
PTR $(rev $C_RULE) dns87.example
A dns87.example $C_RULE
PTR 1.0.0.127.in-addr.arpa dnsname87.example
A dnsname87.example 127.0.0.1
EOF
"$DNSD" "$DNSIP" 53 "$T/zone" > "$T/dns.log" 2> "$T/dns.err" &
dnsd_pid=$!
wait_for 10 grep -q '^ready$' "$T/dns.log"
check "dnsd ready on $DNSIP port 53" grep -q '^ready$' "$T/dns.log"
echo 2000 > "$H/control/smtpdnamewait"
check "showctl: smtpdnamewait" sh -c "'$H/bin/sluice-showctl' | grep -qx 'smtpdnamewait: 2000'"

cd "$S" || exit 1
env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
  SLUICE_SMTPD_PORT=$P_SMTP SLUICE_QMTPD_PORT=$P_QMTP \
  DNSCACHEIP=$DNSIP SLUICE_HOSTS=$T/hosts \
  setsid svscan "$S" < /dev/null > "$T/svscan.out" 2>&1 &
svscan_pid=$!
cd "$TOP" || exit 1
listening() { ss -Hltn 2> /dev/null | awk '{print $4}' | grep -q ":$1\$"; }
wait_for 30 listening "$P_SMTP"
check "sluice-smtpd listens on $P_SMTP" listening "$P_SMTP"
wait_for 10 listening "$P_QMTP"
check "sluice-qmtpd listens on $P_QMTP" listening "$P_QMTP"

# client.py SOURCE TOKEN: one SMTP session from address SOURCE. Prints
# "banner SECONDS", then "asked-before-banner N" (dnsd's log lines for
# SOURCE's PTR name when the greeting came), then "result LINE".
cat > "$T/client.py" << 'EOF'
import socket, sys, time
src, tok, port, dnslog, ptr = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
def asked():
    try:
        return sum(1 for l in open(dnslog) if l.split()[:2] in (['udp', ptr], ['tcp', ptr]))
    except OSError:
        return -1
s = socket.socket()
s.settimeout(20)
s.bind((src, 0))
t0 = time.monotonic()
s.connect(('127.0.0.1', port))
f = s.makefile('rb')
try:
    l = f.readline()
except socket.timeout:
    print('banner timeout'); sys.exit(1)
print('banner %.3f %s' % (time.monotonic() - t0, l.decode().strip()[:3]))
print('asked-before-banner %d' % asked())
def cmd(c):
    s.sendall(c + b'\r\n')
    while True:
        r = f.readline().decode()
        if r[3:4] != '-':
            return r.strip()
for c in (b'HELO client87', b'MAIL FROM:<a@client87.example>', b'RCPT TO:<someone@nodns87.example>'):
    cmd(c)
r = cmd(b'DATA')
if r[:3] != '354':
    print('result ' + r); sys.exit(1)
t1 = time.monotonic()
s.sendall(b'Subject: ' + tok.encode() + b'\r\n\r\nbody\r\n.\r\n')
try:
    while True:
        r = f.readline().decode()
        if r[3:4] != '-': break
except socket.timeout:
    r = 'timeout'
print('result %s' % r.strip())
print('data %.3f' % (time.monotonic() - t1))
cmd(b'QUIT')
EOF
# received TOKEN: the Received line sluice-smtpd or sluice-qmtpd wrote
# into the queued message holding TOKEN (unfolded)
received() {
  f=$(grep -rl -F -e "$1" "$H/queue/mess" 2> /dev/null | head -n 1)
  [ -n "$f" ] || return 0
  sed '/^$/q' "$f" | awk '/^[ \t]/ { sub(/^[ \t]+/, " "); cur = cur $0; next } { if (cur ~ /^Received: from/) print cur; cur = $0 } END { if (cur ~ /^Received: from/) print cur }'
}
session() { # session SOURCE TOKEN: output in $T/$2.out
  python3 "$T/client.py" "$1" "$2" "$P_SMTP" "$T/dns.log" "$(rev "$1")" > "$T/$2.out" 2>&1
}
asked_ptr() { grep -c "^udp $(rev "$1") 12\$" "$T/dns.log"; }

# --- 1. a client whose PTR is never answered ---------------------------
session "$C_SLOW" tok87slow
check "slow PTR: greeting arrives" grep -q '^banner [0-9.]* 220$' "$T/tok87slow.out"
check_eq "slow PTR: nothing asked about the client before its greeting" \
  "$(sed -n 's/^asked-before-banner //p' "$T/tok87slow.out")" 0
check "slow PTR: message accepted" grep -q '^result 250 ' "$T/tok87slow.out"
check_eq "slow PTR: one PTR question, cut by smtpdnamewait" "$(asked_ptr "$C_SLOW")" 1
received tok87slow > "$T/r1"
check "slow PTR: Received says unknown" grep -q "^Received: from client87 (unknown \[$C_SLOW\])" "$T/r1"
echo "  (slow PTR: $(grep '^banner' "$T/tok87slow.out" | cut -d' ' -f2) s to the greeting," \
  "$(sed -n 's/^data //p' "$T/tok87slow.out") s from the message to its reply, smtpdnamewait 2 s)"

# --- 2. 127.0.0.1 from the hosts file ---------------------------------
session 127.0.0.1 tok87hosts
check "hosts: message accepted" grep -q '^result 250 ' "$T/tok87hosts.out"
received tok87hosts > "$T/r2"
check "hosts: Received names the client from the hosts file" grep -q '^Received: from client87 (hosts87\.example \[127\.0\.0\.1\])' "$T/r2"
check_eq "hosts: no PTR question for 127.0.0.1" "$(asked_ptr 127.0.0.1)" 0

# --- 3. a forward-confirmed PTR name ----------------------------------
session "$C_PTR" tok87ptr
check "PTR: message accepted" grep -q '^result 250 ' "$T/tok87ptr.out"
received tok87ptr > "$T/r3"
check "PTR: Received names the client by its PTR name" grep -q "^Received: from client87 (ptr87\.example \[$C_PTR\])" "$T/r3"
check "PTR: the name's A record was asked" grep -q '^udp ptr87.example 1$' "$T/dns.log"

# --- 4. a PTR name that does not lead back ----------------------------
session "$C_FORGED" tok87forged
check "unconfirmed PTR: message accepted" grep -q '^result 250 ' "$T/tok87forged.out"
received tok87forged > "$T/r4"
check "unconfirmed PTR: Received says unknown" grep -q "^Received: from client87 (unknown \[$C_FORGED\])" "$T/r4"
check "unconfirmed PTR: the name's A record was asked" grep -q '^udp forged87.example 1$' "$T/dns.log"

# --- 5. TCPREMOTEHOST from a rule wins --------------------------------
session "$C_RULE" tok87rule
check "rule: message accepted" grep -q '^result 250 ' "$T/tok87rule.out"
received tok87rule > "$T/r5"
check "rule: Received names TCPREMOTEHOST" grep -q "^Received: from client87 (rules87\.example \[$C_RULE\])" "$T/r5"
check_eq "rule: no PTR question" "$(asked_ptr "$C_RULE")" 0

# --- 6. QMTP ------------------------------------------------------------
cat > "$T/qmtp.py" << 'EOF'
import socket, sys
def ns(b): return str(len(b)).encode() + b':' + b + b','
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=20)
msg = b'\nSubject: ' + sys.argv[2].encode() + b'\n\nbody\n'
s.sendall(ns(msg) + ns(b'a@client87.example') + ns(ns(b'someone@nodns87.example')))
r = b''
while True:
    d = s.recv(4096)
    if not d: break
    r += d
    if r.endswith(b','): break
print(r.decode(errors='replace'))
EOF
python3 "$T/qmtp.py" "$P_QMTP" tok87qmtp > "$T/qmtp.out" 2>&1
check "QMTP: message accepted" grep -q ':K' "$T/qmtp.out"
received tok87qmtp > "$T/r6"
check "QMTP: Received names the client from the hosts file" grep -q '^Received: from unknown (hosts87\.example \[127\.0\.0\.1\])' "$T/r6"

# --- 7. smtpdnamewait 0 -------------------------------------------------
echo 0 > "$H/control/smtpdnamewait"
session "$C_OFF" tok87off
check "wait 0: message accepted" grep -q '^result 250 ' "$T/tok87off.out"
received tok87off > "$T/r7"
check "wait 0: Received says unknown" grep -q "^Received: from client87 (unknown \[$C_OFF\])" "$T/r7"
check_eq "wait 0: no PTR question" "$(asked_ptr "$C_OFF")" 0

# --- 8. what a connection opens ----------------------------------------
# opened SESSION-TEXT [VAR=VALUE...]: the files sluice-smtpd opened
# (the stand-in queue reads the message and the envelope before it
# exits 0: one that exits at once can end before sluice-smtpd has
# written them, and the write fails)
printf '#!/bin/sh\ncat > /dev/null\ncat <&1 > /dev/null\nexit 0\n' > "$T/qq"
chmod 755 "$T/qq"
opened() {
  _in=$1; shift
  printf "$_in" | env TCPREMOTEIP=127.0.0.1 QMAILQUEUE="$T/qq" SLUICE_HOSTS="$T/hosts" "$@" \
    strace -f -e trace=open,openat -o "$T/strace" "$H/bin/sluice-smtpd" > "$T/strace.out" 2>&1
  sed -n 's/.*open[a-z]*([^"]*"\([^"]*\)".*/\1/p' "$T/strace" | grep -v -e '^/lib' -e '^/usr/lib' -e '^/etc/ld\.so' | sort -u
}
opened 'EHLO x\r\nQUIT\r\n' > "$T/open1"
check "strace: the session ran" grep -q '^221 ' "$T/strace.out"
for f in control/badmailfrom control/localiphost control/percenthack control/morercpthosts.cdb control/smtpdnamewait "$T/hosts"; do
  check_fail "no MAIL: $f not opened" grep -qxF "$f" "$T/open1"
done
check "no MAIL: control/me opened" grep -qxF control/me "$T/open1"
opened 'EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n.\r\nQUIT\r\n' RELAYCLIENT= > "$T/open2"
check "strace: the message was accepted" grep -q '^250 2.0.0 ok' "$T/strace.out"
check_fail "RELAYCLIENT: control/rcpthosts not opened" grep -qxF control/rcpthosts "$T/open2"
check_fail "RELAYCLIENT: control/morercpthosts.cdb not opened" grep -qxF control/morercpthosts.cdb "$T/open2"
check "message: control/badmailfrom opened" grep -qxF control/badmailfrom "$T/open2"
check "message: control/smtpdnamewait opened" grep -qxF control/smtpdnamewait "$T/open2"
check "message: the hosts file opened" grep -qxF "$T/hosts" "$T/open2"

if [ "$t_fail" -gt 0 ]; then
  for f in "$T"/tok87*.out "$T/qmtp.out" "$T"/r[0-9]; do echo "--- ${f##*/}"; cat "$f"; done
  echo "--- dns.log"; grep -v '^case ' "$T/dns.log"
fi
done_testing
