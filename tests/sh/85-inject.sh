#!/bin/sh
# 85-inject.sh: sluice-inject, sendmail, mailq (sluice-qread) and
# sluice-showctl as installed, run by an ordinary user.
#
#  1. sendmail -t: envelope from To/Cc/Bcc, bare addresses qualified,
#     Bcc removed, Date, Message-ID and From added (gecos full name);
#  2. sendmail -f a@b c@d: envelope as given, existing Date/From kept;
#  3. -i/-oi and lines holding a single dot: the body passes intact,
#     also binary bytes (line ends in the queue's form: CR LF -> LF,
#     other CR -> space) and a last line without newline;
#  4. mail(1) from mailutils and git send-email through the sendmail;
#  5. refusals, each with its text and exit code and no file left in
#     the queue: no recipients, an unparseable To:, a header over 1 MB,
#     an unknown option (64); the queue's exit codes through QMAILQUEUE;
#  6. mailq as root (a message in todo, one preprocessed) and as the
#     user (111: no sluice-send, so no summary); sendmail -bp, -bi (and -I,
#     newaliases: they run sluice-newaliases, which the user may not), -q
#     (tells the user to run sluice-qctl flush as root), -v;
#  7. sluice-showctl with and without rcpthosts, an unknown file, an
#     alias file not compiled by newaliases;
#  8. sendmail -bs speaks SMTP through sluice-smtpd with relaying allowed,
#     logs nothing on the caller's stderr, takes LF line ends (commands
#     and data) and drops Return-Path fields;
#  9. qmail-inject's address rules: a bare name gets defaulthost, a
#     dotless host defaultdomain (not a name in locals), also for -f;
#     after tools/config (NAME=mx.example.org) sendmail fred, sendmail
#     root and cron's ways of calling it address this host;
# 10. Return-Path fields are removed; the first gives the envelope sender
#     without -f (not with QMAILINJECT=s), as in qmail-inject;
# 11. the command line: run-together flags (-ti, -it, -oi -i, -t -i,
#     -tif), the DSN options -N, -R, -V kept in the envelope, sloppy -t
#     headers (To: a; b and To: Name addr) read as Postfix reads them;
# 12. exit codes: sendmail's sysexits for each kind of failure (usage,
#     data, databytes, no user, the queue's codes permanent, temporary
#     and internal, a crash), sluice-inject's 100/111 without -x;
# 13. sendmail -bv: local, remote, unknown user (67), unparseable (67).
# The scheduler is not running: messages stay in todo and mess.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

PATH=$PATH:/usr/sbin:/sbin
export PATH
QD=$H/queue
SM=$H/bin/sendmail

for p in mail git; do
  command -v $p > /dev/null 2>&1 || { bad "$p is missing (apt-get install mailutils git-email)"; done_testing; }
done

TUSER=sluiceinj$$
useradd -M -N -s /bin/sh -d /nonexistent -c "Test User,,," "$TUSER" > /dev/null 2>&1 || { bad "useradd $TUSER"; done_testing; }
trap 'userdel "$TUSER" > /dev/null 2>&1; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
TUID=$(id -u "$TUSER")

printf 'me.example\n' > "$H/control/me"
printf 'host.example\n' > "$H/control/defaulthost"
printf 'dom.example\n' > "$H/control/defaultdomain"
printf 'id.example\n' > "$H/control/idhost"
printf 'plus.example\n' > "$H/control/plusdomain"

W=$T/w
mkdir "$W" && chmod 1777 "$W"

