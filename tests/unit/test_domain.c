/* test_domain.c: domain_equal, domain_match_list, domain_valid, domain_of. */
#include <string.h>

#include "check.h"
#include "domain.h"
#include "str.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static void test_equal(void)
{
  CHECK(domain_equal(S("example.com"), S("example.com")));
  CHECK(domain_equal(S("Example.COM"), S("example.com")));
  CHECK(domain_equal(S("example.com."), S("EXAMPLE.com")));
  CHECK(domain_equal(S("example.com"), S("example.com.")));
  CHECK(domain_equal(S("example.com."), S("example.com.")));
  CHECK(!domain_equal(S("example.com.."), S("example.com")));
  CHECK(!domain_equal(S("example.co"), S("example.com")));
  CHECK(!domain_equal(S("xample.com"), S("example.com")));
  CHECK(!domain_equal(S("a.example.com"), S("example.com")));
  CHECK(domain_equal(S(""), S("")));
  CHECK(domain_equal(S("."), S("")));
  CHECK(!domain_equal(S("a"), S("")));
  /* binary safe: a NUL is a byte like any other */
  CHECK(!domain_equal(S("exa\0ple.com"), S("example.com")));
  CHECK(domain_equal(S("exa\0ple.com"), S("EXA\0PLE.com")));
  CHECK(!domain_equal(S("example.com\0"), S("example.com")));
}

static void test_match_list(void)
{
  str list = STR_INIT;

  CHECK(!domain_match_list(S("example.com"), &list)); /* empty list */
  CHECK(str_copyb(&list, S("example.com\0.example.net\0Mixed.Case.ORG\0[192.0.2.1]\0")) == 0);
  CHECK(domain_match_list(S("example.com"), &list));
  CHECK(domain_match_list(S("EXAMPLE.COM"), &list));
  CHECK(domain_match_list(S("example.com."), &list));
  CHECK(!domain_match_list(S("a.example.com"), &list));
  CHECK(!domain_match_list(S("xexample.com"), &list));
  CHECK(!domain_match_list(S("example.co"), &list));
  CHECK(!domain_match_list(S("example.com.au"), &list));
  /* a leading dot: subdomains only */
  CHECK(domain_match_list(S("a.example.net"), &list));
  CHECK(domain_match_list(S("a.b.Example.NET"), &list));
  CHECK(domain_match_list(S("a.example.net."), &list));
  CHECK(!domain_match_list(S("example.net"), &list));
  CHECK(!domain_match_list(S(".example.net"), &list));
  CHECK(!domain_match_list(S("xexample.net"), &list));
  CHECK(!domain_match_list(S("example.net.evil"), &list));
  CHECK(domain_match_list(S("mixed.case.org"), &list));
  CHECK(domain_match_list(S("[192.0.2.1]"), &list));
  CHECK(!domain_match_list(S("[192.0.2.10]"), &list));
  CHECK(!domain_match_list(S(""), &list));
  CHECK(!domain_match_list(S("."), &list));
  /* the NUL is a separator in the list, and a byte in a host */
  CHECK(!domain_match_list(S("example.com\0.example.net"), &list));
  CHECK(!domain_match_list(S("evil\0.example.net"), &list));
  CHECK(!domain_match_list(S("example.com\0"), &list));
  /* a trailing dot on the entry, empty and "." entries, and a last
   * entry without its NUL */
  CHECK(str_copyb(&list, S("\0.\0.\0example.org.\0.sub.example.edu")) == 0);
  CHECK(domain_match_list(S("example.org"), &list));
  CHECK(domain_match_list(S("x.sub.example.edu"), &list));
  CHECK(!domain_match_list(S("sub.example.edu"), &list));
  CHECK(!domain_match_list(S("anything.com"), &list));
  CHECK(!domain_match_list(S("a"), &list));
  str_free(&list);
}

static void test_valid(void)
{
  char big[300];
  size_t i;

  CHECK(domain_valid(S("example.com")));
  CHECK(domain_valid(S("example.com.")));
  CHECK(domain_valid(S("localhost")));
  CHECK(domain_valid(S("a")));
  CHECK(domain_valid(S("xn--bcher-kva.example")));
  CHECK(domain_valid(S("a-b.c-d.e")));
  CHECK(domain_valid(S("3com.com")));
  CHECK(domain_valid(S("my_host.example.com")));
  CHECK(domain_valid(S("MAIL.Example.COM")));
  CHECK(!domain_valid(S("")));
  CHECK(!domain_valid(S(".")));
  CHECK(!domain_valid(S("..")));
  CHECK(!domain_valid(S(".example.com")));
  CHECK(!domain_valid(S("example..com")));
  CHECK(!domain_valid(S("example.com..")));
  CHECK(!domain_valid(S("-example.com")));
  CHECK(!domain_valid(S("example-.com")));
  CHECK(!domain_valid(S("example.-com")));
  CHECK(!domain_valid(S("example.com-")));
  CHECK(!domain_valid(S("exa mple.com")));
  CHECK(!domain_valid(S("exa\0ple.com")));
  CHECK(!domain_valid(S("example.com\0")));
  CHECK(!domain_valid(S("ex@mple.com")));
  CHECK(!domain_valid(S("b\xc3\xbc" "cher.example")));
  CHECK(!domain_valid(S("192.0.2.1")));
  CHECK(!domain_valid(S("123")));
  CHECK(!domain_valid(S("[192.0.2.1]")));
  CHECK(domain_valid(S("192.0.2.com")));
  /* label lengths: 63 is fine, 64 is not */
  memset(big, 'a', sizeof big);
  CHECK(domain_valid(big, 63));
  CHECK(!domain_valid(big, 64));
  /* total: 253 fine (with one trailing dot 254), 254 not */
  for (i = 63; i < sizeof big; i += 64) big[i] = '.';
  /* labels of 63 joined by dots: lengths 63, 127, 191, 255 at the dots */
  CHECK(domain_valid(big, 191));
  CHECK(domain_valid(big, 253));
  big[253] = '.';
  CHECK(domain_valid(big, 254));
  big[253] = 'a';
  CHECK(!domain_valid(big, 254));
  CHECK(!domain_valid(big, 255));
  CHECK(!domain_valid(big, sizeof big));
}

static void test_of(void)
{
  size_t off = 99;
  CHECK(domain_of(S("user@example.com"), &off) == 1 && off == 5);
  CHECK(domain_of(S("\"a@b\"@example.com"), &off) == 1 && off == 6);
  CHECK(domain_of(S("user@"), &off) == 1 && off == 5);
  CHECK(domain_of(S("@"), &off) == 1 && off == 1);
  off = 99;
  CHECK(domain_of(S("postmaster"), &off) == 0 && off == 99);
  CHECK(domain_of(S(""), &off) == 0 && off == 99);
  CHECK(domain_of(S("a\0@b"), &off) == 1 && off == 3);
  CHECK(domain_of(S("@a,@b:u@c"), &off) == 1 && off == 8);
}

int main(void)
{
  test_equal();
  test_match_list();
  test_valid();
  test_of();
  return check_done();
}
