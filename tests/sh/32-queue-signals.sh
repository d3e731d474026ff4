#!/bin/sh
# 32-queue-signals.sh: signals from the caller of sluice-queue (issue 12).
#
# The caller of the setuid sluice-queue keeps its real uid and so may
# signal it at any moment. An ordinary user sends SIGALRM (and SIGHUP,
# SIGTERM, SIGINT) at random points and, through tests/helpers/sigrace,
# in the commit window (a todo name exists, its fsync has not returned).
# Checked afterwards: a SIGALRM not sent by the process's own timer is
# ignored (every injection exits 0); no todo entry is ever left without
# its message (the trap that let a user read others' mail); a signal
# that ends the injector leaves no committed message behind a failure
# code; sluice-fsck finds the queue consistent.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

PATH=$PATH:/usr/sbin:/sbin
export PATH
QD=$H/queue
SPLIT=$(sed -n 1p conf-split)
TUSER=sluicesg$$
useradd -M -N -s /bin/sh -d /nonexistent "$TUSER" > /dev/null 2>&1 || { bad "useradd $TUSER"; done_testing; }
trap 'userdel "$TUSER" > /dev/null 2>&1; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP

printf 'Subject: trap\n\nbody\n' > "$T/msg"
printf 'Fattacker@example.org\0Tattacker@example.org\0\0' > "$T/env"
chmod 644 "$T/msg" "$T/env"

# consistent: every todo entry has its message (same inode), and the
# number of todo entries is $1.
consistent() {
  orphans=0 n=0
  for tf in $(find "$QD/todo" -type f); do
    n=$((n + 1))
    id=${tf##*/}
    mf=$QD/mess/$((id % SPLIT))/$id
    if [ ! -f "$mf" ] || [ "$(stat -c %i "$mf")" != "$id" ]; then orphans=$((orphans + 1)); fi
  done
  check_eq "$2: no todo entry without its message" "$orphans" 0
  check_eq "$2: todo entries" "$n" "$1"
}

# 1. SIGALRM (14) at random points and in the commit window: ignored.
runs=300
"$BIN/tests/sigrace" "$QD" "$SPLIT" $runs "$T/msg" "$T/env" 14 \
  "$(id -u "$TUSER")" "$(id -g "$TUSER")" "$H/bin/sluice-queue" \
  > "$T/out" 2> "$T/err"
# A SIGALRM that comes before sluice-queue has installed its handler
# (while the helper's child still starts it) ends the process before it made anything:
# counted as exit 255 and allowed; any other failure is not.
ok0=$(awk '$2 == 0 { print $3 }' "$T/out"); ok0=${ok0:-0}
check_eq "SIGALRM from the caller: nothing but exit 0 or an early death" "$(awk '$2 != 0 && $2 != 255' "$T/out")" ""
check "SIGALRM from the caller: injections ignore it and exit 0 ($ok0 of $runs; the rest were signalled before their start)" test "$ok0" -ge $((runs / 10))
consistent "$ok0" "SIGALRM"
check_eq "SIGALRM: pid/ empty" "$(find "$QD/pid" -type f | wc -l)" 0

# 2. Signals whose default action ends the process (SIGHUP 1, SIGINT 2,
# SIGTERM 15): an injection may die before its commit (exit 255 here),
# never after it with a committed message and a failure code.
for s in 1 2 15; do
  find "$QD/mess" "$QD/intd" "$QD/todo" "$QD/pid" -type f -exec rm -f {} +
  "$BIN/tests/sigrace" "$QD" "$SPLIT" 100 "$T/msg" "$T/env" $s \
    "$(id -u "$TUSER")" "$(id -g "$TUSER")" "$H/bin/sluice-queue" \
    > "$T/out" 2> "$T/err"
  ok0=$(awk '$2 == 0 { print $3 }' "$T/out"); ok0=${ok0:-0}
  consistent "$ok0" "signal $s"
  check_eq "signal $s: nothing but exit 0 or death by signal" "$(awk '$2 != 0 && $2 != 255' "$T/out")" ""
done

out=$("$H/bin/sluice-fsck" -n "$QD" 2>&1)
case $out in *"todo"*"without"*) bad "sluice-fsck: todo without message" "$out" ;; *) ok "sluice-fsck finds no todo without message" ;; esac

done_testing
