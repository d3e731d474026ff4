/* sluice-rspawn: the remote spawner (sluice-rspawn(8)). Runs as the
 * remote user, started by sluice-start with requests on fd 0, results
 * on fd 1 and the log on fd 2. For each request (the recipients of one
 * message at one domain) it opens the message and runs
 * conf-home/bin/sluice-remote DOMAIN SENDER RCPT... with the message on
 * fd 0 and a result pipe on fd 1, and SMTPUTF8=1 in its environment
 * when the request carries that option (else no SMTPUTF8 variable at
 * all); the DSN parameters of the request (RET from its options, ENVID,
 * NOTIFY and ORCPT) go before the domain as options and after each
 * recipient (sluice-remote(8)). One record per recipient comes back.
 * The loop is spawner.c, the reading of the records
 * spawner_remote_result. Fatal errors at start and a broken request
 * stream: exit 111. Memory lives until the request is answered.
 * With control/remotecache above 0 (default 2) it starts
 * sluice-scache once, with one end of a socketpair, and gives the other
 * end to every sluice-remote as fd 3 (SLUICE_SCACHEFD=3). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "auto.h"
#include "byte.h"
#include "die.h"
#include "env.h"
#include "errtext.h"
#include "journal.h"
#include "control.h"
#include "fmt.h"
#include "scache.h"
#include "wait.h"
#include <sys/socket.h>
#include "file.h"
#include "qfile.h"
#include "size.h"
#include "spawn.h"
#include "spawner.h"
#include "str.h"

struct rspawn {
  str remote_path;      /* conf-home/bin/sluice-remote */
  env plain, utf8;      /* its environments: ours without SMTPUTF8, and with SMTPUTF8=1 */
};

static void log_line(void *ctx, const char *what, int err)
{
  (void)ctx;
  errno = err;
  warn_parts(err != 0, "warning", what, (const char *)0);
}

static int start(void *ctx, struct spawn_request *req, pid_t *pid, int *fd, str *work)
{
  struct rspawn *rs = ctx;
  const char *first = req->rcpts.s, *e, *d, *domain;
  size_t flen, at, n, pos = 0, dpos = 0, i = 1, len, dlen;
  char **argv;
  int msg, err;

  /* sluice-remote, up to 6 options and "--", domain, sender, and each
   * recipient with (under -N) its NOTIFY letters and ORCPT, NULL */
  if (size_mul(&n, req->nrcpts, 3) < 0 || size_add(&n, n, 11) < 0 || size_mul(&n, n, sizeof *argv) < 0) return -1;
  if (str_0(&req->sender) < 0 || str_0(&req->envid) < 0) return -1;
  msg = spawner_open_message(req->id);
  if (msg < 0) {
    str t = STR_INIT;
    int r = -1;
    if (str_copys(&t, "4.3.0 unable to open the message file: ") == 0 &&
        str_cats(&t, errtext(errno)) == 0)
      r = spawner_answer_all(work, req, 'Z', t.s, t.len);
    str_free(&t);
    return r < 0 ? -1 : 0;
  }
  argv = malloc(n);
  if (!argv) {
    err = errno;
    close(msg);
    errno = err;
    return -1;
  }
  /* every recipient of a request is at one domain: the first names it;
   * the fields of req->rcpts (and req->dsn) are NUL-terminated in place */
  flen = byte_len(first, req->rcpts.len);
  (void)addr_split(first, flen, &at); /* at == flen: no domain */
  argv[0] = (char *)"sluice-remote";
  /* DSN (RFC 3461), for sluice-remote to pass on (sluice-remote(8)) */
  if (req->options & (QFILE_OPT_RET_FULL | QFILE_OPT_RET_HDRS)) {
    argv[i++] = (char *)"-R";
    argv[i++] = (char *)(req->options & QFILE_OPT_RET_FULL ? "FULL" : "HDRS");
  }
  if (req->envid.len) {
    argv[i++] = (char *)"-V";
    argv[i++] = req->envid.s;
  }
  if (req->dsn.len) argv[i++] = (char *)"-N";
  domain = at < flen ? first + at + 1 : first + flen;
  if (i > 1 || domain[0] == '-') argv[i++] = (char *)"--";
  argv[i++] = (char *)domain;
  argv[i++] = req->sender.s;
  while (spawn_next(&req->rcpts, &pos, &e, &len)) {
    argv[i++] = (char *)e;
    if (!req->dsn.len) continue;
    if (!spawn_next(&req->dsn, &dpos, &d, &dlen)) break; /* cannot be: decoded in pairs */
    argv[i++] = (char *)d;
    if (!spawn_next(&req->dsn, &dpos, &d, &dlen)) break;
    argv[i++] = (char *)d;
  }
  argv[i] = 0;
  *pid = spawner_start_delivery(rs->remote_path.s, argv,
                           env_vector(req->options & QFILE_OPT_SMTPUTF8 ? &rs->utf8 : &rs->plain), msg, 0, 0, fd);
  err = errno;
  close(msg);
  free(argv);
  errno = err;
  return *pid < 0 ? -1 : 1;
}