# as CMD...: CMD as the test user with a clean login-like environment.
as() {
  env -i PATH=/usr/bin:/bin HOME="$W" USER="$TUSER" LOGNAME="$TUSER" \
    setpriv --reuid="$TUID" --regid="$(id -g "$TUSER")" --init-groups "$@"
}
qfiles() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f | sort; }
qclear() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" "$QD/info" "$QD/local" "$QD/remote" -type f -exec rm -f {} +; }
# the one queued message: $todo, $mess, $env (records one a line, u, p
# and s dropped), $msg (the message without the Received line)
one() {
  _one=$1
  set -- $(find "$QD/todo" -type f)
  if [ $# -ne 1 ]; then bad "$_one: one message queued" "found $#"; todo= mess= env= msg=; return 1; fi
  todo=$1
  mess=$QD/mess/${todo#"$QD/todo/"}
  env=$(tr '\0' '\n' < "$todo" | grep -v '^[ups]')
  tail -n +2 "$mess" > "$W/msg"
  msg=$(cat "$W/msg")
  return 0
}
hdr() { sed -n '/^$/q;p' "$W/msg" | grep -i "^$1:"; }

# --- 1. sendmail -t ---
qclear
printf 'To: bob, "Ann Other" <ann@x.org>\nCc: carl@host+\nBcc: hidden@y.org\nSubject: t1\n\nline1\nline2\n' > "$W/m1"
as "$SM" -t < "$W/m1" > "$W/out" 2>&1
check_eq "-t: exit 0" "$?" 0
if one "-t"; then
  check_eq "-t: envelope" "$env" "F$TUSER@host.example
Tbob@host.example
Tann@x.org
Tcarl@host.plus.example
Thidden@y.org"
  check_eq "-t: To qualified" "$(hdr To)" 'To: bob@host.example, "Ann Other" <ann@x.org>'
  check_eq "-t: Cc plusdomain" "$(hdr Cc)" 'Cc: carl@host.plus.example'
  check_eq "-t: Bcc removed" "$(hdr Bcc)" ""
  check_eq "-t: From added" "$(hdr From)" "From: Test User <$TUSER@host.example>"
  case $(hdr Date) in
    "Date: "[A-Z][a-z][a-z]", "[0-9]*" "[A-Z][a-z][a-z]" "2[0-9][0-9][0-9]" "[0-2][0-9]:[0-5][0-9]:[0-6][0-9]" "[+-][0-9][0-9][0-9][0-9]) ok "-t: Date" ;;
    *) bad "-t: Date" "$(hdr Date)" ;;
  esac
  case $(hdr Message-ID) in
    "Message-ID: <"[0-9]*.[0-9]*.[0-9a-f]*"@id.example>") ok "-t: Message-ID" ;;
    *) bad "-t: Message-ID" "$(hdr Message-ID)" ;;
  esac
  check_eq "-t: Subject kept" "$(hdr Subject)" "Subject: t1"
  check_eq "-t: body" "$(sed '1,/^$/d' "$W/msg")" "line1
line2"
  check_eq "-t: Received names the user" "$(head -n 1 "$mess" | sed 's/;.*//')" "Received: (sluice $(tr '\0' '\n' < "$todo" | sed -n 's/^p//p') invoked by uid $TUID)"
fi

# --- 2. sendmail -f a@b c@d ---
qclear
printf 'From: Someone <someone@z.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nTo: other@w.org\n\nhi\n' > "$W/m2"
as "$SM" -f a@b.example c@d.example < "$W/m2"
check_eq "-f: exit 0" "$?" 0
if one "-f"; then
  check_eq "-f: envelope" "$env" "Fa@b.example
Tc@d.example"
  check_eq "-f: From kept" "$(hdr From)" "From: Someone <someone@z.org>"
  check_eq "-f: Date kept" "$(hdr Date)" "Date: Mon, 1 Jan 2024 00:00:00 +0000"
  check_eq "-f: one Date" "$(grep -c '^Date:' "$W/msg")" 1
  check "-f: Message-ID added" grep -q '^Message-ID: <' "$W/msg"
fi
qclear
as "$SM" -f '' -F 'Null Sender' c@d.example < "$W/m1"
check_eq "-f '': exit 0" "$?" 0
if one "-f ''"; then
  check_eq "-f '': null sender" "$(echo "$env" | head -n 1)" "F"
  check_eq "-F: name in From" "$(hdr From)" "From: Null Sender <$TUSER@host.example>"
fi
qclear
as "$SM" -f '<>' -r ignored@x c@d.example < "$W/m2"
check_eq "-r: exit 0" "$?" 0
one "-r" && check_eq "-r: last sender option wins (dotless host completed)" "$(echo "$env" | head -n 1)" "Fignored@x.dom.example"

# --- 3. dots, -i, binary, no final newline ---
for opt in -i -oi ''; do
  qclear
  printf 'To: d@e.example\n\nbefore\n.\n..\nafter\n.' > "$W/m3"
  as "$SM" $opt -t < "$W/m3"
  check_eq "dots $opt: exit 0" "$?" 0
  one "dots $opt" && check_eq "dots $opt: body intact" "$(sed '1,/^$/d' "$W/msg" | od -c)" "$(printf 'before\n.\n..\nafter\n.' | od -c)"
done
qclear
{ printf 'To: bin@e.example\n\n'; head -c 70000 /dev/urandom; printf '\000\r\n\377end'; } > "$W/m4"
as "$SM" -t < "$W/m4"
check_eq "binary: exit 0" "$?" 0
if one "binary"; then
  # the body in the queue's line form (sluice-queue(5)): CR LF -> LF, other CR -> space
  sed '1,/^$/d' "$W/m4" | python3 -c 'import sys; b = sys.stdin.buffer.read()
