/* test_smtproutes.c: smtproutes_parse and smtproutes_find. */
#include <string.h>

#include "check.h"
#include "smtproutes.h"
#include "str.h"

static int parse(const char *line, size_t *kl, struct smtproute *r)
{
  return smtproutes_parse(line, strlen(line), kl, r);
}

/* builds a list like control_readlist from lines separated by '|' */
static void list(str *l, const char *lines)
{
  str_truncate(l, 0);
  for (const char *p = lines; *p; ++p) str_catc(l, *p == '|' ? 0 : *p);
  str_catc(l, 0);
}

static int find(const str *l, const char *domain, struct smtproute *r)
{
  return smtproutes_find(l, domain, strlen(domain), r);
}

int main(void)
{
  struct smtproute r = SMTPROUTE_INIT;
  str l = STR_INIT;
  size_t kl = 99;

  CHECK(parse("example.org:relay.example.net:2525", &kl, &r) == 0);
  CHECK(kl == 11);
  CHECK_BYTES(r.relay.s, r.relay.len, "relay.example.net");
  CHECK(r.literal == 0 && r.port == 2525);
  CHECK(parse("example.org:relay.example.net", &kl, &r) == 0);
  CHECK(r.port == 25);
  CHECK(parse("example.org:relay.example.net:", &kl, &r) == 0);
  CHECK(r.port == 25);
  CHECK(parse("example.org:", &kl, &r) == 0);
  CHECK(r.literal == -1 && r.relay.len == 0 && r.port == 25);
  CHECK(parse("example.org::587", &kl, &r) == 0);
  CHECK(r.literal == -1 && r.port == 587);
  CHECK(parse(":127.0.0.1:24", &kl, &r) == 0);
  CHECK(kl == 0 && r.literal == 4 && r.ip[0] == 127 && r.ip[3] == 1 && r.port == 24);
  CHECK(parse(".example.org:[::1]:2526", &kl, &r) == 0);
  CHECK(kl == 12 && r.literal == 6 && r.ip[15] == 1 && r.ip[0] == 0 && r.port == 2526);
  CHECK_BYTES(r.relay.s, r.relay.len, "::1");
  CHECK(parse("x:[2001:db8::25]", &kl, &r) == 0);
  CHECK(r.literal == 6 && r.ip[0] == 0x20 && r.ip[1] == 0x01 && r.ip[15] == 0x25 && r.port == 25);
  CHECK(parse("x:[192.0.2.7]:26", &kl, &r) == 0);
  CHECK(r.literal == 4 && r.ip[3] == 7 && r.port == 26);
  /* malformed */
  CHECK(parse("no-colon-here", &kl, &r) < 0);
  CHECK(parse("x:[::1", &kl, &r) < 0);
  CHECK(parse("x:[]:25", &kl, &r) < 0);
  CHECK(parse("x:[not-ip]:25", &kl, &r) < 0);
  CHECK(parse("x:[::1]25", &kl, &r) < 0);
  CHECK(parse("x:::1:25", &kl, &r) < 0);
  CHECK(parse("x:relay:0", &kl, &r) < 0);
  CHECK(parse("x:relay:65536", &kl, &r) < 0);
  CHECK(parse("x:relay:25x", &kl, &r) < 0);
  CHECK(parse("x:relay:-1", &kl, &r) < 0);
  CHECK(parse("x:bad host:25", &kl, &r) < 0);
  CHECK(parse("x:relay:25:26", &kl, &r) < 0);
  CHECK(parse("x:relay:65535", &kl, &r) == 0 && r.port == 65535);

  /* matching order: exact, suffixes from the longest, then "" */
  list(&l, ":default.example|.org:org.example|.example.org:eo.example|a.example.org:exact.example|a.example.org:second.example");
  CHECK(find(&l, "a.example.org", &r) == 1);
  CHECK_BYTES(r.relay.s, r.relay.len, "exact.example");
  CHECK(find(&l, "A.Example.ORG.", &r) == 1);
  CHECK_BYTES(r.relay.s, r.relay.len, "exact.example");
  CHECK(find(&l, "b.example.org", &r) == 1);
  CHECK_BYTES(r.relay.s, r.relay.len, "eo.example");
  CHECK(find(&l, "x.y.example.org", &r) == 1);
  CHECK_BYTES(r.relay.s, r.relay.len, "eo.example");
  CHECK(find(&l, "example.org", &r) == 1); /* ".example.org" is only below it */
  CHECK_BYTES(r.relay.s, r.relay.len, "org.example");
  CHECK(find(&l, "other.net", &r) == 1);
  CHECK_BYTES(r.relay.s, r.relay.len, "default.example");
  list(&l, "a.example.org:exact.example|.org:org.example");
  CHECK(find(&l, "other.net", &r) == 0);
  CHECK(find(&l, "xa.example.org", &r) == 1);
  CHECK_BYTES(r.relay.s, r.relay.len, "org.example");
  /* a malformed line anywhere is an error, not skipped */
  list(&l, "a.example.org:exact.example|broken");
  CHECK(find(&l, "a.example.org", &r) < 0);
  str_truncate(&l, 0);
  CHECK(find(&l, "a.example.org", &r) == 0);
  /* empty relay: MX */
  list(&l, "example.com:|:[::1]:2525");
  CHECK(find(&l, "example.com", &r) == 1 && r.literal == -1);
  CHECK(find(&l, "example.net", &r) == 1 && r.literal == 6 && r.port == 2525);

  smtproute_free(&r);
  str_free(&l);
  return check_done();
}
