/* fuzz_addr.c: addr_parse_path under every flag combination (the first
 * input byte), plus ip4_scan/ip6_scan on the same bytes.
 *
 * Whatever parses must respect the limits, hold no control or (without
 * ADDR_UTF8) 8-bit bytes, and parse again, wrapped in "<>", to exactly
 * the same canonical result, and bare (addr_parse_bare) too. The one
 * split (addr_split) of a canonical address is at its last '@', where
 * every later stage splits. The input read bare must obey the same
 * rules. Whatever the IP scanners accept must format and scan back to
 * the same address. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "byte.h"
#include "ip.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

static void fuzz_ip(const char *s, size_t n)
{
  unsigned char a[16], b[16];
  char text[IP6_FMT];
  size_t used, len;

  used = ip4_scan(s, n, a);
  if (used) {
    fuzz_check(used <= n);
    len = ip4_fmt(text, a);
    fuzz_check(len < IP4_FMT && len == ip4_fmt(0, a));
    fuzz_check(ip4_scan(text, len, b) == len && memcmp(a, b, 4) == 0);
    fuzz_check(len == used && memcmp(text, s, len) == 0); /* the form is unique */
  }
  used = ip6_scan(s, n, a);
  if (used) {
    fuzz_check(used <= n);
    len = ip6_fmt(text, a);
    fuzz_check(len < IP6_FMT && len == ip6_fmt(0, a));
    fuzz_check(ip6_scan(text, len, b) == len && memcmp(a, b, 16) == 0);
  }
}

/* addr_parse_bare on s[0..n): what parses is canonical (parses bare
 * again to itself) and splits where byte_rchr does. */
static void fuzz_bare(const char *s, size_t n, int flags)
{
  str out = STR_INIT, again = STR_INIT;
  size_t at;
  int r = addr_parse_bare(s, n, flags, &out);

  fuzz_check(addr_strerror(r) != 0);
  if (r != ADDR_OK) {
    fuzz_check(out.len == 0);
    goto done;
  }
  if (addr_split(out.s, out.len, &at)) fuzz_check(at == byte_rchr(out.s, out.len, '@'));
  else fuzz_check(at == out.len);
  r = addr_parse_bare(out.s, out.len, flags, &again);
  if (r == ADDR_ENOMEM) goto done;
  fuzz_check(r == ADDR_OK && again.len == out.len && (out.len == 0 || memcmp(again.s, out.s, out.len) == 0));
done:
  str_free(&out);
  str_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  str out = STR_INIT, wrapped = STR_INIT, again = STR_INIT;
  const char *s;
  size_t n, used = 0, used2 = 0, local_len, i;
  int flags, r;

  if (size < 1) return 0;
  flags = data[0] & (ADDR_ALLOW_NULL | ADDR_ALLOW_NODOMAIN | ADDR_LENIENT | ADDR_UTF8 | ADDR_LONG | ADDR_ALLOW_POSTMASTER);
  s = (const char *)data + 1;
  n = size - 1;
  fuzz_ip(s, n);
  fuzz_bare(s, n, flags);

  r = addr_parse_path(s, n, flags, &out, &used);
  fuzz_check(addr_strerror(r) != 0);
  if (r != ADDR_OK) {
    fuzz_check(r < 0 && r >= ADDR_ENOMEM && out.len == 0);
    goto done;
  }
  fuzz_check(used <= n);
  fuzz_check(used == n || s[used] == ' ' || s[used] == '\t');
  if (out.len == 0) fuzz_check(flags & ADDR_ALLOW_NULL);
  for (i = 0; i < out.len; ++i) {
    unsigned char ch = (unsigned char)out.s[i];
    fuzz_check(ch > 32 || (ch == 32 && out.s[0] == '"'));
    fuzz_check(ch != 127);
    if (!(flags & ADDR_UTF8)) fuzz_check(ch < 128);
  }
  if (addr_split(out.s, out.len, &local_len)) {
    fuzz_check(local_len > 0 && local_len + 1 < out.len);
    fuzz_check(local_len == byte_rchr(out.s, out.len, '@'));
    if (!(flags & ADDR_LONG)) {
      fuzz_check(local_len <= ADDR_LOCAL_MAX);
      fuzz_check(out.len - local_len - 1 <= ADDR_DOMAIN_MAX);
    }
  } else {
    fuzz_check(out.len == 0 || (flags & ADDR_ALLOW_NODOMAIN)
               || ((flags & ADDR_ALLOW_POSTMASTER) && out.len == 10));
    if (!(flags & ADDR_LONG)) fuzz_check(out.len <= ADDR_LOCAL_MAX);
  }
  if (flags & ADDR_LONG) fuzz_check(out.len <= ADDR_LONG_MAX);
  else fuzz_check(out.len + 2 <= ADDR_PATH_MAX);

  if (str_catc(&wrapped, '<') < 0 || str_cat(&wrapped, &out) < 0 || str_catc(&wrapped, '>') < 0) goto done;
  r = addr_parse_path(wrapped.s, wrapped.len, flags, &again, &used2);
  if (r == ADDR_ENOMEM) goto done;
  fuzz_check(r == ADDR_OK && used2 == wrapped.len);
  fuzz_check(again.len == out.len && (out.len == 0 || memcmp(again.s, out.s, out.len) == 0));
  /* and bare, as QMTP carries it */
  r = addr_parse_bare(out.s, out.len, flags, &again);
  if (r == ADDR_ENOMEM) goto done;
  fuzz_check(r == ADDR_OK && again.len == out.len && (out.len == 0 || memcmp(again.s, out.s, out.len) == 0));

done:
  str_free(&out);
  str_free(&wrapped);
  str_free(&again);
  return 0;
}
