/* authcheck.c: see authcheck.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "authcheck.h"
#include "byte.h"
#include "dmarc.h"
#include "rfc822.h"
#include "sasl.h"

#define AUTHCHECK_SIGS_MAX 8

/* ---- DNS through sluice's resolver ---- */

static int d_txt(void *ctx, const char *name, size_t len, struct dns_txtlist *out)
{
  return dns_txt(ctx, name, len, out);
}
static int d_addr(void *ctx, const char *name, size_t len, int family, struct dns_iplist *out)
{
  return dns_addr(ctx, name, len, family, out);
}
static int d_mx(void *ctx, const char *name, size_t len, struct dns_mxlist *out)
{
  return dns_mx(ctx, name, len, out);
}
static int d_ptr(void *ctx, int family, const unsigned char *ip, str *name)
{
  return dns_ptr(ctx, family, ip, name);
}

void authcheck_dns(struct spf_dns *dns, struct dns_conf *conf)
{
  dns->ctx = conf;
  dns->txt = d_txt;
  dns->addr = d_addr;
  dns->mx = d_mx;
  dns->ptr = d_ptr;
}

/* ---- header text ---- */

static int token_byte(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_' || c == '+' || c == '@';
}

/* A value as a token, or a quoted-string (RFC 2045) when it holds other
 * bytes; control bytes and 8-bit bytes are dropped, at most 255 kept. */
static int cat_value(str *out, const char *v, size_t n)
{
  size_t i;
  int quote = n == 0;
  if (n > 255) n = 255;
  for (i = 0; i < n; ++i)
    if (!token_byte((unsigned char)v[i])) quote = 1;
  if (!quote) return str_catb(out, v, n);
  if (str_catc(out, '"') < 0) return -1;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)v[i];
    if (c < 0x20 || c > 0x7e) continue;
    if ((c == '"' || c == '\\') && str_catc(out, '\\') < 0) return -1;
    if (str_catc(out, (char)c) < 0) return -1;
  }
  return str_catc(out, '"');
}

static int cat_comment(str *out, const char *why)
{
  size_t i, n = byte_len(why, 200);
  if (str_cats(out, " (") < 0) return -1;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)why[i];
    if (c < 0x20 || c > 0x7e || c == '(' || c == ')' || c == '\\') c = ' ';
    if (str_catc(out, (char)c) < 0) return -1;
  }
  return str_catc(out, ')');
}

int authres_id_is(const char *v, size_t n, const char *id, size_t idlen)
{
  size_t i = 0, start;
  for (;;) {
    while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n')) ++i;
    if (i < n && v[i] == '(') {
      unsigned depth = 0;
      for (; i < n; ++i) {
        if (v[i] == '\\') { ++i; continue; }
        if (v[i] == '(') ++depth;
        if (v[i] == ')' && --depth == 0) { ++i; break; }
      }
      continue;
    }
    break;
  }
  start = i;
  while (i < n && v[i] != ';' && v[i] != ' ' && v[i] != '\t' && v[i] != '\r' && v[i] != '\n' && v[i] != '(') ++i;
  return i > start && case_equalb(v + start, i - start, id, idlen);
}

/* ---- DKIM ---- */

struct dkim_outcome {
  const char *result;          /* pass, fail, neutral, policy, temperror, permerror */
  const char *why;
  str d, s, b;
};

static int key_fetch(const struct spf_dns *dns, const struct dkim_sig *sig, int *ed25519, int *strict, str *key,
                     const char **result, const char **why)
{
  str name = STR_INIT;
  struct dns_txtlist l;
  size_t i;
  int ret = -1;

  if (str_copy(&name, &sig->s) < 0 || str_cats(&name, "._domainkey.") < 0 || str_cat(&name, &sig->d) < 0) return -1;
  if (dns->txt(dns->ctx, name.s, name.len, &l) < 0) {
    int e = errno;
    str_free(&name);
    if (e == ENOMEM) return -1;
    *result = e == ENOENT ? "permerror" : "temperror";
    *why = e == ENOENT ? "no key" : "key lookup failed";
    return 0;
  }
  *result = "permerror";
  *why = "no key";
  for (i = 0; i < l.n; ++i) {
    const char *w;
    if (dkim_key_parse(l.txt[i].s, l.txt[i].len, ed25519, strict, key, &w) == 0) {
      *result = 0;
      *why = 0;
      break;
    }
    if (errno == ENOMEM) goto end;
    *why = w;
  }
  ret = 0;
end:
  dns_txtlist_free(&l);
  str_free(&name);
  return ret;
}

