/* test_proc.c: fd, sig, wait/child, env and priv. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "env.h"
#include "fd.h"
#include "file.h"
#include "priv.h"
#include "sig.h"
#include "str.h"
#include "wait.h"

static const char sh[] = "/bin/sh";

static int is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

static void test_fd(void)
{
  int p[2], fl;
  char c = 0;

  CHECK(pipe(p) == 0);
  /* fd_copy: both refer to the pipe */
  CHECK(fd_copy(30, p[1]) == 0);
  CHECK(is_open(30) && is_open(p[1]));
  CHECK(write(30, "a", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'a');
  CHECK(fd_copy(30, 30) == 0 && is_open(30));
  /* fd_move: from is closed afterwards */
  CHECK(fd_move(31, 30) == 0);
  CHECK(is_open(31) && !is_open(30));
  CHECK(write(31, "b", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'b');
  CHECK(fd_move(31, 31) == 0 && is_open(31));
  errno = 0;
  CHECK(fd_move(32, 30) == -1 && errno == EBADF);
  CHECK(fd_copy(32, -1) == -1 && errno == EBADF);

  CHECK(fd_cloexec(31, 1) == 0);
  fl = fcntl(31, F_GETFD);
  CHECK(fl >= 0 && (fl & FD_CLOEXEC));
  CHECK(fd_cloexec(31, 0) == 0);
  fl = fcntl(31, F_GETFD);
  CHECK(fl >= 0 && !(fl & FD_CLOEXEC));
  /* dup2 target loses close-on-exec */
  CHECK(fd_cloexec(p[1], 1) == 0 && fd_copy(31, p[1]) == 0);
  fl = fcntl(31, F_GETFD);
  CHECK(fl >= 0 && !(fl & FD_CLOEXEC));

  CHECK(fd_nonblock(p[0], 1) == 0);
  CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
  CHECK(read(p[0], &c, 1) == -1 && errno == EAGAIN);
  CHECK(fd_nonblock(p[0], 0) == 0);
  CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) == 0);
  CHECK(fd_cloexec(-1, 1) == -1 && errno == EBADF);
  CHECK(fd_nonblock(-1, 1) == -1 && errno == EBADF);
  close(31);
  close(p[0]);
  close(p[1]);
}

static volatile sig_atomic_t caught;
static void on_signal(int sig) { caught = sig; }

static void test_sig(void)
{
  int p[2], fd, st;
  char c;
  struct itimerval it;
  pid_t pid;

  caught = 0;
  CHECK(sig_catch(SIGUSR1, on_signal) == 0);
  raise(SIGUSR1);
  CHECK(caught == SIGUSR1);

  /* blocked: held until unblocked */
  caught = 0;
  CHECK(sig_block(SIGUSR1) == 0);
  raise(SIGUSR1);
  CHECK(caught == 0);
  CHECK(sig_unblock(SIGUSR1) == 0);
  CHECK(caught == SIGUSR1);
  caught = 0;
  CHECK(sig_block(SIGUSR1) == 0);
  raise(SIGUSR1);
  CHECK(caught == 0);
  CHECK(sig_blocknone() == 0);
  CHECK(caught == SIGUSR1);

  caught = 0;
  CHECK(sig_ignore(SIGUSR1) == 0);
  raise(SIGUSR1);
  CHECK(caught == 0);
  CHECK(sig_catch(0, on_signal) == -1 && errno == EINVAL);
  CHECK(sig_catch(SIGKILL, on_signal) == -1 && errno == EINVAL);
  CHECK(sig_block(-5) == -1);

  /* no SA_RESTART: a blocking read notices the signal */
  CHECK(pipe(p) == 0);
  CHECK(sig_catch(SIGALRM, on_signal) == 0);
  memset(&it, 0, sizeof it);
  it.it_value.tv_usec = 30000;
  caught = 0;
  setitimer(ITIMER_REAL, &it, 0);
  errno = 0;
  CHECK(read(p[0], &c, 1) == -1 && errno == EINTR);
  CHECK(caught == SIGALRM);
  CHECK(sig_default(SIGALRM) == 0);
  close(p[0]);
  close(p[1]);

  /* default: the signal kills */
  pid = fork();
  if (pid == 0) {
    sig_catch(SIGUSR1, on_signal);
    sig_default(SIGUSR1);
    raise(SIGUSR1);
    _exit(0);
  }
  CHECK(wait_pid(pid, &st) == pid && wait_crashed(st) == SIGUSR1 && wait_exitcode(st) == -1);

  /* self-pipe */
  CHECK(sig_selfpipe_read() == -1 && errno == EBADF);
  CHECK(sig_selfpipe_catch(SIGUSR2) == -1 && errno == EBADF);
  fd = sig_selfpipe_init();
  CHECK(fd >= 0);
  CHECK(sig_selfpipe_init() == fd);
  CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  CHECK(sig_selfpipe_read() == 0);
  CHECK(sig_selfpipe_catch(SIGUSR2) == 0);
  CHECK(sig_selfpipe_catch(SIGHUP) == 0);
  errno = 12345;
  raise(SIGUSR2);
  CHECK(errno == 12345); /* the handler keeps errno */
  raise(SIGHUP);
  CHECK(sig_selfpipe_read() == SIGUSR2);
  CHECK(sig_selfpipe_read() == SIGHUP);
  CHECK(sig_selfpipe_read() == 0);
  sig_default(SIGUSR2);
  sig_default(SIGHUP);
  sig_default(SIGUSR1);
}

