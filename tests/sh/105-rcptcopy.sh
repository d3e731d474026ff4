#!/bin/sh
# 105-rcptcopy.sh: recipient validation on a front end (tools/rcptcopy,
# sluice-newrcpt(8) "FRONT ENDS"). A queue host builds
# control/rcptcheck.cdb with sluice-newrcpt (an account with a home, an
# entry of users/assign); tools/rcptcopy copies it and the queue host's
# passwd file (control/rcptpasswd) to a front end's conf-home, where
# the account does not exist. sluice-smtpd on the front end, as the
# daemon user:
#  1. before the copy: no check (250 for anyone);
#  2. after it: the account and the users/assign name 250, an unknown
#     name 550, postmaster 250; no dot file left behind;
#  3. without control/rcptpasswd the account (absent from the front
#     end's /etc/passwd) is refused: the copy of passwd is what keeps
#     it; a copy to a DEST that is not a directory fails with 111.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
DOM=mh105.test
U=sl105acct
cleanup() {
  userdel -r "$U" > /dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- the queue host: $H builds the cdb, which then moves to $T/qh ---
echo "$DOM" > "$H/control/me"
echo "$DOM" > "$H/control/locals"
echo "$DOM" > "$H/control/rcpthosts"
mkuser "$U"
printf '=fred105:%s:%s:%s:%s:::\n.\n' "$U" "$(id -u "$U")" "$(id -g "$U")" "$(home_of "$U")" > "$H/users/assign"
"$H/bin/sluice-newu" > /dev/null 2>&1 || bad "sluice-newu"
"$H/bin/sluice-newrcpt" > /dev/null 2>&1 || bad "sluice-newrcpt"
mkdir -p "$T/qh/control"
mv "$H/control/rcptcheck.cdb" "$T/qh/control/" || bad "no rcptcheck.cdb built"
cp /etc/passwd "$T/qh/passwd"
# the front end ($H from now on) has no such account, and no users/cdb
userdel -r "$U" > /dev/null 2>&1
rm -f "$H/users/assign" "$H/users/cdb"

rcpt() { # sluice-smtpd's reply code to RCPT TO:<$1>, as the daemon user
  printf 'HELO t\r\nMAIL FROM:<x@y.example>\r\nRCPT TO:<%s>\r\nQUIT\r\n' "$1" |
    as "$U_DAEMON" env -i PATH=/usr/bin:/bin TCPREMOTEIP=127.0.0.1 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 PROTO=TCP \
      TCPREMOTEHOST=localhost "$H/bin/sluice-smtpd" 2> /dev/null | tr -d '\r' | sed -n 4p | cut -c1-3
}

# --- 1 ---
check_eq "before the copy: no check" "$(rcpt "nosuch105@$DOM")" 250

# --- 2 ---
sh tools/rcptcopy --passwd "$T/qh/passwd" "$T/qh" "$H" 2> "$T/err"
check_eq "rcptcopy: exit 0" "$?" 0
check "rcptcopy: cdb copied" cmp -s "$T/qh/control/rcptcheck.cdb" "$H/control/rcptcheck.cdb"
check "rcptcopy: passwd copied" cmp -s "$T/qh/passwd" "$H/control/rcptpasswd"
check_eq "rcptcopy: modes 644" "$(stat -c %a "$H/control/rcptcheck.cdb" "$H/control/rcptpasswd" | tr '\n' ' ')" "644 644 "
check_eq "rcptcopy: no dot file left" "$(ls -A "$H/control" | grep -c '^\.')" 0
check_eq "front end: the queue host's account 250" "$(rcpt "$U@$DOM")" 250
check_eq "front end: a users/assign name 250" "$(rcpt "fred105@$DOM")" 250
check_eq "front end: unknown 550" "$(rcpt "nosuch105@$DOM")" 550
check_eq "front end: postmaster 250" "$(rcpt "postmaster@$DOM")" 250
check_eq "front end: another domain (relay check, not this one) 553" "$(rcpt "x@elsewhere105.example")" 553

# --- 3 ---
mv "$H/control/rcptpasswd" "$T/rp"
check_eq "without rcptpasswd: the absent account 550" "$(rcpt "$U@$DOM")" 550
mv "$T/rp" "$H/control/rcptpasswd"
check_eq "rcptpasswd back: 250" "$(rcpt "$U@$DOM")" 250
sh tools/rcptcopy --passwd "$T/qh/passwd" "$T/qh" "$T/nosuchdir" 2> "$T/err"
check_eq "rcptcopy to a missing directory: exit 111" "$?" 111
check "rcptcopy to a missing directory: reported" grep -q "copy failed" "$T/err"
done_testing
