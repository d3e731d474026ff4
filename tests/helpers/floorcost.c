/* floorcost.c: what one primitive costs, for bench/floor.sh.
 *
 *   floorcost OP DIR COUNT
 *
 * Does OP COUNT times in the directory DIR (a scratch directory on the
 * file system to measure; OP fork ignores DIR) and prints one line on
 * fd 1:
 *     OP COUNT CPU_NS WALL_NS LOOP_CPU_NS LOOP_WALL_NS
 * per OP: CPU is the user and system time of this process and of the
 * children it reaped (getrusage RUSAGE_SELF and RUSAGE_CHILDREN, which
 * add up the scheduler's exact run time) in the timed part of the OP,
 * WALL the elapsed time of that part (monotonic clock); LOOP_CPU_NS and
 * LOOP_WALL_NS the same for the whole loop, setup of each OP included.
 * The timed part is the whole OP unless said otherwise below. What
 * happens outside this process (the disk's interrupts, the hypervisor's
 * work on a virtio kick, kernel threads) is not in CPU: bench/floor.sh
 * reads /proc/stat around the run for that. The OPs:
 *   fork      fork, the child _exits at once, waitpid
 *   create    names DIR/c.0 .. c.COUNT-1 (none may exist): open
 *             O_CREAT|O_EXCL, write 2048 bytes, fsync, close
 *   fsync     names DIR/f.I: open O_CREAT|O_EXCL, write 2048 bytes (not
 *             timed), fsync (timed), close (not timed)
 *   rewrite   on DIR/c.0 (from create): pwrite 64 bytes at offset 0,
 *             fdatasync
 *   dirsync   names DIR/d.I: open O_CREAT|O_EXCL (empty), close (not
 *             timed), fsync DIR (timed: the new name made durable)
 *   sfr       names DIR/s.I: open O_CREAT|O_EXCL, write 2048 bytes,
 *             sync_file_range (timed; wait before, write, wait after:
 *             the data only, neither the inode nor the name), close
 *   touch     names DIR/t.I: open O_CREAT|O_EXCL (empty), close; no sync
 *   churn     names DIR/x.I: open O_CREAT|O_EXCL (empty), close, unlink;
 *             nothing synced (inode allocation and freeing)
 *   unlink-c  unlink DIR/c.I (the fsynced 2 KB files of create: their
 *             blocks are freed, and discarded on a discard mount)
 *   unlink-f, unlink-s, unlink-d, unlink-t   the same for the files of
 *             fsync, sfr, dirsync and touch
 * Errors exit 111 with a message on fd 2. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "die.h"
#include "file.h"
#include "scan.h"
#include "str.h"
#include "wait.h"

#define SFR_ALL (SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER)
#define USAGE "floorcost OP DIR COUNT (OP: fork, create, fsync, rewrite, dirsync, sfr, touch, churn, unlink-X)"

static unsigned long long now_ns(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) die_temp_sys("unable to read the clock");
  return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static unsigned long long tv_ns(const struct timeval *tv)
{
  return (unsigned long long)tv->tv_sec * 1000000000ULL + (unsigned long long)tv->tv_usec * 1000ULL;
}

/* cpu_ns: user + system of this process and its reaped children */
static unsigned long long cpu_ns(void)
{
  struct rusage s, c;
  if (getrusage(RUSAGE_SELF, &s) < 0 || getrusage(RUSAGE_CHILDREN, &c) < 0)
    die_temp_sys("unable to read the CPU used");
  return tv_ns(&s.ru_utime) + tv_ns(&s.ru_stime) + tv_ns(&c.ru_utime) + tv_ns(&c.ru_stime);
}

/* the timed parts: from mark_start to mark_stop, added up */
static unsigned long long sum_cpu, sum_wall, mark_cpu, mark_wall;
static void mark_start(void)
{
  mark_wall = now_ns();
  mark_cpu = cpu_ns();
}
static void mark_stop(void)
{
  sum_cpu += cpu_ns() - mark_cpu;
  sum_wall += now_ns() - mark_wall;
}

static str name = STR_INIT;
static size_t dirlen;

/* at: name = DIR/PREFIX.I */
static const char *at(const char *prefix, unsigned long i)
{
  name.len = dirlen;
  if (str_cats(&name, prefix) < 0 || str_catulong(&name, i) < 0 || str_0(&name) < 0) die_nomem();
  return name.s;
}

static int create(const char *path)
{
  int fd = open_excl(path, 0644);
  if (fd < 0) die_temp_sys("unable to create ", path);
  return fd;
}

static void done(int fd, const char *path)
{
  if (close(fd) < 0) die_temp_sys("unable to close ", path);
}

static void gone(const char *path)
{
  if (unlink(path) < 0) die_temp_sys("unable to remove ", path);
}

