#!/bin/sh
# 78-utf8relay.sh: SMTPUTF8 and long lines on relay (issue 13), through
# the whole path in a private instance: sluice-smtpd (tcpserver) ->
# sluice-queue -> sluice-send -> sluice-rspawn -> sluice-remote, to two
# SMTP sinks (tests/smtpsink.py) that save the exact MAIL line and every
# byte of the data: U offers PIPELINING, 8BITMIME and SMTPUTF8, A offers
# PIPELINING only, and refuses (as a strict server does) a parameter it
# did not offer or a non-ASCII address without SMTPUTF8.
#
#  1. in the queue, before sluice-send runs: a message accepted with
#     MAIL ... SMTPUTF8 has the O record U in its envelope
#     (sluice-queue(5)), an ASCII one none; sluice-queue given no O
#     record but a UTF-8 recipient sets U itself; a bad O record is
#     refused (91); an O record after F is refused (91);
#  2. delivered: accepted with SMTPUTF8 (UTF-8 recipient, header and
#     body) to U: "MAIL FROM:<...> BODY=8BITMIME SMTPUTF8"; an ASCII
#     message to U: no SMTPUTF8; accepted with SMTPUTF8 but all ASCII,
#     to A: sent, without SMTPUTF8 (RFC 6531 3.4); an 8-bit body without
#     SMTPUTF8 to A (no 8BITMIME): sent as it is, without BODY=; a UTF-8
#     recipient to A and an SMTPUTF8 message with a UTF-8 Subject to A:
#     never sent to A, the sender gets a bounce with Status 5.6.7; by
#     MX (tests/helpers/dnsd.c): a UTF-8 recipient whose first MX lacks
#     SMTPUTF8 is delivered to the second, which offers it;
#  3. a 5,000-byte header line and a 5,000-byte body line (starting
#     with a dot), lines of 998 and 999 bytes: on the wire every line
#     has at most 998 bytes besides a stuffed dot, the long ones broken
#     by CR LF SPACE (header: 998 then " "+997 ... as sluice-remote(8)
#     says), the header still ends at the same place, the data ends
#     CR LF . CR LF, and unfolded and unstuffed it is the message.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh
command -v tcpserver > /dev/null 2>&1 && command -v tcprules > /dev/null 2>&1 ||
  { bad "tcpserver is missing (apt-get install ucspi-tcp-ipv6)"; done_testing; }

DOM=l78.test
SU=s78u
SENDER=$SU@$DOM
DUID=$(id -u sluiced) && DGID=$(id -g sluiced) || { bad "daemon user sluiced"; done_testing; }
tries=0
while :; do
  P=$((11200 + ($$ * 11 + tries * 17) % 9000))
  busy=$(ss -Hltun 2>/dev/null | awk '{print $5}' | sed 's/.*://' | awk -v p=$P '$1 >= p && $1 <= p + 4' | head -n 1)
  [ -z "$busy" ] && break
  tries=$((tries + 1))
  [ $tries -lt 20 ] || { bad "no free ports"; done_testing; }
done
SINKU=$P SINKA=$((P + 1)) SMTP=$((P + 2)) MXP=$((P + 3)) DP=$((P + 4))
DNSD=$BIN/tests/dnsd
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
printf 'u78.test:127.0.0.1:%s\na78.test:127.0.0.1:%s\nmx78.test::%s\n' "$SINKU" "$SINKA" "$MXP" \
  > "$H/control/smtproutes"
# the test MX hosts live on this machine's loopback: not "this host" for
# the loop check (sluice-remote(8), "Mail for this host")
printf '127.0.0.1\n::1\n' > "$H/control/notipme"
echo 5 > "$H/control/timeoutconnect"
echo 30 > "$H/control/timeoutremote"
mkuser "$SU"
SHOME=$(home_of "$SU")

