#!/bin/sh
# 21-fsck-links.sh: root's tools never follow a link a queue user plants.
# The queue user owns queue/, mess/, todo/, lock/...: it may put a
# symbolic link (or, where fs.protected_hardlinks is off, a hard link)
# in place of any name below, at any moment. With a root-owned file and
# directory outside the queue as bait:
#  1. links in place of lock/, info/, a split directory, a lock file and
#     message files: sluice-fsck reports them, -r replaces a link by
#     what belongs there, and the bait keeps its owner, mode and content;
#  2. a hard link in place of a lock file: reported, owner and mode not
#     touched;
#  3. a race: the queue user swaps lock/tcpto and todo/5 with links to
#     the bait as fast as it can (linkswap) while sluice-fsck -r runs
#     again and again for 3 seconds: the bait never changes;
#  4. mailq (sluice-qread) and sluice-qstat as root do not read through
#     a link;
#  5. a message file that is not its id's, an envelope older than its
#     message (without a stamp) and an envelope whose stamp is not its
#     message's time go to quarantine/ with every file of the id; a
#     stamped envelope older than its message is not a problem;
#  6. tools/config writes in the alias user's home as that user: links
#     the alias user planted there lead root nowhere.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

Q=$H/queue
FSCK=$H/bin/sluice-fsck
split=$(sed -n 1p conf-split)
role() { awk -v r="$1" 'NF==0{exit} $1==r{print $2; exit}' conf-users; }
uq=$(role queue) us=$(role send) ur=$(role remote) grp=$(role group)
attr() { stat -c '%a %U:%G' "$1" 2>&1; }
as() { u=$1 g=$2; shift 2; setpriv --reuid="$u" --regid="$g" --clear-groups "$@"; }
asq() { as "$uq" "$grp" "$@"; }

# the bait: root's, 0600 / 0700, outside the queue, made afresh for
# each case so that one follower's damage does not hide the next
B=$T/bait
mkbait() {
  rm -rf "$B"
  mkdir -m 755 "$B"
  printf 'secret\n' > "$B/file"; chmod 600 "$B/file"
  mkdir -m 700 "$B/dir"
  # directories that look like lock/ and info/ to one who follows
  mkdir -m 755 "$B/lockdir" "$B/infodir"
  for n in trigger sendmutex tcpto; do printf 'secret\n' > "$B/lockdir/$n"; chmod 600 "$B/lockdir/$n"; done
  mkdir -m 700 "$B/infodir/0" "$B/infodir/1"
  chown -R 0:0 "$B"
  bait0=$(bait)
}
# bait: names, types, modes, owners and file contents (never opening a
# fifo that a follower may have made there)
bait() { (cd "$B" && find . -printf '%p %y %m %u:%g %n\n' | sort && find . -type f -exec cat {} +) | cksum; }
untouched() { check_eq "$1: bait untouched" "$(bait)" "$bait0"; }
clean() {
  out=$($FSCK 2>&1); rc=$?
  check_eq "$1: clean afterwards" "$rc:$out" "0:"
}
# restore NAME [OLD]: puts the queue's NAME.old (or OLD) back in place of whatever is
# at NAME (a link, or what -r made), whatever sluice-fsck did
restore() {
  rm -rf "$Q/$1"
  mv "$Q/${2:-$1.old}" "$Q/$1"
}
mkbait

out=$($FSCK 2>&1); rc=$?
check_eq "fresh queue: clean" "$rc:$out" "0:"

# --- 1. symbolic links ---
asq mv "$Q/lock" "$Q/lock.old"
asq ln -s "$B/lockdir" "$Q/lock"
out=$($FSCK 2>&1); rc=$?
check_eq "lock/ a link: exit 1" "$rc" 1
case $out in *"queue/lock: is a symbolic link (never followed)"*) ok "lock/ link reported" ;; *) bad "lock/ link reported" "$out" ;; esac
untouched "lock/ a link, check"
out=$($FSCK -r 2>&1); rc=$?
check_eq "lock/ a link: -r exit 0" "$rc" 0
untouched "lock/ a link, -r"
check "lock/ a directory again" test -d "$Q/lock" -a ! -L "$Q/lock"
check_eq "new lock/tcpto" "$(attr "$Q/lock/tcpto")" "644 $ur:$grp"
restore lock
clean "lock/ a link"
mkbait

