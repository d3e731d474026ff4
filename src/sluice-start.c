/* sluice-start: starts the delivery set (sluice-send, sluice-lspawn,
 * sluice-rspawn, sluice-clean, and an optional logger) with the pipes
 * between them, each child under its own uid, and stays behind as a
 * small root parent that forwards signals to sluice-send and winds the
 * set down when any member exits. The descriptors and uids of every
 * child are in sluice-start(8).
 *
 * Every pipe end is created close-on-exec, and so is every descriptor
 * above 2 inherited from whoever started us, so a child holds exactly
 * the descriptors its fd table names: a stray write end in the wrong
 * process would keep a reader from ever seeing end of file, and the
 * wind-down depends on end of file reaching every spawner.
 *
 * Errors before the children run: die_temp_sys, exit 111. Afterwards
 * nothing is fatal: the set is wound down and the exit code (111, or
 * 0 after our own SIGTERM) tells supervise to start it again. All
 * memory lives until exit. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "die.h"
#include "env.h"
#include "fd.h"
#include "file.h"
#include "fmt.h"
#include "priv.h"
#include "sig.h"
#include "str.h"
#include "wait.h"

/* How long the set gets to end after sluice-send was told to stop,
 * before the rest is killed; and how long the killed get to vanish. */
#define WIND_DOWN_SECONDS 60
#define KILL_WAIT_SECONDS 5

enum member { M_LOGGER, M_CLEAN, M_LSPAWN, M_RSPAWN, M_SEND, M_COUNT };

static const char *const member_name[M_COUNT] = {
  "logger", "sluice-clean", "sluice-lspawn", "sluice-rspawn", "sluice-send",
};

/* The pipes: sluice-send writes requests and reads results. */
enum pipe_id { P_LREQ, P_LRES, P_RREQ, P_RRES, P_CREQ, P_CANS, P_LOG, P_COUNT };

struct ids {
  uid_t uid;
  gid_t gid;
};

struct set {
  pid_t pid[M_COUNT];         /* 0: not running (or never started) */
  struct ids ids[M_COUNT];    /* whom each child runs as */
  int drop[M_COUNT];          /* 0: stays root */
  str path[M_COUNT];          /* what each child execs */
  char *const *logger_argv;   /* NULL: no logger */
  int p[P_COUNT][2];          /* -1 when closed */
  int devnull;
  int saved_stderr;           /* our fd 2 before it became the log pipe */
};

/* Marks every descriptor above 2 close-on-exec: what supervise or a
 * shell left open must not reach the children. */
static void cloexec_inherited(void)
{
  struct rlimit rl;
  int max = 1024, fd;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    max = rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
  for (fd = 3; fd < max; ++fd)
    if (fcntl(fd, F_GETFD) >= 0 && fd_cloexec(fd, 1) < 0) die_temp_sys("unable to set close-on-exec");
}

static void lookup(struct set *s, enum member m, const char *user)
{
  int r = priv_lookup(user, &s->ids[m].uid, &s->ids[m].gid);
  if (r < 0) die_temp_sys("unable to look up user ", user);
  if (r == 0) die_temp("no such user: ", user);
  s->drop[m] = 1;
}

static void program_path(struct set *s, enum member m)
{
  if (str_copys(&s->path[m], auto_home) < 0 || str_cats(&s->path[m], "/bin/") < 0 ||
      str_cats(&s->path[m], member_name[m]) < 0 || str_0(&s->path[m]) < 0)
    die_nomem();
}

/* The logger as execve wants it: a name with a slash as it is
 * (relative to auto_home), else the first executable file of that name
 * in $PATH. Looked up here, by root, before any child runs. */
static void logger_path(struct set *s, const char *name)
{
  const char *path = env_get("PATH");
  str *out = &s->path[M_LOGGER];
  size_t i = 0, start;
  struct stat st;

  if (!name[0]) die_temp("empty logger name");
  for (start = 0; name[start]; ++start)
    if (name[start] == '/') {
      if (str_copys(out, name) < 0 || str_0(out) < 0) die_nomem();
      return;
    }
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  for (;;) {
    start = i;
    while (path[i] && path[i] != ':') ++i;
    if (i == start) {
      if (str_copys(out, ".") < 0) die_nomem();
    } else if (str_copyb(out, path + start, i - start) < 0) {
      die_nomem();
    }
    if (str_catc(out, '/') < 0 || str_cats(out, name) < 0 || str_0(out) < 0) die_nomem();
    if (stat(out->s, &st) == 0 && S_ISREG(st.st_mode) && access(out->s, X_OK) == 0) return;
    if (!path[i]) break;
    ++i;
  }
  die_temp("unable to find logger ", name, " in $PATH");
}

static void make_pipes(struct set *s, int with_logger)
{
  int i;
  for (i = 0; i < P_COUNT; ++i) {
    s->p[i][0] = s->p[i][1] = -1;
    if (i == P_LOG && !with_logger) continue;
    if (pipe(s->p[i]) < 0) die_temp_sys("unable to create pipe");
    if (fd_cloexec(s->p[i][0], 1) < 0 || fd_cloexec(s->p[i][1], 1) < 0)
      die_temp_sys("unable to set close-on-exec");
  }
  s->devnull = open_read("/dev/null");
  if (s->devnull < 0) die_temp_sys("unable to open /dev/null");
}

