/* qmtp.c: see qmtp.h. */
#include <errno.h>

#include "addr.h"
#include "byte.h"
#include "ip.h"
#include "netstring.h"
#include "qmtp.h"
#include "queue.h"
#include "scan.h"
#include "size.h"
#include "smtpd_text.h"
#include "str.h"

/* A netstring of a list (sender, recipient) is never longer than this:
 * an address that can be queued is at most 1003 bytes. */
#define ITEM_MAX 4096

void qmtp_len_start(struct qmtp_len *l)
{
  l->state = 0;
  l->len = 0;
  l->bytes = 0;
}

int qmtp_len_feed(struct qmtp_len *l, char c, size_t max)
{
  if (l->state == 3) { errno = EPROTO; return -1; }
  if (c == ':') {
    if (l->state == 0) { errno = EPROTO; return -1; }
    l->state = 3;
    ++l->bytes;
    return 1;
  }
  if (c < '0' || c > '9' || l->state == 2) { errno = EPROTO; return -1; }
  if (l->state == 0 && c == '0') {
    l->state = 2; /* "0" is the only length that starts with a zero */
  } else {
    if (size_mul(&l->len, l->len, 10) < 0 || size_add(&l->len, l->len, (size_t)(c - '0')) < 0) {
      errno = EMSGSIZE;
      return -1;
    }
    if (l->len > max) { errno = EMSGSIZE; return -1; }
    l->state = 1;
  }
  ++l->bytes;
  return 0;
}

int qmtp_list_next(const char *s, size_t n, size_t *pos, size_t max, const char **data, size_t *len)
{
  size_t off, dlen, used;
  int r;

  if (*pos >= n) return 0;
  r = netstring_parse(s + *pos, n - *pos, max, &off, &dlen, &used);
  if (r == 0) { errno = EPROTO; return -1; } /* cut off by the block's end */
  if (r < 0) return -1;
  *data = s + *pos + off;
  *len = dlen;
  *pos += used;
  return 1;
}

int qmtp_addr_check(const char *s, size_t n)
{
  size_t i;

  if (n > QUEUE_ADDR_MAX) return QMTP_ADDR_LONG;
  for (i = 0; i < n; ++i)
    if (s[i] == 0 || s[i] == '\r' || s[i] == '\n') return QMTP_ADDR_BAD;
  return QMTP_ADDR_OK;
}

int qmtp_addr_parse(const char *s, size_t n, int policy, str *out)
{
  return addr_parse_bare(s, n, policy | ADDR_LENIENT | ADDR_UTF8 | ADDR_LONG, out);
}

/* Keeps the worse of two results (SYNTAX beats BAD beats LONG). */
static int worse(int a, int b)
{
  return a < b ? a : b;
}

/* qmtp_addr_check, then the parser: the canonical address in *out. */
static int tail_addr(const char *s, size_t n, int policy, str *out)
{
  int r = qmtp_addr_check(s, n);

  if (r != QMTP_ADDR_OK) return r;
  r = qmtp_addr_parse(s, n, policy, out);
  if (r == ADDR_ENOMEM) return -100;
  if (r == ADDR_EPATHLONG) return QMTP_ADDR_LONG;
  return r == ADDR_OK ? QMTP_ADDR_OK : QMTP_ADDR_SYNTAX;
}

int qmqp_tail_parse(const char *s, size_t n, struct qmqp_tail *t, str *rcpts)
{
  size_t pos = 0, len, before = rcpts->len;
  str addr = STR_INIT;
  const char *d;
  int r, a;

  t->sender = 0;
  t->sender_len = 0;
  t->nrcpt = 0;
  t->addr_error = 0;
  r = qmtp_list_next(s, n, &pos, ITEM_MAX, &d, &len);
  if (r == 0) errno = EPROTO;
  if (r <= 0) return -1;
  t->sender = d;
  t->sender_len = len;
  a = tail_addr(d, len, QMQP_SENDER, &addr);
  if (a == -100) { errno = ENOMEM; r = -1; }
  else t->addr_error = a;
  while (r >= 0 && (r = qmtp_list_next(s, n, &pos, ITEM_MAX, &d, &len)) == 1) {
    if (t->nrcpt >= QMTP_RCPT_MAX) { r = -1; errno = EPROTO; break; }
    a = tail_addr(d, len, QMQP_RCPT, &addr);
    if (a == -100) { r = -1; errno = ENOMEM; break; }
    t->addr_error = worse(t->addr_error, a);
    /* the canonical form; a refused address as it came (never queued) */
    if (a == QMTP_ADDR_OK) { d = addr.s; len = addr.len; }
    if (str_catc(rcpts, 'T') < 0 || str_catb(rcpts, d, len) < 0 || str_catc(rcpts, 0) < 0) { r = -1; break; }
    ++t->nrcpt;
  }
  str_free(&addr);
  if (r == 0 && t->nrcpt == 0) { r = -1; errno = EPROTO; }
  if (r < 0) {
    str_truncate(rcpts, before);
    return -1;
  }
  return 0;
}

int qmqp_request_parse(const char *s, size_t n, size_t *msg_off, size_t *msg_len, struct qmqp_tail *t, str *rcpts)
{
  size_t pos = 0, len;
  const char *d;
  int r;

  r = qmtp_list_next(s, n, &pos, (size_t)-1, &d, &len);
  if (r == 0) errno = EPROTO;
  if (r <= 0) return -1;
  if (qmqp_tail_parse(s + pos, n - pos, t, rcpts) < 0) return -1;
  *msg_off = (size_t)(d - s);
  *msg_len = len;
  return 0;
}

int qmtp_qq_reply(str *out, int wait_status, const char *id)
{
  str smtp = STR_INIT;
  size_t sp;
  char kind;
  int r = -1;

  /* one table of injector exit codes for every server: sluice-smtpd's */
  if (smtpd_qq_reply(&smtp, wait_status, id) < 0 || smtp.len < 1) goto done;
  kind = smtp.s[0] == '2' ? 'K' : smtp.s[0] == '5' ? 'D' : 'Z';
  sp = byte_chr(smtp.s, smtp.len, ' ');
  sp = sp < smtp.len ? sp + 1 : smtp.len;
  if (str_copyb(out, &kind, 1) < 0 || str_catb(out, smtp.s + sp, smtp.len - sp) < 0) goto done;
  r = 0;
done:
  str_free(&smtp);
  return r;
}

int qmqp_server_parse(const char *s, size_t n, struct qmqp_server *out)
{
  struct qmqp_server sv;
  size_t i, used;
  unsigned long port;

  sv.port = QMQP_PORT;
  sv.is6 = 0;
  if (n && s[0] == '[') {
    i = byte_chr(s, n, ']');
    if (i == n || i < 2) goto bad;
    if (ip6_scan(s + 1, i - 1, sv.ip) != i - 1) goto bad;
    sv.is6 = 1;
    used = i + 1;
  } else if ((used = ip4_scan(s, n, sv.ip)) > 0 && (used == n || s[used] == ':')) {
    sv.is6 = 0;
  } else if ((used = ip6_scan(s, n, sv.ip)) == n && n) {
    sv.is6 = 1;
  } else {
    goto bad;
  }
  if (used < n) {
    if (s[used] != ':') goto bad;
    ++used;
    if (scan_ulong_exact(s + used, n - used, &port) < 0 || port == 0 || port > 65535) goto bad;
    sv.port = port;
  }
  *out = sv;
  return 0;
bad:
  errno = EINVAL;
  return -1;
}
