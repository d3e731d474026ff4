#!/bin/sh
# 91-auth.sh: SMTP AUTH and the submission services (issue 16, server
# side), in a private instance with a test CA made by openssl.
#
#  1. sluice-checkpassword alone: installed root:shadow 2755; virtual
#     users (control/authpasswd.cdb by sluice-newauth, root:shadow 0640,
#     yescrypt and SHA-512 hashes) and a system user (shadow): right
#     password 0, wrong 1, unknown login 1, root refused, malformed or
#     oversized fd 3 input 2; a user other than the daemon user and
#     root is refused (111); the daemon user cannot read the cdb;
#  2. the real run scripts boot/sluice-submission (587: STARTTLS) and
#     boot/sluice-submissions (465: implicit TLS), installed by
#     tools/services with control/tcp.submission, started on test ports,
#     with boot/sluice-tlsgate (587's STARTTLS goes through it);
#     a third tcpserver is port 25 (sluice-tlsd, STARTTLS);
#  3. python smtplib on 587: before STARTTLS no AUTH in EHLO, AUTH
#     refused 538, MAIL refused 530; after it AUTH PLAIN LOGIN offered,
#     MAIL before AUTH 530 5.7.0; wrong password 535 5.7.8 and relay
#     refused; good password 235 then relay to a remote domain queued
#     with ESMTPSA; AUTH twice 503; AUTH in a transaction 503; '*'
#     cancels 501; bad base64 501; three failures close the session;
#     submission's header fixes (sluice-inject in queue mode): Date and
#     Message-ID added when missing, a client's Date kept, Bcc removed
#     from the header but not from the envelope;
#  4. swaks --auth PLAIN and LOGIN with --tls on 587 and on 465 (--tlsc),
#     good and wrong passwords; smtplib SMTP_SSL on 465;
#  5. port 25: no AUTH offered by default, not even over TLS (502), and
#     MAIL's AUTH= parameter refused (555); control/smtpdauth turns AUTH
#     on there, and AUTH= is then accepted (and ignored); with "+" also
#     without TLS (a loopback client), and Received says ESMTPA;
#  6. control/smtpauthreceived names the login in Received;
#     control/smtpauthsenders.cdb: a sender the login does not own is
#     refused 553 5.7.1, its own accepted;
#  7. msmtp with STARTTLS and AUTH on 587 delivers, through the running
#     delivery set, to a remote sink and to a local user's Maildir;
#  8. the failure lines match contrib/fail2ban (fail2ban-regex); no
#     password in any log; sluice-showctl knows every new control file
#     and shows no hash.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../e2e.sh"
need_root
inst_fresh
e2e_tools

for p in tcpserver tcprules swaks python3 openssl ss msmtp fail2ban-regex tai64n softlimit; do
  command -v $p > /dev/null 2>&1 || { bad "$p installed" "apt-get install ucspi-tcp-ipv6 daemontools swaks msmtp fail2ban openssl"; done_testing; }
done
[ -x "$H/bin/sluice-tlsd" ] || { bad "sluice-tlsd installed (libssl-dev?)"; done_testing; }
[ -x "$H/bin/sluice-checkpassword" ] || { bad "sluice-checkpassword installed"; done_testing; }

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
U_TLS=$(role tls)
DUID=$(id -u "$U_DAEMON")
DGID=$(id -g "$U_DAEMON")
C=$H/control
QD=$H/queue
SU=sluiceau     # a system user with a password
free_ports 24000 4
P_SUB=$P P_SUBS=$((P + 1)) P_25=$((P + 2)) P_SINK=$((P + 3))