asq mv "$Q/info" "$Q/info.old"
asq ln -s "$B/infodir" "$Q/info"
out=$($FSCK -r 2>&1); rc=$?
check_eq "info/ a link: -r exit 0" "$rc" 0
case $out in *"queue/info: repaired: replaced by a directory"*) ok "info/ link replaced" ;; *) bad "info/ link replaced" "$out" ;; esac
untouched "info/ a link"
check_eq "new info/0" "$(attr "$Q/info/0")" "700 $us:$grp"
restore info
clean "info/ a link"
mkbait

asq mv "$Q/todo/3" "$Q/todo3.old"
asq ln -s "$B/dir" "$Q/todo/3"
out=$($FSCK -r 2>&1); rc=$?
check_eq "split dir a link: -r exit 0" "$rc" 0
untouched "split dir a link"
check_eq "split dir made again" "$(attr "$Q/todo/3")" "750 $uq:$grp"
restore todo/3 todo3.old
clean "split dir a link"
mkbait

asq mv "$Q/lock/sendmutex" "$Q/lock/sendmutex.old"
asq ln -s "$B/file" "$Q/lock/sendmutex"
out=$($FSCK -r 2>&1); rc=$?
check_eq "lock file a link: -r exit 0" "$rc" 0
untouched "lock file a link"
check_eq "lock file made again" "$(attr "$Q/lock/sendmutex")" "600 $us:$grp"
restore lock/sendmutex
clean "lock file a link"
mkbait

asq ln -s "$B/file" "$Q/todo/4/1000008"
asq ln -s "$B/file" "$Q/pid/77"
out=$($FSCK -r 2>&1); rc=$?
untouched "message and pid files links"
case $out in *"queue/todo/4/1000008: a symbolic link, not a regular file (never followed)"*) ok "todo link reported" ;;
  *) bad "todo link reported" "$out" ;; esac
case $out in *"queue/pid/77: repaired: removed"*) ok "pid link removed" ;; *) bad "pid link removed" "$out" ;; esac
rm -f "$Q/todo/4/1000008" "$Q/pid/77"
clean "message files links"
mkbait

# --- 2. a hard link (as if fs.protected_hardlinks were off) ---
mv "$Q/lock/tcpto" "$Q/lock/tcpto.old"
ln "$B/lockdir/tcpto" "$Q/lock/tcpto" 2> /dev/null
if [ "$(stat -c %h "$B/lockdir/tcpto")" = 2 ]; then
  bait0=$(bait) # with its second link
  out=$($FSCK -r 2>&1); rc=$?
  check_eq "hard link: -r exit 1" "$rc" 1
  case $out in *"queue/lock/tcpto: has 2 links, want 1"*) ok "hard link reported" ;; *) bad "hard link reported" "$out" ;; esac
  untouched "hard link"
else
  ok "hard link: queue and bait on different file systems, skipped"
fi
restore lock/tcpto
clean "hard link"
mkbait

# --- 3. the race ---
SWAP=$BIN/tests/linkswap
chmod 755 "$BIN" "$BIN/tests" 2> /dev/null
cp "$SWAP" "$T/linkswap" && chmod 755 "$T/linkswap"
asq "$T/linkswap" "$Q/lock" tcpto "$B/lockdir/tcpto" file 3 > "$T/swap1" 2>&1 &
p1=$!
asq "$T/linkswap" "$Q/todo" 5 "$B/dir" dir 3 > "$T/swap2" 2>&1 &
p2=$!
n=0
while [ $n -lt 3000 ] && { kill -0 $p1 2> /dev/null || kill -0 $p2 2> /dev/null; }; do
  $FSCK -r > /dev/null 2>&1
  n=$((n + 1))
