/* test_spawn.c: the sluice-send/spawner protocol (spawn.h,
 * sluice-spawn(5)): known-answer encodings, round trips, every
 * malformed request and result the decoders must refuse, and
 * spawn_frame_take on every prefix of a stream. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "journal.h"
#include "netstring.h"
#include "qfile.h"
#include "spawn.h"
#include "str.h"

/* The worked example of sluice-spawn(5), byte for byte. */
#define EXAMPLE_REQUEST \
  "77:1:3,6:123456,0:,17:alice@example.org,15:bob@example.net,17:carol@example.net,,"
#define EXAMPLE_RESULT "61:1:3,14:Kok 250 queued,35:D5.1.1 mailbox unavailable (#5.1.1),,"

/* Decodes the request in s[0..n); 0 or -1 with errno as the decoder set. */
static int req_decode(const char *s, size_t n, struct spawn_request *req)
{
  return spawn_request_decode(req, s, n);
}

/* 1 when the literal inner frame lit (its full length n) is refused
 * with errno e. */
static int req_refused(const char *lit, size_t n, int e)
{
  struct spawn_request req = SPAWN_REQUEST_INIT;
  int r;
  errno = 0;
  r = req_decode(lit, n, &req) == -1 && errno == e;
  spawn_request_free(&req);
  return r;
}

static int res_refused(const char *lit, size_t n, int e)
{
  struct spawn_result res = { 0, STR_INIT, 0 };
  int r;
  errno = 0;
  r = spawn_result_decode(&res, lit, n) == -1 && errno == e;
  spawn_result_free(&res);
  return r;
}

/* 1 when the inner frame s[0..n) decodes. */
static int req_ok(const char *s, size_t n)
{
  struct spawn_request req = SPAWN_REQUEST_INIT;
  int r = req_decode(s, n, &req) == 0;
  spawn_request_free(&req);
  return r;
}

static int res_ok(const char *s, size_t n)
{
  struct spawn_result res = { 0, STR_INIT, 0 };
  int r = spawn_result_decode(&res, s, n) == 0;
  spawn_result_free(&res);
  return r;
}

#define REQ_BAD(lit, e) CHECK(req_refused((lit), sizeof(lit) - 1, (e)))
#define REQ_OK(lit) CHECK(req_ok((lit), sizeof(lit) - 1))
#define RES_BAD(lit, e) CHECK(res_refused((lit), sizeof(lit) - 1, (e)))

/* Takes the one frame out of a whole encoding. */
static int unwrap(const str *enc, str *frame)
{
  str acc = STR_INIT;
  int r;
  if (str_copy(&acc, enc) < 0) return -1;
  r = spawn_frame_take(&acc, frame, SPAWN_FRAME_MAX);
  if (r == 1 && acc.len != 0) r = -1;
  str_free(&acc);
  return r == 1 ? 0 : -1;
}

static void test_example(void)
{
  str out = STR_INIT, work = STR_INIT, frame = STR_INIT;
  const char rcpts[] = "bob@example.net\0carol@example.net";
  struct spawn_request req = SPAWN_REQUEST_INIT;
  struct spawn_result res = { 0, STR_INIT, 0 };
  size_t pos = 0, len;
  const char *e;

  CHECK(spawn_request_encode(&out, 3, 123456, 0, "alice@example.org", 17, rcpts, sizeof rcpts, 2) == 0);
  CHECK_BYTES(out.s, out.len, EXAMPLE_REQUEST);
  CHECK(unwrap(&out, &frame) == 0);
  CHECK(req_decode(frame.s, frame.len, &req) == 0);
  CHECK(req.slot == 3 && req.id == 123456 && req.nrcpts == 2);
  CHECK_BYTES(req.sender.s, req.sender.len, "alice@example.org");
  CHECK(req.rcpts.len == sizeof rcpts && memcmp(req.rcpts.s, rcpts, sizeof rcpts) == 0);
  CHECK(spawn_next(&req.rcpts, &pos, &e, &len) == 1);
  CHECK_BYTES(e, len, "bob@example.net");
  CHECK(spawn_next(&req.rcpts, &pos, &e, &len) == 1);
  CHECK_BYTES(e, len, "carol@example.net");
  CHECK(spawn_next(&req.rcpts, &pos, &e, &len) == 0);

  str_truncate(&out, 0);
  CHECK(spawn_result_begin(&work, 3) == 0);
  CHECK(spawn_result_add(&work, 'K', "ok 250 queued", 13) == 0);
  CHECK(spawn_result_add(&work, 'D', "5.1.1 mailbox unavailable (#5.1.1)", 34) == 0);
  CHECK(spawn_result_end(&out, &work) == 0);
  CHECK_BYTES(out.s, out.len, EXAMPLE_RESULT);
  CHECK(unwrap(&out, &frame) == 0);
  CHECK(spawn_result_decode(&res, frame.s, frame.len) == 0);
  CHECK(res.slot == 3 && res.nresults == 2);
  pos = 0;
  CHECK(spawn_next(&res.results, &pos, &e, &len) == 1);
  CHECK_BYTES(e, len, "Kok 250 queued");
  CHECK(spawn_next(&res.results, &pos, &e, &len) == 1);
  CHECK_BYTES(e, len, "D5.1.1 mailbox unavailable (#5.1.1)");
  CHECK(spawn_next(&res.results, &pos, &e, &len) == 0);

  /* the local example of the man page */
  str_truncate(&out, 0);
  CHECK(spawn_request_encode(&out, 0, 42, 0, "", 0, "joe@example.org", 16, 1) == 0);
  CHECK_BYTES(out.s, out.len, "34:1:0,2:42,0:,0:,15:joe@example.org,,");
  str_truncate(&out, 0);
  CHECK(spawn_result_begin(&work, 0) == 0);
  CHECK(spawn_result_add(&work, 'Z', "4.2.2 mailbox full", 18) == 0);
  CHECK(spawn_result_end(&out, &work) == 0);
  CHECK_BYTES(out.s, out.len, "27:1:0,19:Z4.2.2 mailbox full,,");

  spawn_request_free(&req);
  spawn_result_free(&res);
  str_free(&out);
  str_free(&work);
  str_free(&frame);
}

