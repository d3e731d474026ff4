/* fuzz_tlspolicy.c: the two parsers of outbound TLS on arbitrary
 * bytes. First byte odd: the rest is a report line of sluice-tlsc for
 * starttls_report_parse; a decoded line must be one of the three forms
 * of starttls.h (fields of the documented lengths, printable ASCII, ok
 * set as the form says). First byte even: the rest, split at '\n' into
 * entries as control_readlist would give them (an input with a NUL is
 * skipped: that file would be refused), is a tlsdestinations
 * list searched for a fixed relay and domain; each entry alone goes to
 * tlspolicy_parse; a found policy has a known level, and the default
 * (0) is may without a CA file; a list with a line that does not parse
 * fails every lookup. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "byte.h"
#include "starttls.h"
#include "str.h"
#include "tlspolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

static int printable(const str *s)
{
  for (size_t i = 0; i < s->len; ++i)
    if (s->s[i] < 0x20 || s->s[i] > 0x7e) return 0;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct starttls_info in = STARTTLS_INFO_INIT;
  static struct tlspolicy p = TLSPOLICY_INIT;
  static str list;
  const char *s = (const char *)data + 1;
  size_t n, pos, kl;
  int bad = 0, r;

  if (size == 0) return 0;
  n = size - 1;
  if (data[0] & 1) {
    if (starttls_report_parse(s, n, &in) == 0) {
      fuzz_check(printable(&in.reason) && printable(&in.protocol) && printable(&in.cipher));
      if (in.ok) {
        fuzz_check(in.protocol.len >= 1 && in.protocol.len <= 64 && in.cipher.len >= 1 && in.cipher.len <= 64);
        fuzz_check(byte_chr(in.protocol.s, in.protocol.len, ' ') == in.protocol.len);
        fuzz_check(in.verified ? in.reason.len == 0 : in.reason.len > 0);
      } else {
        fuzz_check(!in.verified && in.reason.len > 0 && n == in.reason.len + 5);
      }
    } else {
      fuzz_check(!in.ok && !in.verified);
    }
    return 0;
  }
  /* control_readlist never gives an entry with a NUL (it refuses the file) */
  if (byte_chr(s, n, 0) < n) return 0;
  str_truncate(&list, 0);
  for (pos = 0; pos < n;) {
    size_t nl = byte_chr(s + pos, n - pos, '\n');
    if (nl > 0) {
      fuzz_check(str_catb(&list, s + pos, nl) == 0 && str_catc(&list, 0) == 0);
      if (tlspolicy_parse(s + pos, nl, &kl, &p) < 0) bad = 1;
      else fuzz_check(kl < nl && p.level >= TLSPOLICY_NONE && p.level <= TLSPOLICY_VERIFY);
    }
    pos += nl + 1;
  }
  r = tlspolicy_find(&list, "relay.example", 13, "a.b.example", 11, &p);
  if (bad) fuzz_check(r < 0);
  else fuzz_check(r >= 0);
  if (r >= 0) fuzz_check(p.level >= TLSPOLICY_NONE && p.level <= TLSPOLICY_VERIFY);
  if (r == 0) fuzz_check(p.level == TLSPOLICY_MAY && p.cafile.len == 0);
  if (r >= 0) fuzz_check(byte_chr(p.cafile.s, p.cafile.len, 0) == p.cafile.len);
  return 0;
}
