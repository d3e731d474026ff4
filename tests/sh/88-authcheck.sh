#!/bin/sh
# 88-authcheck.sh: inbound SPF, DKIM and DMARC checks (sluice-authcheck(8))
# with records served by the test DNS server (tests/helpers/dnsd.c).
#
#  1. SPF (RFC 7208), through tests/helpers/spfq (sluice's evaluator and
#     resolver): the mechanisms of RFC 7208 appendix A (all, a, mx with
#     CIDR, ip4, ip6, ptr, exists, include, redirect), every result
#     (pass, fail, softfail, neutral, none, permerror, temperror), the
#     macros of 7.4, the 10-lookup and 2-void-lookup limits, HELO when
#     MAIL FROM is empty; python3-spf gives the same answer for each;
#  2. DKIM: messages signed by python3-dkim (rsa-sha256 and
#     ed25519-sha256, relaxed and simple, l=) give dkim=pass in the
#     Authentication-Results header; tampered bodies and headers, a
#     missing key, a revoked key give fail or permerror;
#  3. DMARC: aligned and unaligned, relaxed and strict, p=none,
#     quarantine, reject, the subdomain policy; control/authcheck's
#     reject and defer modes (exit 32, 75; nothing handed on), shown by
#     sluice-showctl;
#  4. an Authentication-Results field with this host's authserv-id is
#     removed, another host's kept;
#  5. end to end: sluice-smtpd under tcpserver with QMAILQUEUE set to
#     sluice-authcheck; mail from 127.0.0.2 is queued with exactly one
#     Authentication-Results header naming the HELO and the client's
#     SPF result; a policy rejection is 550 5.7.1 on the wire.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh
PY=/usr/bin/python3
for tool in openssl tcpserver tcprules swaks; do
  command -v $tool > /dev/null 2>&1 || { bad "$tool installed"; done_testing; }
done
$PY -c 'import spf, dkim, nacl' 2> /dev/null || { bad "python3-spf, python3-dkim, python3-nacl installed"; done_testing; }
[ -x "$BIN/sluice-authcheck" ] || { bad "sluice-authcheck built" "(libssl-dev?)"; done_testing; }
. "$(dirname "$0")/../e2e.sh"
free_ports 21000 4

