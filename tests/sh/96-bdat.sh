#!/bin/sh
# 96-bdat.sh: CHUNKING (RFC 3030) in sluice-smtpd, under a real
# tcpserver as the daemon user, with the real setuid sluice-queue,
# driven by raw bytes from python:
#  1. CHUNKING in EHLO; a message in several chunks with BDAT LAST is
#     queued with its envelope, a Received line and the queue's line
#     form (CR LF to LF, a CR LF split across two chunks, no dot
#     unstuffing); an empty LAST chunk; every command pipelined;
#  2. sequencing: BDAT before MAIL (503), after a failed RCPT set (554),
#     DATA after BDAT (503), RSET drops a half-sent message; the chunk
#     bytes are always read and never taken as commands;
#  3. limits: a chunk past databytes is refused with 552 and the
#     transaction is reset; bare LF, bare CR and NUL in a chunk (554);
#     a bad BDAT size closes the connection.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../e2e.sh"
need_root
inst_fresh
e2e_tools
for p in tcpserver tcprules; do
  command -v $p > /dev/null 2>&1 || { bad "$p installed" "apt-get install ucspi-tcp-ipv6"; done_testing; }
done

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
DUID=$(id -u "$U_DAEMON")
DGID=$(id -g "$U_DAEMON")
C=$H/control
QD=$H/queue
free_ports 20000 1
PORT=$P

