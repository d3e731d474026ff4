#!/bin/sh
# 109-scache.sh: SMTP connection reuse (sluice-scache(8)) with the real
# delivery set: sluice-start running sluice-send, sluice-rspawn (which
# starts sluice-scache), sluice-remote, against SMTP sinks
# (tests/smtpsink.py --connlog: every connection opened and closed is
# logged) on 127.0.0.1 high ports, routed with control/smtproutes.
# control/concurrencyremote is 2, so that a burst of deliveries cannot
# open one connection each before the first is back in the cache.
#
#  1. 50 messages to one destination: each delivered once and byte for
#     byte, over fewer than 10 connections (the number is printed);
#  2. the cache drops idle connections after control/remotecache (2)
#     seconds: every connection of case 1 ends, each with QUIT;
#  3. a sink that answers 421 to RSET: every reused connection fails
#     before MAIL, sluice-remote connects afresh: each of 20 messages is
#     delivered once, RSET was tried, no deferral is logged and the
#     tcpto table stays empty;
#  4. a sink that closes connections idle for 0.5 s: the cache notices
#     and drops them; 10 messages in two bursts are each delivered once
#     and nothing is deferred;
#  5. a STARTTLS destination (the default policy "may"): 5 messages
#     over TLS, 5 connections, none reused (no RSET);
#  6. control/remotecache 0 (the set restarted): no sluice-scache, one
#     connection per message (10 for 10);
#  7. the queue is empty; SIGTERM ends the set with exit 0.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh

DOM=e2e109.test
SU=sl109s
SENDER=$SU@$DOM
free_ports 14000 8
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
echo 5 > "$H/control/timeoutconnect"
echo 60 > "$H/control/timeoutremote"
echo 2 > "$H/control/concurrencyremote"
mkuser "$SU"

