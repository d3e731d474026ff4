#!/bin/sh
# 83-deadlines.sh: the total time limits against slow ("slowloris")
# peers. A per-call timeout cannot stop a peer that sends one byte every
# half second; the totals must (deadline.h).
#
#  1. sluice-smtpd under tcpserver, with timeoutsmtpd 10 s per call and
#     totals of 2 s per command, 3 s for the data and 5 s per session:
#     a command trickled byte by byte gets 421 4.4.2 after the command
#     total, message data trickled after the data total (nothing
#     queued), NOOPs sent whole but slowly after the session total;
#  2. the same three for sluice-qmtpd (the sender netstring trickled,
#     the message text trickled, whole messages sent slowly) and the
#     command and data cases for sluice-qmqpd; its session case runs
#     with a 3 s session total and long phase totals; each closes the
#     connection and logs which limit it ran into;
#  3. sluice-remote against a fake MX (python3) that trickles its
#     greeting (cut after timeoutremotereply) or answers every command
#     byte by byte within the reply total (cut after
#     timeoutremotedelivery): Z for every recipient, quickly;
#  4. 0 turns a total off, a bad value is refused; sluice-showctl.
# The python clients give up after 10 s, so without the totals every
# case fails in bounded time.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh
PATH=$PATH:/usr/sbin:/sbin
export PATH

for p in tcpserver tcprules python3; do
  command -v $p > /dev/null 2>&1 || { bad "$p installed" "apt-get install ucspi-tcp-ipv6 python3"; done_testing; }
done

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
DUID=$(id -u "$U_DAEMON") && DGID=$(id -g "$U_DAEMON") || { bad "daemon user"; done_testing; }
C=$H/control

# this run's ports: P .. P+9, none of them listening now
tries=0
while :; do
  P=$((13100 + ($$ * 7 + tries * 13) % 5000))
  busy=$(ss -Hltn 2> /dev/null | awk '{print $4}' | sed 's/.*://' | awk -v p=$P '$1 >= p && $1 <= p + 9' | head -n 1)
  [ -z "$busy" ] && break
  tries=$((tries + 1))
  [ $tries -lt 20 ] || { bad "no free ports"; done_testing; }
done
P_SMTP=$P P_QMTP=$((P + 1)) P_QMQP=$((P + 2)) P_MX1=$((P + 3)) P_MX2=$((P + 4))

