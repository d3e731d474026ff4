#!/bin/sh
# 57-cleanrace.sh: a message finished before sluice-clean has removed its
# todo entry is not taken for a new message by a todo scan in between
# (sluice-send(8), Removal). sluice-clean is replaced by a stand-in that
# answers each request only after 2 seconds (then does what the real one
# does for t and m requests), so the window is wide:
#  1. message A is delivered (fakespawn, at once) while its todo entry
#     still exists;
#  2. message B is queued in that window: its trigger makes sluice-send
#     scan todo again and see A's entry;
#  3. A is delivered exactly once, B once, and the queue ends empty;
#  4. message C is delivered while its todo entry still exists (the
#     stand-in now waits 6 s), then sluice-start and its whole set,
#     stand-in included, are killed with kill -9 before the entry is
#     removed; a new set with the real sluice-clean must load C as done
#     (its info file is kept until the entry is gone), not preprocess the
#     entry again: C is delivered exactly once (found by the soak);
#  5. message D whose info file outlived its last channel file (a crash
#     between the two removals) is finished by the next sluice-send at
#     start, not kept forever (found by the soak).
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh
. "$(dirname "$0")/../sched.sh"

mv "$H/bin/sluice-clean" "$H/bin/sluice-clean.real"
cat > "$H/bin/sluice-clean" <<'PY'
#!/usr/bin/python3
# a slow sluice-clean: each request is carried out and answered 2 s late
import os, sys, time
home = os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[0])))
os.chdir(os.path.join(home, "queue"))
def path(d, i):
    n = len([x for x in os.listdir(d) if x.isdigit()])
    return "%s/%d/%d" % (d, i % n, i)
buf = b""
while True:
    chunk = os.read(0, 4096)
    if not chunk:
        break
    buf += chunk
    while b"\0" in buf:
        req, buf = buf.split(b"\0", 1)
        try: delay = float(open(os.path.join(home, "cleandelay")).read())
        except OSError: delay = 2
        time.sleep(delay)
        kind, rest = req[:1], req[1:]
        try:
            if kind == b"t":
                i = int(rest)
                for d in ("todo", "intd"):
                    try: os.unlink(path(d, i))
                    except FileNotFoundError: pass
            elif kind == b"m":
                i = int(rest)
                for d in ("intd", "mess"):
                    try: os.unlink(path(d, i))
                    except FileNotFoundError: pass
        except Exception:
            os.write(1, b"!")
            continue
        os.write(1, b"+")
PY
chmod 755 "$H/bin/sluice-clean"
restore_clean() { mv -f "$H/bin/sluice-clean.real" "$H/bin/sluice-clean"; }

start
inj sender@x.org racea@remote.example || bad "queue A"
check "A delivered" waitfor 50 tries_ge racea@remote.example 1
# A's todo entry is still there: the stand-in answers 2 s late
check "A's todo entry still there" test -n "$(find "$Q/todo" -type f)"
inj sender@x.org raceb@remote.example || bad "queue B"
check "B delivered" waitfor 50 tries_ge raceb@remote.example 1
check "A and B are gone from the queue" waitfor 150 queue_empty
sleep 1
check_eq "A delivered exactly once" "$(tries racea@remote.example)" 1
check_eq "B delivered exactly once" "$(tries raceb@remote.example)" 1
check_eq "two messages ended" "$(grep -c '^end msg' "$LOG")" 2
stop

# 4. a crash between C's last result and the removal of its todo entry
echo 6 > "$H/cleandelay"
start
inj sender@x.org racec@remote.example || bad "queue C"
check "C delivered" waitfor 50 tries_ge racec@remote.example 1
sleep 1 # sluice-send has the result; the stand-in answers 6 s after t
check "C's todo entry still there" test -n "$(find "$Q/todo" -type f)"
for c in $(pgrep -P "$SPID"); do kill -KILL "$c" 2> /dev/null; done
kill -KILL "$SPID" 2> /dev/null
wait "$SPID" 2> /dev/null
SPID=""
check "C's todo entry survived the crash" test -n "$(find "$Q/todo" -type f)"
restore_clean
start
check "C gone from the queue" waitfor 150 queue_empty
sleep 1
check_eq "C delivered exactly once" "$(tries racec@remote.example)" 1
stop

# 5. a crash after D's last channel file was removed and before its info
# file was (found by the soak): D is deferred once, so that it has info
# and a channel file and no todo entry; its channel file is then removed
# as pass_end removes it when every recipient is done. A new sluice-send
# must finish D at start, not keep it forever.
start
inj sender@x.org deferd@remote.example || bad "queue D"
check "D tried" waitfor 50 tries_ge deferd@remote.example 1
check "D's todo entry gone" waitfor 50 sh -c "test -z \"\$(find '$Q/todo' -type f)\""
stop
d=$(find "$Q/info" -type f | sed 's|.*/||')
check "D has its info file" test -n "$d"
rm -f "$Q/remote/$((${d:-0} % SPLIT))/${d:-0}"
: > "$LOG"
start
check "D finished at start" waitfor 50 queue_empty
check "D's end logged" grep -q "^end msg ${d:-x}\." "$LOG"
check_eq "D not tried again" "$(tries deferd@remote.example)" 1
stop
done_testing
