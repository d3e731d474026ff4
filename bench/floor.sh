#!/bin/sh
# bench/floor.sh: the floor of a process-per-message design on this
# machine (issue 14: "show the measured floor: what each remaining exec,
# fork and sync costs"): what each primitive costs here, how many of
# each sluice and Postfix make per message on the same workload, and
# what those add up to beside the CPU each MTA measurably uses.
#
# Needs root (it runs bench/peers.sh: Postfix and sluice's peers
# instance), python3, strace and, for the musl figures, musl-gcc;
# otherwise it prints the row "floor - - skipped: ..." and exits 0.
# Takes about 3 to 5 minutes with the defaults. Never run it beside
# another benchmark or the test suite: every figure is of the machine.
#
# 1. The counts and the CPU by program: bench/peers.sh with
#    BENCH_ONLY=floor (its section 5a; Postfix and sluice set up as for
#    the peer benchmark, but on ports of their own, Postfix on
#    127.0.0.1:2535, smtp-sink 2536, sluice 2537 to 2539, sluice in its
#    own instance, FLOOR_HOME (/tmp/sluice-floor/home, built in
#    build/floor-peers), and a bench user of its own, floorbench, so
#    that a peers instance somebody left running is not touched; no
#    TLS, the user made and removed as there, Postfix left stopped),
#    the workload of its "local" runs: smtp-source -s 20 -l
#    2048, a new connection per message, to the bench user's Maildir.
#    FLOOR_STRACE_MESSAGES (300) under strace -f for the counts,
#    FLOOR_PAIRS (3) A B A B pairs of FLOOR_MESSAGES (1000) unstraced
#    for the CPU. Its rows (floor-MTA-*, see bench/peers.sh) are passed
#    on as they are:
#      floor-MTA-EVENT       system calls of kind EVENT per message
#                            (calls, execve, fork, vfork, fsync-file,
#                            fsync-dir, fdatasync, sfr, create, unlink,
#                            rename, link, mkdir, thread)
#      floor-MTA-exec-PROG   execve of PROG per message
#      floor-MTA-cpu-PROG    CPU ms per message of the processes named
#                            PROG (exact: taskstats and schedstat)
#      floor-MTA-tcpu, -mcpu, -e2e   the MTA's own CPU, the whole
#                            machine's CPU per message and msg/s of the
#                            unstraced runs (medians)
# 2. The primitives: FLOOR_ROUNDS (5) rounds; in each, the machine's
#    background (its busy time in 1 s with nothing run), then every
#    primitive below FLOOR_OPS (1000) times in a row (the cheap ones
#    five times as many) in a scratch directory under FLOOR_DIR
#    (/var/tmp: the file system of the queues, /var/spool/postfix and
#    the peers instance, here; the mount is shown on fd 2), by
#    tests/helpers/floorcost (fork and file system) and
#    tests/helpers/execcost (spawns), both static musl programs built as
#    bench/exec.sh builds them (build/bench-exec-musl, conf-home that
#    does not exist). Each row's figure is the median round of the CPU
#    microseconds per operation of the process doing it (user + system,
#    and of the children it reaped); the reference gives the median
#    wall microseconds and the whole machine's: its busy time per
#    operation (/proc/stat: user, nice, system, irq, softirq, steal)
#    over the loop, which holds the work done elsewhere (interrupts,
#    kernel threads, the virtio exits) and whatever else ran (resolution
#    1/100 s per loop; on both cores, so it can exceed the wall time):
#      floor-background      the machine's busy time with nothing run,
#                            % of one core, median of the rounds: in
#                            every whole-machine figure, times its wall
#                            time (subtracting it would be an estimate:
#                            the background changes)
#      floor-fork            fork, the child _exits, waitpid (a small
#                            static parent: a bigger one copies more)
#      floor-spawn-trivial   vfork, signal reset, execve, exit of int
#                            main(void){return 0;} built static with
#                            musl (execcost: the library's child_spawn)
#      floor-spawn-PROG      the same for each program the strace run
#                            saw sluice exec (bench/exec.sh's build: the
#                            program runs until it finds no conf-home,
#                            i.e. what its start costs)
#      floor-create-fsync    open O_CREAT|O_EXCL, write 2 KB, fsync,
#                            close (a new durable file)
#      floor-fsync-file      the fsync alone of a new 2 KB file
#      floor-fsync-dir       fsync of the directory after a create (the
#                            create not timed)
#      floor-fdatasync       pwrite 64 bytes into an existing file and
#                            fdatasync it
#      floor-sfr             sync_file_range (wait, write, wait) of a
#                            new 2 KB file
#      floor-create          open O_CREAT|O_EXCL of an empty file, close
#                            (first in the round, after the deletions of
#                            the round before and of the MTA runs)
#      floor-churn           create and unlink an empty file, no sync
#                            (the inode allocation and freeing)
#      floor-create-churned  floor-create again right after the round's
#                            deletions and churn
#    On ext4 without a journal, as here, the price of a create depends on
#    what was deleted lately: the inode allocator will not reuse an
#    inode freed in the last minute (five while its inode table block is
#    dirty), and checks each free inode of the group in turn until it
#    finds an older one (ext4 recently_deleted: a buffer cache lookup per
#    inode passed over). With thousands of inodes freed in the minutes
#    before (every MTA run frees several per message, as does this
#    benchmark), a create took 100 to 300 us of CPU here, almost all of it
#    in recently_deleted, find_get_block_common and __brelse (perf);
#    with few, 5 to 10 us. The two create rows show the spread of one run;
#    an MTA that frees inodes per message pays the dear end under load.
#      floor-unlink-2k       unlink of an fsynced 2 KB file (its block
#                            freed, and discarded on a discard mount)
#      floor-unlink-empty    unlink of an empty file
# 3. The floor: for each MTA, count per message times primitive, summed
#    by kind (figure: CPU ms per message of the processes; reference:
#    the counts and prices, and the same with the machine's and the
#    wall prices):
#      floor-MTA-sum-exec    execve of each PROG x floor-spawn-PROG
#                            (a program not built here at the price of
#                            floor-spawn-trivial-glibc, a trivial
#                            dynamic glibc program)
#      floor-MTA-sum-fork    copying forks x floor-fork (vforks are in
#                            the spawn prices)
#      floor-MTA-sum-sync    fsync-file, fsync-dir, fdatasync, sfr x
#                            their rows
#      floor-MTA-sum-inode   creates x floor-create + unlinks x
#                            floor-unlink-2k (renames and links not
#                            priced); the reference gives the sum with
#                            creates at floor-create-churned too
#      floor-MTA-floor       the sum of the four; the reference sets it
#                            beside floor-MTA-tcpu and -mcpu
# With FLOOR_PEERS=0 only the primitives are measured (no MTA, no
# counts, no sums). Rows on fd 1 as bench/run wants them, progress on
# fd 2.
LC_ALL=C
export LC_ALL
cd "$(dirname "$0")/.." || exit 111
ROUNDS=${FLOOR_ROUNDS:-5}
OPS=${FLOOR_OPS:-1000}
DIR=${FLOOR_DIR:-/var/tmp}
SN=${FLOOR_STRACE_MESSAGES:-300}
MN=${FLOOR_MESSAGES:-1000}
PAIRS=${FLOOR_PAIRS:-3}
NOHOME=/nonexistent/sluice-bench-exec
die() { echo "bench/floor.sh: $*" >&2; exit 111; }
skip() { printf 'floor\t-\t-\tskipped: %s\n' "$1"; exit 0; }
for v in "$ROUNDS" "$OPS" "$SN" "$MN" "$PAIRS"; do
  case $v in ''|*[!0-9]*|0) die "FLOOR_* numbers must be positive integers: $v" ;; esac
