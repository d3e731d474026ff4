#!/bin/sh
# 55-getpw.sh: sluice-lspawn's long-running user lookup helper
# (sluice-getpw(8) without arguments, sluice-lspawn(8)), driven through
# sluice-lspawn's real fds with a stand-in sluice-local that records
# the uid, gid and groups it ran with.
#  A. 20 deliveries (passwd users, extensions, unknown local parts, a
#     users/cdb user) start sluice-getpw exactly once (strace -ff:
#     one execve of it), the helper gets one request per distinct
#     question (the rest come from the cache), and sluice-lspawn itself
#     opens no name service file per delivery (the same number of
#     openat calls on /etc/passwd, /etc/group, nsswitch.conf and
#     libnss_* for 20 deliveries as for 1: getgrouplist is the
#     helper's); the supplementary groups still reach the delivery;
#  B. control/getpwcache 1: a user added to passwd after its local
#     part went to the alias user is found once the short TTL is over;
#  C. the helper killed with kill -9 between deliveries: sluice-lspawn
#     starts a new one (logged) and the next delivery works; at end of
#     input the helper ends too;
#  D. a stand-in helper whose answers name uid 0, gid 0, supplementary
#     group 0 (for a passwd user and for a users/cdb user's groups):
#     refused with Z, nothing run; an answer that does not parse: Z,
#     the helper killed and the next delivery works with a new one;
#  E. a stand-in that hangs on a request (a stuck name service), with
#     control/timeoutgetpw 4: that delivery is answered Z (temporary
#     failure), the hung helper is killed, the next delivery works, and
#     sluice-lspawn ends at end of input (nothing stuck); sluice-lspawn
#     killed with kill -9 while the helper hangs: the helper ends too.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

PATH=$PATH:/usr/sbin:/sbin
export PATH
SR=$BIN/tests/spawnreq
SPLIT=$(sed -n 1p conf-split)
role() { awk -v r="$1" 'NF == 0 { exit } $1 == r { print $2 }' conf-users; }
U_ALIAS=$(role alias)
U_PASSWD=$(role passwd)
TU=sluicegp55
TG=sluicegg55
NU=sluicegn55
alias_home_made=''
LPID=''

cleanup() {
  [ -n "$LPID" ] && kill "$LPID" > /dev/null 2>&1
  exec 3>&- 2> /dev/null
  for u in "$TU" "$NU"; do userdel -r "$u" > /dev/null 2>&1; done
  getent group "$TG" > /dev/null 2>&1 && groupdel "$TG" > /dev/null 2>&1
  [ -n "$alias_home_made" ] && rm -rf "$alias_home_made"
  restore
  rm -rf "$T"
}
restore() { :; }
trap cleanup EXIT
for u in "$TU" "$NU"; do userdel -r "$u" > /dev/null 2>&1; done
getent group "$TG" > /dev/null 2>&1 && groupdel "$TG" > /dev/null 2>&1
groupadd "$TG" || bad "groupadd $TG"
useradd -m -G "$TG" -s /bin/sh "$TU" || bad "useradd $TU"
TUID=$(id -u "$TU")
TGID=$(id -g "$TU")
TXG=$(getent group "$TG" | cut -d: -f3)
THOME=$(getent passwd "$TU" | cut -d: -f6)
AUID=$(id -u "$U_ALIAS")
AHOME=$H/alias
if [ ! -d "$AHOME" ]; then
  mkdir -p "$AHOME" && chown "$U_ALIAS" "$AHOME" && alias_home_made=$AHOME
fi

printf 'Subject: getpw test\n\nhello\n' > "$H/queue/mess/0/new.$$"
ID=$(stat -c %i "$H/queue/mess/0/new.$$")
MSG=$H/queue/mess/$((ID % SPLIT))/$ID
mv "$H/queue/mess/0/new.$$" "$MSG"
chown "$(role queue):$(role group)" "$MSG"
chmod 640 "$MSG"

for p in sluice-local sluice-getpw; do cp -p "$H/bin/$p" "$T/$p.orig"; done
restore() {
  for p in sluice-local sluice-getpw; do
    [ -f "$T/$p.orig" ] && cp -p "$T/$p.orig" "$H/bin/$p"
  done
}
mkdir "$T/log" && chmod 1777 "$T/log"
cat > "$H/bin/sluice-local" <<EOF
#!/bin/sh
f=$T/log/\$3
{ echo "uid \$(id -u)"; echo "gid \$(id -g)"; echo "groups \$(id -G)"; } > "\$f.\$\$.tmp"
mv "\$f.\$\$.tmp" "\$f.info"
cat > /dev/null
printf 'Kok\\n'
exit 0
EOF
chmod 755 "$H/bin/sluice-local"
echo 1000 > "$H/control/concurrencyuser"

