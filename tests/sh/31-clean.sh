#!/bin/sh
# 31-clean.sh: sluice-clean, run as the queue user, through its protocol
# (sluice-clean(8)): requests on fd 0, one answer byte each on fd 1.
#
#  - t<id> removes todo and intd, leaves mess;
#  - m<id> is refused ('!') while todo exists, done ('+') after t<id>;
#  - names already gone are not an error;
#  - p removes only pid files older than 36 hours;
#  - malformed requests get '?' and remove nothing; a request cut off
#    by end of input gets no answer and removes nothing;
#  - exactly one answer per request, in order, also for requests split
#    across reads and for 1,000 requests in one stream;
#  - q<id> refuses ('!') to move a message whose file is the one its
#    envelope committed (regular, the queue user's, inode = id, time =
#    the envelope's stamp), and moves the todo entry of any other to
#    quarantine/todo.ID.TIME ('+'), removing intd only when it is the
#    same file: a changed file time, a forged stamp, a missing message.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

PATH=$PATH:/usr/sbin:/sbin
export PATH
Q=$H/bin/sluice-queue
QD=$H/queue
SPLIT=$(sed -n 1p conf-split)
U_QUEUE=$(awk 'NF == 0 { exit } $1 == "queue" { print $2 }' conf-users)
as() { u=$1; shift; setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups "$@"; }

# clean: requests on stdin; the answers land in $ans, the exit code in crc.
clean() {
  as "$U_QUEUE" "$H/bin/sluice-clean" > "$T/ans" 2> "$T/log"
  crc=$?
  ans=$(cat "$T/ans")
}