mkdir "$T/u" "$T/a" "$T/mxa" "$T/mxu"
# mx78.test: the first MX (127.0.0.1) without SMTPUTF8, the second ([::1]) with it
python3 tests/smtpsink.py --host 127.0.0.1 --port "$MXP" --dir "$T/mxa" --ready "$T/mxa.ready" \
  --pipelining 2> "$T/mxa.err" &
echo $! >> "$T/pids"
python3 tests/smtpsink.py --host ::1 --port "$MXP" --dir "$T/mxu" --ready "$T/mxu.ready" \
  --pipelining --smtputf8 2> "$T/mxu.err" &
echo $! >> "$T/pids"
cat > "$T/zone" <<EOF
MX mx78.test 10 mxa.mx78.test
MX mx78.test 20 mxu.mx78.test
A mxa.mx78.test 127.0.0.1
AAAA mxu.mx78.test ::1
EOF
"$DNSD" 127.0.0.1 "$DP" "$T/zone" > "$T/dns.log" 2> "$T/dns.err" &
echo $! >> "$T/pids"
python3 tests/smtpsink.py --host 127.0.0.1 --port "$SINKU" --dir "$T/u" --ready "$T/u.ready" \
  --pipelining --8bitmime --smtputf8 --conn 2> "$T/u.err" &
echo $! >> "$T/pids"
python3 tests/smtpsink.py --host 127.0.0.1 --port "$SINKA" --dir "$T/a" --ready "$T/a.ready" \
  --pipelining --conn 2> "$T/a.err" &
echo $! >> "$T/pids"
printf ':allow,RELAYCLIENT=""\n' > "$T/open.rules"
tcprules "$T/open.cdb" "$T/open.tmp" < "$T/open.rules" || bad "tcprules"
tcpserver -q -H -R -l "$DOM" -u "$DUID" -g "$DGID" -x "$T/open.cdb" 127.0.0.1 "$SMTP" "$H/bin/sluice-smtpd" \
  2> "$T/smtpd.log" &
echo $! >> "$T/pids"

cat > "$T/u8.py" <<'EOF'
import os, socket, sys

SENDER = b"s78u@l78.test"
JORG = "j\u00f6rg".encode()
LONGH = b"X-Long: " + b"".join(bytes([97 + i % 26]) for i in range(4992))   # 5000 bytes
LONGB = b"." + b"".join(bytes([65 + i % 26]) for i in range(4999))          # 5000 bytes, a dot first

# tag: (SMTPUTF8 on MAIL, recipient, message with LF line ends)
def messages():
    return {
        "u8u": (True, JORG + b"@u78.test",
                "Subject: Gr\u00fc\u00dfe u8u\nFrom: <s78u@l78.test>\n\nb\u00f6dy\n".encode()),
        "ascu": (False, b"plain@u78.test", b"Subject: ascu\n\nplain\n"),
        "asca": (True, b"plain@a78.test", b"Subject: asca\n\nplain ascii body\n"),
        "bit8a": (False, b"latin@a78.test", b"Subject: bit8a\n\ncaf\xe9 \xff\n"),
        "rcpta": (True, JORG + b"@a78.test", b"Subject: rcpta\n\nto a UTF-8 recipient\n"),
        "hdra": (True, b"hdr@a78.test", "Subject: \u00fcml hdra\n\nascii body\n".encode()),
        "mxu": (True, JORG + b"@mx78.test", b"Subject: mxu\n\nvia the second MX\n"),
        "long": (False, b"long@u78.test", b"Subject: long\n" + LONGH + b"\nX-After: yes\n\n" + LONGB
                 + b"\n" + b"c" * 998 + b"\n" + b"d" * 998 + b".\n.\nend\n"),
    }

