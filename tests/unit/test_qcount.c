/* test_qcount.c: qcount.h counts entries without "." and "..", dates
 * the oldest, names the split directory that failed and never follows a
 * symbolic link. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"
#include "file.h"
#include "qcount.h"
#include "str.h"

static void touch(const char *path, time_t mtime)
{
  struct timeval tv[2];
  int fd = open_trunc(path, 0600);
  CHECK(fd >= 0);
  if (fd >= 0) close(fd);
  tv[0].tv_sec = tv[1].tv_sec = mtime;
  tv[0].tv_usec = tv[1].tv_usec = 0;
  CHECK(utimes(path, tv) == 0);
}

int main(void)
{
  char tmpl[] = "/tmp/test_qcount.XXXXXX";
  char *top = mkdtemp(tmpl);
  str failed = STR_INIT;
  struct qcount c = { 0, 0 };
  int q;

  if (!top || chdir(top) < 0) {
    CHECK(0);
    return check_done();
  }
  CHECK(mkdir("mess", 0700) == 0);
  CHECK(mkdir("mess/0", 0700) == 0);
  CHECK(mkdir("mess/1", 0700) == 0);
  CHECK(mkdir("mess/2", 0700) == 0);
  touch("mess/0/10", 5000);
  touch("mess/1/11", 3000);
  touch("mess/1/12", 4000);
  CHECK(mkdir("other", 0700) == 0);
  CHECK(symlink("../other", "mess/3") == 0);
  q = open_dir(".");
  CHECK(q >= 0);

  /* one directory */
  CHECK(qcount_dir(q, "mess/1", &c, 0) == 0);
  CHECK(c.files == 2);
  CHECK(c.oldest == 0);
  /* the split directories, with the age: counts add up */
  c.files = 0;
  CHECK(qcount_split(q, "mess", 3, &c, 1, &failed) == 0);
  CHECK(c.files == 3);
  CHECK(c.oldest == 3000);
  /* an empty one */
  c.files = 0;
  c.oldest = 0;
  CHECK(qcount_dir(q, "mess/2", &c, 1) == 0);
  CHECK(c.files == 0 && c.oldest == 0);
  /* a missing one: -1, named */
  c.files = 0;
  CHECK(qcount_split(q, "mess", 5, &c, 0, &failed) == -1);
  CHECK(failed.s && strcmp(failed.s, "mess/3") == 0);
  /* mess/3 is a symbolic link: never followed */
  CHECK(qcount_dir(q, "mess/3", &c, 0) == -1);
  CHECK(qcount_dir(q, "nosuch", &c, 0) == -1 && errno == ENOENT);

  close(q);
  str_free(&failed);
  unlink("mess/0/10");
  unlink("mess/1/11");
  unlink("mess/1/12");
  unlink("mess/3");
  rmdir("mess/0");
  rmdir("mess/1");
  rmdir("mess/2");
  rmdir("mess");
  rmdir("other");
  CHECK(chdir("/") == 0 && rmdir(top) == 0);
  return check_done();
}
