/* test_smtpc.c: the SMTP reply reader, enhanced codes, EHLO keywords,
 * the DATA encoder and the message scan. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "file.h"
#include "smtpc.h"
#include "str.h"

/* Feeds s[0..n) through a pipe to smtpc_reply_read; returns its result
 * and leaves the reply in *r. *rest = bytes left unread after it. */
static int reply_of(const char *s, size_t n, struct smtpc_reply *r, size_t *rest)
{
  int p[2], rc;
  char mem[512];
  buf b;
  if (pipe(p) < 0) return -9;
  if (n && write(p[1], s, n) != (ssize_t)n) return -9;
  close(p[1]);
  buf_init(&b, p[0], mem, sizeof mem);
  buf_set_timeout(&b, 2000);
  rc = smtpc_reply_read(&b, r);
  *rest = buf_avail(&b);
  while (buf_feed(&b) > 0) {
    *rest = buf_avail(&b);
    if (*rest >= sizeof mem) break;
  }
  *rest = buf_avail(&b);
  close(p[0]);
  return rc;
}

static int code_of(const char *s)
{
  struct smtpc_reply r = SMTPC_REPLY_INIT;
  size_t rest;
  int rc = reply_of(s, strlen(s), &r, &rest);
  smtpc_reply_free(&r);
  return rc < 0 ? -1 : r.code;
}

/* Runs smtpc_data_copy on s and compares with want. */
static int data_is(const char *s, size_t n, const char *want, size_t wantlen)
{
  int in[2], out[2], ok;
  char imem[7], omem[5], got[4096]; /* tiny blocks: exercise the edges */
  buf bi, bo;
  ssize_t g;
  if (pipe(in) < 0 || pipe(out) < 0) return 0;
  if (n && write(in[1], s, n) != (ssize_t)n) return 0;
  close(in[1]);
  buf_init(&bi, in[0], imem, sizeof imem);
  buf_init(&bo, out[1], omem, sizeof omem);
  ok = smtpc_data_copy(&bo, &bi) == 0 && buf_flush(&bo) == 0;
  close(out[1]);
  g = read_full(out[0], got, sizeof got);
  close(in[0]);
  close(out[0]);
  return ok && g == (ssize_t)wantlen && memcmp(got, want, (size_t)g) == 0;
}

#define REPLY(lit, r, rest) reply_of(lit, sizeof lit - 1, r, rest)