static void close_fd(int *fd)
{
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void close_pipes(struct set *s)
{
  int i;
  for (i = 0; i < P_COUNT; ++i) {
    close_fd(&s->p[i][0]);
    close_fd(&s->p[i][1]);
  }
  close_fd(&s->devnull);
}

/* Runs in the child between fork and exec: only system calls. */
static int drop_privileges(void *arg)
{
  const struct ids *id = arg;
  return priv_drop(id->uid, id->gid, &id->gid, 1);
}

static pid_t start_parent; /* our pid, for the children's check */

/* sluice-send's child step: the privilege drop, then a SIGTERM for it
 * when we die (set after the drop, which would clear it). Killed with
 * kill -9, sluice-start cannot wind the set down: without this the set
 * would run on unsupervised and hold lock/sendmutex, so that every set
 * supervise starts after it would be refused. With it sluice-send
 * finishes its deliveries and ends, the others then see end of file,
 * and the next set's sluice-send, which waits for lock/sendmutex,
 * takes over. */
static int send_prepare(void *arg)
{
  if (drop_privileges(arg) < 0) return -1;
#ifdef PR_SET_PDEATHSIG
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) return -1;
  if (getppid() != start_parent) return -1; /* died already */
#endif
  return 0;
}

static pid_t start_one(struct set *s, enum member m, const child_fd *fds, size_t nfds)
{
  static char *argv_of[M_COUNT][2];
  child_spec sp;

  argv_of[m][0] = (char *)member_name[m];
  argv_of[m][1] = 0;
  sp.path = s->path[m].s;
  sp.argv = m == M_LOGGER ? s->logger_argv : argv_of[m];
  sp.envp = 0;
  sp.fds = fds;
  sp.nfds = nfds;
  sp.dir = 0;
  sp.prepare = m == M_SEND ? send_prepare : s->drop[m] ? drop_privileges : 0;
  sp.arg = &s->ids[m];
  return s->pid[m] = child_start(&sp);
}

/* Starts the set, logger first so that it reads from the start and
 * sluice-send last so that its peers are there when it writes. On
 * failure returns -1 with errno set and *failed naming the member;
 * members already running are left to the caller. */
static int start_set(struct set *s, enum member *failed)
{
  int log = s->logger_argv ? s->p[P_LOG][1] : 2;
  child_fd logger[] = { { 0, s->p[P_LOG][0] } };
  child_fd clean[] = { { 0, s->p[P_CREQ][0] }, { 1, s->p[P_CANS][1] }, { 2, 2 } };
  child_fd lspawn[] = { { 0, s->p[P_LREQ][0] }, { 1, s->p[P_LRES][1] }, { 2, 2 } };
  child_fd rspawn[] = { { 0, s->p[P_RREQ][0] }, { 1, s->p[P_RRES][1] }, { 2, 2 } };
  child_fd send[] = {
    { 0, s->devnull }, { 1, 2 }, { 2, 2 },
    { 3, s->p[P_LREQ][1] }, { 4, s->p[P_LRES][0] },
    { 5, s->p[P_RREQ][1] }, { 6, s->p[P_RRES][0] },
    { 7, s->p[P_CREQ][1] }, { 8, s->p[P_CANS][0] },
  };

  if (s->logger_argv) {
    *failed = M_LOGGER;
    if (start_one(s, M_LOGGER, logger, 1) < 0) { s->pid[M_LOGGER] = 0; return -1; }
    close_fd(&s->p[P_LOG][0]);
    /* from here on our own fd 2, and so every other child's, is the log */
    s->saved_stderr = fcntl(2, F_DUPFD_CLOEXEC, 3);
    if (s->saved_stderr < 0 || fd_copy(2, log) < 0) return -1;
    close_fd(&s->p[P_LOG][1]);
  }
  *failed = M_CLEAN;
  if (start_one(s, M_CLEAN, clean, 3) < 0) { s->pid[M_CLEAN] = 0; return -1; }
  *failed = M_LSPAWN;
  if (start_one(s, M_LSPAWN, lspawn, 3) < 0) { s->pid[M_LSPAWN] = 0; return -1; }
  *failed = M_RSPAWN;
  if (start_one(s, M_RSPAWN, rspawn, 3) < 0) { s->pid[M_RSPAWN] = 0; return -1; }
  *failed = M_SEND;
  if (start_one(s, M_SEND, send, sizeof send / sizeof send[0]) < 0) { s->pid[M_SEND] = 0; return -1; }
  return 0;
}

static long now_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec;
}

static int running(const struct set *s, int with_logger)
{
  int m, n = 0;
  for (m = 0; m < M_COUNT; ++m)
    if (s->pid[m] > 0 && (with_logger || m != M_LOGGER)) ++n;
  return n;
}

