/* sluice-lspawn: the local spawner (sluice-lspawn(8)). Runs as root,
 * started by sluice-start with requests on fd 0, results on fd 1 and
 * the log on fd 2. For each request (one recipient) it opens the
 * message, finds the user (users/cdb, else sluice-getpw run as the
 * passwd user), and runs conf-home/bin/sluice-local as that user, in
 * that user's home, with the message on fd 0 and a result pipe on fd 1.
 * The loop itself is spawner.c; the user lookup is users.c.
 *
 * Root is needed only to change to each user; sluice-lspawn reads no
 * byte from the network and parses only the requests of sluice-send
 * (checked by spawn_request_decode) and the answers of its own helpers
 * (checked by users_decode and spawner_local_result). Fatal errors at
 * start and a broken request stream: exit 111. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "auto.h"
#include "byte.h"
#include "control.h"
#include "die.h"
#include "journal.h"
#include "file.h"
#include "priv.h"
#include "spawn.h"
#include "spawner.h"
#include "str.h"
#include "users.h"
#include "wait.h"

/* Most bytes of sluice-getpw's answer read. */
#define GETPW_OUTPUT_MAX 16384

struct lspawn {
  str local_path;       /* conf-home/bin/sluice-local */
  str getpw_path;       /* conf-home/bin/sluice-getpw */
  str defaultdelivery;
  uid_t pw_uid;         /* the passwd user runs sluice-getpw */
  gid_t pw_gid;
  int devnull;
};

/* What the child of a delivery becomes, between fork and exec. */
struct drop {
  uid_t uid;
  gid_t gid;
  gid_t groups[PRIV_GROUPS_MAX];
  size_t ngroups;
  const char *home;     /* chdir here after the drop, or NULL */
};

static int drop_prepare(void *arg)
{
  const struct drop *d = arg;
  if (priv_drop(d->uid, d->gid, d->groups, d->ngroups) < 0) return -1;
  if (d->home && chdir(d->home) < 0) return -1;
  return 0;
}

static void log_line(void *ctx, const char *what, int err)
{
  (void)ctx;
  errno = err;
  warn_parts(err != 0, "warning", what, (const char *)0);
}

static int answer(str *work, const struct spawn_request *req, char letter, const char *a,
                  const char *b)
{
  str t = STR_INIT;
  int r = -1;
  if (str_copys(&t, a) == 0 && (!b || str_cats(&t, b) == 0))
    r = spawner_answer_all(work, req, letter, t.s, t.len);
  str_free(&t);
  return r < 0 ? -1 : 0;
}

/* Runs sluice-getpw for local: 1 with e filled, 0 refused (exit 100),
 * -1 temporary trouble. */
static int getpw(struct lspawn *ls, const char *local, struct users_entry *e)
{
  char *argv[3];
  struct drop d;
  str out = STR_INIT;
  int rfd, st, code, r = -1;
  pid_t pid;

  argv[0] = (char *)"sluice-getpw";
  argv[1] = (char *)local;
  argv[2] = 0;
  memset(&d, 0, sizeof d);
  d.uid = ls->pw_uid;
  d.gid = ls->pw_gid;
  d.groups[0] = ls->pw_gid;
  d.ngroups = 1;
  pid = spawner_start(ls->getpw_path.s, argv, ls->devnull, drop_prepare, &d, &rfd);
  if (pid < 0) return -1;
  if (read_fd_all(rfd, &out, GETPW_OUTPUT_MAX) < 0) out.len = 0;
  close(rfd);
  if (wait_pid(pid, &st) < 0) goto done;
  code = wait_exitcode(st);
  if (code == 100) r = 0;
  else if (code == 0 && users_decode(e, out.s, out.len) == 0) r = 1;
done:
  str_free(&out);
  return r;
}

/* Finds the user of local: 1 found, 0 answered (work filled), -1 no
 * memory. */
static int find_user(struct lspawn *ls, const struct spawn_request *req, const char *local,
                     size_t llen, struct users_entry *e, str *work)
{
  int r = users_lookup("users/cdb", local, llen, e);
  if (r < 0) return answer(work, req, 'Z', "4.3.0 unable to read users/cdb: ", strerror(errno));
  if (r == 0) {
    users_entry_free(e);
    r = getpw(ls, local, e);
    if (r == 0) return answer(work, req, 'D', "5.1.1 no mailbox here by that name", 0);
    if (r < 0) return answer(work, req, 'Z', "4.3.0 temporary failure in the user lookup", 0);
  }
  /* uid 0 is refused here as a temporary failure: neither sluice-newu
   * nor sluice-getpw ever hands it out, so it means a broken setup
   * that the postmaster can repair without losing the message */
  if (e->uid == 0) return answer(work, req, 'Z', "4.3.0 refusing to deliver as root", 0);
  if (str_0(&e->user) < 0 || str_0(&e->home) < 0 || str_0(&e->dash) < 0 || str_0(&e->ext) < 0)
    return -1;
  return 1;
}