req() { "$SR" "$@" >> "$T/req"; }
info() { cat "$T/log/$1.info" 2> /dev/null; }
nl='
'
# waitinfo LOCAL: until the stand-in sluice-local has run for LOCAL
# (at most 30 s)
waitinfo() {
  i=0
  while [ ! -f "$T/log/$1.info" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  [ -f "$T/log/$1.info" ]
}
# alive PID: PID runs (a zombie counts as ended)
alive() { [ -d "/proc/$1" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2> /dev/null)" != Z ]; }
# started PID: the process's start time (field 22 of its stat), which
# tells it from a later process given the same pid
started() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2> /dev/null; }
# gone PID: waits (at most 10 s) until PID has ended; a process with the
# same pid started since (pid_max is 32768 here, and a loaded machine
# goes round it quickly) is another process, and PID counts as ended
gone() {
  t0=$(started "$1")
  i=0
  while alive "$1" && [ "$(started "$1")" = "$t0" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  ! alive "$1" || [ "$(started "$1")" != "$t0" ]
}
# children PID COMM: the processes named COMM whose parent is PID
children() {
  for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2> /dev/null)" = "$2" ] || continue
    [ "$(awk '{ print $4 }' "$d/stat" 2> /dev/null)" = "$1" ] && alive "${d#/proc/}" && echo "${d#/proc/}"
  done
}
# helpers: the sluice-getpw children of the sluice-lspawn under timeout
helpers() { for l in $(children "$LPID" sluice-lspawn); do children "$l" sluice-getpw; done; }
# startfifo / stopfifo: sluice-lspawn reading requests from a fifo
# written on fd 3, so that requests can come one at a time
startfifo() {
  rm -f "$T/fifo" && mkfifo "$T/fifo"
  (cd "$H" && exec timeout 120 ./bin/sluice-lspawn) < "$T/fifo" > "$T/res" 2> "$T/err" &
  LPID=$!
  exec 3> "$T/fifo"
}
stopfifo() {
  exec 3>&-
  wait "$LPID"
  lrc=$?
  LPID=''
  "$SR" -d < "$T/res" | sort > "$T/out"
}
send() { "$SR" "$@" >&3; }

# --- A. one helper for many deliveries, one request per question ---
cat > "$H/users/assign" <<EOF
=joe:$TU:$TUID:$TGID:$THOME:::
.
EOF
check "sluice-newu" "$H/bin/sluice-newu"
# lspst N: runs sluice-lspawn under strace -ff on $T/req, traces in
# $T/stN.*; sets main (lspawn's trace) and helper (sluice-getpw's)
lspst() {
  (cd "$H" && strace -ff -o "$T/st$1" -e trace=execve,openat,read ./bin/sluice-lspawn) \
    < "$T/req" > "$T/res" 2> "$T/err"
  lrc=$?
  "$SR" -d < "$T/res" | sort > "$T/out"
  main=$(grep -l 'execve("./bin/sluice-lspawn".* = 0$' "$T/st$1".* | head -n 1)
  helper=$(grep -l 'execve("[^"]*/bin/sluice-getpw".* = 0$' "$T/st$1".*)
}
nsopens() { grep -c 'openat(.*\(/etc/passwd\|/etc/group\|nsswitch\.conf\|libnss_\)' "$1"; }

: > "$T/req"
req 0 "$ID" s@x "$TU@example.org"
lspst 1
check_eq "one delivery: result" "$(cat "$T/out")" "0 K ok"
opens1=$(nsopens "$main")

: > "$T/req"
s=0
for i in 1 2 3 4 5 6 7 8 9 10; do req $s "$ID" s@x "$TU@example.org"; s=$((s + 1)); done
for i in 1 2 3 4 5; do req $s "$ID" s@x "$TU-a$i@example.org"; s=$((s + 1)); done
for i in 1 2 3; do req $s "$ID" s@x "Nobody55-$i@example.org"; s=$((s + 1)); done
for i in 1 2; do req $s "$ID" s@x "joe@example.org"; s=$((s + 1)); done
rm -f "$T/log/"*.info
lspst 20
check_eq "20 deliveries: exit 0" "$lrc" 0
check_eq "20 deliveries: all K" "$(grep -c ' K ok$' "$T/out")" 20
check_eq "20 deliveries: sluice-getpw started exactly once" "$(echo "$helper" | grep -c .)" 1
check_eq "20 deliveries: one start logged" "$(grep -c 'started sluice-getpw' "$T/err")" 1
# 10 questions: TU, TU-a1..5, Nobody55-1..3, and joe's groups
if [ -n "$helper" ]; then
  check_eq "the helper was asked once per question, the rest cached" \
    "$(grep -c '^read(0, .* = [1-9][0-9]*$' "$helper")" 10
fi
check_eq "sluice-lspawn opens no name service file per delivery" "$(nsopens "$main")" "$opens1"
check_eq "passwd user: uid, gid" "$(info "$TU" | sed -n 1,2p)" "uid $TUID${nl}gid $TGID"
check_eq "extension: uid" "$(info "$TU-a3" | sed -n 1p)" "uid $TUID"
check_eq "unknown: the alias user" "$(info Nobody55-2 | sed -n 1p)" "uid $AUID"
check_eq "users/cdb: uid" "$(info joe | sed -n 1p)" "uid $TUID"
for l in "$TU" joe; do
  case " $(info "$l" | sed -n 's/^groups //p') " in
    *" $TXG "*) ok "supplementary group ($l)" ;;
    *) bad "supplementary group ($l)" "$(info "$l")" ;;
  esac