done
[ "$(id -u)" -eq 0 ] || skip "needs root (bench/peers.sh)"
for p in python3 strace; do command -v $p > /dev/null 2>&1 || skip "$p missing"; done
[ -d "$DIR" ] || die "FLOOR_DIR $DIR is not a directory"
T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-floor.XXXXXX") || die "cannot make a scratch directory"
S=''
trap 'rm -rf "$T" ${S:+"$S"}' EXIT
trap 'exit 111' INT TERM HUP

# the helpers, built as bench/exec.sh builds them
musl=$(command -v musl-gcc 2> /dev/null)
if [ -n "$musl" ]; then B=build/bench-exec-musl; else B=build/bench-exec-glibc; fi
echo "building $B (as bench/exec.sh)" >&2
if [ -n "$musl" ]; then
  make -s B=$B CONF_HOME=$NOHOME all > "$T/build" 2>&1 || { cat "$T/build" >&2; die "build of $B failed"; }
else
  make -s B=$B CONF_HOME=$NOHOME MUSL= all > "$T/build" 2>&1 || { cat "$T/build" >&2; die "build of $B failed"; }
fi
EC=$B/tests/execcost FC=$B/tests/floorcost
printf 'int main(void) { return 0; }\n' > "$T/t.c"
cc -O2 -o "$T/trivial-glibc" "$T/t.c" || die "cc failed"
if [ -n "$musl" ]; then
  "$musl" -O2 -fPIE -c -o "$T/t.o" "$T/t.c" && sh tools/musllink "$musl" -o "$T/trivial" "$T/t.o" || die "musl link failed"
else
  cp "$T/trivial-glibc" "$T/trivial"
fi

# 1. the counts and the CPU by program
if [ "${FLOOR_PEERS:-1}" = 0 ]; then
  : > "$T/peers"
