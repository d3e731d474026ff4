#!/bin/sh
# 40-start.sh: sluice-start in a private instance (sluice-start(8)), with
# fakespawn as sluice-lspawn and sluice-rspawn and a shell stand-in for
# sluice-send that talks to both spawners through its fds and then
# execs sleep.
#
#  1. every member runs under its uid (real, effective, saved, fs) with
#     its primary group as the only supplementary group; lspawn as root;
#  2. sluice-send holds exactly fds 0-8: 0 /dev/null, 1 and 2 the log,
#     3/4, 5/6, 7/8 the two ends of the pipes whose other ends are fds
#     0/1 of lspawn, rspawn and clean; each of those holds just 0, 1, 2;
#     sluice-start itself holds none of the six pipes;
#  3. the pipes work: a request on fd 5 comes back answered on fd 6, a
#     malformed one on fd 3 is logged by lspawn;
#  4. killing one member winds the set down: every member ends and
#     sluice-start exits 111, within a bounded time;
#  5. SIGTERM to sluice-start ends everything and it exits 0; SIGHUP
#     and SIGALRM are passed on to sluice-send and end nothing;
#  6. with a logger (run as the log user) the members' fd 2 and
#     sluice-send's fd 1 are its input; it gets end of file and ends
#     with the set.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_SEND=$(role send)
U_REMOTE=$(role remote)
U_QUEUE=$(role queue)
U_LOG=$(role log)

W=$T/w                 # writable by every member
mkdir "$W" "$W/fake" && chmod 1777 "$W" "$W/fake"
FAKESPAWN_DIR=$W/fake
STAND_W=$W
export FAKESPAWN_DIR STAND_W

[ -x "$BIN/tests/fakespawn" ] || { bad "fakespawn built" "$BIN/tests/fakespawn missing"; done_testing; }
[ -x "$H/bin/sluice-start" ] || { bad "sluice-start installed" "$H/bin/sluice-start missing"; done_testing; }
[ -x "$H/bin/sluice-clean" ] || { bad "sluice-clean installed" "$H/bin/sluice-clean missing"; done_testing; }
for p in sluice-lspawn sluice-rspawn; do
  cp "$BIN/tests/fakespawn" "$H/bin/$p" && chmod 755 "$H/bin/$p"
done
# The stand-in sluice-send: records its uid, says hello on fd 2, sends
# a malformed request to lspawn and a good one to rspawn, reads the
# answer, and waits in sleep holding fds 0-8.
cat > "$H/bin/sluice-send" <<'EOF'
#!/bin/sh
id -u > "$STAND_W/send.uid.tmp" && mv "$STAND_W/send.uid.tmp" "$STAND_W/send.uid"
echo "stand-in sluice-send $$ running" >&2
printf '3:abc,' >&3
printf '%s' '34:1:0,2:42,0:,0:,15:joe@example.org,,' >&5
head -c 35 <&6 > "$STAND_W/send.result"
exec sleep 1000
EOF
chmod 755 "$H/bin/sluice-send"

# Every process started here, for the cleanup.
started=""
cleanup() {
  for p in $started; do
    for c in $(pgrep -P "$p" 2> /dev/null); do kill -KILL "$c" 2> /dev/null; done
  done
  for p in $started; do kill -KILL "$p" 2> /dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# start [LOGGER...]: runs sluice-start under a 120 s timeout in the
# background; tpid is timeout's pid, spid sluice-start's.
start() {
  rm -f "$W/send.uid" "$W/send.result" "$W/fake/deliveries"
  timeout 120 "$H/bin/sluice-start" "$@" 2> "$T/err" < /dev/null > /dev/null &
  tpid=$!
  started="$started $tpid"
  spid=""
  k=0
  while [ -z "$spid" ] && [ $k -lt 100 ]; do
    spid=$(pgrep -P "$tpid" | head -n 1)
    [ -n "$spid" ] || sleep 0.1
    k=$((k + 1))
  done
  started="$started $spid"
}

comm_of() { cat "/proc/$1/comm" 2> /dev/null; }
# member COMM: the pid of sluice-start's child named COMM.
member() {
  [ -n "$spid" ] || return 1
  for c in $(pgrep -P "$spid"); do
    [ "$(comm_of "$c")" = "$1" ] && { echo "$c"; return 0; }
  done
  return 1
}
# wait_set NAMES...: until every name is a child of sluice-start and
# the stand-in has reached its sleep (at most 15 s).
wait_set() {
  k=0
  while [ $k -lt 150 ]; do
    all=1
    for name in "$@" sleep; do member "$name" > /dev/null || all=0; done
    [ $all -eq 1 ] && [ -s "$W/send.uid" ] && return 0
    sleep 0.1
    k=$((k + 1))
  done
  return 1
}
# gone PID: true once PID has ended (at most 75 s: the wind-down bound
# is 60 s).
gone() {
  k=0
  while [ $k -lt 750 ]; do
    kill -0 "$1" 2> /dev/null || return 0
    sleep 0.1
    k=$((k + 1))
  done
  return 1
}
status_ids() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s ' \t' '  ' | sed 's/ *$//'; }
fds_of() { ls "/proc/$1/fd" 2> /dev/null | sort -n | tr '\n' ' ' | sed 's/ $//'; }
link_of() { readlink "/proc/$1/fd/$2" 2> /dev/null; }
# ids_are PID USER: real, effective, saved and fs uid and gid are the
# user's, the supplementary groups just its primary group.
ids_are() {
  u=$(id -u "$2") g=$(id -g "$2")
  [ "$(status_ids "$1" Uid)" = "$u $u $u $u" ] && [ "$(status_ids "$1" Gid)" = "$g $g $g $g" ] &&
    [ "$(status_ids "$1" Groups)" = "$g" ]
}

