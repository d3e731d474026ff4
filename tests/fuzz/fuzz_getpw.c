/* fuzz_getpw.c: the decoders of sluice-lspawn's lookup protocol
 * (getpw_proto.h) on arbitrary bytes: the answers come from the
 * helper, a process of another uid, and are read by root. The input is
 * taken as a stream of frames with spawn_frame_take; each frame's data
 * is decoded as a request and as an answer to either kind. Whatever
 * decodes must encode again to exactly the frame it came from (the
 * encoding is canonical) and keep within the limits the decoders
 * promise. The input is copied to a block of exactly its size so ASan
 * catches any read past the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "getpw_proto.h"
#include "spawn.h"
#include "str.h"
#include "users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* enc must hold exactly the frame whose data is frame */
static void same_frame(const str *enc, const str *frame)
{
  str acc = STR_INIT, again = STR_INIT;
  if (str_copy(&acc, enc) < 0) abort();
  if (spawn_frame_take(&acc, &again, GETPW_FRAME_MAX) != 1 || acc.len != 0) abort();
  if (again.len != frame->len || memcmp(again.s, frame->s, frame->len) != 0) abort();
  str_free(&acc);
  str_free(&again);
}

static int same_str(const str *x, const str *y)
{
  return x->len == y->len && (x->len == 0 || memcmp(x->s, y->s, x->len) == 0);
}

/* enc, a frame encoded from a, decodes to the same answer */
static void same_user(const str *enc, const struct getpw_answer *a)
{
  struct getpw_answer *b = calloc(1, sizeof *b);
  str acc = STR_INIT, again = STR_INIT;
  if (!b || str_copy(&acc, enc) < 0) abort();
  if (spawn_frame_take(&acc, &again, GETPW_FRAME_MAX) != 1 || acc.len != 0) abort();
  if (getpw_answer_decode(b, GETPW_ASK_USER, again.s, again.len) != 0) abort();
  if (b->letter != 'K' || b->e.uid != a->e.uid || b->e.gid != a->e.gid || b->ngroups != a->ngroups) abort();
  if (!same_str(&a->e.user, &b->e.user) || !same_str(&a->e.home, &b->e.home) ||
      !same_str(&a->e.dash, &b->e.dash) || !same_str(&a->e.ext, &b->e.ext))
    abort();
  if (memcmp(a->groups, b->groups, a->ngroups * sizeof a->groups[0]) != 0) abort();
  getpw_answer_free(b);
  free(b);
  str_free(&acc);
  str_free(&again);
}

static void check_request(const str *frame)
{
  struct getpw_request rq = { 0, STR_INIT, 0 };
  str enc = STR_INIT;
  if (getpw_request_decode(&rq, frame->s, frame->len) == 0) {
    if (rq.kind == GETPW_ASK_USER && rq.arg.len > USERS_LOCAL_MAX) abort();
    if (rq.kind == GETPW_ASK_GROUPS && (rq.arg.len == 0 || rq.arg.len > GETPW_USER_MAX || rq.gid > USERS_ID_MAX))
      abort();
    if (getpw_request_encode(&enc, rq.kind, rq.arg.s, rq.arg.len, rq.gid) < 0) abort();
    same_frame(&enc, frame);
  }
  getpw_request_free(&rq);
  str_free(&enc);
}

static void check_answer(const str *frame, char kind)
{
  struct getpw_answer *a = calloc(1, sizeof *a);
  str enc = STR_INIT;
  size_t i;
  if (!a) abort();
  if (getpw_answer_decode(a, kind, frame->s, frame->len) == 0) {
    if (a->letter == 'K') {
      if (a->ngroups < 1 || a->ngroups > GETPW_GROUPS_MAX) abort();
      for (i = 0; i < a->ngroups; ++i)
        if (a->groups[i] > USERS_ID_MAX) abort();
      if (kind == GETPW_ASK_USER) {
        if (a->e.user.len == 0 || a->e.home.len == 0 || a->e.home.s[0] != '/') abort();
        if (getpw_answer_user(&enc, &a->e, a->groups, a->ngroups) < 0) abort();
        /* the record's uid and gid may carry leading zeros (users_decode
         * takes what sluice-newu wrote): compare what they mean */
        same_user(&enc, a);
        goto done;
      } else if (getpw_answer_groups(&enc, a->groups, a->ngroups) < 0) {
        abort();
      }
    } else if (a->letter == 'D' || a->letter == 'Z') {
      if (a->letter == 'D' && kind != GETPW_ASK_USER) abort();
      if (getpw_answer_fail(&enc, a->letter, frame->s + 1, frame->len - 1) < 0) abort();
    } else {
      abort();
    }
    same_frame(&enc, frame);
  }
done:
  getpw_answer_free(a);
  free(a);
  str_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  str acc = STR_INIT, frame = STR_INIT;
  if (str_copyb(&acc, (const char *)data, size) < 0) return 0;
  while (spawn_frame_take(&acc, &frame, GETPW_FRAME_MAX) == 1) {
    char *copy = malloc(frame.len ? frame.len : 1);
    str exact;
    if (!copy) abort();
    memcpy(copy, frame.s, frame.len);
    exact.s = copy;
    exact.len = frame.len;
    exact.a = frame.len;
    check_request(&exact);
    check_answer(&exact, GETPW_ASK_USER);
    check_answer(&exact, GETPW_ASK_GROUPS);
    free(copy);
  }
  str_free(&acc);
  str_free(&frame);
  return 0;
}
