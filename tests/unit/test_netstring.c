/* test_netstring.c: netstring_cat and netstring_parse. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "fmt.h"
#include "netstring.h"
#include "str.h"

/* parse s (a literal, its full length) with a given max */
static int parse(const char *s, size_t n, size_t max, size_t *off, size_t *len, size_t *used)
{
  return netstring_parse(s, n, max, off, len, used);
}

static int fails(const char *s, size_t max, int e)
{
  size_t off = 99, len = 99, used = 99;
  errno = 0;
  return parse(s, strlen(s), max, &off, &len, &used) == -1 && errno == e
         && off == 99 && len == 99 && used == 99;
}

static void test_encode(void)
{
  str out = STR_INIT;
  size_t i;

  CHECK(netstring_cat(&out, "", 0) == 0);
  CHECK_BYTES(out.s, out.len, "0:,");
  CHECK(netstring_cat(&out, "hello", 5) == 0);
  CHECK_BYTES(out.s, out.len, "0:,5:hello,");
  str_truncate(&out, 0);
  CHECK(netstring_cat(&out, "a\0b", 3) == 0);
  CHECK(out.len == 6 && memcmp(out.s, "3:a\0b,", 6) == 0);
  /* ten bytes: two length digits */
  str_truncate(&out, 0);
  CHECK(netstring_cat(&out, "0123456789", 10) == 0);
  CHECK_BYTES(out.s, out.len, "10:0123456789,");
  /* nested: a netstring of netstrings */
  {
    str inner = STR_INIT;
    CHECK(netstring_cat(&inner, "a", 1) == 0 && netstring_cat(&inner, "bc", 2) == 0);
    str_truncate(&out, 0);
    CHECK(netstring_cat(&out, inner.s, inner.len) == 0);
    CHECK_BYTES(out.s, out.len, "9:1:a,2:bc,,");
    str_free(&inner);
  }
  /* encoding a str into itself survives the realloc */
  str_truncate(&out, 0);
  CHECK(str_copys(&out, "xyz") == 0);
  for (i = 0; i < 6; ++i) CHECK(netstring_cat(&out, out.s, out.len) == 0);
  CHECK(out.len > 100);
  {
    str t = STR_INIT;
    CHECK(str_copys(&t, "ab") == 0);
    CHECK(netstring_cat(&t, t.s, t.len) == 0);
    CHECK_BYTES(t.s, t.len, "ab2:ab,");
    CHECK(netstring_cat(&t, t.s + 2, 3) == 0);
    CHECK_BYTES(t.s, t.len, "ab2:ab,3:2:a,");
    str_free(&t);
  }
  /* an impossible size fails and leaves out alone */
  str_truncate(&out, 0);
  CHECK(str_copys(&out, "keep") == 0);
  errno = 0;
  CHECK(netstring_cat(&out, "x", SIZE_MAX) == -1 && errno == EOVERFLOW);
  CHECK(netstring_cat(&out, "x", SIZE_MAX - 3) == -1);
  CHECK(str_equals(&out, "keep"));
  str_free(&out);
}

static void test_decode(void)
{
  size_t off = 0, len = 0, used = 0;

  CHECK(parse("0:,", 3, 0, &off, &len, &used) == 1 && off == 2 && len == 0 && used == 3);
  CHECK(parse("5:hello,", 8, 5, &off, &len, &used) == 1 && off == 2 && len == 5 && used == 8);
  CHECK(parse("12:hello world!,", 16, 1000, &off, &len, &used) == 1);
  CHECK(off == 3 && len == 12 && used == 16);
  /* embedded NULs are data */
  CHECK(parse("3:\0\0\0,", 6, 3, &off, &len, &used) == 1 && off == 2 && len == 3 && used == 6);
  /* a ',' or ':' inside the data means nothing */
  CHECK(parse("3:,:,,", 6, 3, &off, &len, &used) == 1 && len == 3 && used == 6);
  /* trailing bytes are left unconsumed */
  CHECK(parse("1:a,garbage", 11, 10, &off, &len, &used) == 1 && used == 4 && len == 1);
  CHECK(parse("1:a,1:b,", 8, 10, &off, &len, &used) == 1 && used == 4);
  /* nested: the data of the outer one decodes again */
  {
    const char *s = "9:1:a,2:bc,,";
    size_t o2, l2, u2;
    CHECK(parse(s, 12, 100, &off, &len, &used) == 1 && off == 2 && len == 9 && used == 12);
    CHECK(parse(s + off, len, 100, &o2, &l2, &u2) == 1 && l2 == 1 && s[off + o2] == 'a' && u2 == 4);
    CHECK(parse(s + off + u2, len - u2, 100, &o2, &l2, &u2) == 1 && l2 == 2 && u2 == 5);
  }
  /* max: the bound itself is fine, one more is not */
  CHECK(parse("5:hello,", 8, 5, &off, &len, &used) == 1);
  CHECK(fails("5:hello,", 4, EMSGSIZE));
  /* too long is known from the digits alone, before the data */
  CHECK(fails("1000", 999, EMSGSIZE));
  CHECK(fails("1000:", 999, EMSGSIZE));
  CHECK(fails("1", 0, EMSGSIZE));
  /* syntax */
  CHECK(fails(":,", 100, EPROTO));
  CHECK(fails("00:,", 100, EPROTO));
  CHECK(fails("01:a,", 100, EPROTO));
  CHECK(fails("007:abcdefg,", 100, EPROTO));
  CHECK(fails("-1:a,", 100, EPROTO));
  CHECK(fails("+1:a,", 100, EPROTO));
  CHECK(fails(" 1:a,", 100, EPROTO));
  CHECK(fails("1 :a,", 100, EPROTO));
  CHECK(fails("1x", 100, EPROTO));
  CHECK(fails("1,a,", 100, EPROTO));
  CHECK(fails("1:ab", 100, EPROTO));
  CHECK(fails("1:a;", 100, EPROTO));
  CHECK(fails("0:x", 100, EPROTO));
  CHECK(fails("0;", 100, EPROTO));
  CHECK(fails("a", 100, EPROTO));
  {
    size_t o = 0, l = 0, u = 0;
    errno = 0;
    CHECK(parse("\0:,", 3, 100, &o, &l, &u) == -1 && errno == EPROTO);
    CHECK(parse("1\0a,", 4, 100, &o, &l, &u) == -1 && errno == EPROTO);
  }
}