sys.stdout.buffer.write(b.replace(b"\r\n", b"\n").replace(b"\r", b" "))' > "$W/b.want"
  hl=$(sed -n '/^$/{=;q}' "$W/msg")
  tail -n +$((hl + 1)) "$W/msg" > "$W/b.got"
  check "binary: body intact but for its line ends" cmp -s "$W/b.want" "$W/b.got"
fi
qclear
printf 'Subject: no blank line\nTo: f@g.example' > "$W/m5"
as "$SM" -t < "$W/m5"
check_eq "header only: exit 0" "$?" 0
one "header only" && check_eq "header only: To" "$(hdr To)" "To: f@g.example"

# --- 4. mail(1) and git send-email ---
qclear
echo "mail body" | as mail -s "subj mail" -E "set sendmail=sendmail://$SM" mbox@m.example > "$W/out" 2>&1
check_eq "mail: exit 0" "$?" 0
if one "mail"; then
  check_eq "mail: recipient" "$(echo "$env" | grep '^T')" "Tmbox@m.example"
  case $(echo "$env" | head -n 1) in "F$TUSER@"*) ok "mail: sender" ;; *) bad "mail: sender" "$env" ;; esac
  check_eq "mail: Subject" "$(hdr Subject)" "Subject: subj mail"
  check_eq "mail: From added" "$(hdr From)" "From: Test User <$TUSER@host.example>"
  check "mail: Message-ID" grep -q '^Message-ID: <' "$W/msg"
  check_eq "mail: body" "$(sed '1,/^$/d' "$W/msg")" "mail body"
fi
qclear
G=$W/git
mkdir "$G" && chown "$TUSER" "$G"
as sh -c 'cd "$1" && git init -q && git config user.email dev@g.example && git config user.name "Dev Eloper" &&
  echo hi > f && git add f && git commit -qm "first patch" && git format-patch -q -1 -o p' sh "$G" > "$W/out" 2>&1
as sh -c 'cd "$1" && git send-email --smtp-server="$2" --to=list@l.example --confirm=never --quiet p/*.patch' sh "$G" "$SM" < /dev/null > "$W/out" 2>&1
check_eq "git send-email: exit 0" "$?" 0
if one "git send-email"; then
  check_eq "git send-email: recipients" "$(echo "$env" | grep '^T')" "Tlist@l.example
Tdev@g.example"
  check_eq "git send-email: Subject" "$(hdr Subject)" "Subject: [PATCH] first patch"
  check_eq "git send-email: From kept" "$(hdr From)" "From: Dev Eloper <dev@g.example>"
  check "git send-email: the patch" grep -q '^+hi$' "$W/msg"
fi

# --- 5. refusals ---
qclear
# refuse NAME WANTRC WANTTEXT CMD...: stdin from $W/in
refuse() {
  n=$1 wrc=$2 wtext=$3; shift 3
  before=$(qfiles)
  "$@" < "$W/in" > "$W/out" 2>&1
  rc=$?
  check_eq "$n: exit $wrc" "$rc" "$wrc"
  check_eq "$n: message" "$(cat "$W/out")" "$wtext"
  check_eq "$n: nothing queued" "$(qfiles)" "$before"
}
printf 'just a body line\n' > "$W/in"
refuse "no header" 64 "sluice-inject: fatal: no recipients: no To, Cc or Bcc address in the header and none given as arguments: not queued" as "$SM" -t
printf 'To: Someone <a@b.example\n\nx\n' > "$W/in"
refuse "unbalanced <" 65 "sluice-inject: fatal: unable to parse the To: field: unbalanced angle bracket: not queued" as "$SM" -t
printf 'To: "Someone <a@b.example>\n\nx\n' > "$W/in"
refuse "unbalanced quote" 65 "sluice-inject: fatal: unable to parse the To: field: unbalanced quote (unterminated quoted string): not queued" as "$SM" -t
refuse "unparseable To with arguments" 65 "sluice-inject: fatal: unable to parse the To: field: unbalanced quote (unterminated quoted string): not queued" as "$SM" x@y.example
{ printf 'To: a@b.example\n'; i=0; while [ $i -lt 11 ]; do printf 'X-Big: %s\n' "$(head -c 100000 /dev/zero | tr '\0' a)"; i=$((i + 1)); done; printf '\nbody\n'; } > "$W/in"
refuse "header over 1 MB" 65 "sluice-inject: fatal: header too long (over 1048576 bytes): not queued" as "$SM" -t
printf 'To: a@b.example\n\nx\n' > "$W/in"
refuse "unknown option" 64 "sendmail: unknown option -x" as "$SM" -x a@b.example
refuse "no recipient arguments" 64 "sendmail: no recipients given (name them, or use -t to read them from the header)" as "$SM"
refuse "bad -f" 64 "sluice-inject: fatal: bad sender address a@@b: syntax error in address" as "$SM" -f 'a@@b' c@d.example
printf '#!/bin/sh\ncat > /dev/null; cat <&1 > /dev/null 2>&1; exit %s\n' 53 > "$W/qq53"
printf '#!/bin/sh\ncat > /dev/null; exit %s\n' 31 > "$W/qq31"
chmod 755 "$W/qq53" "$W/qq31"
refuse "qq 53" 75 "sluice-inject: fatal: qq write error or disk full (#4.3.0)" as env QMAILQUEUE="$W/qq53" "$SM" -t
refuse "qq 31" 69 "sluice-inject: fatal: mail server permanently rejected message (#5.3.0)" as env QMAILQUEUE="$W/qq31" "$SM" -t
case $(grep -c . "$W/qq53") in 2) ok "qq script intact" ;; *) bad "qq script" ;; esac

