/* fuzz_ucspitls.c: the UCSPI-TLS details (ucspitls) on arbitrary bytes,
 * copied to a block of exactly their size so ASan catches a read past
 * n. Checks: a complete string stays complete for no longer input (a
 * prefix is never complete unless it is the whole); a value found lies
 * inside the input; the description holds only safe bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"
#include "ucspitls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size ? size : 1);
  static const char *const names[] = { "SSL_PROTOCOL", "SSL_CIPHER", "A", "" };
  const char *v[2] = { 0, 0 };
  size_t len[2] = { 0, 0 }, i, k;
  int r;
  str d = STR_INIT;

  if (!s) return 0;
  if (size) memcpy(s, data, size);
  r = ucspitls_details_complete(s, size);
  if (r < -1 || r > 1) abort();
  if (r == 1)
    for (i = 0; i + 1 < size; ++i)
      if (ucspitls_details_complete(s, i) == 1 && !(i >= 1 && s[0] == 0)) abort();
  for (k = 0; k < sizeof names / sizeof names[0]; ++k) {
    size_t l;
    const char *p = ucspitls_detail(s, size, names[k], &l);
    if (p && (p < s || p + l > s + size)) abort();
    if (k < 2) {
      v[k] = p;
      len[k] = p ? l : 0;
    }
  }
  if (ucspitls_describe(&d, v[0] ? v[0] : "", len[0], v[1] ? v[1] : "", len[1]) < 0) abort();
  for (i = 0; i < d.len; ++i) {
    char c = d.s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'
          || c == ' '))
      abort();
  }
  str_free(&d);
  free(s);
  return 0;
}
