/* sluice-tlsgate: STARTTLS on request, for sluice-smtpd run without a
 * UCSPI-TLS wrapper (sluice-tlsgate(8)).
 *
 *   sluice-tlsgate -u UID [-U UID -G GID] [-c MAX] [-t SECONDS]
 *                  [-T SECONDS] [PATH]
 *
 * Long-running, under supervise. As root it makes the unix socket PATH
 * (default conf-home/tls/gate; a stale socket there is replaced, a live
 * one is left to its gate and this one stops), owned by UID (the daemon
 * user sluice-smtpd runs as), mode 0600, then drops to the tls role
 * user (-U, -G) for good: it needs only to read control/tls/NAME.pem.
 *
 * A connection from any uid but UID (SO_PEERCRED) is logged and
 * closed. Beyond MAX (-c, default 40) sessions at once, the answer is
 * `-' and the connection is closed (sluice-smtpd says 454). Otherwise
 * a child serves it: it reads the certificate files afresh (a renewed
 * one needs no restart; tlsbundle.h), answers `+' (or closes when
 * cert.pem cannot be read), and waits, at most -t seconds, for one
 * request: the mode byte `y' or `Y', then optionally the client's IP
 * address (for the log), with three descriptors attached (SCM_RIGHTS):
 * the client's connection, the write end of the pipe to sluice-smtpd
 * and the read end of the pipe from it. It checks their kinds and execs
 * sluice-tlsrelay with exactly what sluice-tlsd would have given it
 * (tlsbundle.h): the connection on fd 0 and 1, this socket as the
 * control socket on fd 3, the pipes on fd 4 and 5, the bundle on fd 6,
 * and PID 0 (sluice-smtpd is not its child). Anything else in a request
 * is logged and the child ends; the gate goes on.
 *
 * This process and its children never read a byte of a client's
 * connection; only the relay does, as the tls user. sluice-smtpd, which
 * parses the client's bytes, never holds the key.
 *
 * Errors go to fd 2, one line each. Exit codes: 64 usage, 111 when it
 * cannot start (supervise starts it again). */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auto.h"
#include "byte.h"
#include "die.h"
#include "errtext.h"
#include "fd.h"
#include "fdpass.h"
#include "file.h"
#include "fmt.h"
#include "priv.h"
#include "scan.h"
#include "sig.h"
#include "str.h"
#include "tlsbundle.h"
#include "tlsgate.h"

#define USAGE "sluice-tlsgate -u uid [-U uid -G gid] [-c max] [-t seconds] [-T seconds] [path]"
#define REQUEST_MAX (1 + TLSGATE_IP_MAX) /* the mode byte and an IP address */

static str relay_path = STR_INIT; /* conf-home/bin/sluice-tlsrelay */
static unsigned long timeout = 60, idle = 3600;

static unsigned long number(const char *s, const char *what, unsigned long min, unsigned long max)
{
  unsigned long u;
  if (scan_ulong_exact(s, byte_len(s, 32), &u) < 0 || u < min || u > max)
    die_usage("sluice-tlsgate: bad ", what, ": ", s);
  return u;
}

static const char *num(unsigned long u)
{
  static char b[FMT_ULONG];
  b[fmt_ulong(b, u)] = 0;
  return b;
}

/* 1 when fd is of the kind (S_IFSOCK, S_IFIFO) and, for a pipe, open
 * for the access mode asked (O_RDONLY, O_WRONLY). */
static int fd_is(int fd, mode_t kind, int acc)
{
  struct stat st;
  int fl;
  if (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != kind) return 0;
  if (kind != S_IFIFO) return 1;
  fl = fcntl(fd, F_GETFL);
  return fl >= 0 && (fl & O_ACCMODE) == acc;
}