done
wait $p1; r1=$?
wait $p2; r2=$?
if [ $r1 -eq 77 ] || [ $r2 -eq 77 ]; then
  ok "race: no RENAME_EXCHANGE here, skipped"
else
  check_eq "race: swappers ran" "$r1:$r2" "0:0"
  c1=$(cat "$T/swap1") c2=$(cat "$T/swap2")
  case $c1$c2 in *[!0-9]*|'') bad "race: swaps counted" "$c1 $c2" ;; *) ok "race: swaps counted" ;; esac
  echo "race: $n runs of sluice-fsck -r against $c1 + $c2 swaps"
fi
untouched "race"
$FSCK -r > /dev/null 2>&1
clean "race"
mkbait

# --- 4. mailq and sluice-qstat as root ---
printf 'Fsender@example.org\0Tleak@example.org\0\0' > "$B/env"; chmod 600 "$B/env"
id=$(asq sh -c 'umask 022; t=$1/mess/0/plant.$$; echo x > "$t" || exit 1
  i=$(stat -c %i "$t"); mv "$t" "$1/mess/$(($i % $2))/$i" && echo "$i"' sh "$Q" "$split")
d=$((id % split))
asq ln -s "$B/env" "$Q/todo/$d/$id"
out=$("$H/bin/sluice-qread" 2>&1)
case $out in *leak@example.org*) bad "mailq does not follow a link" "$out" ;; *) ok "mailq does not follow a link" ;; esac
case $out in *"$id"*) ok "mailq still lists the message" ;; *) bad "mailq still lists the message" "$out" ;; esac
asq rm "$Q/todo/$d/$id"
asq mv "$Q/todo/$d" "$Q/todo/$d.old"
mkdir -m 755 "$B/todo$d"; printf 'Fs@example.org\0Tleak2@example.org\0\0' > "$B/todo$d/$id"
asq ln -s "$B/todo$d" "$Q/todo/$d"
out=$("$H/bin/sluice-qread" 2>&1)
case $out in *leak2@example.org*) bad "mailq does not follow a link to a directory" "$out" ;; *) ok "mailq does not follow a link to a directory" ;; esac
out=$("$H/bin/sluice-qstat" 2>&1); rc=$?
check_eq "qstat does not count through a link" "$rc" 111
asq rm "$Q/todo/$d"; asq mv "$Q/todo/$d.old" "$Q/todo/$d"
rm -f "$Q/mess/$d/$id"
clean "mailq"

# --- 5. quarantine: not the message of its id, an envelope too old ---
p=$((1000031 % split))
echo x > "$Q/mess/$p/1000031"; chown "$uq:$grp" "$Q/mess/$p/1000031"
printf 'Fa@example.org\0Tb@example.org\0\0' > "$Q/todo/$p/1000031"; ln "$Q/todo/$p/1000031" "$Q/intd/$p/1000031"
out=$($FSCK 2>&1); rc=$?
check_eq "not its message: exit 1" "$rc" 1
case $out in *"queue/mess/$p/1000031: not the message of this id (inode "*) ok "not its message reported" ;; *) bad "not its message reported" "$out" ;; esac
out=$($FSCK -r 2>&1); rc=$?
check_eq "not its message: -r exit 1 (quarantine)" "$rc" 1
check_eq "not its message: all of it quarantined" "$(cd "$Q/quarantine" && ls | sed 's/\.[0-9]*$//' | sort | tr '\n' ' ')" \
  "intd.1000031 mess.1000031 todo.1000031 "
check_fail "not its message: gone from mess" test -e "$Q/mess/$p/1000031"
check_fail "not its message: gone from todo" test -e "$Q/todo/$p/1000031"
out=$($FSCK 2>&1)
check_eq "quarantine: one line each" "$(printf '%s\n' "$out" | grep -c '^sluice-fsck: queue/quarantine: quarantined: ')" 3
rm -f "$Q/quarantine/"*

