# tests/multihost.sh: several sluice hosts in network namespaces on one
# machine, shared by tests/sh/104-multihost.sh and bench/multihost.sh.
# Source it after tests/lib.sh, from the top of the tree, and
# tests/e2e.sh before mh_setup (mkuser, wait_for); it defines
#   mh_check    skip() unless root, the tools and `ip netns` work: skip
#               is the caller's (it must exit)
#   mh_setup    after inst_fresh: the namespaces sw (a bridge), dns
#               (dnsmasq), client, fe1, fe2 (front ends: sluice-smtpd
#               with sluice-qmqpc, QMAILQUEUE set by control/tcp.smtp),
#               qh1, qh2 (queue hosts: sluice-qmqpd for the front ends
#               only, sluice-start), the user $U whose Maildir ($MD)
#               both queue hosts deliver to, the recipient check copied
#               from qh1 to the front ends (tools/rcptcopy); every
#               service started and listening
#   mh_cleanup  every process of the namespaces killed, the namespaces,
#               the user and the instances removed (call it from the
#               caller's EXIT trap)
#   inns NAME DIR CMD...   CMD in namespace NAME with DIR on conf-home
#   fe_start NAME, qh_start NAME, client ARGS...  (tests/mhclient.py)
#   ip_of NAME, subjects, distinct, queued
#
# One build serves every instance: conf-home is compiled in (auto_home,
# from conf-home or CONF_HOME), so each instance's processes run in a
# mount namespace of their own where the instance's directory
# ($SLUICE_TEST_HOME.NAME, a copy of the installed instance) is
# bind-mounted on the compiled path. Each namespace has a veth pair to
# the bridge in sw; nothing is configured in the root namespace.
PATH=$PATH:/usr/sbin:/sbin
export PATH
NSP=mh104.$$.
DOM=mh104.test
U=sl104u
NET=10.104.0
HOSTS='sw dns client fe1 fe2 qh1 qh2'

mh_check() {
  [ "$(id -u)" -eq 0 ] || skip "needs root"
  for p in ip unshare dnsmasq tcpserver tcprules python3 setpriv; do
    command -v $p > /dev/null 2>&1 || skip "$p is missing (apt-get install iproute2 util-linux dnsmasq-base ucspi-tcp-ipv6 python3)"
  done
  ip netns add "${NSP}probe" 2> /dev/null || skip "ip netns add does not work here"
  ip netns del "${NSP}probe"
}

ip_of() { case $1 in dns) echo $NET.2 ;; client) echo $NET.5 ;; fe1) echo $NET.11 ;; fe2) echo $NET.12 ;;
  qh1) echo $NET.21 ;; qh2) echo $NET.22 ;; esac; }
role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
DUID=$(id -u "$(role daemon)") DGID=$(id -g "$(role daemon)")
MD=

mh_cleanup() {
  for h in $HOSTS; do
    pids=$(ip netns pids "$NSP$h" 2> /dev/null)
    [ -n "$pids" ] && kill -KILL $pids 2> /dev/null
  done
  for h in $HOSTS; do ip netns del "$NSP$h" 2> /dev/null; done
  userdel -r "$U" > /dev/null 2>&1
  for h in fe1 fe2 qh1 qh2; do rm -rf "$H.$h"; done
}

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
client() { ip netns exec "${NSP}client" python3 "$TOP/tests/mhclient.py" $NET.2 $DOM "$U@$DOM" "$@"; }
subjects() { cat "$MD"/new/* "$MD"/cur/* 2> /dev/null | sed -n 's/^Subject: mh104 \([0-9]*\).*/\1/p'; }
distinct() { subjects | sort -u | wc -l | tr -d ' '; }
queued() { find "$H.qh1/queue/mess" "$H.qh2/queue/mess" -type f | wc -l | tr -d ' '; }

mh_setup() {
  # --- the network ---
  for h in $HOSTS; do ip netns add "$NSP$h" || { bad "ip netns add $h"; done_testing; }; ip -n "$NSP$h" link set lo up; done
  ip -n "${NSP}sw" link add br0 type bridge && ip -n "${NSP}sw" link set br0 up || bad "bridge"
  for h in dns client fe1 fe2 qh1 qh2; do
    # made in the switch, one end moved into the host as eth0
    ip -n "${NSP}sw" link add "p-$h" type veth peer name eth0 netns "$NSP$h" &&
      ip -n "${NSP}sw" link set "p-$h" master br0 && ip -n "${NSP}sw" link set "p-$h" up &&
      ip -n "$NSP$h" addr add "$(ip_of $h)/24" dev eth0 && ip -n "$NSP$h" link set eth0 up || bad "link of $h"
  done

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

  qh_start qh1
  qh_start qh2
  fe_start fe1
  fe1_pid=$fe_pid
  fe_start fe2
  for hp in dns:53 qh1:628 qh2:628 fe1:25 fe2:25; do
    wait_for 10 listening "${hp%:*}" "${hp#*:}" || bad "nothing listens on ${hp%:*} port ${hp#*:}"
  done
  wait_for 10 sh -c "grep -q status: '$T/qh1.send.log' && grep -q status: '$T/qh2.send.log'" || bad "sluice-start did not start"
}
