/* test_smtpd.c: the library modules of sluice-smtpd: the command parser
 * (smtpd_cmd), the DATA state machine (smtpd_data), the reply and
 * Received texts (smtpd_text) and the cdb lookups (smtpd_rcpt). */
#include <string.h>
#include <sys/wait.h>

#include "addr.h"
#include "cdb.h"
#include "cdb_make.h"
#include "check.h"
#include "file.h"
#include "smtpd_cmd.h"
#include "smtpd_data.h"
#include "smtpd_rcpt.h"
#include "smtpd_text.h"
#include "str.h"
#include "xtext.h"

static int verb_of(const char *line, size_t *arg)
{
  return smtpd_verb(line, strlen(line), arg);
}

static void test_verbs(void)
{
  size_t arg;
  CHECK(verb_of("EHLO example.com", &arg) == SMTPD_EHLO && arg == 5);
  CHECK(verb_of("ehlo   x", &arg) == SMTPD_EHLO && arg == 7);
  CHECK(verb_of("HeLo x", &arg) == SMTPD_HELO);
  CHECK(verb_of("MAIL FROM:<a@b>", &arg) == SMTPD_MAIL && arg == 5);
  CHECK(verb_of("rcpt to:<a@b>", &arg) == SMTPD_RCPT);
  CHECK(verb_of("DATA", &arg) == SMTPD_DATA && arg == 4);
  CHECK(verb_of("RSET", &arg) == SMTPD_RSET);
  CHECK(verb_of("NOOP hello", &arg) == SMTPD_NOOP);
  CHECK(verb_of("QUIT", &arg) == SMTPD_QUIT);
  CHECK(verb_of("VRFY x", &arg) == SMTPD_VRFY);
  CHECK(verb_of("HELP", &arg) == SMTPD_HELP);
  CHECK(verb_of("EXPN x", &arg) == SMTPD_EXPN);
  CHECK(verb_of("DATAX", &arg) == SMTPD_UNKNOWN);
  CHECK(verb_of("DAT", &arg) == SMTPD_UNKNOWN);
  CHECK(verb_of("", &arg) == SMTPD_UNKNOWN && arg == 0);
  CHECK(verb_of("STARTTLS", &arg) == SMTPD_STARTTLS);
  CHECK(verb_of("starttls", &arg) == SMTPD_STARTTLS);
  CHECK(verb_of("STARTTLSX", &arg) == SMTPD_UNKNOWN);
  CHECK(verb_of("AUTH PLAIN", &arg) == SMTPD_AUTH && arg == 5);
  CHECK(verb_of("auth", &arg) == SMTPD_AUTH);
  CHECK(verb_of("STAR", &arg) == SMTPD_UNKNOWN);
  CHECK(smtpd_verb("NOOP\0x", 6, &arg) == SMTPD_UNKNOWN);
  CHECK(smtpd_verb("DATA", 3, &arg) == SMTPD_UNKNOWN); /* the range is respected */
}

static int mail(const char *arg, str *addr, struct smtpd_mail_params *p)
{
  return smtpd_parse_mail(arg, strlen(arg), addr, p);
}

