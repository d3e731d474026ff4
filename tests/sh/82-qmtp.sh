#!/bin/sh
# 82-qmtp.sh: sluice-qmtpd, sluice-qmqpd and sluice-qmqpc in a private
# instance, under tcpserver on 127.0.0.1 and ::1, with the real queue.
#
#  1. QMTP: several messages on one connection (LF form, CRLF form with a
#     message larger than the buffers, a bad mode byte, one over
#     databytes), one reply per recipient; relay refusal without
#     RELAYCLIENT (D per recipient, nothing queued when none is left),
#     RELAYCLIENT appended on the ::1 server that sets it;
#  2. QMQP round trips with sluice-qmqpc over IPv4 and IPv6, failover
#     from a closed port, none from a server that never answers (72:
#     it may have queued the message), exit 31
#     on D and 71 on Z (a stand-in injector), 73 when every server is
#     down, 55 without servers, 91/54 for bad envelopes; an options
#     record (SMTPUTF8) checked and dropped, U set again on the queue
#     host for a UTF-8 recipient; a client the tcprules deny gets
#     nothing queued;
#  3. malformed netstrings (bad length, missing comma, oversize) close
#     the connection with no reply and nothing queued, and the server
#     goes on serving;
#  4. the recipient check of sluice-smtpd for control/locals domains
#     (control/rcptcheck.cdb): D 5.1.1 for an unknown local part, with
#     or without RELAYCLIENT; Z 4.3.0 when the cdb is unreadable; no
#     check without the cdb.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

PATH=$PATH:/usr/sbin:/sbin
export PATH
for p in tcpserver tcprules python3; do
  command -v $p > /dev/null 2>&1 || { bad "$p is missing (apt-get install ucspi-tcp-ipv6 python3)"; done_testing; }
done

QD=$H/queue
DUID=$(id -u sluiced) && DGID=$(id -g sluiced) || { bad "daemon user sluiced"; done_testing; }

# this run's ports: P .. P+9, none of them listening now
tries=0
while :; do
  P=$((17100 + ($$ * 7 + tries * 13) % 5000))
  busy=$(ss -Hltn 2>/dev/null | awk '{print $4}' | sed 's/.*://' | awk -v p=$P '$1 >= p && $1 <= p + 9' | head -n 1)
  [ -z "$busy" ] && break
  tries=$((tries + 1))
  [ $tries -lt 20 ] || { bad "no free ports"; done_testing; }
done
QMTP4=$P QMTP6=$((P + 1)) QMQP4=$((P + 2)) QMQP6=$((P + 3)) CLOSED=$((P + 4))
QMQPSTUB=$((P + 5)) SILENT=$((P + 6)) QMQPDENY=$((P + 7))