servers=""
cleanup() {
  for p in $servers; do kill "$p" 2> /dev/null; done
  for p in $servers; do wait "$p" 2> /dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo mx.example.test > "$C/me"
echo example.test > "$C/rcpthosts"
echo 0 > "$C/smtpdnamewait"
echo 200 > "$C/databytes"
SLUICE_HOSTS=$T/no-hosts
export SLUICE_HOSTS
chmod 644 "${C:?}"/*
printf ':allow\n' > "$T/rules"
tcprules "$T/rules.cdb" "$T/rules.tmp" < "$T/rules" || bad "tcprules"
tcpserver -H -R -l mx.example.test -x "$T/rules.cdb" -u "$DUID" -g "$DGID" 127.0.0.1 "$PORT" "$H/bin/sluice-smtpd" \
  > "$T/server.log" 2>&1 &
servers=$!

cat > "$T/cli.py" <<'EOF'
import socket, sys, time, os, codecs, re
def readall(s, limit=20):
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
# B<<bytes>> is "BDAT n CR LF bytes", L<<bytes>> the same with LAST
def chunks(b):
    return re.sub(rb"([BL])<<(.*?)>>", lambda m: b"BDAT %d%s\r\n%s" % (len(m.group(2)), b" LAST" if m.group(1) == b"L" else b"", m.group(2)), b, flags=re.S)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
try:
    s.sendall(chunks(codecs.escape_decode(os.fsencode(sys.argv[2]))[0])); s.shutdown(socket.SHUT_WR)
except OSError:
    pass
sys.stdout.buffer.write(readall(s))
EOF
raw() { timeout 60 python3 "$T/cli.py" "$PORT" "$1" | tr -d '\r'; }
codes() { raw "$1" | grep -v '^250-' | cut -c1-3 | tr '\n' ' ' | sed 's/ $//'; }
i=0
until raw 'QUIT\r\n' 2> /dev/null | grep -q '^221'; do
  i=$((i + 1)); [ $i -gt 50 ] && break; sleep 0.1
done

qclear() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f -exec rm -f {} +; }
qcount() { find "$QD/todo" -type f | wc -l | tr -d ' '; }
qenv() { f=$(find "$QD/todo" -type f | head -n 1); [ -n "$f" ] && tr '\0' '|' < "$f" | sed 's/^u[0-9]*|p[0-9]*|s[0-9.]*|//'; }
qmess() { f=$(find "$QD/mess" -type f | head -n 1); [ -n "$f" ] && cat "$f"; }
E='EHLO client.test\r\n'
M='MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\n'

# --- 1. messages in chunks ---------------------------------------------
check "CHUNKING in EHLO" sh -c "$(printf '%s' "raw() { timeout 60 python3 '$T/cli.py' $PORT \"\$1\" | tr -d '\\r'; }; raw '${E}QUIT\\r\\n' | grep -qx '250-CHUNKING'")"
qclear
# chunk 1 ends in CR, chunk 2 starts with its LF; a line holding a dot
out=$(codes "${E}${M}B<<Subject: s\r\n\r\nab\r>>B<<\n.\r\nx\r\ny >>L<<z\r\n.\r>>QUIT\r\n")
check_eq "three chunks, pipelined: replies" "$out" "220 250 250 250 250 250 554 221"
qclear
out=$(codes "${E}${M}B<<Subject: s\r\n\r\na>>B<<b\r\n.\r\nx\r\n>>L<<z\r\n\r>>QUIT\r\n")
check_eq "bare CR at the end of the last chunk: 554" "$out" "220 250 250 250 250 250 554 221"
check_eq "nothing queued after 554" "$(qcount)" 0
out=$(raw "${E}${M}B<<Subject: s\r\n\r\nab\r>>B<<\n.\r\nx\r\n>>L<<z\r\n>>QUIT\r\n")
check "pipelined chunks: 250 ok qp" sh -c "echo '$out' | grep -q '^250 2.0.0 ok qp [0-9]*\$'"
check "chunk replies count the octets" sh -c "echo '$out' | grep -q '^250 2.0.0 17 octets received\$'"
check_eq "one message queued" "$(qcount)" 1
check_eq "envelope" "$(qenv)" "Fa@b.test|Tu@example.test|"
qmess > "$T/mess"
check_eq "Received line" "$(sed -n 2,3p "$T/mess" | sed 's/; .*//')" \
  "Received: from client.test (unknown [127.0.0.1])
  by mx.example.test with ESMTP"
printf 'Subject: s\n\nab\n.\nx\nz\n' > "$T/want"
check "body: LF line ends, dot kept, chunks joined" sh -c "tail -n +4 '$T/mess' | cmp -s - '$T/want'"
qclear
out=$(codes "${E}${M}B<<Subject: t\r\n\r\n>>L<<>>QUIT\r\n")
check_eq "empty LAST chunk" "$out" "220 250 250 250 250 250 221"
check_eq "empty LAST chunk: queued" "$(qcount)" 1
qclear
out=$(codes "${E}${M}L<<Subject: t\r\n\r\nb>>BDAT 3 last\r\nabcQUIT\r\n")
check_eq "last line without CR LF; a second BDAT needs a new MAIL" "$out" "220 250 250 250 250 503 221"
check "last line without CR LF: LF added" sh -c "qmess_f=\$(find '$QD/mess' -type f | head -n 1); tail -n 1 \"\$qmess_f\" | od -c | grep -q 'b  *\\\\n'"
qclear
out=$(codes "${E}${M}B<<ab\r\n>>B<<cd\r\n>>L<<ef\r\n>>MAIL FROM:<c@d.test>\r\nRCPT TO:<v@example.test>\r\nL<<x\r\n\r\n>>QUIT\r\n")
check_eq "two transactions in one pipelined session" "$out" "220 250 250 250 250 250 250 250 250 250 221"
check_eq "two messages queued" "$(qcount)" 2

# --- 2. sequencing ------------------------------------------------------
qclear
check_eq "BDAT before MAIL: 503, chunk not read as commands" \
  "$(codes "${E}BDAT 6\r\nQUIT\r\nNOOP\r\n")" "220 250 503 250"
check_eq "BDAT after HELO: 503" "$(codes "HELO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.test>\r\nBDAT 6 LAST\r\nQUIT\r\nQUIT\r\n")" "220 250 250 250 503 221"
check_eq "BDAT after a failed RCPT set: 554" \
  "$(codes "${E}MAIL FROM:<a@b.test>\r\nRCPT TO:<u@other.test>\r\nBDAT 6 LAST\r\nQUIT\r\nQUIT\r\n")" "220 250 250 553 554 221"
check_eq "DATA after BDAT: 503" \
  "$(codes "${E}${M}B<<a\r\n>>DATA\r\nRSET\r\nQUIT\r\n")" "220 250 250 250 250 503 250 221"
check_eq "BDAT then RSET: nothing queued" "$(qcount)" 0
check_eq "BDAT then RSET then a new message" \
  "$(codes "${E}${M}B<<a\r\n>>RSET\r\n${M}L<<b\r\n\r\n>>QUIT\r\n")" "220 250 250 250 250 250 250 250 250 221"
check_eq "only the second message queued" "$(qcount)" 1
qclear
check_eq "BDAT then EOF: nothing queued" "$(codes "${E}${M}BDAT 10\r\nab")" "220 250 250 250"
check_eq "BDAT then EOF: queue empty" "$(qcount)" 0

# --- 3. limits and smuggling ---------------------------------------------
big=$(python3 -c 'print("x" * 98, end="")')
check_eq "over-size chunk: 552, then the transaction is gone" \
  "$(codes "${E}${M}B<<${big}\r\n>>B<<${big}\r\n>>L<<${big}\r\n>>RCPT TO:<u@example.test>\r\nQUIT\r\n")" \
  "220 250 250 250 250 250 552 503 221"
check_eq "over-size: nothing queued" "$(qcount)" 0
check_eq "one over-size chunk: 552" "$(codes "${E}${M}L<<${big}${big}${big}xx\r\n>>QUIT\r\n")" "220 250 250 250 552 221"
check_eq "bare LF in a chunk: 554" "$(codes "${E}${M}BDAT 7 LAST\r\na\n.\nb\r\nQUIT\r\n")" "220 250 250 250 554 221"
check_eq "smuggled DATA end in a chunk: 554" \
  "$(codes "${E}${M}L<<a\r\n.\nMAIL FROM:<x@y.test>\r\nRCPT TO:<u@example.test>\r\n>>QUIT\r\n")" "220 250 250 250 554 221"
check_eq "bare CR in a chunk: 554" "$(codes "${E}${M}BDAT 5 LAST\r\na\rb\r\nQUIT\r\n")" "220 250 250 250 554 221"
check_eq "NUL in a chunk: 554" "$(codes "${E}${M}BDAT 5 LAST\r\na\0b\r\nQUIT\r\n")" "220 250 250 250 554 221"
check_eq "smuggling: nothing queued" "$(qcount)" 0
check_eq "bad BDAT size: 421" "$(codes "${E}${M}BDAT x\r\nQUIT\r\n")" "220 250 250 250 421"
check_eq "BDAT size with junk: 421" "$(codes "${E}${M}BDAT 3 MORE\r\nabcQUIT\r\n")" "220 250 250 250 421"
check_eq "BDAT size overflow: 421" "$(codes "${E}${M}BDAT 99999999999999999999999\r\nQUIT\r\n")" "220 250 250 250 421"
check "server log: BDAT transactions logged" grep -q "result 552" "$T/server.log"
done_testing
