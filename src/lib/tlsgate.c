/* tlsgate.c: see tlsgate.h. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "byte.h"
#include "fd.h"
#include "fdpass.h"
#include "tlsgate.h"

int tlsgate_open(const char *path, int ms)
{
  struct sockaddr_un sa;
  size_t n = byte_len(path, sizeof sa.sun_path);
  struct pollfd p;
  char c;
  ssize_t r;
  int s, e;

  if (n == 0 || n >= sizeof sa.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, n);
  /* non-blocking: a gate whose queue is full is busy, not waited for */
  s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return -1;
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) goto fail;
  p.fd = s;
  p.events = POLLIN;
  for (;;) {
    p.revents = 0;
    r = poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) goto fail;
    if (r == 0) {
      errno = EAGAIN;
      goto fail;
    }
    r = read(s, &c, 1);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) goto fail;
    if (r == 0 || c != '+') {
      errno = EPROTO;
      goto fail;
    }
    break;
  }
  if (fd_nonblock(s, 0) < 0) goto fail;
  return s;

fail:
  e = errno;
  close(s);
  errno = e;
  return -1;
}

int tlsgate_ip_ok(const char *ip, size_t n)
{
  size_t i;
  if (n > TLSGATE_IP_MAX) return 0;
  for (i = 0; i < n; ++i) {
    char c = ip[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' || c == ':'))
      return 0;
  }
  return 1;
}

int tlsgate_request_parse(const char *rec, size_t n, char *mode, const char **ip, size_t *iplen)
{
  if (n < 1 || (rec[0] != 'y' && rec[0] != 'Y') || !tlsgate_ip_ok(rec + 1, n - 1)) return -1;
  *mode = rec[0];
  *ip = rec + 1;
  *iplen = n - 1;
  return 0;
}

int tlsgate_request(int gate, char mode, const char *ip, size_t iplen, int conn, int to_app, int from_app)
{
  char rec[1 + TLSGATE_IP_MAX];
  int fds[3];

  if (!tlsgate_ip_ok(ip, iplen)) iplen = 0;
  rec[0] = mode;
  if (iplen) memcpy(rec + 1, ip, iplen);
  fds[0] = conn;
  fds[1] = to_app;
  fds[2] = from_app;
  return fdpass_send(gate, rec, 1 + iplen, fds, 3, 0);
}
