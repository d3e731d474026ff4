/* test_control.c: control_readline, control_readlist, control_readnum,
 * control_next, on files in a private temporary directory. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "control.h"
#include "file.h"
#include "str.h"

static char dir[] = "/tmp/sluice-test-control.XXXXXX";
static str path;

/* path = dir/name, NUL-terminated */
static const char *at(const char *name)
{
  if (str_copys(&path, dir) < 0 || str_catc(&path, '/') < 0 || str_cats(&path, name) < 0
      || str_0(&path) < 0)
    return "/nonexistent/out-of-memory";
  return path.s;
}

static void put(const char *name, const char *s, size_t n)
{
  int fd = open_trunc(at(name), 0644);
  CHECK(fd >= 0);
  if (fd < 0) return;
  CHECK(write_all(fd, s, n) == 0);
  close(fd);
}

#define PUT(name, lit) put((name), (lit), sizeof(lit) - 1)

static void test_readline(void)
{
  str v = STR_INIT;

  PUT("me", "mail.example.com\n");
  CHECK(control_readline(at("me"), &v, "default") == 1);
  CHECK(str_equals(&v, "mail.example.com"));
  PUT("me", "mail.example.com \t\r\nsecond line\n");
  CHECK(control_readline(at("me"), &v, 0) == 1 && str_equals(&v, "mail.example.com"));
  PUT("me", "no newline");
  CHECK(control_readline(at("me"), &v, 0) == 1 && str_equals(&v, "no newline"));
  /* leading white space and inner spaces are content */
  PUT("me", "  Hello there  \n");
  CHECK(control_readline(at("me"), &v, 0) == 1 && str_equals(&v, "  Hello there"));
  /* an empty file, or an empty first line, is an empty value */
  PUT("me", "");
  CHECK(control_readline(at("me"), &v, "dflt") == 1 && v.len == 0);
  PUT("me", "\nsecond\n");
  CHECK(control_readline(at("me"), &v, "dflt") == 1 && v.len == 0);
  PUT("me", " \t \r\n");
  CHECK(control_readline(at("me"), &v, "dflt") == 1 && v.len == 0);
  /* missing: default or empty */
  CHECK(str_copys(&v, "old") == 0);
  CHECK(control_readline(at("missing"), &v, "default.example") == 0);
  CHECK(str_equals(&v, "default.example"));
  CHECK(control_readline(at("missing"), &v, 0) == 0 && v.len == 0);
  CHECK(control_readline(at("missing"), &v, "") == 0 && v.len == 0);
  /* a NUL in the first line is refused; one after it does not matter */
  PUT("me", "ab\0c\n");
  errno = 0;
  CHECK(control_readline(at("me"), &v, 0) == -1 && errno == EINVAL);
  PUT("me", "abc\n\0\n");
  CHECK(control_readline(at("me"), &v, 0) == 1 && str_equals(&v, "abc"));
  /* not a regular file */
  CHECK(mkdir(at("adir"), 0755) == 0);
  errno = 0;
  CHECK(control_readline(at("adir"), &v, "x") == -1 && errno == EISDIR);
  CHECK(mkfifo(at("fifo"), 0644) == 0);
  errno = 0;
  CHECK(control_readline(at("fifo"), &v, "x") == -1 && errno == EINVAL); /* no hang */
  /* a missing directory on the way is still "missing"; a file used as
   * a directory is an error */
  CHECK(control_readline(at("nodir/me"), &v, "d") == 0 && str_equals(&v, "d"));
  PUT("plain", "x\n");
  errno = 0;
  CHECK(control_readline(at("plain/me"), &v, "d") == -1 && errno == ENOTDIR);
  /* too large */
  {
    str big = STR_INIT;
    CHECK(str_ready(&big, CONTROL_MAX + 1) == 0);
    memset(big.s, 'a', CONTROL_MAX + 1);
    big.len = CONTROL_MAX + 1;
    put("big", big.s, big.len);
    errno = 0;
    CHECK(control_readline(at("big"), &v, 0) == -1 && errno == EFBIG);
    put("big", big.s, CONTROL_MAX);
    CHECK(control_readline(at("big"), &v, 0) == 1 && v.len == CONTROL_MAX);
    str_free(&big);
  }
  /* unreadable (only meaningful when not running as root) */
  if (geteuid() != 0) {
    PUT("secret", "x\n");
    CHECK(chmod(at("secret"), 0) == 0);
    errno = 0;
    CHECK(control_readline(at("secret"), &v, "d") == -1 && errno == EACCES);
  }
  str_free(&v);
}

