#!/bin/sh
# 104-multihost.sh: sluice beyond one machine (INSTALL, "Several
# machines"), in network namespaces on this one: a client, a DNS
# server (dnsmasq), two front ends (sluice-smtpd with sluice-qmqpc as
# QMAILQUEUE, no queue of their own in use) and two queue hosts
# (sluice-qmqpd for the front ends' addresses only, sluice-start
# delivering into one Maildir shared by both, standing in for NFS).
# Each namespace has a veth pair to a bridge in a namespace of its own
# (the switch); nothing is configured in the root namespace.
#
# One build serves every instance: conf-home is compiled in (auto_home,
# from conf-home or CONF_HOME), so each instance's process runs in a
# mount namespace of its own where the instance's directory
# ($SLUICE_TEST_HOME.NAME) is bind-mounted on the compiled path.
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
PATH=$PATH:/usr/sbin:/sbin
export PATH
skip() { echo "SKIP 104-multihost: $1"; echo "0 passed, 0 failed"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
for p in ip unshare dnsmasq tcpserver tcprules python3 setpriv; do
  command -v $p > /dev/null 2>&1 || skip "$p is missing (apt-get install iproute2 util-linux dnsmasq-base ucspi-tcp-ipv6 python3)"
done
NSP=mh104.$$.
ip netns add "${NSP}probe" 2> /dev/null || skip "ip netns add does not work here"
ip netns del "${NSP}probe"

. "$(dirname "$0")/../e2e.sh"
inst_fresh

NMSG=${MH_MESSAGES:-2000}
DOM=mh104.test
U=sl104u
NET=10.104.0
HOSTS='sw dns client fe1 fe2 qh1 qh2'
ip_of() { case $1 in dns) echo $NET.2 ;; client) echo $NET.5 ;; fe1) echo $NET.11 ;; fe2) echo $NET.12 ;;
  qh1) echo $NET.21 ;; qh2) echo $NET.22 ;; esac; }
role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
DUID=$(id -u "$(role daemon)") DGID=$(id -g "$(role daemon)")

