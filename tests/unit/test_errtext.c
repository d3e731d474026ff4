/* test_errtext.c: errno texts are glibc's whatever the C library. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "errtext.h"

int main(void)
{
  /* texts in which musl's strerror differs from glibc's */
  CHECK(strcmp(errtext(ETIMEDOUT), "Connection timed out") == 0);
  CHECK(strcmp(errtext(EMFILE), "Too many open files") == 0);
  CHECK(strcmp(errtext(ENOMEM), "Cannot allocate memory") == 0);
  CHECK(strcmp(errtext(EIO), "Input/output error") == 0);
  CHECK(strcmp(errtext(EHOSTUNREACH), "No route to host") == 0);
  CHECK(strcmp(errtext(ENETUNREACH), "Network is unreachable") == 0);
  CHECK(strcmp(errtext(EDQUOT), "Disk quota exceeded") == 0);
  CHECK(strcmp(errtext(ENAMETOOLONG), "File name too long") == 0);
  CHECK(strcmp(errtext(EOPNOTSUPP), "Operation not supported") == 0);
  CHECK(strcmp(errtext(EDEADLK), "Resource deadlock avoided") == 0);
  /* and some in which they agree */
  CHECK(strcmp(errtext(ENOENT), "No such file or directory") == 0);
  CHECK(strcmp(errtext(ECONNREFUSED), "Connection refused") == 0);
  CHECK(strcmp(errtext(EAGAIN), "Resource temporarily unavailable") == 0);
  /* every value has a text; errno is left alone */
  for (int e = -5; e < 300; ++e) {
    const char *t;
    errno = 1234;
    t = errtext(e);
    CHECK(t != 0 && t[0] != 0 && errno == 1234);
  }
  return check_done();
}
