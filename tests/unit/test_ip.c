/* test_ip.c: ip4_scan, ip4_fmt, ip6_scan, ip6_fmt. */
#include <string.h>

#include "check.h"
#include "ip.h"

/* scans s whole as IPv4 and formats it back */
static int ip4_round(const char *s, const char *want)
{
  unsigned char ip[4];
  char buf[IP4_FMT];
  size_t n = strlen(s), len;
  if (ip4_scan(s, n, ip) != n) return 0;
  len = ip4_fmt(buf, ip);
  return len == strlen(want) && memcmp(buf, want, len) == 0 && ip4_fmt(0, ip) == len;
}

static int ip4_bad(const char *s)
{
  unsigned char ip[4] = { 9, 9, 9, 9 };
  size_t n = strlen(s), r = ip4_scan(s, n, ip);
  if (r == 0) return ip[0] == 9 && ip[3] == 9; /* untouched on failure */
  return r != n;
}

static int ip6_round(const char *s, const char *want)
{
  unsigned char ip[16];
  char buf[IP6_FMT];
  size_t n = strlen(s), len;
  if (ip6_scan(s, n, ip) != n) return 0;
  len = ip6_fmt(buf, ip);
  return len == strlen(want) && memcmp(buf, want, len) == 0 && ip6_fmt(0, ip) == len;
}

static int ip6_bad(const char *s)
{
  unsigned char ip[16];
  size_t n = strlen(s), r;
  memset(ip, 7, sizeof ip);
  r = ip6_scan(s, n, ip);
  if (r == 0) return ip[0] == 7 && ip[15] == 7; /* untouched on failure */
  return r != n;
}

static void test_ip4(void)
{
  unsigned char ip[4];
  char buf[IP4_FMT];

  CHECK(ip4_scan("1.2.3.4", 7, ip) == 7);
  CHECK(ip[0] == 1 && ip[1] == 2 && ip[2] == 3 && ip[3] == 4);
  CHECK(ip4_round("127.0.0.1", "127.0.0.1"));
  CHECK(ip4_round("0.0.0.0", "0.0.0.0"));
  CHECK(ip4_round("255.255.255.255", "255.255.255.255"));
  CHECK(ip4_round("192.168.100.10", "192.168.100.10"));
  CHECK(ip4_fmt(buf, ip) == 7);
  CHECK_BYTES(buf, 7, "1.2.3.4");

  /* trailing bytes are left to the caller */
  CHECK(ip4_scan("1.2.3.4]", 8, ip) == 7);
  CHECK(ip4_scan("1.2.3.4.5", 9, ip) == 7);
  CHECK(ip4_scan("10.0.0.1:25", 11, ip) == 8);
  /* the length is honoured: no reading past n */
  CHECK(ip4_scan("1.2.3.45", 7, ip) == 7 && ip[3] == 4);

  CHECK(ip4_bad(""));
  CHECK(ip4_bad("1"));
  CHECK(ip4_bad("1.2.3"));
  CHECK(ip4_bad("1.2.3."));
  CHECK(ip4_bad("256.1.1.1"));
  CHECK(ip4_bad("1.1.1.256"));
  CHECK(ip4_bad("300.1.1.1"));
  CHECK(ip4_bad("01.2.3.4"));
  CHECK(ip4_bad("1.2.3.04"));
  CHECK(ip4_bad("1.2.3.00"));
  CHECK(ip4_bad("1.2.3.1234"));
  CHECK(ip4_bad("0001.2.3.4"));
  CHECK(ip4_bad("1..2.3"));
  CHECK(ip4_bad(".1.2.3.4"));
  CHECK(ip4_bad("-1.2.3.4"));
  CHECK(ip4_bad("+1.2.3.4"));
  CHECK(ip4_bad(" 1.2.3.4"));
  CHECK(ip4_bad("a.b.c.d"));
  CHECK(ip4_bad("0x1.2.3.4"));
  CHECK(ip4_scan("1.2\0.3.4", 8, ip) == 0);
  CHECK(ip4_scan("1.2.3.4", 6, ip) == 0);
}

