#!/bin/sh
# 99-dkim.sh: DKIM signing (sluice-dkimsign, sluice-dkimkey) checked by
# two independent verifiers: python3-dkim (tests/dkimcheck.py), with the
# TXT records sluice-dkimkey printed served to it through dnsfunc, and
# opendkim-testmsg (section 9), with the records served by dnsmasq.
#
#  1. tools/setup: the dkim user, sluice-dkimsign setuid to it (4711),
#     control/dkim its own (0700);
#  2. sluice-dkimkey: rsa and ed25519 keys, mode 0400, owned by the
#     dkim user, unreadable by a local user; the TXT record and the
#     control/dkimdomains line printed; an existing key is kept;
#  3. sendmail -t by a local user, with both keys for the domain: two
#     signatures (rsa-sha256, ed25519-sha256) that python3-dkim
#     verifies, for folded headers, an 8-bit body, an empty body, long
#     lines, trailing empty lines and white space, a CRLF message;
#     From over-signed, t= set, no l=;
#  4. control/dkimcanon simple: simple/simple signatures verify too;
#  5. a wildcard line (*.domain) signs a subdomain's mail with d=domain;
#     a From outside control/dkimdomains passes unsigned; no
#     control/dkimdomains: nothing signed; a key file that is missing
#     only drops its signature;
#  6. the body hash of a message signed by python3-dkim equals sluice's
#     for the same body (relaxed and simple);
#  7. queue mode (the submission services): sluice-inject with
#     SLUICEINJECT=queue signs, and passes sluice-queue's exit code on;
#     sendmail -bs (sluice-smtpd through QMAILQUEUE) signs; sluice-smtpd
#     on port 25 (a stranger at 127.0.0.2) does not;
#  8. end to end: sendmail -t from a local user, delivered by the
#     running set to an SMTP sink: the sink's copy verifies;
#  9. a second verifier, opendkim-testmsg (opendkim-tools), in a
#     network namespace with dnsmasq serving the published records:
#     each rsa and ed25519 signature of the messages above verifies,
#     tampered bodies and headers fail.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../e2e.sh"
need_root
e2e_tools
PY=/usr/bin/python3
$PY -c 'import dkim, nacl' 2> /dev/null || { bad "python3-dkim (and python3-nacl) missing: apt-get install python3-dkim python3-nacl"; done_testing; }
PATH=$PATH:/usr/sbin:/sbin
for p in opendkim-testmsg dnsmasq unshare ip; do
  command -v $p > /dev/null 2>&1 || { bad "$p missing: apt-get install opendkim-tools dnsmasq-base util-linux iproute2"; done_testing; }
done
[ -f /usr/include/openssl/evp.h ] || { bad "libssl-dev missing"; done_testing; }
inst_fresh
QD=$H/queue
DU=$(sed -n 's/^dkim //p' conf-users)
CHK="$PY $TOP/tests/dkimcheck.py"

TUSER=sluicedk$$
useradd -M -N -s /bin/sh -d /nonexistent "$TUSER" > /dev/null 2>&1 || { bad "useradd $TUSER"; done_testing; }
trap 'userdel "$TUSER" > /dev/null 2>&1; kill_set 30; [ -f "$T/pids" ] && kill $(cat "$T/pids") 2> /dev/null; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
TUID=$(id -u "$TUSER")
user() { env -i PATH=/usr/bin:/bin HOME=/ USER="$TUSER" LOGNAME="$TUSER" setpriv --reuid="$TUID" --regid="$(id -g "$TUSER")" --init-groups "$@"; }
printf 'me.example\n' > "$H/control/me"

# --- 1: setup ---
check_eq "sluice-dkimsign setuid dkim" "$(stat -c '%a %U' "$H/bin/sluice-dkimsign")" "4711 $DU"
check_eq "control/dkim the dkim user's" "$(stat -c '%a %U' "$H/control/dkim")" "700 $DU"

