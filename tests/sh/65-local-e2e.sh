#!/bin/sh
# 65-local-e2e.sh: local delivery end to end with the real delivery set.
# A private instance (inst_fresh) with control/me and control/locals set
# to a test domain, 10 test users (useradd -m, removed at the end) and
# sluice-start running the real sluice-send, sluice-lspawn, sluice-local
# and sluice-clean. Messages go in through the instance's sluice-queue.
#
#  1. 1,000 messages, each to one of the 10 users and every 25th to
#     three of them: every copy lands exactly once in the right
#     ~/Maildir/new (per-user counts; each (Subject, user) pair exactly
#     once), with "Return-Path: <sender>" and "Delivered-To:
#     user@domain" on top (sluice-local(8)), owned by the user, read by
#     Python's mailbox module; tmp/ is left empty;
#  2. a .qmail program line records its real and effective uid and gid:
#     those of the recipient (sluice-local really runs as the user);
#     mail to sl65u0-Tag-Mixed.Case goes by ~/.qmail-tag-default
#     (found case-blind) to programs that see EXT=Tag-Mixed.Case and
#     DEFAULT=Mixed.Case, the case of the address (dot-qmail(5)), and
#     to `preline -f cat`, found in the PATH sluice-local gives, which
#     puts Return-Path and Delivered-To on top;
#  3. a users/assign entry compiled by sluice-newu routes a name that is
#     no account to a test user;
#  4. postmaster goes to ~alias/.qmail-postmaster, an unknown local part
#     to ~alias/.qmail-default (each with a Maildir line);
#  5. a read-only Maildir gives a deferral: nothing delivered, the
#     recipient still marked T in queue/local/N/ID; after chmod back it
#     stays queued until SIGALRM (to sluice-start, passed on to
#     sluice-send), then it is delivered once;
#  6. the queue is empty at the end (sluice-qstat, no file under
#     mess/info/local/todo, sluice-fsck exits 0); SIGTERM ends the set,
#     sluice-start exits 0.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
SPLIT=$(sed -n 1p conf-split)
U_ALIAS=$(role alias)
DOM=e2e65.test
SENDER=alice@sender65.example
NUSERS=10
NMSG=${E2E_LOCAL_MESSAGES:-1000}
alias_made='' alias_saved=''
AHOME=$H/alias # the alias user's home, whatever passwd says (sluice-getpw(8))

users=''
i=0
while [ $i -lt $NUSERS ]; do users="$users sl65u$i"; i=$((i + 1)); done

