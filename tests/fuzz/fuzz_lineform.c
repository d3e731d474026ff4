/* fuzz_lineform.c: the queue's line form at both ends (sluice-queue(5),
 * "Line ends") on any byte stream.
 *
 * The first input byte picks the sizes of the buffers smtpc_data_copy
 * reads and writes through (1..16 and 1..16 bytes, so a CR lands at
 * every block edge); the rest is the message. Checked:
 *   - lineform_feed in pieces of any size gives lineform_cat's output
 *     of the whole, which is the reference: CR LF -> LF, other CR ->
 *     space; the result holds no CR;
 *   - smtpc_data_copy's output (the DATA content on the wire) has a
 *     CR before every LF and an LF after every CR, ends with the only
 *     line holding a lone ".", and with the dot-stuffing undone and
 *     CR LF read as LF equals the line form of the message plus a
 *     final LF when it lacks one, its lines over SMTPC_LINE_MAX bytes
 *     broken as smtpc.h says;
 *   - smtpc_encode_chunk's BDAT chunks (a target of 1..16 bytes, the
 *     input through the same block) join to exactly that DATA content
 *     without its stuffed dots and its final ".\r\n"; every chunk but
 *     the last reaches the target. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "lineform.h"
#include "smtpc.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

/* The message through smtpc_data_copy, both ends pipes: at most 16384
 * bytes in, so at most 32773 out, within what a pipe holds. */
static void wire_of(const char *s, size_t n, size_t inbuf, size_t outbuf, str *out)
{
  int in[2], op[2];
  char imem[16], omem[16], chunk[4096];
  buf bi, bo;
  ssize_t r;

  fuzz_check(pipe(in) == 0 && pipe(op) == 0);
  fuzz_check(write(in[1], s, n) == (ssize_t)n);
  close(in[1]);
  buf_init(&bi, in[0], imem, inbuf);
  buf_init(&bo, op[1], omem, outbuf);
  fuzz_check(smtpc_data_copy(&bo, &bi) == 0 && buf_flush(&bo) == 0);
  close(op[1]);
  close(in[0]);
  while ((r = read(op[0], chunk, sizeof chunk)) > 0) fuzz_check(str_catb(out, chunk, (size_t)r) == 0);
  close(op[0]);
}

/* The message as BDAT chunks of at least target bytes, joined into out. */
static void chunks_of(const char *s, size_t n, size_t inbuf, size_t target, str *out)
{
  int in[2], r;
  char imem[16];
  str chunk = STR_INIT;
  struct smtpc_encoder e;
  size_t calls = 0;
  buf bi;

  fuzz_check(pipe(in) == 0);
  fuzz_check(write(in[1], s, n) == (ssize_t)n);
  close(in[1]);
  buf_init(&bi, in[0], imem, inbuf);
  smtpc_encoder_init(&e, 0);
  do {
    str_truncate(&chunk, 0);
    r = smtpc_encode_chunk(&e, &bi, &chunk, target);
    fuzz_check(r == 0 || (r == 1 && chunk.len >= target));
    fuzz_check(++calls <= n + 1);
    fuzz_check(str_cat(out, &chunk) == 0);
  } while (r == 1);
  close(in[0]);
  str_free(&chunk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  str unstuffed = STR_INIT, bdat = STR_INIT;
  str whole = STR_INIT, wire = STR_INIT, back = STR_INIT, folded = STR_INIT;
  struct lineform l;
  const char *s;
  size_t n, step, i, o;
  char *mem;

  if (size < 1 || size > 16384) return 0;
  step = (size_t)(data[0] & 0x0f) + 1;
  s = (const char *)data + 1;
  n = size - 1;

  /* the converter: reference, pieces, no CR left */
  lineform_start(&l);
  fuzz_check(lineform_cat(&l, s, n, &whole) == 0 && lineform_cat_end(&l, &whole) == 0);
  for (i = 0; i < n; ++i) {
    if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') continue;
    fuzz_check(str_catc(&back, s[i] == '\r' ? ' ' : s[i]) == 0);
  }
  fuzz_check(back.len == whole.len && (!back.len || memcmp(back.s, whole.s, back.len) == 0));
  fuzz_check(!whole.len || !memchr(whole.s, '\r', whole.len));
  mem = malloc(n + 2);
  fuzz_check(mem != 0);
  lineform_start(&l);
  for (i = 0, o = 0; i < n; i += step) o += lineform_feed(&l, s + i, n - i < step ? n - i : step, mem + o);
  o += lineform_end(&l, mem + o);
  fuzz_check(o == whole.len && (!o || memcmp(mem, whole.s, o) == 0));
  free(mem);

  /* the wire */
  wire_of(s, n, step, (size_t)(data[0] >> 4) + 1, &wire);
  fuzz_check(wire.len >= 3 && memcmp(wire.s + wire.len - 3, ".\r\n", 3) == 0);
  for (i = 0; i < wire.len; ++i) {
    if (wire.s[i] == '\r') fuzz_check(i + 1 < wire.len && wire.s[i + 1] == '\n');
    if (wire.s[i] == '\n') fuzz_check(i > 0 && wire.s[i - 1] == '\r');
  }
  /* undo: lines without their CR LF, a leading dot removed */
  str_truncate(&back, 0);
  for (i = 0; i < wire.len;) {
    size_t e = i;
    while (wire.s[e] != '\r') ++e; /* a CR LF ends every line: checked above */
    if (e + 2 == wire.len) {
      fuzz_check(e - i == 1 && wire.s[i] == '.'); /* the end, and only there */
      break;
    }
    fuzz_check(!(e - i == 1 && wire.s[i] == '.'));
    if (e > i && wire.s[i] == '.') {
      fuzz_check(e - i >= 2 && wire.s[i + 1] == '.');
      ++i;
    }
    fuzz_check(str_catb(&back, wire.s + i, e - i) == 0 && str_catc(&back, '\n') == 0);
    fuzz_check(str_catb(&unstuffed, wire.s + i, e - i) == 0 && str_catb(&unstuffed, "\r\n", 2) == 0);
    i = e + 2;
  }
  /* BDAT: the same bytes without the dots, in chunks */
  chunks_of(s, n, step, (size_t)(data[0] >> 4) + 1, &bdat);
  fuzz_check(bdat.len == unstuffed.len && (!bdat.len || memcmp(bdat.s, unstuffed.s, bdat.len) == 0));
  if (whole.len && whole.s[whole.len - 1] != '\n') fuzz_check(str_catc(&whole, '\n') == 0);
  /* a line over SMTPC_LINE_MAX bytes is broken by a line end and a
   * space after SMTPC_LINE_MAX bytes, then after every SMTPC_LINE_MAX - 1
   * more (smtpc.h): the reference gets the same breaks */
  for (i = 0, o = 0; i < whole.len; ++i) {
    if (whole.s[i] == '\n') {
      o = 0;
    } else if (o >= SMTPC_LINE_MAX) {
      fuzz_check(str_catb(&folded, "\n ", 2) == 0);
      o = 1;
    }
    if (whole.s[i] != '\n') ++o;
    fuzz_check(str_catc(&folded, whole.s[i]) == 0);
  }
  fuzz_check(back.len == folded.len && (!back.len || memcmp(back.s, folded.s, back.len) == 0));

  str_free(&whole);
  str_free(&folded);
  str_free(&wire);
  str_free(&back);
  str_free(&unstuffed);
  str_free(&bdat);
  return 0;
}
