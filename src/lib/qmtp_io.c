/* qmtp_io.c: see qmtp_io.h. */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "buf.h"
#include "env.h"
#include "fd.h"
#include "file.h"
#include "qmtp.h"
#include "qmtp_io.h"
#include "remotehost.h"
#include "smtpd_text.h"
#include "str.h"
#include "wait.h"

/* One byte from in: 1, 0 at end of file, -1 on error. */
static int get_byte(buf *in, char *c)
{
  ssize_t r;

  if (buf_avail(in) == 0) {
    r = buf_feed(in);
    if (r <= 0) return (int)r;
  }
  *c = buf_peek(in)[0];
  buf_seek(in, 1);
  return 1;
}

int qmtp_read_len(buf *in, size_t max, size_t *len, size_t *prefix)
{
  struct qmtp_len l;
  char c = 0;
  int r;

  qmtp_len_start(&l);
  for (;;) {
    r = get_byte(in, &c);
    if (r < 0) return -1;
    if (r == 0) {
      if (l.bytes == 0) return 0;
      errno = EPROTO;
      return -1;
    }
    r = qmtp_len_feed(&l, c, max);
    if (r < 0) return -1;
    if (r == 1) break;
  }
  *len = l.len;
  if (prefix) *prefix = l.bytes;
  return 1;
}

int qmtp_read_comma(buf *in)
{
  char c = 0;
  int r = get_byte(in, &c);

  if (r < 0) return -1;
  if (r == 0 || c != ',') { errno = EPROTO; return -1; }
  return 0;
}

int qmtp_read_data(buf *in, size_t len, str *out)
{
  int r;

  str_truncate(out, 0);
  if (str_ready(out, len) < 0) return -1;
  r = buf_read_exact(in, out->s, len);
  if (r < 0) return -1;
  if (r == 0 && len) { errno = EPROTO; return -1; }
  out->len = len;
  return qmtp_read_comma(in);
}

int qmtp_read_netstring(buf *in, size_t max, str *out)
{
  size_t len;
  int r = qmtp_read_len(in, max, &len, 0);

  if (r <= 0) return r;
  return qmtp_read_data(in, len, out) < 0 ? -1 : 1;
}

const char *qmtp_read_error(int err, int *perm)
{
  *perm = err == EMSGSIZE || err == EPROTO;
  if (err == ETIMEDOUT) return "timeout";
  if (err == ENOMEM) return "out of memory";
  if (err == EMSGSIZE) return "protocol error: netstring too long";
  if (err == EPROTO) return "protocol error: malformed netstring";
  return "read error";
}

pid_t qmtp_qq_start(const char *prog, int *msgfd, int *envfd)
{
  int mp[2], ep[2], e;
  child_fd fds[2];
  char *argv[2];
  pid_t pid;

  if (pipe(mp) < 0) return -1;
  if (pipe(ep) < 0) {
    e = errno;
    close(mp[0]);
    close(mp[1]);
    errno = e;
    return -1;
  }
  (void)fd_cloexec(mp[0], 1);
  (void)fd_cloexec(mp[1], 1);
  (void)fd_cloexec(ep[0], 1);
  (void)fd_cloexec(ep[1], 1);
  fds[0].to = 0;
  fds[0].from = mp[0];
  fds[1].to = 1;
  fds[1].from = ep[0];
  argv[0] = (char *)prog;
  argv[1] = 0;
  pid = child_spawn(prog, argv, 0, fds, 2);
  e = errno;
  close(mp[0]);
  close(ep[0]);
  if (pid < 0) {
    close(mp[1]);
    close(ep[1]);
    errno = e;
    return -1;
  }
  *msgfd = mp[1];
  *envfd = ep[1];
  return pid;
}

pid_t qmtp_qq_received(const char *prog, struct qmtp_peer *peer, const char *protocol, str *work,
                       int *msgfd, int *envfd, int *write_failed)
{
  struct smtpd_received rl;
  pid_t pid;

  if (!peer->name_tried) {
    int r = remotehost_find(peer->remote_ip, 0, peer->namewait, &peer->name);
    if (r < 0 || (r > 0 && str_0(&peer->name) < 0)) return -2;
    peer->name_tried = 1;
    if (r > 0) peer->remote_host = peer->name.s;
  }
  rl.helo = 0;
  rl.helo_len = 0;
  rl.remote_host = peer->remote_host;
  rl.remote_info = peer->remote_info;
  rl.remote_ip = peer->remote_ip;
  rl.local_host = peer->local_host;
  rl.protocol = protocol;
  rl.when = time(0);
  str_truncate(work, 0);
  if (smtpd_received_line(work, &rl) < 0) return -2;
  pid = qmtp_qq_start(prog, msgfd, envfd);
  if (pid < 0) return -1;
  if (write_all(*msgfd, work->s, work->len) < 0) *write_failed = 1;
  return pid;
}

int qmtp_peer_env(struct qmtp_peer *peer, str *local_host, const char *me)
{
  const char *e = env_get("TCPLOCALHOST");
  peer->remote_ip = env_get("TCPREMOTEIP");
  peer->remote_host = env_get("TCPREMOTEHOST");
  peer->remote_info = env_get("TCPREMOTEINFO");
  peer->name_tried = peer->remote_host != 0;
  if (str_copys(local_host, e && *e ? e : me) < 0 || str_0(local_host) < 0) return -1;
  peer->local_host = local_host->s;
  if (!peer->name_tried && remotehost_wait_read(&peer->namewait) < 0) return -2;
  return 0;
}

const char *qmtp_queue_program(str *path)
{
  const char *e = env_get("QMAILQUEUE");
  if (e && *e) return e;
  if (str_copys(path, auto_home) < 0 || str_cats(path, "/bin/sluice-queue") < 0 || str_0(path) < 0) return 0;
  return path->s;
}
