/* buf.c: see buf.h. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "byte.h"
#include "deadline.h"
#include "fmt.h"
#include "str.h"

#ifndef PIPE_BUF
#define PIPE_BUF 512 /* the POSIX minimum */
#endif

enum { KIND_UNKNOWN, KIND_SOCKET, KIND_CHUNKED, KIND_PLAIN };

void buf_init(buf *b, int fd, char *mem, size_t size)
{
  b->mem = mem;
  b->size = mem ? size : 0;
  b->pos = 0;
  b->len = 0;
  b->fd = fd;
  b->kind = KIND_UNKNOWN;
  b->timeout_ms = 0;
  b->deadline = 0;
}

void buf_set_timeout(buf *b, unsigned long ms)
{
  b->timeout_ms = ms > (unsigned long)INT_MAX ? (unsigned long)INT_MAX : ms;
}

/* 1 when reads and writes on b are bounded in time. */
static int timed(const buf *b) { return b->timeout_ms || b->deadline; }

void buf_set_deadline(buf *b, long long at) { b->deadline = at > 0 ? at : 0; }

int buf_expired(const buf *b) { return deadline_passed(b->deadline); }

/* Waits until b's fd is ready for events: 0 when ready (or when poll
 * reports an error condition, which the following read or write then
 * returns), -1 with ETIMEDOUT after timeout_ms milliseconds or at the
 * deadline, whichever comes first (at once when the deadline has
 * passed); without either it waits without limit. A signal does not
 * restart the full wait, only what is left of it; neither does poll
 * waking a little early: the limits are checked against the clock. */
static int wait_ready(const buf *b, short events)
{
  long long start = deadline_now();

  for (;;) {
    struct pollfd p;
    long long now = deadline_now(), left = 0;
    int r, limited = 0;
    if (b->timeout_ms) {
      long long spent = now - start;
      if (spent < 0) spent = 0;
      left = (long long)b->timeout_ms - spent;
      limited = 1;
    }
    if (b->deadline && (!limited || b->deadline - now < left)) {
      left = b->deadline - now;
      limited = 1;
    }
    if (limited && left <= 0) { errno = ETIMEDOUT; return -1; }
    p.fd = b->fd;
    p.events = events;
    p.revents = 0;
    r = poll(&p, 1, !limited ? -1 : left > INT_MAX ? INT_MAX : (int)left);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return -1;
    /* a timeout or a signal: the top of the loop decides */
  }
}

/* One read of at most n bytes: the count, 0 at end of file, or -1. */
static ssize_t op_read(buf *b, char *s, size_t n)
{
  if (n > SSIZE_MAX) n = SSIZE_MAX;
  for (;;) {
    ssize_t r;
    if (timed(b) && wait_ready(b, POLLIN) < 0) return -1;
    r = read(b->fd, s, n);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      /* non-blocking fd: wait for it (the timed path waits at the top) */
      if (!timed(b) && wait_ready(b, POLLIN) < 0) return -1;
      continue;
    }
    return -1;
  }
}

static int write_kind(int fd)
{
  struct stat st;
  if (fstat(fd, &st) < 0) return KIND_CHUNKED;
  if (S_ISSOCK(st.st_mode)) return KIND_SOCKET;
  if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) return KIND_PLAIN;
  /* pipes, fifos, ttys: after POLLOUT at least PIPE_BUF bytes fit */
  return KIND_CHUNKED;
}

/* One write of up to n (> 0) bytes: the count written (> 0) or -1. */
static ssize_t op_write(buf *b, const char *s, size_t n)
{
  if (n > SSIZE_MAX) n = SSIZE_MAX;
  for (;;) {
    ssize_t w;
    if (timed(b)) {
      if (wait_ready(b, POLLOUT) < 0) return -1;
      if (b->kind == KIND_UNKNOWN) b->kind = write_kind(b->fd);
      if (b->kind == KIND_SOCKET)
        w = send(b->fd, s, n, MSG_DONTWAIT);
      else
        w = write(b->fd, s, (b->kind == KIND_CHUNKED && n > PIPE_BUF) ? PIPE_BUF : n);
    } else {
      w = write(b->fd, s, n);
    }
    if (w > 0) return w;
    if (w == 0) { errno = EIO; return -1; }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!timed(b) && wait_ready(b, POLLOUT) < 0) return -1;
      continue;
    }
    return -1;
  }
}