/* Requests with edge values survive encode, frame, decode. */
static void test_request_round_trips(void)
{
  str out = STR_INIT, frame = STR_INIT, rcpts = STR_INIT, addr = STR_INIT;
  struct spawn_request req = SPAWN_REQUEST_INIT;
  size_t i;

  /* empty sender (a bounce), slot 0, id 0 */
  CHECK(spawn_request_encode(&out, 0, 0, 0, "", 0, "a@b\0", 4, 1) == 0);
  CHECK_BYTES(out.s, out.len, "20:1:0,1:0,0:,0:,3:a@b,,");
  CHECK(unwrap(&out, &frame) == 0);
  CHECK(req_decode(frame.s, frame.len, &req) == 0);
  CHECK(req.slot == 0 && req.id == 0 && req.sender.len == 0 && req.nrcpts == 1 && req.options == 0);

  /* SMTPUTF8: the letter U in the options field; unknown bits are not written */
  str_truncate(&out, 0);
  CHECK(spawn_request_encode(&out, 2, 5, QFILE_OPT_SMTPUTF8 | 0x80, "\xc3\xa9@x", 4, "a@b\0", 4, 1) == 0);
  CHECK_BYTES(out.s, out.len, "25:1:2,1:5,1:U,4:\xc3\xa9@x,3:a@b,,");
  CHECK(unwrap(&out, &frame) == 0);
  CHECK(req_decode(frame.s, frame.len, &req) == 0);
  CHECK(req.options == QFILE_OPT_SMTPUTF8 && req.sender.len == 4 && req.nrcpts == 1);

  /* the largest slot and id, the double-bounce sender, bytes >= 0x80 */
  str_truncate(&out, 0);
  CHECK(spawn_request_encode(&out, SPAWN_SLOTS_MAX - 1, (unsigned long)-1, 0, "#@[]", 4, "\xc3\xa9t\xc3\xa9@x\0", 8, 1) == 0);
  CHECK(unwrap(&out, &frame) == 0);
  CHECK(req_decode(frame.s, frame.len, &req) == 0);
  CHECK(req.slot == SPAWN_SLOTS_MAX - 1 && req.id == (unsigned long)-1);
  CHECK_BYTES(req.sender.s, req.sender.len, "#@[]");
  CHECK(req.rcpts.len == 8 && memcmp(req.rcpts.s, "\xc3\xa9t\xc3\xa9@x\0", 8) == 0);

  /* SPAWN_RCPTS_MAX recipients of SPAWN_ADDR_MAX bytes each, and a
   * sender of SPAWN_ADDR_MAX bytes: the largest request fits a frame */
  for (i = 0; i < SPAWN_ADDR_MAX; ++i) str_catc(&addr, (char)('a' + i % 26));
  CHECK(addr.len == SPAWN_ADDR_MAX);
  for (i = 0; i < SPAWN_RCPTS_MAX; ++i) {
    addr.s[0] = (char)('a' + i % 26);
    addr.s[1] = (char)('a' + i / 26 % 26);
    if (str_cat(&rcpts, &addr) < 0 || str_catc(&rcpts, 0) < 0) break;
  }
  CHECK(i == SPAWN_RCPTS_MAX);
  str_truncate(&out, 0);
  CHECK(spawn_request_encode(&out, 7, 42, 0, addr.s, addr.len, rcpts.s, rcpts.len, SPAWN_RCPTS_MAX) == 0);
  CHECK(out.len < SPAWN_FRAME_MAX);
  CHECK(unwrap(&out, &frame) == 0);
  CHECK(req_decode(frame.s, frame.len, &req) == 0);
  CHECK(req.nrcpts == SPAWN_RCPTS_MAX && req.rcpts.len == rcpts.len && memcmp(req.rcpts.s, rcpts.s, rcpts.len) == 0);
  CHECK(req.sender.len == SPAWN_ADDR_MAX);

  /* decoding again into the same structure replaces, not appends */
  str_truncate(&out, 0);
  CHECK(spawn_request_encode(&out, 1, 2, 0, "s", 1, "r\0", 2, 1) == 0);
  CHECK(unwrap(&out, &frame) == 0);
  CHECK(req_decode(frame.s, frame.len, &req) == 0);
  CHECK(req.nrcpts == 1 && req.rcpts.len == 2 && req.sender.len == 1);

  spawn_request_free(&req);
  CHECK(req.nrcpts == 0);
  str_free(&out);
  str_free(&frame);
  str_free(&rcpts);
  str_free(&addr);
}

