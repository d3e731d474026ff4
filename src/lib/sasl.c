/* sasl.c: base64 and the PLAIN response (sasl.h). */
#include <errno.h>

#include "byte.h"
#include "sasl.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c)
{
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int base64_decode(const char *in, size_t n, str *out, size_t max)
{
  size_t i;

  str_truncate(out, 0);
  if (n % 4) {
    errno = EINVAL;
    return -1;
  }
  /* n / 4 * 3 cannot overflow: n / 4 * 3 < n */
  if (str_ready(out, n / 4 * 3 + 1) < 0) return -1;
  for (i = 0; i < n; i += 4) {
    int v[4], k, pad = 0;
    unsigned long w;
    for (k = 0; k < 4; ++k) {
      unsigned char c = (unsigned char)in[i + k];
      if (c == '=' && i + 4 == n && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad) { /* a character after '=' */
        errno = EINVAL;
        return -1;
      }
      v[k] = b64_value(c);
      if (v[k] < 0) {
        errno = EINVAL;
        return -1;
      }
    }
    w = ((unsigned long)v[0] << 18) | ((unsigned long)v[1] << 12) | ((unsigned long)v[2] << 6) | (unsigned long)v[3];
    if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff))) { /* stray bits */
      errno = EINVAL;
      return -1;
    }
    if (out->len + (size_t)(3 - pad) > max) {
      errno = EINVAL;
      return -1;
    }
    out->s[out->len++] = (char)(w >> 16);
    if (pad < 2) out->s[out->len++] = (char)(w >> 8);
    if (pad < 1) out->s[out->len++] = (char)w;
  }
  return 0;
}

int base64_encode(const char *in, size_t n, str *out)
{
  size_t i, need;

  if (n > ((size_t)-1 - 3) / 4 * 3) {
    errno = ENOMEM;
    return -1;
  }
  need = (n + 2) / 3 * 4;
  if (str_readyplus(out, need) < 0) return -1;
  for (i = 0; i + 3 <= n; i += 3) {
    unsigned long w = ((unsigned long)(unsigned char)in[i] << 16) | ((unsigned long)(unsigned char)in[i + 1] << 8)
                      | (unsigned char)in[i + 2];
    out->s[out->len++] = b64[(w >> 18) & 63];
    out->s[out->len++] = b64[(w >> 12) & 63];
    out->s[out->len++] = b64[(w >> 6) & 63];
    out->s[out->len++] = b64[w & 63];
  }
  if (n - i == 1) {
    unsigned long w = (unsigned long)(unsigned char)in[i] << 16;
    out->s[out->len++] = b64[(w >> 18) & 63];
    out->s[out->len++] = b64[(w >> 12) & 63];
    out->s[out->len++] = '=';
    out->s[out->len++] = '=';
  } else if (n - i == 2) {
    unsigned long w = ((unsigned long)(unsigned char)in[i] << 16) | ((unsigned long)(unsigned char)in[i + 1] << 8);
    out->s[out->len++] = b64[(w >> 18) & 63];
    out->s[out->len++] = b64[(w >> 12) & 63];
    out->s[out->len++] = b64[(w >> 6) & 63];
    out->s[out->len++] = '=';
  }
  return 0;
}

static size_t find_nul(const char *p, size_t n)
{
  size_t i;
  for (i = 0; i < n && p[i]; ++i) {}
  return i;
}

int sasl_user_ok(const char *p, size_t n)
{
  size_t i;
  if (n == 0 || n > SASL_USER_MAX) return 0;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)p[i];
    if (c <= 32 || c == 127) return 0;
  }
  return 1;
}

int sasl_plain_split(const char *p, size_t n, str *user, str *pass)
{
  size_t a, u, pl;
  const char *up, *pp;

  a = find_nul(p, n);
  if (a == n) goto bad;
  up = p + a + 1;
  u = find_nul(up, n - a - 1);
  if (u == n - a - 1) goto bad;
  pp = up + u + 1;
  pl = n - a - 1 - u - 1;
  if (find_nul(pp, pl) != pl) goto bad; /* a third NUL */
  if (!sasl_user_ok(up, u) || pl == 0 || pl > SASL_PASS_MAX) goto bad;
  /* authzid, when given, must be the login itself */
  if (a && (a != u || !byte_equal(p, up, a))) goto bad;
  if (str_copyb(user, up, u) < 0 || str_copyb(pass, pp, pl) < 0) return -1;
  return 0;
bad:
  errno = EINVAL;
  return -1;
}

void sasl_wipe(str *s)
{
  volatile char *v = s->s;
  size_t i;
  for (i = 0; i < s->a && v; ++i) v[i] = 0;
  s->len = 0;
}
