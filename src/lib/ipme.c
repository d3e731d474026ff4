/* ipme.c: the addresses of this host (ipme.h).
 *
 * The set is a plain array searched from end to end: a host has a
 * handful of addresses and a delivery asks about a few dozen at most,
 * so nothing better pays for itself. */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "byte.h"
#include "control.h"
#include "ip.h"
#include "ipme.h"
#include "scan.h"
#include "size.h"

/* ip6 = the IPv4-mapped form of ip4 */
static void map4(unsigned char ip6[16], const unsigned char ip4[4])
{
  memset(ip6, 0, 10);
  ip6[10] = 0xff;
  ip6[11] = 0xff;
  memcpy(ip6 + 12, ip4, 4);
}

/* Clears the bits of ip past the first len. */
static void mask(unsigned char ip[16], unsigned len)
{
  for (unsigned i = 0; i < 16; ++i) {
    if (len >= 8 * (i + 1)) continue;
    if (len <= 8 * i) ip[i] = 0;
    else ip[i] &= (unsigned char)(0xff << (8 - (len - 8 * i)));
  }
}

/* 1 when the first len bits of a and b are equal. */
static int prefix_equal(const unsigned char *a, const unsigned char *b, unsigned len)
{
  unsigned whole = len / 8, rest = len % 8;
  if (memcmp(a, b, whole) != 0) return 0;
  if (rest == 0) return 1;
  return ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int ipme_range_scan(const char *s, size_t n, struct ipme_range *out)
{
  size_t slash = byte_chr(s, n, '/'), used;
  unsigned char ip[16], ip4[4];
  unsigned max, len;

  used = ip4_scan(s, slash, ip4);
  if (used > 0 && used == slash) {
    map4(ip, ip4);
    max = 32;
  } else {
    used = ip6_scan(s, slash, ip);
    if (used == 0 || used != slash) { errno = EINVAL; return -1; }
    max = 128;
  }
  len = max;
  if (slash < n) {
    unsigned long u;
    if (scan_ulong_exact(s + slash + 1, n - slash - 1, &u) < 0 || u > max) { errno = EINVAL; return -1; }
    len = (unsigned)u;
  }
  if (max == 32) len += 96;
  memset(out, 0, sizeof *out);
  memcpy(out->ip, ip, 16);
  mask(out->ip, len);
  out->len = len;
  return 0;
}

int ipme_add(struct ipme *m, const struct ipme_range *r)
{
  if (m->n == m->a) {
    size_t want = m->a ? m->a : 16, bytes;
    struct ipme_range *grown;
    if (m->a && size_mul(&want, m->a, 2) < 0) return -1;
    if (size_mul(&bytes, want, sizeof *grown) < 0) return -1;
    grown = realloc(m->r, bytes);
    if (!grown) { errno = ENOMEM; return -1; }
    m->r = grown;
    m->a = want;
  }
  m->r[m->n++] = *r;
  return 0;
}

int ipme_add_list(struct ipme *m, const str *list, int not, const char **bad)
{
  size_t pos = 0, len;
  const char *e;
  while (control_next(list, &pos, &e, &len)) {
    struct ipme_range r;
    if (ipme_range_scan(e, len, &r) < 0) { *bad = e; return -1; }
    r.not = not ? 1 : 0;
    if (ipme_add(m, &r) < 0) return -1;
  }
  return 0;
}

/* Adds the text entry s (a constant of this file: it is well formed). */
static int add_text(struct ipme *m, const char *s)
{
  struct ipme_range r;
  if (ipme_range_scan(s, strlen(s), &r) < 0) return -1;
  return ipme_add(m, &r);
}

int ipme_add_host(struct ipme *m)
{
  static const char *const fixed[] = { "0.0.0.0", "::", "127.0.0.0/8", "::1" };
  struct ifaddrs *all, *i;
  int rc = 0;

  for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; ++k)
    if (add_text(m, fixed[k]) < 0) return -1;
  if (getifaddrs(&all) < 0) return -1;
  for (i = all; i && rc == 0; i = i->ifa_next) {
    struct ipme_range r;
    if (!i->ifa_addr) continue;
    memset(&r, 0, sizeof r);
    if (i->ifa_addr->sa_family == AF_INET) {
      map4(r.ip, (const unsigned char *)&((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      memcpy(r.ip, &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    r.len = 128;
    rc = ipme_add(m, &r);
  }
  freeifaddrs(all);
  return rc;
}

int ipme_is(const struct ipme *m, int family, const unsigned char *ip)
{
  unsigned char a[16];
  int in = 0;
  if (family == 4) map4(a, ip);
  else memcpy(a, ip, 16);
  for (size_t k = 0; k < m->n; ++k) {
    if (!prefix_equal(a, m->r[k].ip, m->r[k].len)) continue;
    if (m->r[k].not) return 0;
    in = 1;
  }
  return in;
}

void ipme_free(struct ipme *m)
{
  free(m->r);
  m->r = 0;
  m->n = m->a = 0;
}
