#!/bin/sh
# 110-tlsgate.sh: STARTTLS through sluice-tlsgate (issue 14: no TLS
# process for a plaintext connection), with the installed run scripts
# of boot/sluice-tlsgate, boot/sluice-smtpd and boot/sluice-submission
# (tools/services), real tcpservers and real clients (python3 smtplib
# and ssl, swaks, openssl s_client), in a private instance with a test
# CA made by openssl.
#
#  1. the service: installed by tools/services; the gate runs as the
#     tls role user; its socket conf-home/tls/gate belongs to the daemon
#     user, mode 0600; the smtpd tcpserver runs as the daemon user with
#     sluice-smtpd straight under it (no sluice-tlsd);
#  2. STARTTLS through the gate: offered, TLS 1.3, not offered again, a
#     message queued with ESMTPS in Received (smtplib and swaks); SNI
#     picks control/tls/NAME.pem; STARTTLS and NOOP in one write: the
#     NOOP is never answered; during a TLS session the relay is a child
#     of the gate, as the tls user, sluice-smtpd holds neither the
#     client's socket nor the key;
#  3. a plaintext session runs no TLS process: none under its
#     tcpserver, none under the gate, and strace sees no exec but
#     sluice-smtpd's for it;
#  4. submission: AUTH and MAIL refused before STARTTLS, AUTH offered
#     after it;
#  5. the gate: a peer of another uid (root here) is refused and
#     logged; a request without descriptors, one with the wrong ones and
#     garbage are logged and the gate goes on serving; -c (from
#     control/concurrencyincoming): beyond it the client gets 454;
#     finished relays are reaped (no zombie);
#  6. a renewed cert.pem is served without a restart;
#  7. the gate down: STARTTLS gets 454 4.7.0 and the plaintext session
#     goes on and delivers; started again, it replaces its stale socket
#     and STARTTLS works again; a second gate leaves a live socket alone;
#  8. the gate's service marked down (./down): the smtpd run script
#     wraps connections in sluice-tlsd again (and ignores an inherited
#     SLUICE_TLSGATE), and STARTTLS works through it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../e2e.sh"
need_root
inst_fresh
e2e_tools

for p in tcpserver tcprules swaks python3 openssl ss strace softlimit; do
  command -v $p > /dev/null 2>&1 || { bad "$p installed" "apt-get install ucspi-tcp-ipv6 daemontools swaks python3 openssl iproute2 strace"; done_testing; }
done
[ -x "$H/bin/sluice-tlsrelay" ] || { bad "sluice-tlsrelay installed (libssl-dev?)"; done_testing; }
[ -x "$H/bin/sluice-tlsgate" ] || { bad "sluice-tlsgate installed"; done_testing; }

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
U_TLS=$(role tls)
DUID=$(id -u "$U_DAEMON")
TUID=$(id -u "$U_TLS")
C=$H/control
QD=$H/queue
S=$H/service
G=$H/tls/gate
free_ports 26000 3
P_SMTP=$P P_SUB=$((P + 1)) P_OLD=$((P + 2))