servers=""
sink_pid=''
cleanup() {
  for p in $servers; do kill "$p" 2> /dev/null; done
  for p in $servers; do wait "$p" 2> /dev/null; done
  [ -n "$sink_pid" ] && kill "$sink_pid" 2> /dev/null
  kill_set 30
  userdel -r "$SU" > /dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo mx.example.test > "$C/me"
echo example.test > "$C/rcpthosts"
echo example.test > "$C/locals"
chmod 644 "$C/me" "$C/rcpthosts" "$C/locals"

# --- the test CA and the server certificate ---
K=$T/pki
mkdir -p "$K"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$K/ca.key" -out "$K/ca.pem" \
  -days 1 -subj /CN=sluice-test-CA > /dev/null 2>&1 || bad "test CA made"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$K/mx.key" -out "$K/mx.csr" \
  -subj /CN=mx.example.test > /dev/null 2>&1
printf 'subjectAltName=DNS:mx.example.test\n' > "$K/mx.ext"
openssl x509 -req -in "$K/mx.csr" -CA "$K/ca.pem" -CAkey "$K/ca.key" -CAcreateserial -days 1 \
  -extfile "$K/mx.ext" -out "$K/mx.crt" > /dev/null 2>&1 || bad "server certificate made"
cat "$K/mx.crt" "$K/mx.key" > "$K/mx.pem"
install -o root -g "$U_TLS" -m 640 "$K/mx.pem" "$C/tls/cert.pem"

# --- 1. sluice-checkpassword ---
mkuser "$SU"
echo "$SU:sys-pass-9" | chpasswd || bad "chpasswd"
hash() { # METHOD PASSWORD: a crypt(3) hash made by libcrypt
  python3 -c '
import ctypes, sys
l = ctypes.CDLL("libcrypt.so.1")
l.crypt.restype = ctypes.c_char_p
l.crypt_gensalt.restype = ctypes.c_char_p
s = l.crypt_gensalt(sys.argv[1].encode(), 0, None, 0)
print(l.crypt(sys.argv[2].encode(), s).decode())' "$1" "$2"
}
{
  echo "# virtual users of sluice-checkpassword"
  echo "vuser@example.test:$(hash '$y$' v-secret-1)"
  echo "shauser:$(hash '$6$' sha-pass)"
  echo "locked:!$(hash '$y$' locked-pass)"
} > "$C/authpasswd"
chown root:shadow "$C/authpasswd"
chmod 640 "$C/authpasswd"
check "sluice-newauth authpasswd" "$H/bin/sluice-newauth" authpasswd
check_eq "authpasswd.cdb: root, shadow, 0640" "$(stat -c '%U %G %a' "$C/authpasswd.cdb" 2> /dev/null)" "root shadow 640"
check_eq "sluice-checkpassword: root, shadow, 2755" "$(stat -c '%U %G %a' "$H/bin/sluice-checkpassword")" "root shadow 2755"
check_fail "the daemon user cannot read authpasswd.cdb" as "$U_DAEMON" cat "$C/authpasswd.cdb" 2> /dev/null
check_fail "the daemon user cannot read /etc/shadow" as "$U_DAEMON" cat /etc/shadow 2> /dev/null
printf 'virtual\nsystem\n' > "$C/checkpasswordsource"
chmod 644 "$C/checkpasswordsource"
# cpw USER-AS INPUT(printf format): the exit code of sluice-checkpassword
cpw() { printf "$2" | as "$1" "$H/bin/sluice-checkpassword" 3<&0 0< /dev/null 2> "$T/cpw.err"; echo $?; }
check_eq "virtual yescrypt: right" "$(cpw "$U_DAEMON" 'vuser@example.test\0v-secret-1\0ts\0')" 0
check_eq "virtual yescrypt: wrong" "$(cpw "$U_DAEMON" 'vuser@example.test\0v-secret-2\0ts\0')" 1
check_eq "virtual SHA-512: right" "$(cpw "$U_DAEMON" 'shauser\0sha-pass\0\0')" 0
check_eq "virtual SHA-512: wrong" "$(cpw "$U_DAEMON" 'shauser\0sha-pas\0\0')" 1
check_eq "virtual: locked hash" "$(cpw "$U_DAEMON" 'locked\0locked-pass\0\0')" 1
check_eq "system user: right" "$(cpw "$U_DAEMON" "$SU\\0sys-pass-9\\0ts\\0")" 0
check_eq "system user: wrong" "$(cpw "$U_DAEMON" "$SU\\0sys-pass-8\\0ts\\0")" 1
check_eq "system user: empty password" "$(cpw "$U_DAEMON" "$SU\\0\\0ts\\0")" 1
check_eq "unknown login" "$(cpw "$U_DAEMON" 'nobody-here\0x\0ts\0')" 1
check_eq "root is never accepted" "$(cpw "$U_DAEMON" 'root\0x\0ts\0')" 1
check_eq "malformed: no NUL" "$(cpw "$U_DAEMON" 'vuser@example.test')" 2
check_eq "malformed: no timestamp NUL" "$(cpw "$U_DAEMON" 'vuser@example.test\0v-secret-1\0123')" 2
check_eq "malformed: empty login" "$(cpw "$U_DAEMON" '\0v-secret-1\0\0')" 2
check_eq "malformed: nothing" "$(cpw "$U_DAEMON" '')" 2
big=$(head -c 600 /dev/zero | tr '\0' a)
check_eq "malformed: more than 512 bytes" "$(cpw "$U_DAEMON" "a\\0${big}\\0\\0")" 2
check_eq "another user may not ask (111)" "$(cpw "$SU" "$SU\\0sys-pass-9\\0ts\\0")" 111
printf 'system\n' > "$C/checkpasswordsource"
check_eq "source system only: a virtual user is unknown" "$(cpw "$U_DAEMON" 'vuser@example.test\0v-secret-1\0ts\0')" 1
printf 'virtual\nsystem\n' > "$C/checkpasswordsource"
# a subprogram runs after a right password, without the shadow group
check_eq "DJB subprogram runs without the shadow group" \
  "$(printf 'shauser\0sha-pass\0\0' | as "$U_DAEMON" "$H/bin/sluice-checkpassword" /bin/sh -c 'id -g; id -G' 3<&0 0< /dev/null | tr '\n' ' ')" \
  "$DGID $(as "$U_DAEMON" id -G) "

# --- 2. the services ---
sh tools/services "$H" > "$T/services.out" 2>&1 || { cat "$T/services.out"; bad "tools/services"; }
S=$H/service
for s in sluice-submission sluice-submissions; do
  check "service $s installed" test -x "$S/$s/run"
  check "service $s: log/run" test -x "$S/$s/log/run"
done
check "control/tcp.submission.cdb built" test -f "$C/tcp.submission.cdb"
echo 127.0.0.1 > "$C/submissionip"
echo 127.0.0.1 > "$C/submissionsip"
# run SERVICE PORTVAR PORT: the installed run script, as supervise runs it
run_service() {
  (cd "$S/$1" && env "$2=$3" sh ./run) > "$T/$1.log" 2>&1 &
  servers="$servers $!"
}
# the gate of STARTTLS (sluice-tlsgate(8)), which svscan would run too:
# with its service installed, sluice-submission offers STARTTLS through it
run_service sluice-tlsgate SLUICE_TLSGATE_TEST 1
wait_for 10 test -S "$H/tls/gate" || bad "sluice-tlsgate listens" "$(cat "$T/sluice-tlsgate.log")"
run_service sluice-submission SLUICE_SUBMISSION_PORT "$P_SUB"
run_service sluice-submissions SLUICE_SUBMISSIONS_PORT "$P_SUBS"
printf ':allow\n' > "$T/r25"
tcprules "$T/r25.cdb" "$T/r25.tmp" < "$T/r25"
tcpserver -v -H -R -l mx.example.test -x "$T/r25.cdb" 127.0.0.1 "$P_25" \
  "$H/bin/sluice-tlsd" -u "$DUID" -g "$DGID" "$H/bin/sluice-smtpd" > "$T/p25.log" 2>&1 &
servers="$servers $!"
listening() { ss -Hltn | awk '{print $4}' | grep -q ":$1\$"; }
for p in "$P_SUB" "$P_SUBS" "$P_25"; do
  wait_for 10 listening "$p" || bad "listening on $p" "$(cat "$T"/*.log)"
done

qclear() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f -exec rm -f {} +; }
qcount() { find "$QD/mess" -type f | wc -l | tr -d ' '; }
qall() { find "$QD/mess" -type f -exec cat {} +; }