# --- 6. mailq ---
qclear
printf 'To: q1@r.example, q2@r.example\n\nhello\n' > "$W/in"
as "$SM" -f s@r.example -t < "$W/in"
check_eq "mailq: injection" "$?" 0
one "mailq" || true
id=${todo##*/}
size=$(stat -c %s "$mess")
out=$("$H/bin/mailq")
check_eq "mailq: exit 0" "$?" 0
case $out in
  "$id  "[0-9]*"s  $size  <s@r.example>  not yet preprocessed
  todo   pending <q1@r.example>
  todo   pending <q2@r.example>") ok "mailq: todo message" ;;
  *) bad "mailq: todo message" "$out" ;;
esac
check_eq "sendmail -bp = mailq" "$("$SM" -bp | sed 's/  [0-9]*[smhd]  /  AGE  /')" "$(echo "$out" | sed 's/  [0-9]*[smhd]  /  AGE  /')"
# the same message as sluice-send leaves it after preprocessing
n=$((id % $(sed -n 1p conf-split)))
now=$(date +%s)
printf 'b%s\000u0\000p1\000Fs@r.example\000E\000' $((now - 7200)) > "$QD/info/$n/$id"
printf 'R00000000000000000000\000Tq1@r.example\000Dq2@r.example\000' > "$QD/remote/$n/$id"
printf 'R00000000000000000000\000Tloc@me.example\000' > "$QD/local/$n/$id"
rm -f "$todo" "$QD/intd/$n/$id"
check_eq "mailq: preprocessed message" "$("$H/bin/mailq")" "$id  2h  $size  <s@r.example>
  local  pending <loc@me.example>
  remote pending <q1@r.example>
  remote done    <q2@r.example>"
as "$H/bin/mailq" > "$W/out" 2>&1
check_eq "mailq as user: exit 111" "$?" 111
case $(cat "$W/out") in
  "mailq: fatal: the queue is readable by root only, and sluice-send has written no summary in $H/status/mailq") ok "mailq as user: message" ;;
  *) bad "mailq as user: message" "$(cat "$W/out")" ;;
esac
qclear
check_eq "mailq: empty queue" "$("$H/bin/mailq")" ""
# -bi, -I and the name newaliases run sluice-newaliases (aliases(5)): as
# the user it cannot write users/aliases.cdb (or read the alias file)
ln -s "$SM" "$W/newaliases"
for how in -bi -I newaliases; do
  if [ "$how" = newaliases ]; then as "$W/newaliases" > "$W/out" 2>&1; else as "$SM" "$how" > "$W/out" 2>&1; fi
  check_eq "$how as the user: exit 111" "$?" 111
  check "$how: sluice-newaliases ran" grep -q '^newaliases: fatal: unable to' "$W/out"
done
as "$SM" -q30m > "$W/out" 2>&1
check_eq "-q: exit 0" "$?" 0
check "-q: says how" grep -q 'sluice-qctl flush' "$W/out"
check_eq "-q: nothing queued" "$(qfiles)" ""
printf 'To: v@w.example\n\nx\n' > "$W/in"
as "$SM" -v -oi -odb -oem -B8BITMIME -N never -t < "$W/in" > "$W/out" 2>&1
check_eq "-v and ignored options: exit 0" "$?" 0
check_eq "-v: the command" "$(cat "$W/out")" "sendmail: running $H/bin/sluice-inject '-x' '-H' '-D' 'never' '--'"
qclear

