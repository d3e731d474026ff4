#!/bin/sh
# 86-size.sh: the message size limit at every entry point, with the
# default in force (no control/databytes: 10240000 bytes) unless a case
# says otherwise.
#
#  1. sluice-smtpd: EHLO advertises SIZE 10240000; MAIL with a larger
#     SIZE gets 552 5.3.4; a message of 10240001 bytes gets 552 5.3.4
#     after the data, one of 10240000 bytes is queued (sluice-queue
#     takes it with the Received line of sluice-smtpd on top);
#  2. sluice-qmtpd and sluice-qmqpd: a message over the default gets D
#     with 5.3.4, nothing queued;
#  3. sendmail (sluice-inject) as an ordinary user: over the default,
#     exit 65 (EX_DATAERR) and one line "message too big", nothing left
#     in the queue; just under it, queued;
#  4. sluice-queue itself, the last line: over databytes plus the trace
#     room (65536) exit 31 with no file left and sluice-fsck clean, for
#     the default and for an explicit databytes; exactly at the bound,
#     queued; databytes 0 is no limit; bounces (the send user) are
#     exempt; sluice-smtpd with DATABYTES=0 in its environment is still
#     stopped by sluice-queue (554, nothing half-committed).
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh
PATH=$PATH:/usr/sbin:/sbin
export PATH

for p in tcpserver tcprules python3 setpriv; do
  command -v $p > /dev/null 2>&1 || { bad "$p installed" "apt-get install ucspi-tcp-ipv6 python3"; done_testing; }
done

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
U_SEND=$(role send)
DUID=$(id -u "$U_DAEMON")
DGID=$(id -g "$U_DAEMON")
C=$H/control
QD=$H/queue
Q=$H/bin/sluice-queue
LIMIT=10240000
ROOM=65536

PBASE=$((28100 + $$ % 500))
P_SMTP=$PBASE P_QMTP=$((PBASE + 1)) P_QMQP=$((PBASE + 2)) P_NOLIMIT=$((PBASE + 3))