cat > "$T/client.py" << 'EOF'
import base64, smtplib, socket, ssl, sys
ca, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
args = sys.argv[4:]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
def out(*a):
    print(*a, flush=True)
def code(r):
    return str(r[0])
def b64(s):
    return base64.b64encode(s.encode()).decode()
def plain(u, p):
    return b64("\0" + u + "\0" + p)
def starttls():
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30)
    s.ehlo()
    s.starttls(context=ctx)
    s.ehlo()
    return s
if mode == "before":
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30)
    s.ehlo()
    out("auth offered:", s.has_extn("auth"))
    out("starttls offered:", s.has_extn("starttls"))
    out("auth:", " ".join(str(x) for x in s.docmd("AUTH PLAIN " + plain("vuser@example.test", "v-secret-1"))))
    out("mail:", " ".join(str(x) for x in s.docmd("MAIL FROM:<vuser@example.test>")))
    s.quit()
elif mode == "good":
    user, pw, rcpt = args
    sender = user if "@" in user else user + "@example.test"
    s = starttls()
    out("auth:", s.esmtp_features.get("auth", "none"))
    out("mail before auth:", " ".join(str(x) for x in s.docmd("MAIL FROM:<" + sender + ">")))
    s.user, s.password = user, pw
    out("login:", code(s.auth("PLAIN", s.auth_plain, initial_response_ok=True)))
    out("again:", code(s.docmd("AUTH PLAIN " + plain(user, pw))))
    out("mail:", code(s.docmd("MAIL FROM:<" + sender + ">")))
    out("auth in mail:", code(s.docmd("AUTH PLAIN " + plain(user, pw))))
    out("rcpt:", code(s.docmd("RCPT TO:<" + rcpt + ">")))
    out("data:", code(s.data("Subject: submitted\r\n\r\nhello\r\n")))
    s.quit()