# --- 2: keys ---
"$H/bin/sluice-dkimkey" -t rsa dk.example r1 > "$T/r1" 2> "$T/err"
check_eq "dkimkey rsa exits 0" "$?" 0
"$H/bin/sluice-dkimkey" -t ed25519 dk.example e1 > "$T/e1" 2>> "$T/err"
check_eq "dkimkey ed25519 exits 0" "$?" 0
"$H/bin/sluice-dkimkey" -t rsa wild.example w1 > "$T/w1" 2>> "$T/err"
check_eq "dkimkey rsa 2 exits 0" "$?" 0
check_eq "rsa key file" "$(stat -c '%a %U' "$H/control/dkim/r1.dk.example.rsa")" "400 $DU"
check_eq "ed25519 key file" "$(stat -c '%a %U' "$H/control/dkim/e1.dk.example.ed25519")" "400 $DU"
check "rsa 2048" sh -c "openssl pkey -in '$H/control/dkim/r1.dk.example.rsa' -text -noout | grep -q '2048 bit'"
check_fail "a local user cannot read a key" user sh -c "cat '$H/control/dkim/r1.dk.example.rsa' 2> /dev/null"
check "TXT rsa" grep -q '^r1._domainkey.dk.example. IN TXT "v=DKIM1; k=rsa; p=MIIB' "$T/r1"
check "TXT ed25519" grep -q '^e1._domainkey.dk.example. IN TXT "v=DKIM1; k=ed25519; p=' "$T/e1"
"$H/bin/sluice-dkimkey" -t rsa dk.example r1 > /dev/null 2>&1
check_eq "an existing key is kept (100)" "$?" 100
cat "$T/r1" "$T/e1" "$T/w1" | grep ' IN TXT ' > "$T/zone"
{ sed -n 's/^control\/dkimdomains: //p' "$T/r1" "$T/e1"
  sed -n 's/^control\/dkimdomains: wild/*.wild/p' "$T/w1"
  echo "dk.example gone control/dkim/none.rsa"; } > "$H/control/dkimdomains"

qclear() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f -exec rm -f {} +; }
# queued FILE: the one queued message into FILE
queued() {
  set -- "$1" $(find "$QD/mess" -type f)
  if [ $# -ne 2 ]; then bad "one message queued" "found $(($# - 1))"; : > "$1"; return 1; fi
  cp "$2" "$1"
  qclear
}
# send NAME FROM [BODYFILE]: sendmail -t by the local user; the queued
# copy in $T/NAME.q
send() {
  { printf 'From: Some One <%s>\nTo: rcpt@far.example\nSubject: test %s\n' "$2" "$1"
    printf 'Message-ID: <%s@x>\nDate: Wed, 2 Dec 2026 10:00:00 +0000\n\n' "$1"
    [ $# -gt 2 ] && cat "$3"; } > "$T/$1.in"
  user "$H/bin/sendmail" -t < "$T/$1.in" 2> "$T/$1.err"
  check_eq "$1: sendmail exits 0" "$?:$(cat "$T/$1.err")" "0:"
  queued "$T/$1.q"
}
verify() { # NAME COUNT
  $CHK verify "$T/zone" "$T/$1.q" "$2" > "$T/$1.v" 2>&1
  check_eq "$1: python3-dkim verifies $2" "$?" 0 || cat "$T/$1.v"
}

# --- 3: kinds of messages, both keys ---
printf 'hello\nworld\n' > "$T/b.plain"
send plain a@dk.example "$T/b.plain"
verify plain 2
check "plain: rsa and ed25519" sh -c "grep -q 'a=rsa-sha256' '$T/plain.v' && grep -q 'a=ed25519-sha256' '$T/plain.v'"
check "plain: d= and s=" grep -q 'ok d=dk.example s=r1' "$T/plain.v"
sig=$(sed -n '/^DKIM-Signature/,/^[^ \t]/p' "$T/plain.q" | tr -d ' \t\n')
case $sig in *"h=from:from:"*) ok "From over-signed" ;; *) bad "From over-signed" "$sig" ;; esac
case $sig in *"t="[0-9]*) ok "t= set" ;; *) bad "t= set" "$sig" ;; esac
case $sig in *";l="*) bad "no l=" "$sig" ;; *) ok "no l=" ;; esac
case $sig in *"c=relaxed/relaxed"*) ok "relaxed by default" ;; *) bad "relaxed by default" "$sig" ;; esac
# the process that parsed the message ran as its caller: sluice-queue
# names the local user, not the dkim user, in its Received line
check "the parser ran as the caller (uid $TUID)" grep -q "^Received: (sluice [0-9]* invoked by uid $TUID)" "$T/plain.q"

cat > "$T/folded.in" <<'EOM'
From: "Folded"
  <b@dk.example>
To: rcpt@far.example,
	other@far.example
Subject: a subject   folded
    over     two lines
MIME-Version: 1.0
Content-Type: text/plain;
 charset=utf-8
Content-Transfer-Encoding: 8bit
Cc: c@far.example

