#!/bin/sh
# 92-smarthost.sh: authenticated smarthosts outbound: sluice-remote with
# credentials from control/smtpauth (sluice-smtpauth(5)) against
# smarthosts made with aiosmtpd (tests/smarthost.py, Debian's
# python3-aiosmtpd) that require AUTH after STARTTLS, on 127.0.0.1,
# routed with control/smtproutes, the smarthost's name from a test DNS
# server (tests/helpers/dnsd.c), its certificate from a test CA made
# with openssl(1).
#
#  1. sluice-remote run directly (a scratch conf-home, bin/sluice-tlsc a
#     link to the build's): the right login and password over verified
#     TLS: delivered, the smarthost saw the login, over TLS, AUTH PLAIN;
#     the result says "authenticated";
#  2. a wrong password: D with the server's 535 text, no MAIL; a 454:
#     Z with the server's text; a server without AUTH: Z 4.7.0; a
#     server without STARTTLS: Z 4.7.4 naming control/smtpauth, no AUTH
#     sent; with tls=none on the line: AUTH in plaintext, delivered;
#     without the CA (tls=verify, the default): Z 4.7.5, no AUTH sent;
#     tls=encrypt: delivered unverified;
#  3. AUTH LOGIN with a server that offers only LOGIN, and auth=login
#     with one that offers both; a domain key; a [relay]:port key for
#     another port does not match; the exact lines on the wire (a
#     scripted server, tests/smtpsink.py --auth): AUTH PLAIN with its
#     initial response, AUTH LOGIN (also offered as "AUTH=LOGIN"), a
#     535 to the password, a 334 after the initial response answered
#     with "*", no usable mechanism, auth=plain against a LOGIN server,
#     STARTTLS before AUTH;
#  4. control/smtpauth readable by others: Z 4.3.5, nothing sent; a
#     malformed line: Z 4.3.5, the line not quoted;
#  5. as root (as in CI): a private instance end to end, sendmail ->
#     sluice-queue -> sluice-send -> sluice-rspawn -> sluice-remote (as
#     the remote user, control/smtpauth its own, mode 600) -> smarthost,
#     routed by ":smarthost:PORT": delivered with the login; a wrong
#     password bounces with the server's 535 text (an RFC 3464 bounce,
#     tests/dsncheck.py, received by a sink); a 454 is a deferral with
#     the server's text and the message stays queued; a world-readable
#     file is a deferral that says so; sluice-showctl counts the
#     entries, never shows them, and warns about the mode and a
#     malformed entry;
#  6. the password (as is, and in base64 as AUTH PLAIN and LOGIN send
#     it) is in no output, log file, bounce or queue file.
. "$(dirname "$0")/../lib.sh"
inst_build
DNSD=$BIN/tests/dnsd
command -v openssl > /dev/null 2>&1 || { bad "openssl installed"; done_testing; }
[ -x "$BIN/sluice-tlsc" ] || { bad "sluice-tlsc built" "$BIN/sluice-tlsc missing (libssl-dev?)"; done_testing; }
# aiosmtpd is Debian's: a python3 of the system's that has it
PY=''
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import aiosmtpd' > /dev/null 2>&1; then PY=$p; break; fi
done
[ -n "$PY" ] || { bad "python3-aiosmtpd installed"; done_testing; }

. "$(dirname "$0")/../e2e.sh"   # free_ports
free_ports 21000 15   # below the ephemeral ports (32768 up)

