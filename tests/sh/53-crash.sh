#!/bin/sh
# 53-crash.sh: kill -9 of sluice-send during a stream of messages loses
# nothing and repeats nothing: the spawners journal every result before
# they report it, and the next sluice-send applies the journals before
# it schedules anything (sluice-spawn(5), "Journals").
#
# 300 messages (one local, one remote recipient each) are queued one by
# one while sluice-start runs with fakespawn (30 ms per delivery,
# concurrencylocal 5, concurrencyremote 5); five times, at random
# moments, sluice-send is killed with SIGKILL; sluice-start must then
# exit 111, and it is started again. When everything is done:
#  - every one of the 600 recipients was delivered (K) at least once;
#  - no recipient was delivered twice (the number is printed; before the
#    journals, up to one per kill and slot was);
#  - no info, local, remote, todo, intd, bounce or mess file is left: a
#    message whose removal request died with sluice-send is removed by
#    the next one at once.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

. "$(dirname "$0")/../sched.sh"
IPID=""
cleanup2() { [ -n "$IPID" ] && kill -KILL "$IPID" 2> /dev/null; cleanup; }
trap cleanup2 EXIT

CL=5 CR=5 N=300 KILLS=5
echo $CL > "$H/control/concurrencylocal"
echo $CR > "$H/control/concurrencyremote"

# the stream of messages, in the background
(
  i=0
  while [ $i -lt $N ]; do
    { printf 'Fs%s@x.org\0' $i; printf 'Tl%s@test.example\0Tr%s@d%s.example\0\0' $i $i $((i % 10)); } > "$T/env.i"
    "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env.i" || echo "$i" >> "$T/inject.failed"
    sleep 0.01
    i=$((i + 1))
  done
) &
IPID=$!

start FAKESPAWN_DELAY_MS=30
k=0 exits=""
while [ $k -lt $KILLS ]; do
  sleep "$(awk -v s=$$ -v k=$k 'BEGIN { srand(s * 7 + k); printf "%.2f", 0.2 + rand() * 0.8 }')"
  sp=$(send_pid)
  if [ -z "$sp" ]; then bad "kill $k: sluice-send running" "no sluice-send"; break; fi
  kill -KILL "$sp"
  if waitfor 700 gone "$SPID"; then wait "$SPID"; exits="$exits $?"; else bad "kill $k: sluice-start ends" "still there after 70 s"; fi
  SPID=""
  k=$((k + 1))
  start FAKESPAWN_DELAY_MS=30
done
check_eq "sluice-start exits 111 after each kill" "$exits" " 111 111 111 111 111"
waitfor 600 gone "$IPID" || bad "injector done" "still running after 60 s"
wait "$IPID"
IPID=""
check_eq "every injection succeeded" "$(cat "$T/inject.failed" 2> /dev/null)" ""
# lost clean requests can leave mess files; everything else must go
busy_files() { find "$Q/todo" "$Q/intd" "$Q/info" "$Q/local" "$Q/remote" "$Q/bounce" -type f | wc -l; }
no_busy() { [ "$(busy_files)" -eq 0 ]; }
waitfor 1200 no_busy || bad "drained after the kills" "$(busy_files) files left after 120 s"
stop

i=0
while [ $i -lt $N ]; do
  echo "l$i@test.example"; echo "r$i@d$((i % 10)).example"
  i=$((i + 1))
done | sort > "$T/want"
awk '$4 == "K" { print $2 }' "$F/deliveries" | sort > "$T/got"
sort -u "$T/got" > "$T/got.u"
check "no recipient lost" cmp -s "$T/want" "$T/got.u"
check_eq "nothing but successes" "$(awk '$4 != "K"' "$F/deliveries" | wc -l | tr -d ' ')" 0
dups=$(($(wc -l < "$T/got") - $(wc -l < "$T/got.u")))
echo "# $KILLS kills, $dups duplicate deliveries"
check_eq "no duplicate delivery after $KILLS kills" "$dups" 0
check_eq "no info, local, remote, todo, intd, bounce left" "$(busy_files)" 0
check_eq "no mess file left" "$(find "$Q/mess" -type f | wc -l | tr -d ' ')" 0
check "results of the killed schedulers were applied from the journals" grep -q "delivery journal: msg" "$LOG"
check_eq "no pid file" "$(find "$Q/pid" -type f | wc -l | tr -d ' ')" 0
check_eq "no fakespawn errors" "$(cat "$F/errors")" ""

done_testing
