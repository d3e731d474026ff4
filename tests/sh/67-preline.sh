#!/bin/sh
# 67-preline.sh: preline (preline(1)) as .qmail programs use it, in an
# installed private instance (inst_fresh: tools/setup puts it in
# conf-home/bin). sluice-local, as installed, is run as sluice-lspawn
# runs it (as a test user, in the user's home, the message on fd 0,
# the result on fd 1), so the program lines find preline through the
# PATH sluice-local gives them (conf-home/bin first).
#
#  - setup installed conf-home/bin/preline, root-owned, mode 755;
#  - `|preline procmail` with a ~/.procmailrc writing an mbox: exactly
#    one From_ line (preline's, with the envelope sender), then the
#    Return-Path and Delivered-To lines, then the message; the body
#    read back (Python's mailbox) is the original; a second delivery
#    with the empty sender gets "From MAILER-DAEMON";
#  - `|preline -f procmail RCFILE` writing a Maildir: Return-Path and
#    Delivered-To on top, no From_ line, the message intact;
#  - the options with cat: all three lines in the order From_,
#    Return-Path, Delivered-To, then the message byte for byte; -d, -f,
#    -r, -dfr each leave their line out, -D puts one back, "--" ends
#    the options and the command's own options stay its own;
#  - exit codes as sluice-local maps them: the command's 100 (D), 111
#    (Z), 99 (K, the next line skipped), 0 (K); procmail's EXITCODE=100
#    passed through (D); a command that is killed (Z "killed by
#    signal"), one not found (Z "not found in PATH"); no command, an
#    unknown option, UFLINE unset (100, D); a command that stops
#    reading a 2 MB message early: its exit code decides.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

PATH=$PATH:/usr/sbin:/sbin
export PATH
for tool in procmail python3 setpriv useradd; do
  command -v "$tool" > /dev/null 2>&1 || { bad "tool $tool is missing (apt-get install procmail python3 util-linux passwd)"; done_testing; }
done

L=$H/bin/sluice-local
U=sluicepl$$
HOMEDIR=$T/home
trap 'userdel "$U" > /dev/null 2>&1; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
useradd -m -d "$HOMEDIR" -s /bin/sh "$U" || { bad "useradd $U"; done_testing; }
chmod 755 "$HOMEDIR"
UID_U=$(id -u "$U")
as_user() { setpriv --reuid="$UID_U" --regid="$(id -g "$U")" --init-groups "$@"; }
DOM=example.org
SENDER=alice@example.net

# put NAME CONTENT: a file in the home owned by the user, mode 644.
put() { printf '%s' "$2" > "$HOMEDIR/$1"; chown "$U" "$HOMEDIR/$1"; chmod 644 "$HOMEDIR/$1"; }
# deliver EXT [SENDER]: sluice-local for $U-EXT on $T/msg; the result in
# $res, the exit code in $rc.
deliver() {
  (cd "$HOMEDIR" && as_user "$L" "$U" "$HOMEDIR" "$U-$1" - "$1" "$DOM" "${2-$SENDER}" ./Maildir/ \
     < "$T/msg" > "$T/res" 2> "$T/log")
  rc=$?
  res=$(cat "$T/res")
}
expect() {
  check_eq "$1: result letter" "$(printf '%s' "$res" | cut -c1)" "$2"
  check_eq "$1: exit code" "$rc" "$3"
  if [ -n "${4-}" ]; then
    case $res in *"$4"*) ok "$1: text" ;; *) bad "$1: text" "got [$res] want [$4]" ;; esac
  fi
}

# the installed program
check_eq "setup installed bin/preline (root, 755)" "$(stat -c '%U %a' "$H/bin/preline" 2> /dev/null)" "root 755"

# The message as sluice-queue leaves it: its Received line first; a
# body with lines an mbox must quote.
body='Hello,

From the start: this line must be quoted in an mbox.
>From quoted already.
The end.
'
printf 'Received: (sluice 1 invoked by uid 0); Sun, 22 Nov 2026 03:04:32 +0000\nFrom: alice@example.net\nSubject: preline test\n\n%s' "$body" > "$T/msg"
printf '%s' "$body" > "$T/body"
chmod 600 "$T/msg"
rp() { printf 'Return-Path: <%s>\n' "${1-$SENDER}"; }
dt() { printf 'Delivered-To: %s@%s\n' "$U-$1" "$DOM"; }
fromline_ok() {
  case $1 in
    "From $2 "[A-Z][a-z][a-z]" "[A-Z][a-z][a-z]" "[\ 1-3][0-9]" "[0-2][0-9]:[0-5][0-9]:[0-6][0-9]" "[0-9][0-9][0-9][0-9]) return 0 ;;
  esac
  return 1
}

