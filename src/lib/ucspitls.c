/* ucspitls.c: see ucspitls.h. */
#include "byte.h"
#include "ucspitls.h"

int ucspitls_details_complete(const char *p, size_t n)
{
  size_t i = 0;

  if (n > UCSPITLS_DETAILS_MAX) return -1;
  if (n >= 1 && p[0] == 0) return n <= 2 && (n == 1 || p[1] == 0) ? 1 : -1;
  while (i < n) {
    size_t end = i + byte_chr(p + i, n - i, 0), eq;
    if (end == i) return i + 1 == n ? 1 : -1; /* the final NUL */
    eq = i + byte_chr(p + i, end - i, '=');
    if (eq == i) return -1; /* empty name */
    if (end == n) return 0; /* an entry still arriving */
    if (eq == end) return -1; /* no '=' */
    i = end + 1;
  }
  return 0;
}

const char *ucspitls_detail(const char *p, size_t n, const char *name, size_t *len)
{
  size_t nl = byte_len(name, 256), i = 0;

  while (i < n && p[i]) {
    size_t l = byte_chr(p + i, n - i, 0);
    if (l > nl && p[i + nl] == '=' && byte_equal(p + i, name, nl)) {
      *len = l - nl - 1;
      return p + i + nl + 1;
    }
    i += l + 1;
  }
  return 0;
}

static int cat_word(str *out, const char *p, size_t n)
{
  size_t i;
  for (i = 0; i < n && i < 64; ++i) {
    char c = p[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (str_catc(out, ok ? c : '_') < 0) return -1;
  }
  return 0;
}

int ucspitls_describe(str *out, const char *version, size_t vlen, const char *cipher, size_t clen)
{
  str_truncate(out, 0);
  if (cat_word(out, vlen ? version : "TLS", vlen ? vlen : 3) < 0) return -1;
  if (clen && (str_catc(out, ' ') < 0 || cat_word(out, cipher, clen) < 0)) return -1;
  return 0;
}
