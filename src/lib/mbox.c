/* mbox.c: see mbox.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "lineform.h"
#include "fmt.h"
#include "mbox.h"
#include "sig.h"
#include "str.h"

static const char from_[] = "From ";

void mbox_quote_start(struct mbox_quote *q)
{
  q->bol = 1;
  q->gt = 0;
  q->matched = 0;
  q->last = '\n';
}

/* Writes the '>' run and the matched part of "From " held back. */
static int flush_held(struct mbox_quote *q, str *out, int quote)
{
  size_t i;
  if (quote && str_catc(out, '>') < 0) return -1;
  for (i = 0; i < q->gt; ++i)
    if (str_catc(out, '>') < 0) return -1;
  if (str_catb(out, from_, q->matched) < 0) return -1;
  q->gt = 0;
  q->matched = 0;
  return 0;
}

int mbox_quote_feed(struct mbox_quote *q, const char *s, size_t n, str *out)
{
  size_t i;
  for (i = 0; i < n; ++i) {
    char c = s[i];
    q->last = c;
    if (q->bol) {
      if (c == '>' && q->matched == 0) { ++q->gt; continue; }
      if (c == from_[q->matched]) {
        if (++q->matched == 5) {
          if (flush_held(q, out, 1) < 0) return -1;
          q->bol = 0;
        }
        continue;
      }
      if (flush_held(q, out, 0) < 0) return -1;
      q->bol = 0;
    }
    if (str_catc(out, c) < 0) return -1;
    if (c == '\n') q->bol = 1;
  }
  return 0;
}

int mbox_quote_end(struct mbox_quote *q, str *out)
{
  if (q->bol && (q->gt || q->matched)) return flush_held(q, out, 0);
  return 0;
}

int mbox_date(str *out, time_t t)
{
  static const char days[] = "SunMonTueWedThuFriSat";
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  struct tm tm;
  char b[32];
  size_t n = 0;
  if (!gmtime_r(&t, &tm) || tm.tm_year < 0 || tm.tm_year > 8099 || tm.tm_wday < 0 || tm.tm_wday > 6
      || tm.tm_mon < 0 || tm.tm_mon > 11) {
    errno = EOVERFLOW;
    return -1;
  }
  b[n++] = days[3 * tm.tm_wday]; b[n++] = days[3 * tm.tm_wday + 1]; b[n++] = days[3 * tm.tm_wday + 2];
  b[n++] = ' ';
  b[n++] = months[3 * tm.tm_mon]; b[n++] = months[3 * tm.tm_mon + 1]; b[n++] = months[3 * tm.tm_mon + 2];
  b[n++] = ' ';
  if (tm.tm_mday < 10) b[n++] = ' ';
  n += fmt_ulong(b + n, (unsigned long)tm.tm_mday);
  b[n++] = ' ';
  n += fmt_ulong0(b + n, (unsigned long)tm.tm_hour, 2);
  b[n++] = ':';
  n += fmt_ulong0(b + n, (unsigned long)tm.tm_min, 2);
  b[n++] = ':';
  n += fmt_ulong0(b + n, (unsigned long)tm.tm_sec, 2);
  b[n++] = ' ';
  n += fmt_ulong(b + n, (unsigned long)tm.tm_year + 1900);
  return str_catb(out, b, n);
}

int mbox_fromline(str *out, const char *sender, size_t n, time_t t)
{
  size_t i, start = out->len;
  if (str_cats(out, "From ") < 0) return -1;
  if (n == 0) {
    if (str_cats(out, "MAILER-DAEMON") < 0) goto fail;
  } else {
    if (str_readyplus(out, n) < 0) goto fail;
    for (i = 0; i < n; ++i) {
      unsigned char c = (unsigned char)sender[i];
      out->s[out->len++] = (c <= ' ' || c == 127) ? '_' : (char)c;
    }
  }
  if (str_catc(out, ' ') < 0 || mbox_date(out, t) < 0 || str_catc(out, '\n') < 0) goto fail;
  return 0;
fail:
  out->len = start;
  return -1;
}

static void on_alarm(int sig) { (void)sig; }

/* Exclusive lock on the whole file, waiting at most seconds. */
static int lock_wait(int fd, unsigned seconds)
{
  struct flock fl;
  int r, e;
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  if (sig_catch(SIGALRM, on_alarm) < 0) return -1;
  alarm(seconds);
  r = fcntl(fd, F_SETLKW, &fl);
  e = errno;
  alarm(0);
  sig_default(SIGALRM);
  if (r < 0 && e == EINTR) e = ETIMEDOUT;
  errno = e;
  return r;
}

static int write_out(int fd, str *pending, size_t atleast)
{
  if (pending->len < atleast) return 0;
  if (write_all(fd, pending->s, pending->len) < 0) return -1;
  pending->len = 0;
  return 0;
}

int mbox_deliver(const char *path, int msgfd, const char *fromline, size_t fromlen,
                 const char *head, size_t headlen, unsigned lock_seconds, const char **what)
{
  str pending = STR_INIT;
  struct mbox_quote q;
  struct lineform lf;
  char chunk[32768], conv[sizeof chunk + 1];
  size_t cn;
  off_t size = -1;
  int fd, e, r = -1;

  *what = "cannot open the mbox";
  fd = open_append(path, 0600);
  if (fd < 0) return -1;
  *what = "cannot lock the mbox";
  if (lock_wait(fd, lock_seconds) < 0) goto out;
  *what = "cannot find the end of the mbox";
  size = lseek(fd, 0, SEEK_END);
  if (size < 0) goto out;
  *what = "out of memory";
  if (str_catb(&pending, fromline, fromlen) < 0 || str_catb(&pending, head, headlen) < 0) goto out;
  *what = "cannot read the message";
  if (lseek(msgfd, 0, SEEK_SET) < 0) goto out;
  mbox_quote_start(&q);
  lineform_start(&lf);
  for (;;) {
    ssize_t n = read(msgfd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      *what = "cannot read the message";
      goto out;
    }
    if (n == 0) break;
    *what = "out of memory";
    cn = lineform_feed(&lf, chunk, (size_t)n, conv);
    if (mbox_quote_feed(&q, conv, cn, &pending) < 0) goto out;
    *what = "cannot write the mbox";
    if (write_out(fd, &pending, 65536) < 0) goto out;
  }
  *what = "out of memory";
  cn = lineform_end(&lf, conv);
  if (mbox_quote_feed(&q, conv, cn, &pending) < 0) goto out;
  if (mbox_quote_end(&q, &pending) < 0) goto out;
  if (q.last != '\n' && str_catc(&pending, '\n') < 0) goto out;
  if (str_catc(&pending, '\n') < 0) goto out;
  *what = "cannot write the mbox";
  if (write_out(fd, &pending, 0) < 0) goto out;
  *what = "cannot fsync the mbox";
  if (file_sync(fd) < 0) goto out;
  *what = "";
  r = 0;
out:
  e = errno;
  if (r < 0 && size >= 0) {
    if (ftruncate(fd, size) == 0) file_sync(fd);
  }
  close(fd); /* releases the lock */
  str_free(&pending);
  errno = e;
  return r;
}