servers='' gate_pid=''
cleanup() {
  for p in $servers $gate_pid; do kill "$p" 2> /dev/null; done
  for p in $servers $gate_pid; do wait "$p" 2> /dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo mx.example.test > "$C/me"
echo example.test > "$C/rcpthosts"
echo example.test > "$C/locals"
chmod 644 "$C/me" "$C/rcpthosts" "$C/locals"

# --- the test CA and the server certificates (P-256, a day) ---
K=$T/pki
mkdir -p "$K"
mkcert() { # NAME [FILE]: $K/FILE.pem (certificate then key) for NAME
  f=${2:-$1}
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$K/$f.key" -out "$K/$f.csr" \
    -subj "/CN=$1" > /dev/null 2>&1 &&
  printf 'subjectAltName=DNS:%s\n' "$1" > "$K/$f.ext" &&
  openssl x509 -req -in "$K/$f.csr" -CA "$K/ca.pem" -CAkey "$K/ca.key" -CAcreateserial -days 1 \
    -extfile "$K/$f.ext" -out "$K/$f.crt" > /dev/null 2>&1 &&
  cat "$K/$f.crt" "$K/$f.key" > "$K/$f.pem"
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$K/ca.key" -out "$K/ca.pem" \
  -days 1 -subj /CN=sluice-test-CA > /dev/null 2>&1 || bad "test CA made"
mkcert mx.example.test || bad "server certificate made"
mkcert other.example.test || bad "SNI certificate made"
mkcert mx.example.test renewed || bad "renewed certificate made"
install -o root -g "$U_TLS" -m 640 "$K/mx.example.test.pem" "$C/tls/cert.pem"
install -o root -g "$U_TLS" -m 640 "$K/other.example.test.pem" "$C/tls/other.example.test.pem"

# --- 1. the services ---
sh tools/services "$H" > "$T/services.out" 2>&1 || { cat "$T/services.out"; bad "tools/services"; }
check "service sluice-tlsgate installed" test -x "$S/sluice-tlsgate/run"
check "service sluice-tlsgate: log/run" test -x "$S/sluice-tlsgate/log/run"
check_fail "service sluice-tlsgate: names filled in" grep -q '@[A-Z]*@' "$S/sluice-tlsgate/run" "$S/sluice-tlsgate/log/run"
check_eq "conf-home/tls: root, 0755" "$(stat -c '%U %a' "$H/tls")" "root 755"
echo 127.0.0.1 > "$C/submissionip"
chmod 644 "$C/submissionip"

# start_gate: the installed run script, as supervise runs it
start_gate() {
  (cd "$S/sluice-tlsgate" && exec sh ./run) >> "$T/gate.log" 2>&1 &
  gate_pid=$!
  wait_for 10 sh -c "grep -q 'listening on $G' '$T/gate.log' && [ -S '$G' ]" || bad "the gate started" "$(cat "$T/gate.log")"
}
stop_gate() {
  kill "$gate_pid" 2> /dev/null
  wait "$gate_pid" 2> /dev/null
  gate_pid=''
}
run_service() { # SERVICE PORTVAR PORT
  (cd "$S/$1" && exec env "$2=$3" sh ./run) > "$T/$1.log" 2>&1 &
  servers="$servers $!"
}
start_gate
run_service sluice-smtpd SLUICE_SMTPD_PORT "$P_SMTP"
run_service sluice-submission SLUICE_SUBMISSION_PORT "$P_SUB"
listening() { ss -Hltn | awk '{print $4}' | grep -q ":$1\$"; }
for p in "$P_SMTP" "$P_SUB"; do
  wait_for 10 listening "$p" || bad "listening on $p" "$(cat "$T"/*.log)"
done

uids() { awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$1/status" 2> /dev/null; }
check_eq "the gate runs as the tls role user" "$(uids "$gate_pid")" "$TUID $TUID $TUID $TUID"
check_eq "the gate is sluice-tlsgate" "$(readlink "/proc/$gate_pid/exe")" "$H/bin/sluice-tlsgate"
check_eq "the gate: no supplementary group" "$(awk '/^Groups:/ {print $2}' "/proc/$gate_pid/status")" ""
check_eq "the gate holds no file of control/tls open" "$(ls -l "/proc/$gate_pid/fd/" | grep -c 'control/tls')" 0
check_eq "the gate's socket: the daemon user's, 0600" "$(stat -c '%U %a %F' "$G")" "$U_DAEMON 600 socket"
# the smtpd service's tcpserver, found by its port
cmdline() { tr '\0' ' ' < "/proc/$1/cmdline" 2> /dev/null; }
smtpd_srv=$(for p in $(pgrep -x tcpserver); do cmdline "$p" | grep -q " 127.0.0.1 $P_SMTP " && echo "$p"; done | head -n 1)
[ -n "$smtpd_srv" ] || { bad "the smtpd tcpserver found"; done_testing; }
check "the smtpd tcpserver runs sluice-smtpd itself" sh -c "tr '\\0' ' ' < /proc/$smtpd_srv/cmdline | grep -q ' $P_SMTP $H/bin/sluice-smtpd \$'"
check_eq "the smtpd tcpserver runs as the daemon user" "$(uids "$smtpd_srv")" "$DUID $DUID $DUID $DUID"
check "the smtpd tcpserver has SLUICE_TLSGATE" sh -c "tr '\\0' '\\n' < /proc/$smtpd_srv/environ | grep -qx 'SLUICE_TLSGATE=$G'"

qclear() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f -exec rm -f {} +; }
qmess() { f=$(find "$QD/mess" -type f | head -n 1); [ -n "$f" ] && cat "$f"; }

# the SMTP client: tests/tlsclient.py (its modes are listed there)
py() { python3 "$TOP/tests/tlsclient.py" "$K/ca.pem" "$@" 2>&1; }

# --- 2. STARTTLS through the gate ---
qclear
out=$(py "$P_SMTP" starttls)
check_eq "smtplib: STARTTLS offered, TLS 1.3, not offered again, refused twice, message sent" "$out" "before: starttls
starttls: 220 TLSv1.3
after: none
again: 503
sent"
qmess > "$T/mess"
check "Received: with ESMTPS (TLSv1.3 cipher)" grep -q '^  by mx.example.test with ESMTPS (TLSv1\.3 TLS_[A-Z0-9_]*); ' "$T/mess"
check "log line: tls TLSv1.3:cipher" grep -q ' result 250 qp [0-9]* tls TLSv1\.3:TLS_[A-Z0-9_]*$' "$T/sluice-smtpd.log"

qclear
swaks --tls --server "127.0.0.1:$P_SMTP" --helo client.test --from a@client.test --to u@example.test \
  --tls-ca-path "$K/ca.pem" --tls-verify --tls-sni mx.example.test > "$T/swaks" 2>&1
check "swaks --tls --tls-verify: TLSv1.3 and delivered" sh -c "grep -q '^=== TLS started with cipher TLSv1.3' '$T/swaks' && grep -q '^<~  250 2.0.0 ok' '$T/swaks'"
check "swaks: Received with ESMTPS" sh -c "find '$QD/mess' -type f | xargs grep -q '^  by mx.example.test with ESMTPS (TLSv1.3 '"

sclient() { echo QUIT | timeout 20 openssl s_client -brief -starttls smtp -connect "127.0.0.1:$P_SMTP" -CAfile "$K/ca.pem" "$@" > "$T/sc" 2>&1; }
# served SERIAL-OF-CRT: the certificate the server sends has that serial
served() {
  echo QUIT | timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$P_SMTP" -CAfile "$K/ca.pem" > "$T/sc" 2>&1
  openssl x509 -in "$T/sc" -noout -serial 2> /dev/null | grep -qx "$(openssl x509 -in "$1" -noout -serial)"
}
has() { grep -q "$1" "$T/sc"; }
sclient -verify_return_error -servername mx.example.test
check "s_client -starttls smtp: TLSv1.3, verified" sh -c "grep -q '^Protocol version: TLSv1.3\$' '$T/sc' && grep -q '^Verification: OK\$' '$T/sc'"
sclient -servername other.example.test
check "SNI other.example.test: control/tls/other.example.test.pem served" has '^Peer certificate: CN = other.example.test$'
sclient -servername unknown.example.test
check "SNI of an unknown name: cert.pem served" has '^Peer certificate: CN = mx.example.test$'
check "the certificate served is cert.pem's" served "$K/mx.example.test.crt"

out=$(py "$P_SMTP" pipelined)
check_eq "STARTTLS+NOOP in one write: NOOP never answered" "$out" "reply: 220
handshake: TLSv1.3
inside: 221 2.0.0 mx.example.test|"

# during a TLS session: the processes
rm -f "$T/port" "$T/go"
py "$P_SMTP" hold "$T/port" "$T/go" > "$T/hold.out" &
hp=$!
wait_for 20 test -s "$T/port"
smtpd=$(pgrep -P "$smtpd_srv" | head -n 1)
relay=$(pgrep -P "$gate_pid" | head -n 1)
if [ -n "$smtpd" ] && [ -n "$relay" ]; then
  check_eq "TLS session: sluice-smtpd straight under tcpserver" "$(readlink "/proc/$smtpd/exe")" "$H/bin/sluice-smtpd"
  check_eq "TLS session: the relay is the gate's child" "$(readlink "/proc/$relay/exe")" "$H/bin/sluice-tlsrelay"
  check_eq "TLS session: the relay runs as the tls role user" "$(uids "$relay")" "$TUID $TUID $TUID $TUID"
  check_eq "TLS session: sluice-smtpd runs as the daemon user" "$(uids "$smtpd")" "$DUID $DUID $DUID $DUID"
  check_eq "TLS session: the relay no longer holds the memory file" "$(ls -l "/proc/$relay/fd/" | grep -c 'memfd:')" 0
  check_eq "TLS session: sluice-smtpd holds no socket (client, gate)" "$(ls -l "/proc/$smtpd/fd/" | grep -c 'socket:')" 0
  check_eq "TLS session: sluice-smtpd holds no file of control/tls" "$(ls -l "/proc/$smtpd/fd/" | grep -c 'control/tls')" 0
  check_fail "TLS session: no OpenSSL in sluice-smtpd" grep -q 'libssl\|libcrypto' "/proc/$smtpd/maps"
else
  bad "TLS session: sluice-smtpd under tcpserver and a relay under the gate" "smtpd=$smtpd relay=$relay"
fi
touch "$T/go"
wait "$hp"
check_eq "TLS session: still answers after the look" "$(cat "$T/hold.out")" "noop: 250"

# --- 3. a plaintext session runs no TLS process ---
# the relays of the sessions above end with them
wait_for 10 sh -c "[ -z \"\$(pgrep -P $gate_pid)\" ]"
rm -f "$T/port" "$T/go"
py "$P_SMTP" holdplain "$T/port" "$T/go" > "$T/hold.out" &
hp=$!
wait_for 20 test -s "$T/port"
smtpd=$(pgrep -P "$smtpd_srv" | head -n 1)
check_eq "plaintext session: sluice-smtpd straight under tcpserver" "$(readlink "/proc/${smtpd:-none}/exe")" "$H/bin/sluice-smtpd"
tlsprocs=$(for p in $(pgrep -P "$smtpd_srv") $(pgrep -P "${smtpd:-none}") $(pgrep -P "$gate_pid"); do readlink "/proc/$p/exe"; done | sed 's|.*/||' | grep '^sluice-tls')
check_eq "plaintext session: no sluice-tlsd, no sluice-tlsrelay anywhere" "$tlsprocs" ""
touch "$T/go"
wait "$hp"
check_eq "plaintext session: answers" "$(cat "$T/hold.out")" "noop: 250"
# strace on the tcpserver during 5 plaintext sessions: one exec each
strace -f -q -o "$T/strace" -e trace=execve -p "$smtpd_srv" &
st=$!
wait_for 10 sh -c "grep -q TracerPid:.[1-9] /proc/$smtpd_srv/status"
for i in 1 2 3 4 5; do
  swaks --server "127.0.0.1:$P_SMTP" --helo client.test --quit-after EHLO > /dev/null 2>&1
done
kill "$st" 2> /dev/null
wait "$st" 2> /dev/null
check_eq "strace: 5 plaintext sessions, 5 execs, each of sluice-smtpd" \
  "$(grep -c 'execve(' "$T/strace"):$(grep 'execve(' "$T/strace" | grep -vc "execve(\"$H/bin/sluice-smtpd\"")" "5:0"

# --- 4. submission ---
out=$(py "$P_SUB" submission)
check_eq "submission: no AUTH before STARTTLS, AUTH after it" "$out" "auth before: False
auth cmd before: 538
mail before: 530
tls: TLSv1.3
auth after: PLAIN LOGIN"

# --- 5. the gate's checks ---
cat > "$T/peer.py" << 'EOF'
import array, os, socket, sys
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(path)
first = s.recv(1)
print("answer:", first.decode() or "closed")
if first == b"+" and mode != "hello":
    if mode == "nofds":
        s.sendall(b"Y127.0.0.1")
    elif mode == "wrongfds":
        r, w = os.pipe()
        s.sendmsg([b"Y"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [r, r, w]))])
    elif mode == "long":
        r, w = os.pipe()
        c = socket.socket()
        s.sendmsg([b"Y" + b"1" * 60], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [c.fileno(), w, r]))])
    elif mode == "garbage":
        r, w = os.pipe()
        c = socket.socket()
        s.sendmsg([b"GET / HTTP/1.0"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [c.fileno(), w, r]))])
    try:
        then = s.recv(10).decode() or "closed"
    except ConnectionResetError:
        then = "closed"   # closed with the rest of the request unread
    print("then:", then)