pids=
cleanup() {
  for p in $pids; do kill "$p" 2> /dev/null; done
  for p in $pids; do wait "$p" 2> /dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

printf 'me.example\n' > "$H/control/me"
printf 'example.org\n.sub.example.org\n' > "$H/control/rcpthosts"
printf '100000\n' > "$H/control/databytes"
# the client's name is not looked up (no hosts file, no DNS): the
# Received lines below say "unknown" on any machine (87-nodns.sh tests
# the lookup)
echo 0 > "$H/control/smtpdnamewait"
SLUICE_HOSTS=$T/no-hosts
export SLUICE_HOSTS
printf '10\n' > "$H/control/timeoutsmtpd"

# the stand-in injector: exits with the code in $T/qqcode
cat > "$T/qq-stub" <<EOF
#!/bin/sh
cat > /dev/null
exit \$(cat "$T/qqcode")
EOF
chmod 755 "$T/qq-stub"
echo 0 > "$T/qqcode"

rules() { # rules NAME TEXT: $T/NAME.cdb from the rule lines in TEXT
  printf '%s\n' "$2" > "$T/$1.rules"
  tcprules "$T/$1.cdb" "$T/$1.tmp" < "$T/$1.rules" || bad "tcprules $1"
}
rules open ':allow'
rules relay ':allow,RELAYCLIENT="+r"'
rules stub ':allow,QMAILQUEUE="'"$T"'/qq-stub"'
rules deny ':deny'

serve() { # serve NAME RULES HOST PORT PROGRAM
  tcpserver -q -H -R -l qmtp.test -u "$DUID" -g "$DGID" -x "$T/$2.cdb" "$3" "$4" "$H/bin/$5" 2> "$T/$1.log" &
  pids="$pids $!"
}
serve qmtp4 open 127.0.0.1 $QMTP4 sluice-qmtpd
serve qmtp6 relay ::1 $QMTP6 sluice-qmtpd
serve qmqp4 open 127.0.0.1 $QMQP4 sluice-qmqpd
serve qmqp6 open ::1 $QMQP6 sluice-qmqpd
serve qmqpstub stub 127.0.0.1 $QMQPSTUB sluice-qmqpd
serve qmqpdeny deny 127.0.0.1 $QMQPDENY sluice-qmqpd

# The test client: QMTP sessions, raw bytes, a silent server.
cat > "$T/client.py" <<'EOF'
import socket, sys, time

def netstring(b):
    return str(len(b)).encode() + b":" + b + b","

def read_netstring(f):
    n = b""
    while True:
        c = f.read(1)
        if not c:
            return None
        if c == b":":
            break
        n += c
    data = f.read(int(n))
    if f.read(1) != b",":
        raise ValueError("no comma")
    return data

def connect(host, port):
    s = socket.create_connection((host, int(port)), timeout=20)
    return s, s.makefile("rb")

cmd = sys.argv[1]
if cmd == "wait":  # wait HOST PORT: until the port accepts (10 s)
    for i in range(100):
        try:
            socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=1).close()
            sys.exit(0)
        except OSError:
            time.sleep(0.1)
    sys.exit(1)
elif cmd == "qmtp":
    # qmtp HOST PORT MSG...: each MSG is MODE|BODYFILE|SENDER|RCPT,RCPT
    # (MODE lf, crlf or a byte value); all messages go in one write,
    # then one line per reply netstring.
    s, f = connect(sys.argv[2], sys.argv[3])
    out, counts = b"", []
    for spec in sys.argv[4:]:
        mode, body, sender, rcpts = spec.split("|")
        text = open(body, "rb").read()
        if mode == "lf":
            m = b"\n" + text
        elif mode == "crlf":
            m = b"\r" + text.replace(b"\n", b"\r\n")
        else:
            m = bytes([int(mode)]) + text
        rl = b"".join(netstring(r.encode()) for r in rcpts.split(",") if r)
        out += netstring(m) + netstring(sender.encode()) + netstring(rl)
        counts.append(len([r for r in rcpts.split(",") if r]))
    s.sendall(out)
    for c in counts:
        for i in range(c):
            r = read_netstring(f)
            if r is None:
                print("EOF")
                sys.exit(0)
            print(r.decode("latin-1"))
    s.shutdown(socket.SHUT_WR)
    print("end" if f.read(1) == b"" else "more")
elif cmd == "raw":
    # raw HOST PORT FILE: sends the bytes, prints what came back and
    # whether the server closed the connection within 15 s
    s, f = connect(sys.argv[2], sys.argv[3])
    s.settimeout(15)
    try:
        s.sendall(open(sys.argv[4], "rb").read())
    except OSError:
        pass
    got = b""
    try:
        while True:
            c = s.recv(4096)
            if not c:
                print("closed " + repr(got))
                break
            got += c
    except socket.timeout:
        print("open " + repr(got))
    except OSError:
        print("closed " + repr(got))
elif cmd == "silent":
    # silent PORT: accepts connections on 127.0.0.1, never answers; 30 s
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", int(sys.argv[2])))
    l.listen(5)
    l.settimeout(30)
    held = []
    try:
        while True:
            c, a = l.accept()
            held.append(c)
    except OSError:
        pass
EOF
python3 "$T/client.py" silent $SILENT &
pids="$pids $!"

