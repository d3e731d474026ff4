#!/bin/sh
# 80-smtpd.sh: sluice-smtpd under a real tcpserver (ucspi-tcp-ipv6) as
# the daemon user, injecting with the real setuid sluice-queue (or a
# QMAILQUEUE stand-in), driven by swaks, python3 smtplib and raw bytes.
#
#  1. every command and its sequencing, EHLO keywords, enhanced codes;
#  2. an accepted message is in the queue with the right envelope, a
#     Received line and an intact (dot-unstuffed, LF) body; 8-bit body;
#     swaks plain and --pipeline; raw pipelining; IPv6 on ::1;
#  3. relaying only with RELAYCLIENT (set by tcprules); rcpthosts with
#     .suffix, morercpthosts.cdb; box@[own IP] goes to localiphost;
#     badmailfrom; SMTPUTF8 with a UTF-8 address (smtplib);
#  4. sluice-newrcpt and the RCPT check of local recipients;
#  5. SIZE at MAIL and databytes during DATA; too many recipients; the
#     line length limit; loop detection; 20 errors; the qq exit codes;
#  6. every SMTP smuggling variant and NUL: refused, nothing queued;
#  7. timeoutsmtpd with a silent client; 200 connections of random
#     bytes: no crash (tcpserver -v end statuses), nothing hangs.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh
PATH=$PATH:/usr/sbin:/sbin
export PATH

for p in tcpserver tcprules swaks python3; do
  command -v $p > /dev/null 2>&1 || { bad "$p installed" "apt-get install ucspi-tcp-ipv6 swaks python3"; done_testing; }
done
[ -x "$H/bin/sluice-smtpd" ] || { bad "sluice-smtpd installed"; done_testing; }

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
DUID=$(id -u "$U_DAEMON")
DGID=$(id -g "$U_DAEMON")
C=$H/control
QD=$H/queue

# ports: unlikely to be used, distinct per server
PBASE=$((27400 + $$ % 500))
P_RELAY=$PBASE P_NORELAY=$((PBASE + 1)) P_V6=$((PBASE + 2)) P_QQ53=$((PBASE + 3)) P_QQ31=$((PBASE + 4))

