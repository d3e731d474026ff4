#!/bin/sh
# 81-newmrh.sh: sluice-newmrh compiles control/morercpthosts into
# control/morercpthosts.cdb (sluice-newmrh(8)), and sluice-smtpd accepts
# mail for its domains from clients without RELAYCLIENT:
#  1. entries are stored lower-cased, trailing dots dropped, comments and
#     blank lines skipped; the cdb is mode 0644, no .tmp is left;
#  2. sluice-smtpd (driven on stdin/stdout as tcpserver would run it,
#     without RELAYCLIENT and with an empty rcpthosts) answers 250 for the
#     exact domain and for a subdomain of a .suffix entry, 553 for others;
#  3. a bad entry (white space, '@') or a missing source: exit 100, the
#     old cdb byte for byte unchanged.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh
CDBTOOL=$BIN/tests/cdbtool
C=$H/control

printf '# accepted domains\nExample.ORG\n\n  .Sub.Test.  \nplain.test.\n' > "$C/morercpthosts"
check "sluice-newmrh compiles" "$H/bin/sluice-newmrh"
check "key example.org" "$CDBTOOL" get "$C/morercpthosts.cdb" example.org
check "key .sub.test" "$CDBTOOL" get "$C/morercpthosts.cdb" .sub.test
check "key plain.test (trailing dot dropped)" "$CDBTOOL" get "$C/morercpthosts.cdb" plain.test
check_fail "no key for the comment" "$CDBTOOL" get "$C/morercpthosts.cdb" "# accepted domains"
check_fail "no upper-case key" "$CDBTOOL" get "$C/morercpthosts.cdb" Example.ORG
check_eq "cdb mode" "$(stat -c %a "$C/morercpthosts.cdb")" 644
check_fail "no .tmp left" test -e "$C/morercpthosts.cdb.tmp"

# sluice-smtpd as tcpserver runs it, for a client without RELAYCLIENT
: > "$C/rcpthosts"
echo mx.test > "$C/me"
smtp() {
  printf 'EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@%s>\r\nQUIT\r\n' "$1" |
    env -i TCPREMOTEIP=192.0.2.9 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 TCPLOCALHOST=mx.test \
      QMAILQUEUE=/bin/false timeout 10 "$H/bin/sluice-smtpd" 2> /dev/null |
    grep -E '^(250|553) ' | sed -n '3p' | cut -c1-3
}
check_eq "RCPT for example.org" "$(smtp example.org)" 250
check_eq "RCPT for EXAMPLE.org (case)" "$(smtp EXAMPLE.org)" 250
check_eq "RCPT for a.b.sub.test (suffix)" "$(smtp a.b.sub.test)" 250
check_eq "RCPT for sub.test itself (a suffix entry is not the domain)" "$(smtp sub.test)" 553
check_eq "RCPT for other.test" "$(smtp other.test)" 553

cp "$C/morercpthosts.cdb" "$T/old.cdb"
printf 'good.test\nbad host.test\n' > "$C/morercpthosts"
"$H/bin/sluice-newmrh" 2> "$T/err"
check_eq "white space: exit 100" "$?" 100
check "the message names the entry" grep -q 'entry 2 is not a domain' "$T/err"
check "old cdb kept" cmp -s "$T/old.cdb" "$C/morercpthosts.cdb"
printf 'user@good.test\n' > "$C/morercpthosts"
"$H/bin/sluice-newmrh" 2> /dev/null
check_eq "'@': exit 100" "$?" 100
rm -f "$C/morercpthosts"
"$H/bin/sluice-newmrh" 2> /dev/null
check_eq "missing source: exit 100" "$?" 100
check "old cdb still kept" cmp -s "$T/old.cdb" "$C/morercpthosts.cdb"
done_testing