for port in $QMTP4 $QMQP4 $QMQPSTUB $QMQPDENY $SILENT; do
  python3 "$T/client.py" wait 127.0.0.1 $port || bad "server on 127.0.0.1:$port did not start"
done
for port in $QMTP6 $QMQP6; do
  python3 "$T/client.py" wait ::1 $port || bad "server on [::1]:$port did not start"
done

qclear() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f -exec rm -f {} +; }
qcount() { find "$QD/todo" -type f | wc -l | tr -d ' '; }
# qwhat: the count, then each queued message's envelope and queue times
# (so that a failed count says which message it saw)
qwhat() {
  qcount
  for f in $(find "$QD/todo" -type f); do
    printf ' [%s %s]' "$(tr '\0' ' ' < "$f")" "$(stat -c %y "$f")"
  done
}
# env_of SENDER: the envelope (F and T records, one a line) of the
# queued message with that sender; sets $mess to its message file
env_of() {
  mess=
  for f in $(find "$QD/todo" -type f); do
    if tr '\0' '\n' < "$f" | grep -qx "F$1"; then
      mess=$QD/mess/${f#"$QD/todo/"}
      tr '\0' '\n' < "$f" | grep '^[FT]'
      return 0
    fi
  done
  return 1
}
# envelope SENDER: env_of in this shell: sets $envelope and $mess
queued() { env_of "$1" > /dev/null; }
envelope() { env_of "$1" > "$T/envelope"; envelope=$(cat "$T/envelope"); }
# body: the message after the two Received lines of queue and server
body() { tail -n +4 "$mess"; }

# --- 1. QMTP, several messages on one connection ---------------------
qclear
printf 'Subject: one\n\nline 1\nline 2\n' > "$T/m1"
python3 -c '
import sys
lines = ["Subject: two"] + [""] + ["crlf body line %05d %s" % (i, "x" * 40) for i in range(1500)]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")' "$T/m2"
printf 'Subject: three\n\nbare\rCR becomes a space\n' > "$T/m3"
python3 -c 'import sys; open(sys.argv[1], "w").write("Subject: big\n\n" + "y" * 150000 + "\n")' "$T/m4"
python3 "$T/client.py" qmtp 127.0.0.1 $QMTP4 \
  "lf|$T/m1|s1@a.net|a@example.org,b@other.net,c@x.sub.example.org" \
  "crlf|$T/m2|s2@a.net|d@EXAMPLE.org" \
  "crlf|$T/m3|s3@a.net|e@example.org" \
  "65|$T/m1|s4@a.net|f@example.org,g@example.org" \
  "lf|$T/m4|s5@a.net|h@example.org" \
  "lf|$T/m1|s6@a.net|i@nowhere.net,j@sub.example.org" \
  "lf|$T/m1|s7@a.net|" > "$T/out"
cut -c1 "$T/out" | tr -d '\n' > "$T/kinds"
check_eq "qmtp: one reply per recipient, in order" "$(cat "$T/kinds")" "KDKKKDDDDDe"
check_eq "qmtp: relay refusal text" "$(sed -n 2p "$T/out")" "Dsorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"
check "qmtp: K text names the qp" grep -q '^K.*ok.*qp [0-9]' "$T/out"
check "qmtp: bad mode byte refused" grep -q '^Dunknown message format' "$T/out"
check "qmtp: databytes" grep -q '^Dmessage size exceeds' "$T/out"
check_eq "qmtp: connection ends cleanly" "$(tail -n 1 "$T/out")" "end"
check_eq "qmtp: three messages queued" "$(qcount)" 3
envelope s1@a.net
check_eq "qmtp: LF message envelope" "$envelope" "Fs1@a.net
Ta@example.org
Tc@x.sub.example.org"
if [ -n "$mess" ]; then
  check_eq "qmtp: LF message body" "$(body)" "$(cat "$T/m1")"
  check "qmtp: Received line" grep -q '^Received: from unknown (unknown \[127\.0\.0\.1\])$' "$mess"
  check "qmtp: Received by/with" grep -q '^  by qmtp\.test with QMTP; ' "$mess"
else
  bad "qmtp: LF message queued"
fi
envelope s2@a.net
check_eq "qmtp: CRLF message envelope" "$envelope" "Fs2@a.net
Td@EXAMPLE.org"
if [ -n "$mess" ]; then
  tail -n +4 "$mess" > "$T/got2"
  check "qmtp: CRLF message converted to LF (large)" cmp -s "$T/got2" "$T/m2"
fi
envelope s3@a.net
check_eq "qmtp: a CR not before LF becomes a space (sluice-queue(5))" "$(body | od -c | grep -c '\\r'):$(body | sed -n 3p)" \
  "0:bare CR becomes a space"
check_fail "qmtp: bad mode not queued" queued s4@a.net
check_fail "qmtp: oversize not queued" queued s5@a.net
check_fail "qmtp: all recipients refused: not queued" queued s6@a.net
check "qmtp: log line per message" grep -q 'sluice-qmtpd: pid [0-9]* from 127.0.0.1 mail <s1@a.net> rcpt <a@example.org> reject <b@other.net> rcpt <c@x.sub.example.org> bytes [0-9]* result K' "$T/qmtp4.log"
check_eq "qmtp: seven log lines" "$(grep -c '^sluice-qmtpd: pid .* result ' "$T/qmtp4.log")" 7

# RELAYCLIENT on the IPv6 server: every domain, suffix appended
qclear
python3 "$T/client.py" qmtp ::1 $QMTP6 "lf|$T/m1|r@a.net|x@other.net,y@example.org" > "$T/out6"
check_eq "qmtp6: relay client accepted" "$(cut -c1 "$T/out6" | tr -d '\n')" "KKe"
envelope r@a.net
check_eq "qmtp6: RELAYCLIENT appended" "$envelope" "Fr@a.net
Tx@other.net+r
Ty@example.org+r"
[ -n "$mess" ] && check "qmtp6: Received with IPv6 literal" grep -q '^Received: from unknown (unknown \[IPv6:::1\])$' "$mess"

# --- 2. QMQP with sluice-qmqpc ----------------------------------------
qmqpc() { # qmqpc MSGFILE ENVELOPE-PRINTF-TEXT: runs the client, sets $rc
  printf "$2" > "$T/env"
  "$H/bin/sluice-qmqpc" < "$1" 1< "$T/env" 2> "$T/qmqpc.err"
  rc=$?
}
servers() { printf '%s\n' "$@" > "$H/control/qmqpservers"; }
qclear
servers "127.0.0.1:$QMQP4"
qmqpc "$T/m1" 'Fq1@a.net\0Tu@x.org\0Tv@y.org\0\0'
check_eq "qmqp4: exit 0" "$rc" 0
envelope q1@a.net
check_eq "qmqp4: envelope" "$envelope" "Fq1@a.net
Tu@x.org
Tv@y.org"
if [ -n "$mess" ]; then
  check_eq "qmqp4: body" "$(body)" "$(cat "$T/m1")"
  check "qmqp4: Received with QMQP" grep -q '^  by qmtp\.test with QMQP; ' "$mess"
fi
check "qmqp4: log line" grep -q 'sluice-qmqpd: pid [0-9]* from 127.0.0.1 mail <q1@a.net> rcpts 2 bytes [0-9]* result K' "$T/qmqp4.log"

servers "[::1]:$QMQP6"
qmqpc "$T/m2" 'Fq2@a.net\0Tw@x.org\0\0'
check_eq "qmqp6: exit 0" "$rc" 0
envelope q2@a.net
check_eq "qmqp6: envelope" "$envelope" "Fq2@a.net
Tw@x.org"
[ -n "$mess" ] && { tail -n +4 "$mess" > "$T/got2"; check "qmqp6: large body intact" cmp -s "$T/got2" "$T/m2"; }

# an options record (SMTPUTF8 from sluice-smtpd, sluice-queue(8)) is
# checked and dropped: QMQP has no room for it; sluice-queue on the
# queue host sets U again for a UTF-8 address
opts_of() { tr '\0' '\n' < "$QD/todo/${mess#"$QD/mess/"}" | grep '^O'; }
qmqpc "$T/m1" 'OU\0Fq13@a.net\0Tw@x.org\0\0'
check_eq "options record: exit 0" "$rc" 0
envelope q13@a.net
check_eq "options record: dropped, envelope as given" "$envelope:$(opts_of)" "Fq13@a.net
Tw@x.org:"
qmqpc "$T/m1" 'OU\0Fq14@a.net\0T\303\274@x.org\0\0'
check_eq "UTF-8 recipient over QMQP: exit 0" "$rc" 0
envelope q14@a.net
check_eq "UTF-8 recipient over QMQP: the queue host sets U" "$(opts_of)" OU
n0=$(qcount)
qmqpc "$T/m1" 'OX\0Fq15@a.net\0Tw@x.org\0\0'
check_eq "unknown option letter: exit 91" "$rc" 91
qmqpc "$T/m1" 'OU\0OU\0Fq15@a.net\0Tw@x.org\0\0'
check_eq "two options records: exit 91" "$rc" 91
qmqpc "$T/m1" 'O\0Fq15@a.net\0Tw@x.org\0\0'
check_eq "empty options record: exit 91" "$rc" 91
check_eq "bad options records: nothing queued" "$(qcount)" "$n0"

servers "127.0.0.1:$CLOSED" "[::1]:$QMQP6"
qmqpc "$T/m1" 'Fq3@a.net\0Tz@x.org\0\0'
check_eq "failover from a closed port: exit 0" "$rc" 0
check "failover from a closed port: queued" queued q3@a.net
check "failover: the closed port is reported" grep -q "127.0.0.1:$CLOSED: connection failed" "$T/qmqpc.err"

printf '2\n' > "$H/control/timeoutremote"
# a server that takes the whole message and never answers may have
# queued it: temporary (72), and the next server does not get it too
# (103-qmqpspread.sh)
servers "127.0.0.1:$SILENT" "127.0.0.1:$QMQP4"
qmqpc "$T/m1" 'Fq4@a.net\0Tz@x.org\0\0'
check_eq "silent server after the message: exit 72, no failover" "$rc" 72
check_fail "silent server after the message: not given to the next" queued q4@a.net
servers "127.0.0.1:$SILENT"
qmqpc "$T/m1" 'Fq5@a.net\0Tz@x.org\0\0'
check_eq "silent server only: exit 72" "$rc" 72
rm -f "$H/control/timeoutremote"

servers "127.0.0.1:$CLOSED" "[::1]:$CLOSED"
qmqpc "$T/m1" 'Fq6@a.net\0Tz@x.org\0\0'
check_eq "every server down: exit 73" "$rc" 73
servers "# nothing"
qmqpc "$T/m1" 'Fq7@a.net\0Tz@x.org\0\0'
check_eq "no server: exit 55" "$rc" 55

servers "127.0.0.1:$QMQPSTUB"
echo 31 > "$T/qqcode"
qmqpc "$T/m1" 'Fq8@a.net\0Tz@x.org\0\0'
check_eq "qmqp D: exit 31" "$rc" 31
check "qmqp D: reason on fd 2" grep -q 'refused permanently: D' "$T/qmqpc.err"
echo 53 > "$T/qqcode"
qmqpc "$T/m1" 'Fq9@a.net\0Tz@x.org\0\0'
check_eq "qmqp Z: exit 71" "$rc" 71
servers "127.0.0.1:$QMQPSTUB" "127.0.0.1:$QMQP4"
qmqpc "$T/m1" 'Fq10@a.net\0Tz@x.org\0\0'
check_eq "qmqp Z then next server: exit 0" "$rc" 0
check "qmqp Z then next server: queued" queued q10@a.net

servers "127.0.0.1:$QMQPDENY"
qmqpc "$T/m1" 'Fq11@a.net\0Tz@x.org\0\0'
check_eq "tcprules deny: exit 74" "$rc" 74
check_fail "tcprules deny: nothing queued" queued q11@a.net

servers "127.0.0.1:$QMQP4"
n0=$(qcount)
qmqpc "$T/m1" 'Xq12@a.net\0Tz@x.org\0\0'
check_eq "envelope without F: exit 91" "$rc" 91
qmqpc "$T/m1" 'Fq12@a.net\0Tz@x.org\0'
check_eq "envelope without final NUL: exit 54" "$rc" 54
qmqpc "$T/m1" "Fq12@a.net\\0T$(head -c 1004 /dev/zero | tr '\0' a)\\0\\0"
check_eq "address over 1003 bytes: exit 11" "$rc" 11
qmqpc "$T/m1" 'Fq12@a.net\0\0'
check_eq "no recipient: exit 91" "$rc" 91
check_eq "bad envelopes: nothing queued" "$(qcount)" "$n0"

# --- 3. malformed netstrings ------------------------------------------
raw() { # raw NAME HOST PORT BYTES(printf): expects a close, no reply
  printf "$4" > "$T/raw"
  got=$(python3 "$T/client.py" raw "$2" "$3" "$T/raw")
  check_eq "$1: closed without reply" "$got" "closed b''"
}
qclear
raw "qmtp bad length" 127.0.0.1 $QMTP4 'x:\nhi,5:a@b.c,15:11:a@example.org,,'
raw "qmtp leading zero" 127.0.0.1 $QMTP4 '04:\nhi,5:a@b.c,15:11:a@example.org,,'
raw "qmtp missing comma" 127.0.0.1 $QMTP4 '3:\nhi;5:a@b.c,15:11:a@example.org,,'
raw "qmtp missing comma in rcpt list" 127.0.0.1 $QMTP4 '3:\nhi,5:a@b.c,15:11:a@example.org;,'
raw "qmtp cut rcpt list" 127.0.0.1 $QMTP4 '3:\nhi,5:a@b.c,15:12:a@example.org,,'
raw "qmtp oversize sender" 127.0.0.1 $QMTP4 '3:\nhi,99999:a@b.c'
raw "qmtp huge length" 127.0.0.1 $QMTP4 '99999999999999999999999999:\nhi,'
raw "qmtp empty message netstring" 127.0.0.1 $QMTP4 '0:,5:a@b.c,15:11:a@example.org,,'
raw "qmtp eof inside the message" 127.0.0.1 $QMTP4 '300:\nhello'
raw "qmqp bad length" 127.0.0.1 $QMQP4 '2x:'
raw "qmqp missing outer comma" 127.0.0.1 $QMQP4 '17:3:hi\n,0:,5:a@b.c,;'
raw "qmqp missing inner comma" 127.0.0.1 $QMQP4 '17:3:hi\n;0:,5:a@b.c,,'
raw "qmqp message longer than the request" 127.0.0.1 $QMQP4 '17:30:hi\n,0:,5:a@b.c,,'
raw "qmqp no recipient" 127.0.0.1 $QMQP4 '9:3:hi\n,0:,,'
raw "qmqp huge length" ::1 $QMQP6 '99999999999999999999999999:'
raw "qmqp oversize tail" ::1 $QMQP6 '20000000:1:x,'
check_eq "malformed: nothing queued" "$(qwhat)" 0
check "malformed: qmtpd logs the protocol error" grep -q 'sluice-qmtpd: pid [0-9]* from 127.0.0.1 closing: protocol error' "$T/qmtp4.log"
check "malformed: qmqpd logs the protocol error" grep -q 'sluice-qmqpd: pid [0-9]* from ::1 closing: protocol error' "$T/qmqp6.log"
check_fail "no server crashed" grep -q 'signal\|Segmentation\|core dumped' "$T/qmtp4.log" "$T/qmqp4.log" "$T/qmqp6.log"
# the servers still work afterwards
printf '17:3:hi\n,0:,5:a@b.c,,' > "$T/raw"
python3 "$T/client.py" raw 127.0.0.1 $QMQP4 "$T/raw" > "$T/out"
check "qmqp: a well-formed raw request after the bad ones" grep -q "^closed b'[0-9]*:K" "$T/out"
check_eq "qmqp: raw request queued" "$(qcount)" 1
[ "$(qcount)" = 1 ] || echo "    queued: $(qwhat)"
python3 "$T/client.py" qmtp 127.0.0.1 $QMTP4 "lf|$T/m1|ok@a.net|k@example.org" > "$T/out"
check_eq "qmtp: still serving" "$(cut -c1 "$T/out" | tr -d '\n')" "Ke"

# --- 4. the recipient check (control/rcptcheck.cdb) -------------------
qclear
printf 'example.org\n' > "$H/control/locals"
# as sluice-newrcpt(8) writes it: "=" an existing local part, "+" a prefix
printf '+5,1:alice->=\n+5,1:list-->+\n\n' | "$BIN/tests/cdbtool" make "$H/control/rcptcheck.cdb" \
  || bad "rcptcheck.cdb made"
chmod 644 "$H/control/locals" "$H/control/rcptcheck.cdb"
python3 "$T/client.py" qmtp 127.0.0.1 $QMTP4 \
  "lf|$T/m1|rc1@a.net|alice@example.org,ALICE@Example.ORG,bob@example.org,list-x@example.org,postmaster@example.org,bob@x.sub.example.org" \
  "lf|$T/m1|rc2@a.net|bob@example.org,nobody@example.org" > "$T/out"
check_eq "rcptcheck: one reply per recipient" "$(cut -c1 "$T/out" | tr -d '\n')" "KKDKKKDDe"
check_eq "rcptcheck: unknown local part: D 5.1.1" "$(sed -n 3p "$T/out")" "Dno such user here (#5.1.1)"
envelope rc1@a.net
check_eq "rcptcheck: known, prefix, postmaster and non-local queued" "$envelope" "Frc1@a.net
Talice@example.org
TALICE@Example.ORG
Tlist-x@example.org
Tpostmaster@example.org
Tbob@x.sub.example.org"
check_fail "rcptcheck: only unknown recipients: not queued" queued rc2@a.net
check "rcptcheck: refusal logged" grep -q 'mail <rc1@a.net> rcpt <alice@example.org> rcpt <ALICE@Example.ORG> reject <bob@example.org> rcpt' "$T/qmtp4.log"
python3 "$T/client.py" qmtp ::1 $QMTP6 "lf|$T/m1|rc3@a.net|bob@example.org,alice@example.org" > "$T/out6"
check_eq "rcptcheck: applies with RELAYCLIENT too" "$(cut -c1 "$T/out6" | tr -d '\n')" "DKe"
envelope rc3@a.net
check_eq "rcptcheck: RELAYCLIENT appended after the check" "$envelope" "Frc3@a.net
Talice@example.org+r"
chmod 600 "$H/control/rcptcheck.cdb"
chown root "$H/control/rcptcheck.cdb"
python3 "$T/client.py" qmtp 127.0.0.1 $QMTP4 "lf|$T/m1|rc4@a.net|bob@example.org,x@x.sub.example.org" > "$T/out"
check_eq "rcptcheck: unreadable cdb: Z for local domains only" "$(cut -c1 "$T/out" | tr -d '\n')" "ZKe"
check_eq "rcptcheck: unreadable cdb: Z text" "$(sed -n 1p "$T/out")" "Zunable to check recipient (#4.3.0)"
check "rcptcheck: unreadable cdb: warning logged" grep -q 'unable to read control/rcptcheck.cdb' "$T/qmtp4.log"
rm -f "$H/control/rcptcheck.cdb"
python3 "$T/client.py" qmtp 127.0.0.1 $QMTP4 "lf|$T/m1|rc5@a.net|bob@example.org" > "$T/out"
check_eq "rcptcheck: no cdb: no check" "$(cut -c1 "$T/out" | tr -d '\n')" "Ke"
rm -f "$H/control/locals"

done_testing