body  with   spaces   
	and tabs	
EOM
user "$H/bin/sendmail" -t < "$T/folded.in" > /dev/null 2>&1
queued "$T/folded.q"
verify folded 2

printf 'caf\303\251 \342\202\254 8-bit\n\377\376 bytes\n' > "$T/b.8bit"
send 8bit c@dk.example "$T/b.8bit"
verify 8bit 2

send empty d@dk.example
verify empty 2

awk 'BEGIN { for (i = 0; i < 3; i++) { s = ""; for (j = 0; j < 1500; j++) s = s "x"; print s " " i } }' > "$T/b.long"
send long e@dk.example "$T/b.long"
verify long 2

printf 'text  \n\n \n\t\n\n' > "$T/b.trail"
send trail f@dk.example "$T/b.trail"
verify trail 2

printf 'From: g@dk.example\r\nTo: rcpt@far.example\r\nSubject: crlf\r\n\r\nline one\r\nline two\r\n' > "$T/crlf.in"
user "$H/bin/sendmail" -t < "$T/crlf.in" > /dev/null 2>&1
queued "$T/crlf.q"
verify crlf 2

# a tampered body fails (the checker is not a rubber stamp)
sed 's/^world$/w0rld/' "$T/plain.q" > "$T/tampered.q"
$CHK verify "$T/zone" "$T/tampered.q" > "$T/tampered.v" 2>&1
check "tampered: python3-dkim refuses" grep -q 'body hash mismatch' "$T/tampered.v"

# --- 4: simple/simple ---
echo simple > "$H/control/dkimcanon"
send simple h@dk.example "$T/b.trail"
verify simple 2
check "simple: c=simple/simple" grep -q 'c=simple/simple' "$T/simple.q"
cp "$T/folded.in" "$T/folded2.in"
user "$H/bin/sendmail" -t < "$T/folded2.in" > /dev/null 2>&1
queued "$T/folded2.q"
verify folded2 2
rm -f "$H/control/dkimcanon"

# --- 5: which mail is signed ---
send wild i@sub.wild.example "$T/b.plain"
verify wild 1
check "wildcard: d=wild.example" grep -q 'ok d=wild.example s=w1' "$T/wild.v"
send other j@other.example "$T/b.plain"
check_eq "other domain: unsigned" "$(grep -c '^DKIM-Signature' "$T/other.q")" 0
mv "$H/control/dkimdomains" "$T/dkimdomains"
send nocontrol a@dk.example "$T/b.plain"
check_eq "no control/dkimdomains: unsigned" "$(grep -c '^DKIM-Signature' "$T/nocontrol.q")" 0
mv "$T/dkimdomains" "$H/control/dkimdomains"

# --- 6: python3-dkim's body hash equals sluice's ---
for canon in relaxed simple; do
  echo $canon > "$H/control/dkimcanon"
  send "bh$canon" k@dk.example "$T/b.trail"
  $CHK sign "$T/zone" "$H/control/dkim/r1.dk.example.rsa" dk.example r1 $canon "$T/bh$canon.in" > "$T/bh$canon.py"
  check_eq "python3-dkim's own signature verifies ($canon)" "$($CHK verify "$T/zone" "$T/bh$canon.py" 1 > /dev/null 2>&1; echo $?)" 0
  check_eq "body hash as python3-dkim's ($canon)" "$($CHK bh "$T/bh$canon.q" | sed -n 1p)" "$($CHK bh "$T/bh$canon.py")"
done
rm -f "$H/control/dkimcanon"

# --- 6b: RFC 8463 appendix A: its Ed25519 key, its message: the body
# hash is the RFC's, and the signature verifies with the RFC's record ---
$PY -c 'import base64, sys
der = bytes.fromhex("302e020100300506032b657004220420") + base64.b64decode("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
sys.stdout.write("-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PRIVATE KEY-----\n")' > "$H/control/dkim/rfc8463.ed25519"
chown "$DU" "$H/control/dkim/rfc8463.ed25519"
chmod 400 "$H/control/dkim/rfc8463.ed25519"
echo 'football.example.com brisbane control/dkim/rfc8463.ed25519' >> "$H/control/dkimdomains"
echo 'brisbane._domainkey.football.example.com. IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="' >> "$T/zone"
cat > "$T/rfc.in" <<'EOM'
From: Joe SixPack <joe@football.example.com>
To: Suzie Q <suzie@shopping.example.net>
Subject: Is dinner ready?
Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)
Message-ID: <20030712040037.46341.5F8J@football.example.com>