pids=
cleanup() {
  for p in $pids; do kill "$p" 2> /dev/null; done
  for p in $pids; do wait "$p" 2> /dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo mx.example.test > "$C/me"
echo example.test > "$C/rcpthosts"
echo 10 > "$C/timeoutsmtpd"
echo 2 > "$C/timeoutsmtpdcommand"
echo 3 > "$C/timeoutsmtpddata"
echo 5 > "$C/timeoutsmtpdsession"
chmod 644 "${C:?}"/*

# the stand-in injector: keeps each envelope it gets in $T/qq/
mkdir -p "$T/qq"
chmod 777 "$T/qq"
cat > "$T/qq.sh" << EOF
#!/bin/sh
cat > /dev/null
cat <&1 > "$T/qq/env.\$\$"
exit 0
EOF
chmod 755 "$T/qq.sh"
printf ':allow,QMAILQUEUE="%s"\n' "$T/qq.sh" > "$T/rules"
tcprules "$T/rules.cdb" "$T/rules.tmp" < "$T/rules" || bad "tcprules"
queued() { find "$T/qq" -type f -size +0 | wc -l | tr -d ' '; }

serve() { # serve PROGRAM PORT: logs into $T/PROGRAM.log
  tcpserver -q -H -R -l mx.example.test -u "$DUID" -g "$DGID" -x "$T/rules.cdb" 127.0.0.1 "$2" "$H/bin/$1" \
    2> "$T/$1.log" &
  pids="$pids $!"
}
serve sluice-smtpd $P_SMTP
serve sluice-qmtpd $P_QMTP
serve sluice-qmqpd $P_QMQP

# trickle PORT PREFIX SLOW CHUNK PAUSE: sends PREFIX (python escapes) at
# once, then SLOW in pieces of CHUNK bytes, PAUSE seconds apart, reading
# whatever comes back; stops when the server closes the connection or
# after 10 s. Prints "closed SECONDS" (since the connection was made)
# or "open", then what the server sent.
cat > "$T/trickle.py" << 'EOF'
import codecs, os, select, socket, sys, time
def unesc(a):
    return codecs.escape_decode(os.fsencode(a))[0]
port, prefix, slow, chunk, pause = sys.argv[1], unesc(sys.argv[2]), unesc(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
s = socket.create_connection(("127.0.0.1", int(port)), timeout=15)
t0 = time.time()
got, closed, pos = b"", None, 0
if prefix:
    s.sendall(prefix)
while time.time() - t0 < 10 and closed is None:
    r, _, _ = select.select([s], [], [], pause)
    if r:
        try:
            d = s.recv(65536)
        except OSError:
            d = b""
        if not d:
            closed = time.time() - t0
        got += d
        continue
    if pos < len(slow):
        try:
            s.sendall(slow[pos:pos + chunk])
        except OSError:
            pass
        pos += chunk
print("closed %.1f" % closed if closed is not None else "open")
sys.stdout.write(got.decode("latin-1"))
EOF
trickle() { # trickle NAME ARGS...: in the background, into $T/NAME.out
  timeout 60 python3 -u "$T/trickle.py" "$@" > "$T/$name.out" 2>&1 &
  waits="$waits $!"
}
# when NAME MIN MAX: the connection of NAME was closed between MIN and
# MAX seconds after it was made
when() {
  first=$(head -n 1 "$T/$1.out")
  case $first in
  closed\ *)
    t=${first#closed }
    if awk -v t="$t" -v a="$2" -v b="$3" 'BEGIN { exit !(t >= a && t <= b) }'; then ok "$1 closed in time"; else
      bad "$1 closed in time" "after $t s, want $2 to $3"
    fi
    ;;
  *) bad "$1 closed in time" "$first" ;;
  esac
}
has() { grep -q -e "$2" "$1"; }
ns() { printf '%s:%s,' "${#1}" "$1"; } # a netstring (ASCII)

# fake MX for sluice-remote: "greeting" trickles an endless greeting;
# "slow" answers every command correctly, each reply 0.25 s a byte;
# either gives up after 15 s.
cat > "$T/mx.py" << 'EOF'
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen(5)
open(sys.argv[3], "w").close()
l.settimeout(30)
c, _ = l.accept()
c.settimeout(15)
end = time.time() + 15
def trickle(text, pause):
    for b in text:
        if time.time() > end:
            sys.exit(0)
        c.sendall(bytes([b]))
        time.sleep(pause)
buf = b""
def line():
    global buf
    while b"\n" not in buf:
        d = c.recv(4096)
        if not d:
            sys.exit(0)
        buf += d
    l, _, buf = buf.partition(b"\n")
    return l
try:
    if mode == "greeting":
        trickle(b"220 " + b"x" * 200 + b"\r\n", 0.5)
        sys.exit(0)
    trickle(b"220 ok\r\n", 0.25)
    while True:
        cmd = line().upper()
        if cmd.startswith(b"DATA"):
            trickle(b"354 go\r\n", 0.25)
            while line() != b".\r":
                pass
            trickle(b"250 ok\r\n", 0.25)
        elif cmd.startswith(b"QUIT"):
            trickle(b"221 ok\r\n", 0.25)
            break
        else:
            trickle(b"250 ok\r\n", 0.25)
except (OSError, SystemExit):
    pass
EOF
mx() { # mx PORT MODE
  rm -f "$T/mx$1.ready"
  timeout 60 python3 "$T/mx.py" "$1" "$2" "$T/mx$1.ready" 2> "$T/mx$1.err" &
  pids="$pids $!"
  i=0
  while [ ! -f "$T/mx$1.ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}
# remote NAME PORT REPLY DELIVERY: sluice-remote in a scratch home routed
# to 127.0.0.1:PORT with the given totals (10 s per call); results in
# $T/NAME.res (one a line), seconds taken in $T/NAME.time
remote() {
  r=$T/$1.home
  mkdir -p "$r/control" "$r/queue/lock"
  echo client.example > "$r/control/me"
  echo "example.org:127.0.0.1:$2" > "$r/control/smtproutes"
  echo 10 > "$r/control/timeoutremote"
  echo "$3" > "$r/control/timeoutremotereply"
  echo "$4" > "$r/control/timeoutremotedelivery"
  printf 'Subject: slow\n\nbody\n' > "$T/$1.msg"
  (
    cd "$r" || exit 1
    s=$(date +%s%N)
    timeout 40 "$BIN/sluice-remote" example.org a@client.example x@example.org y@example.org < "$T/$1.msg" \
      | tr '\0' '\n' > "$T/$1.res"
    echo $((($(date +%s%N) - s) / 1000000)) > "$T/$1.time"
  ) &
  waits="$waits $!"
}
remote_check() { # remote_check NAME MAXMS TEXT
  check_eq "$1: Z for both recipients" "$(cut -c1 "$T/$1.res" | tr -d '\n')" ZZ
  check "$1: temporary failure says why" has "$T/$1.res" "^Z4\.4\.2 .*$3"
  ms=$(cat "$T/$1.time")
  if [ "$ms" -lt "$2" ]; then ok "$1 quick"; else bad "$1 quick" "took $ms ms, want under $2"; fi
}

# 1 and 2: every server case at once, with both sluice-remote cases
waits=
crlf='\r\n'
name=smtp_cmd trickle $P_SMTP "" "NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx$crlf" 1 0.5
name=smtp_data trickle $P_SMTP "EHLO t.test${crlf}MAIL FROM:<a@t.test>${crlf}RCPT TO:<u@example.test>${crlf}DATA$crlf" \
  "Subject: slow${crlf}${crlf}yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy$crlf.$crlf" 1 0.5
noops=
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do noops="${noops}NOOP$crlf"; done
name=smtp_session trickle $P_SMTP "" "$noops" 6 0.7
msg=$(printf '\nSubject: q\n\nbody')
qmsg="$(ns "$msg")$(ns a@t.test)$(ns "$(ns u@example.test)")"
name=qmtp_cmd trickle $P_QMTP "$(ns "$msg")" "$(ns a-long-sender-address@slow.sender.test)" 1 0.5
name=qmtp_data trickle $P_QMTP "100:\\n" "$(printf 'y%.0s' $(seq 99))," 1 0.5
rep=
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do rep="$rep$qmsg"; done
name=qmtp_session trickle $P_QMTP "" "$rep" ${#qmsg} 0.7
name=qmqp_cmd trickle $P_QMQP "" "1000:990:" 1 0.5
name=qmqp_data trickle $P_QMQP "1000:990:" "$(printf 'y%.0s' $(seq 100))" 1 0.5
mx $P_MX1 greeting
mx $P_MX2 slow
remote mx_greeting $P_MX1 2 20
remote mx_slow $P_MX2 3 5
for w in $waits; do wait "$w"; done

when smtp_cmd 1.5 4.5
check "smtpd: 421 after the command total" has "$T/smtp_cmd.out" '^421 4\.4\.2 command time limit reached'
when smtp_data 2.3 5.5
check "smtpd: 354 before" has "$T/smtp_data.out" '^354 '
check "smtpd: 421 after the data total" has "$T/smtp_data.out" '^421 4\.4\.2 message data time limit reached'
when smtp_session 4.5 7.5
check "smtpd: NOOPs answered until then" test "$(grep -c '^250 2.0.0 ok' "$T/smtp_session.out")" -ge 4
check "smtpd: 421 after the session total" has "$T/smtp_session.out" '^421 4\.4\.2 session time limit reached'
check "smtpd: each logged" test "$(grep -c 'closing: .* time limit reached (timeoutsmtpd' "$T/sluice-smtpd.log")" -eq 3
check "smtpd: the transaction logged as 421" has "$T/sluice-smtpd.log" 'rcpt <u@example.test> bytes 0 result 421'

when qmtp_cmd 1.5 4.5
check "qmtpd: command total logged" has "$T/sluice-qmtpd.log" 'closing: command time limit reached'
when qmtp_data 2.3 5.5
check "qmtpd: data total logged" has "$T/sluice-qmtpd.log" 'closing: message data time limit reached'
when qmtp_session 4.5 7.5
check "qmtpd: messages answered until then" test "$(grep -o ':K' "$T/qmtp_session.out" | wc -l)" -ge 3
check "qmtpd: session total logged" has "$T/sluice-qmtpd.log" 'closing: session time limit reached'

when qmqp_cmd 1.5 4.5
check "qmqpd: command total logged" has "$T/sluice-qmqpd.log" 'closing: command time limit reached'
when qmqp_data 2.3 5.5
check "qmqpd: data total logged" has "$T/sluice-qmqpd.log" 'closing: message data time limit reached'
check_eq "only the qmtp session's messages queued" "$(queued)" "$(grep -o ':K' "$T/qmtp_session.out" | wc -l | tr -d ' ')"

remote_check mx_greeting 6000 'time limit of a reply'
remote_check mx_slow 8000 'time limit of the delivery'

# qmqpd's session total, with phase totals that do not end it first
echo 10 > "$C/timeoutsmtpdcommand"
echo 10 > "$C/timeoutsmtpddata"
echo 3 > "$C/timeoutsmtpdsession"
waits=
name=qmqp_session trickle $P_QMQP "" "1000:990:$(printf 'y%.0s' $(seq 100))" 1 0.5
for w in $waits; do wait "$w"; done
when qmqp_session 2.3 5.5
check "qmqpd: session total logged" has "$T/sluice-qmqpd.log" 'closing: session time limit reached'

# 0 turns a total off; a bad value is refused like a bad timeoutsmtpd
echo 0 > "$C/timeoutsmtpdsession"
out=$(timeout 20 python3 "$T/trickle.py" $P_SMTP "" "QUIT$crlf" 6 0.1)
case $out in *"221 2.0.0 "*) ok "session total 0 accepted" ;; *) bad "session total 0 accepted" "$out" ;; esac
echo junk > "$C/timeoutsmtpdcommand"
out=$(timeout 20 python3 "$T/trickle.py" $P_SMTP "" "" 1 0.1)
case $out in *"421 4.3.0 unable to read controls"*) ok "bad timeoutsmtpdcommand: 421" ;; *) bad "bad timeoutsmtpdcommand: 421" "$out" ;; esac
"$H/bin/sluice-showctl" > "$T/showctl" 2> /dev/null
check "showctl: session total" grep -qx 'timeoutsmtpdsession: 0' "$T/showctl"
check "showctl: data total" grep -qx 'timeoutsmtpddata: 10' "$T/showctl"
check "showctl: a bad total warned about" grep -q '^WARNING.*timeoutsmtpdcommand' "$T/showctl"
check "showctl: client totals listed" grep -qx 'timeoutremotedelivery: (default: 1800)' "$T/showctl"
rm -f "$C/timeoutsmtpd" "$C/timeoutsmtpdcommand" "$C/timeoutsmtpddata" "$C/timeoutsmtpdsession"

done_testing
