# tests/e2e.sh: shared by the end-to-end tests tests/sh/65-local-e2e.sh
# and 76-remote-e2e.sh, which run the real delivery set (sluice-start)
# in a private instance, and by bench/lib.sh. Source it after
# tests/lib.sh:
#   . "$(dirname "$0")/../e2e.sh"
# It sets spid (the pid of sluice-start) to '' and defines:
#   e2e_tools               PATH gets /usr/sbin and /sbin; the script
#                           fails unless python3, setpriv, useradd and
#                           userdel are there
#   as USER CMD...          CMD with the uids, gids and groups of USER
#   home_of USER            USER's home directory
#   mkuser USER             USER made anew (useradd -m, an old one
#                           removed first), home mode 755, with ~/Maildir
#   start_set [VAR=VALUE...]  sluice-start in the background, stderr to
#                           $T/log, pid in $spid; waits up to 10 s for a
#                           status line
#   kill_set [TENTHS]       for cleanups: with TENTHS, SIGTERM to $spid and
#                           up to TENTHS/10 s for it to end; then SIGKILL
#                           to its children and to it
#   wait_for SECONDS CMD... until CMD succeeds, polling every 0.2 s
#   free_ports BASE COUNT   sets P to the first of COUNT consecutive TCP
#                           ports no socket listens on, somewhere in
#                           BASE..32699 (chosen from $$, 20 tries)
#   queue_empty             sluice-qstat counts no message in the queue
#   bulk_wait CMD           after a bulk of injections (failures counted
#                           in $fails, what is wanted one a line in
#                           $T/want): checks that every injection exited 0,
#                           sets want_total, waits up to 200 s for CMD and
#                           sets t1 (epoch seconds)
#   end_checks DIR...       the checks at the end: the queue is empty
#                           (sluice-qstat; no file under queue/DIR for
#                           each DIR; sluice-fsck clean), SIGTERM ends
#                           sluice-start with exit 0
spid=''

e2e_tools() {
  PATH=$PATH:/usr/sbin:/sbin
  export PATH
  for tool in python3 setpriv useradd userdel; do
    command -v "$tool" > /dev/null 2>&1 || { bad "tool $tool is missing"; done_testing; }
  done
}
as() { u=$1; shift; setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups "$@"; }
home_of() { getent passwd "$1" | cut -d: -f6; }
mkuser() {
  userdel -r "$1" > /dev/null 2>&1
  useradd -m -s /bin/sh "$1" || { bad "useradd $1"; done_testing; }
  chmod 755 "$(home_of "$1")"
  (cd "$(home_of "$1")" && as "$1" "$H/bin/sluice-maildirmake" Maildir) || bad "maildirmake for $1"
}
start_set() {
  env "$@" "$H/bin/sluice-start" < /dev/null > /dev/null 2> "$T/log" &
  spid=$!
  k=0
  while ! grep -q 'status:' "$T/log" 2> /dev/null && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
}
kill_set() {
  [ -n "$spid" ] || return 0
  if [ $# -gt 0 ]; then
    kill -TERM "$spid" 2> /dev/null
    k=0
    while kill -0 "$spid" 2> /dev/null && [ $k -lt "$1" ]; do sleep 0.1; k=$((k + 1)); done
  fi
  for c in $(pgrep -P "$spid" 2> /dev/null); do kill -KILL "$c" 2> /dev/null; done
  kill -KILL "$spid" 2> /dev/null
}
wait_for() {
  lim=$(($1 * 5)); shift
  k=0
  while [ $k -lt "$lim" ]; do
    "$@" && return 0
    sleep 0.2
    k=$((k + 1))
  done
  return 1
}
free_ports() {
  fp_tries=0
  while :; do
    # below the ephemeral ports (32768 up): an outgoing connection's
    # source port can never take a test server's port
    P=$(($1 + ($$ * 7 + fp_tries * 13) % (32700 - $1 - $2)))
    fp_busy=$(ss -Hltn 2>/dev/null | awk '{print $4}' | sed 's/.*://' | awk -v p=$P -v n="$2" '$1 >= p && $1 < p + n' | head -n 1)
    [ -z "$fp_busy" ] && return 0
    fp_tries=$((fp_tries + 1))
    [ $fp_tries -lt 20 ] || { bad "no free ports"; done_testing; }
  done
}
queue_empty() { "$H/bin/sluice-qstat" 2> /dev/null | grep -q '^messages in queue: 0$'; }
bulk_wait() {
  check_eq "every injection exited 0" "$fails" 0
  want_total=$(wc -l < "$T/want" | tr -d ' ')
  wait_for 200 "$1"
  t1=$(date +%s)
}
end_checks() {
  check_eq "sluice-qstat" "$("$H/bin/sluice-qstat")" "messages in queue: 0
messages in queue but not yet preprocessed: 0"
  ec_names=$(echo "$*" | sed 's/ /, /g')
  for d; do set -- "$@" "$H/queue/$d"; shift; done
  check_eq "no file left in $ec_names" "$(find "$@" -type f | wc -l | tr -d ' ')" 0
  "$H/bin/sluice-fsck" > "$T/fsck" 2>&1
  check_eq "sluice-fsck clean" "$?:$(head -n 3 "$T/fsck")" "0:"
  kill -TERM "$spid"
  k=0
  while kill -0 "$spid" 2> /dev/null && [ $k -lt 300 ]; do sleep 0.1; k=$((k + 1)); done
  wait "$spid"
  check_eq "SIGTERM: sluice-start exits 0" "$?" 0
  spid=''
}
