#!/bin/sh
# 20-fsck.sh: tools/setup installs an instance with the owners and modes
# of sluice-queue(5); sluice-fsck finds each kind of damage, -r repairs it
# without losing a committed message, -n changes nothing, -c creates a
# queue; sluice-qstat counts; setup can be re-run and can stage a tree.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

Q=$H/queue
FSCK=$H/bin/sluice-fsck
QSTAT=$H/bin/sluice-qstat
split=$(sed -n 1p conf-split)
role() { awk -v r="$1" 'NF==0{exit} $1==r{print $2; exit}' conf-users; }
uq=$(role queue) us=$(role send) ur=$(role remote) ua=$(role alias)
grp=$(role group) nog=$(role nogroup)
attr() { stat -c '%a %U:%G' "$1" 2>&1; }
# as USER GROUP CMD...: runs CMD with that uid and gid and no other group
as() { u=$1 g=$2; shift 2; setpriv --reuid="$u" --regid="$g" --clear-groups "$@"; }

# --- what setup installed ---
check_eq "sluice-queue setuid queue user" "$(attr "$H/bin/sluice-queue")" "4711 $uq:$grp"
check_eq "sluice-fsck root 755" "$(attr "$FSCK")" "755 root:root"
check_eq "home 755 root" "$(attr "$H")" "755 root:root"
check_eq "bin 755 root" "$(attr "$H/bin")" "755 root:root"
check_eq "control 755 root" "$(attr "$H/control")" "755 root:root"
check_eq "users 755 root" "$(attr "$H/users")" "755 root:root"
check_eq "alias home" "$(attr "$H/alias")" "700 $ua:$nog"
# the users are made once per machine, by whichever instance came first
case $(getent passwd "$ua" | cut -d: -f6) in */alias) ok "alias user home" ;; *) bad "alias user home" "not .../alias" ;; esac
if grep -q "user $ua created" "$T/setup.log"; then
  check_eq "alias user home is HOME/alias" "$(getent passwd "$ua" | cut -d: -f6)" "$H/alias"
fi
check_eq "queue user group" "$(id -gn "$uq")" "$grp"
check_eq "send user group" "$(id -gn "$us")" "$grp"
check_eq "daemon user group" "$(id -gn "$(role daemon)")" "$nog"
check "man page installed" test -f "$H/man/man8/sluice-fsck.8"
check "man5 installed" test -f "$H/man/man5/sluice-queue.5"
# ext4's TOPDIR flag (chattr +T) on the queue and each split parent, so
# that the queue's files spread over block groups (sluice-fsck.c,
# spread_subdirs); only where the file system keeps the flag
if command -v lsattr > /dev/null 2>&1 && [ "$(stat -f -c %T "$Q")" = ext2/ext3 ]; then
  for d in . mess intd todo info local remote hold defer; do
    case $(lsattr -d "$Q/$d" 2> /dev/null | cut -d' ' -f1) in
      *T*) ok "TOPDIR on queue/$d" ;;
      *) bad "TOPDIR on queue/$d" "$(lsattr -d "$Q/$d" 2>&1)" ;;
    esac
  done
  case $(lsattr -d "$Q/pid" "$Q/mess/0" 2> /dev/null | cut -d' ' -f1 | tr -d '\n') in
    *T*) bad "no TOPDIR on pid/ and mess/0" "set" ;;
    *) ok "no TOPDIR on pid/ and mess/0" ;;
  esac
fi
last=$((split - 1))
while read -r p want; do
  check_eq "queue/$p" "$(attr "$Q/$p")" "$want"
done <<EOF
. 750 $uq:$grp
pid 2700 $uq:$grp
mess 750 $uq:$grp
mess/0 750 $uq:$grp
mess/$last 750 $uq:$grp
intd 2700 $uq:$grp
intd/$last 2700 $uq:$grp
todo 750 $uq:$grp
todo/$last 750 $uq:$grp
info 700 $us:$grp
info/$last 700 $us:$grp
local/$last 700 $us:$grp
remote/$last 700 $us:$grp
bounce 700 $us:$grp
quarantine 750 $uq:$grp
lock 750 $uq:$grp
lock/trigger 622 $us:$grp
lock/sendmutex 600 $us:$grp
lock/tcpto 644 $ur:$grp
EOF
check "trigger is a fifo" test -p "$Q/lock/trigger"
check_fail "no split dir beyond conf-split" test -e "$Q/mess/$split"

