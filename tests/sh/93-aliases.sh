#!/bin/sh
# 93-aliases.sh: /etc/aliases compiled by newaliases (sluice-newaliases)
# and delivered end to end through a private instance (sluice-start with
# the real sluice-send, sluice-lspawn and sluice-local; aliases(5)).
#
#  1. sendmail -bi compiles the file named by control/aliasfile into
#     users/aliases.cdb (0644) and says how many aliases it holds;
#  2. an alias to one user, to two users (continuation line and a
#     comment inside it), to a program (quoted, with a comma; it runs
#     as the alias user), to a file (an mbox written as the alias
#     user), with :include: (read at delivery); each copy lands once;
#  3. owner-NAME: forwards of NAME go out with the sender owner-NAME@DOM;
#     an alias naming itself (here at the local domain) reaches the
#     account of that name;
#  4. aliases come before users: an alias named like a user wins;
#  5. a loop (a: b, b: a) bounces with 5.4.6 (Delivered-To) to the
#     sender's mailbox;
#  6. malformed alias files: newaliases exits 100 naming the file and
#     line, writes nothing (the old cdb stays, byte for byte; no .tmp);
#  7. sluice-newrcpt (run by newaliases when rcptcheck.cdb exists) makes
#     sluice-smtpd accept the alias names at RCPT (250) and still refuse
#     unknown names (550), checked as the daemon user;
#  8. the queue is empty at the end, sluice-fsck clean.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_ALIAS=$(role alias)
U_DAEMON=$(role daemon)
DOM=e2e93.test
AHOME=$H/alias
alias_made=''
users='sl93a sl93b sl93c sl93d sl93s'