static int write_all_timed(buf *b, const char *s, size_t n)
{
  while (n > 0) {
    ssize_t w = op_write(b, s, n);
    if (w < 0) return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

int buf_flush(buf *b)
{
  size_t done = 0;
  while (done < b->len) {
    ssize_t w = op_write(b, b->mem + done, b->len - done);
    if (w < 0) {
      int e = errno;
      /* keep what was not written at the front of the block */
      memmove(b->mem, b->mem + done, b->len - done);
      b->len -= done;
      errno = e;
      return -1;
    }
    done += (size_t)w;
  }
  b->len = 0;
  return 0;
}

int buf_put(buf *b, const char *s, size_t n)
{
  if (n == 0) return 0;
  if (n <= b->size - b->len) {
    memcpy(b->mem + b->len, s, n);
    b->len += n;
    return 0;
  }
  if (buf_flush(b) < 0) return -1;
  if (n > b->size) return write_all_timed(b, s, n);
  memcpy(b->mem, s, n);
  b->len = n;
  return 0;
}

int buf_puts(buf *b, const char *s) { return buf_put(b, s, strlen(s)); }

int buf_putc(buf *b, char c) { return buf_put(b, &c, 1); }

int buf_putulong(buf *b, unsigned long u)
{
  char d[FMT_ULONG];
  return buf_put(b, d, fmt_ulong(d, u));
}

int buf_putflush(buf *b, const char *s, size_t n)
{
  if (buf_put(b, s, n) < 0) return -1;
  return buf_flush(b);
}

size_t buf_avail(const buf *b) { return b->len - b->pos; }

char *buf_peek(const buf *b) { return b->mem + b->pos; }

void buf_seek(buf *b, size_t n)
{
  size_t avail = b->len - b->pos;
  if (n > avail) n = avail;
  b->pos += n;
  if (b->pos == b->len) b->pos = b->len = 0;
}

ssize_t buf_feed(buf *b)
{
  ssize_t r;
  if (b->pos == b->len) {
    b->pos = b->len = 0;
  } else if (b->len == b->size) {
    if (b->pos == 0) { errno = ENOBUFS; return -1; }
    memmove(b->mem, b->mem + b->pos, b->len - b->pos);
    b->len -= b->pos;
    b->pos = 0;
  }
  if (b->size == 0) { errno = ENOBUFS; return -1; }
  r = op_read(b, b->mem + b->len, b->size - b->len);
  if (r > 0) b->len += (size_t)r;
  return r;
}

ssize_t buf_get(buf *b, char *s, size_t n)
{
  size_t avail, take;
  if (n == 0) return 0;
  if (n > SSIZE_MAX) n = SSIZE_MAX;
  avail = buf_avail(b);
  if (avail == 0) {
    ssize_t r;
    if (n >= b->size) return op_read(b, s, n);
    r = buf_feed(b);
    if (r <= 0) return r;
    avail = buf_avail(b);
  }
  take = avail < n ? avail : n;
  memcpy(s, buf_peek(b), take);
  buf_seek(b, take);
  return (ssize_t)take;
}

int buf_read_exact(buf *b, char *s, size_t n)
{
  size_t got = 0;
  while (got < n) {
    ssize_t r = buf_get(b, s + got, n - got);
    if (r < 0) return -1;
    if (r == 0) {
      if (got == 0) return 0;
      errno = EPROTO;
      return -1;
    }
    got += (size_t)r;
  }
  return 1;
}

int buf_getline(buf *b, str *line, char delim, size_t max)
{
  size_t taken = 0; /* bytes appended by this call; never more than max */

  for (;;) {
    size_t avail = buf_avail(b), i, want;
    const char *p;
    if (avail == 0) {
      ssize_t r = buf_feed(b);
      if (r < 0) return -1;
      if (r == 0) return 0;
      avail = buf_avail(b);
    }
    p = buf_peek(b);
    i = byte_chr(p, avail, (unsigned char)delim);
    want = i < avail ? i + 1 : avail;
    if (want > max - taken) {
      size_t room = max - taken;
      if (str_catb(line, p, room) < 0) return -1;
      buf_seek(b, room);
      errno = E2BIG;
      return -1;
    }
    if (str_catb(line, p, want) < 0) return -1;
    buf_seek(b, want);
    taken += want;
    if (i < avail) return 1;
  }
}

int buf_copy(buf *out, buf *in)
{
  for (;;) {
    size_t avail = buf_avail(in);
    if (avail == 0) {
      ssize_t r = buf_feed(in);
      if (r < 0) return -1;
      if (r == 0) return 0;
      continue;
    }
    if (buf_put(out, buf_peek(in), avail) < 0) return -2;
    buf_seek(in, avail);
  }
}