out=$($FSCK 2>&1); rc=$?
check_eq "fresh queue: clean" "$rc:$out" "0:"

# --- a committed message that no repair may lose ---
printf 'F%s\0T%s\0\0' a@example.org c@example.net > "$T/env"
printf 'Subject: x\n\nhi\n' > "$T/msg"
as "$(role daemon)" "$nog" "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env"
check_eq "message injected" "$?" 0
msg=$(cd "$Q" && ls mess/*/*)
id=${msg##*/}
d=$((id % split))
other=$(((d + 1) % split))
check_eq "message in its split dir" "$msg" "mess/$d/$id"
check "envelope committed" test -f "$Q/todo/$d/$id"
out=$($QSTAT); rc=$?
check_eq "qstat counts" "$rc:$out" "0:messages in queue: 1
messages in queue but not yet preprocessed: 1"
out=$(as "$us" "$grp" "$QSTAT" 2>&1); rc=$?
check_eq "qstat by a sluice group member" "$rc" 0
out=$(as nobody nogroup "$QSTAT" 2>&1); rc=$?
check_eq "qstat by an outsider: 111" "$rc" 111
case $out in *"unable to"*"queue"*) ok "qstat says why" ;; *) bad "qstat says why" "$out" ;; esac

out=$($FSCK 2>&1); rc=$?
check_eq "queue with a message: clean" "$rc:$out" "0:"

# expect NAME LINE: sluice-fsck exits 1 and prints "sluice-fsck: LINE";
# sluice-fsck -r exits 0; a second check is clean; the message is kept.
expect() {
  out=$($FSCK 2>&1); rc=$?
  check_eq "$1: exit 1" "$rc" 1
  if printf '%s\n' "$out" | grep -Fqx "sluice-fsck: $2"; then ok "$1: reported"
  else bad "$1: reported" "want [sluice-fsck: $2] got [$out]"; fi
  out=$($FSCK -r 2>&1); rc=$?
  check_eq "$1: -r exit 0" "$rc" 0
  out=$($FSCK 2>&1); rc=$?
  check_eq "$1: clean after -r" "$rc:$out" "0:"
  check "$1: message kept" test -f "$Q/mess/$d/$id"
  check "$1: envelope kept" test -f "$Q/todo/$d/$id"
}
# placed ID: the split dir of a planted id
placed() { echo $(($1 % split)); }
# plant_mess: a message file as sluice-queue makes one (the queue
# user's, named by its inode); prints its id
plant_mess() {
  as "$uq" "$grp" sh -c 'umask 027; t=$1/mess/0/plant.$$; echo x > "$t" || exit 1
    i=$(stat -c %i "$t"); mv "$t" "$1/mess/$((i % $2))/$i" && echo "$i"' sh "$Q" "$split"
}

chmod 777 "$Q/todo/$other"
expect "dir mode" "queue/todo/$other: mode 0777, want 0750"
check_eq "dir mode repaired" "$(attr "$Q/todo/$other")" "750 $uq:$grp"

chown 0:0 "$Q/info/$other"
expect "dir owner" "queue/info/$other: owner 0:0, want $us:$grp"
check_eq "dir owner repaired" "$(attr "$Q/info/$other")" "700 $us:$grp"

rmdir "$Q/mess/$other"
expect "split dir missing" "queue/mess/$other: missing"
check_eq "split dir recreated" "$(attr "$Q/mess/$other")" "750 $uq:$grp"

rm "$Q/lock/trigger"
expect "fifo missing" "queue/lock/trigger: missing"
check "fifo recreated" test -p "$Q/lock/trigger"
check_eq "fifo owner and mode" "$(attr "$Q/lock/trigger")" "622 $us:$grp"

rm "$Q/lock/trigger"; : > "$Q/lock/trigger"
expect "fifo is a file" "queue/lock/trigger: is not a fifo"
check "fifo restored" test -p "$Q/lock/trigger"

rm "$Q/lock/tcpto"
expect "tcpto missing" "queue/lock/tcpto: missing"
check_eq "tcpto recreated" "$(attr "$Q/lock/tcpto")" "644 $ur:$grp"

