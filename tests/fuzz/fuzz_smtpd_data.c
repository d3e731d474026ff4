/* fuzz_smtpd_data.c: the DATA state machine on any byte stream.
 *
 * The first input byte picks a piece size (1..64), a size limit and the
 * mode (network or local); the rest is fed in pieces of that size. The
 * outcome (bytes consumed, flags, stored message) must not depend on
 * the piece size: it is compared with one feed of the whole input. A
 * stored message holds no CR and no NUL; in network mode the data ends
 * only after CR LF . CR LF (or the ". CR LF" that starts it), in local
 * mode after a line "." ended by LF or CR LF; nothing is consumed past
 * that end. The same input in BDAT mode is consumed whole, in one
 * piece or in chunks, to the same message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd_data.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct smtpd_data d1, d2;
  str o1 = STR_INIT, o2 = STR_INIT;
  const char *s;
  size_t n, step, pos = 0;
  unsigned long max;
  ssize_t r;
  int local;

  if (size < 1) return 0;
  step = (size_t)(data[0] & 0x3f) + 1;
  local = (data[0] & 0x40) != 0;
  max = (data[0] & 0x80) ? 64 : 0;
  s = (const char *)data + 1;
  n = size - 1;

  if (local) smtpd_data_start_local(&d1, max);
  else smtpd_data_start(&d1, max);
  r = smtpd_data_feed(&d1, s, n, &o1);
  if (r < 0) goto done;
  fuzz_check((size_t)r <= n);
  fuzz_check(d1.done || (size_t)r == n);
  if (d1.done && !local) {
    fuzz_check(r >= 3 && memcmp(s + r - 3, ".\r\n", 3) == 0);
    fuzz_check(r == 3 || (r >= 5 && memcmp(s + r - 5, "\r\n", 2) == 0));
  }
  if (d1.done && local) {
    size_t e = (size_t)r - 1; /* the final LF */
    fuzz_check(s[e] == '\n');
    if (e >= 1 && s[e - 1] == '\r') --e;
    fuzz_check(e >= 1 && s[e - 1] == '.');
    fuzz_check(e == 1 || s[e - 2] == '\n');
  }
  if (d1.err == 0) {
    fuzz_check(memchr(o1.s ? o1.s : "", '\r', o1.len) == 0);
    fuzz_check(o1.len == 0 || memchr(o1.s, 0, o1.len) == 0);
    fuzz_check(o1.len == d1.bytes);
  }
  if (max) fuzz_check(o1.len <= max);
  fuzz_check(o1.len <= (size_t)r);

  if (local) smtpd_data_start_local(&d2, max);
  else smtpd_data_start(&d2, max);
  while (pos < n && !d2.done) {
    size_t k = n - pos < step ? n - pos : step;
    r = smtpd_data_feed(&d2, s + pos, k, &o2);
    if (r < 0) goto done;
    fuzz_check((size_t)r == k || d2.done);
    pos += (size_t)r;
  }
  fuzz_check(d1.done == d2.done && d1.err == d2.err && d1.bytes == d2.bytes && d1.hops == d2.hops);
  fuzz_check(o1.len == o2.len && (o1.len == 0 || memcmp(o1.s, o2.s, o1.len) == 0));
  if (d1.done) fuzz_check(smtpd_data_feed(&d1, s, n, &o1) == 0);

  /* BDAT mode: everything is consumed, in one piece or in chunks of
   * step bytes alike; after the end the message has no CR, no NUL and
   * ends in LF */
  str_truncate(&o1, 0);
  str_truncate(&o2, 0);
  smtpd_data_start_bdat(&d1, max);
  if (smtpd_data_feed(&d1, s, n, &o1) != (ssize_t)n || smtpd_data_end_bdat(&d1, &o1) < 0) goto done;
  smtpd_data_start_bdat(&d2, max);
  for (pos = 0; pos < n; pos += step) {
    size_t k = n - pos < step ? n - pos : step;
    if (smtpd_data_feed(&d2, s + pos, k, &o2) != (ssize_t)k) goto done;
  }
  if (smtpd_data_end_bdat(&d2, &o2) < 0) goto done;
  fuzz_check(d1.done && d2.done && d1.err == d2.err && d1.bytes == d2.bytes && d1.hops == d2.hops);
  fuzz_check(o1.len == o2.len && (o1.len == 0 || memcmp(o1.s, o2.s, o1.len) == 0));
  if (d1.err == 0) {
    fuzz_check(memchr(o1.s ? o1.s : "", '\r', o1.len) == 0);
    fuzz_check(o1.len == 0 || memchr(o1.s, 0, o1.len) == 0);
    fuzz_check(o1.len == 0 || o1.s[o1.len - 1] == '\n');
  }
done:
  str_free(&o1);
  str_free(&o2);
  return 0;
}