static void test_mail(void)
{
  str a = STR_INIT, reply = STR_INIT;
  struct smtpd_mail_params p;

  memset(&p, 0, sizeof p);
  CHECK(mail("FROM:<a@b.example>", &a, &p) == SMTPD_OK);
  CHECK_BYTES(a.s, a.len, "a@b.example");
  CHECK(!p.size_given && p.body == SMTPD_BODY_NONE && !p.smtputf8);
  CHECK(mail("from: <a@b.example>", &a, &p) == SMTPD_OK);
  CHECK_BYTES(a.s, a.len, "a@b.example");
  CHECK(mail("FROM:<>", &a, &p) == SMTPD_OK && a.len == 0);
  CHECK(mail("FROM:a@b.example", &a, &p) == SMTPD_OK); /* lenient */
  CHECK(mail("FROM:<a@b.example> SIZE=12345 BODY=8BITMIME", &a, &p) == SMTPD_OK);
  CHECK(p.size_given && p.size == 12345 && p.body == SMTPD_BODY_8BITMIME);
  CHECK(mail("FROM:<a@b.example> body=7bit size=0", &a, &p) == SMTPD_OK && p.body == SMTPD_BODY_7BIT && p.size == 0);
  CHECK(mail("FROM:<a@b.example> SIZE=99999999999999999999999999", &a, &p) == SMTPD_OK && p.size_overflow);
  CHECK(mail("FROM:<a@b.example> SIZE=12x", &a, &p) == SMTPD_EPARAMVAL && a.len == 0);
  CHECK(mail("FROM:<a@b.example> SIZE=", &a, &p) == SMTPD_EPARAMVAL);
  CHECK(mail("FROM:<a@b.example> SIZE=-1", &a, &p) == SMTPD_EPARAMVAL);
  CHECK(mail("FROM:<a@b.example> SIZE=1 SIZE=2", &a, &p) == SMTPD_EPARAM);
  CHECK(mail("FROM:<a@b.example> BODY=BINARYMIME", &a, &p) == SMTPD_EPARAMVAL);
  CHECK(mail("FROM:<a@b.example> AUTH=<>", &a, &p) == SMTPD_OK && p.auth_given);
  CHECK(mail("FROM:<a@b.example> auth=bob+40b.example SIZE=1", &a, &p) == SMTPD_OK && p.auth_given && p.size == 1);
  CHECK(mail("FROM:<a@b.example>", &a, &p) == SMTPD_OK && !p.auth_given);
  CHECK(mail("FROM:<a@b.example> AUTH=<> AUTH=<>", &a, &p) == SMTPD_EPARAM);
  CHECK(mail("FROM:<a@b.example> AUTH", &a, &p) == SMTPD_EPARAMVAL);
  CHECK(mail("FROM:<a@b.example> AUTH=", &a, &p) == SMTPD_EPARAMVAL);
  CHECK(mail("FROM:<a@b.example> SMTPUTF8=yes", &a, &p) == SMTPD_EPARAMVAL);
  CHECK(mail("FROM:<a@b.example>junk", &a, &p) == SMTPD_EADDR);
  CHECK(mail("FROM <a@b.example>", &a, &p) == SMTPD_ESYNTAX);
  CHECK(mail("TO:<a@b.example>", &a, &p) == SMTPD_ESYNTAX);
  CHECK(mail("", &a, &p) == SMTPD_ESYNTAX);
  CHECK(mail("FROM:<a@>", &a, &p) == SMTPD_EADDR);
  CHECK(smtpd_parse_mail("FROM:<a@b\0>", 11, &a, &p) == SMTPD_ENUL);
  /* 8-bit addresses need SMTPUTF8 */
  CHECK(mail("FROM:<j\xc3\xb6rg@b.example>", &a, &p) == SMTPD_EADDR && p.addr_error == ADDR_E8BIT);
  CHECK(smtpd_error_reply(&reply, SMTPD_EADDR, p.addr_error, 1) == 0);
  CHECK(reply.len > 9 && memcmp(reply.s, "553 5.6.7", 9) == 0);
  CHECK(mail("FROM:<j\xc3\xb6rg@b.example> SMTPUTF8", &a, &p) == SMTPD_OK && p.smtputf8);
  CHECK_BYTES(a.s, a.len, "j\xc3\xb6rg@b.example");
  CHECK(mail("FROM:<j\xc3rg@b.example> SMTPUTF8", &a, &p) == SMTPD_EADDR && p.addr_error == ADDR_EUTF8);
  /* too long a local part */
  CHECK(mail("FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b>", &a, &p) == SMTPD_EADDR);
  CHECK(smtpd_error_reply(&reply, SMTPD_EADDR, p.addr_error, 1) == 0);
  CHECK(reply.len > 9 && memcmp(reply.s, "501 5.1.7", 9) == 0);
  CHECK(smtpd_error_reply(&reply, SMTPD_EPARAM, 0, 1) == 0 && memcmp(reply.s, "555 5.5.4", 9) == 0);
  CHECK(smtpd_error_reply(&reply, SMTPD_ESYNTAX, 0, 0) == 0 && memcmp(reply.s, "501 5.5.4", 9) == 0);
  str_free(&a);
  str_free(&reply);
}

