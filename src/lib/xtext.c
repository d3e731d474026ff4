/* xtext.c: see xtext.h. */
#include <errno.h>

#include "xtext.h"

static int hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int xtext_decode(const char *s, size_t n, str *out)
{
  size_t i;

  str_truncate(out, 0);
  if (str_ready(out, n) < 0) return -1;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c == '+') {
      int h, l;
      if (n - i < 3 || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0) goto bad;
      c = (unsigned char)(h * 16 + l);
      if (c < 32 || c > 126) goto bad;
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      goto bad;
    }
    out->s[out->len++] = (char)c;
  }
  return 0;
bad:
  str_truncate(out, 0);
  errno = EINVAL;
  return -1;
}

int xtext_encode_cat(str *out, const char *s, size_t n)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t i, len = out->len;

  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    int r;
    if (c < 33 || c > 126 || c == '+' || c == '=') {
      char e[3];
      e[0] = '+';
      e[1] = hex[c >> 4];
      e[2] = hex[c & 15];
      r = str_catb(out, e, 3);
    } else {
      r = str_catc(out, (char)c);
    }
    if (r < 0) {
      out->len = len;
      return -1;
    }
  }
  return 0;
}
