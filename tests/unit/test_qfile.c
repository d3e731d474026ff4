/* test_qfile.c: the parsers of sluice-send's queue files (qfile.h). */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "qfile.h"
#include "str.h"

static str mk(const char *s, size_t n)
{
  str r = STR_INIT;
  if (str_copyb(&r, s, n) < 0) r.len = 0;
  return r;
}
#define MK(lit) mk(lit, sizeof lit - 1)

static int info_ok(const char *s, size_t n)
{
  str f = mk(s, n);
  struct qfile_info in = { 0, 0, 0, STR_INIT };
  int r = qfile_info_parse(&f, &in);
  str_free(&f);
  str_free(&in.sender);
  return r == 0;
}
#define INFO_OK(lit) info_ok(lit, sizeof lit - 1)

static void test_info(void)
{
  str f = MK("b12\0u34\0p56\0Fa@b\0E\0");
  struct qfile_info in = { 0, 0, 0, STR_INIT };
  CHECK(qfile_info_parse(&f, &in) == 0);
  CHECK(in.birth == 12 && in.uid == 34 && in.pid == 56);
  CHECK_BYTES(in.sender.s, in.sender.len, "a@b");
  str_free(&f);
  str_free(&in.sender);
  CHECK(INFO_OK("F\0p1\0u2\0b3\0E\0")); /* any order, empty sender */
  CHECK(!INFO_OK("b12\0u34\0p56\0E\0"));        /* no sender */
  CHECK(!INFO_OK("b12\0u34\0p56\0Fa\0E\0x"));   /* trailing byte */
  CHECK(!INFO_OK("b12\0u34\0p56\0Fa\0E"));      /* E not ended */
  CHECK(!INFO_OK("b1x\0u34\0p56\0Fa\0E\0"));    /* bad number */
  CHECK(!INFO_OK("b\0u34\0p56\0Fa\0E\0"));      /* empty number */
  CHECK(!INFO_OK("b12\0u34\0p56\0Fa\0\0E\0"));  /* empty field */
  CHECK(!INFO_OK("b12\0u34\0p56\0Fa\0X\0E\0")); /* unknown field */
  CHECK(!INFO_OK(""));
  errno = 0;
  CHECK(!INFO_OK("x") && errno == EPROTO);
}

static void test_channel(void)
{
  char h[QFILE_HEADER_LEN];
  unsigned long next = 7;
  str f = STR_INIT;
  qfile_header_fmt(h, 1234567890UL);
  CHECK(h[0] == 'R' && h[QFILE_HEADER_LEN - 1] == 0);
  CHECK(memcmp(h + 1, "00000000001234567890", 20) == 0);
  CHECK(str_copyb(&f, h, sizeof h) == 0);
  CHECK(qfile_header_parse(&f, &next) == 0 && next == 1234567890UL);
  CHECK(qfile_records_valid(&f));
  CHECK(str_catb(&f, "Ta@b\0Dc\0", 8) == 0);
  CHECK(qfile_records_valid(&f));
  CHECK(str_catb(&f, "T\0", 2) == 0); /* empty address */
  CHECK(!qfile_records_valid(&f));
  f.len -= 2;
  CHECK(str_catb(&f, "Xa\0", 3) == 0); /* unknown mark */
  CHECK(!qfile_records_valid(&f));
  f.len -= 3;
  CHECK(str_catb(&f, "Ta", 2) == 0); /* not ended */
  CHECK(!qfile_records_valid(&f));
  f.len = QFILE_HEADER_LEN - 1;
  CHECK(qfile_header_parse(&f, &next) < 0);
  f.len = QFILE_HEADER_LEN;
  f.s[0] = 'Q';
  CHECK(qfile_header_parse(&f, &next) < 0);
  f.s[0] = 'R';
  f.s[5] = 'x';
  CHECK(qfile_header_parse(&f, &next) < 0);
  f.s[5] = '0';
  f.s[QFILE_HEADER_LEN - 1] = '0';
  CHECK(qfile_header_parse(&f, &next) < 0);
  str_free(&f);
}

struct seen { str all; int fail_at, n; };

static int rcpt(void *ctx, const char *a, size_t len)
{
  struct seen *s = ctx;
  if (++s->n == s->fail_at) { errno = EINVAL; return -1; }
  if (str_catb(&s->all, a, len) < 0 || str_catc(&s->all, '|') < 0) return -1;
  return 0;
}

static int env(const char *s, size_t n, int fail_at, str *all)
{
  str f = mk(s, n);
  struct qfile_info in = { 0, 0, 0, STR_INIT };
  struct seen sn = { STR_INIT, fail_at, 0 };
  int r = qfile_envelope_parse(&f, &in, rcpt, &sn);
  if (all) { str_free(all); *all = sn.all; } else str_free(&sn.all);
  str_free(&f);
  str_free(&in.sender);
  return r;
}
#define ENV(lit, fail, all) env(lit, sizeof lit - 1, fail, all)

static void test_envelope(void)
{
  str all = STR_INIT;
  CHECK(ENV("u1\0p2\0Fs@x\0Ta@b\0Tc@d\0", 0, &all) == 0);
  CHECK_BYTES(all.s, all.len, "a@b|c@d|");
  CHECK(ENV("u1\0p2\0F\0", 0, &all) == 0 && all.len == 0);   /* no recipient */
  CHECK(ENV("u1\0p2\0Fs\0Ta\0\0Tb\0", 0, &all) == 0);        /* stops at the empty field */
  CHECK_BYTES(all.s, all.len, "a|");
  CHECK(ENV("u1\0p2\0Fs\0Ta\0Tb", 0, &all) == 0);            /* unended last field ignored */
  CHECK_BYTES(all.s, all.len, "a|");
  CHECK(ENV("u1\0p2\0Ta\0Fs\0", 0, 0) < 0);                  /* T before F */
  CHECK(ENV("u1\0p2\0Fs\0T\0", 0, 0) < 0);                   /* empty recipient */
  CHECK(ENV("u1\0Fs\0Ta\0", 0, 0) < 0);                      /* no pid */
  CHECK(ENV("ux\0p2\0Fs\0", 0, 0) < 0);                      /* bad uid */
  CHECK(ENV("u1\0p2\0Fs\0Za\0", 0, 0) < 0);                  /* unknown field */
  errno = 0;
  CHECK(ENV("u1\0p2\0Fs\0Ta\0Tb\0", 2, 0) < 0 && errno == EINVAL); /* callback error */
  CHECK(ENV("", 0, 0) < 0);
  str_free(&all);
}

int main(void)
{
  test_info();
  test_channel();
  test_envelope();
  return check_done();
}
