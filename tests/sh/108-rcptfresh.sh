#!/bin/sh
# 108-rcptfresh.sh: the sluice-rcptfresh service (boot/sluice-rcptfresh,
# sluice-newrcpt(8) "ACCOUNTS") keeps control/rcptcheck.cdb fresh with
# no sluice command run, installed by tools/services and run by svscan
# with its multilog, as in production, with control/rcptfreshinterval 1.
#
#  1. sluice-newrcpt -r by hand: "unchanged" and the file untouched
#     (same inode, same mtime) when nothing changed; "rebuilt" after a
#     change; nothing, exit 0, and no file made while the check is off;
#     six runs at once (plain and -r) all succeed, the cdb whole;
#     sluice-showctl knows control/rcptfreshinterval;
#  2. the service: a new ~user/.qmail-ext of an existing account is
#     accepted at RCPT (250, as the daemon user) within a bounded wait;
#  3. several passes over an unchanged state leave rcptcheck.cdb alone
#     (inode and mtime kept), each pass logged "unchanged";
#  4. the .qmail-ext removed: refused again (550);
#  5. rcptcheck.cdb removed: the service says the check is off and does
#     not make the file again;
#  6. control/rcptfreshinterval 0: the service goes down and says so;
#     a malformed value: a log line naming it, and the default 60.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
for tool in svscan svc svstat multilog tcprules cdb; do
  command -v "$tool" > /dev/null 2>&1 || { bad "tool $tool is missing"; done_testing; }
done
inst_fresh

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
DOM=e2e108.test
U=sl108a
S=$H/service/sluice-rcptfresh
LOG=$H/log/sluice-rcptfresh/current
svscan_pid=''