static int dkim_one(const struct authcheck_conf *conf, const struct spf_dns *dns, const struct authcheck_crypto *cr,
                    const struct dkim_msg *m, size_t field, struct dkim_outcome *o)
{
  struct dkim_sig sig;
  const dkim_field *f = &m->f[field];
  str key = STR_INIT, data = STR_INIT;
  int ed25519, strict, ret = -1;
  unsigned char h[32];
  const char *why;

  o->result = "permerror";
  o->why = 0;
  if (dkim_sig_parse(m->s + f->value, f->end - f->value, conf->now, &sig, &why) < 0) {
    if (errno == ENOMEM) return -1;
    o->why = why;
    if (why && byte_startswith(why, byte_len(why, 64), "signature expired", 0)) o->result = "neutral";
    return 0;
  }
  if (str_copy(&o->d, &sig.d) < 0 || str_copy(&o->s, &sig.s) < 0 ||
      str_copyb(&o->b, sig.b64.s, sig.b64.len < 8 ? sig.b64.len : 8) < 0)
    goto end;
  if (key_fetch(dns, &sig, &ed25519, &strict, &key, &o->result, &o->why) < 0) goto end;
  if (o->result) { ret = 0; goto end; }
  o->result = "permerror";
  if (ed25519 != (sig.alg == DKIM_ED25519_SHA256)) { o->why = "key type does not match a="; ret = 0; goto end; }
  if (strict) {
    size_t at = byte_rchr(sig.i.s, sig.i.len, '@');
    if (!case_equalb(sig.i.s + at + 1, sig.i.len - at - 1, sig.d.s, sig.d.len)) {
      o->result = "fail";
      o->why = "key t=s and i= is a subdomain";
      ret = 0;
      goto end;
    }
  }
  o->result = "fail";
  if (dkim_body_data(m->s + m->body, m->n - m->body, sig.body_simple, sig.has_l, sig.l, &data, &o->why) < 0) {
    if (errno != EINVAL) goto end;
    ret = 0;
    goto end;
  }
  if (cr->sha256(data.s, data.len, h) < 0) goto end;
  if (memcmp(h, sig.bh.s, 32) != 0) { o->why = "body hash mismatch"; ret = 0; goto end; }
  if (dkim_header_data(m, field, &sig, &data) < 0) goto end;
  switch (cr->verify(ed25519, &key, &sig.b, data.s, data.len)) {
  case 1: o->result = "pass"; break;
  case 0: o->why = "signature mismatch"; break;
  default: o->result = "permerror"; o->why = "unusable key"; break;
  }
  ret = 0;
end:
  dkim_sig_free(&sig);
  str_free(&key);
  str_free(&data);
  return ret;
}

/* ---- DMARC ---- */

/* The domain of the single From address into dom; 0 when there is no
 * single From address. */
static int from_domain(const struct dkim_msg *m, str *dom)
{
  size_t i, k = m->nf, count = 0;
  str rew = STR_INIT, addrs = STR_INIT;
  size_t naddrs = 0, at;
  const char *err;
  int ret = 0;

  for (i = 0; i < m->nf; ++i)
    if (dkim_field_is(m->s, &m->f[i], "from")) { k = i; ++count; }
  if (count != 1) return 0;
  if (rfc822_addrlist(m->s + m->f[k].value, m->f[k].end - m->f[k].value, 0, &rew, &addrs, &naddrs,
                      &err) < 0) {
    ret = errno == ENOMEM ? -1 : 0;
    goto end;
  }
  if (naddrs != 1 || addrs.len < 2) goto end;
  at = byte_rchr(addrs.s, addrs.len - 1, '@');
  if (at + 1 >= addrs.len - 1) goto end;
  if (str_copyb(dom, addrs.s + at + 1, addrs.len - 1 - at - 1) < 0) { ret = -1; goto end; }
  case_lowerb(dom->s, dom->len);
  if (dom->len > 0 && dom->s[dom->len - 1] == '.') --dom->len;
  ret = dom->len > 0;
end:
  str_free(&rew);
  str_free(&addrs);
  return ret;
}

/* The DMARC record for domain d: 1 found (into *rec), 0 none, -1
 * temperror, -2 ENOMEM. */
static int dmarc_fetch(const struct spf_dns *dns, const char *d, size_t n, struct dmarc_record *rec)
{
  str name = STR_INIT;
  struct dns_txtlist l;
  size_t i, found = 0, which = 0;
  int ret;

  if (str_copys(&name, "_dmarc.") < 0 || str_catb(&name, d, n) < 0) { str_free(&name); return -2; }
  if (dns->txt(dns->ctx, name.s, name.len, &l) < 0) {
    int e = errno;
    str_free(&name);
    return e == ENOENT ? 0 : e == ENOMEM ? -2 : -1;
  }
  str_free(&name);
  for (i = 0; i < l.n; ++i)
    if (dmarc_record_is(l.txt[i].s, l.txt[i].len)) { ++found; which = i; }
  ret = found == 1 && dmarc_record_parse(l.txt[which].s, l.txt[which].len, rec) == 0;
  dns_txtlist_free(&l);
  return ret;
}

