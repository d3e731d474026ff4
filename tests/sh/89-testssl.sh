#!/bin/sh
# 89-testssl.sh: testssl.sh (Debian's testssl.sh, /usr/bin/testssl)
# against the STARTTLS service of a private instance: tcpserver,
# sluice-tlsd, sluice-smtpd, with a certificate from a test CA made here.
# Slow (about two minutes, mostly waiting), hence a test of its own.
#
# testssl's findings of severity HIGH or CRITICAL must be none, except
# those about the certificate itself (ids cert_*: a test CA no client
# trusts, a short life, no revocation URI), which say nothing about the
# server. Protocols: only TLS 1.2 and 1.3 offered; TLS 1.3 there.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../e2e.sh"
need_root
inst_fresh
e2e_tools

for p in tcpserver tcprules openssl python3 ss testssl; do
  command -v $p > /dev/null 2>&1 || { bad "$p installed" "apt-get install ucspi-tcp-ipv6 openssl python3 iproute2 testssl.sh"; done_testing; }
done
[ -x "$H/bin/sluice-tlsd" ] || { bad "sluice-tlsd installed (libssl-dev?)"; done_testing; }

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
U_TLS=$(role tls)
C=$H/control
free_ports 26000 1

server=''
cleanup() {
  [ -n "$server" ] && kill "$server" 2> /dev/null && wait "$server" 2> /dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo mx.example.test > "$C/me"
echo example.test > "$C/rcpthosts"
chmod 644 "$C/me" "$C/rcpthosts"

K=$T/pki
mkdir -p "$K"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$K/ca.key" -out "$K/ca.pem" \
  -days 2 -subj /CN=sluice-test-CA > /dev/null 2>&1 || bad "test CA made"
openssl req -newkey rsa:2048 -nodes -keyout "$K/srv.key" -out "$K/srv.csr" -subj /CN=mx.example.test > /dev/null 2>&1 \
  || bad "server key made"
printf 'subjectAltName=DNS:mx.example.test,IP:127.0.0.1\n' > "$K/ext"
openssl x509 -req -in "$K/srv.csr" -CA "$K/ca.pem" -CAkey "$K/ca.key" -CAcreateserial -days 1 -extfile "$K/ext" \
  -out "$K/srv.crt" > /dev/null 2>&1 || bad "server certificate made"
cat "$K/srv.crt" "$K/srv.key" > "$K/cert.pem"
install -o root -g "$U_TLS" -m 640 "$K/cert.pem" "$C/tls/cert.pem"

printf ':allow\n' > "$T/rules"
tcprules "$T/rules.cdb" "$T/rules.tmp" < "$T/rules" || bad "tcprules"
tcpserver -v -H -R -l mx.example.test -x "$T/rules.cdb" 127.0.0.1 "$P" \
  "$H/bin/sluice-tlsd" -u "$(id -u "$U_DAEMON")" -g "$(id -g "$U_DAEMON")" "$H/bin/sluice-smtpd" > "$T/server.log" 2>&1 &
server=$!
listening() { ss -Hltn | awk '{print $4}' | grep -q ":$1\$"; }
wait_for 10 listening "$P" || bad "tcpserver listens on $P"

timeout 900 testssl --quiet --color 0 --warnings off --add-ca "$K/ca.pem" -t smtp --jsonfile "$T/testssl.json" \
  "127.0.0.1:$P" > "$T/testssl.out" 2>&1
check "testssl wrote its findings" test -s "$T/testssl.json"

python3 - "$T/testssl.json" > "$T/summary" << 'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
byid = {x["id"]: x for x in d}
bad = [x for x in d if x["severity"] in ("HIGH", "CRITICAL") and not x["id"].startswith("cert")]
for x in bad:
    print("bad", x["severity"], x["id"], x["finding"])
for p in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3"):
    print(p, byid.get(p, {}).get("finding", "missing"))
EOF
check_eq "testssl: no HIGH or CRITICAL finding about the server" "$(grep '^bad' "$T/summary")" ""
check_eq "testssl: protocols" "$(grep -v '^bad' "$T/summary")" "SSLv2 not offered
SSLv3 not offered
TLS1 not offered
TLS1_1 not offered
TLS1_2 offered
TLS1_3 offered with final"
[ "$t_fail" -eq 0 ] || { cat "$T/summary"; tail -n 40 "$T/testssl.out"; }

done_testing
