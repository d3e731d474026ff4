#!/bin/sh
# 77-lineform.sh: the queue's line form (sluice-queue(5), "Line ends")
# through every entry and every exit, in a private instance with the
# real delivery set, a local user's Maildir and an SMTP sink that saves
# every byte of the data it receives (tests/smtpsink.py, N.wire).
#
# Each message carries CR LF line ends, a bare CR inside a header field
# and inside body lines, CR CR LF, and lines starting with a dot, and
# goes to one remote recipient (the sink) and one local (the Maildir):
#  1. entries, checked in the queue before sluice-send runs: sendmail -t
#     with CR LF input and with LF input, PHP's mail() through the
#     instance's sendmail (php-cli), QMTP in CR LF mode and in LF mode,
#     QMQP, SMTP (bare CR refused with 554, CR LF stored as LF); every
#     queued message is LF only, no CR anywhere, body as lineform.h
#     says (CR LF -> LF, other CR -> space);
#  2. sluice-queue run directly with CR LF and bare CR (what an old
#     queue or a local user may hold): the CRs stay in the queue;
#  3. exits, once the set ran: on the wire no bare CR, no bare LF, no
#     CR CR LF, an empty line between header and body, dot-stuffing
#     right, the body byte for byte as expected; in the Maildir no CR
#     at all and the body byte for byte as expected.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh
for p in tcpserver tcprules php; do
  command -v $p > /dev/null 2>&1 || { bad "$p is missing (apt-get install ucspi-tcp-ipv6 php-cli)"; done_testing; }
done

DOM=lf77.test
FAR=far77.test
SU=lform77
DUID=$(id -u sluiced) && DGID=$(id -g sluiced) || { bad "daemon user sluiced"; done_testing; }
free_ports 16000 5
SINK=$P QMTP=$((P + 1)) QMQP=$((P + 2)) SMTP=$((P + 3))
: > "$T/pids"

