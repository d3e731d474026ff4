#!/bin/sh
# 103-qmqpspread.sh: sluice-qmqpc spreading load over several QMQP
# servers (control/qmqpspread), skipping for control/qmqpskip seconds a
# server whose connect failed (conf-home/qmqp/tcpto), and a reply lost
# after the whole message was sent ending the run with a temporary code
# instead of handing the message to the next server (sluice-qmqpc(8)).
# The servers are stand-ins on 127.0.0.2 and 127.0.0.3 that read one
# whole request and answer K, log the address that took it; 127.0.0.4
# refuses connections; 127.0.0.5 reads the whole request and closes
# without a reply.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../e2e.sh"
need_root
inst_fresh
command -v python3 > /dev/null 2>&1 || { bad "python3 is missing"; done_testing; }

free_ports 21000 1
pids=
cleanup() {
  for p in $pids; do kill "$p" 2> /dev/null; done
  for p in $pids; do wait "$p" 2> /dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

cat > "$T/stub.py" <<'PYEOF'
import select, socket, sys, time
port, log = int(sys.argv[1]), sys.argv[2]
ls = {}
for a in ("127.0.0.2", "127.0.0.3", "127.0.0.5"):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, port))
    s.listen(20)
    ls[s] = a
end = time.time() + 60
def request(c):
    # "len:" then len bytes and ",": the whole request
    c.settimeout(10)
    n = b""
    while True:
        ch = c.recv(1)
        if not ch:
            return False
        if ch == b":":
            break
        n += ch
    left = int(n) + 1
    while left > 0:
        got = c.recv(min(left, 65536))
        if not got:
            return False
        left -= len(got)
    return True
while time.time() < end:
    r, _, _ = select.select(list(ls), [], [], 1)
    for s in r:
        c, _ = s.accept()
        a = ls[s]
        try:
            if request(c):
                if a != "127.0.0.5":
                    c.sendall(b"5:Kdone,")
                with open(log, "a") as f:
                    f.write(a + "\n")
        except OSError:
            pass
        c.close()
PYEOF
python3 "$T/stub.py" "$P" "$T/got" &
pids="$pids $!"
wait_for 10 sh -c "ss -Hltn | grep -q '127.0.0.5:$P '" || bad "stub server did not start"

A=127.0.0.2:$P B=127.0.0.3:$P C=127.0.0.4:$P L=127.0.0.5:$P
printf 'hello\n' > "$T/msg"
printf 'Fs@a.example\0Tr@b.example\0\0' > "$T/env"
servers() { printf '%s\n' "$@" > "$H/control/qmqpservers"; }
run() { # run N: N runs; the exit codes in $codes, stderr of the last in $T/err
  codes=
  : > "$T/got"
  i=0
  while [ $i -lt "$1" ]; do
    "$H/bin/sluice-qmqpc" < "$T/msg" 1< "$T/env" 2> "$T/err"
    codes="$codes$?,"
    i=$((i + 1))
  done
}
count() { grep -c "^$1\$" "$T/got"; }

servers "$A" "$B"
mkdir "$H/qmqp"

# order (the default): always the first
run 4
check_eq "order: exits" "$codes" "0,0,0,0,"
check_eq "order: all to the first" "$(count 127.0.0.2):$(count 127.0.0.3)" "4:0"

# roundrobin: each in turn (qmqp/next)
echo roundrobin > "$H/control/qmqpspread"
run 4
check_eq "roundrobin: exits" "$codes" "0,0,0,0,"
check_eq "roundrobin: two each" "$(count 127.0.0.2):$(count 127.0.0.3)" "2:2"
check "roundrobin: the counter file" test -s "$H/qmqp/next"
run 1
first=$(cat "$T/got")
run 1
check "roundrobin: alternates" test "$(cat "$T/got")" != "$first"

# random: a random first server (both get some of 24; fails once in 8 million)
echo random > "$H/control/qmqpspread"
run 24
check "random: both get messages" test "$(count 127.0.0.2)" -gt 0 -a "$(count 127.0.0.3)" -gt 0
check_eq "random: all 24 taken" "$(wc -l < "$T/got" | tr -d ' ')" 24

echo bogus > "$H/control/qmqpspread"
run 1
check_eq "bad qmqpspread: exit 55" "$codes" "55,"
rm -f "$H/control/qmqpspread"

# a refused connect: recorded, then skipped for qmqpskip seconds
servers "$C" "$A"
run 1
check_eq "refused then next: exit 0" "$codes" "0,"
check "refused: reported" grep -q "127.0.0.4:$P: connection failed" "$T/err"
check "refused: in qmqp/tcpto" sh -c "'$H/bin/sluice-tcpto' '$H/qmqp/tcpto' | grep -q '^127.0.0.4 '"
run 3
check_eq "refused: skipped afterwards" "$codes:$(count 127.0.0.2)" "0,0,0,:3"
check_fail "refused: not tried again" grep -q "127.0.0.4" "$T/err"
echo 0 > "$H/control/qmqpskip"
run 1
check "qmqpskip 0: tried again" grep -q "127.0.0.4:$P: connection failed" "$T/err"
rm -f "$H/control/qmqpskip"
# every server skipped: still tried, as a last resort
servers "$C" "$B"
run 1
check_eq "skipped server with the other up: exit 0" "$codes:$(count 127.0.0.3)" "0,:1"
servers "$C"
run 1
check_eq "only a skipped server: tried anyway, exit 73" "$codes" "73,"
check "only a skipped server: reported" grep -q "127.0.0.4:$P: connection failed" "$T/err"
# a success clears the entry: B was never in the table; A was never
check_fail "a working server is not in the table" sh -c "'$H/bin/sluice-tcpto' '$H/qmqp/tcpto' | grep -q '^127.0.0.2 '"

# without the qmqp directory: no state, still works (order)
rm -rf "$H/qmqp"
echo roundrobin > "$H/control/qmqpspread"
servers "$A" "$B"
run 2
check_eq "no qmqp directory: both to the first" "$codes:$(count 127.0.0.2)" "0,0,:2"
rm -f "$H/control/qmqpspread"

# the reply lost after the whole request was sent: temporary, and the
# next server does not get the message (no duplicate now; the caller's
# retry may make one, as QMQP allows)
servers "$L" "$A"
run 1
check_eq "lost reply: exit 74" "$codes" "74,"
check_eq "lost reply: the first server got it, the next did not" "$(count 127.0.0.5):$(count 127.0.0.2)" "1:0"
check "lost reply: reported" grep -q "no valid reply after the whole message was sent" "$T/err"

done_testing