# sink NAME PORT [options]: a smtpsink.py saving into $T/NAME
sink() {
  name=$1 port=$2; shift 2
  rm -rf "$T/$name" "$T/$name.ready"; mkdir -p "$T/$name"
  python3 tests/smtpsink.py --host 127.0.0.1 --port "$port" --dir "$T/$name" --ready "$T/$name.ready" \
    --pipelining --connlog "$@" 2> "$T/$name.err" &
  echo $! >> "$T/pids"
  k=0
  while [ ! -f "$T/$name.ready" ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
  [ -f "$T/$name.ready" ] || { bad "sink $name started" "$(cat "$T/$name.err")"; done_testing; }
}

# inject SUBJECT RCPT: one message, kept in $T/sent/SUBJECT
mkdir -p "$T/sent"
inject() {
  printf 'From: %s\nTo: %s\nSubject: %s\n\nbody of %s\n.leading dot\n..two dots\nlast line\n' \
    "$SENDER" "$2" "$1" "$1" > "$T/sent/$1"
  printf 'F%s\0T%s\0\0' "$SENDER" "$2" > "$T/env"
  "$H/bin/sluice-queue" < "$T/sent/$1" 1< "$T/env"
}
# burst PREFIX FIRST COUNT DOMAIN
burst() {
  b=$2
  while [ "$b" -lt $(($2 + $3)) ]; do
    inject "$1-$b" "r$b@$4" || fails=$((fails + 1))
    b=$((b + 1))
  done
}
# sluice-scache of this instance (its argv[0] is the bare name)
scache_running() {
  for sp in $(pgrep -x sluice-scache); do
    [ "$(readlink "/proc/$sp/exe")" = "$H/bin/sluice-scache" ] && return 0
  done
  return 1
}
no_scache() { ! scache_running; }
ntrans() { ls "$T/$1" | grep -c '\.env$'; }
nconns() { grep -c '^open ' "$T/$1/conns" 2> /dev/null || echo 0; }
all_closed() { [ "$(grep -c '^close ' "$T/$1/conns")" -eq "$(nconns "$1")" ]; }
delivered() { [ "$(ntrans "$1")" -ge "$2" ] && queue_empty; }
# exact SINK PREFIX COUNT: each message PREFIX-i arrived once, its text
# byte for byte (the sink's N.data with CR LF made LF ends with it,
# after the Received line sluice-queue added)
exact() {
  python3 - "$T" "$@" <<'PY'
import glob, os, sys
t, sink, prefix, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
seen = {}
for f in glob.glob(os.path.join(t, sink, "*.data")):
    d = open(f, "rb").read().replace(b"\r\n", b"\n")
    for line in d.split(b"\n"):
        if line.startswith(b"Subject: "):
            seen.setdefault(line[9:].decode(), []).append(d)
            break
bad = 0
for i in range(count):
    name = "%s-%d" % (prefix, i)
    want = open(os.path.join(t, "sent", name), "rb").read()
    got = seen.get(name, [])
    if len(got) != 1 or not got[0].endswith(b"\n" + want):
        bad += 1
print(bad)
PY
}

sink a "$P" --idle 30
sink b $((P + 1)) --code rset=421
sink c $((P + 2)) --idle 0.5
sink e $((P + 4))
cat > "$H/control/smtproutes" <<EOF
a109.test:127.0.0.1:$P
b109.test:127.0.0.1:$((P + 1))
c109.test:127.0.0.1:$((P + 2))
d109.test:127.0.0.1:$((P + 3))
e109.test:127.0.0.1:$((P + 4))
EOF

start_set
check "sluice-start running" kill -0 "$spid"
check "sluice-scache running" scache_running

# --- 1. 50 messages to one destination ---
fails=0
burst a 0 50 a109.test
check_eq "case 1: every injection exited 0" "$fails" 0
wait_for 120 delivered a 50
check_eq "case 1: 50 transactions" "$(ntrans a)" 50
check_eq "case 1: each message once, byte for byte" "$(exact a a 50)" 0
n1=$(nconns a)
echo "# 50 messages over $n1 connections" >&2
check "case 1: fewer than 10 connections for 50 messages ($n1)" test "$n1" -lt 10

# --- 2. idle connections dropped by the cache ---
wait_for 20 all_closed a
check "case 2: every connection closed after the idle time" all_closed a
check_eq "case 2: none closed by the sink's idle timeout" "$(grep -c ' idle$' "$T/a/conns")" 0
check_eq "case 2: a QUIT on each connection" "$(grep -c '^QUIT' "$T/a/log")" "$n1"
check "case 2: connections reused (RSET)" grep -q '^RSET' "$T/a/log"

# --- 3. 421 to RSET: a fresh connection, no deferral ---
fails=0
burst b 0 20 b109.test
check_eq "case 3: every injection exited 0" "$fails" 0
wait_for 120 delivered b 20
check_eq "case 3: 20 transactions" "$(ntrans b)" 20
check_eq "case 3: each message once, byte for byte" "$(exact b b 20)" 0
check "case 3: reuse tried (RSET)" grep -q '^RSET' "$T/b/log"
check_eq "case 3: no deferral logged" "$(grep -c 'deferral' "$T/log")" 0
check_eq "case 3: no host in the tcpto table" "$("$H/bin/sluice-tcpto" "$H/queue/lock/tcpto" 2>&1 | grep -c '^127')" 0

# --- 4. a sink that closes idle connections ---
fails=0
burst c 0 5 c109.test
wait_for 60 delivered c 5
sleep 1.5
burst c 5 5 c109.test
check_eq "case 4: every injection exited 0" "$fails" 0
wait_for 120 delivered c 10
check_eq "case 4: 10 transactions" "$(ntrans c)" 10
check_eq "case 4: each message once, byte for byte" "$(exact c c 10)" 0
check_eq "case 4: no deferral logged" "$(grep -c 'deferral' "$T/log")" 0

# --- 5. STARTTLS: never cached ---
if [ -x "$H/bin/sluice-tlsc" ] && command -v openssl > /dev/null 2>&1; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
    -subj "/CN=mx.d109.test" > "$T/openssl.log" 2>&1 || bad "openssl" "$(tail -3 "$T/openssl.log")"
  sink d $((P + 3)) --starttls "$T/cert.pem,$T/key.pem"
  fails=0
  burst d 0 5 d109.test
  check_eq "case 5: every injection exited 0" "$fails" 0
  wait_for 120 delivered d 5
  check_eq "case 5: 5 transactions" "$(ntrans d)" 5
  check_eq "case 5: each over TLS" "$(ls "$T/d" | grep -c '\.tls$')" 5
  check_eq "case 5: one connection per message" "$(nconns d)" 5
  check_fail "case 5: no RSET (nothing reused)" grep -q '^RSET' "$T/d/log"
else
  bad "case 5: sluice-tlsc and openssl present"
fi

# --- 6. control/remotecache 0 ---
end_checks mess todo intd info remote
check "sluice-scache ended with the set" wait_for 10 no_scache
echo 0 > "$H/control/remotecache"
start_set
check "sluice-start running again" kill -0 "$spid"
check_fail "remotecache 0: no sluice-scache" scache_running
fails=0
burst e 0 10 e109.test
check_eq "case 6: every injection exited 0" "$fails" 0
wait_for 120 delivered e 10
check_eq "case 6: each message once, byte for byte" "$(exact e e 10)" 0
check_eq "case 6: one connection per message" "$(nconns e)" 10
check_fail "case 6: no RSET" grep -q '^RSET' "$T/e/log"

# --- 7. the end ---
end_checks mess todo intd info remote
done_testing
