#!/bin/sh
# 98-qctl.sh: queue control (sluice-qctl(8)) through sluice-send's
# command fifo lock/control, with fakespawn as both spawners ("defer..."
# recipients get Z "4.3.0 deferred by fakespawn"; an ok/ file turns a
# recipient into a delivery).
#
#  1. deferred mail: sluice-qctl list, root's mailq and the public
#     summary show each recipient's deferral count and last reason;
#  2. hold: the hold flag is made, list shows "held", a flush retries
#     the other messages but never the held one, and after a restart of
#     sluice-start (the flag is in the queue) still not;
#  3. an ordinary user's mailq shows the queue (with the reason and the
#     hold) from the summary, and no message body; show (root) has it;
#  4. release delivers the held message; requeue ID delivers another;
#     requeue @domain and sendmail -qRdomain deliver only that domain's;
#  5. delete ID, delete -s SENDER, delete -d DOMAIN remove messages
#     whose recipients keep deferring, and delete waits for a delivery
#     in flight to end (made once): no bounce, nothing delivered,
#     the queue ends empty and sluice-fsck finds nothing wrong;
#  6. errors: unknown id (1), bad id (100), unknown verb (64), a non-root
#     caller (100), no sluice-send running (111).
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh
. "$(dirname "$0")/../sched.sh"

PATH=$PATH:/usr/sbin:/sbin
export PATH
QC=$H/bin/sluice-qctl
TUSER=sluiceqc$$
useradd -M -N -s /bin/sh -d /nonexistent "$TUSER" > /dev/null 2>&1 || { bad "useradd $TUSER"; done_testing; }
trap 'userdel "$TUSER" > /dev/null 2>&1; cleanup' EXIT
as() { env -i PATH=/usr/bin:/bin HOME=/ setpriv --reuid="$(id -u "$TUSER")" --regid="$(id -g "$TUSER")" --init-groups "$@"; }

# injid FROM RCPT...: queues the test message and prints its id (the
# message file that was not there before)
mess_ids() { find "$Q/mess" -type f | sed 's|.*/||' | sort; }
injid() {
  mess_ids > "$T/before"
  inj "$@" || { bad "queue a message" "sluice-queue failed"; return; }
  mess_ids | comm -13 "$T/before" -
}
gone_msg() { [ ! -e "$Q/mess/$(($1 % SPLIT))/$1" ]; }
held_file() { [ -e "$Q/hold/$(($1 % SPLIT))/$1" ]; }
has_defer() { [ -s "$Q/defer/$(($1 % SPLIT))/$1" ]; }
# sluice-qctl sees the queue change before sluice-send's log line for it
# is written: wait for the line (5 s at most)
logged() {
  _k=0
  while [ $_k -lt 50 ]; do
    grep -q "$1" "$LOG" && return 0
    sleep 0.1
    _k=$((_k + 1))
  done
  return 1
}
starts() { grep -c "^starting delivery [0-9]*: msg $1\.[0-9]* " "$LOG"; }
ok_for() { : > "$F/ok/$1"; chmod 666 "$F/ok/$1"; }

A=$(injid s1@x.org defera@remote.example)
B=$(injid s2@x.org deferb@other.example)
C=$(injid s3@x.org deferl@test.example)
D1=$(injid s4@x.org defer1@dom1.example)
D2=$(injid s5@x.org defer2@dom2.example)
E=$(injid spam@bad.example defers@x.example)
G=$(injid s6@x.org deferz@gone.example deferz2@gone.example)
check "seven messages queued" test -n "$A" -a -n "$G"
start
for i in $A $B $C $D1 $D2 $E $G; do waitfor 100 has_defer "$i" || bad "deferral of $i recorded" "no defer file"; done

