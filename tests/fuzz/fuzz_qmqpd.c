/* fuzz_qmqpd.c: a QMQP server session as sluice-qmqpd reads it
 * (qmtp_session.h, qmtp.h), on bytes from a memory file read through a
 * buf whose block size the first input byte picks (1 to 256 bytes).
 * As sluice-qmqpd does: the head, the decision to take or discard the
 * text (a size limit from the first byte), the text streamed, the tail
 * parsed into the envelope, the reply netstring to /dev/null. A
 * request follows another while the input lasts (sluice-qmqpd stops
 * after one; reading on covers more framing per input).
 *
 * Checked: a failure is a protocol error (EPROTO or EMSGSIZE, which
 * qmtp_read_error calls permanent) or, for a tail length that cannot
 * be allocated, ENOMEM; the text stored is the message's bytes less
 * the CR of each CR LF (lineform.h); a request consumes exactly its outer netstring; the parsed
 * sender lies in the tail and the envelope holds one record per
 * recipient (more NULs only when an address holds one, and is then
 * refused). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "netstring.h"
#include "qmtp.h"
#include "qmtp_io.h"
#include "qmtp_session.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

static int memfile = -1, devnull = -1;

static size_t consumed(const buf *in)
{
  off_t o = lseek(in->fd, 0, SEEK_CUR);
  fuzz_check(o >= 0 && (size_t)o >= buf_avail(in));
  return (size_t)o - buf_avail(in);
}

static void failed(void)
{
  int perm = 0;
  fuzz_check(errno == EPROTO || errno == EMSGSIZE);
  (void)qmtp_read_error(errno, &perm);
  fuzz_check(perm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static str chunk, tail, rcpts, env, out;
  char mem[256], outmem[64];
  const char *s = (const char *)data + 1;
  buf in, o;
  size_t n, requests = 0, limit;

  if (size == 0) return 0;
  if (memfile < 0) {
    memfile = memfd_create("fuzz_qmqpd", MFD_CLOEXEC);
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    fuzz_check(memfile >= 0 && devnull >= 0);
  }
  n = size - 1;
  fuzz_check(ftruncate(memfile, 0) == 0 && pwrite(memfile, s, n, 0) == (ssize_t)n);
  fuzz_check(lseek(memfile, 0, SEEK_SET) == 0);
  buf_init(&in, memfile, mem, (size_t)data[0] + 1);
  buf_init(&o, devnull, outmem, sizeof outmem);
  limit = (data[0] & 0x80) ? (size_t)(data[0] & 0x7f) * 16 : 0;

  for (;;) {
    struct qmqp_tail t;
    size_t mlen, tlen, begin = consumed(&in), start, i, records = 0;
    unsigned long stored = 0;
    const char *reply = "Kok";
    int r, write_failed = 0, msgfd;

    fuzz_check(++requests <= n + 1);
    r = qmqp_session_head(&in, &mlen, &tlen);
    if (r == 0) {
      fuzz_check(begin == n);
      break;
    }
    if (r < 0) { failed(); break; }
    start = consumed(&in);
    fuzz_check(tlen <= QMTP_TAIL_MAX && start >= begin + 4);
    msgfd = (limit && mlen > limit) ? -1 : devnull;
    if (msgfd < 0) reply = "Dmessage size exceeds fixed maximum message size";
    if (qmtp_session_body(&in, mlen, msgfd, &chunk, &stored, &write_failed) < 0) {
      failed();
      fuzz_check(start + mlen > n);
      break;
    }
    fuzz_check(!write_failed && consumed(&in) == start + mlen);
    { /* the queue's line form: each CR LF loses its CR, a bare CR becomes a space */
      size_t i, expect = 0;
      if (msgfd >= 0)
        for (i = 0; i < mlen; ++i) expect += !(s[start + i] == '\r' && i + 1 < mlen && s[start + i + 1] == '\n');
      fuzz_check(stored == expect);
    }
    str_truncate(&rcpts, 0);
    if (qmqp_session_tail(&in, tlen, &tail, &t, &rcpts) < 0) {
      if (errno != ENOMEM) failed();
      break;
    }
    /* the whole outer netstring and nothing more */
    fuzz_check(consumed(&in) == start + mlen + 1 + tlen + 1);
    fuzz_check(tail.len == tlen && t.sender >= tail.s && t.sender + t.sender_len <= tail.s + tail.len);
    fuzz_check(t.nrcpt >= 1 && t.nrcpt <= QMTP_RCPT_MAX);
    for (i = 0; i < rcpts.len; ++i) records += rcpts.s[i] == 0;
    fuzz_check(rcpts.s[0] == 'T' && rcpts.s[rcpts.len - 1] == 0);
    fuzz_check(t.addr_error ? records >= t.nrcpt : records == t.nrcpt);
    if (t.addr_error == QMTP_ADDR_LONG) reply = "Daddress too long";
    else if (t.addr_error) reply = "Daddress unusable";
    if (reply[0] == 'K') {
      str_truncate(&env, 0);
      fuzz_check(str_copys(&env, "F") == 0 && str_catb(&env, t.sender, t.sender_len) == 0
                 && str_catc(&env, 0) == 0 && str_cat(&env, &rcpts) == 0 && str_catc(&env, 0) == 0);
    }
    str_truncate(&out, 0);
    fuzz_check(netstring_cat(&out, reply, strlen(reply)) == 0);
    fuzz_check(buf_putflush(&o, out.s, out.len) == 0);
  }
  return 0;
}
