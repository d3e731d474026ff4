/* sigrace.c: aims signals at an injector around its commit point, as a
 * local user who keeps its real uid may (issue 12's SIGALRM finding).
 *
 *   sigrace QUEUEDIR SPLIT RUNS MSG ENV SIG UID GID CMD...
 *
 * For each of RUNS runs: watches QUEUEDIR/todo/0..SPLIT-1 with inotify,
 * starts CMD under UID and GID (no supplementary groups) with MSG on
 * fd 0 and ENV on fd 1, sends signal SIG to it
 * at a random point (after 2000..7999 microseconds) and again as soon as
 * a name appears in todo (that is, between the link that commits the
 * message and the fsync that follows it), then waits for it. Prints one
 * line per exit code, "exit CODE COUNT", and exits 0; exits 111 on
 * trouble of its own. The caller checks the queue afterwards: every
 * todo entry must have its message, every run must have exited 0. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "die.h"
#include "fmt.h"
#include "scan.h"
#include "str.h"

static unsigned long arg_ulong(const char *s)
{
  unsigned long u;
  if (scan_ulong_exact(s, strlen(s), &u) < 0) die_usage("sigrace QUEUEDIR SPLIT RUNS MSG ENV SIG UID GID CMD...");
  return u;
}

static void put_line(const char *a, unsigned long n, const char *b, unsigned long m)
{
  str o = STR_INIT;
  if (str_copys(&o, a) < 0 || str_catulong(&o, n) < 0 || str_cats(&o, b) < 0 || str_catulong(&o, m) < 0 ||
      str_catc(&o, '\n') < 0)
    die_nomem();
  if (write(1, o.s, o.len) < 0) die_temp_sys("unable to write");
  str_free(&o);
}

int main(int argc, char **argv)
{
  unsigned long split, runs, sig, uid, gid, counts[256];
  int in;
  unsigned long r, i;
  str path = STR_INIT;

  die_progname("sigrace");
  if (argc < 10) die_usage("sigrace QUEUEDIR SPLIT RUNS MSG ENV SIG UID GID CMD...");
  split = arg_ulong(argv[2]);
  runs = arg_ulong(argv[3]);
  sig = arg_ulong(argv[6]);
  uid = arg_ulong(argv[7]);
  gid = arg_ulong(argv[8]);
  memset(counts, 0, sizeof counts);
  srandom((unsigned)getpid() ^ (unsigned)time(0));
  in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (in < 0) die_temp_sys("inotify_init1");
  for (i = 0; i < split; ++i) {
    if (str_copys(&path, argv[1]) < 0 || str_cats(&path, "/todo/") < 0 || str_catulong(&path, i) < 0 ||
        str_0(&path) < 0)
      die_nomem();
    if (inotify_add_watch(in, path.s, IN_CREATE | IN_MOVED_TO) < 0) die_temp_sys("inotify_add_watch ", path.s);
  }
  for (r = 0; r < runs; ++r) {
    int status, seen = 0;
    long delay = 2000 + random() % 6000;
    struct timespec ts = { 0, delay * 1000 };
    char ev[4096];
    pid_t pid = fork();
    if (pid < 0) die_temp_sys("fork");
    if (pid == 0) {
      int m = open(argv[4], O_RDONLY), e = open(argv[5], O_RDONLY);
      if (m < 0 || e < 0 || dup2(m, 0) < 0 || dup2(e, 1) < 0) _exit(120);
      if (setgroups(0, 0) < 0 || setgid((gid_t)gid) < 0 || setuid((uid_t)uid) < 0) _exit(121);
      execvp(argv[9], argv + 9);
      _exit(127);
    }
    while (read(in, ev, sizeof ev) > 0) {} /* events of earlier runs */
    nanosleep(&ts, 0);
    kill(pid, (int)sig);
    for (;;) {
      struct pollfd p = { in, POLLIN, 0 };
      pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) break;
      if (w < 0 && errno != EINTR) die_temp_sys("waitpid");
      if (poll(&p, 1, 1) > 0 && read(in, ev, sizeof ev) > 0 && !seen) {
        seen = 1;
        kill(pid, (int)sig); /* the todo name exists: the commit window */
      }
    }
    if (WIFEXITED(status)) ++counts[WEXITSTATUS(status) & 255];
    else ++counts[255];
  }
  for (i = 0; i < 256; ++i)
    if (counts[i]) put_line("exit ", i, " ", counts[i]);
  str_free(&path);
  return 0;
}
