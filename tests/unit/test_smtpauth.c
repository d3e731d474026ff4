/* test_smtpauth.c: smtpauth_parse and smtpauth_find (control/smtpauth),
 * and the base64 of AUTH PLAIN and LOGIN (RFC 4648 and RFC 4616
 * known answers). */
#include <string.h>

#include "check.h"
#include "smtpauth.h"
#include "str.h"

static int parse(const char *line, size_t *kl, struct smtpauth *a)
{
  return smtpauth_parse(line, strlen(line), kl, a);
}

/* builds a list like control_readlist from lines separated by '|' */
static void list(str *l, const char *lines)
{
  str_truncate(l, 0);
  for (const char *p = lines; *p; ++p) str_catc(l, *p == '|' ? 0 : *p);
  str_catc(l, 0);
}

static int find(const str *l, const char *relay, unsigned long port, const char *domain, struct smtpauth *a)
{
  return smtpauth_find(l, relay, relay ? strlen(relay) : 0, port, domain, strlen(domain), a);
}

static int b64_is(const char *in, size_t n, const char *want)
{
  str o = STR_INIT;
  int ok = smtpauth_base64(&o, in, n) == 0 && o.len == strlen(want) && !memcmp(o.s, want, o.len);
  str_free(&o);
  return ok;
}

#define IS(x, lit) ((x).len == strlen(lit) && !memcmp((x).s, lit, (x).len))

int main(void)
{
  struct smtpauth a = SMTPAUTH_INIT;
  str l = STR_INIT, o = STR_INIT;
  size_t kl = 99;

  /* lines */
  CHECK(parse("[smtp.example]:587 user:pass", &kl, &a) == 0);
  CHECK(kl == 18 && IS(a.login, "user") && IS(a.password, "pass"));
  CHECK(a.tls == SMTPAUTH_TLS_VERIFY && a.mech == SMTPAUTH_MECH_ANY);
  CHECK(parse("[smtp.example]\tu@example.org:pa:ss word", &kl, &a) == 0);
  CHECK(kl == 14 && IS(a.login, "u@example.org") && IS(a.password, "pa:ss word"));
  CHECK(parse("example.org tls=encrypt,auth=login u:p", &kl, &a) == 0);
  CHECK(kl == 11 && a.tls == SMTPAUTH_TLS_ENCRYPT && a.mech == SMTPAUTH_MECH_LOGIN && IS(a.login, "u"));
  CHECK(parse("[::1]:25   TLS=NONE,auth=plain   u:p", &kl, &a) == 0);
  CHECK(a.tls == SMTPAUTH_TLS_NONE && a.mech == SMTPAUTH_MECH_PLAIN && IS(a.password, "p"));
  /* options do not carry over from an earlier line */
  CHECK(parse("[r] u:p", &kl, &a) == 0);
  CHECK(a.tls == SMTPAUTH_TLS_VERIFY && a.mech == SMTPAUTH_MECH_ANY);
  /* malformed */
  CHECK(parse("[r]", &kl, &a) < 0);
  CHECK(parse("[r] user", &kl, &a) < 0);
  CHECK(parse("[r] user:", &kl, &a) < 0);
  CHECK(parse("[r] :pass", &kl, &a) < 0);
  CHECK(parse("[r] tls=maybe u:p", &kl, &a) < 0);
  CHECK(parse("[r] tls=none, u:p", &kl, &a) < 0);
  CHECK(parse("[r] tls=none", &kl, &a) < 0);
  CHECK(parse("[r]:0 u:p", &kl, &a) < 0);
  CHECK(parse("[r]:65536 u:p", &kl, &a) < 0);
  CHECK(parse("[r]x u:p", &kl, &a) < 0);
  CHECK(parse("[r u:p", &kl, &a) < 0);
  CHECK(parse("[] u:p", &kl, &a) < 0);
  CHECK(parse("a:b u:p", &kl, &a) < 0);
  CHECK(parse(" u:p", &kl, &a) < 0);
  CHECK(smtpauth_parse("[r] u:p\0q", 9, &kl, &a) < 0);
  {
    char big[SMTPAUTH_FIELD_MAX + 20];
    memcpy(big, "[r] u:", 6);
    memset(big + 6, 'x', SMTPAUTH_FIELD_MAX);
    CHECK(smtpauth_parse(big, 6 + SMTPAUTH_FIELD_MAX, &kl, &a) == 0);
    big[6 + SMTPAUTH_FIELD_MAX] = 'x';
    CHECK(smtpauth_parse(big, 7 + SMTPAUTH_FIELD_MAX, &kl, &a) < 0);
  }

  /* search order: [relay]:port, [relay], domain */
  list(&l, "example.org d:1|[relay.example] r:2|[relay.example]:587 rp:3|[RELAY.example.]:25 rp25:4");
  CHECK(find(&l, "relay.example", 587, "example.org", &a) == 1 && IS(a.login, "rp"));
  CHECK(find(&l, "relay.example", 25, "example.org", &a) == 1 && IS(a.login, "rp25"));
  CHECK(find(&l, "relay.example", 2525, "example.org", &a) == 1 && IS(a.login, "r"));
  CHECK(find(&l, "other.example", 587, "example.org", &a) == 1 && IS(a.login, "d"));
  CHECK(find(&l, 0, 0, "Example.ORG.", &a) == 1 && IS(a.login, "d"));
  CHECK(find(&l, 0, 0, "sub.example.org", &a) == 0 && a.login.len == 0 && a.password.len == 0);
  /* the first line with a key wins */
  list(&l, "[r] first:1|[r] second:2");
  CHECK(find(&l, "r", 25, "x", &a) == 1 && IS(a.login, "first"));
  /* a malformed line anywhere fails every lookup */
  list(&l, "[r] u:p|example.org nopassword");
  CHECK(find(&l, "r", 25, "x", &a) < 0);
  str_truncate(&l, 0); /* an empty file */
  CHECK(find(&l, "r", 25, "x", &a) == 0);

  /* base64: RFC 4648 section 10 */
  CHECK(b64_is("", 0, ""));
  CHECK(b64_is("f", 1, "Zg=="));
  CHECK(b64_is("fo", 2, "Zm8="));
  CHECK(b64_is("foo", 3, "Zm9v"));
  CHECK(b64_is("foob", 4, "Zm9vYg=="));
  CHECK(b64_is("fooba", 5, "Zm9vYmE="));
  CHECK(b64_is("foobar", 6, "Zm9vYmFy"));
  CHECK(b64_is("\377\376\375", 3, "//79"));
  /* AUTH PLAIN: RFC 4616 section 4 ("tim", "tanstaaftanstaaf") */
  CHECK(parse("[r] tim:tanstaaftanstaaf", &kl, &a) == 0);
  CHECK(smtpauth_plain(&o, &a) == 0);
  CHECK(IS(o, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"));

  smtpauth_free(&a);
  str_free(&l);
  str_free(&o);
  return check_done();
}
