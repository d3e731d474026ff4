#!/bin/sh
# 90-e2e.sh: the whole suite end to end, through real supervisors and
# real clients, in a private instance ($SLUICE_TEST_HOME).
#
#  1. tools/config writes the first control files and ~alias/.qmail-*
#     once and never overwrites them; tools/services installs the
#     service directories of boot/ and compiles the tcprules files;
#  2. svscan runs $H/service; the run scripts listen on this run's ports
#     (SLUICE_SMTPD_PORT and friends, inherited from svscan);
#  3. swaks over 127.0.0.1 and ::1 to a local user: the message is in
#     ~/Maildir/new once, read by mblaze and by Python's mailbox module,
#     with Return-Path, Delivered-To and Received as documented;
#  4. the multilog logs follow the message by its id: the SMTP session
#     (qp), new msg, info msg, starting delivery, delivery, end msg;
#  5. relaying: a client with RELAYCLIENT (tcp.smtp) reaches a remote
#     domain routed by control/smtproutes to a local sink; a client of
#     a second tcpserver whose rules give no RELAYCLIENT is refused;
#  6. after sluice-newrcpt an unknown local recipient gets 550 at RCPT;
#  7. sendmail -t as an ordinary user to a local and a remote recipient;
#     a failed remote recipient bounces to that user in RFC 3464 form;
#     sendmail USER and sendmail root (bare names) are delivered on this
#     host, a message that came with a Return-Path arrives with one;
#     sendmail -bs with LF line ends is delivered;
#  8. QMTP and QMQP through their services;
#  9. every long-running process runs under its designated uid; only
#     svscan, supervise, sluice-start and sluice-lspawn as root;
# 10. svc -t of every service (and the logs) during a stream of
#     SLUICE_E2E_MESSAGES (default 2000) messages: none lost, none
#     delivered twice unless the client had to resend after an answer
#     it never got, or a delivery was cut mid-flight by a restart
#     (both counted and reported).
# A component that is not installed yet fails its checks (never skips).
. "$(dirname "$0")/../lib.sh"
need_root
for p in svscan supervise svc svok svstat multilog setuidgid softlimit tcpserver tcprules tcprulescheck tcpclient swaks mlist mhdr python3 setpriv useradd; do
  command -v "$p" > /dev/null 2>&1 || { echo "FAIL $p is missing (apt-get install daemontools ucspi-tcp-ipv6 swaks mblaze python3 util-linux passwd)"; echo "0 passed, 1 failed"; exit 1; }
done
inst_fresh

N=${SLUICE_E2E_MESSAGES:-2000}
case $N in ''|*[!0-9]*) N=2000 ;; esac
P=$((21000 + $$ % 5000 * 2))     # this run's ports: P .. P+4
P_SMTP=$P P_QMTP=$((P + 1)) P_QMQP=$((P + 2)) P_SINK=$((P + 3)) P_NORELAY=$((P + 4))
NAME=mx.e2e.example
role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon) U_LOG=$(role log) U_SEND=$(role send) U_REMOTE=$(role remote) U_TLS=$(role tls)
U_QUEUE=$(role queue) U_ALIAS=$(role alias) U_PASSWD=$(role passwd)
TU=sle2er$$   # receives
TS=sle2es$$   # sends with sendmail, gets the bounce
S=$H/service
L=$H/log

