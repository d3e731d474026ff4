#!/bin/sh
# 55-lspawn.sh: the spawners, sluice-lspawn and sluice-rspawn, driven
# through their real fds (sluice-spawn(5)) with stand-ins for the
# delivery programs, and sluice-getpw and users/cdb behind lspawn.
#
# sluice-lspawn (root), with a stand-in sluice-local that records its
# uid, gid, groups, cwd, arguments and message, and answers by the
# local part:
#  - a passwd user (made here with useradd -m, in a group made here):
#    runs as that user with its supplementary groups, in its home, with
#    the right arguments and the message on fd 0; case ignored, the
#    part after '-' the extension, its case kept (qmail's EXT);
#  - users/assign (exact and prefix) routes to the assigned uid/home,
#    a prefix's ext gets the rest of the address, case kept;
#  - an unknown local part goes to the alias user, whole local part
#    (case kept) as extension; a users/cdb naming uid 0 is refused (Z), and so are
#    gid 0, the uid of a role user, the queue's group, a home with a
#    newline and a bad dash (Z 4.3.5, nothing run);
#  - control/timeoutlocal passed on as sluice-local's 9th argument
#    (3600 by default), then FLAGS (empty without aliases and a
#    recipient delimiter: sluice-local(8));
#  - control/concurrencyuser 1: of two slow deliveries for one user
#    the second is answered Z at once, while one for another user runs;
#    a delivery after the first ended runs again;
#  - K with exit 111, a crash, no output: Z; Z and D passed on; a huge
#    answer capped; a missing message file: Z;
#  - 5 slow requests at once all answered, with their slots, in about
#    the time of one; a request for a busy slot dropped and logged; a
#    request that does not decode dropped and logged; a framing error:
#    exit 111.
# sluice-getpw (the passwd user): longest prefix, case ignored, the
# home's owner checked, else the alias user.
# sluice-rspawn (the remote user), with a stand-in sluice-remote that
# writes one record per recipient: records passed on in order; a
# record that does not parse, a missing record, a crash: Z.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

PATH=$PATH:/usr/sbin:/sbin
export PATH
SR=$BIN/tests/spawnreq
SPLIT=$(sed -n 1p conf-split)
role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_ALIAS=$(role alias)
U_REMOTE=$(role remote)
TU=sluicetu55
TG=sluicetg55
alias_home_made=''

cleanup() {
  userdel -r "$TU" > /dev/null 2>&1
  getent group "$TG" > /dev/null 2>&1 && groupdel "$TG" > /dev/null 2>&1
  [ -n "$alias_home_made" ] && rm -rf "$alias_home_made"
  restore
  rm -rf "$T"
}
restore() { :; }
trap cleanup EXIT
userdel -r "$TU" > /dev/null 2>&1
getent group "$TG" > /dev/null 2>&1 && groupdel "$TG" > /dev/null 2>&1
groupadd "$TG" || bad "groupadd $TG"
useradd -m -G "$TG" -s /bin/sh "$TU" || bad "useradd $TU"
TUID=$(id -u "$TU")
TGID=$(id -g "$TU")
TXG=$(getent group "$TG" | cut -d: -f3)
THOME=$(getent passwd "$TU" | cut -d: -f6)
AUID=$(id -u "$U_ALIAS")
# the alias user's home is conf-home/alias whatever passwd says
# (sluice-getpw(8)); setup made it
AHOME=$H/alias
if [ ! -d "$AHOME" ]; then
  mkdir -p "$AHOME" && chown "$U_ALIAS" "$AHOME" && alias_home_made=$AHOME
fi

# a message in the queue (the spawners only open it): its id is its
# inode number, as sluice-queue makes it (the spawners check)
printf 'Subject: spawner test\n\nhello\n' > "$H/queue/mess/0/new.$$"
ID=$(stat -c %i "$H/queue/mess/0/new.$$")
MSG=$H/queue/mess/$((ID % SPLIT))/$ID
mv "$H/queue/mess/0/new.$$" "$MSG"
chown "$(role queue):$(role group)" "$MSG"
chmod 640 "$MSG"

# --- the stand-ins; the real programs are put back at the end ---
for p in sluice-local sluice-remote; do
  [ -f "$H/bin/$p" ] && cp -p "$H/bin/$p" "$T/$p.orig"
