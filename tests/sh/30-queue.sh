#!/bin/sh
# 30-queue.sh: sluice-queue as installed (setuid to the queue user).
#
#  1. injections of a small, an empty, a 50 MB, a binary message and of
#     1,000 recipients: exit 0; the mess file is the Received line plus
#     the input byte for byte; todo/N/ID holds u<uid> p<pid> and the
#     envelope exactly; ID is the inode of the mess file, N = ID mod
#     conf-split; its id and a newline go to lock/trigger when it has a reader;
#  2. every envelope error gives its exit code and leaves no file;
#  3. the Received line names the invoking uid, or "from network" for
#     the daemon user;
#  4. the files belong to the queue user; an ordinary user can inject
#     but not read the queue;
#  5. syscall faults (strace -e inject) at every write, fsync, link,
#     open and close: a temporary exit code and an empty queue, or exit
#     0 with a complete commit; kill -9 at every system call: a todo
#     file only with its complete message; sluice-fsck reports the
#     leftovers once old and -r removes them, keeping committed mail;
#  6. 20 injectors at once, 2,000 messages: all committed and intact.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

PATH=$PATH:/usr/sbin:/sbin
export PATH
Q=$H/bin/sluice-queue
QD=$H/queue
SPLIT=$(sed -n 1p conf-split)
role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_QUEUE=$(role queue)
U_DAEMON=$(role daemon)
QUID=$(id -u "$U_QUEUE")

# An ordinary user, removed at the end.
TUSER=sluicet$$
useradd -M -N -s /bin/sh -d /nonexistent "$TUSER" > /dev/null 2>&1 || { bad "useradd $TUSER"; done_testing; }
trap 'userdel "$TUSER" > /dev/null 2>&1; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
TUID=$(id -u "$TUSER")
VHOW=

# as NAME CMD...: runs CMD under the uid, gid and groups of NAME.
as() { u=$1; shift; setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups "$@"; }

W=$T/w         # written by the injectors of every user
mkdir "$W" && chmod 1777 "$W"

# inject MSG ENV [WRAPPER...]: runs $Q (or $QPROG) with MSG on fd 0 and
# ENV on fd 1 under WRAPPER, for at most 2 minutes; sets rc and qpid
# (the injector's pid).
inject() {
  m=$1 e=$2; shift 2
  rm -f "$W/qpid"
  "$@" timeout 120 sh -c 'echo $$ > "$1"; exec "$2" < "$3" 1< "$4"' inject "$W/qpid" "${QPROG:-$Q}" "$m" "$e" 2> "$W/err"
  rc=$?
  qpid=$(cat "$W/qpid" 2> /dev/null)
}

# Every file of the queue's entry directories, sorted.
qfiles() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f | sort; }
qclear() { find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f -exec rm -f {} +; }