/* What spawn_request_encode itself refuses. */
static void test_request_encode_refusals(void)
{
  str out = STR_INIT, big = STR_INIT, many = STR_INIT;
  size_t i;

  errno = 0;
  CHECK(spawn_request_encode(&out, SPAWN_SLOTS_MAX, 1, 0, "", 0, "a\0", 2, 1) == -1 && errno == EMSGSIZE);
  errno = 0;
  CHECK(spawn_request_encode(&out, 1, 1, 0, "", 0, "", 0, 0) == -1 && errno == EMSGSIZE);
  for (i = 0; i <= SPAWN_ADDR_MAX; ++i) str_catc(&big, 'a');
  errno = 0;
  CHECK(spawn_request_encode(&out, 1, 1, 0, big.s, big.len, "a\0", 2, 1) == -1 && errno == EMSGSIZE);
  CHECK(str_catc(&big, 0) == 0);
  errno = 0;
  CHECK(spawn_request_encode(&out, 1, 1, 0, "", 0, big.s, big.len, 1) == -1 && errno == EPROTO);
  /* the last recipient lacks its NUL */
  errno = 0;
  CHECK(spawn_request_encode(&out, 1, 1, 0, "", 0, "a\0b", 3, 2) == -1 && errno == EPROTO);
  /* nrcpts disagrees with the list */
  errno = 0;
  CHECK(spawn_request_encode(&out, 1, 1, 0, "", 0, "a\0b\0", 4, 1) == -1 && errno == EPROTO);
  for (i = 0; i <= SPAWN_RCPTS_MAX; ++i) str_catb(&many, "r\0", 2);
  errno = 0;
  CHECK(spawn_request_encode(&out, 1, 1, 0, "", 0, many.s, many.len, SPAWN_RCPTS_MAX + 1) == -1 && errno == EMSGSIZE);
  CHECK(out.len == 0);
  str_free(&out);
  str_free(&big);
  str_free(&many);
}