# --- 1-3: a set without a logger ---
start
check "set started" wait_set sluice-lspawn sluice-rspawn sluice-clean
lsp=$(member sluice-lspawn) rsp=$(member sluice-rspawn) clp=$(member sluice-clean) snd=$(member sleep)
check_eq "lspawn runs as root" "$(status_ids "$lsp" Uid)" "0 0 0 0"
check "rspawn runs as $U_REMOTE" ids_are "$rsp" "$U_REMOTE"
check "clean runs as $U_QUEUE" ids_are "$clp" "$U_QUEUE"
check "send runs as $U_SEND" ids_are "$snd" "$U_SEND"
check_eq "send recorded its uid" "$(cat "$W/send.uid")" "$(id -u "$U_SEND")"
check_eq "sluice-start stays root" "$(status_ids "$spid" Uid)" "0 0 0 0"
check_eq "five processes: four members" "$(pgrep -P "$spid" | wc -l)" 4

check_eq "send holds fds 0-8" "$(fds_of "$snd")" "0 1 2 3 4 5 6 7 8"
check_eq "lspawn holds fds 0-2" "$(fds_of "$lsp")" "0 1 2"
# after its first delivery a spawner also holds its journal (sluice-spawn(5))
check_eq "rspawn holds fds 0-2 and its journal" "$(fds_of "$rsp")" "0 1 2 3"
check_eq "rspawn fd 3 is its journal" "$(link_of "$rsp" 3)" "$H/queue/lock/journal.remote"
check_eq "clean holds fds 0-2" "$(fds_of "$clp")" "0 1 2"
check_eq "send fd 0 is /dev/null" "$(link_of "$snd" 0)" /dev/null
check_eq "send fd 1 is sluice-start's fd 2" "$(link_of "$snd" 1)" "$(link_of "$spid" 2)"
check_eq "send fd 2 is sluice-start's fd 2" "$(link_of "$snd" 2)" "$(link_of "$spid" 2)"
for p in "$lsp" "$rsp" "$clp"; do
  check_eq "member $p fd 2 is sluice-start's fd 2" "$(link_of "$p" 2)" "$(link_of "$spid" 2)"
done
pair() { # NAME SENDFD PID FD
  a=$(link_of "$snd" "$2") b=$(link_of "$3" "$4")
  case $a in pipe:*) ok "$1 is a pipe" ;; *) bad "$1 is a pipe" "got [$a]" ;; esac
  check_eq "$1: same pipe" "$a" "$b"
}
pair "lspawn requests" 3 "$lsp" 0
pair "lspawn results" 4 "$lsp" 1
pair "rspawn requests" 5 "$rsp" 0
pair "rspawn results" 6 "$rsp" 1
pair "clean requests" 7 "$clp" 0
pair "clean answers" 8 "$clp" 1
six=""
for fd in 3 4 5 6 7 8; do six="$six $(link_of "$snd" $fd)"; done
check_eq "six distinct pipes" "$(echo $six | tr ' ' '\n' | sort -u | wc -l)" 6
leak=""
for fd in $(fds_of "$spid"); do
  l=$(link_of "$spid" "$fd")
  for p in $six; do [ "$l" = "$p" ] && leak="$leak $fd"; done
done
check_eq "sluice-start holds no pipe of the set" "$leak" ""
check_eq "the pipes work: rspawn answered sluice-send" "$(cat "$W/send.result")" "31:1:0,23:Kdelivered by fakespawn,,"
check_eq "rspawn saw the request" "$(cat "$W/fake/deliveries")" "42 joe@example.org 0 K"
check "lspawn logged the malformed request" grep -q "malformed request dropped" "$T/err"
check "sluice-send's fd 2 reaches the log" grep -q "stand-in sluice-send .* running" "$T/err"

