/* aliases.c: see aliases.h. Memory: every str is the caller's except
 * the temporaries freed here; the duplicate check of aliases_compile
 * keeps a hash table of the names in two strs freed before it returns. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "aliases.h"
#include "byte.h"
#include "cdb.h"
#include "domain.h"
#include "dotqmail.h"
#include "str.h"

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static int syntax(const char **why, const char *text)
{
  *why = text;
  errno = EINVAL;
  return -1;
}

/* An address as a forward may carry it: no space, no control byte. */
static const char *address_problem(const char *s, size_t n)
{
  size_t i;
  if (n == 0) return "empty address";
  if (n > DOTQMAIL_ADDR_MAX - 1) return "address longer than 1002 bytes";
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c <= ' ' || c == 127) return "address holds a space or control byte (quote a program or file name)";
  }
  return 0;
}

/* One target t[0..n), trimmed, quotes removed: its .qmail line. */
static int emit(const char *t, size_t n, str *out, unsigned long *count, const char **why)
{
  const char *p;
  size_t lt, gt;
  if (n == 0) return 0;
  if (byte_chr(t, n, 0) < n) return syntax(why, "target holds a NUL byte");
  if (byte_chr(t, n, '\n') < n) return syntax(why, "target holds a newline");
  if (t[0] == '|') {
    if (n == 1) return syntax(why, "program target without a command");
    if (str_catb(out, t, n) < 0 || str_catc(out, '\n') < 0) return -1;
  } else if (t[0] == '/') {
    if (str_catb(out, t, n) < 0 || str_catc(out, '\n') < 0) return -1;
  } else if (byte_startswith(t, n, ":include:", 1)) {
    t += 9;
    n -= 9;
    while (n && is_blank(t[0])) { ++t; --n; }
    if (n == 0 || t[0] != '/') return syntax(why, ":include: needs an absolute path");
    if (str_cats(out, ":include:") < 0 || str_catb(out, t, n) < 0 || str_catc(out, '\n') < 0) return -1;
  } else if (t[0] == '\\') {
    p = address_problem(t + 1, n - 1);
    if (p) return syntax(why, p);
    if (str_cats(out, "&") < 0 || str_catb(out, t, n) < 0 || str_catc(out, '\n') < 0) return -1;
  } else {
    lt = byte_chr(t, n, '<');
    if (lt < n) { /* "Name <addr>": the address in the brackets */
      gt = byte_chr(t + lt, n - lt, '>');
      if (lt + gt == n) return syntax(why, "< without >");
      t += lt + 1;
      n = gt - 1;
    }
    p = address_problem(t, n);
    if (p) return syntax(why, p);
    if (str_catc(out, '&') < 0 || str_catb(out, t, n) < 0 || str_catc(out, '\n') < 0) return -1;
  }
  ++*count;
  return 0;
}

int aliases_targets(const char *text, size_t n, str *out, unsigned long *count, const char **why,
                    size_t *where)
{
  str tok = STR_INIT;
  size_t pos = 0;
  int linestart = 1, r = -1;

  *why = 0;
  *where = 0;
  while (pos < n) {
    int inquote = 0;
    size_t len;
    while (pos < n && is_blank(text[pos])) ++pos;
    if (pos == n) break;
    if (linestart && text[pos] == '#') {
      pos += byte_chr(text + pos, n - pos, '\n');
      continue;
    }
    linestart = 0;
    if (text[pos] == '\n') { ++pos; linestart = 1; continue; }
    if (text[pos] == ',') { ++pos; continue; }
    *where = pos;
    tok.len = 0;
    while (pos < n) {
      char c = text[pos];
      if (inquote) {
        if (c == '\n') { syntax(why, "unterminated quote"); goto done; }
        if (c == '\\' && pos + 1 < n && text[pos + 1] != '\n') {
          if (str_catc(&tok, text[pos + 1]) < 0) goto done;
          pos += 2;
          continue;
        }
        if (c == '"') inquote = 0;
        else if (str_catc(&tok, c) < 0) goto done;
        ++pos;
        continue;
      }
      if (c == ',' || c == '\n') break;
      if (c == '"') inquote = 1;
      else if (str_catc(&tok, c) < 0) goto done;
      ++pos;
    }
    if (inquote) { syntax(why, "unterminated quote"); goto done; }
    len = tok.len;
    while (len && is_blank(tok.s[len - 1])) --len;
    {
      size_t start = 0;
      while (start < len && is_blank(tok.s[start])) ++start;
      if (emit(tok.s ? tok.s + start : "", len - start, out, count, why) < 0) goto done;
    }
  }
  r = 0;
done:
  str_free(&tok);
  return r;
}

