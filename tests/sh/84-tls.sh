#!/bin/sh
# 84-tls.sh: TLS on the server side. tcpserver (as root) runs
# sluice-tlsd, which runs sluice-smtpd as the daemon user, in a private
# instance with a test CA and certificates made here by openssl;
# driven by openssl s_client, swaks --tls and python3 (smtplib, ssl).
#
#  1. STARTTLS offered before TLS, not after; TLS 1.3 negotiated, TLS
#     1.2 accepted, TLS 1.0 and 1.1 refused by the server (the client
#     is told to allow them); a message over TLS (smtplib and swaks) is
#     queued with "with ESMTPS (TLSv1.3 ...)" in its Received field and
#     the log line says tls; STARTTLS twice is refused; SNI picks
#     control/tls/NAME.pem; 5000 pipelined commands and a 3 MB message
#     through the relay;
#  2. STARTTLS\r\nNOOP\r\n in one write: the NOOP is answered neither in
#     plaintext (the handshake would fail on it) nor inside TLS; a
#     client that never starts the handshake is closed by sluice-tlsd -t;
#  3. the session is reset by STARTTLS: MAIL needs a new EHLO;
#  4. implicit TLS (sluice-tlsd -i) on a second tcpserver: TLS first,
#     then the greeting; no STARTTLS offered; a message says ESMTPS;
#  5. control/tlsrequired and TLSREQUIRED: MAIL before STARTTLS gets
#     530 5.7.0, after it 250;
#  6. the key: control/tls is not readable by the daemon user; during a
#     TLS session /proc shows sluice-tlsd running as the tls role user
#     and neither it nor sluice-smtpd (the daemon user) holding the key
#     open; without control/tls/cert.pem sluice-smtpd runs plain, no
#     STARTTLS.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../e2e.sh"
need_root
inst_fresh
e2e_tools

for p in tcpserver tcprules swaks python3 openssl ss; do
  command -v $p > /dev/null 2>&1 || { bad "$p installed" "apt-get install ucspi-tcp-ipv6 swaks python3 openssl iproute2"; done_testing; }
done
perl -MNet::SSLeay -e 1 2> /dev/null || bad "swaks --tls needs Net::SSLeay" "apt-get install libnet-ssleay-perl"
[ -x "$H/bin/sluice-tlsd" ] || { bad "sluice-tlsd installed (libssl-dev?)"; done_testing; }

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
U_TLS=$(role tls)
DUID=$(id -u "$U_DAEMON")
DGID=$(id -g "$U_DAEMON")
TUID=$(id -u "$U_TLS")
C=$H/control
QD=$H/queue
free_ports 22000 4
P_STARTTLS=$P P_IMPLICIT=$((P + 1)) P_REQUIRED=$((P + 2)) P_SLOW=$((P + 3))