/* Runs sh -c script with the given fds; returns the exit status or -1. */
static int run_sh(const char *script, char *const *envp, const child_fd *fds, size_t nfds)
{
  char *argv[4];
  int st;
  pid_t pid;
  argv[0] = (char *)"sh";
  argv[1] = (char *)"-c";
  argv[2] = (char *)script;
  argv[3] = 0;
  pid = child_spawn(sh, argv, envp, fds, nfds);
  if (pid < 0) return -1;
  if (wait_pid(pid, &st) != pid) return -1;
  return st;
}

static int hook_calls;
static int failing_hook(void *arg)
{
  (void)arg;
  ++hook_calls;
  errno = EDOM;
  return -1;
}

/* The prepare hook of the signal test: EDOM unless SIGUSR1 (caught in
 * the parent through sig_catch) and SIGHUP (through the self-pipe) are
 * back at their defaults and SIGUSR2 (ignored) is still ignored. */
static int dispositions_hook(void *arg)
{
  struct sigaction a, b, c;
  (void)arg;
  if (sigaction(SIGUSR1, 0, &a) < 0 || sigaction(SIGHUP, 0, &b) < 0 || sigaction(SIGUSR2, 0, &c) < 0)
    return -1;
  if (a.sa_handler != SIG_DFL || b.sa_handler != SIG_DFL || c.sa_handler != SIG_IGN) {
    errno = EDOM;
    return -1;
  }
  return 0;
}

static void on_usr1(int sig) { (void)sig; }

