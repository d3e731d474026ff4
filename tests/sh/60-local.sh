#!/bin/sh
# 60-local.sh: sluice-local run directly, as sluice-lspawn runs it: as
# a test user (setpriv), in the user's home, the message on fd 0, the
# result on fd 1 (sluice-local(8), dot-qmail(5)). Mailboxes are read
# back with real readers (mblaze for Maildirs, Python's mailbox module
# for Maildirs and mboxes) and compared byte for byte.
#
#  - default delivery to ./Maildir/ without .qmail; a Maildir line; an
#    mbox line twice (From_ quoting, two messages); ENOSPC on an mbox;
#  - a program line: its uid, environment (built from scratch: a fixed
#    PATH, conf-home/bin first, nothing of the caller's but QMAILQUEUE) and stdin; exit codes
#    0, 99, 100, 111, 64 and a crash; the time limit (TIMEOUT 2): a
#    program and its background child killed, Z, within a few seconds;
#  - forwards through QMAILQUEUE (a stand-in that saves message and
#    envelope), the owner and VERP senders, bounces keep their sender,
#    injector exit codes;
#  - .qmail-ext and -default chains with DEFAULT, case and '.' folding;
#    a missing extension file (D 5.1.1); empty and comment-only files;
#  - loop detection (D 5.4.6); a read-only Maildir (Z, nothing in new/);
#    world-writable or group-writable .qmail or home, sticky home,
#    blank first line (Z);
#  - sluice-maildirmake.
. "$(dirname "$0")/../lib.sh"
need_root
inst_build

PATH=$PATH:/usr/sbin:/sbin
export PATH
for tool in mlist mhdr python3 setpriv useradd; do
  command -v "$tool" >/dev/null 2>&1 || bad "tool $tool is missing (apt-get install mblaze python3 util-linux passwd)"
done

# The programs in a directory every user can reach.
mkdir "$T/bin" && cp "$BIN/sluice-local" "$BIN/sluice-maildirmake" "$T/bin/" && chmod 755 "$T/bin" "$T/bin/"*
L=$T/bin/sluice-local

U=sluicelt$$
HOMEDIR=$T/home
trap 'userdel "$U" >/dev/null 2>&1; rm -rf "$T"' EXIT
useradd -m -d "$HOMEDIR" -s /bin/sh "$U" || { bad "useradd $U"; done_testing; }
chmod 755 "$HOMEDIR"
UID_U=$(id -u "$U")
as_user() { setpriv --reuid="$UID_U" --regid="$(id -g "$U")" --init-groups "$@"; }
DOM=example.org
SENDER=alice@example.net

# qm NAME CONTENT: a .qmail file owned by the user, mode 644.
qm() { printf '%s' "$2" > "$HOMEDIR/$1"; chown "$U" "$HOMEDIR/$1"; chmod 644 "$HOMEDIR/$1"; }
mkmd() { (cd "$HOMEDIR" && as_user "$T/bin/sluice-maildirmake" "$1"); }

# deliver LOCAL DASH EXT [SENDER]: runs sluice-local on $T/msg; the
# result in $res, the exit code in $rc.
deliver() {
  (cd "$HOMEDIR" && as_user "$L" "$U" "$HOMEDIR" "$1" "$2" "$3" "$DOM" "${4-$SENDER}" ./Maildir/ \
     < "$T/msg" > "$T/res" 2> "$T/log")
  rc=$?
  res=$(cat "$T/res")
}
kind() { printf '%s' "$res" | cut -c1; }
# expect NAME KIND RC [TEXT]: checks the last result.
expect() {
  check_eq "$1: result letter" "$(kind)" "$2"
  check_eq "$1: exit code" "$rc" "$3"
  if [ -n "${4-}" ]; then
    case $res in *"$4"*) ok "$1: text" ;; *) bad "$1: text" "got [$res] want [$4]" ;; esac
  fi
}

cat > "$T/rd.py" <<'PY'
import email, mailbox, sys
kind, path, cmd = sys.argv[1], sys.argv[2], sys.argv[3]
box = mailbox.Maildir(path, factory=None, create=False) if kind == "maildir" else mailbox.mbox(path, factory=None, create=False)
keys = list(box.keys())
if kind == "maildir":
    keys.sort()
