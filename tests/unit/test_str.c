/* test_str.c: str, byte, size, fmt and scan. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "byte.h"
#include "check.h"
#include "fmt.h"
#include "scan.h"
#include "size.h"
#include "str.h"

static void test_str(void)
{
  str a = STR_INIT, b = STR_INIT;
  size_t i;

  CHECK(str_copys(&a, "") == 0 && a.len == 0);
  CHECK(str_catb(&a, "a\0b", 3) == 0 && a.len == 3);
  CHECK(a.s[1] == 0 && a.s[2] == 'b');
  CHECK(str_catc(&a, 0) == 0 && a.len == 4);
  CHECK(str_0(&a) == 0 && a.len == 4 && a.s[4] == 0);
  CHECK(str_copy(&b, &a) == 0 && b.len == 4 && byte_equal(a.s, b.s, 4));
  /* appending a string to itself survives the realloc */
  CHECK(str_copys(&a, "xyz") == 0);
  for (i = 0; i < 10; ++i) CHECK(str_catb(&a, a.s, a.len) == 0);
  CHECK(a.len == 3 * 1024);
  CHECK(a.s[3 * 1024 - 1] == 'z' && a.s[3 * 512] == 'x');
  CHECK(str_catulong(&b, 0) == 0);
  CHECK(str_catulong(&b, ULONG_MAX) == 0);
  CHECK(b.len == 4 + 1 + 20);
  str_truncate(&b, 2);
  CHECK(b.len == 2);
  str_truncate(&b, 10);
  CHECK(b.len == 2);
  CHECK(str_copys(&b, "hello") == 0 && str_equals(&b, "hello") && !str_equals(&b, "hell"));

  /* sizes near SIZE_MAX fail cleanly and leave the string alone */
  errno = 0;
  CHECK(str_ready(&b, SIZE_MAX) == -1 && errno == EOVERFLOW);
  CHECK(str_readyplus(&b, SIZE_MAX - 2) == -1);
  CHECK(str_catb(&b, "x", SIZE_MAX) == -1);
  CHECK(str_equals(&b, "hello"));
  errno = 0;
  CHECK(str_ready(&b, SIZE_MAX / 2) == -1 && errno == ENOMEM);
  CHECK(str_equals(&b, "hello"));
  str_free(&a);
  str_free(&b);
  CHECK(a.s == 0 && a.len == 0 && a.a == 0);
  /* an empty str is usable without setup */
  CHECK(str_0(&a) == 0 && a.s[0] == 0);
  str_free(&a);
}

static void test_size(void)
{
  size_t r = 7;
  CHECK(size_add(&r, SIZE_MAX, 1) == -1 && r == 7);
  CHECK(size_add(&r, SIZE_MAX - 1, 1) == 0 && r == SIZE_MAX);
  CHECK(size_mul(&r, SIZE_MAX / 2 + 1, 2) == -1 && r == SIZE_MAX);
  CHECK(size_mul(&r, 0, SIZE_MAX) == 0 && r == 0);
}

static void test_byte(void)
{
  CHECK(byte_chr("abc", 3, 'c') == 2);
  CHECK(byte_chr("abc", 3, 'd') == 3);
  CHECK(byte_chr("", 0, 'a') == 0);
  CHECK(byte_chr("a\0b", 3, 0) == 1);
  CHECK(byte_rchr("abcabc", 6, 'a') == 3);
  CHECK(byte_rchr("abc", 3, 'x') == 3);
  CHECK(case_equalb("Example.COM", 11, "example.com", 11));
  CHECK(!case_equalb("example.co", 10, "example.com", 11));
  CHECK(!case_equalb("a[", 2, "a{", 2)); /* no folding outside letters */
  CHECK(byte_startswith("MAIL FROM:<>", 12, "mail from:", 1));
  CHECK(!byte_startswith("MAIL FROM:<>", 12, "mail from:", 0));
  CHECK(!byte_startswith("MAIL", 4, "MAIL FROM", 1));
  {
    char s[] = "MiXeD-1@";
    case_lowerb(s, 8);
    CHECK_BYTES(s, 8, "mixed-1@");
  }
  CHECK(byte_len("abc", 10) == 3 && byte_len("abc", 2) == 2);
}

static void test_fmt_scan(void)
{
  char b[FMT_ULONG];
  unsigned long u = 99;
  CHECK_BYTES(b, fmt_ulong(b, 0), "0");
  CHECK_BYTES(b, fmt_ulong(b, 1234567890UL), "1234567890");
  CHECK(fmt_ulong(0, ULONG_MAX) == 20);
  CHECK_BYTES(b, fmt_ulong(b, ULONG_MAX), "18446744073709551615");
  CHECK_BYTES(b, fmt_ulong0(b, 7, 3), "007");
  CHECK_BYTES(b, fmt_ulong0(b, 1234, 2), "1234");
  CHECK_BYTES(b, fmt_xlong(b, 0xdeadbeefUL), "deadbeef");
  CHECK_BYTES(b, fmt_long(b, -42), "-42");
  CHECK_BYTES(b, fmt_long(b, LONG_MIN), "-9223372036854775808");

  CHECK(scan_ulong("123abc", 6, &u) == 3 && u == 123);
  u = 99;
  CHECK(scan_ulong("abc", 3, &u) == 0 && u == 99);
  CHECK(scan_ulong("", 0, &u) == 0 && u == 99);
  CHECK(scan_ulong("18446744073709551615", 20, &u) == 20 && u == ULONG_MAX);
  u = 99;
  CHECK(scan_ulong("18446744073709551616", 20, &u) == 0 && u == 99);
  CHECK(scan_ulong("99999999999999999999999", 23, &u) == 0 && u == 99);
  CHECK(scan_xlong("fFz", 3, &u) == 2 && u == 255);
  CHECK(scan_ulong_exact("42", 2, &u) == 0 && u == 42);
  CHECK(scan_ulong_exact("42 ", 3, &u) == -1 && errno == EINVAL);
  CHECK(scan_ulong_exact("", 0, &u) == -1);
  CHECK(scan_ulong_exact("18446744073709551616", 20, &u) == -1 && errno == ERANGE);
}

int main(void)
{
  test_str();
  test_size();
  test_byte();
  test_fmt_scan();
  return check_done();
}
