/* test_smtpc.c: the SMTP reply reader, enhanced codes, EHLO keywords,
 * the DATA encoder and the message scan. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "byte.h"
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
  char imem[7], omem[5]; /* tiny blocks: exercise the edges */
  static char got[60000]; /* below a pipe's capacity: nothing blocks */
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

/* The reference of the DATA encoding, written another way: the message
 * cut into lines (LF or CR LF ends one, another CR is a space), each
 * line cut into pieces of SMTPC_LINE_MAX bytes, then SMTPC_LINE_MAX - 1
 * after a space; a dot doubled at the start of a line of the message. */
static void reference(const char *s, size_t n, str *o)
{
  str line = STR_INIT;
  size_t i = 0;
  str_truncate(o, 0);
  while (i < n) {
    size_t k, piece;
    str_truncate(&line, 0);
    for (; i < n; ++i) {
      if (s[i] == '\n') { ++i; break; }
      if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') { i += 2; break; }
      str_catc(&line, s[i] == '\r' ? ' ' : s[i]);
    }
    if (line.len && line.s[0] == '.') str_catc(o, '.');
    for (k = 0; k < line.len; k += piece) {
      piece = k == 0 ? SMTPC_LINE_MAX : SMTPC_LINE_MAX - 1;
      if (piece > line.len - k) piece = line.len - k;
      if (k) str_catb(o, "\r\n ", 3);
      str_catb(o, line.s + k, piece);
    }
    str_catb(o, "\r\n", 2);
  }
  str_catb(o, ".\r\n", 3);
  str_free(&line);
}

/* 1 when smtpc_data_copy of s[0..n) is the reference, every line on
 * the wire has at most SMTPC_LINE_MAX bytes besides a stuffed dot, and
 * smtpc_message_scan counts its size (less the stuffed dots and the
 * final dot line). */
static int long_ok(const char *s, size_t n)
{
  str want = STR_INIT;
  char path[] = "/tmp/sluice-smtpc.XXXXXX";
  struct smtpc_scan sc;
  size_t i, start = 0, dots = 0;
  int fd, ok;
  reference(s, n, &want);
  ok = data_is(s, n, want.s, want.len);
  for (i = 0; i + 1 < want.len; ++i) {
    if (want.s[i] != '\r' || want.s[i + 1] != '\n') continue;
    if (want.s[start] == '.' && i > start && (want.s[start + 1] == '.' || i - start == 1)) ++dots;
    if (i - start > SMTPC_LINE_MAX + (want.s[start] == '.')) ok = 0;
    start = i + 2;
  }
  /* the dots counted include the final line's */
  fd = mkstemp(path);
  if (fd < 0 || write(fd, s, n) != (ssize_t)n || smtpc_message_scan(fd, &sc) < 0) ok = 0;
  else if (sc.wire != want.len - 3 - (dots - 1)) ok = 0;
  if (fd >= 0) close(fd);
  unlink(path);
  str_free(&want);
  return ok;
}

/* The DATA content of s[0..n) as smtpc_data_copy writes it, into o. */
static int data_of(const char *s, size_t n, str *o)
{
  int in[2], out[2], ok;
  char imem[7], omem[5];
  static char got[60000];
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
  return ok && g >= 0 && str_copyb(o, got, (size_t)g) == 0;
}

/* 1 when the BDAT chunks of s[0..n), taken with smtpc_encode_chunk
 * for a chunk target of target bytes through an input block of bsize
 * bytes, join to the DATA content without its stuffed dots and final
 * dot line; every chunk but the last reaches the target, the last
 * (and only the last) returns 0, and the total is smtpc_message_scan's
 * size, which SIZE= declares. */
