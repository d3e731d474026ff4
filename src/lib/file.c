/* file.c: see file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* rename */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "size.h"
#include "str.h"

static int open_flags(const char *path, int flags, mode_t mode)
{
  int fd;
  do fd = open(path, flags | O_CLOEXEC | O_NOCTTY, mode);
  while (fd < 0 && errno == EINTR);
  return fd;
}

int open_read(const char *path) { return open_flags(path, O_RDONLY, 0); }
int open_trunc(const char *path, mode_t mode) { return open_flags(path, O_WRONLY | O_CREAT | O_TRUNC, mode); }
int open_excl(const char *path, mode_t mode) { return open_flags(path, O_WRONLY | O_CREAT | O_EXCL, mode); }
int open_append(const char *path, mode_t mode) { return open_flags(path, O_WRONLY | O_CREAT | O_APPEND, mode); }
int open_dir(const char *path) { return open_flags(path, O_RDONLY | O_DIRECTORY, 0); }

int write_all(int fd, const char *s, size_t n)
{
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (w == 0) { errno = EIO; return -1; }
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

ssize_t read_full(int fd, char *s, size_t n)
{
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, s + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

int read_fd_all(int fd, str *sa, size_t max)
{
  for (;;) {
    ssize_t r;
    size_t room;
    if (sa->len >= max) {
      char probe;
      do r = read(fd, &probe, 1);
      while (r < 0 && errno == EINTR);
      if (r < 0) return -1;
      if (r == 0) return 0;
      errno = EFBIG;
      return -1;
    }
    room = max - sa->len;
    if (room > 65536) room = 65536;
    if (str_readyplus(sa, room) < 0) return -1;
    do r = read(fd, sa->s + sa->len, room);
    while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    if (r == 0) return 0;
    sa->len += (size_t)r;
  }
}

int file_read(const char *path, str *sa, size_t max)
{
  int fd, r, e;
  sa->len = 0;
  fd = open_read(path);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  r = read_fd_all(fd, sa, max);
  e = errno;
  close(fd);
  errno = e;
  return r < 0 ? -1 : 1;
}

int file_sync(int fd)
{
  int r;
  do r = fsync(fd);
  while (r < 0 && errno == EINTR);
  return r;
}

int dir_sync(const char *path)
{
  int fd = open_dir(path), r, e;
  if (fd < 0) return -1;
  r = file_sync(fd);
  e = errno;
  close(fd);
  errno = e;
  return r;
}

int dir_sync_of(const char *path)
{
  size_t n = strlen(path), i = n;
  str d = STR_INIT;
  int r, e;
  while (i > 0 && path[i - 1] != '/') --i;
  if (i == 0) return dir_sync(".");
  while (i > 1 && path[i - 1] == '/') --i; /* "a//b" -> "a"; "/b" -> "/" */
  if (str_copyb(&d, path, i) < 0 || str_0(&d) < 0) { str_free(&d); return -1; }
  r = dir_sync(d.s);
  e = errno;
  str_free(&d);
  errno = e;
  return r;
}

int file_replace(const char *path, const char *s, size_t n, mode_t mode)
{
  str tmp = STR_INIT;
  int fd = -1, e;
  if (str_copys(&tmp, path) < 0 || str_cats(&tmp, ".tmp") < 0 || str_0(&tmp) < 0) goto fail;
  fd = open_trunc(tmp.s, mode);
  if (fd < 0) goto fail;
  if (fchmod(fd, mode) < 0) goto fail_unlink;
  if (write_all(fd, s, n) < 0 || file_sync(fd) < 0) goto fail_unlink;
  if (close(fd) < 0) { fd = -1; goto fail_unlink; }
  fd = -1;
  if (rename(tmp.s, path) < 0) goto fail_unlink;
  if (dir_sync_of(path) < 0) goto fail;
  str_free(&tmp);
  return 0;
fail_unlink:
  e = errno;
  unlink(tmp.s);
  errno = e;
fail:
  e = errno;
  if (fd >= 0) close(fd);
  str_free(&tmp);
  errno = e;
  return -1;
}

int file_replace_nosync(const char *path, const char *s, size_t n, mode_t mode)
{
  str tmp = STR_INIT;
  int fd, e;
  if (str_copys(&tmp, path) < 0 || str_cats(&tmp, ".tmp") < 0 || str_0(&tmp) < 0) goto fail;
  fd = open_trunc(tmp.s, mode);
  if (fd < 0) goto fail;
  if (fchmod(fd, mode) < 0 || write_all(fd, s, n) < 0) {
    e = errno;
    close(fd);
    errno = e;
    goto fail_unlink;
  }
  if (close(fd) < 0 || rename(tmp.s, path) < 0) goto fail_unlink;
  str_free(&tmp);
  return 0;
fail_unlink:
  e = errno;
  unlink(tmp.s);
  errno = e;
fail:
  e = errno;
  str_free(&tmp);
  errno = e;
  return -1;
}

static int lock_op(int fd, int cmd, short type)
{
  struct flock fl;
  int r;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  do r = fcntl(fd, cmd, &fl);
  while (r < 0 && errno == EINTR && cmd == F_SETLKW);
  return r < 0 ? -1 : 0;
}

int lock_ex(int fd) { return lock_op(fd, F_SETLKW, F_WRLCK); }
int lock_exnb(int fd) { return lock_op(fd, F_SETLK, F_WRLCK); }
int lock_un(int fd) { return lock_op(fd, F_SETLK, F_UNLCK); }
