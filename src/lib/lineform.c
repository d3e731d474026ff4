/* lineform.c: see lineform.h. */
#include <errno.h>

#include "lineform.h"

void lineform_start(struct lineform *l)
{
  l->cr = 0;
}

size_t lineform_feed(struct lineform *l, const char *in, size_t n, char *out)
{
  size_t i, o = 0;

  if (n == 0) return 0;
  if (l->cr) {
    /* the CR held back: part of a line end only when LF follows */
    if (in[0] != '\n') out[o++] = ' ';
    l->cr = 0;
  }
  for (i = 0; i < n; ++i) {
    char c = in[i];
    if (c != '\r') { out[o++] = c; continue; }
    if (i + 1 == n) { l->cr = 1; break; }
    if (in[i + 1] != '\n') out[o++] = ' ';
    /* CR LF: the CR goes, the LF is copied next */
  }
  return o;
}

size_t lineform_end(struct lineform *l, char *out)
{
  if (!l->cr) return 0;
  l->cr = 0;
  out[0] = ' ';
  return 1;
}

int lineform_cat(struct lineform *l, const char *in, size_t n, str *out)
{
  if (n == (size_t)-1) { errno = EOVERFLOW; return -1; }
  if (str_readyplus(out, n + 1) < 0) return -1;
  out->len += lineform_feed(l, in, n, out->s + out->len);
  return 0;
}

int lineform_cat_end(struct lineform *l, str *out)
{
  if (!l->cr) return 0;
  if (str_catc(out, ' ') < 0) return -1;
  l->cr = 0;
  return 0;
}