static int bdat_ok(const char *s, size_t n, size_t target, size_t bsize)
{
  str data = STR_INIT, want = STR_INIT, got = STR_INIT, chunk = STR_INIT;
  char imem[64];
  char path[] = "/tmp/sluice-smtpc.XXXXXX";
  struct smtpc_encoder e;
  struct smtpc_scan sc;
  size_t i, start = 0, calls = 0;
  int p[2], ok = 1, r, fd;
  buf bi;

  if (bsize > sizeof imem || !data_of(s, n, &data) || data.len < 3) return 0;
  /* undo the stuffing: a line starting with a dot loses one */
  for (i = 0; i + 1 < data.len - 3 + 1; ++i) {
    if (data.s[i] != '\r' || data.s[i + 1] != '\n') continue;
    if (data.s[start] == '.') str_catb(&want, data.s + start + 1, i + 2 - start - 1);
    else str_catb(&want, data.s + start, i + 2 - start);
    start = i + 2;
  }
  if (start != data.len - 3 || !byte_equal(data.s + start, ".\r\n", 3)) ok = 0;
  if (pipe(p) < 0) return 0;
  if (n && write(p[1], s, n) != (ssize_t)n) return 0;
  close(p[1]);
  buf_init(&bi, p[0], imem, bsize);
  smtpc_encoder_init(&e, 0);
  do {
    str_truncate(&chunk, 0);
    r = smtpc_encode_chunk(&e, &bi, &chunk, target);
    if (r == 1 && chunk.len < target) ok = 0;
    if (r < 0 || ++calls > n + 2) { ok = 0; break; }
    str_cat(&got, &chunk);
  } while (r == 1);
  close(p[0]);
  if (got.len != want.len || (want.len && memcmp(got.s, want.s, want.len) != 0)) ok = 0;
  fd = mkstemp(path);
  if (fd < 0 || (n && write(fd, s, n) != (ssize_t)n) || smtpc_message_scan(fd, &sc) < 0 || sc.wire != got.len) ok = 0;
  if (fd >= 0) close(fd);
  unlink(path);
  str_free(&data);
  str_free(&want);
  str_free(&got);
  str_free(&chunk);
  return ok;
}

#define BDAT_IS(s, w) bdat_is((s), sizeof(s) - 1, (w), sizeof(w) - 1)
#define BDAT_ALL(s) bdat_all((s), sizeof(s) - 1)

/* bdat_ok for several targets and input blocks. */
static int bdat_all(const char *s, size_t n)
{
  static const size_t targets[] = { 1, 2, 3, 7, 100, 999, 4096, 1048576 };
  static const size_t blocks[] = { 1, 2, 7, 64 };
  for (size_t t = 0; t < sizeof targets / sizeof targets[0]; ++t)
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; ++b)
      if (!bdat_ok(s, n, targets[t], blocks[b])) return 0;
  return 1;
}