id=$(asq sh -c 'umask 022; t=$1/mess/0/plant.$$; echo x > "$t" || exit 1
  i=$(stat -c %i "$t"); mv "$t" "$1/mess/$(($i % $2))/$i" && echo "$i"' sh "$Q" "$split")
d=$((id % split))
asq sh -c 'printf "Fa@example.org\0Tb@example.org\0\0" > "$1"; ln "$1" "$2"' sh "$Q/todo/$d/$id" "$Q/intd/$d/$id"
touch -d '1 hour ago' "$Q/todo/$d/$id"
out=$($FSCK -r 2>&1); rc=$?
check_eq "old envelope: -r exit 1 (quarantine)" "$rc" 1
case $out in *"queue/todo/$d/$id: envelope not of this message"*) ok "old envelope reported" ;; *) bad "old envelope reported" "$out" ;; esac
check_eq "old envelope quarantined" "$(cd "$Q/quarantine" && ls | sed 's/\.[0-9]*$//')" "todo.$id"
check_fail "its intd removed" test -e "$Q/intd/$d/$id"
check "its message kept" test -f "$Q/mess/$d/$id"
rm -f "$Q/quarantine/"* "$Q/mess/$d/$id"
clean "quarantine"

# An envelope with a stamp is judged by it alone: a real message whose
# envelope is older than its file (the file's time is set from the clock,
# the envelope's from the coarser one the kernel keeps) is clean, and
# one whose stamp is not its message's time goes to quarantine/.
printf 'Subject: s\n\nb\n' > "$T/smsg"
printf 'Fa@example.org\0Tb@example.org\0\0' > "$T/senv"
"$H/bin/sluice-queue" < "$T/smsg" 1< "$T/senv" || bad "stamp: injection" "exit $?"
sf=$(find "$Q/todo" -type f); id=${sf##*/}; d=$((id % split))
touch -d '1 hour ago' "$sf"
clean "stamped envelope older than its message"
python3 - "$sf" <<'PY'
import sys, re
p = sys.argv[1]
b = open(p, 'rb').read()
b2 = re.sub(rb'\0s(\d+)\.(\d{9})\0', lambda m: b'\0s' + m.group(1) + b'.' + b'%09d' % ((int(m.group(2)) + 7) % 10**9) + b'\0', b, count=1)
assert b2 != b
open(p, 'r+b').write(b2)
PY
out=$($FSCK -r 2>&1); rc=$?
check_eq "forged stamp: -r exit 1 (quarantine)" "$rc" 1
case $out in *"queue/todo/$d/$id: envelope not of this message"*) ok "forged stamp reported" ;; *) bad "forged stamp reported" "$out" ;; esac
check_eq "forged stamp: quarantined" "$(cd "$Q/quarantine" && ls | sed 's/\.[0-9]*$//')" "todo.$id"
rm -f "$Q/quarantine/"* "$Q/mess/$d/$id"
clean "forged stamp"

# --- 6. tools/config in the alias user's home ---
mkbait
ua=$(role alias) nog=$(role nogroup)
as "$ua" "$nog" ln -s "$B/file" "$H/alias/.qmail-postmaster.tmp"
as "$ua" "$nog" ln -s "$B/file" "$H/alias/.qmail-root"
as "$ua" "$nog" ln -s "$B/dir" "$H/alias/Maildir.tmp"
sh tools/config "$H" links.example > "$T/config.out" 2>&1
check_eq "tools/config with planted links" "$?" 0
untouched "tools/config"
check_eq "alias .qmail written by the alias user" "$(attr "$H/alias/.qmail-postmaster") $(cat "$H/alias/.qmail-postmaster")" \
  "644 $ua:$nog ./Maildir/"
check_eq "alias Maildir made by the alias user" "$(attr "$H/alias/Maildir/new")" "700 $ua:$nog"

done_testing