static int start(void *ctx, struct spawn_request *req, pid_t *pid, int *fd, str *work)
{
  struct lspawn *ls = ctx;
  struct users_entry e = USERS_ENTRY_INIT;
  struct drop d;
  str local = STR_INIT;
  const char *rcpt = req->rcpts.s, *domain;
  size_t rlen, at;
  char *argv[10];
  int msg = -1, r, err, ng;

  if (req->nrcpts != 1)
    return answer(work, req, 'Z', "4.3.0 sluice-lspawn takes one recipient per request", 0);
  rlen = byte_len(rcpt, req->rcpts.len);
  (void)addr_split(rcpt, rlen, &at); /* at == rlen: no domain */
  domain = at < rlen ? rcpt + at + 1 : rcpt + rlen;
  if (str_copyb(&local, rcpt, at) < 0 || str_0(&local) < 0 || str_0(&req->sender) < 0) return -1;

  msg = spawner_open_message(req->id);
  if (msg < 0) {
    r = answer(work, req, 'Z', "4.3.0 unable to open the message file: ", strerror(errno));
    goto done;
  }
  r = find_user(ls, req, local.s, local.len, &e, work);
  if (r <= 0) goto done;

  memset(&d, 0, sizeof d);
  d.uid = (uid_t)e.uid;
  d.gid = (gid_t)e.gid;
  ng = PRIV_GROUPS_MAX;
  if (getgrouplist(e.user.s, d.gid, d.groups, &ng) < 0 || ng < 1) {
    r = answer(work, req, 'Z', "4.3.0 unable to list the groups of ", e.user.s);
    goto done;
  }
  d.ngroups = (size_t)ng;
  d.home = e.home.s;

  argv[0] = (char *)"sluice-local";
  argv[1] = e.user.s;
  argv[2] = e.home.s;
  argv[3] = local.s;
  argv[4] = e.dash.s;
  argv[5] = e.ext.s;
  argv[6] = (char *)domain;
  argv[7] = req->sender.s;
  argv[8] = ls->defaultdelivery.s;
  argv[9] = 0;
  *pid = spawner_start(ls->local_path.s, argv, msg, drop_prepare, &d, fd);
  r = *pid < 0 ? -1 : 1;
done:
  err = errno;
  if (msg >= 0) close(msg);
  users_entry_free(&e);
  str_free(&local);
  errno = err;
  return r;
}

static int finish(void *ctx, const struct spawn_request *req, const char *out, size_t len,
                  int status, str *work)
{
  (void)ctx;
  (void)req;
  return spawner_local_result(work, out, len, status);
}

static void setup(struct lspawn *ls)
{
  if (geteuid() != 0) die_temp("must run as root: each delivery runs as its user");
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  if (str_copys(&ls->local_path, auto_home) < 0 || str_cats(&ls->local_path, "/bin/sluice-local") < 0 ||
      str_0(&ls->local_path) < 0 || str_copys(&ls->getpw_path, auto_home) < 0 ||
      str_cats(&ls->getpw_path, "/bin/sluice-getpw") < 0 || str_0(&ls->getpw_path) < 0)
    die_nomem();
  if (control_readline("control/defaultdelivery", &ls->defaultdelivery, "./Maildir/") < 0)
    die_temp_sys("unable to read control/defaultdelivery");
  if (ls->defaultdelivery.len == 0 && str_copys(&ls->defaultdelivery, "./Maildir/") < 0)
    die_nomem();
  if (str_0(&ls->defaultdelivery) < 0) die_nomem();
  switch (priv_lookup(auto_user_passwd, &ls->pw_uid, &ls->pw_gid)) {
  case 1: break;
  case 0: die_temp("no passwd user ", auto_user_passwd);
  default: die_temp_sys("unable to look up ", auto_user_passwd);
  }
  ls->devnull = open_read("/dev/null");
  if (ls->devnull < 0) die_temp_sys("unable to open /dev/null");
}

int main(void)
{
  static struct lspawn ls;
  struct spawner_ops ops;

  die_progname("sluice-lspawn");
  setup(&ls);
  ops.start = start;
  ops.finish = finish;
  ops.log = log_line;
  ops.journal = JOURNAL_LOCAL_HOME;
  ops.ctx = &ls;
  if (spawner_run(&ops, 0, 1) < 0) die_temp_sys("request stream broken or out of resources");
  return 0;
}