# --- 7. sluice-showctl ---
rm -f "$H/control/rcpthosts"
: > "$H/control/bogus"
printf 'x85: y\n' > "$W/aliases"
echo "$W/aliases" > "$H/control/aliasfile"
"$H/bin/sluice-showctl" > "$W/out" 2> "$W/err"
check_eq "showctl: exit 0" "$?" 0
check "showctl: me" grep -qx 'me: me.example' "$W/out"
check "showctl: default" grep -qx 'bouncefrom: (default: MAILER-DAEMON)' "$W/out"
check "showctl: default from me" grep -qx 'locals: (default: me.example)' "$W/out"
check "showctl: unknown file" grep -qx 'control/bogus: unknown control file' "$W/out"
check "showctl: rcpthosts warning" grep -q '^WARNING: control/rcpthosts is missing' "$W/out"
check "showctl: warning on stderr" grep -q 'only RELAYCLIENT clients may send mail in' "$W/err"
check "showctl: alias file without its database" grep -q "^WARNING: $W/aliases exists but users/aliases.cdb does not" "$W/out"
printf 'r1.example\n# comment\nr2.example\n' > "$H/control/rcpthosts"
rm -f "$H/control/bogus"
"$H/bin/sluice-newaliases" > /dev/null
"$H/bin/sluice-showctl" > "$W/out" 2> "$W/err"
check_eq "showctl with rcpthosts: exit 0" "$?" 0
check_eq "showctl: rcpthosts list" "$(sed -n '/^rcpthosts:/,/^  [^ ]/p' "$W/out")" "rcpthosts:
    r1.example
    r2.example
  domains sluice-smtpd accepts mail for (others need RELAYCLIENT)"
check_fail "showctl: no warning" grep -q WARNING "$W/out"
check_eq "showctl: stderr empty" "$(cat "$W/err")" ""
check_fail "showctl: no unknown" grep -q unknown "$W/out"

# --- 8. sendmail -bs: sluice-smtpd on stdin/stdout, relaying allowed ---
qclear
printf 'HELO x\r\nMAIL FROM:<bs@s.example>\r\nRCPT TO:<far@nowhere.example>\r\nDATA\r\nSubject: bs\r\n\r\nhi\r\n.\r\nQUIT\r\n' > "$W/in"
as timeout 30 "$SM" -bs < "$W/in" > "$W/out" 2> "$W/err"
check_eq "-bs: exit 0" "$?" 0
check_eq "-bs: replies" "$(cut -c1-3 "$W/out" | tr '\n' ' ')" "220 250 250 250 354 250 221 "
check_eq "-bs: no log line on the caller's stderr" "$(cat "$W/err")" ""
if one "-bs"; then
  check_eq "-bs: envelope (relay allowed)" "$env" "Fbs@s.example
Tfar@nowhere.example"
  check "-bs: message" grep -q '^Subject: bs' "$W/msg"
fi
# a local program that writes LF line ends, commands and data alike
qclear
printf 'HELO x\nMAIL FROM:<lf@s.example>\nRCPT TO:<far@nowhere.example>\nDATA\nReturn-Path: <old@x.example>\nSubject: lf\n\nhi\rthere\n..dot\n.\nQUIT\n' > "$W/in"
as timeout 30 "$SM" -bs < "$W/in" > "$W/out" 2> "$W/err"
check_eq "-bs LF: exit 0" "$?" 0
check_eq "-bs LF: replies" "$(cut -c1-3 "$W/out" | tr '\n' ' ')" "220 250 250 250 354 250 221 "
check_eq "-bs LF: stderr empty" "$(cat "$W/err")" ""
if one "-bs LF"; then
  check_eq "-bs LF: envelope" "$env" "Flf@s.example
Tfar@nowhere.example"
  check_eq "-bs LF: Return-Path removed" "$(grep -ci 'return-path' "$W/msg")" 0
  check_eq "-bs LF: header and body" "$(sed -n '/^Subject/,$p' "$W/msg")" "Subject: lf

hi there
.dot"
fi
# the same bytes to sluice-smtpd as the network sees it: refused (421)
qclear
as sh -c 'cd / && env RELAYCLIENT= TCPREMOTEIP=127.0.0.1 timeout 30 "$1"' sh "$H/bin/sluice-smtpd" < "$W/in" > "$W/out" 2> "$W/err"
check_eq "network mode: bare LF refused" "$(cut -c1-3 "$W/out" | tr '\n' ' ')" "220 421 "
check_eq "network mode: nothing queued" "$(qfiles)" ""
qclear

# --- 9. qmail-inject's address rules ---
# as set at the top: me me.example, defaulthost host.example, defaultdomain
# dom.example, plusdomain plus.example; locals missing (= me)
printf 'To: fred, fred@box, fred@box+, fred@a.example, fred@me.example, x@[192.0.2.1]\nCc: ann@me\n\nq\n' > "$W/in"
as "$SM" -t < "$W/in"
check_eq "rules: exit 0" "$?" 0
if one "rules"; then
  check_eq "rules: envelope" "$(echo "$env" | grep '^T' | tr '\n' ' ')" "Tfred@host.example Tfred@box.dom.example Tfred@box.plus.example Tfred@a.example Tfred@me.example Tx@[192.0.2.1] Tann@me.dom.example "
  check_eq "rules: To rewritten" "$(hdr To)" "To: fred@host.example, fred@box.dom.example, fred@box.plus.example, fred@a.example, fred@me.example, x@[192.0.2.1]"