cleanup() {
  kill_set 100
  for u in $users; do userdel -r "$u" > /dev/null 2>&1; done
  [ -n "$alias_made" ] && rm -rf "$alias_made"
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "$DOM" > "$H/control/me"
echo "$DOM" > "$H/control/locals"
echo "$DOM" > "$H/control/rcpthosts"
for u in $users; do mkuser "$u"; done
if [ ! -d "$AHOME" ]; then
  mkdir -p "$AHOME" && chown "$U_ALIAS" "$AHOME" && chmod 700 "$AHOME" && alias_made=$AHOME
fi
# where the program and the file of the aliases write: the alias user's
mkdir "$T/out" && chown "$U_ALIAS" "$T/out" && chmod 755 "$T/out"
printf '# the list\nsl93b\nsl93c@%s\n' "$DOM" > "$T/list"
cat > "$T/aliases" <<EOF
# aliases for test 93
single: sl93a
both:   sl93a,
  # a comment inside the continuation
        sl93b@$DOM
owner-both: sl93d
prog: "|echo \$(id -un), \$LOCAL > $T/out/prog.txt"
file: $T/out/archive
inc: :include:$T/list
"Quoted.Name": sl93b
sl93c: sl93c@$DOM, sl93a
sl93s: sl93b
loopa: loopb
loopb: loopa
EOF
echo "$T/aliases" > "$H/control/aliasfile"

# --- 1. compile ---
"$H/bin/sendmail" -bi > "$T/bi.out" 2> "$T/bi.err"
check_eq "sendmail -bi exits 0" "$?" 0
check_eq "sendmail -bi: says how many" "$(cat "$T/bi.out")" "$T/aliases: 11 aliases"
check_eq "aliases.cdb mode 644 root" "$(stat -c '%a %U' "$H/users/aliases.cdb")" "644 root"

# --- 2-5: deliveries ---
start_set
check "sluice-start running" kill -0 "$spid"
SENDER=sl93d@$DOM
inject() {
  subj=$1; shift
  printf 'From: %s\nTo: %s\nSubject: %s\n\nbody of %s\n' "$SENDER" "$1" "$subj" "$subj" > "$T/msg"
  { printf 'F%s\0' "$SENDER"; for r; do printf 'T%s\0' "$r"; done; printf '\0'; } > "$T/env"
  "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env"
}
# count USER SUBJECT: copies with that Subject in USER's Maildir
count() {
  grep -l "^Subject: $2\$" "$(home_of "$1")"/Maildir/new/* 2> /dev/null | wc -l | tr -d ' '
}
inject a93-single "single@$DOM"
inject a93-both "both@$DOM"
inject a93-prog "prog@$DOM"
inject a93-file "file@$DOM"
inject a93-inc "inc@$DOM"
inject a93-quoted "quoted.name@$DOM"
inject a93-self "sl93c@$DOM"
inject a93-shadow "sl93s@$DOM"
inject a93-loop "loopa@$DOM"
done_all() {
  [ -s "$T/out/prog.txt" ] && [ -s "$T/out/archive" ] &&
    grep -lq a93-loop "$(home_of sl93d)"/Maildir/new/* 2> /dev/null && queue_empty
}
wait_for 60 done_all
check_eq "single: sl93a once" "$(count sl93a a93-single)" 1
check_eq "both: sl93a once" "$(count sl93a a93-both)" 1
check_eq "both: sl93b once" "$(count sl93b a93-both)" 1
check_eq "prog: ran as the alias user with LOCAL" "$(cat "$T/out/prog.txt" 2> /dev/null)" "$U_ALIAS, prog"
check_eq "file: one message in the mbox" "$(grep -c '^From ' "$T/out/archive" 2> /dev/null)" 1
check "file: the message" grep -q '^Subject: a93-file$' "$T/out/archive"
check_eq "file: owned by the alias user" "$(stat -c %U "$T/out/archive" 2> /dev/null)" "$U_ALIAS"
check_eq "inc: sl93b once" "$(count sl93b a93-inc)" 1
check_eq "inc: sl93c once" "$(count sl93c a93-inc)" 1
check_eq "quoted name, any case: sl93b" "$(count sl93b a93-quoted)" 1
check_eq "self-reference: sl93c's own mailbox" "$(count sl93c a93-self)" 1
check_eq "self-reference: and sl93a" "$(count sl93a a93-self)" 1
check_eq "alias before user: sl93s's mailbox gets nothing" "$(count sl93s a93-shadow)" 0
check_eq "alias before user: sl93b gets it" "$(count sl93b a93-shadow)" 1
f=$(grep -l '^Subject: a93-both$' "$(home_of sl93a)"/Maildir/new/* 2> /dev/null | head -n 1)
check_eq "owner-both: the sender of both's forwards" "$(head -n 1 "${f:-/dev/null}")" "Return-Path: <owner-both@$DOM>"
check "both: Delivered-To both@ added by the alias" grep -q "^Delivered-To: both@$DOM\$" "${f:-/dev/null}"
f=$(grep -l '^Subject: a93-single$' "$(home_of sl93a)"/Maildir/new/* 2> /dev/null | head -n 1)
check_eq "no owner-single: the sender stays" "$(head -n 1 "${f:-/dev/null}")" "Return-Path: <$SENDER>"
check_eq "loop: neither end delivers" "$(count sl93a a93-loop)$(count sl93b a93-loop)" 00
check "loop: failure 5.4.6 logged" grep -q 'failure: 5.4.6 this message is looping' "$T/log"
check "loop: bounce to the sender" sh -c "grep -l 'a93-loop' '$(home_of sl93d)'/Maildir/new/* | xargs grep -l '5.4.6' > /dev/null"

# --- 6. malformed files ---
cp -p "$H/users/aliases.cdb" "$T/cdb.before"
malformed() { # NAME TEXT EXPECTED-LINE EXPECTED-WHY
  printf "$2" > "$T/aliases"
  "$H/bin/sluice-newaliases" > "$T/m.out" 2> "$T/m.err"
  check_eq "$1: exit 100" "$?" 100
  check "$1: file and line named" grep -q "^newaliases: fatal: $T/aliases:$3: $4" "$T/m.err"
  check "$1: the old cdb unchanged" cmp -s "$T/cdb.before" "$H/users/aliases.cdb"
  check "$1: no temporary file left" test ! -e "$H/users/aliases.cdb.tmp"
}
malformed "no colon" 'a: b\n# c\nnocolon here\n' 3 'no colon after the alias name'
malformed "continuation first" '  b\na: c\n' 1 'continuation line without an alias'
malformed "duplicate" 'a: b\nc: d\nA: e\n' 3 'alias name given a second time'
malformed "unterminated quote" 'a: b\nc: d,\n  "|cat\n' 3 'unterminated quote'
malformed "no target" 'a: b\nc:\n' 2 'alias without a target'
malformed "bad target in a continuation" 'a: b,\n  c d\n' 2 'address holds a space'
malformed "name with @" 'a@b: c\n' 1 'alias name holds'
printf 'x: sl93a\n' > "$T/aliases"
check "missing file: exit 111" sh -c "echo /nonexistent/aliases > '$H/control/aliasfile'; '$H/bin/sluice-newaliases' > /dev/null 2>&1; [ \$? -eq 111 ]"
check "missing file: the old cdb unchanged" cmp -s "$T/cdb.before" "$H/users/aliases.cdb"

# --- 7. RCPT check ---
echo "$T/aliases" > "$H/control/aliasfile"
cat > "$T/aliases" <<EOF
single: sl93a
EOF
"$H/bin/sluice-newrcpt"
"$H/bin/newaliases" > "$T/na.out" 2>&1
check_eq "newaliases (installed link): exit 0" "$?" 0
check "newaliases rebuilt rcptcheck.cdb" grep -q 'rcptcheck.cdb rebuilt' "$T/na.out"
rcpt() {
  printf 'HELO t\r\nMAIL FROM:<x@y.example>\r\nRCPT TO:<%s>\r\nQUIT\r\n' "$1" |
    as "$U_DAEMON" env -i PATH=/usr/bin:/bin TCPREMOTEIP=127.0.0.1 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 PROTO=TCP \
      TCPREMOTEHOST=localhost "$H/bin/sluice-smtpd" 2> /dev/null | tr -d '\r' | sed -n 4p | cut -c1-3
}
check_eq "RCPT to an alias: 250" "$(rcpt "single@$DOM")" 250
check_eq "RCPT to a removed alias: 550" "$(rcpt "loopa@$DOM")" 550
check_eq "RCPT to a user: 250" "$(rcpt "sl93b@$DOM")" 250

# --- 8. the end ---
end_checks mess info local todo intd bounce
done_testing
