/* test_tlspolicy.c: tlspolicy_parse and tlspolicy_find (control/
 * tlsdestinations), and starttls_report_parse (sluice-tlsc's report). */
#include <string.h>

#include "check.h"
#include "starttls.h"
#include "str.h"
#include "tlspolicy.h"

static int parse(const char *line, size_t *kl, struct tlspolicy *p)
{
  return tlspolicy_parse(line, strlen(line), kl, p);
}

/* builds a list like control_readlist from lines separated by '|' */
static void list(str *l, const char *lines)
{
  str_truncate(l, 0);
  for (const char *p = lines; *p; ++p) str_catc(l, *p == '|' ? 0 : *p);
  str_catc(l, 0);
}

static int find(const str *l, const char *relay, const char *domain, struct tlspolicy *p)
{
  return tlspolicy_find(l, relay, relay ? strlen(relay) : 0, domain, strlen(domain), p);
}

static int report(const char *s, struct starttls_info *i)
{
  return starttls_report_parse(s, strlen(s), i);
}

int main(void)
{
  struct tlspolicy p = TLSPOLICY_INIT;
  struct starttls_info in = STARTTLS_INFO_INIT;
  str l = STR_INIT;
  size_t kl = 99;

  CHECK(parse("example.org:verify", &kl, &p) == 0);
  CHECK(kl == 11 && p.level == TLSPOLICY_VERIFY && p.cafile.len == 0);
  CHECK(parse("example.org:verify:/etc/x:y.pem", &kl, &p) == 0);
  CHECK_BYTES(p.cafile.s, p.cafile.len, "/etc/x:y.pem");
  CHECK(parse(":none", &kl, &p) == 0);
  CHECK(kl == 0 && p.level == TLSPOLICY_NONE && p.cafile.len == 0);
  CHECK(parse(".example.net:encrypt", &kl, &p) == 0);
  CHECK(kl == 12 && p.level == TLSPOLICY_ENCRYPT);
  CHECK(parse("[::1]:may", &kl, &p) == 0);
  CHECK(kl == 5 && p.level == TLSPOLICY_MAY);
  CHECK(parse("[relay.example]:verify:ca.pem", &kl, &p) == 0);
  CHECK(kl == 15 && p.level == TLSPOLICY_VERIFY);
  CHECK_BYTES(p.cafile.s, p.cafile.len, "ca.pem");
  /* malformed */
  CHECK(parse("example.org", &kl, &p) < 0);
  CHECK(parse("example.org:", &kl, &p) < 0);
  CHECK(parse("example.org:secure", &kl, &p) < 0);
  CHECK(parse("example.org:Verify", &kl, &p) < 0);
  CHECK(parse("example.org:verify:", &kl, &p) < 0);
  CHECK(parse("[::1:may", &kl, &p) < 0);
  CHECK(parse("[::1]may", &kl, &p) < 0);
  CHECK(parse("[]:may", &kl, &p) < 0);
  CHECK(tlspolicy_parse("x:may\0", 6, &kl, &p) < 0);
  CHECK(!strcmp(tlspolicy_name(TLSPOLICY_ENCRYPT), "encrypt"));

  /* matching order: [relay], exact, suffixes from the longest, "" */
  list(&l, ":encrypt|.org:none|.example.org:may|a.example.org:verify:a.pem|a.example.org:none|[hub.example]:verify|[::1]:none");
  CHECK(find(&l, 0, "a.example.org", &p) == 1);
  CHECK(p.level == TLSPOLICY_VERIFY);
  CHECK_BYTES(p.cafile.s, p.cafile.len, "a.pem");
  CHECK(find(&l, 0, "A.Example.ORG.", &p) == 1 && p.level == TLSPOLICY_VERIFY);
  CHECK(find(&l, 0, "b.example.org", &p) == 1 && p.level == TLSPOLICY_MAY && p.cafile.len == 0);
  CHECK(find(&l, 0, "example.org", &p) == 1 && p.level == TLSPOLICY_NONE);
  CHECK(find(&l, 0, "other.net", &p) == 1 && p.level == TLSPOLICY_ENCRYPT);
  CHECK(find(&l, "hub.example", "a.example.org", &p) == 1 && p.level == TLSPOLICY_VERIFY && p.cafile.len == 0);
  CHECK(find(&l, "HUB.example", "x.net", &p) == 1 && p.level == TLSPOLICY_VERIFY);
  CHECK(find(&l, "::1", "x.net", &p) == 1 && p.level == TLSPOLICY_NONE);
  CHECK(find(&l, "other.relay", "a.example.org", &p) == 1 && p.level == TLSPOLICY_VERIFY); /* falls back */
  /* no line: may */
  list(&l, "example.org:none");
  CHECK(find(&l, 0, "other.net", &p) == 0 && p.level == TLSPOLICY_MAY && p.cafile.len == 0);
  str_truncate(&l, 0);
  CHECK(find(&l, 0, "other.net", &p) == 0 && p.level == TLSPOLICY_MAY);
  /* a malformed line anywhere fails every lookup */
  list(&l, "example.org:none|broken");
  CHECK(find(&l, 0, "example.org", &p) < 0);

  /* sluice-tlsc's report line */
  CHECK(report("ok TLSv1.3 TLS_AES_256_GCM_SHA384 verified", &in) == 0);
  CHECK(in.ok == 1 && in.verified == 1 && in.reason.len == 0);
  CHECK_BYTES(in.protocol.s, in.protocol.len, "TLSv1.3");
  CHECK_BYTES(in.cipher.s, in.cipher.len, "TLS_AES_256_GCM_SHA384");
  CHECK(report("ok TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 unverified hostname mismatch", &in) == 0);
  CHECK(in.ok == 1 && in.verified == 0);
  CHECK_BYTES(in.reason.s, in.reason.len, "hostname mismatch");
  CHECK(report("fail wrong version number", &in) == 0);
  CHECK(in.ok == 0 && in.verified == 0);
  CHECK_BYTES(in.reason.s, in.reason.len, "wrong version number");
  CHECK(report("fail ", &in) < 0);
  CHECK(report("fail x\ty", &in) < 0);
  CHECK(report("ok TLSv1.3 X", &in) < 0);
  CHECK(report("ok TLSv1.3 X verified ", &in) < 0);
  CHECK(report("ok TLSv1.3 X unverified", &in) < 0);
  CHECK(report("ok TLSv1.3 X unverified ", &in) < 0);
  CHECK(report("ok  X verified", &in) < 0);
  CHECK(report("ok TLSv1.3 X Verified", &in) < 0);
  CHECK(report("ok TLSv1.3 X\001 verified", &in) < 0);
  CHECK(report("ok TLSv1.3 XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX verified", &in) < 0);
  CHECK(report("", &in) < 0 && in.ok == 0);
  CHECK(report("okay", &in) < 0);

  tlspolicy_free(&p);
  starttls_info_free(&in);
  str_free(&l);
  return check_done();
}