TUSER=sluicet$$
servers=""
cleanup() {
  for p in $servers; do kill "$p" 2> /dev/null; done
  for p in $servers; do wait "$p" 2> /dev/null; done
  userdel "$TUSER" > /dev/null 2>&1
  type restore_alias > /dev/null 2>&1 && restore_alias
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# control files
echo mx.example.test > "$C/me"
echo "smtp.example.test hello" > "$C/smtpgreeting"
printf 'example.test\n.sub.example.test\n' > "$C/rcpthosts"
echo example.test > "$C/locals"
echo example.test > "$C/localiphost"
# the client's name is not looked up (no hosts file, no DNS): the
# Received lines below say "unknown" on any machine (87-nodns.sh tests
# the lookup)
echo 0 > "$C/smtpdnamewait"
SLUICE_HOSTS=$T/no-hosts
export SLUICE_HOSTS
printf 'spammer@bad.test\n@badhost.test\n' > "$C/badmailfrom"
printf '+17,0:more.example.test->\n+10,0:.more.test->\n\n' | "$BIN/tests/cdbtool" make "$C/morercpthosts.cdb" \
  || bad "morercpthosts.cdb made"
chmod 644 "${C:?}"/*

# the queue stand-ins: read everything, exit with a code
for code in 53 31; do
  printf '#!/bin/sh\ncat > /dev/null\ncat <&1 > /dev/null\nexit %s\n' "$code" > "$T/qq$code"
  chmod 755 "$T/qq$code"
done

# start_server NAME ADDR PORT RULES: tcpserver -v with rules from text
start_server() {
  printf '%s' "$4" > "$T/$1.rules"
  tcprules "$T/$1.cdb" "$T/$1.tmp" < "$T/$1.rules" || bad "tcprules $1"
  tcpserver -v -H -R -l mx.example.test -x "$T/$1.cdb" -u "$DUID" -g "$DGID" "$2" "$3" "$H/bin/sluice-smtpd" \
    > "$T/$1.log" 2>&1 &
  servers="$servers $!"
}
start_server relay 127.0.0.1 "$P_RELAY" '127.0.0.1:allow,RELAYCLIENT=""
:allow
'
start_server norelay 127.0.0.1 "$P_NORELAY" ':allow
'
start_server v6 ::1 "$P_V6" ':allow
'
start_server qq53 127.0.0.1 "$P_QQ53" ":allow,QMAILQUEUE=\"$T/qq53\"
"
start_server qq31 127.0.0.1 "$P_QQ31" ":allow,QMAILQUEUE=\"$T/qq31\"
"

# The client helper: raw bytes, smtplib, silence, random bytes.
cat > "$T/cli.py" <<'EOF'
import socket, sys, time, os, smtplib, random
def conn(host, port, t=15):
    s = socket.create_connection((host, int(port)), timeout=t)
    return s
def readall(s, limit=30):
    out = b""; end = time.time() + limit
    while time.time() < end:
        try:
            d = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not d:
            break
        out += d
    return out
import codecs
def unesc(a):
    return codecs.escape_decode(os.fsencode(a))[0]
cmd = sys.argv[1]
if cmd == "raw":      # raw HOST PORT BYTES: send, half-close, print all replies
    s = conn(sys.argv[2], sys.argv[3])
    data = unesc(sys.argv[4]) if sys.argv[4] != "-" else sys.stdin.buffer.read()
    try:
        s.sendall(data); s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    sys.stdout.buffer.write(readall(s))
elif cmd == "silent": # silent HOST PORT: seconds until the server closes, and what it said
    s = conn(sys.argv[2], sys.argv[3], 30)
    t0 = time.time(); d = readall(s, 25)
    print(int(time.time() - t0)); sys.stdout.buffer.write(d)
elif cmd == "stall":  # stall HOST PORT BYTES: send, keep the connection open, time the close
    s = conn(sys.argv[2], sys.argv[3], 30)
    s.sendall(unesc(sys.argv[4]))
    t0 = time.time(); d = readall(s, 25)
    print(int(time.time() - t0)); sys.stdout.buffer.write(d)
elif cmd == "utf8":   # utf8 HOST PORT FROM TO
    m = smtplib.SMTP(sys.argv[2], int(sys.argv[3]), timeout=15)
    m.ehlo("client.test")
    ok = m.has_extn("smtputf8")
    r = m.sendmail(sys.argv[4], [sys.argv[5]], "Subject: t\u00e9st\r\n\r\nb\u00f6dy\r\n".encode("utf-8"),
                   mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    m.quit(); print("ok" if ok and not r else "bad")
elif cmd == "smtplib": # smtplib HOST PORT FROM TO... : one message; prints refused or ok
    m = smtplib.SMTP(sys.argv[2], int(sys.argv[3]), timeout=15)
    try:
        r = m.sendmail(sys.argv[4], sys.argv[5:], b"Subject: s\r\n\r\nhello\r\n.dot\r\n")
        print("ok", sorted(r.keys()))
    except smtplib.SMTPRecipientsRefused as e:
        print("refused", " ".join(str(v[0]) for v in e.recipients.values()))
    except smtplib.SMTPResponseException as e:
        print("error", e.smtp_code)
    try:
        m.quit()
    except Exception:
        pass
elif cmd == "random": # random HOST PORT N: N connections of random bytes
    rnd = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    heads = [b"", b"EHLO x\r\n", b"EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n",
             b"HELO x\r\nMAIL FROM:<a@b.test> SIZE=1\r\nRCPT TO:<x@[127.0.0.1]>\r\n"]
    n = 0
    for i in range(int(sys.argv[4])):
        try:
            s = conn(sys.argv[2], sys.argv[3], 10)
            body = os.urandom(rnd.randrange(1, 6000))
            if i % 3 == 0:  # mostly printable lines with random CR/LF placement
                body = bytes(rnd.choice(b"MAILRCPT FROM:<>@.\r\n\x00 abcdEHLO") for _ in range(rnd.randrange(1, 3000)))
            s.sendall(heads[i % 4] + body)
            s.shutdown(socket.SHUT_WR)
            readall(s, 10); s.close(); n += 1
        except OSError:
            n += 1
    print(n)
EOF
cli() { timeout 60 python3 "$T/cli.py" "$@"; }

# wait for the servers
for port in "$P_RELAY" "$P_NORELAY" "$P_QQ53" "$P_QQ31"; do
  i=0
  until cli raw 127.0.0.1 "$port" 'QUIT\r\n' 2> /dev/null | grep -q '^221'; do
    i=$((i + 1)); [ $i -gt 50 ] && break; sleep 0.1
  done
done
i=0
until cli raw ::1 "$P_V6" 'QUIT\r\n' 2> /dev/null | grep -q '^221'; do
  i=$((i + 1)); [ $i -gt 50 ] && break; sleep 0.1
done

qclear() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f -exec rm -f {} +; }
qcount() { find "$QD/todo" -type f | wc -l | tr -d ' '; }
# the envelope of the one queued message, NULs as '|', without u/p
qenv() { f=$(find "$QD/todo" -type f | head -n 1); [ -n "$f" ] && tr '\0' '|' < "$f" | sed 's/^u[0-9]*|p[0-9]*|s[0-9.]*|//'; }
qmess() { f=$(find "$QD/mess" -type f | head -n 1); [ -n "$f" ] && cat "$f"; }
# codes PORT TEXT: the reply codes (EHLO's "250-" lines left out)
raw() { cli raw 127.0.0.1 "$1" "$2" | tr -d '\r'; }
codes() { raw "$1" "$2" | grep -v '^250-' | cut -c1-3 | tr '\n' ' ' | sed 's/ $//'; }

E='EHLO client.test\r\n'

# --- 1. commands and sequencing ------------------------------------------
out=$(raw "$P_NORELAY" "${E}QUIT\r\n")
check_eq "greeting" "$(echo "$out" | sed -n 1p)" "220 smtp.example.test hello ESMTP"
check_eq "EHLO keywords" "$(echo "$out" | sed -n '2,9p' | tr '\n' ' ')" \
  "250-mx.example.test 250-PIPELINING 250-8BITMIME 250-SIZE 10240000 250-ENHANCEDSTATUSCODES 250-CHUNKING 250-DSN 250 SMTPUTF8 "
check_eq "QUIT" "$(echo "$out" | sed -n 10p)" "221 2.0.0 mx.example.test"
out=$(raw "$P_NORELAY" 'HELO client.test\r\nNOOP\r\nVRFY joe\r\nHELP\r\nRSET\r\nEXPN x\r\nFOO\r\nQUIT\r\n')
check_eq "HELO NOOP VRFY HELP RSET EXPN unknown" "$(echo "$out" | cut -c1-9 | tr '\n' ' ')" \
  "220 smtp. 250 mx.ex 250 2.0.0 252 2.5.2 214 2.0.0 250 2.0.0 502 5.5.1 500 5.5.1 221 2.0.0 "
check_eq "MAIL before EHLO" "$(codes "$P_NORELAY" 'MAIL FROM:<a@b.test>\r\nQUIT\r\n')" "220 503 221"
check_eq "RCPT before MAIL, DATA before MAIL" \
  "$(codes "$P_NORELAY" "${E}RCPT TO:<u@example.test>\r\nDATA\r\nQUIT\r\n" | sed 's/^220 250 //')" "503 503 221"
check_eq "nested MAIL, DATA without recipient, DATA argument" \
  "$(codes "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nMAIL FROM:<a@b.test>\r\nDATA x\r\nDATA\r\nRSET\r\nQUIT\r\n" | sed 's/^220 250 //')" \
  "250 503 501 554 250 221"
check_eq "syntax errors" \
  "$(codes "$P_NORELAY" "${E}MAIL FROM <a@b.test>\r\nMAIL FROM:<a@b.test> FOO=1\r\nMAIL FROM:<a@b.test> SIZE=x\r\nMAIL FROM:<a@>\r\nHELO\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<joe>\r\nRCPT TO:<u@example.test> FOO=1\r\nQUIT\r\n" | sed 's/^220 250 //')" \
  "501 555 501 501 501 250 501 555 221"
out=$(raw "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nRCPT TO:<v@other.test>\r\nQUIT\r\n")
check_eq "enhanced codes on MAIL/RCPT" "$(echo "$out" | grep -v '^250-' | sed -n '3,5p' | cut -c1-9 | tr '\n' ' ')" "250 2.1.0 250 2.1.5 553 5.7.1 "
out=$(raw "$P_NORELAY" 'NOOP\nQUIT\r\n')
check_eq "bare LF in a command: 421" "$(echo "$out" | sed -n 2p | cut -c1-9)" "421 4.5.0"
out=$(raw "$P_NORELAY" 'NOOP\rQUIT\r\n')
check_eq "bare CR in a command: 421" "$(echo "$out" | sed -n 2p | cut -c1-9)" "421 4.5.0"
check_eq "NUL in a command" "$(codes "$P_NORELAY" 'NO\0OP\r\nQUIT\r\n')" "220 500 221"
errs=""; i=0; while [ $i -lt 25 ]; do errs="${errs}BOGUS\\r\\n"; i=$((i + 1)); done
out=$(codes "$P_NORELAY" "${errs}QUIT\r\n")
check_eq "20 errors close the session" "$(echo "$out" | tr ' ' '\n' | grep -c 500) $(echo "$out" | tr ' ' '\n' | tail -n 1)" "20 421"

# --- 2. accepted messages --------------------------------------------------
qclear
out=$(raw "$P_NORELAY" "${E}MAIL FROM:<a@b.test> BODY=8BITMIME SIZE=40\r\nRCPT TO:<u@example.test>\r\nRCPT TO:<Postmaster>\r\nRCPT TO:<w@x.sub.example.test>\r\nDATA\r\nSubject: s\r\n\r\n..dot\r\nb\xe9\xff 8bit\r\n.\r\nQUIT\r\n")
check "raw message: 250 ok qp" sh -c "echo '$out' | grep -q '^250 2.0.0 ok qp [0-9]*\$'"
check_eq "raw message: one in the queue" "$(qcount)" 1
check_eq "raw message: envelope" "$(qenv)" "Fa@b.test|Tu@example.test|TPostmaster|Tw@x.sub.example.test|"
qmess > "$T/mess"
check_eq "raw message: Received line" "$(sed -n 2,3p "$T/mess" | sed 's/; .*//')" \
  "Received: from client.test (unknown [127.0.0.1])
  by mx.example.test with ESMTP"
printf 'Subject: s\n\n.dot\nb\351\377 8bit\n' > "$T/want"
check "raw message: body intact, unstuffed, LF" sh -c "tail -n +4 '$T/mess' | cmp -s - '$T/want'"
check "log line for the transaction" grep -q "^sluice-smtpd: pid [0-9]* from 127.0.0.1 helo client.test mail <a@b.test> rcpt <u@example.test> rcpt <Postmaster> rcpt <w@x.sub.example.test> bytes 26 result 250 qp [0-9]*\$" "$T/norelay.log"

qclear
head -c 3000 /dev/urandom | od -An -tx1 | tr -d ' \n' | fold -w 70 > "$T/body"
sw() { p=$1 to=$2; shift 2; timeout 60 swaks --server 127.0.0.1 --port "$p" --helo swaks.test --from s@sender.test --to "$to" --body "$T/body" "$@" > "$T/swaks.out" 2>&1; }
sw "$P_NORELAY" u@example.test
check_eq "swaks: exit 0" "$?" 0
check_eq "swaks: queued" "$(qcount)" 1
check_eq "swaks: envelope" "$(qenv)" "Fs@sender.test|Tu@example.test|"
check "swaks: body intact" grep -qxF "$(sed -n 5p "$T/body")" $(find "$QD/mess" -type f)
qclear
sw "$P_NORELAY" u@example.test --pipeline
check_eq "swaks --pipeline: exit 0" "$?" 0
check "swaks --pipeline: pipelining used" grep -q 'PIPELINING' "$T/swaks.out"
check_eq "swaks --pipeline: queued" "$(qcount)" 1
qclear
printf 'Subject: 8bit\n\nGr\374\337e aus K\366ln \342\202\254\n' > "$T/8bit"
timeout 60 swaks --server 127.0.0.1 --port "$P_NORELAY" --from s@sender.test --to u@example.test --data "$T/8bit" > "$T/swaks.out" 2>&1
check_eq "swaks 8-bit body: exit 0" "$?" 0
{ cat "$T/8bit"; echo; } > "$T/8bit.want" # swaks adds an empty line
check "swaks 8-bit body: bytes intact" sh -c "tail -n 4 \$(find '$QD/mess' -type f) | cmp -s - '$T/8bit.want'"
qclear
out=$(cli raw ::1 "$P_V6" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n" | tr -d '\r')
check "IPv6: accepted" sh -c "echo '$out' | grep -q '^250 2.0.0 ok'"
check "IPv6: Received names [IPv6:::1]" grep -q '^Received: from client.test (unknown \[IPv6:::1\])$' $(find "$QD/mess" -type f | head -n 1)
qclear
# pipelined transactions, several in one write
out=$(codes "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\none\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<v@example.test>\r\nDATA\r\ntwo\r\n.\r\nQUIT\r\n")
check_eq "pipelined: two messages" "$(echo "$out" | sed 's/^220 250 //')" "250 250 354 250 250 250 354 250 221"
check_eq "pipelined: two queued" "$(qcount)" 2

# --- 3. relay control ------------------------------------------------------
qclear
check_eq "no RELAYCLIENT: foreign domain refused" "$(cli smtplib 127.0.0.1 "$P_NORELAY" a@b.test v@other.test)" "refused 553"
check_eq "no RELAYCLIENT: IPv6 client refused" "$(cli smtplib ::1 "$P_V6" a@b.test v@other.test)" "refused 553"
check_eq "no RELAYCLIENT: .suffix rcpthosts" "$(cli smtplib 127.0.0.1 "$P_NORELAY" a@b.test v@deep.x.sub.example.test)" "ok []"
check_eq "no RELAYCLIENT: the suffix itself is not covered" "$(cli smtplib 127.0.0.1 "$P_NORELAY" a@b.test v@sub.example.test)" "refused 553"
check_eq "morercpthosts.cdb exact" "$(cli smtplib 127.0.0.1 "$P_NORELAY" a@b.test v@more.example.test)" "ok []"
check_eq "morercpthosts.cdb .suffix" "$(cli smtplib 127.0.0.1 "$P_NORELAY" a@b.test v@a.b.more.test)" "ok []"
check_eq "some recipients refused" "$(cli smtplib 127.0.0.1 "$P_NORELAY" a@b.test u@example.test v@other.test)" "ok ['v@other.test']"
qclear
check_eq "RELAYCLIENT: foreign domain accepted" "$(cli smtplib 127.0.0.1 "$P_RELAY" a@b.test v@other.test)" "ok []"
check_eq "RELAYCLIENT: queued" "$(qenv)" "Fa@b.test|Tv@other.test|"
qclear
check_eq "box@[own IP] accepted" "$(codes "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<box@[127.0.0.1]>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n" | sed 's/^220 250 //')" "250 250 354 250 221"
check_eq "box@[own IP] rewritten to localiphost" "$(qenv)" "Fa@b.test|Tbox@example.test|"
check_eq "other literal refused" "$(codes "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<box@[127.0.0.2]>\r\nQUIT\r\n" | sed 's/^220 250 //')" "250 553 221"
out=$(raw "$P_NORELAY" "${E}MAIL FROM:<spammer@bad.test>\r\nRCPT TO:<u@example.test>\r\nRSET\r\nMAIL FROM:<x@badhost.test>\r\nRCPT TO:<u@example.test>\r\nMAIL FROM:<ok@b.test>\r\nQUIT\r\n" | grep -v '^250-' | sed -n '3,$p' | cut -c1-9 | tr '\n' ' ')
check_eq "badmailfrom: MAIL 250, RCPT 553" "$out" "250 2.1.0 553 5.7.1 250 2.0.0 250 2.1.0 553 5.7.1 503 5.5.1 221 2.0.0 "
mv "$C/rcpthosts" "$C/rcpthosts.off"
check_eq "no rcpthosts: a listed domain refused too" "$(cli smtplib 127.0.0.1 "$P_NORELAY" a@b.test u@example.test)" "refused 553"
check_eq "no rcpthosts: RELAYCLIENT still relays" "$(cli smtplib 127.0.0.1 "$P_RELAY" a@b.test v@other.test)" "ok []"
check "no rcpthosts: a warning in the log" grep -q 'sluice-smtpd: warning: control/rcpthosts is missing' "$T/norelay.log"
mv "$C/rcpthosts.off" "$C/rcpthosts"
qclear
check_eq "SMTPUTF8 with smtplib" "$(cli utf8 127.0.0.1 "$P_NORELAY" "j$(printf '\303\266')rg@b.test" "$(printf '\303\274')ser@example.test")" ok
check_eq "SMTPUTF8: envelope, with the option U" "$(qenv)" "$(printf 'OU|Fj\303\266rg@b.test|T\303\274ser@example.test|')"
check "SMTPUTF8: protocol UTF8SMTP" grep -q '^  by mx.example.test with UTF8SMTP; ' $(find "$QD/mess" -type f | head -n 1)
check_eq "UTF-8 address without SMTPUTF8: 553 5.6.7" \
  "$(raw "$P_NORELAY" "${E}MAIL FROM:<j$(printf '\303\266')rg@b.test>\r\nQUIT\r\n" | grep -v '^250-' | sed -n 3p | cut -c1-9)" "553 5.6.7"

# --- 4. recipient check for local domains ----------------------------------
THOME=$T/home
mkdir "$THOME"
useradd -M -N -s /bin/sh -d "$THOME" "$TUSER" > /dev/null 2>&1 || bad "useradd $TUSER"
chown "$TUSER" "$THOME"
touch "$THOME/.qmail-list" "$THOME/.qmail-ext-default" "$THOME/.qmail-a:b"
mkdir -p "$H/users"
printf '=virtual:%s:%s:%s:%s:::\n+pre-:%s:%s:%s:%s:-::\n.\n' "$TUSER" "$(id -u "$TUSER")" "$(id -g "$TUSER")" "$THOME" \
  "$TUSER" "$(id -u "$TUSER")" "$(id -g "$TUSER")" "$THOME" > "$H/users/assign"
# the alias user's files live in conf-home/alias (sluice-getpw(8))
AH=$H/alias
[ -d "$AH" ] || { mkdir -p "$AH"; chown "$(role alias)" "$AH"; }
for f in .qmail-default .qmail-mailer-daemon .qmail-owner-default; do
  [ -e "$AH/$f" ] && cp -p "$AH/$f" "$T/saved$f"
done
restore_alias() {
  for f in .qmail-default .qmail-mailer-daemon .qmail-owner-default; do
    rm -f "$AH/$f"; [ -e "$T/saved$f" ] && cp -p "$T/saved$f" "$AH/$f"
  done
}
rm -f "$AH/.qmail-default"
touch "$AH/.qmail-mailer-daemon" "$AH/.qmail-owner-default"
"$H/bin/sluice-newrcpt"
check_eq "sluice-newrcpt: exit 0" "$?" 0
check_eq "rcptcheck.cdb mode 0644" "$(stat -c %a "$C/rcptcheck.cdb")" 644
check_eq "rcptcheck.cdb: key for the user (an account of /etc/passwd: u and its name)" "$("$BIN/tests/cdbtool" get "$C/rcptcheck.cdb" "$TUSER")" "u$TUSER"
rc() { codes "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<$1>\r\nQUIT\r\n" | sed 's/^220 250 250 //; s/ 221$//'; }
check_eq "rcptcheck: user" "$(rc "$TUSER@example.test")" 250
check_eq "rcptcheck: user in upper case" "$(rc "$(echo "$TUSER" | tr a-z A-Z)@EXAMPLE.test")" 250
check_eq "rcptcheck: .qmail-list" "$(rc "$TUSER-list@example.test")" 250
check_eq "rcptcheck: .qmail-a:b gives a.b" "$(rc "$TUSER-a.b@example.test")" 250
check_eq "rcptcheck: .qmail-ext-default" "$(rc "$TUSER-ext-foo-bar@example.test")" 250
check_eq "rcptcheck: user-other refused" "$(rc "$TUSER-other@example.test")" 550
check_eq "rcptcheck: unknown user refused 550" "$(rc "nosuchuser@example.test")" 550
check_eq "rcptcheck: assign exact" "$(rc "virtual@example.test")" 250
check_eq "rcptcheck: assign prefix" "$(rc "pre-anything@example.test")" 250
check_eq "rcptcheck: alias .qmail-mailer-daemon" "$(rc "mailer-daemon@example.test")" 250
check_eq "rcptcheck: alias .qmail-owner-default" "$(rc "owner-x@example.test")" 250
check_eq "rcptcheck: postmaster always" "$(rc "postmaster@example.test")" 250
check_eq "rcptcheck: not for non-local domains" "$(rc "nosuchuser@x.sub.example.test")" 250
out=$(raw "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<nosuchuser@example.test>\r\nQUIT\r\n" | grep -v '^250-' | sed -n 4p | cut -c1-9)
check_eq "rcptcheck: 550 5.1.1" "$out" "550 5.1.1"
touch "$AH/.qmail-default"
"$H/bin/sluice-newrcpt"
check_eq "alias .qmail-default turns the check off" "$(rc "nosuchuser@example.test")" 250
rm -f "$C/rcptcheck.cdb"
restore_alias
check_eq "no rcptcheck.cdb: no check" "$(rc "nosuchuser@example.test")" 250

# --- 5. limits -------------------------------------------------------------
echo 1000 > "$C/databytes"
out=$(raw "$P_NORELAY" "${E}MAIL FROM:<a@b.test> SIZE=1001\r\nMAIL FROM:<a@b.test> SIZE=1000\r\nQUIT\r\n")
check_eq "EHLO advertises SIZE 1000" "$(echo "$out" | grep -c '^250-SIZE 1000$')" 1
check_eq "SIZE over databytes: 552 5.3.4 at MAIL" "$(echo "$out" | grep -v '^250-' | sed -n '3,4p' | cut -c1-9 | tr '\n' ' ')" "552 5.3.4 250 2.1.0 "
qclear
big=$(head -c 1500 /dev/zero | tr '\0' 'x')
out=$(codes "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n$big\r\n.\r\nNOOP\r\nQUIT\r\n" | sed 's/^220 250 //')
check_eq "message over databytes: 552 after the data" "$out" "250 250 354 552 250 221"
check_eq "message over databytes: nothing queued" "$(qcount)" 0
check_eq "message over databytes: no mess file left" "$(find "$QD/mess" -type f | wc -l | tr -d ' ')" 0
rm -f "$C/databytes"
out=$(codes "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n$big\r\n.\r\nQUIT\r\n" | sed 's/^220 250 //')
check_eq "without databytes the same message is accepted" "$out" "250 250 354 250 221"
qclear

rcpts=""; i=0; while [ $i -lt 1001 ]; do rcpts="${rcpts}RCPT TO:<u$i@example.test>\\r\\n"; i=$((i + 1)); done
out=$(raw "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\n${rcpts}DATA\r\nx\r\n.\r\nQUIT\r\n")
check_eq "1000 recipients accepted" "$(echo "$out" | grep -c '^250 2.1.5')" 1000
check_eq "the 1001st: 452 4.5.3" "$(echo "$out" | grep -c '^452 4.5.3')" 1
check_eq "1000 recipients queued" "$(qenv | tr '|' '\n' | grep -c '^T')" 1000
qclear
echo 2 > "$C/maxrcpt"
check_eq "maxrcpt 2" "$(codes "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nQUIT\r\n" | sed 's/^220 250 250 //')" "250 250 452 221"
rm -f "$C/maxrcpt"

long=$(head -c 2000 /dev/zero | tr '\0' 'x')
out=$(raw "$P_NORELAY" "NOOP $long\r\nNOOP\r\nMAIL FROM:<$long@b.test>\r\nQUIT\r\n")
check_eq "line too long: 500 5.5.2, then the session goes on" "$(echo "$out" | sed -n '2,5p' | cut -c1-9 | tr '\n' ' ')" "500 5.5.2 250 2.0.0 500 5.5.2 221 2.0.0 "
ok999=$(head -c 993 /dev/zero | tr '\0' 'x')
check_eq "a 1000-byte line is not too long" "$(codes "$P_NORELAY" "NOOP $ok999\r\nQUIT\r\n")" "220 250 221"

hops() { i=0; while [ $i -lt "$1" ]; do printf 'Received: from h%s by x\\r\\n' $i; i=$((i + 1)); done; }
qclear
out=$(codes "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n$(hops 100)Subject: loop\r\n\r\nx\r\n.\r\nQUIT\r\n" | sed 's/^220 250 //')
check_eq "100 Received lines: 554 loop" "$out" "250 250 354 554 221"
check_eq "loop: nothing queued" "$(qcount)" 0
out=$(codes "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n$(hops 99)Subject: no loop\r\n\r\nx\r\n.\r\nQUIT\r\n" | sed 's/^220 250 //')
check_eq "99 Received lines: accepted" "$out" "250 250 354 250 221"
qclear

out=$(raw "$P_QQ53" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n" | grep -v '^250-' | sed -n 6p)
check_eq "qq exit 53: 451 temporary" "$out" "451 4.3.0 qq write error or disk full"
out=$(raw "$P_QQ31" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n" | grep -v '^250-' | sed -n 6p | cut -c1-4)
check_eq "qq exit 31: 554 permanent" "$out" "554 "

# --- 6. SMTP smuggling -------------------------------------------------------
qclear
n=0
for v in '\n.\n' '\n.\r\n' '\r.\r' '\r\n.\r' '\r.\r\n' '\r\n.\n' '\n.\r' '\r\n.\n\r\n' '\r\n\0.\r\n'; do
  n=$((n + 1))
  out=$(raw "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\nSubject: x\r\n\r\nbody${v}MAIL FROM:<admin@example.test>\r\nRCPT TO:<v@example.test>\r\nDATA\r\nsmuggled\r\n.\r\nQUIT\r\n")
  got=$(echo "$out" | tr -d '\r' | grep -v '^250-' | sed -n '6,$p' | cut -c1-9 | tr '\n' ' ')
  case $v in
    *'\0'*) want="554 5.6.0 221 2.0.0 " ;;
    *) want="554 5.5.0 221 2.0.0 " ;;
  esac
  check_eq "smuggling variant $n refused, the rest is data" "$got" "$want"
done
check_eq "smuggling: nothing queued" "$(qcount)" 0
check_eq "smuggling: no mess file" "$(find "$QD/mess" -type f | wc -l | tr -d ' ')" 0
check "smuggling: reason in the reply" sh -c "cli() { timeout 60 python3 '$T/cli.py' \"\$@\"; }; cli raw 127.0.0.1 $P_NORELAY '${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\nx\n.\r\n.\r\nQUIT\r\n' | grep -q '^554 5.5.0 bare LF/CR not accepted'"
# after a refused message the session is usable again
out=$(codes "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\nx\r.\r\n.\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\nclean\r\n.\r\nQUIT\r\n" | sed 's/^220 250 //')
check_eq "smuggling: then a clean message" "$out" "250 250 354 554 250 250 354 250 221"
check_eq "smuggling: only the clean one queued" "$(qcount)" 1
check "smuggling: the clean body" sh -c "tail -n 1 \$(find '$QD/mess' -type f) | grep -qx clean"
qclear

# --- 7. timeouts and random input ----------------------------------------------
echo 2 > "$C/timeoutsmtpd"
out=$(cli silent 127.0.0.1 "$P_NORELAY" | tr -d '\r')
secs=$(echo "$out" | sed -n 1p)
check "timeout 2: closed after 1..8 s (took $secs)" test "$secs" -ge 1 -a "$secs" -le 8
check "timeout: 421 4.4.2" sh -c "echo '$out' | grep -q '^421 4.4.2'"
out=$(cli stall 127.0.0.1 "$P_NORELAY" "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\npartial" | tr -d '\r')
secs=$(echo "$out" | sed -n 1p)
check "timeout in DATA: closed after 1..8 s (took $secs)" test "$secs" -ge 1 -a "$secs" -le 8
check "timeout in DATA: 421 4.4.2" sh -c "echo '$out' | grep -q '^421 4.4.2'"
check_eq "timeout in DATA: nothing queued" "$(qcount)" 0
rm -f "$C/timeoutsmtpd"

start=$(date +%s)
n=$(cli random 127.0.0.1 "$P_NORELAY" 200 $$)
check_eq "200 random connections made" "$n" 200
check "random connections took under 120 s" test $(( $(date +%s) - start )) -lt 120
n=$(cli random ::1 "$P_V6" 20 $$)
check_eq "20 random connections on ::1" "$n" 20
check_eq "random input: nothing queued" "$(qcount)" 0
sleep 1
for l in norelay v6; do
  ends=$(grep -c ' end [0-9]* status ' "$T/$l.log")
  check "$l: tcpserver logged ends ($ends)" test "$ends" -ge 20
  crashed=$(grep ' end [0-9]* status ' "$T/$l.log" | awk '{ s = $NF; if (s % 256 != 0) print }')
  check_eq "$l: no sluice-smtpd killed by a signal" "$crashed" ""
done
check_eq "no core files" "$(find "$H" "$T" -name 'core*' -type f | wc -l | tr -d ' ')" 0
check "the server still answers" sh -c "cli() { timeout 60 python3 '$T/cli.py' \"\$@\"; }; cli raw 127.0.0.1 $P_NORELAY 'QUIT\r\n' | grep -q '^221'"
qclear
done_testing
