/* fmt.c: see fmt.h. */
#include "fmt.h"

static size_t fmt_base(char *s, unsigned long u, unsigned base)
{
  static const char digits[] = "0123456789abcdef";
  size_t len = 1;
  unsigned long q = u;
  while (q >= base) { ++len; q /= base; }
  if (s) {
    size_t i = len;
    do { s[--i] = digits[u % base]; u /= base; } while (i > 0);
  }
  return len;
}

size_t fmt_ulong(char *s, unsigned long u) { return fmt_base(s, u, 10); }

size_t fmt_xlong(char *s, unsigned long u) { return fmt_base(s, u, 16); }

size_t fmt_ulong0(char *s, unsigned long u, size_t width)
{
  size_t len = fmt_ulong(0, u), pad = 0;
  if (width > len) pad = width - len;
  if (s) {
    size_t i;
    for (i = 0; i < pad; ++i) s[i] = '0';
    fmt_ulong(s + pad, u);
  }
  return pad + len;
}

size_t fmt_long(char *s, long l)
{
  unsigned long u;
  if (l >= 0) return fmt_ulong(s, (unsigned long)l);
  u = (unsigned long)(-(l + 1)) + 1; /* no overflow for LONG_MIN */
  if (s) { *s = '-'; ++s; }
  return fmt_ulong(s, u) + 1;
}
