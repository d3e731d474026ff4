/* fd.c: see fd.h. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fd.h"

int fd_copy(int to, int from)
{
  int r;
  if (to == from) return 0;
  do r = dup2(from, to);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -1 : 0;
}

int fd_move(int to, int from)
{
  if (to == from) return 0;
  if (fd_copy(to, from) < 0) return -1;
  /* close's EINTR leaves the fd state unspecified: never retry it */
  close(from);
  return 0;
}

int fd_cloexec(int fd, int on)
{
  int fl = fcntl(fd, F_GETFD);
  if (fl < 0) return -1;
  fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
  return fcntl(fd, F_SETFD, fl) < 0 ? -1 : 0;
}

int fd_nonblock(int fd, int on)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return -1;
  fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
  return fcntl(fd, F_SETFL, fl) < 0 ? -1 : 0;
}
