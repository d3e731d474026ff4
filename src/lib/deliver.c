/* deliver.c: see deliver.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "byte.h"
#include "deliver.h"
#include "fd.h"
#include "lineform.h"
#include "str.h"
#include "wait.h"

enum deliver_status deliver_program_status(int wstatus)
{
  int code = wait_exitcode(wstatus);
  switch (code) {
  case 0: return DELIVER_OK;
  case 99: return DELIVER_STOP;
  case 64: case 65: case 70: case 76: case 77: case 78: case 100: case 112:
    return DELIVER_PERM;
  default: return DELIVER_TEMP; /* -1 (a crash) included */
  }
}

enum deliver_status deliver_queue_status(int wstatus)
{
  int code = wait_exitcode(wstatus);
  if (code == 0) return DELIVER_OK;
  if (code >= 11 && code <= 40) return DELIVER_PERM;
  return DELIVER_TEMP;
}

void deliver_sanitize(str *text, size_t max)
{
  size_t i, j = 0;
  int space = 1; /* drops leading spaces */
  for (i = 0; i < text->len; ++i) {
    unsigned char c = (unsigned char)text->s[i];
    if (c < 32 || c == 127) c = ' ';
    if (c == ' ') {
      if (space) continue;
      space = 1;
    } else {
      space = 0;
    }
    text->s[j++] = (char)c;
  }
  while (j > 0 && text->s[j - 1] == ' ') --j;
  if (j > max) j = max;
  text->len = j;
}

int deliver_cat_safe(str *out, const char *s, size_t n)
{
  size_t i;
  if (str_readyplus(out, n) < 0) return -1;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    out->s[out->len++] = (c < 32 || c == 127) ? '_' : (char)c;
  }
  return 0;
}

int deliver_dtline(str *out, const char *local, size_t llen, const char *domain, size_t dlen)
{
  if (str_cats(out, "Delivered-To: ") < 0) return -1;
  if (deliver_cat_safe(out, local, llen) < 0 || str_catc(out, '@') < 0) return -1;
  if (deliver_cat_safe(out, domain, dlen) < 0) return -1;
  return str_catc(out, '\n');
}

