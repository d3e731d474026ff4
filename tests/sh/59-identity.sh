#!/bin/sh
# 59-identity.sh: sluice-send delivers a queued message only while its
# file is the one its envelope committed, and names each message in the
# log by ID.STAMP (sluice-queue(5), "Message identity"; sluice-send(8)),
# run by sluice-start in a private instance with fakespawn.
#
#  1. a good message is delivered and logged as "new msg ID.STAMP" and
#     "end msg ID.STAMP", STAMP being its file's time in nanoseconds;
#  2. a message file whose time is not its envelope's stamp (another
#     file that got the id's inode, or one rewritten after the commit),
#     even an older one, is never delivered: the todo entry is logged as
#     "alert" and moved to quarantine/;
#  3. the same for an envelope whose stamp was changed;
#  4. a todo entry without any message: quarantined, not delivered;
#  5. an envelope from before stamps (no "s" field) is delivered under
#     the older rule (the file not newer than the envelope) and named by
#     its file's time;
#  6. a message already scheduled whose file changes is frozen: "alert:
#     msg ID.STAMP", no further delivery, left for sluice-fsck.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

. "$(dirname "$0")/../sched.sh"
mpath() { echo "$Q/mess/$(($1 % SPLIT))/$1"; }
tpath() { echo "$Q/todo/$(($1 % SPLIT))/$1"; }
stamp_of() { stat -c %.9Y "$(mpath "$1")" | tr -d .; }
quarantined() { [ -n "$(find "$Q/quarantine" -name "todo.$1.*")" ]; }
# edit_env ID SCRIPT: rewrites todo/N/ID in place (same inode, so intd
# stays its link) with python re.sub applied to the bytes
edit_env() {
  python3 - "$(tpath "$1")" "$2" <<'PY'
import sys, re
p, how = sys.argv[1], sys.argv[2]
b = open(p, 'rb').read()
if how == 'forge':
    b2 = re.sub(rb'\0s(\d+)\.(\d{9})\0', lambda m: b'\0s' + m.group(1) + b'.' + b'%09d' % ((int(m.group(2)) + 1) % 10**9) + b'\0', b, count=1)
else:
    b2 = re.sub(rb'\0s\d+\.\d{9}\0', b'\0', b, count=1)
assert b2 != b
with open(p, 'r+b') as f:
    f.write(b2)
    f.truncate()
PY
}
# drop ID: removes what a quarantined message leaves for the postmaster
drop() { rm -f "$(mpath "$1")" "$Q/quarantine/todo.$1."*; }

# ---- 1. a good message
inj s@x.org good1@test.example || bad "queue 1" "sluice-queue failed"
id=$(todo_id); st=$(stamp_of "$id")
start
waitfor 100 queue_empty || bad "good: delivered" "$(queue_files) files left"
stop
check_eq "good: delivered once" "$(tries good1@test.example)" 1
check "good: new msg $id.$st" grep -qx "new msg $id\\.$st" "$LOG"
check "good: end msg $id.$st" grep -qx "end msg $id\\.$st" "$LOG"
check "good: starting delivery names it" grep -q "^starting delivery [0-9]*: msg $id\\.$st to local good1@test.example\$" "$LOG"

# ---- 2. the file's time is not the stamp (older than the envelope, too)
inj s@x.org moved2@test.example || bad "queue 2" "sluice-queue failed"
id=$(todo_id)
touch -m -d '1 hour ago' "$(mpath "$id")"
start
waitfor 100 quarantined "$id" || bad "time changed: quarantined" "$(ls "$Q/quarantine")"
stop
check_eq "time changed: never delivered" "$(tries moved2@test.example)" 0
check "time changed: alert logged" grep -q "^alert: todo/$((id % SPLIT))/$id has no message of its own" "$LOG"
check_fail "time changed: todo entry gone" test -e "$(tpath "$id")"
check_fail "time changed: no info made" test -e "$Q/info/$((id % SPLIT))/$id"
drop "$id"

# ---- 3. a forged stamp
inj s@x.org forged3@test.example || bad "queue 3" "sluice-queue failed"
id=$(todo_id)
edit_env "$id" forge
start
waitfor 100 quarantined "$id" || bad "forged stamp: quarantined" "$(ls "$Q/quarantine")"
stop
check_eq "forged stamp: never delivered" "$(tries forged3@test.example)" 0
drop "$id"

# ---- 4. a todo entry without its message
inj s@x.org lost4@test.example || bad "queue 4" "sluice-queue failed"
id=$(todo_id)
rm -f "$(mpath "$id")"
start
waitfor 100 quarantined "$id" || bad "no message: quarantined" "$(ls "$Q/quarantine")"
stop
check_eq "no message: never delivered" "$(tries lost4@test.example)" 0
drop "$id"

# ---- 5. an envelope from before stamps
inj s@x.org old5@test.example || bad "queue 5" "sluice-queue failed"
id=$(todo_id)
sleep 0.05
edit_env "$id" unstamp
check_fail "unstamped: no s field left" grep -qa 's[0-9]*\.[0-9]\{9\}' "$(tpath "$id")"
st=$(stamp_of "$id")
start
waitfor 100 queue_empty || bad "unstamped: delivered" "$(queue_files) files left"
stop
check_eq "unstamped: delivered once" "$(tries old5@test.example)" 1
check "unstamped: named by its file's time" grep -qx "end msg $id\\.$st" "$LOG"

# ---- 6. a scheduled message whose file changes is frozen
inj s@x.org defer6@test.example || bad "queue 6" "sluice-queue failed"
id=$(todo_id); st=$(stamp_of "$id")
start
waitfor 100 tries_ge defer6@test.example 1 || bad "frozen: first try" "none"
touch -m -d '1 hour ago' "$(mpath "$id")"
kill -ALRM "$(send_pid)"
waitfor 100 grep -q "^alert: msg $id\\.$st: mess/" "$LOG" || bad "frozen: alert logged" "$(grep alert "$LOG")"
kill -ALRM "$(send_pid)"
sleep 1
stop
check_eq "frozen: not tried again" "$(tries defer6@test.example)" 1
check "frozen: message left for sluice-fsck" test -e "$(mpath "$id")"
out=$("$H/bin/sluice-fsck" -n "$Q" 2>&1)
check "frozen: sluice-fsck reports it" test -n "$out"

check_eq "no fakespawn errors" "$(cat "$F/errors")" ""
done_testing
