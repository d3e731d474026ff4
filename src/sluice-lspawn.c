/* sluice-lspawn: the local spawner (sluice-lspawn(8)). Runs as root,
 * started by sluice-start with requests on fd 0, results on fd 1 and
 * the log on fd 2. For each request (one recipient) it opens the
 * message, finds the user (users/cdb, else sluice-getpw run as the
 * passwd user), and runs conf-home/bin/sluice-local as that user, in
 * that user's home, with the message on fd 0 and a result pipe on fd 1.
 * The loop itself is spawner.c; the user lookup is users.c.
 *
 * What the lookup answers is checked before anything runs: no uid 0,
 * no gid 0, no uid of a sluice role other than alias, not the group of
 * the queue, names and home free of control bytes (a broken setup: Z,
 * so the postmaster can repair it without losing mail). At most
 * control/concurrencyuser deliveries run at once under one uid; one
 * more is answered Z at once and retried by sluice-send later, so one
 * user's slow programs cannot take every local slot. Each program of a
 * delivery is limited to control/timeoutlocal seconds, which is passed
 * to sluice-local (sluice-local(8)).
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
#include "deliver.h"
#include "die.h"
#include "errtext.h"
#include "journal.h"
#include "file.h"
#include "fmt.h"
#include "priv.h"
#include "spawn.h"
#include "spawner.h"
#include "str.h"
#include "users.h"
#include "wait.h"

/* Most bytes of sluice-getpw's answer read. */
#define GETPW_OUTPUT_MAX 16384
/* Limits on what the user lookup may answer: sluice-local's own. */
#define USER_NAME_MAX 256
#define HOME_PATH_MAX 4096
/* control/timeoutlocal's default: an hour. Far above what a filter
 * (procmail, maildrop, a spam scanner) or a list manager needs for one
 * message, yet one stuck program holds a local slot for an hour at
 * most, after which the message is retried. */
#define TIMEOUT_LOCAL_DEFAULT 3600UL
/* The role users that must never receive a delivery: every one but
 * alias, whose job it is. */
#define ROLES 6

