/* rfc822.c: see rfc822.h.
 *
 * The address-list parser first cuts the value into tokens (atoms,
 * quoted strings, domain literals and the specials < > , : ; @ .),
 * dropping white space and comments, then walks the tokens element by
 * element. Each token keeps its byte range in the value, so the
 * rewritten value is the original with insertions at the end of the
 * addr-specs that need them. The token array is the only heap memory
 * of its own; it is freed before return. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "byte.h"
#include "control.h"
#include "rfc822.h"
#include "size.h"

int rfc822_line_kind(const char *line, size_t n)
{
  size_t v;
  if (n == 0 || line[0] == '\n' || (n >= 2 && line[0] == '\r' && line[1] == '\n') || (n == 1 && line[0] == '\r'))
    return RFC822_END;
  if (line[0] == ' ' || line[0] == '\t') return RFC822_CONT;
  if (rfc822_field_name(line, n, &v)) return RFC822_FIELD;
  return RFC822_OTHER;
}

size_t rfc822_field_name(const char *line, size_t n, size_t *value)
{
  size_t i = 0, name;
  while (i < n) {
    unsigned char c = (unsigned char)line[i];
    if (c <= 32 || c >= 127 || c == ':') break;
    ++i;
  }
  name = i;
  if (name == 0) return 0;
  while (i < n && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (i >= n || line[i] != ':') return 0;
  *value = i + 1;
  return name;
}

int rfc822_field_next(const char *h, size_t n, size_t *pos, struct rfc822_field *f)
{
  size_t p = *pos, v, name, e;
  if (p >= n) return 0;
  name = rfc822_field_name(h + p, n - p, &v);
  if (!name) { errno = EINVAL; return -1; }
  e = p;
  for (;;) {
    size_t nl = byte_chr(h + e, n - e, '\n');
    e += nl;
    if (e >= n) break;
    ++e; /* past the LF */
    if (e >= n || (h[e] != ' ' && h[e] != '\t')) break;
  }
  f->start = p;
  f->len = e - p;
  f->name_len = name;
  f->value = p + v;
  *pos = e;
  return 1;
}

int rfc822_name_is(const char *name, size_t len, const char *want)
{
  return case_equalb(name, len, want, strlen(want));
}

/* ---- host names ---- */

/* 1 when host[0..n) is one of the names of q->keep. */
static int keep_has(const struct rfc822_qualify *q, const char *host, size_t n)
{
  size_t pos = 0, len;
  const char *e;
  if (!q->keep) return 0;
  while (control_next(q->keep, &pos, &e, &len))
    if (case_equalb(e, len, host, n)) return 1;
  return 0;
}

/* What completes host[0..n): sets *cut (1 when the last byte, a '+',
 * goes) and returns the text to append after a '.', or NULL. */
static const char *host_suffix(const struct rfc822_qualify *q, const char *host, size_t n, int *cut)
{
  *cut = 0;
  if (!q || n == 0 || host[0] == '[') return 0;
  if (n > 1 && host[n - 1] == '+' && q->plus) {
    *cut = 1;
    return q->plus;
  }
  if (byte_chr(host, n, '.') < n || !q->domain || keep_has(q, host, n)) return 0;
  return q->domain;
}

int rfc822_qualify_host(const struct rfc822_qualify *q, const char *host, size_t n, str *out)
{
  int cut;
  const char *suffix = host_suffix(q, host, n, &cut);
  if (str_catb(out, host, n - (size_t)cut) < 0) return -1;
  if (suffix && (str_catc(out, '.') < 0 || str_cats(out, suffix) < 0)) return -1;
  return 0;
}

/* ---- tokens ---- */

enum { T_ATOM, T_QUOTED, T_LITERAL, T_SPECIAL };

struct tok {
  int kind;
  char c;       /* the special character for T_SPECIAL */
  size_t start; /* range in the value */
  size_t len;
};

struct toks {
  struct tok *t;
  size_t n, a;
};

static int tok_add(struct toks *ts, int kind, char c, size_t start, size_t len)
{
  if (ts->n == ts->a) {
    size_t na, bytes;
    struct tok *nt;
    if (size_mul(&na, ts->a ? ts->a : 8, 2) < 0 || size_mul(&bytes, na, sizeof *nt) < 0) return -1;
    nt = realloc(ts->t, bytes);
    if (!nt) { errno = ENOMEM; return -1; }
    ts->t = nt;
    ts->a = na;
  }
  ts->t[ts->n].kind = kind;
  ts->t[ts->n].c = c;
  ts->t[ts->n].start = start;
  ts->t[ts->n].len = len;
  ++ts->n;
  return 0;
}

