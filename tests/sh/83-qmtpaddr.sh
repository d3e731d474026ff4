#!/bin/sh
# 83-qmtpaddr.sh: the relay check cannot be fooled by addresses that a
# server reads one way and sluice-send routes another (issue 12).
# sluice-qmtpd, sluice-qmqpd and sluice-smtpd run under a real tcpserver
# on 127.0.0.1 with the real queue, without RELAYCLIENT unless said.
#
#  1. QMTP: recipients that hide a remote domain from a split that
#     honours an unterminated quote ("victim@evil.example, a"@evil.example
#     and friends) are refused one by one (D 5.1.3, or D 5.7.1 after a
#     source route) and nothing is queued; a quoted local part that does
#     parse is accepted and queued in canonical form; a sender that does
#     not parse refuses the message;
#  2. QMQP: a request with such an address is refused whole (D) and
#     nothing is queued; the canonical form is queued otherwise;
#  3. control/percenthack: victim%evil.example@example.org (a listed
#     domain) is refused to outsiders by sluice-smtpd (553 5.7.1) and
#     sluice-qmtpd (D 5.7.1), quoted or not, and accepted from a
#     RELAYCLIENT client; a domain not listed keeps its '%'.
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

# this run's ports: P .. P+5, none of them listening now
tries=0
while :; do
  P=$((15100 + ($$ * 11 + tries * 17) % 5000))
  busy=$(ss -Hltn 2>/dev/null | awk '{print $4}' | sed 's/.*://' | awk -v p=$P '$1 >= p && $1 <= p + 5' | head -n 1)
  [ -z "$busy" ] && break
  tries=$((tries + 1))
  [ $tries -lt 20 ] || { bad "no free ports"; done_testing; }
done
QMTP=$P QMTPR=$((P + 1)) QMQP=$((P + 2)) SMTP=$((P + 3)) SMTPR=$((P + 4))

