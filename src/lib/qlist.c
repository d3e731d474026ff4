/* qlist.c: see qlist.h. */
#include "qlist.h"

#include "byte.h"
#include "qfile.h"
#include "scan.h"

int qlist_cat_safe(str *o, const char *s, size_t n)
{
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (str_catc(o, (c < 32 || c == 127) ? '_' : (char)c) < 0) return -1;
  }
  return 0;
}

int qlist_cat_age(str *o, unsigned long s)
{
  char unit = 's';
  if (s >= 86400) { s /= 86400; unit = 'd'; }
  else if (s >= 3600) { s /= 3600; unit = 'h'; }
  else if (s >= 60) { s /= 60; unit = 'm'; }
  if (str_catulong(o, s) < 0 || str_catc(o, unit) < 0) return -1;
  return 0;
}

/* The deferrals of address a in the defer file: their number, and the
 * last reason in *r (0 when none). */
static unsigned long deferrals(const str *d, const char *a, size_t alen, const char **r, size_t *rlen)
{
  unsigned long n = 0;
  size_t pos = 0;
  *r = 0;
  *rlen = 0;
  while (d && pos < d->len) {
    size_t l1 = byte_chr(d->s + pos, d->len - pos, 0), p2, l2, p3, l3;
    p2 = pos + l1 + 1;
    if (p2 >= d->len) break;
    l2 = byte_chr(d->s + p2, d->len - p2, 0);
    p3 = p2 + l2 + 1;
    if (p3 >= d->len) break;
    l3 = byte_chr(d->s + p3, d->len - p3, 0);
    if (p3 + l3 >= d->len) break; /* torn last record */
    if (l1 == alen && byte_equal(d->s + pos, a, alen)) {
      ++n;
      *r = d->s + p3;
      *rlen = l3;
    }
    pos = p3 + l3 + 1;
  }
  return n;
}

static int channel(str *o, const str *f, const char *name, const struct qlist_msg *m, time_t now)
{
  unsigned long next = 0;
  size_t pos = QFILE_HEADER_LEN;
  int pending = 0;
  if (!f || f->len < QFILE_HEADER_LEN) return 0;
  if (qfile_header_parse(f, &next) < 0) next = 0;
  while (pos < f->len) {
    size_t n = byte_chr(f->s + pos, f->len - pos, 0);
    const char *r;
    size_t rlen;
    unsigned long tries;
    if (n == 0 || pos + n >= f->len) break;
    if (f->s[pos] == 'T' || f->s[pos] == 'D') {
      int done = f->s[pos] == 'D';
      if (!done) pending = 1;
      if (str_cats(o, "  ") < 0 || str_cats(o, name) < 0
          || str_cats(o, done ? "done    <" : m->held ? "held    <" : "pending <") < 0
          || qlist_cat_safe(o, f->s + pos + 1, n - 1) < 0 || str_catc(o, '>') < 0)
        return -1;
      tries = deferrals(m->defer, f->s + pos + 1, n - 1, &r, &rlen);
      if (tries) {
        if (str_cats(o, "  deferred ") < 0 || str_catulong(o, tries) < 0
            || str_cats(o, tries == 1 ? " time\n      last: " : " times\n      last: ") < 0
            || qlist_cat_safe(o, r, rlen) < 0)
          return -1;
      }
      if (str_catc(o, '\n') < 0) return -1;
    }
    pos += n + 1;
  }
  /* a message due now (or never tried) gets no line */
  if (pending && !m->held && (time_t)next > now) {
    if (str_cats(o, "  ") < 0 || str_cats(o, name) < 0 || str_cats(o, "next try in ") < 0
        || qlist_cat_age(o, (unsigned long)((time_t)next - now)) < 0 || str_catc(o, '\n') < 0)
      return -1;
  }
  return 0;
}

int qlist_format(str *o, const struct qlist_msg *m, time_t now)
{
  if (str_catulong(o, m->id) < 0 || str_cats(o, "  ") < 0
      || qlist_cat_age(o, now > m->birth ? (unsigned long)(now - m->birth) : 0) < 0 || str_cats(o, "  ") < 0
      || str_catulong(o, m->size) < 0 || str_cats(o, "  <") < 0 || qlist_cat_safe(o, m->sender, m->senderlen) < 0
      || str_cats(o, m->held ? ">  held\n" : ">\n") < 0)
    return -1;
  if (channel(o, m->local, "local  ", m, now) < 0 || channel(o, m->remote, "remote ", m, now) < 0) return -1;
  if (m->bounce && str_cats(o, "  bounce report waiting to be sent\n") < 0) return -1;
  return 0;
}