def smtp(port, utf8, rcpt, msg):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
    f = s.makefile("rb")
    def reply():
        while True:
            l = f.readline()
            if l[3:4] != b"-":
                return l.decode("latin-1").strip()
    reply()
    s.sendall(b"EHLO client.l78.test\r\n"); reply()
    s.sendall(b"MAIL FROM:<" + SENDER + b">" + (b" SMTPUTF8" if utf8 else b"") + b"\r\n")
    r = reply()
    if not r.startswith("250"):
        return "MAIL " + r
    s.sendall(b"RCPT TO:<" + rcpt + b">\r\n")
    r = reply()
    if not r.startswith("250"):
        return "RCPT " + r
    s.sendall(b"DATA\r\n"); reply()
    s.sendall(b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in msg.split(b"\n")[:-1]) + b".\r\n")
    code = reply()[:3]
    s.sendall(b"QUIT\r\n")
    return code

def sink_file(d, tag, ext):
    """The file N.ext of the sink directory d whose data has Subject ... tag."""
    for n in sorted(os.listdir(d)):
        if n.endswith(".data"):
            b = open(os.path.join(d, n), "rb").read()
            h = b.split(b"\r\n\r\n", 1)[0]
            for l in h.split(b"\r\n"):
                if l.startswith(b"Subject:") and l.endswith(b" " + tag.encode()):
                    return os.path.join(d, n[:-5] + ext)
    return None

def check_long(raw, msg):
    """The checks of part 3; '' when all hold, else why."""
    if not raw.endswith(b"\r\n.\r\n"):
        return "data does not end CR LF . CR LF"
    body = raw[:-3]
    lines = body.split(b"\r\n")[:-1]
    for i, l in enumerate(lines):
        if b"\r" in l or b"\n" in l:
            return "bare CR or LF in line %d" % i
        n = len(l) - (1 if l.startswith(b".") else 0)  # a stuffed dot does not count
        if n > 998:
            return "line %d has %d bytes" % (i, n)
        if l == b".":
            return "a lone dot inside the data at line %d" % i
    # the header line: 998, then " " + 997 four times, then " " + 14
    i = next((k for k, l in enumerate(lines) if l.startswith(b"X-Long: ")), None)
    if i is None:
        return "no X-Long line"
    got = [len(l) for l in lines[i:i + 6]]
    if got != [998, 998, 998, 998, 998, 15] or not all(l.startswith(b" ") for l in lines[i + 1:i + 6]):
        return "X-Long folded as %r" % got
    if lines[i + 6] != b"X-After: yes" or lines[i + 7] != b"":
        return "the header does not go on after X-Long: %r" % lines[i + 6][:40]
    # the body line: a stuffed dot, then 998 bytes; then " " + 997...
    j = i + 8
    if not (lines[j].startswith(b"..") and len(lines[j]) == 999 and lines[j + 1].startswith(b" ")):
        return "body line %r... (%d bytes)" % (lines[j][:10], len(lines[j]))
    # unstuffed and unfolded: the message (after the Received lines)
    text = b"".join((l[1:] if l.startswith(b".") else l) + b"\r\n" for l in lines)
    text = text.replace(b"\r\n ", b"")
    if not text.endswith(msg.replace(b"\n", b"\r\n")):
        return "unfolded data differs from the message"
    return ""

cmd = sys.argv[1]
if cmd == "send":        # send PORT TAG...: "TAG CODE" per message
    m = messages()
    for tag in sys.argv[3:]:
        utf8, rcpt, msg = m[tag]
        print(tag, smtp(sys.argv[2], utf8, rcpt, msg))
elif cmd == "mail":      # mail DIR TAG: the MAIL line as received, CR LF shown as |
    p = sink_file(sys.argv[2], sys.argv[3], ".mail")
    print(open(p, "rb").read().replace(b"\r\n", b"|").decode("utf-8", "replace") if p else "none")
elif cmd == "data":      # data DIR TAG: 'same' when the data is the message (after the trace)
    p = sink_file(sys.argv[2], sys.argv[3], ".data")
    msg = messages()[sys.argv[3]][2].replace(b"\n", b"\r\n")
    print("none" if not p else "same" if open(p, "rb").read().endswith(msg) else "differs")
