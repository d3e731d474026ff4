/* dkimv.c: see dkimv.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "byte.h"
#include "dkimv.h"
#include "sasl.h"
#include "scan.h"
#include "taglist.h"

#define DKIM_KEY_MAX 8192 /* bytes of a decoded public key */
#define DKIM_SIG_MAX 1024 /* bytes of a decoded signature */

int dkim_msg_split(const char *s, size_t n, struct dkim_msg *m)
{
  size_t count, body;
  m->s = s;
  m->n = n;
  m->f = 0;
  m->nf = 0;
  m->body = n;
  /* count first, then fill an array of that size (at most
   * DKIM_FIELDS_MAX entries: no overflow) */
  dkim_header_split(s, n, 0, 0, &count, &body);
  if (count > DKIM_FIELDS_MAX) { errno = EINVAL; return -1; }
  m->f = malloc((count ? count : 1) * sizeof *m->f);
  if (!m->f) return -1;
  dkim_header_split(s, n, m->f, count, &m->nf, &m->body);
  return 0;
}

void dkim_msg_free(struct dkim_msg *m)
{
  free(m->f);
  m->f = 0;
  m->nf = 0;
}

int dkim_body_data(const char *b, size_t n, int simple, int has_l, unsigned long long l, str *out, const char **why)
{
  size_t start = out->len;
  dkim_body cb;
  dkim_body_init(&cb, !simple);
  if (dkim_body_update(&cb, out, b, n) < 0) {
    int e = errno;
    (void)dkim_body_final(&cb, out); /* frees cb */
    errno = e;
    return -1;
  }
  if (dkim_body_final(&cb, out) < 0) return -1;
  if (has_l) {
    if (l > out->len - start) {
      *why = "l= longer than the body";
      errno = EINVAL;
      return -1;
    }
    str_truncate(out, start + (size_t)l);
  }
  return 0;
}

static int tag_copy(str *to, const struct taglist *t, const char *name)
{
  size_t n;
  const char *v = taglist_get(t, name, &n);
  str_truncate(to, 0);
  if (str_ready(to, 1) < 0) return -1; /* never a null pointer, even when empty */
  if (!v) return 0;
  return taglist_strip_ws(to, v, n) < 0 ? -1 : 1;
}

static int lower_equal(const str *a, const char *w)
{
  return case_equalb(a->s, a->len, w, byte_len(w, 64));
}

static int b64_tag(const struct taglist *t, const char *name, str *scratch, str *out, size_t max)
{
  int r = tag_copy(scratch, t, name);
  if (r <= 0) return r == 0 ? 0 : -1;
  str_truncate(out, 0);
  if (base64_decode(scratch->s, scratch->len, out, max) < 0) return -1;
  return 1;
}