fi
qclear
printf 'localhost\nme\n' > "$H/control/locals"
as "$SM" -f joe@box fred@localhost ann@ME bob@other < "$W/m2"
check_eq "rules: locals: exit 0" "$?" 0
one "rules: locals" && check_eq "rules: names in locals stay, -f completed" "$env" "Fjoe@box.dom.example
Tfred@localhost
Tann@ME
Tbob@other.dom.example"
rm -f "$H/control/locals"
qclear
# a dotless defaulthost gets defaultdomain too; the environment wins
printf 'box\n' > "$H/control/defaulthost"
as env QMAILDEFAULTDOMAIN=env.example "$SM" fred < "$W/m1"
check_eq "rules: dotless defaulthost: exit 0" "$?" 0
one "rules: dotless defaulthost" && check_eq "rules: dotless defaulthost completed" "$env" "F$TUSER@box.env.example
Tfred@box.env.example"
printf 'host.example\n' > "$H/control/defaulthost"
qclear
# the first configuration of tools/config: bare names and root stay here
for f in me defaulthost defaultdomain plusdomain idhost locals rcpthosts; do rm -f "$H/control/$f"; done
sh tools/config "$H" mx.example.org > "$W/config.out" 2>&1
check_eq "tools/config: exit 0" "$?" 0
check_eq "tools/config: defaulthost" "$(cat "$H/control/defaulthost")" mx.example.org
check_eq "tools/config: defaultdomain" "$(cat "$H/control/defaultdomain")" example.org
# sendmail WHO...: one message to WHO from stdin $W/m5; the envelope
sm_env() {
  qclear
  as "$SM" "$@" < "$W/in" > "$W/out" 2>&1
  _rc=$?
  if one "sendmail $*"; then echo "$_rc $(echo "$env" | tr '\n' ' ')"; else echo "$_rc none"; fi
}
printf 'Subject: s\n\nx\n' > "$W/in"
check_eq "config: sendmail fred" "$(sm_env fred)" "0 F$TUSER@mx.example.org Tfred@mx.example.org "
check_eq "config: sendmail root" "$(sm_env root)" "0 F$TUSER@mx.example.org Troot@mx.example.org "
check_eq "config: sendmail root@localhost" "$(sm_env root@localhost)" "0 F$TUSER@mx.example.org Troot@localhost "
check_eq "config: sendmail fred@www" "$(sm_env fred@www)" "0 F$TUSER@mx.example.org Tfred@www.example.org "
# Debian's cron, then cronie
printf 'From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@mx> true\n\nout\n' > "$W/in"
check_eq "config: Debian cron" "$(sm_env -FCronDaemon -i -B8BITMIME -oem root)" "0 F$TUSER@mx.example.org Troot@mx.example.org "
check_eq "config: cronie" "$(sm_env -FCronDaemon -i -odi -oem -oi -t -f root)" "0 Froot@mx.example.org Troot@mx.example.org "
one "cronie" && check_eq "config: cron's To completed" "$(hdr To)" "To: root@mx.example.org"
qclear

# --- 10. Return-Path ---
printf 'Return-Path: <rp@first.example>\nTo: r@x.example\nReturn-Path: <second@x.example>\nreturn-path:\n <third@x.example>\nSubject: rp\n\nReturn-Path: <body@x.example>\n' > "$W/in"
check_eq "Return-Path: the envelope sender without -f" "$(sm_env -t)" "0 Frp@first.example Tr@x.example "
one "Return-Path" && check_eq "Return-Path: every one removed" "$(sed '/^$/q' "$W/msg" | grep -ci 'return-path')" 0
one "Return-Path" && check "Return-Path: the body keeps its line" grep -q '^Return-Path: <body@x.example>$' "$W/msg"
check_eq "Return-Path: -f wins" "$(sm_env -t -f f@x.example)" "0 Ff@x.example Tr@x.example "
one "Return-Path -f" && check_eq "Return-Path: removed with -f" "$(grep -ci '^return-path' "$W/msg")" 1
qclear
as env QMAILINJECT=s "$SM" -t < "$W/in" > "$W/out" 2>&1
check_eq "QMAILINJECT=s: exit 0" "$?" 0
one "QMAILINJECT=s" && check_eq "QMAILINJECT=s: Return-Path ignored" "$(echo "$env" | head -n 1)" "F$TUSER@mx.example.org"
printf 'Return-Path: <>\nTo: r@x.example\n\nb\n' > "$W/in"
check_eq "Return-Path <>: null sender" "$(sm_env -t)" "0 F Tr@x.example "
printf 'Return-Path: a@@b\nTo: r@x.example\n\nb\n' > "$W/in"
check_eq "Return-Path unparseable: ignored" "$(sm_env -t)" "0 F$TUSER@mx.example.org Tr@x.example "
one "Return-Path unparseable" && check_eq "Return-Path unparseable: removed" "$(grep -ci 'return-path' "$W/msg")" 0
printf 'Return-Path: <rp@x.example>\nTo: r@x.example\n\nb\n' > "$W/in"
as "$H/bin/sluice-inject" -n < "$W/in" > "$W/out" 2>&1
check_eq "sluice-inject -n: no Return-Path" "$(grep -ci 'return-path' "$W/out")" 0
qclear

