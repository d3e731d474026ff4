/* test_addr.c: addr_parse_path, addr_parse_bare, addr_strerror,
 * addr_split. */
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "byte.h"
#include "check.h"
#include "str.h"

#define NUL_OK (ADDR_ALLOW_NULL)
#define LEN ADDR_LENIENT
#define U8 ADDR_UTF8

/* in[0..n) parses with flags to want, consuming used bytes */
static int good_n(const char *in, size_t n, int flags, const char *want, size_t used)
{
  str out = STR_INIT;
  size_t consumed = 12345;
  int r = addr_parse_path(in, n, flags, &out, &consumed);
  int ok = r == ADDR_OK && consumed == used && out.len == strlen(want) &&
           (out.len == 0 || memcmp(out.s, want, out.len) == 0);
  if (!ok) {
    check_outs("  got ");
    check_outs(addr_strerror(r));
    check_outs(": ");
    check_out(out.s ? out.s : "", out.len);
    check_outs("\n");
  }
  str_free(&out);
  return ok;
}

static int good(const char *in, int flags, const char *want)
{
  return good_n(in, strlen(in), flags, want, strlen(in));
}

/* in[0..n) fails with err, leaving out empty and consumed alone */
static int bad_n(const char *in, size_t n, int flags, int err)
{
  str out = STR_INIT;
  size_t consumed = 12345;
  int r;
  str_copys(&out, "junk");
  r = addr_parse_path(in, n, flags, &out, &consumed);
  if (r != err) {
    check_outs("  got ");
    check_outs(addr_strerror(r));
    check_outs("\n");
  }
  r = r == err && out.len == 0 && consumed == 12345;
  str_free(&out);
  return r;
}

static int bad(const char *in, int flags, int err) { return bad_n(in, strlen(in), flags, err); }

/* length of the result when in[0..n) parses whole, else -1 */
static long parses(const char *in, size_t n, int flags)
{
  str out = STR_INIT;
  size_t used = 0;
  long r = -1;
  if (addr_parse_path(in, n, flags, &out, &used) == ADDR_OK && used == n) r = (long)out.len;
  str_free(&out);
  return r;
}

/* "<" + local + "@" + domain + ">" with the parts made of repeated
 * letters (the domain in labels of at most 63, never ending in a dot) */
static size_t build(char *buf, size_t local, size_t domain)
{
  size_t len = 0, i;
  buf[len++] = '<';
  for (i = 0; i < local; ++i) buf[len++] = 'l';
  buf[len++] = '@';
  for (i = 0; i < domain; ++i) buf[len++] = (i % 63 == 62 && i + 1 < domain) ? '.' : 'd';
  buf[len++] = '>';
  return len;
}

