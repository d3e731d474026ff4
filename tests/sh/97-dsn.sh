#!/bin/sh
# 97-dsn.sh: DSN (RFC 3461) from sluice-smtpd through the queue to the
# bounces of sluice-send, in a private instance: sluice-smtpd under
# tcpserver as the daemon user injects with the real sluice-queue;
# sluice-start runs with fakespawn as both spawners (tests/sched.sh:
# "fail..." recipients fail for good, "slow..." deliveries are held, so
# the bounce to a "slow" sender can be read while it is delivered).
# The client is python's smtplib (swaks has no DSN options); the
# bounces are parsed with python's email package.
#  1. EHLO offers DSN; bad NOTIFY, ORCPT, RET and ENVID values get 501,
#     repeated ones 555; good ones 250;
#  2. the todo envelope carries RET (O), ENVID (I), NOTIFY (N), ORCPT (R),
#     from sluice-smtpd and from sendmail -N -R -V (bad values: exit 64);
#  3. RET=HDRS ENVID, NOTIFY=FAILURE with ORCPT and NOTIFY=NEVER on two
#     failing recipients: one bounce, a multipart/report whose
#     delivery-status part has Original-Envelope-Id and, for the one
#     recipient reported, Original-Recipient; headers only returned;
#  4. RET=FULL: the whole message comes back as message/rfc822;
#  4b. NOTIFY=SUCCESS: one notice, "delivered" for a local recipient,
#     "relayed" for a remote one (sluice-remote does not pass DSN on);
#     none for recipients that did not ask, nor a failure for one that
#     asked only for SUCCESS;
#  5. NOTIFY=NEVER (and NOTIFY=SUCCESS,DELAY) alone: no bounce at all,
#     logged; the queue drains and sluice-fsck is clean.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh
. "$(dirname "$0")/../e2e.sh"
e2e_tools
for p in tcpserver tcprules; do
  command -v $p > /dev/null 2>&1 || { bad "$p installed" "apt-get install ucspi-tcp-ipv6"; done_testing; }
