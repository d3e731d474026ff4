/* tlspolicy.c: parsing and searching control/tlsdestinations (see
 * tlspolicy.h and sluice-control(5)). */
#include <errno.h>
#include <string.h>

#include "byte.h"
#include "control.h"
#include "domain.h"
#include "tlspolicy.h"

static const char *const names[] = { "none", "may", "encrypt", "verify" };

const char *tlspolicy_name(int level)
{
  return level >= 0 && level <= TLSPOLICY_VERIFY ? names[level] : "?";
}

/* The length of the key of line s[0..n): up to the first ':', or for a
 * line starting with '[' up to and including the matching ']'; n + 1
 * when the key is not closed. */
static size_t key_len(const char *s, size_t n)
{
  if (n > 0 && s[0] == '[') {
    size_t close = byte_chr(s, n, ']');
    return close == n ? n + 1 : close + 1;
  }
  return byte_chr(s, n, ':');
}

int tlspolicy_parse(const char *s, size_t n, size_t *keylen, struct tlspolicy *p)
{
  size_t k = key_len(s, n), i, lv;
  int level = -1;

  if (k >= n || s[k] != ':' || byte_chr(s, n, 0) < n) { errno = EINVAL; return -1; }
  if (k == 2 && s[0] == '[') { errno = EINVAL; return -1; } /* "[]" */
  *keylen = k;
  i = k + 1;
  lv = byte_chr(s + i, n - i, ':');
  for (int l = 0; l <= TLSPOLICY_VERIFY; ++l)
    if (lv == strlen(names[l]) && !memcmp(s + i, names[l], lv)) level = l;
  if (level < 0) { errno = EINVAL; return -1; }
  i += lv;
  str_truncate(&p->cafile, 0);
  if (i < n) {
    ++i; /* the ':' */
    if (i == n) { errno = EINVAL; return -1; }
    if (str_copyb(&p->cafile, s + i, n - i) < 0) return -1;
  }
  p->level = level;
  return 0;
}

/* The first line whose key is key[0..klen) (compared as a domain:
 * case and a trailing dot ignored; "" only equals ""). 1 found, 0 not,
 * -1 on a parse failure. */
static int lookup(const str *list, const char *key, size_t klen, struct tlspolicy *p)
{
  size_t pos = 0, n, kl;
  const char *e;
  while (control_next(list, &pos, &e, &n)) {
    kl = key_len(e, n);
    if (kl > n) continue;
    if (klen == 0 ? kl != 0 : (kl == 0 || !domain_equal(e, kl, key, klen))) continue;
    if (tlspolicy_parse(e, n, &kl, p) < 0) return -1;
    return 1;
  }
  return 0;
}

int tlspolicy_find(const str *list, const char *relay, size_t rlen, const char *domain, size_t dlen,
                   struct tlspolicy *p)
{
  struct tlspolicy scratch = TLSPOLICY_INIT;
  size_t pos = 0, n, kl, i;
  const char *e;
  int r;

  while (control_next(list, &pos, &e, &n))
    if (tlspolicy_parse(e, n, &kl, &scratch) < 0) { tlspolicy_free(&scratch); errno = EINVAL; return -1; }
  tlspolicy_free(&scratch);
  p->level = TLSPOLICY_MAY;
  str_truncate(&p->cafile, 0);

  if (rlen > 0) {
    str k = STR_INIT;
    if (str_catc(&k, '[') < 0 || str_catb(&k, relay, rlen) < 0 || str_catc(&k, ']') < 0) { str_free(&k); return -1; }
    r = lookup(list, k.s, k.len, p);
    str_free(&k);
    if (r != 0) return r;
  }
  if (dlen > 0 && domain[dlen - 1] == '.') --dlen;
  /* i = 0: the domain; each '.': the suffix from it; i = dlen: "" */
  for (i = 0; i <= dlen; ++i) {
    if (i != 0 && i != dlen && domain[i] != '.') continue;
    if (i == 0 && dlen == 0) continue;
    if (i == dlen) r = lookup(list, "", 0, p);
    else r = lookup(list, domain + i, dlen - i, p);
    if (r != 0) return r;
  }
  p->level = TLSPOLICY_MAY;
  str_truncate(&p->cafile, 0);
  return 0;
}

void tlspolicy_free(struct tlspolicy *p) { str_free(&p->cafile); }
