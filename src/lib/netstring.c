/* netstring.c: see netstring.h. */
#include <errno.h>
#include <string.h>

#include "fmt.h"
#include "netstring.h"
#include "size.h"
#include "str.h"

int netstring_cat(str *out, const char *s, size_t n)
{
  char digits[FMT_ULONG];
  size_t dlen, total, alias_off = 0;
  int alias = 0;

  /* size_t fits in unsigned long on every platform sluice targets */
  dlen = fmt_ulong(digits, (unsigned long)n);
  if (size_add(&total, dlen, 2) < 0 || size_add(&total, total, n) < 0) return -1;
  /* growing out may move s when s points into it: keep the offset */
  if (n && out->s && s >= out->s && s < out->s + out->a) {
    alias = 1;
    alias_off = (size_t)(s - out->s);
  }
  if (str_readyplus(out, total) < 0) return -1;
  if (alias) s = out->s + alias_off;
  /* the data goes first (memmove: it may overlap its own destination
   * only if it came from out, and then it lies before out->len) */
  if (n) memmove(out->s + out->len + dlen + 1, s, n);
  memcpy(out->s + out->len, digits, dlen);
  out->s[out->len + dlen] = ':';
  out->s[out->len + dlen + 1 + n] = ',';
  out->len += total;
  return 0;
}

int netstring_parse(const char *s, size_t n, size_t max,
                    size_t *data_off, size_t *data_len, size_t *consumed)
{
  size_t i = 0, len = 0, end;

  if (n == 0) return 0;
  if (s[0] < '0' || s[0] > '9') { errno = EPROTO; return -1; }
  if (s[0] == '0') {
    /* "0" is the only length that may start with a zero */
    i = 1;
  } else {
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (size_mul(&len, len, 10) < 0 || size_add(&len, len, (size_t)(s[i] - '0')) < 0) {
        errno = EMSGSIZE;
        return -1;
      }
      /* more digits only make it larger: fail before the data comes */
      if (len > max) { errno = EMSGSIZE; return -1; }
      ++i;
    }
  }
  if (i == n) return 0;
  if (s[i] != ':') { errno = EPROTO; return -1; }
  ++i;
  /* with a huge max, i + len + 1 (the size of the whole netstring)
   * may not fit a size_t: such a netstring can never arrive */
  if (size_add(&end, i, len) < 0 || end == (size_t)-1) { errno = EMSGSIZE; return -1; }
  if (end >= n) return 0;
  if (s[end] != ',') { errno = EPROTO; return -1; }
  *data_off = i;
  *data_len = len;
  *consumed = end + 1;
  return 1;
}
