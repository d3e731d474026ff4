/* sig.c: see sig.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "fd.h"
#include "sig.h"

/* The signals this process has a handler for (bit sig - 1), as set by
 * the functions below: what sig_reset_caught() has to undo in a child
 * before exec, so that a spawn costs a few sigaction calls instead of
 * one per signal number. A new program starts with none caught (exec
 * resets handlers), so the set is exact when every handler comes from
 * here. */
static unsigned long long caught;

static int set_action(int sig, void (*handler)(int))
{
  struct sigaction sa;
  sa.sa_handler = handler;
  sa.sa_flags = 0; /* no SA_RESTART: blocking calls see EINTR */
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, 0) < 0) return -1;
  if (sig >= 1 && sig <= 64) {
    unsigned long long bit = 1ULL << (sig - 1);
    if (handler == SIG_DFL || handler == SIG_IGN) caught &= ~bit;
    else caught |= bit;
  }
  return 0;
}

void sig_reset_caught(void)
{
  struct sigaction sa;
  int sig;
  sa.sa_handler = SIG_DFL;
  sa.sa_flags = 0;
  sigemptyset(&sa.sa_mask);
  for (sig = 1; sig <= 64; ++sig)
    if (caught & (1ULL << (sig - 1))) sigaction(sig, &sa, 0);
  caught = 0;
}

int sig_catch(int sig, void (*handler)(int)) { return set_action(sig, handler); }
int sig_ignore(int sig) { return set_action(sig, SIG_IGN); }
int sig_default(int sig) { return set_action(sig, SIG_DFL); }

static int mask_one(int how, int sig)
{
  sigset_t s;
  sigemptyset(&s);
  if (sigaddset(&s, sig) < 0) return -1;
  return sigprocmask(how, &s, 0) < 0 ? -1 : 0;
}

int sig_block(int sig) { return mask_one(SIG_BLOCK, sig); }
int sig_unblock(int sig) { return mask_one(SIG_UNBLOCK, sig); }

int sig_blocknone(void)
{
  sigset_t s;
  sigemptyset(&s);
  return sigprocmask(SIG_SETMASK, &s, 0) < 0 ? -1 : 0;
}

static int selfpipe[2] = { -1, -1 };

static void selfpipe_handler(int sig)
{
  int e = errno;
  unsigned char c = (unsigned char)sig;
  /* a full pipe already says "something happened": dropping is fine */
  if (write(selfpipe[1], &c, 1) < 0) { /* nothing to do in a handler */ }
  errno = e;
}

int sig_selfpipe_init(void)
{
  int p[2];
  if (selfpipe[0] >= 0) return selfpipe[0];
  if (pipe(p) < 0) return -1;
  if (fd_cloexec(p[0], 1) < 0 || fd_cloexec(p[1], 1) < 0 || fd_nonblock(p[0], 1) < 0 ||
      fd_nonblock(p[1], 1) < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    errno = e;
    return -1;
  }
  selfpipe[0] = p[0];
  selfpipe[1] = p[1];
  return p[0];
}

int sig_selfpipe_catch(int sig)
{
  if (selfpipe[1] < 0) { errno = EBADF; return -1; }
  return set_action(sig, selfpipe_handler);
}

int sig_selfpipe_read(void)
{
  unsigned char c;
  ssize_t r;
  if (selfpipe[0] < 0) { errno = EBADF; return -1; }
  do r = read(selfpipe[0], &c, 1);
  while (r < 0 && errno == EINTR);
  if (r == 1) return c;
  if (r == 0) { errno = EPIPE; return -1; }
  if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
  return -1;
}