# inject: queues a small message; its id in $id, its split dir in $sd.
printf 'Subject: clean\n\nbody\n' > "$T/msg"
printf 'Fa@example.org\0Tb@example.org\0\0' > "$T/env"
inject() {
  find "$QD/mess" -type f | sort > "$T/before"
  "$Q" < "$T/msg" 1< "$T/env" || bad "injection for the test" "exit $?"
  new=$(find "$QD/mess" -type f | sort | comm -13 "$T/before" -)
  id=${new##*/}
  sd=$((id % SPLIT))
}
there() { [ -f "$QD/$1/$sd/$id" ]; }

inject
id1=$id
check "message 1: todo there" there todo
check "message 1: intd there" there intd

# m refused while todo exists; t removes todo and intd; then m works.
printf 'm%s\0' "$id1" > "$T/req"; clean < "$T/req"
check_eq "m while todo exists: refused" "$ans" "!"
check_eq "m refused: exit 0" "$crc" 0
check "m refused: mess stays" there mess
check "m refused: todo stays" there todo
check "m refused: intd stays" there intd
printf 't%s\0m%s\0' "$id1" "$id1" > "$T/req"
clean < "$T/req"
# one session: t then m, answered in order
check_eq "t then m: answers in order" "$ans" "++"
check_fail "t: todo removed" there todo
check_fail "t: intd removed" there intd
check_fail "m: mess removed" there mess

inject
id2=$id
printf 't%s\0' "$id2" > "$T/req"; clean < "$T/req"
check_eq "t alone: +" "$ans" "+"
check_fail "t alone: todo removed" there todo
check_fail "t alone: intd removed" there intd
check "t alone: mess stays" there mess
printf 't%s\0m%s\0t%s\0' "$id1" "$id1" "$id2" > "$T/req"; clean < "$T/req"
check_eq "names already gone: not an error" "$ans" "+++"
printf 'm%s\0' "$id2" > "$T/req"; clean < "$T/req"
check_eq "m after t: +" "$ans" "+"
check_fail "m after t: mess removed" there mess

# p: only pid files older than 36 hours go; queued messages are not
# touched however old they are.
inject
id3=$id
find "$QD/mess" "$QD/todo" "$QD/intd" -type f | xargs touch -d '3 days ago'
for p in 900001 900002 900003 900004; do
  : > "$QD/pid/$p"
  chown "$U_QUEUE" "$QD/pid/$p"
done
touch -d '2 days ago' "$QD/pid/900001"
touch -d '35 hours ago' "$QD/pid/900002"
touch -d '37 hours ago' "$QD/pid/900004"
printf 'p\0' > "$T/req"; clean < "$T/req"
check_eq "p: +" "$ans" "+"
check_fail "p: pid file of 2 days removed" [ -e "$QD/pid/900001" ]
check_fail "p: pid file of 37 hours removed" [ -e "$QD/pid/900004" ]
check "p: pid file of 35 hours stays" [ -e "$QD/pid/900002" ]
check "p: new pid file stays" [ -e "$QD/pid/900003" ]
check "p: old queued mess stays" there mess
check "p: old queued todo stays" there todo
check "p: old queued intd stays" there intd

# Malformed requests, most of them aimed at message 3 (which is still in
# todo, so a wrong parse that ran t would be seen): '?' each, nothing
# removed.
pad=$(printf '%s' "t$id3" | wc -c)
long=t$id3$(head -c $((40 - pad)) /dev/zero | tr '\0' 0)
long32=t$id3$(head -c $((32 - pad)) /dev/zero | tr '\0' 0)
over31=t$(head -c 30 /dev/zero | tr '\0' 1)
{
  printf 'x1\0t\0t01\0t12a\0%s\0' "$long"
  printf 'x%s\0t0%s\0t%sa\0T%s\0 t%s\0t %s\0t+%s\0t-1\0\0p1\0pp\0P\0m\0m0\0' \
    "$id3" "$id3" "$id3" "$id3" "$id3" "$id3" "$id3"
  printf '%s\0%s\0' "$long32" "$over31"
  printf 't99999999999999999999999\0'
} > "$T/req"
nreq=$(tr -cd '\0' < "$T/req" | wc -c)
clean < "$T/req"
want=$(head -c "$nreq" /dev/zero | tr '\0' '?')
check_eq "$nreq malformed requests: one ? each" "$ans" "$want"
check_eq "malformed: exit 0" "$crc" 0
check "malformed: todo stays" there todo
check "malformed: intd stays" there intd
check "malformed: mess stays" there mess
check "malformed: logged" grep -q . "$T/log"

# A request cut off by end of input: no answer, nothing removed.
printf 't%s' "$id3" > "$T/req"; clean < "$T/req"
check_eq "cut-off request: no answer" "$ans" ""
check_eq "cut-off request: exit 0" "$crc" 0
check "cut-off request: todo stays" there todo
check "cut-off request: logged" grep -q 'cut off' "$T/log"

# Mixed: one answer per request, in order.
printf 'm%s\0x\0t%s\0m0\0m%s\0' "$id3" "$id3" "$id3" > "$T/req"; clean < "$T/req"
check_eq "mixed requests: answers in order" "$ans" "!?+?+"
check_fail "mixed: todo removed" there todo
check_fail "mixed: mess removed" there mess

# A request split across reads is one request.
inject
{ printf 't%s' "$id"; sleep 0.3; printf '\0m'; sleep 0.3; printf '%s\0' "$id"; } |
  as "$U_QUEUE" "$H/bin/sluice-clean" > "$T/ans" 2> "$T/log"
ans=$(cat "$T/ans")
check_eq "split request: two answers" "$ans" "++"
check_fail "split request: mess removed" there mess

# 1,000 requests in one stream: 1,000 answers.
i=0
while [ $i -lt 1000 ]; do printf 't%s\0' $((900000000 + i)); i=$((i + 1)); done > "$T/req"
clean < "$T/req"
check_eq "1000 requests: 1000 answers" "$(printf '%s' "$ans" | wc -c)" 1000
check_eq "1000 requests: all +" "$(printf '%s' "$ans" | tr -d '+' | wc -c)" 0

# q: quarantine only what has no message of its own.
qcount() { find "$QD/quarantine" -name "todo.$id.*" | wc -l | tr -d ' '; }
inject
printf 'q%s\0' "$id" > "$T/req"; clean < "$T/req"
check_eq "q on a good message: refused" "$ans" "!"
check "q refused: todo stays" there todo
check "q refused: logged" grep -q 'refusing to quarantine' "$T/log"
touch -m -d '1 hour ago' "$QD/mess/$sd/$id" # older than the envelope, but not its stamp
clean < "$T/req"
check_eq "q when the file's time is not the stamp: done" "$ans" "+"
check_fail "q: todo moved" there todo
check_fail "q: intd (the same file) removed" there intd
check "q: mess left for the postmaster" there mess
check_eq "q: one quarantine/todo.ID.TIME" "$(qcount)" 1
rm -f "$QD/mess/$sd/$id" "$QD/quarantine/todo.$id."*
inject
python3 - "$QD/todo/$sd/$id" <<'PY'
import sys, re
p = sys.argv[1]
b = open(p, 'rb').read()
b2 = re.sub(rb'\0s(\d+)\.(\d{9})\0', lambda m: b'\0s' + m.group(1) + b'.' + b'%09d' % ((int(m.group(2)) + 1) % 10**9) + b'\0', b, count=1)
assert b2 != b
with open(p, 'r+b') as f:
    f.write(b2)
PY
printf 'q%s\0' "$id" > "$T/req"; clean < "$T/req"
check_eq "q when the envelope's stamp is another one: done" "$ans" "+"
check_eq "q forged: quarantined" "$(qcount)" 1
rm -f "$QD/mess/$sd/$id" "$QD/quarantine/todo.$id."*

check_eq "queue entry directories empty at the end" "$(find "$QD/mess" "$QD/intd" "$QD/todo" -type f | wc -l)" 0
done_testing
