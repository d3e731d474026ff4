/* qfile.c: parsers of the queue files sluice-send owns (qfile.h). */
#include <errno.h>

#include "byte.h"
#include "fmt.h"
#include "qfile.h"
#include "scan.h"
#include "xtext.h"

static int bad(void)
{
  errno = EPROTO;
  return -1;
}

int qfile_stamp_parse(const char *s, size_t n, unsigned long *sec, unsigned long *nsec)
{
  size_t dot = byte_chr(s, n, '.');
  if (dot == n || n - dot - 1 < 1 || n - dot - 1 > 9) return bad();
  if (scan_ulong_exact(s, dot, sec) < 0 || scan_ulong_exact(s + dot + 1, n - dot - 1, nsec) < 0) return bad();
  return 0; /* at most 9 digits: below 10^9 */
}

size_t qfile_stamp_fmt(char *buf, unsigned long sec, unsigned long nsec)
{
  size_t n = fmt_ulong(buf, sec);
  buf[n++] = '.';
  return n + fmt_ulong0(buf + n, nsec % 1000000000UL, 9);
}

int qfile_options_parse(const char *s, size_t n, unsigned *opts)
{
  unsigned o = 0;
  for (size_t i = 0; i < n; ++i) {
    unsigned bit;
    switch (s[i]) {
      case 'U': bit = QFILE_OPT_SMTPUTF8; break;
      case 'H': bit = QFILE_OPT_RET_HDRS; break;
      case 'B': bit = QFILE_OPT_RET_FULL; break;
      default: return bad();
    }
    if (o & bit) return bad();
    o |= bit;
  }
  *opts = o;
  return 0;
}

size_t qfile_options_fmt(char *buf, unsigned opts)
{
  size_t n = 0;
  if (opts & QFILE_OPT_SMTPUTF8) buf[n++] = 'U';
  if (opts & QFILE_OPT_RET_HDRS) buf[n++] = 'H';
  if (opts & QFILE_OPT_RET_FULL) buf[n++] = 'B';
  return n;
}

/* An "O" field f[0..len) ("O" and at least one letter), at most once. */
static int options_field(const char *f, size_t len, struct qfile_info *in, int *seen)
{
  if (*seen || len < 2 || qfile_options_parse(f + 1, len - 1, &in->options) < 0) return bad();
  *seen = 1;
  return 0;
}

static int stamp_field(const char *f, size_t len, struct qfile_info *in)
{
  if (in->stamped || qfile_stamp_parse(f + 1, len - 1, &in->stamp_sec, &in->stamp_nsec) < 0) return bad();
  in->stamped = 1;
  return 0;
}

int qfile_info_parse(const str *s, struct qfile_info *in)
{
  size_t pos = 0;
  int seen = 0, opts = 0;
  in->stamped = 0;
  in->options = 0;
  str_truncate(&in->dsn, 0);
  while (pos < s->len) {
    size_t len = byte_chr(s->s + pos, s->len - pos, 0);
    const char *f = s->s + pos;
    if (pos + len >= s->len || len == 0) return bad();
    switch (f[0]) {
      case 'b': if (scan_ulong_exact(f + 1, len - 1, &in->birth) < 0) return bad(); seen |= 1; break;
      case 'u': if (scan_ulong_exact(f + 1, len - 1, &in->uid) < 0) return bad(); seen |= 2; break;
      case 'p': if (scan_ulong_exact(f + 1, len - 1, &in->pid) < 0) return bad(); seen |= 4; break;
      case 's': if (stamp_field(f, len, in) < 0) return -1; break;
      case 'O': if (options_field(f, len, in, &opts) < 0) return -1; break;
      case 'I':
      case 'D':
        if (seen & 8) return bad();
        if (str_catb(&in->dsn, f, len + 1) < 0) return -1;
        break;
      case 'F': if (str_copyb(&in->sender, f + 1, len - 1) < 0) return -1; seen |= 8; break;
      case 'E': return (seen == 15 && pos + len + 1 == s->len) ? 0 : bad();
      default: return bad();
    }
    pos += len + 1;
  }
  return bad();
}

int qfile_header_parse(const str *f, unsigned long *next)
{
  if (f->len < QFILE_HEADER_LEN || f->s[0] != 'R' || f->s[QFILE_HEADER_LEN - 1] != 0) return bad();
  if (scan_ulong_exact(f->s + 1, QFILE_HEADER_LEN - 2, next) < 0) return bad();
  return 0;
}

void qfile_header_fmt(char *h, unsigned long next)
{
  h[0] = 'R';
  fmt_ulong0(h + 1, next, 20);
  h[QFILE_HEADER_LEN - 1] = 0;
}

int qfile_records_valid(const str *f)
{
  size_t pos = QFILE_HEADER_LEN;
  while (pos < f->len) {
    size_t len = byte_chr(f->s + pos, f->len - pos, 0);
    if (pos + len >= f->len || len < 2 || (f->s[pos] != 'T' && f->s[pos] != 'D')) return 0;
    pos += len + 1;
  }
  return 1;
}