/* the entries of list joined by '|' */
static int list_is(const str *list, const char *want)
{
  str j = STR_INIT;
  size_t pos = 0, n;
  const char *e;
  int first = 1, ok;
  while (control_next(list, &pos, &e, &n)) {
    if (e[n] != 0) { str_free(&j); return 0; }
    if (!first && str_catc(&j, '|') < 0) return 0;
    if (str_catb(&j, e, n) < 0) return 0;
    first = 0;
  }
  ok = str_equals(&j, want);
  str_free(&j);
  return ok;
}

static void test_readlist(void)
{
  str l = STR_INIT;

  PUT("rcpthosts", "example.com\n.example.net\n");
  CHECK(control_readlist(at("rcpthosts"), &l) == 1);
  CHECK(l.len == 25 && memcmp(l.s, "example.com\0.example.net\0", 25) == 0);
  CHECK(list_is(&l, "example.com|.example.net"));
  /* comments, blank lines, CRLF, white space at both ends, last line
   * without newline */
  PUT("rcpthosts", "# comment\n\n  \t\nexample.com \r\n  # indented comment\n\tindented.org\t\n"
      "a#b\nlast");
  CHECK(control_readlist(at("rcpthosts"), &l) == 1);
  CHECK(list_is(&l, "example.com|indented.org|a#b|last"));
  CHECK(l.len == strlen("example.com") + strlen("indented.org") + 3 + 4 + 4);
  /* one-byte lines and a file of only separators */
  PUT("rcpthosts", "a\nb\nc");
  CHECK(control_readlist(at("rcpthosts"), &l) == 1 && list_is(&l, "a|b|c") && l.len == 6);
  PUT("rcpthosts", "\n\n\n");
  CHECK(control_readlist(at("rcpthosts"), &l) == 1 && l.len == 0 && list_is(&l, ""));
  PUT("rcpthosts", "");
  CHECK(control_readlist(at("rcpthosts"), &l) == 1 && l.len == 0);
  PUT("rcpthosts", "x");
  CHECK(control_readlist(at("rcpthosts"), &l) == 1 && l.len == 2 && l.s[1] == 0);
  /* a file of secrets: refused when others have any permission */
  PUT("smtpauth", "[r] u:p\n");
  CHECK(chmod(at("smtpauth"), 0600) == 0);
  CHECK(control_readlist_private(at("smtpauth"), &l) == 1 && list_is(&l, "[r] u:p"));
  CHECK(chmod(at("smtpauth"), 0640) == 0);
  CHECK(control_readlist_private(at("smtpauth"), &l) == 1);
  CHECK(chmod(at("smtpauth"), 0604) == 0);
  errno = 0;
  CHECK(control_readlist_private(at("smtpauth"), &l) == -1 && errno == EPERM);
  CHECK(chmod(at("smtpauth"), 0602) == 0);
  CHECK(control_readlist_private(at("smtpauth"), &l) == -1 && errno == EPERM);
  CHECK(control_readlist(at("smtpauth"), &l) == 1);
  CHECK(control_readlist_private(at("missing-smtpauth"), &l) == 0 && l.len == 0);
  /* missing */
  CHECK(str_copys(&l, "old") == 0);
  CHECK(control_readlist(at("missing"), &l) == 0 && l.len == 0);
  /* a NUL anywhere is refused */
  PUT("rcpthosts", "a\nb\0c\n");
  errno = 0;
  CHECK(control_readlist(at("rcpthosts"), &l) == -1 && errno == EINVAL);
  errno = 0;
  CHECK(control_readlist(at("adir"), &l) == -1 && errno == EISDIR);
  /* control_next on an unterminated run still ends */
  {
    str raw = STR_INIT;
    CHECK(str_copyb(&raw, "ab\0cd", 5) == 0);
    {
      size_t pos = 0, n = 0;
      const char *e = 0;
      CHECK(control_next(&raw, &pos, &e, &n) == 1 && n == 2 && e == raw.s);
      CHECK(control_next(&raw, &pos, &e, &n) == 1 && n == 2 && e == raw.s + 3);
      CHECK(control_next(&raw, &pos, &e, &n) == 0);
      CHECK(control_next(&raw, &pos, &e, &n) == 0);
    }
    str_free(&raw);
  }
  {
    str empty = STR_INIT;
    size_t pos = 0, n;
    const char *e;
    CHECK(control_next(&empty, &pos, &e, &n) == 0);
  }
  str_free(&l);
}

