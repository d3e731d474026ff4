/* spawn.c: see spawn.h. */
#include <errno.h>
#include <string.h>

#include "byte.h"
#include "netstring.h"
#include "qfile.h"
#include "scan.h"
#include "spawn.h"
#include "str.h"

static int cat_number(str *out, unsigned long u)
{
  str n = STR_INIT;
  int r = str_catulong(&n, u) < 0 ? -1 : netstring_cat(out, n.s, n.len);
  str_free(&n);
  return r;
}

static int printable(const char *s, size_t n)
{
  for (size_t i = 0; i < n; ++i)
    if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126) return 0;
  return 1;
}

int spawn_dsn_valid(char kind, const char *s, size_t n)
{
  if (n == 0) return 1;
  switch (kind) {
  case 'E': return n <= SPAWN_ENVID_MAX && printable(s, n);
  case 'O': /* addr-type ";" address, neither empty */
    return n <= SPAWN_ORCPT_MAX && printable(s, n) && byte_chr(s, n, ';') > 0 && byte_chr(s, n, ';') + 1 < n;
  case 'N': return n <= SPAWN_NOTIFY_MAX && qfile_notify_valid(s, n);
  default: return 0;
  }
}

int spawn_request_encode(str *out, unsigned long slot, unsigned long id, unsigned options,
                         const char *sender, size_t sender_len,
                         const char *rcpts, size_t rcpts_len, size_t nrcpts)
{
  return spawn_request_encode_dsn(out, slot, id, options, sender, sender_len, 0, 0, rcpts, rcpts_len, nrcpts, 0, 0);
}

int spawn_request_encode_dsn(str *out, unsigned long slot, unsigned long id, unsigned options,
                             const char *sender, size_t sender_len, const char *envid, size_t envid_len,
                             const char *rcpts, size_t rcpts_len, size_t nrcpts,
                             const char *dsn, size_t dsn_len)
{
  str work = STR_INIT, f = STR_INIT;
  size_t pos = 0, dpos = 0, count = 0;
  char opts[QFILE_OPTIONS_MAX];
  int r = -1;

  if (slot >= SPAWN_SLOTS_MAX || nrcpts == 0 || nrcpts > SPAWN_RCPTS_MAX || sender_len > SPAWN_ADDR_MAX) {
    errno = EMSGSIZE;
    return -1;
  }
  if (!dsn) dsn_len = 0;
  if (!spawn_dsn_valid('E', envid, envid_len) || byte_chr(sender, sender_len, 0) != sender_len) {
    errno = EPROTO;
    return -1;
  }
  if (cat_number(&work, slot) < 0 || cat_number(&work, id) < 0) goto done;
  if (netstring_cat(&work, opts, qfile_options_fmt(opts, options)) < 0) goto done;
  /* the sender, with the ENVID after a NUL when there is one */
  if (str_copyb(&f, sender, sender_len) < 0) goto done;
  if (envid_len && (str_catc(&f, 0) < 0 || str_catb(&f, envid, envid_len) < 0)) goto done;
  if (netstring_cat(&work, f.s, f.len) < 0) goto done;
  while (pos < rcpts_len) {
    size_t len = byte_chr(rcpts + pos, rcpts_len - pos, 0);
    if (pos + len >= rcpts_len || len > SPAWN_ADDR_MAX) { errno = EPROTO; goto done; }
    if (str_copyb(&f, rcpts + pos, len) < 0) goto done;
    if (dsn_len) {
      /* two entries of the recipient: NOTIFY letters, ORCPT */
      size_t nl = byte_chr(dsn + dpos, dsn_len - dpos, 0), ol;
      if (dpos + nl >= dsn_len) { errno = EPROTO; goto done; }
      ol = byte_chr(dsn + dpos + nl + 1, dsn_len - dpos - nl - 1, 0);
      if (dpos + nl + 1 + ol >= dsn_len || !spawn_dsn_valid('N', dsn + dpos, nl)
          || !spawn_dsn_valid('O', dsn + dpos + nl + 1, ol)) {
        errno = EPROTO;
        goto done;
      }
      if ((nl || ol)
          && (str_catc(&f, 0) < 0 || str_catb(&f, dsn + dpos, nl) < 0 || str_catc(&f, 0) < 0
              || str_catb(&f, dsn + dpos + nl + 1, ol) < 0))
        goto done;
      dpos += nl + 1 + ol + 1;
    }
    if (netstring_cat(&work, f.s, f.len) < 0) goto done;
    pos += len + 1;
    ++count;
  }
  if (count != nrcpts || dpos != dsn_len) { errno = EPROTO; goto done; }
  r = netstring_cat(out, work.s, work.len);
done:
  str_free(&f);
  str_free(&work);
  return r;
}