long aliases_self(str *text, const char *name, size_t n, const char *repl, size_t rlen, const str *locals)
{
  str out = STR_INIT;
  size_t pos = 0;
  long hits = 0;
  while (pos < text->len) {
    size_t nl = byte_chr(text->s + pos, text->len - pos, '\n');
    const char *line = text->s + pos, *a = line + 1;
    size_t end = pos + nl < text->len ? nl + 1 : nl, an = nl ? nl - 1 : 0;
    if (nl > 1 && line[0] == '&' && a[0] == '\\') { ++a; --an; }
    if (nl > 1 && line[0] == '&' && locals && an > n + 1 && a[n] == '@'
        && domain_match_list(a + n + 1, an - n - 1, locals))
      an = n; /* name@a local domain: the name itself */
    if (nl > 1 && line[0] == '&' && case_equalb(a, an, name, n)) {
      if (str_catb(&out, repl, rlen) < 0) { str_free(&out); return -1; }
      ++hits;
    } else if (str_catb(&out, line, end) < 0) {
      str_free(&out);
      return -1;
    }
    pos += end;
  }
  if (hits) {
    str t = *text;
    *text = out;
    out = t;
  }
  str_free(&out);
  return hits;
}

/* The names seen, for the duplicate check: names holds each name and
 * a NUL; slots holds size_t offsets + 1 into names (0 = empty). */
struct seen {
  str names, slots;
  size_t nslots, count;
};

static size_t *slot_at(struct seen *s, size_t i) { return (size_t *)(void *)s->slots.s + i; }

static int seen_grow(struct seen *s)
{
  size_t n = s->nslots ? s->nslots * 2 : 1024, i;
  str old = s->slots;
  size_t oldn = s->nslots;
  if (n > SIZE_MAX / sizeof(size_t) / 2) { errno = ENOMEM; return -1; }
  s->slots.s = 0;
  s->slots.len = s->slots.a = 0;
  if (str_ready(&s->slots, n * sizeof(size_t)) < 0) { s->slots = old; return -1; }
  memset(s->slots.s, 0, n * sizeof(size_t));
  s->nslots = n;
  for (i = 0; i < oldn; ++i) {
    size_t off = ((size_t *)(void *)old.s)[i], j;
    const char *k;
    if (!off) continue;
    k = s->names.s + off - 1;
    j = cdb_hash(k, byte_len(k, ALIASES_NAME_MAX + 1)) & (n - 1);
    while (*slot_at(s, j)) j = (j + 1) & (n - 1);
    *slot_at(s, j) = off;
  }
  str_free(&old);
  return 0;
}

/* 1 when key[0..n) was seen before, 0 when new (now recorded), -1. */
static int seen_add(struct seen *s, const char *key, size_t n)
{
  size_t j;
  if ((s->count + 1) * 2 > s->nslots && seen_grow(s) < 0) return -1;
  j = cdb_hash(key, n) & (s->nslots - 1);
  while (*slot_at(s, j)) {
    const char *k = s->names.s + *slot_at(s, j) - 1;
    if (byte_len(k, n + 1) == n && byte_equal(k, key, n)) return 1;
    j = (j + 1) & (s->nslots - 1);
  }
  *slot_at(s, j) = s->names.len + 1;
  if (str_catb(&s->names, key, n) < 0 || str_catc(&s->names, 0) < 0) return -1;
  ++s->count;
  return 0;
}

/* Adds one alias: name[0..nlen) with the target text body[0..blen),
 * which starts on line `line`. */
static int add_alias(struct cdb_make *m, struct seen *s, const char *name, size_t nlen, const char *body,
                     size_t blen, unsigned long *line, const char **why, unsigned long *count,
                     const str *locals)
{
  str key = STR_INIT, data = STR_INIT, repl = STR_INIT;
  unsigned long targets = 0;
  size_t where;
  int r = -1;

  if (str_copyb(&key, name, nlen) < 0) goto done;
  case_lowerb(key.s, key.len);
  if (aliases_targets(body, blen, &data, &targets, why, &where) < 0) {
    size_t i;
    if (*why)
      for (i = 0; i < where; ++i)
        if (body[i] == '\n') ++*line;
    goto done;
  }
  if (targets == 0) { syntax(why, "alias without a target"); goto done; }
  if (str_copys(&repl, "&\\") < 0 || str_cat(&repl, &key) < 0 || str_catc(&repl, '\n') < 0) goto done;
  if (aliases_self(&data, key.s, key.len, repl.s, repl.len, locals) < 0) goto done;
  switch (seen_add(s, key.s, key.len)) {
  case 0: break;
  case 1: syntax(why, "alias name given a second time"); goto done;
  default: *why = 0; goto done;
  }
  if (cdb_make_add(m, key.s, key.len, data.s, data.len) < 0) { *why = 0; goto done; }
  ++*count;
  r = 0;
done:
  str_free(&key);
  str_free(&data);
  str_free(&repl);
  return r;
}

