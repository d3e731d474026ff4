/* fuzz_smtpc.c: the SMTP reply parser of sluice-remote (smtpc.h) on
 * whatever a server may send.
 *
 * The first input byte picks the size of a small buf block (1..64);
 * the rest (at most INPUT_MAX bytes, so one write fills a pipe without
 * blocking) is written in full to a pipe whose write end is then
 * closed, and replies are read from it with smtpc_reply_read until it
 * fails. The same is done with an 8192-byte block: the replies must not
 * depend on how the bytes arrive. Checked for every reply:
 *   - the code is 0 or 200..599, and the text starts with it;
 *   - the text is printable ASCII and capped at SMTPC_TEXT_KEEP; at
 *     most SMTPC_LINES_KEEP lines are kept, each capped (a NUL inside
 *     a line is kept as it came, so a line may look like several to
 *     the EHLO parser: only the bytes are bounded here);
 *   - end of input ends in -1 with ECONNRESET;
 *   - smtpc_ehlo_parse on it never crashes and gives a SIZE limit only
 *     with SIZE offered;
 *   - smtpc_enhanced on each kept line (and on the raw input) gives a
 *     length inside the line, of a well-formed code of the asked class
 *     followed by a space or the end. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "smtpc.h"
#include "str.h"

#define INPUT_MAX 60000
#define REPLIES_MAX 100000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

static int is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static void check_enhanced(const char *s, size_t n)
{
  int cls;

  for (cls = 0; cls <= 5; ++cls) {
    size_t e = smtpc_enhanced(s, n, cls);
    if (e == 0) continue;
    fuzz_check(e >= 5 && e <= n);
    fuzz_check(s[0] == '2' || s[0] == '4' || s[0] == '5');
    fuzz_check(cls == 0 || s[0] - '0' == cls);
    fuzz_check(s[1] == '.' && is_digit(s[2]) && is_digit(s[e - 1]));
    fuzz_check(e == n || s[e] == ' ');
  }
}

static void check_reply(const struct smtpc_reply *r)
{
  struct smtpc_ext ext;
  size_t i, pos = 0;

  fuzz_check(r->code == 0 || (r->code >= 200 && r->code <= 599));
  fuzz_check(r->text.len <= SMTPC_TEXT_KEEP);
  for (i = 0; i < r->text.len; ++i) fuzz_check(r->text.s[i] >= 0x20 && r->text.s[i] <= 0x7e);
  if (r->code) {
    fuzz_check(r->text.len >= 3);
    fuzz_check((r->text.s[0] - '0') * 100 + (r->text.s[1] - '0') * 10 + (r->text.s[2] - '0') == r->code);
  }
  fuzz_check(r->lines.len == 0 || r->lines.s[r->lines.len - 1] == 0);
  while (pos < r->lines.len) {
    const char *s = r->lines.s + pos;
    size_t n = 0;
    while (s[n]) ++n;
    fuzz_check(n + 4 <= SMTPC_LINE_KEEP);
    check_enhanced(s, n);
    pos += n + 1;
  }
  fuzz_check(r->lines.len <= (size_t)SMTPC_LINES_KEEP * (SMTPC_LINE_KEEP - 3));
  smtpc_ehlo_parse(r, &ext);
  fuzz_check(ext.size || ext.size_max == 0);
  fuzz_check(ext.pipelining == 0 || ext.pipelining == 1);
  fuzz_check(ext.eightbitmime == 0 || ext.eightbitmime == 1);
}

/* Appends to log every reply read from s[0..n) through a block of
 * blocksize bytes: its return value, code, text and lines. */
static void read_all(const char *s, size_t n, size_t blocksize, str *log)
{
  struct smtpc_reply r = SMTPC_REPLY_INIT;
  char *mem;
  buf in;
  int p[2], rc;
  size_t k;

  mem = malloc(blocksize);
  fuzz_check(mem != 0);
  fuzz_check(pipe(p) == 0);
  fuzz_check(n == 0 || write(p[1], s, n) == (ssize_t)n);
  close(p[1]);
  buf_init(&in, p[0], mem, blocksize);
  for (k = 0; k < REPLIES_MAX; ++k) {
    rc = smtpc_reply_read(&in, &r);
    if (rc < 0) {
      fuzz_check(errno == ECONNRESET);
      fuzz_check(str_cats(log, "EOF") == 0);
      break;
    }
    fuzz_check(rc == 0);
    check_reply(&r);
    fuzz_check(str_catulong(log, (unsigned long)r.code) == 0 && str_catc(log, '|') == 0);
    fuzz_check(str_cat(log, &r.text) == 0 && str_catc(log, '|') == 0);
    fuzz_check(str_cat(log, &r.lines) == 0 && str_catc(log, '\n') == 0);
  }
  fuzz_check(k < REPLIES_MAX);
  close(p[0]);
  smtpc_reply_free(&r);
  free(mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  str small = STR_INIT, large = STR_INIT;
  char *s;
  size_t n, blocksize;

  if (size == 0) return 0;
  n = size - 1 > INPUT_MAX ? INPUT_MAX : size - 1;
  blocksize = (size_t)(data[0] % 64) + 1;
  s = malloc(n ? n : 1);
  fuzz_check(s != 0);
  memcpy(s, data + 1, n);
  check_enhanced(s, n);
  read_all(s, n, blocksize, &small);
  read_all(s, n, 8192, &large);
  fuzz_check(small.len == large.len && (small.len == 0 || memcmp(small.s, large.s, small.len) == 0));
  str_free(&small);
  str_free(&large);
  free(s);
  return 0;
}
