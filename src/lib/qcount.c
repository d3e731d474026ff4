/* qcount.c: counting the files of the queue's directories (qcount.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qcount.h"
#include "walk.h"

int qcount_dir(int qfd, const char *path, struct qcount *c, int want_age)
{
  int fd = walk_dir(qfd, path), e;
  DIR *d = fd < 0 ? 0 : fdopendir(fd);
  struct dirent *de;
  struct stat st;
  if (!d) {
    e = errno;
    if (fd >= 0) close(fd);
    errno = e;
    return -1;
  }
  for (;;) {
    errno = 0;
    de = readdir(d);
    if (!de) break;
    if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
    ++c->files;
    if (want_age && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
        && (c->oldest == 0 || st.st_mtime < c->oldest))
      c->oldest = st.st_mtime;
  }
  if (errno) {
    e = errno;
    closedir(d);
    errno = e;
    return -1;
  }
  closedir(d);
  return 0;
}

int qcount_split(int qfd, const char *dir, unsigned long split, struct qcount *c, int want_age, str *failed)
{
  for (unsigned long n = 0; n < split; ++n) {
    failed->len = 0;
    if (str_copys(failed, dir) < 0 || str_catc(failed, '/') < 0 || str_catulong(failed, n) < 0 || str_0(failed) < 0)
      return -1;
    if (qcount_dir(qfd, failed->s, c, want_age) < 0) return -1;
  }
  return 0;
}