svscan_pid='' sink_pid='' norelay_pid='' tree='' restore_alias=''
# descendants PID: every process below PID, one pid a line
descendants() {
  for c in $(pgrep -P "$1" 2> /dev/null); do echo "$c"; descendants "$c"; done
}
cleanup() {
  trap - EXIT INT TERM HUP
  if [ -n "$svscan_pid" ]; then
    tree="$tree $(descendants "$svscan_pid")"
    kill -TERM "$svscan_pid" 2> /dev/null
    for d in "$S"/*/ "$S"/*/log/; do svok "$d" 2> /dev/null && svc -dx "$d"; done
    k=0
    while [ $k -lt 900 ]; do
      alive=0
      for d in "$S"/*/ "$S"/*/log/; do svok "$d" 2> /dev/null && alive=1; done
      [ $alive -eq 0 ] && break
      sleep 0.1; k=$((k + 1))
    done
    for p in $tree; do kill -KILL "$p" 2> /dev/null; done
  fi
  for p in $sink_pid $norelay_pid $(cat "$T/pids" 2> /dev/null); do kill -TERM "$p" 2> /dev/null; done
  [ -n "$restore_alias" ] && usermod -d "$restore_alias" "$U_ALIAS"
  for u in $TU $TS; do getent passwd "$u" > /dev/null 2>&1 && userdel -r "$u" > /dev/null 2>&1; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
: > "$T/pids"

# waitfor SECONDS CMD...: true as soon as CMD succeeds, tried every 0.2 s
waitfor() {
  _w=$(($1 * 5)); shift
  while [ $_w -gt 0 ]; do
    "$@" && return 0
    sleep 0.2; _w=$((_w - 1))
  done
  return 1
}
logof() { cat "$L/$1"/@*.[su] "$L/$1/current" 2> /dev/null; }
has() { grep -q -e "$2" "$1"; }
greeting() { timeout 5 tcpclient -RHl0 "$1" "$2" sh -c 'IFS= read -r l <&6; printf "%s\n" "$l"; printf "QUIT\r\n" >&7' 2> /dev/null | tr -d '\r'; }
answers220() { case $(greeting "$1" "$2") in 220*) return 0 ;; esac; return 1; }
# copies USER TEXT: how many files in USER's Maildir/new hold TEXT
copies() { find "$(getent passwd "$1" | cut -d: -f6)/Maildir/new" -type f -exec grep -l -F -e "$2" {} + 2> /dev/null | wc -l | tr -d ' '; }
has_copy() { [ "$(copies "$1" "$2")" -ge 1 ]; }
mailfile() { find "$(getent passwd "$1" | cut -d: -f6)/Maildir/new" -type f -exec grep -l -F -e "$2" {} + 2> /dev/null | head -n 1; }
sink_has() { grep -l -F -e "$1" "$T/sink"/*.data > /dev/null 2>&1; }
swaks_to() { # swaks_to SERVER TO TOKEN [more swaks options]: output in $T/swaks.out
  _srv=$1 _to=$2 _tok=$3; shift 3
  swaks --server "$_srv" --port "${SWAKS_PORT:-$P_SMTP}" --helo client.e2e.example --from "sender@remote.example" \
    --to "$_to" --header "Subject: $_tok" --body "body of $_tok" "$@" > "$T/swaks.out" 2>&1
}
# received FILE: the Received fields of FILE's header, one a line (unfolded)
received() { sed '/^$/q' "$1" | tr -d '\r' | awk '/^[ \t]/ { sub(/^[ \t]+/, " "); cur = cur $0; next } { if (cur ~ /^Received:/) print cur; cur = $0 } END { if (cur ~ /^Received:/) print cur }'; }
# sink_env TOKEN: the envelope the sink saved with the message holding TOKEN
sink_env() { f=$(grep -l -F -e "$1" "$T/sink"/*.data 2> /dev/null | head -n 1); [ -n "$f" ] && sed 's/^FROM://' "${f%.data}.env" | tr '\n' ' '; }
qp_of_swaks() { sed -n 's/^<-  250 .* qp \([0-9][0-9]*\).*/\1/p' "$T/swaks.out" | tail -n 1; }

# ---------------------------------------------------------------------
# 1. tools/config and tools/services
sh tools/config "$H" "$NAME" > "$T/config.out" 2>&1
check_eq "config exit" "$?" 0
check_eq "control/me" "$(cat "$H/control/me")" "$NAME"
check_eq "control/locals" "$(tr '\n' ' ' < "$H/control/locals")" "$NAME localhost "
check_eq "control/rcpthosts" "$(tr '\n' ' ' < "$H/control/rcpthosts")" "$NAME localhost "
check_eq "control/defaulthost" "$(cat "$H/control/defaulthost")" "$NAME"
check_eq "control/defaultdomain" "$(cat "$H/control/defaultdomain")" e2e.example
check_eq "control/plusdomain" "$(cat "$H/control/plusdomain")" e2e.example
check "config prints what it wrote" has "$T/config.out" "wrote $H/control/me: $NAME"
if command -v openssl > /dev/null 2>&1; then
  check_eq "config: control/tls/cert.pem, root, tls group, 0640" "$(stat -c '%U %G %a' "$H/control/tls/cert.pem" 2> /dev/null)" "root $U_TLS 640"
  check "config: a self-signed certificate for NAME" sh -c "openssl x509 -in '$H/control/tls/cert.pem' -noout -subject | grep -q 'CN = $NAME'"
fi
for a in postmaster root mailer-daemon; do
  check_eq ".qmail-$a" "$(cat "$H/alias/.qmail-$a" 2> /dev/null)" ./Maildir/
  check_eq ".qmail-$a owner" "$(stat -c %U "$H/alias/.qmail-$a" 2> /dev/null)" "$U_ALIAS"
done
check_eq "alias Maildir owner" "$(stat -c %U "$H/alias/Maildir/new" 2> /dev/null)" "$U_ALIAS"
sh tools/config "$H" other.example > "$T/config2.out" 2>&1
check_eq "config again: exit" "$?" 0
check_eq "config never overwrites me" "$(cat "$H/control/me")" "$NAME"
check_fail "config again writes nothing" has "$T/config2.out" 'wrote'

sh tools/services "$H" > "$T/services.out" 2>&1
check_eq "services exit" "$?" 0
for s in sluice-send sluice-smtpd sluice-smtpd6 sluice-smtps sluice-submission sluice-submissions sluice-qmtpd sluice-qmqpd sluice-rcptfresh sluice-tlsgate; do
  check "service $s: run" test -x "$S/$s/run"
  check "service $s: log/run" test -x "$S/$s/log/run"
  check_fail "service $s: names filled in" grep -q '@[A-Z]*@' "$S/$s/run" "$S/$s/log/run"
  check "service $s: home in run" grep -q "home=$H\$" "$S/$s/run"
  check_eq "log dir of $s owned by $U_LOG" "$(stat -c %U "$L/$s" 2> /dev/null)" "$U_LOG"
done
check "log/run runs multilog as the log user" grep -q "^exec setuidgid $U_LOG multilog t .* $L/sluice-send\$" "$S/sluice-send/log/run"
check "control/tcp.smtp copied" test -f "$H/control/tcp.smtp"
check "control/tcp.smtp.cdb built" test -f "$H/control/tcp.smtp.cdb"
rules() { TCPREMOTEIP=$2 tcprulescheck "$H/control/$1.cdb" 2>&1; }
check "127.0.0.1 may relay" sh -c "TCPREMOTEIP=127.0.0.1 tcprulescheck '$H/control/tcp.smtp.cdb' | grep -q '^set environment variable RELAYCLIENT='"
check "::1 may relay" sh -c "TCPREMOTEIP=::1 tcprulescheck '$H/control/tcp.smtp.cdb' | grep -q '^set environment variable RELAYCLIENT='"
rules tcp.smtp 192.0.2.7 > "$T/r"
check "others may connect" has "$T/r" '^allow connection'
check_fail "others may not relay" has "$T/r" RELAYCLIENT
rules tcp.qmqp 192.0.2.7 > "$T/r"
check "QMQP refuses unlisted clients" has "$T/r" '^deny connection'
rules tcp.qmqp 127.0.0.1 > "$T/r"
check "QMQP allows 127.0.0.1" has "$T/r" '^allow connection'
echo '# edited' >> "$H/control/tcp.smtp"
sh tools/services "$H" > "$T/services2.out" 2>&1
check_eq "services again: exit" "$?" 0
check "services again keeps an edited tcp.smtp" grep -q '^# edited$' "$H/control/tcp.smtp"
check "services again: up to date" has "$T/services2.out" "$S/sluice-smtpd is up to date"

# ---------------------------------------------------------------------
# 2. the sink, the users, svscan
echo "remote.example:127.0.0.1:$P_SINK" > "$H/control/smtproutes"
echo 10 > "$H/control/timeoutconnect"
mkdir "$T/sink"
python3 tests/smtpsink.py --host 127.0.0.1 --port "$P_SINK" --dir "$T/sink" --ready "$T/sink.ready" \
  --pipelining --8bitmime --rcpt 'perm*=550' 2> "$T/sink.err" &
sink_pid=$!
waitfor 20 test -f "$T/sink.ready"
check "sink listening" test -f "$T/sink.ready"

for u in $TU $TS; do
  useradd -m -s /bin/sh "$u" || bad "useradd $u"
  setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$H/bin/sluice-maildirmake" "/home/$u/Maildir" \
    || mkdir -p "/home/$u/Maildir/tmp" "/home/$u/Maildir/new" "/home/$u/Maildir/cur"
  chown -R "$u:$(id -g "$u")" "/home/$u/Maildir"
done

cd "$S" || exit 1
env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
  SLUICE_SMTPD_PORT=$P_SMTP SLUICE_QMTPD_PORT=$P_QMTP SLUICE_QMQPD_PORT=$P_QMQP \
  setsid svscan "$S" < /dev/null > "$T/svscan.out" 2>&1 &
svscan_pid=$!
cd "$TOP" || exit 1
waitfor 30 answers220 127.0.0.1 "$P_SMTP"
check "SMTP answers on 127.0.0.1 port $P_SMTP" answers220 127.0.0.1 "$P_SMTP"
waitfor 10 answers220 ::1 "$P_SMTP"
check "SMTP answers on ::1 port $P_SMTP" answers220 ::1 "$P_SMTP"
check "greeting names me" sh -c "timeout 5 tcpclient -RHl0 127.0.0.1 $P_SMTP sh -c 'IFS= read -r l <&6; echo \"\$l\"' | grep -q '^220 $NAME'"
up() { svstat "$1" 2> /dev/null | grep -q ': up (pid [0-9]*) '; }
for s in sluice-send sluice-smtpd sluice-smtpd6 sluice-qmtpd sluice-qmqpd sluice-rcptfresh sluice-tlsgate; do
  waitfor 10 up "$S/$s/log"
  check "svstat: $s up" up "$S/$s"
  check "svstat: $s/log up" up "$S/$s/log"
done
waitfor 10 sh -c "logof() { cat '$L/sluice-send/current' 2>/dev/null; }; logof | grep -q 'status: starting'"
check "sluice-send logs through multilog" sh -c "grep -q 'status: starting' '$L/sluice-send/current'"

# ---------------------------------------------------------------------
# 3. swaks over IPv4 and IPv6 to a local user
TOK4=e2e-v4-$$
swaks_to 127.0.0.1 "$TU@$NAME" "$TOK4"
check_eq "swaks over 127.0.0.1" "$?" 0
QP4=$(qp_of_swaks)
TOK6=e2e-v6-$$
swaks_to ::1 "$TU@$NAME" "$TOK6" -6
check_eq "swaks over ::1" "$?" 0
# tools/config made a certificate: the service offers STARTTLS through
# the sluice-tlsgate service (sluice-tlsgate(8)), with no sluice-tlsd
# around the connections
if [ -f "$H/control/tls/cert.pem" ] && [ -x "$H/bin/sluice-tlsrelay" ]; then
  waitfor 10 test -S "$H/tls/gate"
  swaks --server 127.0.0.1 --port "$P_SMTP" --helo client.e2e.example --tls --quit-after TLS > "$T/swaks-tls.out" 2>&1
  check "the smtpd service: STARTTLS works" grep -q '^=== TLS started with cipher TLSv1.3' "$T/swaks-tls.out"
  check "the smtpd service: tcpserver runs sluice-smtpd itself, as the daemon user" sh -c \
    "for p in \$(pgrep -x tcpserver); do tr '\\0' ' ' < /proc/\$p/cmdline; echo; done | grep -q ' -u $(id -u "$U_DAEMON") -g $(id -g "$U_DAEMON") .* $P_SMTP $H/bin/sluice-smtpd \$'"
  check_fail "the smtpd service: no sluice-tlsd" sh -c \
    "for p in \$(pgrep -x tcpserver); do tr '\\0' ' ' < /proc/\$p/cmdline; echo; done | grep -q '$H/bin/sluice-tlsd '"
  check "the sluice-tlsgate service listens on conf-home/tls/gate" grep -q "listening on $H/tls/gate" "$H/log/sluice-tlsgate/current"
  check_fail "the smtpd service: no warning about sluice-tlsrelay logged" grep -q 'sluice-tlsrelay' "$H/log/sluice-smtpd/current"
fi
waitfor 30 has_copy "$TU" "$TOK4"
waitfor 10 has_copy "$TU" "$TOK6"
sleep 1
check_eq "IPv4 message in Maildir/new once" "$(copies "$TU" "$TOK4")" 1
check_eq "IPv6 message in Maildir/new once" "$(copies "$TU" "$TOK6")" 1
F4=$(mailfile "$TU" "$TOK4")
F6=$(mailfile "$TU" "$TOK6")
if [ -n "$F4" ] && [ -n "$F6" ]; then
  check_eq "mlist lists both" "$(mlist "/home/$TU/Maildir" 2> /dev/null | grep -c -F -e "$(basename "$F4")" -e "$(basename "$F6")")" 2
  check_eq "mhdr Return-Path" "$(mhdr -h Return-Path "$F4")" "<sender@remote.example>"
  check_eq "mhdr Delivered-To" "$(mhdr -h Delivered-To "$F4")" "$TU@$NAME"
  check_eq "mhdr Subject" "$(mhdr -h Subject "$F4")" "$TOK4"
  check_eq "first line is Return-Path" "$(head -n 1 "$F4")" "Return-Path: <sender@remote.example>"
  check_eq "second line is Delivered-To" "$(sed -n 2p "$F4")" "Delivered-To: $TU@$NAME"
  received "$F4" > "$T/rcvd4"
  received "$F6" > "$T/rcvd6"
  check "Received names the IPv4 client" grep -q '^Received: from .*\[127\.0\.0\.1\]' "$T/rcvd4"
  check "Received names the IPv6 client" grep -q '^Received: from .*::1' "$T/rcvd6"
  check "Received: by me with ESMTP" grep -q "^Received: from .* by $NAME with ESMTP; " "$T/rcvd4"
  check "HELO in Received" grep -q '^Received: from .*client\.e2e\.example' "$T/rcvd4"
  check "Received for the injection" grep -q '^Received: (sluice [0-9]* invoked from network); ' "$T/rcvd4"
  check "body intact" grep -q "^body of $TOK4" "$F4"
  python3 - "/home/$TU/Maildir" "$TOK4" "$TU@$NAME" > "$T/py.out" 2>&1 <<'EOF'
import mailbox, sys
md = mailbox.Maildir(sys.argv[1], factory=None, create=False)
hits = [m for m in md if m["Subject"] == sys.argv[2]]
assert len(hits) == 1, "copies: %d" % len(hits)
m = hits[0]
assert m["Return-Path"] == "<sender@remote.example>", m["Return-Path"]
assert m["Delivered-To"] == sys.argv[3], m["Delivered-To"]
assert m.get_subdir() == "new", m.get_subdir()
print("ok")
EOF
  check "Python's mailbox module reads it" has "$T/py.out" '^ok$'
else
  bad "messages delivered" "no copy of $TOK4 or $TOK6 in /home/$TU/Maildir/new"
fi

# ---------------------------------------------------------------------
# 4. the logs follow the message
logof sluice-smtpd > "$T/smtpd.log"
check "smtpd log: the session with qp" grep -q "sluice-smtpd: pid [0-9]* from 127.0.0.1 helo client.e2e.example mail <sender@remote.example> rcpt <$TU@$NAME> bytes [0-9]* result 250 qp $QP4\$" "$T/smtpd.log"
check "smtpd log: tcpserver -v lines" grep -q 'tcpserver: ok [0-9]' "$T/smtpd.log"
check "smtpd6 log: the IPv6 session" sh -c "cat '$L/sluice-smtpd6/current' | grep -q 'sluice-smtpd: pid [0-9]* from ::1 '"
waitfor 20 sh -c "cat '$L/sluice-send/current' | grep -q 'qp $QP4 '"
logof sluice-send > "$T/send.log"
ID4=$(sed -n "s/.* info msg \\([0-9][0-9.]*\\): bytes [0-9]* from <sender@remote.example> qp $QP4 uid [0-9]*\$/\\1/p" "$T/send.log" | head -n 1)
if [ -n "$QP4" ] && [ -n "$ID4" ]; then
  ok "send log: info msg with the smtpd's qp"
  waitfor 20 sh -c "grep -q ' end msg $ID4\$' '$L/sluice-send/current'"
  logof sluice-send > "$T/send.log"
  # ids are inode numbers and come back, so follow this message's own
  # lines: new msg, its info (with the qp), a delivery, its result, end
  awk -v id="$ID4" -v qp="$QP4" '
    st == 0 && $0 ~ (" new msg " id "$") { st = 1; next }
    st == 1 && $0 ~ (" info msg " id ": .* qp " qp " ") { st = 2; next }
    st == 1 && $0 ~ (" info msg " id ": ") { st = 0; next }
    st == 2 && $0 ~ (" starting delivery [0-9]+: msg " id " to local ") {
      d = $0; sub(/.* starting delivery /, "", d); sub(/:.*/, "", d); st = 3; next }
    st == 3 && index($0, " delivery " d ": success: ") { st = 4; next }
    st == 4 && $0 ~ (" end msg " id "$") { st = 5; exit }
    END { print st }' "$T/send.log" > "$T/trace"
  check_eq "send log: new msg, info msg, starting delivery, delivery success, end msg for $ID4" "$(cat "$T/trace")" 5
else
  bad "message id found through the qp" "qp [$QP4] id [$ID4]"
fi

# ---------------------------------------------------------------------
# 5. relaying
TOKR=e2e-relay-$$
swaks_to 127.0.0.1 "far1@remote.example" "$TOKR"
check_eq "relay from 127.0.0.1 (RELAYCLIENT) accepted" "$?" 0
waitfor 60 sink_has "$TOKR"
check "relayed message reached the sink through smtproutes" sink_has "$TOKR"
check_eq "sink envelope" "$(sink_env "$TOKR")" "<sender@remote.example> <far1@remote.example> "

printf '127.0.0.1:allow\n::1:allow\n:allow\n' > "$T/norelay"
tcprules "$T/norelay.cdb" "$T/norelay.tmp" < "$T/norelay"
(cd "$H" && exec tcpserver -v -R -H -l "$NAME" -x "$T/norelay.cdb" -u "$(id -u "$U_DAEMON")" -g "$(id -g "$U_DAEMON")" \
  127.0.0.1 "$P_NORELAY" "$H/bin/sluice-smtpd" > "$T/norelay.log" 2>&1) &
norelay_pid=$!
waitfor 10 answers220 127.0.0.1 "$P_NORELAY"
TOKN=e2e-norelay-$$
SWAKS_PORT=$P_NORELAY swaks_to 127.0.0.1 "far2@remote.example" "$TOKN"
rc=$?
check "relay without RELAYCLIENT: swaks fails" test "$rc" -ne 0
check "relay without RELAYCLIENT: 5xx at RCPT" grep -q '^<\*\* *5[0-9][0-9]' "$T/swaks.out"
check_fail "relay without RELAYCLIENT: no DATA" grep -q '^ -> DATA' "$T/swaks.out"
TOKL=e2e-norelay-local-$$
SWAKS_PORT=$P_NORELAY swaks_to 127.0.0.1 "$TU@$NAME" "$TOKL"
check_eq "same server, local recipient: accepted" "$?" 0
waitfor 30 has_copy "$TU" "$TOKL"
check_eq "local recipient delivered" "$(copies "$TU" "$TOKL")" 1
check_fail "the refused relay reached nobody" sink_has "$TOKN"
kill "$norelay_pid" 2> /dev/null; norelay_pid=''

# ---------------------------------------------------------------------
# 6. recipient validation
if [ -x "$H/bin/sluice-newrcpt" ]; then
  "$H/bin/sluice-newrcpt" > "$T/newrcpt.out" 2>&1
  check_eq "sluice-newrcpt exit" "$?" 0
  check "control/rcptcheck.cdb built" test -f "$H/control/rcptcheck.cdb"
  TOKU=e2e-unknown-$$
  swaks_to 127.0.0.1 "nosuchuser$$@$NAME" "$TOKU"
  check "unknown local recipient: swaks fails" test $? -ne 0
  check "unknown local recipient: 550 at RCPT" grep -q '^<\*\* *550' "$T/swaks.out"
  check_fail "unknown local recipient: no DATA" grep -q '^ -> DATA' "$T/swaks.out"
  check "smtpd log: reject 550" sh -c "cat '$L/sluice-smtpd/current' | grep -q 'reject <nosuchuser$$@$NAME> 550'"
  TOKK=e2e-known-$$
  swaks_to 127.0.0.1 "$TU@$NAME" "$TOKK"
  check_eq "known local recipient still accepted" "$?" 0
  # the alias user's home is always $H/alias (sluice-getpw(8))
  swaks_to 127.0.0.1 "postmaster@$NAME" "e2e-postmaster-$$"
  check_eq "postmaster (an alias .qmail file) accepted" "$?" 0
  waitfor 30 sh -c "grep -l -r -F 'e2e-postmaster-$$' '$H/alias/Maildir/new' > /dev/null 2>&1"
  check "postmaster mail in ~alias/Maildir/new" sh -c "grep -l -r -F 'e2e-postmaster-$$' '$H/alias/Maildir/new' > /dev/null 2>&1"
else
  bad "sluice-newrcpt installed" "$H/bin/sluice-newrcpt is missing: recipient validation not tested"
fi

# ---------------------------------------------------------------------
# 7. sendmail -t as an ordinary user; a bounce in RFC 3464 form
as_user() { u=$1; shift; env -i PATH=/usr/bin:/bin HOME="/home/$u" USER="$u" LOGNAME="$u" \
  setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@"; }
TOKS=e2e-sendmail-$$
printf 'To: %s@%s, far3@remote.example\nSubject: %s\n\nsent with sendmail -t\n' "$TU" "$NAME" "$TOKS" \
  | as_user "$TS" "$H/bin/sendmail" -t > "$T/sendmail.out" 2>&1
check_eq "sendmail -t as $TS" "$?" 0
waitfor 30 has_copy "$TU" "$TOKS"
check_eq "sendmail: local copy once" "$(copies "$TU" "$TOKS")" 1
F=$(mailfile "$TU" "$TOKS")
check_eq "sendmail: Return-Path is the user" "$(mhdr -h Return-Path "$F" 2> /dev/null)" "<$TS@$NAME>"
check "sendmail: From added" sh -c "mhdr -h From '$F' | grep -q '$TS@$NAME'"
check "sendmail: Message-ID added" sh -c "mhdr -h Message-Id '$F' | grep -q '@'"
waitfor 60 sink_has "$TOKS"
check "sendmail: remote copy at the sink" sink_has "$TOKS"
check_eq "sendmail: remote envelope" "$(sink_env "$TOKS")" "<$TS@$NAME> <far3@remote.example> "

TOKB=e2e-bounce-$$
printf 'To: perm-x@remote.example\nSubject: %s\n\nthis one bounces\n' "$TOKB" \
  | as_user "$TS" "$H/bin/sendmail" -t > "$T/sendmail.out" 2>&1
check_eq "sendmail to a failing remote recipient" "$?" 0
waitfor 90 has_copy "$TS" "$TOKB"
FB=$(mailfile "$TS" "$TOKB")
if [ -n "$FB" ]; then
  ok "bounce delivered to the local sender"
  python3 tests/dsncheck.py < "$FB" > "$T/dsn.out" 2> "$T/dsn.err"
  check_eq "bounce is an RFC 3464 DSN" "$?" 0
  check "DSN: perm-x failed with 5.x.x" grep -q '^perm-x@remote.example 5\.[0-9]*\.[0-9]* failed$' "$T/dsn.out"
  check_eq "bounce Return-Path is null" "$(mhdr -h Return-Path "$FB")" "<>"
  check_eq "bounce once" "$(copies "$TS" "$TOKB")" 1
else
  bad "bounce delivered to the local sender" "no bounce of $TOKB in /home/$TS/Maildir/new"
fi

# bare names stay on this host: sendmail USER, sendmail root (cron's way)
TOKU2=e2e-bare-$$
printf 'Return-Path: <old@remote.example>\nSubject: %s\n\nto a bare name\n' "$TOKU2" \
  | as_user "$TS" "$H/bin/sendmail" "$TU" > "$T/sendmail.out" 2>&1
check_eq "sendmail USER (a bare name)" "$?" 0
waitfor 30 has_copy "$TU" "$TOKU2"
check_eq "sendmail USER: delivered here once" "$(copies "$TU" "$TOKU2")" 1
F=$(mailfile "$TU" "$TOKU2")
check_eq "sendmail USER: one Return-Path" "$(sed '/^$/q' "$F" 2> /dev/null | grep -c '^Return-Path:')" 1
check_eq "sendmail USER: the old Return-Path is the envelope sender (qmail-inject)" \
  "$(mhdr -h Return-Path "$F" 2> /dev/null)" "<old@remote.example>"
check_eq "sendmail USER: Delivered-To this host" "$(mhdr -h Delivered-To "$F" 2> /dev/null)" "$TU@$NAME"
TOKR=e2e-root-$$
printf 'Subject: %s\n\nto root\n' "$TOKR" | as_user "$TS" "$H/bin/sendmail" -FCronDaemon -i -B8BITMIME -oem root > "$T/sendmail.out" 2>&1
check_eq "sendmail root" "$?" 0
waitfor 30 sh -c "grep -l -r -F '$TOKR' '$H/alias/Maildir/new' > /dev/null 2>&1"
check "sendmail root: in ~alias/Maildir/new" sh -c "grep -l -r -F '$TOKR' '$H/alias/Maildir/new' > /dev/null 2>&1"
check_fail "sendmail root: nothing at the sink" sink_has "$TOKR"
# sendmail -bs from a program that writes LF line ends
TOKL=e2e-bslf-$$
printf 'HELO me\nMAIL FROM:<%s@%s>\nRCPT TO:<%s@%s>\nDATA\nSubject: %s\n\nlf lines\n.\nQUIT\n' "$TS" "$NAME" "$TU" "$NAME" "$TOKL" \
  | as_user "$TS" timeout 30 "$H/bin/sendmail" -bs > "$T/bs.out" 2> "$T/bs.err"
check_eq "sendmail -bs, LF lines" "$?" 0
check_eq "sendmail -bs: nothing on stderr" "$(cat "$T/bs.err")" ""
waitfor 30 has_copy "$TU" "$TOKL"
check_eq "sendmail -bs: delivered once" "$(copies "$TU" "$TOKL")" 1

# ---------------------------------------------------------------------
# 8. QMTP and QMQP through their services
cat > "$T/qmp.py" <<'EOF'
import socket, sys
def ns(b): return str(len(b)).encode() + b":" + b + b","
def readns(s):
    buf = b""
    while b":" not in buf:
        c = s.recv(1)
        if not c: raise SystemExit("eof")
        buf += c
    n = int(buf[:-1]); data = b""
    while len(data) < n + 1:
        c = s.recv(n + 1 - len(data))
        if not c: raise SystemExit("eof")
        data += c
    return data[:-1]
proto, port, sender, rcpt, token = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
msg = ("Subject: %s\n\nsent over %s\n" % (token, proto)).encode()
s = socket.create_connection(("127.0.0.1", port), timeout=20)
if proto == "qmtp":
    s.sendall(ns(b"\n" + msg) + ns(sender.encode()) + ns(ns(rcpt.encode())))
else:
    s.sendall(ns(ns(msg) + ns(sender.encode()) + ns(rcpt.encode())))
print(readns(s).decode("ascii", "replace"))
EOF
for proto in qmtp qmqp; do
  if [ "$proto" = qmtp ]; then port=$P_QMTP; else port=$P_QMQP; fi
  if [ -x "$H/bin/sluice-${proto}d" ]; then
    waitfor 70 sh -c "timeout 2 tcpclient -RHl0 127.0.0.1 $port true 2> /dev/null"
    TOKQ=e2e-$proto-$$
    timeout 30 python3 "$T/qmp.py" "$proto" "$port" "sender@remote.example" "$TU@$NAME" "$TOKQ" > "$T/qmp.out" 2>&1
    check "$proto: accepted (K)" grep -q '^K' "$T/qmp.out"
    waitfor 30 has_copy "$TU" "$TOKQ"
    check_eq "$proto: delivered once" "$(copies "$TU" "$TOKQ")" 1
  else
    bad "sluice-${proto}d installed" "$H/bin/sluice-${proto}d is missing"
    check "sluice-${proto}d service says why it waits" sh -c "cat '$L/sluice-${proto}d/current' | grep -q 'is not installed yet; trying again in 60 seconds'"
  fi
done

# ---------------------------------------------------------------------
# 9. who runs as whom
uids() { sed -n 's/^Uid:[[:space:]]*//p' "/proc/$1/status" 2> /dev/null | tr -s ' \t' ' ' | sed 's/ $//'; }
uid4() { u=$(id -u "$1"); echo "$u $u $u $u"; }
# a session held open, so that one sluice-smtpd is there to look at
python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.recv(1000); time.sleep(6)' "$P_SMTP" &
echo $! >> "$T/pids"
has_smtpd() { descendants "$svscan_pid" | while read -r p; do [ "$(cat "/proc/$p/comm" 2> /dev/null)" = sluice-smtpd ] && echo "$p"; done | grep -q .; }
waitfor 5 has_smtpd
descendants "$svscan_pid" > "$T/tree"
tree="$tree $(cat "$T/tree")"
seen=''
rootbad=''
while read -r p; do
  c=$(cat "/proc/$p/comm" 2> /dev/null) || continue
  u=$(uids "$p")
  [ -n "$u" ] || continue
  want=''
  case $c in
    svscan|supervise|sluice-start|sluice-lspawn) want="0 0 0 0" ;;
    # the sluice-rcptfresh service's pass: root by design, a few ms a minute
    sluice-newrcpt) want="0 0 0 0" ;;
    sluice-send) want=$(uid4 "$U_SEND") ;;
    sluice-rspawn|sluice-remote) want=$(uid4 "$U_REMOTE") ;;
    sluice-clean) want=$(uid4 "$U_QUEUE") ;;
    sluice-getpw) want=$(uid4 "$U_PASSWD") ;;
    multilog) want=$(uid4 "$U_LOG") ;;
    # with control/tls/cert.pem (tools/config makes one) and without the
    # sluice-tlsgate service the SMTP tcpservers stay root: sluice-tlsd
    # reads the key, then drops
    tcpserver)
      if tr '\0' ' ' < "/proc/$p/cmdline" | grep -qF "$H/bin/sluice-tlsd "; then want="0 0 0 0"; else want=$(uid4 "$U_DAEMON"); fi ;;
    sluice-tlsd|sluice-tlsrelay|sluice-tlsgate) want=$(uid4 "$U_TLS") ;;
    sluice-smtpd|sluice-qmtpd|sluice-qmqpd) want=$(uid4 "$U_DAEMON") ;;
    sleep) continue ;;   # a run script waiting for a program not installed (failed above)
    sluice-queue|sluice-local) continue ;;   # short-lived, checked by their own tests
    *) case $u in 0\ *|*\ 0\ *) rootbad="$rootbad $c($p)" ;; esac; continue ;;
  esac
  seen="$seen $c"
  check_eq "uid of $c ($p)" "$u" "$want"