/* ---- the whole check ---- */

int authcheck_run(const struct authcheck_conf *conf, const struct spf_dns *dns, const struct authcheck_crypto *cr,
                  const struct authcheck_input *in, struct authcheck_result *res)
{
  str *h = &res->header;
  str spfdom = STR_INIT, fromdom = STR_INIT;
  struct dkim_outcome o[AUTHCHECK_SIGS_MAX];
  size_t no = 0, i;
  int use_helo, temp = 0, ret = -1, dkim_aligned = 0, spf_aligned = 0;
  const char *dmarc = "none", *dmarc_why = 0;
  struct dmarc_record rec;
  int have_rec = 0, policy_reject = 0;
  enum dmarc_policy pol = DMARC_P_NONE;

  memset(res, 0, sizeof *res);
  memset(o, 0, sizeof o);
  res->spf = SPF_NONE;
  res->verdict = AUTHCHECK_ACCEPT;
  if (dkim_msg_split(in->msg, in->msg_len, &res->m) < 0) {
    if (errno != EINVAL) return -1;
    /* more than DKIM_FIELDS_MAX fields: refused, since a forged
     * Authentication-Results field past the limit could not be removed */
    res->verdict = AUTHCHECK_REFUSE;
    return str_copys(&res->why, "too many header fields") < 0 ? -1 : 0;
  }
  res->drop = calloc(res->m.nf ? res->m.nf : 1, 1);
  if (!res->drop) goto end;
  for (i = 0; i < res->m.nf; ++i) {
    const dkim_field *f = &res->m.f[i];
    if (dkim_field_is(in->msg, f, "authentication-results") &&
        authres_id_is(in->msg + f->value, f->end - f->value, conf->me, conf->me_len))
      res->drop[i] = 1;
  }

  /* SPF: MAIL FROM's domain, else the HELO name (RFC 7208 2.4) */
  {
    size_t at = byte_rchr(in->sender, in->sender_len, '@');
    struct spf_request rq;
    str sender = STR_INIT;
    use_helo = in->sender_len == 0 || at == in->sender_len;
    if (use_helo) {
      if (str_copys(&sender, "postmaster@") < 0 || str_catb(&sender, in->helo, in->helo_len) < 0 ||
          str_copyb(&spfdom, in->helo, in->helo_len) < 0) {
        str_free(&sender);
        goto end;
      }
    } else if (str_copyb(&sender, in->sender, in->sender_len) < 0 ||
               str_copyb(&spfdom, in->sender + at + 1, in->sender_len - at - 1) < 0) {
      str_free(&sender);
      goto end;
    }
    case_lowerb(spfdom.s, spfdom.len);
    if (in->have_ip && spfdom.len > 0) {
      rq.family = in->family;
      memcpy(rq.ip, in->ip, 16);
      rq.sender = sender.s;
      rq.sender_len = sender.len;
      rq.helo = in->helo;
      rq.helo_len = in->helo_len;
      rq.domain = spfdom.s;
      rq.domain_len = spfdom.len;
      res->spf = spf_check(dns, &rq);
    }
    str_free(&sender);
  }
  if (res->spf == SPF_TEMPERROR) temp = 1;

  /* DKIM: every signature, at most AUTHCHECK_SIGS_MAX */
  for (i = 0; i < res->m.nf && no < AUTHCHECK_SIGS_MAX; ++i) {
    const dkim_field *f = &res->m.f[i];
    if (!dkim_field_is(in->msg, f, "dkim-signature")) continue;
    if (dkim_one(conf, dns, cr, &res->m, i, &o[no]) < 0) { ++no; goto end; }
    if (!strcmp(o[no].result, "temperror")) temp = 1;
    ++no;
  }

  /* DMARC */
  {
    int r = from_domain(&res->m, &fromdom);
    if (r < 0) goto end;
    if (r == 0) {
      dmarc = "permerror";
      dmarc_why = "not exactly one From address";
    } else {
      size_t org = dmarc_org_domain(fromdom.s, fromdom.len, conf->publicsuffix);
      int at_org = 0;
      r = dmarc_fetch(dns, fromdom.s, fromdom.len, &rec);
      if (r == 0 && org < fromdom.len) {
        r = dmarc_fetch(dns, fromdom.s + fromdom.len - org, org, &rec);
        at_org = 1;
      }
      if (r == -2) goto end;
      if (r == -1) {
        dmarc = "temperror";
        temp = 1;
      } else if (r == 1) {
        have_rec = 1;
        pol = at_org ? rec.sp : rec.p;
        if (res->spf == SPF_PASS && !use_helo)
          spf_aligned = dmarc_aligned(spfdom.s, spfdom.len, fromdom.s, fromdom.len, rec.strict_spf, conf->publicsuffix);
        for (i = 0; i < no; ++i)
          if (!strcmp(o[i].result, "pass") &&
              dmarc_aligned(o[i].d.s, o[i].d.len, fromdom.s, fromdom.len, rec.strict_dkim, conf->publicsuffix))
            dkim_aligned = 1;
        dmarc = spf_aligned || dkim_aligned ? "pass" : "fail";
        if (!strcmp(dmarc, "fail") && pol == DMARC_P_REJECT) policy_reject = 1;
      }
    }
  }

  /* the header */
  if (str_cats(h, "Authentication-Results: ") < 0 || cat_value(h, conf->me, conf->me_len) < 0) goto end;
  if (str_cats(h, ";\n\tspf=") < 0 || str_cats(h, spf_result_name(res->spf)) < 0) goto end;
  if (!in->have_ip && cat_comment(h, "no client address") < 0) goto end;
  if (spfdom.len > 0) {
    if (str_cats(h, use_helo ? " smtp.helo=" : " smtp.mailfrom=") < 0 || cat_value(h, spfdom.s, spfdom.len) < 0)
      goto end;
  }
  if (no == 0 && str_cats(h, ";\n\tdkim=none") < 0) goto end;
  for (i = 0; i < no; ++i) {
    if (str_cats(h, ";\n\tdkim=") < 0 || str_cats(h, o[i].result) < 0) goto end;
    if (o[i].why && cat_comment(h, o[i].why) < 0) goto end;
    if (o[i].d.len && (str_cats(h, " header.d=") < 0 || cat_value(h, o[i].d.s, o[i].d.len) < 0)) goto end;
    if (o[i].s.len && (str_cats(h, " header.s=") < 0 || cat_value(h, o[i].s.s, o[i].s.len) < 0)) goto end;
    if (o[i].b.len && (str_cats(h, " header.b=") < 0 || cat_value(h, o[i].b.s, o[i].b.len) < 0)) goto end;
  }
  if (str_cats(h, ";\n\tdmarc=") < 0 || str_cats(h, dmarc) < 0) goto end;
  if (dmarc_why && cat_comment(h, dmarc_why) < 0) goto end;
  if (have_rec) {
    if (str_cats(h, " (p=") < 0 || str_cats(h, dmarc_policy_name(pol)) < 0) goto end;
    if (str_cats(h, policy_reject && conf->reject_dmarc ? " dis=reject)" : " dis=none)") < 0) goto end;
  }
  if (fromdom.len && (str_cats(h, " header.from=") < 0 || cat_value(h, fromdom.s, fromdom.len) < 0)) goto end;
  if (str_catc(h, '\n') < 0) goto end;

  /* the verdict */
  if (conf->reject_spf && res->spf == SPF_FAIL) {
    res->verdict = AUTHCHECK_REJECT;
    if (str_copys(&res->why, "SPF fail for ") < 0 || str_cat(&res->why, &spfdom) < 0) goto end;
  } else if (conf->reject_dmarc && policy_reject) {
    res->verdict = AUTHCHECK_REJECT;
    if (str_copys(&res->why, "DMARC p=reject fail for ") < 0 || str_cat(&res->why, &fromdom) < 0) goto end;
  } else if (conf->defer_temp && temp) {
    res->verdict = AUTHCHECK_DEFER;
    if (str_copys(&res->why, "temporary DNS error") < 0) goto end;
  }
  ret = 0;
end:
  for (i = 0; i < no; ++i) {
    str_free(&o[i].d);
    str_free(&o[i].s);
    str_free(&o[i].b);
  }
  str_free(&spfdom);
  str_free(&fromdom);
  return ret;
}

int authcheck_message(const struct authcheck_result *res, const struct authcheck_input *in, str *out)
{
  size_t i, pos = 0;
  if (str_cat(out, &res->header) < 0) return -1;
  for (i = 0; i < res->m.nf; ++i) {
    const dkim_field *f = &res->m.f[i];
    if (!res->drop[i]) continue;
    if (str_catb(out, in->msg + pos, f->start - pos) < 0) return -1;
    pos = f->next;
  }
  return str_catb(out, in->msg + pos, in->msg_len - pos);
}

void authcheck_result_free(struct authcheck_result *res)
{
  str_free(&res->header);
  str_free(&res->why);
  free(res->drop);
  res->drop = 0;
  dkim_msg_free(&res->m);
}