if cmd == "count":
    print(len(keys))
    sys.exit(0)
i = int(sys.argv[4])
raw = box.get_bytes(keys[i])
if cmd == "raw":
    sys.stdout.buffer.write(raw)
elif cmd == "body":
    m = email.message_from_bytes(raw)
    sys.stdout.buffer.write(m.get_payload().encode("ascii", "surrogateescape"))
elif cmd == "from":
    print(box.get_message(keys[i]).get_from())
elif cmd == "header":
    print(email.message_from_bytes(raw)[sys.argv[5]])
PY
rd() { python3 "$T/rd.py" "$@"; }

# The message as sluice-queue leaves it: its Received line first.
body1='Hello,

From the start: this line must be quoted in an mbox.
>From quoted already, quoted once more.
Not From here.
The end.
'
printf 'Received: (sluice 1 invoked by uid 0); Sun, 22 Nov 2026 03:04:32 +0000\nFrom: alice@example.net\nSubject: test\n\n%s' "$body1" > "$T/msg"
printf '%s' "$body1" > "$T/body1"
chmod 600 "$T/msg"   # fd 0 is opened before the uid changes
# want: what a file delivery writes for the recipient $1
want() { printf 'Return-Path: <%s>\nDelivered-To: %s@%s\n' "${2-$SENDER}" "$1" "$DOM"; cat "$T/msg"; }

# sluice-maildirmake
mkmd Maildir
check "maildirmake: tmp new cur" test -d "$HOMEDIR/Maildir/tmp" -a -d "$HOMEDIR/Maildir/new" -a -d "$HOMEDIR/Maildir/cur"
check_eq "maildirmake: mode 700" "$(stat -c %a "$HOMEDIR/Maildir" "$HOMEDIR/Maildir/new")" "700
700"
check_eq "maildirmake: owner" "$(stat -c %U "$HOMEDIR/Maildir")" "$U"
mkmd Maildir 2> "$T/mm.err"
check_eq "maildirmake: existing dir refused" "$?" 111
check "maildirmake: says why" grep -q "already exists" "$T/mm.err"
"$T/bin/sluice-maildirmake" 2> /dev/null
check_eq "maildirmake: usage" "$?" 64

# 1. default delivery (no .qmail)
deliver "$U" "" ""
expect "default delivery" K 0
check_eq "default: one message (mblaze)" "$(mlist "$HOMEDIR/Maildir" | wc -l)" 1
f=$(mlist "$HOMEDIR/Maildir")
check_eq "default: Delivered-To (mblaze)" "$(mhdr -h delivered-to "$f")" "$U@$DOM"
check_eq "default: Return-Path (mblaze)" "$(mhdr -h return-path "$f")" "<$SENDER>"
check_eq "default: one message (python)" "$(rd maildir "$HOMEDIR/Maildir" count)" 1
want "$U" > "$T/want"
rd maildir "$HOMEDIR/Maildir" raw 0 > "$T/got"
check "default: file = headers + message" cmp -s "$T/got" "$T/want"
rd maildir "$HOMEDIR/Maildir" body 0 > "$T/got"
check "default: body byte for byte" cmp -s "$T/got" "$T/body1"
check_eq "default: file owned by the user" "$(stat -c %U "$f")" "$U"
case ${f##*/} in
  [0-9]*.M[0-9]*P[0-9]*V[0-9]*I[0-9]*.*) ok "default: unique name form" ;;
  *) bad "default: unique name form" "${f##*/}" ;;
esac
check_eq "default: tmp/ empty" "$(ls "$HOMEDIR/Maildir/tmp" | wc -l)" 0

# 2. a Maildir line
mkmd Mail2
qm .qmail "# my mail
./Mail2/
"
deliver "$U" "" ""
expect "maildir line" K 0
check_eq "maildir line: delivered there" "$(mlist "$HOMEDIR/Mail2" | wc -l)" 1
check_eq "maildir line: not to the default" "$(mlist "$HOMEDIR/Maildir" | wc -l)" 1
rd maildir "$HOMEDIR/Mail2" raw 0 > "$T/got"
check "maildir line: file = headers + message" cmp -s "$T/got" "$T/want"