TUSER=limsz$$
servers=""
cleanup() {
  for p in $servers; do kill "$p" 2> /dev/null; done
  for p in $servers; do wait "$p" 2> /dev/null; done
  userdel "$TUSER" > /dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
useradd -M -N -s /bin/sh -d /nonexistent "$TUSER" > /dev/null 2>&1 || { bad "useradd $TUSER"; done_testing; }
TUID=$(id -u "$TUSER")

echo mx.example.test > "$C/me"
echo example.test > "$C/rcpthosts"
echo example.test > "$C/locals"
chmod 644 "${C:?}"/*
rm -f "$C/databytes"

serve() { # serve NAME RULES PORT PROGRAM
  printf '%s\n' "$2" > "$T/$1.rules"
  tcprules "$T/$1.cdb" "$T/$1.tmp" < "$T/$1.rules" || bad "tcprules $1"
  tcpserver -q -H -R -l mx.example.test -x "$T/$1.cdb" -u "$DUID" -g "$DGID" 127.0.0.1 "$3" "$H/bin/$4" \
    2> "$T/$1.log" &
  servers="$servers $!"
}
serve smtp ':allow' "$P_SMTP" sluice-smtpd
serve qmtp ':allow' "$P_QMTP" sluice-qmtpd
serve qmqp ':allow' "$P_QMQP" sluice-qmqpd
serve nolimit ':allow,DATABYTES="0"' "$P_NOLIMIT" sluice-smtpd

cat > "$T/cli.py" <<'EOF'
import socket, sys, time
def conn(port):
    return socket.create_connection(("127.0.0.1", int(port)), timeout=60)
def netstring(b):
    return str(len(b)).encode() + b":" + b + b","
def read_netstring(f):
    n = b""
    while True:
        c = f.read(1)
        if not c:
            return b"(eof)"
        if c == b":":
            break
        n += c
    return f.read(int(n))
cmd = sys.argv[1]
if cmd == "wait":      # wait PORT: until the port takes connections
    for i in range(100):
        try:
            conn(sys.argv[2]).close(); sys.exit(0)
        except OSError:
            time.sleep(0.1)
    sys.exit(1)
elif cmd == "smtp":    # smtp PORT FILE [SIZE]: the EHLO SIZE line, then each reply code with its enhanced code
    s = conn(sys.argv[2]); f = s.makefile("rb")
    def reply():
        last = b""
        while True:
            l = f.readline()
            if not l:
                return last.decode()
            last = l.rstrip(b"\r\n")
            if l[3:4] != b"-":
                return last.decode()
    def ehlo():
        lines = []
        while True:
            l = f.readline().rstrip(b"\r\n").decode()
            lines.append(l)
            if l[3:4] != "-":
                return lines
    reply()
    s.sendall(b"EHLO client.test\r\n")
    print(([l for l in ehlo() if l[4:].startswith("SIZE")] + ["no SIZE"])[0])
    size = " SIZE=" + sys.argv[4] if len(sys.argv) > 4 else ""
    s.sendall(("MAIL FROM:<a@b.test>%s\r\n" % size).encode())
    r = reply(); out = [r[:9]]
    if r.startswith("250"):
        s.sendall(b"RCPT TO:<u@example.test>\r\nDATA\r\n")
        out.append(reply()[:9]); r = reply(); out.append(r[:3])
        if r.startswith("354"):
            data = open(sys.argv[3], "rb").read().replace(b"\n", b"\r\n")
            s.sendall(data + b".\r\n")
            out.append(reply()[:9])
    s.sendall(b"QUIT\r\n"); out.append(reply()[:3])
    print(" ".join(out))
elif cmd == "qmtp":    # qmtp PORT FILE: one message to u@example.test; prints the reply
    s = conn(sys.argv[2])
    s.sendall(netstring(b"\n" + open(sys.argv[3], "rb").read()) + netstring(b"a@b.test")
              + netstring(netstring(b"u@example.test")))
    print(read_netstring(s.makefile("rb")).decode(errors="replace"))
elif cmd == "qmqp":    # qmqp PORT FILE: the same over QMQP
    s = conn(sys.argv[2])
    s.sendall(netstring(netstring(open(sys.argv[3], "rb").read()) + netstring(b"a@b.test")
                        + netstring(b"u@example.test")))
    print(read_netstring(s.makefile("rb")).decode(errors="replace"))
elif cmd == "make":    # make FILE SIZE [HEADER]: a message of exactly SIZE bytes, lines of 100
    size = int(sys.argv[3]); head = (sys.argv[4] if len(sys.argv) > 4 else "Subject: size\n\n").encode()
    body = size - len(head); full, rest = divmod(body, 100)
    data = head + (b"x" * 99 + b"\n") * full + (b"y" * (rest - 1) + b"\n" if rest else b"")
    assert len(data) == size
    open(sys.argv[2], "wb").write(data)
EOF
cli() { timeout 120 python3 "$T/cli.py" "$@"; }
for p in "$P_SMTP" "$P_QMTP" "$P_QMQP" "$P_NOLIMIT"; do cli wait "$p" || bad "server on port $p started"; done

qclear() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f -exec rm -f {} +; }
qcount() { find "$QD/todo" -type f | wc -l | tr -d ' '; }
qfiles() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f | wc -l | tr -d ' '; }
fsck_clean() { "$H/bin/sluice-fsck" > "$T/fsck.out" 2>&1; }
# mk FILE SIZE [HEADER]: a message of exactly SIZE bytes (cli.py make)
mk() { cli make "$@" || bad "message $1 made"; }

# --- 1. SMTP ---------------------------------------------------------------
qclear
mk "$T/over" $((LIMIT + 1))
mk "$T/under" "$LIMIT"
out=$(cli smtp "$P_SMTP" "$T/over" $((LIMIT + 1)))
check_eq "smtp: EHLO advertises the default" "$(echo "$out" | sed -n 1p)" "250-SIZE $LIMIT"
check_eq "smtp: SIZE over the default: 552 5.3.4 at MAIL" "$(echo "$out" | sed -n 2p)" "552 5.3.4 221"
out=$(cli smtp "$P_SMTP" "$T/over" | sed -n 2p)
check_eq "smtp: message over the default: 552 5.3.4 after the data" "$out" "250 2.1.0 250 2.1.5 354 552 5.3.4 221"
check_eq "smtp: nothing left in the queue" "$(qfiles)" 0
out=$(cli smtp "$P_SMTP" "$T/under" "$LIMIT" | sed -n 2p)
check_eq "smtp: message of exactly the default: queued (with its Received lines)" "$out" "250 2.1.0 250 2.1.5 354 250 2.0.0 221"
check_eq "smtp: one message queued" "$(qcount)" 1
qclear

# --- 2. QMTP and QMQP ------------------------------------------------------
out=$(cli qmtp "$P_QMTP" "$T/over")
check "qmtp: over the default refused with 5.3.4 ($out)" sh -c 'case "$1" in D*5.3.4*) exit 0;; esac; exit 1' x "$out"
out=$(cli qmqp "$P_QMQP" "$T/over")
check "qmqp: over the default refused with 5.3.4 ($out)" sh -c 'case "$1" in D*5.3.4*) exit 0;; esac; exit 1' x "$out"
check_eq "qmtp, qmqp: nothing left in the queue" "$(qfiles)" 0

# --- 3. sendmail as a user -------------------------------------------------
as() { env -i PATH=/usr/bin:/bin HOME=/ USER="$TUSER" setpriv --reuid="$TUID" --regid="$(id -g "$TUSER")" --init-groups "$@"; }
mk "$T/sm-over" $((LIMIT + 1)) 'To: u@example.test
Subject: big

'
chmod 644 "$T/sm-over"
as "$H/bin/sendmail" -t < "$T/sm-over" > "$T/sm.out" 2>&1
check_eq "sendmail: over the default: exit 65 (EX_DATAERR)" "$?" 65
check_eq "sendmail: says why, in one line" "$(cat "$T/sm.out")" "sluice-inject: fatal: message too big: over 10240000 bytes (control/databytes) (#5.3.4): not queued"
check_eq "sendmail: nothing left in the queue" "$(qfiles)" 0
mk "$T/sm-under" $((LIMIT - 1000)) 'To: u@example.test
Subject: big

'
chmod 644 "$T/sm-under"
as "$H/bin/sendmail" -t < "$T/sm-under" > "$T/sm.out" 2>&1
check_eq "sendmail: under the default: exit 0 ($(cat "$T/sm.out"))" "$?" 0
check_eq "sendmail: one message queued" "$(qcount)" 1
qclear

# --- 4. sluice-queue itself -------------------------------------------------
printf 'Fa@b.test\0Tu@example.test\0\0' > "$T/env"
chmod 644 "$T/env"
queue() { # queue MSG [WRAPPER...]: sluice-queue's exit code in rc
  m=$1; shift
  "$@" "$Q" < "$m" 1< "$T/env" 2> "$T/q.err"
  rc=$?
}
mk "$T/q-over" $((LIMIT + ROOM + 1))
queue "$T/q-over" as
check_eq "sluice-queue: over the default: exit 31" "$rc" 31
check "sluice-queue: says why" grep -q 'too big' "$T/q.err"
check_eq "sluice-queue: no file left" "$(qfiles)" 0
check "sluice-queue: sluice-fsck clean" fsck_clean
mk "$T/q-at" $((LIMIT + ROOM))
queue "$T/q-at" as
check_eq "sluice-queue: at the default plus the trace room: exit 0" "$rc" 0
check_eq "sluice-queue: queued" "$(qcount)" 1
qclear
echo 1000 > "$C/databytes"
mk "$T/q-small" $((1000 + ROOM + 1))
queue "$T/q-small" as
check_eq "sluice-queue: over databytes 1000: exit 31" "$rc" 31
check_eq "sluice-queue: over databytes 1000: no file left" "$(qfiles)" 0
check "sluice-queue: over databytes 1000: sluice-fsck clean" fsck_clean
queue "$T/q-small" setpriv --reuid="$(id -u "$U_SEND")" --regid="$(id -g "$U_SEND")" --init-groups
check_eq "sluice-queue: a bounce (send user) is exempt" "$rc" 0
qclear
echo 0 > "$C/databytes"
queue "$T/q-over" as
check_eq "sluice-queue: databytes 0 is no limit" "$rc" 0
qclear
echo 1000 > "$C/databytes"
mk "$T/nolimit" $((1000 + ROOM + 100))
out=$(cli smtp "$P_NOLIMIT" "$T/nolimit" | sed -n 2p)
check_eq "smtpd with DATABYTES=0: sluice-queue refuses (554)" "$out" "250 2.1.0 250 2.1.5 354 554 5.3.0 221"
check_eq "smtpd with DATABYTES=0: no file left" "$(qfiles)" 0
check "smtpd with DATABYTES=0: sluice-fsck clean" fsck_clean
rm -f "$C/databytes"

done_testing
