/* fuzz_dkim_canon.c: the DKIM code that the signer and the verifier
 * share (dkim_canon.h) and the verifier's parsers around it (dkimv.h,
 * taglist.h), on any bytes: the first byte chooses relaxed or simple
 * and a piece size, the rest is a message.
 *
 *  - dkim_header_split: the fields lie inside the header in order
 *    without overlap, name, colon, value and line end in that order;
 *    dkim_msg_split (the verifier's) gives the same fields;
 *  - dkim_canon_header: ends in CRLF; relaxed: no other line feed;
 *  - the body, fed whole or in pieces of the chosen size, gives the
 *    same bytes, ending in CRLF, with (relaxed) no white space before
 *    a line end; dkim_body_data gives those bytes too, and cut to l=
 *    their prefix (or EINVAL when l= is longer);
 *  - taglist_parse on every field's value: names and values inside the
 *    value, names well formed and unique (taglist_get finds each),
 *    values without white space at either end and of legal bytes;
 *  - dkim_sig_parse on every field's value: when it parses, d= is
 *    lower case and bh= 32 bytes, the signature's body bytes obey l=,
 *    and dkim_header_data gives bytes that do not end in CRLF;
 *  - dkim_from_domain gives a clean domain or nothing. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_canon.h"
#include "dkimv.h"
#include "str.h"
#include "taglist.h"

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

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static void tags(const char *v, size_t n)
{
  struct taglist t;
  size_t i, j, len;
  if (taglist_parse(&t, v, n) < 0) {
    fuzz_check(errno == EINVAL);
    return;
  }
  fuzz_check(t.n <= TAGLIST_MAX);
  for (i = 0; i < t.n; ++i) {
    const char *nm = t.tag[i].name, *val = t.tag[i].value;
    size_t nl = t.tag[i].name_len, vl = t.tag[i].value_len;
    char name[65];
    fuzz_check(nl >= 1 && nm >= v && nm + nl <= v + n);
    fuzz_check(val >= nm + nl && val + vl <= v + n);
    fuzz_check((nm[0] >= 'a' && nm[0] <= 'z') || (nm[0] >= 'A' && nm[0] <= 'Z'));
    if (vl) fuzz_check(!is_ws(val[0]) && !is_ws(val[vl - 1]));
    for (j = 0; j < vl; ++j) {
      unsigned char c = (unsigned char)val[j];
      fuzz_check(is_ws((char)c) || (c >= 0x21 && c <= 0x7e && c != ';'));
    }
    if (nl < sizeof name) {
      memcpy(name, nm, nl);
      name[nl] = 0;
      fuzz_check(taglist_get(&t, name, &len) == val && len == vl);
    }
  }
}

/* A field's value as a DKIM-Signature: when it parses, the bytes
 * hashed for it. */
static void signature(const struct dkim_msg *m, size_t k, const str *whole_body_simple, const str *whole_body_relaxed)
{
  struct dkim_sig sig;
  const char *why;
  const dkim_field *f = &m->f[k];
  str out = STR_INIT;
  size_t i;
  if (dkim_sig_parse(m->s + f->value, f->end - f->value, 0, &sig, &why) < 0) {
    fuzz_check(errno == EINVAL && why != 0);
    return;
  }
  for (i = 0; i < sig.d.len; ++i) fuzz_check(!(sig.d.s[i] >= 'A' && sig.d.s[i] <= 'Z'));
  fuzz_check(sig.bh.len == 32 && sig.b.len > 0);
  {
    const str *whole = sig.body_simple ? whole_body_simple : whole_body_relaxed;
    int r = dkim_body_data(m->s + m->body, m->n - m->body, sig.body_simple, sig.has_l, sig.l, &out, &why);
    if (sig.has_l && sig.l > whole->len) {
      fuzz_check(r == -1 && errno == EINVAL);
    } else {
      size_t want = sig.has_l ? (size_t)sig.l : whole->len;
      fuzz_check(r == 0 && out.len == want && (want == 0 || memcmp(out.s, whole->s, want) == 0));
    }
  }
  if (dkim_header_data(m, k, &sig, &out) == 0) {
    fuzz_check(out.len < 2 || !(out.s[out.len - 2] == '\r' && out.s[out.len - 1] == '\n') || sig.header_simple);
  } else {
    fuzz_check(errno == EINVAL);
  }
  dkim_sig_free(&sig);
  str_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  dkim_field f[64];
  struct dkim_msg dm;
  size_t count, bodyat, i, last = 0, piece;
  const char *m;
  str h = STR_INIT, a = STR_INIT, b = STR_INIT, bs = STR_INIT, br = STR_INIT;
  const char *why;
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
    fuzz_check(f[i].namelen >= 1 && f[i].start + f[i].namelen < f[i].value && f[i].value <= f[i].end);
    fuzz_check(m[f[i].value - 1] == ':');
    fuzz_check(f[i].end <= f[i].next && f[i].next <= bodyat);
    if (i > 0) fuzz_check(f[i - 1].next == f[i].start);
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

  /* the verifier: the same split, the same body bytes, its parsers */
  if (dkim_msg_split(m, size, &dm) == 0) {
    fuzz_check(dm.nf == count && dm.body == bodyat);
    for (i = 0; i < dm.nf && i < 64; i++)
      fuzz_check(memcmp(&dm.f[i], &f[i], sizeof f[i]) == 0);
    fuzz_check(dkim_body_data(m + bodyat, size - bodyat, 1, 0, 0, &bs, &why) == 0);
    fuzz_check(dkim_body_data(m + bodyat, size - bodyat, 0, 0, 0, &br, &why) == 0);
    {
      const str *same = relaxed ? &br : &bs;
      fuzz_check(same->len == a.len && (a.len == 0 || memcmp(same->s, a.s, a.len) == 0));
    }
    for (i = 0; i < dm.nf; i++) {
      tags(m + dm.f[i].value, dm.f[i].end - dm.f[i].value);
      signature(&dm, i, &bs, &br);
    }
    dkim_msg_free(&dm);
  } else {
    fuzz_check(errno == EINVAL && count > DKIM_FIELDS_MAX);
  }
  str_free(&h);
  str_free(&a);
  str_free(&b);
  str_free(&bs);
  str_free(&br);
  return 0;
}