elif mode == "login":
    # AUTH LOGIN by hand, no initial response
    user, pw = args
    s = starttls()
    r1 = s.docmd("AUTH LOGIN")
    r2 = s.docmd(b64(user))
    r3 = s.docmd(b64(pw))
    out("login:", code(r1), r1[1].decode(), code(r2), r2[1].decode(), code(r3))
    s.quit()
elif mode == "wrong":
    user, pw, rcpt = args
    s = starttls()
    out("plain:", " ".join(str(x) for x in s.docmd("AUTH PLAIN " + plain(user, pw))))
    out("mail:", " ".join(str(x) for x in s.docmd("MAIL FROM:<" + user + ">")))
    s.quit()
elif mode == "three":
    user, pw = args
    s = starttls()
    for i in range(3):
        r = s.docmd("AUTH PLAIN " + plain(user, pw))
        out("try", i + 1, code(r))
    try:
        r = s.getreply()
        out("then:", code(r))
    except Exception as e:
        out("then: closed")
    try:
        out("after:", code(s.docmd("NOOP")))
    except Exception as e:
        out("after: closed")
elif mode == "cancel":
    s = starttls()
    out("plain 334:", code(s.docmd("AUTH PLAIN")))
    out("star:", code(s.docmd("*")))
    out("login 334:", code(s.docmd("AUTH LOGIN")))
    out("star:", code(s.docmd("*")))
    out("bad base64:", code(s.docmd("AUTH PLAIN %%%%")))
    out("bad padding:", code(s.docmd("AUTH PLAIN Zg=")))
    out("unknown mech:", code(s.docmd("AUTH CRAM-MD5")))
    out("long 334:", code(s.docmd("AUTH PLAIN")))
    out("long:", code(s.docmd("A" * 1200)))
    out("noop:", code(s.docmd("NOOP")))
    s.quit()
