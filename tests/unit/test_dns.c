/* test_dns.c: dns_packet_query, dns_packet_parse (hand-built answers,
 * good and hostile, PTR included), dns_conf_load and dns_conf_resolv,
 * the total deadline of a dns_conf against a server that never answers. The resolver's
 * network side is tested by tests/sh/70-dns.sh against tests/helpers/dnsd. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include "check.h"
#include "deadline.h"
#include "dns.h"
#include "str.h"

/* ---- a tiny packet builder ---- */

static str pk = STR_INIT;

static void put(const char *s, size_t n)
{
  if (str_catb(&pk, s, n) < 0) abort();
}

static void put8(unsigned v)
{
  char c = (char)v;
  put(&c, 1);
}

static void put16(unsigned v)
{
  put8(v >> 8 & 0xff);
  put8(v & 0xff);
}

static void put32(unsigned long v)
{
  put16((unsigned)(v >> 16 & 0xffff));
  put16((unsigned)(v & 0xffff));
}

/* dotted text as uncompressed labels and the root; "" is the root */
static void putname(const char *name)
{
  const char *p = name;
  while (*p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    put8((unsigned)n);
    put(p, n);
    p += n;
    if (*p == '.') ++p;
  }
  put8(0);
}

/* labels without the root, then a pointer to off */
static void putname_ptr(const char *labels, unsigned off)
{
  const char *p = labels;
  while (*p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    put8((unsigned)n);
    put(p, n);
    p += n;
    if (*p == '.') ++p;
  }
  put16(0xc000 | off);
}

/* header: id, flags (QR set by the caller), counts */
static void header(unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
  str_truncate(&pk, 0);
  put16(id);
  put16(flags);
  put16(qd);
  put16(an);
  put16(ns);
  put16(ar);
}

static void question(const char *name, unsigned type)
{
  putname(name);
  put16(type);
  put16(1);
}

/* the fixed part of a record after its owner */
static void rrfix(unsigned type, unsigned rdlen)
{
  put16(type);
  put16(1);
  put32(3600);
  put16(rdlen);
}

/* Offset of the rdlength just written, to patch once the rdata is in. */
static size_t rdlen_at(void) { return pk.len - 2; }

static void rdlen_patch(size_t at)
{
  size_t n = pk.len - at - 2;
  pk.s[at] = (char)(n >> 8);
  pk.s[at + 1] = (char)(n & 0xff);
}

#define QR 0x8180 /* QR, RD, RA */

static str out = STR_INIT, cname = STR_INIT;
static size_t count;
static int tc;

/* Parses pk from a block of exactly its size, so ASan sees overreads. */
static int parse_as(unsigned id, const char *name, unsigned type)
{
  char *copy = malloc(pk.len ? pk.len : 1);
  int r;
  if (!copy) abort();
  memcpy(copy, pk.s, pk.len);
  errno = 0;
  r = dns_packet_parse(copy, pk.len, (unsigned short)id, name, strlen(name), (unsigned short)type, &out, &count,
                       &tc, &cname);
  free(copy);
  return r;
}

static int parse_proto(unsigned id, const char *name, unsigned type)
{
  int r = parse_as(id, name, type);
  return r == -1 && errno == EPROTO && count == 0;
}

/* ---- queries ---- */

static void test_query(void)
{
  str q = STR_INIT;
  char big[300];
  size_t i;

  CHECK(dns_packet_query(&q, 0x1234, "Example.test.", 13, DNS_T_MX) == 0);
  CHECK(q.len == 30 && memcmp(q.s, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                                    "\x07" "Example\x04test\x00\x00\x0f\x00\x01", 30) == 0);
  /* appends */
  CHECK(dns_packet_query(&q, 0xffff, "a", 1, DNS_T_AAAA) == 0);
  CHECK(q.len == 30 + 12 + 3 + 4);
  CHECK(memcmp(q.s + 30, "\xff\xff\x01\x00", 4) == 0);
  CHECK(memcmp(q.s + 30 + 12, "\x01" "a\x00\x00\x1c\x00\x01", 7) == 0);
  /* the root, with or without the dot */
  str_truncate(&q, 0);
  CHECK(dns_packet_query(&q, 1, "", 0, DNS_T_MX) == 0);
  CHECK(q.len == 17 && q.s[12] == 0);
  str_truncate(&q, 0);
  CHECK(dns_packet_query(&q, 1, ".", 1, DNS_T_MX) == 0);
  CHECK(q.len == 17 && q.s[12] == 0);

  /* bad names leave q alone */
  str_truncate(&q, 0);
  errno = 0;
  CHECK(dns_packet_query(&q, 1, "a..b", 4, DNS_T_A) == -1 && errno == EINVAL && q.len == 0);
  CHECK(dns_packet_query(&q, 1, ".a", 2, DNS_T_A) == -1 && errno == EINVAL);
  CHECK(dns_packet_query(&q, 1, "a..", 3, DNS_T_A) == -1 && errno == EINVAL);
  CHECK(dns_packet_query(&q, 1, "a b", 3, DNS_T_A) == -1 && errno == EINVAL);
  CHECK(dns_packet_query(&q, 1, "a\0b", 3, DNS_T_A) == -1 && errno == EINVAL);
  CHECK(dns_packet_query(&q, 1, "a\x80", 2, DNS_T_A) == -1 && errno == EINVAL);
  memset(big, 'x', sizeof big);
  CHECK(dns_packet_query(&q, 1, big, 63, DNS_T_A) == 0);
  str_truncate(&q, 0);
  CHECK(dns_packet_query(&q, 1, big, 64, DNS_T_A) == -1 && errno == EINVAL && q.len == 0);
  /* 253 bytes of text are 255 in wire form: the most there may be */
  for (i = 63; i < 253; i += 64) big[i] = '.';
  CHECK(dns_packet_query(&q, 1, big, 253, DNS_T_A) == 0);
  CHECK(q.len == 12 + 255 + 4);
  str_truncate(&q, 0);
  CHECK(dns_packet_query(&q, 1, big, 254, DNS_T_A) == -1 && errno == EINVAL);
  big[253] = '.';
  CHECK(dns_packet_query(&q, 1, big, 254, DNS_T_A) == 0); /* a trailing dot costs nothing */
  str_free(&q);
}

