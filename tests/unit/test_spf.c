/* test_spf.c: the SPF macro expansions of RFC 7208 7.4, record syntax
 * (spf_record_check), and spf_check over a table of records (fake
 * lookups): mechanisms, qualifiers, include, redirect, the limits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "dns.h"
#include "ip.h"
#include "spf.h"
#include "str.h"

static struct spf_request req4, req6;

static void expands(const struct spf_request *r, const char *in, const char *want)
{
  str out = STR_INIT;
  int ok = spf_macro_expand(&out, in, strlen(in), r, "email.example.com", 17) == 0;
  CHECK(ok);
  if (ok) CHECK(out.len == strlen(want) && memcmp(out.s, want, out.len) == 0);
  if (ok && !(out.len == strlen(want) && memcmp(out.s, want, out.len) == 0)) {
    check_outs("  got: ");
    check_out(out.s, out.len);
    check_outs("\n");
  }
  str_free(&out);
}

static void bad_macro(const char *in)
{
  str out = STR_INIT;
  CHECK(spf_macro_expand(&out, in, strlen(in), &req4, "d.test", 6) == -1 && errno == EINVAL);
  str_free(&out);
}

/* ---- a table of records for spf_check ---- */
struct rec {
  const char *name, *txt, *a;
};
static const struct rec table[] = {
  { "t.test", "v=spf1 ip4:192.0.2.0/24 -all", 0 },
  { "inc.test", "v=spf1 include:t.test ~all", 0 },
  { "red.test", "v=spf1 redirect=t.test", 0 },
  { "loop.test", "v=spf1 include:loop.test -all", 0 },
  { "host.test", 0, "192.0.2.77" },
  { "a.test", "v=spf1 a:host.test -all", 0 },
  { "void.test", "v=spf1 a:n1.test a:n2.test a:n3.test +all", 0 },
  { "exp.test", "v=spf1 -all exp=explain.%{d}", 0 },
  { "upper.test", "V=SPF1 IP4:192.0.2.1 -ALL", 0 },
  { "spf2.test", "v=spf10 +all", 0 },
};
static unsigned lookups;

static const struct rec *find(const char *name, size_t len)
{
  size_t i;
  for (i = 0; i < sizeof table / sizeof table[0]; ++i)
    if (strlen(table[i].name) == len && memcmp(table[i].name, name, len) == 0) return &table[i];
  return 0;
}

static int f_txt(void *ctx, const char *name, size_t len, struct dns_txtlist *out)
{
  const struct rec *r = find(name, len);
  (void)ctx;
  ++lookups;
  out->txt = 0;
  out->n = 0;
  if (!r) { errno = ENOENT; return -1; }
  if (!r->txt) return 0;
  out->txt = calloc(1, sizeof *out->txt);
  if (!out->txt || str_copys(&out->txt[0], r->txt) < 0) return -1;
  out->n = 1;
  return 0;
}

static int f_addr(void *ctx, const char *name, size_t len, int family, struct dns_iplist *out)
{
  const struct rec *r = find(name, len);
  (void)ctx;
  ++lookups;
  out->ip = 0;
  out->n = 0;
  if (!r) { errno = ENOENT; return -1; }
  if (!r->a || family != AF_INET) return 0;
  out->ip = calloc(1, sizeof *out->ip);
  if (!out->ip) return -1;
  out->ip[0].family = AF_INET;
  ip4_scan(r->a, strlen(r->a), out->ip[0].ip);
  out->n = 1;
  return 0;
}

static int f_mx(void *ctx, const char *name, size_t len, struct dns_mxlist *out)
{
  (void)ctx; (void)name; (void)len;
  ++lookups;
  out->mx = 0;
  out->n = 0;
  out->nullmx = 0;
  errno = ENOENT;
  return -1;
}

static int f_ptr(void *ctx, int family, const unsigned char *ip, str *name)
{
  (void)ctx; (void)family; (void)ip; (void)name;
  ++lookups;
  errno = ENOENT;
  return -1;
}

static enum spf_result run(const char *ip, const char *domain)
{
  struct spf_dns d = { 0, f_txt, f_addr, f_mx, f_ptr };
  struct spf_request r = req4;
  ip4_scan(ip, strlen(ip), r.ip);
  r.domain = domain;
  r.domain_len = strlen(domain);
  lookups = 0;
  return spf_check(&d, &r);
}