elif mode == "implicit":
    user, pw, rcpt = args
    s = smtplib.SMTP_SSL("127.0.0.1", port, local_hostname="client.test", timeout=30, context=ctx)
    s.ehlo()
    out("auth:", s.esmtp_features.get("auth", "none"))
    out("starttls:", s.has_extn("starttls"))
    out("mail before auth:", code(s.docmd("MAIL FROM:<" + user + ">")))
    try:
        out("login:", code(s.login(user, pw)))
    except smtplib.SMTPAuthenticationError as e:
        out("login:", e.smtp_code)
        out("rcpt:", code(s.docmd("MAIL FROM:<" + user + ">")))
        s.quit()
        sys.exit(0)
    s.sendmail(user, [rcpt], "Subject: over 465\r\n\r\nhello\r\n")
    out("sent")
    s.quit()
elif mode == "port25":
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30)
    s.ehlo()
    out("plain auth:", s.has_extn("auth"))
    s.starttls(context=ctx)
    s.ehlo()
    out("tls auth:", s.esmtp_features.get("auth", "none"))
    out("auth:", code(s.docmd("AUTH PLAIN " + plain("vuser@example.test", "v-secret-1"))))
    r = s.docmd("MAIL FROM:<a@client.test> AUTH=<>")
    out("auth param:", code(r))
    if r[0] == 250:
        s.docmd("RSET")
    out("rcpt:", code(s.docmd("MAIL FROM:<a@client.test>")), code(s.docmd("RCPT TO:<x@remote.example>")))
    s.quit()
elif mode == "bcc":
    user, pw, rcpt, hidden = args
    s = starttls()
    s.login(user, pw)
    s.sendmail(user, [rcpt, hidden], "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nTo: <" + rcpt + ">\r\n"
               "Bcc: <" + hidden + ">,\r\n <other@remote.example>\r\nSubject: with bcc\r\n\r\nbody\r\n")
    out("sent")
    s.quit()
elif mode == "plainauth":
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30)
    s.ehlo()
    out("auth:", s.esmtp_features.get("auth", "none"))
    out("no mechanism:", code(s.docmd("AUTH")))
    out("login:", code(s.docmd("AUTH PLAIN " + plain("vuser@example.test", "v-secret-1"))))
    s.sendmail("vuser@example.test", ["x@remote.example"], "Subject: plain\r\n\r\nhello\r\n")
    out("sent")
    s.quit()
elif mode == "sender":
    user, pw, sender = args
    s = starttls()
    s.login(user, pw)
    out("mail:", " ".join(str(x) for x in s.docmd("MAIL FROM:<" + sender + ">")))
    s.quit()
EOF
cl() { python3 "$T/client.py" "$K/ca.pem" "$@" 2>&1; }

