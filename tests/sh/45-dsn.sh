#!/bin/sh
# 45-dsn.sh: bounces built by the dsn module (through build/tests/dsnmake)
# parse with Python's email package as RFC 3464 reports (tests/dsncheck.py)
# and as QSBMF, whatever the diagnostic texts and original headers hold.
. "$(dirname "$0")/../lib.sh"

MAKE=$TOP/build/tests/dsnmake
CHECKER="python3 $TOP/tests/dsncheck.py"

if [ ! -x "$MAKE" ]; then
  bad "dsnmake" "$MAKE missing (make units builds it)"
  done_testing
fi
if ! command -v python3 >/dev/null 2>&1; then
  bad "python3" "python3 is needed to check the bounces"
  done_testing
fi

printf 'Received: (sluice 4242 invoked by uid 1000); 22 Nov 2024 01:46:40 -0000\nFrom: alice@example.com\nTo: bob@x.example\nSubject: hello\n\nbody line\n' > "$T/orig"

# one recipient, SMTP diagnostic and remote MTA
got=$("$MAKE" -m mx.x.example bob@x.example '5.1.1 user unknown' < "$T/orig" | $CHECKER 2>&1)
check_eq "one recipient" "$got" "bob@x.example 5.1.1 failed"

# three recipients: status from the text, 5.0.0, and 4.0.0 after expiry
"$MAKE" a@one.example '5.2.2 mailbox full' b@two.example 'no such user' < "$T/orig" > "$T/b3" &&
got=$($CHECKER < "$T/b3" 2>&1)
check_eq "two recipients" "$got" "a@one.example 5.2.2 failed
b@two.example 5.0.0 failed"
got=$("$MAKE" -e -x a@one.example 'connection refused' b@two.example '4.4.7 too old' c@three.example '' < "$T/orig" | $CHECKER 2>&1)
check_eq "expired" "$got" "a@one.example 4.0.0 failed
b@two.example 4.4.7 failed
c@three.example 4.0.0 failed"

# a double bounce to the postmaster
"$MAKE" -D -s '' -t postmaster@mx.example.org alice@example.com '5.1.1 gone' < "$T/orig" > "$T/db"
got=$($CHECKER < "$T/db" 2>&1)
check_eq "double bounce" "$got" "alice@example.com 5.1.1 failed"
check "double bounce subject" grep -qx 'Subject: Undeliverable bounce' "$T/db"
check "double bounce to" grep -qx 'To: <postmaster@mx.example.org>' "$T/db"

# hostile diagnostic: CR, LF, escape and 8-bit bytes
nasty=$(printf '5.7.1 bad\r\nBcc: evil@x\r\n\033[31m\377\376 end')
"$MAKE" bob@x.example "$nasty" < "$T/orig" > "$T/hostile"
got=$($CHECKER < "$T/hostile" 2>&1)
check_eq "hostile diagnostic" "$got" "bob@x.example 5.7.1 failed"
check_fail "no CR" grep -q "$(printf '\r')" "$T/hostile"
check "diagnostic on one line" grep -qx 'Diagnostic-Code: smtp; 5.7.1 bad Bcc: evil@x ?\[31m?? end' "$T/hostile"

# the boundary candidate inside the original header, and no header end
printf 'Received: (sluice 1 invoked); x\nX-Trap: --=_sluice_1732245872.12345.67890\n--=_sluice_1732245872.12345.67890--\nSubject: no body' > "$T/trap"
"$MAKE" bob@x.example '5.1.1 gone' < "$T/trap" > "$T/trapped"
got=$($CHECKER < "$T/trapped" 2>&1)
check_eq "boundary clash" "$got" "bob@x.example 5.1.1 failed"
check_fail "boundary varied" grep -q 'boundary="=_sluice_1732245872.12345.67890"' "$T/trapped"

# a long diagnostic is cut to keep lines within 998 bytes
long=$(awk 'BEGIN { s = "5.3.4 "; for (i = 0; i < 3000; i++) s = s "x"; print s }')
"$MAKE" bob@x.example "$long" < "$T/orig" > "$T/long"
got=$($CHECKER < "$T/long" 2>&1)
check_eq "long diagnostic" "$got" "bob@x.example 5.3.4 failed"
max=$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T/long")
check "line length" [ "$max" -le 998 ]

# QSBMF
"$MAKE" -q a@one.example '5.1.1 Sorry, no mailbox here by that name.' b@two.example "$(printf 'timed out\n\nwhile connecting')" < "$T/orig" > "$T/q"
got=$($CHECKER --qsbmf < "$T/q" 2>&1)
check_eq "qsbmf" "$got" "a@one.example 5.1.1
b@two.example 5.0.0"
check "qsbmf break line" grep -qx -- '--- Below this line is a copy of the message.' "$T/q"
check "qsbmf copy" sh -c "tail -n 6 '$T/q' | cmp -s - '$T/orig'"
check_fail "qsbmf is no RFC 3464 report" sh -c "$CHECKER < '$T/q' 2>/dev/null"

# the checker refuses a broken report
sed 's/^Status: 5.2.2$/Status: nine/' "$T/b3" > "$T/broken"
check_fail "checker refuses a bad status" sh -c "$CHECKER < '$T/broken' >/dev/null 2>&1"

done_testing
