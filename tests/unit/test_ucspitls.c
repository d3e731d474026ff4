/* test_ucspitls.c: the UCSPI-TLS connection details (ucspitls): when a
 * details string is complete, malformed or still arriving; looking a
 * variable up; the safe description for the log and Received. */
#include <string.h>

#include "check.h"
#include "str.h"
#include "ucspitls.h"

#define D(lit) (lit), (sizeof(lit) - 1)

static void test_complete(void)
{
  char big[UCSPITLS_DETAILS_MAX + 8];

  CHECK(ucspitls_details_complete(D("")) == 0);
  CHECK(ucspitls_details_complete(D("\0")) == 1);
  CHECK(ucspitls_details_complete(D("\0\0")) == 1);
  CHECK(ucspitls_details_complete(D("\0\0\0")) == -1);
  CHECK(ucspitls_details_complete(D("\0x")) == -1);
  CHECK(ucspitls_details_complete(D("SSL_PROTOCOL=TLSv1.3\0\0")) == 1);
  CHECK(ucspitls_details_complete(D("SSL_PROTOCOL=TLSv1.3\0SSL_CIPHER=X\0\0")) == 1);
  CHECK(ucspitls_details_complete(D("A=\0\0")) == 1); /* an empty value */
  /* still arriving */
  CHECK(ucspitls_details_complete(D("SSL_PROT")) == 0);
  CHECK(ucspitls_details_complete(D("SSL_PROTOCOL=TLSv1.3")) == 0);
  CHECK(ucspitls_details_complete(D("SSL_PROTOCOL=TLSv1.3\0")) == 0);
  CHECK(ucspitls_details_complete(D("A=1\0B")) == 0);
  /* malformed */
  CHECK(ucspitls_details_complete(D("=x\0\0")) == -1);
  CHECK(ucspitls_details_complete(D("noequals\0\0")) == -1);
  CHECK(ucspitls_details_complete(D("A=1\0\0junk")) == -1);
  CHECK(ucspitls_details_complete(D("A=1\0=\0\0")) == -1);
  memset(big, 'a', sizeof big);
  CHECK(ucspitls_details_complete(big, UCSPITLS_DETAILS_MAX) == 0);
  CHECK(ucspitls_details_complete(big, UCSPITLS_DETAILS_MAX + 1) == -1);
}

static void test_detail(void)
{
  static const char d[] = "SSL_PROTOCOL=TLSv1.3\0SSL_CIPHER=TLS_AES_128_GCM_SHA256\0SSL_X=\0\0";
  size_t len = 99;
  const char *v;

  v = ucspitls_detail(d, sizeof d - 1, "SSL_PROTOCOL", &len);
  CHECK(v && len == 7 && !memcmp(v, "TLSv1.3", 7));
  v = ucspitls_detail(d, sizeof d - 1, "SSL_CIPHER", &len);
  CHECK(v && len == 22 && !memcmp(v, "TLS_AES_128_GCM_SHA256", 22));
  v = ucspitls_detail(d, sizeof d - 1, "SSL_X", &len);
  CHECK(v && len == 0);
  CHECK(ucspitls_detail(d, sizeof d - 1, "SSL_PROTO", &len) == 0); /* a prefix is not a name */
  CHECK(ucspitls_detail(d, sizeof d - 1, "SSL_CIPHER_USEKEYSIZE", &len) == 0);
  CHECK(ucspitls_detail(d, 0, "SSL_PROTOCOL", &len) == 0);
  /* the range is respected: a cut entry is not found */
  CHECK(ucspitls_detail(d, 15, "SSL_PROTOCOL", &len) != 0 && len == 2);
  CHECK(ucspitls_detail(d, 12, "SSL_PROTOCOL", &len) == 0);
}

static void test_describe(void)
{
  str s = STR_INIT;

  CHECK(ucspitls_describe(&s, D("TLSv1.3"), D("TLS_AES_256_GCM_SHA384")) == 0);
  CHECK_BYTES(s.s, s.len, "TLSv1.3 TLS_AES_256_GCM_SHA384");
  CHECK(ucspitls_describe(&s, D("TLSv1.2"), "", 0) == 0);
  CHECK_BYTES(s.s, s.len, "TLSv1.2");
  CHECK(ucspitls_describe(&s, "", 0, D("X")) == 0);
  CHECK_BYTES(s.s, s.len, "TLS X");
  /* nothing that could break a header or a log line */
  CHECK(ucspitls_describe(&s, D("TLS)\r\nX-Evil: 1"), D("a b;(c)")) == 0);
  CHECK_BYTES(s.s, s.len, "TLS___X-Evil__1 a_b__c_");
  str_free(&s);
}

int main(void)
{
  test_complete();
  test_detail();
  test_describe();
  return check_done();
}