/* Takes the next inner netstring of s[*pos..n). */
static int field(const char *s, size_t n, size_t *pos, size_t max, const char **f, size_t *flen)
{
  size_t off, len, used;
  int r = netstring_parse(s + *pos, n - *pos, max, &off, &len, &used);
  if (r < 0) return -1;
  if (r == 0) { errno = EPROTO; return -1; }
  *f = s + *pos + off;
  *flen = len;
  *pos += used;
  return 0;
}

static int number_field(const char *s, size_t n, size_t *pos, unsigned long *u)
{
  const char *f;
  size_t len;
  if (field(s, n, pos, 20, &f, &len) < 0) return -1;
  if (len == 0 || (len > 1 && f[0] == '0') || scan_ulong_exact(f, len, u) < 0) { errno = EPROTO; return -1; }
  return 0;
}

/* A recipient field f[0..len): the address, then perhaps a NUL, the
 * NOTIFY letters, a NUL and the ORCPT (not both empty: the encoding is
 * canonical). Appends the address to req->rcpts and the two DSN
 * entries to *dsn; *has is set when there were any. */
static int rcpt_field(struct spawn_request *req, str *dsn, int *has, const char *f, size_t len)
{
  size_t alen = byte_chr(f, len, 0), nl = 0, ol = 0;
  const char *n = f + len, *o = f + len;

  if (alen == 0 || alen > SPAWN_ADDR_MAX) { errno = alen ? EMSGSIZE : EPROTO; return -1; }
  if (alen < len) {
    n = f + alen + 1;
    nl = byte_chr(n, len - alen - 1, 0);
    if (alen + 1 + nl == len) { errno = EPROTO; return -1; }
    o = n + nl + 1;
    ol = len - alen - 1 - nl - 1;
    if ((nl == 0 && ol == 0) || byte_chr(o, ol, 0) != ol || !spawn_dsn_valid('N', n, nl)
        || !spawn_dsn_valid('O', o, ol)) {
      errno = EPROTO;
      return -1;
    }
    *has = 1;
  }
  if (str_catb(&req->rcpts, f, alen) < 0 || str_catc(&req->rcpts, 0) < 0) return -1;
  if (str_catb(dsn, n, nl) < 0 || str_catc(dsn, 0) < 0 || str_catb(dsn, o, ol) < 0 || str_catc(dsn, 0) < 0)
    return -1;
  return 0;
}

int spawn_request_decode(struct spawn_request *req, const char *s, size_t n)
{
  size_t pos = 0, slen;
  const char *f;
  size_t len;
  int has = 0;

  req->options = 0;
  req->sender.len = 0;
  req->rcpts.len = 0;
  req->nrcpts = 0;
  req->envid.len = 0;
  req->dsn.len = 0;
  if (number_field(s, n, &pos, &req->slot) < 0) return -1;
  if (req->slot >= SPAWN_SLOTS_MAX) { errno = EMSGSIZE; return -1; }
  if (number_field(s, n, &pos, &req->id) < 0) return -1;
  if (field(s, n, &pos, QFILE_OPTIONS_MAX, &f, &len) < 0) return -1;
  if (qfile_options_parse(f, len, &req->options) < 0) return -1;
  if (field(s, n, &pos, SPAWN_ADDR_MAX + 1 + SPAWN_ENVID_MAX, &f, &len) < 0) return -1;
  slen = byte_chr(f, len, 0);
  if (slen > SPAWN_ADDR_MAX) { errno = EMSGSIZE; return -1; }
  if (slen < len && (slen + 1 == len || !spawn_dsn_valid('E', f + slen + 1, len - slen - 1))) {
    errno = EPROTO;
    return -1;
  }
  if (str_copyb(&req->sender, f, slen) < 0) return -1;
  if (slen < len && str_copyb(&req->envid, f + slen + 1, len - slen - 1) < 0) return -1;
  while (pos < n) {
    if (req->nrcpts >= SPAWN_RCPTS_MAX) { errno = EMSGSIZE; return -1; }
    if (field(s, n, &pos, SPAWN_ADDR_MAX + 2 + SPAWN_NOTIFY_MAX + SPAWN_ORCPT_MAX, &f, &len) < 0) return -1;
    if (rcpt_field(req, &req->dsn, &has, f, len) < 0) return -1;
    ++req->nrcpts;
  }
  if (req->nrcpts == 0) { errno = EPROTO; return -1; }
  if (!has) req->dsn.len = 0;
  return 0;
}