EOF
peer() { timeout 20 python3 "$T/peer.py" "$G" "$@" 2>&1; }
check_eq "root may not use the gate" "$(peer hello)" "answer: closed"
check "the refusal is logged with the uid" grep -q 'sluice-tlsgate: warning: refused a connection from uid 0 ' "$T/gate.log"
SYSPY=/usr/bin/python3   # not a shim under /root: the other users run it
check "another user cannot even connect (0600)" sh -c "as() { setpriv --reuid=\$(id -u \$1) --regid=\$(id -g \$1) --init-groups \$2 \$3 \$4 \$5; }
  as $U_TLS $SYSPY $T/peer.py $G hello 2>&1 | grep -q PermissionError"
check_eq "the daemon user gets +" "$(as "$U_DAEMON" timeout 20 "$SYSPY" "$T/peer.py" "$G" hello 2>&1)" "answer: +"
for m in nofds wrongfds garbage long; do
  check_eq "bad request ($m): closed" "$(as "$U_DAEMON" timeout 20 "$SYSPY" "$T/peer.py" "$G" $m 2>&1)" "answer: +
then: closed"
done
check "logged: 0 descriptors instead of 3" grep -q 'sluice-tlsgate: warning: bad request: 0 descriptors instead of 3' "$T/gate.log"
check "logged: not a socket and two pipes" grep -q 'sluice-tlsgate: warning: bad request: the descriptors are not a socket and two pipes' "$T/gate.log"
check "logged: not a mode byte" grep -q 'sluice-tlsgate: warning: bad request: not a mode byte and an address' "$T/gate.log"
check "logged: too long" grep -q 'sluice-tlsgate: warning: bad request: too long' "$T/gate.log"
check "the gate lives on" kill -0 "$gate_pid"
out=$(py "$P_SMTP" starttls)
check "after the bad requests, STARTTLS works" test "$(echo "$out" | sed -n 2p)" = "starttls: 220 TLSv1.3"
zombies() { for p in $(pgrep -P "$gate_pid"); do awk '{print $3}' "/proc/$p/stat"; done | grep -c Z; }
wait_for 5 sh -c "[ \$(for p in \$(pgrep -P $gate_pid); do awk '{print \$3}' /proc/\$p/stat; done | grep -c Z) -eq 0 ]"
check_eq "the gate reaps its children: no zombie" "$(zombies)" 0