# an envelope without its message goes to quarantine/, which is
# reported until a human empties it
p=$(placed 12345)
echo x > "$Q/todo/$p/12345"; ln "$Q/todo/$p/12345" "$Q/intd/$p/12345"
out=$($FSCK 2>&1); rc=$?
check_eq "todo without mess: exit 1" "$rc" 1
case $out in *"sluice-fsck: queue/todo/$p/12345: envelope without message (mess/$p/12345 missing)"*) ok "todo without mess reported" ;;
  *) bad "todo without mess reported" "$out" ;; esac
out=$($FSCK -r 2>&1); rc=$?
check_eq "todo without mess: -r exit 1 (quarantined)" "$rc" 1
case $out in *"queue/todo/$p/12345: repaired: moved to quarantine/todo.12345."*) ok "todo without mess quarantined" ;;
  *) bad "todo without mess quarantined" "$out" ;; esac
check_fail "todo without mess: name gone" test -e "$Q/todo/$p/12345"
check_fail "its intd removed" test -e "$Q/intd/$p/12345"
qn=$(cd "$Q/quarantine" && ls)
case $qn in todo.12345.[0-9]*) ok "quarantine name" ;; *) bad "quarantine name" "$qn" ;; esac
check_eq "quarantined content kept" "$(cat "$Q/quarantine/$qn")" x
out=$($FSCK 2>&1); rc=$?
check_eq "quarantine reported" "$rc:$out" "1:sluice-fsck: queue/quarantine: quarantined: $qn"
out=$($FSCK -r 2>&1); rc=$?
check_eq "-r leaves the quarantine to a human" "$rc" 1
check "-r keeps the quarantined file" test -f "$Q/quarantine/$qn"
rm -f "$Q/quarantine/$qn"
out=$($FSCK 2>&1); rc=$?
check_eq "clean once the quarantine is empty" "$rc:$out" "0:"

p=$(placed 777)
echo x > "$Q/info/$p/777"; echo x > "$Q/local/$p/777"
expect "info without mess" "queue/info/$p/777: info without message (mess/$p/777 missing)"

o=$(plant_mess); p=$(placed "$o")
echo x > "$Q/intd/$p/$o"
touch -d '3 days ago' "$Q/mess/$p/$o" "$Q/intd/$p/$o"
expect "old orphan mess" "queue/mess/$p/$o: orphan message without envelope, older than 36 hours (left by a crashed injection)"
check_fail "orphan removed" test -e "$Q/mess/$p/$o"
check_fail "orphan intd removed" test -e "$Q/intd/$p/$o"

o=$(plant_mess); p=$(placed "$o")
echo x > "$Q/pid/4243"
out=$($FSCK 2>&1); rc=$?
check_eq "young orphan and pid file: not reported" "$rc:$out" "0:"
out=$($FSCK -r 2>&1)
check "young orphan kept by -r" test -f "$Q/mess/$p/$o"
check "young pid file kept by -r" test -f "$Q/pid/4243"
rm -f "$Q/mess/$p/$o" "$Q/pid/4243"

# a queued message readable by others, or of the caller's group (as
# sluice-queue made them before 0640 and the setgid directories)
o=$(plant_mess); p=$(placed "$o")
chmod 644 "$Q/mess/$p/$o"; chgrp "$nog" "$Q/mess/$p/$o"
expect "message readable by others" "queue/mess/$p/$o: mode 0644 and not group $grp, want 0640 group $grp (a queued message is for the queue's roles only)"
check_eq "message mode and group repaired" "$(attr "$Q/mess/$p/$o")" "640 $uq:$grp"
rm -f "$Q/mess/$p/$o"
chmod 644 "$Q/todo/$d/$id"
expect "envelope readable by others" "queue/todo/$d/$id: mode 0644, want 0640 group $grp (a queued message is for the queue's roles only)"
check_eq "envelope mode repaired through its todo name" "$(attr "$Q/intd/$d/$id")" "640 $uq:$grp"
ln "$Q/todo/$d/$id" "$H/hardlink.$id"
chmod 644 "$Q/todo/$d/$id"
out=$($FSCK -r 2>&1)
check "an envelope with a foreign second name is not changed" test "$(stat -c %a "$Q/todo/$d/$id")" = 644
case $out in *"queue/todo/$d/$id: not repaired: it has more names"*|*"queue/todo/$d/$id: not repaired: it has a second name"*) ok "foreign second name: not repaired" ;;
  *) bad "foreign second name: not repaired" "$out" ;; esac