static void test_wait(void)
{
  int st, p[2], q[2];
  pid_t pid;
  char out[64];
  ssize_t r;
  child_fd fds[3];
  char *argv[3];
  child_spec sp;

  /* exit codes and crashes */
  st = run_sh("exit 3", 0, 0, 0);
  CHECK(wait_exitcode(st) == 3 && wait_crashed(st) == 0);
  st = run_sh("exit 0", 0, 0, 0);
  CHECK(wait_exitcode(st) == 0 && wait_crashed(st) == 0);
  st = run_sh("exit 255", 0, 0, 0);
  CHECK(wait_exitcode(st) == 255);
  st = run_sh("kill -9 $$", 0, 0, 0);
  CHECK(wait_crashed(st) == 9 && wait_exitcode(st) == -1);

  /* no children */
  errno = 0;
  CHECK(wait_nohang(&st) == -1 && errno == ECHILD);
  CHECK(wait_pid(-1, &st) == -1 && errno == ECHILD);
  /* a running child: 0, then its pid once done */
  CHECK(pipe(p) == 0);
  fds[0].to = 0;
  fds[0].from = p[0];
  argv[0] = (char *)"sh";
  argv[1] = 0;
  pid = child_spawn(sh, argv, 0, fds, 1); /* sh reading a script from the pipe */
  CHECK(pid > 0);
  CHECK(wait_nohang(&st) == 0);
  CHECK(write_all(p[1], "exit 7\n", 7) == 0);
  close(p[1]);
  close(p[0]);
  CHECK(wait_pid(pid, &st) == pid && wait_exitcode(st) == 7);

  /* exec failures come back as errno, the child already reaped */
  argv[0] = (char *)"x";
  argv[1] = 0;
  errno = 0;
  CHECK(child_spawn("/nonexistent/sluice-prog", argv, 0, 0, 0) == -1 && errno == ENOENT);
  CHECK(child_spawn("/", argv, 0, 0, 0) == -1 && errno == EACCES);
  CHECK(wait_nohang(&st) == -1 && errno == ECHILD);
  CHECK(child_spawn(0, argv, 0, 0, 0) == -1 && errno == EINVAL);
  CHECK(child_spawn(sh, 0, 0, 0, 0) == -1 && errno == EINVAL);
  CHECK(child_spawn(sh, argv, 0, 0, CHILD_FDMAX + 1) == -1 && errno == EINVAL);
  fds[0].to = -1;
  fds[0].from = 0;
  CHECK(child_spawn(sh, argv, 0, fds, 1) == -1 && errno == EBADF);
  fds[0].to = 5;
  fds[0].from = 99; /* not open */
  CHECK(child_spawn(sh, argv, 0, fds, 1) == -1 && errno == EBADF);

  /* stdout to a pipe, stderr to the same pipe */
  CHECK(pipe(p) == 0);
  fds[0].to = 1;
  fds[0].from = p[1];
  fds[1].to = 2;
  fds[1].from = p[1];
  st = run_sh("echo out; echo err >&2", 0, fds, 2);
  close(p[1]);
  CHECK(wait_exitcode(st) == 0);
  r = read_full(p[0], out, sizeof out);
  CHECK_BYTES(out, (size_t)(r > 0 ? r : 0), "out\nerr\n");
  close(p[0]);

  /* a swap: the child's 7 is the parent's 8 and the other way round */
  /* (the read ends go high first so that placing the write ends at 7
   * and 8 cannot clobber them) */
  CHECK(pipe(p) == 0 && fd_move(40, p[0]) == 0 && fd_move(7, p[1]) == 0);
  CHECK(pipe(q) == 0 && fd_move(41, q[0]) == 0 && fd_move(8, q[1]) == 0);
  p[0] = 40;
  q[0] = 41;
  fds[0].to = 7;
  fds[0].from = 8;
  fds[1].to = 8;
  fds[1].from = 7;
  st = run_sh("echo seven >&7; echo eight >&8", 0, fds, 2);
  close(7);
  close(8);
  CHECK(wait_exitcode(st) == 0);
  r = read_full(p[0], out, sizeof out); /* the parent's 7 got what went to 8 */
  CHECK_BYTES(out, (size_t)(r > 0 ? r : 0), "eight\n");
  r = read_full(q[0], out, sizeof out);
  CHECK_BYTES(out, (size_t)(r > 0 ? r : 0), "seven\n");
  close(p[0]);
  close(q[0]);

  /* a close-on-exec source still arrives (the target loses the flag),
   * from -1 closes, and other parent fds without the flag are inherited */
  CHECK(pipe(p) == 0);
  CHECK(fd_cloexec(p[1], 1) == 0);
  fds[0].to = 5;
  fds[0].from = p[1];
  st = run_sh("echo five >&5", 0, fds, 1);
  CHECK(wait_exitcode(st) == 0);
  fds[0].to = 5;
  fds[0].from = -1;
  st = run_sh("(echo five >&5) 2>/dev/null", 0, fds, 1);
  CHECK(wait_exitcode(st) != 0);
  close(p[1]);
  r = read_full(p[0], out, sizeof out);
  CHECK_BYTES(out, (size_t)(r > 0 ? r : 0), "five\n");
  close(p[0]);

  /* a source that is closed by an earlier assignment is still the
   * parent's fd: 6 <- 9, 9 closed, 4 <- 9 */
  CHECK(pipe(p) == 0);
  CHECK(fd_move(9, p[1]) == 0);
  fds[0].to = 6;
  fds[0].from = 9;
  fds[1].to = 9;
  fds[1].from = -1;
  fds[2].to = 4;
  fds[2].from = 9;
  st = run_sh("echo x >&4 && echo y >&6 && ! (echo z >&9) 2>/dev/null", 0, fds, 3);
  CHECK(wait_exitcode(st) == 0);
  close(9);
  r = read_full(p[0], out, sizeof out);
  CHECK_BYTES(out, (size_t)(r > 0 ? r : 0), "x\ny\n");
  close(p[0]);

  /* chdir and the prepare hook */
  CHECK(pipe(p) == 0);
  fds[0].to = 1;
  fds[0].from = p[1];
  memset(&sp, 0, sizeof sp);
  sp.path = sh;
  {
    char *av[] = { (char *)"sh", (char *)"-c", (char *)"pwd", 0 };
    sp.argv = av;
    sp.fds = fds;
    sp.nfds = 1;
    sp.dir = "/";
    pid = child_start(&sp);
    CHECK(pid > 0 && wait_pid(pid, &st) == pid && wait_exitcode(st) == 0);
    close(p[1]);
    r = read_full(p[0], out, sizeof out);
    CHECK_BYTES(out, (size_t)(r > 0 ? r : 0), "/\n");
    close(p[0]);
    sp.dir = "/nonexistent-sluice-dir";
    CHECK(child_start(&sp) == -1 && errno == ENOENT);
    sp.dir = 0;
    sp.prepare = failing_hook;
    hook_calls = 0;
    CHECK(child_start(&sp) == -1 && errno == EDOM);
    CHECK(hook_calls == 0); /* it ran in the child, not here */
  }

  /* handlers caught through sig.h are back at default in the child
   * (sig_reset_caught), an ignored signal stays ignored */
  {
    char *av[] = { (char *)"sh", (char *)"-c", (char *)"exit 0", 0 };
    memset(&sp, 0, sizeof sp);
    sp.path = sh;
    sp.argv = av;
    sp.prepare = dispositions_hook;
    CHECK(sig_selfpipe_init() >= 0 && sig_selfpipe_catch(SIGHUP) == 0);
    CHECK(sig_catch(SIGUSR1, on_usr1) == 0 && sig_ignore(SIGUSR2) == 0);
    pid = child_start(&sp);
    CHECK(pid > 0 && wait_pid(pid, &st) == pid && wait_exitcode(st) == 0);
    CHECK(sig_default(SIGUSR1) == 0 && sig_default(SIGUSR2) == 0 && sig_default(SIGHUP) == 0);
    pid = child_start(&sp); /* none caught now: SIGUSR2 at default fails the hook */
    CHECK(pid == -1 && errno == EDOM);
  }

  /* the child starts with no blocked signals and SIGPIPE at default */
  CHECK(sig_block(SIGTERM) == 0 && sig_ignore(SIGPIPE) == 0);
  st = run_sh("kill -TERM $$; exit 0", 0, 0, 0);
  CHECK(wait_crashed(st) == SIGTERM);
  CHECK(sig_unblock(SIGTERM) == 0 && sig_default(SIGPIPE) == 0);
  CHECK(wait_nohang(&st) == -1 && errno == ECHILD);
}