servers=""
cleanup() {
  for p in $servers; do kill "$p" 2> /dev/null; done
  for p in $servers; do wait "$p" 2> /dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo mx.example.test > "$C/me"
echo example.test > "$C/rcpthosts"
echo example.test > "$C/locals"
chmod 644 "$C/me" "$C/rcpthosts" "$C/locals"

# --- the test CA and two server certificates (P-256, a day) ---
K=$T/pki
mkdir -p "$K"
mkcert() { # NAME: $K/NAME.pem (certificate then key) signed by the CA
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$K/$1.key" -out "$K/$1.csr" \
    -subj "/CN=$1" > /dev/null 2>&1 &&
  printf 'subjectAltName=DNS:%s\n' "$1" > "$K/$1.ext" &&
  openssl x509 -req -in "$K/$1.csr" -CA "$K/ca.pem" -CAkey "$K/ca.key" -CAcreateserial -days 1 \
    -extfile "$K/$1.ext" -out "$K/$1.crt" > /dev/null 2>&1 &&
  cat "$K/$1.crt" "$K/$1.key" > "$K/$1.pem"
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$K/ca.key" -out "$K/ca.pem" \
  -days 1 -subj /CN=sluice-test-CA > /dev/null 2>&1 || bad "test CA made"
mkcert mx.example.test || bad "server certificate made"
mkcert other.example.test || bad "SNI certificate made"
# installed as the documentation says: root, group of the tls user, 0640
install -o root -g "$U_TLS" -m 640 "$K/mx.example.test.pem" "$C/tls/cert.pem"
install -o root -g "$U_TLS" -m 640 "$K/other.example.test.pem" "$C/tls/other.example.test.pem"

check_eq "control/tls: root, group of the tls user, 0750" "$(stat -c '%U %G %a' "$C/tls")" "root $U_TLS 750"
check_eq "control/tls/cert.pem: root, group of the tls user, 0640" "$(stat -c '%U %G %a' "$C/tls/cert.pem")" "root $U_TLS 640"
check_fail "the daemon user cannot read control/tls/cert.pem" as "$U_DAEMON" cat "$C/tls/cert.pem" 2> /dev/null
check_fail "the daemon user cannot list control/tls" as "$U_DAEMON" ls "$C/tls" 2> /dev/null
check "the tls user can read control/tls/cert.pem" as "$U_TLS" cat "$C/tls/cert.pem" > /dev/null

# --- servers: tcpserver as root, sluice-tlsd drops both sides ---
# start_server NAME PORT RULES TLSD-OPTIONS
start_server() {
  printf '%s' "$3" > "$T/$1.rules"
  tcprules "$T/$1.cdb" "$T/$1.tmp" < "$T/$1.rules" || bad "tcprules $1"
  # shellcheck disable=SC2086
  tcpserver -v -H -R -l mx.example.test -x "$T/$1.cdb" 127.0.0.1 "$2" \
    "$H/bin/sluice-tlsd" $4 -u "$DUID" -g "$DGID" "$H/bin/sluice-smtpd" > "$T/$1.log" 2>&1 &
  servers="$servers $!"
}
start_server starttls "$P_STARTTLS" ':allow
' ''
start_server implicit "$P_IMPLICIT" ':allow
' -i
start_server required "$P_REQUIRED" ':allow,TLSREQUIRED=""
' ''
start_server slow "$P_SLOW" ':allow
' '-t 1'
listening() { ss -Hltn | awk '{print $4}' | grep -q ":$1\$"; }
for p in "$P_STARTTLS" "$P_IMPLICIT" "$P_REQUIRED" "$P_SLOW"; do
  wait_for 10 listening "$p" || bad "tcpserver listens on $p"
done

qclear() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f -exec rm -f {} +; }
qmess() { f=$(find "$QD/mess" -type f | head -n 1); [ -n "$f" ] && cat "$f"; }

# --- python3 client: the checks that need an exact view of the bytes ---
# the SMTP client: tests/tlsclient.py (its modes are listed there)
py() { python3 "$TOP/tests/tlsclient.py" "$K/ca.pem" "$@" 2>&1; }

# --- 1. STARTTLS ---
qclear
out=$(py "$P_STARTTLS" starttls)
check_eq "smtplib: STARTTLS offered, TLS 1.3, not offered again, refused twice, message sent" "$out" "before: starttls
starttls: 220 TLSv1.3
after: none
again: 503
sent"
qmess > "$T/mess"
check "Received: with ESMTPS (TLSv1.3 cipher)" grep -q '^  by mx.example.test with ESMTPS (TLSv1\.3 TLS_[A-Z0-9_]*); ' "$T/mess"
check "log line: tls TLSv1.3:cipher" grep -q ' result 250 qp [0-9]* tls TLSv1\.3:TLS_[A-Z0-9_]*$' "$T/starttls.log"

qclear
swaks --tls --server "127.0.0.1:$P_STARTTLS" --helo client.test --from a@client.test --to u@example.test \
  --tls-ca-path "$K/ca.pem" --tls-verify --tls-sni mx.example.test > "$T/swaks" 2>&1
check "swaks --tls --tls-verify: TLSv1.3 and delivered" sh -c "grep -q '^=== TLS started with cipher TLSv1.3' '$T/swaks' && grep -q '^<~  250 2.0.0 ok' '$T/swaks'"
check "swaks: Received with ESMTPS" sh -c "find '$QD/mess' -type f | xargs grep -q '^  by mx.example.test with ESMTPS (TLSv1.3 '"

# sclient OPTIONS: openssl s_client -starttls smtp, its report in $T/sc
sclient() { echo QUIT | timeout 20 openssl s_client -brief -starttls smtp -connect "127.0.0.1:$P_STARTTLS" -CAfile "$K/ca.pem" "$@" > "$T/sc" 2>&1; }
has() { grep -q "$1" "$T/sc"; }
sclient -verify_return_error -servername mx.example.test
check "s_client -starttls smtp: TLSv1.3" has '^Protocol version: TLSv1.3$'
check "s_client -starttls smtp: certificate verified" has '^Verification: OK$'
sclient -tls1_2
check "s_client -tls1_2: accepted" has '^Protocol version: TLSv1.2$'
check "s_client -tls1_2: an ECDHE AEAD cipher" has '^Ciphersuite: ECDHE-[A-Z0-9-]*\(GCM\|CHACHA20\)'
for v in tls1 tls1_1; do
  sclient -$v -cipher 'DEFAULT@SECLEVEL=0'
  check "s_client -$v (allowed by the client): the server says protocol version" has 'alert protocol version'
  check_fail "s_client -$v: no session" has '^Protocol version'
done
sclient -servername other.example.test
check "SNI other.example.test: control/tls/other.example.test.pem served" has '^Peer certificate: CN = other.example.test$'
sclient -servername unknown.example.test
check "SNI of an unknown name: cert.pem served" has '^Peer certificate: CN = mx.example.test$'

qclear
out=$(py "$P_STARTTLS" bulk)
check_eq "inside TLS: 5000 pipelined NOOPs answered, a 3 MB message accepted" "$out" "noops: 5000
big: True {}"
check "the 3 MB message is queued whole" sh -c "find '$QD/mess' -type f -size +2900k | grep -q . && find '$QD/mess' -type f | xargs grep -q 'line 0074999 of a long message over TLS'"

# --- 2. pipelined STARTTLS\r\nNOOP\r\n ---
out=$(py "$P_STARTTLS" pipelined)
check_eq "STARTTLS+NOOP in one write: NOOP never answered" "$out" "reply: 220
handshake: TLSv1.3
inside: 221 2.0.0 mx.example.test|"

# a client that never starts the handshake (sluice-tlsd -t 1)
out=$(py "$P_SLOW" silent)
check_eq "STARTTLS without a handshake: closed by the time limit" "$out" "reply: 220
then: closed"
check "the time limit is logged by sluice-tlsd" grep -q 'sluice-tlsd: warning: from 127.0.0.1: TLS handshake failed: time limit reached' "$T/slow.log"
check "the failure is logged by sluice-smtpd" grep -q 'sluice-smtpd: pid [0-9]* from 127.0.0.1 closing: TLS handshake failed' "$T/slow.log"

# --- 3. the session is reset ---
out=$(py "$P_STARTTLS" reset)
check_eq "after STARTTLS, MAIL needs EHLO again" "$out" "mail without ehlo: 503
mail after ehlo: 250"

# --- 4. implicit TLS ---
qclear
out=$(py "$P_IMPLICIT" implicit)
check_eq "implicit TLS: TLS 1.3 first, greeting, no STARTTLS, message accepted" "$out" "version: TLSv1.3
greeting: 220
starttls offered: False
data: 250"
check "implicit TLS: Received with ESMTPS" sh -c "find '$QD/mess' -type f | xargs grep -q '^  by mx.example.test with ESMTPS (TLSv1.3 TLS_'"
echo QUIT | timeout 20 openssl s_client -brief -connect "127.0.0.1:$P_IMPLICIT" -CAfile "$K/ca.pem" -verify_return_error \
  -ign_eof -crlf > "$T/sc" 2>&1
check "implicit TLS: s_client gets the greeting over TLS" has '^220 mx.example.test ESMTP'
check "implicit TLS: s_client gets the 221" has '^221 2.0.0 mx.example.test'
out=$(printf 'EHLO x\r\n' | timeout 10 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"EHLO x\r\n")
try:
    d = s.recv(100)
except OSError:
    d = b""
print("plaintext answered" if d.startswith(b"2") else "no plaintext answer")' "$P_IMPLICIT" 2>&1)
check_eq "implicit TLS: plaintext EHLO gets no SMTP answer" "$out" "no plaintext answer"

# --- 5. TLS required ---
out=$(py "$P_REQUIRED" required)
check_eq "TLSREQUIRED: 530 before STARTTLS, 250 after" "$out" "before: 530 b'5.7.0 must issue a STARTTLS command first'
after: 250"
echo 1 > "$C/tlsrequired"
out=$(py "$P_STARTTLS" required)
check_eq "control/tlsrequired: 530 before STARTTLS, 250 after" "$out" "before: 530 b'5.7.0 must issue a STARTTLS command first'
after: 250"
out=$(printf 'EHLO x\nMAIL FROM:<a@client.test>\nQUIT\n' | "$H/bin/sluice-smtpd" -l 2>&1 | sed -n 's/^\([0-9]*\) .*/\1/p' | tr '\n' ' ')
check_eq "control/tlsrequired: not for sluice-smtpd -l (sendmail -bs)" "$out" "220 250 250 221 "
rm -f "$C/tlsrequired"

# --- 6. the key and the processes ---
rm -f "$T/held" "$T/release"
py "$P_STARTTLS" hold "$T/held" "$T/release" > "$T/hold.out" &
holder=$!
wait_for 20 test -s "$T/held" || bad "a TLS session is held open"
srv=$(echo "$servers" | awk '{print $1}')
tlsd=$(pgrep -P "$srv" | head -n 1)
smtpd=''
[ -n "$tlsd" ] && smtpd=$(pgrep -P "$tlsd" | head -n 1)
if [ -n "$tlsd" ] && [ -n "$smtpd" ]; then
  check_eq "after STARTTLS, sluice-tlsd became sluice-tlsrelay" "$(readlink "/proc/$tlsd/exe")" "$H/bin/sluice-tlsrelay"
  check_eq "sluice-tlsrelay no longer holds the certificates' memory file" "$(ls -l "/proc/$tlsd/fd/" | grep -c "memfd:")" 0
  check_eq "sluice-smtpd is sluice-smtpd" "$(readlink "/proc/$smtpd/exe")" "$H/bin/sluice-smtpd"
  check_eq "sluice-tlsd runs as the tls role user" "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$tlsd/status")" "$TUID $TUID $TUID $TUID"
  check_eq "sluice-smtpd runs as the daemon user" "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$smtpd/status")" "$DUID $DUID $DUID $DUID"
  check_eq "sluice-tlsd: no supplementary group" "$(awk '/^Groups:/ {print $2}' "/proc/$tlsd/status")" ""
  check_eq "sluice-tlsd holds no file of control/tls open" "$(ls -l "/proc/$tlsd/fd/" | grep -c "control/tls")" 0
  check_eq "sluice-smtpd holds no file of control/tls open" "$(ls -l "/proc/$smtpd/fd/" | grep -c "control/tls")" 0
  check_eq "sluice-smtpd no longer holds the socket" "$(ls -l "/proc/$smtpd/fd/" | grep -c "socket:")" 0
  check_fail "sluice-smtpd's memory is not the key's: no private key in its environment or maps" \
    grep -q "control/tls" "/proc/$smtpd/maps" "/proc/$smtpd/environ"