rm -f "$H/hardlink.$id"
$FSCK -r > /dev/null 2>&1
check_eq "repaired once the second name is gone" "$(attr "$Q/todo/$d/$id")" "640 $uq:$grp"

echo 1 > "$Q/pid/4242"; touch -d '3 days ago' "$Q/pid/4242"
expect "stale pid file" "queue/pid/4242: stale pid file (older than 36 hours)"
check_fail "stale pid file removed" test -e "$Q/pid/4242"

mv "$Q/todo/$d/$id" "$Q/todo/$other/$id"
expect "misplaced envelope" "queue/todo/$other/$id: misplaced: id belongs in todo/$d/$id"
check_fail "misplaced name gone" test -e "$Q/todo/$other/$id"

echo x > "$Q/mess/$other/foo"
expect "non-numeric name" "queue/mess/$other/foo: name is not a decimal number"
check_fail "non-numeric file removed" test -e "$Q/mess/$other/foo"

echo x > "$Q/mess/$other/0$id"
expect "leading zero" "queue/mess/$other/0$id: name is not a decimal number"

mkdir "$Q/todo/$((split + 7))"
expect "split dir beyond conf-split" "queue/todo/$((split + 7)): conf-split changed? queue has split dir $((split + 7)) but conf-split is $split"
check_fail "extra split dir removed" test -e "$Q/todo/$((split + 7))"

# several kinds at once, and a dry run that changes nothing
chmod 700 "$Q/mess"; rm "$Q/lock/sendmutex"; echo 1 > "$Q/pid/99"; touch -d '2 days ago' "$Q/pid/99"
out=$($FSCK -n 2>&1); rc=$?
check_eq "-n: exit 1" "$rc" 1
case $out in *"queue/pid/99: would repair: remove"*) ok "-n: says what -r would do" ;; *) bad "-n: says what -r would do" "$out" ;; esac
check "-n: pid file kept" test -f "$Q/pid/99"
check_eq "-n: mode kept" "$(attr "$Q/mess")" "700 $uq:$grp"
check_fail "-n: nothing created" test -e "$Q/lock/sendmutex"
expect "three problems" "queue/mess: mode 0700, want 0750"
check_eq "sendmutex recreated" "$(attr "$Q/lock/sendmutex")" "600 $us:$grp"

# recipients of an existing message without info: reported, kept by -r
o=$(plant_mess); p=$(placed "$o")
echo x > "$Q/remote/$p/$o"
out=$($FSCK -r 2>&1); rc=$?
check_eq "remote without info: -r exit 1" "$rc" 1
case $out in *"queue/remote/$p/$o: remote recipient list without info (info/$p/$o missing)"*) ok "remote without info reported" ;;
  *) bad "remote without info reported" "$out" ;; esac
check "remote without info: kept" test -f "$Q/remote/$p/$o"
check "its mess: kept" test -f "$Q/mess/$p/$o"
rm -f "$Q/mess/$p/$o" "$Q/remote/$p/$o"

out=$($QSTAT)
check_eq "qstat after the repairs" "$out" "messages in queue: 1
messages in queue but not yet preprocessed: 1"

# --- setup again: nothing lost, nothing duplicated ---
echo mail.example.org > "$H/control/me"
chmod 600 "$H/control/me"
sh tools/setup "$SLUICE_TEST_BUILD" "$H" > "$T/setup2.log" 2>&1
check_eq "setup re-run" "$?" 0
check_eq "control file kept" "$(cat "$H/control/me")" "mail.example.org"
check_eq "control file mode kept" "$(stat -c %a "$H/control/me")" 600
check "message kept by setup" test -f "$Q/mess/$d/$id"
check "envelope kept by setup" test -f "$Q/todo/$d/$id"
check_eq "one queue user" "$(grep -c "^$uq:" /etc/passwd)" 1
check_eq "one sluice group" "$(grep -c "^$grp:" /etc/group)" 1
check_eq "sluice-queue still setuid" "$(attr "$H/bin/sluice-queue")" "4711 $uq:$grp"
out=$($FSCK 2>&1); rc=$?
check_eq "clean after setup re-run" "$rc:$out" "0:"