done < "$T/tree"
check_eq "no other process as root" "$rootbad" ""
for c in sluice-start sluice-send sluice-lspawn sluice-rspawn sluice-clean tcpserver multilog sluice-smtpd; do
  case " $seen " in *" $c "*) ok "$c runs" ;; *) bad "$c runs" "not found under svscan" ;; esac
done
for p in $(cat "$T/tree"); do cat "/proc/$p/comm" 2> /dev/null; done > "$T/tree.comm"
check_eq "ten multilogs (one per service)" "$(grep -c '^multilog$' "$T/tree.comm")" 10
# smtpd on 127.0.0.1 and ::1, and the qmtpd and qmqpd that are installed
want=2
for q in qmtpd qmqpd; do [ -x "$H/bin/sluice-$q" ] && want=$((want + 1)); done
check_eq "$want tcpservers" "$(grep -c '^tcpserver$' "$T/tree.comm")" "$want"
START=$(for p in $(cat "$T/tree"); do [ "$(cat "/proc/$p/comm" 2> /dev/null)" = sluice-start ] && echo "$p"; done | head -n 1)

# ---------------------------------------------------------------------
# 10. svc -t of every service during a stream of messages
cat > "$T/stream.py" <<'EOF'
# stream.py N PORT RCPT TAG OUT: sends N numbered messages over SMTP,
# 20 per connection, alternating 127.0.0.1 and ::1, resending whatever
# got no 250; writes "sent", "resent I" and "uncertain I" lines to OUT.
import smtplib, socket, sys, time
n, port, rcpt, tag, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
log = open(out, "w", buffering=1)
deadline = time.time() + 600 + n * 0.5
i, conn, hosts, k = 1, None, ["127.0.0.1", "::1"], 0
while i <= n:
    if time.time() > deadline:
        log.write("gave up at %d\n" % i); sys.exit(1)
    try:
        if conn is None:
            k += 1
            conn = smtplib.SMTP(hosts[k % 2], port, local_hostname="stream.e2e.example", timeout=60)
            conn.ehlo()
        sent_data = False
        c, _ = conn.mail("stream@remote.example")
        if c != 250: raise smtplib.SMTPException("MAIL %d" % c)
        c, _ = conn.rcpt(rcpt)
        if c != 250: raise smtplib.SMTPException("RCPT %d" % c)
        sent_data = True
        body = "Subject: stream %s %d\r\nX-Stream: %d\r\n\r\nmessage %d\r\n" % (tag, i, i, i)
        c, _ = conn.data(body.encode())
        if c != 250: raise smtplib.SMTPException("DATA %d" % c)
        i += 1
        if i % 20 == 0:
            try: conn.quit()
            except Exception: pass
            conn = None
    except (smtplib.SMTPException, OSError) as e:
        log.write("%s %d %s\n" % ("uncertain" if sent_data else "resent", i, str(e).replace("\n", " ")))
        try: conn.close()
        except Exception: pass
        conn = None
        sent_data = False
        time.sleep(0.2)
