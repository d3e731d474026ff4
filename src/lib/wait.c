/* wait.c: see wait.h.
 *
 * Between fork (or vfork) and execve the child calls only
 * async-signal-safe functions (sigprocmask, sigaction, fcntl, dup2,
 * close, chdir, write, execve, _exit), touches no heap and writes no
 * memory outside its own stack frame (errno aside, which the parent
 * does not read after a successful start). An exec failure is reported to
 * the parent as the child's errno over a close-on-exec pipe: the parent
 * reads end of file when execve succeeded. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.h"
#include "sig.h"
#include "wait.h"

extern char **environ;

pid_t wait_pid(pid_t pid, int *status)
{
  pid_t r;
  int st = 0;
  do r = waitpid(pid, &st, 0);
  while (r < 0 && errno == EINTR);
  if (r > 0 && status) *status = st;
  return r;
}

pid_t wait_nohang(int *status)
{
  pid_t r;
  int st = 0;
  do r = waitpid(-1, &st, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r > 0 && status) *status = st;
  return r;
}

int wait_crashed(int status) { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }

int wait_exitcode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

static _Noreturn void child_fail(int efd, int err)
{
  ssize_t w;
  do w = write(efd, &err, sizeof err);
  while (w < 0 && errno == EINTR);
  _exit(127);
}

/* Runs in the child; never returns. minfd is above every fd named in
 * the assignments, so the copies made there cannot be clobbered. */
static _Noreturn void child_run(const child_spec *sp, char *const *envp, int errfd, int minfd)
{
  int tmp[CHILD_FDMAX];
  int efd;
  size_t i;
  sigset_t none;
  struct sigaction sa;

  efd = fcntl(errfd, F_DUPFD_CLOEXEC, minfd);
  if (efd < 0) child_fail(errfd, errno);

  /* Every signal is blocked (the parent did that around fork). The
   * parent's handlers must not run here (a self-pipe handler would wake
   * the parent), so caught signals go back to default before unblocking
   * (those sig.c installed: it knows which, so this is a few sigaction
   * calls, not one per signal number); so do SIGPIPE and SIGCHLD, which
   * an ignoring parent would pass on. */
  sig_reset_caught();
  sa.sa_handler = SIG_DFL;
  sa.sa_flags = 0;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGPIPE, &sa, 0);
  sigaction(SIGCHLD, &sa, 0);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, 0);

  /* first copy every source out of the way, then place them */
  for (i = 0; i < sp->nfds; ++i) {
    tmp[i] = -1;
    if (sp->fds[i].from < 0) continue;
    tmp[i] = fcntl(sp->fds[i].from, F_DUPFD_CLOEXEC, minfd);
    if (tmp[i] < 0) child_fail(efd, errno);
  }
  for (i = 0; i < sp->nfds; ++i) {
    if (tmp[i] < 0) {
      close(sp->fds[i].to);
      continue;
    }
    if (fd_copy(sp->fds[i].to, tmp[i]) < 0) child_fail(efd, errno);
  }
  if (sp->dir && chdir(sp->dir) < 0) child_fail(efd, errno);
  if (sp->prepare && sp->prepare(sp->arg) < 0) child_fail(efd, errno);
  execve(sp->path, sp->argv, envp);
  child_fail(efd, errno);
}

/* vfork when there is no prepare hook: no copy of our page tables and
 * no copy-on-write faults afterwards (most of what fork costs a parent
 * with a few MB mapped); the child only makes system calls into its own
 * stack frame and execs or exits, and the parent sleeps until it has.
 * Nothing of the caller's frame is used after vfork returns in the
 * parent, which is why this is a function of its own. A prepare hook
 * may change the child's uid (priv_drop), and a process under that uid
 * could then stop the child with SIGSTOP before its execve and so hold
 * the parent asleep: those children are forked. */
static pid_t vfork_run(const child_spec *sp, char *const *envp, int errfd, int minfd)
{
  pid_t pid = vfork();
  if (pid == 0) child_run(sp, envp, errfd, minfd);
  return pid;
}

static pid_t fork_run(const child_spec *sp, char *const *envp, int errfd, int minfd)
{
  pid_t pid = fork();
  if (pid == 0) child_run(sp, envp, errfd, minfd);
  return pid;
}

pid_t child_start(const child_spec *sp)
{
  int ep[2], minfd = 3, err, st;
  size_t i;
  ssize_t r;
  pid_t pid;
  char *const *envp;
  sigset_t all, saved;

  if (!sp || !sp->path || !sp->argv || (sp->nfds && !sp->fds) || sp->nfds > CHILD_FDMAX) {
    errno = EINVAL;
    return -1;
  }
  for (i = 0; i < sp->nfds; ++i) {
    int to = sp->fds[i].to, from = sp->fds[i].from;
    if (to < 0 || from < -1 || to >= 65536 || from >= 65536) { errno = EBADF; return -1; }
    if (to >= minfd) minfd = to + 1;
    if (from >= minfd) minfd = from + 1;
  }
  envp = sp->envp ? sp->envp : (char *const *)environ;

  if (pipe(ep) < 0) return -1;
  if (fd_cloexec(ep[0], 1) < 0 || fd_cloexec(ep[1], 1) < 0) goto fail;
  /* no handler may run in the child before it has reset them */
  sigfillset(&all);
  if (sigprocmask(SIG_BLOCK, &all, &saved) < 0) goto fail;
  pid = sp->prepare ? fork_run(sp, envp, ep[1], minfd) : vfork_run(sp, envp, ep[1], minfd);
  err = errno;
  sigprocmask(SIG_SETMASK, &saved, 0);
  errno = err;
  if (pid < 0) goto fail;

  close(ep[1]);
  do r = read(ep[0], &err, sizeof err);
  while (r < 0 && errno == EINTR);
  close(ep[0]);
  if (r == (ssize_t)sizeof err) {
    wait_pid(pid, &st);
    errno = err;
    return -1;
  }
  return pid;

fail:
  err = errno;
  close(ep[0]);
  close(ep[1]);
  errno = err;
  return -1;
}

pid_t child_spawn(const char *path, char *const argv[], char *const envp[], const child_fd *fds,
                  size_t nfds)
{
  child_spec sp;
  sp.path = path;
  sp.argv = argv;
  sp.envp = envp;
  sp.fds = fds;
  sp.nfds = nfds;
  sp.dir = 0;
  sp.prepare = 0;
  sp.arg = 0;
  return child_start(&sp);
}