cat > "$T/rd.py" <<'PY'
import email, mailbox, sys
kind, path, cmd = sys.argv[1], sys.argv[2], sys.argv[3]
box = mailbox.Maildir(path, factory=None, create=False) if kind == "maildir" else mailbox.mbox(path, factory=None, create=False)
keys = sorted(box.keys())
if cmd == "count":
    print(len(keys))
    sys.exit(0)
raw = box.get_bytes(keys[int(sys.argv[4])])
if cmd == "body":
    m = email.message_from_bytes(raw)
    sys.stdout.buffer.write(m.get_payload().encode("ascii", "surrogateescape"))
elif cmd == "raw":
    sys.stdout.buffer.write(raw)
PY
rd() { python3 "$T/rd.py" "$@"; }

# --- 1. |preline procmail into an mbox ---
put .procmailrc 'MAILDIR=$HOME
LOGFILE=$HOME/procmail.log
:0:
pm.mbox
'
put .qmail-pm '|preline procmail
'
deliver pm
expect "preline procmail" K 0
MB=$HOMEDIR/pm.mbox
# procmail writes the mbox the traditional way: a body line starting
# "From " gets a ">", nothing else changes (">From" stays as it is)
mboxo() { sed 's/^From />From /'; }
check_eq "procmail mbox: exactly one From_ line" "$(grep -c '^From ' "$MB" 2> /dev/null)" 1
l1=$(sed -n 1p "$MB" 2> /dev/null)
if fromline_ok "$l1" "$SENDER"; then ok "procmail mbox: From_ line first, envelope sender"; else bad "procmail mbox: From_ line first, envelope sender" "$l1"; fi
check_eq "procmail mbox: Return-Path second" "$(sed -n 2p "$MB" 2> /dev/null)" "$(rp)"
check_eq "procmail mbox: Delivered-To third" "$(sed -n 3p "$MB" 2> /dev/null)" "$(dt pm)"
check_eq "procmail mbox: one Return-Path" "$(grep -c '^Return-Path:' "$MB" 2> /dev/null)" 1
check_eq "procmail mbox: one Delivered-To" "$(grep -c '^Delivered-To:' "$MB" 2> /dev/null)" 1
{ rp; dt pm; mboxo < "$T/msg"; echo; } > "$T/want"
sed 1d "$MB" > "$T/got"
check "procmail mbox: the lines, then the message (From_ quoted), then a blank line" cmp -s "$T/got" "$T/want"
check_eq "procmail mbox: python reads one message" "$(rd mbox "$MB" count)" 1
rd mbox "$MB" body 0 > "$T/got"
mboxo < "$T/body" > "$T/want"
check "procmail mbox: body intact (as quoted in an mbox)" cmp -s "$T/got" "$T/want"
deliver pm ""
expect "preline procmail, bounce sender" K 0
check_eq "procmail mbox: two messages" "$(rd mbox "$MB" count)" 2
check_eq "procmail mbox: two From_ lines for two messages" "$(grep -c '^From ' "$MB")" 2
l2=$(grep '^From ' "$MB" | sed -n 2p)
if fromline_ok "$l2" MAILER-DAEMON; then ok "procmail mbox: bounce From_ is MAILER-DAEMON"; else bad "procmail mbox: bounce From_ is MAILER-DAEMON" "$l2"; fi
check "procmail mbox: bounce Return-Path <>" grep -qx 'Return-Path: <>' "$MB"

# --- 2. |preline -f procmail RCFILE into a Maildir ---
(cd "$HOMEDIR" && as_user "$H/bin/sluice-maildirmake" PmMaildir) || bad "maildirmake PmMaildir"
put md.rc 'MAILDIR=$HOME
LOGFILE=$HOME/procmail.log
:0
PmMaildir/
'
put .qmail-pmd '|preline -f procmail ./md.rc
'
deliver pmd
expect "preline -f procmail (Maildir)" K 0
check_eq "procmail Maildir: one message" "$(ls "$HOMEDIR/PmMaildir/new" | wc -l)" 1
f=$(ls "$HOMEDIR/PmMaildir/new" | head -n 1)
check_eq "procmail Maildir: Return-Path first" "$(sed -n 1p "$HOMEDIR/PmMaildir/new/$f")" "$(rp)"
check_eq "procmail Maildir: Delivered-To second" "$(sed -n 2p "$HOMEDIR/PmMaildir/new/$f")" "$(dt pmd)"
check_eq "procmail Maildir: one From_-like line, the body's" "$(grep -c '^From ' "$HOMEDIR/PmMaildir/new/$f")" 1
{ rp; dt pmd; cat "$T/msg"; } > "$T/want"
check "procmail Maildir: the lines and the message, byte for byte" cmp -s "$HOMEDIR/PmMaildir/new/$f" "$T/want"