done
. "$(dirname "$0")/../sched.sh"

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
C=$H/control
free_ports 20000 1
PORT=$P
echo test.example > "$C/rcpthosts"
echo 0 > "$C/smtpdnamewait"
SLUICE_HOSTS=$T/no-hosts
export SLUICE_HOSTS
chmod 644 "${C:?}"/*
printf ':allow,RELAYCLIENT=""\n' > "$T/rules"
tcprules "$T/rules.cdb" "$T/rules.tmp" < "$T/rules" || bad "tcprules"
tcpserver -H -R -l mx.test.example -x "$T/rules.cdb" -u "$(id -u "$U_DAEMON")" -g "$(id -g "$U_DAEMON")" \
  127.0.0.1 "$PORT" "$H/bin/sluice-smtpd" > "$T/smtpd.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2> /dev/null; cleanup' EXIT

cat > "$T/cli.py" <<'EOF'
import smtplib, socket, sys, time
port = int(sys.argv[1]); cmd = sys.argv[2]
if cmd == "raw":  # raw LINES...: one EHLO session, the reply code of each line
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    f = s.makefile("rb")
    def reply():
        code = b""
        while True:
            l = f.readline()
            if not l: return "EOF"
            if l[3:4] != b"-": return l[:3].decode()
    reply()
    out = []
    for line in ["EHLO client.test"] + sys.argv[3:] + ["QUIT"]:
        s.sendall(line.encode() + b"\r\n"); out.append(reply())
    print(" ".join(out))
elif cmd == "ehlo":
    m = smtplib.SMTP("127.0.0.1", port, timeout=15); m.ehlo("client.test")
    print("dsn" if m.has_extn("dsn") else "no dsn"); m.quit()
else:  # send FROM MAILOPTS RCPT:OPTS... (options separated by ',' -> ' ')
    m = smtplib.SMTP("127.0.0.1", port, timeout=15); m.ehlo("client.test")
    frm = sys.argv[3]; mopts = [o for o in sys.argv[4].split(" ") if o]
    m.mail(frm, mopts)
    for r in sys.argv[5:]:
        addr, _, opts = r.partition(":")
        code, _ = m.rcpt(addr, [o for o in opts.split(" ") if o])
        if code != 250: print("rcpt", code); sys.exit(1)
    code, _ = m.data(b"From: someone@x.org\r\nSubject: dsn test\r\n\r\nthe body line\r\n")
    print(code); m.quit()
EOF
cli() { timeout 60 python3 "$T/cli.py" "$PORT" "$@"; }
i=0
until cli ehlo > /dev/null 2>&1; do i=$((i + 1)); [ $i -gt 50 ] && break; sleep 0.1; done

cat > "$T/parse.py" <<'EOF'
import email, email.policy, sys
m = email.message_from_binary_file(sys.stdin.buffer, policy=email.policy.compat32)
assert m.get_content_type() == "multipart/report", m.get_content_type()
assert m.get_param("report-type") == "delivery-status"
parts = m.get_payload()
print("parts", " ".join(p.get_content_type() for p in parts))
ds = parts[1].get_payload()  # message/delivery-status: a list of blocks
print("envid", ds[0].get("Original-Envelope-Id", "-"))
for b in ds[1:]:
    print("rcpt", b.get("Final-Recipient"), b.get("Original-Recipient", "-"), b.get("Action"), b.get("Status"))
third = parts[2]
body = third.get_payload(decode=False)
if isinstance(body, list):
    body = body[0].as_string()
print("body returned" if "the body line" in body else "headers only")
EOF

start FAKESPAWN_SLOW_MS=3000

# --- 1. syntax --------------------------------------------------------------
check_eq "EHLO offers DSN" "$(cli ehlo)" "dsn"
check_eq "good and bad parameters" "$(cli raw 'MAIL FROM:<a@x.org> RET=HDRS ENVID=a+2Bb' \
  'RCPT TO:<u@test.example> NOTIFY=NEVER,SUCCESS' 'RCPT TO:<u@test.example> NOTIFY=BOGUS' \
  'RCPT TO:<u@test.example> ORCPT=rfc822;a+0Ab' 'RCPT TO:<u@test.example> ORCPT=nosemicolon' \
  'RCPT TO:<u@test.example> NOTIFY=FAILURE NOTIFY=DELAY' \
  'RCPT TO:<u@test.example> NOTIFY=success,delay ORCPT=rfc822;u+40test.example' 'RSET' \
  'MAIL FROM:<a@x.org> RET=BODY' 'MAIL FROM:<a@x.org> ENVID=a+zz' 'MAIL FROM:<a@x.org> RET=FULL RET=HDRS')" \
  "250 250 501 501 501 501 555 250 250 501 501 555 221"

# --- 2. the envelope ---------------------------------------------------------
stop
check_eq "message accepted" "$(cli send slowz@test.example 'RET=HDRS ENVID=Q+2B1' \
  'failz@remote.example:NOTIFY=FAILURE,DELAY ORCPT=rfc822;orig+40x.example' 'okz@remote.example')" 250
env=$(find "$Q/todo" -type f | head -n 1)
check_eq "envelope records" "$(tr '\0' '\n' < "$env" | grep -v '^[ups]')" \
  "OH
IQ+1
Fslowz@test.example
NFD
Rrfc822;orig@x.example
Tfailz@remote.example
Tokz@remote.example"
# sendmail -N -R -V (sluice-inject -D -R -E)
printf 'Subject: s\n\nbody\n' | "$H/bin/sendmail" -f slowy@test.example -N success,failure -R full -V 'id+2B2' \
  faily@remote.example other@remote.example
check_eq "sendmail -N -R -V: exit 0" "$?" 0
envy=$(find "$Q/todo" -type f ! -samefile "$env" | head -n 1)
check_eq "sendmail -N -R -V: envelope records" "$(tr '\0' '\n' < "$envy" | grep -v '^[ups]')" \
  "OB
Iid+2
Fslowy@test.example
NSF
Tfaily@remote.example
NSF
Tother@remote.example"
# sluice-queue checks the DSN records (exit 91), and nothing is queued
qq() { printf "$1" > "$T/qenv"; "$H/bin/sluice-queue" < "$T/msg" 1< "$T/qenv" 2> /dev/null; echo $?; }
ntodo=$(find "$Q/todo" -type f | wc -l)
check_eq "sluice-queue: N before F" "$(qq 'NS\0Fa@x\0Tb@y\0\0')" 91
check_eq "sluice-queue: N never with S" "$(qq 'Fa@x\0NNS\0Tb@y\0\0')" 91
check_eq "sluice-queue: two N for one T" "$(qq 'Fa@x\0NS\0NF\0Tb@y\0\0')" 91
check_eq "sluice-queue: R without ;" "$(qq 'Fa@x\0Rabc\0Tb@y\0\0')" 91
check_eq "sluice-queue: R with a control byte" "$(qq 'Fa@x\0Rrfc822;a\tb\0Tb@y\0\0')" 91
check_eq "sluice-queue: N at the end" "$(qq 'Fa@x\0Tb@y\0NS\0\0')" 91
check_eq "sluice-queue: empty I" "$(qq 'I\0Fa@x\0Tb@y\0\0')" 91
check_eq "sluice-queue: nothing queued" "$(find "$Q/todo" -type f | wc -l)" "$ntodo"
printf 'x\n' | "$H/bin/sendmail" -N never,success a@remote.example > /dev/null 2>&1
check_eq "sendmail -N never,success: usage error" "$?" 64
printf 'x\n' | "$H/bin/sendmail" -R body a@remote.example > /dev/null 2>&1
check_eq "sendmail -R body: usage error" "$?" 64
printf 'x\n' | "$H/bin/sendmail" -V 'a+0A' a@remote.example > /dev/null 2>&1
check_eq "sendmail -V with a bad xtext: usage error" "$?" 64
start FAKESPAWN_SLOW_MS=3000
capture() {
  cid=""
  waitfor 200 tries_ge "$1" 1 || { bad "$2: delivery to $1" "none after 20 s"; return 1; }
  cid=$(awk -v a="$1" '$2 == a { print $1; exit }' "$F/deliveries")
  cp "$Q/mess/$((cid % SPLIT))/$cid" "$T/$2.mess" || bad "$2: copy of the bounce" "mess of $cid gone"
}
capture slowz@test.example z
python3 "$T/parse.py" < "$T/z.mess" > "$T/z.out" 2>&1 || bad "2: the bounce parses" "$(cat "$T/z.out")"
check_eq "2: the report" "$(cat "$T/z.out")" \
  "parts text/plain message/delivery-status text/rfc822-headers
envid Q+1
rcpt rfc822; failz@remote.example rfc822;orig@x.example failed 5.1.1
headers only"
waitfor 100 queue_empty || bad "2: drained" "$(queue_files) files left"

# --- 3. RET=HDRS, ENVID, ORCPT, NOTIFY=NEVER beside it -------------------------
check_eq "message 3 accepted" "$(cli send slowa@test.example 'RET=HDRS ENVID=env+2B1' \
  'faila@remote.example:NOTIFY=FAILURE ORCPT=rfc822;orig-a+40x.example' 'failb@remote.example:NOTIFY=NEVER' \
  'failc@remote.example')" 250
capture slowa@test.example a
python3 "$T/parse.py" < "$T/a.mess" > "$T/a.out" 2>&1 || bad "3: the bounce parses" "$(cat "$T/a.out")"
check_eq "3: the report" "$(cat "$T/a.out")" \
  "parts text/plain message/delivery-status text/rfc822-headers
envid env+1
rcpt rfc822; faila@remote.example rfc822;orig-a@x.example failed 5.1.1
rcpt rfc822; failc@remote.example - failed 5.1.1
headers only"
check "3: NOTIFY=NEVER logged" grep -q "^bounce to failb@remote.example suppressed by NOTIFY" "$LOG"
waitfor 100 queue_empty || bad "3: drained" "$(queue_files) files left"

# --- 4. RET=FULL -----------------------------------------------------------
check_eq "message 4 accepted" "$(cli send slowb@test.example 'RET=FULL' 'faild@remote.example')" 250
capture slowb@test.example b
python3 "$T/parse.py" < "$T/b.mess" > "$T/b.out" 2>&1 || bad "4: the bounce parses" "$(cat "$T/b.out")"
check_eq "4: the report" "$(cat "$T/b.out")" \
  "parts text/plain message/delivery-status message/rfc822
envid -
rcpt rfc822; faild@remote.example - failed 5.1.1
body returned"
waitfor 100 queue_empty || bad "4: drained" "$(queue_files) files left"

# --- 4b. NOTIFY=SUCCESS: delivered here, relayed there ----------------------
check_eq "message 4b accepted" "$(cli send slows@test.example 'ENVID=s1' \
  'oks@test.example:NOTIFY=SUCCESS,FAILURE' 'okr@remote.example:NOTIFY=SUCCESS ORCPT=rfc822;r+40x.example' \
  'okq@remote.example' 'failq@remote.example:NOTIFY=SUCCESS')" 250
capture slows@test.example s
python3 "$T/parse.py" < "$T/s.mess" > "$T/s.out" 2>&1 || bad "4b: the notice parses" "$(cat "$T/s.out")"
# the recipients in the order their deliveries ended (the local one
# is usually first, not always on a loaded machine): compared sorted
rsort() { awk '/^rcpt / { r[++n] = $0; next } { for (i = 1; i <= n; i++) print r[i] | "sort"; if (n) close("sort"); n = 0; print }'; }
check_eq "4b: the notice" "$(rsort < "$T/s.out")" \
  "parts text/plain message/delivery-status text/rfc822-headers
envid s1
rcpt rfc822; okr@remote.example rfc822;r@x.example relayed 2.0.0
rcpt rfc822; oks@test.example - delivered 2.0.0
headers only"
check "4b: subject" grep -q '^Subject: Successful mail delivery report' "$T/s.mess"
waitfor 100 queue_empty || bad "4b: drained" "$(queue_files) files left"

# --- 5. no bounce wanted ---------------------------------------------------
n0=$(grep -c '^bounce msg ' "$LOG")
check_eq "message 5 accepted" "$(cli send slowc@test.example '' 'faile@remote.example:NOTIFY=NEVER' \
  'failf@remote.example:NOTIFY=SUCCESS,DELAY')" 250
waitfor 200 grep -q "^bounce to failf@remote.example suppressed by NOTIFY" "$LOG" || bad "5: suppression logged" "not after 20 s"
waitfor 100 queue_empty || bad "5: drained" "$(queue_files) files left"
check_eq "5: no bounce injected" "$(grep -c '^bounce msg ' "$LOG")" "$n0"
check_eq "5: nothing went to the sender" "$(tries slowc@test.example)" 0
stop
check_eq "queue empty" "$(queue_files)" 0
out=$("$H/bin/sluice-fsck" 2>&1)
check "sluice-fsck clean" test $? -eq 0 -a -z "$out"
check_eq "no fakespawn errors" "$(cat "$F/errors")" ""
done_testing
