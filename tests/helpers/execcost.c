/* execcost.c: the CPU cost of starting a program, for bench/exec.sh.
 *
 *   execcost COUNT PROG [ARG...]
 *
 * Runs PROG with ARGs COUNT times, one after the other, each with fd 0,
 * 1 and 2 on /dev/null, started as sluice starts its children
 * (child_spawn: fork, signal reset, execve), and waits for each. The
 * cost is the user and system CPU of the children (getrusage
 * RUSAGE_CHILDREN), which counts everything from fork to exit: the
 * child's part of fork, the execve, the C library's start-up, the
 * program's own work until it exits. Whatever the exit code: a usage
 * error is a fine harmless invocation. Prints one line on fd 1:
 *     COUNT USER_US SYS_US MICROSECONDS_PER_RUN WALL_US_PER_RUN
 * (MICROSECONDS_PER_RUN rounded, user plus system; WALL_US_PER_RUN the
 * elapsed time per run, monotonic clock, rounded). Exits 111 with a message on
 * fd 2 when PROG cannot be started. */
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "die.h"
#include "file.h"
#include "scan.h"
#include "str.h"
#include "wait.h"

static unsigned long long tv_us(const struct timeval *tv)
{
  return (unsigned long long)tv->tv_sec * 1000000ULL + (unsigned long long)tv->tv_usec;
}

static unsigned long long now_us(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) die_temp_sys("unable to read the clock");
  return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
}

int main(int argc, char **argv)
{
  unsigned long count, i;
  struct rusage r0, r1;
  unsigned long long user, sys, t0, wall;
  child_fd fds[3];
  str out = STR_INIT;
  int null;

  die_progname("execcost");
  if (argc < 3 || scan_ulong_exact(argv[1], strlen(argv[1]), &count) < 0 || count == 0)
    die_usage("execcost COUNT PROG [ARG...]");
  null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) die_temp_sys("unable to open /dev/null");
  for (i = 0; i < 3; ++i) {
    fds[i].to = (int)i;
    fds[i].from = null;
  }
  if (getrusage(RUSAGE_CHILDREN, &r0) < 0) die_temp_sys("unable to read the CPU used");
  t0 = now_us();
  for (i = 0; i < count; ++i) {
    pid_t pid = child_spawn(argv[2], argv + 2, 0, fds, 3);
    if (pid < 0) die_temp_sys("unable to run ", argv[2]);
    if (wait_pid(pid, 0) < 0) die_temp_sys("unable to wait for ", argv[2]);
  }
  wall = now_us() - t0;
  if (getrusage(RUSAGE_CHILDREN, &r1) < 0) die_temp_sys("unable to read the CPU used");
  user = tv_us(&r1.ru_utime) - tv_us(&r0.ru_utime);
  sys = tv_us(&r1.ru_stime) - tv_us(&r0.ru_stime);
  if (str_catulong(&out, count) < 0 || str_catc(&out, ' ') < 0 || str_catulong(&out, (unsigned long)user) < 0
      || str_catc(&out, ' ') < 0 || str_catulong(&out, (unsigned long)sys) < 0 || str_catc(&out, ' ') < 0
      || str_catulong(&out, (unsigned long)((user + sys + count / 2) / count)) < 0 || str_catc(&out, ' ') < 0
      || str_catulong(&out, (unsigned long)((wall + count / 2) / count)) < 0 || str_catc(&out, '\n') < 0)
    die_nomem();
  if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write output");
  return 0;
}
