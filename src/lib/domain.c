/* domain.c: see domain.h. */
#include "addr.h"
#include "byte.h"
#include "domain.h"
#include "str.h"

static size_t without_dot(const char *s, size_t n)
{
  return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

int domain_equal(const char *a, size_t alen, const char *b, size_t blen)
{
  alen = without_dot(a, alen);
  blen = without_dot(b, blen);
  return case_equalb(a, alen, b, blen);
}

static int entry_matches(const char *host, size_t hostlen, const char *e, size_t elen)
{
  elen = without_dot(e, elen);
  if (elen == 0) return 0;
  if (e[0] == '.') {
    /* ".example.com" needs at least one byte of label before the dot */
    if (elen == 1 || hostlen <= elen) return 0;
    return case_equalb(host + hostlen - elen, elen, e, elen);
  }
  return case_equalb(host, hostlen, e, elen);
}

int domain_match_list(const char *host, size_t hostlen, const str *list)
{
  size_t pos = 0;

  hostlen = without_dot(host, hostlen);
  /* a NUL in a host would match here and be cut short by any C string
   * use later: such a host matches nothing */
  if (hostlen == 0 || byte_chr(host, hostlen, 0) != hostlen) return 0;
  while (pos < list->len) {
    size_t n = byte_chr(list->s + pos, list->len - pos, 0);
    if (entry_matches(host, hostlen, list->s + pos, n)) return 1;
    pos += n < list->len - pos ? n + 1 : n;
  }
  return 0;
}

static int is_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int domain_valid(const char *s, size_t n)
{
  size_t i = 0;
  int last_numeric = 0;

  n = without_dot(s, n);
  if (n == 0 || n > 253) return 0;
  while (i < n) {
    size_t start = i;
    int numeric = 1;
    while (i < n && s[i] != '.') {
      char c = s[i];
      if (!is_alnum(c) && c != '-' && c != '_') return 0;
      if (c < '0' || c > '9') numeric = 0;
      ++i;
    }
    if (i == start || i - start > 63) return 0;
    if (s[start] == '-' || s[i - 1] == '-') return 0;
    last_numeric = numeric;
    if (i < n) {
      ++i; /* the dot */
      if (i == n) return 0; /* "a.." stripped to "a.": an empty label */
    }
  }
  return !last_numeric;
}

int domain_of(const char *s, size_t n, size_t *off)
{
  size_t at;
  if (!addr_split(s, n, &at)) return 0;
  *off = at + 1;
  return 1;
}