# --- 3. smtplib on 587 ---
qclear
cl "$P_SUB" before > "$T/o"
check_eq "587 before STARTTLS" "$(cat "$T/o")" "auth offered: False
starttls offered: True
auth: 538 b'5.7.11 encryption required for requested authentication mechanism'
mail: 530 b'5.7.0 must issue a STARTTLS command first'"
cl "$P_SUB" good vuser@example.test v-secret-1 someone@remote.example > "$T/o"
check_eq "587 after STARTTLS: PLAIN, relay" "$(cat "$T/o")" "auth:  PLAIN LOGIN
mail before auth: 530 b'5.7.0 authentication required'
login: 235
again: 503
mail: 250
auth in mail: 503
rcpt: 250
data: 250"
check_eq "one message queued" "$(qcount)" 1
check "Received says ESMTPSA with TLS" sh -c "find '$QD/mess' -type f | xargs grep -q '^  by mx.example.test with ESMTPSA (TLSv1.3 '"
check_fail "the login is not in Received by default" sh -c "find '$QD/mess' -type f | xargs grep -q 'authenticated as'"
check "submission adds Date" sh -c "find '$QD/mess' -type f | xargs grep -q '^Date: '"
check "submission adds Message-ID" sh -c "find '$QD/mess' -type f | xargs grep -q '^Message-ID: <'"
check "the log names the login" grep -q "auth ok user <vuser@example.test> mech PLAIN" "$T/sluice-submission.log"
check "the transaction line says auth" grep -q "result 250 qp [0-9]* auth vuser@example.test" "$T/sluice-submission.log"
qclear
cl "$P_SUB" bcc vuser@example.test v-secret-1 seen@remote.example hidden@remote.example > "$T/o"
check_eq "a message with Bcc on 587" "$(cat "$T/o")" sent
check_eq "Bcc removed, with its continuation line" "$(qall | grep -ci -e '^bcc:' -e 'other@remote.example')" 0
check_eq "the client's Date kept, none added" "$(qall | grep -c '^Date: ')" 1
check "the client's Date unchanged" sh -c "find '$QD/mess' -type f | xargs grep -q '^Date: Mon, 1 Jan 2024 00:00:00 +0000'"
check "Message-ID added" sh -c "find '$QD/mess' -type f | xargs grep -q '^Message-ID: <'"
check "the hidden recipient is still in the envelope" sh -c "find '$QD/intd' '$QD/todo' -type f | xargs grep -q hidden@remote.example"
qclear
cl "$P_SUB" good "$SU" sys-pass-9 someone@remote.example > "$T/o"
check "system user logs in on 587 and relays" grep -q '^data: 250' "$T/o"
cl "$P_SUB" login shauser sha-pass > "$T/o"
check_eq "AUTH LOGIN by hand" "$(cat "$T/o")" "login: 334 VXNlcm5hbWU6 334 UGFzc3dvcmQ6 235"
qclear
cl "$P_SUB" wrong vuser@example.test wrong-pass someone@remote.example > "$T/o"
check_eq "wrong password: 535, relay refused" "$(cat "$T/o")" "plain: 535 b'5.7.8 authentication credentials invalid'
mail: 530 b'5.7.0 authentication required'"
check "the failure is logged" grep -q "from 127.0.0.1 auth failed user <vuser@example.test> mech PLAIN" "$T/sluice-submission.log"
cl "$P_SUB" three nobody x > "$T/o"
check_eq "three failures close the session" "$(cat "$T/o")" "try 1 535
try 2 535
try 3 535
then: 421
after: closed"
cl "$P_SUB" cancel > "$T/o"
check_eq "cancel, bad base64, unknown mechanism, long line" "$(cat "$T/o")" "plain 334: 334
star: 501
login 334: 334
star: 501
bad base64: 501
bad padding: 501
unknown mech: 504
long 334: 334
long: 500
noop: 250"
check_eq "nothing queued by the failures" "$(qcount)" 0