else
  bad "sluice-tlsd ($tlsd) and sluice-smtpd ($smtpd) found under tcpserver $srv"
fi
touch "$T/release"
wait "$holder"

# a plaintext session: sluice-tlsd waits without OpenSSL (it never
# loads it: the TLS half is exec'd only for STARTTLS)
rm -f "$T/held" "$T/release"
py "$P_STARTTLS" holdplain "$T/held" "$T/release" > "$T/hold.out" &
holder=$!
wait_for 20 test -s "$T/held" || bad "a plaintext session is held open"
tlsd=$(pgrep -P "$srv" | head -n 1)
if [ -n "$tlsd" ]; then
  check_eq "plaintext: sluice-tlsd stays sluice-tlsd" "$(readlink "/proc/$tlsd/exe")" "$H/bin/sluice-tlsd"
  check_eq "plaintext: sluice-tlsd runs as the tls role user" "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$tlsd/status")" "$TUID $TUID $TUID $TUID"
  check_fail "plaintext: no OpenSSL library in sluice-tlsd" grep -q 'libssl\|libcrypto' "/proc/$tlsd/maps"
  check_eq "plaintext: sluice-tlsd holds no file of control/tls open" "$(ls -l "/proc/$tlsd/fd/" | grep -c "control/tls")" 0
else
  bad "sluice-tlsd found under tcpserver $srv for a plaintext session"
fi
touch "$T/release"
wait "$holder"

# without a certificate: plain SMTP, no STARTTLS, a warning in the log
mv "$C/tls/cert.pem" "$T/cert.pem.away"
out=$(printf 'EHLO client.test\r\nQUIT\r\n' | timeout 10 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.stdin.buffer.read())
d = b""
while True:
    x = s.recv(4096)
    if not x:
        break
    d += x
print("STARTTLS" in d.decode(), d.decode().splitlines()[-1])' "$P_STARTTLS" 2>&1)
check_eq "no cert.pem: plain SMTP without STARTTLS" "$out" "False 221 2.0.0 mx.example.test"
check "no cert.pem: a warning in the log" grep -q 'sluice-tlsd: warning: control/tls/cert.pem is missing' "$T/starttls.log"
mv "$T/cert.pem.away" "$C/tls/cert.pem"

done_testing
