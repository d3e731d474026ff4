/* die.c: see die.h. Output is assembled in a fixed buffer and written
 * with one write(2), so concurrent writers to one log do not interleave
 * inside a line; an over-long message is cut, never overflowed. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "die.h"
#include "errtext.h"

static const char *progname = "sluice";

void die_progname(const char *name)
{
  const char *slash = strrchr(name, '/');
  progname = slash ? slash + 1 : name;
}

const char *die_getprogname(void) { return progname; }

struct line {
  char b[2048];
  size_t len;
};

static void put(struct line *l, const char *s)
{
  size_t n = strlen(s);
  if (n > sizeof l->b - 1 - l->len) n = sizeof l->b - 1 - l->len;
  memcpy(l->b + l->len, s, n);
  l->len += n;
}

static void emit(int with_errno, int err, const char *kind, va_list ap)
{
  struct line l;
  const char *s;
  l.len = 0;
  put(&l, progname);
  put(&l, ": ");
  put(&l, kind);
  put(&l, ": ");
  while ((s = va_arg(ap, const char *)) != 0) put(&l, s);
  if (with_errno) {
    put(&l, ": ");
    put(&l, errtext(err));
  }
  l.b[l.len++] = '\n';
  {
    size_t off = 0;
    while (off < l.len) {
      ssize_t w = write(2, l.b + off, l.len - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      off += (size_t)w;
    }
  }
}

void die_parts(int code, int with_errno, const char *kind, ...)
{
  int err = errno;
  va_list ap;
  va_start(ap, kind);
  emit(with_errno, err, kind, ap);
  va_end(ap);
  _exit(code);
}

void warn_parts(int with_errno, const char *kind, ...)
{
  int err = errno;
  va_list ap;
  va_start(ap, kind);
  emit(with_errno, err, kind, ap);
  va_end(ap);
  errno = err;
}
