#!/bin/sh
# 66-localsafe.sh: local delivery cannot be held or abused by one user,
# end to end with the real delivery set (sluice-start, sluice-send,
# sluice-lspawn, sluice-local) in a private instance, two test users
# (lsafeu1, lsafeu2; removed at the end). sluice-start runs with a
# marker variable in its environment.
#
# A. control/timeoutlocal 2:
#  1. a .qmail program `sleep 100 & ...; sleep 100` ends as a deferral
#     ("did not finish within 2 seconds") within a few seconds, and the
#     background sleep is gone too; after the .qmail is fixed and
#     SIGALRM, the message is delivered once;
#  2. a .qmail program's environment holds PATH and the documented
#     variables, not the marker of sluice-start's environment;
# B. control/concurrencylocal 2, control/concurrencyuser 1: two
#    messages to two addresses of one user (two .qmail files) whose
#    programs sleep 6 s, then one to another user: sluice-send starts
#    both (it holds back only a second delivery to the same address),
#    sluice-lspawn defers the second slow one at once ("too many
#    deliveries in progress for this user": its cap is per uid) and the
#    other user's message is
#    delivered while the first slow one still runs (without the cap the
#    two slow ones hold both slots and it waits); after SIGALRM all are
#    delivered once, the queue is empty, sluice-fsck is clean.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh

DOM=e2e66.test
SENDER=bob@sender66.example
U1=lsafeu1 U2=lsafeu2

cleanup() {
  kill_set 100
  # the program's processes, should they have survived (no time limit)
  for p in $(cat "$(home_of $U1)/hang.pid" 2> /dev/null); do kill -KILL "$p" 2> /dev/null; done
  for u in $U1 $U2; do userdel -r "$u" > /dev/null 2>&1; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "$DOM" > "$H/control/me"
echo "$DOM" > "$H/control/locals"
for u in $U1 $U2; do mkuser "$u"; done
H1=$(home_of $U1) H2=$(home_of $U2)
# qm USER NAME CONTENT: a .qmail file owned by USER, mode 644
qm() { printf '%s' "$3" > "$(home_of "$1")/$2"; chown "$1" "$(home_of "$1")/$2"; chmod 644 "$(home_of "$1")/$2"; }
inject() {
  subj=$1; shift
  printf 'From: %s\nTo: %s\nSubject: %s\n\nbody of %s\n' "$SENDER" "$1" "$subj" "$subj" > "$T/msg"
  { printf 'F%s\0' "$SENDER"; for r; do printf 'T%s\0' "$r"; done; printf '\0'; } > "$T/env"
  "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env"
}
count_in() { ls "$1" 2> /dev/null | wc -l | tr -d ' '; }
now10() { date +%s%N | cut -c1-11; } # tenths of a second

# --- A. the time limit and the environment ---
echo 2 > "$H/control/timeoutlocal"
qm $U1 .qmail-hang '|sleep 100 & echo $! $$ > hang.pid; exec sleep 100
./Maildir/
'
qm $U2 .qmail-env '|env > prog.env
'
start_set SLUICE_LSAFE_MARKER=leak66
check "sluice-start running" kill -0 "$spid"
t0=$(now10)
inject lsafe-hang "$U1-hang@$DOM"
inject lsafe-env "$U2-env@$DOM"
hung() { grep -q "deferral: 4.3.0 program did not finish within 2 seconds" "$T/log"; }
check "time limit: deferral logged" wait_for 20 hung
t1=$(now10)
if [ $((t1 - t0)) -le 80 ]; then ok "time limit: within 8 s"; else bad "time limit: within 8 s" "$((t1 - t0)) tenths"; fi
gone() { ! kill -0 "$1" 2> /dev/null || [ "$(ps -o stat= -p "$1" | cut -c1)" = Z ]; }
set -- $(cat "$H1/hang.pid" 2> /dev/null) 1 1
check "time limit: the program is gone" wait_for 2 gone "$2"
check "time limit: its background child is gone too" wait_for 2 gone "$1"
check_eq "time limit: nothing delivered" "$(count_in "$H1/Maildir/new")" 0
envdone() { [ -s "$H2/prog.env" ]; }
check "program ran" wait_for 20 envdone
check_fail "program env: no marker of sluice-start's environment" grep -q 'SLUICE_LSAFE_MARKER\|leak66' "$H2/prog.env"
check_eq "program env: PATH" "$(grep '^PATH=' "$H2/prog.env")" "PATH=$H/bin:/usr/local/bin:/usr/bin:/bin"
check_eq "program env: RECIPIENT" "$(grep '^RECIPIENT=' "$H2/prog.env")" "RECIPIENT=$U2-env@$DOM"
check "sluice-start's environment had the marker" grep -q leak66 "/proc/$spid/environ"
qm $U1 .qmail-hang './Maildir/
'
kill -ALRM "$spid"
hangdone() { [ "$(count_in "$H1/Maildir/new")" -ge 1 ] && queue_empty; }
check "fixed .qmail, SIGALRM: delivered" wait_for 20 hangdone
check_eq "delivered once" "$(count_in "$H1/Maildir/new")" 1
kill_set 100
spid=''

# --- B. the per-user cap ---
rm -f "$H/control/timeoutlocal"
echo 2 > "$H/control/concurrencylocal"
echo 1 > "$H/control/concurrencyuser"
qm $U1 .qmail-slow '|sleep 6
./Maildir/
'
qm $U1 .qmail-slower '|sleep 6
./Maildir/
'
start_set
base1=$(count_in "$H1/Maildir/new")
inject lsafe-slow1 "$U1-slow@$DOM"
inject lsafe-slow2 "$U1-slower@$DOM"
twostarted() { [ "$(grep -c "to local $U1-slow\(er\)\{0,1\}@$DOM" "$T/log")" -ge 2 ]; }
check "both slow messages started" wait_for 10 twostarted
inject lsafe-other "$U2@$DOM"
other() { [ "$(count_in "$H2/Maildir/new")" -ge 1 ]; }
check "the other user's message delivered while the slow one runs" wait_for 3 other
check_eq "the slow one still runs" "$(count_in "$H1/Maildir/new")" "$base1"
check "second slow message deferred by the cap" \
  grep -q "deferral: 4.4.5 too many deliveries in progress for this user" "$T/log"
slow1() { [ "$(count_in "$H1/Maildir/new")" -ge $((base1 + 1)) ]; }
check "the first slow message delivered" wait_for 15 slow1
kill -ALRM "$spid"
alldone() { [ "$(count_in "$H1/Maildir/new")" -ge $((base1 + 2)) ] && queue_empty; }
check "after SIGALRM the deferred one delivered" wait_for 20 alldone
check_eq "each slow message once" "$(count_in "$H1/Maildir/new")" $((base1 + 2))
end_checks mess info local todo intd bounce
done_testing
