/* test_qmtp_session.c: the framing of QMTP and QMQP server sessions
 * (qmtp_session.h), read through a pipe with a tiny buf block so every
 * netstring crosses block boundaries. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "qmtp.h"
#include "qmtp_session.h"
#include "str.h"

static char mem[3];

static void feed(buf *b, const char *s, size_t n)
{
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], s, n) == (ssize_t)n);
  close(p[1]);
  buf_init(b, p[0], mem, sizeof mem);
}
#define FEED(b, lit) feed(b, lit, sizeof lit - 1)

/* The text of the message read from b as qmtpd stores it. */
static int body(buf *b, size_t len, int crlf, str *got, unsigned long *stored)
{
  int p[2], r, wf = 0;
  str chunk = STR_INIT;
  char tmp[256];
  ssize_t n;
  CHECK(pipe(p) == 0);
  *stored = 0;
  (void)crlf; /* every text is converted (lineform.h) */
  r = qmtp_session_body(b, len, p[1], &chunk, stored, &wf);
  close(p[1]);
  str_truncate(got, 0);
  while ((n = read(p[0], tmp, sizeof tmp)) > 0) CHECK(str_catb(got, tmp, (size_t)n) == 0);
  close(p[0]);
  str_free(&chunk);
  CHECK(wf == 0);
  return r;
}

static void test_qmtp(void)
{
  buf b;
  size_t len;
  char mode = 0;
  unsigned long stored;
  str got = STR_INIT, sender = STR_INIT, rcpts = STR_INIT;

  FEED(&b, "8:\ra\r\nb\r\r\n,3:s@x,6:3:a@b,,7:\na\nb\r\nc,1:x,0:,");
  CHECK(qmtp_session_head(&b, &len, &mode) == 1 && mode == '\r' && len == 7);
  CHECK(body(&b, len, 1, &got, &stored) == 0);
  CHECK_BYTES(got.s, got.len, "a\nb \n"); /* the queue's line form: CR CR LF is space LF */
  CHECK(stored == 5);
  CHECK(qmtp_session_tail(&b, 100, &sender, &rcpts) == 0);
  CHECK_BYTES(sender.s, sender.len, "s@x");
  CHECK_BYTES(rcpts.s, rcpts.len, "3:a@b,");
  CHECK(qmtp_session_head(&b, &len, &mode) == 1 && mode == '\n' && len == 6);
  CHECK(body(&b, len, 0, &got, &stored) == 0); /* LF mode: converted all the same */
  CHECK_BYTES(got.s, got.len, "a\nb\nc");
  CHECK(qmtp_session_tail(&b, 100, &sender, &rcpts) == 0 && rcpts.len == 0);
  CHECK(qmtp_session_head(&b, &len, &mode) == 0); /* clean end */
  close(b.fd);

  FEED(&b, "0:,");
  errno = 0;
  CHECK(qmtp_session_head(&b, &len, &mode) == -1 && errno == EPROTO); /* no mode byte */
  close(b.fd);
  FEED(&b, "5:");
  CHECK(qmtp_session_head(&b, &len, &mode) == -1 && errno == EPROTO);
  close(b.fd);
  FEED(&b, "5:\nab");
  CHECK(qmtp_session_head(&b, &len, &mode) == 1 && len == 4);
  CHECK(body(&b, len, 0, &got, &stored) == -1 && errno == EPROTO); /* cut text */
  close(b.fd);
  FEED(&b, "2:\nab");
  CHECK(qmtp_session_head(&b, &len, &mode) == 1);
  stored = 0;
  CHECK(qmtp_session_body(&b, len, -1, &got, &stored, &(int){ 0 }) == 0 && stored == 0); /* discarded */
  CHECK(qmtp_session_tail(&b, 100, &sender, &rcpts) == -1 && errno == EPROTO); /* no comma */
  close(b.fd);
  FEED(&b, ",5:abcde,0:,");
  CHECK(qmtp_session_tail(&b, 4, &sender, &rcpts) == -1 && errno == EMSGSIZE); /* long sender */
  close(b.fd);
  FEED(&b, ",1:a,4:0:,");
  CHECK(qmtp_session_tail(&b, 4, &sender, &rcpts) == -1 && errno == EPROTO); /* cut block */
  close(b.fd);
  str_free(&got);
  str_free(&sender);
  str_free(&rcpts);
}

static void test_qmqp(void)
{
  buf b;
  size_t mlen, tlen;
  unsigned long stored;
  struct qmqp_tail t;
  str got = STR_INIT, tail = STR_INIT, rcpts = STR_INIT;

  FEED(&b, "18:3:a\nb,3:s@x,3:r@y,,");
  CHECK(qmqp_session_head(&b, &mlen, &tlen) == 1 && mlen == 3 && tlen == 12);
  CHECK(body(&b, mlen, 0, &got, &stored) == 0);
  CHECK_BYTES(got.s, got.len, "a\nb");
  CHECK(qmqp_session_tail(&b, tlen, &tail, &t, &rcpts) == 0);
  CHECK(t.nrcpt == 1 && t.sender_len == 3 && memcmp(t.sender, "s@x", 3) == 0);
  CHECK(rcpts.len == 5 && memcmp(rcpts.s, "Tr@y", 5) == 0);
  close(b.fd);

  FEED(&b, "");
  CHECK(qmqp_session_head(&b, &mlen, &tlen) == 0);
  close(b.fd);
  FEED(&b, "4:");
  CHECK(qmqp_session_head(&b, &mlen, &tlen) == -1 && errno == EPROTO); /* no message */
  close(b.fd);
  FEED(&b, "5:3:abc,");
  CHECK(qmqp_session_head(&b, &mlen, &tlen) == -1 && errno == EPROTO); /* message outgrows it */
  close(b.fd);
  FEED(&b, "9:10:");
  CHECK(qmqp_session_head(&b, &mlen, &tlen) == -1 && errno == EMSGSIZE); /* longer than the outer */
  close(b.fd);
  FEED(&b, "99999999:1:");
  CHECK(qmqp_session_head(&b, &mlen, &tlen) == -1 && errno == EMSGSIZE); /* tail over QMTP_TAIL_MAX */
  close(b.fd);
  FEED(&b, "10:1:a,3:s@x,;");
  CHECK(qmqp_session_head(&b, &mlen, &tlen) == 1 && tlen == 6);
  CHECK(body(&b, mlen, 0, &got, &stored) == 0);
  CHECK(qmqp_session_tail(&b, tlen, &tail, &t, &rcpts) == -1 && errno == EPROTO); /* bad outer comma */
  close(b.fd);
  FEED(&b, "10:1:a,3:s@x,,");
  CHECK(qmqp_session_head(&b, &mlen, &tlen) == 1);
  CHECK(body(&b, mlen, 0, &got, &stored) == 0);
  CHECK(qmqp_session_tail(&b, tlen, &tail, &t, &rcpts) == -1 && errno == EPROTO); /* no recipient */
  close(b.fd);
  str_free(&got);
  str_free(&tail);
  str_free(&rcpts);
}

int main(void)
{
  test_qmtp();
  test_qmqp();
  return check_done();
}