# -c: control/concurrencyincoming 1 for the gate alone
echo 1 > "$C/concurrencyincoming"
stop_gate
start_gate
rm -f "$T/port" "$T/go"
py "$P_SMTP" hold "$T/port" "$T/go" > "$T/hold.out" &
hp=$!
wait_for 20 test -s "$T/port"
out=$(py "$P_SMTP" refused)
check_eq "beyond -c: 454, and the plaintext session delivers" "$out" "offered: True
starttls: 454 b'4.7.0 TLS not available now'
noop: 250
sent"
check "beyond -c: logged" grep -q 'sluice-tlsgate: warning: 1 sessions at once (-c): STARTTLS refused' "$T/gate.log"
touch "$T/go"
wait "$hp"
rm -f "$C/concurrencyincoming"
stop_gate
start_gate

# --- 6. a renewed certificate, no restart ---
install -o root -g "$U_TLS" -m 640 "$K/renewed.pem" "$C/tls/cert.pem"
check "the renewed cert.pem is served at once" served "$K/renewed.crt"
check_eq "the gate was not restarted" "$(readlink "/proc/$gate_pid/exe")" "$H/bin/sluice-tlsgate"

# --- 7. the gate down ---
stop_gate
check "the stale socket is left behind" test -S "$G"
qclear
out=$(py "$P_SMTP" refused)
check_eq "gate down: 454, and the plaintext session delivers" "$out" "offered: True
starttls: 454 b'4.7.0 TLS not available now'
noop: 250
sent"
check "gate down: the message is queued" sh -c "find '$QD/mess' -type f | xargs grep -q '^Subject: plaintext after 454'"
check "gate down: logged by sluice-smtpd" grep -q 'sluice-smtpd: warning: STARTTLS: sluice-tlsgate at .* did not answer' "$T/sluice-smtpd.log"
start_gate
out=$(py "$P_SMTP" starttls)
check "started again over its stale socket: STARTTLS works" test "$(echo "$out" | sed -n 2p)" = "starttls: 220 TLSv1.3"
# a second gate on a live socket stops and leaves it alone
(cd "$S/sluice-tlsgate" && exec sh ./run) > "$T/gate2.log" 2>&1
check "a second gate does not take a live socket" grep -q 'another sluice-tlsgate listens on' "$T/gate2.log"
out=$(py "$P_SMTP" starttls)
check "the first gate still serves" test "$(echo "$out" | sed -n 2p)" = "starttls: 220 TLSv1.3"

# --- 8. the gate's service marked down: the run script goes back to sluice-tlsd ---
touch "$S/sluice-tlsgate/down"
(cd "$S/sluice-smtpd" && exec env SLUICE_SMTPD_PORT="$P_OLD" SLUICE_TLSGATE=/nonexistent sh ./run) > "$T/old.log" 2>&1 &
servers="$servers $!"
wait_for 10 listening "$P_OLD" || bad "listening on $P_OLD" "$(cat "$T/old.log")"
check "gate marked down: tcpserver runs sluice-tlsd" sh -c "for p in \$(pgrep -x tcpserver); do tr '\\0' ' ' < /proc/\$p/cmdline; echo; done | grep -q ' $P_OLD $H/bin/sluice-tlsd -u '"
out=$(py "$P_OLD" starttls)
check "gate marked down: STARTTLS through sluice-tlsd" test "$(echo "$out" | sed -n 2p)" = "starttls: 220 TLSv1.3"
rm -f "$S/sluice-tlsgate/down"

done_testing