pids=
cleanup() {
  for p in $pids; do kill "$p" 2> /dev/null; done
  for p in $pids; do wait "$p" 2> /dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

printf 'me.example\n' > "$H/control/me"
printf 'example.org\nother.example\n' > "$H/control/rcpthosts"
printf 'example.org\n' > "$H/control/percenthack"
printf '10\n' > "$H/control/timeoutsmtpd"
chmod 644 "$H/control/percenthack"

rules() { # rules NAME TEXT: $T/NAME.cdb from the rule lines in TEXT
  printf '%s\n' "$2" > "$T/$1.rules"
  tcprules "$T/$1.cdb" "$T/$1.tmp" < "$T/$1.rules" || bad "tcprules $1"
}
rules open ':allow'
rules relay ':allow,RELAYCLIENT=""'

serve() { # serve NAME RULES PORT PROGRAM
  tcpserver -q -H -R -l addr.test -u "$DUID" -g "$DGID" -x "$T/$2.cdb" 127.0.0.1 "$3" "$H/bin/$4" 2> "$T/$1.log" &
  pids="$pids $!"
}
serve qmtp open $QMTP sluice-qmtpd
serve qmtpr relay $QMTPR sluice-qmtpd
serve qmqp open $QMQP sluice-qmqpd
serve smtp open $SMTP sluice-smtpd
serve smtpr relay $SMTPR sluice-smtpd

# The test client: one python3 run for every session (python3 starts
# slowly on a loaded machine). Each request is a line of $T/reqs: an id,
# the protocol, the port, the sender and the recipients, separated by
# tabs, each address a Python string literal so that quotes, backslashes
# and NUL pass the shell unharmed. The replies go to $T/out.ID.
cat > "$T/client.py" <<'PYEOF'
import ast, socket, sys, time

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

def connect(port):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
    return s, s.makefile("rb")

def addr(lit):
    return ast.literal_eval(lit).encode("latin-1")

body = b"Subject: addr\n\nhello\n"

def qmtp(port, sender, rcpts, out):  # one message; a line per reply
    s, f = connect(port)
    s.sendall(netstring(b"\n" + body) + netstring(sender) + netstring(b"".join(netstring(r) for r in rcpts)))
    for r in rcpts:
        got = read_netstring(f)
        out.append("EOF" if got is None else got.decode("latin-1"))

def qmqp(port, sender, rcpts, out):  # one request; the reply
    s, f = connect(port)
    s.sendall(netstring(netstring(body) + netstring(sender) + b"".join(netstring(r) for r in rcpts)))
    got = read_netstring(f)
    out.append("EOF" if got is None else got.decode("latin-1"))

def smtp(port, sender, rcpts, out):  # a line per RCPT reply, then DATA's code
    s, f = connect(port)
    def reply():
        while True:
            line = f.readline().decode("latin-1").rstrip("\r\n")
            if line[3:4] != "-":
                return line
    reply()
    for line in [b"EHLO test", b"MAIL FROM:<" + sender + b">"]:
        s.sendall(line + b"\r\n")
        reply()
    ok = 0
    for r in rcpts:
        s.sendall(b"RCPT TO:<" + r + b">\r\n")
        line = reply()
        ok += line.startswith("250")
        out.append(line)
    if ok:
        s.sendall(b"DATA\r\n")
        reply()
        s.sendall(body.replace(b"\n", b"\r\n") + b".\r\n")
        out.append(reply()[:3])
    s.sendall(b"QUIT\r\n")
    reply()

if sys.argv[1] == "wait":  # wait PORT...: until each accepts (10 s each)
    for port in sys.argv[2:]:
        for i in range(100):
            try:
                socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            print("port %s did not open" % port)
    sys.exit(0)
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("\t")
    out = []
    try:
        {"qmtp": qmtp, "qmqp": qmqp, "smtp": smtp}[f[1]](f[2], addr(f[3]), [addr(a) for a in f[4:]], out)
    except Exception as e:
        out.append("client error: %r" % e)
    open(sys.argv[1] + "." + f[0], "w").write("\n".join(out) + "\n")
PYEOF

check_eq "servers started" "$(python3 "$T/client.py" wait $QMTP $QMTPR $QMQP $SMTP $SMTPR)" ""

# req ID PROTOCOL PORT SENDER RCPT...: one request for the client
: > "$T/reqs"
req() {
  _line=$1
  shift
  for _a in "$@"; do _line=$(printf '%s\t%s' "$_line" "$_a"); done
  printf '%s\n' "$_line" >> "$T/reqs"
}
out() { cat "$T/out.$1"; }
# envelope SENDER: the F and T records of the queued message with that
# sender, one a line, in $envelope (empty when there is none)
envelope() {
  envelope=
  for f in $(find "$QD/todo" -type f); do
    if tr '\0' '\n' < "$f" | grep -qx "F$1"; then
      envelope=$(tr '\0' '\n' < "$f" | grep '^[FT]')
      return 0
    fi
  done
}

# --- the requests ---------------------------------------------------------
# 1. QMTP: addresses that hide a remote domain, one message each
i=0
for a in "'\"victim@evil.example'" "'a\"@evil.example'" "'\"a\\\\\"@evil.example'" \
         "'<victim@evil.example>'" "' victim@evil.example'" "'victim@evil.example\"'" \
         "'\"x\"\"@evil.example'" "'victim@evil.example\\x00@example.org'" "'victim'"; do
  i=$((i + 1))
  req t$i qmtp $QMTP "'t$i@a.net'" "$a"
done
ntrick=$i
# a source route parses: dropped, then the relay check sees the domain
req route qmtp $QMTP "'s2@a.net'" "'@example.org:victim@evil.example'"
# several at once: one reply per recipient, only the good ones queued
req mixed qmtp $QMTP "'s3@a.net'" "'\"victim@evil.example'" "'\"john doe\"@example.org'" \
  "'\"x@evil.example\"@example.org'" "'\"john\"@Example.ORG'" "'a\"@evil.example'" "'postmaster'"
req badsender qmtp $QMTP "'\"s4@a.net'" "'k@example.org'"
req canonsender qmtp $QMTP "'\"s5\"@a.net'" "'k@example.org'"
# 2. QMQP
i=0
for a in "'\"victim@evil.example'" "'a\"@evil.example'" "'<victim@evil.example>'" "'victim@evil.example '"; do
  i=$((i + 1))
  req q$i qmqp $QMQP "'q$i@a.net'" "'k@example.org'" "$a"
done
nqtrick=$i
req qbadsender qmqp $QMQP "'\"qs@a.net'" "'k@example.org'"
req qgood qmqp $QMQP "'\"qg\"@a.net'" "'\"x@y\"@example.org'" "'\"John\"@remote.example'" "'local'"
# 3. control/percenthack
req p1 smtp $SMTP "'p1@a.net'" "'victim%evil.example@example.org'" "'\"victim%evil.example\"@EXAMPLE.org'" \
  "'victim%evil.example@other.example'" "'ok@example.org'"
req p2 smtp $SMTPR "'p2@a.net'" "'victim%evil.example@example.org'"
req p3 qmtp $QMTP "'p3@a.net'" "'victim%evil.example@example.org'" "'victim%evil.example@other.example'"
req p4 qmtp $QMTPR "'p4@a.net'" "'victim%evil.example@example.org'"
python3 "$T/client.py" "$T/out" "$T/reqs" || bad "client ran"

# --- 1. QMTP ------------------------------------------------------------
i=0
while [ $i -lt $ntrick ]; do
  i=$((i + 1))
  case $(out t$i) in
    "Dbad recipient address: "*"(#5.1.3)") ok "qmtp: refused" ;;
    *) bad "qmtp: $(sed -n ${i}p "$T/reqs" | cut -f5) refused" "$(out t$i)" ;;
  esac
  envelope t$i@a.net
  check_eq "qmtp: $(sed -n ${i}p "$T/reqs" | cut -f5) not queued" "$envelope" ""
