#!/bin/sh
# 95-rcptauto.sh: sluice-smtpd's recipient check follows useradd and
# userdel without any sluice command (sluice-newrcpt(8) "ACCOUNTS",
# smtpd_rcpt.h), running as the daemon user as in production.
#
#  1. after sluice-newrcpt: a listed account is accepted (250), an
#     unknown name refused (550);
#  2. userdel of the listed account: refused at once (550), with no
#     rebuild; its .qmail-ext address too; an alias of the same name
#     keeps it accepted;
#  3. useradd of a new account: accepted at once (250); its extension
#     without .qmail-ext refused (550); with control/recipientdelimiter
#     + its user+tag accepted; an account whose home is missing, or not
#     its own, refused;
#  4. mail to the new account through sluice-smtpd and the running
#     delivery set reaches its Maildir, no sluice command run;
#  5. the queue is empty at the end, sluice-fsck clean.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh

role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_DAEMON=$(role daemon)
DOM=e2e95.test
users='sl95old sl95new sl95al sl95nh sl95ow'

# homes the test gave away are removed by name: userdel -r keeps them
homes=''
cleanup() {
  kill_set 100
  for u in $users; do userdel -r "$u" > /dev/null 2>&1; done
  for h in $homes; do rm -rf "$h"; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "$DOM" > "$H/control/me"
echo "$DOM" > "$H/control/locals"
echo "$DOM" > "$H/control/rcpthosts"
for u in $users; do userdel -r "$u" > /dev/null 2>&1; done
mkuser sl95old
mkuser sl95al
printf '|true\n' > "$(home_of sl95old)/.qmail-ext"
chmod 644 "$(home_of sl95old)/.qmail-ext"
printf 'sl95al: sl95old@elsewhere95.example\n' > "$T/aliases"
echo "$T/aliases" > "$H/control/aliasfile"
"$H/bin/sluice-newaliases" > /dev/null
"$H/bin/sluice-newrcpt"
check "rcptcheck.cdb built" test -s "$H/control/rcptcheck.cdb"

# rcpt ADDR: sluice-smtpd's reply to RCPT TO:<ADDR>, as the daemon user
rcpt() {
  printf 'HELO t\r\nMAIL FROM:<x@y.example>\r\nRCPT TO:<%s>\r\nQUIT\r\n' "$1" |
    as "$U_DAEMON" env -i PATH=/usr/bin:/bin TCPREMOTEIP=127.0.0.1 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 PROTO=TCP \
      TCPREMOTEHOST=localhost "$H/bin/sluice-smtpd" 2> /dev/null | tr -d '\r' | sed -n 4p | cut -c1-3
}
# --- 1 ---
check_eq "listed account: 250" "$(rcpt "sl95old@$DOM")" 250
check_eq "listed .qmail-ext: 250" "$(rcpt "sl95old-ext@$DOM")" 250
check_eq "unknown: 550" "$(rcpt "nosuch95@$DOM")" 550
check_eq "account that is also an alias: 250" "$(rcpt "sl95al@$DOM")" 250

# --- 2: userdel ---
cp -p "$H/control/rcptcheck.cdb" "$T/rc.before"
userdel -r sl95old > /dev/null 2>&1
userdel -r sl95al > /dev/null 2>&1
check_eq "userdel: refused at once" "$(rcpt "sl95old@$DOM")" 550
check_eq "userdel: its .qmail-ext address too" "$(rcpt "sl95old-ext@$DOM")" 550
check_eq "userdel of a name that is an alias: still 250" "$(rcpt "sl95al@$DOM")" 250

# --- 3: useradd ---
mkuser sl95new
mkuser sl95nh
rm -rf "$(home_of sl95nh)"
mkuser sl95ow
homes=$(home_of sl95ow)
chown root "$homes"
check "rcptcheck.cdb not rebuilt meanwhile" cmp -s "$T/rc.before" "$H/control/rcptcheck.cdb"
check_eq "useradd: accepted at once" "$(rcpt "sl95new@$DOM")" 250
check_eq "useradd: any case" "$(rcpt "SL95New@$DOM")" 250
check_eq "useradd: extension without .qmail-ext: 550" "$(rcpt "sl95new-x@$DOM")" 550
check_eq "useradd: user+tag without a delimiter: 550" "$(rcpt "sl95new+tag@$DOM")" 550
echo + > "$H/control/recipientdelimiter"
check_eq "useradd: user+tag with the delimiter +: 250" "$(rcpt "sl95new+tag@$DOM")" 250
rm -f "$H/control/recipientdelimiter"
check_eq "account without its home: 550" "$(rcpt "sl95nh@$DOM")" 550
check_eq "account whose home is not its own: 550" "$(rcpt "sl95ow@$DOM")" 550
check_eq "root: 550" "$(rcpt "root@$DOM")" 550
chown sl95ow "$homes"

# --- 4: delivered ---
start_set
check "sluice-start running" kill -0 "$spid"
printf 'HELO t\r\nMAIL FROM:<x@y.example>\r\nRCPT TO:<sl95new@%s>\r\nDATA\r\nSubject: r95-new\r\n\r\nhello\r\n.\r\nQUIT\r\n' "$DOM" |
  as "$U_DAEMON" env -i PATH=/usr/bin:/bin TCPREMOTEIP=127.0.0.1 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 PROTO=TCP \
    TCPREMOTEHOST=localhost "$H/bin/sluice-smtpd" 2> /dev/null | tr -d '\r' > "$T/session"
check "the message accepted (250 after DATA)" grep -q '^250 2.0.0' "$T/session"
got() { grep -lq '^Subject: r95-new$' "$(home_of sl95new)"/Maildir/new/* 2> /dev/null && queue_empty; }
check "delivered to the new account" wait_for 60 got

end_checks mess info local todo intd bounce
done_testing
