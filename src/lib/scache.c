/* scache.c: the records of the connection cache (scache.h). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "byte.h"
#include "env.h"
#include "fd.h"
#include "fdpass.h"
#include "scache.h"
#include "scan.h"

int scache_send(int sock, char op, const char *key, size_t klen, const char *state, size_t slen, int fd)
{
  char rec[SCACHE_RECORD_MAX];
  size_t len = 1 + klen;

  if (klen > SCACHE_RECORD_MAX - 2 || slen > SCACHE_RECORD_MAX - 2 - klen) { errno = EMSGSIZE; return -1; }
  rec[0] = op;
  memcpy(rec + 1, key, klen);
  if (op == 'P' || op == 'Y') {
    rec[len++] = 0;
    memcpy(rec + len, state, slen);
    len += slen;
  }
  return fdpass_send(sock, rec, len, &fd, fd >= 0 ? 1 : 0, MSG_DONTWAIT);
}

long scache_recv(int sock, char *rec, size_t size, int *fd)
{
  int n;
  long r = fdpass_recv(sock, rec, size, fd, 1, &n, MSG_DONTWAIT);
  if (n == 0) *fd = -1;
  return r;
}

int scache_get(int sock, const char *key, size_t klen, str *state)
{
  char rec[SCACHE_RECORD_MAX];
  int sp[2], fd = -1;
  struct pollfd p;
  long n;

  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) return -1;
  if (scache_send(sock, 'G', key, klen, 0, 0, sp[1]) < 0) {
    close(sp[0]);
    close(sp[1]);
    return -1;
  }
  close(sp[1]);
  p.fd = sp[0];
  p.events = POLLIN;
  p.revents = 0;
  while (poll(&p, 1, SCACHE_ANSWER_MS) < 0)
    if (errno != EINTR) break;
  n = p.revents ? scache_recv(sp[0], rec, sizeof rec, &fd) : -1;
  close(sp[0]);
  if (n < 1 || rec[0] != 'Y' || fd < 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  {
    /* 'Y', the key again, NUL, the state */
    size_t z = 1;
    while (z < (size_t)n && rec[z]) ++z;
    if (z >= (size_t)n || (size_t)n - z - 1 > SCACHE_RECORD_MAX || str_copyb(state, rec + z + 1, (size_t)n - z - 1) < 0) {
      close(fd);
      return -1;
    }
  }
  return fd;
}

int scache_fd_from_env(void)
{
  const char *v = env_get(SCACHE_ENV);
  unsigned long u;
  int type = 0, fd;
  socklen_t tl = sizeof type;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;

  if (!v || scan_ulong_exact(v, byte_len(v, 8), &u) < 0 || u > 65535) return -1;
  fd = (int)u;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_SEQPACKET) return -1;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 || ss.ss_family != AF_UNIX) return -1;
  if (fd_cloexec(fd, 1) < 0) return -1;
  return fd;
}
