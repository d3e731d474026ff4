#!/bin/sh
# 50-send.sh: sluice-send delivers (sluice-send(8)), run by sluice-start
# in a private instance with fakespawn (tests/helpers/fakespawn.c) as
# sluice-lspawn and sluice-rspawn.
#
#  1. 200 messages x 3 recipients (one local, two remote at one domain),
#     half queued before sluice-start runs and half while it runs: each
#     recipient is delivered exactly once (the fakespawn deliveries log),
#     every message is logged "end msg", and the queue is empty after
#     (no mess, todo, intd, info, local, remote, bounce or pid file;
#     sluice-fsck finds nothing);
#  2. concurrency: with concurrencylocal 3 and concurrencyremote 5 and
#     slow deliveries, the most requests in flight at once in each
#     spawner (fakespawn's peak files) is exactly the limit, and no
#     status line shows more; after raising the limits to 6 and 8 and
#     SIGHUP the peaks become exactly 6 and 8;
#  3. a remote delivery carries every pending recipient of a message at
#     one domain (domains compared without regard to case): they share
#     one delivery number in the log and one slot in the deliveries log;
#     another domain of the same message goes in another delivery; local
#     recipients go one per delivery.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

. "$(dirname "$0")/../sched.sh"
delivered_lines() { wc -l < "$F/deliveries"; }
at_least_lines() { [ "$(delivered_lines)" -ge "$1" ]; }

# ---- 1. 200 messages, 600 recipients, each delivered exactly once
i=0
while [ $i -lt 100 ]; do
  inj "sender$i@x.org" "l$i@test.example" "a$i@d$((i % 5)).example" "b$i@d$((i % 5)).example" || bad "queue $i" "sluice-queue failed"
  i=$((i + 1))
done
start
while [ $i -lt 200 ]; do
  inj "sender$i@x.org" "l$i@test.example" "a$i@d$((i % 5)).example" "b$i@d$((i % 5)).example" || bad "queue $i" "sluice-queue failed"
  i=$((i + 1))
done
waitfor 600 queue_empty || bad "queue drained" "$(queue_files) files left after 60 s"
stop
{
  i=0
  while [ $i -lt 200 ]; do
    echo "l$i@test.example"; echo "a$i@d$((i % 5)).example"; echo "b$i@d$((i % 5)).example"
    i=$((i + 1))
  done
} | sort > "$T/want"
awk '$4 == "K" { print $2 }' "$F/deliveries" | sort > "$T/got"
check_eq "600 deliveries" "$(wc -l < "$T/got" | tr -d ' ')" 600
check_eq "nothing but successes" "$(awk '$4 != "K"' "$F/deliveries" | wc -l | tr -d ' ')" 0
check_eq "no duplicate" "$(uniq -d "$T/got" | wc -l | tr -d ' ')" 0
check "every recipient delivered" cmp -s "$T/want" "$T/got"
check_eq "200 new msg" "$(grep -c '^new msg ' "$LOG")" 200
check_eq "200 end msg" "$(grep -c '^end msg ' "$LOG")" 200
# Every message is named ID.STAMP in the log: the inode numbers of a
# stream are reused, the names never are, and each name has one new
# msg and one end msg line (sluice-send(8), LOG).
sed -n 's/^new msg //p' "$LOG" | sort > "$T/newids"
sed -n 's/^end msg //p' "$LOG" | sort > "$T/endids"
check_eq "every logged id is ID.STAMP" "$(grep -cv '^[0-9][0-9]*\.[0-9]\{19,\}$' "$T/newids")" 0
check_eq "200 distinct ids" "$(uniq "$T/newids" | wc -l | tr -d ' ')" 200
check "the same ids end" cmp -s "$T/newids" "$T/endids"
reused=$(sed 's/\..*//' "$T/newids" | sort | uniq -d | wc -l | tr -d ' ')
echo "# $reused inode numbers were used by more than one of the 200 messages"
check_eq "queue empty" "$(queue_files)" 0
out=$("$H/bin/sluice-fsck" 2>&1)
check "sluice-fsck clean" test $? -eq 0 -a -z "$out"
check_eq "no fakespawn errors" "$(cat "$F/errors")" ""

# ---- 2. concurrency limits, and SIGHUP
echo 3 > "$H/control/concurrencylocal"
echo 5 > "$H/control/concurrencyremote"
: > "$F/deliveries"; rm -f "$F"/peak.sluice-*
: > "$LOG"
i=0
while [ $i -lt 30 ]; do
  inj "s$i@x.org" "c$i@test.example" "c$i@r$i.example" || bad "queue c$i" "sluice-queue failed"
  i=$((i + 1))