static void test_dsn_params(void)
{
  str a = STR_INIT, rec = STR_INIT;
  struct smtpd_mail_params p;
  struct smtpd_rcpt_params rp;
  int e;

  memset(&p, 0, sizeof p);
  memset(&rp, 0, sizeof rp);
  CHECK(mail("FROM:<a@b.example> RET=HDRS ENVID=QQ314159", &a, &p) == SMTPD_OK);
  CHECK(p.ret == SMTPD_RET_HDRS && p.envid_given && p.envid.len == 8);
  CHECK(mail("FROM:<a@b.example> ret=full envid=a+2Bb+3Dc+20d", &a, &p) == SMTPD_OK);
  CHECK(p.ret == SMTPD_RET_FULL);
  CHECK_BYTES(p.envid.s, p.envid.len, "a+b=c d");
  CHECK(mail("FROM:<a@b.example>", &a, &p) == SMTPD_OK && p.ret == SMTPD_RET_NONE && !p.envid_given && p.envid.len == 0);
  CHECK(mail("FROM:<a@b.example> RET=BODY", &a, &p) == SMTPD_EPARAMVAL);
  CHECK(mail("FROM:<a@b.example> RET", &a, &p) == SMTPD_EPARAMVAL);
  CHECK(mail("FROM:<a@b.example> RET=FULL RET=HDRS", &a, &p) == SMTPD_EPARAM);
  CHECK(mail("FROM:<a@b.example> ENVID=", &a, &p) == SMTPD_EPARAMVAL);
  CHECK(mail("FROM:<a@b.example> ENVID=a+2", &a, &p) == SMTPD_EPARAMVAL);
  CHECK(mail("FROM:<a@b.example> ENVID=a+2b", &a, &p) == SMTPD_EPARAMVAL);  /* lower-case hex */
  CHECK(mail("FROM:<a@b.example> ENVID=a+0A", &a, &p) == SMTPD_EPARAMVAL);  /* LF decoded */
  CHECK(mail("FROM:<a@b.example> ENVID=a=b", &a, &p) == SMTPD_EPARAMVAL);
  CHECK(mail("FROM:<a@b.example> ENVID=x ENVID=y", &a, &p) == SMTPD_EPARAM);
  {
    char big[140] = "FROM:<a@b.example> ENVID=";
    size_t k = strlen(big);
    while (k < 25 + 101) big[k++] = 'x';
    CHECK(smtpd_parse_mail(big, k, &a, &p) == SMTPD_EPARAMVAL);
    CHECK(smtpd_parse_mail(big, k - 1, &a, &p) == SMTPD_OK && p.envid.len == 100);
  }

#define R(t) smtpd_parse_rcpt(t, strlen(t), 0, &a, &e, &rp)
  CHECK(R("TO:<u@example.org> NOTIFY=NEVER") == SMTPD_OK && rp.notify == SMTPD_NOTIFY_NEVER && !rp.orcpt_given);
  CHECK(R("TO:<u@example.org> NOTIFY=success,Failure,DELAY") == SMTPD_OK
        && rp.notify == (SMTPD_NOTIFY_SUCCESS | SMTPD_NOTIFY_FAILURE | SMTPD_NOTIFY_DELAY));
  CHECK(R("TO:<u@example.org> ORCPT=rfc822;u+40example.org NOTIFY=FAILURE") == SMTPD_OK && rp.notify == SMTPD_NOTIFY_FAILURE);
  CHECK(rp.orcpt_given);
  CHECK_BYTES(rp.orcpt.s, rp.orcpt.len, "rfc822;u@example.org");
  CHECK(smtpd_rcpt_records_cat(&rec, &rp) == 0);
  CHECK(rec.len == 25 && memcmp(rec.s, "NF\0Rrfc822;u@example.org\0", 25) == 0);
  CHECK(R("TO:<u@example.org>") == SMTPD_OK && rp.notify == 0 && !rp.orcpt_given && rp.orcpt.len == 0);
  str_truncate(&rec, 0);
  CHECK(smtpd_rcpt_records_cat(&rec, &rp) == 0 && rec.len == 0);
  CHECK(R("TO:<u@example.org> NOTIFY=NEVER,SUCCESS") == SMTPD_EPARAMVAL && a.len == 0);
  CHECK(R("TO:<u@example.org> NOTIFY=SUCCESS,SUCCESS") == SMTPD_EPARAMVAL);
  CHECK(R("TO:<u@example.org> NOTIFY=") == SMTPD_EPARAMVAL);
  CHECK(R("TO:<u@example.org> NOTIFY=SUCCESS,") == SMTPD_EPARAMVAL);
  CHECK(R("TO:<u@example.org> NOTIFY") == SMTPD_EPARAMVAL);
  CHECK(R("TO:<u@example.org> NOTIFY=NEVER NOTIFY=NEVER") == SMTPD_EPARAM);
  CHECK(R("TO:<u@example.org> ORCPT=u@example.org") == SMTPD_EPARAMVAL);
  CHECK(R("TO:<u@example.org> ORCPT=;u@example.org") == SMTPD_EPARAMVAL);
  CHECK(R("TO:<u@example.org> ORCPT=rfc822;") == SMTPD_EPARAMVAL);
  CHECK(R("TO:<u@example.org> ORCPT=rfc822;a+0Db") == SMTPD_EPARAMVAL);
  CHECK(R("TO:<u@example.org> ORCPT=rfc822;a ORCPT=rfc822;b") == SMTPD_EPARAM);
  CHECK(R("TO:<u@example.org> FOO=1") == SMTPD_EPARAM);
  CHECK(R("TO:<u@example.org> =1") == SMTPD_ESYNTAX);
#undef R
  /* xtext */
  CHECK(xtext_decode("+2B+3D", 6, &a) == 0);
  CHECK_BYTES(a.s, a.len, "+=");
  str_truncate(&a, 0);
  CHECK(xtext_encode_cat(&a, "a+b=c d\x01", 8) == 0);
  CHECK_BYTES(a.s, a.len, "a+2Bb+3Dc+20d+01");
  CHECK(xtext_decode("+", 1, &a) < 0 && a.len == 0);
  CHECK(xtext_decode("\x80", 1, &a) < 0);
  str_free(&a);
  str_free(&rec);
  str_free(&p.envid);
  str_free(&rp.orcpt);
}