done
restore() {
  for p in sluice-local sluice-remote; do
    rm -f "$H/bin/$p"
    [ -f "$T/$p.orig" ] && cp -p "$T/$p.orig" "$H/bin/$p"
  done
}
mkdir "$T/log" && chmod 1777 "$T/log"
cat > "$H/bin/sluice-local" <<EOF
#!/bin/sh
f=$T/log/\$3
{ echo "uid \$(id -u)"; echo "gid \$(id -g)"; echo "groups \$(id -G)"; echo "cwd \$(pwd)"
  echo "argc \$#"; for a; do echo "arg:\$a"; done; } > "\$f.info"
cat > "\$f.msg"
case \$3 in
  *kexit*) printf 'Kclaims success'; exit 111 ;;
  *crash*) kill -KILL \$\$ ;;
  *defer*) printf 'Zfoo'; exit 111 ;;
  *dfail*) printf 'Dbar'; exit 100 ;;
  *dzero*) printf 'Dbar'; exit 0 ;;
  *big*) printf K; head -c 100000 /dev/zero | tr '\\0' x; exit 0 ;;
  *slow*) sleep 1; printf 'Kok'; exit 0 ;;
  *silent*) exit 0 ;;
  *) printf 'Kok\\n'; exit 0 ;;
esac
EOF
chmod 755 "$H/bin/sluice-local"
# many requests for one user at once below: no per-user cap there
echo 1000 > "$H/control/concurrencyuser"

# lsp: runs sluice-lspawn on $T/req; results decoded and sorted in
# $T/out, its log in $T/err, exit code in lrc.
lsp() {
  (cd "$H" && ./bin/sluice-lspawn) < "$T/req" > "$T/res" 2> "$T/err"
  lrc=$?
  "$SR" -d < "$T/res" | sort > "$T/out"
}
req() { "$SR" "$@" >> "$T/req"; }
info() { cat "$T/log/$1.info" 2>/dev/null; }
nl='
'

# --- a passwd user ---
: > "$T/req"
req 0 "$ID" sender@example.org "$TU@example.org"
req 1 "$ID" '' "SluiceTU55-Ext@Example.Org"
lsp
check_eq "passwd user: exit 0" "$lrc" 0
check_eq "passwd user: results" "$(cat "$T/out")" "0 K ok${nl}1 K ok"
check_eq "passwd user: uid, gid, groups, cwd, args" "$(info "$TU" | grep -v '^groups')" \
  "uid $TUID${nl}gid $TGID${nl}cwd $THOME${nl}argc 10${nl}arg:$TU${nl}arg:$THOME${nl}arg:$TU${nl}arg:${nl}arg:${nl}arg:example.org${nl}arg:sender@example.org${nl}arg:./Maildir/${nl}arg:3600${nl}arg:"
case " $(info "$TU" | sed -n 's/^groups //p') " in
  *" $TXG "*) ok "supplementary group" ;;
  *) bad "supplementary group" "$(info "$TU")" ;;
esac
check_eq "passwd user: message on fd 0" "$(cat "$T/log/$TU.msg")" "$(cat "$MSG")"
check_eq "case ignored, extension split off with its case" "$(info SluiceTU55-Ext | grep '^uid \|^arg:')" \
  "uid $TUID${nl}arg:$TU${nl}arg:$THOME${nl}arg:SluiceTU55-Ext${nl}arg:-${nl}arg:Ext${nl}arg:Example.Org${nl}arg:${nl}arg:./Maildir/${nl}arg:3600${nl}arg:"

# --- sluice-getpw on its own (as the passwd user) ---
U_PASSWD=$(role passwd)
getpw() {
  setpriv --reuid="$(id -u "$U_PASSWD")" --regid="$(id -g "$U_PASSWD")" --init-groups \
    "$H/bin/sluice-getpw" "$1" | tr '\0' '|'
}
check_eq "getpw: longest prefix before a '-', ext case kept" "$(getpw SluiceTU55-A-b)" \
  "$TU|$TUID|$TGID|$THOME|-|A-b|"
check_eq "getpw: whole local part" "$(getpw $TU)" "$TU|$TUID|$TGID|$THOME|||"
check_eq "getpw: root goes to the alias user" "$(getpw root)" \
  "$U_ALIAS|$AUID|$(id -g "$U_ALIAS")|$AHOME|-|root|"
chown root "$THOME"
check_eq "getpw: a home the user does not own: alias" "$(getpw $TU-x)" \
  "$U_ALIAS|$AUID|$(id -g "$U_ALIAS")|$AHOME|-|$TU-x|"