struct lspawn {
  str local_path;       /* conf-home/bin/sluice-local */
  str getpw_path;       /* conf-home/bin/sluice-getpw */
  str defaultdelivery;
  uid_t pw_uid;         /* the passwd user runs sluice-getpw */
  gid_t pw_gid;
  int devnull;
  char timeout[FMT_ULONG]; /* control/timeoutlocal, for sluice-local */
  unsigned long peruser; /* control/concurrencyuser */
  uid_t role_uid[ROLES];
  size_t nroles;
  gid_t queue_gid;      /* the group role: owns the queue */
  int have_queue_gid;
  /* the uid each slot's delivery runs as, while it runs */
  unsigned char slot_busy[SPAWN_SLOTS_MAX];
  uid_t slot_uid[SPAWN_SLOTS_MAX];
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

static int has_control_byte(const str *s)
{
  size_t i;
  for (i = 0; i < s->len; ++i)
    if ((unsigned char)s->s[i] < 32 || (unsigned char)s->s[i] == 127) return 1;
  return 0;
}

/* Why the lookup's answer e (uid 0 already refused) must not be used,
 * or NULL when it may. */
static const char *entry_refused(const struct lspawn *ls, const struct users_entry *e)
{
  size_t i;
  if (e->uid > USERS_ID_MAX || (unsigned long)(uid_t)e->uid != e->uid) return "uid out of range";
  if (e->gid > USERS_ID_MAX || (unsigned long)(gid_t)e->gid != e->gid) return "gid out of range";
  if (e->gid == 0) return "gid 0 (the root group)";
  for (i = 0; i < ls->nroles; ++i)
    if ((uid_t)e->uid == ls->role_uid[i]) return "the uid of a sluice role user";
  if (ls->have_queue_gid && (gid_t)e->gid == ls->queue_gid) return "the gid of the queue's group";
  if (e->user.len == 0 || e->user.len > USER_NAME_MAX || has_control_byte(&e->user))
    return "user name empty, too long or holding a control byte";
  if (e->home.len == 0 || e->home.s[0] != '/' || e->home.len > HOME_PATH_MAX || has_control_byte(&e->home))
    return "home not an absolute path, too long or holding a control byte";
  if (e->dash.len > 1 || (e->dash.len == 1 && e->dash.s[0] != '-')) return "dash neither empty nor -";
  if (has_control_byte(&e->ext)) return "extension holding a control byte";
  return 0;
}

/* Finds the user of local: 1 found, 0 answered (work filled), -1 no
 * memory. */
static int find_user(struct lspawn *ls, const struct spawn_request *req, const char *local,
                     size_t llen, struct users_entry *e, str *work)
{
  int r = users_lookup("users/cdb", local, llen, e);
  if (r < 0) return answer(work, req, 'Z', "4.3.0 unable to read users/cdb: ", errtext(errno));
  if (r == 0) {
    users_entry_free(e);
    r = getpw(ls, local, e);
    if (r == 0) return answer(work, req, 'D', "5.1.1 no mailbox here by that name", 0);
    if (r < 0) return answer(work, req, 'Z', "4.3.0 temporary failure in the user lookup", 0);
  }
  /* refused as temporary failures: neither sluice-newu nor sluice-getpw
   * ever hands such an answer out, so it means a broken setup (or a
   * compromised helper) that the postmaster can repair without losing
   * the message */
  if (e->uid == 0) return answer(work, req, 'Z', "4.3.0 refusing to deliver as root", 0);
  {
    const char *why = entry_refused(ls, e);
    if (why) return answer(work, req, 'Z', "4.3.5 refusing the answer of the user lookup: ", why);
  }
  if (str_0(&e->user) < 0 || str_0(&e->home) < 0 || str_0(&e->dash) < 0 || str_0(&e->ext) < 0)
    return -1;
  return 1;
}

/* How many deliveries run as uid now. */
static unsigned long running_as(const struct lspawn *ls, uid_t uid)
{
  unsigned long n = 0;
  size_t i;
  for (i = 0; i < SPAWN_SLOTS_MAX; ++i)
    if (ls->slot_busy[i] && ls->slot_uid[i] == uid) ++n;
  return n;
}

static int start(void *ctx, struct spawn_request *req, pid_t *pid, int *fd, str *work)
{
  struct lspawn *ls = ctx;
  struct users_entry e = USERS_ENTRY_INIT;
  struct drop d;
  str local = STR_INIT;
  const char *rcpt = req->rcpts.s, *domain;
  size_t rlen, at;
  char *argv[11];
  int msg = -1, r, err, ng;

  /* the loop starts a request only in a slot with nothing in flight */
  ls->slot_busy[req->slot] = 0;
  if (req->nrcpts != 1)
    return answer(work, req, 'Z', "4.3.0 sluice-lspawn takes one recipient per request", 0);
  rlen = byte_len(rcpt, req->rcpts.len);
  (void)addr_split(rcpt, rlen, &at); /* at == rlen: no domain */
  domain = at < rlen ? rcpt + at + 1 : rcpt + rlen;
  if (str_copyb(&local, rcpt, at) < 0 || str_0(&local) < 0 || str_0(&req->sender) < 0) return -1;

  msg = spawner_open_message(req->id);
  if (msg < 0) {
    r = answer(work, req, 'Z', "4.3.0 unable to open the message file: ", errtext(errno));
    goto done;
  }
  r = find_user(ls, req, local.s, local.len, &e, work);
  if (r <= 0) goto done;
  if (running_as(ls, (uid_t)e.uid) >= ls->peruser) {
    r = answer(work, req, 'Z', "4.4.5 too many deliveries in progress for this user"
               " (control/concurrencyuser); retried later", 0);
    goto done;
  }

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
  argv[9] = ls->timeout;
  argv[10] = 0;
  *pid = spawner_start(ls->local_path.s, argv, msg, drop_prepare, &d, fd);
  r = *pid < 0 ? -1 : 1;
  if (r == 1) {
    ls->slot_busy[req->slot] = 1;
    ls->slot_uid[req->slot] = d.uid;
  }
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
  struct lspawn *ls = ctx;
  if (req->slot < SPAWN_SLOTS_MAX) ls->slot_busy[req->slot] = 0;
  return spawner_local_result(work, out, len, status);
}

/* The uids that must not receive deliveries, and the queue's group. A
 * role user or group missing from the name service is skipped (setup
 * makes them all; sluice-start would not run without them). */
static void setup_roles(struct lspawn *ls)
{
  const char *names[ROLES];
  size_t i;
  gid_t g;
  names[0] = auto_user_daemon;
  names[1] = auto_user_log;
  names[2] = auto_user_passwd;
  names[3] = auto_user_queue;
  names[4] = auto_user_remote;
  names[5] = auto_user_send;
  for (i = 0; i < ROLES; ++i) {
    uid_t u;
    switch (priv_lookup(names[i], &u, &g)) {
    case 1: ls->role_uid[ls->nroles++] = u; break;
    case 0: break;
    default: die_temp_sys("unable to look up ", names[i]);
    }
  }
  switch (priv_lookup_group(auto_user_group, &ls->queue_gid)) {
  case 1: ls->have_queue_gid = 1; break;
  case 0: break;
  default: die_temp_sys("unable to look up the group ", auto_user_group);
  }
}

/* control/timeoutlocal, control/concurrencylocal (only for the default
 * of the next) and control/concurrencyuser. */
static void setup_limits(struct lspawn *ls)
{
  unsigned long t, local;
  if (control_readnum("control/timeoutlocal", &t, TIMEOUT_LOCAL_DEFAULT, 1, DELIVER_TIMEOUT_MAX) < 0)
    die_temp_sys("unable to read control/timeoutlocal");
  ls->timeout[fmt_ulong(ls->timeout, t)] = 0;
  if (control_readnum("control/concurrencylocal", &local, 10, 1, SPAWN_SLOTS_MAX) < 0)
    die_temp_sys("unable to read control/concurrencylocal");
  /* half the local slots by default: a user's burst still runs several
   * at once, and the other half stays for everyone else */
  if (control_readnum("control/concurrencyuser", &ls->peruser, (local + 1) / 2, 1, SPAWN_SLOTS_MAX) < 0)
    die_temp_sys("unable to read control/concurrencyuser");
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
  setup_roles(ls);
  setup_limits(ls);
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