else
  echo "bench/peers.sh, BENCH_ONLY=floor" >&2
  SLUICE_PEERS_HOME=${FLOOR_HOME:-/tmp/sluice-floor/home} SLUICE_PEERS_BUILD=build/floor-peers \
    BENCH_POSTFIX_PORT=2535 BENCH_SINK_PORT=2536 BENCH_SLUICE_PORT=2537 BENCH_USER=floorbench \
    BENCH_ONLY=floor BENCH_TLS=0 BENCH_PAIRS=$PAIRS BENCH_MESSAGES=$MN BENCH_STRACE_MESSAGES=$SN sh bench/peers.sh > "$T/peers" ||
    { cat "$T/peers"; die "bench/peers.sh failed"; }
  grep -q '^floor-sluice-calls' "$T/peers" || { cat "$T/peers"; exit 0; }
fi

# 2. the primitives
S=$(mktemp -d "$DIR/sluice-floor.XXXXXX") || die "cannot make a scratch directory in $DIR"
echo "primitives in $S: $(df -P "$S" | awk 'NR == 2 { print $1 }') $(awk -v d="$(df -P "$S" | awk 'NR == 2 { print $6 }')" '$2 == d { print $3, $4 }' /proc/mounts)" >&2
[ -d /var/spool/postfix ] && [ "$(stat -c %d "$S")" != "$(stat -c %d /var/spool/postfix)" ] &&
  echo "NOTE: $DIR is not on the file system of /var/spool/postfix (FLOOR_DIR)" >&2
TCK=$(getconf CLK_TCK)
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
progs=$(sed -n 's/^floor-sluice-exec-\([^\t]*\)\t.*/\1/p' "$T/peers")
# one NAME UNIT COUNT CPU WALL LOOP COMMAND...: runs the command, which
# prints its count of ops and its CPU, wall and whole loop's wall time
# per op in the fields numbered COUNT, CPU, WALL and LOOP, the times in
# 1/UNIT microseconds;
# appends "NAME CPU WALL MACHINE" (microseconds per op) to $T/prim
one() {
  name=$1 unit=$2 count=$3 cpu=$4 wall=$5 loop=$6
  shift 6
  b0=$(busy)
  "$@" > "$T/out" 2> "$T/err" || { cat "$T/err" >&2; die "$* failed"; }
  b1=$(busy)
  awk -v n="$name" -v u="$unit" -v fk="$count" -v fc="$cpu" -v fw="$wall" -v fl="$loop" -v b="$((b1 - b0))" -v t="$TCK" '
    NF < fl { exit 1 }
    { k = $fk; printf "%s %.2f %.2f %.2f\n", n, $fc / u, $fw / u, b * 1e6 / t / k; ok = 1; exit }
    END { if (!ok) exit 1 }
  ' "$T/out" >> "$T/prim" || die "$* printed no figures"
}
# fc NAME COUNT OP: floorcost OP (OP COUNT CPU_NS WALL_NS LOOP_CPU_NS
# LOOP_WALL_NS); ec NAME COUNT PROG: execcost (COUNT USER_US SYS_US
# US_PER_RUN WALL_US_PER_RUN)
fc() { one "$1" 1000 2 3 4 6 "$FC" "$3" "$S" "$2"; }
ec() { one "$1" 1 1 4 5 5 "$EC" "$2" "$3"; }
r=0
while [ $r -lt "$ROUNDS" ]; do
  r=$((r + 1))
  echo "round $r of $ROUNDS" >&2
  b0=$(busy)
  sleep 1
  awk -v b="$(($(busy) - b0))" -v t="$TCK" 'BEGIN { printf "background %.2f 0 0\n", b * 100 / t }' >> "$T/prim"
  fc fork "$OPS" fork
  fc create $((OPS * 5)) touch
  fc create-fsync "$OPS" create
  fc fsync-file "$OPS" fsync
  fc fdatasync "$OPS" rewrite
  fc fsync-dir "$OPS" dirsync
  fc sfr "$OPS" sfr
  fc unlink-2k "$OPS" unlink-c
  fc unlink-empty $((OPS * 5)) unlink-t
  for u in unlink-f unlink-s unlink-d; do "$FC" $u "$S" "$OPS" > /dev/null || die "floorcost $u failed"; done
  fc churn $((OPS * 5)) churn
  fc create-churned $((OPS * 5)) touch
  "$FC" unlink-t "$S" $((OPS * 5)) > /dev/null || die "floorcost unlink-t failed"
  ec spawn-trivial "$OPS" "$T/trivial"
  ec spawn-trivial-glibc "$OPS" "$T/trivial-glibc"
  for p in $progs; do
    [ -x "$B/$p" ] && ec "spawn-$p" "$OPS" "$B/$p"
  done
done