chown "$TU" "$THOME"

# --- control/defaultdelivery ---
echo './Mailbox' > "$H/control/defaultdelivery"
: > "$T/req"; req 0 "$ID" s@x "$TU-dd@example.org"; lsp
check_eq "defaultdelivery passed on" "$(info "$TU-dd" | tail -n 3 | head -n 1)" "arg:./Mailbox"
rm -f "$H/control/defaultdelivery"

# --- control/timeoutlocal ---
echo 17 > "$H/control/timeoutlocal"
: > "$T/req"; req 0 "$ID" s@x "$TU-to@example.org"; lsp
check_eq "timeoutlocal passed on" "$(info "$TU-to" | tail -n 2 | head -n 1)" "arg:17"
echo 0 > "$H/control/timeoutlocal"
: > "$T/req"; req 0 "$ID" s@x "$TU-to0@example.org"; lsp
check_eq "timeoutlocal 0 refused: exit 111" "$lrc" 111
rm -f "$H/control/timeoutlocal"

# --- users/assign ---
mkdir "$T/alt" && chown "$TU" "$T/alt"
cat > "$H/users/assign" <<EOF
=joe:$TU:$TUID:$TGID:$T/alt:::
+list-:$TU:$TUID:$TGID:$T/alt:-:l-:
.
EOF
check "sluice-newu" "$H/bin/sluice-newu"
: > "$T/req"
req 0 "$ID" s@x joe@example.org
req 1 "$ID" s@x List-Foo@example.org
lsp
check_eq "assign: results" "$(cat "$T/out")" "0 K ok${nl}1 K ok"
check_eq "assign exact: uid, cwd, args" "$(info joe | grep '^uid \|^cwd \|^arg:')" \
  "uid $TUID${nl}cwd $T/alt${nl}arg:$TU${nl}arg:$T/alt${nl}arg:joe${nl}arg:${nl}arg:${nl}arg:example.org${nl}arg:s@x${nl}arg:./Maildir/${nl}arg:3600${nl}arg:"
check_eq "assign prefix: ext gets the rest, case kept" "$(info List-Foo | sed -n '6,10p')" \
  "arg:$TU${nl}arg:$T/alt${nl}arg:List-Foo${nl}arg:-${nl}arg:l-Foo"

# --- unknown local part: the alias user ---
: > "$T/req"; req 0 "$ID" s@x Nobody55-X@example.org; lsp
check_eq "alias: result" "$(cat "$T/out")" "0 K ok"
check_eq "alias: uid, cwd, user, dash, ext (case kept)" "$(info Nobody55-X | sed -n '1p;4p;6p;9p;10p')" \
  "uid $AUID${nl}cwd $AHOME${nl}arg:$U_ALIAS${nl}arg:-${nl}arg:Nobody55-X"

# --- uid 0 in users/cdb is refused ---
{ printf '+8,17:=rootish->'; printf '%s\000' root 0 0 /root '' ''; printf '\n\n'; } |
  "$BIN/tests/cdbtool" make "$H/users/cdb"
: > "$T/req"; req 0 "$ID" s@x rootish@example.org; lsp
check_eq "uid 0 refused" "$(cat "$T/out")" "0 Z 4.3.0 refusing to deliver as root"
check_fail "uid 0: nothing run" test -f "$T/log/rootish.info"