static void test_readnum(void)
{
  unsigned long u = 7;

  PUT("concurrencyremote", "20\n");
  CHECK(control_readnum(at("concurrencyremote"), &u, 10, 1, 1000) == 1 && u == 20);
  PUT("n", "  5\n");
  u = 7;
  errno = 0;
  CHECK(control_readnum(at("n"), &u, 10, 0, 1000) == -1 && errno == EINVAL && u == 7);
  PUT("n", "5 \r\n");
  CHECK(control_readnum(at("n"), &u, 10, 0, 1000) == 1 && u == 5);
  PUT("n", "0\n");
  CHECK(control_readnum(at("n"), &u, 10, 0, 1000) == 1 && u == 0);
  CHECK(control_readnum(at("missing"), &u, 604800, 1, 10) == 0 && u == 604800);
  /* bounds are inclusive */
  PUT("n", "1000");
  CHECK(control_readnum(at("n"), &u, 10, 1, 1000) == 1 && u == 1000);
  u = 7;
  errno = 0;
  CHECK(control_readnum(at("n"), &u, 10, 1, 999) == -1 && errno == ERANGE && u == 7);
  PUT("n", "0");
  errno = 0;
  CHECK(control_readnum(at("n"), &u, 10, 1, 999) == -1 && errno == ERANGE && u == 7);
  /* not a number */
  PUT("n", "");
  errno = 0;
  CHECK(control_readnum(at("n"), &u, 10, 0, ULONG_MAX) == -1 && errno == EINVAL && u == 7);
  PUT("n", "12abc\n");
  errno = 0;
  CHECK(control_readnum(at("n"), &u, 10, 0, ULONG_MAX) == -1 && errno == EINVAL);
  PUT("n", "-1\n");
  errno = 0;
  CHECK(control_readnum(at("n"), &u, 10, 0, ULONG_MAX) == -1 && errno == EINVAL);
  PUT("n", "1 2\n");
  errno = 0;
  CHECK(control_readnum(at("n"), &u, 10, 0, ULONG_MAX) == -1 && errno == EINVAL);
  PUT("n", "0x10\n");
  errno = 0;
  CHECK(control_readnum(at("n"), &u, 10, 0, ULONG_MAX) == -1 && errno == EINVAL);
  /* the first line only */
  PUT("n", "42\nnot a number\n");
  CHECK(control_readnum(at("n"), &u, 10, 0, ULONG_MAX) == 1 && u == 42);
  /* overflow */
  if (ULONG_MAX == 18446744073709551615UL) {
    PUT("n", "18446744073709551615\n");
    CHECK(control_readnum(at("n"), &u, 10, 0, ULONG_MAX) == 1 && u == ULONG_MAX);
    PUT("n", "18446744073709551616\n");
    errno = 0;
    u = 7;
    CHECK(control_readnum(at("n"), &u, 10, 0, ULONG_MAX) == -1 && errno == ERANGE && u == 7);
  }
  PUT("n", "99999999999999999999999999999999\n");
  errno = 0;
  CHECK(control_readnum(at("n"), &u, 10, 0, ULONG_MAX) == -1 && errno == ERANGE);
  errno = 0;
  CHECK(control_readnum(at("adir"), &u, 10, 0, ULONG_MAX) == -1 && errno == EISDIR);
}

static void cleanup(void)
{
  static const char *const files[] = { "me", "fifo", "plain", "big", "secret", "rcpthosts",
                                       "concurrencyremote", "n", "smtpauth" };
  size_t i;
  for (i = 0; i < sizeof files / sizeof files[0]; ++i) unlink(at(files[i]));
  rmdir(at("adir"));
  CHECK(rmdir(dir) == 0);
}

int main(void)
{
  if (!mkdtemp(dir)) {
    CHECK(0 == "mkdtemp");
    return check_done();
  }
  test_readline();
  test_readlist();
  test_readnum();
  cleanup();
  str_free(&path);
  return check_done();
}