static void test_rcpt(void)
{
  str a = STR_INIT;
  int e;

  CHECK(smtpd_parse_rcpt("TO:<u@example.org>", 18, 0, &a, &e, 0) == SMTPD_OK);
  CHECK_BYTES(a.s, a.len, "u@example.org");
  CHECK(smtpd_parse_rcpt("to: <@r.example:u@example.org>", 30, 0, &a, &e, 0) == SMTPD_OK);
  CHECK_BYTES(a.s, a.len, "u@example.org");
  CHECK(smtpd_parse_rcpt("TO:<postmaster>", 15, 0, &a, &e, 0) == SMTPD_OK);
  CHECK_BYTES(a.s, a.len, "postmaster");
  CHECK(smtpd_parse_rcpt("TO:<PostMaster>", 15, 0, &a, &e, 0) == SMTPD_OK);
  CHECK(smtpd_parse_rcpt("TO:<joe>", 8, 0, &a, &e, 0) == SMTPD_EADDR && e == ADDR_ENODOMAIN && a.len == 0);
  CHECK(smtpd_parse_rcpt("TO:<>", 5, 0, &a, &e, 0) == SMTPD_EADDR && e == ADDR_ENULL);
  CHECK(smtpd_parse_rcpt("TO:<u@example.org> NOTIFY=NEVER", 31, 0, &a, &e, 0) == SMTPD_EPARAM && a.len == 0);
  CHECK(smtpd_parse_rcpt("TO:<u@example.org>   ", 21, 0, &a, &e, 0) == SMTPD_OK);
  CHECK(smtpd_parse_rcpt("<u@example.org>", 15, 0, &a, &e, 0) == SMTPD_ESYNTAX);
  CHECK(smtpd_parse_rcpt("TO:<\xc3\xa9@example.org>", 19, 0, &a, &e, 0) == SMTPD_EADDR && e == ADDR_E8BIT);
  CHECK(smtpd_parse_rcpt("TO:<\xc3\xa9@example.org>", 19, 1, &a, &e, 0) == SMTPD_OK);
  CHECK(smtpd_parse_rcpt("TO:<u@[127.0.0.1]>", 18, 0, &a, &e, 0) == SMTPD_OK);
  CHECK_BYTES(a.s, a.len, "u@[127.0.0.1]");
  CHECK(smtpd_parse_rcpt("TO:<u@[999.0.0.1]>", 18, 0, &a, &e, 0) == SMTPD_EADDR && e == ADDR_ELITERAL);
  str_free(&a);
}

static void test_helo_safe(void)
{
  size_t len = 0;
  str o = STR_INIT;

  CHECK(smtpd_parse_helo("mx.example.com", 14, &len) == SMTPD_OK && len == 14);
  CHECK(smtpd_parse_helo("[127.0.0.1] extra", 17, &len) == SMTPD_OK && len == 11);
  CHECK(smtpd_parse_helo("", 0, &len) == SMTPD_EARG);
  CHECK(smtpd_parse_helo("a\x01", 2, &len) == SMTPD_EARG);
  CHECK(smtpd_safe_cat(&o, "a(b)\r\n[c]", 9, 100, 0) == 0);
  CHECK_BYTES(o.s, o.len, "a?b????c?");
  str_truncate(&o, 0);
  CHECK(smtpd_safe_cat(&o, "[1.2.3.4]", 9, 100, 1) == 0);
  CHECK_BYTES(o.s, o.len, "[1.2.3.4]");
  str_truncate(&o, 0);
  CHECK(smtpd_safe_cat(&o, "abcdef", 6, 3, 1) == 0);
  CHECK_BYTES(o.s, o.len, "abc");
  str_free(&o);
}

/* Feeds the whole input in pieces of step bytes; returns the bytes
 * consumed in all and leaves the stored message in out. */
static int local_mode;

static size_t feed(struct smtpd_data *d, const char *in, size_t n, size_t step, unsigned long max, str *out)
{
  size_t pos = 0;
  if (local_mode) smtpd_data_start_local(d, max);
  else smtpd_data_start(d, max);
  str_truncate(out, 0);
  while (pos < n && !d->done) {
    size_t k = n - pos < step ? n - pos : step;
    ssize_t r = smtpd_data_feed(d, in + pos, k, out);
    if (r < 0) return (size_t)-1;
    pos += (size_t)r;
    if ((size_t)r < k && !d->done) return (size_t)-1;
  }
  return pos;
}

static void test_data_basic(void)
{
  struct smtpd_data d;
  str out = STR_INIT;
  static const char msg[] = "Subject: x\r\n\r\n..dot\r\n.\r\nline\r\n.\r\nQUIT\r\n";
  size_t n = sizeof msg - 1, step, end = 24;

  for (step = 1; step <= n; ++step) {
    size_t used = feed(&d, msg, n, step, 0, &out);
    if (!CHECK(used == end && d.done && d.err == 0)) break;
    if (!CHECK_BYTES(out.s, out.len, "Subject: x\n\n.dot\n")) break;
  }
  /* the data is not over at ".\r\n" inside a line */
  (void)feed(&d, "a.\r\n.\r\n", 7, 7, 0, &out);
  CHECK(d.done && d.err == 0);
  CHECK_BYTES(out.s, out.len, "a.\n");
  /* empty message */
  CHECK(feed(&d, ".\r\n", 3, 1, 0, &out) == 3 && d.done && out.len == 0 && d.bytes == 0);
  /* not yet done */
  CHECK(feed(&d, "abc\r\n.\r", 7, 3, 0, &out) == 7 && !d.done);
  CHECK(smtpd_data_feed(&d, "\n", 1, &out) == 1 && d.done && d.err == 0);
  CHECK_BYTES(out.s, out.len, "abc\n");
  /* 8-bit bytes pass */
  (void)feed(&d, "\xff\xfe\x80\r\n.\r\n", 8, 2, 0, &out);
  CHECK(d.done && d.err == 0);
  CHECK_BYTES(out.s, out.len, "\xff\xfe\x80\n");
  /* ".." alone is a line with one dot */
  (void)feed(&d, "..\r\n.\r\n", 7, 1, 0, &out);
  CHECK_BYTES(out.s, out.len, ".\n");
  CHECK(d.bytes == 2);
  str_free(&out);
}

/* Each published smuggling variant: refused, and the data goes on to
 * the strict end, so the smuggled commands are data, not commands. */