# the rows: primitives, counts, floors
python3 - "$T/prim" "$T/peers" "$S" << 'PY' || die "the sums failed"
import re, statistics, sys
prim, peers = {}, {}
for line in open(sys.argv[1]):
    n, c, w, m = line.split()
    prim.setdefault(n, []).append((float(c), float(w), float(m)))
price = {n: tuple(statistics.median(x[i] for x in v) for i in range(3)) for n, v in prim.items()}
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("\t")
    if len(f) >= 3:
        try:
            peers[f[0]] = float(f[1])
        except ValueError:
            pass
HOW = {
    "fork": "fork, the child _exits, waitpid (static musl parent)",
    "spawn-trivial": "vfork, exec, exit: int main(){return 0;} static musl",
    "spawn-trivial-glibc": "the same built with cc, dynamic glibc",
    "create-fsync": "open O_CREAT|O_EXCL, write 2 KB, fsync, close",
    "fsync-file": "fsync alone of a new 2 KB file",
    "fsync-dir": "fsync of the directory after a create",
    "fdatasync": "pwrite 64 bytes into an existing file, fdatasync",
    "sfr": "sync_file_range (wait, write, wait) of a new 2 KB file",
    "create": "open O_CREAT|O_EXCL of an empty file, close",
    "churn": "create and unlink an empty file, no sync",
    "create-churned": "create of an empty file right after the deletions and the churn",
    "unlink-2k": "unlink of an fsynced 2 KB file (block freed, discard)",
    "unlink-empty": "unlink of an empty file",
}
rows = []
for n, (c, w, m) in price.items():
    if n == "background":
        rows.append("floor-background\t%.1f\t%% of a core\tthe machine busy with nothing run, 1 s before each round, "
                    "median of %d rounds: in each whole-machine figure" % (c, len(prim[n])))
        continue
    how = HOW.get(n, "vfork, exec, exit of %s (bench/exec.sh's build)" % n[6:])
    rows.append("floor-%s\t%.1f\tus CPU\t%s; wall %.1f us, whole machine %.1f us; median of %d rounds" %
                (n, c, how, w, m, len(prim[n])))
for line in open(sys.argv[2]):
    rows.append(line.rstrip("\n"))


def get(mta, k):
    return peers.get("floor-%s-%s" % (mta, k), 0.0)


for mta in ("postfix", "sluice") if peers else ():
    execs = {k[len("floor-%s-exec-" % mta):]: v for k, v in peers.items() if k.startswith("floor-%s-exec-" % mta)}
    kinds = {
        "exec": [("%s" % p, v, "spawn-%s" % p if "spawn-%s" % p in price else "spawn-trivial-glibc")
                 for p, v in sorted(execs.items(), key=lambda kv: -kv[1])],
        "fork": [("fork", get(mta, "fork"), "fork")],
        "sync": [(k, get(mta, k), k) for k in ("fsync-file", "fsync-dir", "fdatasync", "sfr")],
        "inode": [("create", get(mta, "create"), "create"), ("unlink", get(mta, "unlink"), "unlink-2k")],
    }
    tot = [0.0, 0.0, 0.0]
    for kind, items in kinds.items():
        # price: (cpu, wall, machine)
        s = [sum(v * price[p][i] for _, v, p in items) / 1000 for i in range(3)]
        tot = [a + b for a, b in zip(tot, s)]
        parts = ", ".join("%s %.2f x %.0f us" % (k, v, price[p][0]) for k, v, p in items if v) or "none"
        if kind == "inode" and "create-churned" in price:
            parts += " (with creates at %.0f us, churned: %.3f ms)" % (
                price["create-churned"][0], s[0] + get(mta, "create") * (price["create-churned"][0] - price["create"][0]) / 1000)
        rows.append("floor-%s-sum-%s\t%.3f\tms CPU/msg\t%s; machine %.3f ms, wall %.3f ms" %
                    (mta, kind, s[0], parts, s[2], s[1]))
    t, mc = get(mta, "tcpu"), get(mta, "mcpu")
    rows.append("floor-%s-floor\t%.3f\tms CPU/msg\texec+fork+sync+inode; machine %.3f ms, wall %.3f ms; measured: "
                "%s's processes %.3f ms/msg (floor %.0f%% of it), whole machine %.3f ms/msg (machine floor %.0f%%)" %
                (mta, tot[0], tot[2], tot[1], mta, t, 100 * tot[0] / t if t else 0, mc, 100 * tot[2] / mc if mc else 0))
for line in open(sys.argv[2]):
    m = re.match(r"floor-(\w+)-cpu-unattributed\t.*: ([0-9.]+) per msg", line)
    if m and float(m.group(2)) > 0.05:
        sys.stderr.write("NOTE: %s processes per message outside %s's tree ended during its runs: other work ran "
                         "on the machine, and every figure holds some of it\n" % (m.group(2), m.group(1)))
print("\n".join(rows))
PY