static int is_special(char c)
{
  return c == '<' || c == '>' || c == ',' || c == ':' || c == ';' || c == '@' || c == '.' || c == '(' ||
         c == ')' || c == '[' || c == ']' || c == '"' || c == '\\';
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Cuts v[0..n) into tokens. 0, or -1 with errno (EINVAL: *err set). */
static int tokenize(const char *v, size_t n, struct toks *ts, const char **err)
{
  size_t i = 0;
  while (i < n) {
    char c = v[i];
    if (is_space(c)) { ++i; continue; }
    if (c == '(') {
      size_t depth = 0;
      for (;;) {
        if (i >= n) { *err = "unbalanced parenthesis (unterminated comment)"; errno = EINVAL; return -1; }
        if (v[i] == '\\') { i += 2; continue; }
        if (v[i] == '(') ++depth;
        else if (v[i] == ')' && --depth == 0) { ++i; break; }
        ++i;
      }
      continue;
    }
    if (c == ')') { *err = "unbalanced parenthesis"; errno = EINVAL; return -1; }
    if (c == '"' || c == '[') {
      char close = c == '"' ? '"' : ']';
      size_t s = i++;
      for (;;) {
        if (i >= n) {
          *err = c == '"' ? "unbalanced quote (unterminated quoted string)" : "unterminated domain literal";
          errno = EINVAL;
          return -1;
        }
        if (v[i] == '\\') { i += 2; continue; }
        if (v[i] == close) { ++i; break; }
        ++i;
      }
      if (tok_add(ts, c == '"' ? T_QUOTED : T_LITERAL, 0, s, i - s) < 0) return -1;
      continue;
    }
    if (c == ']') { *err = "unbalanced bracket"; errno = EINVAL; return -1; }
    if (c == '\\') { *err = "backslash outside a quoted string"; errno = EINVAL; return -1; }
    if (is_special(c)) {
      if (tok_add(ts, T_SPECIAL, c, i, 1) < 0) return -1;
      ++i;
      continue;
    }
    {
      size_t s = i;
      while (i < n && !is_special(v[i]) && !is_space(v[i])) {
        unsigned char u = (unsigned char)v[i];
        if (u < 32 || u == 127) { *err = "control character in address field"; errno = EINVAL; return -1; }
        ++i;
      }
      if (tok_add(ts, T_ATOM, 0, s, i - s) < 0) return -1;
    }
  }
  return 0;
}

static int is_sp(const struct tok *t, char c) { return t->kind == T_SPECIAL && t->c == c; }

/* ---- the list walk ---- */

struct ctx {
  const char *v;
  size_t n;
  const struct rfc822_qualify *q;
  str *rewritten;
  str *addrs;
  size_t *naddrs;
  size_t copied; /* v[0..copied) is already in *rewritten */
  const char **err;
};

static int fail(struct ctx *c, const char *why)
{
  *c->err = why;
  errno = EINVAL;
  return -1;
}

/* One addr-spec: tokens t[0..k). Checks it, qualifies it, adds it. */
static int addr_spec(struct ctx *c, const struct tok *t, size_t k)
{
  str text = STR_INIT, canon = STR_INIT;
  size_t i, at = k, used;
  int r, flags, cut = 0;
  const char *qual = 0, *suffix = 0;
  size_t end;

  for (i = 0; i < k; ++i)
    if (is_sp(&t[i], '@')) { at = i; break; }
  if (at == 0) return fail(c, "address without local part");
  for (i = 0; i < at; ++i) {
    if (t[i].kind != T_ATOM && t[i].kind != T_QUOTED && !is_sp(&t[i], '.')) return fail(c, "bad local part in address");
    if (i > 0 && !is_sp(&t[i], '.') && !is_sp(&t[i - 1], '.'))
      return fail(c, "words without a dot between them in an address (a name needs the address in <>)");
  }
  if (at < k) {
    if (at + 1 == k) return fail(c, "address without domain after @");
    if (t[at + 1].kind == T_LITERAL) {
      if (at + 2 != k) return fail(c, "bad domain in address");
    } else {
      for (i = at + 1; i < k; ++i) {
        if (t[i].kind != T_ATOM && !is_sp(&t[i], '.')) return fail(c, "bad domain in address");
        if (i > at + 1 && !is_sp(&t[i], '.') && !is_sp(&t[i - 1], '.')) return fail(c, "bad domain in address");
      }
      {
        const struct tok *last = &t[k - 1];
        const char *lv = c->v + last->start;
        if (k == at + 2) suffix = host_suffix(c->q, lv, last->len, &cut); /* one atom */
        else if (last->kind == T_ATOM && lv[last->len - 1] == '+' && c->q && c->q->plus) {
          suffix = c->q->plus;
          cut = 1;
        }
      }
    }
  } else if (c->q && c->q->host) {
    qual = c->q->host;
  }
  end = t[k - 1].start + t[k - 1].len;

  /* the envelope form: the tokens without what lay between them */
  r = -1;
  if (str_copyb(&text, "<", 1) < 0) goto out;
  for (i = 0; i < k; ++i) {
    size_t len = t[i].len;
    if (cut && i == k - 1) --len;
    if (str_catb(&text, c->v + t[i].start, len) < 0) goto out;
  }
  if (suffix && (str_catc(&text, '.') < 0 || str_cats(&text, suffix) < 0)) goto out;
  if (qual && (str_catc(&text, '@') < 0 || str_cats(&text, qual) < 0)) goto out;
  if (str_catc(&text, '>') < 0) goto out;
  flags = ADDR_LENIENT | ADDR_LONG | ADDR_UTF8;
  if (!(c->q && c->q->host)) flags |= ADDR_ALLOW_NODOMAIN;
  r = addr_parse_path(text.s, text.len, flags, &canon, &used);
  if (r == ADDR_ENOMEM) { r = -1; goto out; }
  if (r != ADDR_OK || used != text.len) { r = fail(c, "bad address"); goto out; }
  if (str_cat(c->addrs, &canon) < 0 || str_catc(c->addrs, 0) < 0) { r = -1; goto out; }
  ++*c->naddrs;

  /* the rewritten value: the insertion goes at the end of the address */
  if (suffix || qual) {
    if (str_catb(c->rewritten, c->v + c->copied, end - (size_t)cut - c->copied) < 0) { r = -1; goto out; }
    if (suffix && (str_catc(c->rewritten, '.') < 0 || str_cats(c->rewritten, suffix) < 0)) { r = -1; goto out; }
    if (qual && (str_catc(c->rewritten, '@') < 0 || str_cats(c->rewritten, qual) < 0)) { r = -1; goto out; }
    c->copied = end;
  }
  r = 0;
out:
  str_free(&text);
  str_free(&canon);
  return r;
}

/* Copies the value up to pos into the rewritten value, then s. */
static int rewrite_at(struct ctx *c, size_t pos, const char *s)
{
  if (str_catb(c->rewritten, c->v + c->copied, pos - c->copied) < 0 || str_cats(c->rewritten, s) < 0) return -1;
  c->copied = pos;
  return 0;
}

/* lenient: "Joe Bloggs j@x" is the name "Joe Bloggs" and j@x. Returns
 * the index where the address starts when t[0..k) is words (a phrase,
 * dots allowed as in obs-phrase) followed by an addr-spec with one '@';
 * else 0. */
static size_t phrase_then_addr(const struct tok *t, size_t k)
{
  size_t i, at = k, nat = 0, ls;
  int words = 0;
  for (i = 0; i < k; ++i)
    if (is_sp(&t[i], '@')) { ++nat; at = i; }
  if (nat != 1 || at == 0) return 0;
  ls = at - 1;
  if (t[ls].kind != T_ATOM && t[ls].kind != T_QUOTED) return 0;
  while (ls >= 2 && is_sp(&t[ls - 1], '.') && (t[ls - 2].kind == T_ATOM || t[ls - 2].kind == T_QUOTED)) ls -= 2;
  /* only two words side by side make it a name: anything else before
   * the local part ("a..b@x") is left to the strict reading */
  if (ls == 0 || (t[ls - 1].kind != T_ATOM && t[ls - 1].kind != T_QUOTED)) return 0;
  for (i = 0; i < ls; ++i) {
    if (t[i].kind == T_ATOM || t[i].kind == T_QUOTED) words = 1;
    else if (!is_sp(&t[i], '.')) return 0;
  }
  return words ? ls : 0;
}

/* One mailbox: tokens t[0..k) between separators. */
static int mailbox(struct ctx *c, const struct tok *t, size_t k)
{
  size_t i, lt = k, gt = k, nlt = 0, ngt = 0, s;
  if (k == 0) return 0; /* empty element */
  for (i = 0; i < k; ++i) {
    if (is_sp(&t[i], '<')) { ++nlt; if (lt == k) lt = i; }
    if (is_sp(&t[i], '>')) { ++ngt; if (gt == k) gt = i; }
  }
  if (nlt != ngt) return fail(c, "unbalanced angle bracket");
  if (nlt > 1) return fail(c, "more than one angle address in a mailbox");
  if (nlt == 0 && c->q && c->q->lenient && (s = phrase_then_addr(t, k)) > 0) {
    size_t end = t[k - 1].start + t[k - 1].len;
    if (rewrite_at(c, t[s].start, "<") < 0 || addr_spec(c, t + s, k - s) < 0 || rewrite_at(c, end, ">") < 0) return -1;
    return 0;
  }
  if (nlt == 0) return addr_spec(c, t, k);
  if (gt < lt) return fail(c, "unbalanced angle bracket");
  if (gt + 1 != k) return fail(c, "text after the angle address");
  s = lt + 1;
  if (s < gt && is_sp(&t[s], '@')) { /* source route: @a,@b: */
    while (s < gt && !is_sp(&t[s], ':')) ++s;
    if (s == gt) return fail(c, "bad source route");
    ++s;
  }
  if (s == gt) return 0; /* <> */
  for (i = s; i < gt; ++i)
    if (is_sp(&t[i], ',') || is_sp(&t[i], ':')) return fail(c, "comma or colon inside angle brackets (unbalanced angle bracket?)");
  return addr_spec(c, t + s, gt - s);
}

int rfc822_addrlist(const char *v, size_t n, const struct rfc822_qualify *q,
                    str *rewritten, str *addrs, size_t *naddrs, const char **err)
{
  struct toks ts = { 0, 0, 0 };
  struct ctx c;
  size_t i, start = 0, count = 0;
  int in_group = 0, in_angle = 0, r = -1;
  const char *dummy;

  if (!err) err = &dummy;
  *err = "";
  c.v = v;
  c.n = n;
  c.q = q;
  c.rewritten = rewritten;
  c.addrs = addrs;
  c.naddrs = &count;
  c.copied = 0;
  c.err = err;
  str_truncate(rewritten, 0);
  str_truncate(addrs, 0);

  if (tokenize(v, n, &ts, err) < 0) goto out;
  for (i = 0; i <= ts.n; ++i) {
    const struct tok *t = i < ts.n ? &ts.t[i] : 0;
    if (t && is_sp(t, '<')) in_angle = 1;
    if (t && is_sp(t, '>')) in_angle = 0;
    if (t && in_angle) continue;
    if (t && is_sp(t, ':') && !in_group) {
      in_group = 1; /* the phrase before it is the group's name */
      start = i + 1;
      continue;
    }
    if (t && is_sp(t, ';') && !in_group && q && q->lenient) {
      /* a ';' where a ',' belongs: read and rewritten as one */
      if (mailbox(&c, i > start ? ts.t + start : ts.t, i - start) < 0) goto out;
      if (rewrite_at(&c, t->start, ",") < 0) goto out;
      c.copied = t->start + 1;
      start = i + 1;
      continue;
    }
    if (t && is_sp(t, ';')) {
      if (!in_group) { fail(&c, "';' outside a group"); goto out; }
      if (mailbox(&c, i > start ? ts.t + start : ts.t, i - start) < 0) goto out;
      in_group = 0;
      start = i + 1;
      continue;
    }
    if (!t || is_sp(t, ',')) {
      if (mailbox(&c, i > start ? ts.t + start : ts.t, i - start) < 0) goto out;
      start = i + 1;
    }
  }
  if (n > c.copied && str_catb(rewritten, v + c.copied, n - c.copied) < 0) goto out;
  *naddrs = count;
  r = 0;
out:
  if (r < 0) {
    int e = errno;
    str_truncate(rewritten, 0);
    str_truncate(addrs, 0);
    errno = e;
  }
  free(ts.t);
  return r;
}
