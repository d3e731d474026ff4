/* byte.c: see byte.h. */
#include <string.h>

#include "byte.h"

size_t byte_chr(const char *s, size_t n, int c)
{
  const char *p = n ? memchr(s, c, n) : NULL;
  return p ? (size_t)(p - s) : n;
}

size_t byte_rchr(const char *s, size_t n, int c)
{
  size_t i = n;
  while (i > 0) {
    --i;
    if (s[i] == (char)c) return i;
  }
  return n;
}

int byte_equal(const char *a, const char *b, size_t n)
{
  return n == 0 || memcmp(a, b, n) == 0;
}

static unsigned char lower(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

int case_equalb(const char *a, size_t alen, const char *b, size_t blen)
{
  size_t i;
  if (alen != blen) return 0;
  for (i = 0; i < alen; ++i)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
  return 1;
}

int byte_startswith(const char *s, size_t n, const char *p, int fold)
{
  size_t plen = strlen(p);
  if (plen > n) return 0;
  return fold ? case_equalb(s, plen, p, plen) : byte_equal(s, p, plen);
}

void case_lowerb(char *s, size_t n)
{
  size_t i;
  for (i = 0; i < n; ++i) s[i] = (char)lower((unsigned char)s[i]);
}

size_t byte_len(const char *s, size_t max)
{
  const char *p = memchr(s, 0, max);
  return p ? (size_t)(p - s) : max;
}

int byte_8bit(const char *s, size_t n)
{
  for (size_t i = 0; i < n; ++i)
    if ((unsigned char)s[i] >= 0x80) return 1;
  return 0;
}