/* One line on the log saying how a member ended. */
static void report_exit(enum member m, int status)
{
  char num[FMT_ULONG + 1];
  int sig = wait_crashed(status);
  num[fmt_ulong(num, (unsigned long)(sig ? sig : wait_exitcode(status)))] = 0;
  if (sig) warn_msg(member_name[m], " killed by signal ", num);
  else warn_msg(member_name[m], " exited ", num);
}

/* Reaps every finished child; returns 1 when one of ours ended. */
static int reap(struct set *s)
{
  int status, m, ended = 0;
  pid_t pid;
  while ((pid = wait_nohang(&status)) > 0)
    for (m = 0; m < M_COUNT; ++m)
      if (s->pid[m] == pid) {
        s->pid[m] = 0;
        report_exit((enum member)m, status);
        ended = 1;
      }
  return ended;
}

static void signal_member(const struct set *s, enum member m, int sig)
{
  if (s->pid[m] > 0) kill(s->pid[m], sig);
}

/* Once only the logger is left, our fd 2 goes back to what it was, so
 * the log pipe has no writer and the logger sees end of file. */
static void release_log(struct set *s)
{
  if (s->saved_stderr < 0 || running(s, 0)) return;
  if (fd_copy(2, s->saved_stderr) < 0) {
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) fd_move(2, fd);
  }
  close_fd(&s->saved_stderr);
}

/* Waits for the whole set to end. Until stop is set the members run
 * and our signals are forwarded; a member ending or SIGTERM starts the
 * wind-down: SIGTERM to sluice-send (the others then see end of file),
 * WIND_DOWN_SECONDS, then SIGKILL to whoever is left. Returns 1 when
 * we were told to stop by SIGTERM. */
static int supervise_set(struct set *s, int selfpipe, int stop)
{
  int terminated = 0, killed = 0, winding = 0;
  long deadline = 0;

  for (;;) {
    struct pollfd pfd;
    int sig, timeout = -1;

    if (reap(s) && !stop) stop = 1;
    if (stop && !winding) {
      winding = 1;
      warn_msg("winding down");
      signal_member(s, M_SEND, SIGTERM);
      deadline = now_seconds() + WIND_DOWN_SECONDS;
    }
    release_log(s);
    if (!running(s, 1)) break;
    if (winding) {
      long left = deadline - now_seconds();
      if (left <= 0) {
        int m;
        if (killed) break; /* unkillable: leave it to the system */
        warn_msg("killing what is left of the set");
        for (m = 0; m < M_COUNT; ++m) signal_member(s, (enum member)m, SIGKILL);
        killed = 1;
        deadline = now_seconds() + KILL_WAIT_SECONDS;
        continue;
      }
      timeout = (int)(left > 3600 ? 3600000 : left * 1000);
    }
    pfd.fd = selfpipe;
    pfd.events = POLLIN;
    if (poll(&pfd, 1, timeout) < 0 && errno != EINTR) warn_sys("poll failed");
    while ((sig = sig_selfpipe_read()) > 0) {
      /* SIGTERM reaches sluice-send through the wind-down */
      if (sig == SIGTERM) terminated = stop = 1;
      else if (sig == SIGHUP || sig == SIGALRM) signal_member(s, M_SEND, sig);
    }
  }
  return terminated;
}

static void setup_signals(int *selfpipe)
{
  *selfpipe = sig_selfpipe_init();
  if (*selfpipe < 0) die_temp_sys("unable to create the signal pipe");
  if (sig_selfpipe_catch(SIGCHLD) < 0 || sig_selfpipe_catch(SIGTERM) < 0 ||
      sig_selfpipe_catch(SIGHUP) < 0 || sig_selfpipe_catch(SIGALRM) < 0 || sig_ignore(SIGPIPE) < 0)
    die_temp_sys("unable to set signal handlers");
}

int main(int argc, char **argv)
{
  static struct set s;
  enum member m, failed;
  int selfpipe, terminated;

  die_progname("sluice-start");
  s.saved_stderr = -1;
  s.logger_argv = argc > 1 ? argv + 1 : 0;
  cloexec_inherited();
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  lookup(&s, M_SEND, auto_user_send);
  lookup(&s, M_RSPAWN, auto_user_remote);
  lookup(&s, M_CLEAN, auto_user_queue);
  if (s.logger_argv) {
    lookup(&s, M_LOGGER, auto_user_log);
    logger_path(&s, argv[1]);
  }
  for (m = M_CLEAN; m < M_COUNT; ++m) program_path(&s, m);
  start_parent = getpid();
  setup_signals(&selfpipe);
  make_pipes(&s, s.logger_argv != 0);

  if (start_set(&s, &failed) < 0) {
    int e = errno;
    /* the ones running see end of file once our pipe ends are closed */
    close_pipes(&s);
    supervise_set(&s, selfpipe, 1);
    errno = e;
    die_temp_sys("unable to start ", member_name[failed]);
  }
  close_pipes(&s);
  terminated = supervise_set(&s, selfpipe, 0);
  return terminated ? 0 : EXIT_TEMP;
}