/* The BDAT content of the whole of s (one chunk) is want. */
static int bdat_is(const char *s, size_t n, const char *want, size_t wantlen)
{
  str chunk = STR_INIT;
  struct smtpc_encoder e;
  char imem[16];
  int p[2], r, ok;
  buf bi;
  if (pipe(p) < 0) return 0;
  if (n && write(p[1], s, n) != (ssize_t)n) return 0;
  close(p[1]);
  buf_init(&bi, p[0], imem, sizeof imem);
  smtpc_encoder_init(&e, 0);
  r = smtpc_encode_chunk(&e, &bi, &chunk, 1048576);
  close(p[0]);
  ok = r == 0 && chunk.len == wantlen && (!wantlen || memcmp(chunk.s, want, wantlen) == 0);
  str_free(&chunk);
  return ok;
}

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
  /* AUTH and its mechanisms, also in the old "AUTH=" form */
  CHECK(REPLY("250-x\r\n250-AUTH CRAM-MD5 login plain\r\n250 OK\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.auth == 1 && e.auth_plain == 1 && e.auth_login == 1);
  CHECK(REPLY("250-x\r\n250-AUTH=LOGIN\r\n250 OK\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.auth == 1 && e.auth_plain == 0 && e.auth_login == 1);
  CHECK(REPLY("250-x\r\n250-AUTH XPLAIN LOGINX\r\n250 AUTHX PLAIN\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.auth == 1 && e.auth_plain == 0 && e.auth_login == 0);
  CHECK(REPLY("250-x\r\n250 AUTH\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.auth == 1 && e.auth_plain == 0 && e.auth_login == 0);
  CHECK(REPLY("250-x\r\n250 AUTHENTICATE PLAIN\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.auth == 0 && e.auth_plain == 0);
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

  /* long lines: broken by CR LF SPACE after SMTPC_LINE_MAX bytes, the
   * stuffed dot not counted; lines of every length around the limits */
  {
    static char m[20000];
    static const size_t lens[] = { 997, 998, 999, 1000, 1994, 1995, 1996, 1997, 2992, 2993, 5000 };
    CHECK(smtpc_line_breaks(998) == 0 && smtpc_line_breaks(999) == 1 && smtpc_line_breaks(1995) == 1);
    CHECK(smtpc_line_breaks(1996) == 2 && smtpc_line_breaks(5000) == 5 && smtpc_line_breaks(0) == 0);
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; ++k) {
      size_t L = lens[k];
      for (int variant = 0; variant < 6; ++variant) {
        size_t n = 0, j;
        /* a header line, a body line, of L bytes each */
        memcpy(m + n, "Subject: ", 9);
        n += 9;
        for (j = 9; j < L; ++j) m[n++] = (char)('a' + j % 26);
        m[n++] = '\n';
        m[n++] = '\n';
        for (j = 0; j < L; ++j) m[n++] = (char)('A' + j % 26);
        if (variant == 1) m[n - L] = '.';                 /* the body line starts with a dot */
        if (variant == 2) m[n - L + SMTPC_LINE_MAX] = '.'; /* a dot right after a break */
        if (variant == 3) m[n - L + SMTPC_LINE_MAX - 1] = '\r'; /* a bare CR at the break */
        if (variant == 4) m[n++] = '\r';                 /* CR LF line end */
        if (variant != 5) m[n++] = '\n';                 /* 5: no line end at all */
        memcpy(m + n, ".\n", 2);
        n += 2;
        CHECK(long_ok(m, n));
        if (!long_ok(m, n)) break;
      }
    }
    /* the exact bytes of a 999-byte line: 998, CR LF SPACE, the last byte */
    {
      str t = STR_INIT, w = STR_INIT;
      for (size_t j = 0; j < 999; ++j) str_catc(&t, j == 998 ? 'z' : 'x');
      str_copyb(&w, t.s, 998);
      str_cats(&w, "\r\n z\r\n.\r\n");
      CHECK(data_is(t.s, t.len, w.s, w.len));
      /* and starting with a dot: the dot is doubled and not counted */
      t.s[0] = '.';
      str_copys(&w, ".");
      str_catb(&w, t.s, 998);
      str_cats(&w, "\r\n z\r\n.\r\n");
      CHECK(data_is(t.s, t.len, w.s, w.len));
      str_free(&t);
      str_free(&w);
    }
  }

  /* EHLO: DSN and CHUNKING */
  CHECK(REPLY("250-mx.example\r\n250-DSN\r\n250 chunking\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.dsn == 1 && e.chunking == 1);
  CHECK(REPLY("250-mx.example\r\n250-DSNX\r\n250 CHUNKINGX\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.dsn == 0 && e.chunking == 0);
  CHECK(REPLY("250-DSN\r\n250 CHUNKING\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e); /* the first line is the server's name */
  CHECK(e.dsn == 0 && e.chunking == 1);

  /* EHLO: SMTPUTF8 */
  CHECK(REPLY("250-mx.example\r\n250-SMTPUTF8\r\n250 8BITMIME\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.smtputf8 == 1 && e.eightbitmime == 1);
  CHECK(REPLY("250-mx.example\r\n250-smtputf8\r\n250 SMTPUTF8X\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.smtputf8 == 1);
  CHECK(REPLY("250-mx.example\r\n250 SMTPUTF8X\r\n", &r, &rest) == 0);
  smtpc_ehlo_parse(&r, &e);
  CHECK(e.smtputf8 == 0);

  /* message scan */
  {
    char path[] = "/tmp/sluice-smtpc.XXXXXX";
    int fd = mkstemp(path);
    struct smtpc_scan sc;
    CHECK(fd >= 0);
    /* the size as sent: CR LF line ends, the final one added */
    CHECK(write(fd, "ab\ncd\n\200", 7) == 7);
    CHECK(smtpc_message_scan(fd, &sc) == 0 && sc.wire == 11 && sc.eightbit == 1 && sc.header8bit == 1);
    CHECK(ftruncate(fd, 6) == 0);
    CHECK(smtpc_message_scan(fd, &sc) == 0 && sc.wire == 8 && sc.eightbit == 0 && sc.header8bit == 0);
    /* a CR LF of an old queue counts once; 8-bit bytes in the body only */
    CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
    CHECK(write(fd, "H: v\r\n\r\n\303\251\n", 10) == 10);
    CHECK(smtpc_message_scan(fd, &sc) == 0 && sc.wire == 12 && sc.eightbit == 1 && sc.header8bit == 0);
    /* ... and in the header */
    CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
    CHECK(write(fd, "A: b\nS: \303\251\n\nx\n", 14) == 14);
    CHECK(smtpc_message_scan(fd, &sc) == 0 && sc.eightbit == 1 && sc.header8bit == 1);
    close(fd);
    unlink(path);
    CHECK(smtpc_message_scan(-1, &sc) < 0);
  }

  /* BDAT content (RFC 3030): DATA's bytes without the stuffed dots and
   * the final dot line, in chunks of any size */
  CHECK(BDAT_IS("a\n.b\n..c\n.\n", "a\r\n.b\r\n..c\r\n.\r\n"));
  CHECK(bdat_is("", 0, "", 0));
  CHECK(BDAT_IS("x", "x\r\n"));
  CHECK(BDAT_IS("x\r", "x \r\n"));
  CHECK(BDAT_IS("a\r\nb\rc\n", "a\r\nb c\r\n"));
  CHECK(bdat_all("", 0));
  CHECK(bdat_all("\n", 1));
  CHECK(bdat_all(".", 1));
  CHECK(BDAT_ALL("Subject: t\n\n.leading dot\n..two\n.\nend without newline"));
  CHECK(BDAT_ALL("a\r\n.\r\n\r.\r\r\n\n\n."));
  {
    static char m[12000];
    size_t k, n = 0;
    /* long lines, dots after breaks, bare CRs at block edges */
    for (k = 0; k < 3000; ++k) m[n++] = k % 997 == 0 ? '.' : (char)('a' + k % 26);
    m[n++] = '\n';
    m[n++] = '.';
    for (k = 0; k < 2000; ++k) m[n++] = k % 500 == 0 ? '\r' : 'x';
    m[n++] = '\r';
    CHECK(bdat_all(m, n));
  }
  {
    /* the chunk target is reached, and the message ends right there: that
     * chunk is the last (0), no empty chunk follows */
    str chunk = STR_INIT;
    struct smtpc_encoder enc;
    char imem[4];
    int p[2];
    buf bi;
    CHECK(pipe(p) == 0 && write(p[1], "abc\n", 4) == 4);
    close(p[1]);
    buf_init(&bi, p[0], imem, sizeof imem);
    smtpc_encoder_init(&enc, 0);
    CHECK(smtpc_encode_chunk(&enc, &bi, &chunk, 5) == 0 && chunk.len == 5);
    close(p[0]);
    str_free(&chunk);
  }

  smtpc_reply_free(&r);
  str_free(&big);
  return check_done();
}
