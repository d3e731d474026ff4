/* dkim_canon.c: DKIM header splitting and canonicalization (dkim_canon.h). */
#include "dkim_canon.h"

#include "byte.h"
#include "rfc822.h"

#define DKIM_FROM_FIELDS 1000

static int is_wsp(char c) { return c == ' ' || c == '\t'; }

void dkim_header_split(const char *msg, size_t n, dkim_field *f, size_t max,
                       size_t *count, size_t *body)
{
  size_t pos = 0, cnt = 0;
  *body = n;
  while (pos < n) {
    size_t value, name, end, e;
    /* the empty line ends the header */
    if (msg[pos] == '\n') { *body = pos + 1; break; }
    if (msg[pos] == '\r' && pos + 1 < n && msg[pos + 1] == '\n') { *body = pos + 2; break; }
    /* the field's first line must hold a name and a colon */
    name = rfc822_field_name(msg + pos, n - pos, &value);
    if (name == 0) { *body = pos; break; }
    /* continuation lines start with white space; end stops at the LF
     * (or n) */
    end = pos + byte_chr(msg + pos, n - pos, '\n');
    while (end + 1 < n && is_wsp(msg[end + 1])) {
      size_t more = byte_chr(msg + end + 1, n - end - 1, '\n');
      end = end + 1 + more;
    }
    /* the field ends before an LF or CRLF */
    e = end;
    if (e < n && e > pos && msg[e - 1] == '\r') e--;
    if (cnt < max) {
      f[cnt].start = pos;
      f[cnt].end = e;
      f[cnt].namelen = name;
      f[cnt].value = pos + value;
      f[cnt].next = end < n ? end + 1 : n;
    }
    cnt++;
    pos = end < n ? end + 1 : n;
  }
  *count = cnt;
}

int dkim_field_is(const char *msg, const dkim_field *f, const char *name)
{
  size_t k = byte_len(name, 1000);
  return case_equalb(msg + f->start, f->namelen, name, k);
}

int dkim_canon_header(str *out, const char *s, size_t n, int relaxed, int crlf)
{
  size_t i, colon;
  if (!relaxed) {
    /* simple: unchanged, but every line end is CRLF */
    for (i = 0; i < n; i++) {
      if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) {
        if (str_catb(out, "\r\n", 2) < 0) return -1;
      } else if (str_catc(out, s[i]) < 0) return -1;
    }
    return crlf ? str_catb(out, "\r\n", 2) : 0;
  }
  colon = byte_chr(s, n, ':');
  /* relaxed: the name in lower case without white space around it */
  for (i = 0; i < colon; i++) {
    char c = s[i];
    if (is_wsp(c) || c == '\r' || c == '\n') continue;
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    if (str_catc(out, c) < 0) return -1;
  }
  if (str_catc(out, ':') < 0) return -1;
  /* the value unfolded, each run of white space one space, none at
   * either end */
  {
    int pending = 0, started = 0;
    for (i = colon + 1; i < n; i++) {
      char c = s[i];
      if (c == '\r' && i + 1 < n && s[i + 1] == '\n') continue;
      if (c == '\n') continue;
      if (is_wsp(c)) { pending = 1; continue; }
      if (pending && started && str_catc(out, ' ') < 0) return -1;
      pending = 0;
      started = 1;
      if (str_catc(out, c) < 0) return -1;
    }
  }
  return crlf ? str_catb(out, "\r\n", 2) : 0;
}

void dkim_body_init(dkim_body *b, int relaxed)
{
  str z = STR_INIT;
  b->relaxed = relaxed;
  b->any = 0;
  b->blanks = 0;
  b->line = z;
  b->wsp = 0;
  b->cr = 0;
}

/* The current line is complete: hold it back when empty, else emit the
 * held-back empty lines and it. */
static int line_end(dkim_body *b, str *out)
{
  b->wsp = 0; /* relaxed: white space at the end of a line goes */
  if (b->line.len == 0) {
    if (b->blanks == (unsigned long)-1) { return -1; }
    b->blanks++;
    return 0;
  }
  for (; b->blanks; b->blanks--)
    if (str_catb(out, "\r\n", 2) < 0) return -1;
  if (str_cat(out, &b->line) < 0) return -1;
  if (str_catb(out, "\r\n", 2) < 0) return -1;
  b->any = 1;
  str_truncate(&b->line, 0);
  return 0;
}

static int line_byte(dkim_body *b, char c)
{
  if (b->relaxed) {
    if (is_wsp(c)) { b->wsp = 1; return 0; }
    if (b->wsp) {
      b->wsp = 0;
      if (str_catc(&b->line, ' ') < 0) return -1;
    }
  }
  return str_catc(&b->line, c);
}

int dkim_body_update(dkim_body *b, str *out, const char *s, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (b->cr) {
      b->cr = 0;
      if (c == '\n') { if (line_end(b, out) < 0) return -1; continue; }
      if (line_byte(b, '\r') < 0) return -1;
    }
    if (c == '\r') { b->cr = 1; continue; }
    if (c == '\n') { if (line_end(b, out) < 0) return -1; continue; }
    if (line_byte(b, c) < 0) return -1;
  }
  return 0;
}

int dkim_body_final(dkim_body *b, str *out)
{
  int r = 0;
  if (b->cr && line_byte(b, '\r') < 0) r = -1;
  b->cr = 0;
  /* an unterminated last line counts as a line with a line end */
  if (r == 0 && b->line.len && line_end(b, out) < 0) r = -1;
  /* simple: an empty body is one CRLF; relaxed: nothing (RFC 6376
   * errata 3192) */
  if (r == 0 && !b->any && !b->relaxed && str_catb(out, "\r\n", 2) < 0) r = -1;
  str_free(&b->line);
  return r;
}

int dkim_from_domain(const char *msg, size_t n, str *dom)
{
  dkim_field f[DKIM_FROM_FIELDS];
  size_t count, body, i, j, a, b;
  dkim_header_split(msg, n, f, DKIM_FROM_FIELDS, &count, &body);
  if (count > DKIM_FROM_FIELDS) count = DKIM_FROM_FIELDS;
  for (i = 0; i < count; i++) {
    const char *v;
    size_t vn, at, lt, depth = 0;
    str clean = STR_INIT;
    if (!dkim_field_is(msg, &f[i], "from")) continue;
    v = msg + f[i].value;
    vn = f[i].end - f[i].value;
    j = 0;
    /* drop comments (nested parentheses), keep the rest */
    for (; j < vn; j++) {
      char c = v[j];
      if (c == '\\' && depth) { j++; continue; }
      if (c == '(') { depth++; continue; }
      if (c == ')' && depth) { depth--; continue; }
      if (depth) continue;
      if (str_catc(&clean, c) < 0) { str_free(&clean); return -1; }
    }
    if (clean.len == 0) return -1;
    lt = byte_chr(clean.s, clean.len, '<');
    if (lt < clean.len) {
      a = lt + 1;
      b = a + byte_chr(clean.s + a, clean.len - a, '>');
    } else {
      a = 0;
      b = byte_chr(clean.s, clean.len, ',');
    }
    at = byte_rchr(clean.s + a, b - a, '@');
    if (at == b - a) { str_free(&clean); return -1; }
    a += at + 1;
    str_truncate(dom, 0);
    for (j = a; j < b; j++) {
      char c = clean.s[j];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
      if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
      if (str_catc(dom, c) < 0) { str_free(&clean); return -1; }
    }
    str_free(&clean);
    while (dom->len && dom->s[dom->len - 1] == '.') dom->len--;
    return dom->len ? 0 : -1;
  }
  return -1;
}
