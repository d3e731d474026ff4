#!/bin/sh
# 104-multihost.sh: sluice beyond one machine (INSTALL, "Several
# machines"), in network namespaces on this one: a client, a DNS
# server (dnsmasq), two front ends (sluice-smtpd with sluice-qmqpc as
# QMAILQUEUE, no queue of their own in use) and two queue hosts
# (sluice-qmqpd for the front ends' addresses only, sluice-start
# delivering into one Maildir shared by both, standing in for NFS).
# Each namespace has a veth pair to a bridge in a namespace of its own
# (the switch); one build serves every instance (tests/multihost.sh).
#
# The client (tests/mhclient.py, acting as a sending MTA: MX lookup at
# the DNS server, the two front ends at equal preference in random
# order, the other one after a failure, a retry later) sends a stream
# of messages (MH_MESSAGES, default 2000). As it goes: after 30% the
# link of queue host 1 goes down, after 45% front end 1's tcpserver is
# killed, after 60% the link comes back, after 75% front end 1 starts
# again. Then:
#  - every message was accepted by a front end and is in the Maildir:
#    none lost;
#  - every duplicate is of a message whose end of data the client sent
#    without getting 250 (a front end's 451 after sluice-qmqpc lost the
#    queue host's answer, or a connection cut): the duplicate that
#    SMTP (RFC 1047) and QMQP allow; their number is printed;
#  - both queue hosts and both front ends took messages, queue host 1
#    and front end 1 again after they came back; the outages were seen
#    (failed attempts);
#  - a front end refuses an unknown user at RCPT (550) with the queue
#    host's rcptcheck.cdb copied by tools/rcptcopy;
#  - the queues are empty at the end; the front ends' own queues were
#    never used.
# Without `ip netns` (or without root) it prints a SKIP line and
# "0 passed, 0 failed": a skip is no pass.
. "$(dirname "$0")/../lib.sh"
skip() { echo "SKIP 104-multihost: $1"; echo "0 passed, 0 failed"; exit 0; }
. "$(dirname "$0")/../multihost.sh"
mh_check
. "$(dirname "$0")/../e2e.sh"
inst_fresh

NMSG=${MH_MESSAGES:-2000}
cleanup() {
  mh_cleanup
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

mh_setup
check_eq "front end: unknown user refused at RCPT" "$(client 1 1 10 "$T" probe "nosuch104@$DOM" 2>&1)" 550
check_eq "front end: the user accepted at RCPT" "$(client 1 1 10 "$T" probe "$U@$DOM" 2>&1)" 250

# --- the stream, with the outages ---
rm -f "$T/progress" "$T/result"
t0=$(date +%s)
client "$NMSG" 6 110 "$T" > "$T/client.out" 2>&1 &
cpid=$!
phase=0 k=0 qh1_mark=0
while kill -0 $cpid 2> /dev/null && [ $k -lt 1200 ]; do
  n=$(cat "$T/progress" 2> /dev/null || echo 0)
  case $phase in
  0) if [ "$n" -ge $((NMSG * 30 / 100)) ]; then
       ip -n "${NSP}sw" link set p-qh1 down && echo "link of qh1 down at $n" >> "$T/events"; phase=1
     fi ;;
  1) if [ "$n" -ge $((NMSG * 45 / 100)) ]; then
       kill -KILL $fe1_pid && echo "fe1 killed at $n" >> "$T/events"; phase=2
     fi ;;
  2) if [ "$n" -ge $((NMSG * 60 / 100)) ]; then
       ip -n "${NSP}sw" link set p-qh1 up && echo "link of qh1 up at $n" >> "$T/events"; phase=3
       qh1_mark=$(grep -c ' ok ' "$T/qh1.qmqpd.log")
     fi ;;
  3) if [ "$n" -ge $((NMSG * 75 / 100)) ]; then
       fe_start fe1 && echo "fe1 started at $n" >> "$T/events"; fe1_mark=$(grep -c ' ok ' "$T/fe1.smtpd.log"); phase=4
     fi ;;
  esac
  sleep 0.1
  k=$((k + 1))
done
wait $cpid
check_eq "client: every message accepted" "$?" 0
check_eq "every outage made and ended" "$phase" 4
[ $phase -lt 3 ] && ip -n "${NSP}sw" link set p-qh1 up
cat "$T/events" 2> /dev/null
result=$(cat "$T/result" 2> /dev/null)
echo "client: $result"
set -- $result
[ $# -ge 12 ] || { bad "no client result" "$(cat "$T/client.out")"; done_testing; }
check_eq "client: accepted" "$2" "$NMSG"
check_eq "client: no permanent failure" "${12}" 0
check "the outages were seen: failed attempts" test "$8" -gt 0

# --- delivery: every message in the Maildir ---
k=0
while [ $k -lt 300 ]; do
  [ "$(distinct)" -ge "$NMSG" ] && [ "$(queued)" -eq 0 ] && break
  sleep 0.1
  k=$((k + 1))
done
t1=$(date +%s)
check_eq "every message delivered, none lost" "$(distinct)" "$NMSG"
check_eq "the queues are empty" "$(queued)" 0
check_eq "the front ends queued nothing themselves" "$(find "$H.fe1/queue/mess" "$H.fe2/queue/mess" -type f | wc -l | tr -d ' ')" 0
total=$(subjects | wc -l | tr -d ' ')
dups=$(subjects | sort | uniq -d)
ndup=$((total - $(distinct)))
echo "delivered $total, distinct $(distinct), duplicates $ndup, ambiguous transactions $(wc -l < "$T/ambiguous" | tr -d ' '), $((t1 - t0)) s"
bad_dup=0
for d in $dups; do grep -qx "$d" "$T/ambiguous" || bad_dup=$((bad_dup + 1)); done
check_eq "every duplicate followed an unanswered end of data" "$bad_dup" 0
check "duplicates within the unanswered transactions" test "$ndup" -le "$(wc -l < "$T/ambiguous")"

# --- every host did its share ---
by() { cat "$MD"/new/* "$MD"/cur/* 2> /dev/null | grep -c "by $1.$DOM with QMQP"; }
check "queue host 1 took messages" test "$(by qh1)" -gt 0
check "queue host 2 took messages" test "$(by qh2)" -gt 0
check "queue host 1 took messages after its link came back" test "$(grep -c ' ok ' "$T/qh1.qmqpd.log")" -gt "$qh1_mark"
check "front end 1 took messages after its restart" test "$(grep -c ' ok ' "$T/fe1.smtpd.log")" -gt "${fe1_mark:-999999}"
check "front end 2 took messages" test "$(grep -c ' ok ' "$T/fe2.smtpd.log")" -gt 0
done_testing
