/* taglist.c: see taglist.h. */
#include <errno.h>

#include "byte.h"
#include "taglist.h"

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static int name_byte(unsigned char c, int first)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
  return !first && ((c >= '0' && c <= '9') || c == '_');
}

int taglist_parse(struct taglist *t, const char *s, size_t n)
{
  size_t i = 0;
  t->n = 0;
  while (i < n) {
    size_t a, b, j, k;
    /* one tag-spec: up to ';' or the end */
    size_t end = i + byte_chr(s + i, n - i, ';');
    a = i;
    b = end;
    while (a < b && is_ws(s[a])) ++a;
    while (b > a && is_ws(s[b - 1])) --b;
    if (a == b) {
      /* an empty spec is allowed only after the last ';' */
      if (end != n) goto inval;
      break;
    }
    for (j = a; j < b && name_byte((unsigned char)s[j], j == a); ++j) {}
    if (j == a) goto inval;
    k = j;
    while (k < b && is_ws(s[k])) ++k;
    if (k == b || s[k] != '=') goto inval;
    if (t->n == TAGLIST_MAX) goto inval;
    t->tag[t->n].name = s + a;
    t->tag[t->n].name_len = j - a;
    ++k;
    while (k < b && is_ws(s[k])) ++k;
    {
      size_t v;
      for (v = k; v < b; ++v) {
        unsigned char c = (unsigned char)s[v];
        if (!is_ws((char)c) && (c < 0x21 || c > 0x7e)) goto inval;
      }
    }
    t->tag[t->n].value = s + k;
    t->tag[t->n].value_len = b - k;
    for (j = 0; j < t->n; ++j)
      if (t->tag[j].name_len == t->tag[t->n].name_len && byte_equal(t->tag[j].name, s + a, t->tag[j].name_len))
        goto inval;
    ++t->n;
    i = end == n ? n : end + 1;
  }
  return 0;
inval:
  errno = EINVAL;
  return -1;
}

const char *taglist_get(const struct taglist *t, const char *name, size_t *len)
{
  size_t i, nl = byte_len(name, 64);
  for (i = 0; i < t->n; ++i)
    if (t->tag[i].name_len == nl && byte_equal(t->tag[i].name, name, nl)) {
      *len = t->tag[i].value_len;
      return t->tag[i].value;
    }
  *len = 0;
  return 0;
}

int taglist_strip_ws(str *out, const char *v, size_t n)
{
  size_t i;
  for (i = 0; i < n; ++i)
    if (!is_ws(v[i]) && str_catc(out, v[i]) < 0) return -1;
  return 0;
}