done
start FAKESPAWN_DELAY_MS=300
waitfor 600 at_least_lines 60 || bad "concurrency deliveries" "$(delivered_lines) of 60 after 60 s"
waitfor 100 queue_empty || bad "concurrency drained" "$(queue_files) files left"
check_eq "local peak is the limit" "$(cat "$F/peak.sluice-lspawn" 2> /dev/null)" 3
check_eq "remote peak is the limit" "$(cat "$F/peak.sluice-rspawn" 2> /dev/null)" 5
over=$(awk '/^status: local [0-9]+\/[0-9]+ remote/ { split($3, l, "/"); split($5, r, "/");
  if (l[1] + 0 > 3 || r[1] + 0 > 5 || l[2] != 3 || r[2] != 5) print }' "$LOG" | head -n 3)
check_eq "status lines within the limits" "$over" ""
check "local status at the limit" grep -q '^status: local 3/3 ' "$LOG"
check "remote status at the limit" grep -q ' remote 5/5$' "$LOG"
echo 6 > "$H/control/concurrencylocal"
echo 8 > "$H/control/concurrencyremote"
kill -HUP "$SPID"
waitfor 100 grep -q '^control files reread' "$LOG" || bad "SIGHUP rereads" "no 'control files reread' in the log"
: > "$F/deliveries"
while [ $i -lt 70 ]; do
  inj "s$i@x.org" "c$i@test.example" "c$i@r$i.example" || bad "queue c$i" "sluice-queue failed"
  i=$((i + 1))
done
waitfor 600 at_least_lines 80 || bad "deliveries after SIGHUP" "$(delivered_lines) of 80 after 60 s"
waitfor 100 queue_empty || bad "drained after SIGHUP" "$(queue_files) files left"
check_eq "local peak after SIGHUP" "$(cat "$F/peak.sluice-lspawn" 2> /dev/null)" 6
check_eq "remote peak after SIGHUP" "$(cat "$F/peak.sluice-rspawn" 2> /dev/null)" 8
over=$(awk '/^control files reread/ { after = 1 }
  after && /^status: local [0-9]+\/[0-9]+ remote/ { split($3, l, "/"); split($5, r, "/");
  if (l[1] + 0 > 6 || r[1] + 0 > 8) print }' "$LOG" | head -n 3)
check_eq "status lines within the new limits" "$over" ""
check "new limits in the status lines" grep -q '^status: local [0-9]*/6 remote [0-9]*/8' "$LOG"
stop
check_eq "no fakespawn errors (slots)" "$(cat "$F/errors")" ""

# ---- 3. one remote delivery per domain of a message
: > "$F/deliveries"; : > "$LOG"
inj "g@x.org" "a@one.example" "b@two.example" "c@ONE.example" "x@test.example" "d@one.example" "e@Two.Example" "y@test.example" ||
  bad "queue grouping" "sluice-queue failed"
start FAKESPAWN_DELAY_MS=1000
waitfor 200 at_least_lines 7 || bad "grouping deliveries" "$(delivered_lines) of 7 after 20 s"
waitfor 100 queue_empty || bad "grouping drained" "$(queue_files) files left"
stop
# dnum ADDR: the delivery number that carried ADDR
dnum() { sed -n "s/^starting delivery \([0-9]*\): msg [0-9.]* to [a-z]* $1\$/\1/p" "$LOG"; }
slot() { awk -v a="$1" '$2 == a { print $3 }' "$F/deliveries"; }
da=$(dnum a@one.example); db=$(dnum b@two.example)
check "one.example has a delivery" test -n "$da"
check "two.example has a delivery" test -n "$db"
check_eq "c@ONE.example with a@" "$(dnum c@ONE.example)" "$da"
check_eq "d@one.example with a@" "$(dnum d@one.example)" "$da"
check_eq "e@Two.Example with b@" "$(dnum e@Two.Example)" "$db"
check "two domains, two deliveries" test "$da" != "$db"
dx=$(dnum x@test.example); dy=$(dnum y@test.example)
check "locals one per delivery" test -n "$dx" -a -n "$dy" -a "$dx" != "$dy" -a "$dx" != "$da" -a "$dx" != "$db"
check_eq "one.example: one slot" "$(slot a@one.example) $(slot c@ONE.example) $(slot d@one.example)" \
  "$(slot a@one.example) $(slot a@one.example) $(slot a@one.example)"
check_eq "two.example: one slot" "$(slot e@Two.Example)" "$(slot b@two.example)"
check "two domains in flight at once: two slots" test "$(slot a@one.example)" != "$(slot b@two.example)"
# the recipients of one request are written together by the remote spawner
check_eq "one.example request contiguous" \
  "$(grep -E ' (a|c|d)@(one|ONE)\.example ' "$F/deliveries" | awk '{ print $2 }' | tr '\n' ' ')" \
  "a@one.example c@ONE.example d@one.example "
check_eq "seven deliveries, all K" "$(awk '$4 == "K"' "$F/deliveries" | wc -l | tr -d ' ')" 7

done_testing
