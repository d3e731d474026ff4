/* fuzz_rfc822.c: rfc822_addrlist and rfc822_field_next on any bytes.
 *
 * The first byte chooses whether addresses are qualified. Whatever
 * parses must give NUL-separated addresses of at most 1003 bytes with
 * no control bytes, as many as *naddrs says; the rewritten value must
 * parse again to the same addresses. The field walk must cover its
 * input in order without overlap. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rfc822.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const struct rfc822_qualify q = { "host.example.org", "example.org", "plus.example", 0, 1 };
  str rew = STR_INIT, addrs = STR_INIT, rew2 = STR_INIT, addrs2 = STR_INIT;
  const char *s, *err;
  size_t n, naddrs = 0, naddrs2 = 0, i, count, run, pos;
  struct rfc822_field f;
  int r;

  if (size < 1) return 0;
  s = (const char *)data + 1;
  n = size - 1;

  r = rfc822_addrlist(s, n, (data[0] & 1) ? &q : 0, &rew, &addrs, &naddrs, &err);
  if (r < 0) {
    fuzz_check(errno == EINVAL || errno == ENOMEM);
    fuzz_check(rew.len == 0 && addrs.len == 0);
    if (errno == EINVAL) fuzz_check(err && *err);
  } else {
    count = 0;
    run = 0;
    for (i = 0; i < addrs.len; ++i) {
      unsigned char c = (unsigned char)addrs.s[i];
      if (c == 0) {
        fuzz_check(run > 0 && run <= 1003);
        ++count;
        run = 0;
        continue;
      }
      fuzz_check(c >= 32 && c != 127);
      ++run;
    }
    fuzz_check(run == 0 && count == naddrs);
    r = rfc822_addrlist(rew.s, rew.len, (data[0] & 1) ? &q : 0, &rew2, &addrs2, &naddrs2, &err);
    if (r == 0) {
      fuzz_check(naddrs2 == naddrs && addrs2.len == addrs.len);
      fuzz_check(addrs.len == 0 || memcmp(addrs.s, addrs2.s, addrs.len) == 0);
    } else {
      fuzz_check(errno == ENOMEM);
    }
  }

  pos = 0;
  while ((r = rfc822_field_next(s, n, &pos, &f)) == 1) {
    fuzz_check(f.len > 0 && f.start + f.len == pos && pos <= n);
    fuzz_check(f.name_len > 0 && f.value > f.start + f.name_len && f.value <= pos);
  }
  fuzz_check(r == 0 ? pos >= n : r == -1);
  for (i = 0; i < n && i < 200; ++i) (void)rfc822_line_kind(s, i);

  str_free(&rew);
  str_free(&addrs);
  str_free(&rew2);
  str_free(&addrs2);
  return 0;
}