static void test_huge(void)
{
  char b[FMT_ULONG + 8];
  size_t n, off = 7, len = 7, used = 7;

  /* SIZE_MAX itself with max SIZE_MAX: the digits fit, but the whole
   * netstring could never fit in memory: too big, not "need more" */
  n = fmt_ulong(b, (unsigned long)SIZE_MAX);
  CHECK(parse(b, n, SIZE_MAX, &off, &len, &used) == 0);
  b[n++] = ':';
  errno = 0;
  CHECK(parse(b, n, SIZE_MAX, &off, &len, &used) == -1 && errno == EMSGSIZE && off == 7);
  /* a length just below that still asks for more */
  n = fmt_ulong(b, (unsigned long)(SIZE_MAX - 30));
  b[n++] = ':';
  b[n++] = 'x';
  CHECK(parse(b, n, SIZE_MAX, &off, &len, &used) == 0 && off == 7);
  /* but not when max is smaller */
  errno = 0;
  CHECK(parse(b, n, SIZE_MAX - 31, &off, &len, &used) == -1 && errno == EMSGSIZE);
  if (sizeof(size_t) == 8) {
    CHECK(parse("18446744073709551615", 20, SIZE_MAX, &off, &len, &used) == 0);
    CHECK(fails("18446744073709551615:", SIZE_MAX, EMSGSIZE));
    CHECK(parse("18446744073709551590:", 21, SIZE_MAX, &off, &len, &used) == 0);
    CHECK(fails("18446744073709551616:", SIZE_MAX, EMSGSIZE));
    CHECK(fails("18446744073709551616", SIZE_MAX, EMSGSIZE));
    CHECK(fails("184467440737095516150:", SIZE_MAX, EMSGSIZE));
    CHECK(fails("99999999999999999999999999999999999999:", SIZE_MAX, EMSGSIZE));
    CHECK(fails("18446744073709551614:", SIZE_MAX - 2, EMSGSIZE));
  }
  if (sizeof(size_t) == 4) {
    CHECK(fails("4294967296:", SIZE_MAX, EMSGSIZE));
  }
}

static void test_prefixes(void)
{
  static const char *const good[] = { "0:,", "5:hello,", "12:hello world!,", "9:1:a,2:bc,," };
  size_t g, k, off, len, used;

  /* every proper prefix of a valid netstring asks for more; the whole
   * one completes; adding bytes after it changes nothing */
  for (g = 0; g < sizeof good / sizeof good[0]; ++g) {
    const char *s = good[g];
    size_t n = strlen(s);
    int allmore = 1;
    for (k = 0; k < n; ++k) {
      off = len = used = 77;
      if (parse(s, k, 1000, &off, &len, &used) != 0 || off != 77 || used != 77) allmore = 0;
    }
    CHECK(allmore);
    CHECK(parse(s, n, 1000, &off, &len, &used) == 1 && used == n && off + len + 1 == n);
  }
  /* a bad one fails at the first bad byte and not before */
  CHECK(parse("01:", 1, 100, &off, &len, &used) == 0);
  CHECK(parse("01:", 2, 100, &off, &len, &used) == -1);
  CHECK(parse("2:ab;", 4, 100, &off, &len, &used) == 0);
  CHECK(parse("2:ab;", 5, 100, &off, &len, &used) == -1 && errno == EPROTO);
}

static void test_roundtrip(void)
{
  str enc = STR_INIT;
  char data[300];
  size_t i, off, len, used;
  int ok = 1;

  for (i = 0; i < sizeof data; ++i) data[i] = (char)(i * 7);
  for (i = 0; i <= sizeof data; ++i) {
    str_truncate(&enc, 0);
    if (netstring_cat(&enc, data, i) < 0) { ok = 0; break; }
    if (netstring_parse(enc.s, enc.len, i, &off, &len, &used) != 1) { ok = 0; break; }
    if (len != i || used != enc.len || memcmp(enc.s + off, data, i) != 0) { ok = 0; break; }
  }
  CHECK(ok);
  str_free(&enc);
}

int main(void)
{
  test_encode();
  test_decode();
  test_huge();
  test_prefixes();
  test_roundtrip();
  return check_done();
}