Hi.

We lost the game.  Are you hungry yet?

Joe.
EOM
user "$H/bin/sendmail" -t < "$T/rfc.in" > /dev/null 2>&1
queued "$T/rfc.q"
verify rfc 1
check_eq "RFC 8463: its body hash" "$($CHK bh "$T/rfc.q")" "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="

# --- 7: queue mode (submission) ---
printf 'From: q@dk.example\nTo: r@far.example\nSubject: queue mode\n\nsubmitted\n' > "$T/qm.in"
printf 'Fq@dk.example\0Tr@far.example\0\0' > "$T/qm.env"
env -i SLUICEINJECT=queue "$H/bin/sluice-inject" < "$T/qm.in" 1< "$T/qm.env"
check_eq "queue mode exits 0" "$?" 0
queued "$T/qm.q"
verify qm 2
check "queue mode: Message-ID added before signing" grep -q '^Message-ID:' "$T/qm.q"
printf 'Tr@far.example\0\0' > "$T/qm.badenv"
env -i SLUICEINJECT=queue "$H/bin/sluice-inject" < "$T/qm.in" 1< "$T/qm.badenv" 2> /dev/null
check_eq "queue mode: sluice-queue's 91 passed on" "$?" 91
qclear

# --- 7b: sendmail -bs by a local user: its mail is signed too ---
printf 'HELO me\nMAIL FROM:<bs@dk.example>\nRCPT TO:<r@far.example>\nDATA\nFrom: bs@dk.example\nTo: r@far.example\nSubject: bs\n\nan SMTP session\n.\nQUIT\n' > "$T/bs.in"
user "$H/bin/sendmail" -bs < "$T/bs.in" > "$T/bs.out" 2>&1
check "sendmail -bs: 250 after DATA" grep -q '^250 2.0.0 ok' "$T/bs.out"
queued "$T/bs.q"
verify bs 2

# --- 7c: mail relayed in on port 25 (sluice-smtpd, a stranger) is
# never signed, even with a From of a signing domain ---
echo dk.example > "$H/control/rcpthosts"
printf 'HELO stranger\r\nMAIL FROM:<x@dk.example>\r\nRCPT TO:<postmaster@dk.example>\r\nDATA\r\nFrom: x@dk.example\r\nTo: postmaster@dk.example\r\nSubject: forged\r\n\r\nhi\r\n.\r\nQUIT\r\n' |
  env -i PROTO=TCP TCPREMOTEIP=127.0.0.2 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 setpriv --reuid="$(sed -n 's/^daemon //p' conf-users)" --regid="$(sed -n 's/^nogroup //p' conf-users)" --clear-groups "$H/bin/sluice-smtpd" > "$T/p25.out" 2>&1
check "port 25: accepted" grep -q '^250 2.0.0 ok' "$T/p25.out"
queued "$T/p25.q"
check_eq "port 25: not signed" "$(grep -c '^DKIM-Signature' "$T/p25.q")" 0
rm -f "$H/control/rcpthosts"

# --- 8: end to end, to an SMTP sink ---
free_ports 23000 1
python3 tests/smtpsink.py --host 127.0.0.1 --port "$P" --dir "$T/sink" --ready "$T/sink.ready" 2> "$T/sink.err" &
echo $! >> "$T/pids"
mkdir -p "$T/sink"
wait_for 10 test -f "$T/sink.ready" || bad "sink started" "$(cat "$T/sink.err")"
echo "far.example:127.0.0.1:$P" > "$H/control/smtproutes"
start_set
check "sluice-start running" kill -0 "$spid"
printf 'From: e2e@dk.example\nTo: rcpt@far.example\nSubject: end to end\n\nall the way\n' > "$T/e2e.in"
user "$H/bin/sendmail" -t < "$T/e2e.in"
check_eq "e2e: sendmail exits 0" "$?" 0
wait_for 30 sh -c "ls '$T/sink' | grep -q '\.data\$'"
cp "$(ls "$T"/sink/*.data | head -n 1)" "$T/e2e.q" 2> /dev/null
verify e2e 2
kill_set 30
spid=''