/* The child for one accepted connection c: never returns. */
static _Noreturn void serve(int c)
{
  str bundle = STR_INIT;
  char rec[REQUEST_MAX + 1], extra, mode;
  const char *ip;
  size_t iplen;
  struct pollfd p;
  int fds[FDPASS_MAX], nfds = 0, r;
  long n;
  const char *what;

  r = tlsbundle_read(&bundle);
  if (r < 0) {
    warn_msg("unable to read control/tls/cert.pem: ", errtext(errno), "; STARTTLS refused");
    _exit(EXIT_TEMP);
  }
  if (r > 0) warn_msg("unable to read a certificate file of control/tls: skipped");
  if (write_all(c, "+", 1) < 0) _exit(0);

  p.fd = c;
  p.events = POLLIN;
  do r = poll(&p, 1, (int)(timeout * 1000));
  while (r < 0 && errno == EINTR);
  if (r == 0) {
    warn_msg("no request within ", num(timeout), " seconds (-t)");
    _exit(0);
  }
  /* room for the NUL; one message, sent whole: anything after it makes
   * it too long */
  n = fdpass_recv(c, rec, sizeof rec - 1, fds, FDPASS_MAX, &nfds, MSG_DONTWAIT);
  if (n < 0 && errno == EMSGSIZE) {
    warn_msg("bad request: too long");
    _exit(0);
  }
  if (n <= 0) {
    if (n < 0) warn_sys("unable to read a request");
    _exit(0); /* sluice-smtpd went away first */
  }
  if (recv(c, &extra, 1, MSG_DONTWAIT | MSG_PEEK) > 0) {
    warn_msg("bad request: too long");
    _exit(0);
  }
  if (nfds != 3) {
    warn_msg("bad request: ", num((unsigned long)nfds), " descriptors instead of 3");
    _exit(0);
  }
  if (tlsgate_request_parse(rec, (size_t)n, &mode, &ip, &iplen) < 0) {
    warn_msg("bad request: not a mode byte and an address");
    _exit(0);
  }
  if (!fd_is(fds[0], S_IFSOCK, 0) || !fd_is(fds[1], S_IFIFO, O_WRONLY) || !fd_is(fds[2], S_IFIFO, O_RDONLY)) {
    warn_msg("bad request: the descriptors are not a socket and two pipes");
    _exit(0);
  }
  rec[n] = 0; /* ends ip, which points into rec */
  if (iplen && setenv("TCPREMOTEIP", ip, 1) < 0) die_nomem();
  /* fds[] and c are above 2 (main keeps 0, 1 and 2 open) */
  if (fd_move(0, fds[0]) < 0 || fd_copy(1, 0) < 0) die_temp_sys("unable to set up descriptors");
  tlsbundle_exec_relay(relay_path.s, mode, 0, timeout, idle, c, fds[1], fds[2], &bundle, &what);
  die_temp_sys(what, ": ", relay_path.s);
}

/* The listening socket at path, owned by peer (as root), mode 0600 (or
 * 0666 when not root and peer is another user). */
static int listen_at(const char *path, uid_t peer)
{
  struct sockaddr_un sa;
  struct stat st;
  size_t n = byte_len(path, sizeof sa.sun_path);
  int s;

  if (n >= sizeof sa.sun_path) die_usage("sluice-tlsgate: path too long: ", path);
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, n);
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) die_temp(path, " exists and is not a socket");
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) die_temp_sys("unable to make a socket");
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) die_temp("another sluice-tlsgate listens on ", path);
    close(s);
    if (unlink(path) < 0 && errno != ENOENT) die_temp_sys("unable to remove the stale socket ", path);
  }
  s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) die_temp_sys("unable to make a socket");
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) die_temp_sys("unable to bind to ", path);
  if (geteuid() == 0) {
    if (chown(path, peer, (gid_t)-1) < 0 || chmod(path, 0600) < 0) die_temp_sys("unable to set the owner of ", path);
  } else if (chmod(path, peer == geteuid() ? 0600 : 0666) < 0) {
    die_temp_sys("unable to set the mode of ", path);
  }
  if (listen(s, 128) < 0) die_temp_sys("unable to listen on ", path);
  return s;
}

