/* ip.c: see ip.h. */
#include "fmt.h"
#include "ip.h"

static int ip_hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t ip4_scan(const char *s, size_t n, unsigned char out[4])
{
  unsigned char tmp[4];
  size_t pos = 0;
  int part;

  for (part = 0; part < 4; ++part) {
    size_t digits = 0;
    unsigned value = 0;
    if (part > 0) {
      if (pos >= n || s[pos] != '.') return 0;
      ++pos;
    }
    while (pos + digits < n && s[pos + digits] >= '0' && s[pos + digits] <= '9') {
      if (digits == 3) return 0; /* "1234" is never an octet */
      value = value * 10 + (unsigned)(s[pos + digits] - '0');
      ++digits;
    }
    if (digits == 0 || value > 255) return 0;
    if (digits > 1 && s[pos] == '0') return 0; /* octal ambiguity */
    tmp[part] = (unsigned char)value;
    pos += digits;
  }
  for (part = 0; part < 4; ++part) out[part] = tmp[part];
  return pos;
}

size_t ip4_fmt(char *out, const unsigned char ip[4])
{
  size_t len = 0;
  int i;
  for (i = 0; i < 4; ++i) {
    if (i > 0) {
      if (out) out[len] = '.';
      ++len;
    }
    len += fmt_ulong(out ? out + len : 0, ip[i]);
  }
  return len;
}

size_t ip6_scan(const char *s, size_t n, unsigned char out[16])
{
  unsigned char tmp[16];
  size_t pos = 0, k = 0; /* k: bytes of tmp filled */
  size_t gap = 16;       /* where "::" stands, in bytes; 16 = none seen */
  size_t i;

  if (n >= 2 && s[0] == ':' && s[1] == ':') {
    gap = 0;
    pos = 2;
    if (pos >= n || ip_hexval(s[pos]) < 0) goto done; /* just "::" */
  }
  for (;;) {
    size_t hex = 0;
    unsigned value = 0;
    /* a group (or the dotted-quad tail) must start here */
    while (pos + hex < n && hex < 5 && ip_hexval(s[pos + hex]) >= 0) ++hex;
    if (hex == 0) return 0;
    if (pos + hex < n && s[pos + hex] == '.') {
      size_t used;
      if (k > 12) return 0;
      used = ip4_scan(s + pos, n - pos, tmp + k);
      if (!used) return 0;
      k += 4;
      pos += used;
      break; /* the quad always ends the address */
    }
    if (hex > 4) return 0;
    for (i = 0; i < hex; ++i) value = value * 16 + (unsigned)ip_hexval(s[pos + i]);
    tmp[k++] = (unsigned char)(value >> 8);
    tmp[k++] = (unsigned char)(value & 255);
    pos += hex;
    if (k == 16) break;
    if (pos >= n || s[pos] != ':') break;
    if (pos + 1 < n && s[pos + 1] == ':') {
      if (gap != 16) return 0; /* "::" twice is ambiguous */
      gap = k;
      pos += 2;
      if (pos >= n || ip_hexval(s[pos]) < 0) break;
      continue;
    }
    /* a lone ':' must be followed by another group; otherwise it is not
     * part of the address and is left for the caller */
    if (pos + 1 >= n || ip_hexval(s[pos + 1]) < 0) break;
    ++pos;
  }
done:
  if (gap == 16) {
    if (k != 16) return 0;
  } else {
    size_t tail;
    if (k >= 16) return 0; /* "::" must stand for at least one group */
    tail = k - gap;
    for (i = 0; i < tail; ++i) tmp[15 - i] = tmp[k - 1 - i];
    for (i = gap; i < 16 - tail; ++i) tmp[i] = 0;
  }
  for (i = 0; i < 16; ++i) out[i] = tmp[i];
  return pos;
}

static size_t ip6_put(char *out, size_t len, char c)
{
  if (out) out[len] = c;
  return len + 1;
}

size_t ip6_fmt(char *out, const unsigned char ip[16])
{
  static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  unsigned group[8];
  int best = -1, bestlen = 1, run = 0, i;
  size_t len = 0;

  for (i = 0; i < 12 && ip[i] == mapped[i]; ++i) {}
  if (i == 12) {
    const char *p = "::ffff:";
    while (*p) { len = ip6_put(out, len, *p); ++p; }
    return len + ip4_fmt(out ? out + len : 0, ip + 12);
  }
  for (i = 0; i < 8; ++i) group[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
  /* the longest run of zero groups, at least two long, first on a tie */
  for (i = 0; i < 8; ++i) {
    if (group[i] == 0) {
      ++run;
      if (run > bestlen) { bestlen = run; best = i - run + 1; }
    } else {
      run = 0;
    }
  }
  for (i = 0; i < 8; ++i) {
    if (i == best) {
      len = ip6_put(out, len, ':');
      len = ip6_put(out, len, ':');
      i += bestlen - 1;
      continue;
    }
    if (i > 0 && i != best + bestlen) len = ip6_put(out, len, ':');
    len += fmt_xlong(out ? out + len : 0, group[i]);
  }
  return len;
}
