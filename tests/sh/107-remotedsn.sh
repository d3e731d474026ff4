#!/bin/sh
# 107-remotedsn.sh: sluice-remote passes DSN on (RFC 3461) and sends by
# BDAT (RFC 3030), against scripted sinks (tests/smtpsink.py --dsn
# --chunking) on 127.0.0.1.
#  A. sluice-remote run directly (a scratch conf-home, as in 75-remote):
#     1. DSN options: a sink offering DSN gets RET, ENVID and each
#        recipient's NOTIFY and ORCPT, xtext-encoded, exactly; P for the
#        recipient whose NOTIFY went on, K for the other; a sink without
#        DSN gets no parameter and K; values the wire cannot carry (an
#        ORCPT over 500 bytes of xtext) are left out;
#     2. BDAT: messages with dot lines, an empty body, no byte at all,
#        long lines and bare CRs, and 3 MB: the chunks joined are byte
#        for byte what a sink without CHUNKING received by DATA (after
#        its dot-unstuffing); with PIPELINING the first chunk goes before
#        the RCPT replies are read; several chunks for 3 MB, LAST on the
#        last; control/remotebdat 0 sends DATA;
#     3. BDAT refused: 5xx/4xx to a middle chunk (D/Z), to the LAST chunk
#        (D/Z), every recipient refused (no message), a lost connection
#        during a chunk before LAST (Z: the server has no message, the
#        route has no other host).
#  B. end to end (root): sluice-smtpd under tcpserver takes MAIL RET=HDRS
#     ENVID=..., RCPT NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;... on raw
#     SMTP, the real set (sluice-start, sluice-send, sluice-rspawn,
#     sluice-remote) relays to two domains: the sink offering DSN (and
#     CHUNKING) receives exactly the parameters given, by BDAT, and no
#     success notice comes back from us; the sink without DSN gets none,
#     and the sender gets a "relayed" notice for that recipient only,
#     which python's email package parses (multipart/report,
#     message/delivery-status, Action: relayed, Original-Recipient,
#     Original-Envelope-Id). A 554 to BDAT LAST gives the sender an RFC
#     3464 bounce naming it, a 451 a deferral; that recipient goes by
#     BDAT once a server takes it (SIGALRM). Then, the set stopped,
#     sluice-remote sends to that sluice-smtpd (through a relay that
#     keeps the client's bytes): DSN parameters and BDAT chunks on the
#     wire, and in the queue the RET, ENVID, NOTIFY and ORCPT records as
#     given and the message bytes (dot lines; 3 MB). sluice-showctl
#     lists control/remotebdat.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh
for p in tcpserver tcprules; do
  command -v $p > /dev/null 2>&1 || { bad "$p installed" "apt-get install ucspi-tcp-ipv6"; done_testing; }
done