: > "$T/pids"
cleanup() {
  for p in $(cat "$T/pids" 2> /dev/null); do kill "$p" 2> /dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- keys for DKIM ---
openssl genrsa -out "$T/rsa.pem" 2048 2> /dev/null || bad "openssl genrsa"
RSAPUB=$(openssl rsa -in "$T/rsa.pem" -pubout -outform DER 2> /dev/null | base64 -w0)
$PY -c '
import nacl.signing, base64, sys
k = nacl.signing.SigningKey.generate()
open(sys.argv[1], "wb").write(base64.b64encode(bytes(k)))
print(base64.b64encode(bytes(k.verify_key)).decode())' "$T/ed.key" > "$T/ed.pub" || bad "ed25519 key"
EDPUB=$(cat "$T/ed.pub")

# --- the zone ---
cat > "$T/zone" <<EOZ
# RFC 7208 appendix A, under spf88.test
A a.spf88.test 192.0.2.10
A a.spf88.test 192.0.2.11
A mx1.spf88.test 192.0.2.129
A mx2.spf88.test 192.0.2.130
MX mx.spf88.test 10 mx1.spf88.test
MX mx.spf88.test 20 mx2.spf88.test
A org.spf88.test 192.0.2.140
TXT pass-all.spf88.test v=spf1 +all
TXT a.spf88.test v=spf1 a -all
TXT aother.spf88.test v=spf1 a:org.spf88.test -all
TXT mx.spf88.test v=spf1 mx -all
TXT mxcidr.spf88.test v=spf1 mx:mx.spf88.test/30 -all
TXT ip4.spf88.test v=spf1 ip4:192.0.2.128/28 -all
TXT ip6.spf88.test v=spf1 ip6:2001:db8::/32 -all
TXT soft.spf88.test v=spf1 ip4:192.0.2.1 ~all
TXT neutral.spf88.test v=spf1 ?all
TXT default.spf88.test v=spf1 ip4:192.0.2.1
TXT other.spf88.test some other text
TXT two.spf88.test v=spf1 -all
TXT two.spf88.test v=spf1 +all
TXT syntax.spf88.test v=spf1 ip4:300.1.1.1 -all
TXT badmech.spf88.test v=spf1 foo:bar -all
TXT late.spf88.test v=spf1 +all ip4:1.2.3.4/40
TXT include.spf88.test v=spf1 include:ip4.spf88.test -all
TXT inclnone.spf88.test v=spf1 include:nothing.spf88.test -all
TXT redirect.spf88.test v=spf1 redirect=ip4.spf88.test
TXT redirnone.spf88.test v=spf1 redirect=nothing.spf88.test
TXT macro.spf88.test v=spf1 exists:%{ir}.%{v}._spf.%{d2} -all
A 10.2.0.192.in-addr._spf.spf88.test 127.0.0.2
TXT lp.spf88.test v=spf1 exists:%{l}.lp.spf88.test -all
A alice.lp.spf88.test 127.0.0.2
TXT ptr.spf88.test v=spf1 ptr -all
PTR 10.2.0.192.in-addr.arpa host.ptr.spf88.test
A host.ptr.spf88.test 192.0.2.10
SERVFAIL temp.spf88.test
TXT incltemp.spf88.test v=spf1 include:temp.spf88.test -all
TXT lim10.spf88.test v=spf1 a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test -all
TXT lim11.spf88.test v=spf1 a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test a:org.spf88.test -all
TXT void2.spf88.test v=spf1 a:v1.spf88.test a:v2.spf88.test -all
TXT void3.spf88.test v=spf1 a:v1.spf88.test a:v2.spf88.test a:v3.spf88.test -all
# DKIM keys and DMARC policies
TXT sel._domainkey.dkim88.test v=DKIM1; k=rsa; p=$RSAPUB
TXT ed._domainkey.dkim88.test v=DKIM1; k=ed25519; p=$EDPUB
TXT revoked._domainkey.dkim88.test v=DKIM1; p=
TXT sel._domainkey.strict88.test v=DKIM1; p=$RSAPUB
TXT sel._domainkey.sp88.test v=DKIM1; p=$RSAPUB
TXT dkim88.test v=spf1 ip4:192.0.2.10 -all
TXT _dmarc.dkim88.test v=DMARC1; p=reject
TXT _dmarc.strict88.test v=DMARC1; p=quarantine; adkim=s; aspf=s
TXT strict88.test v=spf1 ip4:192.0.2.10 -all
TXT mail.strict88.test v=spf1 ip4:192.0.2.10 -all
TXT _dmarc.sp88.test v=DMARC1; p=none; sp=reject
TXT sp88.test v=spf1 -all
TXT mail.sp88.test v=spf1 ip4:192.0.2.10 -all
TXT e2e88.test v=spf1 ip4:127.0.0.2 -all
TXT e2e-helo.test v=spf1 a:e2e-helo.test -all
A e2e-helo.test 127.0.0.2
EOZ
DNSP=$P
"$BIN/tests/dnsd" 127.0.0.1 $DNSP "$T/zone" > "$T/dns.log" 2> "$T/dns.err" &
echo $! >> "$T/pids"
i=0
while ! grep -q '^ready$' "$T/dns.log" 2> /dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "dnsd ready" grep -q '^ready$' "$T/dns.log"
DNSCACHEIP=127.0.0.1:$DNSP
export DNSCACHEIP

# --- 1. SPF ---
cat > "$T/pyspf.py" <<'EOP'
import sys, dns.resolver, spf
r = dns.resolver.Resolver(configure=False)
r.nameservers = ["127.0.0.1"]
r.port = int(sys.argv[1])
dns.resolver.default_resolver = r
print(spf.check2(i=sys.argv[2], s=sys.argv[3], h=sys.argv[4])[0])
EOP
# spf WANT IP SENDER [HELO]: sluice's result, and python3-spf's
spf() {
  got=$("$BIN/tests/spfq" "$2" "$3" "${4:-helo.spf88.test}" 2> "$T/spfq.err")
  check_eq "spf $3 from $2" "$got" "$1"
  py=$($PY "$T/pyspf.py" $DNSP "$2" "$3" "${4:-helo.spf88.test}" 2> "$T/py.err")
  check_eq "python3-spf agrees: $3 from $2" "$py" "$got"
}
spf pass 198.51.100.1 x@pass-all.spf88.test
spf pass 192.0.2.10 x@a.spf88.test
spf pass 192.0.2.11 x@a.spf88.test
spf fail 192.0.2.12 x@a.spf88.test
spf pass 192.0.2.140 x@aother.spf88.test
spf fail 192.0.2.10 x@aother.spf88.test
spf pass 192.0.2.129 x@mx.spf88.test
spf pass 192.0.2.130 x@mx.spf88.test
spf fail 192.0.2.131 x@mx.spf88.test
spf pass 192.0.2.131 x@mxcidr.spf88.test
spf fail 192.0.2.133 x@mxcidr.spf88.test
spf pass 192.0.2.143 x@ip4.spf88.test
spf fail 192.0.2.144 x@ip4.spf88.test
spf pass 2001:db8::1 x@ip6.spf88.test
spf fail 2001:db9::1 x@ip6.spf88.test
spf fail 192.0.2.1 x@ip6.spf88.test
spf softfail 192.0.2.2 x@soft.spf88.test
spf pass 192.0.2.1 x@soft.spf88.test
spf neutral 192.0.2.2 x@neutral.spf88.test
spf neutral 192.0.2.2 x@default.spf88.test
spf none 192.0.2.2 x@other.spf88.test
spf none 192.0.2.2 x@nothing.spf88.test
spf permerror 192.0.2.2 x@two.spf88.test
spf permerror 192.0.2.2 x@syntax.spf88.test
spf permerror 192.0.2.2 x@badmech.spf88.test
spf permerror 192.0.2.2 x@late.spf88.test
spf pass 192.0.2.129 x@include.spf88.test
spf fail 192.0.2.1 x@include.spf88.test
spf permerror 192.0.2.1 x@inclnone.spf88.test
spf pass 192.0.2.129 x@redirect.spf88.test
spf fail 192.0.2.1 x@redirect.spf88.test
spf permerror 192.0.2.1 x@redirnone.spf88.test
spf pass 192.0.2.10 x@macro.spf88.test
spf fail 192.0.2.11 x@macro.spf88.test
spf pass 192.0.2.1 alice@lp.spf88.test
spf fail 192.0.2.1 bob@lp.spf88.test
spf pass 192.0.2.10 x@ptr.spf88.test
spf fail 192.0.2.11 x@ptr.spf88.test
spf temperror 192.0.2.1 x@temp.spf88.test
spf temperror 192.0.2.1 x@incltemp.spf88.test
spf fail 192.0.2.1 x@lim10.spf88.test
spf permerror 192.0.2.1 x@lim11.spf88.test
spf fail 192.0.2.1 x@void2.spf88.test
spf permerror 192.0.2.1 x@void3.spf88.test
spf pass 192.0.2.10 '' a.spf88.test
spf fail 192.0.2.12 '' a.spf88.test

# --- 2. DKIM, through sluice-authcheck with a stand-in queue ---
C=$H/control
echo mx88.example > "$C/me"
rm -f "$C/authcheck"
chmod 644 "${C:?}"/*
printf '#!/bin/sh\ncat > "%s/q.msg"\ncat <&1 > "%s/q.env"\nexit 0\n' "$T" "$T" > "$T/fakeq"
chmod 755 "$T/fakeq"
cat > "$T/sign.py" <<'EOP'
import sys, dkim
kind, sel, dom, canon, length, tdir = sys.argv[1:7]
msg = sys.stdin.buffer.read()
if kind == "rsa":
    key, alg = open(tdir + "/rsa.pem", "rb").read(), b"rsa-sha256"
else:
    key, alg = open(tdir + "/ed.key", "rb").read(), b"ed25519-sha256"
c = canon.encode().split(b"/")
sig = dkim.sign(msg, sel.encode(), dom.encode(), key, canonicalize=(c[0], c[1]), signature_algorithm=alg,
                include_headers=[b"from", b"to", b"subject", b"date"], length=(length == "l"), linesep=b"\n")
sys.stdout.buffer.write(sig + msg)
EOP
# mkmsg FROM: a message from FROM on stdout
mkmsg() {
  printf 'From: Someone <%s>\nTo: user@mx88.example\nSubject: test  of\n  folded   subject \nDate: Wed, 2 Dec 2026 10:00:00 +0000\nMessage-ID: <x@y>\n\nHello  there \n\nline two\n\n\n' "$1"
}
# sign KIND SEL DOMAIN CANON [l] < msg > signed
sign() { $PY "$T/sign.py" "$1" "$2" "$3" "$4" "${5:--}" "$T"; }
# ac IP SENDER HELO < message: runs sluice-authcheck; $rc; the header in $T/ar
ac() {
  rm -f "$T/q.msg" "$T/q.env"
  printf 'F%s\0Tuser@mx88.example\0\0' "$2" > "$T/env"
  TCPREMOTEIP=$1 SMTPHELO=$3 AUTHCHECK_QUEUE=$T/fakeq "$BIN/sluice-authcheck" 1< "$T/env" 2> "$T/ac.err"
  rc=$?
  awk 'NR == 1 { print; next } /^\t/ { print; next } { exit }' "$T/q.msg" 2> /dev/null | tr -d '\t' | tr '\n' ' ' > "$T/ar"
}
has() { grep -q -- "$1" "$T/ar" || { echo "  header: $(cat "$T/ar")"; return 1; }; }
hasnt() { ! grep -q -- "$1" "$T/ar" || { echo "  header: $(cat "$T/ar")"; return 1; }; }

for kind in rsa:sel ed25519:ed; do
  k=${kind%%:*} sel=${kind#*:}
  for canon in relaxed/relaxed simple/simple relaxed/simple simple/relaxed; do
    mkmsg a@dkim88.test | sign $k $sel dkim88.test $canon > "$T/m"
    ac 192.0.2.99 b@dkim88.test mail.dkim88.test < "$T/m"
    check_eq "$k $canon: exit 0" "$rc" 0
    check "$k $canon: dkim=pass" has "dkim=pass header.d=dkim88.test header.s=$sel header.b="
    check "$k $canon: the message follows the header" grep -q '^Hello  there' "$T/q.msg"
    check "$k $canon: the envelope is handed on" cmp -s "$T/env" "$T/q.env"
    sed 's/^Hello  there/Hello  where/' "$T/m" > "$T/m2"
    ac 192.0.2.99 b@dkim88.test mail.dkim88.test < "$T/m2"
    check "$k $canon: a changed body fails" has "dkim=fail (body hash mismatch) header.d=dkim88.test"
    sed 's/^Subject: test/Subject: TEST/' "$T/m" > "$T/m2"
    ac 192.0.2.99 b@dkim88.test mail.dkim88.test < "$T/m2"
    check "$k $canon: a changed header fails" has "dkim=fail (signature mismatch) header.d=dkim88.test"
  done
done
# relaxed: whitespace changes within lines and folding do not matter
mkmsg a@dkim88.test | sign rsa sel dkim88.test relaxed/relaxed > "$T/m"
sed 's/^Hello  there $/Hello there/; s/^Subject: test  of$/Subject:    test of/' "$T/m" > "$T/m2"
ac 192.0.2.99 b@dkim88.test mail.dkim88.test < "$T/m2"
check "relaxed: changed blanks still pass" has "dkim=pass header.d=dkim88.test"
# CRLF line ends verify the same
sed 's/$/\r/' "$T/m" > "$T/m2"
ac 192.0.2.99 b@dkim88.test mail.dkim88.test < "$T/m2"
check "CRLF message: pass" has "dkim=pass header.d=dkim88.test"
# l=: text added after the signed length does not break it
mkmsg a@dkim88.test | sign rsa sel dkim88.test relaxed/relaxed l > "$T/m"
check "python3-dkim wrote l=" grep -q 'l=' "$T/m"
printf 'appended\n' >> "$T/m"
ac 192.0.2.99 b@dkim88.test mail.dkim88.test < "$T/m"
check "l=: appended text still passes" has "dkim=pass header.d=dkim88.test"
# an empty body
printf 'From: a@dkim88.test\nSubject: empty\n\n' | sign rsa sel dkim88.test simple/simple > "$T/m"
ac 192.0.2.99 b@dkim88.test mail.dkim88.test < "$T/m"
check "empty body, simple: pass" has "dkim=pass header.d=dkim88.test"
printf 'From: a@dkim88.test\nSubject: empty\n\n' | sign ed25519 ed dkim88.test relaxed/relaxed > "$T/m"
ac 192.0.2.99 b@dkim88.test mail.dkim88.test < "$T/m"
check "empty body, relaxed, ed25519: pass" has "dkim=pass header.d=dkim88.test"
# two signatures: both reported
mkmsg a@dkim88.test | sign rsa sel dkim88.test relaxed/relaxed | sign ed25519 ed dkim88.test relaxed/relaxed > "$T/m"
ac 192.0.2.99 b@dkim88.test mail.dkim88.test < "$T/m"
check "two signatures: rsa pass" has "dkim=pass header.d=dkim88.test header.s=sel"
check "two signatures: ed25519 pass" has "dkim=pass header.d=dkim88.test header.s=ed"
# no key, revoked key, unsigned
mkmsg a@dkim88.test | sign rsa nokey dkim88.test relaxed/relaxed > "$T/m"
ac 192.0.2.99 b@dkim88.test mail.dkim88.test < "$T/m"
check "no key: permerror" has "dkim=permerror (no key) header.d=dkim88.test header.s=nokey"
mkmsg a@dkim88.test | sign rsa revoked dkim88.test relaxed/relaxed > "$T/m"
ac 192.0.2.99 b@dkim88.test mail.dkim88.test < "$T/m"
check "revoked key: permerror" has "dkim=permerror (key revoked)"
mkmsg a@dkim88.test | sign rsa ed dkim88.test relaxed/relaxed > "$T/m"
ac 192.0.2.99 b@dkim88.test mail.dkim88.test < "$T/m"
check "rsa signature, ed25519 key: permerror" has "dkim=permerror (key type does not match a=)"
mkmsg a@dkim88.test > "$T/m"
ac 192.0.2.99 b@dkim88.test mail.dkim88.test < "$T/m"
check "unsigned: dkim=none" has "dkim=none"
check "the header names this host" has "^Authentication-Results: mx88.example; "
check "spf for MAIL FROM" has "spf=fail smtp.mailfrom=dkim88.test"
ac 192.0.2.99 '' mail.strict88.test < "$T/m"
check "spf for HELO when MAIL FROM is <>" has "spf=fail smtp.helo=mail.strict88.test"

# --- 3. DMARC ---
# dmarc WANT FROM SIGNDOMAIN IP SENDER: a message from FROM signed by SIGNDOMAIN (- : unsigned)
dmarc() {
  if [ "$3" = - ]; then mkmsg "$2" > "$T/m"; else mkmsg "$2" | sign rsa sel "$3" relaxed/relaxed > "$T/m"; fi
  ac "$4" "$5" mail.test < "$T/m"
  check "dmarc: From $2, d=$3, $5 from $4: $1" has "dmarc=$1"
}
dmarc 'pass (p=reject dis=none) header.from=dkim88.test' a@dkim88.test dkim88.test 192.0.2.99 b@other.test
dmarc 'pass (p=reject dis=none) header.from=sub.dkim88.test' a@sub.dkim88.test dkim88.test 192.0.2.99 b@other.test
dmarc 'fail (p=reject dis=none) header.from=dkim88.test' a@dkim88.test sp88.test 192.0.2.99 b@other.test
dmarc 'pass (p=reject dis=none)' a@dkim88.test - 192.0.2.10 b@dkim88.test
dmarc 'fail (p=reject dis=none)' a@dkim88.test - 192.0.2.99 b@dkim88.test
dmarc 'pass (p=quarantine dis=none) header.from=strict88.test' a@strict88.test strict88.test 192.0.2.99 b@other.test
dmarc 'fail (p=quarantine dis=none) header.from=sub.strict88.test' a@sub.strict88.test strict88.test 192.0.2.99 b@other.test
dmarc 'pass (p=quarantine dis=none)' a@strict88.test - 192.0.2.10 b@strict88.test
dmarc 'fail (p=quarantine dis=none)' a@strict88.test - 192.0.2.10 b@mail.strict88.test
dmarc 'fail (p=none dis=none) header.from=sp88.test' a@sp88.test - 192.0.2.99 b@sp88.test
dmarc 'pass (p=none dis=none) header.from=sp88.test' a@sp88.test - 192.0.2.10 b@mail.sp88.test
dmarc 'fail (p=reject dis=none) header.from=sub.sp88.test' a@sub.sp88.test - 192.0.2.99 b@other.test
dmarc 'pass (p=reject dis=none) header.from=sub.sp88.test' a@sub.sp88.test sp88.test 192.0.2.99 b@other.test
dmarc 'none header.from=nodmarc.test' a@nodmarc.test - 192.0.2.99 b@other.test
printf 'From: a@dkim88.test\nFrom: b@sp88.test\n\nx\n' > "$T/m"
ac 192.0.2.99 b@other.test mail.test < "$T/m"
check "two From fields: dmarc=permerror" has "dmarc=permerror"

# policies of control/authcheck
mkmsg a@dkim88.test > "$T/m"
ac 192.0.2.99 b@other.test mail.test < "$T/m"
check_eq "header only (default): a DMARC reject failure is queued" "$rc" 0
printf 'reject-dmarc\n' > "$C/authcheck"
ac 192.0.2.99 b@other.test mail.test < "$T/m"
check_eq "reject-dmarc: exit 32" "$rc" 32
check "reject-dmarc: nothing handed on" test ! -f "$T/q.msg"
check "reject-dmarc: logged" grep -q "refused: DMARC p=reject fail for dkim88.test" "$T/ac.err"
check "sluice-showctl shows control/authcheck" sh -c "'$BIN/sluice-showctl' 2> /dev/null | grep -A3 '^authcheck:' | grep -q '^ *reject-dmarc$'"
mkmsg a@sp88.test > "$T/m"
ac 192.0.2.99 b@other.test mail.test < "$T/m"
check_eq "reject-dmarc: p=none failure is queued" "$rc" 0
check "reject-dmarc: the header" has "dmarc=fail (p=none dis=none)"
mkmsg a@x.test > "$T/m"
ac 192.0.2.99 b@dkim88.test mail.test < "$T/m"
check_eq "reject-dmarc only: SPF -all failure queued" "$rc" 0
printf 'reject-spf-fail\n' > "$C/authcheck"
ac 192.0.2.99 b@dkim88.test mail.test < "$T/m"
check_eq "reject-spf-fail: exit 32" "$rc" 32
ac 192.0.2.2 b@soft.spf88.test mail.test < "$T/m"
check_eq "reject-spf-fail: softfail queued" "$rc" 0
ac 192.0.2.2 b@temp.spf88.test mail.test < "$T/m"
check_eq "without defer-temperror: temperror queued" "$rc" 0
check "temperror in the header" has "spf=temperror smtp.mailfrom=temp.spf88.test"
printf 'defer-temperror\n' > "$C/authcheck"
ac 192.0.2.2 b@temp.spf88.test mail.test < "$T/m"
check_eq "defer-temperror: exit 75" "$rc" 75
rm -f "$C/authcheck"

# --- 4. Authentication-Results of this host removed, others kept ---
{ printf 'Authentication-Results: mx88.example; spf=pass smtp.mailfrom=forged.test\n'
  printf 'Authentication-Results: (comment) MX88.example;\n\tdkim=pass header.d=forged.test\n'
  printf 'Authentication-Results: other.example; spf=pass smtp.mailfrom=x.test\n'
  mkmsg a@x.test; } > "$T/m"
ac 192.0.2.99 b@other.test mail.test < "$T/m"
check_eq "one Authentication-Results for this host" "$(grep -ci '^Authentication-Results: *\(([^)]*) *\)\?mx88.example' "$T/q.msg")" 1
check "forged fields gone" sh -c "! grep -q forged.test '$T/q.msg'"
check "another host's field kept" grep -q '^Authentication-Results: other.example; spf=pass' "$T/q.msg"
{ i=0; while [ $i -lt 1000 ]; do echo "X-Filler: $i"; i=$((i + 1)); done
  printf 'Authentication-Results: mx88.example; spf=pass smtp.mailfrom=forged.test\n'
  mkmsg a@x.test; } > "$T/m"
ac 192.0.2.99 b@other.test mail.test < "$T/m"
check_eq "more than 1000 header fields: refused (31)" "$rc" 31
check "more than 1000 header fields: nothing handed on" test ! -f "$T/q.msg"

# --- 5. end to end: sluice-smtpd, QMAILQUEUE=sluice-authcheck, sluice-queue ---
role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
echo mx88.example > "$C/rcpthosts"
echo mx88.example > "$C/locals"
echo 0 > "$C/smtpdnamewait"
chmod 644 "${C:?}"/*
SLUICE_HOSTS=$T/no-hosts
export SLUICE_HOSTS
SP=$((P + 1))
printf ':allow,QMAILQUEUE="%s/bin/sluice-authcheck"\n' "$H" > "$T/rules"
tcprules "$T/rules.cdb" "$T/rules.tmp" < "$T/rules" || bad "tcprules"
tcpserver -v -H -R -l mx88.example -x "$T/rules.cdb" -u "$(id -u "$U_DAEMON")" -g "$(id -g "$U_DAEMON")" \
  127.0.0.1 "$SP" "$H/bin/sluice-smtpd" > "$T/tcpserver.log" 2>&1 &
echo $! >> "$T/pids"
wait_for 10 sh -c "ss -Hltn | grep -q ':$SP '"
# queued: the message file queued since the last sw
queued() { find "$H/queue/mess" -type f -newer "$T/mark" | head -n 1; }
sw() {
  touch "$T/mark"
  sleep 1 # -newer compares whole seconds on some systems
  timeout 60 swaks --server 127.0.0.1 --port "$SP" --local-interface 127.0.0.2 "$@" > "$T/swaks.out" 2>&1
}
sw --helo e2e-helo.test --from b@e2e88.test --to user@mx88.example \
  --add-header 'Authentication-Results: mx88.example; dkim=pass header.d=forged.test' --body 'hello'
check "e2e: accepted" grep -q '^<-* *250 2.0.0 ok' "$T/swaks.out"
f=$(queued)
check "e2e: queued" test -n "$f"
if [ -n "$f" ]; then
  check_eq "e2e: exactly one Authentication-Results" "$(grep -c '^Authentication-Results:' "$f")" 1
  check "e2e: above sluice-smtpd's Received line" sh -c "sed -n 2p '$f' | grep -q '^Authentication-Results: mx88.example;'"
  check "e2e: spf=pass for MAIL FROM from 127.0.0.2" grep -q 'spf=pass smtp.mailfrom=e2e88.test' "$f"
  check "e2e: the forged field is gone" sh -c "! grep -q forged.test '$f'"
  check "e2e: the Received line follows" grep -q '^Received: from e2e-helo.test' "$f"
fi
sw --helo e2e-helo.test --from '<>' --to user@mx88.example --body 'bounce'
f=$(queued)
check "e2e: null sender queued" test -n "$f"
[ -n "$f" ] && check "e2e: SPF of the HELO name (SMTPHELO)" grep -q 'spf=pass smtp.helo=e2e-helo.test' "$f"
printf 'reject-spf-fail\n' > "$C/authcheck"
chmod 644 "$C/authcheck"
sw --helo e2e-helo.test --from b@dkim88.test --to user@mx88.example --body 'forged'
check "e2e: reject-spf-fail gives 550 5.7.1" grep -q '^<\*\* *550 5.7.1' "$T/swaks.out"
rm -f "$C/authcheck"

done_testing