int dkim_sig_parse(const char *v, size_t n, long long now, struct dkim_sig *sig, const char **why)
{
  struct taglist t;
  str x = STR_INIT;
  int r;
  unsigned long long tt = 0, xx = 0;
  int has_t = 0;

  memset(sig, 0, sizeof *sig);
  *why = "malformed tag list";
  if (taglist_parse(&t, v, n) < 0) goto inval;
  *why = "v= missing or not 1";
  if (tag_copy(&x, &t, "v") != 1 || !str_equals(&x, "1")) goto inval;
  *why = "unknown algorithm";
  if (tag_copy(&x, &t, "a") != 1) goto inval;
  if (lower_equal(&x, "rsa-sha256")) sig->alg = DKIM_RSA_SHA256;
  else if (lower_equal(&x, "ed25519-sha256")) sig->alg = DKIM_ED25519_SHA256;
  else goto inval;
  *why = "bad c=";
  sig->header_simple = sig->body_simple = 1;
  r = tag_copy(&x, &t, "c");
  if (r < 0) goto fail;
  if (r == 1) {
    size_t slash = byte_chr(x.s, x.len, '/');
    const char *hs = x.s, *bs = slash < x.len ? x.s + slash + 1 : "simple";
    size_t hl = slash, bl = slash < x.len ? x.len - slash - 1 : 6;
    if (case_equalb(hs, hl, "relaxed", 7)) sig->header_simple = 0;
    else if (!case_equalb(hs, hl, "simple", 6)) goto inval;
    if (case_equalb(bs, bl, "relaxed", 7)) sig->body_simple = 0;
    else if (!case_equalb(bs, bl, "simple", 6)) goto inval;
  }
  *why = "d= missing";
  if (tag_copy(&sig->d, &t, "d") != 1 || sig->d.len == 0) goto inval;
  case_lowerb(sig->d.s, sig->d.len);
  *why = "s= missing";
  if (tag_copy(&sig->s, &t, "s") != 1 || sig->s.len == 0) goto inval;
  *why = "h= missing";
  if (tag_copy(&sig->h, &t, "h") != 1 || sig->h.len == 0) goto inval;
  {
    size_t pos = 0;
    int from = 0;
    while (pos <= sig->h.len) {
      size_t c = byte_chr(sig->h.s + pos, sig->h.len - pos, ':');
      if (case_equalb(sig->h.s + pos, c, "from", 4)) from = 1;
      pos += c + 1;
    }
    *why = "h= does not sign From";
    if (!from) goto inval;
  }
  *why = "bad b=";
  if (b64_tag(&t, "b", &x, &sig->b, DKIM_SIG_MAX) != 1 || sig->b.len == 0) goto inval;
  if (tag_copy(&sig->b64, &t, "b") < 0) goto fail;
  *why = "bad bh=";
  if (b64_tag(&t, "bh", &x, &sig->bh, 64) != 1 || sig->bh.len != 32) goto inval;
  *why = "bad l=";
  r = tag_copy(&x, &t, "l");
  if (r == 1) {
    unsigned long u;
    if (x.len > 76 || scan_ulong_exact(x.s, x.len, &u) < 0) goto inval;
    sig->has_l = 1;
    sig->l = u;
  }
  *why = "bad q=";
  r = tag_copy(&x, &t, "q");
  if (r == 1 && !byte_startswith(x.s, x.len, "dns/txt", 1)) goto inval;
  *why = "bad i=";
  r = tag_copy(&sig->i, &t, "i");
  if (r == 1) {
    size_t at = byte_rchr(sig->i.s, sig->i.len, '@'), dl;
    const char *dom;
    if (at == sig->i.len) goto inval;
    dom = sig->i.s + at + 1;
    dl = sig->i.len - at - 1;
    *why = "i= not within d=";
    if (!case_equalb(dom, dl, sig->d.s, sig->d.len) &&
        !(dl > sig->d.len && dom[dl - sig->d.len - 1] == '.' &&
          case_equalb(dom + dl - sig->d.len, sig->d.len, sig->d.s, sig->d.len)))
      goto inval;
  } else {
    if (str_copys(&sig->i, "@") < 0 || str_cat(&sig->i, &sig->d) < 0) goto fail;
  }
  *why = "bad t=";
  r = tag_copy(&x, &t, "t");
  if (r == 1) {
    unsigned long u;
    if (scan_ulong_exact(x.s, x.len, &u) < 0) goto inval;
    tt = u;
    has_t = 1;
  }
  *why = "bad x=";
  r = tag_copy(&x, &t, "x");
  if (r == 1) {
    unsigned long u;
    if (scan_ulong_exact(x.s, x.len, &u) < 0) goto inval;
    xx = u;
    if (has_t && xx < tt) goto inval;
    *why = "signature expired";
    if (now > 0 && (unsigned long long)now > xx) goto inval;
  }
  str_free(&x);
  *why = 0;
  return 0;
inval:
  errno = EINVAL;
fail:
  str_free(&x);
  dkim_sig_free(sig);
  return -1;
}

void dkim_sig_free(struct dkim_sig *sig)
{
  str_free(&sig->d);
  str_free(&sig->s);
  str_free(&sig->i);
  str_free(&sig->h);
  str_free(&sig->b);
  str_free(&sig->bh);
  str_free(&sig->b64);
}