# --- 4. swaks ---
sw() { # PORT TLSFLAG MECH USER PASS
  case $4 in *@*) from=$4 ;; *) from=$4@example.test ;; esac
  swaks "$2" --server "127.0.0.1:$1" --helo client.test --from "$from" --to someone@remote.example \
    --tls-ca-path "$K/ca.pem" --tls-verify --tls-sni mx.example.test \
    --auth "$3" --auth-user "$4" --auth-password "$5" < /dev/null > "$T/swaks" 2>&1
  grep -E '^<[~*]* +(235|535|250 2.0.0)' "$T/swaks" | awk '{print $2}' | tr '\n' ' '
}
qclear
check_eq "swaks --tls --auth PLAIN on 587" "$(sw "$P_SUB" --tls PLAIN vuser@example.test v-secret-1)" "235 250 "
check_eq "swaks --tls --auth LOGIN on 587" "$(sw "$P_SUB" --tls LOGIN shauser sha-pass)" "235 250 "
check_eq "swaks --tls --auth PLAIN, wrong password on 587" "$(sw "$P_SUB" --tls PLAIN vuser@example.test nope)" "535 "
check_eq "swaks --tlsc --auth PLAIN on 465" "$(sw "$P_SUBS" --tlsc PLAIN vuser@example.test v-secret-1)" "235 250 "
check_eq "swaks --tlsc --auth LOGIN on 465" "$(sw "$P_SUBS" --tlsc LOGIN "$SU" sys-pass-9)" "235 250 "
check_eq "swaks --tlsc --auth LOGIN, wrong password on 465" "$(sw "$P_SUBS" --tlsc LOGIN "$SU" nope)" "535 "
check_eq "four messages queued by swaks" "$(qcount)" 4
cl "$P_SUBS" implicit vuser@example.test v-secret-1 someone@remote.example > "$T/o"
check_eq "smtplib SMTP_SSL on 465" "$(cat "$T/o")" "auth:  PLAIN LOGIN
starttls: False
mail before auth: 530
login: 235
sent"
cl "$P_SUBS" implicit vuser@example.test wrong someone@remote.example > "$T/o"
check_eq "smtplib SMTP_SSL on 465, wrong password" "$(cat "$T/o")" "auth:  PLAIN LOGIN
starttls: False
mail before auth: 530
login: 535
rcpt: 530"

# --- 5. port 25 ---
cl "$P_25" port25 > "$T/o"
check_eq "port 25: no AUTH by default" "$(cat "$T/o")" "plain auth: False
tls auth: none
auth: 502
auth param: 555
rcpt: 250 553"
echo 1 > "$C/smtpdauth"
chmod 644 "$C/smtpdauth"
cl "$P_25" port25 > "$T/o"
check_eq "port 25 with control/smtpdauth: after STARTTLS only" "$(cat "$T/o")" "plain auth: False
tls auth:  PLAIN LOGIN
auth: 235
auth param: 250
rcpt: 250 250"
echo '+' > "$C/smtpdauth"
qclear
cl "$P_25" plainauth > "$T/o"
check_eq "control/smtpdauth +: AUTH without TLS" "$(cat "$T/o")" "auth:  PLAIN LOGIN
no mechanism: 501
login: 235
sent"
check "without TLS the Received says ESMTPA" sh -c "find '$QD/mess' -type f | xargs grep -q '^  by mx.example.test with ESMTPA;'"
rm -f "$C/smtpdauth"

# --- 6. Received with the login; senders per login ---
qclear
echo 1 > "$C/smtpauthreceived"
chmod 644 "$C/smtpauthreceived"
cl "$P_SUB" good vuser@example.test v-secret-1 someone@remote.example > /dev/null
check "control/smtpauthreceived: the login in Received" sh -c "find '$QD/mess' -type f | xargs grep -q '(authenticated as vuser@example.test)'"
rm -f "$C/smtpauthreceived"
printf 'shauser:@example.test\nshauser:sha@other.example\n' > "$C/smtpauthsenders"
chmod 644 "$C/smtpauthsenders"
check "sluice-newauth smtpauthsenders" "$H/bin/sluice-newauth" smtpauthsenders
check_eq "smtpauthsenders.cdb readable by the daemon user" "$(stat -c '%a' "$C/smtpauthsenders.cdb")" 644
cl "$P_SUB" sender shauser sha-pass boss@elsewhere.example > "$T/o"
check_eq "sender not owned: 553 5.7.1" "$(cat "$T/o")" "mail: 553 b'5.7.1 sender address not owned by the authenticated login'"
cl "$P_SUB" sender shauser sha-pass anyone@example.test > "$T/o"
check_eq "sender in an owned domain" "$(cat "$T/o")" "mail: 250 b'2.1.0 sender ok'"
cl "$P_SUB" sender shauser sha-pass SHA@Other.Example > "$T/o"
check_eq "sender listed (any case)" "$(cat "$T/o")" "mail: 250 b'2.1.0 sender ok'"
cl "$P_SUB" sender vuser@example.test v-secret-1 vuser@example.test > "$T/o"
check_eq "the login itself as sender" "$(cat "$T/o")" "mail: 250 b'2.1.0 sender ok'"
cl "$P_SUB" sender vuser@example.test v-secret-1 other@example.test > "$T/o"
check_eq "a login without entries: other senders refused" "$(cat "$T/o")" "mail: 553 b'5.7.1 sender address not owned by the authenticated login'"
rm -f "$C/smtpauthsenders" "$C/smtpauthsenders.cdb"

