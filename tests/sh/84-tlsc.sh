#!/bin/sh
# 84-tlsc.sh: STARTTLS on the client side: sluice-remote with
# sluice-tlsc (sluice-tlsc(8)) against SMTP sinks (tests/smtpsink.py
# --starttls, python's ssl module) on 127.0.0.1, routed with
# control/smtproutes, host names from a test DNS server
# (tests/helpers/dnsd.c), policies from control/tlsdestinations. A test
# CA and certificates are made with openssl(1). sluice-remote runs
# directly with a scratch conf-home as its current directory, its
# bin/sluice-tlsc a link to the build's; no root needed.
#
#  1. default policy (may): the message goes over TLS (the sink saw the
#     handshake, EHLO again after it), the result names the protocol,
#     cipher and "unverified" (no CA file, a test CA); a 4 MB message
#     arrives intact;
#  2. verify with the right CA file and name: delivered, "verified";
#     verify with the system store, a wrong host name (another name of
#     the same sink), or a certificate from another CA: deferred with
#     4.7.5 and the reason, nothing sent; the MX name is checked when
#     the hosts come from DNS; a [relay] line wins over the domain's;
#  3. encrypt to a sink without STARTTLS: deferred with 4.7.4, no MAIL;
#     encrypt with an unverifiable certificate: delivered over TLS; a
#     refused STARTTLS: may goes on in plaintext, encrypt defers (4.7.4);
#  4. a broken handshake: under may the host is tried again in
#     plaintext and the message delivered (the result says so); under
#     encrypt deferred with 4.7.5, also for a handshake that stalls and
#     for a server with TLS 1.0 and 1.1 only (may: plaintext again);
#  5. none: no STARTTLS; a malformed tlsdestinations line: 4.3.5;
#     sluice-tlsc missing: may goes plaintext, encrypt defers;
#  6. make without libssl-dev says the TLS programs were not built;
#  7. as root (as in CI), with the real delivery set (sluice-start) in
#     a private instance: sluice-send's log says "success: ... accepted
#     the message (TLSv1.x CIPHER verified)" for a verify destination,
#     and "deferral: 4.7.4 ..." for an encrypt destination without
#     STARTTLS, which stays queued.
. "$(dirname "$0")/../lib.sh"
inst_build
DNSD=$BIN/tests/dnsd
for tool in openssl python3; do
  command -v $tool > /dev/null 2>&1 || { bad "$tool installed"; done_testing; }
done
[ -x "$BIN/sluice-tlsc" ] || { bad "sluice-tlsc built" "$BIN/sluice-tlsc missing (libssl-dev?)"; done_testing; }

. "$(dirname "$0")/../e2e.sh"   # free_ports
free_ports 20000 12   # below the ephemeral ports (32768 up)