done
check_eq "qmtp: source route to a remote domain: relaying denied" "$(out route)" \
  "Dsorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"
envelope s2@a.net
check_eq "qmtp: source route not queued" "$envelope" ""
check_eq "qmtp: mixed list: replies" "$(cut -c1 "$T/out.mixed" | tr -d '\n')" "DKKKDK"
envelope s3@a.net
check_eq "qmtp: mixed list: canonical forms queued" "$envelope" 'Fs3@a.net
T"john doe"@example.org
T"x@evil.example"@example.org
Tjohn@Example.ORG
Tpostmaster'
check_eq "qmtp: sender that does not parse" "$(out badsender)" "Dbad sender address: syntax error in address (#5.1.7)"
envelope s5@a.net
check_eq "qmtp: sender in canonical form" "$envelope" "Fs5@a.net
Tk@example.org"
check "qmtp: refused recipients logged as they came" grep -q 'reject <"victim@evil.example>' "$T/qmtp.log"

# --- 2. QMQP ------------------------------------------------------------
i=0
while [ $i -lt $nqtrick ]; do
  i=$((i + 1))
  check_eq "qmqp: $(grep "^q$i	" "$T/reqs" | cut -f6) refused" "$(out q$i)" \
    "Dsender or recipient is not a valid address (#5.1.3)"
  envelope q$i@a.net
  check_eq "qmqp: $(grep "^q$i	" "$T/reqs" | cut -f6) not queued" "$envelope" ""
done
check_eq "qmqp: sender that does not parse" "$(out qbadsender)" "Dsender or recipient is not a valid address (#5.1.3)"
case $(out qgood) in K*) ok "qmqp: good request" ;; *) bad "qmqp: good request" "$(out qgood)" ;; esac
envelope qg@a.net
check_eq "qmqp: canonical forms queued" "$envelope" 'Fqg@a.net
T"x@y"@example.org
TJohn@remote.example
Tlocal'

# --- 3. control/percenthack ---------------------------------------------
check_eq "smtpd: % hack refused to outsiders" "$(sed -n 1p "$T/out.p1")" \
  "553 5.7.1 relaying denied: no % in the local part here"
check_eq "smtpd: % hack refused, quoted" "$(sed -n 2p "$T/out.p1")" \
  "553 5.7.1 relaying denied: no % in the local part here"
check_eq "smtpd: % in a domain not in percenthack" "$(sed -n 3p "$T/out.p1" | cut -c1-3)" 250
check_eq "smtpd: other recipients accepted" "$(sed -n 4,5p "$T/out.p1" | cut -c1-3 | tr '\n' ' ')" "250 250 "
envelope p1@a.net
check_eq "smtpd: only the harmless recipients queued" "$envelope" "Fp1@a.net
Tvictim%evil.example@other.example
Tok@example.org"
check_eq "smtpd: % hack for a relay client" "$(sed -n 1p "$T/out.p2" | cut -c1-3)" 250
envelope p2@a.net
check_eq "smtpd: relay client's % address queued" "$envelope" "Fp2@a.net
Tvictim%evil.example@example.org"
check "smtpd: refusal logged" grep -q 'victim%evil.example@example.org' "$T/smtp.log"
check_eq "qmtpd: % hack refused to outsiders" "$(sed -n 1p "$T/out.p3")" \
  "Dsorry, relaying denied: no % in the local part here (#5.7.1)"
check_eq "qmtpd: % in a domain not in percenthack" "$(sed -n 2p "$T/out.p3" | cut -c1)" K
envelope p3@a.net
check_eq "qmtpd: outsider's % address not queued" "$envelope" "Fp3@a.net
Tvictim%evil.example@other.example"
check_eq "qmtpd: % hack for a relay client" "$(cut -c1 "$T/out.p4")" K

check_fail "no server crashed" grep -q 'signal\|Segmentation\|core dumped\|runtime error' \
  "$T/qmtp.log" "$T/qmtpr.log" "$T/qmqp.log" "$T/smtp.log" "$T/smtpr.log"
done_testing