cleanup() {
  kill_set 100
  for u in $users; do userdel -r "$u" > /dev/null 2>&1; done
  if [ -n "$alias_made" ]; then
    rm -rf "$alias_made"
  elif [ -n "$AHOME" ] && [ -d "$AHOME" ]; then
    rm -rf "$AHOME/Maildir-e2e65" "$AHOME/Maildir-e2e65pm" "$AHOME/.qmail-default" "$AHOME/.qmail-postmaster"
    [ -n "$alias_saved" ] && cp -p "$alias_saved"/.qmail-* "$AHOME/" 2> /dev/null
  fi
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "$DOM" > "$H/control/me"
echo "$DOM" > "$H/control/locals"

# --- the users, each with ~/Maildir ---
for u in $users; do mkuser "$u"; done
# the alias user's home (made by setup; made here if it went missing)
if [ ! -d "$AHOME" ]; then
  mkdir -p "$AHOME" && chown "$U_ALIAS" "$AHOME" && chmod 700 "$AHOME" && alias_made=$AHOME
else
  mkdir "$T/aliassave" && alias_saved=$T/aliassave
  for f in "$AHOME/.qmail-default" "$AHOME/.qmail-postmaster"; do
    [ -f "$f" ] && cp -p "$f" "$alias_saved/"
  done
fi
rm -rf "$AHOME/Maildir-e2e65" "$AHOME/Maildir-e2e65pm"
(cd "$AHOME" && as "$U_ALIAS" "$H/bin/sluice-maildirmake" Maildir-e2e65 &&
  as "$U_ALIAS" "$H/bin/sluice-maildirmake" Maildir-e2e65pm) || bad "maildirmake for $U_ALIAS"
printf './Maildir-e2e65/\n' > "$AHOME/.qmail-default"
printf './Maildir-e2e65pm/\n' > "$AHOME/.qmail-postmaster"
chown "$U_ALIAS" "$AHOME/.qmail-default" "$AHOME/.qmail-postmaster"
chmod 644 "$AHOME/.qmail-default" "$AHOME/.qmail-postmaster"

# a program line for sl65u0-prog, and a users/assign entry for postbox65
U0=sl65u0 U1=sl65u1 U9=sl65u9
printf '|echo "$(id -ru) $(id -u) $(id -rg) $(id -g)" > "$HOME/prog.ids"\n' > "$(home_of $U0)/.qmail-prog"
chown "$U0" "$(home_of $U0)/.qmail-prog"
chmod 644 "$(home_of $U0)/.qmail-prog"
cat > "$(home_of $U0)/.qmail-tag-default" <<'QM'
|printf '%s\n' "$LOCAL" "$EXT" "$DEFAULT" > "$HOME/tag.env"
|preline -f cat > "$HOME/tag.msg"
QM
chown "$U0" "$(home_of $U0)/.qmail-tag-default"
chmod 644 "$(home_of $U0)/.qmail-tag-default"
printf '=postbox65:%s:%s:%s:%s:::\n.\n' "$U1" "$(id -u $U1)" "$(id -g $U1)" "$(home_of $U1)" > "$H/users/assign"
check "sluice-newu compiles users/assign" "$H/bin/sluice-newu"
check "users/cdb made" test -s "$H/users/cdb"

# --- the delivery set ---
# two deliveries at once per user (sluice-lspawn) and per recipient
# (sluice-send): section 1b sends a burst to one user
echo 2 > "$H/control/concurrencyuser"
start_set
check "sluice-start running" kill -0 "$spid"

# inject SUBJECT RCPT...: one message through sluice-queue
inject() {
  subj=$1; shift
  printf 'From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s@sender65.example>\n\nbody of %s\n' \
    "$SENDER" "$1" "$subj" "$subj" "$subj" > "$T/msg"
  { printf 'F%s\0' "$SENDER"; for r; do printf 'T%s\0' "$r"; done; printf '\0'; } > "$T/env"
  "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env"
}
total_new() {
  n=0
  for u in $users; do
    c=$(ls "$(home_of "$u")/Maildir/new" 2> /dev/null | wc -l)
    n=$((n + c))
  done
  echo "$n"
}

# --- 1. the bulk: NMSG messages ---
: > "$T/want"
fails=0
t0=$(date +%s)
i=0
while [ $i -lt "$NMSG" ]; do
  a=sl65u$((i % 10))
  if [ $((i % 25)) -eq 0 ]; then
    b=sl65u$(((i + 1) % 10)) c=sl65u$(((i + 3) % 10))
    inject "e2e65-$i" "$a@$DOM" "$b@$DOM" "$c@$DOM" || fails=$((fails + 1))
    printf 'e2e65-%s %s\ne2e65-%s %s\ne2e65-%s %s\n' "$i" "$a" "$i" "$b" "$i" "$c" >> "$T/want"
  else
    inject "e2e65-$i" "$a@$DOM" || fails=$((fails + 1))
    printf 'e2e65-%s %s\n' "$i" "$a" >> "$T/want"
  fi
  i=$((i + 1))
done
all_in() { [ "$(total_new)" -ge "$want_total" ] && queue_empty; }
bulk_wait all_in
echo "# $NMSG messages ($want_total deliveries) in $((t1 - t0)) s" >&2
check_eq "deliveries counted in Maildir/new" "$(total_new)" "$want_total"
check "queue empty after the bulk" queue_empty

# read every Maildir with Python's mailbox module: "subject user" per
# message; headers checked on the way (problems on stderr, exit 1)
cat > "$T/read.py" <<'PY'
import mailbox, sys
sender, dom = sys.argv[1], sys.argv[2]
bad = 0
for arg in sys.argv[3:]:
    user, path = arg.split("=", 1)
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in box.keys():
        m = box.get_message(key)
        subj = m["Subject"]
        lines = box.get_bytes(key).split(b"\n")
        want0 = ("Return-Path: <%s>" % sender).encode()
        want1 = ("Delivered-To: %s@%s" % (user, dom)).encode()
        if lines[0] != want0 or lines[1] != want1:
            sys.stderr.write("%s %s: top lines %r %r\n" % (user, subj, lines[0], lines[1]))
            bad = 1
        if m.get_subdir() != "new":
            sys.stderr.write("%s %s: in %s\n" % (user, subj, m.get_subdir()))
            bad = 1
        print(subj, user)
sys.exit(bad)
PY
args=''
for u in $users; do args="$args $u=$(home_of "$u")/Maildir"; done
python3 "$T/read.py" "$SENDER" "$DOM" $args > "$T/got" 2> "$T/read.err"
check_eq "python mailbox reads every Maildir, Return-Path and Delivered-To on top" "$?:$(head -n 5 "$T/read.err")" "0:"
sort "$T/got" > "$T/got.s"
sort "$T/want" > "$T/want.s"
check_eq "no message delivered twice" "$(uniq -d "$T/got.s" | head -n 5)" ""
check "every (subject, user) exactly once" cmp -s "$T/got.s" "$T/want.s"
for u in $users; do
  check_eq "count for $u" "$(ls "$(home_of "$u")/Maildir/new" | wc -l | tr -d ' ')" "$(grep -c " $u\$" "$T/want")"
done
notmine=0 intmp=0
for u in $users; do
  n=$(find "$(home_of "$u")/Maildir/new" -type f ! -user "$u" | wc -l)
  notmine=$((notmine + n))
  n=$(find "$(home_of "$u")/Maildir/tmp" -type f | wc -l)
  intmp=$((intmp + n))
done
check_eq "tmp/ left empty" "$intmp" 0
check_eq "every file owned by its user" "$notmine" 0
check_eq "sluice-send logged one success per delivery" "$(grep -c 'delivery [0-9]*: success' "$T/log")" "$want_total"

# --- 1b. a burst to one user: held back by sluice-send ---
# sluice-send holds a delivery back while concurrencyuser (2) deliveries
# to its recipient run, so sluice-lspawn never has to refuse one as
# "too many deliveries in progress for this user" (sluice-send(8))
count_in() { ls "$1" 2> /dev/null | wc -l | tr -d ' '; }
U8=sl65u8
MD8=$(home_of $U8)/Maildir
base8=$(count_in "$MD8/new")
i=0 fails=0
while [ $i -lt 200 ]; do
  inject "e2e65-burst-$i" "$U8@$DOM" || fails=$((fails + 1))
  i=$((i + 1))
done
check_eq "burst: every injection exited 0" "$fails" 0
burst_in() { [ "$(count_in "$MD8/new")" -ge $((base8 + 200)) ] && queue_empty; }
check "burst: all 200 delivered" wait_for 120 burst_in
check_eq "burst: each exactly once" "$(cat "$MD8/new"/* | grep '^Subject: e2e65-burst-' | sort | uniq -c | awk '$1 != 1' | wc -l | tr -d ' '):$(cat "$MD8/new"/* | grep -c '^Subject: e2e65-burst-')" "0:200"
check_eq "burst: no delivery refused by sluice-lspawn as too many for the user" \
  "$(grep -c 'too many deliveries in progress for this user' "$T/log")" 0

# --- 2-4: program uid, users/assign, postmaster, unknown ---
count_in() { ls "$1" 2> /dev/null | wc -l | tr -d ' '; }
base1=$(count_in "$(home_of $U1)/Maildir/new")
inject e2e65-prog "$U0-prog@$DOM"
inject e2e65-assign "postbox65@$DOM"
inject e2e65-pm "postmaster@$DOM"
inject e2e65-unknown "nosuchuser65@$DOM"
inject e2e65-tag "$U0-Tag-Mixed.Case@$DOM"
special_done() {
  [ -s "$(home_of $U0)/prog.ids" ] && [ -s "$(home_of $U0)/tag.msg" ] && [ "$(count_in "$(home_of $U1)/Maildir/new")" -gt "$base1" ] &&
    [ "$(count_in "$AHOME/Maildir-e2e65pm/new")" -ge 1 ] && [ "$(count_in "$AHOME/Maildir-e2e65/new")" -ge 1 ] &&
    queue_empty
}
wait_for 60 special_done
u0=$(id -u $U0) g0=$(id -g $U0)
check_eq "program ran as the recipient (ruid euid rgid egid)" "$(cat "$(home_of $U0)/prog.ids" 2> /dev/null)" "$u0 $u0 $g0 $g0"
nl='
'
check_eq "LOCAL, EXT and DEFAULT keep the case of the address" "$(cat "$(home_of $U0)/tag.env" 2> /dev/null)" \
  "$U0-Tag-Mixed.Case${nl}Tag-Mixed.Case${nl}Mixed.Case"
check_eq "preline found in PATH: Return-Path, Delivered-To on top" "$(head -n 2 "$(home_of $U0)/tag.msg" 2> /dev/null)" \
  "Return-Path: <$SENDER>${nl}Delivered-To: $U0-Tag-Mixed.Case@$DOM"
check "preline: then the message" grep -q '^Subject: e2e65-tag$' "$(home_of $U0)/tag.msg"
# hdr DIR NAME: NAME's value in the one message of a Maildir whose
# Subject is SUBJ
hdr() {
  python3 - "$1" "$2" "$3" <<'PY'
import mailbox, sys
box = mailbox.Maildir(sys.argv[1], factory=None, create=False)
hits = [box.get_message(k) for k in box.keys() if box.get_message(k)["Subject"] == sys.argv[3]]
print(len(hits), hits[0][sys.argv[2]] if hits else "-")
PY
}
check_eq "users/assign: postbox65 in $U1's Maildir" "$(hdr "$(home_of $U1)/Maildir" Delivered-To e2e65-assign)" "1 postbox65@$DOM"
check_eq "postmaster by ~alias/.qmail-postmaster" "$(hdr "$AHOME/Maildir-e2e65pm" Delivered-To e2e65-pm)" "1 postmaster@$DOM"
check_eq "unknown local part by ~alias/.qmail-default" "$(hdr "$AHOME/Maildir-e2e65" Delivered-To e2e65-unknown)" "1 nosuchuser65@$DOM"
check_eq "postmaster not in the default Maildir" "$(hdr "$AHOME/Maildir-e2e65" Delivered-To e2e65-pm)" "0 -"
check_eq "alias deliveries owned by $U_ALIAS" "$(find "$AHOME/Maildir-e2e65/new" "$AHOME/Maildir-e2e65pm/new" -type f ! -user "$U_ALIAS" | wc -l | tr -d ' ')" 0

# --- 5. a read-only Maildir: deferral, then SIGALRM ---
MD9=$(home_of $U9)/Maildir
base9=$(count_in "$MD9/new")
# counted before the injection: its own deferral can be logged before
# the next command runs (a delivery put off because its user already
# has concurrencyuser deliveries running is no failure: it is tried
# again at once when one of them ends)
check_eq "no deferral before" "$(grep 'delivery [0-9]*: deferral' "$T/log" | grep -vc 'too many deliveries in progress for this user')" 0
chmod 500 "$MD9" "$MD9/tmp" "$MD9/new" "$MD9/cur"
inject e2e65-readonly "$U9@$DOM"
deferred() { grep -q "deferral: .*Maildir" "$T/log"; }
check "read-only Maildir: deferral logged" wait_for 30 deferred
id9=$(sed -n "s/^starting delivery [0-9]*: msg \([0-9]*\)\.[0-9]* to local $U9@$DOM\$/\1/p" "$T/log" | tail -n 1)
ch=$H/queue/local/$((${id9:-0} % SPLIT))/${id9:-0}
check "read-only: message $id9 still queued" test -f "$H/queue/mess/$((${id9:-0} % SPLIT))/${id9:-0}"
check_eq "read-only: local/N/ID still marks it T" "$(tail -c +23 "$ch" 2> /dev/null | tr '\0' '\n')" "T$U9@$DOM"
check_eq "read-only: nothing delivered" "$(count_in "$MD9/new")" "$base9"
chmod 700 "$MD9" "$MD9/tmp" "$MD9/new" "$MD9/cur"
sleep 2
check_eq "writable again: still waits for its retry time" "$(count_in "$MD9/new")" "$base9"
kill -ALRM "$spid"
delivered9() { [ "$(count_in "$MD9/new")" -gt "$base9" ] && queue_empty; }
check "after SIGALRM: delivered" wait_for 30 delivered9
check_eq "after SIGALRM: exactly once" "$(hdr "$MD9" Delivered-To e2e65-readonly)" "1 $U9@$DOM"
check "after SIGALRM: local/N/ID removed" test ! -e "$ch"

# --- 6. the queue is empty ---
end_checks mess info local todo intd bounce
nfail=$(grep -c 'delivery [0-9]*: failure\|^bounce' "$T/log")
check_eq "no failure or bounce logged" "$nfail" 0
[ "$nfail" -eq 0 ] || grep 'delivery [0-9]*: failure\|^bounce' "$T/log" | head -n 5
done_testing