int dkim_header_data(const struct dkim_msg *m, size_t sig_field, const struct dkim_sig *sig, str *out)
{
  char *used;
  size_t pos = 0;
  int ret = -1;

  str_truncate(out, 0);
  used = calloc(m->nf ? m->nf : 1, 1);
  if (!used) return -1;
  while (pos <= sig->h.len) {
    size_t c = byte_chr(sig->h.s + pos, sig->h.len - pos, ':'), k;
    const char *name = sig->h.s + pos;
    for (k = m->nf; k > 0; --k) {
      const dkim_field *f = &m->f[k - 1];
      if (used[k - 1] || !case_equalb(m->s + f->start, f->namelen, name, c)) continue;
      used[k - 1] = 1;
      if (dkim_canon_header(out, m->s + f->start, f->end - f->start, !sig->header_simple, 1) < 0) goto end;
      break;
    }
    pos += c + 1;
  }
  {
    /* the signature field with its b= value taken out, without its
     * final line end */
    const dkim_field *f = &m->f[sig_field];
    const char *v = m->s + f->value;
    size_t vn = f->end - f->value;
    struct taglist t;
    size_t bl, cut, cutlen;
    const char *b;
    str tmp = STR_INIT;
    if (taglist_parse(&t, v, vn) < 0) goto end;
    b = taglist_get(&t, "b", &bl);
    if (!b) { errno = EINVAL; goto end; }
    cut = (size_t)(b - m->s) - f->start;
    cutlen = bl;
    if (str_copyb(&tmp, m->s + f->start, cut) < 0 ||
        str_catb(&tmp, m->s + f->start + cut + cutlen, f->end - f->start - cut - cutlen) < 0 ||
        dkim_canon_header(out, tmp.s, tmp.len, !sig->header_simple, 0) < 0) {
      str_free(&tmp);
      goto end;
    }
    str_free(&tmp);
  }
  ret = 0;
end:
  free(used);
  return ret;
}

int dkim_key_parse(const char *v, size_t n, int *ed25519, int *strict, str *key, const char **why)
{
  struct taglist t;
  str x = STR_INIT;
  int r;

  *ed25519 = 0;
  *strict = 0;
  *why = "malformed key record";
  if (taglist_parse(&t, v, n) < 0) goto inval;
  r = tag_copy(&x, &t, "v");
  *why = "key v= is not DKIM1";
  if (r == 1 && (!str_equals(&x, "DKIM1") || t.tag[0].name_len != 1 || t.tag[0].name[0] != 'v')) goto inval;
  r = tag_copy(&x, &t, "k");
  *why = "unknown key type";
  if (r == 1) {
    if (lower_equal(&x, "ed25519")) *ed25519 = 1;
    else if (!lower_equal(&x, "rsa")) goto inval;
  }
  r = tag_copy(&x, &t, "h");
  *why = "key h= excludes sha256";
  if (r == 1) {
    size_t pos = 0;
    int ok = 0;
    while (pos <= x.len) {
      size_t c = byte_chr(x.s + pos, x.len - pos, ':');
      if (case_equalb(x.s + pos, c, "sha256", 6)) ok = 1;
      pos += c + 1;
    }
    if (!ok) goto inval;
  }
  r = tag_copy(&x, &t, "s");
  *why = "key s= excludes email";
  if (r == 1) {
    size_t pos = 0;
    int ok = 0;
    while (pos <= x.len) {
      size_t c = byte_chr(x.s + pos, x.len - pos, ':');
      if (case_equalb(x.s + pos, c, "email", 5) || (c == 1 && x.s[pos] == '*')) ok = 1;
      pos += c + 1;
    }
    if (!ok) goto inval;
  }
  r = tag_copy(&x, &t, "t");
  if (r == 1) {
    size_t pos = 0;
    while (pos <= x.len) {
      size_t c = byte_chr(x.s + pos, x.len - pos, ':');
      if (c == 1 && x.s[pos] == 's') *strict = 1;
      pos += c + 1;
    }
  }
  *why = "key p= missing";
  r = tag_copy(&x, &t, "p");
  if (r != 1) goto inval;
  *why = "key revoked";
  if (x.len == 0) goto inval;
  *why = "key p= is not base64";
  str_truncate(key, 0);
  if (base64_decode(x.s, x.len, key, DKIM_KEY_MAX) < 0) goto inval;
  str_free(&x);
  *why = 0;
  return 0;
inval:
  errno = EINVAL;
  str_free(&x);
  return -1;
}
