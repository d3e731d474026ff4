/* fuzz_smtpauth.c: the control/smtpauth parser and the base64 of AUTH
 * on arbitrary bytes. First byte odd: the rest is encoded by
 * smtpauth_base64, whose output must have the padded length, only
 * base64 characters, and '=' only at the end. First byte even: the
 * rest, split at '\n' into entries as control_readlist would give them
 * (an input with a NUL is skipped: that file would be refused), is an
 * smtpauth list searched for a fixed relay, port and domain; each entry
 * alone goes to smtpauth_parse; parsed credentials are 1 to
 * SMTPAUTH_FIELD_MAX bytes, the login without white space or ':', and
 * the options known values; a list with a line that does not parse
 * fails every lookup, and no match leaves the credentials empty. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "byte.h"
#include "smtpauth.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

static void check_auth(const struct smtpauth *a)
{
  fuzz_check(a->login.len >= 1 && a->login.len <= SMTPAUTH_FIELD_MAX);
  fuzz_check(a->password.len >= 1 && a->password.len <= SMTPAUTH_FIELD_MAX);
  fuzz_check(byte_chr(a->login.s, a->login.len, ':') == a->login.len);
  fuzz_check(byte_chr(a->login.s, a->login.len, ' ') == a->login.len);
  fuzz_check(byte_chr(a->login.s, a->login.len, '\t') == a->login.len);
  fuzz_check(a->tls == SMTPAUTH_TLS_NONE || a->tls == SMTPAUTH_TLS_ENCRYPT || a->tls == SMTPAUTH_TLS_VERIFY);
  fuzz_check(a->mech >= SMTPAUTH_MECH_ANY && a->mech <= SMTPAUTH_MECH_LOGIN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct smtpauth a = SMTPAUTH_INIT;
  static str list, out;
  const char *s = (const char *)data + 1;
  size_t n, pos, kl;
  int bad = 0, r;

  if (size == 0) return 0;
  n = size - 1;
  if (data[0] & 1) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t pad = 0;
    fuzz_check(smtpauth_base64(&out, s, n) == 0);
    fuzz_check(out.len == (n + 2) / 3 * 4);
    for (size_t i = 0; i < out.len; ++i) {
      if (out.s[i] == '=') { ++pad; continue; }
      fuzz_check(pad == 0 && memchr(b64, out.s[i], 64) != 0);
    }
    fuzz_check(pad == (3 - n % 3) % 3);
    return 0;
  }
  if (byte_chr(s, n, 0) < n) return 0;
  str_truncate(&list, 0);
  for (pos = 0; pos < n;) {
    size_t nl = byte_chr(s + pos, n - pos, '\n');
    if (nl > 0) {
      fuzz_check(str_catb(&list, s + pos, nl) == 0 && str_catc(&list, 0) == 0);
      if (smtpauth_parse(s + pos, nl, &kl, &a) < 0) bad = 1;
      else { fuzz_check(kl > 0 && kl < nl); check_auth(&a); }
    }
    pos += nl + 1;
  }
  r = smtpauth_find(&list, "relay.example", 13, 587, "a.b.example", 11, &a);
  if (bad) fuzz_check(r < 0);
  else fuzz_check(r >= 0);
  if (r == 1) check_auth(&a);
  if (r == 0) fuzz_check(a.login.len == 0 && a.password.len == 0);
  return 0;
}
