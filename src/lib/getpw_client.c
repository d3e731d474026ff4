/* getpw_client.c: see getpw_client.h. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "deadline.h"
#include "fd.h"
#include "getpw_cache.h"
#include "getpw_client.h"
#include "getpw_proto.h"
#include "spawn.h"
#include "spawner.h"
#include "str.h"
#include "wait.h"

void getpw_client_init(struct getpw_client *c)
{
  c->pid = 0;
  c->pidfd = c->wfd = c->rfd = -1;
  c->answered = c->starts = 0;
  c->started = 0;
  c->failures = 0;
  c->next_start = 0;
  c->cache.items = 0;
  c->cache.seed = 0;
  c->req.s = c->acc.s = c->data.s = 0;
  c->req.len = c->acc.len = c->data.len = 0;
  c->req.a = c->acc.a = c->data.a = 0;
}

static void close_fd(int *fd)
{
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* A pidfd for pid, or -1 where the system has none. */
static int pid_open(pid_t pid)
{
#ifdef SYS_pidfd_open
  return (int)syscall(SYS_pidfd_open, pid, 0);
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

/* 1 when the helper certainly has not been reaped yet: it still holds
 * its answer pipe (no hang-up on our end). */
static int still_holds_pipe(const struct getpw_client *c)
{
  struct pollfd p;
  p.fd = c->rfd;
  p.events = POLLIN;
  p.revents = 0;
  if (c->rfd < 0 || poll(&p, 1, 0) < 0) return 0;
  return !(p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static void helper_signal(struct getpw_client *c, int sig)
{
  if (!c->pid) return;
#ifdef SYS_pidfd_send_signal
  if (c->pidfd >= 0) {
    syscall(SYS_pidfd_send_signal, c->pidfd, sig, (void *)0, 0);
    return;
  }
#endif
  /* without a pidfd: a process that still holds its end of the pipe
   * is alive or a zombie, and nobody reaps between here and the kill */
  if (still_holds_pipe(c)) kill(c->pid, sig);
}

/* Forgets the helper (which is dead, or killed just now). */
static void helper_drop(struct getpw_client *c)
{
  close_fd(&c->wfd);
  close_fd(&c->rfd);
  close_fd(&c->pidfd);
  c->pid = 0;
  c->answered = 0;
  c->acc.len = 0;
}

/* A failed helper: killed, and the next start put off. */
static void helper_failed(struct getpw_client *c)
{
  unsigned long wait_ms = 0;
  helper_signal(c, SIGKILL);
  helper_drop(c);
  if (c->failures < 32) ++c->failures;
  if (c->failures >= 2) {
    wait_ms = 1000UL << (c->failures - 2 < 6 ? c->failures - 2 : 6);
    if (wait_ms > GETPW_BACKOFF_MAX) wait_ms = GETPW_BACKOFF_MAX;
  }
  c->next_start = deadline_now() + (long long)wait_ms;
}

static int helper_start(struct getpw_client *c)
{
  int q[2], a[2], err;
  char *argv[2];
  child_fd fds[2];
  child_spec sp;
  pid_t pid;

  if (c->next_start && deadline_now() < c->next_start) { errno = EAGAIN; return -1; }
  if (spawner_pipe(q) < 0) return -1;
  if (spawner_pipe(a) < 0) {
    err = errno;
    close(q[0]);
    close(q[1]);
    errno = err;
    return -1;
  }
  argv[0] = (char *)"sluice-getpw";
  argv[1] = 0;
  fds[0].to = 0;
  fds[0].from = q[0];
  fds[1].to = 1;
  fds[1].from = a[1];
  memset(&sp, 0, sizeof sp);
  sp.path = c->path;
  sp.argv = argv;
  sp.fds = fds;
  sp.nfds = 2;
  sp.prepare = c->prepare;
  sp.arg = c->prepare_arg;
  pid = child_start(&sp);
  err = errno;
  close(q[0]);
  close(a[1]);
  if (pid < 0) {
    close(q[1]);
    close(a[0]);
    errno = err;
    helper_failed(c);
    errno = err;
    return -1;
  }
  c->pid = pid;
  c->pidfd = pid_open(pid);
  c->wfd = q[1];
  c->rfd = a[0];
  c->answered = 0;
  c->acc.len = 0;
  ++c->starts;
  c->started = pid;
  fd_nonblock(c->wfd, 1);
  fd_nonblock(c->rfd, 1);
  return 0;
}

/* Waits until fd is ready for events or the deadline: 1 ready, 0 the
 * deadline passed, -1 error. */
static int wait_fd(int fd, short events, long long deadline)
{
  for (;;) {
    struct pollfd p;
    long long left = deadline - deadline_now();
    int r;
    if (left <= 0) return 0;
    p.fd = fd;
    p.events = events;
    p.revents = 0;
    r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
    if (r < 0 && errno != EINTR) return -1;
    if (r > 0) return 1;
  }
}

/* Before a request: the answer pipe must be empty and open. 0, or -1
 * with errno EPIPE (the helper has ended) or EPROTO (it wrote what
 * nobody asked for: taken for the next answer, it would answer the
 * wrong question). */
static int pipe_quiet(struct getpw_client *c)
{
  struct pollfd p;
  char in[1];
  ssize_t r;
  if (c->acc.len) { errno = EPROTO; return -1; }
  p.fd = c->rfd;
  p.events = POLLIN;
  p.revents = 0;
  if (poll(&p, 1, 0) <= 0 || !p.revents) return 0;
  r = read(c->rfd, in, sizeof in);
  if (r > 0) { errno = EPROTO; return -1; }
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  errno = EPIPE;
  return -1;
}

/* Sends c->req and reads one answer into c->data: 0, or -1 with errno
 * ETIMEDOUT, EPIPE (the helper ended), EPROTO (not one frame). */
static int exchange(struct getpw_client *c, long long deadline)
{
  size_t done = 0;
  if (pipe_quiet(c) < 0) return -1;
  while (done < c->req.len) {
    ssize_t w = write(c->wfd, c->req.s + done, c->req.len - done);
    if (w > 0) { done += (size_t)w; continue; }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno != EAGAIN) return -1; /* EPIPE: the helper is gone */
    switch (wait_fd(c->wfd, POLLOUT, deadline)) {
    case 1: break;
    case 0: errno = ETIMEDOUT; return -1;
    default: return -1;
    }
  }
  for (;;) {
    char in[4096];
    ssize_t r;
    int t = spawn_frame_take(&c->acc, &c->data, GETPW_FRAME_MAX);
    if (t < 0) { errno = EPROTO; return -1; }
    if (t == 1) {
      if (c->acc.len) { errno = EPROTO; return -1; } /* more than one answer */
      return 0;
    }
    r = read(c->rfd, in, sizeof in);
    if (r > 0) {
      if (str_catb(&c->acc, in, (size_t)r) < 0) return -1;
      continue;
    }
    if (r == 0) { errno = EPIPE; return -1; }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return -1;
    switch (wait_fd(c->rfd, POLLIN, deadline)) {
    case 1: break;
    case 0: errno = ETIMEDOUT; return -1;
    default: return -1;
    }
  }
}

static unsigned long ttl_of(const struct getpw_client *c, const struct getpw_answer *a)
{
  if (a->letter == 'D') return c->negative_ttl_ms;
  if (a->letter != 'K') return 0;
  if (a->e.user.len && c->alias && str_equals(&a->e.user, c->alias)) return c->negative_ttl_ms;
  return c->ttl_ms;
}

int getpw_client_ask(struct getpw_client *c, char kind, const char *arg, size_t len, unsigned long gid,
                     struct getpw_answer *a)
{
  int attempt, err;
  c->req.len = 0;
  if (getpw_request_encode(&c->req, kind, arg, len, gid) < 0) return -1;
  /* the framed request is the key */
  switch (getpw_cache_get(&c->cache, c->req.s, c->req.len, deadline_now(), &c->data)) {
  case 1:
    if (getpw_answer_decode(a, kind, c->data.s, c->data.len) == 0) return 1;
    break; /* cannot happen: it decoded when it was kept; ask again */
  case 0: break;
  default: return -1;
  }
  for (attempt = 0; attempt < 2; ++attempt) {
    int served;
    if (!c->pid && helper_start(c) < 0) return -1;
    served = c->answered > 0;
    if (exchange(c, deadline_now() + (long long)c->timeout_ms) == 0) {
      if (getpw_answer_decode(a, kind, c->data.s, c->data.len) == 0) {
        unsigned long ttl = ttl_of(c, a);
        ++c->answered;
        c->failures = 0;
        c->next_start = 0;
        /* no memory to keep it: the next lookup asks again */
        if (ttl) (void)getpw_cache_put(&c->cache, c->req.s, c->req.len, c->data.s, c->data.len,
                                       deadline_now() + (long long)ttl);
        return 1;
      }
      errno = EPROTO;
    }
    /* whatever went wrong, the helper goes: an answer left in its pipe
     * must never be taken for the answer to the next request */
    err = errno;
    helper_failed(c);
    errno = err;
    /* a helper that had answered and is found gone (killed, or ended
     * between two lookups): its successor gets this lookup at once */
    if (err != EPIPE || !served) return -1;
  }
  return -1;
}

void getpw_client_stop(struct getpw_client *c)
{
  helper_drop(c);
  getpw_cache_free(&c->cache);
  str_free(&c->req);
  str_free(&c->acc);
  str_free(&c->data);
}