int main(int argc, char **argv)
{
  const char *path = "tls/gate";
  uid_t peer = 0, tls_uid = 0;
  gid_t tls_gid = 0;
  int have_u = 0, have_tu = 0, have_tg = 0, i, ls, sp;
  unsigned long max = 40, running = 0;

  die_progname("sluice-tlsgate");
  for (i = 1; i < argc && argv[i][0] == '-'; ++i) {
    if (!strcmp(argv[i], "--")) {
      ++i;
      break;
    } else if (!strcmp(argv[i], "-u") && i + 1 < argc) {
      peer = (uid_t)number(argv[++i], "uid", 0, 0x7fffffffUL);
      have_u = 1;
    } else if (!strcmp(argv[i], "-U") && i + 1 < argc) {
      tls_uid = (uid_t)number(argv[++i], "uid", 0, 0x7fffffffUL);
      have_tu = 1;
    } else if (!strcmp(argv[i], "-G") && i + 1 < argc) {
      tls_gid = (gid_t)number(argv[++i], "gid", 0, 0x7fffffffUL);
      have_tg = 1;
    } else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
      max = number(argv[++i], "limit", 1, 100000);
    } else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
      timeout = number(argv[++i], "timeout", 1, 86400);
    } else if (!strcmp(argv[i], "-T") && i + 1 < argc) {
      idle = number(argv[++i], "idle time limit", 1, 86400);
    } else {
      die_usage(USAGE);
    }
  }
  if (i < argc) path = argv[i++];
  if (i != argc || !have_u || have_tu != have_tg) die_usage(USAGE);
  /* 0, 1 and 2 open, so that no socket lands there */
  for (;;) {
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0) die_temp_sys("unable to open /dev/null");
    if (fd > 2) {
      close(fd);
      break;
    }
  }
  if (geteuid() == 0 && (!have_tu || tls_uid == 0)) die_temp("as root, -U and -G name the tls role user (not root)");
  if (peer == 0) die_temp("refusing to serve root (-u 0)");
  if (str_copys(&relay_path, auto_home) < 0 || str_cats(&relay_path, "/bin/sluice-tlsrelay") < 0
      || str_0(&relay_path) < 0)
    die_nomem();
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  if (access(relay_path.s, X_OK) < 0) die_temp_sys(relay_path.s, " is missing (built without OpenSSL?)");

  ls = listen_at(path, peer);
  if (geteuid() == 0 && priv_drop(tls_uid, tls_gid, 0, 0) < 0) die_temp_sys("unable to drop to the tls role user");
  if (sig_ignore(SIGPIPE) < 0) die_temp_sys("unable to ignore SIGPIPE");
  sp = sig_selfpipe_init();
  if (sp < 0 || sig_selfpipe_catch(SIGCHLD) < 0) die_temp_sys("unable to catch SIGCHLD");
  warn_parts(0, "info", "listening on ", path, " for uid ", num((unsigned long)peer), (const char *)0);

  for (;;) {
    struct pollfd p[2];
    struct ucred cr;
    socklen_t cl = sizeof cr;
    pid_t pid;
    int c, st;

    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
      if (running) --running;
    p[0].fd = ls;
    p[0].events = POLLIN;
    p[1].fd = sp;
    p[1].events = POLLIN;
    p[0].revents = p[1].revents = 0;
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die_temp_sys("poll failed");
    }
    if (p[1].revents)
      while (sig_selfpipe_read() > 0) {}
    if (!p[0].revents) continue;
    c = accept4(ls, 0, 0, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) warn_sys("accept failed");
      continue;
    }
    if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cl != sizeof cr) {
      warn_sys("unable to learn a peer's uid: refused");
      close(c);
      continue;
    }
    if (cr.uid != peer) {
      warn_msg("refused a connection from uid ", num((unsigned long)cr.uid), " pid ", num((unsigned long)cr.pid));
      close(c);
      continue;
    }
    if (running >= max) {
      (void)send(c, "-", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
      warn_msg(num(max), " sessions at once (-c): STARTTLS refused");
      close(c);
      continue;
    }
    pid = fork();
    if (pid < 0) {
      warn_sys("unable to fork: STARTTLS refused");
      close(c);
      continue;
    }
    if (pid == 0) {
      sig_reset_caught();
      close(ls);
      serve(c);
    }
    ++running;
    close(c);
  }
}