static void test_data_smuggling(void)
{
  static const char *const variants[] = {
    "\n.\n", "\n.\r\n", "\r.\r", "\r\n.\r", "\r.\r\n", "\r\n.\n", "\n.\r", ".\n", "\r\n.\n\r\n",
  };
  struct smtpd_data d;
  str in = STR_INIT, out = STR_INIT;
  size_t k, step;

  for (k = 0; k < sizeof variants / sizeof variants[0]; ++k) {
    for (step = 1; step <= 7; step += 6) {
      size_t used;
      str_truncate(&in, 0);
      str_cats(&in, "Subject: a\r\n\r\nbody");
      str_cats(&in, variants[k]);
      str_cats(&in, "MAIL FROM:<x@y>\r\nRCPT TO:<v@w>\r\nDATA\r\nevil\r\n.\r\nNOOP\r\n");
      used = feed(&d, in.s, in.len, step, 0, &out);
      if (!CHECK(d.done && (d.err & SMTPD_DATA_BARE))) continue;
      CHECK(used == in.len - 6); /* ends only at the last CR LF . CR LF */
    }
  }
  /* NUL bytes */
  (void)feed(&d, "a\0b\r\n.\r\n", 8, 1, 0, &out);
  CHECK(d.done && (d.err & SMTPD_DATA_NUL) && !(d.err & SMTPD_DATA_BARE));
  /* a bare CR just before the end */
  (void)feed(&d, "a\r\r\n.\r\n", 7, 1, 0, &out);
  CHECK(d.done && (d.err & SMTPD_DATA_BARE));
  (void)feed(&d, ".\r.\r\n.\r\n", 8, 1, 0, &out);
  CHECK(d.done && (d.err & SMTPD_DATA_BARE));
  str_free(&in);
  str_free(&out);
}

/* Local mode (sendmail -bs): LF ends lines, a bare CR is a space,
 * Return-Path fields are dropped. */
static void test_data_local(void)
{
  static const char msg[] = "Subject: x\nReturn-Path: <a@b>\n (cont)\n\tmore\nreturn-path:<c>\r\n"
                            "Return-Pat: keep\nReturn: keep\nRe\nX: y\n\nReturn-Path: in body\n..x\n.\nQUIT\n";
  struct smtpd_data d;
  str out = STR_INIT;
  size_t n = sizeof msg - 1, step;

  local_mode = 1;
  for (step = 1; step <= n; ++step) {
    size_t used = feed(&d, msg, n, step, 0, &out);
    if (!CHECK(used == n - 5 && d.done && d.err == 0)) break;
    if (!CHECK(d.bytes == out.len)) break; /* a dropped field is not counted */
    if (!CHECK_BYTES(out.s, out.len, "Subject: x\nReturn-Pat: keep\nReturn: keep\nRe\nX: y\n\nReturn-Path: in body\n.x\n"))
      break;
  }
  /* CR LF and LF mixed, a bare CR */
  (void)feed(&d, "a\r\nb\nc\rd\r\n.\r\n", 15, 2, 0, &out);
  CHECK(d.done && d.err == 0);
  CHECK_BYTES(out.s, out.len, "a\nb\nc d\n");
  /* a header that is only a Return-Path */
  (void)feed(&d, "Return-Path: <x@y>\n\nbody\n.\n", 28, 3, 0, &out);
  CHECK(d.done && d.err == 0);
  CHECK_BYTES(out.s, out.len, "\nbody\n");
  /* ".\r\n" still ends it; NUL still refused */
  (void)feed(&d, "a\n.\r\n", 6, 1, 0, &out);
  CHECK(d.done && d.err == 0);
  CHECK_BYTES(out.s, out.len, "a\n");
  (void)feed(&d, "a\0b\n.\n", 7, 1, 0, &out);
  CHECK(d.done && (d.err & SMTPD_DATA_NUL));
  local_mode = 0;
  /* the network mode keeps Return-Path and refuses the bare LF */
  (void)feed(&d, "Return-Path: <x@y>\r\n\r\n.\r\n", 25, 4, 0, &out);
  CHECK(d.done && d.err == 0);
  CHECK_BYTES(out.s, out.len, "Return-Path: <x@y>\n\n");
  str_free(&out);
}

static void test_data_limits(void)
{
  struct smtpd_data d;
  str in = STR_INIT, out = STR_INIT;
  int i;

  (void)feed(&d, "12345\r\n.\r\n", 10, 3, 6, &out);
  CHECK(d.done && d.err == 0 && d.bytes == 6);
  (void)feed(&d, "123456\r\n.\r\n", 11, 3, 6, &out);
  CHECK(d.done && (d.err & SMTPD_DATA_TOOBIG) && d.bytes == 7);
  CHECK(out.len <= 6);

  for (i = 0; i < 99; ++i) str_cats(&in, i % 2 ? "Received: from x\r\n" : "delivered-to: y\r\n");
  str_cats(&in, "Subject: s\r\n\r\nReceived: in the body\r\n.\r\n");
  (void)feed(&d, in.s, in.len, 5, 0, &out);
  CHECK(d.done && d.err == 0 && d.hops == 99);
  str_truncate(&in, 0);
  for (i = 0; i < 100; ++i) str_cats(&in, "Received:\r\n");
  str_cats(&in, "\r\n.\r\n");
  (void)feed(&d, in.s, in.len, 1, 0, &out);
  CHECK(d.done && (d.err & SMTPD_DATA_LOOP) && d.hops == 100);
  /* "Received" without the colon and continuation lines do not count */
  (void)feed(&d, "Received x\r\n Received: y\r\nX-Received: z\r\n\r\n.\r\n", 47, 4, 0, &out);
  CHECK(d.done && d.hops == 0);
  str_free(&in);
  str_free(&out);
}