# 3. mbox, twice
qm .qmail-mb "./mbox
"
deliver "$U-mb" "-" "mb"
expect "mbox 1" K 0
deliver "$U-mb" "-" "mb" ""
expect "mbox 2 (bounce sender)" K 0
check_eq "mbox: two messages (python)" "$(rd mbox "$HOMEDIR/mbox" count)" 2
quote() { sed 's/^\(>*From \)/>\1/'; }
want "$U-mb" | quote > "$T/want"
rd mbox "$HOMEDIR/mbox" raw 0 > "$T/got"
check "mbox 1: headers + message, From quoted" cmp -s "$T/got" "$T/want"
want "$U-mb" "" | quote > "$T/want"
rd mbox "$HOMEDIR/mbox" raw 1 > "$T/got"
check "mbox 2: headers + message, From quoted" cmp -s "$T/got" "$T/want"
rd mbox "$HOMEDIR/mbox" body 0 | sed 's/^>\(>*From \)/\1/' > "$T/got"
check "mbox: body unquotes to the original" cmp -s "$T/got" "$T/body1"
check "mbox: one > added" grep -q '^>From the start' "$HOMEDIR/mbox"
check "mbox: one > added to >From" grep -q '^>>From quoted' "$HOMEDIR/mbox"
check "mbox: inner From untouched" grep -q '^Not From here' "$HOMEDIR/mbox"
from1=$(rd mbox "$HOMEDIR/mbox" from 0)
case $from1 in
  "$SENDER "[A-Z][a-z][a-z]" "[A-Z][a-z][a-z]" "[\ 1-3][0-9]" "[0-2][0-9]:[0-5][0-9]:[0-6][0-9]" "[0-9][0-9][0-9][0-9]) ok "mbox: From_ line" ;;
  *) bad "mbox: From_ line" "$from1" ;;
esac
check_eq "mbox: bounce From_ is MAILER-DAEMON" "$(rd mbox "$HOMEDIR/mbox" from 1 | cut -d' ' -f1)" MAILER-DAEMON
check_eq "mbox: ends with a blank line" "$(tail -c 2 "$HOMEDIR/mbox" | od -An -c | tr -d ' ')" '\n\n'
check_eq "mbox: mode 600" "$(stat -c %a "$HOMEDIR/mbox")" 600
# a full disk is a temporary failure
qm .qmail-full "/dev/full
"
deliver "$U-full" "-" "full"
expect "mbox on a full disk" Z 111 "No space left"

# 4. a program line
qm .qmail-prog '|id -u > prog.uid; env > prog.env; cat > prog.in
'
SLUICE_LSAFE_MARKER=leak60
QMAILQUEUE=/nonexistent/qq
export SLUICE_LSAFE_MARKER QMAILQUEUE
deliver "$U-prog" "-" "prog"
unset SLUICE_LSAFE_MARKER QMAILQUEUE
expect "program" K 0
check_eq "program: runs as the user" "$(cat "$HOMEDIR/prog.uid")" "$UID_U"
envis() { check_eq "program env $1" "$(grep "^$1=" "$HOMEDIR/prog.env" | head -n 1)" "$1=$2"; }
envis SENDER "$SENDER"
envis NEWSENDER "$SENDER"
envis RECIPIENT "$U-prog@$DOM"
envis USER "$U"
envis HOME "$HOMEDIR"
envis HOST "$DOM"
envis HOST2 example
envis LOCAL "$U-prog"
envis EXT prog
envis EXT2 ""
envis RPLINE "Return-Path: <$SENDER>"
envis DTLINE "Delivered-To: $U-prog@$DOM"
check "program env UFLINE" grep -q "^UFLINE=From $SENDER [A-Z][a-z][a-z] " "$HOMEDIR/prog.env"
check_fail "program env: no DEFAULT" grep -q '^DEFAULT=' "$HOMEDIR/prog.env"
envis PATH "$H/bin:/usr/local/bin:/usr/bin:/bin"
envis QMAILQUEUE /nonexistent/qq
check_fail "program env: nothing else of the caller's" grep -q 'SLUICE_LSAFE_MARKER\|leak60' "$HOMEDIR/prog.env"
check "program: stdin = the message as queued (qmail: no header lines added)" cmp -s "$HOMEDIR/prog.in" "$T/msg"

