/* dkimsign.c: DKIM-Signature fields (dkimsign.h). */
#include "dkimsign.h"

#include <errno.h>
#include <openssl/evp.h>

#include "byte.h"
#include "dkim_canon.h"

/* The fields signed when present (RFC 6376 5.4.1's list, less the
 * trace and resent fields); From is signed once more than it occurs,
 * so that no From can be added above it. */
static const char *const signed_names[] = {
  "from", "reply-to", "subject", "date", "to", "cc", "message-id",
  "in-reply-to", "references", "mime-version", "content-type",
  "content-transfer-encoding", "content-id", "content-description",
  "sender", "list-id", "list-help", "list-unsubscribe",
  "list-unsubscribe-post", "list-subscribe", "list-post", "list-owner",
  "list-archive", 0
};

#define FIELDS_MAX 1000

static int b64(str *out, const unsigned char *s, size_t n)
{
  size_t need = 4 * ((n + 2) / 3) + 1;
  if (n > 100000) { errno = EOVERFLOW; return -1; }
  if (str_readyplus(out, need) < 0) return -1;
  out->len += (size_t)EVP_EncodeBlock((unsigned char *)out->s + out->len, s, (int)n);
  return 0;
}

/* Appends value folded with nl TAB at most every 72 columns, at a
 * break character (or anywhere when brk is 0). col is the column. */
static int fold(str *out, const char *v, size_t n, size_t *col, const char *nl, char brk)
{
  size_t i;
  for (i = 0; i < n; i++) {
    if (*col >= 72 && (brk == 0 || (i > 0 && v[i - 1] == brk))) {
      if (str_cats(out, nl) < 0 || str_catc(out, '\t') < 0) return -1;
      *col = 1;
    }
    if (str_catc(out, v[i]) < 0) return -1;
    ++*col;
  }
  return 0;
}

static int hash_update(EVP_MD_CTX *c, const str *s)
{
  return EVP_DigestUpdate(c, s->s, s->len) == 1 ? 0 : -1;
}

int dkim_sign_message(str *out, const char *msg, size_t n, const char *nl,
                      const dkim_sign_request *req, dkim_signer signer, void *arg)
{
  static dkim_field f[FIELDS_MAX];
  unsigned char used[FIELDS_MAX];
  size_t count, body, i, k, col, start;
  str h = STR_INIT, tmp = STR_INIT, sig = STR_INIT;
  unsigned char md[EVP_MAX_MD_SIZE], s[DKIM_SIGMAX];
  unsigned int mdlen;
  dkim_body cb;
  EVP_MD_CTX *c = 0;
  int r = -1, slen;

  dkim_header_split(msg, n, f, FIELDS_MAX, &count, &body);
  if (count > FIELDS_MAX) { errno = E2BIG; return -1; }
  for (i = 0; i < count; i++) used[i] = 0;

  c = EVP_MD_CTX_new();
  if (!c) { errno = ENOMEM; return -1; }
  /* bh=: the canonical body */
  dkim_body_init(&cb, req->relaxed);
  if (EVP_DigestInit_ex(c, EVP_sha256(), 0) != 1) goto done;
  for (i = body; i < n; i += k) {
    k = n - i > 65536 ? 65536 : n - i;
    str_truncate(&tmp, 0);
    if (dkim_body_update(&cb, &tmp, msg + i, k) < 0 || hash_update(c, &tmp) < 0) {
      dkim_body_final(&cb, &tmp);
      goto done;
    }
  }
  str_truncate(&tmp, 0);
  if (dkim_body_final(&cb, &tmp) < 0 || hash_update(c, &tmp) < 0) goto done;
  if (EVP_DigestFinal_ex(c, md, &mdlen) != 1) goto done;

  /* the field, b= empty */
  if (str_cats(&sig, "DKIM-Signature: v=1; a=") < 0) goto done;
  if (str_cats(&sig, req->alg == DKIM_RSA ? "rsa-sha256" : "ed25519-sha256") < 0) goto done;
  if (str_cats(&sig, req->relaxed ? "; c=relaxed/relaxed; d=" : "; c=simple/simple; d=") < 0) goto done;
  if (str_cats(&sig, req->domain) < 0 || str_cats(&sig, "; s=") < 0) goto done;
  if (str_cats(&sig, req->selector) < 0 || str_cats(&sig, ";") < 0) goto done;
  if (str_cats(&sig, nl) < 0 || str_cats(&sig, "\tt=") < 0 || str_catulong(&sig, req->t) < 0) goto done;
  if (str_cats(&sig, "; h=") < 0) goto done;
  /* h=: every signed name as often as it occurs, from once more */
  str_truncate(&tmp, 0);
  for (k = 0; signed_names[k]; k++) {
    size_t times = 0;
    for (i = 0; i < count; i++)
      if (dkim_field_is(msg, &f[i], signed_names[k])) times++;
    if (k == 0) times++;
    for (; times; times--) {
      if (tmp.len && str_catc(&tmp, ':') < 0) goto done;
      if (str_cats(&tmp, signed_names[k]) < 0) goto done;
    }
  }
  col = 13;
  if (fold(&sig, tmp.s, tmp.len, &col, nl, ':') < 0) goto done;
  if (str_catc(&sig, ';') < 0 || str_cats(&sig, nl) < 0 || str_cats(&sig, "\tbh=") < 0) goto done;
  if (b64(&sig, md, mdlen) < 0) goto done;
  if (str_catc(&sig, ';') < 0 || str_cats(&sig, nl) < 0 || str_cats(&sig, "\tb=") < 0) goto done;

  /* the header hash: the h= fields, each name's instances from the
   * bottom up, then this field without its final line end */
  if (EVP_DigestInit_ex(c, EVP_sha256(), 0) != 1) goto done;
  start = 0;
  for (k = 0; k <= tmp.len; k++) {
    if (k < tmp.len && tmp.s[k] != ':') continue;
    for (i = count; i > 0; i--) {
      const dkim_field *fi = &f[i - 1];
      if (used[i - 1]) continue;
      if (!case_equalb(msg + fi->start, fi->namelen, tmp.s + start, k - start)) continue;
      used[i - 1] = 1;
      str_truncate(&h, 0);
      if (dkim_canon_header(&h, msg + fi->start, fi->end - fi->start, req->relaxed, 1) < 0) goto done;
      if (hash_update(c, &h) < 0) goto done;
      break;
    }
    start = k + 1;
  }
  str_truncate(&h, 0);
  if (dkim_canon_header(&h, sig.s, sig.len, req->relaxed, 0) < 0) goto done;
  if (hash_update(c, &h) < 0) goto done;
  if (EVP_DigestFinal_ex(c, md, &mdlen) != 1 || mdlen != 32) goto done;

  slen = signer(arg, req->key, req->alg, md, s);
  if (slen <= 0 || slen > DKIM_SIGMAX) { errno = EIO; goto done; }
  str_truncate(&tmp, 0);
  if (b64(&tmp, s, (size_t)slen) < 0) goto done;
  col = 3;
  if (fold(&sig, tmp.s, tmp.len, &col, nl, 0) < 0) goto done;
  if (str_cats(&sig, nl) < 0) goto done;
  if (str_cat(out, &sig) < 0) goto done;
  r = 0;
done:
  if (r < 0 && errno == 0) errno = EIO;
  EVP_MD_CTX_free(c);
  str_free(&h);
  str_free(&tmp);
  str_free(&sig);
  return r;
}
