/* test_walk.c: walk.h never follows a symbolic link, at any level, and
 * never leaves the starting directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "file.h"
#include "str.h"
#include "walk.h"

int main(void)
{
  char tmpl[] = "/tmp/test_walk.XXXXXX";
  char *top = mkdtemp(tmpl);
  str p = STR_INIT, got = STR_INIT;
  const char *last = 0;
  struct stat st;
  int root, fd;

  if (!top || chdir(top) < 0) {
    CHECK(0);
    return check_done();
  }
  CHECK(mkdir("a", 0700) == 0);
  CHECK(mkdir("a/b", 0700) == 0);
  CHECK(write_all(fd = open_trunc("a/b/f", 0600), "hello", 5) == 0);
  close(fd);
  CHECK(write_all(fd = open_trunc("outside", 0600), "secret", 6) == 0);
  close(fd);
  CHECK(symlink("b", "a/lnkdir") == 0);
  CHECK(symlink("../../outside", "a/b/lnkfile") == 0);
  CHECK(mkfifo("a/b/fifo", 0600) == 0);
  root = open_dir("a");
  CHECK(root >= 0);

  /* plain reads */
  CHECK(walk_read(root, "b/f", &got, 100) == 1);
  CHECK_BYTES(got.s, got.len, "hello");
  CHECK(walk_read(root, "b/missing", &got, 100) == 0);
  CHECK(walk_read(root, "nodir/f", &got, 100) == 0);
  CHECK(walk_read(root, "b/f", &got, 3) == -1 && errno == EFBIG);

  /* a symbolic link is never followed, at the end or on the way */
  CHECK(walk_read(root, "b/lnkfile", &got, 100) == -1);
  CHECK(got.len == 0);
  CHECK(walk_read(root, "lnkdir/f", &got, 100) == -1);
  CHECK(walk_dir(root, "lnkdir") == -1);
  CHECK(walk_parent(root, "lnkdir/f", &last) == -1);
  fd = open_dir("a/b");
  CHECK(walk_open_node(fd, "lnkfile", &st) == -1);
  /* a fifo opens without blocking, and is no file to read */
  {
    int n = walk_open_node(fd, "fifo", &st);
    CHECK(n >= 0 && S_ISFIFO(st.st_mode));
    if (n >= 0) close(n);
  }
  CHECK(walk_read(root, "b/fifo", &got, 100) == -1);
  close(fd);

  /* ".." is refused */
  CHECK(walk_dir(root, "..") == -1 && errno == EINVAL);
  CHECK(walk_read(root, "b/../../outside", &got, 100) == -1);
  CHECK(walk_parent(root, "b/..", &last) == -1);

  /* parents and names */
  fd = walk_parent(root, "b/f", &last);
  CHECK(fd >= 0 && !strcmp(last, "f"));
  CHECK(fd >= 0 && fstatat(fd, last, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
  if (fd >= 0) close(fd);
  fd = walk_parent(root, "f", &last);
  CHECK(fd >= 0 && !strcmp(last, "f"));
  if (fd >= 0) close(fd);
  fd = walk_dir(root, "./b/");
  CHECK(fd >= 0);
  if (fd >= 0) close(fd);
  CHECK(walk_parent(root, ".", &last) == -1);

  close(root);
  unlink("a/b/f");
  unlink("a/b/lnkfile");
  unlink("a/b/fifo");
  unlink("a/lnkdir");
  rmdir("a/b");
  rmdir("a");
  unlink("outside");
  if (chdir("/") == 0) rmdir(top);
  str_free(&p);
  str_free(&got);
  return check_done();
}