# --- 9: a second independent verifier, opendkim-testmsg (Debian's
# opendkim-tools, libopendkim): each signature alone (rsa-sha256 and
# ed25519-sha256) of each signed message with a Date field (libopendkim
# wants one) verifies, and tampered copies fail. opendkim-testmsg takes
# keys only from the DNS through the C library's resolver, which asks
# port 53 of the servers in /etc/resolv.conf; so it runs in mount and
# network namespaces of its own (unshare), where lo is the only
# interface, dnsmasq serves $T/zone on 127.0.0.1:53 and a private
# resolv.conf is bind-mounted over /etc/resolv.conf ---
OD=$T/odk
mkdir -p "$OD"
# onesig N < MSG: MSG with only its Nth DKIM-Signature field
onesig() {
  awk -v keep="$1" '
    body { print; next }
    /^\r?$/ { body = 1; print; next }
    /^[ \t]/ && insig { if (cur == keep) print; next }
    { insig = 0 }
    /^[Dd][Kk][Ii][Mm]-[Ss][Ii][Gg][Nn][Aa][Tt][Uu][Rr][Ee]:/ { n++; cur = n; insig = 1; if (cur == keep) print; next }
    { print }'
}
odk_want=''
for name in plain folded 8bit empty long trail crlf simple folded2 wild rfc qm e2e; do
  [ -f "$T/$name.q" ] || { bad "opendkim: $name.q kept"; continue; }
  grep -qi '^Date:' "$T/$name.q" || { bad "opendkim: $name.q has a Date field"; continue; }
  nsig=$(grep -ci '^DKIM-Signature:' "$T/$name.q")
  k=1
  while [ "$k" -le "$nsig" ] && [ "$k" -le 2 ]; do
    onesig "$k" < "$T/$name.q" > "$OD/$name.$k.msg"
    odk_want="$odk_want $name.$k"
    k=$((k + 1))
  done
done
# tampered: the body of plain (each signature), a signed header field
sed 's/^world$/w0rld/' "$OD/plain.1.msg" > "$OD/tbody.1.msg"
sed 's/^world$/w0rld/' "$OD/plain.2.msg" > "$OD/tbody.2.msg"
sed 's/^Subject: test plain$/Subject: test p1ain/' "$OD/plain.1.msg" > "$OD/thead.1.msg"
sed 's/^Subject: test plain$/Subject: test p1ain/' "$OD/plain.2.msg" > "$OD/thead.2.msg"
sed -n 's/^\([^ ]*\)\. IN TXT \(.*\)$/txt-record=\1,\2/p' "$T/zone" | sed 's/" "/","/g' > "$OD/dnsmasq.conf"
echo 'nameserver 127.0.0.1' > "$OD/resolv.conf"
cat > "$OD/ns.sh" <<EOS
ip link set lo up || exit 1
mount --bind '$OD/resolv.conf' /etc/resolv.conf || exit 1
dnsmasq --conf-file='$OD/dnsmasq.conf' --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.1 \\
  --port=53 --user=root --pid-file='$OD/dnsmasq.pid' --log-facility='$OD/dnsmasq.log' || exit 1
trap 'kill \$(cat "$OD/dnsmasq.pid")' EXIT
trap 'exit 1' INT TERM HUP
for f in '$OD'/*.msg; do
  timeout 30 opendkim-testmsg -t '$OD' < "\$f" > "\$f.out" 2>&1
  echo \$? > "\$f.rc"
done
EOS
timeout 300 unshare --mount --net sh "$OD/ns.sh" > "$OD/ns.log" 2>&1
check_eq "opendkim: the namespace with dnsmasq ran" "$?" 0 || cat "$OD/ns.log"
for m in $odk_want; do
  check_eq "opendkim-testmsg verifies $m ($(sed -n 's/^DKIM-Signature: v=1; a=\([^;]*\);.*/\1/p' "$OD/$m.msg"))" \
    "$(cat "$OD/$m.msg.rc" 2> /dev/null):$(cat "$OD/$m.msg.out" 2> /dev/null)" "0:"
done
check_eq "opendkim: plain's two copies: one rsa, one ed25519 signature" \
  "$(grep -h -o '^DKIM-Signature: v=1; a=[a-z0-9-]*' "$OD"/plain.[12].msg | sort | tr '\n' ' ')" \
  "DKIM-Signature: v=1; a=ed25519-sha256 DKIM-Signature: v=1; a=rsa-sha256 "
for m in tbody.1 tbody.2 thead.1 thead.2; do
  check_eq "opendkim-testmsg refuses $m" "$(cat "$OD/$m.msg.rc" 2> /dev/null):$(cat "$OD/$m.msg.out" 2> /dev/null)" \
    "70:opendkim-testmsg: dkim_eom(): Bad signature"
done

done_testing
