#!/bin/sh
# 94-forward.sh: ~/.forward and address extensions with a recipient
# delimiter (control/recipientdelimiter), end to end through a private
# instance (sluice-start with the real sluice-send, sluice-lspawn and
# sluice-local; dot-qmail(5), dot-forward(5)).
#
#  1. ~/.forward to another user: the copy goes there, none stays;
#  2. ~/.forward with \user (and a second address): a copy in the
#     user's own Maildir and one at the other user; user@local-domain
#     (any case) in the file means the same as \user;
#  3. ~/.forward with a program and a file: they run as the user;
#  4. precedence: with a ~/.qmail the .forward is not read;
#  5. a group-writable .forward, or one owned by another user, is a
#     deferral (4.7.0), nothing delivered;
#  6. with control/recipientdelimiter "+": user+foo follows user's
#     ~/.qmail (no .qmail-foo), user+tag follows ~/.qmail-tag, user+x of
#     a user with a .forward follows the .forward; user-zzz without
#     .qmail-zzz still bounces (5.1.1) as in qmail; Delivered-To keeps
#     the whole address;
#  7. sluice-smtpd (as the daemon user, rcptcheck.cdb from
#     sluice-newrcpt): user+foo 250 with the delimiter configured, 550
#     without; user-foo 550 either way (no .qmail-foo);
#  8. the queue is empty at the end, sluice-fsck clean.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
DOM=e2e94.test
users='sl94a sl94a2 sl94b sl94k sl94p sl94q sl94g sl94o sl94t sl94s'