static void test_request_malformed(void)
{
  str s = STR_INIT, f = STR_INIT;
  size_t i;

  /* the good one these are variations of */
  CHECK(req_ok("1:3,1:9,0:,1:s,1:r,", 19));
  /* numbers: leading zeros, empty, signs, spaces, letters, overflow */
  REQ_BAD("2:03,1:9,0:,1:s,1:r,", EPROTO);
  REQ_BAD("1:3,2:09,0:,1:s,1:r,", EPROTO);
  REQ_BAD("2:00,1:9,0:,1:s,1:r,", EPROTO);
  REQ_BAD("0:,1:9,0:,1:s,1:r,", EPROTO);
  REQ_BAD("1:3,0:,0:,1:s,1:r,", EPROTO);
  REQ_BAD("2:+3,1:9,0:,1:s,1:r,", EPROTO);
  REQ_BAD("2:-3,1:9,0:,1:s,1:r,", EPROTO);
  REQ_BAD("2: 3,1:9,0:,1:s,1:r,", EPROTO);
  REQ_BAD("1:x,1:9,0:,1:s,1:r,", EPROTO);
  REQ_BAD("1:3,20:99999999999999999999,0:,1:s,1:r,", EPROTO);
  REQ_BAD("1:3,21:123456789012345678901,0:,1:s,1:r,", EMSGSIZE);
  /* slot at and above the limit */
  REQ_BAD("4:1000,1:9,0:,1:s,1:r,", EMSGSIZE);
  REQ_BAD("4:9999,1:9,0:,1:s,1:r,", EMSGSIZE);
  CHECK(req_ok("3:999,1:9,0:,1:s,1:r,", 21));
  /* leading zeros in the inner netstring lengths */
  REQ_BAD("01:3,1:9,0:,1:s,1:r,", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,01:r,", EPROTO);
  /* recipients: none, empty, NUL inside; NUL inside the sender */
  REQ_BAD("1:3,1:9,0:,1:s,", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,0:,", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,1:r,0:,", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,3:a\0b,", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,1:\0,", EPROTO);
  REQ_BAD("1:3,1:9,0:,2:s\0,1:r,", EPROTO); /* a NUL without an ENVID after it */
  /* options: the letters of qfile.h, each once; the field is required */
  CHECK(req_ok("1:3,1:9,1:U,1:s,1:r,", 20));
  REQ_BAD("1:3,1:9,1:X,1:s,1:r,", EPROTO);
  REQ_BAD("1:3,1:9,1:u,1:s,1:r,", EPROTO);
  REQ_BAD("1:3,1:9,2:UU,1:s,1:r,", EPROTO);
  REQ_BAD("1:3,1:9,1:\0,1:s,1:r,", EPROTO);
  REQ_BAD("1:3,1:9,9:UUUUUUUUU,1:s,1:r,", EMSGSIZE);
  REQ_BAD("1:3,1:9,1:s,1:r,", EPROTO); /* a request without the field */
  /* missing fields */
  REQ_BAD("", EPROTO);
  REQ_BAD("1:3,", EPROTO);
  REQ_BAD("1:3,1:9,", EPROTO);
  REQ_BAD("1:3,1:9,0:,", EPROTO);
  /* trailing garbage and truncation inside the frame */
  REQ_BAD("1:3,1:9,0:,1:s,1:r,x", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,1:r,1", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,1:r,1:", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,1:r,1:r", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,1:r;", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,2:r,", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,1:r,,", EPROTO);
  REQ_BAD(" 1:3,1:9,0:,1:s,1:r,", EPROTO);
  /* an address one byte over SPAWN_ADDR_MAX, as sender and recipient */
  CHECK(str_copys(&f, "1:3,1:9,0:,") == 0);
  for (i = 0; i <= SPAWN_ADDR_MAX; ++i) str_catc(&s, 'a');
  CHECK(netstring_cat(&f, s.s, s.len) == 0 && str_cats(&f, "1:r,") == 0);
  CHECK(req_refused(f.s, f.len, EMSGSIZE));
  CHECK(str_copys(&f, "1:3,1:9,0:,1:s,") == 0 && netstring_cat(&f, s.s, s.len) == 0);
  CHECK(req_refused(f.s, f.len, EMSGSIZE));
  /* exactly SPAWN_ADDR_MAX is fine */
  CHECK(str_copys(&f, "1:3,1:9,0:,1:s,") == 0 && netstring_cat(&f, s.s, s.len - 1) == 0);
  CHECK(req_ok(f.s, f.len));
  /* too many recipients */
  CHECK(str_copys(&f, "1:3,1:9,0:,0:,") == 0);
  for (i = 0; i < SPAWN_RCPTS_MAX; ++i) str_cats(&f, "1:r,");
  CHECK(req_ok(f.s, f.len));
  CHECK(str_cats(&f, "1:r,") == 0);
  CHECK(req_refused(f.s, f.len, EMSGSIZE));
  str_free(&s);
  str_free(&f);
}

static void test_results(void)
{
  str work = STR_INIT, out = STR_INIT, frame = STR_INIT, text = STR_INIT;
  struct spawn_result res = { 0, STR_INIT, 0 };
  size_t i, pos, len;
  const char *e;

  /* one of each letter; an empty text */
  CHECK(spawn_result_begin(&work, 0) == 0);
  CHECK(spawn_result_add(&work, 'Z', "4.4.1 no answer", 15) == 0);
  CHECK(spawn_result_add(&work, 'K', "", 0) == 0);
  CHECK(spawn_result_add(&work, 'D', "x", 1) == 0);
  CHECK(spawn_result_end(&out, &work) == 0);
  CHECK_BYTES(out.s, out.len, "33:1:0,16:Z4.4.1 no answer,1:K,2:Dx,,");
  CHECK(unwrap(&out, &frame) == 0);
  CHECK(spawn_result_decode(&res, frame.s, frame.len) == 0);
  CHECK(res.slot == 0 && res.nresults == 3);
  CHECK(res.results.len == 22 && memcmp(res.results.s, "Z4.4.1 no answer\0K\0Dx\0", 22) == 0);

  /* refusals of the encoder */
  errno = 0;
  CHECK(spawn_result_begin(&work, SPAWN_SLOTS_MAX) == -1 && errno == EMSGSIZE);
  CHECK(spawn_result_begin(&work, 5) == 0);
  errno = 0;
  CHECK(spawn_result_add(&work, 'k', "x", 1) == -1 && errno == EINVAL);
  CHECK(spawn_result_add(&work, 'X', "x", 1) == -1 && errno == EINVAL);
  CHECK(spawn_result_add(&work, 0, "x", 1) == -1);
  CHECK_BYTES(work.s, work.len, "1:5,");

  /* a text is cut at a NUL and at SPAWN_TEXT_MAX bytes */
  CHECK(spawn_result_add(&work, 'K', "ab\0cd", 5) == 0);
  CHECK_BYTES(work.s, work.len, "1:5,3:Kab,");
  for (i = 0; i < SPAWN_TEXT_MAX + 100; ++i) str_catc(&text, 'y');
  CHECK(spawn_result_add(&work, 'Z', text.s, text.len) == 0);
  str_truncate(&out, 0);
  CHECK(spawn_result_end(&out, &work) == 0);
  CHECK(unwrap(&out, &frame) == 0);
  CHECK(spawn_result_decode(&res, frame.s, frame.len) == 0);
  CHECK(res.slot == 5 && res.nresults == 2);
  pos = 0;
  CHECK(spawn_next(&res.results, &pos, &e, &len) == 1);
  CHECK_BYTES(e, len, "Kab");
  CHECK(spawn_next(&res.results, &pos, &e, &len) == 1);
  CHECK(len == SPAWN_TEXT_MAX + 1 && e[0] == 'Z');

  /* malformed results */
  RES_BAD("", EPROTO);
  RES_BAD("1:5,", EPROTO);
  RES_BAD("1:5,0:,", EPROTO);
  RES_BAD("1:5,1:k,", EPROTO);
  RES_BAD("1:5,1:X,", EPROTO);
  RES_BAD("1:5,3:ok.,", EPROTO);
  RES_BAD("1:5,1:\0,", EPROTO);
  RES_BAD("1:5,1:K,3:Q 1,", EPROTO);
  RES_BAD("1:5,3:K\0x,", EPROTO);
  RES_BAD("2:05,1:K,", EPROTO);
  RES_BAD("0:,1:K,", EPROTO);
  RES_BAD("1:a,1:K,", EPROTO);
  RES_BAD("4:1000,1:K,", EMSGSIZE);
  RES_BAD("1:5,1:K,x", EPROTO);
  RES_BAD("1:5,1:K,1:", EPROTO);
  RES_BAD("1:5,1:K;", EPROTO);
  RES_BAD("1:5,01:K,", EPROTO);
  /* a text of SPAWN_TEXT_MAX is fine, one more byte is not */
  CHECK(str_copys(&frame, "1:5,") == 0 && str_copys(&text, "D") == 0);
  for (i = 0; i < SPAWN_TEXT_MAX; ++i) str_catc(&text, 't');
  CHECK(netstring_cat(&frame, text.s, text.len) == 0);
  CHECK(res_ok(frame.s, frame.len));
  CHECK(str_copys(&frame, "1:5,") == 0 && str_catc(&text, 't') == 0);
  CHECK(netstring_cat(&frame, text.s, text.len) == 0);
  CHECK(res_refused(frame.s, frame.len, EMSGSIZE));
  /* at most SPAWN_RCPTS_MAX results */
  CHECK(str_copys(&frame, "1:5,") == 0);
  for (i = 0; i < SPAWN_RCPTS_MAX; ++i) str_cats(&frame, "1:K,");
  CHECK(res_ok(frame.s, frame.len));
  CHECK(str_cats(&frame, "1:K,") == 0);
  CHECK(res_refused(frame.s, frame.len, EMSGSIZE));

  spawn_result_free(&res);
  CHECK(res.nresults == 0);
  str_free(&work);
  str_free(&out);
  str_free(&frame);
  str_free(&text);
}

/* spawn_frame_take on a stream of two frames fed one byte at a time,
 * and on every prefix of one frame. */
static void test_frames(void)
{
  str stream = STR_INIT, acc = STR_INIT, frame = STR_INIT;
  size_t i, n, got = 0;
  int bad_prefix = 0;

  CHECK(str_copys(&stream, EXAMPLE_REQUEST EXAMPLE_RESULT) == 0);
  n = strlen(EXAMPLE_REQUEST);
  /* every strict prefix of the first frame asks for more */
  for (i = 0; i < n; ++i) {
    CHECK(str_copyb(&acc, stream.s, i) == 0);
    if (spawn_frame_take(&acc, &frame, SPAWN_FRAME_MAX) != 0 || acc.len != i) bad_prefix = 1;
  }
  CHECK(!bad_prefix);
  /* fed byte by byte, exactly two frames come out at the right ends */
  str_truncate(&acc, 0);
  for (i = 0; i < stream.len; ++i) {
    int r;
    CHECK(str_catc(&acc, stream.s[i]) == 0);
    r = spawn_frame_take(&acc, &frame, SPAWN_FRAME_MAX);
    if (r == 1) {
      ++got;
      if (got == 1) {
        CHECK(i == n - 1);
        CHECK(frame.len == 77 && memcmp(frame.s, &EXAMPLE_REQUEST[3], 77) == 0);
      } else {
        CHECK(i == stream.len - 1);
        CHECK(frame.len == 61 && memcmp(frame.s, &EXAMPLE_RESULT[3], 61) == 0);
      }
      CHECK(acc.len == 0);
    } else if (r != 0) {
      CHECK(r == 0);
    }
  }
  CHECK(got == 2);
  /* both at once: the second stays in acc */
  CHECK(str_copy(&acc, &stream) == 0);
  CHECK(spawn_frame_take(&acc, &frame, SPAWN_FRAME_MAX) == 1);
  CHECK(acc.len == strlen(EXAMPLE_RESULT) && memcmp(acc.s, EXAMPLE_RESULT, acc.len) == 0);
  CHECK(spawn_frame_take(&acc, &frame, SPAWN_FRAME_MAX) == 1 && acc.len == 0);
  CHECK(spawn_frame_take(&acc, &frame, SPAWN_FRAME_MAX) == 0);
  /* framing errors: leading zero, no comma, not a digit, over max */
  CHECK(str_copys(&acc, "071:") == 0);
  errno = 0;
  CHECK(spawn_frame_take(&acc, &frame, SPAWN_FRAME_MAX) == -1 && errno == EPROTO);
  CHECK(str_copys(&acc, "3:abc;") == 0);
  CHECK(spawn_frame_take(&acc, &frame, SPAWN_FRAME_MAX) == -1 && errno == EPROTO);
  CHECK(str_copys(&acc, "x") == 0);
  CHECK(spawn_frame_take(&acc, &frame, SPAWN_FRAME_MAX) == -1 && errno == EPROTO);
  CHECK(str_copys(&acc, "2097153") == 0);
  errno = 0;
  CHECK(spawn_frame_take(&acc, &frame, SPAWN_FRAME_MAX) == -1 && errno == EMSGSIZE);
  CHECK(str_copys(&acc, "2097152") == 0);
  CHECK(spawn_frame_take(&acc, &frame, SPAWN_FRAME_MAX) == 0);
  CHECK(str_copys(&acc, "5:abc") == 0);
  CHECK(spawn_frame_take(&acc, &frame, 4) == -1 && errno == EMSGSIZE);
  /* an empty accumulator (never allocated) asks for more */
  str_free(&acc);
  CHECK(spawn_frame_take(&acc, &frame, SPAWN_FRAME_MAX) == 0);

  str_free(&stream);
  str_free(&acc);
  str_free(&frame);
}

/* DSN in requests: the ENVID after the sender, NOTIFY and ORCPT after
 * a recipient, only where given; round trips, the canonical form, and
 * every value the decoder must refuse. */
static void test_request_dsn(void)
{
  str out = STR_INIT, frame = STR_INIT, f = STR_INIT, v = STR_INIT;
  struct spawn_request req = SPAWN_REQUEST_INIT;
  const char rcpts[] = "bob@example.net\0carol@example.net";
  const char dsn[] = "SF\0rfc822;b+ob@x.example\0\0\0";
  size_t pos = 0, len, i;
  const char *e;

  CHECK(spawn_request_encode_dsn(&out, 3, 123456, 2, "alice@example.org", 17, "env id", 6, rcpts, sizeof rcpts,
                                 2, dsn, sizeof dsn - 1) == 0);
  {
    static const char want[] = "110:1:3,6:123456,1:H,24:alice@example.org\0env id,"
                               "40:bob@example.net\0SF\0rfc822;b+ob@x.example,17:carol@example.net,,";
    CHECK(out.len == sizeof want - 1 && memcmp(out.s, want, out.len) == 0);
  }
  CHECK(unwrap(&out, &frame) == 0);
  CHECK(req_decode(frame.s, frame.len, &req) == 0);
  CHECK(req.nrcpts == 2 && req.options == 2);
  CHECK_BYTES(req.sender.s, req.sender.len, "alice@example.org");
  CHECK_BYTES(req.envid.s, req.envid.len, "env id");
  CHECK(req.rcpts.len == sizeof rcpts && memcmp(req.rcpts.s, rcpts, sizeof rcpts) == 0);
  CHECK(req.dsn.len == sizeof dsn - 1 && memcmp(req.dsn.s, dsn, sizeof dsn - 1) == 0);
  CHECK(spawn_next(&req.dsn, &pos, &e, &len) == 1);
  CHECK_BYTES(e, len, "SF");
  CHECK(spawn_next(&req.dsn, &pos, &e, &len) == 1);
  CHECK_BYTES(e, len, "rfc822;b+ob@x.example");
  CHECK(spawn_next(&req.dsn, &pos, &e, &len) == 1 && len == 0);
  CHECK(spawn_next(&req.dsn, &pos, &e, &len) == 1 && len == 0);
  CHECK(spawn_next(&req.dsn, &pos, &e, &len) == 0);

  /* the DSN example of sluice-spawn(5), byte for byte */
  str_truncate(&out, 0);
  {
    static const char want[] = "113:1:3,6:123456,1:H,22:alice@example.org\0QQ+1,"
                               "45:bob@example.net\0SF\0rfc822;bob+tag@example.net,17:carol@example.net,,";
    static const char d[] = "SF\0rfc822;bob+tag@example.net\0\0\0";
    CHECK(spawn_request_encode_dsn(&out, 3, 123456, QFILE_OPT_RET_HDRS, "alice@example.org", 17, "QQ+1", 4, rcpts,
                                   sizeof rcpts, 2, d, sizeof d - 1) == 0);
    CHECK(out.len == sizeof want - 1 && memcmp(out.s, want, out.len) == 0);
  }

  /* a DSN list without any value, and no ENVID: the old request, byte
   * for byte, and nothing in dsn after decoding */
  str_truncate(&out, 0);
  CHECK(spawn_request_encode_dsn(&out, 3, 123456, 0, "alice@example.org", 17, 0, 0, rcpts, sizeof rcpts, 2,
                                 "\0\0\0\0", 4) == 0);
  CHECK_BYTES(out.s, out.len, EXAMPLE_REQUEST);
  CHECK(unwrap(&out, &frame) == 0 && req_decode(frame.s, frame.len, &req) == 0);
  CHECK(req.dsn.len == 0 && req.envid.len == 0);
  /* NOTIFY alone, ORCPT alone */
  REQ_OK("1:3,1:9,0:,1:s,4:r\0N\0,");
  REQ_OK("1:3,1:9,0:,1:s,10:r\0\0a;b c~d,");
  REQ_OK("1:3,1:9,0:,1:s,6:r\0DSF\0,");
  REQ_OK("1:3,1:9,0:,3:s\0t,1:r,");
  REQ_OK("1:3,1:9,0:,2:\0t,1:r,"); /* the null sender with an ENVID */

  /* refused: not canonical, bad letters, bad ORCPT, bad ENVID */
  REQ_BAD("1:3,1:9,0:,1:s,4:r\0\0\0,", EPROTO);   /* both empty */
  REQ_BAD("1:3,1:9,0:,1:s,3:r\0N,", EPROTO);        /* no second NUL */
  REQ_BAD("1:3,1:9,0:,1:s,4:r\0X\0,", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,5:r\0NS\0,", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,5:r\0SS\0,", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,4:r\0s\0,", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,6:r\0\0abc,", EPROTO);    /* ORCPT without ';' */
  REQ_BAD("1:3,1:9,0:,1:s,6:r\0\0;abc,", EPROTO);   /* nor an addr-type */
  REQ_BAD("1:3,1:9,0:,1:s,7:r\0\0a;b\tc,", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,7:r\0\0a;b\0c,", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,7:r\0\0a;b\x80,", EPROTO);
  REQ_BAD("1:3,1:9,0:,1:s,6:\0S\0a;b,", EPROTO);    /* no address */
  REQ_BAD("1:3,1:9,0:,3:s\0\n,1:r,", EPROTO);
  REQ_BAD("1:3,1:9,0:,4:s\0t\0,1:r,", EPROTO);
  /* limits: an ENVID of SPAWN_ENVID_MAX bytes, an ORCPT of
   * SPAWN_ORCPT_MAX, and one byte more of each */
  for (i = 0; i < SPAWN_ENVID_MAX; ++i) str_catc(&v, 'e');
  CHECK(str_copys(&f, "1:3,1:9,0:,") == 0 && str_copys(&out, "s") == 0 && str_catc(&out, 0) == 0
        && str_cat(&out, &v) == 0 && netstring_cat(&f, out.s, out.len) == 0 && str_cats(&f, "1:r,") == 0);
  CHECK(req_ok(f.s, f.len));
  CHECK(str_copys(&f, "1:3,1:9,0:,") == 0 && str_catc(&out, 'e') == 0 && netstring_cat(&f, out.s, out.len) == 0
        && str_cats(&f, "1:r,") == 0);
  CHECK(req_refused(f.s, f.len, EPROTO));
  CHECK(str_copys(&v, "a;") == 0);
  while (v.len < SPAWN_ORCPT_MAX) str_catc(&v, 'o');
  CHECK(str_copyb(&out, "r\0SFD\0", 6) == 0 && str_cat(&out, &v) == 0);
  CHECK(str_copys(&f, "1:3,1:9,0:,1:s,") == 0 && netstring_cat(&f, out.s, out.len) == 0);
  CHECK(req_ok(f.s, f.len));
  CHECK(str_catc(&out, 'o') == 0 && str_copys(&f, "1:3,1:9,0:,1:s,") == 0 && netstring_cat(&f, out.s, out.len) == 0);
  CHECK(req_refused(f.s, f.len, EPROTO));

  /* the encoder checks what it is given */
  str_truncate(&out, 0);
  CHECK(spawn_request_encode_dsn(&out, 0, 1, 0, "s", 1, "a\tb", 3, "r", 2, 1, 0, 0) == -1 && errno == EPROTO);
  CHECK(spawn_request_encode_dsn(&out, 0, 1, 0, "s", 1, 0, 0, "r", 2, 1, "Q\0\0", 3) == -1 && errno == EPROTO);
  CHECK(spawn_request_encode_dsn(&out, 0, 1, 0, "s", 1, 0, 0, "r", 2, 1, "S\0x\0", 4) == -1 && errno == EPROTO);
  CHECK(spawn_request_encode_dsn(&out, 0, 1, 0, "s", 1, 0, 0, "r", 2, 1, "S\0", 2) == -1 && errno == EPROTO);
  CHECK(spawn_request_encode_dsn(&out, 0, 1, 0, "s", 1, 0, 0, "r", 2, 1, "S\0\0\0\0", 5) == -1 && errno == EPROTO);
  CHECK(spawn_request_encode_dsn(&out, 0, 1, 0, "s\0t", 3, 0, 0, "r", 2, 1, 0, 0) == -1 && errno == EPROTO);
  CHECK(out.len == 0);
  CHECK(spawn_dsn_valid('N', "N", 1) && !spawn_dsn_valid('N', "NS", 2) && spawn_dsn_valid('N', "", 0));
  CHECK(spawn_dsn_valid('O', "x;y", 3) && !spawn_dsn_valid('O', "x;", 2) && !spawn_dsn_valid('E', "\x7f", 1));

  /* a P result is journaled and read back like K; Q is no letter */
  {
    struct journal_record jr;
    size_t used;
    str_truncate(&f, 0);
    CHECK(journal_record_add(&f, 123456, 1764662400, 5, 'P', "bob@example.net", 15, "250 ok", 6) == 0);
    CHECK(journal_record_parse(f.s, f.len, &jr, &used) == 1 && used == f.len && jr.letter == 'P' && jr.id == 123456);
    CHECK(jr.addr_len == 15 && memcmp(jr.addr, "bob@example.net", 15) == 0 && jr.text_len == 6);
    str_truncate(&f, 0);
    CHECK(journal_record_add(&f, 1, 1, 1, 'Q', "b", 1, "", 0) == 0);
    CHECK(journal_record_parse(f.s, f.len, &jr, &used) == -1 && errno == EPROTO);
  }

  /* a P result: delivered, the DSN request passed on */
  RES_BAD("1:3,0:,", EPROTO);
  CHECK(res_ok("1:3,6:Pok 25,", 13));
  CHECK(spawn_result_begin(&f, 1) == 0 && spawn_result_add(&f, 'P', "x", 1) == 0);
  CHECK(spawn_result_add(&f, 'Q', "x", 1) == -1 && errno == EINVAL);

  spawn_request_free(&req);
  str_free(&out);
  str_free(&frame);
  str_free(&f);
  str_free(&v);
}

int main(void)
{
  test_example();
  test_request_round_trips();
  test_request_encode_refusals();
  test_request_malformed();
  test_results();
  test_request_dsn();
  test_frames();
  return check_done();
}