# --- other answers of the lookup that must not be used ---
# refused NAME LOCAL WHY USER UID GID HOME DASH: a users/cdb with that
# record for LOCAL gives Z 4.3.5 with WHY, and runs nothing
refused() {
  name=$1 lp=$2 why=$3; shift 3
  printf '%s\000' "$@" > "$T/rec"
  { printf '+%d,%d:=%s->' $((${#lp} + 1)) "$(wc -c < "$T/rec")" "$lp"; cat "$T/rec"; printf '\n\n'; } |
    "$BIN/tests/cdbtool" make "$H/users/cdb"
  : > "$T/req"; req 0 "$ID" s@x "$lp@example.org"; lsp
  check_eq "$name refused" "$(cat "$T/out")" "0 Z 4.3.5 refusing the answer of the user lookup: $why"
  check_fail "$name: nothing run" test -f "$T/log/$lp.info"
}
refused "gid 0" gidzero "gid 0 (the root group)" "$TU" "$TUID" 0 "$THOME" '' ''
refused "role uid" roleuid "the uid of a sluice role user" "$TU" "$(id -u "$(role queue)")" "$TGID" "$THOME" '' ''
refused "queue group" qgroup "the gid of the queue's group" "$TU" "$TUID" "$(getent group "$(role group)" | cut -d: -f3)" "$THOME" '' ''
refused "home with a newline" homenl "home not an absolute path, too long or holding a control byte" \
  "$TU" "$TUID" "$TGID" "$THOME${nl}x" '' ''
refused "bad dash" baddash "dash neither empty nor -" "$TU" "$TUID" "$TGID" "$THOME" '+' ''
rm -f "$H/users/cdb" "$H/users/assign"

# --- answers ---
: > "$T/req"
req 0 "$ID" s@x "$TU-kexit@example.org"
req 1 "$ID" s@x "$TU-crash@example.org"
req 2 "$ID" s@x "$TU-defer@example.org"
req 3 "$ID" s@x "$TU-dfail@example.org"
req 4 "$ID" s@x "$TU-dzero@example.org"
req 5 "$ID" s@x "$TU-silent@example.org"
req 6 99999 s@x "$TU@example.org"
lsp
check_eq "answers: exit 0" "$lrc" 0
check_eq "answers" "$(cat "$T/out")" "0 Z 4.3.0 sluice-local reported success but exited 111
1 Z 4.3.0 sluice-local crashed
2 Z foo
3 D bar
4 Z 4.3.0 sluice-local reported a permanent failure but exited 0
5 Z 4.3.0 sluice-local crashed
6 Z 4.3.0 unable to open the message file: No such file or directory"

: > "$T/req"; req 7 "$ID" s@x "$TU-big@example.org"; lsp
x4000=$(head -c 4000 /dev/zero | tr '\0' x)
check_eq "big answer capped" "$(cat "$T/out")" "7 K $x4000"

# --- the message file is opened without following links and must be
# the queue's own file with its id as inode (issue 12): a compromised
# queue user cannot make the root spawner read another file ---
printf 'root secret\n' > "$T/secret"; chmod 600 "$T/secret"
SID=$(stat -c %i "$T/secret")
ln -s "$T/secret" "$H/queue/mess/$((SID % SPLIT))/$SID"
printf 'other\n' > "$H/queue/mess/0/other.$$"
OID=$(stat -c %i "$H/queue/mess/0/other.$$")
WID=$((OID + 1))
mv "$H/queue/mess/0/other.$$" "$H/queue/mess/$((WID % SPLIT))/$WID"   # a file under another id
chown "$(role queue):$(role group)" "$H/queue/mess/$((WID % SPLIT))/$WID"
: > "$T/req"
req 0 "$SID" s@x "$TU@example.org"
req 1 "$WID" s@x "$TU@example.org"
rm -f "$T/log/$TU.msg"
lsp
check_eq "symlink and foreign file: not opened" "$(cat "$T/out")" "0 Z 4.3.0 unable to open the message file: Too many levels of symbolic links
1 Z 4.3.0 unable to open the message file: Operation not permitted"
check_fail "the secret was never given to a delivery" grep -q "root secret" "$T/log/$TU.msg"
rm -f "$H/queue/mess/$((SID % SPLIT))/$SID" "$H/queue/mess/$((WID % SPLIT))/$WID"

# --- concurrency, a busy slot, malformed requests ---
: > "$T/req"
for s in 10 11 12 13 14; do req "$s" "$ID" s@x "$TU-slow$s@example.org"; done
req 10 "$ID" s@x "$TU-dup@example.org"
printf '5:hello,' >> "$T/req"
t0=$(date +%s)
lsp
t1=$(date +%s)
check_eq "concurrent: exit 0" "$lrc" 0
check_eq "concurrent: five answers, right slots" "$(cat "$T/out")" \
  "10 K ok${nl}11 K ok${nl}12 K ok${nl}13 K ok${nl}14 K ok"
if [ $((t1 - t0)) -le 3 ]; then ok "concurrent: run at once"; else bad "concurrent: run at once" "$((t1 - t0)) s"; fi
check "busy slot logged" grep -q 'slot 10 dropped' "$T/err"
check_fail "busy slot: not run" test -f "$T/log/$TU-dup.info"
check "malformed request logged" grep -q 'malformed request dropped' "$T/err"

printf '3:abc,x' > "$T/req"
lsp
check_eq "framing error: exit 111" "$lrc" 111

# --- control/concurrencyuser 1: one delivery at a time per uid ---
# (the last request is written 2 s after the others, when the first
# has ended)
echo 1 > "$H/control/concurrencyuser"
: > "$T/req"
{ "$SR" 20 "$ID" s@x "$TU-slowa@example.org"; "$SR" 21 "$ID" s@x "$TU-slowb@example.org"
  "$SR" 22 "$ID" s@x "Nobody55-slowc@example.org"; } > "$T/req1"
"$SR" 23 "$ID" s@x "$TU-slowd@example.org" > "$T/req2"
{ cat "$T/req1"; sleep 2; cat "$T/req2"; } | (cd "$H" && ./bin/sluice-lspawn) > "$T/res" 2> "$T/err"
lrc=$?
"$SR" -d < "$T/res" | sort > "$T/out"
check_eq "per-user cap: exit 0" "$lrc" 0
check_eq "per-user cap: second for the same uid deferred, other user and a later one run" "$(cat "$T/out")" \
  "20 K ok${nl}21 Z 4.4.5 too many deliveries in progress for this user (control/concurrencyuser); retried later${nl}22 K ok${nl}23 K ok"
check_fail "per-user cap: the deferred one not run" test -f "$T/log/$TU-slowb.info"
check "per-user cap: the other user's ran" test -f "$T/log/Nobody55-slowc.info"
rm -f "$H/control/concurrencyuser"

# --- sluice-rspawn ---
mkdir "$T/rlog" && chmod 1777 "$T/rlog"
cat > "$H/bin/sluice-remote" <<EOF
#!/bin/sh
f=$T/rlog/\$3
{ echo "uid \$(id -u)"; for a; do echo "arg:\$a"; done; } > "\$f.info"
cat > "\$f.msg"
shift 2
for r; do
  case \$r in
    ok*) printf 'Kok %s\\0' "\$r" ;;
    fail*) printf 'D5.1.1 no %s\\0' "\$r" ;;
    defer*) printf 'Z4.2.2 full\\0' ;;
    bad*) printf 'Xweird\\0' ;;
    empty*) printf '\\0' ;;
    short*) printf 'Kcut off'; exit 0 ;;
    crash*) kill -KILL \$\$ ;;
  esac
