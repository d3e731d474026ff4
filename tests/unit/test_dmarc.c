/* test_dmarc.c: DMARC records, organizational domains, alignment, and
 * the authserv-id test of Authentication-Results fields. */
#include <string.h>

#include "authcheck.h"
#include "check.h"
#include "dmarc.h"
#include "str.h"

static int org_is(const char *d, const char *want, const str *extra)
{
  size_t n = strlen(d), o = dmarc_org_domain(d, n, extra);
  return o == strlen(want) && memcmp(d + n - o, want, o) == 0;
}

int main(void)
{
  struct dmarc_record r;
  str extra = STR_INIT;

  CHECK(org_is("example.com", "example.com", 0));
  CHECK(org_is("a.b.example.com", "example.com", 0));
  CHECK(org_is("com", "com", 0));
  CHECK(org_is("mail.example.co.uk", "example.co.uk", 0));
  CHECK(org_is("example.co.uk", "example.co.uk", 0));
  CHECK(org_is("co.uk", "co.uk", 0));
  CHECK(org_is("a.b.example.test", "example.test", 0));
  str_copyb(&extra, "example.test\0", 13);
  CHECK(org_is("a.b.example.test", "b.example.test", &extra));

  CHECK(dmarc_aligned("mail.example.com", 16, "example.com", 11, 0, 0));
  CHECK(!dmarc_aligned("mail.example.com", 16, "example.com", 11, 1, 0));
  CHECK(dmarc_aligned("Example.COM", 11, "example.com", 11, 1, 0));
  CHECK(!dmarc_aligned("example.org", 11, "example.com", 11, 0, 0));
  CHECK(!dmarc_aligned("a.co.uk", 7, "b.co.uk", 7, 0, 0));

  CHECK(dmarc_record_parse("v=DMARC1; p=reject", 18, &r) == 0 && r.p == DMARC_P_REJECT && r.sp == DMARC_P_REJECT);
  CHECK(dmarc_record_parse("v=DMARC1; p=none; sp=quarantine; adkim=s; aspf=r; pct=50", 56, &r) == 0 &&
        r.p == DMARC_P_NONE && r.sp == DMARC_P_QUARANTINE && r.strict_dkim && !r.strict_spf && r.pct == 50);
  CHECK(dmarc_record_parse("v=DMARC1; rua=mailto:x@y", 24, &r) == 0 && r.p == DMARC_P_NONE);
  CHECK(dmarc_record_parse("v=DMARC1; p=bogus", 17, &r) == -1);
  CHECK(dmarc_record_parse("v=DMARC2; p=reject", 18, &r) == -1);
  CHECK(dmarc_record_parse("p=reject; v=DMARC1", 18, &r) == -1);
  CHECK(dmarc_record_is("v=DMARC1", 8));
  CHECK(!dmarc_record_is("v=DMARC1x", 9));
  CHECK(!dmarc_record_is("v=spf1 -all", 11));

  CHECK(authres_id_is(" mx.example; spf=pass", 21, "mx.example", 10));
  CHECK(authres_id_is(" (c) MX.Example;", 16, "mx.example", 10));
  CHECK(authres_id_is("\n\tmx.example 1; none", 20, "mx.example", 10));
  CHECK(!authres_id_is(" other.example; spf=pass", 24, "mx.example", 10));
  CHECK(!authres_id_is(" mx.example.evil;", 17, "mx.example", 10));
  CHECK(!authres_id_is("", 0, "mx.example", 10));
  str_free(&extra);
  return check_done();
}
