/* walk.c: see walk.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "str.h"
#include "walk.h"

#ifndef EFTYPE
#define EFTYPE EINVAL
#endif

static int open_at(int dirfd, const char *name, int flags)
{
  int fd;
  do fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
  while (fd < 0 && errno == EINTR);
  return fd;
}

/* Opens the directories of path[0..n) one by one below dirfd. */
static int walk_prefix(int dirfd, const char *path, size_t n)
{
  str comp = STR_INIT;
  size_t i = 0;
  int fd = open_at(dirfd, ".", O_RDONLY | O_DIRECTORY | O_NONBLOCK), e;
  while (fd >= 0 && i < n) {
    size_t j = i;
    int next;
    while (j < n && path[j] != '/') ++j;
    if (j == i || (j - i == 1 && path[i] == '.')) {
      i = j + 1;
      continue;
    }
    if (j - i == 2 && path[i] == '.' && path[i + 1] == '.') {
      errno = EINVAL;
      goto fail;
    }
    if (str_copyb(&comp, path + i, j - i) < 0 || str_0(&comp) < 0) goto fail;
    next = open_at(fd, comp.s, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
    if (next < 0) goto fail;
    close(fd);
    fd = next;
    i = j + 1;
  }
  str_free(&comp);
  return fd;
fail:
  e = errno;
  close(fd);
  str_free(&comp);
  errno = e;
  return -1;
}

int walk_dir(int dirfd, const char *path)
{
  return walk_prefix(dirfd, path, strlen(path));
}

int walk_parent(int dirfd, const char *path, const char **last)
{
  size_t n = strlen(path), i;
  while (n > 0 && path[n - 1] == '/') --n;
  i = n;
  while (i > 0 && path[i - 1] != '/') --i;
  /* the last component must end the string: "a/b/" has none to give */
  if (n == i || path[n] != 0 || (n - i == 1 && path[i] == '.') ||
      (n - i == 2 && path[i] == '.' && path[i + 1] == '.')) {
    errno = EINVAL;
    return -1;
  }
  *last = path + i;
  return walk_prefix(dirfd, path, i);
}

int walk_open_node(int dirfd, const char *name, struct stat *st)
{
  int fd = open_at(dirfd, name, O_RDONLY | O_NONBLOCK), e;
  if (fd < 0) return -1;
  if (fstat(fd, st) < 0) {
    e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int walk_read(int dirfd, const char *path, str *sa, size_t max)
{
  const char *name;
  struct stat st;
  int dfd, fd, r, e;
  sa->len = 0;
  dfd = walk_parent(dirfd, path, &name);
  if (dfd < 0) return errno == ENOENT ? 0 : -1;
  fd = walk_open_node(dfd, name, &st);
  e = errno;
  close(dfd);
  if (fd < 0) {
    errno = e;
    return e == ENOENT ? 0 : -1;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    errno = EFTYPE;
    return -1;
  }
  r = read_fd_all(fd, sa, max);
  e = errno;
  close(fd);
  errno = e;
  return r < 0 ? -1 : 1;
}
