/* dmarc.c: see dmarc.h. */
#include <errno.h>

#include "byte.h"
#include "dmarc.h"
#include "taglist.h"

/* Second-level public suffixes common enough to matter; the rest of
 * the Public Suffix List goes into control/publicsuffix when wanted. */
static const char *const suffixes[] = {
  "co.uk", "org.uk", "ac.uk", "gov.uk", "ltd.uk", "plc.uk", "me.uk", "net.uk", "sch.uk", "nhs.uk",
  "com.au", "net.au", "org.au", "edu.au", "gov.au", "asn.au", "id.au",
  "co.nz", "org.nz", "net.nz", "ac.nz", "govt.nz", "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp",
  "com.br", "net.br", "org.br", "gov.br", "co.za", "org.za", "gov.za", "ac.za", "com.cn", "net.cn",
  "org.cn", "gov.cn", "edu.cn", "com.tw", "org.tw", "co.in", "net.in", "org.in", "gov.in", "ac.in",
  "co.kr", "or.kr", "com.mx", "org.mx", "gob.mx", "com.ar", "com.tr", "org.tr", "gov.tr", "co.il",
  "org.il", "ac.il", "com.sg", "edu.sg", "com.hk", "com.my", "co.id", "or.id", "com.ua", "co.th",
  "ac.th", "com.vn", "com.pl", "co.at", "or.at", "gv.at", "com.es", "com.ru", "co.ke", "com.ng",
  "com.eg", "com.sa", "com.pk", "com.ph", "com.co", "com.pe", "com.ve", "co.ve", "com.uy",
};

static int suffix_known(const char *s, size_t n, const str *extra)
{
  size_t i;
  for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; ++i)
    if (case_equalb(s, n, suffixes[i], byte_len(suffixes[i], 64))) return 1;
  if (extra) {
    size_t pos = 0;
    while (pos < extra->len) {
      size_t l = byte_chr(extra->s + pos, extra->len - pos, 0);
      const char *e = extra->s + pos;
      size_t el = l;
      if (el > 0 && e[0] == '.') { ++e; --el; }
      if (el > 0 && case_equalb(s, n, e, el)) return 1;
      pos += l + 1;
    }
  }
  return 0;
}

size_t dmarc_org_domain(const char *d, size_t n, const str *extra)
{
  /* the longest tail that is a public suffix (the last label always
   * is), plus the label before it */
  size_t st = 0, prev = 0;
  int first = 1;
  for (;;) {
    size_t dot = byte_chr(d + st, n - st, '.');
    if (dot == n - st || suffix_known(d + st, n - st, extra)) break;
    prev = st;
    first = 0;
    st += dot + 1;
  }
  if (first) return n;
  return n - prev;
}

int dmarc_aligned(const char *a, size_t an, const char *b, size_t bn, int strict, const str *extra)
{
  size_t ao, bo;
  if (an > 0 && a[an - 1] == '.') --an;
  if (bn > 0 && b[bn - 1] == '.') --bn;
  if (case_equalb(a, an, b, bn)) return 1;
  if (strict) return 0;
  ao = dmarc_org_domain(a, an, extra);
  bo = dmarc_org_domain(b, bn, extra);
  return case_equalb(a + an - ao, ao, b + bn - bo, bo);
}

int dmarc_record_is(const char *s, size_t n)
{
  size_t i = 0;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) ++i;
  if (n - i < 8 || !byte_equal(s + i, "v=DMARC1", 8)) {
    /* "v = DMARC1" with blanks is accepted too */
    struct taglist t;
    if (taglist_parse(&t, s, n) < 0 || t.n == 0) return 0;
    return t.tag[0].name_len == 1 && t.tag[0].name[0] == 'v' && t.tag[0].value_len == 6 &&
           byte_equal(t.tag[0].value, "DMARC1", 6);
  }
  i += 8;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i == n || s[i] == ';';
}

static int policy(const char *v, size_t n, enum dmarc_policy *p)
{
  if (case_equalb(v, n, "none", 4)) *p = DMARC_P_NONE;
  else if (case_equalb(v, n, "quarantine", 10)) *p = DMARC_P_QUARANTINE;
  else if (case_equalb(v, n, "reject", 6)) *p = DMARC_P_REJECT;
  else return -1;
  return 0;
}

int dmarc_record_parse(const char *s, size_t n, struct dmarc_record *r)
{
  struct taglist t;
  const char *v;
  size_t vl, rl;

  r->p = r->sp = DMARC_P_NONE;
  r->strict_spf = r->strict_dkim = 0;
  r->pct = 100;
  if (!dmarc_record_is(s, n) || taglist_parse(&t, s, n) < 0) goto inval;
  v = taglist_get(&t, "p", &vl);
  if (!v || policy(v, vl, &r->p) < 0) {
    if (!taglist_get(&t, "rua", &rl)) goto inval;
    r->p = DMARC_P_NONE;
  }
  r->sp = r->p;
  v = taglist_get(&t, "sp", &vl);
  if (v && policy(v, vl, &r->sp) < 0) r->sp = r->p;
  v = taglist_get(&t, "adkim", &vl);
  if (v && vl == 1 && (v[0] == 's' || v[0] == 'S')) r->strict_dkim = 1;
  v = taglist_get(&t, "aspf", &vl);
  if (v && vl == 1 && (v[0] == 's' || v[0] == 'S')) r->strict_spf = 1;
  v = taglist_get(&t, "pct", &vl);
  if (v && vl > 0 && vl <= 3) {
    unsigned u = 0;
    size_t i;
    for (i = 0; i < vl && v[i] >= '0' && v[i] <= '9'; ++i) u = u * 10 + (unsigned)(v[i] - '0');
    if (i == vl && u <= 100) r->pct = u;
  }
  return 0;
inval:
  errno = EINVAL;
  return -1;
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
  return p == DMARC_P_REJECT ? "reject" : p == DMARC_P_QUARANTINE ? "quarantine" : "none";
}