int main(int argc, char **argv)
{
  char block[2048];
  const char *op, *p;
  const char *unl = 0;
  unsigned long count, i;
  unsigned long long c0, t0, c1, t1;
  str out = STR_INIT;
  int dirfd = -1, fd = -1;

  die_progname("floorcost");
  if (argc != 4 || scan_ulong_exact(argv[3], strlen(argv[3]), &count) < 0 || count == 0) die_usage(USAGE);
  op = argv[1];
  for (i = 0; i < sizeof block; ++i) block[i] = (char)('a' + i % 26);
  block[sizeof block - 1] = '\n';
  if (str_copys(&name, argv[2]) < 0 || str_catc(&name, '/') < 0) die_nomem();
  dirlen = name.len;
  if (strcmp(op, "fork") != 0) {
    dirfd = open_dir(argv[2]);
    if (dirfd < 0) die_temp_sys("unable to open ", argv[2]);
  }
  if (strcmp(op, "rewrite") == 0) {
    p = at("c.", 0);
    fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0) die_temp_sys("unable to open ", p);
  }

  if (strcmp(op, "unlink-c") == 0) unl = "c.";
  if (strcmp(op, "unlink-f") == 0) unl = "f.";
  if (strcmp(op, "unlink-s") == 0) unl = "s.";
  if (strcmp(op, "unlink-d") == 0) unl = "d.";
  if (strcmp(op, "unlink-t") == 0) unl = "t.";
  t0 = now_ns();
  c0 = cpu_ns();
  for (i = 0; i < count; ++i) {
    int timed = strcmp(op, "fsync") == 0 || strcmp(op, "dirsync") == 0 || strcmp(op, "sfr") == 0;
    if (!timed) mark_start();
    if (unl) {
      gone(at(unl, i));
    } else if (strcmp(op, "fork") == 0) {
      pid_t pid = fork();
      if (pid < 0) die_temp_sys("unable to fork");
      if (pid == 0) _exit(0);
      if (wait_pid(pid, 0) < 0) die_temp_sys("unable to wait");
    } else if (strcmp(op, "create") == 0) {
      int f = create(p = at("c.", i));
      if (write_all(f, block, sizeof block) < 0) die_temp_sys("unable to write ", p);
      if (fsync(f) < 0) die_temp_sys("unable to fsync ", p);
      done(f, p);
    } else if (strcmp(op, "fsync") == 0) {
      int f = create(p = at("f.", i));
      if (write_all(f, block, sizeof block) < 0) die_temp_sys("unable to write ", p);
      mark_start();
      if (fsync(f) < 0) die_temp_sys("unable to fsync ", p);
      mark_stop();
      done(f, p);
    } else if (strcmp(op, "rewrite") == 0) {
      if (pwrite(fd, block, 64, 0) != 64) die_temp_sys("unable to write ", name.s);
      if (fdatasync(fd) < 0) die_temp_sys("unable to fdatasync ", name.s);
    } else if (strcmp(op, "dirsync") == 0) {
      p = at("d.", i);
      done(create(p), p);
      mark_start();
      if (fsync(dirfd) < 0) die_temp_sys("unable to fsync ", argv[2]);
      mark_stop();
    } else if (strcmp(op, "sfr") == 0) {
      int f = create(p = at("s.", i));
      if (write_all(f, block, sizeof block) < 0) die_temp_sys("unable to write ", p);
      mark_start();
      if (sync_file_range(f, 0, 0, SFR_ALL) < 0) die_temp_sys("unable to sync_file_range ", p);
      mark_stop();
      done(f, p);
    } else if (strcmp(op, "touch") == 0) {
      p = at("t.", i);
      done(create(p), p);
    } else if (strcmp(op, "churn") == 0) {
      p = at("x.", i);
      done(create(p), p);
      gone(p);
    } else {
      die_usage(USAGE);
    }
    if (!timed) mark_stop();
  }
  c1 = cpu_ns();
  t1 = now_ns();

  if (str_copys(&out, op) < 0 || str_catc(&out, ' ') < 0 || str_catulong(&out, count) < 0 || str_catc(&out, ' ') < 0
      || str_catulong(&out, (unsigned long)(sum_cpu / count)) < 0 || str_catc(&out, ' ') < 0
      || str_catulong(&out, (unsigned long)(sum_wall / count)) < 0 || str_catc(&out, ' ') < 0
      || str_catulong(&out, (unsigned long)((c1 - c0) / count)) < 0 || str_catc(&out, ' ') < 0
      || str_catulong(&out, (unsigned long)((t1 - t0) / count)) < 0 || str_catc(&out, '\n') < 0)
    die_nomem();
  if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write output");
  return 0;
}
