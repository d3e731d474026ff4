/* qfile.c: parsers of the queue files sluice-send owns (qfile.h). */
#include <errno.h>

#include "byte.h"
#include "fmt.h"
#include "qfile.h"
#include "scan.h"

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
  while (pos < env->len) {
    size_t len = byte_chr(env->s + pos, env->len - pos, 0);
    const char *f = env->s + pos;
    if (pos + len >= env->len || len == 0) break;
    switch (f[0]) {
      case 'u': if (scan_ulong_exact(f + 1, len - 1, &in->uid) < 0) return bad(); seen |= 1; break;
      case 'p': if (scan_ulong_exact(f + 1, len - 1, &in->pid) < 0) return bad(); seen |= 2; break;
      case 's': if ((seen & 4) || stamp_field(f, len, in) < 0) return bad(); break;
      case 'O': if ((seen & 4) || options_field(f, len, in, &opts) < 0) return bad(); break;
      case 'F': if (str_copyb(&in->sender, f + 1, len - 1) < 0) return -1; seen |= 4; break;
      case 'T':
        if (!(seen & 4) || len < 2) return bad();
        if (!rcpt) return seen == 7 ? 0 : bad();
        if (rcpt(ctx, f + 1, len - 1) < 0) return -1;
        break;
      default: return bad();
    }
    pos += len + 1;
  }
  return seen == 7 ? 0 : bad();
}
