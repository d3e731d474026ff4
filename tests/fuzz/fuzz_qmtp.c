/* fuzz_qmtp.c: the QMTP/QMQP parsers on arbitrary bytes (qmtp.h).
 *
 * The input is copied to a block of exactly its size so ASan catches a
 * read past its end. The first byte picks a bound. Checked:
 *   - the length parser fed byte by byte agrees with netstring_parse on
 *     every complete prefix, and never accepts a length over the bound;
 *   - the line form converter (lineform.h) gives the same output
 *     whatever the piece size, drops exactly the CRs that come just
 *     before an LF and turns every other CR into a space;
 *   - qmqp_request_parse and qmqp_tail_parse either fail leaving the
 *     recipient str as it was, or give ranges inside the input and one
 *     envelope record per recipient;
 *   - qmqp_server_parse and qmtp_addr_check never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lineform.h"
#include "netstring.h"
#include "qmtp.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_len(const char *s, size_t n, size_t max)
{
  struct qmtp_len l;
  size_t i, off, len, used;
  int r = 0, nr;

  qmtp_len_start(&l);
  for (i = 0; i < n; ++i) {
    r = qmtp_len_feed(&l, s[i], max);
    if (r != 0) break;
  }
  if (r == 1) {
    if (l.len > max || l.bytes != i + 1) abort();
    /* netstring_parse must see the same prefix */
    nr = netstring_parse(s, n, max, &off, &len, &used);
    if (nr == 1 && (len != l.len || off != l.bytes)) abort();
    if (nr < 0 && l.len + l.bytes < n && s[l.bytes + l.len] == ',') abort();
  } else if (r != 0 && r != -1) {
    abort();
  }
}

static void convert(const char *s, size_t n, size_t step, str *out)
{
  struct lineform c;
  size_t i;

  lineform_start(&c);
  for (i = 0; i < n; i += step)
    if (lineform_cat(&c, s + i, n - i < step ? n - i : step, out) < 0) abort();
  if (lineform_cat_end(&c, out) < 0) abort();
}

static void check_crlf(const char *s, size_t n, size_t step)
{
  str a = STR_INIT, b = STR_INIT;
  size_t i;

  convert(s, n, n ? n : 1, &a);
  convert(s, n, step, &b);
  if (a.len != b.len || (a.len && memcmp(a.s, b.s, a.len) != 0)) abort();
  /* the reference: every CR just before an LF is dropped, every other
   * CR becomes a space */
  str_truncate(&b, 0);
  for (i = 0; i < n; ++i) {
    if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') continue;
    if (str_catc(&b, s[i] == '\r' ? ' ' : s[i]) < 0) abort();
  }
  if (a.len != b.len || (a.len && memcmp(a.s, b.s, a.len) != 0)) abort();
  str_free(&a);
  str_free(&b);
}

static void check_qmqp(const char *s, size_t n)
{
  str rcpts = STR_INIT;
  struct qmqp_tail t;
  size_t off, len, i, records = 0;

  if (str_copys(&rcpts, "x") < 0) return;
  if (qmqp_request_parse(s, n, &off, &len, &t, &rcpts) == 0) {
    if (off > n || len > n - off) abort();
    if (t.sender < s || t.sender_len > n || t.sender > s + n - t.sender_len) abort();
    if (t.nrcpt == 0 || t.nrcpt > QMTP_RCPT_MAX) abort();
    for (i = 1; i < rcpts.len; ++i) records += rcpts.s[i] == 0;
    if (t.addr_error == 0 && records != t.nrcpt) abort();
    if (rcpts.s[1] != 'T' || rcpts.s[rcpts.len - 1] != 0) abort();
  } else if (rcpts.len != 1) {
    abort();
  }
  str_truncate(&rcpts, 0);
  if (qmqp_tail_parse(s, n, &t, &rcpts) == 0) {
    if (rcpts.len == 0 || t.nrcpt == 0) abort();
  } else if (rcpts.len != 0) {
    abort();
  }
  str_free(&rcpts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s;
  struct qmqp_server sv;
  size_t max, step;

  if (size == 0) return 0;
  s = malloc(size);
  if (!s) return 0;
  memcpy(s, data, size);
  max = (s[0] & 1) ? (size_t)(unsigned char)s[0] * 4 : (size_t)-1;
  step = (size_t)((unsigned char)s[0] % 7) + 1;
  check_len(s + 1, size - 1, max);
  check_crlf(s + 1, size - 1, step);
  check_qmqp(s + 1, size - 1);
  (void)qmqp_server_parse(s + 1, size - 1, &sv);
  (void)qmtp_addr_check(s + 1, size - 1);
  free(s);
  return 0;
}
