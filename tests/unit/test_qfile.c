/* test_qfile.c: the parsers of sluice-send's queue files (qfile.h). */
#include <errno.h>
#include <string.h>

#include <sys/stat.h>

#include "check.h"
#include "qfile.h"
#include "queue.h"
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
  struct qfile_info in = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
  int r = qfile_info_parse(&f, &in);
  str_free(&f);
  str_free(&in.sender);
  str_free(&in.dsn);
  return r == 0;
}
#define INFO_OK(lit) info_ok(lit, sizeof lit - 1)

static void test_info(void)
{
  str f = MK("b12\0u34\0p56\0Fa@b\0E\0");
  struct qfile_info in = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
  CHECK(qfile_info_parse(&f, &in) == 0);
  CHECK(in.birth == 12 && in.uid == 34 && in.pid == 56);
  CHECK_BYTES(in.sender.s, in.sender.len, "a@b");
  str_free(&f);
  str_free(&in.sender);
  str_free(&in.dsn);
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

static void test_stamp(void)
{
  char b[QFILE_STAMP_MAX];
  unsigned long sec = 0, nsec = 0;
  str f = MK("b12\0u34\0p56\0s1764682233.000000042\0Fa@b\0E\0");
  struct qfile_info in = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
  CHECK(qfile_info_parse(&f, &in) == 0 && in.stamped && in.stamp_sec == 1764682233UL && in.stamp_nsec == 42);
  str_free(&f);
  f = MK("b12\0u34\0p56\0Fa@b\0E\0");
  CHECK(qfile_info_parse(&f, &in) == 0 && !in.stamped); /* from before stamps */
  str_free(&f);
  str_free(&in.sender);
  str_free(&in.dsn);
  CHECK(!INFO_OK("b1\0u1\0p1\0s1.2\0s1.2\0F\0E\0")); /* twice */
  CHECK(qfile_stamp_parse("12.5", 4, &sec, &nsec) == 0 && sec == 12 && nsec == 5);
  CHECK(qfile_stamp_parse("12.999999999", 12, &sec, &nsec) == 0 && nsec == 999999999UL);
  CHECK(qfile_stamp_parse("12.1000000000", 13, &sec, &nsec) < 0); /* 10 digits */
  CHECK(qfile_stamp_parse("12", 2, &sec, &nsec) < 0);
  CHECK(qfile_stamp_parse("12.", 3, &sec, &nsec) < 0);
  CHECK(qfile_stamp_parse(".5", 2, &sec, &nsec) < 0);
  CHECK(qfile_stamp_parse("1.2.3", 5, &sec, &nsec) < 0);
  CHECK(qfile_stamp_parse("1x.2", 4, &sec, &nsec) < 0);
  CHECK_BYTES(b, qfile_stamp_fmt(b, 1764682233UL, 42), "1764682233.000000042");
  CHECK_BYTES(b, qfile_stamp_fmt(b, 0, 0), "0.000000000");
  {
    str id = STR_INIT;
    CHECK(queue_msgid_cat(&id, 1572891, 1764682233UL, 42) == 0);
    CHECK_BYTES(id.s, id.len, "1572891.1764682233000000042");
    str_free(&id);
  }
  {
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = S_IFREG | 0640;
    st.st_ino = 77;
    st.st_uid = 5;
    st.st_mtim.tv_sec = 100;
    st.st_mtim.tv_nsec = 7;
    CHECK(queue_mess_is(&st, 77, 5) && !queue_mess_is(&st, 78, 5) && !queue_mess_is(&st, 77, 6));
    st.st_mode = S_IFDIR | 0750;
    CHECK(!queue_mess_is(&st, 77, 5));
    CHECK(queue_mess_committed(&st, 1, 100, 7, 0));
    CHECK(!queue_mess_committed(&st, 1, 100, 8, 200)); /* another file's time, however old */
    CHECK(!queue_mess_committed(&st, 1, 99, 7, 200));
    CHECK(queue_mess_committed(&st, 0, 0, 0, 100));    /* no stamp: not after the envelope */
    CHECK(!queue_mess_committed(&st, 0, 0, 0, 99));
  }
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
  struct qfile_info in = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
  struct seen sn = { STR_INIT, fail_at, 0 };
  int r = qfile_envelope_parse(&f, &in, rcpt, &sn);
  if (all) { str_free(all); *all = sn.all; } else str_free(&sn.all);
  str_free(&f);
  str_free(&in.sender);
  str_free(&in.dsn);
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
  CHECK(ENV("u1\0p2\0s5.000000006\0Fs\0Ta\0", 0, &all) == 0);
  CHECK_BYTES(all.s, all.len, "a|");
  CHECK(ENV("u1\0p2\0Fs\0s5.6\0Ta\0", 0, 0) < 0);        /* stamp after F */
  CHECK(ENV("u1\0p2\0s5\0Fs\0Ta\0", 0, 0) < 0);          /* bad stamp */
  {
    str f = MK("u1\0p2\0s5.000000006\0Fs\0Ta\0");
    struct qfile_info in = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
    CHECK(qfile_envelope_parse(&f, &in, 0, 0) == 0 && in.stamped && in.stamp_sec == 5 && in.stamp_nsec == 6);
    str_free(&f);
    str_free(&in.sender);
    str_free(&in.dsn);
  }
  str_free(&all);
}

/* The "O" field: SMTPUTF8 and the letters' rules, in info files and
 * envelopes; a file without it (written before options) has none. */
static void test_options(void)
{
  char b[QFILE_OPTIONS_MAX];
  unsigned o = 7;
  str f = MK("b12\0u34\0p56\0s1.000000002\0OU\0Fa@b\0E\0");
  struct qfile_info in = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
  CHECK(qfile_info_parse(&f, &in) == 0 && in.options == QFILE_OPT_SMTPUTF8);
  str_free(&f);
  f = MK("b12\0u34\0p56\0Fa@b\0E\0");
  CHECK(qfile_info_parse(&f, &in) == 0 && in.options == 0); /* old info: none, reset */
  str_free(&f);
  f = MK("u1\0p2\0s5.000000006\0OU\0F\xc3\xa9@x\0Ta\0");
  CHECK(qfile_envelope_parse(&f, &in, 0, 0) == 0 && in.options == QFILE_OPT_SMTPUTF8);
  str_free(&f);
  f = MK("u1\0p2\0Fs\0Ta\0");
  CHECK(qfile_envelope_parse(&f, &in, 0, 0) == 0 && in.options == 0);
  str_free(&f);
  str_free(&in.sender);
  str_free(&in.dsn);
  CHECK(INFO_OK("b1\0u1\0p1\0F\0OU\0E\0"));          /* any order in info */
  CHECK(!INFO_OK("b1\0u1\0p1\0OU\0OU\0F\0E\0"));    /* twice */
  CHECK(!INFO_OK("b1\0u1\0p1\0O\0F\0E\0"));          /* no letter */
  CHECK(!INFO_OK("b1\0u1\0p1\0OX\0F\0E\0"));         /* unknown letter */
  CHECK(!INFO_OK("b1\0u1\0p1\0OUU\0F\0E\0"));        /* letter repeated */
  CHECK(ENV("u1\0p2\0OU\0Fs\0Ta\0", 0, 0) == 0);
  CHECK(ENV("u1\0p2\0Fs\0OU\0Ta\0", 0, 0) < 0);       /* after F */
  CHECK(ENV("u1\0p2\0OU\0OU\0Fs\0Ta\0", 0, 0) < 0);  /* twice */
  CHECK(ENV("u1\0p2\0Ou\0Fs\0Ta\0", 0, 0) < 0);       /* unknown letter */
  CHECK(qfile_options_parse("", 0, &o) == 0 && o == 0);
  CHECK(qfile_options_parse("U", 1, &o) == 0 && o == QFILE_OPT_SMTPUTF8);
  errno = 0;
  CHECK(qfile_options_parse("UU", 2, &o) < 0 && errno == EPROTO);
  CHECK(qfile_options_parse("U\0", 2, &o) < 0);
  CHECK(qfile_options_fmt(b, 0) == 0);
  CHECK_BYTES(b, qfile_options_fmt(b, QFILE_OPT_SMTPUTF8), "U");
  CHECK_BYTES(b, qfile_options_fmt(b, QFILE_OPT_SMTPUTF8 | 0x100), "U"); /* unknown bits left out */
}

struct seen_rcpt {
  struct qfile_info *in;
  str log;
};

/* Records each recipient with its NOTIFY and ORCPT as "addr/notify/orcpt;". */
static int dsn_rcpt(void *ctx, const char *addr, size_t len)
{
  struct seen_rcpt *sr = ctx;
  if (str_catb(&sr->log, addr, len) < 0 || str_catc(&sr->log, '/') < 0
      || str_catb(&sr->log, sr->in->notify ? sr->in->notify : "", sr->in->notify_len) < 0 || str_catc(&sr->log, '/') < 0
      || str_catb(&sr->log, sr->in->orcpt ? sr->in->orcpt : "", sr->in->orcpt_len) < 0 || str_catc(&sr->log, ';') < 0)
    return -1;
  return 0;
}

static void test_dsn(void)
{
  struct qfile_info in = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
  struct seen_rcpt sr = { &in, STR_INIT };
  static const char env[] = "u1\0p2\0OHU\0Ienv 1\0Fs@x\0NSF\0Rrfc822;o@y\0Ta@z\0Tb@z\0RX;q\0Tc@z\0";
  static const char info[] = "b1\0u1\0p2\0OB\0Ienv\0DN  a@z\0DSF rfc822;o+40y b c@z\0Fs@x\0E\0";
  str e = mk(env, sizeof env - 1), i = mk(info, sizeof info - 1), o = STR_INIT, d = STR_INIT;
  const char *n, *ev;
  size_t nl;

  CHECK(qfile_envelope_parse(&e, &in, dsn_rcpt, &sr) == 0);
  CHECK_BYTES(sr.log.s, sr.log.len, "a@z/SF/rfc822;o@y;b@z//;c@z//X;q;");
  CHECK(in.options == (QFILE_OPT_SMTPUTF8 | QFILE_OPT_RET_HDRS));
  CHECK(in.dsn.len == 7 && memcmp(in.dsn.s, "Ienv 1", 7) == 0);
  /* bad: N before F, N repeated, a bad letter, I after F */
  str_free(&e);
  e = MK("u1\0p2\0NS\0Fs@x\0Ta@z\0");
  CHECK(qfile_envelope_parse(&e, &in, dsn_rcpt, &sr) < 0 && errno == EPROTO);
  str_free(&e);
  e = MK("u1\0p2\0Fs@x\0NS\0NF\0Ta@z\0");
  CHECK(qfile_envelope_parse(&e, &in, dsn_rcpt, &sr) < 0);
  str_free(&e);
  e = MK("u1\0p2\0Fs@x\0NNS\0Ta@z\0");
  CHECK(qfile_envelope_parse(&e, &in, dsn_rcpt, &sr) < 0);
  str_free(&e);
  e = MK("u1\0p2\0Fs@x\0Ie\0Ta@z\0");
  CHECK(qfile_envelope_parse(&e, &in, dsn_rcpt, &sr) < 0);

  CHECK(qfile_info_parse(&i, &in) == 0 && in.options == QFILE_OPT_RET_FULL);
  CHECK(qfile_dsn_envid(&in.dsn, &ev) == 3 && memcmp(ev, "env", 3) == 0);
  CHECK(qfile_dsn_find(&in.dsn, "a@z", 3, &n, &nl, &o) == 1 && nl == 1 && n[0] == 'N' && o.len == 0);
  CHECK(qfile_dsn_find(&in.dsn, "b c@z", 5, &n, &nl, &o) == 1 && nl == 2);
  CHECK_BYTES(o.s, o.len, "rfc822;o@y");
  CHECK(qfile_dsn_find(&in.dsn, "c@z", 3, &n, &nl, &o) == 0);
  /* written by qfile_dsn_cat, found again */
  CHECK(qfile_dsn_cat(&d, "", 0, "x;a b+", 6, "r@z", 3) == 0);
  CHECK(d.len == 17 && memcmp(d.s, "D x;a+20b+2B r@z\0", 17) == 0);
  CHECK(qfile_dsn_find(&d, "r@z", 3, &n, &nl, &o) == 1 && nl == 0);
  CHECK_BYTES(o.s, o.len, "x;a b+");
  CHECK(qfile_dsn_envid(&d, &ev) == 0 && ev == 0);
  /* old files: no DSN field */
  str_free(&i);
  i = MK("b1\0u1\0p2\0Fs@x\0E\0");
  CHECK(qfile_info_parse(&i, &in) == 0 && in.dsn.len == 0);
  /* a D field after F is not an info file */
  str_free(&i);
  i = MK("b1\0u1\0p2\0Fs@x\0DN  a\0E\0");
  CHECK(qfile_info_parse(&i, &in) < 0);
  CHECK(qfile_dsn_wants_success(&d) == 0);
  CHECK(qfile_dsn_cat(&d, "SF", 2, "", 0, "r@z", 3) == 0 && qfile_dsn_wants_success(&d) == 1);
  str_truncate(&d, 0);
  CHECK(qfile_dsn_cat(&d, "F", 1, "", 0, "S@z", 3) == 0 && qfile_dsn_wants_success(&d) == 0); /* an S in the address */
  CHECK(qfile_notify_valid("N", 1) && qfile_notify_valid("DSF", 3) && !qfile_notify_valid("NS", 2)
        && !qfile_notify_valid("", 0) && !qfile_notify_valid("SS", 2) && !qfile_notify_valid("X", 1));
  str_free(&e);
  str_free(&i);
  str_free(&o);
  str_free(&d);
  str_free(&sr.log);
  str_free(&in.sender);
  str_free(&in.dsn);
}

int main(void)
{
  test_dsn();
  test_info();
  test_stamp();
  test_channel();
  test_envelope();
  test_options();
  return check_done();
}