/* ---- 0x20: the case of the question ---- */

static void test_case(void)
{
  static const char name[] = "mx1.Example-zone.TEST";
  unsigned char ones[4] = { 0xff, 0xff, 0xff, 0xff }, zeros[4] = { 0, 0, 0, 0 }, alt[4] = { 0x55, 0x55, 0x55, 0x55 };
  char n[sizeof name];
  str q = STR_INIT;
  size_t at;
  int differs = 0;

  memcpy(n, name, sizeof name);
  dns_case_mix(n, sizeof name - 1, ones);
  CHECK(memcmp(n, "MX1.EXAMPLE-ZONE.TEST", sizeof name) == 0);
  dns_case_mix(n, sizeof name - 1, zeros);
  CHECK(memcmp(n, "mx1.example-zone.test", sizeof name) == 0);
  /* bit i for byte i: digits, dots and hyphens take a bit and keep it */
  dns_case_mix(n, sizeof name - 1, alt);
  CHECK(memcmp(n, "Mx1.ExAmPlE-ZoNe.tEsT", sizeof name) == 0);
  /* the query carries the case as given */
  CHECK(dns_packet_query(&q, 9, n, sizeof name - 1, DNS_T_A) == 0);
  CHECK(q.len == 12 + 23 + 4 && memcmp(q.s + 12, "\x03Mx1\x0c" "ExAmPlE-ZoNe\x04tEsT\x00", 23) == 0);
  str_free(&q);

  /* An answer to "ExAmple.TEST" whose question says "example.test":
   * what a forger who did not see the query sends. It is not an answer
   * to our query at all (EPROTO, nothing taken), though it would be
   * a good answer to the name in lower case. */
  header(0x2020, QR, 1, 1, 0, 0);
  question("example.test", DNS_T_A);
  put16(0xc00c);
  rrfix(DNS_T_A, 4);
  put("\x0a\x06\x06\x06", 4);
  CHECK(parse_proto(0x2020, "ExAmple.TEST", DNS_T_A));
  CHECK(parse_proto(0x2020, "EXAMPLE.TEST", DNS_T_A));
  CHECK(parse_proto(0x2020, "example.tesT", DNS_T_A));
  CHECK(parse_as(0x2020, "example.test", DNS_T_A) == 0 && count == 1);
  /* one letter of the question changed in case: refused */
  at = 12 + 1 + 3;
  pk.s[at] = 'M';
  CHECK(parse_proto(0x2020, "example.test", DNS_T_A));
  CHECK(parse_as(0x2020, "exaMple.test", DNS_T_A) == 0 && count == 1);

  /* owners of records still match without case: an answer record may
   * spell the name its own way, only the question must echo ours */
  header(0x2021, QR, 1, 1, 0, 0);
  question("HoSt.TeSt", DNS_T_A);
  putname("host.TEST");
  rrfix(DNS_T_A, 4);
  put("\x7f\x00\x00\x01", 4);
  CHECK(parse_as(0x2021, "HoSt.TeSt", DNS_T_A) == 0 && count == 1);

  /* dns_case_mix from different random bits gives different names:
   * the bits really reach the letters */
  for (unsigned b = 1; b < 256 && !differs; b <<= 1) {
    unsigned char bits[4] = { (unsigned char)b, 0, 0, 0 };
    memcpy(n, name, sizeof name);
    dns_case_mix(n, sizeof name - 1, bits);
    if (memcmp(n, "mx1.example-zone.test", sizeof name) != 0) differs = 1;
  }
  CHECK(differs);
}

/* ---- good answers ---- */

/* An MX answer: "example.test" with two MX, compressed like a real
 * server does it. The question name sits at offset 12. */
static void build_mx(void)
{
  size_t at;
  header(0xbeef, QR, 1, 2, 0, 0);
  question("ExAmple.TEST", DNS_T_MX);
  put16(0xc00c);
  rrfix(DNS_T_MX, 0);
  at = rdlen_at();
  put16(10);
  putname_ptr("MX1", 12);
  rdlen_patch(at);
  put16(0xc00c);
  rrfix(DNS_T_MX, 0);
  at = rdlen_at();
  put16(20);
  putname("mx2.other.test");
  rdlen_patch(at);
}

