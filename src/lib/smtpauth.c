/* smtpauth.c: parsing and searching control/smtpauth, and the SASL
 * encodings of AUTH PLAIN and LOGIN (see smtpauth.h). */
#include <errno.h>
#include <string.h>

#include "byte.h"
#include "control.h"
#include "domain.h"
#include "scan.h"
#include "smtpauth.h"

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* The length of the key of line s[0..n): up to the first white space. */
static size_t key_len(const char *s, size_t n)
{
  size_t i = 0;
  while (i < n && !is_space(s[i])) ++i;
  return i;
}

/* Splits a key k[0..n) into its name (brackets removed) and port (0:
 * none). *relay is 1 for a bracketed key. 0, or -1 when malformed. */
static int key_split(const char *k, size_t n, const char **name, size_t *nlen, int *relay, unsigned long *port)
{
  *port = 0;
  if (n == 0) return -1;
  if (k[0] != '[') {
    if (byte_chr(k, n, ':') < n || byte_chr(k, n, '[') < n || byte_chr(k, n, ']') < n) return -1;
    *name = k;
    *nlen = n;
    *relay = 0;
    return 0;
  }
  {
    size_t close = byte_chr(k, n, ']');
    if (close == n || close < 2) return -1;
    *name = k + 1;
    *nlen = close - 1;
    *relay = 1;
    if (close + 1 == n) return 0;
    if (k[close + 1] != ':') return -1;
    if (scan_ulong_exact(k + close + 2, n - close - 2, port) < 0 || *port < 1 || *port > 65535) return -1;
  }
  return 0;
}

/* One option o[0..n) into *a; -1 when unknown. */
static int option(const char *o, size_t n, struct smtpauth *a)
{
  static const struct { const char *name; int tls, mech; } opts[] = {
    { "tls=verify", SMTPAUTH_TLS_VERIFY, -1 },
    { "tls=encrypt", SMTPAUTH_TLS_ENCRYPT, -1 },
    { "tls=none", SMTPAUTH_TLS_NONE, -1 },
    { "auth=plain", -1, SMTPAUTH_MECH_PLAIN },
    { "auth=login", -1, SMTPAUTH_MECH_LOGIN },
  };
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; ++i)
    if (n == strlen(opts[i].name) && case_equalb(o, n, opts[i].name, n)) {
      if (opts[i].tls >= 0) a->tls = opts[i].tls;
      if (opts[i].mech >= 0) a->mech = opts[i].mech;
      return 0;
    }
  return -1;
}

int smtpauth_parse(const char *s, size_t n, size_t *keylen, struct smtpauth *a)
{
  size_t k = key_len(s, n), i, f, colon;
  const char *name;
  size_t nlen;
  int relay;
  unsigned long port;

  if (byte_chr(s, n, 0) < n || key_split(s, k, &name, &nlen, &relay, &port) < 0) goto bad;
  *keylen = k;
  a->tls = SMTPAUTH_TLS_VERIFY;
  a->mech = SMTPAUTH_MECH_ANY;
  i = k;
  while (i < n && is_space(s[i])) ++i;
  f = key_len(s + i, n - i); /* the next field */
  if (f == 0) goto bad;
  if (byte_chr(s + i, f, ':') == f) {
    /* options */
    size_t p = i, end = i + f;
    while (p < end) {
      size_t o = byte_chr(s + p, end - p, ',');
      if (o == 0 || option(s + p, o, a) < 0) goto bad;
      p += o;
      if (p < end) {
        ++p;
        if (p == end) goto bad; /* a trailing comma */
      }
    }
    i = end;
    while (i < n && is_space(s[i])) ++i;
  }
  /* the credentials: s[i..n) */
  colon = byte_chr(s + i, n - i, ':');
  if (colon == n - i || colon == 0 || colon > SMTPAUTH_FIELD_MAX) goto bad;
  for (size_t j = i; j < i + colon; ++j)
    if (is_space(s[j])) goto bad;
  if (n - i - colon - 1 == 0 || n - i - colon - 1 > SMTPAUTH_FIELD_MAX) goto bad;
  if (str_copyb(&a->login, s + i, colon) < 0) return -1;
  if (str_copyb(&a->password, s + i + colon + 1, n - i - colon - 1) < 0) return -1;
  return 0;
bad:
  errno = EINVAL;
  return -1;
}