int deliver_rpline(str *out, const char *sender, size_t n)
{
  if (str_cats(out, "Return-Path: <") < 0 || deliver_cat_safe(out, sender, n) < 0) return -1;
  return str_cats(out, ">\n");
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* 1 when line[0..n) is a Delivered-To field with the value addr. */
static int dt_matches(const char *line, size_t n, const char *addr, size_t alen)
{
  size_t colon = byte_chr(line, n, ':'), end, start;
  if (colon == n) return 0;
  end = colon;
  while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
  if (!case_equalb(line, end, "Delivered-To", 12)) return 0;
  start = colon + 1;
  while (start < n && is_blank(line[start])) ++start;
  end = n;
  while (end > start && is_blank(line[end - 1])) --end;
  return case_equalb(line + start, end - start, addr, alen);
}

int deliver_header_has_dt(int fd, const char *addr, size_t n)
{
  char mem[8192];
  buf b;
  str line = STR_INIT;
  int rest = 0, found = 0, r;

  if (lseek(fd, 0, SEEK_SET) < 0) return -1;
  buf_init(&b, fd, mem, sizeof mem);
  for (;;) {
    line.len = 0;
    r = buf_getline(&b, &line, '\n', 4096);
    if (r < 0 && errno != E2BIG) { found = -1; break; }
    if (rest) {            /* the tail of a line too long to be ours */
      if (r == 1) rest = 0;
      if (r == 0) break;
      continue;
    }
    if (r < 0) { rest = 1; continue; }
    if (line.len == 0) break;
    if ((line.len == 1 && line.s[0] == '\n') || (line.len == 2 && line.s[0] == '\r' && line.s[1] == '\n'))
      break; /* end of the header */
    if (dt_matches(line.s, line.len, addr, n)) { found = 1; break; }
    if (r == 0) break;
  }
  str_free(&line);
  return found;
}

int deliver_host_part(str *out, const char *host, size_t n, unsigned k)
{
  size_t len = n;
  unsigned j;
  for (j = 1; j < k; ++j) {
    size_t dot = byte_rchr(host, len, '.');
    if (dot == len) break;
    len = dot;
  }
  return str_copyb(out, host, len);
}

int deliver_ext_part(str *out, const char *ext, size_t n, unsigned k)
{
  size_t off = 0;
  unsigned j;
  for (j = 1; j < k; ++j) {
    size_t dash = byte_chr(ext + off, n - off, '-');
    if (off + dash == n) return str_copys(out, "");
    off += dash + 1;
  }
  return str_copyb(out, ext + off, n - off);
}

int deliver_verp_sender(str *out, const char *local, const char *domain, const char *rcpt, size_t rlen)
{
  size_t at = byte_rchr(rcpt, rlen, '@');
  if (str_copys(out, local) < 0 || str_cats(out, "-owner-") < 0) return -1;
  if (str_catb(out, rcpt, at) < 0) return -1;
  if (at < rlen && (str_catc(out, '=') < 0 || str_catb(out, rcpt + at + 1, rlen - at - 1) < 0)) return -1;
  if (str_catc(out, '@') < 0 || str_cats(out, domain) < 0) return -1;
  return 0;
}

/* One pipe we write: a source of bytes and what is pending. */
struct feed {
  int fd;            /* our write end, -1 when done */
  const char *pre;   /* bytes sent first */
  size_t prelen;
  int src;           /* then this descriptor to its end, or -1 */
  struct lineform lf; /* src is sent in the queue's line form */
  char raw[32768];    /* bytes as read from src */
  char chunk[65536];
  size_t pos, len;   /* pending chunk[pos..len) */
};

/* A pipe whose both ends are close-on-exec. */
static int pipe_cloexec(int p[2])
{
  if (pipe(p) < 0) return -1;
  if (fd_cloexec(p[0], 1) < 0 || fd_cloexec(p[1], 1) < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    p[0] = p[1] = -1;
    errno = e;
    return -1;
  }
  return 0;
}

static void close_fd(int *fd)
{
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* Writes what the pipe takes now. 0 ok (maybe finished: f->fd -1),
 * -1 when reading the source failed (errno set). */
static int feed_step(struct feed *f)
{
  for (;;) {
    ssize_t w;
    if (f->pos == f->len) {
      f->pos = f->len = 0;
      if (f->prelen > 0) {
        size_t n = f->prelen < sizeof f->chunk ? f->prelen : sizeof f->chunk;
        memcpy(f->chunk, f->pre, n);
        f->pre += n;
        f->prelen -= n;
        f->len = n;
      } else if (f->src >= 0) {
        ssize_t r;
        do r = read(f->src, f->raw, sizeof f->raw);
        while (r < 0 && errno == EINTR);
        if (r < 0) return -1;
        if (r == 0) {
          f->src = -1; /* the caller's: not closed here */
          f->len = lineform_end(&f->lf, f->chunk);
          if (f->len == 0) { close_fd(&f->fd); return 0; }
        } else {
          f->len = lineform_feed(&f->lf, f->raw, (size_t)r, f->chunk);
          if (f->len == 0) continue; /* only a CR held back */
        }
      } else {
        close_fd(&f->fd);
        return 0;
      }
    }
    w = write(f->fd, f->chunk + f->pos, f->len - f->pos);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      close_fd(&f->fd); /* EPIPE: the child stopped reading; its exit code decides */
      return 0;
    }
    f->pos += (size_t)w;
  }
}

static long long mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds for poll until deadline (-1: none), capped at cap
 * (-1: no cap). */
static int ms_until(long long deadline, int cap)
{
  long long left;
  if (deadline < 0) return cap;
  left = deadline - mono_ms();
  if (left < 0) left = 0;
  if (cap >= 0 && left > cap) left = cap;
  return left > INT_MAX ? INT_MAX : (int)left;
}

/* 1 when the child pid has ended (it stays a zombie: its pid and so its
 * process group id cannot be reused until it is reaped), 0 when it
 * still runs, -1 with errno. */
static int child_ended(pid_t pid)
{
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) return errno == EINTR ? 0 : -1;
  return si.si_pid == pid;
}

/* Runs in the child before execve: a process group of its own, so the
 * whole tree of a program over its time limit can be signalled. */
static int own_group(void *arg)
{
  (void)arg;
  return setpgid(0, 0);
}

/* Reads what the output pipe has: appended to output while it is below
 * outmax, the rest dropped; end of file closes it. 0, or -1 with errno. */
static int drain(int *fd, str *output, size_t outmax)
{
  char rbuf[4096];
  ssize_t n = read(*fd, rbuf, sizeof rbuf);
  if (n < 0) return errno == EINTR || errno == EAGAIN ? 0 : -1;
  if (n == 0) close_fd(fd);
  if (n > 0 && output && output->len < outmax) {
    size_t take = (size_t)n;
    if (take > outmax - output->len) take = outmax - output->len;
    if (str_catb(output, rbuf, take) < 0) return -1;
  }
  return 0;
}

/* The time limit passed: SIGTERM to the group, a grace for it to end,
 * SIGKILL to the group, then the child is reaped. The output read
 * meanwhile is dropped. */
static void kill_expired(pid_t pid, struct feed *fin, struct feed *fev, int *out, int *wstatus)
{
  long long grace = mono_ms() + (long long)DELIVER_KILL_GRACE * 1000;
  int nap = 1;

  kill(-pid, SIGTERM);
  kill(-pid, SIGCONT); /* a stopped process would never see SIGTERM */
  close_fd(&fin->fd);
  close_fd(&fev->fd);
  while (mono_ms() < grace) {
    if (*out >= 0) {
      struct pollfd p;
      p.fd = *out;
      p.events = POLLIN;
      p.revents = 0;
      if (poll(&p, 1, ms_until(grace, -1)) > 0 && drain(out, 0, 0) < 0) break;
      continue;
    }
    if (child_ended(pid) != 0) break;
    poll(0, 0, ms_until(grace, nap));
    if (nap < 64) nap *= 2;
  }
  kill(-pid, SIGKILL);
  close_fd(out);
  wait_pid(pid, wstatus);
}