done
rm -f "$H/users/cdb" "$H/users/assign"

# --- B. a user added to passwd is seen after control/getpwcache ---
echo 1 > "$H/control/getpwcache"
rm -f "$T/log/"*.info
startfifo
send 0 "$ID" s@x "$NU@example.org"
check "B: first delivery ran" waitinfo "$NU"
check_eq "B: not in passwd yet: the alias user" "$(info "$NU" | sed -n 1p)" "uid $AUID"
useradd -m -s /bin/sh "$NU" || bad "useradd $NU"
NUID=$(id -u "$NU")
rm -f "$T/log/$NU.info"
sleep 2.5 # past the TTL of 1 s (a negative answer: at most 10 s, at most the TTL)
send 1 "$ID" s@x "$NU@example.org"
check "B: second delivery ran" waitinfo "$NU"
check_eq "B: added to passwd: found after the TTL" "$(info "$NU" | sed -n 1p)" "uid $NUID"
stopfifo
check_eq "B: results" "$(cat "$T/out")" "0 K ok${nl}1 K ok"
rm -f "$H/control/getpwcache"

# --- C. the helper killed with kill -9 ---
rm -f "$T/log/"*.info
startfifo
send 0 "$ID" s@x "$TU-c1@example.org"
check "C: first delivery ran" waitinfo "$TU-c1"
h1=$(helpers)
check_eq "C: one helper running" "$(echo "$h1" | grep -c .)" 1
if [ -n "$h1" ]; then
  check_eq "C: the helper runs as the passwd user" "$(stat -c %u "/proc/$h1")" "$(id -u "$U_PASSWD")"
  kill -9 "$h1"
  check "C: the helper died" gone "$h1"
fi
send 1 "$ID" s@x "$TU-c2@example.org"
check "C: the next delivery ran" waitinfo "$TU-c2"
check_eq "C: ... as the user" "$(info "$TU-c2" | sed -n 1p)" "uid $TUID"
h2=$(helpers)
check_eq "C: a new helper" "$(echo "$h2" | grep -c .)" 1
check_fail "C: not the old one" test "$h1" = "$h2"
stopfifo
check_eq "C: results" "$(cat "$T/out")" "0 K ok${nl}1 K ok"
check_eq "C: two starts logged" "$(grep -c 'started sluice-getpw' "$T/err")" 2
[ -n "$h2" ] && check "C: the helper ended with sluice-lspawn" gone "$h2"

# --- D and E: a stand-in helper ---
cat > "$H/bin/sluice-getpw" <<EOF
#!/usr/bin/python3
# the stand-in: answers by the local part asked
import os, sys, time
with open("$T/log/standin.pids", "a") as f: f.write("%d\n" % os.getpid())
def take(n):
    d = b""
    while len(d) < n:
        x = os.read(0, n - len(d))
        if not x: sys.exit(0)
        d += x
    return d
def ask():
    n = b""
    while True:
        c = take(1)
        if c == b":": break
        n += c
    d = take(int(n) + 1)
    return d[:-1]
def out(b): os.write(1, b"%d:%s," % (len(b), b))
def rec(user, uid, gid, home, groups):
    b = b"K" + b"".join(str(x).encode() + b"\0" for x in (user, uid, gid, home, "", ""))
    return b + b"".join(str(g).encode() + b"\0" for g in groups)
TU, TUID, TGID, THOME = "$TU", $TUID, $TGID, "$THOME"
while True:
    q = ask()
    kind, arg = q[:1], q[1:].decode()
    if kind == b"g":
        gid, user = arg.split("\0")
        out(b"K" + gid.encode() + b"\0" + (b"" if user == TU else b"0\0"))
    elif arg == "rootuid": out(rec(TU, 0, TGID, THOME, [TGID]))
    elif arg == "rootgid": out(rec(TU, TUID, 0, THOME, [0]))
    elif arg == "rootsupp": out(rec(TU, TUID, TGID, THOME, [TGID, 0]))
    elif arg == "garbage": out(b"Kno record here")
    elif arg == "hang": time.sleep(3600)
    else: out(rec(TU, TUID, TGID, THOME, [TGID]))