# exit codes
mkmd Mex
qm .qmail-ex0 '|exit 0
./Mex/
'
deliver "$U-ex0" - ex0
expect "exit 0" K 0
check_eq "exit 0: next line done" "$(mlist "$HOMEDIR/Mex" | wc -l)" 1
qm .qmail-ex99 '|exit 99
./Mex/
'
deliver "$U-ex99" - ex99
expect "exit 99" K 0
check_eq "exit 99: next lines skipped" "$(mlist "$HOMEDIR/Mex" | wc -l)" 1
qm .qmail-ex100 '|echo no such list; exit 100
./Mex/
'
deliver "$U-ex100" - ex100
expect "exit 100" D 100 "no such list"
check_eq "exit 100: stops" "$(mlist "$HOMEDIR/Mex" | wc -l)" 1
qm .qmail-ex111 '|echo try later >&2; exit 111
'
deliver "$U-ex111" - ex111
expect "exit 111" Z 111 "try later"
qm .qmail-ex64 '|exit 64
'
deliver "$U-ex64" - ex64
expect "exit 64" D 100 "exited 64"
qm .qmail-slow '|sleep 100 & echo $! > slow.pid; sleep 100
./Mex/
'
t0=$(date +%s)
(cd "$HOMEDIR" && as_user "$L" "$U" "$HOMEDIR" "$U-slow" - slow "$DOM" "$SENDER" ./Maildir/ 2 \
   < "$T/msg" > "$T/res" 2> "$T/log")
rc=$?; res=$(cat "$T/res")
t1=$(date +%s)
expect "time limit" Z 111 "4.3.0 program did not finish within 2 seconds"
if [ $((t1 - t0)) -le 5 ]; then ok "time limit: ended in time"; else bad "time limit: ended in time" "$((t1 - t0)) s"; fi
check_eq "time limit: next line not done" "$(mlist "$HOMEDIR/Mex" | wc -l)" 1
gone() { ! kill -0 "$1" 2> /dev/null || [ "$(ps -o stat= -p "$1" | cut -c1)" = Z ]; }
check "time limit: the background child is gone too" gone "$(cat "$HOMEDIR/slow.pid")"
(cd "$HOMEDIR" && as_user "$L" "$U" "$HOMEDIR" "$U-ex0" - ex0 "$DOM" "$SENDER" ./Maildir/ 0 \
   < "$T/msg" > "$T/res" 2> "$T/log")
rc=$?; res=$(cat "$T/res")
expect "TIMEOUT 0 refused" Z 111 "TIMEOUT"
qm .qmail-crash '|kill -9 $$
'
deliver "$U-crash" - crash
expect "crash" Z 111 "crashed"
check_eq "result: one line, no newline" "$(wc -l < "$T/res")" 0