int qfile_envelope_parse(const str *env, struct qfile_info *in,
                         int (*rcpt)(void *ctx, const char *addr, size_t len), void *ctx)
{
  size_t pos = 0;
  int seen = 0, opts = 0;
  in->stamped = 0;
  in->options = 0;
  str_truncate(&in->dsn, 0);
  in->notify = in->orcpt = 0;
  in->notify_len = in->orcpt_len = 0;
  while (pos < env->len) {
    size_t len = byte_chr(env->s + pos, env->len - pos, 0);
    const char *f = env->s + pos;
    if (pos + len >= env->len || len == 0) break;
    switch (f[0]) {
      case 'u': if (scan_ulong_exact(f + 1, len - 1, &in->uid) < 0) return bad(); seen |= 1; break;
      case 'p': if (scan_ulong_exact(f + 1, len - 1, &in->pid) < 0) return bad(); seen |= 2; break;
      case 's': if ((seen & 4) || stamp_field(f, len, in) < 0) return bad(); break;
      case 'O': if ((seen & 4) || options_field(f, len, in, &opts) < 0) return bad(); break;
      case 'I':
        if ((seen & 4) || in->dsn.len || len < 2) return bad();
        if (str_catb(&in->dsn, f, len + 1) < 0) return -1;
        break;
      case 'F': if (str_copyb(&in->sender, f + 1, len - 1) < 0) return -1; seen |= 4; break;
      case 'N':
        if (!(seen & 4) || in->notify || !qfile_notify_valid(f + 1, len - 1)) return bad();
        in->notify = f + 1;
        in->notify_len = len - 1;
        break;
      case 'R':
        if (!(seen & 4) || in->orcpt || len < 2) return bad();
        in->orcpt = f + 1;
        in->orcpt_len = len - 1;
        break;
      case 'T':
        if (!(seen & 4) || len < 2) return bad();
        if (!rcpt) return seen == 7 ? 0 : bad();
        if (rcpt(ctx, f + 1, len - 1) < 0) return -1;
        in->notify = in->orcpt = 0;
        in->notify_len = in->orcpt_len = 0;
        break;
      default: return bad();
    }
    pos += len + 1;
  }
  return seen == 7 ? 0 : bad();
}

int qfile_notify_valid(const char *n, size_t len)
{
  int seen = 0;
  size_t i;

  if (len == 1 && n[0] == 'N') return 1;
  if (len == 0) return 0;
  for (i = 0; i < len; ++i) {
    int bit = n[i] == 'S' ? 1 : n[i] == 'F' ? 2 : n[i] == 'D' ? 4 : 0;
    if (!bit || (seen & bit)) return 0;
    seen |= bit;
  }
  return 1;
}

int qfile_dsn_cat(str *out, const char *notify, size_t nlen, const char *orcpt, size_t olen,
                  const char *addr, size_t alen)
{
  size_t len = out->len;
  if (str_catc(out, 'D') < 0 || str_catb(out, notify, nlen) < 0 || str_catc(out, ' ') < 0
      || xtext_encode_cat(out, orcpt, olen) < 0 || str_catc(out, ' ') < 0
      || str_catb(out, addr, alen) < 0 || str_catc(out, 0) < 0) {
    out->len = len;
    return -1;
  }
  return 0;
}

int qfile_dsn_find(const str *dsn, const char *addr, size_t alen, const char **notify, size_t *nlen, str *orcpt)
{
  size_t pos = 0;

  while (pos < dsn->len) {
    size_t len = byte_chr(dsn->s + pos, dsn->len - pos, 0);
    const char *f = dsn->s + pos;
    pos += len + 1;
    if (len == 0 || f[0] != 'D') continue;
    {
      size_t sp1 = byte_chr(f + 1, len - 1, ' ') + 1, sp2;
      if (sp1 >= len) return bad();
      sp2 = sp1 + 1 + byte_chr(f + sp1 + 1, len - sp1 - 1, ' ');
      if (sp2 >= len) return bad();
      if (len - sp2 - 1 != alen || !byte_equal(f + sp2 + 1, addr, alen)) continue;
      if (xtext_decode(f + sp1 + 1, sp2 - sp1 - 1, orcpt) < 0) return errno == ENOMEM ? -1 : bad();
      *notify = f + 1;
      *nlen = sp1 - 1;
      return 1;
    }
  }
  return 0;
}

size_t qfile_dsn_envid(const str *dsn, const char **envid)
{
  size_t pos = 0;

  while (pos < dsn->len) {
    size_t len = byte_chr(dsn->s + pos, dsn->len - pos, 0);
    if (len > 1 && dsn->s[pos] == 'I') {
      *envid = dsn->s + pos + 1;
      return len - 1;
    }
    pos += len + 1;
  }
  *envid = 0;
  return 0;
}

int qfile_dsn_wants_success(const str *dsn)
{
  size_t pos = 0;

  while (pos < dsn->len) {
    size_t len = byte_chr(dsn->s + pos, dsn->len - pos, 0);
    const char *f = dsn->s + pos;
    if (len > 1 && f[0] == 'D' && byte_chr(f + 1, byte_chr(f + 1, len - 1, ' '), 'S') < byte_chr(f + 1, len - 1, ' '))
      return 1;
    pos += len + 1;
  }
  return 0;
}