# --- 7. msmtp through the delivery set ---
qclear
echo "remote.example:127.0.0.1:$P_SINK" > "$C/smtproutes"
chmod 644 "$C/smtproutes"
mkdir "$T/sink"
python3 tests/smtpsink.py --host 127.0.0.1 --port "$P_SINK" --dir "$T/sink" --ready "$T/sink.ready" 2> "$T/sink.err" &
sink_pid=$!
wait_for 20 test -f "$T/sink.ready" || bad "sink listening"
start_set
cat > "$T/msmtprc" << EOF
account sluice
host 127.0.0.1
port $P_SUB
from vuser@example.test
domain client.test
tls on
tls_starttls on
tls_trust_file $K/ca.pem
tls_host_override mx.example.test
auth plain
user vuser@example.test
password v-secret-1
account default : sluice
EOF
chmod 600 "$T/msmtprc"
printf 'Subject: from msmtp\n\nhello from msmtp\n' | msmtp -C "$T/msmtprc" far@remote.example "$SU@example.test" > "$T/msmtp.out" 2>&1
check_eq "msmtp exit" "$?" 0
wait_for 30 sh -c "grep -qs 'hello from msmtp' '$T'/sink/*.data" || bad "msmtp: the sink got the message" "$(cat "$T/msmtp.out" "$T/log")"
check "msmtp: remote sink envelope" sh -c "grep -qs 'far@remote.example' '$T'/sink/*.env"
SUH=$(home_of "$SU")
wait_for 30 sh -c "grep -qs 'hello from msmtp' '$SUH'/Maildir/new/*" || bad "msmtp: the local user got the message" "$(cat "$T/log")"
check "msmtp: Received says ESMTPSA" sh -c "grep -qs 'with ESMTPSA' '$SUH'/Maildir/new/*"
kill_set 30
spid=''

# --- 8. fail2ban and the logs ---
for s in sluice-submission sluice-submissions; do
  grep 'sluice-smtpd: ' "$T/$s.log" | tai64n >> "$T/f2b.log"
done
fail2ban-regex "$T/f2b.log" contrib/fail2ban/sluice-smtpd.conf > "$T/f2b.out" 2>&1
nfail=$(grep -c ' auth failed ' "$T/f2b.log")
check "failure lines in the logs" test "$nfail" -ge 6
check_eq "fail2ban-regex matches every failure line" "$(sed -n 's/^Lines: .* \([0-9]*\) matched.*/\1/p' "$T/f2b.out")" "$nfail"
for pw in v-secret-1 sys-pass-9 sha-pass wrong-pass; do
  check_fail "no password $pw in any log" grep -rqs -- "$pw" "$T/sluice-submission.log" "$T/sluice-submissions.log" "$T/p25.log" "$T/log"
done

# --- sluice-showctl knows the new files and never shows a hash ---
echo 0 > "$C/smtpauthreceived"
chmod 644 "$C/smtpauthreceived"
"$H/bin/sluice-showctl" > "$T/showctl" 2>&1
check_eq "showctl: no unknown control file" "$(grep 'unknown control file' "$T/showctl")" ""
check "showctl: authpasswd.cdb present" grep -q '^authpasswd.cdb: (present)' "$T/showctl"
check_fail "showctl: no password hash" grep -q '[$]y[$]' "$T/showctl"

done_testing