# --- 11. the command line ---
printf 'To: cl@x.example\n\nb\n' > "$W/in"
for opts in "-ti" "-it" "-oi -i -t" "-t -i" "-tioi"; do
  # shellcheck disable=SC2086
  check_eq "flags $opts" "$(sm_env $opts)" "0 F$TUSER@mx.example.org Tcl@x.example "
done
check_eq "flags -tif sender" "$(sm_env -tif s@x.example)" "0 Fs@x.example Tcl@x.example "
check_eq "flags -itfs@x.example" "$(sm_env -itfs@x.example)" "0 Fs@x.example Tcl@x.example "
check_eq "DSN -N never -R hdrs" "$(sm_env -N never -R hdrs -t)" "0 OH F$TUSER@mx.example.org NN Tcl@x.example "
check_eq "DSN -Nsuccess,delay -Rfull -V id" "$(sm_env -Nsuccess,delay -Rfull -V envid1 -ti)" "0 OB Ienvid1 F$TUSER@mx.example.org NSD Tcl@x.example "
qclear
refuse "unknown option in a cluster" 64 "sendmail: unknown option -z" as "$SM" -tz
refuse "option without its value" 64 "sendmail: option requires an argument: -f" as "$SM" -t -f
refuse "unsupported mode" 64 "sendmail: unsupported mode -bd" as "$SM" -bd
# sloppy but common -t headers
printf 'To: a@x.example; b@y.example\nCc: Joe Bloggs j@z.example\n\nb\n' > "$W/in"
check_eq "sloppy headers: recipients" "$(sm_env -t)" "0 F$TUSER@mx.example.org Ta@x.example Tb@y.example Tj@z.example "
if one "sloppy"; then
  check_eq "sloppy: To rewritten" "$(hdr To)" "To: a@x.example, b@y.example"
  check_eq "sloppy: Cc rewritten" "$(hdr Cc)" "Cc: Joe Bloggs <j@z.example>"
fi
qclear

# --- 12. exit codes ---
printf 'just a body line\n' > "$W/in"
refuse "no recipients in the header: EX_USAGE" 64 "sluice-inject: fatal: no recipients: no To, Cc or Bcc address in the header and none given as arguments: not queued" as "$SM" -t
printf 'To: a@x.example\n\nx\n' > "$W/in"
refuse "bad recipient argument: EX_NOUSER" 67 "sluice-inject: fatal: unable to parse recipient a@@b: bad domain in address" as "$SM" 'a@@b'
printf 'To: <a@x.example\n\nx\n' > "$W/in"
refuse "unparseable To: EX_DATAERR" 65 "sluice-inject: fatal: unable to parse the To: field: unbalanced angle bracket: not queued" as "$SM" -t
# control/databytes applies to local injection
printf '1000\n' > "$H/control/databytes"
{ printf 'To: big@x.example\n\n'; i=0; while [ $i -lt 30 ]; do printf '%s\n' "$(head -c 70 /dev/zero | tr '\0' b)"; i=$((i + 1)); done; } > "$W/in"
refuse "databytes: EX_DATAERR" 65 "sluice-inject: fatal: message too big: over 1000 bytes (control/databytes) (#5.3.4): not queued" as "$SM" -t
refuse "databytes, sluice-inject: 100" 100 "sluice-inject: fatal: message too big: over 1000 bytes (control/databytes) (#5.3.4): not queued" as "$H/bin/sluice-inject"
rm -f "$H/control/databytes"
# the queue's exit codes
printf 'To: a@x.example\n\nx\n' > "$W/in"
for c in 11 31 35 53 71 81 91 99; do
  printf '#!/bin/sh\ncat > /dev/null; cat <&1 > /dev/null 2>&1; exit %s\n' $c > "$W/qq$c"
  chmod 755 "$W/qq$c"