# SIGHUP and SIGALRM go to sluice-send. The stand-in is a sleep that
# dies of them, which winds the set down: proof the signal went there.
kill -HUP "$spid"
check "SIGHUP: passed on to sluice-send" gone "$snd"
check "SIGHUP: set wound down" gone "$spid"
wait "$tpid"
check_eq "sluice-send ending: exit 111" $? 111
check "SIGHUP: lspawn ended" gone "$lsp"
check "SIGHUP: rspawn ended" gone "$rsp"
check "SIGHUP: clean ended" gone "$clp"
check "reported how sluice-send ended" grep -q "sluice-send killed by signal 1" "$T/err"

start
check "set started again" wait_set sluice-lspawn sluice-rspawn sluice-clean
snd=$(member sleep)
kill -ALRM "$spid"
check "SIGALRM: passed on to sluice-send" gone "$snd"
wait "$tpid"
check_eq "after SIGALRM: exit 111" $? 111
check "reported SIGALRM ending sluice-send" grep -q "sluice-send killed by signal 14" "$T/err"

# --- 4: one member killed ---
start
check "set started for the kill" wait_set sluice-lspawn sluice-rspawn sluice-clean
lsp=$(member sluice-lspawn) rsp=$(member sluice-rspawn) clp=$(member sluice-clean) snd=$(member sleep)
t0=$(date +%s)
kill -KILL "$lsp"
check "kill: sluice-start ended" gone "$spid"
wait "$tpid"
check_eq "kill: sluice-start exit 111" $? 111
t1=$(date +%s)
check "kill: wound down within 10 s" [ $((t1 - t0)) -le 10 ]
for p in "$snd" "$rsp" "$clp"; do check "kill: member $p ended" gone "$p"; done
check "kill: reported" grep -q "sluice-lspawn killed by signal 9" "$T/err"
check "kill: winding down logged" grep -q "winding down" "$T/err"

# --- 5: SIGTERM ---
start
check "set started for SIGTERM" wait_set sluice-lspawn sluice-rspawn sluice-clean
lsp=$(member sluice-lspawn) rsp=$(member sluice-rspawn) clp=$(member sluice-clean) snd=$(member sleep)
kill -TERM "$spid"
check "SIGTERM: sluice-start ended" gone "$spid"
wait "$tpid"
check_eq "SIGTERM: exit 0" $? 0
for p in "$snd" "$lsp" "$rsp" "$clp"; do check "SIGTERM: member $p ended" gone "$p"; done
check "SIGTERM: sluice-send got SIGTERM" grep -q "sluice-send killed by signal 15" "$T/err"
check "SIGTERM: spawners saw end of file and exited 0" grep -q "sluice-rspawn exited 0" "$T/err"

# --- 6: with a logger ---
rm -f "$W/log"
start sh -c 'id -u > "$STAND_W/logger.uid"; exec cat > "$STAND_W/log"'
check "set with logger started" wait_set sluice-lspawn sluice-rspawn sluice-clean cat
lgp=$(member cat) snd=$(member sleep) lsp=$(member sluice-lspawn)
check_eq "logger recorded its uid" "$(cat "$W/logger.uid")" "$(id -u "$U_LOG")"
check "logger runs as $U_LOG" ids_are "$lgp" "$U_LOG"
check_eq "logger fd 0 is a pipe" "$(link_of "$lgp" 0 | cut -c1-5)" "pipe:"
check_eq "send fd 1 is the log pipe" "$(link_of "$snd" 1)" "$(link_of "$lgp" 0)"
check_eq "send fd 2 is the log pipe" "$(link_of "$snd" 2)" "$(link_of "$lgp" 0)"
check_eq "lspawn fd 2 is the log pipe" "$(link_of "$lsp" 2)" "$(link_of "$lgp" 0)"
check_eq "sluice-send still holds fds 0-8" "$(fds_of "$snd")" "0 1 2 3 4 5 6 7 8"
k=0
while ! grep -q "malformed request dropped" "$W/log" 2> /dev/null && [ $k -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
check "logger got lspawn's fd 2" grep -q "malformed request dropped" "$W/log"
check "logger got sluice-send's fd 2" grep -q "stand-in sluice-send .* running" "$W/log"
kill -TERM "$spid"
check "logger: sluice-start ended" gone "$spid"
wait "$tpid"
check_eq "logger: exit 0" $? 0
check "logger saw end of file and ended" gone "$lgp"
check "logger got sluice-start's report" grep -q "winding down" "$W/log"
check_eq "logger: nothing on sluice-start's own fd 2 but what came after" \
  "$(grep -c "stand-in sluice-send" "$T/err")" 0

# --- a logger that cannot be found: 111 before anything runs ---
rm -f "$W/send.uid"
timeout 60 "$H/bin/sluice-start" /nonexistent/logger > /dev/null 2> "$T/err"
check_eq "missing logger: exit 111" $? 111
check_fail "missing logger: sluice-send never ran" test -e "$W/send.uid"
check "missing logger: reported" grep -q "unable to start logger" "$T/err"

done_testing