elif cmd == "sessions":  # sessions DIR: every line of every connection within 1000 bytes with its CR LF
    worst = 0
    for n in os.listdir(sys.argv[2]):
        if n.startswith("conn."):
            for l in open(os.path.join(sys.argv[2], n), "rb").read().split(b"\r\n"):
                worst = max(worst, len(l) + 2 - (1 if l.startswith(b"..") else 0))
    print("ok" if 0 < worst <= 1000 else "a line of %d bytes" % worst)
elif cmd == "long":      # long DIR: the checks of part 3
    p = sink_file(sys.argv[2], "long", ".raw")
    print("none" if not p else check_long(open(p, "rb").read(), messages()["long"][2]) or "ok")
EOF
u8() { python3 "$T/u8.py" "$@"; }
check "sink U ready" wait_for 10 test -f "$T/u.ready"
check "sink A ready" wait_for 10 test -f "$T/a.ready"
check "MX sinks ready" wait_for 10 test -f "$T/mxa.ready" -a -f "$T/mxu.ready"
check "dnsd ready" wait_for 10 grep -q '^ready$' "$T/dns.log"
check "smtpd listening" wait_for 10 sh -c "ss -Hltn | grep -q ':$SMTP '"

# --- 1. the queue ---
u8 send "$SMTP" u8u ascu asca bit8a rcpta hdra mxu long > "$T/sent"
check_eq "smtpd accepted every message" "$(cat "$T/sent")" "u8u 250
ascu 250
asca 250
bit8a 250
rcpta 250
hdra 250
mxu 250
long 250"
# the envelope (todo) of the message with Subject ... TAG, fields joined by |
CR=$(printf '\r')
env_of() {
  m=$(grep -lE "^Subject: .*$1$CR?\$" "$H"/queue/mess/*/* 2> /dev/null | head -n 1)
  [ -n "$m" ] || { echo none; return; }
  tr '\0' '|' < "$H/queue/todo/$(basename "$(dirname "$m")")/$(basename "$m")" |
    sed 's/^u[0-9]*|p[0-9]*|s[0-9.]*|//'
}
JORG=$(printf 'j\303\266rg')
check_eq "SMTPUTF8 message: envelope has O U before F" "$(env_of u8u)" "OU|F$SENDER|T$JORG@u78.test|"
check_eq "ASCII message: no O record" "$(env_of ascu)" "F$SENDER|Tplain@u78.test|"
check_eq "SMTPUTF8 with ASCII addresses: O U kept" "$(env_of asca)" "OU|F$SENDER|Tplain@a78.test|"

# sluice-queue run directly: U set for a UTF-8 recipient, bad O records refused
printf 'Subject: direct\n\nx\n' > "$T/direct.msg"
printf 'F%s\0T%s@u78.test\0\0' "$SENDER" "$JORG" > "$T/direct.env"
(cd / && as "$SU" "$H/bin/sluice-queue" < "$T/direct.msg" 1< "$T/direct.env")
check_eq "sluice-queue, UTF-8 recipient without O: exit 0" "$?" 0
check_eq "sluice-queue sets U itself for a UTF-8 address" "$(env_of direct)" "OU|F$SENDER|T$JORG@u78.test|"
for bad in 'OX\0Fa@b\0Tc@d\0\0' 'O\0Fa@b\0Tc@d\0\0' 'OUU\0Fa@b\0Tc@d\0\0' 'Fa@b\0OU\0Tc@d\0\0' 'OU\0OU\0Fa@b\0\0'; do
  printf "$bad" > "$T/bad.env"
  (cd / && as "$SU" "$H/bin/sluice-queue" < "$T/direct.msg" 1< "$T/bad.env") 2> /dev/null
  check_eq "sluice-queue refuses envelope $(printf "$bad" | tr '\0' '|'): 91" "$?" 91
done
check_eq "nothing queued by the refused envelopes" "$(ls "$H"/queue/todo/* | grep -c '^[0-9]')" 9

# --- 2. and 3. delivery ---
start_set DNSCACHEIP=127.0.0.1:$DP
check "sluice-start running" kill -0 "$spid"
bounces() { grep -l '^Status: 5\.6\.7' "$SHOME"/Maildir/new/* 2> /dev/null | wc -l | tr -d ' '; }
all_done() {
  [ "$(ls "$T/u" | grep -c '\.data$')" -ge 4 ] && [ "$(ls "$T/a" | grep -c '\.data$')" -ge 2 ] &&
    [ "$(ls "$T/mxu" | grep -c '\.data$')" -ge 1 ] &&
    [ "$(bounces)" -ge 2 ] && queue_empty
}
check "every message delivered or bounced" wait_for 90 all_done

check_eq "SMTPUTF8 message to a server with SMTPUTF8: MAIL line" "$(u8 mail "$T/u" u8u)" \
  "MAIL FROM:<$SENDER> BODY=8BITMIME SMTPUTF8|"
check_eq "the UTF-8 address (u8u, direct) offered to U" "$(grep -c "^RCPT TO:<$JORG@u78.test>\$" "$T/u/log")" 2
check_eq "SMTPUTF8 message: data intact" "$(u8 data "$T/u" u8u)" same
check_eq "ASCII message: MAIL without SMTPUTF8" "$(u8 mail "$T/u" ascu)" "MAIL FROM:<$SENDER>|"
check_eq "UTF-8 address queued by sluice-queue directly: SMTPUTF8 sent" "$(u8 mail "$T/u" direct)" \
  "MAIL FROM:<$SENDER> SMTPUTF8|"
check_eq "SMTPUTF8 but all ASCII, server without it: sent without" "$(u8 mail "$T/a" asca)" "MAIL FROM:<$SENDER>|"
check_eq "8-bit body, server without 8BITMIME: MAIL without BODY=" "$(u8 mail "$T/a" bit8a)" "MAIL FROM:<$SENDER>|"
check_eq "8-bit body, server without 8BITMIME: sent as it is" "$(u8 data "$T/a" bit8a)" same
check_eq "UTF-8 recipient never offered to the server without SMTPUTF8" \
  "$(grep -c "$JORG" "$T/a/log")" 0
check_eq "UTF-8 header never sent to the server without SMTPUTF8" "$(u8 mail "$T/a" hdra)" none
check_eq "two bounces with Status 5.6.7" "$(bounces)" 2
check_eq "first MX without SMTPUTF8: passed over, no MAIL" "$(grep -c '^MAIL' "$T/mxa/log")" 0
check "first MX without SMTPUTF8: EHLO then QUIT" grep -q '^QUIT' "$T/mxa/log"
check_eq "second MX with SMTPUTF8: delivered with SMTPUTF8" "$(u8 mail "$T/mxu" mxu)" \
  "MAIL FROM:<$SENDER> SMTPUTF8|"
for t in rcpta hdra; do
  f=$(grep -l "^Subject: .*$t\$" "$SHOME"/Maildir/new/* 2> /dev/null | head -n 1)
  check "bounce for $t: Status 5.6.7, the reason" sh -c "grep -q '^Status: 5\.6\.7' '${f:-/nonexistent}' &&
    grep -q 'does not offer SMTPUTF8' '${f:-/nonexistent}'"
done
grep -h 'does not offer SMTPUTF8' "$T/log" > /dev/null
check_eq "sluice-send logged the 5.6.7 failures" "$?" 0

check_eq "long lines: broken at 998 bytes, folded, dot-stuffed, CR LF . CR LF" "$(u8 long "$T/u")" ok
check_eq "long lines: 4 transactions at U" "$(ls "$T/u" | grep -c '\.data$')" 4
check_eq "every line U received is within 1000 bytes with its CR LF" "$(u8 sessions "$T/u")" ok

end_checks local remote info mess todo
done_testing
