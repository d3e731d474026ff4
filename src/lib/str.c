/* str.c: see str.h. The only place where a str's block grows. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "size.h"
#include "str.h"

int str_ready(str *sa, size_t n)
{
  size_t want, grown;
  char *p;

  if (size_add(&want, n, 1) < 0) return -1; /* terminator slot */
  if (sa->s && want <= sa->a) return 0;
  /* grow by about 1/8 more than asked so appends stay amortised O(1) */
  if (size_add(&grown, want, want / 8 + 30) < 0) grown = want;
  p = realloc(sa->s, grown);
  if (!p) {
    if (grown == want) { errno = ENOMEM; return -1; }
    p = realloc(sa->s, want);
    if (!p) { errno = ENOMEM; return -1; }
    grown = want;
  }
  sa->s = p;
  sa->a = grown;
  return 0;
}

int str_readyplus(str *sa, size_t n)
{
  size_t want;
  if (size_add(&want, sa->len, n) < 0) return -1;
  return str_ready(sa, want);
}

int str_copyb(str *sa, const char *s, size_t n)
{
  if (str_ready(sa, n) < 0) return -1;
  if (n) memmove(sa->s, s, n);
  sa->len = n;
  return 0;
}

int str_copys(str *sa, const char *s) { return str_copyb(sa, s, strlen(s)); }

int str_copy(str *to, const str *from) { return str_copyb(to, from->s, from->len); }

int str_catb(str *sa, const char *s, size_t n)
{
  /* s may point into sa itself: remember its offset across realloc */
  if (sa->s && s >= sa->s && s < sa->s + sa->a) {
    size_t off = (size_t)(s - sa->s);
    if (str_readyplus(sa, n) < 0) return -1;
    memmove(sa->s + sa->len, sa->s + off, n);
  } else {
    if (str_readyplus(sa, n) < 0) return -1;
    if (n) memcpy(sa->s + sa->len, s, n);
  }
  sa->len += n;
  return 0;
}

int str_cats(str *sa, const char *s) { return str_catb(sa, s, strlen(s)); }

int str_cat(str *to, const str *from) { return str_catb(to, from->s, from->len); }

int str_catc(str *sa, char c) { return str_catb(sa, &c, 1); }

int str_catulong(str *sa, unsigned long u)
{
  char buf[FMT_ULONG];
  return str_catb(sa, buf, fmt_ulong(buf, u));
}

int str_0(str *sa)
{
  if (str_readyplus(sa, 0) < 0) return -1;
  sa->s[sa->len] = 0;
  return 0;
}

void str_truncate(str *sa, size_t n)
{
  if (n < sa->len) sa->len = n;
}

void str_free(str *sa)
{
  if (sa->s) {
    memset(sa->s, 0, sa->a);
    free(sa->s);
  }
  sa->s = 0;
  sa->len = 0;
  sa->a = 0;
}

int str_equals(const str *sa, const char *s)
{
  size_t n = strlen(s);
  return sa->len == n && (n == 0 || memcmp(sa->s, s, n) == 0);
}