cleanup() {
  kill_set 100
  for u in $users; do userdel -r "$u" > /dev/null 2>&1; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "$DOM" > "$H/control/me"
echo "$DOM" > "$H/control/locals"
echo "$DOM" > "$H/control/rcpthosts"
echo "+" > "$H/control/recipientdelimiter"
for u in $users; do mkuser "$u"; done
# put USER FILE TEXT: ~USER/FILE holding TEXT, the user's, mode 644
put() {
  f=$(home_of "$1")/$2
  printf "$3" > "$f"
  chown "$1" "$f"
  chmod 644 "$f"
}
put sl94a .forward "# to b\nsl94b\n"
put sl94k .forward "\\\\sl94k, sl94b@$DOM\n"
put sl94a2 .forward "SL94a2@$DOM, sl94b\n"
put sl94p .forward "\"|echo \$(id -un) > \$HOME/prog.txt\"\n$(home_of sl94p)/mbox\n"
put sl94q .forward "sl94b\n"
put sl94q .qmail "./Maildir/\n"
put sl94g .forward "sl94b\n"
chmod 664 "$(home_of sl94g)/.forward"
put sl94o .forward "sl94b\n"
chown sl94b "$(home_of sl94o)/.forward"
(cd "$(home_of sl94t)" && as sl94t "$H/bin/sluice-maildirmake" Maildir-tag)
put sl94t .qmail-tag "./Maildir-tag/\n"
(cd "$(home_of sl94t)" && as sl94t "$H/bin/sluice-maildirmake" Maildir-base)
put sl94t .qmail "./Maildir-base/\n"

start_set
check "sluice-start running" kill -0 "$spid"
SENDER=sl94s@$DOM
inject() {
  subj=$1; shift
  printf 'From: %s\nTo: %s\nSubject: %s\n\nbody of %s\n' "$SENDER" "$1" "$subj" "$subj" > "$T/msg"
  { printf 'F%s\0' "$SENDER"; for r; do printf 'T%s\0' "$r"; done; printf '\0'; } > "$T/env"
  "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env"
}
# count USER SUBJECT [DIR]: copies with that Subject in ~USER/DIR/new
count() {
  grep -l "^Subject: $2\$" "$(home_of "$1")/${3:-Maildir}"/new/* 2> /dev/null | wc -l | tr -d ' '
}
inject f94-fwd "sl94a@$DOM"
inject f94-keep "sl94k@$DOM"
inject f94-selfdom "sl94a2@$DOM"
inject f94-prog "sl94p@$DOM"
inject f94-qmail "sl94q@$DOM"
inject f94-plusfoo "sl94t+foo@$DOM"
inject f94-plustag "sl94t+tag@$DOM"
inject f94-plusfwd "sl94a+x@$DOM"
inject f94-dash "sl94t-zzz@$DOM"
inject f94-gw "sl94g@$DOM"
inject f94-other "sl94o@$DOM"
settled() {
  [ -s "$(home_of sl94p)/prog.txt" ] && [ "$(count sl94t f94-plustag Maildir-tag)" -ge 1 ] &&
    grep -q 'deferral: 4.7.0 file is group-writable' "$T/log" &&
    grep -q 'deferral: 4.7.0 .forward belongs to someone else' "$T/log" &&
    grep -q 'failure: 5.1.1' "$T/log" &&
    grep -lq f94-dash "$(home_of sl94s)"/Maildir/new/* 2> /dev/null &&
    [ "$("$H/bin/sluice-qstat" | sed -n 's/^messages in queue: //p')" -le 2 ]
}
wait_for 60 settled
check_eq ".forward: at sl94b" "$(count sl94b f94-fwd)" 1
check_eq ".forward: none at sl94a" "$(count sl94a f94-fwd)" 0
check_eq "\\user: a copy kept at sl94k" "$(count sl94k f94-keep)" 1
check_eq "\\user: and one at sl94b" "$(count sl94b f94-keep)" 1
f=$(grep -l '^Subject: f94-keep$' "$(home_of sl94k)"/Maildir/new/* 2> /dev/null | head -n 1)
check_eq "\\user: Delivered-To of sl94k on top" "$(sed -n 2p "${f:-/dev/null}")" "Delivered-To: sl94k@$DOM"
check_eq "user@local-domain in .forward: own Maildir" "$(count sl94a2 f94-selfdom)" 1
check_eq "user@local-domain in .forward: and sl94b" "$(count sl94b f94-selfdom)" 1
check_eq ".forward program: ran as the user" "$(cat "$(home_of sl94p)/prog.txt" 2> /dev/null)" sl94p
check "file: the message in the mbox" grep -q '^Subject: f94-prog$' "$(home_of sl94p)/mbox"
check_eq "file: owned by the user" "$(stat -c %U "$(home_of sl94p)/mbox" 2> /dev/null)" sl94p
check_eq ".qmail wins over .forward: own Maildir" "$(count sl94q f94-qmail)" 1
check_eq ".qmail wins over .forward: nothing at sl94b" "$(count sl94b f94-qmail)" 0
check_eq "group-writable .forward: nothing delivered" "$(count sl94g f94-gw)$(count sl94b f94-gw)" 00
check_eq "foreign .forward: nothing delivered" "$(count sl94o f94-other)$(count sl94b f94-other)" 00
check_eq "user+foo: the user's ~/.qmail" "$(count sl94t f94-plusfoo Maildir-base)" 1
f=$(grep -l '^Subject: f94-plusfoo$' "$(home_of sl94t)"/Maildir-base/new/* 2> /dev/null | head -n 1)
check_eq "user+foo: Delivered-To keeps +foo" "$(sed -n 2p "${f:-/dev/null}")" "Delivered-To: sl94t+foo@$DOM"
check_eq "user+tag: by .qmail-tag" "$(count sl94t f94-plustag Maildir-tag)" 1
check_eq "user+tag: not in Maildir" "$(count sl94t f94-plustag)" 0
check_eq "user+x with a .forward: at sl94b" "$(count sl94b f94-plusfwd)" 1
check "user-zzz without .qmail-zzz: 5.1.1 as in qmail" grep -q "failure: 5.1.1 no mailbox" "$T/log"
check "user-zzz: bounced to the sender" sh -c "grep -l f94-dash '$(home_of sl94s)'/Maildir/new/* | xargs grep -l 'sl94t-zzz@$DOM' > /dev/null"

# --- 7. RCPT ---
"$H/bin/sluice-newrcpt"
rcpt() {
  printf 'HELO t\r\nMAIL FROM:<x@y.example>\r\nRCPT TO:<%s>\r\nQUIT\r\n' "$1" |
    as "$U_DAEMON" env -i PATH=/usr/bin:/bin TCPREMOTEIP=127.0.0.1 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 PROTO=TCP \
      TCPREMOTEHOST=localhost "$H/bin/sluice-smtpd" 2> /dev/null | tr -d '\r' | sed -n 4p | cut -c1-3
}
check_eq "RCPT user+foo with the delimiter: 250" "$(rcpt "sl94t+foo@$DOM")" 250
check_eq "RCPT user+tag with the delimiter: 250" "$(rcpt "sl94t+tag@$DOM")" 250
check_eq "RCPT nosuch+foo with the delimiter: 550" "$(rcpt "nosuch94+foo@$DOM")" 550
check_eq "RCPT user-foo: 550" "$(rcpt "sl94t-foo@$DOM")" 550
rm -f "$H/control/recipientdelimiter"
check_eq "RCPT user+foo without the delimiter: 550" "$(rcpt "sl94t+foo@$DOM")" 550
check_eq "RCPT user without the delimiter: 250" "$(rcpt "sl94t@$DOM")" 250

# --- 8. the end: the deferred two repaired and retried ---
chmod 644 "$(home_of sl94g)/.forward"
chown sl94o "$(home_of sl94o)/.forward"
kill -ALRM "$spid"
done_q() { queue_empty; }
check "repaired .forward files: delivered" wait_for 60 done_q
check_eq "repaired: group-writable one at sl94b" "$(count sl94b f94-gw)" 1
check_eq "repaired: foreign one at sl94b" "$(count sl94b f94-other)" 1
end_checks mess info local todo intd bounce
done_testing