done
refuse "qq 11: EX_DATAERR" 65 "sluice-inject: fatal: envelope address too long for qq (#5.1.3)" as env QMAILQUEUE="$W/qq11" "$SM" -t
refuse "qq 35: EX_UNAVAILABLE" 69 "sluice-inject: fatal: qq permanent problem (#5.3.0)" as env QMAILQUEUE="$W/qq35" "$SM" -t
refuse "qq 71: EX_TEMPFAIL" 75 "sluice-inject: fatal: mail server temporarily rejected message (#4.3.0)" as env QMAILQUEUE="$W/qq71" "$SM" -t
refuse "qq 81: EX_SOFTWARE" 70 "sluice-inject: fatal: qq internal bug (#4.3.0)" as env QMAILQUEUE="$W/qq81" "$SM" -t
refuse "qq 91: EX_SOFTWARE" 70 "sluice-inject: fatal: envelope format error (#4.3.0)" as env QMAILQUEUE="$W/qq91" "$SM" -t
refuse "qq 99: EX_TEMPFAIL" 75 "sluice-inject: fatal: qq temporary problem (#4.3.0)" as env QMAILQUEUE="$W/qq99" "$SM" -t
printf '#!/bin/sh\ncat > /dev/null; kill -9 $$\n' > "$W/qqkill"
chmod 755 "$W/qqkill"
refuse "qq killed: EX_TEMPFAIL" 75 "sluice-inject: fatal: qq crashed (#4.3.0)" as env QMAILQUEUE="$W/qqkill" "$SM" -t
# sluice-inject keeps qmail-inject's codes
refuse "sluice-inject: qq 31: 100" 100 "sluice-inject: fatal: mail server permanently rejected message (#5.3.0)" as env QMAILQUEUE="$W/qq31" "$H/bin/sluice-inject"
refuse "sluice-inject: qq 81: 111" 111 "sluice-inject: fatal: qq internal bug (#4.3.0)" as env QMAILQUEUE="$W/qq81" "$H/bin/sluice-inject"
printf 'x\n' > "$W/in"
refuse "sluice-inject: no recipients: 100" 100 "sluice-inject: fatal: no recipients: no To, Cc or Bcc address in the header: not queued" as "$H/bin/sluice-inject"
# a missing program: EX_UNAVAILABLE
mv "$H/bin/sluice-inject" "$H/bin/sluice-inject.away"
printf 'To: a@x.example\n\nx\n' > "$W/in"
as "$SM" -t < "$W/in" > "$W/out" 2>&1
check_eq "sluice-inject missing: EX_UNAVAILABLE" "$?" 69
mv "$H/bin/sluice-inject.away" "$H/bin/sluice-inject"
qclear

# --- 13. sendmail -bv ---
: > "$W/in"
as "$SM" -bv root fred@www far@remote.example < /dev/null > "$W/out" 2>&1
check_eq "-bv without rcptcheck.cdb: exit 0" "$?" 0
check_eq "-bv without rcptcheck.cdb: lines" "$(cat "$W/out")" "root@mx.example.org: deliverable: local (local part not checked: no control/rcptcheck.cdb)
fred@www.example.org: deliverable: remote, relayed to www.example.org
far@remote.example: deliverable: remote, relayed to remote.example"
"$H/bin/sluice-newrcpt" > "$W/newrcpt.out" 2>&1
check_eq "sluice-newrcpt: exit 0" "$?" 0
as "$SM" -bv root Postmaster@localhost > "$W/out" 2>&1
check_eq "-bv local: exit 0" "$?" 0
check_eq "-bv local: lines" "$(cat "$W/out")" "root@mx.example.org: deliverable: local
Postmaster@localhost: deliverable: local"
as "$SM" -bv nosuchuser85 far@remote.example > "$W/out" 2>&1
check_eq "-bv unknown user: EX_NOUSER" "$?" 67
check_eq "-bv unknown user: lines" "$(cat "$W/out")" "nosuchuser85@mx.example.org: undeliverable: no such local user (#5.1.1)
far@remote.example: deliverable: remote, relayed to remote.example"
as "$SM" -bv 'a@@b' > "$W/out" 2>&1
check_eq "-bv unparseable: EX_NOUSER" "$?" 67
check_eq "-bv unparseable: line" "$(cat "$W/out")" "a@@b: undeliverable: unparseable address: bad domain in address"
as "$SM" -bv > "$W/out" 2>&1
check_eq "-bv without recipients: EX_USAGE" "$?" 64
check_eq "-bv queues nothing" "$(qfiles)" ""

done_testing
