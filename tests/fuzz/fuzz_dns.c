/* fuzz_dns.c: dns_packet_parse on arbitrary bytes. The first byte picks
 * the question type (A, AAAA, MX, CNAME, TXT); the rest is the answer,
 * copied to a block of exactly its size so ASan catches any read past
 * the end. The question name is always "example.test" and the id is
 * taken from the packet itself, so the fuzzer gets past the header.
 * Whatever comes back must hold together: as many entries as the count
 * says, each of the promised form, names of at most 253 lower-case
 * printable bytes without empty labels. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks a decoded name at s[0..) ending in a NUL inside s[0..n);
 * returns its length with the NUL, or aborts. */
static size_t name_ok(const char *s, size_t n)
{
  const char *end = memchr(s, 0, n);
  size_t len, i;
  if (!end) abort();
  len = (size_t)(end - s);
  if (len > 253) abort();
  for (i = 0; i < len; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x21 || c > 0x7e || (c >= 'A' && c <= 'Z')) abort();
    if (c == '.' && (i == 0 || i + 1 == len || s[i + 1] == '.')) abort();
  }
  return len + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const unsigned short types[8] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_CNAME, DNS_T_TXT, DNS_T_A, DNS_T_MX, DNS_T_TXT };
  unsigned short qtype, id;
  str out = STR_INIT, cname = STR_INIT;
  size_t count = 99, n, pos, i;
  int tc = 99, r;
  char *pkt;

  if (size < 1) return 0;
  qtype = types[data[0] & 7];
  n = size - 1;
  pkt = malloc(n ? n : 1);
  if (!pkt) return 0;
  if (n) memcpy(pkt, data + 1, n);
  id = n >= 2 ? (unsigned short)((unsigned char)pkt[0] << 8 | (unsigned char)pkt[1]) : 0;
  errno = 0;
  r = dns_packet_parse(pkt, n, id, "example.test", 12, qtype, &out, &count, &tc, &cname);
  if (r == -1) {
    if (errno != EPROTO && errno != ENOMEM) abort();
  } else {
    if (r < 0 || r > 15 || (tc != 0 && tc != 1)) abort();
    if ((tc || r != 0) && (count != 0 || out.len != 0 || cname.len != 0)) abort();
    if (count > 0 && cname.len != 0) abort();
    switch (qtype) {
    case DNS_T_A:
    case DNS_T_AAAA:
      if (out.len != count * (qtype == DNS_T_A ? 4 : 16)) abort();
      break;
    case DNS_T_TXT:
      for (pos = 0, i = 0; i < count; ++i) {
        size_t l;
        if (out.len - pos < 2) abort();
        l = (size_t)(unsigned char)out.s[pos] << 8 | (unsigned char)out.s[pos + 1];
        pos += 2;
        if (out.len - pos < l) abort();
        pos += l;
      }
      if (pos != out.len) abort();
      break;
    default:
      for (pos = 0, i = 0; i < count; ++i) {
        if (qtype == DNS_T_MX) {
          if (out.len - pos < 3) abort();
          pos += 2;
        }
        pos += name_ok(out.s + pos, out.len - pos);
      }
      if (pos != out.len) abort();
    }
    if (cname.len) {
      if (str_catc(&cname, 0) == 0) name_ok(cname.s, cname.len);
    }
  }
  str_free(&out);
  str_free(&cname);
  free(pkt);
  return 0;
}