free_ports 21000 17
: > "$T/pids"
cleanup() {
  kill_set 100
  for p in $(cat "$T/pids" 2> /dev/null); do kill "$p" 2> /dev/null; done
  userdel -r "$SU" > /dev/null 2>&1
  rm -rf "$T"
}
SU=sl107s
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# sink NAME PORT [options]: a smtpsink.py saving into $T/NAME
sink() {
  name=$1 port=$2; shift 2
  rm -rf "$T/$name" "$T/$name.ready"; mkdir -p "$T/$name"
  python3 tests/smtpsink.py --host 127.0.0.1 --port "$port" --dir "$T/$name" --ready "$T/$name.ready" "$@" \
    2> "$T/$name.err" &
  echo $! >> "$T/pids"
  echo $! > "$T/$name.pid"
  k=0
  while [ ! -f "$T/$name.ready" ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
  [ -f "$T/$name.ready" ] || { bad "sink $name started" "$(cat "$T/$name.err")"; done_testing; }
}
has() { grep -q -e "$2" "$1"; }

# ===== A. sluice-remote alone =====
HR=$T/rhome
mkdir -p "$HR/control" "$HR/queue/lock"
echo client.example > "$HR/control/me"
echo 5 > "$HR/control/timeoutconnect"
# remote MSGFILE ARGS...: results one a line in $T/out
remote() {
  m=$1; shift
  (cd "$HR" && "$BIN/sluice-remote" "$@" < "$m" > "$T/out.raw" 2> "$T/err")
  rc=$?
  tr '\0' '\n' < "$T/out.raw" > "$T/out"
}
letters() { cut -c1 "$T/out" | tr -d '\n'; }
ntrans() { ls "$T/$1" | grep -c '\.data$'; }

sink dsn $P --pipelining --dsn --size 10000000
sink plain $((P + 1)) --pipelining
sink chunk $((P + 2)) --pipelining --chunking
sink chunknp $((P + 3)) --chunking
sink chunkdata $((P + 4)) --pipelining
cat > "$HR/control/smtproutes" <<EOF
dsn.test:127.0.0.1:$P
plain.test:127.0.0.1:$((P + 1))
chunk.test:127.0.0.1:$((P + 2))
chunknp.test:127.0.0.1:$((P + 3))
chunkdata.test:127.0.0.1:$((P + 4))
EOF
printf 'Subject: dsn\n\nbody\n' > "$T/msg"

# --- A1. DSN ---
remote "$T/msg" -R HDRS -V 'Q+1 id=2' -N -- dsn.test alice@client.example \
  a@dsn.test SF 'rfc822;orig+x=y@old.example' b@dsn.test '' '' c@dsn.test N '' d@dsn.test D 'rfc822;d@dsn.test'
check_eq "DSN: exit 0, P for the recipients whose NOTIFY went on, K for the one without" "$rc:$(letters)" 0:PKPP
check_eq "DSN: MAIL with SIZE, RET and ENVID as xtext" "$(grep '^MAIL' "$T/dsn/log")" \
  "MAIL FROM:<alice@client.example> SIZE=22 RET=HDRS ENVID=Q+2B1+20id+3D2"
check_eq "DSN: each RCPT with its NOTIFY and ORCPT, exactly" "$(grep '^RCPT' "$T/dsn/log")" \
  "RCPT TO:<a@dsn.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+2Bx+3Dy@old.example
RCPT TO:<b@dsn.test>
RCPT TO:<c@dsn.test> NOTIFY=NEVER
RCPT TO:<d@dsn.test> NOTIFY=DELAY ORCPT=rfc822;d@dsn.test"
# RET=FULL, no ENVID; an ORCPT whose xtext passes 500 bytes is left out
long=$(python3 -c 'print("+" * 200)')
remote "$T/msg" -R FULL -N dsn.test alice@client.example e@dsn.test S "rfc822;$long@x" f@dsn.test '' 'rfc822;f@x'
check_eq "DSN: RET=FULL, no ENVID" "$(grep '^MAIL' "$T/dsn/log" | tail -n 1)" \
  "MAIL FROM:<alice@client.example> SIZE=22 RET=FULL"
check_eq "DSN: an ORCPT too long for the wire left out, NOTIFY kept" "$(grep '^RCPT' "$T/dsn/log" | tail -n 2)" \
  "RCPT TO:<e@dsn.test> NOTIFY=SUCCESS
RCPT TO:<f@dsn.test> ORCPT=rfc822;f@x"
check_eq "DSN: P only with NOTIFY" "$(letters)" PK
# a server without DSN: nothing of it on the wire, K (a success notice is ours)
remote "$T/msg" -R HDRS -V 'Q+1' -N -- plain.test alice@client.example a@plain.test SF 'rfc822;a@old.example' \
  b@plain.test '' ''
check_eq "no DSN offered: K for every recipient" "$(letters)" KK
check_eq "no DSN offered: MAIL without RET or ENVID" "$(grep '^MAIL' "$T/plain/log")" "MAIL FROM:<alice@client.example>"
check_eq "no DSN offered: RCPT without NOTIFY or ORCPT" "$(grep '^RCPT' "$T/plain/log" | tr '\n' ' ')" \
  "RCPT TO:<a@plain.test> RCPT TO:<b@plain.test> "
check_eq "no DSN offered: the message delivered" "$(ntrans plain)" 1
# a bad command line: exit 64
(cd "$HR" && "$BIN/sluice-remote" -N dsn.test a@x b@dsn.test S < "$T/msg" > /dev/null 2>&1)
check_eq "-N with a recipient lacking its two arguments: exit 64" "$?" 64
(cd "$HR" && "$BIN/sluice-remote" -R BODY dsn.test a@x b@dsn.test < "$T/msg" > /dev/null 2>&1)
check_eq "-R with a bad value: exit 64" "$?" 64

# --- A2. BDAT, byte for byte against DATA ---
python3 - "$T" <<'PY'
import random, sys
t = sys.argv[1]
open(t + "/m-dots", "wb").write(b"Subject: dots\n\n.leading dot\n..two dots\n.\n. \nend without newline")
open(t + "/m-empty", "wb").write(b"Subject: empty body\n\n")
open(t + "/m-none", "wb").write(b"")
open(t + "/m-odd", "wb").write(b"Subject: odd\r\n\r\n" + b"x" * 2500 + b"\n." + b"y" * 998 + b"\rz\r\r\n.\r")
r = random.Random(107)
parts, size = [], 0
while size < 3 * 1024 * 1024:
    k = r.choice((0, 1, 20, 80, 997, 998, 999, 1500, 4000))
    line = "".join(r.choice("ab.c \r") for _ in range(k)).encode()
    parts.append(line)
    size += len(line) + 1
open(t + "/m-big", "wb").write(b"Subject: big\n\n" + b"\n".join(parts) + b"\n")
PY
# chunks NAME N: the sizes of the BDAT chunks of message N at sink NAME
# on one line ("none": it came by DATA)
chunks() { if [ -f "$T/$1/$2.chunks" ]; then tr '\n' ' ' < "$T/$1/$2.chunks"; else echo none; fi; }
lastword() { chunks "$1" "$2" | awk '{ print $NF }'; }
for kind in dots empty none odd big; do
  remote "$T/m-$kind" chunkdata.test alice@client.example "r@chunkdata.test"
  l=$(letters)
  remote "$T/m-$kind" chunk.test alice@client.example "r@chunk.test"
  l=$l$(letters)
  remote "$T/m-$kind" chunknp.test alice@client.example "r@chunknp.test"
  l=$l$(letters)
  n=$(ntrans chunkdata)
  check_eq "BDAT $kind: by DATA without CHUNKING, by BDAT chunks with it (LAST on the last), with and without PIPELINING" \
    "$l:$(chunks chunkdata "$n"):$(lastword chunk "$n"):$(lastword chunknp "$n")" "KKK:none:LAST:LAST"
  check "BDAT $kind: the chunks joined are DATA's content byte for byte, with and without PIPELINING" \
    eval 'test -f "$T/chunk/$n.chunks" && test -f "$T/chunknp/$n.chunks" && cmp -s "$T/chunkdata/$n.data" "$T/chunk/$n.data" && cmp -s "$T/chunkdata/$n.data" "$T/chunknp/$n.data"'
done
n=$(ntrans chunk)
check "BDAT: the 3 MB message in several chunks" test "$(chunks chunk "$n" | wc -w)" -ge 3
check "BDAT: a dot line goes unstuffed (DATA stuffs it)" eval \
  'has "$T/chunk/1.raw" "$(printf "^\\.leading dot\r\$")" && has "$T/chunkdata/1.wire" "$(printf "^\\.\\.leading dot\r\$")"'
check_eq "BDAT: an empty message is one empty LAST chunk" "$(chunks chunk 3)" "0 LAST "
check_eq "BDAT: the first chunk goes before the RCPT reply is read with PIPELINING only; no DATA" \
  "$(grep -c '^bdat-before-rcpt-reply' "$T/chunk/log" "$T/chunknp/log" | cut -d: -f2 | tr '\n' ' ')$(grep -c '^DATA' "$T/chunk/log" "$T/chunknp/log" | cut -d: -f2 | tr '\n' ' ')" "5 0 0 0 "
# control/remotebdat 0: DATA even when CHUNKING is offered
remote "$T/m-dots" chunk.test alice@client.example "r@chunk.test"
l=$(letters)
echo 0 > "$HR/control/remotebdat"
remote "$T/m-dots" chunk.test alice@client.example "r@chunk.test"
l=$l$(letters)
n=$(ntrans chunk)
check_eq "remotebdat: 1 (the default) BDAT, 0 DATA, the same content" \
  "$l:$(lastword chunk $((n - 1))):$(chunks chunk "$n"):$(cmp -s "$T/chunk/$n.data" "$T/chunkdata/1.data" && echo same)" "KK:LAST:none:same"
echo 1 > "$HR/control/remotebdat"

# --- A3. BDAT refused ---
sink midperm $((P + 5)) --pipelining --chunking --code bdat=552
sink midtemp $((P + 6)) --pipelining --chunking --code bdat=452
sink lastperm $((P + 7)) --pipelining --chunking --code eom=554
sink lasttemp $((P + 8)) --chunking --code eom=451
sink norcpt $((P + 9)) --pipelining --chunking --rcpt 'bad*=550'
sink cut $((P + 10)) --chunking --disconnect body
cat > "$HR/control/smtproutes" <<EOF
midperm.test:127.0.0.1:$((P + 5))
midtemp.test:127.0.0.1:$((P + 6))
lastperm.test:127.0.0.1:$((P + 7))
lasttemp.test:127.0.0.1:$((P + 8))
norcpt.test:127.0.0.1:$((P + 9))
EOF
remote "$T/m-big" midperm.test alice@client.example x@midperm.test y@midperm.test
check_eq "552 to a middle chunk: D for both" "$(letters)" DD
check "552 to a middle chunk: the reply quoted, BDAT named" has "$T/out" '^D5\.0\.0 \[127\.0\.0\.1\] said: 552 .*(in reply to BDAT)$'
check_eq "552 to a middle chunk: no chunk after it, nothing delivered" \
  "$(grep -c '^chunk=' "$T/midperm/log"):$(ntrans midperm)" 1:0
remote "$T/m-big" midtemp.test alice@client.example x@midtemp.test
check_eq "452 to a middle chunk: Z" "$(letters)" Z
check "452 to a middle chunk: a 4.x.x text" has "$T/out" '^Z4\.0\.0 .* 452 '
remote "$T/m-dots" lastperm.test alice@client.example x@lastperm.test
check_eq "554 to the LAST chunk: D, in reply to BDAT LAST" "$(letters):$(grep -c '(in reply to BDAT LAST)$' "$T/out")" D:1
remote "$T/m-dots" lasttemp.test alice@client.example x@lasttemp.test
check_eq "451 to the LAST chunk: Z, in reply to BDAT LAST" "$(letters):$(grep -c '(in reply to BDAT LAST)$' "$T/out")" Z:1
remote "$T/m-dots" norcpt.test alice@client.example bad1@norcpt.test bad2@norcpt.test
check_eq "every recipient refused: D D, the pipelined chunk refused, no message" \
  "$(letters):$(grep -c '^chunk=.* LAST' "$T/norcpt/log"):$(ntrans norcpt)" DD:1:0
# a lost connection before LAST: the next host of the route gets it
cat > "$HR/control/smtproutes" <<EOF
cut.test:127.0.0.1:$((P + 10))
EOF
remote "$T/m-big" cut.test alice@client.example x@cut.test
check_eq "connection lost during a BDAT chunk: Z (retried later), said so" \
  "$(letters):$(grep -c '^Z4\.4\.2 \[127\.0\.0\.1\]: connection lost' "$T/out"):$(grep -c '^BDAT ' "$T/cut/log")" Z:1:1

# ===== B. end to end =====
DOM=e2e107.test
SENDER=$SU@$DOM
C=$H/control
role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
echo "$DOM" > "$C/me"
echo "$DOM" > "$C/locals"
echo "$DOM" > "$C/rcpthosts"
echo 0 > "$C/smtpdnamewait"
echo 5 > "$C/timeoutconnect"
mkuser "$SU"
SHOME=$(home_of "$SU")
sink yes $((P + 11)) --pipelining --dsn --chunking
sink no $((P + 12)) --pipelining
printf 'yes107.test:127.0.0.1:%s\nno107.test:127.0.0.1:%s\n' $((P + 11)) $((P + 12)) > "$C/smtproutes"
chmod 644 "${C:?}"/*
SP=$((P + 13))
printf ':allow,RELAYCLIENT=""\n' > "$T/rules"
tcprules "$T/rules.cdb" "$T/rules.tmp" < "$T/rules" || bad "tcprules"
tcpserver -H -R -l mx.e2e107.test -x "$T/rules.cdb" -u "$(id -u "$U_DAEMON")" -g "$(id -g "$U_DAEMON")" \
  127.0.0.1 "$SP" "$H/bin/sluice-smtpd" > "$T/smtpd.log" 2>&1 &
echo $! >> "$T/pids"
start_set
# setup steps: a failure counts, success is not a check of this change
kill -0 "$spid" || { bad "sluice-start running" "$(cat "$T/log")"; done_testing; }

# raw SMTP, as a client would send it: the reply code of the greeting
# and of each line ("\n" in a line: a line break, CR LF on the wire)
cat > "$T/cli.py" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
s = None
for _ in range(50):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        break
    except OSError:
        time.sleep(0.1)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if not l:
            return "EOF"
        if l[3:4] != b"-":
            return l[:3].decode()
out = [reply()]
for line in sys.argv[2:]:
    s.sendall(line.encode().replace(b"\\n", b"\r\n") + b"\r\n")
    out.append(reply())
print(" ".join(out))
PY
got=$(timeout 60 python3 "$T/cli.py" "$SP" 'EHLO client.test' \
  "MAIL FROM:<$SENDER> RET=HDRS ENVID=QQ+2B107" \
  'RCPT TO:<a@yes107.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig-a+2Btag@old.example' \
  'RCPT TO:<b@yes107.test>' \
  'RCPT TO:<c@no107.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig-c@old.example' \
  'RCPT TO:<d@no107.test> NOTIFY=SUCCESS' \
  'DATA' \
  'From: someone@e2e107.test\nSubject: e2e107 dsn\n\n..leading dot\nthe body line\n.' \
  'QUIT')
[ "$got" = "220 250 250 250 250 250 250 354 250 221" ] || bad "sluice-smtpd takes the DSN parameters" "$got"
relayed() { [ "$(ls "$T/yes" | grep -c '\.data$')" -ge 1 ] && [ "$(ls "$T/no" | grep -c '\.data$')" -ge 1 ] \
  && [ "$(ls "$SHOME/Maildir/new" | wc -l)" -ge 1 ] && queue_empty; }
wait_for 60 relayed || bad "relayed to both sinks, a notice back, the queue empty"
check "sink with CHUNKING: by BDAT, the same bytes as by DATA to the other, the dot line intact" eval \
  'test -f "$T/yes/1.chunks" && cmp -s "$T/yes/1.data" "$T/no/1.data" && has "$T/yes/1.data" "^\.leading dot"'
check_eq "the DSN parameters exactly as given, to the sink offering DSN only" \
  "$(grep -E '^(MAIL|RCPT)' "$T/yes/log" | sed 's/^/yes: /'; grep -E '^(MAIL|RCPT)' "$T/no/log" | sed 's/^/no: /')" \
  "yes: MAIL FROM:<$SENDER> RET=HDRS ENVID=QQ+2B107
yes: RCPT TO:<a@yes107.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig-a+2Btag@old.example
yes: RCPT TO:<b@yes107.test>
no: MAIL FROM:<$SENDER>
no: RCPT TO:<c@no107.test>
no: RCPT TO:<d@no107.test>"
cat > "$T/parse.py" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(sys.stdin.buffer, policy=email.policy.compat32)
assert m.get_content_type() == "multipart/report", m.get_content_type()
assert m.get_param("report-type") == "delivery-status"
parts = m.get_payload()
print("parts", " ".join(p.get_content_type() for p in parts))
ds = parts[1].get_payload()
print("envid", ds[0].get("Original-Envelope-Id", "-"))
for b in ds[1:]:
    print("rcpt", b.get("Final-Recipient"), b.get("Original-Recipient", "-"), b.get("Action"), b.get("Status"))
PY
python3 "$T/parse.py" < "$SHOME/Maildir/new/$(ls "$SHOME/Maildir/new" | head -n 1)" > "$T/notice" 2> "$T/notice.err"
prc=$?
check_eq "one notice; python's email parses it: relayed for the recipients at the host without DSN only" \
  "$(ls "$SHOME/Maildir/new" | wc -l | tr -d ' '):$prc:$(cat "$T/notice.err")
$(cat "$T/notice")" \
  "1:0:
parts text/plain message/delivery-status text/rfc822-headers
envid QQ+107
rcpt rfc822; c@no107.test rfc822;orig-c@old.example relayed 2.0.0
rcpt rfc822; d@no107.test - relayed 2.0.0"

# BDAT refused end to end: 554 to the LAST chunk bounces (RFC 3464,
# naming BDAT LAST), 451 defers, and the deferred recipient goes once a
# server takes it (SIGALRM)
sink bad $((P + 15)) --pipelining --chunking --code eom=554
sink tmp $((P + 16)) --chunking --code eom=451
printf 'yes107.test:127.0.0.1:%s\nno107.test:127.0.0.1:%s\nbad107.test:127.0.0.1:%s\ntmp107.test:127.0.0.1:%s\n' \
  $((P + 11)) $((P + 12)) $((P + 15)) $((P + 16)) > "$C/smtproutes"
printf 'From: %s\nSubject: e2e107 refused\n\n.dot\nbody\n' "$SENDER" > "$T/msg2"
printf 'F%s\0Tx@bad107.test\0Ty@tmp107.test\0\0' "$SENDER" > "$T/env2"
"$H/bin/sluice-queue" < "$T/msg2" 1< "$T/env2" || bad "sluice-queue"
refused() { [ "$(ls "$SHOME/Maildir/new" | wc -l)" -ge 2 ] && grep -q 'deferral: y@tmp107.test: ' "$T/log"; }
wait_for 60 refused || bad "a bounce for the 554 and a deferral for the 451"
cat > "$T/pick.py" <<'PY'
import mailbox, sys
box = mailbox.Maildir(sys.argv[1], factory=None, create=False)
hits = [box.get_bytes(k) for k in box.keys() if sys.argv[2].encode() in box.get_bytes(k)]
sys.stdout.buffer.write(hits[0] if len(hits) == 1 else b"")
PY
python3 "$T/pick.py" "$SHOME/Maildir" 'Subject: e2e107 refused' > "$T/bounce2"
python3 tests/dsncheck.py < "$T/bounce2" > "$T/dsn2" 2> "$T/dsn2.err"
check_eq "554 to BDAT LAST: an RFC 3464 bounce for that recipient only, naming BDAT LAST; 451: deferred, named" \
  "$(cat "$T/dsn2" "$T/dsn2.err"):$(grep -q 'in reply to BDAT LAST' "$T/bounce2" && echo named):$(grep 'deferral: y@tmp107.test: ' "$T/log" | grep -c 'said: 451 .*(in reply to BDAT LAST)')" \
  "x@bad107.test 5.0.0 failed:named:1"
kill "$(cat "$T/tmp.pid")"
sink tmp2 $((P + 16)) --chunking
kill -ALRM "$spid"
retried() { [ "$(ls "$T/tmp2" | grep -c '\.data$')" -ge 1 ] && queue_empty; }
wait_for 60 retried || bad "the deferred recipient retried after SIGALRM"
check_eq "the deferred recipient delivered once by BDAT when retried" \
  "$(sed 1d "$T"/tmp2/*.env):$(cat "$T/tmp2/1.chunks" 2> /dev/null)" "<y@tmp107.test>:$(wc -c < "$T/tmp2/1.data" | tr -d ' ') LAST"

end_checks mess info local remote todo bounce

# sluice-remote against sluice-smtpd (DSN, CHUNKING, PIPELINING offered),
# the set stopped so that the messages stay queued to be looked at: the
# queue gets every DSN parameter and the bytes DATA would have given it
# (through a relay that keeps every byte the client sends)
cat > "$T/tap.py" <<'PY'
import socket, sys, threading
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(4)
open(sys.argv[3] + ".ready", "w").close()
def pump(a, b, log):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            if log:
                with open(sys.argv[3], "ab") as f:
                    f.write(d)
            b.sendall(d)
    except OSError:
        pass
    for x in (a, b):
        try:
            x.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
while True:
    c, _ = ls.accept()
    u = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
    threading.Thread(target=pump, args=(c, u, True), daemon=True).start()
    threading.Thread(target=pump, args=(u, c, False), daemon=True).start()
PY
python3 "$T/tap.py" $((P + 14)) "$SP" "$T/tap" 2> "$T/tap.err" &
echo $! >> "$T/pids"
wait_for 10 test -f "$T/tap.ready" || bad "tap started" "$(cat "$T/tap.err")"
printf 'e2e107.test:127.0.0.1:%s\n' $((P + 14)) > "$HR/control/smtproutes"
remote "$T/m-dots" -R FULL -V 'ID 7' -N -- e2e107.test alice@client.example "$SU@e2e107.test" SF 'rfc822;x+y@old.example'
l=$(letters)
remote "$T/m-big" -R HDRS -V 'ID 8' -N -- e2e107.test alice@client.example "$SU@e2e107.test" N ''
l=$l$(letters)
# envelope ID: the todo envelope whose I record is ID, its records one a line
envelope() { for f in $(find "$H/queue/todo" -type f); do
  if tr '\0' '\n' < "$f" | grep -qx "I$1"; then tr '\0' '\n' < "$f" | grep -v '^[ups]'; echo "$f"; fi; done; }
e7=$(envelope 'ID 7')
e8=$(envelope 'ID 8')
mess7=$H/queue/mess/${e7##*/todo/}
mess8=$H/queue/mess/${e8##*/todo/}
{ cat "$T/m-dots"; echo; } > "$T/want7"
tr -d '\r' < "$T/chunk/5.data" > "$T/want8"
# the client's commands on the wire, a BDAT chunk's bytes skipped by
# its size (so a wrong size shows), one a field; "BDAT N..." stands for
# two chunks or more before the last
cat > "$T/wire.py" <<'PY'
import sys
d, i, out = open(sys.argv[1], "rb").read(), 0, []
while i < len(d):
    j = d.find(b"\r\n", i)
    if j < 0:
        out.append("TRAILING")
        break
    line = d[i:j].decode("latin-1")
    i = j + 2
    w = line.split()
    if w and w[0] == "BDAT":
        c = "BDAT N" + (" LAST" if w[-1] == "LAST" else "")
        if c == "BDAT N" and out and out[-1].startswith("BDAT N") and "LAST" not in out[-1]:
            c = "BDAT N..."  # several chunks before the last
            out.pop()
        out.append(c)
        i += int(w[1])
    elif w and w[0] == "DATA":
        out.append("DATA")
        i = d.find(b"\r\n.\r\n", i) + 5
    elif w and w[0] in ("MAIL", "RCPT"):
        out.append(line)
print("|".join(out))
PY
check_eq "to sluice-smtpd by BDAT: P, on the wire DSN and BDAT, the queue has RET, ENVID, NOTIFY and ORCPT as given" \
  "$l:$(python3 "$T/wire.py" "$T/tap")
$(echo "$e7" | sed '$d')
$(echo "$e8" | sed '$d')" \
  "PP:MAIL FROM:<alice@client.example> SIZE=$(wc -c < "$T/chunk/1.data" | tr -d ' ') RET=FULL ENVID=ID+207|RCPT TO:<$SU@e2e107.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x+2By@old.example|BDAT N LAST|MAIL FROM:<alice@client.example> SIZE=$(wc -c < "$T/chunk/5.data" | tr -d ' ') RET=HDRS ENVID=ID+208|RCPT TO:<$SU@e2e107.test> NOTIFY=NEVER|BDAT N...|BDAT N LAST
OB
IID 7
Falice@client.example
NSF
Rrfc822;x+y@old.example
T$SU@e2e107.test
OH
IID 8
Falice@client.example
NN
T$SU@e2e107.test"
check "to sluice-smtpd by BDAT: the queued messages are the bytes sent (dot lines, 3 MB)" eval \
  'tail -c "$(wc -c < "$T/want7")" "$mess7" | cmp -s - "$T/want7" && tail -c "$(wc -c < "$T/want8")" "$mess8" | cmp -s - "$T/want8"'

# sluice-showctl knows control/remotebdat and its values
"$H/bin/sluice-showctl" > "$T/showctl" 2> /dev/null
echo 2 > "$C/remotebdat"
"$H/bin/sluice-showctl" > "$T/showctl2" 2> /dev/null
check_eq "showctl: remotebdat listed with its default, a bad value warned about" \
  "$(grep -cx 'remotebdat: (default: 1)' "$T/showctl"):$(grep -c '^WARNING.*remotebdat' "$T/showctl2")" 1:1
rm -f "$C/remotebdat"
done_testing