void spawn_request_free(struct spawn_request *req)
{
  str_free(&req->sender);
  str_free(&req->rcpts);
  str_free(&req->envid);
  str_free(&req->dsn);
  req->nrcpts = 0;
}

int spawn_result_begin(str *work, unsigned long slot)
{
  work->len = 0;
  if (slot >= SPAWN_SLOTS_MAX) { errno = EMSGSIZE; return -1; }
  return cat_number(work, slot);
}

int spawn_result_add(str *work, char letter, const char *text, size_t len)
{
  str one = STR_INIT;
  int r;
  if (letter != 'K' && letter != 'P' && letter != 'Z' && letter != 'D') { errno = EINVAL; return -1; }
  if (len > SPAWN_TEXT_MAX) len = SPAWN_TEXT_MAX;
  len = byte_chr(text, len, 0); /* a text ends at a NUL */
  r = (str_catc(&one, letter) < 0 || str_catb(&one, text, len) < 0) ? -1 : netstring_cat(work, one.s, one.len);
  str_free(&one);
  return r;
}

int spawn_result_end(str *out, const str *work) { return netstring_cat(out, work->s, work->len); }

int spawn_result_decode(struct spawn_result *res, const char *s, size_t n)
{
  size_t pos = 0;
  const char *f;
  size_t len;

  res->results.len = 0;
  res->nresults = 0;
  if (number_field(s, n, &pos, &res->slot) < 0) return -1;
  if (res->slot >= SPAWN_SLOTS_MAX) { errno = EMSGSIZE; return -1; }
  while (pos < n) {
    if (res->nresults >= SPAWN_RCPTS_MAX) { errno = EMSGSIZE; return -1; }
    if (field(s, n, &pos, SPAWN_TEXT_MAX + 1, &f, &len) < 0) return -1;
    if (len == 0 || (f[0] != 'K' && f[0] != 'P' && f[0] != 'Z' && f[0] != 'D') || byte_chr(f, len, 0) != len) {
      errno = EPROTO;
      return -1;
    }
    if (str_catb(&res->results, f, len) < 0 || str_catc(&res->results, 0) < 0) return -1;
    ++res->nresults;
  }
  if (res->nresults == 0) { errno = EPROTO; return -1; }
  return 0;
}

void spawn_result_free(struct spawn_result *res)
{
  str_free(&res->results);
  res->nresults = 0;
}

int spawn_next(const str *list, size_t *pos, const char **entry, size_t *len)
{
  size_t l;
  if (*pos >= list->len) return 0;
  l = byte_chr(list->s + *pos, list->len - *pos, 0);
  *entry = list->s + *pos;
  *len = l;
  *pos += l + 1;
  return 1;
}

int spawn_frame_take(str *acc, str *frame, size_t max)
{
  size_t off, len, used;
  int r = netstring_parse(acc->s, acc->len, max, &off, &len, &used);
  if (r <= 0) return r;
  if (str_copyb(frame, acc->s + off, len) < 0) return -1;
  memmove(acc->s, acc->s + used, acc->len - used);
  acc->len -= used;
  return 1;
}