cleanup() {
  for h in $HOSTS; do
    pids=$(ip netns pids "$NSP$h" 2> /dev/null)
    [ -n "$pids" ] && kill -KILL $pids 2> /dev/null
  done
  for h in $HOSTS; do ip netns del "$NSP$h" 2> /dev/null; done
  userdel -r "$U" > /dev/null 2>&1
  for h in fe1 fe2 qh1 qh2; do rm -rf "$H.$h"; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- the network ---
for h in $HOSTS; do ip netns add "$NSP$h" || { bad "ip netns add $h"; done_testing; }; ip -n "$NSP$h" link set lo up; done
ip -n "${NSP}sw" link add br0 type bridge && ip -n "${NSP}sw" link set br0 up || bad "bridge"
for h in dns client fe1 fe2 qh1 qh2; do
  # made in the switch, one end moved into the host as eth0
  ip -n "${NSP}sw" link add "p-$h" type veth peer name eth0 netns "$NSP$h" &&
    ip -n "${NSP}sw" link set "p-$h" master br0 && ip -n "${NSP}sw" link set "p-$h" up &&
    ip -n "$NSP$h" addr add "$(ip_of $h)/24" dev eth0 && ip -n "$NSP$h" link set eth0 up || bad "link of $h"
done

# inns NAME DIR CMD...: CMD in namespace NAME, in a mount namespace
# where DIR is mounted on the compiled conf-home $H, from $H. It execs
# (so that $! of `inns ... &` is the program's pid): in the foreground,
# call it in a subshell
inns() {
  _ns=$1 _dir=$2
  shift 2
  exec ip netns exec "$NSP$_ns" unshare -m --propagation private \
    sh -c 'mount --bind "$0" "$1" && cd "$1" && shift && exec "$@"' "$_dir" "$H" "$@"
}

# --- DNS: two MX hosts at equal preference, every host's name ---
ip netns exec "${NSP}dns" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
  --listen-address=$NET.2 --port=53 --user=root --pid-file= --log-facility="$T/dnsmasq.log" \
  --mx-host=$DOM,fe1.$DOM,10 --mx-host=$DOM,fe2.$DOM,10 \
  --host-record=fe1.$DOM,$NET.11 --host-record=fe2.$DOM,$NET.12 \
  --host-record=qh1.$DOM,$NET.21 --host-record=qh2.$DOM,$NET.22 2> "$T/dnsmasq.err" &

# --- the instances: copies of the one installed by inst_fresh ---
mkuser "$U"
MD=$(home_of "$U")/Maildir
for h in fe1 fe2 qh1 qh2; do
  rm -rf "$H.$h"
  cp -a "$H" "$H.$h" || bad "copy of the instance for $h"
  C=$H.$h/control
  echo "$h.$DOM" > "$C/me"
  echo "$DOM" > "$C/locals"
  echo "$DOM" > "$C/rcpthosts"
  echo 0 > "$C/smtpdnamewait"
done
for h in qh1 qh2; do
  printf '%s:allow\n%s:allow\n:deny\n' $NET.11 $NET.12 > "$H.$h/control/tcp.qmqp"
  tcprules "$H.$h/control/tcp.qmqp.cdb" "$H.$h/control/tcp.qmqp.tmp" < "$H.$h/control/tcp.qmqp" || bad "tcprules $h"
done
for h in fe1 fe2; do
  C=$H.$h/control
  printf '%s\n%s\n' $NET.21 $NET.22 > "$C/qmqpservers"
  echo roundrobin > "$C/qmqpspread"
  echo 2 > "$C/timeoutconnect"
  echo 5 > "$C/timeoutremote"
  echo 3 > "$C/qmqpskip"
  # QMAILQUEUE for every client, by the rules, as INSTALL says
  printf ':allow,QMAILQUEUE="%s"\n' "$H/bin/sluice-qmqpc" > "$C/tcp.smtp"
  tcprules "$C/tcp.smtp.cdb" "$C/tcp.smtp.tmp" < "$C/tcp.smtp" || bad "tcprules $h"
  mkdir "$H.$h/qmqp" && chown "$DUID:$DGID" "$H.$h/qmqp" && chmod 700 "$H.$h/qmqp"
done
# the recipient check: built on a queue host, copied to the front ends
(inns qh1 "$H.qh1" "$H/bin/sluice-newrcpt") > /dev/null 2>&1 || bad "sluice-newrcpt on qh1"
sh tools/rcptcopy "$H.qh1" "$H.fe1" "$H.fe2" || bad "rcptcopy"

# --- the services ---
qh_start() { # qh_start NAME: sluice-start and sluice-qmqpd
  inns "$1" "$H.$1" "$H/bin/sluice-start" < /dev/null > /dev/null 2> "$T/$1.send.log" &
  inns "$1" "$H.$1" tcpserver -v -H -R -l "$1.$DOM" -x "$H/control/tcp.qmqp.cdb" -c 40 -u "$DUID" -g "$DGID" \
    "$(ip_of "$1")" 628 "$H/bin/sluice-qmqpd" < /dev/null > /dev/null 2>> "$T/$1.qmqpd.log" &
}
fe_start() { # fe_start NAME: sluice-smtpd with sluice-qmqpc; the pid in fe_pid
  inns "$1" "$H.$1" tcpserver -v -H -R -l "$1.$DOM" -x "$H/control/tcp.smtp.cdb" -c 40 -u "$DUID" \
    -g "$DGID" "$(ip_of "$1")" 25 "$H/bin/sluice-smtpd" < /dev/null > /dev/null 2>> "$T/$1.smtpd.log" &
  fe_pid=$!
}
listening() { ip netns exec "$NSP$1" ss -Hltn | grep -q "$(ip_of "$1"):$2 "; }
qh_start qh1
qh_start qh2
fe_start fe1
fe1_pid=$fe_pid
fe_start fe2
for hp in dns:53 qh1:628 qh2:628 fe1:25 fe2:25; do
  wait_for 10 listening "${hp%:*}" "${hp#*:}" || bad "nothing listens on ${hp%:*} port ${hp#*:}"
done
wait_for 10 sh -c "grep -q status: '$T/qh1.send.log' && grep -q status: '$T/qh2.send.log'" || bad "sluice-start did not start"

client() { ip netns exec "${NSP}client" python3 "$TOP/tests/mhclient.py" $NET.2 $DOM "$U@$DOM" "$@"; }
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
subjects() { cat "$MD"/new/* "$MD"/cur/* 2> /dev/null | sed -n 's/^Subject: mh104 \([0-9]*\).*/\1/p'; }
distinct() { subjects | sort -u | wc -l | tr -d ' '; }
queued() { find "$H.qh1/queue/mess" "$H.qh2/queue/mess" -type f | wc -l | tr -d ' '; }
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