cleanup() {
  kill_set 100
  for p in $(cat "$T/pids" 2> /dev/null); do kill "$p" 2> /dev/null; done
  userdel -r "$SU" > /dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "$DOM" > "$H/control/me"
echo "$DOM" > "$H/control/locals"
echo "$DOM" > "$H/control/rcpthosts"
echo "$FAR:127.0.0.1:$SINK" > "$H/control/smtproutes"
echo 5 > "$H/control/timeoutconnect"
echo 30 > "$H/control/timeoutremote"
mkuser "$SU"
SHOME=$(home_of "$SU")
chmod 755 "$T"

# --- the sink and the servers ---
mkdir "$T/sink"
python3 tests/smtpsink.py --host 127.0.0.1 --port "$SINK" --dir "$T/sink" --ready "$T/sink.ready" \
  --pipelining 2> "$T/sink.err" &
echo $! >> "$T/pids"
printf ':allow,RELAYCLIENT=""\n' > "$T/open.rules"
tcprules "$T/open.cdb" "$T/open.tmp" < "$T/open.rules" || bad "tcprules"
for s in "qmtp $QMTP sluice-qmtpd" "qmqp $QMQP sluice-qmqpd" "smtp $SMTP sluice-smtpd"; do
  set -- $s
  tcpserver -q -H -R -l "$DOM" -u "$DUID" -g "$DGID" -x "$T/open.cdb" 127.0.0.1 "$2" "$H/bin/$3" 2> "$T/$1.log" &
  echo $! >> "$T/pids"
done

# The helper: messages, protocol clients and the byte checks (python
# starts slowly on a loaded machine: few calls, each doing much).
cat > "$T/lf.py" <<'EOF'
import os, socket, sys

def lineform(b):
    """The reference of lineform.h: CR LF -> LF, any other CR -> space."""
    return b.replace(b"\r\n", b"\n").replace(b"\r", b" ")

def message(tag, eol):
    """The test message: header and body with bare CRs, CR CR LF and dots."""
    lines = [b"From: <lform77@lf77.test>", b"To: <r-" + tag + b"@far77.test>, <lform77@lf77.test>",
             b"Subject: lf77 " + tag, b"X-Bare: a\rb", b"",
             b"first line", b".dot line", b"..two dots", b"bare\rCR and\r\rtwo", b"crcrlf\r",
             b".", b"\r.\r", b"last line"]
    return eol.join(lines) + eol

class Bad(Exception):
    pass

def split(b, sep):
    i = b.find(sep)
    if i < 0:
        raise Bad("no empty line between header and body")
    return b[:i + len(sep) // 2], b[i + len(sep):]

def netstring(b):
    return str(len(b)).encode() + b":" + b + b","

def connect(port):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
    return s, s.makefile("rb")

def read_netstring(f):
    n = b""
    while not n.endswith(b":"):
        c = f.read(1)
        if not c:
            return b"(none)"
        n += c
    d = f.read(int(n[:-1]))
    f.read(1)
    return d

def qmtp(port, mode, msg, sender, rcpts):
    s, f = connect(port)
    s.sendall(netstring(mode + msg) + netstring(sender) + netstring(b"".join(netstring(r) for r in rcpts)))
    return "".join(read_netstring(f)[:1].decode() for r in rcpts)

def qmqp(port, msg, sender, rcpts):
    s, f = connect(port)
    s.sendall(netstring(netstring(msg) + netstring(sender) + b"".join(netstring(r) for r in rcpts)))
    return read_netstring(f)[:1].decode()

def smtp(port, msg, rcpts):
    s, f = connect(port)
    def reply():
        while True:
            l = f.readline()
            if l[3:4] != b"-":
                return l.decode().strip()
    reply()
    s.sendall(b"HELO client.lf77.test\r\n"); reply()
    s.sendall(b"MAIL FROM:<lform77@lf77.test>\r\n"); reply()
    for r in rcpts:
        s.sendall(b"RCPT TO:<" + r + b">\r\n"); reply()
    s.sendall(b"DATA\r\n"); reply()
    s.sendall(b"".join((b"." + l if l.startswith(b".") else l) + b"\n" for l in msg.split(b"\n")[:-1]) + b".\r\n")
    code = reply()[:3]
    s.sendall(b"QUIT\r\n")
    return code

def wire_check(b):
    """Every CR before an LF, every LF after a CR, a CR LF at the end."""
    for i, c in enumerate(b):
        if c == 13 and b[i + 1:i + 2] != b"\n":
            raise Bad("bare CR at byte %d: %r" % (i, b[max(0, i - 20):i + 20]))
        if c == 10 and (i == 0 or b[i - 1] != 13):
            raise Bad("bare LF at byte %d: %r" % (i, b[max(0, i - 20):i + 20]))
    if b"\r\r\n" in b:
        raise Bad("CR CR LF")
    if not b.endswith(b"\r\n"):
        raise Bad("no CR LF at the end")

def stuff(b):
    """LF form to the wire: CR LF line ends and dot-stuffing."""
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in b.split(b"\n")[:-1])

def lf_only(b, where):
    if b"\r" in b:
        raise Bad("a CR %s at byte %d" % (where, b.index(b"\r")))
    return split(b, b"\n\n")

def x_bare(h, eol):
    if eol + b"X-Bare: a b" + eol not in h and eol + b"X-Php: a b" + eol not in h:
        raise Bad("no X-Bare line with a space for the CR")

def queued(path, want):
    h, body = lf_only(open(path, "rb").read(), "in the queue")
    if body != want:
        raise Bad("queued body %r" % body)
    x_bare(h, b"\n")

def wire(path, want):
    b = open(path, "rb").read()
    wire_check(b)
    h, body = split(b, b"\r\n\r\n")
    if body != stuff(want):
        raise Bad("body on the wire %r" % body)
    x_bare(h, b"\r\n")

def maildir(path, want):
    h, body = lf_only(open(path, "rb").read(), "in the Maildir")
    if body != want:
        raise Bad("body in the Maildir %r" % body)
    x_bare(h, b"\n")

cmd, d = sys.argv[1], sys.argv[2]
def put(name, b):
    open(os.path.join(d, name), "wb").write(b)
def get(name):
    return open(os.path.join(d, name), "rb").read()
if cmd == "prep":  # prep DIR: TAG.in and TAG.want for every test message
    for tag, eol in (("sendmail", b"\r\n"), ("sendmail-lf", b"\n"), ("qmtp-crlf", b"\r\n"), ("qmtp-lf", b"\r\n"),
                     ("qmqp", b"\r\n"), ("smtp-bare", b"\r\n"), ("direct", b"\r\n")):
        put(tag + ".in", message(tag.encode(), eol))
    # SMTP: strict CR LF and no bare CR (a bare CR is refused: smtp-bare)
    m = message(b"smtp", b"\n").replace(b"\r", b"").replace(b"X-Bare: ab", b"X-Bare: a b")
    put("smtp.in", m.replace(b"\n", b"\r\n"))
    for tag in ("sendmail", "sendmail-lf", "qmtp-crlf", "qmtp-lf", "qmqp", "direct", "smtp"):
        put(tag + ".want", split(lineform(get(tag + ".in")), b"\n\n")[1])
elif cmd == "send":  # send DIR QMTP QMQP SMTP: the network clients, one result a line
    qp, qqp, sp = sys.argv[3:6]
    me = loc = b"lform77@lf77.test"
    far = lambda t: b"r-" + t + b"@far77.test"
    print("qmtp-crlf", qmtp(qp, b"\r", get("qmtp-crlf.in"), me, [far(b"qmtp-crlf"), loc]))
    print("qmtp-lf", qmtp(qp, b"\n", get("qmtp-lf.in"), me, [far(b"qmtp-lf"), loc]))
    print("qmqp", qmqp(qqp, get("qmqp.in"), me, [far(b"qmqp"), loc]))
    print("smtp-bare", smtp(sp, get("smtp-bare.in"), [far(b"smtp-bare"), loc]))
    print("smtp", smtp(sp, get("smtp.in"), [far(b"smtp"), loc]))
else:  # queued|exits DIR TAG=FILE[,FILE] ...: "TAG ok" or "TAG why" per TAG
    for arg in sys.argv[3:]:
        tag, _, files = arg.partition("=")
        files = files.split(",")
        try:
            w = get(tag + ".want")
            if cmd == "queued":
                queued(files[0], w)
            else:
                wire(files[0], w)
                maildir(files[1], w)
            print(tag, "ok")
        except (Bad, OSError) as e:
            print(tag, str(e)[:300].replace("\n", " "))
EOF
lf() { python3 "$T/lf.py" "$@"; }
check "sink ready" wait_for 10 test -f "$T/sink.ready"
for port in $QMTP $QMQP $SMTP; do
  check "server on $port" wait_for 10 sh -c "ss -Hltn | grep -q ':$port '"
done
lf prep "$T"

# the mess file of the message with Subject "lf77 TAG"
CR=$(printf '\r')
mess_of() { grep -lE "^Subject: lf77 $1$CR?\$" "$H"/queue/mess/*/* 2> /dev/null | head -n 1; }
LOCAL=$SU@$DOM
# results NAME FILE: one check per line "TAG ok" (or "TAG why") of FILE
results() {
  while read -r tag why; do check_eq "$tag: $1" "$why" ok; done < "$2"
}

# --- 1. entries ---
(cd / && as "$SU" "$H/bin/sendmail" -t < "$T/sendmail.in")
check_eq "sendmail -t, CR LF input: exit 0" "$?" 0
(cd / && as "$SU" "$H/bin/sendmail" -t < "$T/sendmail-lf.in")
check_eq "sendmail -t, LF input with bare CRs: exit 0" "$?" 0

# PHP's mail() writes CR LF line ends and adds one after the body
cat > "$T/mail.php" <<'EOF'
<?php
$body = "first line\r\n.dot line\r\n..two dots\r\nbare\rCR and\r\rtwo\r\ncrcrlf\r\r\n.\r\n\r.\r\r\nlast line";
$ok = mail("<r-php@far77.test>, <lform77@lf77.test>", "lf77 php", $body, "X-Php: a\rb");
exit($ok ? 0 : 1);
EOF
printf 'first line\n.dot line\n..two dots\nbare CR and  two\ncrcrlf \n.\n . \nlast line\n' > "$T/php.want"
(cd / && as "$SU" php -n -d "sendmail_path=$H/bin/sendmail -t -i" "$T/mail.php") > "$T/php.out" 2>&1
check_eq "php mail(): returns true" "$?:$(cat "$T/php.out")" "0:"

# QMTP in both modes, QMQP, SMTP (a bare CR refused, CR LF stored as LF)
lf send "$T" $QMTP $QMQP $SMTP > "$T/sent"
check_eq "qmtp, qmqp, smtp answers" "$(cat "$T/sent")" "qmtp-crlf KK
qmtp-lf KK
qmqp K
smtp-bare 554
smtp 250"
check_eq "smtp: bare CR message not queued" "$(mess_of smtp-bare)" ""

tags="sendmail sendmail-lf php qmtp-crlf qmtp-lf qmqp smtp"
set --
for t in $tags; do set -- "$@" "$t=$(mess_of "$t")"; done
lf queued "$T" "$@" > "$T/queued"
results "queued LF only, CR LF -> LF, bare CR -> space" "$T/queued"

# --- 2. sluice-queue run directly: bytes as given ---
printf 'F%s\0Tr-direct@%s\0T%s\0\0' "$LOCAL" "$FAR" "$LOCAL" > "$T/direct.env"
(cd / && as "$SU" "$H/bin/sluice-queue" < "$T/direct.in" 1< "$T/direct.env")
check_eq "sluice-queue direct: exit 0" "$?" 0
m=$(mess_of direct)
check "sluice-queue direct: CRs kept in the queue (the exits must convert)" grep -q "$CR" "${m:-/nonexistent}"
tags="$tags direct"
n=$(echo $tags | wc -w)

# --- 3. exits ---
start_set
check "sluice-start running" kill -0 "$spid"
all_done() { [ "$(ls "$T/sink" | grep -c '\.wire$')" -ge "$n" ] && [ "$(ls "$SHOME/Maildir/new" | wc -l)" -ge "$n" ] && queue_empty; }
check "every message delivered" wait_for 60 all_done
set --
for t in $tags; do
  w=$(grep -l "^Subject: lf77 $t$CR\$" "$T"/sink/*.wire 2> /dev/null | head -n 1)
  d=$(grep -l "^Subject: lf77 $t\$" "$SHOME"/Maildir/new/* 2> /dev/null | head -n 1)
  set -- "$@" "$t=${w:-none},${d:-none}"
done
lf exits "$T" "$@" > "$T/exits"
results "wire CR LF only (no bare CR/LF, no CR CR LF), Maildir LF only, bodies exact" "$T/exits"
check_eq "one remote copy per message" "$(ls "$T/sink" | grep -c '\.wire$')" "$n"
check_eq "one local copy per message" "$(ls "$SHOME/Maildir/new" | wc -l | tr -d ' ')" "$n"
end_checks local remote info mess todo
done_testing