static int finish(void *ctx, const struct spawn_request *req, const char *out, size_t len,
                  int status, str *work)
{
  (void)ctx;
  return spawner_remote_result(work, req->nrcpts, out, len, status);
}

/* Starts sluice-scache (control/remotecache seconds idle; 0: no
 * cache) and sets the environments and the descriptor every
 * sluice-remote gets. A cache that cannot be started is logged; the
 * deliveries then go without. */
static void cache_start(struct rspawn *rs)
{
  unsigned long secs = 2;
  char num[FMT_ULONG];
  char *argv[3];
  child_fd fds[2];
  str path = STR_INIT;
  int sv[2];
  if (control_readnum("control/remotecache", &secs, 2, 0, 3600) < 0) {
    warn_parts(1, "warning", "unable to read control/remotecache: no connection cache", (const char *)0);
    return;
  }
  if (secs == 0) return;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    warn_parts(1, "warning", "unable to make the socket of sluice-scache: no connection cache", (const char *)0);
    return;
  }
  if (str_copys(&path, auto_home) < 0 || str_cats(&path, "/bin/sluice-scache") < 0 || str_0(&path) < 0) die_nomem();
  num[fmt_ulong(num, secs)] = 0;
  argv[0] = (char *)"sluice-scache";
  argv[1] = num;
  argv[2] = 0;
  fds[0].to = 0;
  fds[0].from = sv[0];
  fds[1].to = 1;
  fds[1].from = 2; /* never the result pipe: its log is fd 2 */
  if (child_spawn(path.s, argv, 0, fds, 2) < 0) {
    warn_parts(1, "warning", "unable to start sluice-scache: no connection cache", (const char *)0);
    close(sv[0]);
    close(sv[1]);
    str_free(&path);
    return;
  }
  close(sv[0]);
  str_free(&path);
  if (env_set(&rs->plain, SCACHE_ENV, "3") < 0 || env_set(&rs->utf8, SCACHE_ENV, "3") < 0) die_nomem();
  spawner_pass_fd(SCACHE_FD, sv[1]);
}

int main(void)
{
  static struct rspawn rs;
  struct spawner_ops ops;

  die_progname("sluice-rspawn");
  /* it runs sluice-remote, which talks to the network: never as root */
  if (geteuid() == 0) die_temp("must not run as root (sluice-start runs it as ", auto_user_remote, ")");
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  if (str_copys(&rs.remote_path, auto_home) < 0 ||
      str_cats(&rs.remote_path, "/bin/sluice-remote") < 0 || str_0(&rs.remote_path) < 0)
    die_nomem();
  if (env_start(&rs.plain, 1) < 0 || env_unset(&rs.plain, "SMTPUTF8") < 0 || env_start(&rs.utf8, 1) < 0
      || env_set(&rs.utf8, "SMTPUTF8", "1") < 0)
    die_nomem();
  if (env_unset(&rs.plain, SCACHE_ENV) < 0 || env_unset(&rs.utf8, SCACHE_ENV) < 0) die_nomem();
  cache_start(&rs);
  ops.start = start;
  ops.finish = finish;
  ops.release = 0;
  ops.log = log_line;
  ops.journal = JOURNAL_REMOTE_HOME;
  ops.ctx = &rs;
  if (spawner_run(&ops, 0, 1) < 0) die_temp_sys("request stream broken or out of resources");
  return 0;
}
