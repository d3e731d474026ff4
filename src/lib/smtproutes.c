/* smtproutes.c: parsing and searching control/smtproutes (see
 * smtproutes.h and sluice-smtproutes(5)). */
#include <errno.h>
#include <string.h>

#include "byte.h"
#include "control.h"
#include "domain.h"
#include "ip.h"
#include "scan.h"
#include "smtproutes.h"

int smtproutes_parse(const char *s, size_t n, size_t *keylen, struct smtproute *route)
{
  size_t colon = byte_chr(s, n, ':');
  size_t i, rlen;
  const char *r;
  unsigned long port = SMTPROUTES_PORT;

  if (colon == n) { errno = EINVAL; return -1; }
  *keylen = colon;
  i = colon + 1;
  r = s + i;
  if (i < n && s[i] == '[') {
    size_t close = byte_chr(s + i, n - i, ']');
    if (close == n - i) { errno = EINVAL; return -1; }
    r = s + i + 1;
    rlen = close - 1;
    i += close + 1;
    if (rlen > 0 && ip6_scan(r, rlen, route->ip) == rlen) route->literal = 6;
    else if (rlen > 0 && ip4_scan(r, rlen, route->ip) == rlen) route->literal = 4;
    else { errno = EINVAL; return -1; }
  } else {
    rlen = byte_chr(s + i, n - i, ':');
    i += rlen;
    if (rlen == 0) route->literal = -1;
    else if (ip4_scan(r, rlen, route->ip) == rlen) route->literal = 4;
    else if (domain_valid(r, rlen)) route->literal = 0;
    else { errno = EINVAL; return -1; }
  }
  if (i < n) {
    if (s[i] != ':') { errno = EINVAL; return -1; }
    ++i;
    if (i < n) {
      if (scan_ulong_exact(s + i, n - i, &port) < 0 || port == 0 || port > 65535) { errno = EINVAL; return -1; }
    }
  }
  if (str_copyb(&route->relay, r, rlen) < 0) return -1;
  route->port = port;
  return 0;
}

/* The key of one line compared with key[0..klen): 1 equal. A key of
 * ".x" is compared as written; domain_equal ignores case and a
 * trailing dot. */
static int key_equal(const char *line, size_t linekey, const char *key, size_t klen)
{
  if (klen == 0) return linekey == 0;
  if (linekey == 0) return 0;
  return domain_equal(line, linekey, key, klen);
}

int smtproutes_find(const str *list, const char *domain, size_t len, struct smtproute *route)
{
  size_t pos = 0, i;
  const char *e;
  size_t n, kl;
  struct smtproute scratch = SMTPROUTE_INIT;

  /* check every line first: a typo is reported, never skipped */
  while (control_next(list, &pos, &e, &n)) {
    if (smtproutes_parse(e, n, &kl, &scratch) < 0) { smtproute_free(&scratch); errno = EINVAL; return -1; }
  }
  smtproute_free(&scratch);
  if (len > 0 && domain[len - 1] == '.') --len; /* one trailing dot */

  /* i = 0: the domain; each '.': the suffix from it; i = len: "" */
  for (i = 0; i <= len; ++i) {
    if (i != 0 && i != len && domain[i] != '.') continue;
    if (i == 0 && len == 0) continue; /* empty domain: only the "" pass */
    pos = 0;
    while (control_next(list, &pos, &e, &n)) {
      kl = byte_chr(e, n, ':');
      if (!key_equal(e, kl, domain + i, len - i)) continue;
      if (smtproutes_parse(e, n, &kl, route) < 0) return -1;
      return 1;
    }
  }
  return 0;
}

void smtproute_free(struct smtproute *route) { str_free(&route->relay); }
