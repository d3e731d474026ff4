/* fuzz_dkim_canon.c: dkim_header_split, dkim_canon_header and the body
 * canonicalizations on any bytes.
 *
 * The fields must lie inside the header in order without overlap; the
 * canonical header must end in CRLF; the body, fed whole or in pieces
 * of the size the first byte chooses, must give the same bytes, which
 * hold no bare CR LF pairs other than line ends and (relaxed) no
 * white space before a line end. dkim_from_domain gives a clean
 * domain or nothing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_canon.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

static void body(const char *s, size_t n, int relaxed, size_t piece, str *out)
{
  dkim_body b;
  size_t i, k;
  dkim_body_init(&b, relaxed);
  for (i = 0; i < n; i += k) {
    k = n - i < piece ? n - i : piece;
    fuzz_check(dkim_body_update(&b, out, s + i, k) == 0);
  }
  fuzz_check(dkim_body_final(&b, out) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  dkim_field f[64];
  size_t count, bodyat, i, last = 0, piece;
  const char *m;
  str h = STR_INIT, a = STR_INIT, b = STR_INIT;
  int relaxed;
  if (size < 1) return 0;
  piece = (size_t)(data[0] & 31) + 1;
  relaxed = data[0] >> 7;
  m = (const char *)data + 1;
  size--;
  dkim_header_split(m, size, f, 64, &count, &bodyat);
  fuzz_check(bodyat <= size);
  for (i = 0; i < count && i < 64; i++) {
    fuzz_check(f[i].start >= last && f[i].start < f[i].end && f[i].end <= bodyat);
    fuzz_check(f[i].namelen <= f[i].end - f[i].start);
    last = f[i].end;
    str_truncate(&h, 0);
    fuzz_check(dkim_canon_header(&h, m + f[i].start, f[i].end - f[i].start, relaxed, 1) == 0);
    fuzz_check(h.len >= 3 && h.s[h.len - 2] == '\r' && h.s[h.len - 1] == '\n');
    if (relaxed) fuzz_check(memchr(h.s, '\n', h.len - 1) == 0);
  }
  /* the From domain: lower case, no white space, no trailing dot */
  if (dkim_from_domain(m, size, &h) == 0) {
    fuzz_check(h.len > 0 && h.s[h.len - 1] != '.');
    for (i = 0; i < h.len; i++)
      fuzz_check(!(h.s[i] >= 'A' && h.s[i] <= 'Z') && h.s[i] != ' ' && h.s[i] != '\t' && h.s[i] != '\n');
  }
  body(m + bodyat, size - bodyat, relaxed, size + 1, &a);
  body(m + bodyat, size - bodyat, relaxed, piece, &b);
  fuzz_check(a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0));
  fuzz_check(a.len == 0 || (a.len >= 2 && a.s[a.len - 2] == '\r' && a.s[a.len - 1] == '\n'));
  for (i = 0; i + 1 < a.len; i++)
    if (a.s[i] == '\r' && a.s[i + 1] == '\n' && relaxed) fuzz_check(i == 0 || (a.s[i - 1] != ' ' && a.s[i - 1] != '\t'));
  str_free(&h);
  str_free(&a);
  str_free(&b);
  return 0;
}