static void test_good(void)
{
  size_t at, k;

  build_mx();
  CHECK(parse_as(0xbeef, "ExAmple.TEST", DNS_T_MX) == 0);
  CHECK(count == 2 && tc == 0 && cname.len == 0);
  CHECK(out.len == 2 + 17 + 2 + 15);
  CHECK(memcmp(out.s, "\x00\x0amx1.example.test\0", 19) == 0);
  CHECK(memcmp(out.s + 19, "\x00\x14mx2.other.test", 17) == 0);
  /* the question compares with an optional dot, but case included */
  CHECK(parse_as(0xbeef, "ExAmple.TEST.", DNS_T_MX) == 0 && count == 2);

  /* two A records, and an A record of another name that is ignored */
  header(7, QR, 1, 3, 0, 0);
  question("host.test", DNS_T_A);
  put16(0xc00c);
  rrfix(DNS_T_A, 4);
  put("\x7f\x00\x00\x01", 4);
  putname("other.test");
  rrfix(DNS_T_A, 4);
  put("\x09\x09\x09\x09", 4);
  put16(0xc00c);
  rrfix(DNS_T_A, 4);
  put("\x0a\x00\x00\x02", 4);
  CHECK(parse_as(7, "host.test", DNS_T_A) == 0);
  CHECK(count == 2 && out.len == 8 && memcmp(out.s, "\x7f\x00\x00\x01\x0a\x00\x00\x02", 8) == 0);

  /* AAAA, with an SOA in authority and an OPT record in additional */
  header(8, QR, 1, 1, 1, 1);
  question("v6.test", DNS_T_AAAA);
  put16(0xc00c);
  rrfix(DNS_T_AAAA, 16);
  put("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
  put16(0xc00c);
  rrfix(6, 0);
  at = rdlen_at();
  putname_ptr("ns", 12);
  putname_ptr("hostmaster", 12);
  put32(1); put32(2); put32(3); put32(4); put32(5);
  rdlen_patch(at);
  put8(0);
  put16(41); put16(1232); put32(0); put16(0);
  CHECK(parse_as(8, "v6.test", DNS_T_AAAA) == 0);
  CHECK(count == 1 && out.len == 16 && memcmp(out.s, "\x20\x01\x0d\xb8", 4) == 0 && out.s[15] == 1);

  /* a CNAME chain in the answer, records last */
  header(9, QR, 1, 3, 0, 0);
  question("alias.test", DNS_T_A);
  put16(0xc00c);
  rrfix(DNS_T_CNAME, 0);
  at = rdlen_at();
  putname("Mid.test");
  rdlen_patch(at);
  k = pk.len - 10; /* offset of "mid.test" in the first rdata */
  put16((unsigned)(0xc000 | k));
  rrfix(DNS_T_CNAME, 0);
  at = rdlen_at();
  putname("real.test");
  rdlen_patch(at);
  putname("real.test");
  rrfix(DNS_T_A, 4);
  put("\x01\x02\x03\x04", 4);
  CHECK(parse_as(9, "alias.test", DNS_T_A) == 0);
  CHECK(count == 1 && out.len == 4 && memcmp(out.s, "\x01\x02\x03\x04", 4) == 0 && cname.len == 0);
  /* asking for the CNAME itself gives the first link only */
  header(9, QR, 1, 1, 0, 0);
  question("alias.test", DNS_T_CNAME);
  put16(0xc00c);
  rrfix(DNS_T_CNAME, 0);
  at = rdlen_at();
  putname("mid.test");
  rdlen_patch(at);
  CHECK(parse_as(9, "alias.test", DNS_T_CNAME) == 0);
  CHECK(count == 1 && cname.len == 0);
  CHECK(out.len == 9 && memcmp(out.s, "mid.test", 9) == 0);

  /* records first, CNAME after: order does not matter */
  header(10, QR, 1, 2, 0, 0);
  question("alias.test", DNS_T_MX);
  putname("real.test");
  rrfix(DNS_T_MX, 0);
  at = rdlen_at();
  put16(5);
  putname("mx.real.test");
  rdlen_patch(at);
  put16(0xc00c);
  rrfix(DNS_T_CNAME, 0);
  at = rdlen_at();
  putname("REAL.test");
  rdlen_patch(at);
  CHECK(parse_as(10, "alias.test", DNS_T_MX) == 0 && count == 1 && cname.len == 0);
  CHECK(out.len == 15 && memcmp(out.s, "\x00\x05mx.real.test", 15) == 0);

  /* only a CNAME: its target comes back to be asked about */
  header(11, QR, 1, 1, 0, 0);
  question("alias.test", DNS_T_A);
  put16(0xc00c);
  rrfix(DNS_T_CNAME, 0);
  at = rdlen_at();
  putname("Target.Test");
  rdlen_patch(at);
  CHECK(parse_as(11, "alias.test", DNS_T_A) == 0 && count == 0 && out.len == 0);
  CHECK_BYTES(cname.s, cname.len, "target.test");

  /* no data: the name exists, the type does not */
  header(12, QR, 1, 0, 0, 0);
  question("empty.test", DNS_T_MX);
  CHECK(parse_as(12, "empty.test", DNS_T_MX) == 0 && count == 0 && cname.len == 0);

  /* RCODEs come back as they are */
  header(13, QR | 3, 1, 0, 0, 0);
  question("gone.test", DNS_T_MX);
  CHECK(parse_as(13, "gone.test", DNS_T_MX) == 3 && count == 0);
  header(13, QR | 2, 1, 0, 0, 0);
  question("gone.test", DNS_T_MX);
  CHECK(parse_as(13, "gone.test", DNS_T_MX) == 2);
  header(13, QR | 5, 1, 0, 0, 0);
  question("gone.test", DNS_T_MX);
  CHECK(parse_as(13, "gone.test", DNS_T_MX) == 5);

  /* truncated: only the header and question count, junk may follow */
  header(14, QR | 0x0200, 1, 5, 0, 0);
  question("big.test", DNS_T_MX);
  put("\xc0\x0c\x00", 3);
  CHECK(parse_as(14, "big.test", DNS_T_MX) == 0 && tc == 1 && count == 0);
  /* the null MX of RFC 7505 */
  header(15, QR, 1, 1, 0, 0);
  question("nomail.test", DNS_T_MX);
  put16(0xc00c);
  rrfix(DNS_T_MX, 3);
  put16(0);
  put8(0);
  CHECK(parse_as(15, "nomail.test", DNS_T_MX) == 0 && count == 1);
  CHECK(out.len == 3 && memcmp(out.s, "\0\0\0", 3) == 0);

  /* a name of exactly 255 bytes in wire form is fine */
  {
    char l63[64], l61[62], owner[300];
    memset(l63, 'a', 63); l63[63] = 0;
    memset(l61, 'b', 61); l61[61] = 0;
    memcpy(owner, l63, 63); owner[63] = '.';
    memcpy(owner + 64, l63, 63); owner[127] = '.';
    memcpy(owner + 128, l63, 63); owner[191] = '.';
    memcpy(owner + 192, l61, 62);
    header(16, QR, 1, 1, 0, 0);
    question(owner, DNS_T_A);
    put16(0xc00c);
    rrfix(DNS_T_A, 4);
    put("\x01\x01\x01\x01", 4);
    CHECK(parse_as(16, owner, DNS_T_A) == 0 && count == 1);
  }
}

/* ---- hostile and mismatched answers ---- */

static void test_hostile(void)
{
  size_t at, k, n, first;
  char l63[64];
  int all;

  memset(l63, 'q', 63);
  l63[63] = 0;

  /* every proper prefix of a good answer is malformed */
  build_mx();
  n = pk.len;
  all = 1;
  for (k = 0; k < n; ++k) {
    pk.len = k;
    if (!parse_proto(0xbeef, "ExAmple.TEST", DNS_T_MX)) all = 0;
  }
  pk.len = n;
  CHECK(all);
  CHECK(parse_as(0xbeef, "ExAmple.TEST", DNS_T_MX) == 0);
  /* and a byte after it too */
  put8(0);
  CHECK(parse_proto(0xbeef, "ExAmple.TEST", DNS_T_MX));
  pk.len = n;

  /* not an answer to this query */
  CHECK(parse_proto(0xbeee, "ExAmple.TEST", DNS_T_MX));
  CHECK(parse_proto(0xbeef, "ExAmple.TES", DNS_T_MX));
  CHECK(parse_proto(0xbeef, "xAmple.TEST", DNS_T_MX));
  CHECK(parse_proto(0xbeef, "www.ExAmple.TEST", DNS_T_MX));
  CHECK(parse_proto(0xbeef, "ExAmple.TEST", DNS_T_A));
  pk.s[2] &= 0x7f; /* QR clear: a query */
  CHECK(parse_proto(0xbeef, "ExAmple.TEST", DNS_T_MX));
  pk.s[2] |= (char)0x80;
  pk.s[2] |= 0x08; /* opcode 1 */
  CHECK(parse_proto(0xbeef, "ExAmple.TEST", DNS_T_MX));
  pk.s[2] &= (char)~0x08;
  pk.s[5] = 2; /* two questions */
  CHECK(parse_proto(0xbeef, "ExAmple.TEST", DNS_T_MX));
  pk.s[5] = 0;
  CHECK(parse_proto(0xbeef, "ExAmple.TEST", DNS_T_MX));
  pk.s[5] = 1;
  pk.s[12 + 14 + 3] = 3; /* class CH */
  CHECK(parse_proto(0xbeef, "ExAmple.TEST", DNS_T_MX));
  pk.s[12 + 14 + 3] = 1;
  CHECK(parse_as(0xbeef, "ExAmple.TEST", DNS_T_MX) == 0);

  /* counts that claim more records than there are */
  pk.s[7] = 3;
  CHECK(parse_proto(0xbeef, "ExAmple.TEST", DNS_T_MX));
  pk.s[7] = 2;
  pk.s[10] = (char)0xff;
  pk.s[11] = (char)0xff;
  CHECK(parse_proto(0xbeef, "ExAmple.TEST", DNS_T_MX));
  pk.s[10] = pk.s[11] = 0;
  pk.s[7] = 1; /* fewer: the second record is then trailing junk */
  CHECK(parse_proto(0xbeef, "ExAmple.TEST", DNS_T_MX));
  pk.s[7] = 2;

  /* an rdlength past the end */
  first = 12 + 14 + 4; /* the first answer record */
  pk.s[first + 2 + 8] = 0;
  pk.s[first + 2 + 9] = (char)0xff;
  CHECK(parse_proto(0xbeef, "ExAmple.TEST", DNS_T_MX));
  /* an MX rdlength one longer than its name (the next byte is inside) */
  pk.s[first + 2 + 9] = 2 + 6 + 1;
  CHECK(parse_proto(0xbeef, "ExAmple.TEST", DNS_T_MX));
  pk.s[first + 2 + 9] = 2 + 4 + 2;
  CHECK(parse_as(0xbeef, "ExAmple.TEST", DNS_T_MX) == 0 && count == 2);

  /* compression pointers: forward, into the header, onto itself, into
   * the labels of its own name, with the reserved label types */
  header(1, QR, 1, 1, 0, 0);
  question("p.test", DNS_T_A);
  at = pk.len;
  put16(0xc000 | (unsigned)(at + 2 + 10 + 4)); /* forward, to a name after the record */
  rrfix(DNS_T_A, 4);
  put("\x01\x01\x01\x01", 4);
  CHECK(parse_proto(1, "p.test", DNS_T_A));
  pk.s[at + 1] = 5; /* into the header */
  CHECK(parse_proto(1, "p.test", DNS_T_A));
  pk.s[at + 1] = 0;
  CHECK(parse_proto(1, "p.test", DNS_T_A));
  pk.s[at + 1] = (char)at; /* itself */
  CHECK(parse_proto(1, "p.test", DNS_T_A));
  pk.s[at + 1] = 12; /* the question name: fine */
  CHECK(parse_as(1, "p.test", DNS_T_A) == 0 && count == 1);
  pk.s[at] = 0x40; /* extended label type */
  CHECK(parse_proto(1, "p.test", DNS_T_A));
  pk.s[at] = (char)0x80; /* reserved label type */
  CHECK(parse_proto(1, "p.test", DNS_T_A));

  /* a length byte of 64 is not a label, even with 64 bytes after it */
  header(1, QR, 1, 1, 0, 0);
  question("p.test", DNS_T_A);
  put8(64);
  put(l63, 63);
  put8('q');
  put8(0);
  rrfix(DNS_T_A, 4);
  put("\x01\x01\x01\x01", 4);
  CHECK(parse_proto(1, "p.test", DNS_T_A));

  /* a pointer into the labels of its own name loops without the rule */
  header(2, QR, 1, 1, 0, 0);
  question("p.test", DNS_T_A);
  at = pk.len;
  putname_ptr("x.y", (unsigned)at + 2); /* to "y", then back to itself */
  rrfix(DNS_T_A, 4);
  put("\x01\x01\x01\x01", 4);
  CHECK(parse_proto(2, "p.test", DNS_T_A));
  /* two names pointing at each other */
  header(3, QR, 1, 2, 0, 0);
  question("p.test", DNS_T_CNAME);
  at = pk.len;
  putname_ptr("a", (unsigned)at + 2 + 2 + 10 + 4); /* the second owner, forward */
  rrfix(DNS_T_A, 4);
  put("\x01\x01\x01\x01", 4);
  putname_ptr("b", (unsigned)at);
  rrfix(DNS_T_A, 4);
  put("\x01\x01\x01\x01", 4);
  CHECK(parse_proto(3, "p.test", DNS_T_CNAME));
  /* a pointer in the question */
  header(4, QR, 1, 0, 0, 0);
  put16(0xc00c);
  put16(DNS_T_A);
  put16(1);
  CHECK(parse_proto(4, "p.test", DNS_T_A));

  /* names over 255 bytes, directly and through a pointer */
  header(5, QR, 1, 1, 0, 0);
  question("p.test", DNS_T_A);
  for (k = 0; k < 4; ++k) { put8(63); put(l63, 63); }
  put8(0);
  rrfix(DNS_T_A, 4);
  put("\x01\x01\x01\x01", 4);
  CHECK(parse_proto(5, "p.test", DNS_T_A));
  header(6, QR, 1, 2, 0, 0);
  question("p.test", DNS_T_A);
  at = pk.len;
  for (k = 0; k < 3; ++k) { put8(63); put(l63, 63); }
  put8(0); /* 193 bytes: fine */
  rrfix(DNS_T_A, 4);
  put("\x01\x01\x01\x01", 4);
  put8(63);
  put(l63, 63);
  put16(0xc000 | (unsigned)at); /* 64 + 193 = 257 */
  rrfix(DNS_T_A, 4);
  put("\x01\x01\x01\x01", 4);
  CHECK(parse_proto(6, "p.test", DNS_T_A));
  /* with a 61-byte label instead it is 255 bytes: fine */
  header(6, QR, 1, 2, 0, 0);
  question("p.test", DNS_T_A);
  at = pk.len;
  for (k = 0; k < 3; ++k) { put8(63); put(l63, 63); }
  put8(0);
  rrfix(DNS_T_A, 4);
  put("\x01\x01\x01\x01", 4);
  put8(61);
  put(l63, 61);
  put16(0xc000 | (unsigned)at); /* 62 + 193 = 255 */
  rrfix(DNS_T_A, 4);
  put("\x01\x01\x01\x01", 4);
  CHECK(parse_as(6, "p.test", DNS_T_A) == 0 && count == 0);

  /* a label byte that the text form cannot carry */
  header(7, QR, 1, 1, 0, 0);
  question("p.test", DNS_T_MX);
  put16(0xc00c);
  rrfix(DNS_T_MX, 0);
  at = rdlen_at();
  put16(1);
  putname("evil\n.test");
  rdlen_patch(at);
  CHECK(parse_proto(7, "p.test", DNS_T_MX));
  pk.s[pk.len - 7] = '.'; /* a dot inside a label */
  CHECK(parse_proto(7, "p.test", DNS_T_MX));
  pk.s[pk.len - 7] = 'l';
  CHECK(parse_as(7, "p.test", DNS_T_MX) == 0 && count == 1);
  CHECK(out.len == 2 + 10 + 1 && memcmp(out.s, "\x00\x01" "evill.test", 13) == 0);

  /* wrong rdata sizes */
  header(8, QR, 1, 1, 0, 0);
  question("p.test", DNS_T_A);
  put16(0xc00c);
  rrfix(DNS_T_A, 5);
  put("\x01\x01\x01\x01\x01", 5);
  CHECK(parse_proto(8, "p.test", DNS_T_A));
  header(8, QR, 1, 1, 0, 0);
  question("p.test", DNS_T_AAAA);
  put16(0xc00c);
  rrfix(DNS_T_AAAA, 4);
  put("\x01\x01\x01\x01", 4);
  CHECK(parse_proto(8, "p.test", DNS_T_AAAA));
  header(8, QR, 1, 1, 0, 0);
  question("p.test", DNS_T_MX);
  put16(0xc00c);
  rrfix(DNS_T_MX, 2);
  put16(1);
  CHECK(parse_proto(8, "p.test", DNS_T_MX));
  /* a CNAME whose name runs past its rdata */
  header(8, QR, 1, 1, 0, 0);
  question("p.test", DNS_T_A);
  put16(0xc00c);
  rrfix(DNS_T_CNAME, 3);
  putname("abc.test");
  CHECK(parse_proto(8, "p.test", DNS_T_A));

  /* CNAME chains: 8 links are followed, 9 are refused, a loop too */
  {
    int links;
    for (links = 8; links <= 9; ++links) {
      char owner[8] = "c0.test";
      int i;
      header(9, QR, 1, (unsigned)links + 1, 0, 0);
      question("c0.test", DNS_T_A);
      for (i = 0; i < links; ++i) {
        owner[1] = (char)('0' + i);
        putname(owner);
        rrfix(DNS_T_CNAME, 0);
        at = rdlen_at();
        owner[1] = (char)('0' + i + 1);
        putname(owner);
        rdlen_patch(at);
      }
      putname(owner);
      rrfix(DNS_T_A, 4);
      put("\x05\x06\x07\x08", 4);
      if (links == 8) CHECK(parse_as(9, "c0.test", DNS_T_A) == 0 && count == 1 && out.s[3] == 8);
      else CHECK(parse_proto(9, "c0.test", DNS_T_A));
    }
    header(10, QR, 1, 2, 0, 0);
    question("a.test", DNS_T_A);
    put16(0xc00c);
    rrfix(DNS_T_CNAME, 0);
    at = rdlen_at();
    putname("b.test");
    rdlen_patch(at);
    putname("b.test");
    rrfix(DNS_T_CNAME, 0);
    at = rdlen_at();
    put16(0xc00c);
    rdlen_patch(at);
    CHECK(parse_proto(10, "a.test", DNS_T_A));
  }

  /* a short header, and nothing at all */
  str_truncate(&pk, 0);
  put("\xbe\xef\x81\x80\x00\x01", 6);
  CHECK(parse_proto(0xbeef, "example.test", DNS_T_MX));
  str_truncate(&pk, 0);
  CHECK(parse_proto(0xbeef, "example.test", DNS_T_MX));
}

/* ---- configuration ---- */

static int server_is(const struct dns_conf *c, size_t i, int family, const char *ip, unsigned short port)
{
  size_t n = family == AF_INET6 ? 16 : 4;
  return i < c->n && c->server[i].family == family && memcmp(c->server[i].ip, ip, n) == 0 &&
         c->server[i].port == port;
}

static const char v6lo[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

static void test_conf(void)
{
  struct dns_conf c;
  static const char rc[] =
      "# a comment\n"
      "domain example.test\n"
      "nameserver 192.0.2.1\n"
      "nameserver   ::1  \n"
      "nameserver fe80::1%eth0\n"
      "nameserver bogus\n"
      "nameserver 10.0.0.300\n"
      "  nameserver\t198.51.100.7 # trailing comment\n"
      "options ndots:2 timeout:3 attempts:4\n"
      "nameserver 2001:db8::53;x\n";
  size_t i;

  CHECK(setenv("DNSCACHEIP", "127.0.0.1", 1) == 0);
  CHECK(dns_conf_load(&c) == 0);
  CHECK(c.n == 1 && server_is(&c, 0, AF_INET, "\x7f\0\0\x01", 53));
  CHECK(c.timeout_ms == 5000 && c.attempts == 2);

  CHECK(setenv("DNSCACHEIP", " 127.0.0.1:5353  [::1]:5300\t::1 [::1] 10.1.2.3 ", 1) == 0);
  CHECK(dns_conf_load(&c) == 0);
  CHECK(c.n == 5);
  CHECK(server_is(&c, 0, AF_INET, "\x7f\0\0\x01", 5353));
  CHECK(server_is(&c, 1, AF_INET6, v6lo, 5300));
  CHECK(server_is(&c, 2, AF_INET6, v6lo, 53));
  CHECK(server_is(&c, 3, AF_INET6, v6lo, 53));
  CHECK(server_is(&c, 4, AF_INET, "\x0a\x01\x02\x03", 53));

  /* more than DNS_SERVERS_MAX: the first ones are kept */
  CHECK(setenv("DNSCACHEIP", "1.0.0.1 1.0.0.2 1.0.0.3 1.0.0.4 1.0.0.5 1.0.0.6 1.0.0.7 1.0.0.8 1.0.0.9", 1) == 0);
  CHECK(dns_conf_load(&c) == 0 && c.n == DNS_SERVERS_MAX);
  CHECK(server_is(&c, 7, AF_INET, "\x01\0\0\x08", 53));

  {
    static const char *const bad[] = { "", "   ", "localhost", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                                       "127.0.0.1:53x", "[::1", "[::1]:", "[::1]x", "::1:53:", "[127.0.0.1]",
                                       "1.2.3.4 nope", "fe80::1%eth0", "127.0.0.1,10.0.0.1", 0 };
    int allbad = 1;
    for (i = 0; bad[i]; ++i) {
      CHECK(setenv("DNSCACHEIP", bad[i], 1) == 0);
      errno = 0;
      if (!(dns_conf_load(&c) == -1 && errno == EINVAL)) {
        allbad = 0;
        check_outs(bad[i]);
        check_outs(": accepted\n");
      }
    }
    CHECK(allbad);
  }
  /* "::1:53" is a valid IPv6 address, not ::1 port 53 */
  CHECK(setenv("DNSCACHEIP", "::1:53", 1) == 0);
  CHECK(dns_conf_load(&c) == 0 && c.n == 1 && c.server[0].family == AF_INET6 && c.server[0].port == 53);
  CHECK(c.server[0].ip[13] == 1 && c.server[0].ip[15] == 0x53);

  CHECK(unsetenv("DNSCACHEIP") == 0);
  CHECK(dns_conf_load(&c) == 0 && c.n >= 1); /* this machine's resolv.conf, or the default */

  CHECK(dns_conf_resolv(&c, rc, sizeof rc - 1) == 0);
  CHECK(c.n == 4);
  CHECK(server_is(&c, 0, AF_INET, "\xc0\x00\x02\x01", 53));
  CHECK(server_is(&c, 1, AF_INET6, v6lo, 53));
  CHECK(server_is(&c, 2, AF_INET, "\xc6\x33\x64\x07", 53));
  CHECK(server_is(&c, 3, AF_INET6, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x53", 53));
  CHECK(c.timeout_ms == 3000 && c.attempts == 4);
  CHECK(dns_conf_resolv(&c, "options timeout:99 attempts:9\n", 30) == 0);
  CHECK(c.timeout_ms == 30000 && c.attempts == 5);
  CHECK(c.n == 1 && server_is(&c, 0, AF_INET, "\x7f\0\0\x01", 53));
  CHECK(dns_conf_resolv(&c, "", 0) == 0);
  CHECK(c.n == 1 && server_is(&c, 0, AF_INET, "\x7f\0\0\x01", 53) && c.timeout_ms == 5000 && c.attempts == 2);
}

/* A PTR answer: the target name is decoded, compression included. */
static void test_ptr(void)
{
  size_t at;

  header(11, QR, 1, 1, 0, 0);
  question("4.3.2.1.in-addr.arpa", DNS_T_PTR);
  put16(0xc00c);
  rrfix(DNS_T_PTR, 0);
  at = rdlen_at();
  putname_ptr("Host.Example", 12 + 8); /* then "in-addr.arpa" of the question */
  rdlen_patch(at);
  CHECK(parse_as(11, "4.3.2.1.in-addr.arpa", DNS_T_PTR) == 0);
  CHECK(count == 1 && out.len == 26 && memcmp(out.s, "host.example.in-addr.arpa\0", 26) == 0);
  /* a PTR whose rdata runs past its name is malformed */
  header(12, QR, 1, 1, 0, 0);
  question("4.3.2.1.in-addr.arpa", DNS_T_PTR);
  put16(0xc00c);
  rrfix(DNS_T_PTR, 0);
  at = rdlen_at();
  putname("a.test");
  put8(0);
  rdlen_patch(at);
  CHECK(parse_proto(12, "4.3.2.1.in-addr.arpa", DNS_T_PTR));
}

/* conf.deadline ends the lookup: against a server that never answers,
 * with 5 s per try and 2 rounds, a deadline 300 ms away lets exactly
 * one question out, for the reverse name of the address. */
static void test_deadline(void)
{
  static const char want[] = "\0017\0012\0010\003192\007in-addr\004arpa\0\0\014\0\001";
  struct dns_conf c;
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  unsigned char ip[4] = { 192, 0, 2, 7 };
  char pkt[512];
  str name = STR_INIT;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), n = 0;
  ssize_t r, last = 0;
  long long t0;

  CHECK(fd >= 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(0x7f000001);
  CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
  CHECK(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
  CHECK(dns_conf_resolv(&c, "nameserver 127.0.0.1\n", 21) == 0);
  CHECK(c.deadline == 0);
  c.server[0].port = ntohs(sa.sin_port);
  c.timeout_ms = 5000;
  c.attempts = 2;
  t0 = deadline_now();
  c.deadline = t0 + 300;
  errno = 0;
  CHECK(dns_ptr(&c, AF_INET, ip, &name) == -1 && errno == EAGAIN);
  CHECK(deadline_now() >= t0 + 300);
  while ((r = recv(fd, pkt, sizeof pkt, 0)) > 0) {
    ++n;
    last = r;
  }
  CHECK(n == 1);
  /* the header, then 7.2.0.192.in-addr.arpa (its letters in random
   * case), type PTR, class IN */
  CHECK(last == 12 + (ssize_t)sizeof want - 1);
  if (last == 12 + (ssize_t)sizeof want - 1) {
    ssize_t i;
    for (i = 12; i < last; ++i)
      if (pkt[i] >= 'A' && pkt[i] <= 'Z') pkt[i] = (char)(pkt[i] + 32);
    CHECK(memcmp(pkt + 12, want, sizeof want - 1) == 0);
  }
  /* a deadline already passed asks nothing */
  c.deadline = deadline_now() > 1 ? deadline_now() - 1 : 1;
  errno = 0;
  CHECK(dns_ptr(&c, AF_INET, ip, &name) == -1 && errno == EAGAIN);
  CHECK(recv(fd, pkt, sizeof pkt, 0) < 0);
  close(fd);
  str_free(&name);
}

/* With no server listening the answer is a quick temporary failure. */
static void test_noserver(void)
{
  struct dns_conf c;
  struct dns_mxlist mx;
  struct dns_iplist ip;

  CHECK(dns_conf_resolv(&c, "nameserver 127.0.0.1\n", 21) == 0);
  c.server[0].port = 9; /* discard: nobody answers DNS there */
  c.timeout_ms = 300;
  c.attempts = 1;
  errno = 0;
  CHECK(dns_mx(&c, "example.test", 12, &mx) == -1 && errno == EAGAIN);
  CHECK(mx.n == 0 && mx.mx == 0);
  errno = 0;
  CHECK(dns_ip(&c, "example.test", 12, 1, &ip) == -1 && errno == EAGAIN);
  CHECK(ip.n == 0 && ip.ip == 0);
  c.n = 0;
  errno = 0;
  CHECK(dns_mx(&c, "example.test", 12, &mx) == -1 && errno == EAGAIN);
  /* a name that cannot be asked */
  CHECK(dns_conf_resolv(&c, "", 0) == 0);
  errno = 0;
  CHECK(dns_mx(&c, "a..b", 4, &mx) == -1 && errno == EINVAL);
}

/* TXT: the strings of a record joined behind a 2-byte length; an
 * empty record; a string running past its rdata is EPROTO */
static void test_txt(void)
{
  size_t at;
  header(9, QR, 1, 2, 0, 0);
  question("spf.test", DNS_T_TXT);
  put16(0xc00c);
  rrfix(DNS_T_TXT, 0);
  at = rdlen_at();
  put8(7);
  put("v=spf1 ", 7);
  put8(4);
  put("-all", 4);
  rdlen_patch(at);
  put16(0xc00c);
  rrfix(DNS_T_TXT, 0);
  CHECK(parse_as(9, "spf.test", DNS_T_TXT) == 0);
  CHECK(count == 2 && out.len == 2 + 11 + 2);
  CHECK(memcmp(out.s, "\x00\x0bv=spf1 -all\x00\x00", 15) == 0);

  header(9, QR, 1, 1, 0, 0);
  question("spf.test", DNS_T_TXT);
  put16(0xc00c);
  rrfix(DNS_T_TXT, 0);
  at = rdlen_at();
  put8(9);
  put("-all", 4);
  rdlen_patch(at);
  CHECK(parse_proto(9, "spf.test", DNS_T_TXT));
}

int main(void)
{
  test_txt();
  test_query();
  test_case();
  test_good();
  test_hostile();
  test_conf();
  test_noserver();
  test_ptr();
  test_deadline();
  str_free(&pk);
  str_free(&out);
  str_free(&cname);
  return check_done();
}
