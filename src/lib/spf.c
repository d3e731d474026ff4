/* spf.c: see spf.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "byte.h"
#include "ip.h"
#include "spf.h"

#define SPF_LOOKUPS_MAX 10
#define SPF_VOIDS_MAX 2
#define SPF_NAMES_MAX 10
#define SPF_TERMS_MAX 512
/* parts of one macro value: a sender is at most 1003 bytes in sluice
 * (sluice-queue(8)), so at most 1004 parts */
#define SPF_PARTS_MAX 1100

enum mech { M_ALL, M_INCLUDE, M_A, M_MX, M_PTR, M_IP4, M_IP6, M_EXISTS };

struct term {
  enum mech mech;
  enum spf_result qual;
  const char *arg;            /* domain-spec (macro-string), 0: none */
  size_t arglen;
  unsigned char ip[16];
  unsigned cidr4, cidr6;
};

struct record {
  struct term *t;
  size_t n;
  const char *redirect;
  size_t redirect_len;
};

struct state {
  const struct spf_dns *dns;
  const struct spf_request *req;
  unsigned lookups, voids;
};

const char *spf_result_name(enum spf_result r)
{
  switch (r) {
  case SPF_NONE: return "none";
  case SPF_NEUTRAL: return "neutral";
  case SPF_PASS: return "pass";
  case SPF_FAIL: return "fail";
  case SPF_SOFTFAIL: return "softfail";
  case SPF_TEMPERROR: return "temperror";
  default: return "permerror";
  }
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static int is_alpha(int c) { c = lower(c); return c >= 'a' && c <= 'z'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_delim(int c) { return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '='; }

static int word_is(const char *s, size_t n, const char *w)
{
  size_t i;
  for (i = 0; i < n; ++i)
    if (!w[i] || lower((unsigned char)s[i]) != w[i]) return 0;
  return w[n] == 0;
}

/* Appends the text of one macro letter, unsplit. */
static int macro_value(str *v, int letter, const struct spf_request *req, const char *domain, size_t dlen)
{
  static const char hex[] = "0123456789abcdef";
  size_t at = byte_rchr(req->sender, req->sender_len, '@');
  switch (letter) {
  case 's':
    if (at == 0 || at == req->sender_len) {
      if (str_cats(v, "postmaster") < 0) return -1;
      if (at == req->sender_len) return str_catc(v, '@') < 0 || str_catb(v, req->sender, req->sender_len) < 0 ? -1 : 0;
      return str_catb(v, req->sender, req->sender_len);
    }
    return str_catb(v, req->sender, req->sender_len);
  case 'l':
    if (at == 0 || at == req->sender_len) return str_cats(v, "postmaster");
    return str_catb(v, req->sender, at);
  case 'o':
    if (at == req->sender_len) return str_catb(v, req->sender, req->sender_len);
    return str_catb(v, req->sender + at + 1, req->sender_len - at - 1);
  case 'd': return str_catb(v, domain, dlen);
  case 'h': return str_catb(v, req->helo, req->helo_len);
  case 'p': return str_cats(v, "unknown");
  case 'v': return str_cats(v, req->family == AF_INET6 ? "ip6" : "in-addr");
  case 'i':
    if (req->family == AF_INET6) {
      int k;
      for (k = 0; k < 16; ++k) {
        if (k && str_catc(v, '.') < 0) return -1;
        if (str_catc(v, hex[req->ip[k] >> 4]) < 0 || str_catc(v, '.') < 0 || str_catc(v, hex[req->ip[k] & 15]) < 0)
          return -1;
      }
      return 0;
    } else {
      int k;
      for (k = 0; k < 4; ++k) {
        if (k && str_catc(v, '.') < 0) return -1;
        if (str_catulong(v, req->ip[k]) < 0) return -1;
      }
      return 0;
    }
  case 'c': case 'r': case 't':
    return str_cats(v, "unknown"); /* exp only, which is not expanded */
  default:
    errno = EINVAL;
    return -1;
  }
}

/* One %{...}: letter, transformers, delimiters, into out. */
static int macro_one(str *out, const char *s, size_t n, const struct spf_request *req, const char *domain,
                     size_t dlen, int exp)
{
  int letter, upper, reverse = 0;
  unsigned long keep = 0;
  size_t i = 1;
  const char *delims = s;
  size_t ndelims = 0;
  str v = STR_INIT;
  size_t parts[SPF_PARTS_MAX][2], np = 0, start, k;
  int ret = -1;

  if (n < 1) goto inval;
  letter = lower((unsigned char)s[0]);
  upper = s[0] >= 'A' && s[0] <= 'Z';
  if (byte_chr("slodiphvcrt", 11, letter) == 11) goto inval;
  if (!exp && (letter == 'c' || letter == 'r' || letter == 't')) goto inval;
  if (i < n && is_digit((unsigned char)s[i])) {
    while (i < n && is_digit((unsigned char)s[i])) {
      keep = keep * 10 + (unsigned long)(s[i] - '0');
      if (keep > 255) goto inval;
      ++i;
    }
    if (keep == 0) goto inval;
  }
  if (i < n && lower((unsigned char)s[i]) == 'r') { reverse = 1; ++i; }
  delims = s + i;
  for (; i < n; ++i) {
    if (!is_delim((unsigned char)s[i])) goto inval;
    ++ndelims;
  }
  if (macro_value(&v, letter, req, domain, dlen) < 0) goto end;
  /* split into parts */
  start = 0;
  for (k = 0; k <= v.len; ++k) {
    int d;
    if (k < v.len) {
      d = ndelims ? byte_chr(delims, ndelims, v.s[k]) < ndelims : v.s[k] == '.';
      if (!d) continue;
    }
    if (np == SPF_PARTS_MAX) goto inval;
    parts[np][0] = start;
    parts[np][1] = k - start;
    ++np;
    start = k + 1;
  }
  {
    size_t first, j;
    int any = 0;
    /* reverse first, then keep the rightmost parts */
    if (reverse) {
      for (j = 0; j < np / 2; ++j) {
        size_t t0 = parts[j][0], t1 = parts[j][1];
        parts[j][0] = parts[np - 1 - j][0];
        parts[j][1] = parts[np - 1 - j][1];
        parts[np - 1 - j][0] = t0;
        parts[np - 1 - j][1] = t1;
      }
    }
    first = keep && keep < np ? np - keep : 0;
    for (j = first; j < np; ++j) {
      const char *p = v.s + parts[j][0];
      size_t m = parts[j][1], q;
      if (any && str_catc(out, '.') < 0) goto end;
      any = 1;
      if (!upper) {
        if (str_catb(out, p, m) < 0) goto end;
        continue;
      }
      for (q = 0; q < m; ++q) {
        unsigned char c = (unsigned char)p[q];
        if (is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~') {
          if (str_catc(out, (char)c) < 0) goto end;
        } else {
          static const char hx[] = "0123456789ABCDEF";
          if (str_catc(out, '%') < 0 || str_catc(out, hx[c >> 4]) < 0 || str_catc(out, hx[c & 15]) < 0) goto end;
        }
      }
    }
  }
  ret = 0;
  goto end;
inval:
  errno = EINVAL;
end:
  str_free(&v);
  return ret;
}

static int expand(str *out, const char *s, size_t n, const struct spf_request *req, const char *domain,
                  size_t dlen, int exp)
{
  size_t i = 0;
  str_truncate(out, 0);
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    if (c != '%') {
      if (c < 0x21 || c > 0x7e) { errno = EINVAL; return -1; }
      if (str_catc(out, (char)c) < 0) return -1;
      ++i;
      continue;
    }
    if (n - i < 2) { errno = EINVAL; return -1; }
    c = (unsigned char)s[i + 1];
    if (c == '%' || c == '_' || c == '-') {
      if (str_cats(out, c == '%' ? "%" : c == '_' ? " " : "%20") < 0) return -1;
      i += 2;
      continue;
    }
    if (c != '{') { errno = EINVAL; return -1; }
    {
      size_t close = byte_chr(s + i + 2, n - i - 2, '}');
      if (close == n - i - 2) { errno = EINVAL; return -1; }
      if (macro_one(out, s + i + 2, close, req, domain, dlen, exp) < 0) return -1;
      i += 2 + close + 1;
    }
  }
  return 0;
}

int spf_macro_expand(str *out, const char *s, size_t n, const struct spf_request *req, const char *domain,
                     size_t domain_len)
{
  return expand(out, s, n, req, domain, domain_len, 0);
}

/* A domain-spec as expanded: over 253 bytes, labels are dropped from
 * the left (RFC 7208 7.3). */
static void domain_trim(str *d)
{
  if (d->len > 0 && d->s[d->len - 1] == '.') --d->len;
  while (d->len > 253) {
    size_t dot = byte_chr(d->s, d->len, '.');
    if (dot == d->len) { d->len = 0; return; }
    memmove(d->s, d->s + dot + 1, d->len - dot - 1);
    d->len -= dot + 1;
  }
}

/* domain-end: "." toplabel ["."] or a macro-expand (RFC 7208 7.1). */
static int domain_spec_ok(const char *s, size_t n)
{
  size_t dot, i;
  int alpha = 0;
  if (n == 0) return 0;
  if (s[n - 1] == '}') return 1;
  if (s[n - 1] == '.') --n;
  dot = byte_rchr(s, n, '.');
  if (dot == n) return 0;
  ++dot;
  if (dot == n) return 0;
  for (i = dot; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (is_alpha(c)) alpha = 1;
    else if (!is_digit(c) && !(c == '-' && i != dot && i + 1 != n)) return 0;
  }
  return alpha;
}

/* Parses "/n" at the end of s[0..*n): returns 1 and shortens *n when
 * found, 0 when absent, -1 when malformed or above max. */
static int cidr_tail(const char *s, size_t *n, unsigned max, unsigned *out)
{
  size_t i = *n;
  unsigned long v = 0;
  while (i > 0 && is_digit((unsigned char)s[i - 1])) --i;
  if (i == *n || i == 0 || s[i - 1] != '/') return 0;
  if (*n - i > 3 || (*n - i > 1 && s[i] == '0')) return -1;
  for (size_t k = i; k < *n; ++k) v = v * 10 + (unsigned long)(s[k] - '0');
  if (v > max) return -1;
  *out = (unsigned)v;
  *n = i - 1;
  return 1;
}

static int ip4_scan_spf(const char *s, size_t n, unsigned char *ip)
{
  return n > 0 && ip4_scan(s, n, ip) == n ? 0 : -1;
}

static int ip6_scan_spf(const char *s, size_t n, unsigned char *ip)
{
  return n > 0 && ip6_scan(s, n, ip) == n ? 0 : -1;
}

static int parse_record(const char *s, size_t n, const struct spf_request *req, struct record *rec)
{
  size_t i = 6; /* after "v=spf1" */
  str scratch = STR_INIT;
  int ret = -1, have_exp = 0;

  rec->t = 0;
  rec->n = 0;
  rec->redirect = 0;
  rec->redirect_len = 0;
  while (i < n) {
    size_t start, end, nl;
    const char *w;
    enum spf_result q = SPF_PASS;
    int qualified = 0;
    struct term *t;

    if (s[i] != ' ') goto inval;
    while (i < n && s[i] == ' ') ++i;
    if (i == n) break;
    start = i;
    while (i < n && s[i] != ' ') ++i;
    end = i;
    w = s + start;
    nl = 0;
    if (*w == '+' || *w == '-' || *w == '~' || *w == '?') {
      q = *w == '+' ? SPF_PASS : *w == '-' ? SPF_FAIL : *w == '~' ? SPF_SOFTFAIL : SPF_NEUTRAL;
      qualified = 1;
      ++w;
    }
    while (w + nl < s + end && (is_alpha((unsigned char)w[nl]) || is_digit((unsigned char)w[nl]) || w[nl] == '-' ||
                                w[nl] == '_' || w[nl] == '.'))
      ++nl;
    if (nl == 0 || !is_alpha((unsigned char)w[0])) goto inval;
    if (w + nl < s + end && w[nl] == '=') {
      /* a modifier */
      const char *v = w + nl + 1;
      size_t vl = (size_t)(s + end - v);
      if (qualified) goto inval;
      if (word_is(w, nl, "redirect")) {
        if (rec->redirect || !domain_spec_ok(v, vl)) goto inval;
        if (expand(&scratch, v, vl, req, "x", 1, 0) < 0) goto fail;
        rec->redirect = v;
        rec->redirect_len = vl;
      } else if (word_is(w, nl, "exp")) {
        if (have_exp || !domain_spec_ok(v, vl)) goto inval;
        if (expand(&scratch, v, vl, req, "x", 1, 0) < 0) goto fail;
        have_exp = 1;
      } else if (expand(&scratch, v, vl, req, "x", 1, 0) < 0) {
        goto fail;
      }
      continue;
    }
    if (rec->n == SPF_TERMS_MAX) goto inval;
    if (!rec->t) {
      rec->t = calloc(SPF_TERMS_MAX, sizeof *rec->t);
      if (!rec->t) goto fail;
    }
    t = &rec->t[rec->n];
    memset(t, 0, sizeof *t);
    t->qual = q;
    t->cidr4 = 32;
    t->cidr6 = 128;
    {
      const char *a = w + nl;
      size_t al = (size_t)(s + end - a);
      if (word_is(w, nl, "all")) t->mech = M_ALL;
      else if (word_is(w, nl, "include")) t->mech = M_INCLUDE;
      else if (word_is(w, nl, "a")) t->mech = M_A;
      else if (word_is(w, nl, "mx")) t->mech = M_MX;
      else if (word_is(w, nl, "ptr")) t->mech = M_PTR;
      else if (word_is(w, nl, "ip4")) t->mech = M_IP4;
      else if (word_is(w, nl, "ip6")) t->mech = M_IP6;
      else if (word_is(w, nl, "exists")) t->mech = M_EXISTS;
      else goto inval;
      switch (t->mech) {
      case M_ALL:
        if (al) goto inval;
        break;
      case M_INCLUDE:
      case M_EXISTS:
        if (al < 2 || a[0] != ':' || !domain_spec_ok(a + 1, al - 1)) goto inval;
        t->arg = a + 1;
        t->arglen = al - 1;
        break;
      case M_A:
      case M_MX:
      case M_PTR:
        if (t->mech != M_PTR) {
          size_t m = al;
          int r6 = 0, r4;
          /* "//n" first, then "/n" (dual-cidr-length) */
          if (m >= 3) {
            size_t m2 = m;
            r6 = cidr_tail(a, &m2, 128, &t->cidr6);
            if (r6 < 0) goto inval;
            if (r6 == 1) {
              if (m2 == 0 || a[m2 - 1] != '/') { r6 = 0; t->cidr6 = 128; }
              else m = m2 - 1;
            }
          }
          r4 = cidr_tail(a, &m, 32, &t->cidr4);
          if (r4 < 0) goto inval;
          if (r6 == 0 && r4 == 1 && m > 0 && a[m - 1] == '/') goto inval;
          al = m;
        }
        if (al) {
          if (a[0] != ':' || !domain_spec_ok(a + 1, al - 1)) goto inval;
          t->arg = a + 1;
          t->arglen = al - 1;
        }
        break;
      case M_IP4:
      case M_IP6: {
        size_t m = al;
        int r;
        if (al < 2 || a[0] != ':') goto inval;
        r = t->mech == M_IP4 ? cidr_tail(a, &m, 32, &t->cidr4) : cidr_tail(a, &m, 128, &t->cidr6);
        if (r < 0) goto inval;
        if (t->mech == M_IP4) {
          if (m < 2 || ip4_scan_spf(a + 1, m - 1, t->ip) < 0) goto inval;
        } else if (m < 2 || ip6_scan_spf(a + 1, m - 1, t->ip) < 0) {
          goto inval;
        }
        break;
      }
      }
      if (t->arg && expand(&scratch, t->arg, t->arglen, req, "x", 1, 0) < 0) goto fail;
    }
    ++rec->n;
  }
  ret = 0;
  goto end;
inval:
  errno = EINVAL;
fail:
  free(rec->t);
  rec->t = 0;
  rec->n = 0;
end:
  str_free(&scratch);
  return ret;
}

int spf_record_check(const char *s, size_t n, const struct spf_request *req)
{
  struct record rec;
  if (n < 6 || !word_is(s, 6, "v=spf1")) { errno = EINVAL; return -1; }
  if (parse_record(s, n, req, &rec) < 0) return -1;
  free(rec.t);
  return 0;
}

static int ip_match(const struct spf_request *req, int family, const unsigned char *ip, unsigned cidr)
{
  unsigned full, rest;
  if (family != req->family) return 0;
  full = cidr / 8;
  rest = cidr % 8;
  if (full && memcmp(req->ip, ip, full) != 0) return 0;
  if (rest) {
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    if ((req->ip[full] & mask) != (ip[full] & mask)) return 0;
  }
  return 1;
}

/* RFC 7208 4.3: a name with an empty or overlong label, or a single
 * label, is not a domain to check. */
static int domain_ok(const char *d, size_t n)
{
  size_t i, label = 0, dots = 0;
  if (n == 0 || n > 253) return 0;
  for (i = 0; i < n; ++i) {
    if (d[i] == '.') {
      if (label == 0 && i + 1 != n) return 0;
      label = 0;
      ++dots;
    } else if (++label > 63) {
      return 0;
    }
  }
  if (d[n - 1] == '.') --dots;
  return dots > 0 && d[0] != '.';
}

/* Counts a term that queries DNS; 0 or -1 when over the limit. */
static int count_lookup(struct state *st)
{
  return ++st->lookups > SPF_LOOKUPS_MAX ? -1 : 0;
}

static int count_void(struct state *st)
{
  return ++st->voids > SPF_VOIDS_MAX ? -1 : 0;
}

static enum spf_result check_host(struct state *st, const char *domain, size_t dlen);

/* The addresses of name in the client's family; 1 match, 0 none,
 * -1 temperror, -2 permerror (void limit). void_counts: whether an
 * empty answer counts as a void lookup. */
static int addr_match(struct state *st, const char *name, size_t n, const struct term *t, int void_counts)
{
  struct dns_iplist l;
  size_t i;
  int m = 0;
  if (st->dns->addr(st->dns->ctx, name, n, st->req->family, &l) < 0) {
    if (errno != ENOENT) return -1;
    if (void_counts && count_void(st) < 0) return -2;
    return 0;
  }
  if (l.n == 0 && void_counts && count_void(st) < 0) { dns_iplist_free(&l); return -2; }
  for (i = 0; i < l.n && !m; ++i)
    m = ip_match(st->req, l.ip[i].family, l.ip[i].ip,
                 st->req->family == AF_INET6 ? t->cidr6 : t->cidr4);
  dns_iplist_free(&l);
  return m;
}

static int name_within(const str *name, const str *target)
{
  size_t n = name->len, t = target->len;
  if (n > 0 && name->s[n - 1] == '.') --n;
  if (n == t) return case_equalb(name->s, n, target->s, t);
  return n > t && name->s[n - t - 1] == '.' && case_equalb(name->s + n - t, t, target->s, t);
}

/* 1 match, 0 no match, or the error result as a negative enum. */
static int term_match(struct state *st, const struct term *t, const char *domain, size_t dlen, str *target)
{
  const char *name = domain;
  size_t n = dlen;
  int r;

  if (t->arg) {
    if (expand(target, t->arg, t->arglen, st->req, domain, dlen, 0) < 0)
      return errno == ENOMEM ? -SPF_TEMPERROR : -SPF_PERMERROR;
    domain_trim(target);
    name = target->s;
    n = target->len;
  } else if (str_copyb(target, domain, dlen) < 0) {
    return -SPF_TEMPERROR;
  }
  switch (t->mech) {
  case M_ALL: return 1;
  case M_IP4: return ip_match(st->req, AF_INET, t->ip, t->cidr4);
  case M_IP6: return ip_match(st->req, AF_INET6, t->ip, t->cidr6);
  case M_INCLUDE: {
    enum spf_result sub;
    if (count_lookup(st) < 0) return -SPF_PERMERROR;
    if (!domain_ok(name, n)) return -SPF_PERMERROR;
    {
      str copy = STR_INIT;
      if (str_copyb(&copy, name, n) < 0) return -SPF_TEMPERROR;
      sub = check_host(st, copy.s, copy.len);
      str_free(&copy);
    }
    if (sub == SPF_PASS) return 1;
    if (sub == SPF_FAIL || sub == SPF_SOFTFAIL || sub == SPF_NEUTRAL) return 0;
    if (sub == SPF_TEMPERROR) return -SPF_TEMPERROR;
    return -SPF_PERMERROR;
  }
  case M_A:
    if (count_lookup(st) < 0) return -SPF_PERMERROR;
    r = addr_match(st, name, n, t, 1);
    return r == -1 ? -SPF_TEMPERROR : r == -2 ? -SPF_PERMERROR : r;
  case M_EXISTS: {
    struct dns_iplist l;
    if (count_lookup(st) < 0) return -SPF_PERMERROR;
    if (st->dns->addr(st->dns->ctx, name, n, AF_INET, &l) < 0) {
      if (errno != ENOENT) return -SPF_TEMPERROR;
      return count_void(st) < 0 ? -SPF_PERMERROR : 0;
    }
    r = l.n > 0;
    dns_iplist_free(&l);
    if (!r && count_void(st) < 0) return -SPF_PERMERROR;
    return r;
  }
  case M_MX: {
    struct dns_mxlist l;
    size_t i;
    if (count_lookup(st) < 0) return -SPF_PERMERROR;
    if (st->dns->mx(st->dns->ctx, name, n, &l) < 0) {
      if (errno != ENOENT) return -SPF_TEMPERROR;
      return count_void(st) < 0 ? -SPF_PERMERROR : 0;
    }
    if (l.n == 0 && !l.nullmx && count_void(st) < 0) { dns_mxlist_free(&l); return -SPF_PERMERROR; }
    if (l.n > SPF_NAMES_MAX) { dns_mxlist_free(&l); return -SPF_PERMERROR; }
    r = 0;
    for (i = 0; i < l.n && r == 0; ++i) r = addr_match(st, l.mx[i].host.s, l.mx[i].host.len, t, 0);
    dns_mxlist_free(&l);
    return r == -1 ? -SPF_TEMPERROR : r == -2 ? -SPF_PERMERROR : r;
  }
  case M_PTR: {
    /* RFC 7208 5.5: a DNS error only makes the term not match; only
     * the first PTR name is tried (dns_ptr gives one) */
    str host = STR_INIT, want = STR_INIT;
    struct dns_iplist l;
    size_t i;
    int m = 0;
    if (count_lookup(st) < 0) return -SPF_PERMERROR;
    if (str_copyb(&want, name, n) < 0) return -SPF_TEMPERROR;
    if (st->dns->ptr(st->dns->ctx, st->req->family, st->req->ip, &host) < 0) {
      int e = errno;
      str_free(&want);
      if (e == ENOENT && count_void(st) < 0) return -SPF_PERMERROR;
      return 0;
    }
    if (st->dns->addr(st->dns->ctx, host.s, host.len, st->req->family, &l) == 0) {
      for (i = 0; i < l.n && !m; ++i)
        m = ip_match(st->req, l.ip[i].family, l.ip[i].ip, st->req->family == AF_INET6 ? 128 : 32);
      dns_iplist_free(&l);
    }
    if (m) m = name_within(&host, &want);
    str_free(&host);
    str_free(&want);
    return m;
  }
  }
  return -SPF_PERMERROR;
}

static enum spf_result check_host(struct state *st, const char *domain, size_t dlen)
{
  struct dns_txtlist txt;
  struct record rec;
  size_t i, found = 0, which = 0;
  enum spf_result res = SPF_NEUTRAL;
  str target = STR_INIT;

  if (dlen > 0 && domain[dlen - 1] == '.') --dlen;
  if (!domain_ok(domain, dlen)) return SPF_NONE;
  if (st->dns->txt(st->dns->ctx, domain, dlen, &txt) < 0) return errno == ENOENT ? SPF_NONE : SPF_TEMPERROR;
  for (i = 0; i < txt.n; ++i) {
    const str *t = &txt.txt[i];
    if (t->len >= 6 && word_is(t->s, 6, "v=spf1") && (t->len == 6 || t->s[6] == ' ')) {
      ++found;
      which = i;
    }
  }
  if (found != 1) {
    dns_txtlist_free(&txt);
    return found ? SPF_PERMERROR : SPF_NONE;
  }
  if (parse_record(txt.txt[which].s, txt.txt[which].len, st->req, &rec) < 0) {
    dns_txtlist_free(&txt);
    return errno == ENOMEM ? SPF_TEMPERROR : SPF_PERMERROR;
  }
  for (i = 0; i < rec.n; ++i) {
    int m = term_match(st, &rec.t[i], domain, dlen, &target);
    if (m < 0) { res = (enum spf_result)-m; goto done; }
    if (m) { res = rec.t[i].qual; goto done; }
  }
  if (rec.redirect) {
    if (count_lookup(st) < 0) { res = SPF_PERMERROR; goto done; }
    if (expand(&target, rec.redirect, rec.redirect_len, st->req, domain, dlen, 0) < 0) {
      res = errno == ENOMEM ? SPF_TEMPERROR : SPF_PERMERROR;
      goto done;
    }
    domain_trim(&target);
    if (!domain_ok(target.s, target.len)) { res = SPF_PERMERROR; goto done; }
    res = check_host(st, target.s, target.len);
    if (res == SPF_NONE) res = SPF_PERMERROR;
  }
done:
  free(rec.t);
  str_free(&target);
  dns_txtlist_free(&txt);
  return res;
}

enum spf_result spf_check(const struct spf_dns *dns, const struct spf_request *req)
{
  static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  struct spf_request r4;
  struct state st;

  st.dns = dns;
  st.req = req;
  st.lookups = 0;
  st.voids = 0;
  if (req->family == AF_INET6 && memcmp(req->ip, mapped, 12) == 0) {
    r4 = *req;
    r4.family = AF_INET;
    memmove(r4.ip, req->ip + 12, 4);
    st.req = &r4;
  }
  return check_host(&st, req->domain, req->domain_len);
}