done
exit 0
EOF
chmod 755 "$H/bin/sluice-remote"
RUID=$(id -u "$U_REMOTE")
rsp() {
  (cd "$H" && setpriv --reuid="$RUID" --regid="$(id -g "$U_REMOTE")" --init-groups \
    ./bin/sluice-rspawn) < "$T/req" > "$T/res" 2> "$T/err"
  rrc=$?
  "$SR" -d < "$T/res" > "$T/out"
}
: > "$T/req"
req 1 "$ID" from@example.org ok1@d.example fail2@d.example defer3@d.example bad4@d.example empty5@d.example
rsp
check_eq "rspawn: exit 0" "$rrc" 0
check_eq "rspawn: records in order" "$(cat "$T/out")" "1 K ok ok1@d.example
1 D 5.1.1 no fail2@d.example
1 Z 4.2.2 full
1 Z 4.3.0 sluice-remote gave an answer that does not parse
1 Z 4.3.0 sluice-remote gave an answer that does not parse"
check_eq "rspawn: runs as the remote user with domain, sender, recipients" "$(cat "$T/rlog/ok1@d.example.info")" \
  "uid $RUID${nl}arg:d.example${nl}arg:from@example.org${nl}arg:ok1@d.example${nl}arg:fail2@d.example${nl}arg:defer3@d.example${nl}arg:bad4@d.example${nl}arg:empty5@d.example"
check_eq "rspawn: message on fd 0" "$(cat "$T/rlog/ok1@d.example.msg")" "$(cat "$MSG")"

: > "$T/req"
req 2 "$ID" '' ok1@e.example short2@e.example ok3@e.example
req 3 "$ID" '' ok1@f.example crash2@f.example
req 4 99999 '' ok1@g.example
rsp
check_eq "rspawn: short output, crash, missing message" "$(sort "$T/out")" "2 K ok ok1@e.example
2 Z 4.3.0 sluice-remote crashed or gave no answer
2 Z 4.3.0 sluice-remote crashed or gave no answer
3 Z 4.3.0 sluice-remote crashed or gave no answer
3 Z 4.3.0 sluice-remote crashed or gave no answer
4 Z 4.3.0 unable to open the message file: No such file or directory"
rm -f "$MSG"
done_testing