static void test_ip6_scan(void)
{
  static const unsigned char loop[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
  static const unsigned char doc[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
  static const unsigned char mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4 };
  static const unsigned char full[16] = { 0x12, 0x34, 0xab, 0xcd, 0, 1, 0, 0x22, 0x03, 0x33,
                                          0x44, 0x44, 0xff, 0xff, 0, 0 };
  unsigned char ip[16];

  CHECK(ip6_scan("::1", 3, ip) == 3 && memcmp(ip, loop, 16) == 0);
  CHECK(ip6_scan("0:0:0:0:0:0:0:1", 15, ip) == 15 && memcmp(ip, loop, 16) == 0);
  CHECK(ip6_scan("0000:0000:0000:0000:0000:0000:0000:0001", 39, ip) == 39 && memcmp(ip, loop, 16) == 0);
  CHECK(ip6_scan("2001:db8::1", 11, ip) == 11 && memcmp(ip, doc, 16) == 0);
  CHECK(ip6_scan("2001:DB8::1", 11, ip) == 11 && memcmp(ip, doc, 16) == 0);
  CHECK(ip6_scan("2001:0db8:0:0::0:1", 18, ip) == 18 && memcmp(ip, doc, 16) == 0);
  CHECK(ip6_scan("::ffff:1.2.3.4", 14, ip) == 14 && memcmp(ip, mapped, 16) == 0);
  CHECK(ip6_scan("::FFFF:102:304", 14, ip) == 14 && memcmp(ip, mapped, 16) == 0);
  CHECK(ip6_scan("0:0:0:0:0:ffff:1.2.3.4", 22, ip) == 22 && memcmp(ip, mapped, 16) == 0);
  CHECK(ip6_scan("1234:abcd:1:22:333:4444:ffff:0", 30, ip) == 30 && memcmp(ip, full, 16) == 0);
  CHECK(ip6_scan("::", 2, ip) == 2 && ip[0] == 0 && ip[15] == 0);
  CHECK(ip6_scan("1::", 3, ip) == 3 && ip[1] == 1 && ip[15] == 0);
  CHECK(ip6_scan("1:2:3:4:5:6:7::", 15, ip) == 15 && ip[13] == 7 && ip[15] == 0);
  CHECK(ip6_scan("::2:3:4:5:6:7:8", 15, ip) == 15 && ip[1] == 0 && ip[3] == 2);
  CHECK(ip6_scan("1:2:3:4:5:6:1.2.3.4", 19, ip) == 19 && ip[11] == 6 && ip[15] == 4);
  CHECK(ip6_scan("::1.2.3.4", 9, ip) == 9 && ip[11] == 0 && ip[12] == 1);

  /* trailing bytes are left to the caller */
  CHECK(ip6_scan("::1]", 4, ip) == 3);
  CHECK(ip6_scan("1:2:3:4:5:6:7:8:", 16, ip) == 15);
  CHECK(ip6_scan("1:2:3:4:5:6:7:8:9", 17, ip) == 15);
  CHECK(ip6_scan(":::", 3, ip) == 2);
  CHECK(ip6_scan("1::2 x", 6, ip) == 4);

  CHECK(ip6_bad(""));
  CHECK(ip6_bad(":"));
  CHECK(ip6_bad(":1"));
  CHECK(ip6_bad(":1::"));
  CHECK(ip6_bad("1"));
  CHECK(ip6_bad("1:2"));
  CHECK(ip6_bad("1:2:3:4:5:6:7"));
  CHECK(ip6_bad("1::2::3"));
  CHECK(ip6_bad("::1::"));
  CHECK(ip6_bad("1:2:3:4:5:6:7:8::"));
  CHECK(ip6_bad("1:2:3:4::5:6:7:8"));
  CHECK(ip6_bad("12345::"));
  CHECK(ip6_bad("::12345"));
  CHECK(ip6_bad("g::1"));
  CHECK(ip6_bad("1.2.3.4"));
  CHECK(ip6_bad("::1.2.3"));
  CHECK(ip6_bad("::1.2.3.04"));
  CHECK(ip6_bad("::256.2.3.4"));
  CHECK(ip6_bad("1:2:3:4:5:6:7:1.2.3.4"));
  CHECK(ip6_bad("1:2:3:4:5:6::1.2.3.4"));
  CHECK(ip6_bad("::ffff:1.2.3.4:5"));
  CHECK(ip6_bad("1:2:3:4:5:6:7:8:9"));
  CHECK(ip6_scan("::ffff:1.2.3.4:5", 16, ip) == 14);
  CHECK(ip6_scan("1:2:3:4:5:6:7:8::", 17, ip) == 15);
  CHECK(ip6_scan("", 0, ip) == 0);
  CHECK(ip6_scan("::", 1, ip) == 0);
  CHECK(ip6_scan("::1\0", 4, ip) == 3);
  CHECK(ip6_scan("1:\0:2", 5, ip) == 0);
}

static void test_ip6_fmt(void)
{
  static const unsigned char big[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
  char buf[IP6_FMT];

  CHECK(ip6_round("::", "::"));
  CHECK(ip6_round("::1", "::1"));
  CHECK(ip6_round("0:0:0:0:0:0:0:1", "::1"));
  CHECK(ip6_round("1::", "1::"));
  CHECK(ip6_round("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"));
  CHECK(ip6_round("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"));       /* first run on a tie */
  CHECK(ip6_round("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"));             /* the longest run */
  CHECK(ip6_round("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"));    /* one zero group stays */
  CHECK(ip6_round("2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1"));
  CHECK(ip6_round("1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"));
  CHECK(ip6_round("0:0:1:0:0:0:1:0", "0:0:1::1:0"));
  CHECK(ip6_round("0:1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7"));
  CHECK(ip6_round("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"));
  CHECK(ip6_round("1:2:3:4:5:6:0:0", "1:2:3:4:5:6::"));
  CHECK(ip6_round("0:0:3:4:5:6:7:8", "::3:4:5:6:7:8"));
  CHECK(ip6_round("fe80::0a:00B0:c", "fe80::a:b0:c"));
  CHECK(ip6_round("::ffff:1.2.3.4", "::ffff:1.2.3.4"));
  CHECK(ip6_round("::ffff:0:0", "::ffff:0.0.0.0"));
  CHECK(ip6_round("::FFFF:c000:0280", "::ffff:192.0.2.128"));
  CHECK(ip6_round("::1.2.3.4", "::102:304"));                          /* not mapped */
  CHECK(ip6_round("::fffe:1.2.3.4", "::fffe:102:304"));
  CHECK(ip6_round("64:ff9b::192.0.2.33", "64:ff9b::c000:221"));
  CHECK(ip6_fmt(buf, big) == 39 && IP6_FMT > 39);
  CHECK_BYTES(buf, 39, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  CHECK(ip6_fmt(0, big) == 39);
}

int main(void)
{
  test_ip4();
  test_ip6_scan();
  test_ip6_fmt();
  return check_done();
}