# verify_one MSG ENV UID PID NAME: the queue holds exactly one message,
# committed, and it is MSG and ENV as injected by UID with PID (PID
# empty: the one the Received line names). $vhow, when set, is what the
# Received line must say after "invoked" instead of "by uid UID".
verify_one() {
  m=$1 e=$2 vuid=$3 vpid=$4 tn=$5
  vhow=${VHOW:-"by uid $vuid"}
  set -- $(find "$QD/mess" -type f)
  if [ $# -ne 1 ]; then bad "$tn: one mess file" "found $#"; return; fi
  mf=$1
  id=${mf##*/}
  sub=${mf%/*}; sub=${sub##*/}
  check_eq "$tn: id is the inode" "$(stat -c %i "$mf")" "$id"
  check_eq "$tn: split dir is id mod $SPLIT" "$sub" "$((id % SPLIT))"
  first=$(head -n 1 "$mf")
  if [ -z "$vpid" ]; then vpid=${first#"Received: (sluice "}; vpid=${vpid%% *}; fi
  case $first in
    "Received: (sluice $vpid invoked $vhow); "[A-Z][a-z][a-z]", "[0-9]*" "[A-Z][a-z][a-z]" "2[0-9][0-9][0-9]" "[0-2][0-9]:[0-5][0-9]:[0-6][0-9]" "[+-][0-9][0-9][0-9][0-9]) ok "$tn: Received line" ;;
    *) bad "$tn: Received line" "[$first]" ;;
  esac
  skip=$(head -n 1 "$mf" | wc -c)
  if tail -c +$((skip + 1)) "$mf" | cmp -s - "$m"; then ok "$tn: mess is Received line + input"; else bad "$tn: mess is Received line + input"; fi
  tf=$QD/todo/$sub/$id
  if [ -f "$tf" ]; then
    elen=$(wc -c < "$e")
    # the stamp: the message file's time, to the nanosecond (sluice-queue(5))
    { printf 'u%s\0p%s\0s%s\0' "$vuid" "$vpid" "$(stat -c %.9Y "$mf")"; head -c $((elen - 1)) "$e"; } > "$W/todo.want"
    if cmp -s "$W/todo.want" "$tf"; then ok "$tn: todo exact"; else bad "$tn: todo exact" "$(od -c "$tf" | head -3)"; fi
  else
    bad "$tn: todo file $tf exists"
  fi
  check_eq "$tn: intd and todo are one file" "$(stat -c %i "$QD/intd/$sub/$id" 2> /dev/null)" "$(stat -c %i "$tf" 2> /dev/null)"
  check_eq "$tn: pid/ empty after" "$(find "$QD/pid" -type f | wc -l)" 0
}

# --- 1. injections that succeed ------------------------------------------
printf 'Subject: hi\n\nhello\n' > "$T/small"
: > "$T/empty"
head -c 52428800 /dev/urandom > "$T/big"
printf 'bin\0ary\0\377\376\r\n\0\0no final newline' > "$T/binary"
printf 'Fme@example.org\0Tyou@example.org\0\0' > "$T/env1"
printf 'F\0\0' > "$T/env0"
{
  printf 'Fmany@example.org\0'
  i=0
  while [ $i -lt 1000 ]; do printf 'Tr%d@example.org\0' $i; i=$((i + 1)); done
  printf '\0'
} > "$T/env1000"
chmod 644 "${T:?}"/*

check_eq "sluice-queue is setuid to $U_QUEUE" "$(stat -c '%a %U' "$Q")" "4711 $U_QUEUE"
echo 0 > "$H/control/databytes" # no limit: the 50 MB message is over the default
for c in "small env1" "empty env1" "big env1" "binary env1" "small env1000" "small env0"; do
  set -- $c
  qclear
  inject "$T/$1" "$T/$2"
  check_eq "$1/$2: exit 0" "$rc" 0
  verify_one "$T/$1" "$T/$2" 0 "$qpid" "$1/$2"
done
rm -f "$T/big" "$H/control/databytes"

# As root the setuid program runs as the queue user: its files are his.
qclear
inject "$T/small" "$T/env1"
for f in $(qfiles); do
  check_eq "owner of ${f#$QD/}" "$(stat -c %U "$f")" "$U_QUEUE"
done
check_eq "root injection made mess, intd, todo" "$(qfiles | wc -l)" 3

# The trigger: the new message's id and a newline per commit when
# sluice-send listens. fd 3 holds the fifo open for reading and writing,
# so the open cannot block and the read below ends (by timeout) after
# what is there.
qclear
exec 3<> "$QD/lock/trigger"
inject "$T/small" "$T/env1"
got=$(timeout 3 dd bs=64 count=1 <&3 2> /dev/null | od -An -c | tr -d ' \n')
exec 3<&-
check_eq "trigger: exit 0" "$rc" 0
check_eq "trigger: the id of the message and a newline" "$got" "$(find "$QD/todo" -type f -printf '%f')\\n"
qclear
inject "$T/small" "$T/env1"
check_eq "no reader on the trigger: still exit 0" "$rc" 0

# --- 2. envelope errors ---------------------------------------------------
# envcase NAME WANT [LINES]: the envelope in $T/envx gives exit WANT; on
# an error no file appears anywhere in the queue and fd 2 gets LINES
# lines (default 1; none for an empty envelope: a caller that gave up
# on purpose reports the reason itself).
envcase() {
  chmod 644 "$T/envx"
  qclear
  before=$(find "$QD" -type f | sort)
  inject "$T/small" "$T/envx"
  after=$(find "$QD" -type f | sort)
  check_eq "$1: exit $2" "$rc" "$2"
  if [ "$2" -ne 0 ]; then
    check_eq "$1: no new file" "$after" "$before"
    check_eq "$1: ${3:-1} line(s) on fd 2" "$(wc -l < "$W/err")" "${3:-1}"
  fi
}
a1004=$(head -c 1004 /dev/zero | tr '\0' a)
a1003=${a1004#a}
printf '' > "$T/envx"; envcase "empty envelope" 54 0
printf 'Fa@b\0Tc@d\0' > "$T/envx"; envcase "no final NUL" 54
printf 'Fa@b\0Tc@d' > "$T/envx"; envcase "cut inside an address" 54
printf 'Fa@b' > "$T/envx"; envcase "cut inside the sender" 54
printf 'Xa@b\0Tc@d\0\0' > "$T/envx"; envcase "first byte not F" 91
printf '\0' > "$T/envx"; envcase "no sender record" 91
printf 'Fa@b\0Xc@d\0\0' > "$T/envx"; envcase "record not T" 91
printf 'Fa@b\0Tc@d\0Fe@f\0\0' > "$T/envx"; envcase "second F record" 91
printf 'Fa@b\0Tc@d\0\0junk' > "$T/envx"; envcase "bytes after the final NUL" 91
printf 'Fa@b\0Tc@d\0\0\0' > "$T/envx"; envcase "NUL after the final NUL" 91
printf 'Fa@b\0T%s\0\0' "$a1004" > "$T/envx"; envcase "recipient of 1004 bytes" 11
printf 'F%s\0Tc@d\0\0' "$a1004" > "$T/envx"; envcase "sender of 1004 bytes" 11
printf 'Fa@b\0Tc\n@d\0\0' > "$T/envx"; envcase "LF in a recipient" 91
printf 'Fa\r@b\0Tc@d\0\0' > "$T/envx"; envcase "CR in the sender" 91
printf 'F%s\0T%s\0\0' "$a1003" "$a1003" > "$T/envx"; envcase "addresses of 1003 bytes" 0
verify_one "$T/small" "$T/envx" 0 "$qpid" "addresses of 1003 bytes"

# --- 3 and 4. who invoked it; an ordinary user --------------------------
qclear
inject "$T/small" "$T/env1" as "$TUSER"
check_eq "ordinary user: exit 0" "$rc" 0
verify_one "$T/small" "$T/env1" "$TUID" "$qpid" "ordinary user"
mf=$(find "$QD/mess" -type f)
check_fail "ordinary user cannot read a queued message" as "$TUSER" cat "$mf" 2> /dev/null
check_fail "ordinary user cannot list the queue" as "$TUSER" ls "$QD" 2> /dev/null
check_fail "ordinary user cannot make a todo file" as "$TUSER" sh -c ": > '$QD/todo/0/1'" 2> /dev/null
check_eq "files of a user's message belong to $U_QUEUE" "$(qfiles | xargs stat -c %U | sort -u)" "$U_QUEUE"
# readable by the queue's roles only (group sluice from the setgid pid/
# and intd/), whatever the caller's umask and group
qclear
old_umask=$(umask); umask 000
inject "$T/small" "$T/env1" as "$TUSER"
umask "$old_umask"
check_eq "umask 000: exit 0" "$rc" 0
check_eq "umask 000: message and envelope 0640, group $(role group)" "$(qfiles | xargs stat -c '%a %G' | sort -u)" "640 $(role group)"

qclear
inject "$T/small" "$T/env1" as "$U_DAEMON"
check_eq "daemon user: exit 0" "$rc" 0
VHOW="from network"
verify_one "$T/small" "$T/env1" "$(id -u "$U_DAEMON")" "$qpid" "daemon user"
VHOW=

# --- 5. faults and kills ---------------------------------------------------
# A copy without the setuid bit, run by strace under the queue user's
# uid (strace -u), so that the tracee has the ids the setuid program has.
QCOPY=$T/sluice-queue.copy
cp "$Q" "$QCOPY" && chmod 0755 "$QCOPY"
# srun STRACE-OPTIONS...: the copy under strace; sets rc.
srun() {
  timeout 60 strace -f -qq -u "$U_QUEUE" "$@" "$QCOPY" < "$T/small" 1< "$T/env1" 2> "$W/err"
  rc=$?
}
is_temp() { [ "$1" -ne 0 ] && [ "$1" -lt 128 ] && { [ "$1" -lt 11 ] || [ "$1" -gt 40 ]; }; }

# A reference trace: every system call, in order. The commit point is the
# fsync after the link into todo/.
qclear
srun -o "$T/ref"
check_eq "reference run under strace: exit 0" "$rc" 0
verify_one "$T/small" "$T/env1" "$QUID" "" "reference run"
awk '{ sub(/^[0-9]+ +/, "")
       if (!match($0, /^[a-z0-9_]+\(/)) next
       s = substr($0, 1, RLENGTH - 1); n[s]++
       if (s ~ /^link/ && index($0, "todo/")) tl = 1
       if (tl && s == "fsync" && !c) { c = 1; for (k in n) pre[k] = n[k] } }
     END { for (k in n) print k, n[k], ((k in pre) ? pre[k] : 0) }' "$T/ref" > "$T/counts"
cnt() { v=$(awk -v s="$1" -v f="$2" '$1 == s { print $f }' "$T/counts"); echo "${v:-0}"; }
check "the trace shows a link into todo/" grep -q 'link.*todo/' "$T/ref"
nfs=$(cnt fsync 3)
check "at least 4 fsyncs up to the commit (file, mess dir, intd, todo dir): $nfs" [ "$nfs" -ge 4 ]

# Each write, fsync, link, open and close fails in turn with EIO.
for sc in write fsync fdatasync link linkat open openat close; do
  total=$(cnt $sc 2) pre=$(cnt $sc 3)
  k=1 nz=0
  while [ "$k" -le "$total" ]; do
    qclear
    srun -o /dev/null -e inject=$sc:error=EIO:when=$k
    tn="EIO at $sc #$k (rc $rc)"
    if [ "$rc" -eq 0 ]; then
      verify_one "$T/small" "$T/env1" "$QUID" "" "$tn"
    else
      nz=$((nz + 1))
      check "$tn: temporary exit code" is_temp "$rc"
      check_eq "$tn: queue left empty" "$(qfiles)" ""
    fi
    case $sc in
      write|fsync|fdatasync|link|linkat)
        # every one of these before the commit is the program's own
        if [ "$k" -le "$pre" ]; then check "$tn: fails before the commit" [ "$rc" -ne 0 ]; fi ;;
    esac
    k=$((k + 1))
  done
  case $sc in
    # pid file, mess dir, intd file, todo dir; message and envelope
    # (glibc opens with openat, musl with open: the two together)
    open) nz_open=$nz total_open=$total ;;
    openat) check "EIO at open and openat: at least 4 of $((total_open + total)) failed the injection ($((nz_open + nz)))" \
              [ $((nz_open + nz)) -ge 4 ] ;;
    close) check "EIO at close: at least 2 of $total failed the injection ($nz)" [ "$nz" -ge 2 ] ;;
  esac
done

# kill -9 on entry to every system call from the chdir to the queue on.
# On entry means the call is not made: a todo file exists exactly when
# the kill came after the link into todo/, and then its message is whole.
awk '{ sub(/^[0-9]+ +/, "")
       if (!match($0, /^[a-z0-9_]+\(/)) next
       s = substr($0, 1, RLENGTH - 1); n[s]++
       if (s == "chdir") go = 1
       if (go) print s, n[s], (done ? "after" : "before")
       if (s ~ /^link/ && index($0, "todo/")) done = 1 }' "$T/ref" > "$T/events"
check "kill steps found: $(wc -l < "$T/events")" [ "$(wc -l < "$T/events")" -ge 15 ]
qclear
committed=""
while read -r s k when; do
  before=$(qfiles)
  srun -o /dev/null -e inject=$s:signal=SIGKILL:when=$k
  tn="kill at $s #$k"
  check_eq "$tn: killed" "$rc" 137
  printf '%s\n' "$before" > "$W/before"
  new=$(qfiles | comm -13 "$W/before" -)
  todo=$(printf '%s\n' "$new" | grep "/todo/" || true)
  if [ "$when" = after ]; then
    check_eq "$tn: committed" "$(printf '%s\n' "$todo" | grep -c /todo/)" 1
  else
    check_eq "$tn: not committed" "$todo" ""
  fi
  if [ -n "$todo" ]; then
    id=${todo##*/} sub=${todo%/*}; sub=${sub##*/}
    mf=$QD/mess/$sub/$id
    first=$(head -n 1 "$mf")
    p=${first#"Received: (sluice "}; p=${p%% *}
    skip=$(printf '%s\n' "$first" | wc -c)
    if tail -c +$((skip + 1)) "$mf" | cmp -s - "$T/small"; then ok "$tn: message whole"; else bad "$tn: message whole"; fi
    { printf 'u%s\0p%s\0s%s\0' "$QUID" "$p" "$(stat -c %.9Y "$mf")"; printf 'Fme@example.org\0Tyou@example.org\0'; } | cmp -s - "$todo" \
      && ok "$tn: todo whole" || bad "$tn: todo whole"
    committed="$committed $mf $todo"
  fi
done < "$T/events"

# Leftovers of the kills: reported by sluice-fsck once old, removed by -r;
# committed messages stay.
qfiles > "$T/all"
for f in $committed; do echo "$f"; done | sort > "$T/keep"
comm -23 "$T/all" "$T/keep" | grep -v '/intd/' > "$T/leftovers.mp" || true
# intd files of committed messages are the todo files' other names
for f in $(grep '/intd/' "$T/all"); do
  id=${f##*/} sub=${f%/*}; sub=${sub##*/}
  [ -f "$QD/todo/$sub/$id" ] || echo "$f"
done > "$T/leftovers.intd"
sort "$T/leftovers.mp" "$T/leftovers.intd" > "$T/leftovers.all"
# a pid file left by a kill after the commit is a second name of a
# committed message: aging it would change the message's time, which is
# its stamp, so it stays young (removed once stale, with its message's age)
for f in $committed; do stat -c %i "$f"; done | sort -u > "$T/keep.ino"
: > "$T/leftovers"; : > "$T/young"
while read -r f; do
  if grep -qx "$(stat -c %i "$f")" "$T/keep.ino"; then echo "$f" >> "$T/young"; else echo "$f" >> "$T/leftovers"; fi
done < "$T/leftovers.all"
check "kills left leftovers to clean: $(wc -l < "$T/leftovers")" [ -s "$T/leftovers" ]
check "some kills committed: $(wc -l < "$T/keep")" [ -s "$T/keep" ]
# only the leftovers are aged: a committed message's file keeps the time
# that is its stamp (sluice-queue(5), "Message identity")
xargs touch -d '2 days ago' < "$T/leftovers"
"$H/bin/sluice-fsck" > "$T/fsck.out" 2>&1
check_eq "sluice-fsck finds the leftovers: exit 1" "$?" 1
while read -r f; do
  r=${f#$QD/}
  check "sluice-fsck reports $r" grep -qF "$r:" "$T/fsck.out"
done < "$T/leftovers"
while read -r f; do
  r=${f#$QD/}
  check_fail "sluice-fsck does not report committed $r" grep -qF "$r:" "$T/fsck.out"
done < "$T/keep"
"$H/bin/sluice-fsck" -r > "$T/fsck-r.out" 2>&1
check_eq "sluice-fsck -r: exit 0" "$?" 0
"$H/bin/sluice-fsck" > "$T/fsck2.out" 2>&1
check_eq "sluice-fsck after -r: clean" "$?" 0
while read -r f; do
  check_fail "removed ${f#$QD/}" [ -e "$f" ]
done < "$T/leftovers"
while read -r f; do
  check "kept ${f#$QD/}" [ -f "$f" ]
done < "$T/keep"
check_eq "pid/ holds only second names of committed messages" "$(find "$QD/pid" -type f | sort)" "$(sort "$T/young")"
xargs rm -f < "$T/young"

# --- 6. 20 injectors at once, 2,000 messages ------------------------------
qclear
C=$T/c
mkdir "$C"
deadline=$(($(date +%s) + 150))
w=1
while [ $w -le 20 ]; do
  (
    j=1
    while [ $j -le 100 ] && [ "$(date +%s)" -lt "$deadline" ]; do
      printf 'Subject: w%s-%s\n\nbody w%s-%s\n' $w $j $w $j > "$C/m$w"
      printf 'Fw%s-%s@example.org\0Tr@example.org\0\0' $w $j > "$C/e$w"
      "$Q" < "$C/m$w" 1< "$C/e$w" 2>> "$C/err$w" || echo "$w $j $?" >> "$C/fail$w"
      echo "$w $j" >> "$C/done$w"
      j=$((j + 1))
    done
  ) &
  w=$((w + 1))
done
wait
check_eq "concurrent: 2000 injections ran" "$(cat "$C"/done* | sort -u | wc -l)" 2000
check_eq "concurrent: all exit 0" "$(cat "$C"/fail* 2> /dev/null)" ""
check_eq "concurrent: 2000 todo files" "$(find "$QD/todo" -type f | wc -l)" 2000
check_eq "concurrent: 2000 distinct ids" "$(find "$QD/todo" -type f | awk -F/ '{ print $NF }' | sort -u | wc -l)" 2000
check_eq "concurrent: pid/ empty" "$(find "$QD/pid" -type f | wc -l)" 0
# Each mess file: the Received line, then the message given with its id;
# bytes counted so that a missing final newline shows.
find "$QD/mess" -type f | xargs awk '
  function flush() {
    if (f == "") return
    good = nl == 4 && l1 ~ /^Received: \(sluice [0-9]+ invoked by uid 0\); / && l2 == "Subject: " tok && l3 == "" && l4 == "body " tok
    n = f; sub(/.*\//, "", n); sub(/\/[^\/]*$/, "", f); sub(/.*\//, "", f)
    print n, f, (good ? tok : "BAD"), bytes
  }
  FNR == 1 { flush(); f = FILENAME; nl = 0; bytes = 0; l1 = $0 }
  { nl++; bytes += length($0) + 1 }
  FNR == 2 { l2 = $0; tok = substr($0, 10) }
  FNR == 3 { l3 = $0 }
  FNR == 4 { l4 = $0 }
  END { flush() }' | sort > "$C/mess.txt"
find "$QD/mess" -type f -printf '%f %s\n' | sort > "$C/sizes.txt"
awk '{ print $1, $4 }' "$C/mess.txt" > "$C/sizes.awk"
check "concurrent: every mess file ends with its newline" cmp -s "$C/sizes.txt" "$C/sizes.awk"
check_eq "concurrent: every mess file intact" "$(grep -c ' BAD ' "$C/mess.txt")" 0
find "$QD/todo" -type f | xargs awk 'BEGIN { RS = "\0" }
  function flush() {
    if (f == "") return
    good = nr == 5 && r1 == "u0" && r2 ~ /^p[0-9]+$/ && r3 ~ /^s[0-9]+\.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]$/ && r5 == "Tr@example.org"
    n = f; sub(/.*\//, "", n); sub(/\/[^\/]*$/, "", f); sub(/.*\//, "", f)
    print n, f, (good ? tok : "BAD")
  }
  FNR == 1 { flush(); f = FILENAME; nr = 0; r1 = $0 }
  { nr++ }
  FNR == 2 { r2 = $0 }
  FNR == 3 { r3 = $0 }
  FNR == 4 { tok = $0; sub(/^F/, "", tok); sub(/@example\.org$/, "", tok) }
  FNR == 5 { r5 = $0 }
  END { flush() }' | sort > "$C/todo.txt"
awk '{ print $1, $2, $3 }' "$C/mess.txt" > "$C/mess3.txt"
check "concurrent: each todo names the sender of its own message" cmp -s "$C/mess3.txt" "$C/todo.txt"
check_eq "concurrent: 2000 distinct messages" "$(awk '{ print $3 }' "$C/todo.txt" | grep -v BAD | sort -u | wc -l)" 2000
check_eq "concurrent: split dirs match ids" "$(awk '$2 != $1 % '"$SPLIT"'' "$C/todo.txt" | wc -l)" 0

# --- 7. where the message's inode is made --------------------------------
# An unnamed file (O_TMPFILE) in intd/P, linked to mess/N/ID through
# /proc/self/fd, so that the messages' inodes spread over the split
# directories' block groups; no pid/ name (sluice-queue(5), step 1).
qclear
srun -o "$T/tmpfile" -e trace=open,openat,link,linkat
check_eq "O_TMPFILE: exit 0" "$rc" 0
check "O_TMPFILE: the message is an unnamed file in intd/P" grep -qE 'open(at)?\((AT_FDCWD, )?"intd/[0-9]+", [^)]*O_TMPFILE' "$T/tmpfile"
check "O_TMPFILE: linked to mess/N/ID through /proc/self/fd" grep -qE 'linkat\(AT_FDCWD, "/proc/self/fd/[0-9]+", AT_FDCWD, "mess/[0-9]+/[0-9]+"' "$T/tmpfile"
check_fail "O_TMPFILE: no pid/ name" grep -q '"pid/' "$T/tmpfile"
verify_one "$T/small" "$T/env1" "$QUID" "" "O_TMPFILE"
# ids from many injectors spread as the intd/P directories do (which
# sluice-fsck -c spreads over the block groups on ext4): the inode
# numbers of 40 messages span at least a quarter of what the
# directories' own numbers span (with one pid/ they sat side by side)
qclear
k=0
while [ $k -lt 40 ]; do inject "$T/small" "$T/env1"; k=$((k + 1)); done
span() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print hi - lo }'; }
mspan=$(find "$QD/mess" -type f -printf '%i\n' | span)
dspan=$(find "$QD/intd" -mindepth 1 -maxdepth 1 -type d -printf '%i\n' | span)
check "O_TMPFILE: 40 messages' inodes spread (span $mspan, intd/P directories $dspan)" [ "$mspan" -ge $((dspan / 4)) ]
# without /proc (a chroot, a container): the pid file as before
if command -v unshare > /dev/null 2>&1 && unshare -m true 2> /dev/null; then
  qclear
  timeout 60 unshare -m sh -c 'umount -l /proc && exec strace -f -qq -u "$1" -o "$2" -e trace=open,openat,link,linkat "$3" < "$4" 1< "$5"' \
    noproc "$U_QUEUE" "$T/noproc" "$QCOPY" "$T/small" "$T/env1" 2> "$W/err"
  rc=$?
  check_eq "no /proc: exit 0 ($(cat "$W/err"))" "$rc" 0
  check "no /proc: pid/PID made and linked to mess/N/ID" grep -qE 'link\("pid/[0-9]+", "mess/[0-9]+/[0-9]+"\)' "$T/noproc"
  check_eq "no /proc: pid/ empty after" "$(find "$QD/pid" -type f | wc -l)" 0
  verify_one "$T/small" "$T/env1" "$QUID" "" "no /proc"
else
  bad "unshare -m is needed for the no-/proc case" "$(unshare -m true 2>&1)"
fi
qclear

done_testing