cleanup() {
  if [ -d "$T/svc" ]; then
    svc -dx "$S" 2> /dev/null
    svc -dx "$S/log" 2> /dev/null
  fi
  [ -z "$svscan_pid" ] || kill -TERM "$svscan_pid" 2> /dev/null
  k=0
  while [ -n "$svscan_pid" ] && kill -0 "$svscan_pid" 2> /dev/null && [ $k -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
  [ -z "$svscan_pid" ] || kill -KILL "$svscan_pid" 2> /dev/null
  userdel -r "$U" > /dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "$DOM" > "$H/control/me"
echo "$DOM" > "$H/control/locals"
echo "$DOM" > "$H/control/rcpthosts"
mkuser "$U"
UH=$(home_of "$U")

# rcpt ADDR: sluice-smtpd's reply to RCPT TO:<ADDR>, as the daemon user
rcpt() {
  printf 'HELO t\r\nMAIL FROM:<x@y.example>\r\nRCPT TO:<%s>\r\nQUIT\r\n' "$1" |
    as "$U_DAEMON" env -i PATH=/usr/bin:/bin TCPREMOTEIP=127.0.0.1 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 PROTO=TCP \
      TCPREMOTEHOST=localhost "$H/bin/sluice-smtpd" 2> /dev/null | tr -d '\r' | sed -n 4p | cut -c1-3
}
is() { [ "$(rcpt "$1")" = "$2" ]; }
# the inode and the modification time (to the nanosecond) of the cdb
ident() { stat -c '%i %y' "$H/control/rcptcheck.cdb" 2> /dev/null; }
logged() { cat "$LOG" 2> /dev/null | grep -c -- "$1"; }
has() { grep -q -- "$1" "$LOG" 2> /dev/null; }

# --- 1: sluice-newrcpt -r by hand ---
"$H/bin/sluice-newrcpt" -r > "$T/r0" 2>&1
check_eq "-r with the check off: exit 0" "$?" 0
check "-r with the check off: says so" grep -q 'rcptcheck.cdb is missing: check off' "$T/r0"
check_fail "-r with the check off: makes no file" test -e "$H/control/rcptcheck.cdb"
"$H/bin/sluice-newrcpt"
check "rcptcheck.cdb built" test -s "$H/control/rcptcheck.cdb"
check_eq "listed account: 250" "$(rcpt "$U@$DOM")" 250
check_eq "its extension without .qmail-ext: 550" "$(rcpt "$U-ext@$DOM")" 550
id0=$(ident)
"$H/bin/sluice-newrcpt" -r > "$T/r1" 2>&1
check_eq "-r unchanged: exit 0" "$?" 0
check "-r unchanged: says unchanged" grep -q '^sluice-newrcpt: control/rcptcheck.cdb unchanged ([0-9]* keys)$' "$T/r1"
check_eq "-r unchanged: same inode and mtime" "$(ident)" "$id0"
check_fail "-r unchanged: no temporary file left" test -e "$H/control/rcptcheck.cdb.tmp"
printf '|true\n' > "$UH/.qmail-hand"
chmod 644 "$UH/.qmail-hand"
"$H/bin/sluice-newrcpt" -r > "$T/r2" 2>&1
check_eq "-r after a change: exit 0" "$?" 0
check "-r after a change: says rebuilt" grep -q '^sluice-newrcpt: control/rcptcheck.cdb rebuilt ([0-9]* keys)$' "$T/r2"
check_eq "-r after a change: the new address accepted" "$(rcpt "$U-hand@$DOM")" 250
check_eq "-r after a change: mode 0644" "$(stat -c %a "$H/control/rcptcheck.cdb")" 644
rm -f "$UH/.qmail-hand"
"$H/bin/sluice-newrcpt" -r > /dev/null 2>&1
check_eq "-r after the removal: refused again" "$(rcpt "$U-hand@$DOM")" 550
check_eq "a plain run writes the same bytes as -r" "$(cp "$H/control/rcptcheck.cdb" "$T/rc.r" && "$H/bin/sluice-newrcpt" && cmp -s "$T/rc.r" "$H/control/rcptcheck.cdb" && echo same)" same
"$H/bin/sluice-newrcpt" -x > /dev/null 2>&1
check_eq "an unknown option: exit 64" "$?" 64
# runs at once (the service, newaliases, a run by hand) take turns on
# users/rcptcheck.lock: every one succeeds and the file stays whole
printf '|true\n' > "$UH/.qmail-par"
chmod 644 "$UH/.qmail-par"
pids=''
for k in 1 2 3 4 5 6; do
  if [ $((k % 2)) -eq 0 ]; then "$H/bin/sluice-newrcpt" -r > /dev/null 2>&1 & else "$H/bin/sluice-newrcpt" & fi
  pids="$pids $!"
done
pfail=0
for p in $pids; do wait "$p" || pfail=$((pfail + 1)); done
check_eq "six runs at once: all exit 0" "$pfail" 0
check_eq "six runs at once: the new address accepted" "$(rcpt "$U-par@$DOM")" 250
check "six runs at once: a whole cdb" sh -c "cdb -d '$H/control/rcptcheck.cdb' > /dev/null"
check_fail "six runs at once: no temporary file left" test -e "$H/control/rcptcheck.cdb.tmp"
rm -f "$UH/.qmail-par"
"$H/bin/sluice-newrcpt"
echo 1 > "$H/control/rcptfreshinterval"
"$H/bin/sluice-showctl" > "$T/showctl" 2>&1
check "sluice-showctl knows rcptfreshinterval" grep -q '^rcptfreshinterval: 1$' "$T/showctl"
check_fail "sluice-showctl: no unknown control file" grep -q 'unknown control file' "$T/showctl"

# --- 2: the service ---
sh tools/services "$H" > "$T/services.out" 2>&1
check_eq "tools/services: exit 0" "$?" 0
check "service installed: run" test -x "$S/run"
check "service installed: log/run" test -x "$S/log/run"
check_fail "service: names filled in" grep -q '@[A-Z]*@' "$S/run" "$S/log/run"
check_eq "log dir owned by the log user" "$(stat -c %U "$H/log/sluice-rcptfresh" 2> /dev/null)" "$(role log)"
# svscan on a directory holding only this service (the others are not
# the subject and would need ports)
mkdir "$T/svc"
ln -s "$S" "$T/svc/sluice-rcptfresh"
(cd "$T/svc" && exec env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin setsid svscan "$T/svc" < /dev/null > "$T/svscan.out" 2>&1) &
svscan_pid=$!
check "a pass logged through multilog" wait_for 30 has 'sluice-rcptfresh: sluice-newrcpt: control/rcptcheck.cdb unchanged'
check "the pass says when the next one is" has 'next pass in 1 seconds'

printf '|true\n' > "$UH/.qmail-ext"
chmod 644 "$UH/.qmail-ext"
check "new .qmail-ext accepted at RCPT within a bounded wait" wait_for 30 is "$U-ext@$DOM" 250
check "the rebuild logged" wait_for 10 has 'control/rcptcheck.cdb rebuilt'

# --- 3: unchanged passes leave the file alone ---
# Other sessions on this machine may useradd/userdel meanwhile (the
# list holds every account), so a window of three passes in which the
# file was rewritten is tried again (5 windows at most); but a window
# with one rewrite must have brought other bytes, never the same ones
# (with two, a change and its undoing, they may be the same).
wait_for 10 has 'rcptcheck.cdb rebuilt'
quiet=0 samebytes=0 w=0
more() { [ "$(logged 'rcptcheck.cdb unchanged')" -ge $((n0 + 3)) ]; }
while [ $w -lt 5 ] && [ $quiet -eq 0 ]; do
  w=$((w + 1))
  cp "$H/control/rcptcheck.cdb" "$T/w.old"
  id1=$(ident)
  n0=$(logged 'rcptcheck.cdb unchanged')
  r0=$(logged 'rcptcheck.cdb rebuilt')
  wait_for 60 more || break
  if [ "$(ident)" = "$id1" ]; then
    quiet=1
  elif [ "$(logged 'rcptcheck.cdb rebuilt')" -eq $((r0 + 1)) ] && cmp -s "$T/w.old" "$H/control/rcptcheck.cdb"; then
    samebytes=1
  fi
done
check_eq "three unchanged passes: same inode and mtime (windows tried: $w)" "$quiet" 1
check_eq "no rewrite with the same bytes" "$samebytes" 0
check_fail "unchanged passes: no temporary file" test -e "$H/control/rcptcheck.cdb.tmp"

# --- 4: removed ---
rm -f "$UH/.qmail-ext"
check ".qmail-ext removed: refused again within a bounded wait" wait_for 30 is "$U-ext@$DOM" 550
check_eq "the account itself still accepted" "$(rcpt "$U@$DOM")" 250

# --- 5: the check off ---
rm -f "$H/control/rcptcheck.cdb"
check "check off: logged" wait_for 30 has 'rcptcheck.cdb is missing: check off'
n1=$(logged 'is missing: check off')
off_more() { [ "$(logged 'is missing: check off')" -ge $((n1 + 2)) ]; }
check "check off: passes go on" wait_for 30 off_more
check_fail "check off: no rcptcheck.cdb made" test -e "$H/control/rcptcheck.cdb"

# --- 6: interval 0 and a malformed one ---
echo 0 > "$H/control/rcptfreshinterval"
check "interval 0: logged" wait_for 30 has 'control/rcptfreshinterval is 0: not running'
down() { svstat "$S" 2> /dev/null | grep -q ': down '; }
check "interval 0: the service is down" wait_for 10 down
echo 'soon' > "$H/control/rcptfreshinterval"
svc -u "$S"
check "malformed interval: a clear log line" wait_for 30 has 'control/rcptfreshinterval: malformed value "soon" (want seconds, 0 to 99999999): using 60'
check "malformed interval: the default 60 used" wait_for 10 has 'next pass in 60 seconds'

done_testing
