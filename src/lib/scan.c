/* scan.c: see scan.h. */
#include <errno.h>
#include <limits.h>

#include "scan.h"

static int digit_value(char c, unsigned base)
{
  unsigned v;
  if (c >= '0' && c <= '9') v = (unsigned)(c - '0');
  else if (c >= 'a' && c <= 'f') v = (unsigned)(c - 'a') + 10;
  else if (c >= 'A' && c <= 'F') v = (unsigned)(c - 'A') + 10;
  else return -1;
  return v < base ? (int)v : -1;
}

static size_t scan_base(const char *s, size_t n, unsigned long *u, unsigned base)
{
  unsigned long r = 0;
  size_t i = 0;
  int d;
  while (i < n && (d = digit_value(s[i], base)) >= 0) {
    if (r > (ULONG_MAX - (unsigned long)d) / base) return 0;
    r = r * base + (unsigned long)d;
    ++i;
  }
  if (i) *u = r;
  return i;
}

size_t scan_ulong(const char *s, size_t n, unsigned long *u) { return scan_base(s, n, u, 10); }

size_t scan_xlong(const char *s, size_t n, unsigned long *u) { return scan_base(s, n, u, 16); }

int scan_ulong_exact(const char *s, size_t n, unsigned long *u)
{
  unsigned long r;
  size_t i;
  for (i = 0; i < n; ++i)
    if (s[i] < '0' || s[i] > '9') { errno = EINVAL; return -1; }
  if (n == 0) { errno = EINVAL; return -1; }
  if (scan_ulong(s, n, &r) != n) { errno = ERANGE; return -1; }
  *u = r;
  return 0;
}