static void test_text(void)
{
  str o = STR_INIT;
  struct smtpd_received r;

  CHECK(smtpd_qq_reply(&o, 0, "qp 12") == 0);
  CHECK_BYTES(o.s, o.len, "250 2.0.0 ok qp 12");
  CHECK(smtpd_qq_ok(0) && !smtpd_qq_ok(53 << 8));
  CHECK(smtpd_qq_reply(&o, 53 << 8, "x") == 0);
  CHECK_BYTES(o.s, o.len, "451 4.3.0 qq write error or disk full");
  CHECK(smtpd_qq_reply(&o, 31 << 8, "x") == 0 && memcmp(o.s, "554 5.", 6) == 0);
  CHECK(smtpd_qq_reply(&o, 11 << 8, "x") == 0 && memcmp(o.s, "554 5.1.3", 9) == 0);
  /* sluice-authcheck's policy refusal and DNS deferral */
  CHECK(smtpd_qq_reply(&o, 32 << 8, "x") == 0 && memcmp(o.s, "550 5.7.1 ", 10) == 0);
  CHECK(smtpd_qq_reply(&o, 75 << 8, "x") == 0 && memcmp(o.s, "451 4.7.0 ", 10) == 0);
  CHECK(smtpd_qq_reply(&o, 40 << 8, "x") == 0 && memcmp(o.s, "554 5.", 6) == 0);
  CHECK(smtpd_qq_reply(&o, 41 << 8, "x") == 0 && memcmp(o.s, "451 4.", 6) == 0);
  CHECK(smtpd_qq_reply(&o, 10 << 8, "x") == 0 && memcmp(o.s, "451 4.", 6) == 0);
  CHECK(smtpd_qq_reply(&o, 9, "x") == 0 && memcmp(o.s, "451 4.3.0", 9) == 0); /* killed */

  str_truncate(&o, 0);
  r.helo = "evil\r\nX: y";
  r.helo_len = 10;
  r.remote_host = "host.example";
  r.remote_info = 0;
  r.remote_ip = "::1";
  r.local_host = "mx.example";
  r.protocol = "ESMTP";
  r.when = 0;
  CHECK(smtpd_received_line(&o, &r) == 0);
  {
    static const char want[] = "Received: from evil??X:?y (host.example [IPv6:::1])\n  by mx.example with ESMTP; ";
    CHECK(o.len > sizeof want && memcmp(o.s, want, sizeof want - 1) == 0);
  }
  CHECK(o.s[o.len - 1] == '\n' && memchr(o.s, '\r', o.len) == 0);
  str_free(&o);
}

/* smtpd_passwd_find on a passwd text, and smtpd_rcpt_local_check with
 * "u" USER records, the passwd fallback and the recipient delimiter
 * (the positive case of a new account, whose home must belong to a
 * uid other than 0, is tested end to end by 95-rcptauto). */
