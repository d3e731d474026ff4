/* dotqmail.c: see dotqmail.h. */
#include <errno.h>

#include "byte.h"
#include "dotqmail.h"
#include "str.h"

int dotqmail_safe_ext(str *out, const char *ext, size_t n)
{
  size_t i;
  if (str_copyb(out, ext, n) < 0) return -1;
  for (i = 0; i < out->len; ++i) {
    char c = out->s[i];
    if (c >= 'A' && c <= 'Z') out->s[i] = (char)(c - 'A' + 'a');
    else if (c == '.') out->s[i] = ':';
  }
  return 0;
}

void dotqmail_search_start(struct dotqmail_search *s, const char *ext, size_t len)
{
  s->ext = ext;
  s->len = len;
  s->pos = len;
  s->state = 0;
}

/* name = ".qmail" dash safe(ext[0..n)) */
static int base_name(str *name, const char *dash, const char *ext, size_t n)
{
  str safe = STR_INIT;
  int r = -1;
  if (dotqmail_safe_ext(&safe, ext, n) < 0) goto out;
  if (str_copys(name, ".qmail") < 0 || str_cats(name, dash) < 0 || str_cat(name, &safe) < 0) goto out;
  r = 0;
out:
  str_free(&safe);
  return r;
}

int dotqmail_search_next(struct dotqmail_search *s, const char *dash, str *name,
                         int *is_default, size_t *default_off)
{
  if (s->state == 0) {
    s->state = s->len ? 1 : 2;
    if (base_name(name, dash, s->ext, s->len) < 0 || str_0(name) < 0) return -1;
    *is_default = 0;
    *default_off = s->len;
    return 1;
  }
  if (s->state != 1) return 0;
  /* prefixes ending just after a '-' (or the empty prefix), longest first */
  for (;;) {
    size_t i = s->pos;
    if (i == 0 || s->ext[i - 1] == '-') {
      if (i == 0) s->state = 2;
      else --s->pos;
      if (base_name(name, dash, s->ext, i) < 0 || str_cats(name, "default") < 0 || str_0(name) < 0)
        return -1;
      *is_default = 1;
      *default_off = i;
      return 1;
    }
    --s->pos;
  }
}

int dotqmail_line_next(const char *text, size_t n, size_t *pos, size_t *off, size_t *len)
{
  size_t start = *pos, end, nl;
  if (start >= n) return 0;
  nl = start + byte_chr(text + start, n - start, '\n');
  *pos = nl < n ? nl + 1 : n;
  end = nl;
  while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r')) --end;
  *off = start;
  *len = end - start;
  return 1;
}

static int is_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

enum dotqmail_kind dotqmail_classify(const char *line, size_t n, size_t *arg_off, size_t *arg_len,
                                     const char **why)
{
  size_t i;
  *arg_off = 0;
  *arg_len = n;
  *why = "";
  if (n == 0) return DOTQMAIL_EMPTY;
  if (line[0] == '#') return DOTQMAIL_COMMENT;
  if (byte_chr(line, n, 0) < n) { *why = "line holds a NUL byte"; return DOTQMAIL_BAD; }
  switch (line[0]) {
  case '|':
    *arg_off = 1;
    *arg_len = n - 1;
    if (n == 1) { *why = "program line without a command"; return DOTQMAIL_BAD; }
    return DOTQMAIL_PROGRAM;
  case '/':
  case '.':
    return line[n - 1] == '/' ? DOTQMAIL_MAILDIR : DOTQMAIL_MBOX;
  case '&':
    *arg_off = 1;
    *arg_len = n - 1;
    break;
  default:
    if (!is_alnum(line[0])) { *why = "unrecognised line (not #, |, /, ., & or an address)"; return DOTQMAIL_BAD; }
  }
  if (*arg_len == 0) { *why = "forward line without an address"; return DOTQMAIL_BAD; }
  if (*arg_len > DOTQMAIL_ADDR_MAX) { *why = "forwarding address longer than 1003 bytes"; return DOTQMAIL_BAD; }
  for (i = *arg_off; i < n; ++i) {
    unsigned char c = (unsigned char)line[i];
    if (c <= ' ' || c == 127) { *why = "forwarding address holds a space or control byte"; return DOTQMAIL_BAD; }
  }
  return DOTQMAIL_FORWARD;
}

int dotqmail_check(const char *text, size_t n, const char **why, unsigned long *lineno,
                   unsigned long *counts)
{
  size_t pos = 0, off, len, aoff, alen;
  unsigned long line = 0;
  while (dotqmail_line_next(text, n, &pos, &off, &len)) {
    enum dotqmail_kind k;
    ++line;
    if (line == 1 && len == 0) {
      *why = "first line of the .qmail file is blank";
      *lineno = 1;
      return -1;
    }
    k = dotqmail_classify(text + off, len, &aoff, &alen, why);
    if (k == DOTQMAIL_BAD) { *lineno = line; return -1; }
    if (counts) ++counts[k];
  }
  *why = "";
  *lineno = 0;
  return 0;
}
