#!/bin/sh
# 05-exec.sh: how the programs are built and started (issue 14: start-up
# that costs microseconds; Makefile, "Compilers").
#
#  1. when musl-gcc is on the PATH, every installed program outside the
#     Makefile's SYSCC_PROGS, the ones run per message or connection
#     among them, is a static musl program: no program interpreter (no
#     dynamic loader) and no glibc ABI note; without musl-gcc this is
#     skipped (the build then uses conf-cc);
#  2. with musl, none of those programs links a name service function
#     (getpwnam, getgrouplist, getaddrinfo...): a static musl program
#     reads only /etc/passwd and /etc/group, not what nsswitch.conf
#     names (LDAP, sssd), so a program that needs them belongs in
#     SYSCC_PROGS;
#  3. with musl, the RELRO range of a running program (sluice-smtpd)
#     is read-only (src/musl/relro.c; musl's static start-up leaves it
#     writable);
#  4. child_start (src/lib/wait.c) starts a child without a prepare
#     hook with vfork, and the child makes two rt_sigaction calls
#     before its execve (SIGPIPE, SIGCHLD; plus one per signal the
#     parent caught), not one per signal number (strace -f).
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

for tool in readelf nm strace; do
  command -v "$tool" > /dev/null 2>&1 || bad "$tool is missing (binutils, strace)"
done

syscc=$(sed -n 's/^SYSCC_PROGS = //p' Makefile)
[ -n "$syscc" ] || bad "no SYSCC_PROGS line in the Makefile"
is_syscc() { for s in $syscc; do [ "$s" = "$1" ] && return 0; done; return 1; }
progs=''
for src in src/*.c; do
  p=$(basename "$src" .c)
  is_syscc "$p" || progs="$progs $p"
done
# started per message or per connection: these must never fall back
for p in sluice-smtpd sluice-qmtpd sluice-qmqpd sluice-queue sluice-local sluice-remote preline; do
  case " $progs " in *" $p "*) ;; *) bad "$p is in SYSCC_PROGS: it runs per message or connection" ;; esac
done

# --- 1: static musl programs ---
if command -v musl-gcc > /dev/null 2>&1; then
  for p in $progs; do
    f=$H/bin/$p
    [ -f "$f" ] || { bad "$p is not installed in $H/bin"; continue; }
    if readelf -lW "$f" | grep -q 'INTERP'; then
      bad "$p has a program interpreter: $(readelf -lW "$f" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"
    elif readelf -SW "$f" | grep -q '\.note\.ABI-tag'; then
      bad "$p is linked with glibc (it has a .note.ABI-tag)"
    else
      ok "$p is static musl"
    fi
  done
  # and the SYSCC_PROGS use the system's libc, with its name service
  f=$H/bin/sluice-getpw
  if readelf -lW "$f" | grep -q 'INTERP' || readelf -SW "$f" | grep -q '\.note\.ABI-tag'; then
    ok "sluice-getpw is built with the system compiler"
  else
    bad "sluice-getpw looks like a musl program: it must see NSS users"
  fi
else
  echo "musl-gcc not found: the static musl checks are skipped"
  ok "no musl-gcc"
fi

# --- 2: no name service in them (with musl: linked with
# --gc-sections, so a function that is there is reachable) ---
nss='getpwnam|getpwuid|getpwent|getpwnam_r|getpwuid_r|getgrnam|getgrgid|getgrent|getgrouplist|initgroups|getaddrinfo|getnameinfo|gethostbyname|gethostbyaddr'
command -v musl-gcc > /dev/null 2>&1 && for p in $progs; do
  f=$H/bin/$p
  [ -f "$f" ] || continue
  syms=$(nm "$f" 2>&1) || { bad "nm $p: $syms"; continue; }
  found=$(printf '%s\n' "$syms" | awk '{ print $NF }' | grep -xE "$nss" | sort -u | tr '\n' ' ')
  if [ -n "$found" ]; then
    bad "$p uses the name service ($found): move it to SYSCC_PROGS or do without"
  else
    ok "$p uses no name service"
  fi
done

# --- 3: RELRO ---
if command -v musl-gcc > /dev/null 2>&1; then
  f=$H/bin/sluice-smtpd
  mkfifo "$T/fifo"
  (sleep 20 > "$T/fifo") &
  hold=$!
  TCPREMOTEIP=127.0.0.1 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 "$f" < "$T/fifo" > /dev/null 2>&1 &
  spid=$!
  i=0
  while [ $i -lt 100 ] && ! grep -q " $f\$" "/proc/$spid/maps" 2> /dev/null; do sleep 0.1; i=$((i + 1)); done
  cp "/proc/$spid/maps" "$T/maps" 2> /dev/null
  kill "$hold" 2> /dev/null
  wait "$spid" 2> /dev/null
  rv=$(readelf -lW "$f" | awk '$1 == "GNU_RELRO" { print $3 }')
  base=$(awk -v f="$f" '$6 == f && $3 == "00000000" { split($1, a, "-"); print a[1]; exit }' "$T/maps" 2> /dev/null)
  if [ -z "$rv" ] || [ -z "$base" ]; then
    bad "RELRO: no GNU_RELRO header ($rv) or no mapping of $f ($base)" "$(cat "$T/maps" 2> /dev/null)"
  else
    page=$(printf '%x' $(( (0x$base + rv) & ~4095 )))
    perm=$(awk -v s="$page" '{ split($1, a, "-"); if (a[1] == s) { print $2; exit } }' "$T/maps")
    case $perm in
      r-*) ok "RELRO read-only" ;;
      *) bad "RELRO of sluice-smtpd at $page is mapped [$perm], not read-only" "$(cat "$T/maps")" ;;
    esac
  fi
fi

# --- 4: vfork, and no sigaction per signal number ---
if command -v strace > /dev/null 2>&1; then
  strace -f -o "$T/st" -e trace=rt_sigaction,fork,vfork,clone,clone3,execve \
    "$BIN/tests/execcost" 1 /bin/true > "$T/out" 2>&1
  check "execcost ran" grep -q '^1 ' "$T/out"
  check "a child without a prepare hook is started with vfork" grep -q 'vfork(' "$T/st"
  child=$(awk '/execve\("\/bin\/true"/ { print $1; exit }' "$T/st")
  if [ -z "$child" ]; then
    bad "no execve of /bin/true in the trace" "$(cat "$T/st")"
  else
    n=$(awk -v c="$child" '$1 == c && /execve\("\/bin\/true"/ { exit } $1 == c && /rt_sigaction\(/ { n++ } END { print n + 0 }' "$T/st")
    if [ "$n" -le 4 ]; then ok "rt_sigaction before exec"; else bad "the child made $n rt_sigaction calls before its execve (want 2)"; fi
  fi
fi

done_testing