EOF
chmod 755 "$H/bin/sluice-getpw"
# a users/cdb entry whose user (not in passwd) the stand-in gives group 0
XU=nosuch55
{ printf '+8,%d:=cdbsupp->' $(( ${#XU} + ${#TUID} + ${#TGID} + ${#THOME} + 6 ))
  printf '%s\000' "$XU" "$TUID" "$TGID" "$THOME" '' ''; printf '\n\n'; } |
  "$BIN/tests/cdbtool" make "$H/users/cdb"
rm -f "$T/log/"*.info
: > "$T/req"
req 0 "$ID" s@x "rootuid@example.org"
req 1 "$ID" s@x "rootgid@example.org"
req 2 "$ID" s@x "rootsupp@example.org"
req 3 "$ID" s@x "cdbsupp@example.org"
req 4 "$ID" s@x "garbage@example.org"
req 5 "$ID" s@x "fine@example.org"
(cd "$H" && timeout 60 ./bin/sluice-lspawn) < "$T/req" > "$T/res" 2> "$T/err"
lrc=$?
"$SR" -d < "$T/res" | sort > "$T/out"
check_eq "D: exit 0" "$lrc" 0
check_eq "D: uid 0, gid 0, group 0 refused; garbage a temporary failure; then fine" "$(cat "$T/out")" \
"0 Z 4.3.0 refusing to deliver as root
1 Z 4.3.5 refusing the answer of the user lookup: gid 0 (the root group)
2 Z 4.3.5 refusing the answer of the user lookup: supplementary group 0 (the root group)
3 Z 4.3.5 refusing the answer of the user lookup: supplementary group 0 (the root group)
4 Z 4.3.0 temporary failure in the user lookup
5 K ok"
for l in rootuid rootgid rootsupp cdbsupp garbage; do
  check_fail "D: $l: nothing run" test -f "$T/log/$l.info"
done
check_eq "D: fine: run as the user" "$(info fine | sed -n 1p)" "uid $TUID"
check "D: the answer that does not parse logged" grep -q 'answer that does not parse; killed' "$T/err"
check_eq "D: a new helper after it" "$(grep -c . "$T/log/standin.pids")" 2
rm -f "$H/users/cdb"

# 4 s: room for the stand-in's start on a loaded machine, for the first
echo 4 > "$H/control/timeoutgetpw"
rm -f "$T/log/standin.pids"
: > "$T/req"
req 0 "$ID" s@x "first@example.org"
req 1 "$ID" s@x "hang@example.org"
req 2 "$ID" s@x "after@example.org"
(cd "$H" && timeout 60 ./bin/sluice-lspawn) < "$T/req" > "$T/res" 2> "$T/err"
lrc=$?
"$SR" -d < "$T/res" | sort > "$T/out"
check_eq "E: exit 0 (not stuck)" "$lrc" 0
check_eq "E: the hung lookup a temporary failure, the next delivered" "$(cat "$T/out")" \
"0 K ok
1 Z 4.3.0 temporary failure in the user lookup
2 K ok"
check "E: the timeout logged" grep -q 'did not answer in time' "$T/err"
check_fail "E: hang: nothing run" test -f "$T/log/hang.info"
hung=$(sed -n 1p "$T/log/standin.pids")
check_eq "E: the first stand-in started" "$(echo "$hung" | grep -c .)" 1
[ -n "$hung" ] && check "E: the hung helper was killed" gone "$hung"
check_eq "E: a new helper for the next delivery" "$(grep -c . "$T/log/standin.pids")" 2
rm -f "$H/control/timeoutgetpw"

# E2: sluice-lspawn killed with kill -9 while the helper hangs: the
# helper does not outlive it (its parent-death signal)
rm -f "$T/log/standin.pids"
startfifo
send 0 "$ID" s@x "hang@example.org"
i=0
while [ ! -s "$T/log/standin.pids" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
hung=$(sed -n 1p "$T/log/standin.pids" 2> /dev/null)
check_eq "E2: the stand-in started" "$(echo "$hung" | grep -c .)" 1
sleep 0.5 # (it has read the request and sleeps; the check below holds either way)
for l in $(children "$LPID" sluice-lspawn); do kill -9 "$l"; done
exec 3>&-
{ wait "$LPID"; } 2> /dev/null
LPID=''
[ -n "$hung" ] && check "E2: the hung helper ended with sluice-lspawn" gone "$hung"
rm -f "$MSG"
done_testing