LOGIN=alice92
PW='Zq9:s3cret pw/92'
HOME_R=$T/home
mkdir -p "$HOME_R/control" "$HOME_R/queue/lock" "$HOME_R/bin"
ln -s "$BIN/sluice-tlsc" "$HOME_R/bin/sluice-tlsc"
echo client.example > "$HOME_R/control/me"
echo 5 > "$HOME_R/control/timeoutconnect"
echo 20 > "$HOME_R/control/timeoutremote"
echo 127.0.0.1 > "$HOME_R/control/notipme"
: > "$T/pids"
cleanup() {
  if [ -n "$spid" ]; then kill_set 100; fi
  for p in $(cat "$T/pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- a test CA and a certificate for smarthost.sh92.test ---
C=$T/certs
mkdir -p "$C"
ossl() { openssl "$@" >> "$C/log" 2>&1 || { bad "openssl $1" "$(tail -3 "$C/log")"; done_testing; }; }
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$C/ca.key" -out "$C/ca.pem" -days 2 -subj "/CN=sluice test ca92"
ossl req -newkey rsa:2048 -nodes -keyout "$C/sh.key" -out "$C/sh.csr" -subj "/CN=smarthost.sh92.test"
printf 'subjectAltName=DNS:smarthost.sh92.test\n' > "$C/sh.ext"
ossl x509 -req -in "$C/sh.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial -out "$C/sh.pem" -days 2 \
  -extfile "$C/sh.ext"
chmod 644 "${C:?}"/*.pem "$C"/*.key

# smarthost NAME PORT [options]: an aiosmtpd smarthost logging into $T/NAME
smarthost() {
  name=$1 port=$2; shift 2
  rm -rf "$T/$name"; mkdir -p "$T/$name"
  "$PY" tests/smarthost.py --host 127.0.0.1 --port "$port" --dir "$T/$name" --ready "$T/$name.ready" \
    "$@" 2> "$T/$name.err" &
  echo $! >> "$T/pids"
  i=0
  while [ ! -f "$T/$name.ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -f "$T/$name.ready" ] || bad "smarthost $name started" "$(cat "$T/$name.err")"
}
TLS="--starttls $C/sh.pem,$C/sh.key"
smarthost good $P $TLS --login $LOGIN --password "$PW"
smarthost temp $((P + 1)) $TLS --auth-code 454
smarthost noauth $((P + 2)) $TLS --no-auth
smarthost plain $((P + 3)) --login $LOGIN --password "$PW"
smarthost loginonly $((P + 4)) $TLS --login $LOGIN --password "$PW" --mechs LOGIN
smarthost bad $((P + 6)) $TLS --login $LOGIN --password 'another password'

cat > "$T/zone" <<EOZ
A smarthost.sh92.test 127.0.0.1
EOZ
"$DNSD" 127.0.0.1 $((P + 5)) "$T/zone" > "$T/dns.log" 2> "$T/dns.err" &
echo $! >> "$T/pids"
i=0
while ! grep -q '^ready$' "$T/dns.log" 2> /dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "dnsd ready" grep -q '^ready$' "$T/dns.log"

# remote DOMAIN RCPT: sluice-remote for one recipient; the result in
# $T/out (NUL turned into newline); every output kept in $T/outputs
n_out=0
remote() {
  (cd "$HOME_R" && DNSCACHEIP=127.0.0.1:$((P + 5)) "$BIN/sluice-remote" "$1" sender@client.example "$2" \
    < "$T/msg" > "$T/out.raw" 2> "$T/err")
  rc=$?
  tr '\0' '\n' < "$T/out.raw" > "$T/out"
  n_out=$((n_out + 1))
  mkdir -p "$T/outputs"
  cat "$T/out.raw" "$T/err" > "$T/outputs/$n_out"
}
letters() { cut -c1 "$T/out" | tr -d '\n'; }
routes() { printf '%s\n' "$@" > "$HOME_R/control/smtproutes"; }
policy() { printf '%s\n' "$@" > "$HOME_R/control/tlsdestinations"; }
auth() { printf '%s\n' "$@" > "$HOME_R/control/smtpauth"; chmod 600 "$HOME_R/control/smtpauth"; }
has() { grep -q -e "$2" "$1"; }
count() { ls "$T/$1" | grep -c '\.data$'; }
printf 'Subject: through the smarthost\n\nbody\n' > "$T/msg"

# 1. the right credentials over verified TLS (the CA file from
# tlsdestinations, whose level may is raised to verify by the line)
SH=smarthost.sh92.test
routes "example.org:$SH:$P"
policy "[$SH]:may:$C/ca.pem"
auth "# the provider's relay" "[$SH]:$P $LOGIN:$PW"
remote example.org x@example.org
check_eq "good: exit 0" "$rc" 0
check_eq "good: K" "$(letters)" K
check "good: the result says verified and authenticated" has "$T/out" \
  "^K$SH \[127\.0\.0\.1\] accepted the message (TLSv1\.[23] [A-Z0-9_-]* verified) (authenticated): 250 2\.0\.0 smarthost"
check_eq "good: delivered once" "$(count good)" 1
check "good: the smarthost saw the login over TLS" has "$T/good/1.meta" "^login=$LOGIN tls=TLSv1\.[23] from=sender@client\.example rcpt=x@example\.org\$"
check "good: AUTH PLAIN" has "$T/good/log" "^AUTH PLAIN $LOGIN ok\$"
tr -d '\r' < "$T/good/1.data" > "$T/got"
check "good: the message intact" cmp -s "$T/msg" "$T/got"

# 2. failures
routes "example.org:$SH:$((P + 6))"
auth "[$SH] $LOGIN:$PW"
remote example.org x@example.org
check_eq "wrong password: D" "$(letters)" D
check "wrong password: the server's 535 text" has "$T/out" \
  "^D5\.7\.8 $SH \[127\.0\.0\.1\] said: 535 5\.7\.8 smarthost: authentication credentials invalid (in reply to AUTH PLAIN)\$"
check "wrong password: AUTH refused" has "$T/bad/log" "^AUTH PLAIN $LOGIN refused\$"
check_fail "wrong password: no MAIL" has "$T/bad/log" '^MAIL'

routes "example.org:$SH:$((P + 1))"
remote example.org x@example.org
check_eq "454: Z" "$(letters)" Z
check "454: the server's text" has "$T/out" \
  "^Z4\.7\.0 $SH \[127\.0\.0\.1\] said: 454 4\.7\.0 smarthost: temporary authentication trouble, try later (in reply to AUTH PLAIN)\$"
check_fail "454: no MAIL" has "$T/temp/log" '^MAIL'

routes "example.org:$SH:$((P + 2))"
remote example.org x@example.org
check_eq "no AUTH offered: Z" "$(letters)" Z
check "no AUTH offered: 4.7.0" has "$T/out" "^Z4\.7\.0 $SH \[127\.0\.0\.1\] did not offer AUTH, and control/smtpauth has credentials"
check_eq "no AUTH offered: nothing delivered" "$(count noauth)" 0

routes "example.org:$SH:$((P + 3))"
remote example.org x@example.org
check_eq "no STARTTLS: Z" "$(letters)" Z
check "no STARTTLS: 4.7.4 naming control/smtpauth" has "$T/out" \
  "^Z4\.7\.4 $SH \[127\.0\.0\.1\] did not offer STARTTLS, and TLS is required for this destination (control/smtpauth)\$"
check_fail "no STARTTLS: no AUTH sent" test -f "$T/plain/log"
auth "[$SH] tls=none $LOGIN:$PW"
remote example.org x@example.org
check_eq "no STARTTLS, tls=none: K" "$(letters)" K
check "tls=none: plaintext, authenticated" has "$T/out" "^K$SH \[127\.0\.0\.1\] accepted the message (authenticated): 250"
check "tls=none: the login" has "$T/plain/1.meta" "^login=$LOGIN tls=- "

routes "example.org:$SH:$P"
policy ":may"
auth "[$SH] $LOGIN:$PW"
remote example.org x@example.org
check_eq "verify without the CA: Z" "$(letters)" Z
check "verify without the CA: 4.7.5 naming control/smtpauth" has "$T/out" \
  "^Z4\.7\.5 $SH \[127\.0\.0\.1\]: certificate not verified (control/smtpauth: verify): unable to get local issuer certificate"
check_eq "verify without the CA: nothing delivered" "$(count good)" 1
check_eq "verify without the CA: no AUTH sent" "$(grep -c '^AUTH' "$T/good/log")" 1
auth "[$SH] tls=encrypt $LOGIN:$PW"
remote example.org x@example.org
check_eq "tls=encrypt, unverified: K" "$(letters)" K
check "tls=encrypt: unverified, authenticated" has "$T/out" 'accepted the message (TLSv1\.[23] [A-Z0-9_-]* unverified: [^)]*) (authenticated)'

# 3. LOGIN; key forms
policy "[$SH]:may:$C/ca.pem"
routes "example.org:$SH:$((P + 4))"
auth "[$SH] $LOGIN:$PW"
remote example.org x@example.org
check_eq "LOGIN only: K" "$(letters)" K
check "LOGIN only: AUTH LOGIN" has "$T/loginonly/log" "^AUTH LOGIN $LOGIN ok\$"
check "LOGIN only: the login" has "$T/loginonly/1.meta" "^login=$LOGIN tls=TLSv1"
routes "example.org:$SH:$P"
auth "[$SH]:$P auth=login,tls=verify $LOGIN:$PW"
remote example.org x@example.org
check_eq "auth=login: K" "$(letters)" K
check "auth=login: AUTH LOGIN with a server that offers both" has "$T/good/log" "^AUTH LOGIN $LOGIN ok\$"
auth "example.org $LOGIN:$PW"
remote example.org x@example.org
check_eq "domain key: K" "$(letters)" K
check_eq "domain key: delivered" "$(count good)" 4
auth "[$SH]:25 $LOGIN:$PW"
remote example.org x@example.org
check_eq "a key for another port: no AUTH, the server refuses MAIL" "$(letters)" D
check "another port: the server's 530" has "$T/out" ' said: 530 '

# the exact bytes on the wire, from a scripted server (tests/smtpsink.py
# --auth) in plaintext (tls=none): its log holds every line as sent
sink() { # sink NAME PORT [options]: logs into $T/wire/NAME
  name=$1 port=$2; shift 2
  rm -rf "$T/wire/$name"; mkdir -p "$T/wire/$name"
  python3 tests/smtpsink.py --host 127.0.0.1 --port "$port" --dir "$T/wire/$name" --ready "$T/wire/$name.ready" \
    "$@" 2> "$T/wire/$name.err" &
  echo $! >> "$T/pids"
  i=0
  while [ ! -f "$T/wire/$name.ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -f "$T/wire/$name.ready" ] || bad "sink $name started" "$(cat "$T/wire/$name.err")"
}
B64_PLAIN=$(printf '\0%s\0%s' "$LOGIN" "$PW" | base64 -w0)
B64_LOGIN=$(printf '%s' "$LOGIN" | base64 -w0)
B64_PW=$(printf '%s' "$PW" | base64 -w0)
policy ":may"
auth "[127.0.0.1] tls=none $LOGIN:$PW"
wire() { # wire NAME PORT [sink options]: a delivery to a new sink; its log in $T/wlog
  name=$1 port=$2; shift 2
  sink "$name" "$port" "$@"
  routes "example.org:127.0.0.1:$port"
  remote example.org x@example.org
  grep -v '^pipelined=' "$T/wire/$name/log" | tr '\n' '|' > "$T/wlog"
}
wire plain1 $((P + 8)) --auth "AUTH PLAIN LOGIN"
check_eq "wire, PLAIN: K" "$(letters)" K
check_eq "wire, PLAIN: one line with the initial response (RFC 4616)" "$(cat "$T/wlog")" \
  "EHLO client.example|AUTH PLAIN $B64_PLAIN|MAIL FROM:<sender@client.example>|RCPT TO:<x@example.org>|DATA|QUIT|"
wire login1 $((P + 9)) --auth "AUTH=LOGIN" --auth-replies 334,334,235
check_eq "wire, old AUTH=LOGIN: K" "$(letters)" K
check_eq "wire, LOGIN: the login and the password, each a line" "$(cat "$T/wlog")" \
  "EHLO client.example|AUTH LOGIN|$B64_LOGIN|$B64_PW|MAIL FROM:<sender@client.example>|RCPT TO:<x@example.org>|DATA|QUIT|"
wire login2 $((P + 10)) --auth "AUTH LOGIN" --auth-replies 334,334,535
check_eq "wire, LOGIN refused at the password: D" "$(letters)" D
check "wire, LOGIN refused: the server's text" has "$T/out" \
  '^D5\.7\.0 \[127\.0\.0\.1\] said: 535 5\.7\.0 refused at auth (in reply to AUTH LOGIN)$'
wire plain2 $((P + 11)) --auth "AUTH PLAIN" --auth-replies 334,501
check_eq "wire, a challenge after the initial response: Z" "$(letters)" Z
check "wire, a challenge after the initial response: cancelled with *" has "$T/wlog" \
  "^EHLO client.example|AUTH PLAIN $B64_PLAIN|\*|QUIT|\$"
check "wire, a challenge after the initial response: 4.7.0" has "$T/out" \
  '^Z4\.7\.0 \[127\.0\.0\.1\] sent a challenge after the initial response of AUTH PLAIN$'
wire cram $((P + 12)) --auth "AUTH CRAM-MD5 DIGEST-MD5"
check_eq "wire, no usable mechanism: Z" "$(letters)" Z
check "wire, no usable mechanism: 4.7.0" has "$T/out" '^Z4\.7\.0 \[127\.0\.0\.1\] offers neither AUTH PLAIN nor AUTH LOGIN$'
check_eq "wire, no usable mechanism: no AUTH, no MAIL" "$(cat "$T/wlog")" "EHLO client.example|QUIT|"
auth "[127.0.0.1] tls=none,auth=plain $LOGIN:$PW"
wire login3 $((P + 13)) --auth "AUTH LOGIN"
check "wire, auth=plain with a LOGIN server: 4.7.0" has "$T/out" '^Z4\.7\.0 \[127\.0\.0\.1\] does not offer AUTH PLAIN (control/smtpauth: auth=plain)$'
# a server with AUTH and STARTTLS under tls=encrypt: STARTTLS first
# (84-tlsc's sinks), then AUTH, in the new session
auth "[127.0.0.1] tls=encrypt $LOGIN:$PW"
wire tls1 $((P + 14)) --auth "AUTH PLAIN" --starttls "$C/sh.pem,$C/sh.key"
check_eq "wire, STARTTLS then AUTH: K" "$(letters)" K
check_eq "wire, STARTTLS then AUTH: the order" "$(sed 's/tls=[^|]*|/tls|/' "$T/wlog")" \
  "EHLO client.example|STARTTLS|tls|EHLO client.example|AUTH PLAIN $B64_PLAIN|MAIL FROM:<sender@client.example>|RCPT TO:<x@example.org>|DATA|QUIT|"
rm -rf "$T/wire"   # they hold the password in base64, as sent: the checks below look everywhere else

# 4. the file's mode, a malformed line
auth "[$SH] $LOGIN:$PW"
chmod 644 "$HOME_R/control/smtpauth"
n_good=$(count good)
remote example.org x@example.org
check_eq "world-readable smtpauth: Z" "$(letters)" Z
check "world-readable smtpauth: 4.3.5 says why" has "$T/out" \
  '^Z4\.3\.5 control/smtpauth may be read by others: not used, and no delivery until it is fixed'
check_eq "world-readable smtpauth: nothing delivered" "$(count good)" "$n_good"
auth "[$SH] $LOGIN:$PW" "[$SH] tls=sometimes $LOGIN:$PW"
remote example.org x@example.org
check_eq "malformed smtpauth: Z" "$(letters)" Z
check "malformed smtpauth: 4.3.5" has "$T/out" '^Z4\.3\.5 control/smtpauth has a malformed line (see sluice-smtpauth(5))$'
auth "[$SH] $LOGIN-without-a-password"
remote example.org x@example.org
check "no password: 4.3.5" has "$T/out" '^Z4\.3\.5 control/smtpauth has a malformed line'

# the password in the forms it could leak in
noleak() { # noleak FILE...: none holds the password in any form
  ! grep -r -q -F -e "$PW" -e "$B64_PLAIN" -e "$B64_PW" -e 's3cret' "$@"
}
check "the password is in no output of sluice-remote" noleak "$T/outputs"

# 5. a private instance end to end (root only: it installs one)
if [ "$(id -u)" -eq 0 ]; then
  e2e_tools
  inst_fresh
  check "sluice-tlsc installed" test -x "$H/bin/sluice-tlsc"
  U_REMOTE=$(sed -n '/^$/q; s/^remote //p' conf-users)
  smarthost bsink $((P + 7)) --no-auth
  echo client.example > "$H/control/me"
  echo 127.0.0.1 > "$H/control/notipme"
  echo 5 > "$H/control/timeoutconnect"
  cp "$C/ca.pem" "$H/control/ca92.pem"
  chmod 644 "$H/control/ca92.pem"
  # the catch-all line sends everything through the smarthost, as
  # INSTALL shows it; the sender's domain gets its bounces at a sink
  printf '%s\n' "bad92.test:$SH:$((P + 6))" "temp92.test:$SH:$((P + 1))" "bounce92.test:127.0.0.1:$((P + 7))" \
    ":$SH:$P" > "$H/control/smtproutes"
  printf '%s\n' "[$SH]:may:control/ca92.pem" > "$H/control/tlsdestinations"
  printf '%s\n' "[$SH] $LOGIN:$PW" > "$H/control/smtpauth"
  chown "$U_REMOTE" "$H/control/smtpauth"
  chmod 600 "$H/control/smtpauth"
  "$H/bin/sluice-showctl" > "$T/showctl" 2>&1
  check "sluice-showctl: smtpauth counted, not shown" grep -q '^smtpauth: (present, 1 entry, not shown)$' "$T/showctl"
  check_fail "sluice-showctl: no warning" grep -q 'WARNING.*smtpauth' "$T/showctl"
  start_set DNSCACHEIP=127.0.0.1:$((P + 5))
  check "sluice-start running" kill -0 "$spid"
  rm -f "$T"/good/*.data "$T"/good/*.meta
  : > "$T/good/log"
  : > "$T/bad/log"
  for r in x@anywhere92.test y@bad92.test z@temp92.test; do
    printf 'Subject: to %s\n\nhello %s\n' "$r" "$r" | "$H/bin/sendmail" -f sender@bounce92.test "$r" \
      || bad "sendmail for $r"
  done
  logged() { grep -q -e "$1" "$T/log"; }
  check "log: success through the smarthost, verified, authenticated" wait_for 30 logged \
    "success: x@anywhere92\.test: $SH \[127\.0\.0\.1\] accepted the message (TLSv1\.[23] [A-Z0-9_-]* verified) (authenticated): 250"
  check_eq "the smarthost got the message" "$(count good)" 1
  check "the smarthost saw the login" grep -q "^login=$LOGIN tls=TLSv1\.[23] from=sender@bounce92\.test rcpt=x@anywhere92\.test\$" \
    "$T"/good/*.meta
  check "the message body" grep -q 'hello x@anywhere92.test' "$T"/good/*.data
  check "log: failure with the server's 535 text" wait_for 30 logged \
    "failure: y@bad92\.test: 5\.7\.8 $SH \[127\.0\.0\.1\] said: 535 5\.7\.8 smarthost: authentication credentials invalid"
  check "log: deferral with the server's 454 text" wait_for 30 logged \
    "deferral: z@temp92\.test: 4\.7\.0 $SH \[127\.0\.0\.1\] said: 454 4\.7\.0 smarthost: temporary authentication trouble"
  bounced() { [ "$(count bsink)" -ge 1 ]; }
  check "the bounce reached the sender's sink" wait_for 30 bounced
  f=$(ls "$T"/bsink/*.data 2> /dev/null | head -n 1)
  if [ -n "$f" ]; then
    check "the bounce: null sender, to the sender" grep -q '^login=- tls=- from=<> rcpt=sender@bounce92\.test$' "${f%.data}.meta"
    check "the bounce holds the server's 535 text" grep -q '535 5\.7\.8 smarthost: authentication credentials invalid' "$f"
    "$PY" tests/dsncheck.py < "$f" > "$T/dsn" 2> "$T/dsn.err"
    check_eq "the bounce is an RFC 3464 report" "$?:$(cat "$T/dsn.err")" "0:"
    check "the bounce: y@bad92.test 5.7.8 failed" grep -q '^y@bad92\.test 5\.7\.8 failed$' "$T/dsn"
  else
    bad "the bounce" "no message at the sender's sink"
  fi
  check_eq "the deferred message stays queued" "$("$H/bin/sluice-qstat" | sed -n 1p)" "messages in queue: 1"
  # a world-readable file: deliveries defer and the log says why
  chmod 644 "$H/control/smtpauth"
  printf 'Subject: again\n\nagain\n' | "$H/bin/sendmail" -f sender@bounce92.test w@anywhere92.test || bad "sendmail again"
  check "log: a world-readable smtpauth is a deferral that says so" wait_for 30 logged \
    'deferral: w@anywhere92\.test: 4\.3\.5 control/smtpauth may be read by others'
  check_eq "world-readable: nothing more delivered" "$(count good)" 1
  "$H/bin/sluice-showctl" >> "$T/showctl" 2>&1
  check "sluice-showctl: warns about a world-readable smtpauth" \
    grep -q '^WARNING: control/smtpauth may be read by others: not used' "$T/showctl"
  printf '%s\n' "[$SH] $LOGIN:$PW" "[$SH] tls=sometimes $LOGIN:$PW" > "$H/control/smtpauth"
  chmod 600 "$H/control/smtpauth"
  "$H/bin/sluice-showctl" >> "$T/showctl" 2>&1
  check "sluice-showctl: a malformed entry, not shown" \
    grep -q '^WARNING: control/smtpauth: entry 2 (not counting comments and empty lines) is malformed (not shown)' "$T/showctl"
  kill_set 100
  spid=''
  # 6. no password anywhere: the delivery log, the bounce, the
  # smarthosts' logs, the queue and everything else of the instance but
  # the file itself
  check "the password is in no log file" noleak "$T/log" "$T"/*.err "$T"/*/log
  check "the password is not in sluice-showctl's output" noleak "$T/showctl"
  check "the password is in no bounce" noleak "$T/bsink"
  check "the password is in no file of the instance" \
    sh -c 'cd "$1" && ! find . -type f ! -path ./control/smtpauth -print0 | xargs -0 grep -q -F -e "$2" -e "$3" -e "$4"' \
    sh "$H" "$PW" "$B64_PLAIN" "$B64_PW"
fi

done_testing