# --- 3. the options, with cat ---
put .qmail-opt '|preline cat > all.out
|preline -d cat > d.out
|preline -f cat > f.out
|preline -r cat > r.out
|preline -dfr cat > none.out
|preline -dfr -D cat > dd.out
|preline -fr -- sh -c "cat > sh.out" -f
'
deliver opt
expect "options" K 0 "program 7"
o() { cat "$HOMEDIR/$1" 2> /dev/null; }
l1=$(o all.out | sed -n 1p)
if fromline_ok "$l1" "$SENDER"; then ok "no option: From_ line first"; else bad "no option: From_ line first" "$l1"; fi
{ rp; dt opt; cat "$T/msg"; } > "$T/want"
o all.out | sed 1d > "$T/got"
check "no option: Return-Path, Delivered-To, message" cmp -s "$T/got" "$T/want"
o d.out | sed 1d > "$T/got"
{ rp; cat "$T/msg"; } > "$T/want"
check "-d: no Delivered-To" cmp -s "$T/got" "$T/want"
check_eq "-d: From_ line kept" "$(o d.out | head -c 5)" "From "
{ rp; dt opt; cat "$T/msg"; } > "$T/want"
o f.out > "$T/got"
check "-f: no From_ line" cmp -s "$T/got" "$T/want"
{ dt opt; cat "$T/msg"; } > "$T/want"
o r.out | sed 1d > "$T/got"
check "-r: no Return-Path" cmp -s "$T/got" "$T/want"
o none.out > "$T/got"
check "-dfr: the message alone" cmp -s "$T/got" "$T/msg"
{ dt opt; cat "$T/msg"; } > "$T/want"
o dd.out > "$T/got"
check "-dfr -D: Delivered-To back" cmp -s "$T/got" "$T/want"
o sh.out > "$T/got"
check "--: the command's own options stay its own" cmp -s "$T/got" "$T/want"

# --- 4. exit codes ---
(cd "$HOMEDIR" && as_user "$H/bin/sluice-maildirmake" Mx) || bad "maildirmake Mx"
nx() { ls "$HOMEDIR/Mx/new" | wc -l | tr -d ' '; }
put .qmail-e100 '|preline sh -c "cat > /dev/null; echo no such list; exit 100"
'
deliver e100
expect "command exits 100" D 100 "no such list"
put .qmail-e111 '|preline sh -c "cat > /dev/null; echo try later >&2; exit 111"
'
deliver e111
expect "command exits 111" Z 111 "try later"
put .qmail-e99 '|preline sh -c "cat > /dev/null; exit 99"
./Mx/
'
deliver e99
expect "command exits 99" K 0
check_eq "exit 99: the next line skipped" "$(nx)" 0
put .qmail-e0 '|preline sh -c "cat > /dev/null; exit 0"
./Mx/
'
deliver e0
expect "command exits 0" K 0
check_eq "exit 0: the next line done" "$(nx)" 1
put pm100.rc 'EXITCODE=100
:0
/dev/null
'
put .qmail-pm100 '|preline procmail ./pm100.rc
'
deliver pm100
expect "procmail EXITCODE=100 passed through" D 100
put .qmail-kill '|preline sh -c "kill -9 \$\$"
'
deliver kill
expect "command killed" Z 111 "killed by signal 9"
put .qmail-nf '|preline no-such-command-67
'
deliver nf
expect "command not found" Z 111 "no-such-command-67: not found in PATH"
put .qmail-nocmd '|preline -f
'
deliver nocmd
expect "no command" D 100 "usage: preline"
put .qmail-badopt '|preline -x cat
'
deliver badopt
expect "unknown option" D 100 "unknown option -x"
put .qmail-nouf '|env -u UFLINE preline cat > /dev/null
'
deliver nouf
expect "UFLINE unset" D 100 "UFLINE is not set"
put .qmail-nouf2 '|env -u UFLINE preline -f cat > nouf.out
'
deliver nouf2
expect "UFLINE unset, but -f" K 0
# a command that stops reading early: its exit code decides
{ head -n 3 "$T/msg"; printf '\n'; i=0; while [ $i -lt 2048 ]; do head -c 1023 /dev/zero | tr '\0' x; echo; i=$((i + 1)); done; } > "$T/big"
chmod 600 "$T/big"
cp "$T/msg" "$T/msg.small"
cp "$T/big" "$T/msg"
put .qmail-early0 '|preline sh -c "head -c 10 > /dev/null; exit 0"
./Mx/
'
deliver early0
expect "stops reading, exit 0" K 0
check_eq "stops reading, exit 0: the next line done" "$(nx)" 2
put .qmail-early5 '|preline sh -c "head -c 10 > /dev/null; exit 5"
'
deliver early5
expect "stops reading, exit 5" Z 111 "program exited 5"
put .qmail-bigcat '|preline -fr cat > big.out
'
deliver bigcat
expect "2 MB message" K 0
{ dt bigcat; cat "$T/big"; } > "$T/want"
check "2 MB message: passes intact" cmp -s "$HOMEDIR/big.out" "$T/want"
cp "$T/msg.small" "$T/msg"

done_testing