/* The name at the start of line[0..n): quoted or up to the colon.
 * Puts it in *name and the offset after the colon in *rest. */
static int parse_name(const char *line, size_t n, str *name, size_t *rest, const char **why)
{
  size_t i = 0, k;
  name->len = 0;
  if (line[0] == '"') {
    for (i = 1; i < n && line[i] != '"'; ++i) {
      if (line[i] == '\\' && i + 1 < n) ++i;
      if (str_catc(name, line[i]) < 0) return -1;
    }
    if (i == n) return syntax(why, "unterminated quote in the alias name");
    ++i;
    while (i < n && is_blank(line[i])) ++i;
    if (i == n || line[i] != ':') return syntax(why, "no colon after the alias name");
  } else {
    i = byte_chr(line, n, ':');
    if (i == n) return syntax(why, "no colon after the alias name");
    k = i;
    while (k > 0 && is_blank(line[k - 1])) --k;
    if (str_copyb(name, line, k) < 0) return -1;
  }
  *rest = i + 1;
  if (name->len == 0) return syntax(why, "empty alias name");
  if (name->len > ALIASES_NAME_MAX) return syntax(why, "alias name longer than 1003 bytes");
  for (k = 0; k < name->len; ++k) {
    unsigned char c = (unsigned char)name->s[k];
    if (c <= ' ' || c == 127 || c == '@')
      return syntax(why, "alias name holds a space, a control byte or @ (a name is a local part)");
  }
  return 0;
}

int aliases_compile(const char *text, size_t n, struct cdb_make *m, unsigned long *line,
                    const char **why, unsigned long *count, const str *locals)
{
  struct seen s;
  str name = STR_INIT, body = STR_INIT;
  size_t pos = 0;
  unsigned long lineno = 0, start = 0;
  int have = 0, r = -1;

  memset(&s, 0, sizeof s);
  *count = 0;
  *why = 0;
  while (pos < n) {
    size_t nl = byte_chr(text + pos, n - pos, '\n'), i = 0, rest;
    const char *l = text + pos;
    pos += nl < n - pos ? nl + 1 : nl;
    ++lineno;
    while (i < nl && is_blank(l[i])) ++i;
    if (i == nl || l[i] == '#') continue;
    if (byte_chr(l, nl, 0) < nl) { *line = lineno; syntax(why, "line holds a NUL byte"); goto done; }
    if (l[0] == ' ' || l[0] == '\t') { /* a continuation line */
      if (!have) { *line = lineno; syntax(why, "continuation line without an alias before it"); goto done; }
      if (str_catc(&body, '\n') < 0 || str_catb(&body, l, nl) < 0) goto done;
      continue;
    }
    if (have) {
      *line = start;
      if (add_alias(m, &s, name.s, name.len, body.s, body.len, line, why, count, locals) < 0) goto done;
    }
    have = 0;
    *line = lineno;
    if (parse_name(l + i, nl - i, &name, &rest, why) < 0) goto done;
    if (str_copyb(&body, l + i + rest, nl - i - rest) < 0) goto done;
    have = 1;
    start = lineno;
  }
  if (have) {
    *line = start;
    if (add_alias(m, &s, name.s, name.len, body.s, body.len, line, why, count, locals) < 0) goto done;
  }
  *line = 0;
  r = 0;
done:
  str_free(&name);
  str_free(&body);
  str_free(&s.names);
  str_free(&s.slots);
  return r;
}

size_t aliases_delimiter(const char *local, size_t n, const char *delims, size_t dn)
{
  size_t i;
  for (i = 0; i < n; ++i) {
    if (local[i] == '-' || byte_chr(delims, dn, local[i]) == dn) continue;
    return i == 0 ? n : i;
  }
  return n;
}