static void test_env(void)
{
  env e = ENV_INIT;
  char *const *v;
  int st;
  size_t i;

  CHECK(env_get("PATH") != 0);
  CHECK(env_get("SLUICE_SURELY_UNSET_VAR") == 0);
  CHECK(env_get("") == 0);
  CHECK(env_get("PA=TH") == 0);
  CHECK(setenv("SLUICE_T1", "v=1", 1) == 0);
  CHECK(env_get("SLUICE_T1") != 0 && strcmp(env_get("SLUICE_T1"), "v=1") == 0);

  /* an empty builder gives an empty vector */
  v = env_vector(&e);
  CHECK(v != 0 && v[0] == 0);
  CHECK(env_start(&e, 0) == 0 && env_vector(&e)[0] == 0);
  CHECK(env_set(&e, "A", "1") == 0);
  CHECK(env_set(&e, "B", "") == 0);
  CHECK(env_set(&e, "AB", "x=y") == 0);
  CHECK(env_set(&e, "A", "3") == 0); /* replaces */
  v = env_vector(&e);
  CHECK(e.n == 3 && v[3] == 0);
  CHECK(strcmp(v[0], "A=3") == 0 && strcmp(v[1], "B=") == 0 && strcmp(v[2], "AB=x=y") == 0);
  CHECK(env_find(&e, "A") && strcmp(env_find(&e, "A"), "3") == 0);
  CHECK(env_find(&e, "B") && env_find(&e, "B")[0] == 0);
  CHECK(env_find(&e, "C") == 0 && env_find(&e, "A=") == 0);
  CHECK(env_unset(&e, "B") == 0);
  CHECK(env_unset(&e, "B") == 0);
  CHECK(env_unset(&e, "NOPE") == 0);
  v = env_vector(&e);
  CHECK(e.n == 2 && strcmp(v[0], "A=3") == 0 && strcmp(v[1], "AB=x=y") == 0 && v[2] == 0);
  errno = 0;
  CHECK(env_set(&e, "", "x") == -1 && errno == EINVAL);
  CHECK(env_set(&e, "X=Y", "x") == -1 && errno == EINVAL);
  CHECK(env_set(&e, "X", 0) == -1 && errno == EINVAL);
  CHECK(env_unset(&e, "A=3") == -1 && errno == EINVAL);
  CHECK(e.n == 2);

  /* the child sees exactly this environment */
  st = run_sh("test \"$A\" = 3 && test \"$AB\" = x=y && test -z \"${SLUICE_T1+set}\"", env_vector(&e), 0, 0);
  CHECK(wait_exitcode(st) == 0);

  /* many entries */
  for (i = 0; i < 1000; ++i) {
    char name[FMT_ULONG + 2];
    name[0] = 'V';
    name[1 + fmt_ulong(name + 1, i)] = 0;
    if (env_set(&e, name, name) < 0) break;
  }
  CHECK(i == 1000 && e.n == 1002);
  CHECK(env_find(&e, "V999") && strcmp(env_find(&e, "V999"), "V999") == 0);
  CHECK(env_unset(&e, "V0") == 0 && e.n == 1001 && env_vector(&e)[1001] == 0);

  /* starting from the current environment */
  CHECK(env_start(&e, 1) == 0);
  CHECK(env_find(&e, "A") == 0);
  CHECK(env_find(&e, "SLUICE_T1") && strcmp(env_find(&e, "SLUICE_T1"), "v=1") == 0);
  CHECK(env_find(&e, "PATH") != 0);
  CHECK(env_set(&e, "SLUICE_T2", "two") == 0);
  CHECK(env_unset(&e, "SLUICE_T1") == 0);
  st = run_sh("test \"$SLUICE_T2\" = two && test -z \"${SLUICE_T1+set}\" && test -n \"$PATH\"", env_vector(&e),
              0, 0);
  CHECK(wait_exitcode(st) == 0);
  /* envp NULL: the current environment */
  st = run_sh("test \"$SLUICE_T1\" = v=1", 0, 0, 0);
  CHECK(wait_exitcode(st) == 0);
  env_free(&e);
  CHECK(e.v == 0 && e.n == 0 && e.a == 0);
  env_free(&e);
  unsetenv("SLUICE_T1");
}