# ---- 1. list shows the reason
out=$("$QC" list); rc=$?
check_eq "list: exit 0" "$rc" 0
case $out in
  *"$A  "*"<s1@x.org>"*"  remote pending <defera@remote.example>  deferred 1 time
      last: 4.3.0 deferred by fakespawn"*) ok "list: state and reason" ;;
  *) bad "list: state and reason" "$out" ;;
esac
case $out in *"remote next try in "*) ok "list: next try" ;; *) bad "list: next try" "$out" ;; esac
case $("$H/bin/mailq") in *"last: 4.3.0 deferred by fakespawn"*) ok "root's mailq: reason" ;; *) bad "root's mailq: reason" "$("$H/bin/mailq")" ;; esac

# ---- 2. hold
"$QC" hold "$A" > "$T/out" 2>&1; rc=$?
check_eq "hold: exit 0" "$rc" 0
check_eq "hold: says so" "$(cat "$T/out")" "held $A"
check "hold: flag in the queue" held_file "$A"
check "hold: logged" logged "^control: hold msg $A\."
case $("$QC" list) in *"<s1@x.org>  held
  remote held    <defera@remote.example>"*) ok "list: held" ;; *) bad "list: held" "$("$QC" list)" ;; esac
nA=$(starts "$A"); nB=$(starts "$B")
"$QC" flush > /dev/null; check_eq "flush: exit 0" "$?" 0
more_b() { [ "$(starts "$B")" -gt "$1" ]; }
waitfor 100 more_b "$nB" || bad "flush retries the others" "B tried $(starts "$B") times"
check "flush logged" logged '^control: flush'
check_eq "held message not tried after flush" "$(starts "$A")" "$nA"
stop
start FAKESPAWN_SLOW_MS=3000
nB=$(starts "$B")
"$QC" flush > /dev/null
waitfor 100 more_b "$nB" || bad "flush after restart" "B not tried"
check_eq "held message not tried after restart" "$(starts "$A")" "$nA"
check "hold survives the restart" held_file "$A"
check_eq "requeue of a held message: not tried" "$("$QC" requeue "$A")" "held, so not tried (release it): $A"
check "requeue of a held message: logged" logged "^control: requeue msg $A\..*: held, not tried"

# ---- 3. an ordinary user's mailq: the summary, no bodies
summary_held() { as "$H/bin/mailq" 2> /dev/null | grep -q "^$A  .*<s1@x.org>  held"; }
waitfor 100 summary_held || bad "user mailq shows the held message" "$(as "$H/bin/mailq" 2>&1)"
uout=$(as "$H/bin/mailq" 2>&1); rc=$?
check_eq "user mailq: exit 0" "$rc" 0
case $uout in *"defera@remote.example"*"last: 4.3.0 deferred by fakespawn"*) ok "user mailq: reason" ;; *) bad "user mailq: reason" "$uout" ;; esac
case $uout in *Subject:*|*"
body"*) bad "user mailq: no bodies" "$uout" ;; *) ok "user mailq: no bodies" ;; esac
check_eq "user sendmail -bp = user mailq" "$(as "$H/bin/sendmail" -bp | sed 1d)" "$(echo "$uout" | sed 1d)"
check_fail "user cannot read the queue" as cat "$Q/mess/$((A % SPLIT))/$A" 2> /dev/null
sout=$("$QC" show "$A")
case $sout in *"Subject: test"*"body"*) ok "show: header and body" ;; *) bad "show: header and body" "$sout" ;; esac