# --- -c creates a missing queue, -r does not ---
mv "$Q" "$H/queue.saved"
out=$($FSCK 2>&1); rc=$?
check_eq "missing queue: exit 1" "$rc" 1
case $out in *"sluice-fsck: queue: missing"*) ok "missing queue reported" ;; *) bad "missing queue reported" "$out" ;; esac
out=$($FSCK -r 2>&1); rc=$?
check_eq "-r leaves a missing queue: exit 1" "$rc" 1
check_fail "-r did not create the queue" test -e "$Q"
out=$(as nobody nogroup "$FSCK" -c 2>&1); rc=$?
check_eq "-c refused without root" "$rc" 100
check_fail "-c without root created nothing" test -e "$Q"
out=$($FSCK -c 2>&1); rc=$?
check_eq "-c: exit 0" "$rc" 0
check_eq "-c: queue owner and mode" "$(attr "$Q")" "750 $uq:$grp"
check_eq "-c: split dirs" "$(ls "$Q/remote" | wc -l)" "$split"
check "-c: fifo" test -p "$Q/lock/trigger"
out=$($FSCK 2>&1); rc=$?
check_eq "-c: clean" "$rc:$out" "0:"
check_eq "-c: empty queue counted" "$($QSTAT)" "messages in queue: 0
messages in queue but not yet preprocessed: 0"
rm -rf "$Q"; mv "$H/queue.saved" "$Q"

# --- staging under DESTDIR ---
# A copy of the build with a stand-in sendmail, so --link-sendmail has
# something to link; the real /usr/sbin/sendmail must not change.
B2=$T/build
mkdir -p "$B2/auto"
cp "$SLUICE_TEST_BUILD/auto/auto.c" "$B2/auto/"
cp "$SLUICE_TEST_BUILD"/sluice-* "$B2/"
printf '#!/bin/sh\nexit 0\n' > "$B2/sendmail"; chmod 755 "$B2/sendmail"
D=$T/stage
mkdir -p "$D/usr/lib"; echo old > "$D/usr/lib/sendmail"
before=$(ls -l --time-style=full-iso /usr/sbin/sendmail /usr/lib/sendmail /usr/bin/mailq 2>&1)
touch "$T/stamp"
sh tools/setup --destdir "$D" --link-sendmail "$B2" "$H" > "$T/stage.log" 2>&1
check_eq "staging run" "$?" 0
check "staged fsck" test -x "$D$H/bin/sluice-fsck"
check "staged sendmail" test -x "$D$H/bin/sendmail"
check_eq "staged sluice-queue (root, users exist)" "$(attr "$D$H/bin/sluice-queue")" "4711 $uq:$grp"
check_eq "staged queue" "$(attr "$D$H/queue/todo/0")" "750 $uq:$grp"
check_eq "staged /usr/sbin/sendmail" "$(readlink "$D/usr/sbin/sendmail")" "$H/bin/sendmail"
check_eq "staged /usr/bin/mailq" "$(readlink "$D/usr/bin/mailq")" "$H/bin/mailq"
check_eq "old sendmail kept" "$(cat "$D/usr/lib/sendmail.pre-sluice")" old
check_eq "new /usr/lib/sendmail" "$(readlink "$D/usr/lib/sendmail")" "$H/bin/sendmail"
check_eq "live links untouched" "$(ls -l --time-style=full-iso /usr/sbin/sendmail /usr/lib/sendmail /usr/bin/mailq 2>&1)" "$before"
check_eq "live home untouched" "$(find "$H" -newer "$T/stamp" | head -n 3)" ""
check "packager told what to do" grep -q "At install time" "$T/stage.log"
sh tools/setup --destdir "$D" --link-sendmail "$B2" "$H" > "$T/stage2.log" 2>&1
check_eq "staging again" "$?" 0
check_eq "pre-sluice kept once" "$(cat "$D/usr/lib/sendmail.pre-sluice")" old

# staged by an ordinary user: nothing setuid, no queue
D2=$T/stage-user
mkdir "$D2"; chown nobody "$D2"
out=$(as nobody nogroup sh tools/setup --destdir "$D2" "$B2" "$H" 2>&1); rc=$?
check_eq "staging as a user" "$rc" 0
check_eq "user-staged sluice-queue not setuid" "$(stat -c %a "$D2$H/bin/sluice-queue")" 711
check_fail "user-staged: no queue" test -e "$D2$H/queue"

done_testing
