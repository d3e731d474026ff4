/* fdpass.c: see fdpass.h. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"

int fdpass_send(int sock, const char *buf, size_t n, const int *fds, int nfds, int flags)
{
  union { struct cmsghdr h; char b[CMSG_SPACE(FDPASS_MAX * sizeof(int))]; } cm;
  struct msghdr mh;
  struct iovec iov;
  ssize_t r;

  if (nfds < 0 || nfds > FDPASS_MAX) {
    errno = EINVAL;
    return -1;
  }
  iov.iov_base = (char *)buf;
  iov.iov_len = n;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (nfds > 0) {
    memset(&cm, 0, sizeof cm);
    mh.msg_control = cm.b;
    mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
    cm.h.cmsg_level = SOL_SOCKET;
    cm.h.cmsg_type = SCM_RIGHTS;
    cm.h.cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
    memcpy(CMSG_DATA(&cm.h), fds, (size_t)nfds * sizeof(int));
  }
  do r = sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -1;
  if ((size_t)r != n) {
    errno = EPROTO;
    return -1;
  }
  return 0;
}

long fdpass_recv(int sock, char *buf, size_t size, int *fds, int max, int *nfds, int flags)
{
  union { struct cmsghdr h; char b[CMSG_SPACE(FDPASS_MAX * sizeof(int))]; } cm;
  struct msghdr mh;
  struct iovec iov;
  struct cmsghdr *c;
  ssize_t r;
  int i;

  *nfds = 0;
  iov.iov_base = buf;
  iov.iov_len = size;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cm.b;
  mh.msg_controllen = sizeof cm.b;
  do r = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -1;
  for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    size_t n, k;
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
    n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (k = 0; k < n; ++k) {
      int f;
      memcpy(&f, CMSG_DATA(c) + k * sizeof(int), sizeof f);
      if (*nfds < max) fds[(*nfds)++] = f;
      else close(f);
    }
  }
  if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    for (i = 0; i < *nfds; ++i) close(fds[i]);
    *nfds = 0;
    errno = EMSGSIZE;
    return -1;
  }
  return (long)r;
}