/* In a child: drop to 65534/65534 with supplementary group 65533 and
 * check everything; the exit code is the number of the failed step. */
static int drop_child(void)
{
  gid_t g = 65533, now[8];
  int n;

  if (priv_drop(65534, 65534, &g, 1) < 0) return 1;
  if (getuid() != 65534 || geteuid() != 65534) return 2;
  if (getgid() != 65534 || getegid() != 65534) return 3;
  n = getgroups(8, now);
  if (n < 1 || n > 2) return 4;
  if (now[0] != 65533 && (n < 2 || now[1] != 65533)) return 4;
  if (setuid(0) == 0 || seteuid(0) == 0) return 5;
  if (setgid(0) == 0) return 6;
  /* not root any more: the current ids succeed, anything else EPERM */
  if (priv_drop(65534, 65534, 0, 0) < 0) return 7;
  errno = 0;
  if (priv_drop(0, 0, 0, 0) != -1 || errno != EPERM) return 8;
  if (priv_drop(65534, 0, 0, 0) != -1 || errno != EPERM) return 9;
  return 0;
}

static void test_priv(void)
{
  uid_t uid = 99;
  gid_t gid = 99;
  pid_t pid;
  int st = 0;

  CHECK(priv_lookup("root", &uid, &gid) == 1 && uid == 0 && gid == 0);
  CHECK(priv_lookup("sluice-no-such-user", &uid, &gid) == 0 && uid == 0);
  CHECK(priv_lookup("", &uid, &gid) == 0);
  CHECK(priv_lookup_group("root", &gid) == 1 && gid == 0);
  CHECK(priv_lookup_group("sluice-no-such-group", &gid) == 0);
  CHECK(priv_drop(0, 0, 0, PRIV_GROUPS_MAX + 1) == -1 && errno == EINVAL);
  CHECK(priv_drop(0, 0, 0, 1) == -1 && errno == EINVAL);

  if (geteuid() == 0) {
    pid = fork();
    if (pid == 0) _exit(drop_child());
    CHECK(pid > 0 && wait_pid(pid, &st) == pid);
    CHECK(wait_exitcode(st) == 0);
    if (wait_exitcode(st) != 0) {
      check_outs("drop_child failed at step ");
      check_outu((unsigned long)wait_exitcode(st));
      check_outs("\n");
    }
    /* as root, dropping to root keeps root and clears the groups */
    pid = fork();
    if (pid == 0) _exit(priv_drop(0, 0, 0, 0) == 0 && getuid() == 0 && getgroups(0, 0) == 0 ? 0 : 1);
    CHECK(pid > 0 && wait_pid(pid, &st) == pid && wait_exitcode(st) == 0);
  } else {
    uid_t me = getuid();
    gid_t mg = getgid();
    errno = 0;
    CHECK(priv_drop(me + 1, mg, 0, 0) == -1 && errno == EPERM);
    CHECK(priv_drop(0, 0, 0, 0) == -1 && errno == EPERM);
    if (geteuid() == me && getegid() == mg) CHECK(priv_drop(me, mg, 0, 0) == 0);
  }
}

int main(void)
{
  test_fd();
  test_sig();
  test_wait();
  test_env();
  test_priv();
  return check_done();
}