/* The first line whose key is relay (bracketed) or domain name[0..len)
 * with port (relay keys; 0: a key without a port). 1 found, 0 not, -1
 * on a parse failure. */
static int lookup(const str *list, int want_relay, const char *key, size_t klen, unsigned long want_port,
                  struct smtpauth *a)
{
  size_t pos = 0, n, kl, nlen;
  const char *e, *name;
  int relay;
  unsigned long port;
  while (control_next(list, &pos, &e, &n)) {
    kl = key_len(e, n);
    if (key_split(e, kl, &name, &nlen, &relay, &port) < 0) return -1;
    if (relay != want_relay || port != want_port || !domain_equal(name, nlen, key, klen)) continue;
    if (smtpauth_parse(e, n, &kl, a) < 0) return -1;
    return 1;
  }
  return 0;
}

int smtpauth_find(const str *list, const char *relay, size_t rlen, unsigned long port, const char *domain, size_t dlen,
                  struct smtpauth *a)
{
  struct smtpauth scratch = SMTPAUTH_INIT;
  size_t pos = 0, n, kl;
  const char *e;
  int r = 0;

  while (control_next(list, &pos, &e, &n))
    if (smtpauth_parse(e, n, &kl, &scratch) < 0) {
      smtpauth_free(&scratch);
      errno = EINVAL;
      return -1;
    }
  smtpauth_free(&scratch);
  str_truncate(&a->login, 0);
  str_truncate(&a->password, 0);
  if (rlen > 0) {
    r = lookup(list, 1, relay, rlen, port, a);
    if (r == 0) r = lookup(list, 1, relay, rlen, 0, a);
  }
  if (r == 0 && dlen > 0) r = lookup(list, 0, domain, dlen, 0, a);
  if (r < 0) errno = EINVAL;
  return r;
}

int smtpauth_base64(str *out, const char *s, size_t n)
{
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i;
  str_truncate(out, 0);
  if (n / 3 >= ((size_t)-1) / 4 - 1) { errno = ENOMEM; return -1; }
  if (str_ready(out, (n / 3 + 1) * 4) < 0) return -1;
  for (i = 0; i + 3 <= n; i += 3) {
    unsigned long v = (unsigned long)(unsigned char)s[i] << 16 | (unsigned long)(unsigned char)s[i + 1] << 8
                      | (unsigned char)s[i + 2];
    out->s[out->len++] = b64[v >> 18 & 63];
    out->s[out->len++] = b64[v >> 12 & 63];
    out->s[out->len++] = b64[v >> 6 & 63];
    out->s[out->len++] = b64[v & 63];
  }
  if (i < n) {
    unsigned long v = (unsigned long)(unsigned char)s[i] << 16;
    if (i + 1 < n) v |= (unsigned long)(unsigned char)s[i + 1] << 8;
    out->s[out->len++] = b64[v >> 18 & 63];
    out->s[out->len++] = b64[v >> 12 & 63];
    out->s[out->len++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
    out->s[out->len++] = '=';
  }
  return 0;
}

int smtpauth_plain(str *out, const struct smtpauth *a)
{
  str clear = STR_INIT;
  int r = -1;
  /* sized once, so that no reallocation leaves a copy in freed memory */
  if (str_ready(&clear, a->login.len + a->password.len + 2) == 0 && str_catc(&clear, 0) == 0
      && str_cat(&clear, &a->login) == 0 && str_catc(&clear, 0) == 0 && str_cat(&clear, &a->password) == 0)
    r = smtpauth_base64(out, clear.s, clear.len);
  str_free(&clear); /* clears */
  return r;
}

void smtpauth_free(struct smtpauth *a)
{
  str_free(&a->login);
  str_free(&a->password);
}