int main(void)
{
  struct smtpc_reply r = SMTPC_REPLY_INIT;
  struct smtpc_ext e;
  size_t rest;
  str big = STR_INIT;

  /* simple and multi-line replies */
  CHECK(REPLY("250 ok\r\n", &r, &rest) == 0 && r.code == 250 && rest == 0);
  CHECK_BYTES(r.text.s, r.text.len, "250 ok");
  CHECK(REPLY("250-a\r\n250-b\r\n250 c\r\n354 x\r\n", &r, &rest) == 0 && r.code == 250 && rest == 7);
  CHECK_BYTES(r.text.s, r.text.len, "250 a b c");
  CHECK(r.lines.len == 6 && memcmp(r.lines.s, "a\0b\0c\0", 6) == 0);
  CHECK(code_of("220\r\n") == 220);
  CHECK(code_of("550 5.1.1 no\n") == 550);       /* bare LF */
  CHECK(code_of("421-x\r\n421 y\r\n") == 421);
  /* malformed */
  CHECK(code_of("hello there\r\n") == 0);
  CHECK(code_of("25 short\r\n") == 0);
  CHECK(code_of("2500 ok\r\n") == 0);
  CHECK(code_of("650 ok\r\n") == 0);
  CHECK(code_of("150 ok\r\n") == 0);
  CHECK(code_of("250-a\r\n251 b\r\n") == 0);     /* codes differ */
  CHECK(code_of("25x ok\r\n") == 0);
  CHECK(code_of("250_ok\r\n") == 0);
  /* end of file: an error, not a reply */
  errno = 0;
  CHECK(code_of("") == -1);
  CHECK(REPLY("", &r, &rest) == -1 && errno == ECONNRESET);
  CHECK(code_of("250 no line end") == -1);
  CHECK(code_of("250-first\r\n") == -1);
  /* control characters and 8-bit bytes are made harmless */
  CHECK(REPLY("550 a\001b\377c\0d\r\n", &r, &rest) == 0 && r.code == 550);
  CHECK_BYTES(r.text.s, r.text.len, "550 a?b?c?d");
  /* a very long line: a capped prefix is kept, the reply still parses */
  str_copys(&big, "250-");
  for (int i = 0; i < 20000; ++i) str_catc(&big, 'x');
  str_cats(&big, "\r\n250 end\r\n");
  CHECK(reply_of(big.s, big.len, &r, &rest) == 0 && r.code == 250 && rest == 0);
  CHECK(r.text.len <= SMTPC_TEXT_KEEP);
  CHECK(r.lines.len == (SMTPC_LINE_KEEP - 4) + 1 + 4); /* "xxx..." cut, "end" */
  /* too many lines */
  str_truncate(&big, 0);
  for (int i = 0; i < SMTPC_REPLY_LINES_MAX + 5; ++i) str_cats(&big, "250-x\r\n");
  str_cats(&big, "250 y\r\n");
  CHECK(big.len < 65536);
  CHECK(reply_of(big.s, big.len, &r, &rest) == 0 && r.code == 0);

  /* enhanced status codes */
  CHECK(smtpc_enhanced("5.1.1 no", 8, 5) == 5);
  CHECK(smtpc_enhanced("5.1.10", 6, 0) == 6);
  CHECK(smtpc_enhanced("4.123.456 x", 11, 4) == 9);
  CHECK(smtpc_enhanced("5.1.1 no", 8, 4) == 0);
  CHECK(smtpc_enhanced("3.1.1 no", 8, 0) == 0);
  CHECK(smtpc_enhanced("5.1234.1 no", 11, 0) == 0);
  CHECK(smtpc_enhanced("5.1.1x", 6, 0) == 0);
  CHECK(smtpc_enhanced("5..1", 4, 0) == 0);
  CHECK(smtpc_enhanced("5.1", 3, 0) == 0);

  /* EHLO keywords */
  CHECK(REPLY("250-mx.example\r\n250-pipelining\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250 HELP\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.pipelining == 1 && e.eightbitmime == 1 && e.size == 1 && e.size_max == 1000);
  CHECK(REPLY("250-PIPELINING\r\n250 SIZE\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e); /* the first line is the server's name */
  CHECK(e.pipelining == 0 && e.size == 1 && e.size_max == 0);
  CHECK(REPLY("250-x\r\n250-SIZE abc\r\n250-PIPELININGX\r\n250 8BITMIMEY\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.pipelining == 0 && e.eightbitmime == 0 && e.size == 1 && e.size_max == 0);
  CHECK(REPLY("250 x\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.pipelining == 0 && e.size == 0);
  /* a NUL inside a line does not make a second keyword line */
  CHECK(REPLY("250-x\r\n250-y\0PIPELINING\r\n250 OK\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.pipelining == 0);

  /* DATA encoding; string literals, so sizeof - 1 counts NULs too */
#define DATA_IS(in, want) data_is(in, sizeof in - 1, want, sizeof want - 1)
  CHECK(DATA_IS("", ".\r\n"));
  CHECK(DATA_IS("a\n", "a\r\n.\r\n"));
  CHECK(DATA_IS("a", "a\r\n.\r\n"));
  CHECK(DATA_IS(".\n", "..\r\n.\r\n"));
  CHECK(DATA_IS("x\n.\n..y\n.", "x\r\n..\r\n...y\r\n..\r\n.\r\n"));
  CHECK(DATA_IS("a.b\n\n\n", "a.b\r\n\r\n\r\n.\r\n"));
  CHECK(DATA_IS("a\0\377\n", "a\0\377\r\n.\r\n")); /* other bytes pass as they are */
  /* never a bare CR or LF on the wire, never CR CR LF (sluice-queue(5)) */
  CHECK(DATA_IS("a\r\n", "a\r\n.\r\n"));
  CHECK(DATA_IS("a\rb\n", "a b\r\n.\r\n"));
  CHECK(DATA_IS("a\r\r\n", "a \r\n.\r\n"));
  CHECK(DATA_IS("a\r", "a \r\n.\r\n"));
  CHECK(DATA_IS("\r", " \r\n.\r\n"));
  CHECK(DATA_IS("\r\n", "\r\n.\r\n"));
  CHECK(DATA_IS("\r.\r", " . \r\n.\r\n"));
  CHECK(DATA_IS("x\r\n.\r\ny\n\r\n.\r\n", "x\r\n..\r\ny\r\n\r\n..\r\n.\r\n"));
  CHECK(DATA_IS("H: v\r\n\r\nbody\r\n", "H: v\r\n\r\nbody\r\n.\r\n"));
  CHECK(DATA_IS("a\n\r.b\n", "a\r\n .b\r\n.\r\n"));
  {
    /* every split of a CR and what follows it across the tiny blocks */
    const char in[] = "ab\r\ncd\r\n.e\rf\r\r\n\r\n.\r\ng\r";
    const char want[] = "ab\r\ncd\r\n..e f \r\n\r\n..\r\ng \r\n.\r\n";
    for (size_t k = 0; k < 7; ++k) {
      str t = STR_INIT, w = STR_INIT;
      CHECK(str_copyb(&t, "0123456", k) == 0 && str_catb(&t, in, sizeof in - 1) == 0);
      CHECK(str_copyb(&w, "0123456", k) == 0 && str_catb(&w, want, sizeof want - 1) == 0);
      CHECK(data_is(t.s, t.len, w.s, w.len));
      str_free(&t);
      str_free(&w);
    }
  }
  {
    const char in[] = "line one is long enough to cross blocks\n.dot at start\nend";
    CHECK(DATA_IS(in, "line one is long enough to cross blocks\r\n..dot at start\r\nend\r\n.\r\n"));
  }

  /* message scan */
  {
    char path[] = "/tmp/sluice-smtpc.XXXXXX";
    int fd = mkstemp(path);
    unsigned long long w = 0;
    int eb = 9;
    CHECK(fd >= 0);
    CHECK(write(fd, "ab\ncd\n\200", 7) == 7);
    CHECK(smtpc_message_scan(fd, &w, &eb) == 0 && w == 9 && eb == 1);
    CHECK(ftruncate(fd, 6) == 0);
    CHECK(smtpc_message_scan(fd, &w, &eb) == 0 && w == 8 && eb == 0);
    close(fd);
    unlink(path);
    CHECK(smtpc_message_scan(-1, &w, &eb) < 0);
  }

  smtpc_reply_free(&r);
  str_free(&big);
  return check_done();
}
