/* rewrite.c: see rewrite.h. Every split into local part and domain is
 * addr_split's, the one the servers' relay checks use. */
#include <errno.h>

#include "addr.h"
#include "byte.h"
#include "control.h"
#include "domain.h"
#include "queue.h"
#include "rewrite.h"
#include "str.h"

int rewrite_load(struct rewrite *rw, const char **bad)
{
  str me = STR_INIT;
  int r;

  *bad = "control/me";
  if (control_readline("control/me", &me, "localhost") < 0) goto fail;
  *bad = "control/locals";
  r = control_readlist("control/locals", &rw->locals);
  if (r < 0) goto fail;
  if (r == 0 && (str_copy(&rw->locals, &me) < 0 || str_catc(&rw->locals, 0) < 0)) goto fail;
  *bad = "control/virtualdomains";
  if (control_readlist("control/virtualdomains", &rw->virtualdomains) < 0) goto fail;
  *bad = "control/percenthack";
  if (control_readlist("control/percenthack", &rw->percenthack) < 0) goto fail;
  *bad = "control/envnoathost";
  if (control_readline("control/envnoathost", &rw->envnoathost, 0) < 0) goto fail;
  if (rw->envnoathost.len == 0 && str_copy(&rw->envnoathost, &me) < 0) goto fail;
  str_free(&me);
  *bad = 0;
  return 0;
fail:
  str_free(&me);
  return -1;
}

void rewrite_free(struct rewrite *rw)
{
  str_free(&rw->locals);
  str_free(&rw->virtualdomains);
  str_free(&rw->percenthack);
  str_free(&rw->envnoathost);
}

/* Exact, case-insensitive membership of s in a control list. */
static int in_list(const str *list, const char *s, size_t n)
{
  size_t pos = 0, len;
  const char *e;
  while (control_next(list, &pos, &e, &len))
    if (domain_equal(e, len, s, n)) return 1;
  return 0;
}

/* The prepend for key in virtualdomains: 1 found (value in *v), 0 not. */
static int vd_lookup(const str *list, const char *key, size_t klen, const char **v, size_t *vlen)
{
  size_t pos = 0, len;
  const char *e;
  while (control_next(list, &pos, &e, &len)) {
    size_t colon = byte_chr(e, len, ':');
    if (colon == len) continue;
    if (case_equalb(e, colon, key, klen)) {
      *v = e + colon + 1;
      *vlen = len - colon - 1;
      return 1;
    }
  }
  return 0;
}

static int finish(str *out, int local)
{
  if (out->len > QUEUE_ADDR_MAX) { errno = EINVAL; return -1; }
  return local;
}

/* Whether rule 2 acts on a[0..len), whose domain follows a[at]: 1 with
 * *pct at the '%' that becomes the new '@', or 0: a domain not in the
 * list, no '%' in the local part, or a quoted local part (opaque: a '%'
 * inside quotes is no routing). */
static int percent_at(const str *percenthack, const char *a, size_t len, size_t at, size_t *pct)
{
  if (len == 0 || a[0] == '"') return 0;
  if (!in_list(percenthack, a + at + 1, len - at - 1)) return 0;
  *pct = byte_rchr(a, at, '%');
  return *pct < at;
}

int rewrite_percenthack_applies(const str *percenthack, const char *addr, size_t len)
{
  size_t at, pct;

  if (!addr_split(addr, len, &at)) return 0;
  return percent_at(percenthack, addr, len, at, &pct);
}

int rewrite_classify(const struct rewrite *rw, const char *addr, size_t len, str *out)
{
  size_t at, dot;
  const char *v;
  size_t vlen;

  if (str_copyb(out, addr, len) < 0) return -1;
  if (!addr_split(out->s, out->len, &at)) {
    if (str_catc(out, '@') < 0 || str_cat(out, &rw->envnoathost) < 0) return -1;
  }
  for (;;) { /* percenthack */
    size_t pct;
    if (!addr_split(out->s, out->len, &at)) break; /* cannot happen */
    if (!percent_at(&rw->percenthack, out->s, out->len, at, &pct)) break;
    out->s[pct] = '@';
    out->len = at;
  }
  if (!addr_split(out->s, out->len, &at)) { errno = EINVAL; return -1; } /* cannot happen */
  if (in_list(&rw->locals, out->s + at + 1, out->len - at - 1)) return finish(out, 1);

  /* virtualdomains: user@domain, domain, .suffixes, empty key */
  if (!vd_lookup(&rw->virtualdomains, out->s, out->len, &v, &vlen)) {
    const char *dom = out->s + at + 1;
    size_t dlen = out->len - at - 1;
    int found = vd_lookup(&rw->virtualdomains, dom, dlen, &v, &vlen);
    for (dot = 0; !found && dot < dlen; ++dot)
      if (dom[dot] == '.') found = vd_lookup(&rw->virtualdomains, dom + dot, dlen - dot, &v, &vlen);
    if (!found && !vd_lookup(&rw->virtualdomains, "", 0, &v, &vlen)) return finish(out, 0);
  }
  if (vlen == 0) return finish(out, 0);
  {
    str r = STR_INIT;
    int ok = str_copyb(&r, v, vlen) == 0 && str_catc(&r, '-') == 0 && str_catb(&r, out->s, out->len) == 0
             && str_copy(out, &r) == 0;
    str_free(&r);
    if (!ok) return -1;
  }
  return finish(out, 1);
}
