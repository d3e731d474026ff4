/* test_sasl.c: base64 and the PLAIN response split (sasl.h). */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "sasl.h"
#include "str.h"

static int dec_fails(const char *in, size_t max)
{
  str out = STR_INIT;
  int r;
  errno = 0;
  r = base64_decode(in, strlen(in), &out, max);
  str_free(&out);
  return r == -1 && errno == EINVAL;
}

static void test_base64(void)
{
  str out = STR_INIT;
  static const char *vec[][2] = { /* RFC 4648 section 10 */
    { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" } };
  size_t i;

  for (i = 0; i < sizeof vec / sizeof vec[0]; ++i) {
    str_truncate(&out, 0);
    CHECK(base64_encode(vec[i][0], strlen(vec[i][0]), &out) == 0);
    CHECK_BYTES(out.s, out.len, vec[i][1]);
    CHECK(base64_decode(vec[i][1], strlen(vec[i][1]), &out, 100) == 0);
    CHECK_BYTES(out.s, out.len, vec[i][0]);
  }
  /* PLAIN of RFC 4616's example */
  CHECK(base64_decode("AHRpbQB0YW5zdGFhZnRhbnN0YWFm", 28, &out, 100) == 0);
  CHECK(out.len == 21 && memcmp(out.s, "\0tim\0tanstaaftanstaaf", 21) == 0);
  CHECK(dec_fails("Zg=", 100));       /* not a multiple of 4 */
  CHECK(dec_fails("Zg==Zg==", 100));  /* padding in the middle */
  CHECK(dec_fails("Z===", 100));      /* three pads */
  CHECK(dec_fails("Zh==", 100));      /* stray bits */
  CHECK(dec_fails("Zm9=", 100));      /* stray bits */
  CHECK(dec_fails("Zm 9", 100));      /* space */
  CHECK(dec_fails("Zm9v\r\n", 100));
  CHECK(dec_fails("=m9v", 100));
  CHECK(dec_fails("Zm=v", 100));      /* character after '=' */
  CHECK(dec_fails("Zm9vYmFy", 5));    /* six bytes, max 5 */
  CHECK(base64_decode("Zm9vYmFy", 8, &out, 6) == 0 && out.len == 6);
  CHECK(base64_decode("Zm9vYmE=", 8, &out, 5) == 0 && out.len == 5);
  {
    /* every byte value round trips */
    char all[256];
    str enc = STR_INIT;
    for (i = 0; i < 256; ++i) all[i] = (char)i;
    CHECK(base64_encode(all, 256, &enc) == 0 && enc.len == 344);
    CHECK(base64_decode(enc.s, enc.len, &out, 256) == 0 && out.len == 256 && memcmp(out.s, all, 256) == 0);
    str_free(&enc);
  }
  str_free(&out);
}

static int split_fails(const char *p, size_t n)
{
  str u = STR_INIT, pw = STR_INIT;
  int r;
  errno = 0;
  r = sasl_plain_split(p, n, &u, &pw);
  str_free(&u);
  str_free(&pw);
  return r == -1 && errno == EINVAL;
}

static void test_plain(void)
{
  str u = STR_INIT, pw = STR_INIT;
  char big[600];

  CHECK(sasl_plain_split("\0tim\0tanstaaftanstaaf", 21, &u, &pw) == 0);
  CHECK_BYTES(u.s, u.len, "tim");
  CHECK_BYTES(pw.s, pw.len, "tanstaaftanstaaf");
  CHECK(sasl_plain_split("tim\0tim\0pw", 10, &u, &pw) == 0);
  CHECK_BYTES(u.s, u.len, "tim");
  CHECK(split_fails("bob\0tim\0pw", 10));   /* acting for another */
  CHECK(split_fails("\0tim\0", 5));         /* empty password */
  CHECK(split_fails("\0\0pw", 4));          /* empty login */
  CHECK(split_fails("\0tim", 4));           /* one NUL */
  CHECK(split_fails("timpw", 5));           /* no NUL */
  CHECK(split_fails("\0tim\0p\0w", 8));     /* NUL in the password */
  CHECK(split_fails("\0t m\0pw", 7));       /* space in the login */
  CHECK(split_fails("\0t\nm\0pw", 7));
  memset(big, 'a', sizeof big);
  big[0] = 0;
  big[257] = 0; /* login of 256 bytes */
  CHECK(split_fails(big, 260));
  big[257] = 'a';
  big[5] = 0;   /* password of 594 bytes */
  CHECK(split_fails(big, 600));
  big[5] = 'a';
  big[256] = 0; /* login 255, password 255 */
  CHECK(sasl_plain_split(big, 512, &u, &pw) == 0 && u.len == 255 && pw.len == 255);
  sasl_wipe(&pw);
  CHECK(pw.len == 0 && pw.s[0] == 0 && pw.s[254] == 0);
  CHECK(sasl_user_ok("a@b.example", 11));
  CHECK(!sasl_user_ok("", 0));
  CHECK(!sasl_user_ok("a\177", 2));
  str_free(&u);
  str_free(&pw);
}

int main(void)
{
  test_base64();
  test_plain();
  return check_done();
}