HOME_R=$T/home
mkdir -p "$HOME_R/control" "$HOME_R/queue/lock" "$HOME_R/bin"
ln -s "$BIN/sluice-tlsc" "$HOME_R/bin/sluice-tlsc"
echo client.example > "$HOME_R/control/me"
echo 5 > "$HOME_R/control/timeoutconnect"
echo 20 > "$HOME_R/control/timeoutremote"
# the sinks and the MX host on 127.0.0.1 stand for other hosts
echo 127.0.0.1 > "$HOME_R/control/notipme"
: > "$T/pids"
spid=''
cleanup() {
  if [ -n "$spid" ]; then kill_set 100; fi
  for p in $(cat "$T/pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- a test CA, a certificate for mx.tls84.test signed by it, and one
# for the same name signed by another CA ---
C=$T/certs
mkdir -p "$C"
ossl() { openssl "$@" >> "$C/log" 2>&1 || { bad "openssl $1" "$(tail -3 "$C/log")"; done_testing; }; }
mkca() {
  ossl req -x509 -newkey rsa:2048 -nodes -keyout "$C/$1.key" -out "$C/$1.pem" -days 2 -subj "/CN=sluice test $1"
}
mkcert() { # mkcert NAME CA DNSNAME
  ossl req -newkey rsa:2048 -nodes -keyout "$C/$1.key" -out "$C/$1.csr" -subj "/CN=$3"
  printf 'subjectAltName=DNS:%s\n' "$3" > "$C/$1.ext"
  ossl x509 -req -in "$C/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2.key" -CAcreateserial -out "$C/$1.pem" -days 2 \
    -extfile "$C/$1.ext"
}
mkca ca
mkca rogue
mkcert mx ca mx.tls84.test
mkcert fake rogue mx.tls84.test

# sink NAME PORT [options]: starts a sink on 127.0.0.1 logging into $T/NAME
sink() {
  name=$1 port=$2; shift 2
  rm -rf "$T/$name"; mkdir -p "$T/$name"
  python3 tests/smtpsink.py --host 127.0.0.1 --port "$port" --dir "$T/$name" --ready "$T/$name.ready" \
    --pipelining "$@" 2> "$T/$name.err" &
  echo $! >> "$T/pids"
  i=0
  while [ ! -f "$T/$name.ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -f "$T/$name.ready" ] || bad "sink $name started" "$(cat "$T/$name.err")"
}
sink tls $P --starttls "$C/mx.pem,$C/mx.key"
sink plain $((P + 1))
sink broken $((P + 2)) --tls-broken
sink fake $((P + 3)) --starttls "$C/fake.pem,$C/fake.key"
sink stall $((P + 5)) --tls-stall
sink refuse $((P + 6)) --starttls "$C/mx.pem,$C/mx.key" --code starttls=454
sink old $((P + 7)) --starttls "$C/mx.pem,$C/mx.key" --tls-old

# dnsd: the sinks' host names, and an MX for mx84.test
cat > "$T/zone" <<EOZ
A mx.tls84.test 127.0.0.1
A other.tls84.test 127.0.0.1
MX mx84.test 10 mx.tls84.test
EOZ
"$DNSD" 127.0.0.1 $((P + 4)) "$T/zone" > "$T/dns.log" 2> "$T/dns.err" &
echo $! >> "$T/pids"
i=0
while ! grep -q '^ready$' "$T/dns.log" 2> /dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "dnsd ready" grep -q '^ready$' "$T/dns.log"

# remote DOMAIN RCPT: runs sluice-remote for one recipient; the result
# in $T/out (NUL turned into newline)
remote() {
  (cd "$HOME_R" && DNSCACHEIP=127.0.0.1:$((P + 4)) "$BIN/sluice-remote" "$1" sender@client.example "$2" \
    < "$T/msg" > "$T/out.raw" 2> "$T/err")
  rc=$?
  tr '\0' '\n' < "$T/out.raw" > "$T/out"
}
letters() { cut -c1 "$T/out" | tr -d '\n'; }
routes() { printf '%s\n' "$@" > "$HOME_R/control/smtproutes"; }
policy() { printf '%s\n' "$@" > "$HOME_R/control/tlsdestinations"; }
has() { grep -q -e "$2" "$1"; }
count() { ls "$T/$1" | grep -c '\.data$'; }
printf 'Subject: over TLS\n\n.leading dot\nbody\n' > "$T/msg"

# 1. the default policy: may
routes "example.org:mx.tls84.test:$P"
remote example.org x@example.org
check_eq "may: exit 0" "$rc" 0
check_eq "may: K" "$(letters)" K
check "may: the sink saw TLS" test -f "$T/tls/1.tls"
check "may: TLS 1.2 or 1.3" grep -q '^TLSv1\.[23] ' "$T/tls/1.tls"
check "may: STARTTLS then EHLO again" \
  sh -c "grep -v '^pipelined' '$T/tls/log' | head -4 | tr '\n' ' ' | grep -q '^EHLO client.example STARTTLS tls=TLSv1\.[23] [^ ]* EHLO client.example \$'"
check "may: the result names protocol and cipher" has "$T/out" \
  '^Kmx\.tls84\.test \[127\.0\.0\.1\] accepted the message (TLSv1\.[23] [A-Z0-9_-]* unverified: [a-z]'
tr -d '\r' < "$T/tls/1.data" > "$T/got"
check "may: the message intact" cmp -s "$T/msg" "$T/got"

# a large message over TLS (the relay under back-pressure): intact
awk 'BEGIN { print "Subject: large"; print ""; for (i = 0; i < 60000; i++) printf "%sline %d abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\n", i % 7 ? "" : ".", i }' \
  > "$T/big"
(cd "$HOME_R" && DNSCACHEIP=127.0.0.1:$((P + 4)) "$BIN/sluice-remote" example.org sender@client.example x@example.org \
  < "$T/big" | tr '\0' '\n' > "$T/out")
check_eq "large message: K" "$(letters)" K
tr -d '\r' < "$T/tls/2.data" > "$T/got"
check "large message: intact over TLS" cmp -s "$T/big" "$T/got"
check "large message: over TLS" test -f "$T/tls/2.tls"
rm -f "$T"/tls/2.*   # the later counts leave it out

# 2. verify
policy "example.org:verify:$C/ca.pem"
remote example.org x@example.org
check_eq "verify, right CA and name: K" "$(letters)" K
check "verify: the result says verified" has "$T/out" '^Kmx\.tls84\.test \[127\.0\.0\.1\] accepted the message (TLSv1\.[23] [A-Z0-9_-]* verified): 250'
check_eq "verify: delivered" "$(count tls)" 2
check "verify: delivered over TLS" test -f "$T/tls/3.tls"

policy "example.org:verify"
remote example.org x@example.org
check_eq "verify, system store: Z" "$(letters)" Z
check "verify, system store: 4.7.5 and the reason" has "$T/out" \
  '^Z4\.7\.5 mx\.tls84\.test \[127\.0\.0\.1\]: certificate not verified (control/tlsdestinations: verify): unable to get local issuer certificate'

routes "example.org:other.tls84.test:$P"
policy "example.org:verify:$C/ca.pem"
remote example.org x@example.org
check_eq "verify, wrong name: Z" "$(letters)" Z
check "verify, wrong name: hostname mismatch" has "$T/out" '^Z4\.7\.5 other\.tls84\.test .*: hostname mismatch'

routes "example.org:mx.tls84.test:$((P + 3))"
remote example.org x@example.org
check_eq "verify, certificate of another CA: Z" "$(letters)" Z
check "verify, another CA: the reason" has "$T/out" '^Z4\.7\.5 mx\.tls84\.test .*certificate not verified.*: [a-z]'
check_eq "verify failures: nothing sent" "$(count tls)$(count fake)" 20
check_fail "verify failures: no MAIL" has "$T/fake/log" '^MAIL'

# the MX name is the name checked when the hosts come from DNS
routes "mx84.test::$P"
policy "mx84.test:verify:$C/ca.pem"
remote mx84.test x@mx84.test
check_eq "verify by MX: K" "$(letters)" K
check "verify by MX: verified" has "$T/out" '^Kmx\.tls84\.test \[127\.0\.0\.1\] accepted the message (TLSv1\.[23] [A-Z0-9_-]* verified)'

# a [relay] line wins over the domain's line
routes "example.org:other.tls84.test:$P"
policy "[other.tls84.test]:encrypt" "example.org:verify:$C/ca.pem"
remote example.org x@example.org
check_eq "[relay] line wins: K" "$(letters)" K
check "[relay] line: unverified but encrypted" has "$T/out" 'accepted the message (TLSv1\.[23] [A-Z0-9_-]* unverified: [a-z]'

# 3. encrypt
routes "example.org:127.0.0.1:$((P + 1))"
policy "example.org:encrypt"
remote example.org x@example.org
check_eq "encrypt, no STARTTLS: Z" "$(letters)" Z
check "encrypt, no STARTTLS: 4.7.4" has "$T/out" '^Z4\.7\.4 \[127\.0\.0\.1\] did not offer STARTTLS, and TLS is required'
check_fail "encrypt, no STARTTLS: no MAIL" has "$T/plain/log" '^MAIL'
check "encrypt, no STARTTLS: QUIT" has "$T/plain/log" '^QUIT'
routes "example.org:127.0.0.1:$((P + 3))"
remote example.org x@example.org
check_eq "encrypt, unverifiable certificate: K" "$(letters)" K
check "encrypt: over TLS" test -f "$T/fake/1.tls"

# a refused STARTTLS: may goes on in plaintext in the same session,
# encrypt defers
routes "example.org:127.0.0.1:$((P + 6))"
policy ":may"
remote example.org x@example.org
check_eq "may, STARTTLS refused: K" "$(letters)" K
check "may, STARTTLS refused: plain result" has "$T/out" '^K\[127\.0\.0\.1\] accepted the message: 250'
check_eq "may, STARTTLS refused: one session" "$(grep -c '^EHLO' "$T/refuse/log")" 1
policy ":encrypt"
remote example.org x@example.org
check_eq "encrypt, STARTTLS refused: Z" "$(letters)" Z
check "encrypt, STARTTLS refused: 4.7.4 and the reply" has "$T/out" \
  '^Z4\.7\.4 \[127\.0\.0\.1\] refused STARTTLS, and TLS is required .*: 454 4\.0\.0 refused at starttls'
check_eq "encrypt, STARTTLS refused: nothing more delivered" "$(count refuse)" 1

# 4. a broken handshake
routes "example.org:127.0.0.1:$((P + 2))"
policy ":may"
remote example.org x@example.org
check_eq "may, broken handshake: K" "$(letters)" K
check "may, broken handshake: plaintext said" has "$T/out" '^K\[127\.0\.0\.1\] accepted the message (plaintext after a failed TLS handshake): 250'
check_eq "may, broken handshake: delivered" "$(count broken)" 1
check_eq "may, broken handshake: STARTTLS once" "$(grep -c '^STARTTLS' "$T/broken/log")" 1
check_eq "may, broken handshake: two connections" "$(grep -c '^EHLO' "$T/broken/log")" 2
policy ":encrypt"
remote example.org x@example.org
check_eq "encrypt, broken handshake: Z" "$(letters)" Z
check "encrypt, broken handshake: 4.7.5" has "$T/out" '^Z4\.7\.5 \[127\.0\.0\.1\]: TLS handshake failed: '
check_eq "encrypt, broken handshake: nothing more delivered" "$(count broken)" 1

# a server with TLS 1.0 and 1.1 only: refused (TLS 1.2 and 1.3 only)
routes "example.org:127.0.0.1:$((P + 7))"
remote example.org x@example.org
check_eq "encrypt, TLS 1.1 server: Z" "$(letters)" Z
check "encrypt, TLS 1.1 server: 4.7.5 handshake failed" has "$T/out" '^Z4\.7\.5 \[127\.0\.0\.1\]: TLS handshake failed: '
check_eq "encrypt, TLS 1.1 server: nothing delivered" "$(count old)" 0
policy ":may"
remote example.org x@example.org
check_eq "may, TLS 1.1 server: K in plaintext" "$(letters)" K
check "may, TLS 1.1 server: plaintext said" has "$T/out" '(plaintext after a failed TLS handshake)'
check_fail "may, TLS 1.1 server: no TLS session" test -f "$T/old/1.tls"
policy ":encrypt"

# a server that takes STARTTLS and then stalls: the reply's time limit
# ends the handshake (sluice-tlsc notices its caller went away)
echo 2 > "$HOME_R/control/timeoutremotereply"
routes "example.org:127.0.0.1:$((P + 5))"
remote example.org x@example.org
check_eq "encrypt, stalled handshake: Z" "$(letters)" Z
check "encrypt, stalled handshake: 4.7.5 timed out" has "$T/out" '^Z4\.7\.5 \[127\.0\.0\.1\]: timed out (time limit of a reply) waiting for the TLS handshake'
rm "$HOME_R/control/timeoutremotereply"

# 5. none; a malformed line; no sluice-tlsc
routes "example.org:127.0.0.1:$P"
policy "example.org:none"
: > "$T/tls/log"
remote example.org x@example.org
check_eq "none: K" "$(letters)" K
check_fail "none: no STARTTLS" has "$T/tls/log" '^STARTTLS'
check "none: plain result" has "$T/out" '^K\[127\.0\.0\.1\] accepted the message: 250'
policy "example.org:none" "example.org:secure"
remote example.org x@example.org
check_eq "malformed tlsdestinations: Z" "$(letters)" Z
check "malformed tlsdestinations: 4.3.5" has "$T/out" '^Z4\.3\.5 control/tlsdestinations has a malformed line'
rm "$HOME_R/bin/sluice-tlsc"
policy ":may"
: > "$T/tls/log"
remote example.org x@example.org
check_eq "no sluice-tlsc, may: K" "$(letters)" K
check_fail "no sluice-tlsc, may: no STARTTLS" has "$T/tls/log" '^STARTTLS'
policy ":encrypt"
remote example.org x@example.org
check_eq "no sluice-tlsc, encrypt: Z" "$(letters)" Z
check "no sluice-tlsc, encrypt: 4.7.5" has "$T/out" '^Z4\.7\.5 \[127\.0\.0\.1\]: unable to start TLS.*bin/sluice-tlsc'

# 6. without libssl-dev (TLS_HAVE empty, as when the header is missing)
make -s B="$SLUICE_TEST_BUILD" CONF_HOME="$SLUICE_TEST_HOME" TLS_HAVE= all > "$T/make.out" 2>&1
check_eq "make without libssl-dev: exit 0" $? 0
check "make without libssl-dev: one line says so" has "$T/make.out" 'TLS programs (sluice-tlsc sluice-tlsrelay) were not built'

check_fail "sluice-remote links no TLS library" sh -c "ldd '$BIN/sluice-remote' 2> /dev/null | grep -q libssl"

# sluice-tlsc itself: a bad command line
"$BIN/sluice-tlsc" -x y > /dev/null 2>&1 3< /dev/null
check_eq "sluice-tlsc usage: exit 64" $? 64

# 7. the delivery log of the real set (root only: it installs an instance)
if [ "$(id -u)" -eq 0 ]; then
  . "$(dirname "$0")/../e2e.sh"
  e2e_tools
  inst_fresh
  check "sluice-tlsc installed" test -x "$H/bin/sluice-tlsc"
  echo client.example > "$H/control/me"
  echo 127.0.0.1 > "$H/control/notipme"
  echo 5 > "$H/control/timeoutconnect"
  cp "$C/ca.pem" "$H/control/ca84.pem"
  chmod 644 "$H/control/ca84.pem"
  printf '%s\n' "tls84.test:mx.tls84.test:$P" "plain84.test:127.0.0.1:$((P + 1))" > "$H/control/smtproutes"
  printf '%s\n' "tls84.test:verify:control/ca84.pem" "plain84.test:encrypt" > "$H/control/tlsdestinations"
  start_set DNSCACHEIP=127.0.0.1:$((P + 4))
  check "sluice-start running" kill -0 "$spid"
  for r in x@tls84.test y@plain84.test; do
    printf 'F%s\0T%s\0\0' sender@client.example "$r" > "$T/env"
    "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env" || bad "sluice-queue for $r"
  done
  logged() { grep -q "$1" "$T/log"; }
  check "log: success over TLS, verified" wait_for 30 logged \
    'success: x@tls84\.test: mx\.tls84\.test \[127\.0\.0\.1\] accepted the message (TLSv1\.[23] [A-Z0-9_-]* verified): 250'
  check "log: deferral with the TLS reason" wait_for 30 logged \
    'deferral: y@plain84\.test: 4\.7\.4 \[127\.0\.0\.1\] did not offer STARTTLS, and TLS is required'
  check_eq "the deferred message stays queued" "$("$H/bin/sluice-qstat" | sed -n 1p)" "messages in queue: 1"
  kill_set 100
  spid=''
fi

done_testing