try: conn.quit()
except Exception: pass
log.write("sent %d\n" % n)
EOF
if ! answers220 127.0.0.1 "$P_SMTP"; then
  bad "stream: SMTP answers" "sluice-smtpd does not answer on 127.0.0.1 port $P_SMTP: no stream"
  done_testing
fi
TAG=s$$
start_t=$(date +%s)
python3 "$T/stream.py" "$N" "$P_SMTP" "$TU@$NAME" "$TAG" "$T/stream.out" > "$T/stream.err" 2>&1 &
stream_pid=$!
echo "$stream_pid" >> "$T/pids"
restarts=0
while kill -0 "$stream_pid" 2> /dev/null; do
  for s in sluice-send sluice-smtpd sluice-smtpd6 sluice-send/log sluice-smtpd/log sluice-smtpd6/log; do
    kill -0 "$stream_pid" 2> /dev/null || break
    svc -t "$S/$s" && restarts=$((restarts + 1))
    sleep 1
  done
done
wait "$stream_pid"
check_eq "stream client finished" "$?" 0
check "stream client sent all $N" grep -q "^sent $N\$" "$T/stream.out"
check "svc -t was sent during the stream" test "$restarts" -ge 3
# every message delivered (bounded wait), then a little longer for extra copies
stream_count() {
  find "/home/$TU/Maildir/new" -type f -exec grep -h "^X-Stream: " {} + 2> /dev/null | sort -u | wc -l | tr -d ' '
}
all_there() { [ "$(stream_count)" -ge "$N" ]; }
waitfor $((120 + N / 10)) all_there
svc -a "$S/sluice-send"
waitfor 30 all_there
sleep 3
end_t=$(date +%s)
find "/home/$TU/Maildir/new" -type f -exec grep -h "^X-Stream: " {} + 2> /dev/null | sed 's/^X-Stream: //' | tr -d '\r' | sort -n | uniq -c > "$T/counts"
delivered=$(wc -l < "$T/counts" | tr -d ' ')
lost=$((N - delivered))
awk '$1 > 1 { print $2 }' "$T/counts" > "$T/dups"
ndup=$(wc -l < "$T/dups" | tr -d ' ')
sed -n 's/^uncertain \([0-9]*\) .*/\1/p' "$T/stream.out" | sort -u > "$T/uncertain"
nresent=$(grep -c '^resent ' "$T/stream.out")
nuncertain=$(wc -l < "$T/uncertain" | tr -d ' ')
# a duplicate is explained when the client resent that message after a
# DATA whose answer it never got, or when the scheduler started the same
# message's delivery again after a restart cut the first one mid-flight
logof sluice-send > "$T/send.log"
cut=0 fromclient=0 unexplained=''
for i in $(cat "$T/dups"); do
  if grep -q "^$i\$" "$T/uncertain"; then fromclient=$((fromclient + 1)); continue; fi
  files=$(find "/home/$TU/Maildir/new" -type f -exec grep -l "^X-Stream: $i$(printf '\r')\$" {} +)
  qps=$(for f in $files; do sed -n 's/^Received: (sluice \([0-9]*\) invoked from network).*/\1/p' "$f" | head -n 1; done | sort -u)
  if [ "$(echo "$qps" | wc -l)" -eq 1 ] && [ -n "$qps" ]; then
    id=$(sed -n "s/.* info msg \\([0-9][0-9.]*\\): .* qp $qps uid [0-9]*\$/\\1/p" "$T/send.log" | tail -n 1)
    # the delivery started at least twice, with a sluice-send start between
    if [ -n "$id" ] && awk -v id="$id" -v qp="$qps" '
        $0 ~ (" info msg " id ": .* qp " qp " ") { on = 1; next }
        !on { next }
        / status: starting$/ { gen++ }
        $0 ~ (" starting delivery [0-9]+: msg " id " to ") { n++; if (n > 1 && gen > last) twice = 1; last = gen }
        $0 ~ (" end msg " id "$") { exit }
        END { exit !twice }' "$T/send.log"; then
      cut=$((cut + 1)); continue
    fi
  fi
  unexplained="$unexplained $i"
done
echo "stream: $N messages in $((end_t - start_t)) s, $restarts svc -t, $nresent resent before DATA, $nuncertain resent after an unanswered DATA;"
echo "stream: $delivered delivered, $lost lost, $ndup delivered twice ($fromclient after a client resend, $cut cut mid-flight by a restart)"
check_eq "stream: none lost" "$lost" 0
check_eq "stream: no unexplained duplicate" "$unexplained" ""
check "sluice-send restarted (new sluice-start)" sh -c "[ -n '$START' ] && ! kill -0 '$START' 2> /dev/null"
check "svc -t left every service up" sh -c "for s in sluice-send sluice-smtpd sluice-smtpd6; do svstat '$S/'\$s | grep -q ': up ' || exit 1; done"
check_eq "queue empty after the stream" "$("$H/bin/sluice-qstat" 2> /dev/null | sed -n 's/^messages in queue: //p')" 0

done_testing
