/* fuzz_netstring.c: netstring_parse on arbitrary bytes. The input is
 * copied to a block of exactly its size so ASan catches any read past
 * n. A complete netstring is re-encoded and must decode back to the
 * same data; every prefix of it must ask for more. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netstring.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size ? size : 1);
  size_t off, len, used, off2, len2, used2, max;
  int r;
  str enc = STR_INIT;

  if (!s) return 0;
  if (size) memcpy(s, data, size);
  /* the first byte picks a max so the bound is fuzzed too */
  max = size && (s[0] & 1) ? (size_t)(unsigned char)s[size - 1] : (size_t)-1;
  r = netstring_parse(s, size, max, &off, &len, &used);
  if (r == 1) {
    if (len > max || used > size || off + len + 1 != used || s[off + len] != ',') abort();
    if (netstring_cat(&enc, s + off, len) < 0) abort();
    /* a canonical form: encoding gives back exactly the bytes used */
    if (enc.len != used || memcmp(enc.s, s, used) != 0) abort();
    if (netstring_parse(enc.s, enc.len, len, &off2, &len2, &used2) != 1) abort();
    if (len2 != len || used2 != enc.len || memcmp(enc.s + off2, s + off, len) != 0) abort();
    if (netstring_parse(enc.s, enc.len - 1, len, &off2, &len2, &used2) != 0) abort();
  } else if (r != 0 && r != -1) {
    abort();
  }
  str_free(&enc);
  free(s);
  return 0;
}
