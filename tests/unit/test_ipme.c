/* test_ipme.c: the address set of ipme.h: entries, prefixes, IPv4 as
 * mapped IPv6, exceptions, and this host's own addresses. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "ip.h"
#include "ipme.h"
#include "str.h"

static int scan(const char *s, struct ipme_range *r)
{
  return ipme_range_scan(s, strlen(s), r);
}

/* is4/is6: the text address is in m */
static int is4(const struct ipme *m, const char *s)
{
  unsigned char ip[4];
  if (ip4_scan(s, strlen(s), ip) != strlen(s)) return -1;
  return ipme_is(m, 4, ip);
}

static int is6(const struct ipme *m, const char *s)
{
  unsigned char ip[16];
  if (ip6_scan(s, strlen(s), ip) != strlen(s)) return -1;
  return ipme_is(m, 6, ip);
}

/* builds a list like control_readlist from lines separated by '|' */
static void list(str *l, const char *lines)
{
  str_truncate(l, 0);
  for (const char *p = lines; *p; ++p) str_catc(l, *p == '|' ? 0 : *p);
  str_catc(l, 0);
}

int main(void)
{
  struct ipme m = IPME_INIT, h = IPME_INIT;
  struct ipme_range r;
  str l = STR_INIT;
  const char *bad = 0;

  /* entries */
  CHECK(scan("192.0.2.7", &r) == 0);
  CHECK(r.len == 128 && r.not == 0 && r.ip[10] == 0xff && r.ip[11] == 0xff && r.ip[12] == 192 && r.ip[15] == 7);
  CHECK(scan("192.0.2.7/24", &r) == 0);
  CHECK(r.len == 120 && r.ip[14] == 2 && r.ip[15] == 0); /* bits past the prefix dropped */
  CHECK(scan("0.0.0.0/0", &r) == 0 && r.len == 96);
  CHECK(scan("2001:db8::25", &r) == 0 && r.len == 128 && r.ip[0] == 0x20 && r.ip[15] == 0x25);
  CHECK(scan("2001:db8::/32", &r) == 0 && r.len == 32);
  CHECK(scan("2001:db8:ffff::/33", &r) == 0 && r.len == 33 && r.ip[4] == 0x80 && r.ip[5] == 0);
  CHECK(scan("::/0", &r) == 0 && r.len == 0);
  CHECK(scan("192.0.2.7/33", &r) < 0);
  CHECK(scan("::1/129", &r) < 0);
  CHECK(scan("192.0.2.7/", &r) < 0);
  CHECK(scan("192.0.2.7/8x", &r) < 0);
  CHECK(scan("192.0.2.7 ", &r) < 0);
  CHECK(scan("192.0.2", &r) < 0);
  CHECK(scan("mail.example.org", &r) < 0);
  CHECK(scan("[::1]", &r) < 0);
  CHECK(scan("", &r) < 0);
  CHECK(scan("/8", &r) < 0);

  /* matching: single addresses, prefixes, IPv4 against mapped IPv6 */
  list(&l, "192.0.2.7|198.51.100.0/24|2001:db8:1::/48|10.1.2.3/15");
  CHECK(ipme_add_list(&m, &l, 0, &bad) == 0);
  CHECK(is4(&m, "192.0.2.7") == 1);
  CHECK(is4(&m, "192.0.2.8") == 0);
  CHECK(is4(&m, "192.0.2.6") == 0);
  CHECK(is4(&m, "198.51.100.0") == 1);
  CHECK(is4(&m, "198.51.100.255") == 1);
  CHECK(is4(&m, "198.51.101.1") == 0);
  CHECK(is4(&m, "10.0.0.1") == 1);   /* 10.0.0.0/15: 10.0 and 10.1 */
  CHECK(is4(&m, "10.1.255.255") == 1);
  CHECK(is4(&m, "10.2.0.0") == 0);
  CHECK(is6(&m, "::ffff:192.0.2.7") == 1); /* a mapped AAAA is the IPv4 address */
  CHECK(is6(&m, "::192.0.2.7") == 0);      /* the old "compatible" form is not */
  CHECK(is6(&m, "2001:db8:1:ffff::1") == 1);
  CHECK(is6(&m, "2001:db8:2::1") == 0);
  CHECK(is6(&m, "::1") == 0);              /* nothing of the host in m */
  CHECK(is4(&m, "127.0.0.1") == 0);

  /* exceptions win, in whatever order they come */
  list(&l, "198.51.100.128/25|192.0.2.7");
  CHECK(ipme_add_list(&m, &l, 1, &bad) == 0);
  CHECK(is4(&m, "198.51.100.127") == 1);
  CHECK(is4(&m, "198.51.100.128") == 0);
  CHECK(is4(&m, "192.0.2.7") == 0);
  list(&l, "192.0.2.7");
  CHECK(ipme_add_list(&m, &l, 0, &bad) == 0); /* added again after the exception */
  CHECK(is4(&m, "192.0.2.7") == 0);

  /* a malformed entry: EINVAL, and which one */
  list(&l, "192.0.2.9|not-an-address|192.0.2.10");
  bad = 0;
  CHECK(ipme_add_list(&m, &l, 0, &bad) < 0 && errno == EINVAL);
  CHECK(bad && strcmp(bad, "not-an-address") == 0);
  CHECK(is4(&m, "192.0.2.9") == 1);
  CHECK(is4(&m, "192.0.2.10") == 0);
  /* an empty list adds nothing */
  str_truncate(&l, 0);
  CHECK(ipme_add_list(&m, &l, 0, &bad) == 0);

  /* this host: wildcards, loopback, the interfaces */
  CHECK(ipme_add_host(&h) == 0);
  CHECK(is4(&h, "127.0.0.1") == 1);
  CHECK(is4(&h, "127.0.0.2") == 1);
  CHECK(is4(&h, "127.255.255.254") == 1);
  CHECK(is4(&h, "0.0.0.0") == 1);
  CHECK(is6(&h, "::") == 1);
  CHECK(is6(&h, "::1") == 1);
  CHECK(is6(&h, "::ffff:127.0.0.1") == 1);
  CHECK(is4(&h, "128.0.0.1") == 0);
  CHECK(is4(&h, "0.0.0.1") == 0);
  CHECK(is4(&h, "192.0.2.255") == 0);    /* no host has the broadcast address of TEST-NET-1 */
  CHECK(is4(&h, "203.0.113.254") == 0);
  CHECK(is6(&h, "2001:db8:ffff::fe") == 0);
  CHECK(h.n >= 4); /* the fixed four, then the interfaces (none in a bare namespace) */
  /* notipme removes one loopback address, the rest stay */
  list(&l, "127.0.0.2");
  CHECK(ipme_add_list(&h, &l, 1, &bad) == 0);
  CHECK(is4(&h, "127.0.0.2") == 0);
  CHECK(is4(&h, "127.0.0.1") == 1);
  CHECK(is4(&h, "127.0.0.3") == 1);

  ipme_free(&m);
  ipme_free(&h);
  CHECK(m.n == 0 && m.r == 0);
  str_free(&l);
  return check_done();
}