# 5. forwards, through a stand-in for sluice-queue
cat > "$T/bin/fakeq" <<SH
#!/bin/sh
cat >> "$HOMEDIR/fq.msg" || exit 81
cat <&1 >> "$HOMEDIR/fq.env" || exit 81
exit "\$(cat "$HOMEDIR/fq.exit" 2>/dev/null || echo 0)"
SH
chmod 755 "$T/bin/fakeq"
QMAILQUEUE=$T/bin/fakeq
export QMAILQUEUE
mkmd Mfwd
qm .qmail-fwd '&a@example.net
b@example.net
./Mfwd/
'
fwd_reset() { rm -f "$HOMEDIR/fq.msg" "$HOMEDIR/fq.env"; }
fwd_reset
deliver "$U-fwd" - fwd
expect "forward" K 0
printf 'F%s\0Ta@example.net\0Tb@example.net\0\0' "$SENDER" > "$T/want.env"
check "forward: one injection, sender kept" cmp -s "$HOMEDIR/fq.env" "$T/want.env"
{ printf 'Delivered-To: %s@%s\n' "$U-fwd" "$DOM"; cat "$T/msg"; } > "$T/want"
check "forward: Delivered-To + message, no Return-Path" cmp -s "$HOMEDIR/fq.msg" "$T/want"
check_eq "forward: the Maildir line too" "$(mlist "$HOMEDIR/Mfwd" | wc -l)" 1
# owner
qm .qmail-fwd-owner 'owner@example.net
'
fwd_reset
deliver "$U-fwd" - fwd
expect "forward with owner" K 0
printf 'F%s\0Ta@example.net\0Tb@example.net\0\0' "$U-fwd-owner@$DOM" > "$T/want.env"
check "forward: owner sender" cmp -s "$HOMEDIR/fq.env" "$T/want.env"
fwd_reset
deliver "$U-fwd" - fwd ""
printf 'F\0Ta@example.net\0Tb@example.net\0\0' > "$T/want.env"
check "forward: a bounce keeps its empty sender" cmp -s "$HOMEDIR/fq.env" "$T/want.env"
fwd_reset
deliver "$U-fwd" - fwd "#@[]"
printf 'F#@[]\0Ta@example.net\0Tb@example.net\0\0' > "$T/want.env"
check "forward: a double bounce keeps #@[]" cmp -s "$HOMEDIR/fq.env" "$T/want.env"
# VERP
qm .qmail-fwd-owner-default 'owner@example.net
'
fwd_reset
deliver "$U-fwd" - fwd
expect "forward with VERP" K 0
printf 'F%s\0Ta@example.net\0\0F%s\0Tb@example.net\0\0' "$U-fwd-owner-a=example.net@$DOM" "$U-fwd-owner-b=example.net@$DOM" > "$T/want.env"
check "forward: VERP senders, one per recipient" cmp -s "$HOMEDIR/fq.env" "$T/want.env"
rm -f "$HOMEDIR/.qmail-fwd-owner" "$HOMEDIR/.qmail-fwd-owner-default"
# the injector's exit codes
echo 31 > "$HOMEDIR/fq.exit"
deliver "$U-fwd" - fwd
expect "forward: queue exit 31" D 100 "exit 31"
echo 53 > "$HOMEDIR/fq.exit"
deliver "$U-fwd" - fwd
expect "forward: queue exit 53" Z 111 "exit 53"
rm -f "$HOMEDIR/fq.exit"
unset QMAILQUEUE

# 6. extension chains and DEFAULT
qm .qmail-list-default '|echo "$DEFAULT" > def.out
'
rm -f "$HOMEDIR/def.out"
deliver "$U-list-foo-bar" - list-foo-bar
expect "list-default" K 0
check_eq "list-default: DEFAULT" "$(cat "$HOMEDIR/def.out")" foo-bar
qm .qmail-list-foo-default '|echo "foo $DEFAULT" > def.out
'
deliver "$U-list-foo-bar" - list-foo-bar
check_eq "list-foo-default beats list-default" "$(cat "$HOMEDIR/def.out")" "foo bar"
qm .qmail-list-foo-bar '|echo "exact ${DEFAULT-unset}" > def.out
'
deliver "$U-list-foo-bar" - list-foo-bar
check_eq "exact file beats defaults, no DEFAULT" "$(cat "$HOMEDIR/def.out")" "exact unset"
qm .qmail-list:x '|echo "dot $EXT" > def.out
'
deliver "$U-List.X" - List.X
check_eq "extension lower-cased, . as :" "$(cat "$HOMEDIR/def.out")" "dot List.X"

# 7. a missing extension file
deliver "$U-nosuch" - nosuch
expect "missing extension" D 100 "5.1.1 no mailbox here by that name"
qm .qmail-default '|echo "top $DEFAULT" > def.out
'
deliver "$U-nosuch-x" - nosuch-x
expect "catch-all .qmail-default" K 0
check_eq "catch-all DEFAULT" "$(cat "$HOMEDIR/def.out")" "top nosuch-x"
rm -f "$HOMEDIR/.qmail-default"

# empty and comment-only files
mkmd Mempty
before=$(mlist "$HOMEDIR/Maildir" | wc -l)
qm .qmail-empty ''
deliver "$U-empty" - empty
expect "empty file" K 0
check_eq "empty file: the default delivery" "$(mlist "$HOMEDIR/Maildir" | wc -l)" $((before + 1))
qm .qmail-quiet '# nothing here
'
deliver "$U-quiet" - quiet
expect "comments only: success" K 0 "maildir 0, mbox 0, program 0, forward 0"
check_eq "comments only: nothing delivered" "$(mlist "$HOMEDIR/Maildir" | wc -l)" $((before + 1))

