/* fuzz_spawn.c: the spawn protocol decoders (spawn.h) on arbitrary
 * bytes. The input is taken as a stream of frames with
 * spawn_frame_take; each frame's data is decoded both as a request and
 * as a result. Whatever decodes must encode again to exactly the frame
 * it came from (the encoding is canonical) and decode to the same
 * fields, DSN values included (the ENVID after the sender, NOTIFY and
 * ORCPT after a recipient), each of them one a request may carry. The
 * input is copied to a block of exactly its size so ASan catches any
 * read past the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spawn.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const str *frame)
{
  struct spawn_request a = SPAWN_REQUEST_INIT;
  struct spawn_request b = SPAWN_REQUEST_INIT;
  str enc = STR_INIT, acc = STR_INIT, again = STR_INIT;

  if (spawn_request_decode(&a, frame->s, frame->len) == 0) {
    if (a.slot >= SPAWN_SLOTS_MAX || a.nrcpts == 0 || a.nrcpts > SPAWN_RCPTS_MAX) abort();
    if (spawn_request_encode_dsn(&enc, a.slot, a.id, a.options, a.sender.s, a.sender.len, a.envid.s, a.envid.len,
                                 a.rcpts.s, a.rcpts.len, a.nrcpts, a.dsn.s, a.dsn.len) < 0)
      abort();
    if (str_copy(&acc, &enc) < 0) abort();
    if (spawn_frame_take(&acc, &again, SPAWN_FRAME_MAX) != 1 || acc.len != 0) abort();
    if (again.len != frame->len || memcmp(again.s, frame->s, frame->len) != 0) abort();
    if (spawn_request_decode(&b, again.s, again.len) != 0) abort();
    if (b.slot != a.slot || b.id != a.id || b.options != a.options || b.nrcpts != a.nrcpts) abort();
    if (b.sender.len != a.sender.len || (a.sender.len && memcmp(a.sender.s, b.sender.s, a.sender.len))) abort();
    if (b.rcpts.len != a.rcpts.len || memcmp(a.rcpts.s, b.rcpts.s, a.rcpts.len)) abort();
    if (b.envid.len != a.envid.len || (a.envid.len && memcmp(a.envid.s, b.envid.s, a.envid.len))) abort();
    if (b.dsn.len != a.dsn.len || (a.dsn.len && memcmp(a.dsn.s, b.dsn.s, a.dsn.len))) abort();
    /* the DSN values are what a request may carry */
    if (!spawn_dsn_valid('E', a.envid.s, a.envid.len)) abort();
    {
      size_t pos = 0, len, count = 0;
      const char *e;
      while (spawn_next(&a.dsn, &pos, &e, &len)) {
        if (!spawn_dsn_valid(count % 2 ? 'O' : 'N', e, len)) abort();
        ++count;
      }
      if (a.dsn.len && count != 2 * a.nrcpts) abort();
    }
  }
  spawn_request_free(&a);
  spawn_request_free(&b);
  str_free(&enc);
  str_free(&acc);
  str_free(&again);
}

static void check_result(const str *frame)
{
  struct spawn_result a = { 0, STR_INIT, 0 };
  struct spawn_result b = { 0, STR_INIT, 0 };
  str work = STR_INIT, enc = STR_INIT, acc = STR_INIT, again = STR_INIT;
  size_t pos = 0, len, count = 0;
  const char *e;

  if (spawn_result_decode(&a, frame->s, frame->len) == 0) {
    if (a.slot >= SPAWN_SLOTS_MAX || a.nresults == 0 || a.nresults > SPAWN_RCPTS_MAX) abort();
    if (spawn_result_begin(&work, a.slot) < 0) abort();
    while (spawn_next(&a.results, &pos, &e, &len)) {
      if (len == 0 || len > SPAWN_TEXT_MAX + 1) abort();
      if (spawn_result_add(&work, e[0], e + 1, len - 1) < 0) abort();
      ++count;
    }
    if (count != a.nresults) abort();
    if (spawn_result_end(&enc, &work) < 0 || str_copy(&acc, &enc) < 0) abort();
    if (spawn_frame_take(&acc, &again, SPAWN_FRAME_MAX) != 1 || acc.len != 0) abort();
    if (again.len != frame->len || memcmp(again.s, frame->s, frame->len) != 0) abort();
    if (spawn_result_decode(&b, again.s, again.len) != 0) abort();
    if (b.slot != a.slot || b.nresults != a.nresults) abort();
    if (b.results.len != a.results.len || memcmp(a.results.s, b.results.s, a.results.len)) abort();
  }
  spawn_result_free(&a);
  spawn_result_free(&b);
  str_free(&work);
  str_free(&enc);
  str_free(&acc);
  str_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  str acc = STR_INIT, frame = STR_INIT;
  int r;

  /* the whole input as one frame's data, as a decoder would get it */
  if (str_copyb(&frame, (const char *)data, size) < 0) return 0;
  check_request(&frame);
  check_result(&frame);
  /* and as a stream of frames: take them while they come */
  if (str_copyb(&acc, (const char *)data, size) < 0) { str_free(&frame); return 0; }
  for (;;) {
    size_t before = acc.len;
    r = spawn_frame_take(&acc, &frame, SPAWN_FRAME_MAX);
    if (r != 1) break;
    if (acc.len >= before) abort();
    check_request(&frame);
    check_result(&frame);
  }
  if (r != 0 && r != -1) abort();
  str_free(&acc);
  str_free(&frame);
  return 0;
}