int main(void)
{
  static const char sender[] = "strong-bad@email.example.com";
  memset(&req4, 0, sizeof req4);
  req4.family = AF_INET;
  ip4_scan("192.0.2.3", 9, req4.ip);
  req4.sender = sender;
  req4.sender_len = sizeof sender - 1;
  req4.helo = "mx.example.org";
  req4.helo_len = 14;
  req6 = req4;
  req6.family = AF_INET6;
  ip6_scan("2001:db8::cb01", 14, req6.ip);

  /* RFC 7208 7.4 */
  expands(&req4, "%{s}", "strong-bad@email.example.com");
  expands(&req4, "%{o}", "email.example.com");
  expands(&req4, "%{d}", "email.example.com");
  expands(&req4, "%{d4}", "email.example.com");
  expands(&req4, "%{d3}", "email.example.com");
  expands(&req4, "%{d2}", "example.com");
  expands(&req4, "%{d1}", "com");
  expands(&req4, "%{dr}", "com.example.email");
  expands(&req4, "%{d2r}", "example.email");
  expands(&req4, "%{l}", "strong-bad");
  expands(&req4, "%{l-}", "strong.bad");
  expands(&req4, "%{lr}", "strong-bad");
  expands(&req4, "%{lr-}", "bad.strong");
  expands(&req4, "%{l1r-}", "strong");
  expands(&req4, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com");
  expands(&req4, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com");
  expands(&req4, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
  expands(&req4, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com");
  expands(&req4, "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net");
  expands(&req6, "%{ir}.%{v}._spf.%{d2}",
          "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
  expands(&req4, "%%%_%-", "% %20");
  expands(&req4, "%{S}", "strong-bad%40email.example.com");
  expands(&req4, "%{h}", "mx.example.org");
  expands(&req4, "%{p}", "unknown");
  bad_macro("%");
  bad_macro("%x");
  bad_macro("%{");
  bad_macro("%{x}");
  bad_macro("%{d0}");
  bad_macro("%{c}");
  bad_macro("%{d2!}");
  bad_macro("a b");

  /* syntax */
  CHECK(spf_record_check("v=spf1", 6, &req4) == 0);
  CHECK(spf_record_check("v=spf1 -all", 11, &req4) == 0);
  CHECK(spf_record_check("v=spf1 a/24//64 mx:x.test/30 ip6:::1/128 ?all", 45, &req4) == 0);
  CHECK(spf_record_check("v=spf1 a/33", 11, &req4) == -1);
  CHECK(spf_record_check("v=spf1 ip4:1.2.3.4/", 19, &req4) == -1);
  CHECK(spf_record_check("v=spf1 include", 14, &req4) == -1);
  CHECK(spf_record_check("v=spf1 include:nodot", 20, &req4) == -1);
  CHECK(spf_record_check("v=spf1 redirect=a.test redirect=b.test", 38, &req4) == -1);
  CHECK(spf_record_check("v=spf1 -redirect=a.test", 23, &req4) == -1);
  CHECK(spf_record_check("v=spf1 unknown-mod=x", 20, &req4) == 0);
  CHECK(spf_record_check("v=spf1 all:x", 12, &req4) == -1);
  CHECK(spf_record_check("v=spf1 ip4:01.2.3.4", 19, &req4) == -1);

  /* evaluation */
  CHECK(run("192.0.2.9", "t.test") == SPF_PASS);
  CHECK(run("198.51.100.1", "t.test") == SPF_FAIL);
  CHECK(run("192.0.2.9", "inc.test") == SPF_PASS);
  CHECK(run("198.51.100.1", "inc.test") == SPF_SOFTFAIL);
  CHECK(run("198.51.100.1", "red.test") == SPF_FAIL);
  CHECK(run("192.0.2.1", "loop.test") == SPF_PERMERROR);
  CHECK(lookups <= 12);
  CHECK(run("192.0.2.77", "a.test") == SPF_PASS);
  CHECK(run("192.0.2.78", "a.test") == SPF_FAIL);
  CHECK(run("192.0.2.1", "void.test") == SPF_PERMERROR);
  CHECK(run("192.0.2.1", "exp.test") == SPF_FAIL);
  CHECK(run("192.0.2.1", "upper.test") == SPF_PASS);
  CHECK(run("192.0.2.1", "spf2.test") == SPF_NONE);
  CHECK(run("192.0.2.1", "missing.test") == SPF_NONE);
  CHECK(run("192.0.2.1", "single") == SPF_NONE);
  CHECK(!strcmp(spf_result_name(SPF_SOFTFAIL), "softfail"));
  return check_done();
}