static void test_basic(void)
{
  CHECK(good("<user@example.com>", 0, "user@example.com"));
  CHECK(good("<User.Name+tag@Example.COM>", 0, "User.Name+tag@Example.COM"));
  CHECK(good("<a!#$%&'*+-/=?^_`{|}~z@x>", 0, "a!#$%&'*+-/=?^_`{|}~z@x"));
  CHECK(good("<u@localhost>", 0, "u@localhost"));
  CHECK(good("<u@a-b.c-d.example>", 0, "u@a-b.c-d.example"));
  CHECK(good("<u@123.example>", 0, "u@123.example"));
  CHECK(good("  <u@x>", 0, "u@x"));                /* spaces before '<' */
  CHECK(good("\t<u@x>", 0, "u@x"));
  CHECK(good_n("<u@x> SIZE=100", 14, 0, "u@x", 5));
  CHECK(good_n("<u@x>\tBODY=8BITMIME", 19, 0, "u@x", 5));
  CHECK(good_n("<u@x> ", 6, 0, "u@x", 5));
  CHECK(good_n("<u@x>zzz", 5, 0, "u@x", 5));        /* n is honoured */

  CHECK(bad("", 0, ADDR_ESYNTAX));
  CHECK(bad("   ", 0, ADDR_ESYNTAX));
  CHECK(bad("<", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@x", 0, ADDR_ESYNTAX));             /* unterminated */
  CHECK(bad("<u@x>>", 0, ADDR_ESYNTAX));
  CHECK(bad("<<u@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@x>x", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@x@y>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@exa mple.com>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@exa mple.com>", LEN, ADDR_ESYNTAX));
  CHECK(bad("<u v@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@>", ADDR_ALLOW_NODOMAIN, ADDR_ESYNTAX));
  CHECK(bad("<u@.x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@x.>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@x..y>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@-x.y>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@x-.y>", 0, ADDR_ESYNTAX));
  CHECK(good("<u@-x-.y>", LEN, "u@-x-.y"));
  CHECK(bad("<u@x_y>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u(c)@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u,v@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<[u]@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("< user@example.com>", 0, ADDR_ESYNTAX));
  CHECK(good("< user@example.com>", LEN, "user@example.com"));
  CHECK(good("<  u@x  >", LEN, "u@x"));
  CHECK(bad("<u@x >", 0, ADDR_ESYNTAX));
}

static void test_null_route_nodomain(void)
{
  CHECK(bad("<>", 0, ADDR_ENULL));
  CHECK(good("<>", NUL_OK, ""));
  CHECK(good_n("<> SIZE=10", 10, NUL_OK, "", 2));
  CHECK(good("< >", NUL_OK | LEN, ""));
  CHECK(bad("< >", NUL_OK, ADDR_ESYNTAX));
  CHECK(bad("<>>", NUL_OK, ADDR_ESYNTAX));
  CHECK(bad("<>x", 0, ADDR_ESYNTAX));
  CHECK(bad("<", NUL_OK, ADDR_ESYNTAX));

  CHECK(good("<@a,@b:u@c>", 0, "u@c"));
  CHECK(good("<@a.example,@b.example:user@c.example>", 0, "user@c.example"));
  CHECK(good("<@a:u@c>", 0, "u@c"));
  CHECK(bad("<@a:>", 0, ADDR_ESYNTAX));
  CHECK(bad("<@a,u@c>", 0, ADDR_ESYNTAX));
  CHECK(bad("<@a,:u@c>", 0, ADDR_ESYNTAX));
  CHECK(bad("<@a,,@b:u@c>", 0, ADDR_ESYNTAX));
  CHECK(bad("<@:u@c>", 0, ADDR_ESYNTAX));
  CHECK(bad("<@a..b:u@c>", 0, ADDR_ESYNTAX));
  CHECK(bad("<@a:@b:u@c>", 0, ADDR_ESYNTAX));
  CHECK(bad("<@a b:u@c>", 0, ADDR_ESYNTAX));

  CHECK(bad("<postmaster>", 0, ADDR_ENODOMAIN));
  CHECK(good("<postmaster>", ADDR_ALLOW_NODOMAIN, "postmaster"));
  CHECK(good("<\"a b\">", ADDR_ALLOW_NODOMAIN, "\"a b\""));
  CHECK(bad("<a b>", ADDR_ALLOW_NODOMAIN, ADDR_ESYNTAX));
  /* a syntax error is reported before a missing domain */
  CHECK(bad("<postmaster", 0, ADDR_ESYNTAX));
}

static void test_lenient(void)
{
  CHECK(bad("user@example.com", 0, ADDR_ESYNTAX));
  CHECK(good("user@example.com", LEN, "user@example.com"));
  CHECK(good(" user@example.com", LEN, "user@example.com"));
  CHECK(good_n("user@example.com SIZE=5", 23, LEN, "user@example.com", 16));
  CHECK(good("@a:u@b", LEN, "u@b"));
  CHECK(bad("", LEN, ADDR_ESYNTAX));
  CHECK(bad("user@example.com>", LEN, ADDR_ESYNTAX));
  CHECK(bad("user", LEN, ADDR_ENODOMAIN));
  CHECK(good("user", LEN | ADDR_ALLOW_NODOMAIN, "user"));

  CHECK(bad("<.u@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u.@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u..v@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<.@x>", 0, ADDR_ESYNTAX));
  CHECK(good("<.u@x>", LEN, ".u@x"));
  CHECK(good("<u.@x>", LEN, "u.@x"));
  CHECK(good("<u..v@x>", LEN, "u..v@x"));
  CHECK(good("<a.b.c@x>", 0, "a.b.c@x"));
}

static void test_quoted(void)
{
  CHECK(good("<\"john\"@example.com>", 0, "john@example.com"));
  CHECK(good("<\"john.smith\"@x>", 0, "john.smith@x"));
  CHECK(good("<\"j\\ohn\"@x>", 0, "john@x"));              /* needless quoted-pair */
  CHECK(good("<\"a b\"@x>", 0, "\"a b\"@x"));
  CHECK(good("<\"john doe\"@example.com>", 0, "\"john doe\"@example.com"));
  CHECK(good("<\"a\\\"b\"@x>", 0, "\"a\\\"b\"@x"));
  CHECK(good("<\"a\\\\b\"@x>", 0, "\"a\\\\b\"@x"));
  CHECK(good("<\"a\\ b\"@x>", 0, "\"a b\"@x"));            /* \SP becomes SP */
  CHECK(good("<\"\"@x>", 0, "\"\"@x"));                    /* empty is allowed */
  CHECK(good("<\".a\"@x>", 0, "\".a\"@x"));                /* not a dot-string */
  CHECK(good("<\"a..b\"@x>", 0, "\"a..b\"@x"));
  CHECK(good("<\"a.\"@x>", 0, "\"a.\"@x"));
  CHECK(good("<\"a@b\"@x>", 0, "\"a@b\"@x"));
  CHECK(good("<\"<>\"@x>", 0, "\"<>\"@x"));
  CHECK(good("<\"a(b)\"@x>", 0, "\"a(b)\"@x"));
  CHECK(good("\"a b\"@x", LEN, "\"a b\"@x"));

  CHECK(bad("<\"a b@x>", 0, ADDR_ESYNTAX));                /* unterminated */
  CHECK(bad("<\"a\\\">", 0, ADDR_ESYNTAX));
  CHECK(bad("<\"a\\", 0, ADDR_ESYNTAX));
  CHECK(bad("<\"a\"b@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<a\"b\"@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<\"a\tb\"@x>", 0, ADDR_ESYNTAX));             /* HTAB is no qtext */
  CHECK(bad("<\"a\\\tb\"@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<\"a\x7f\"@x>", 0, ADDR_ESYNTAX));
  CHECK(bad_n("<\"a\0b\"@x>", 9, 0, ADDR_ESYNTAX));
  CHECK(bad_n("<\"a\\\0\"@x>", 9, 0, ADDR_ESYNTAX));
  CHECK(bad("<\"a\r\nb\"@x>", 0, ADDR_ESYNTAX));
}

static void test_literal(void)
{
  CHECK(good("<u@[127.0.0.1]>", 0, "u@[127.0.0.1]"));
  CHECK(good("<u@[IPv6:::1]>", 0, "u@[IPv6:::1]"));
  CHECK(good("<u@[IPv6:2001:db8::1]>", 0, "u@[IPv6:2001:db8::1]"));
  CHECK(good("<u@[ipv6:2001:DB8::1]>", 0, "u@[ipv6:2001:DB8::1]"));
  CHECK(good("<u@[IPv6:::ffff:1.2.3.4]>", 0, "u@[IPv6:::ffff:1.2.3.4]"));
  CHECK(bad("<u@[300.1.1.1]>", 0, ADDR_ELITERAL));
  CHECK(bad("<u@[IPv6:1::2::3]>", 0, ADDR_ELITERAL));
  CHECK(bad("<u@[01.2.3.4]>", 0, ADDR_ELITERAL));
  CHECK(bad("<u@[1.2.3]>", 0, ADDR_ELITERAL));
  CHECK(bad("<u@[1.2.3.4.5]>", 0, ADDR_ELITERAL));
  CHECK(bad("<u@[]>", 0, ADDR_ELITERAL));
  CHECK(bad("<u@[IPv6:]>", 0, ADDR_ELITERAL));
  CHECK(bad("<u@[IPv6:1.2.3.4]>", 0, ADDR_ELITERAL));
  CHECK(bad("<u@[::1]>", 0, ADDR_ELITERAL));
  CHECK(bad("<u@[x-tag:foo]>", 0, ADDR_ELITERAL));
  CHECK(bad("<u@[IPv6:::1:]>", 0, ADDR_ELITERAL));
  CHECK(bad("<u@[127.0.0.1>", 0, ADDR_ESYNTAX));          /* unbalanced */
  CHECK(bad("<u@[127.0.0.1", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@127.0.0.1]>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@[[1.2.3.4]]>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@[1.2.3.4]x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@x[1.2.3.4]>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@[1.2. 3.4]>", 0, ADDR_ESYNTAX));
  CHECK(bad_n("<u@[1.2.3.4\0]>", 15, 0, ADDR_ESYNTAX));
  CHECK(bad("<u@[1.2.3.\xc3\xa9]>", 0, ADDR_E8BIT));
  CHECK(bad("<u@[1.2.3.\xc3\xa9]>", U8, ADDR_ELITERAL));
  CHECK(bad("<@[1.2.3.4]:u@x>", 0, ADDR_ESYNTAX));         /* route takes names */
}

static void test_controls(void)
{
  CHECK(bad_n("<u\0@x>", 6, 0, ADDR_ESYNTAX));
  CHECK(bad_n("<u@x\0>", 6, 0, ADDR_ESYNTAX));
  CHECK(bad_n("<u@x>\0", 6, 0, ADDR_ESYNTAX));
  CHECK(bad_n("\0<u@x>", 6, 0, ADDR_ESYNTAX));
  CHECK(bad_n("<\0>", 3, NUL_OK, ADDR_ESYNTAX));
  CHECK(bad_n("u\0@x", 4, LEN, ADDR_ESYNTAX));
  CHECK(bad_n("<u@x>", 4, 0, ADDR_ESYNTAX));             /* cut before '>' */
  CHECK(bad("<u\r@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@x\r\n>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u\x7f@x>", 0, ADDR_ESYNTAX));
  CHECK(bad("<u@x\x1b>", LEN, ADDR_ESYNTAX));
}

static void test_utf8(void)
{
  /* "josé@exämple.com" */
  CHECK(bad("<jos\xc3\xa9@x>", 0, ADDR_E8BIT));
  CHECK(bad("<u@ex\xc3\xa4mple.com>", 0, ADDR_E8BIT));
  CHECK(bad("<\"\xc3\xa9\"@x>", 0, ADDR_E8BIT));
  CHECK(good("<jos\xc3\xa9@ex\xc3\xa4mple.com>", U8, "jos\xc3\xa9@ex\xc3\xa4mple.com"));
  CHECK(good("<\"jos\xc3\xa9\"@x>", U8, "jos\xc3\xa9@x"));
  CHECK(good("<\"a \xc3\xa9\"@x>", U8, "\"a \xc3\xa9\"@x"));
  CHECK(good("<\xe2\x82\xac@\xe6\x97\xa5\xe6\x9c\xac>", U8, "\xe2\x82\xac@\xe6\x97\xa5\xe6\x9c\xac"));
  CHECK(good("<\xf0\x9f\x98\x80@x>", U8, "\xf0\x9f\x98\x80@x"));            /* U+1F600 */
  CHECK(good("<\xf4\x8f\xbf\xbf@x>", U8, "\xf4\x8f\xbf\xbf@x"));            /* U+10FFFF */
  CHECK(good("<\xed\x9f\xbf@x>", U8, "\xed\x9f\xbf@x"));                    /* U+D7FF */
  CHECK(good("<\xc2\xa0@x>", U8, "\xc2\xa0@x"));                            /* U+00A0 */
  CHECK(bad("<\xc0\x80@x>", U8, ADDR_EUTF8));                               /* overlong NUL */
  CHECK(bad("<\xc1\xbf@x>", U8, ADDR_EUTF8));
  CHECK(bad("<\xe0\x80\xaf@x>", U8, ADDR_EUTF8));                           /* overlong '/' */
  CHECK(bad("<\xf0\x80\x80\xaf@x>", U8, ADDR_EUTF8));
  CHECK(bad("<\x80@x>", U8, ADDR_EUTF8));                                   /* lone continuation */
  CHECK(bad("<u@\x80>", U8, ADDR_EUTF8));
  CHECK(bad("<\xed\xa0\x80@x>", U8, ADDR_EUTF8));                           /* surrogate D800 */
  CHECK(bad("<\xed\xbf\xbf@x>", U8, ADDR_EUTF8));
  CHECK(bad("<\xf4\x90\x80\x80@x>", U8, ADDR_EUTF8));                       /* above U+10FFFF */
  CHECK(bad("<\xf5\x80\x80\x80@x>", U8, ADDR_EUTF8));
  CHECK(bad("<\xff@x>", U8, ADDR_EUTF8));
  CHECK(bad("<\xc3@x>", U8, ADDR_EUTF8));                                   /* cut short */
  CHECK(bad("<\xe2\x82@x>", U8, ADDR_EUTF8));
  CHECK(bad("<u@x\xe2\x82", U8, ADDR_EUTF8));
  CHECK(bad("<\"\xc3\"@x>", U8, ADDR_EUTF8));
  CHECK(bad("<\xc2\x85@x>", U8, ADDR_ESYNTAX));                             /* C1 control */
  CHECK(bad("<\"\\\xc3\xa9\"@x>", U8, ADDR_ESYNTAX));                       /* no 8-bit quoted-pair */
  CHECK(bad("<\"\\\xc3\xa9\"@x>", 0, ADDR_E8BIT));
  CHECK(bad("<\xc0\x80@x>", 0, ADDR_E8BIT));
}

static void test_limits(void)
{
  char buf[2100];
  size_t n, i;

  n = build(buf, 64, 1);
  CHECK(parses(buf, n, 0) == 66);
  n = build(buf, 65, 1);
  CHECK(bad_n(buf, n, 0, ADDR_ELOCALLONG));
  CHECK(parses(buf, n, ADDR_LONG) == 67);
  /* a quoted local part counts with its quotes: 62 + 2 fits, 63 + 2 not */
  buf[0] = '<';
  buf[1] = '"';
  for (i = 2; i < 64; ++i) buf[i] = ' ';
  buf[64] = '"';
  memcpy(buf + 65, "@x>", 3);
  CHECK(parses(buf, 68, 0) > 0);
  buf[64] = ' ';
  buf[65] = '"';
  memcpy(buf + 66, "@x>", 3);
  CHECK(bad_n(buf, 69, 0, ADDR_ELOCALLONG));

  /* labels: 63 fits, 64 does not */
  buf[0] = '<'; buf[1] = 'u'; buf[2] = '@';
  for (i = 3; i < 66; ++i) buf[i] = 'a';
  buf[66] = '>';
  CHECK(parses(buf, 67, 0) > 0);
  buf[66] = 'a';
  buf[67] = '>';
  CHECK(bad_n(buf, 68, 0, ADDR_EDOMAINLONG));
  CHECK(bad_n(buf, 68, ADDR_LONG, ADDR_EDOMAINLONG));
  /* a UTF-8 label is not held to 63 octets */
  for (i = 3; i < 67; i += 2) { buf[i] = (char)0xc3; buf[i + 1] = (char)0xa9; }
  buf[67] = '>';
  CHECK(parses(buf, 68, U8) > 0);

  /* domain 252: path 1 + 1 + 1 + 252 + 1 = 256 fits */
  n = build(buf, 1, 252);
  CHECK(n == 256 && parses(buf, n, 0) == 254);
  n = build(buf, 1, 253);
  CHECK(bad_n(buf, n, 0, ADDR_EPATHLONG));
  n = build(buf, 1, 255);
  CHECK(bad_n(buf, n, 0, ADDR_EPATHLONG));                /* domain fits, path not */
  n = build(buf, 1, 256);
  CHECK(bad_n(buf, n, 0, ADDR_EDOMAINLONG));
  CHECK(parses(buf, n, ADDR_LONG) > 0);
  /* 64 + 1 + 190 + 2 = 257 */
  n = build(buf, 64, 190);
  CHECK(bad_n(buf, n, 0, ADDR_EPATHLONG));
  n = build(buf, 64, 189);
  CHECK(parses(buf, n, 0) > 0);
  /* a route counts toward the path */
  memcpy(buf, "<@r:", 4);
  n = build(buf + 3, 1, 250) + 3;
  buf[3] = ':';
  CHECK(n == 257 && bad_n(buf, n, 0, ADDR_EPATHLONG));
  n = build(buf + 3, 1, 249) + 3;
  buf[3] = ':';
  {
    str out = STR_INIT;
    size_t used;
    CHECK(addr_parse_path(buf, n, 0, &out, &used) == ADDR_OK && out.len == 251 && used == 256);
    str_free(&out);
  }
  /* without brackets the path still counts them */
  n = build(buf, 1, 252);
  CHECK(parses(buf + 1, n - 2, LEN) > 0);
  n = build(buf, 1, 253);
  CHECK(bad_n(buf + 1, n - 2, LEN, ADDR_EPATHLONG));

  /* ADDR_LONG: the result up to 1003 bytes */
  n = build(buf, 500, 501);
  CHECK(n == 1004 && parses(buf, n, ADDR_LONG) == 1002);
  n = build(buf, 501, 501);
  CHECK(parses(buf, n, ADDR_LONG) == 1003);
  n = build(buf, 502, 501);
  CHECK(bad_n(buf, n, ADDR_LONG, ADDR_EPATHLONG));             /* 1004 */
  n = build(buf, 1001, 1001);
  CHECK(bad_n(buf, n, ADDR_LONG, ADDR_EPATHLONG));
  CHECK(bad_n(buf, n, 0, ADDR_ELOCALLONG));
  /* a stripped route does not count under ADDR_LONG */
  memcpy(buf, "<@r:", 4);
  n = build(buf + 3, 501, 501) + 3;
  buf[3] = ':';
  CHECK(parses(buf, n, ADDR_LONG) > 0);
}

static void test_strerror_split(void)
{
  size_t at;
  int e;

  for (e = ADDR_ENOMEM; e <= ADDR_OK; ++e) CHECK(addr_strerror(e) != 0 && addr_strerror(e)[0] != 0);
  CHECK(strcmp(addr_strerror(ADDR_ELOCALLONG), "local part too long") == 0);
  CHECK(strcmp(addr_strerror(ADDR_E8BIT), addr_strerror(ADDR_ESYNTAX)) != 0);
  CHECK(strcmp(addr_strerror(42), "unknown address error") == 0);

  CHECK(addr_split("u@x", 3, &at) == 1 && at == 1);
  CHECK(addr_split("@x", 2, &at) == 1 && at == 0);
  CHECK(addr_split("u@", 2, &at) == 1 && at == 1);
  CHECK(addr_split("u", 1, &at) == 0 && at == 1);
  CHECK(addr_split("", 0, &at) == 0 && at == 0);
  CHECK(addr_split("a@b@c", 5, &at) == 1 && at == 3);
  CHECK(addr_split("\"a@b\"@x", 7, &at) == 1 && at == 5);
  CHECK(addr_split("\"a@b\"", 5, &at) == 0 && at == 5);
  CHECK(addr_split("\"a\\\"@b\"@x", 9, &at) == 1 && at == 7);
  CHECK(addr_split("\"a\\\\\"@b", 7, &at) == 1 && at == 5);
  CHECK(addr_split("u@x\0@y", 6, &at) == 1 && at == 4);
}

/* addr_split on the quote tricks of issue 12: the domain it names is
 * always the one after the last '@' (what sluice-send and the spawners
 * route by), except for an address that is one quoted string. */
static void test_split_tricks(void)
{
  static const char *const tricks[] = {
    "\"victim@evil.example", "a\"@evil.example", "\"a\\\"@evil.example", "\"a\"@b\"@evil.example",
    "\"\"@evil.example", "\"x\"\"@evil.example", "victim@evil.example\"", "\"a@b\"@evil.example",
    "\"a\\\\\"@evil.example", "\"@\"@evil.example", "a@\"b@evil.example", "\"a\\",
  };
  str a = STR_INIT;
  size_t at, k;

  for (k = 0; k < sizeof tricks / sizeof tricks[0]; ++k) {
    const char *t = tricks[k];
    size_t n = strlen(t), last = n;
    int has;
    while (last > 0 && t[last - 1] != '@') --last;
    has = addr_split(t, n, &at);
    if (last > 0) CHECK(has == 1 && at == last - 1);
    else CHECK(has == 0 && at == n);
    /* a domain appended is always the domain */
    CHECK(str_copyb(&a, t, n) == 0 && str_cats(&a, "@local.example") == 0);
    CHECK(addr_split(a.s, a.len, &at) == 1 && at == n);
  }
  /* the one exception: a whole quoted string is a local part */
  CHECK(addr_split("\"victim@evil.example\"", 21, &at) == 0 && at == 21);
  CHECK(addr_split("\"a\\\"@b\"", 7, &at) == 0 && at == 7);
  CHECK(addr_split("\"\"", 2, &at) == 0 && at == 2);
  CHECK(addr_split("\"", 1, &at) == 0 && at == 1);
  CHECK(addr_split("\"@", 2, &at) == 1 && at == 1);         /* unterminated */
  CHECK(addr_split("\"a@b\\\"", 7, &at) == 1 && at == 2);   /* the last quote escaped */
  CHECK(addr_split("\"a\"@\"", 5, &at) == 1 && at == 3);
  str_free(&a);
}

/* addr_parse_bare: the whole range is one address, no brackets, no blanks */
static int bare(const char *in, int flags, const char *want, int err)
{
  str out = STR_INIT;
  int r, ok;

  if (str_copys(&out, "junk") < 0) return 0;
  r = addr_parse_bare(in, strlen(in), flags, &out);
  ok = r == err && out.len == (want ? strlen(want) : 0) && (!want || out.len == 0 || memcmp(out.s, want, out.len) == 0);
  if (!ok) {
    check_outs("  bare ");
    check_outs(in);
    check_outs(": ");
    check_outs(addr_strerror(r));
    check_outs(" ");
    check_out(out.s ? out.s : "", out.len);
    check_outs("\n");
  }
  str_free(&out);
  return ok;
}

static void test_bare(void)
{
  int q = ADDR_LENIENT | ADDR_UTF8 | ADDR_LONG;

  CHECK(bare("a@b.example", q, "a@b.example", ADDR_OK));
  CHECK(bare("\"john\"@b.example", q, "john@b.example", ADDR_OK));
  CHECK(bare("\"john doe\"@b.example", q, "\"john doe\"@b.example", ADDR_OK));
  CHECK(bare("\"victim@evil.example\"@b.example", q, "\"victim@evil.example\"@b.example", ADDR_OK));
  CHECK(bare("@r.example:a@b.example", q, "a@b.example", ADDR_OK));
  CHECK(bare("", q | ADDR_ALLOW_NULL, "", ADDR_OK));
  CHECK(bare("", q, 0, ADDR_ENULL));
  /* the attacks: an unterminated or stray quote never parses */
  CHECK(bare("\"victim@evil.example", q | ADDR_ALLOW_NODOMAIN, 0, ADDR_ESYNTAX));
  CHECK(bare("a\"@evil.example", q | ADDR_ALLOW_NODOMAIN, 0, ADDR_ESYNTAX));
  CHECK(bare("\"a\\\"@evil.example", q | ADDR_ALLOW_NODOMAIN, 0, ADDR_ESYNTAX));
  CHECK(bare("victim@evil.example\"", q, 0, ADDR_ESYNTAX));
  CHECK(bare("\"x\"\"@evil.example", q, 0, ADDR_ESYNTAX));
  CHECK(bare("a@b@evil.example", q, 0, ADDR_ESYNTAX));
  /* no brackets, no blanks, nothing after the address */
  CHECK(bare("<a@b.example>", q, 0, ADDR_ESYNTAX));
  CHECK(bare("<>", q | ADDR_ALLOW_NULL, 0, ADDR_ESYNTAX));
  CHECK(bare(" a@b.example", q, 0, ADDR_ESYNTAX));
  CHECK(bare("a@b.example ", q, 0, ADDR_ESYNTAX));
  CHECK(bare("a@b.example\tX", q, 0, ADDR_ESYNTAX));
  CHECK(bare("a@b.example>", q, 0, ADDR_ESYNTAX));
  {
    str out = STR_INIT;
    CHECK(addr_parse_bare("a@b\0@c", 6, q, &out) == ADDR_ESYNTAX && out.len == 0);
    CHECK(addr_parse_bare("a@b\r\n", 5, q, &out) == ADDR_ESYNTAX && out.len == 0);
    str_free(&out);
  }
  /* a local part alone: postmaster only, or anything when allowed */
  CHECK(bare("victim", q, 0, ADDR_ENODOMAIN));
  CHECK(bare("victim", q | ADDR_ALLOW_POSTMASTER, 0, ADDR_ENODOMAIN));
  CHECK(bare("PostMaster", q | ADDR_ALLOW_POSTMASTER, "PostMaster", ADDR_OK));
  CHECK(bare("\"postmaster\"", q | ADDR_ALLOW_POSTMASTER, "postmaster", ADDR_OK));
  CHECK(bare("\"a@b\"", q | ADDR_ALLOW_POSTMASTER, 0, ADDR_ENODOMAIN));
  CHECK(bare("\"a@b\"", q | ADDR_ALLOW_NODOMAIN, "\"a@b\"", ADDR_OK));
  CHECK(bare("postmaster@b.example", q | ADDR_ALLOW_POSTMASTER, "postmaster@b.example", ADDR_OK));
  /* the same flag through the bracketed parser */
  CHECK(good("<Postmaster>", ADDR_ALLOW_POSTMASTER, "Postmaster"));
  CHECK(bad("<joe>", ADDR_ALLOW_POSTMASTER, ADDR_ENODOMAIN));
}

/* Every canonical address the parser gives splits where the parser saw
 * the '@', so that the relay check and the routing agree. */
static void test_canonical_split(void)
{
  static const char *const in[] = {
    "a@b.example", "\"a@b\"@c.example", "\"a b\"@c.example", "\"a\\\"@x\"@c.example", "\"\\\\\"@c.example",
    "\"a%b@c\"@d.example", "a@[192.0.2.1]", "\"@\"@[IPv6:::1]",
  };
  str out = STR_INIT;
  size_t k, at;

  for (k = 0; k < sizeof in / sizeof in[0]; ++k) {
    size_t n = strlen(in[k]);
    CHECK(addr_parse_bare(in[k], n, ADDR_LENIENT, &out) == ADDR_OK);
    CHECK(addr_split(out.s, out.len, &at) == 1);
    CHECK(at < out.len && out.s[at] == '@' && byte_rchr(out.s, out.len, '@') == at);
  }
  str_free(&out);
}

static void test_reuse(void)
{
  /* the caller's str is reused and emptied on error */
  str out = STR_INIT;
  size_t used = 0;
  CHECK(addr_parse_path("<a@b>", 5, 0, &out, &used) == ADDR_OK && out.len == 3);
  CHECK(addr_parse_path("<cc@dd>", 7, 0, &out, &used) == ADDR_OK);
  CHECK_BYTES(out.s, out.len, "cc@dd");
  CHECK(addr_parse_path("<cc@dd", 6, 0, &out, &used) == ADDR_ESYNTAX && out.len == 0 && used == 7);
  CHECK(addr_parse_path("<>", 2, NUL_OK, &out, &used) == ADDR_OK && out.len == 0 && used == 2);
  str_free(&out);
  errno = 0;
}

int main(void)
{
  test_basic();
  test_null_route_nodomain();
  test_lenient();
  test_quoted();
  test_literal();
  test_controls();
  test_utf8();
  test_limits();
  test_strerror_split();
  test_split_tricks();
  test_bare();
  test_canonical_split();
  test_reuse();
  return check_done();
}