# 8. loop detection
cp "$T/msg" "$T/msg.orig"
{ printf 'Delivered-To: %s@%s\n' "$U-LOOP" "EXAMPLE.org"; cat "$T/msg.orig"; } > "$T/msg"
mkmd Mloop
qm .qmail-loop './Mloop/
'
deliver "$U-loop" - loop
expect "loop" D 100 "5.4.6"
check_eq "loop: nothing delivered" "$(mlist "$HOMEDIR/Mloop" | wc -l)" 0
{ printf 'Delivered-To: other@%s\n' "$DOM"; cat "$T/msg.orig"; } > "$T/msg"
deliver "$U-loop" - loop
expect "other Delivered-To: no loop" K 0
{ cat "$T/msg.orig"; printf 'Delivered-To: %s@%s\n' "$U-loop" "$DOM"; } > "$T/msg"
deliver "$U-loop" - loop
expect "Delivered-To in the body: no loop" K 0
cp "$T/msg.orig" "$T/msg"

# 9. a read-only Maildir
mkmd Mro
chmod 500 "$HOMEDIR/Mro/tmp" "$HOMEDIR/Mro/new"
qm .qmail-ro './Mro/
'
deliver "$U-ro" - ro
expect "read-only Maildir" Z 111 "Permission denied"
check_eq "read-only: nothing in new/" "$(ls -A "$HOMEDIR/Mro/new" | wc -l)" 0
chmod 700 "$HOMEDIR/Mro/tmp"
deliver "$U-ro" - ro
expect "new/ read-only" Z 111 "new/"
check_eq "new/ read-only: nothing in new/" "$(ls -A "$HOMEDIR/Mro/new" | wc -l)" 0
check_eq "new/ read-only: tmp/ cleaned" "$(ls -A "$HOMEDIR/Mro/tmp" | wc -l)" 0

# 10. unsafe files and homes
qm .qmail-ww './Maildir/
'
chmod 666 "$HOMEDIR/.qmail-ww"
deliver "$U-ww" - ww
expect "world-writable .qmail" Z 111 "world-writable"
chmod 664 "$HOMEDIR/.qmail-ww"
deliver "$U-ww" - ww
expect "group-writable .qmail" Z 111 "4.7.0 .qmail file is group-writable"
qm .qmail-blank '
./Maildir/
'
deliver "$U-blank" - blank
expect "blank first line" Z 111 "blank"
qm .qmail-junk ' ./Maildir/
'
deliver "$U-junk" - junk
expect "unrecognised line" Z 111 "line 1"
chmod 757 "$HOMEDIR"
deliver "$U" "" ""
expect "world-writable home" Z 111 "world-writable"
chmod 775 "$HOMEDIR"
deliver "$U" "" ""
expect "group-writable home" Z 111 "4.7.0 home directory is group-writable"
chmod 1755 "$HOMEDIR"
deliver "$U" "" ""
expect "sticky home" Z 111 "sticky"
chmod 755 "$HOMEDIR"

# bad invocation
(cd "$HOMEDIR" && as_user "$L" "$U" "$HOMEDIR" < "$T/msg" > "$T/res" 2>/dev/null)
rc=$?; res=$(cat "$T/res")
expect "too few arguments" Z 111
(cd "$HOMEDIR" && as_user "$L" "$U" "$HOMEDIR" "$U" "" "" "$DOM" "$SENDER" ./Maildir/ < /dev/null > "$T/res" 2>/dev/null)
rc=$?; res=$(cat "$T/res")
check_eq "empty message: delivered" "$(kind)$rc" K0
printf 'x' | (cd "$HOMEDIR" && as_user "$L" "$U" "$HOMEDIR" "$U" "" "" "$DOM" "$SENDER" ./Maildir/ > "$T/res" 2>/dev/null)
rc=$?; res=$(cat "$T/res")
expect "message on a pipe" Z 111 "not seekable"

done_testing
