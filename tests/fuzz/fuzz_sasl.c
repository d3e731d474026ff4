/* fuzz_sasl.c: base64_decode and sasl_plain_split on arbitrary bytes
 * (what an AUTH client sends). The input is copied to a block of exactly
 * its size so ASan catches any read past n. Whatever decodes must
 * re-encode to the same text (strict base64 has one form) and respect
 * the bound; a split that succeeds must give parts within the limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size ? size : 1);
  str out = STR_INIT, enc = STR_INIT, user = STR_INIT, pass = STR_INIT;
  size_t max;

  if (!s) return 0;
  if (size) memcpy(s, data, size);
  max = size && (s[0] & 1) ? (size_t)(unsigned char)s[size - 1] : 1000;
  if (base64_decode(s, size, &out, max) == 0) {
    if (out.len > max) abort();
    if (base64_encode(out.s, out.len, &enc) < 0) abort();
    if (enc.len != size || memcmp(enc.s, s, size) != 0) abort();
  }
  if (sasl_plain_split(s, size, &user, &pass) == 0) {
    if (!sasl_user_ok(user.s, user.len) || pass.len == 0 || pass.len > SASL_PASS_MAX) abort();
    sasl_wipe(&pass);
    if (pass.len) abort();
  }
  str_free(&out);
  str_free(&enc);
  str_free(&user);
  str_free(&pass);
  free(s);
  return 0;
}