int deliver_child_run(const struct deliver_child *c, str *output, size_t outmax, int *wstatus)
{
  int in[2] = { -1, -1 }, ev[2] = { -1, -1 }, out[2] = { -1, -1 }, e;
  child_fd fds[3];
  child_spec sp;
  size_t nfds = 0;
  pid_t pid = -1;
  static struct feed fin, fev; /* 64 KB each: kept off the stack */
  long long deadline = -1;

  fin.fd = fev.fd = -1;
  if (c->timeout > DELIVER_TIMEOUT_MAX) { errno = EINVAL; return -1; }
  if (lseek(c->msgfd, 0, SEEK_SET) < 0) return -1;
  if (pipe_cloexec(in) < 0) goto fail;
  fds[nfds].to = 0; fds[nfds++].from = in[0];
  if (c->envelope) {
    if (pipe_cloexec(ev) < 0) goto fail;
    fds[nfds].to = 1; fds[nfds++].from = ev[0];
  } else {
    if (pipe_cloexec(out) < 0) goto fail;
    fds[nfds].to = 1; fds[nfds++].from = out[1];
    fds[nfds].to = 2; fds[nfds++].from = out[1];
  }
  memset(&sp, 0, sizeof sp);
  sp.path = c->path;
  sp.argv = c->argv;
  sp.envp = c->envp;
  sp.fds = fds;
  sp.nfds = nfds;
  if (c->timeout) sp.prepare = own_group;
  pid = child_start(&sp);
  if (pid < 0) goto fail;
  if (c->timeout) deadline = mono_ms() + (long long)c->timeout * 1000;
  close_fd(&in[0]);
  close_fd(&ev[0]);
  close_fd(&out[1]);
  if (fd_nonblock(in[1], 1) < 0 || (ev[1] >= 0 && fd_nonblock(ev[1], 1) < 0)) goto fail;

  fin.fd = in[1]; in[1] = -1;
  fin.pre = c->head; fin.prelen = c->headlen; fin.src = c->msgfd; fin.pos = fin.len = 0;
  lineform_start(&fin.lf);
  fev.fd = ev[1]; ev[1] = -1;
  fev.pre = c->envelope; fev.prelen = c->envelope ? c->envlen : 0; fev.src = -1; fev.pos = fev.len = 0;

  while (fin.fd >= 0 || fev.fd >= 0 || out[0] >= 0) {
    struct pollfd p[3];
    int np = 0, ifin = -1, ifev = -1, iout = -1, r;
    if (fin.fd >= 0) { ifin = np; p[np].fd = fin.fd; p[np].events = POLLOUT; p[np++].revents = 0; }
    if (fev.fd >= 0) { ifev = np; p[np].fd = fev.fd; p[np].events = POLLOUT; p[np++].revents = 0; }
    if (out[0] >= 0) { iout = np; p[np].fd = out[0]; p[np].events = POLLIN; p[np++].revents = 0; }
    r = poll(p, (nfds_t)np, ms_until(deadline, -1));
    if (r < 0) {
      if (errno == EINTR) continue;
      goto fail;
    }
    if (r == 0 && deadline >= 0 && mono_ms() >= deadline) {
      kill_expired(pid, &fin, &fev, &out[0], wstatus);
      return 1;
    }
    if (ifin >= 0 && p[ifin].revents && feed_step(&fin) < 0) goto fail;
    if (ifev >= 0 && p[ifev].revents && feed_step(&fev) < 0) goto fail;
    if (iout >= 0 && p[iout].revents && drain(&out[0], output, outmax) < 0) goto fail;
  }
  /* every pipe is closed, but the child may still run: under a time
   * limit it must end before the deadline too */
  if (deadline >= 0) {
    int nap = 1, ended;
    while ((ended = child_ended(pid)) == 0) {
      if (mono_ms() >= deadline) {
        kill_expired(pid, &fin, &fev, &out[0], wstatus);
        return 1;
      }
      poll(0, 0, ms_until(deadline, nap));
      if (nap < 64) nap *= 2;
    }
    if (ended < 0) goto fail;
  }
  if (wait_pid(pid, wstatus) < 0) return -1;
  return 0;

fail:
  e = errno;
  /* the child must not see a cut message as a whole one */
  if (pid > 0) kill(c->timeout ? -pid : pid, SIGKILL);
  close_fd(&in[0]); close_fd(&in[1]); close_fd(&ev[0]); close_fd(&ev[1]);
  close_fd(&out[0]); close_fd(&out[1]);
  if (pid > 0) {
    close_fd(&fin.fd); close_fd(&fev.fd);
    wait_pid(pid, wstatus);
  }
  errno = e;
  return -1;
}
