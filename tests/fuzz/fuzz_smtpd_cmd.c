/* fuzz_smtpd_cmd.c: the SMTP command parser on any command line.
 *
 * Whatever parses must give an address without control bytes that
 * parses again (in angle brackets) to itself; every error must have a
 * reply with a 4xx or 5xx code and an enhanced status code. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "smtpd_cmd.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

static void check_addr(const str *a, int flags)
{
  str w = STR_INIT, again = STR_INIT;
  size_t used = 0, i;
  for (i = 0; i < a->len; ++i) fuzz_check((unsigned char)a->s[i] >= 32 && a->s[i] != 127);
  if (str_catc(&w, '<') == 0 && str_cat(&w, a) == 0 && str_catc(&w, '>') == 0) {
    int r = addr_parse_path(w.s, w.len, flags, &again, &used);
    if (r != ADDR_ENOMEM) {
      fuzz_check(r == ADDR_OK && used == w.len);
      fuzz_check(again.len == a->len && (a->len == 0 || memcmp(again.s, a->s, a->len) == 0));
    }
  }
  str_free(&w);
  str_free(&again);
}

static void check_reply(int err, int addr_error, int mail)
{
  str r = STR_INIT;
  if (smtpd_error_reply(&r, err, addr_error, mail) == 0) {
    fuzz_check(r.len > 10 && (r.s[0] == '4' || r.s[0] == '5') && r.s[3] == ' ' && r.s[4] == r.s[0] && r.s[5] == '.');
    fuzz_check(memchr(r.s, '\r', r.len) == 0 && memchr(r.s, '\n', r.len) == 0);
  }
  str_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;
  str a = STR_INIT;
  struct smtpd_mail_params p;
  struct smtpd_rcpt_params rp;
  size_t arg = 0, len = 0;
  unsigned long bsize;
  int last;
  int verb, r, e = 0;

  memset(&p, 0, sizeof p);
  memset(&rp, 0, sizeof rp);
  verb = smtpd_verb(s, size, &arg);
  fuzz_check(arg <= size);
  fuzz_check(verb >= SMTPD_UNKNOWN && verb <= SMTPD_BDAT);
  if (smtpd_parse_bdat(s, size, &bsize, &last) != SMTPD_OK) fuzz_check(bsize == 0 && last == 0);

  r = smtpd_parse_mail(s, size, &a, &p);
  if (r == SMTPD_OK) {
    check_addr(&a, ADDR_LENIENT | ADDR_ALLOW_NULL | (p.smtputf8 ? ADDR_UTF8 : 0));
    fuzz_check(p.body >= SMTPD_BODY_NONE && p.body <= SMTPD_BODY_8BITMIME);
    if (p.envid_given)
      for (size_t i = 0; i < p.envid.len; ++i) fuzz_check(p.envid.s[i] >= 32 && p.envid.s[i] <= 126);
  } else {
    fuzz_check(a.len == 0);
    check_reply(r, p.addr_error, 1);
  }
  r = smtpd_parse_rcpt(s, size, (int)(size & 1), &a, &e, (size & 2) ? &rp : 0);
  if (r == SMTPD_OK) {
    fuzz_check(a.len > 0);
    if (rp.orcpt_given) {
      fuzz_check(byte_chr(rp.orcpt.s, rp.orcpt.len, ';') < rp.orcpt.len);
      for (size_t i = 0; i < rp.orcpt.len; ++i) fuzz_check(rp.orcpt.s[i] >= 32 && rp.orcpt.s[i] <= 126);
    }
    fuzz_check(!(rp.notify & SMTPD_NOTIFY_NEVER) || rp.notify == SMTPD_NOTIFY_NEVER);
    check_addr(&a, ADDR_LENIENT | ADDR_ALLOW_NODOMAIN | ((size & 1) ? ADDR_UTF8 : 0));
  } else {
    fuzz_check(a.len == 0);
    check_reply(r, e, 0);
  }
  if (smtpd_parse_helo(s, size, &len) == SMTPD_OK) {
    fuzz_check(len > 0 && len <= size && memchr(s, ' ', len) == 0);
    str_truncate(&a, 0);
    if (smtpd_safe_cat(&a, s, len, 255, 1) == 0) {
      fuzz_check(a.len == (len < 255 ? len : 255));
      for (size_t i = 0; i < a.len; ++i) fuzz_check(a.s[i] > 32 && (unsigned char)a.s[i] < 127 && a.s[i] != '(');
    }
  }
  str_free(&a);
  return 0;
}
