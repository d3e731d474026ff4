#!/bin/sh
# bench/exec.sh: the CPU cost of starting each program sluice runs per
# message or per connection, built with musl (static, as `make` builds
# them when musl-gcc is present) and with the system's libc (glibc,
# `make MUSL=`), and of a trivial program (int main(void) { return 0; })
# built dynamic and static with cc and static with musl, as a baseline.
#
# Each figure is microseconds of CPU (user + system, getrusage of the
# children) per run, as started by tests/helpers/execcost (the library's
# child_spawn: vfork, signal reset, execve), with fd 0, 1 and 2 on
# /dev/null: fork to exit, including the C library's start-up and the
# program's own work until it gives up. The programs are built for a
# conf-home that does not exist, so each stops at its first look at it
# (or at its usage message): what is measured is what starting costs.
# The two builds run alternately, EXEC_ROUNDS rounds (default 5) of
# EXEC_RUNS runs (default 200) each; the figure is the median round.
# Needs no root and no instance; builds build/bench-exec-musl and
# build/bench-exec-glibc. Without musl-gcc it prints the glibc figures
# only. Rows on fd 1 as bench/run wants them; progress on fd 2.
LC_ALL=C
export LC_ALL
cd "$(dirname "$0")/.." || exit 111
ROUNDS=${EXEC_ROUNDS:-5}
RUNS=${EXEC_RUNS:-200}
NOHOME=/nonexistent/sluice-bench-exec
BM=build/bench-exec-musl
BG=build/bench-exec-glibc
PROGS='sluice-smtpd sluice-qmtpd sluice-qmqpd sluice-queue sluice-local sluice-remote preline sluice-getpw sluice-inject sendmail'
die() { echo "bench/exec.sh: $*" >&2; exit 111; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-exec.XXXXXX") || die "cannot make a scratch directory"
trap 'rm -rf "$T"' EXIT

musl=$(command -v musl-gcc 2> /dev/null)
echo "building $BG (system libc)${musl:+ and $BM (musl)}" >&2
make -s B=$BG CONF_HOME=$NOHOME MUSL= all > "$T/build" 2>&1 || { cat "$T/build" >&2; die "build of $BG failed"; }
if [ -n "$musl" ]; then
  make -s B=$BM CONF_HOME=$NOHOME all > "$T/build" 2>&1 || { cat "$T/build" >&2; die "build of $BM failed"; }
  EC=$BM/tests/execcost
else
  EC=$BG/tests/execcost
fi

printf 'int main(void) { return 0; }\n' > "$T/t.c"
cc -O2 -o "$T/trivial-glibc" "$T/t.c" || die "cc failed"
cc -O2 -static -o "$T/trivial-glibc-static" "$T/t.c" 2> /dev/null || rm -f "$T/trivial-glibc-static"
if [ -n "$musl" ]; then
  "$musl" -O2 -fPIE -c -o "$T/t.o" "$T/t.c" && sh tools/musllink "$musl" -o "$T/trivial-musl" "$T/t.o" \
    || die "musl link failed"
fi

# cost PROG...: one round for each PROG, its microseconds per run in
# $T/r.NAME (one line per round)
cost() {
  for f; do
    n=$(echo "$f" | tr / _)
    "$EC" "$RUNS" "$f" > "$T/out" 2> "$T/err" || { cat "$T/err" >&2; die "execcost $f failed"; }
    awk '{ print $4 }' "$T/out" >> "$T/r.$n"
  done
}
median() { n=$(echo "$1" | tr / _); sort -n "$T/r.$n" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

list="$T/trivial-glibc"
[ -f "$T/trivial-glibc-static" ] && list="$list $T/trivial-glibc-static"
[ -n "$musl" ] && list="$list $T/trivial-musl"
r=0
while [ $r -lt "$ROUNDS" ]; do
  r=$((r + 1))
  echo "round $r of $ROUNDS ($RUNS runs of each program)" >&2
  cost $list
  for p in $PROGS; do
    if [ -n "$musl" ]; then cost "$BM/$p" "$BG/$p"; else cost "$BG/$p"; fi
  done
done

g=$(median "$T/trivial-glibc")
printf 'exec-trivial-glibc\t%s\tus/run\tcc, dynamic\n' "$g"
[ -f "$T/trivial-glibc-static" ] && printf 'exec-trivial-glibc-st\t%s\tus/run\tcc -static\n' "$(median "$T/trivial-glibc-static")"
[ -n "$musl" ] && printf 'exec-trivial-musl\t%s\tus/run\tmusl, static-pie (tools/musllink)\n' "$(median "$T/trivial-musl")"
for p in $PROGS; do
  gl=$(median "$BG/$p")
  if [ -n "$musl" ]; then
    m=$(median "$BM/$p")
    if readelf -lW "$BM/$p" 2> /dev/null | grep -q INTERP; then how="system libc (SYSCC_PROGS)"; else how="musl"; fi
    printf 'exec-%s\t%s\tus/run\t%s; glibc build %s us (%s x)\n' "$p" "$m" "$how" "$gl" \
      "$(awk -v a="$gl" -v b="$m" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }')"
  else
    printf 'exec-%s\t%s\tus/run\tglibc (no musl-gcc)\n' "$p" "$gl"
  fi
done
