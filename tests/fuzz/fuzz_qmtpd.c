/* fuzz_qmtpd.c: a whole QMTP server session as sluice-qmtpd reads it
 * (qmtp_session.h, qmtp.h), on bytes from a memory file read through a
 * buf whose block size the first input byte picks (1 to 256 bytes), so
 * every netstring crosses block boundaries in many ways.
 *
 * Per message, as one_message does: the head, the decision to take or
 * discard the text (mode byte, a size limit from the first byte), the
 * text streamed with CRLF conversion, the tail, then the recipients
 * split by qmtp_list_next and checked by qmtp_addr_check into an
 * envelope, and one reply netstring each, written to /dev/null.
 *
 * Checked: a failure is a protocol error (EPROTO or EMSGSIZE: the
 * input is a regular file, so no timeout), which qmtp_read_error calls
 * permanent; the bytes stored for a message are its text less each CR
 * just before an LF, whatever the mode (the queue's line form); the head
 * and tail consume exactly the framing around the text; sender and
 * recipients stay within their bounds. */
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

/* Bytes of the memory file consumed through in so far. */
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
  static str chunk, sender, rcptblock, env, reply, out;
  char mem[256], outmem[64];
  const char *s = (const char *)data + 1;
  buf in, o;
  size_t n, messages = 0, limit;

  if (size == 0) return 0;
  if (memfile < 0) {
    memfile = memfd_create("fuzz_qmtpd", MFD_CLOEXEC);
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    fuzz_check(memfile >= 0 && devnull >= 0);
  }
  n = size - 1;
  fuzz_check(ftruncate(memfile, 0) == 0 && pwrite(memfile, s, n, 0) == (ssize_t)n);
  fuzz_check(lseek(memfile, 0, SEEK_SET) == 0);
  buf_init(&in, memfile, mem, (size_t)data[0] + 1);
  buf_init(&o, devnull, outmem, sizeof outmem);
  limit = (data[0] & 0x80) ? (size_t)(data[0] & 0x7f) * 16 : 0; /* databytes */

  for (;;) {
    size_t len, start, pos, a_len, ndecisions = 0, naccept = 0;
    unsigned long stored = 0, expect = 0;
    const char *a, *bad = 0;
    char mode = 0;
    int r, write_failed = 0, msgfd;

    fuzz_check(++messages <= n + 1);
    r = qmtp_session_head(&in, &len, &mode);
    if (r == 0) {
      fuzz_check(consumed(&in) == n);
      break;
    }
    if (r < 0) { failed(); break; }
    start = consumed(&in);
    fuzz_check(start <= n && start >= 3);
    if (mode != '\n' && mode != '\r') bad = "Dunknown message format";
    else if (limit && len > limit) bad = "Dmessage size exceeds fixed maximum message size";
    msgfd = bad ? -1 : devnull;
    if (qmtp_session_body(&in, len, msgfd, &chunk, &stored, &write_failed) < 0) {
      failed();
      fuzz_check(start + len > n); /* only a cut text fails */
      break;
    }
    fuzz_check(!write_failed && consumed(&in) == start + len);
    if (msgfd >= 0) {
      size_t i;
      for (i = 0; i < len; ++i)
        expect += !(s[start + i] == '\r' && i + 1 < len && s[start + i + 1] == '\n'); /* lineform.h */
    }
    fuzz_check(stored == expect);
    if (qmtp_session_tail(&in, 4096, &sender, &rcptblock) < 0) { failed(); break; }
    fuzz_check(sender.len <= 4096 && rcptblock.len <= QMTP_TAIL_MAX);
    fuzz_check(consumed(&in) >= start + len + 1 + 3 + 3 + sender.len + rcptblock.len);

    str_truncate(&env, 0);
    fuzz_check(str_copys(&env, "F") == 0 && str_cat(&env, &sender) == 0 && str_catc(&env, 0) == 0);
    if (!bad && qmtp_addr_check(sender.s, sender.len) != QMTP_ADDR_OK) bad = "Dsender address unusable";
    pos = 0;
    while ((r = qmtp_list_next(rcptblock.s, rcptblock.len, &pos, 4096, &a, &a_len)) == 1) {
      fuzz_check(a >= rcptblock.s && a_len <= 4096 && a + a_len <= rcptblock.s + rcptblock.len);
      ++ndecisions;
      if (ndecisions > QMTP_RCPT_MAX || bad) continue;
      if (qmtp_addr_check(a, a_len) != QMTP_ADDR_OK) continue;
      fuzz_check(memchr(a, 0, a_len) == 0 && memchr(a, '\n', a_len) == 0);
      fuzz_check(str_catc(&env, 'T') == 0 && str_catb(&env, a, a_len) == 0 && str_catc(&env, 0) == 0);
      ++naccept;
    }
    if (r < 0) { failed(); break; }
    fuzz_check(pos == rcptblock.len);
    /* the replies, one per recipient */
    str_truncate(&reply, 0);
    fuzz_check(str_copys(&reply, bad ? bad : naccept ? "Kok" : "Dno valid recipients") == 0);
    while (ndecisions--) {
      str_truncate(&out, 0);
      fuzz_check(netstring_cat(&out, reply.s, reply.len) == 0);
      fuzz_check(buf_put(&o, out.s, out.len) == 0);
    }
    fuzz_check(buf_flush(&o) == 0);
  }
  return 0;
}