static void test_rcpt_passwd(void)
{
  static const char pw[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "+nis:x:1:1::/nis:/bin/sh\n"
    "short:x:5\n"
    "alice:x:1001:1001:Alice,,,:/home/alice:/bin/sh\n"
    "bob:x:1002:1002::/nonexistent/test_smtpd/bob:/bin/sh\n"
    "bo:x:notanumber:1::/x:/bin/sh\n";
  static const char path[] = "/tmp/test_smtpd_rc.cdb";
  char ppath[64];
  struct cdb_make_atomic a;
  struct cdb c;
  struct smtpd_rcpt r;
  str home = STR_INIT, locals = STR_INIT;
  unsigned long uid = 7;
  size_t n;
  int fd;

  CHECK(smtpd_passwd_find(pw, sizeof pw - 1, "alice", 5, &uid, &home) == 1 && uid == 1001
        && str_equals(&home, "/home/alice"));
  CHECK(smtpd_passwd_find(pw, sizeof pw - 1, "root", 4, &uid, &home) == 1 && uid == 0);
  CHECK(smtpd_passwd_find(pw, sizeof pw - 1, "alic", 4, &uid, &home) == 0);
  CHECK(smtpd_passwd_find(pw, sizeof pw - 1, "+nis", 4, &uid, &home) == 0);
  CHECK(smtpd_passwd_find(pw, sizeof pw - 1, "short", 5, &uid, &home) == 0);
  CHECK(smtpd_passwd_find(pw, sizeof pw - 1, "bo", 2, &uid, &home) == 0);
  CHECK(smtpd_passwd_find(pw, sizeof pw - 1, "carol", 5, &uid, &home) == 0);
  CHECK(smtpd_passwd_find("", 0, "alice", 5, &uid, &home) == 0);

  n = fmt_ulong(ppath, (unsigned long)getpid());
  memmove(ppath + 20, ppath, n);
  memcpy(ppath, "/tmp/test_smtpd_pw.", 19);
  ppath[19] = '_';
  ppath[20 + n] = 0;
  CHECK(file_replace(ppath, pw, sizeof pw - 1, 0644) == 0);
  if (!CHECK(cdb_make_atomic_start(&a, path, 0644) == 0)) return;
  cdb_make_add(&a.make, "alice", 5, "ualice", 6);
  cdb_make_add(&a.make, "alice-x", 7, "ualice", 6);
  cdb_make_add(&a.make, "alice-l-", 8, "+ualice", 7);
  cdb_make_add(&a.make, "gone", 4, "ugone", 5);
  cdb_make_add(&a.make, "gone-l-", 7, "+ugone", 6);
  cdb_make_add(&a.make, "both", 4, "ugone", 5);
  cdb_make_add(&a.make, "both", 4, "=", 1);
  cdb_make_add(&a.make, "root", 4, "uroot", 5);
  CHECK(cdb_make_atomic_finish(&a) == 0);
  fd = open_read(path);
  if (!CHECK(fd >= 0 && cdb_open(&c, fd) == 0)) return;
  str_copys(&locals, "d.example");
  str_catc(&locals, 0);
  memset(&r, 0, sizeof r);
  r.cdb = &c;
  r.state = 1;
  r.locals = &locals;
  r.delims = "";
  r.passwd_path = ppath;
  CHECK(smtpd_rcpt_local_check(&r, "alice@d.example", 15) == 1);
  CHECK(smtpd_rcpt_local_check(&r, "ALICE-X@d.example", 17) == 1);
  CHECK(smtpd_rcpt_local_check(&r, "alice-l-foo@d.example", 21) == 1);
  CHECK(smtpd_rcpt_local_check(&r, "alice-y@d.example", 17) == 0);
  CHECK(smtpd_rcpt_local_check(&r, "gone@d.example", 14) == 0);
  CHECK(smtpd_rcpt_local_check(&r, "gone-l-foo@d.example", 20) == 0);
  CHECK(smtpd_rcpt_local_check(&r, "both@d.example", 14) == 1);
  CHECK(smtpd_rcpt_local_check(&r, "root@d.example", 14) == 0);
  CHECK(smtpd_rcpt_local_check(&r, "bob@d.example", 13) == 0); /* no home */
  CHECK(smtpd_rcpt_local_check(&r, "alice+tag@d.example", 19) == 0);
  CHECK(smtpd_rcpt_local_check(&r, "postmaster@d.example", 20) == 1);
  CHECK(smtpd_rcpt_local_check(&r, "gone@other.example", 18) == 1);
  r.delims = "-+";
  r.dn = 2;
  CHECK(smtpd_rcpt_local_check(&r, "alice+tag@d.example", 19) == 1);
  CHECK(smtpd_rcpt_local_check(&r, "gone+tag@d.example", 18) == 0);
  CHECK(smtpd_rcpt_local_check(&r, "alice-tag@d.example", 19) == 0);
  CHECK(r.passwd_state == 1);
  str_free(&r.passwd);
  /* no passwd file: the records stand, nothing new is accepted */
  memset(&r, 0, sizeof r);
  r.cdb = &c;
  r.state = 1;
  r.locals = &locals;
  r.delims = "";
  r.passwd_path = "/nonexistent/test_smtpd/passwd";
  CHECK(smtpd_rcpt_local_check(&r, "gone@d.example", 14) == 1);
  CHECK(smtpd_rcpt_local_check(&r, "carol@d.example", 15) == 0);
  CHECK(r.passwd_state == -1);
  cdb_close(&c);
  close(fd);
  unlink(path);
  unlink(ppath);
  str_free(&home);
  str_free(&locals);
}

static void test_rcpt_cdb(void)
{
  static const char path[] = "/tmp/test_smtpd.cdb";
  struct cdb_make_atomic a;
  struct cdb c;
  int fd;

  if (!CHECK(cdb_make_atomic_start(&a, path, 0644) == 0)) return;
  cdb_make_add(&a.make, "joe", 3, "=", 1);
  cdb_make_add(&a.make, "joe-list-", 9, "+", 1);
  cdb_make_add(&a.make, "ann", 3, "=", 1);
  cdb_make_add(&a.make, "ann", 3, "+", 1);
  cdb_make_add(&a.make, "example.org", 11, "", 0);
  cdb_make_add(&a.make, ".example.net", 12, "", 0);
  CHECK(cdb_make_atomic_finish(&a) == 0);
  fd = open_read(path);
  if (!CHECK(fd >= 0 && cdb_open(&c, fd) == 0)) return;
  CHECK(smtpd_rcptcheck(&c, "joe", 3) == 1);
  CHECK(smtpd_rcptcheck(&c, "JOE", 3) == 1);
  CHECK(smtpd_rcptcheck(&c, "joe-x", 5) == 0);
  CHECK(smtpd_rcptcheck(&c, "jo", 2) == 0);
  CHECK(smtpd_rcptcheck(&c, "joe-list-", 9) == 1);
  CHECK(smtpd_rcptcheck(&c, "joe-list-a-b", 12) == 1);
  CHECK(smtpd_rcptcheck(&c, "joe-list", 8) == 0);
  CHECK(smtpd_rcptcheck(&c, "annie", 5) == 1);
  CHECK(smtpd_rcptcheck(&c, "bob", 3) == 0);
  CHECK(smtpd_rcptcheck(&c, "", 0) == 0);
  CHECK(smtpd_morercpthosts(&c, "example.org", 11) == 1);
  CHECK(smtpd_morercpthosts(&c, "EXAMPLE.org.", 12) == 1);
  CHECK(smtpd_morercpthosts(&c, "a.example.org", 13) == 0);
  CHECK(smtpd_morercpthosts(&c, "a.b.example.net", 15) == 1);
  CHECK(smtpd_morercpthosts(&c, "example.net", 11) == 0);
  cdb_close(&c);
  close(fd);
  unlink(path);

  if (!CHECK(cdb_make_atomic_start(&a, path, 0644) == 0)) return;
  cdb_make_add(&a.make, "*", 1, "+", 1);
  CHECK(cdb_make_atomic_finish(&a) == 0);
  fd = open_read(path);
  if (!CHECK(fd >= 0 && cdb_open(&c, fd) == 0)) return;
  CHECK(smtpd_rcptcheck(&c, "anybody", 7) == 1);
  cdb_close(&c);
  close(fd);
  unlink(path);
}

static void test_bdat(void)
{
  struct smtpd_data d;
  str out = STR_INIT;
  unsigned long size;
  int last;
  size_t arg;
  static const char msg[] = "Subject: x\r\n\r\n.\r\n..a\r\nb";
  size_t n = sizeof msg - 1, step, pos;

  CHECK(verb_of("BDAT 10", &arg) == SMTPD_BDAT && arg == 5);
  CHECK(smtpd_parse_bdat("10", 2, &size, &last) == SMTPD_OK && size == 10 && !last);
  CHECK(smtpd_parse_bdat("0 LAST", 6, &size, &last) == SMTPD_OK && size == 0 && last);
  CHECK(smtpd_parse_bdat("7   last", 8, &size, &last) == SMTPD_OK && size == 7 && last);
  CHECK(smtpd_parse_bdat("", 0, &size, &last) == SMTPD_ESYNTAX);
  CHECK(smtpd_parse_bdat("x", 1, &size, &last) == SMTPD_ESYNTAX);
  CHECK(smtpd_parse_bdat("-1", 2, &size, &last) == SMTPD_ESYNTAX);
  CHECK(smtpd_parse_bdat("1 LASTX", 7, &size, &last) == SMTPD_ESYNTAX);
  CHECK(smtpd_parse_bdat("1 LAST ", 7, &size, &last) == SMTPD_ESYNTAX);
  CHECK(smtpd_parse_bdat("1x", 2, &size, &last) == SMTPD_ESYNTAX);
  CHECK(smtpd_parse_bdat("1\tLAST", 6, &size, &last) == SMTPD_ESYNTAX);
  CHECK(smtpd_parse_bdat("99999999999999999999999", 23, &size, &last) == SMTPD_ESYNTAX);
  CHECK(smtpd_parse_bdat("10 LAST", 2, &size, &last) == SMTPD_OK && size == 10 && !last); /* the range */

  /* any chunking gives the same message: no dot is special, the CR LF
   * split between chunks is one line end, a last line gets its LF */
  for (step = 1; step <= n; ++step) {
    smtpd_data_start_bdat(&d, 0);
    str_truncate(&out, 0);
    for (pos = 0; pos < n; pos += step) {
      size_t k = n - pos < step ? n - pos : step;
      if (!CHECK(smtpd_data_feed(&d, msg + pos, k, &out) == (ssize_t)k)) break;
    }
    CHECK(!d.done && smtpd_data_end_bdat(&d, &out) == 0 && d.done && d.err == 0);
    if (!CHECK_BYTES(out.s, out.len, "Subject: x\n\n.\n..a\nb\n")) break;
  }
  /* bare CR at the end, bare LF, NUL */
  smtpd_data_start_bdat(&d, 0);
  str_truncate(&out, 0);
  CHECK(smtpd_data_feed(&d, "a\r", 2, &out) == 2 && smtpd_data_end_bdat(&d, &out) == 0);
  CHECK(d.err == SMTPD_DATA_BARE);
  smtpd_data_start_bdat(&d, 0);
  CHECK(smtpd_data_feed(&d, "a\n.\n", 4, &out) == 4 && d.err == SMTPD_DATA_BARE);
  smtpd_data_start_bdat(&d, 0);
  CHECK(smtpd_data_feed(&d, "a\0\r\n", 4, &out) == 4 && d.err == SMTPD_DATA_NUL);
  /* the size limit, and an empty message */
  smtpd_data_start_bdat(&d, 3);
  CHECK(smtpd_data_feed(&d, "ab\r\n", 4, &out) == 4 && d.err == 0);
  CHECK(smtpd_data_feed(&d, "c", 1, &out) == 1 && d.err == SMTPD_DATA_TOOBIG);
  smtpd_data_start_bdat(&d, 0);
  str_truncate(&out, 0);
  CHECK(smtpd_data_end_bdat(&d, &out) == 0 && out.len == 0 && d.err == 0);
  str_free(&out);
}

int main(void)
{
  test_verbs();
  test_mail();
  test_rcpt();
  test_dsn_params();
  test_helo_safe();
  test_data_basic();
  test_data_smuggling();
  test_data_local();
  test_data_limits();
  test_bdat();
  test_text();
  test_rcpt_cdb();
  test_rcpt_passwd();
  return check_done();
}
