/* qmtp_session.c: see qmtp_session.h. */
#include <errno.h>

#include "buf.h"
#include "file.h"
#include "lineform.h"
#include "qmtp.h"
#include "qmtp_io.h"
#include "qmtp_session.h"
#include "size.h"
#include "str.h"

int qmtp_session_head(buf *in, size_t *len, char *mode)
{
  int r = qmtp_read_len(in, (size_t)-1, len, 0);

  if (r <= 0) return r;
  if (*len == 0) {
    errno = EPROTO; /* no mode byte */
    return -1;
  }
  r = buf_read_exact(in, mode, 1);
  if (r != 1) {
    if (r == 0 || errno != ETIMEDOUT) errno = EPROTO;
    return -1;
  }
  --*len;
  return 1;
}

int qmtp_session_body(buf *in, size_t len, int msgfd, str *chunk, unsigned long *stored, int *write_failed)
{
  struct lineform conv;

  lineform_start(&conv);
  while (len > 0) {
    size_t take;
    if (buf_avail(in) == 0) {
      ssize_t r = buf_feed(in);
      if (r == 0) errno = EPROTO;
      if (r <= 0) return -1;
    }
    take = buf_avail(in);
    if (take > len) take = len;
    str_truncate(chunk, 0);
    if (msgfd >= 0 && lineform_cat(&conv, buf_peek(in), take, chunk) < 0) return -1;
    buf_seek(in, take);
    len -= take;
    if (!len && msgfd >= 0 && lineform_cat_end(&conv, chunk) < 0) return -1;
    *stored += chunk->len;
    if (chunk->len && msgfd >= 0 && !*write_failed && write_all(msgfd, chunk->s, chunk->len) < 0)
      *write_failed = 1;
  }
  return 0;
}

/* errno after a failed netstring read of the tail, as the servers have
 * always reported it: only a timeout and an over-long item are told
 * apart from a protocol violation. */
static int tail_failed(void)
{
  if (errno != ETIMEDOUT && errno != EMSGSIZE) errno = EPROTO;
  return -1;
}

int qmtp_session_tail(buf *in, size_t sender_max, str *sender, str *rcptblock)
{
  if (qmtp_read_comma(in) < 0) return -1;
  if (qmtp_read_netstring(in, sender_max, sender) != 1) return tail_failed();
  if (qmtp_read_netstring(in, QMTP_TAIL_MAX, rcptblock) != 1) return tail_failed();
  return 0;
}

int qmqp_session_head(buf *in, size_t *mlen, size_t *tlen)
{
  size_t outer, outer_prefix, mprefix, used;
  int r = qmtp_read_len(in, (size_t)-1, &outer, &outer_prefix);

  if (r <= 0) return r;
  r = qmtp_read_len(in, outer, mlen, &mprefix);
  if (r == 0) errno = EPROTO;
  if (r <= 0) return -1;
  if (size_add(&used, mprefix, *mlen) < 0 || size_add(&used, used, 1) < 0 || used > outer) {
    errno = EPROTO;
    return -1;
  }
  *tlen = outer - used;
  if (*tlen > QMTP_TAIL_MAX) {
    errno = EMSGSIZE;
    return -1;
  }
  return 1;
}

int qmqp_session_tail(buf *in, size_t tlen, str *tail, struct qmqp_tail *t, str *rcpts)
{
  if (qmtp_read_comma(in) < 0) return -1;
  if (qmtp_read_data(in, tlen, tail) < 0) {
    if (errno != ETIMEDOUT && errno != ENOMEM) errno = EPROTO;
    return -1;
  }
  return qmqp_tail_parse(tail->s, tail->len, t, rcpts);
}