# ---- 4. release, requeue, requeue @domain, sendmail -qR
ok_for defera@remote.example
"$QC" release "$A" > /dev/null; check_eq "release: exit 0" "$?" 0
check_fail "release: flag gone" held_file "$A"
waitfor 100 gone_msg "$A" || bad "release delivers" "still queued"
check_eq "released message delivered" "$(grep -c "^$A defera@remote.example .* K" "$F/deliveries")" 1
ok_for deferb@other.example
"$QC" requeue "$B" > /dev/null; check_eq "requeue: exit 0" "$?" 0
waitfor 100 gone_msg "$B" || bad "requeue delivers" "still queued"
ok_for defer1@dom1.example; ok_for defer2@dom2.example
n2=$(starts "$D2"); nC=$(starts "$C")
"$QC" requeue @dom1.example > /dev/null; check_eq "requeue @domain: exit 0" "$?" 0
waitfor 100 gone_msg "$D1" || bad "requeue @domain delivers" "still queued"
check "requeue @domain logged" logged '^control: requeue @dom1.example: 1 '
check_eq "requeue @domain leaves other domains" "$(starts "$D2") $(starts "$C")" "$n2 $nC"
"$H/bin/sendmail" -qRdom2.example > /dev/null; check_eq "sendmail -qR: exit 0" "$?" 0
waitfor 100 gone_msg "$D2" || bad "sendmail -qR delivers" "still queued"

# ---- 5. delete
nl=$(grep -c '^new msg' "$LOG")
# a delivery in flight (slow: answered after 3 s) finishes first
HF=$(injid s8@x.org slowdel@slow.example deferh@slow.example)
waitfor 100 tries_ge slowdel@slow.example 1 || bad "slow delivery started" "not seen"
"$QC" delete "$HF" > "$T/out" 2>&1; rc=$?
check_eq "delete in flight: exit 0" "$rc" 0
check "delete in flight: waited for the delivery" logged "^control: delete msg $HF\..*: after the deliveries in flight"
check "delete in flight: message gone" gone_msg "$HF"
check_eq "delete in flight: delivered once" "$(tries slowdel@slow.example)" 1
"$QC" delete "$C" > "$T/out" 2>&1; rc=$?
check_eq "delete: exit 0" "$rc" 0
check_eq "delete: says so" "$(cat "$T/out")" "deleted $C"
check "delete: message gone" gone_msg "$C"
"$QC" delete -s SPAM@bad.example > "$T/out" 2>&1
check_eq "delete -s: the sender's message" "$(cat "$T/out")" "deleted $E"
"$QC" delete -d gone.example > "$T/out" 2>&1
check_eq "delete -d: the domain's message" "$(cat "$T/out")" "deleted $G"
"$QC" delete -r nobody@nowhere.example > /dev/null 2>&1; check_eq "delete -r: nothing matches: exit 1" "$?" 1
waitfor 100 queue_empty || bad "queue empty after the deletions" "$(queue_files) files left"
check_eq "no bounce for deleted mail" "$(grep -c '^new msg' "$LOG")" "$((nl + 1))"
check_eq "deleted recipients never delivered" "$(grep -v slowdel "$F/deliveries" | grep -c ' K$')" 4
check_eq "no hold or defer files left" "$(find "$Q/hold" "$Q/defer" -type f | wc -l)" 0
out=$("$H/bin/sluice-fsck" 2>&1); rc=$?
check "sluice-fsck clean" test "$rc" -eq 0 -a -z "$out"
[ -n "$out" ] && echo "$out"

# ---- 6. errors
"$QC" hold 999999999 > "$T/out" 2>&1; check_eq "unknown id: exit 1" "$?" 1
check "unknown id: says so" grep -q 'no message 999999999 in the queue' "$T/out"
"$QC" hold 12x > /dev/null 2>&1; check_eq "bad id: exit 100" "$?" 100
"$QC" frobnicate > /dev/null 2>&1; check_eq "unknown verb: exit 64" "$?" 64
as "$QC" list > /dev/null 2>&1; check_eq "non-root: exit 100" "$?" 100
check_eq "fakespawn saw no protocol errors" "$(cat "$F/errors")" ""
stop
Q7=$(injid s7@x.org deferq@x.example)
"$QC" flush > "$T/out" 2>&1; check_eq "no sluice-send: exit 111" "$?" 111
check "no sluice-send: says so" grep -q 'sluice-send does not run' "$T/out"
done_testing
