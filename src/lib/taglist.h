/* taglist.h: the tag=value lists of DKIM (RFC 6376 3.2), also used by
 * DMARC records (RFC 7489 6.3).
 *
 * taglist_parse splits s[0..n) into at most TAGLIST_MAX tags; names and
 * values point into s (the caller keeps s alive), with the folding
 * white space around them dropped (inside a value it stays: callers
 * that want it gone, as for b= and p=, use taglist_strip_ws). Returns
 * 0, or -1 with errno EINVAL: a tag without '=', a malformed name, a
 * value byte outside the grammar, a repeated tag, too many tags. */
#ifndef SLUICE_TAGLIST_H
#define SLUICE_TAGLIST_H

#include <stddef.h>

#include "str.h"

#define TAGLIST_MAX 32

struct taglist {
  struct {
    const char *name, *value;
    size_t name_len, value_len;
  } tag[TAGLIST_MAX];
  size_t n;
};

int taglist_parse(struct taglist *t, const char *s, size_t n);
/* The value of tag name, or 0 (then *len is 0). */
const char *taglist_get(const struct taglist *t, const char *name, size_t *len);
/* Appends v[0..n) to out without its blanks, CRs and LFs. */
int taglist_strip_ws(str *out, const char *v, size_t n);

#endif
