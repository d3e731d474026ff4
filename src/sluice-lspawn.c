/* sluice-lspawn: the local spawner (sluice-lspawn(8)). Runs as root,
 * started by sluice-start with requests on fd 0, results on fd 1 and
 * the log on fd 2. For each request (one recipient) it opens the
 * message, finds the user (users/cdb, else the long-running helper
 * sluice-getpw, run as the passwd user and asked over a pipe pair, with
 * a cache here: getpw_client.c), and runs conf-home/bin/sluice-local as
 * that user, in that user's home, with the user's supplementary groups
 * (also from the helper: sluice-lspawn makes no name service call per
 * delivery), the message on fd 0 and a result pipe on fd 1. The loop
 * itself is spawner.c; the user lookup is users.c.
 *
 * What the lookup answers is checked before anything runs: no uid 0,
 * no gid 0, no uid of a sluice role other than alias, not the group of
 * the queue (nor among the supplementary groups), names and home free
 * of control bytes (a broken setup: Z,
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
 * start and a broken request stream: exit 111.
 *
 * Before the user lookup comes the alias database (users/aliases.cdb,
 * sluice-newaliases(8)) for the local parts of control/locals: an alias
 * is delivered by sluice-local as the alias user, with FLAGS a. A local
 * part starting with a backslash (\user, from an alias or ~/.forward)
 * skips the aliases and ~/.forward. With control/recipientdelimiter,
 * user+tag is looked up as user-tag (and the alias as user+tag, then
 * user). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "addr.h"
#include "aliases.h"
#include "auto.h"
#include "byte.h"
#include "cdb.h"
#include "control.h"
#include "deliver.h"
#include "die.h"
#include "domain.h"
#include "errtext.h"
#include "journal.h"
#include "file.h"
#include "fmt.h"
#include "getpw_client.h"
#include "getpw_proto.h"
#include "priv.h"
#include "spawn.h"
#include "spawner.h"
#include "str.h"
#include "users.h"
#include "wait.h"

/* control/timeoutgetpw's default: seconds for one answer of
 * sluice-getpw. A files lookup takes well under a millisecond; a
 * network name service (LDAP, sssd) has its own timeouts of a few
 * seconds. Lookups are made one at a time, so while one waits no
 * delivery starts: short enough that a hung lookup holds the others
 * up only briefly, long enough for a slow directory. */
#define TIMEOUT_GETPW_DEFAULT 10UL
/* control/getpwcache's default: seconds an answer is kept, so that a
 * change to passwd is seen within a minute. An answer that found no
 * account (the alias user's) is kept at most GETPW_NEGATIVE_MAX s. */
#define GETPW_CACHE_DEFAULT 60UL
#define GETPW_NEGATIVE_MAX 10UL
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

/* What the child of a delivery becomes, between fork and exec. */
struct drop {
  uid_t uid;
  gid_t gid;
  gid_t groups[PRIV_GROUPS_MAX];
  size_t ngroups;
  const char *home;     /* chdir here after the drop, or NULL */
};

struct lspawn {
  str local_path;       /* conf-home/bin/sluice-local */
  str getpw_path;       /* conf-home/bin/sluice-getpw */
  str defaultdelivery;
  struct drop pw_drop;  /* the passwd user, who runs sluice-getpw */
  struct getpw_client getpw;
  char timeout[FMT_ULONG]; /* control/timeoutlocal, for sluice-local */
  unsigned long peruser; /* control/concurrencyuser */
  uid_t role_uid[ROLES];
  size_t nroles;
  gid_t queue_gid;      /* the group role: owns the queue */
  int have_queue_gid;
  str locals;           /* control/locals (default: me): where aliases apply */
  str delims;           /* control/recipientdelimiter, without - and \\ */
  uid_t alias_uid;      /* the alias user, who runs alias deliveries */
  gid_t alias_gid;
  int have_alias;
  str alias_home;       /* conf-home/alias */
  /* the uid each slot's delivery runs as, while it runs */
  unsigned char slot_busy[SPAWN_SLOTS_MAX];
  uid_t slot_uid[SPAWN_SLOTS_MAX];
};

static int drop_prepare(void *arg)
{
  const struct drop *d = arg;
  if (priv_drop(d->uid, d->gid, d->groups, d->ngroups) < 0) return -1;
  if (d->home && chdir(d->home) < 0) return -1;
  return 0;
}

static pid_t lspawn_pid; /* for the helper's check that we still live */

/* sluice-getpw's child step: the drop to the passwd user, then a
 * SIGKILL for it when we die (set after the drop, which would clear
 * it), so that a helper stuck in a lookup cannot outlive us holding
 * the log pipe open; it ends at end of file on its fd 0 otherwise. */
static int getpw_prepare(void *arg)
{
  if (drop_prepare(arg) < 0) return -1;
#ifdef PR_SET_PDEATHSIG
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) return -1;
  if (getppid() != lspawn_pid) return -1; /* died already */
#endif
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

/* Asks sluice-getpw (through the cache); 1 with a filled, or -1 after
 * logging why there is no answer. */
static int ask(struct lspawn *ls, char kind, const char *arg, size_t len, unsigned long gid,
               struct getpw_answer *a)
{
  unsigned long starts = ls->getpw.starts;
  int r = getpw_client_ask(&ls->getpw, kind, arg, len, gid, a), err = errno;
  if (ls->getpw.starts != starts) {
    char num[FMT_ULONG];
    num[fmt_ulong(num, (unsigned long)ls->getpw.started)] = 0;
    warn_parts(0, "info", "started sluice-getpw as the passwd user: pid ", num, (const char *)0);
  }
  if (r == 1) return 1;
  switch (err) {
  case EAGAIN: warn_msg("no user lookup: sluice-getpw failed and is restarted after a pause"); break;
  case ETIMEDOUT: warn_msg("sluice-getpw did not answer in time (control/timeoutgetpw); killed"); break;
  case EPROTO: warn_msg("sluice-getpw gave an answer that does not parse; killed"); break;
  case EPIPE: warn_msg("sluice-getpw ended without answering"); break;
  default: errno = err; warn_sys("unable to ask sluice-getpw"); break;
  }
  return -1;
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

/* Why the supplementary groups of an answer must not be used, or NULL
 * when they may: the root group and the queue's group are refused
 * there as the primary group is. */
static const char *groups_refused(const struct lspawn *ls, const struct getpw_answer *a)
{
  size_t i;
  if (a->ngroups < 1 || a->ngroups > PRIV_GROUPS_MAX) return "no supplementary groups, or too many";
  for (i = 0; i < a->ngroups; ++i) {
    if ((unsigned long)(gid_t)a->groups[i] != a->groups[i]) return "gid out of range";
    if (a->groups[i] == 0) return "supplementary group 0 (the root group)";
    if (ls->have_queue_gid && (gid_t)a->groups[i] == ls->queue_gid)
      return "the queue's group among the supplementary groups";
  }
  return 0;
}

/* Finds the user of local and its groups: 1 found (e and d's groups
 * filled), 0 answered (work filled), -1 no memory. */
static int find_user(struct lspawn *ls, const struct spawn_request *req, const char *local,
                     size_t llen, struct users_entry *e, struct drop *d, str *work, const str *alias)
{
  struct getpw_answer a;
  const char *why;
  size_t i;
  int r, from_cdb;

  memset(&a, 0, sizeof a);
  if (alias) { /* the alias user, with the alias name as extension */
    if (!ls->have_alias) return answer(work, req, 'Z', "4.3.0 no alias user to deliver an alias", 0);
    users_entry_free(e);
    if (str_copys(&e->user, auto_user_alias) < 0 || str_copy(&e->home, &ls->alias_home) < 0
        || str_copys(&e->dash, "") < 0 || str_copy(&e->ext, alias) < 0)
      return -1;
    e->uid = (unsigned long)ls->alias_uid;
    e->gid = (unsigned long)ls->alias_gid;
    r = 1;
    from_cdb = 1; /* its groups from the helper */
  } else {
    r = users_lookup("users/cdb", local, llen, e);
    from_cdb = r == 1;
  }
  if (r < 0) return answer(work, req, 'Z', "4.3.0 unable to read users/cdb: ", errtext(errno));
  if (r == 0) {
    users_entry_free(e);
    if (llen > USERS_LOCAL_MAX) return answer(work, req, 'D', "5.1.1 no mailbox here by that name", 0);
    if (ask(ls, GETPW_ASK_USER, local, llen, 0, &a) < 0 || a.letter == 'Z') {
      r = answer(work, req, 'Z', "4.3.0 temporary failure in the user lookup", 0);
      goto done;
    }
    if (a.letter == 'D') {
      r = answer(work, req, 'D', "5.1.1 no mailbox here by that name", 0);
      goto done;
    }
    /* the answer's record becomes e */
    *e = a.e;
    memset(&a.e, 0, sizeof a.e);
  }
  /* refused as temporary failures: neither sluice-newu nor sluice-getpw
   * ever hands such an answer out, so it means a broken setup (or a
   * compromised helper) that the postmaster can repair without losing
   * the message */
  if (e->uid == 0) { r = answer(work, req, 'Z', "4.3.0 refusing to deliver as root", 0); goto done; }
  why = entry_refused(ls, e);
  if (why) { r = answer(work, req, 'Z', "4.3.5 refusing the answer of the user lookup: ", why); goto done; }
  if (str_0(&e->user) < 0 || str_0(&e->home) < 0 || str_0(&e->dash) < 0 || str_0(&e->ext) < 0) {
    r = -1;
    goto done;
  }
  /* a users/cdb entry: its groups from the helper too */
  if (from_cdb && (ask(ls, GETPW_ASK_GROUPS, e->user.s, e->user.len, e->gid, &a) < 0 || a.letter != 'K')) {
    r = answer(work, req, 'Z', "4.3.0 unable to list the groups of ", e->user.s);
    goto done;
  }
  why = groups_refused(ls, &a);
  if (why) { r = answer(work, req, 'Z', "4.3.5 refusing the answer of the user lookup: ", why); goto done; }
  for (i = 0; i < a.ngroups; ++i) d->groups[i] = (gid_t)a.groups[i];
  d->ngroups = a.ngroups;
  r = 1;
done:
  getpw_answer_free(&a);
  return r;
}

/* Whether local[0..n) (or, with a recipient delimiter at d < n, its
 * part before d) is an alias: 1 with the name found in *name, 0 not,
 * -1 the database could not be read. No database: no aliases. */
static int alias_of(const char *local, size_t n, size_t d, str *name)
{
  struct cdb c;
  char key[ALIASES_NAME_MAX];
  size_t len = n, k;
  int fd = open_read(ALIASES_CDB), r = 0, pass;

  if (fd < 0) return errno == ENOENT ? 0 : -1;
  if (cdb_open(&c, fd) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  for (pass = 0; pass < 2 && r == 0; ++pass) {
    if (pass == 1) {
      if (d >= n) break;
      len = d;
    }
    if (len == 0 || len > sizeof key) continue;
    for (k = 0; k < len; ++k) key[k] = local[k];
    case_lowerb(key, len);
    r = cdb_find(&c, key, len);
    if (r == 1 && str_copyb(name, local, len) < 0) r = -1;
  }
  cdb_close(&c);
  close(fd);
  return r;
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
  str local = STR_INIT, look = STR_INIT, alias = STR_INIT;
  const char *rcpt = req->rcpts.s, *domain;
  size_t rlen, at, dl, strip, delim;
  char *argv[12], flags[4];
  int msg = -1, r, err, isalias = 0;

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
  /* \user: no alias, no .forward; user+tag: the user part first */
  strip = local.len > 1 && local.s[0] == '\\';
  delim = strip + aliases_delimiter(local.s + strip, local.len - strip, ls->delims.s, ls->delims.len);
  dl = rlen - (size_t)(domain - rcpt);
  if (!strip && domain_match_list(domain, dl, &ls->locals)) {
    isalias = alias_of(local.s, local.len, delim, &alias);
    if (isalias < 0) {
      r = answer(work, req, 'Z', "4.3.0 unable to read " ALIASES_CDB ": ", errtext(errno));
      goto done;
    }
  }
  if (str_copyb(&look, local.s + strip, local.len - strip) < 0) { r = -1; goto done; }
  if (delim < local.len) look.s[delim - strip] = '-';
  flags[0] = 0;
  if (isalias) {
    flags[0] = 'a';
    flags[1] = 0;
  } else if (strip) {
    flags[0] = 'd';
    flags[1] = 0;
  }
  if (!isalias && delim < local.len) {
    size_t f = strip;
    flags[f] = 'p';
    flags[f + 1] = local.s[delim];
    flags[f + 2] = 0;
  }
  memset(&d, 0, sizeof d);
  r = find_user(ls, req, look.s, look.len, &e, &d, work, isalias ? &alias : 0);
  if (r <= 0) goto done;
  if (running_as(ls, (uid_t)e.uid) >= ls->peruser) {
    r = answer(work, req, 'Z', "4.4.5 too many deliveries in progress for this user"
               " (control/concurrencyuser); retried later", 0);
    goto done;
  }

  d.uid = (uid_t)e.uid;
  d.gid = (gid_t)e.gid;
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
  argv[10] = flags;
  argv[11] = 0;
  *pid = spawner_start_delivery(ls->local_path.s, argv, 0, msg, drop_prepare, &d, fd);
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
  str_free(&look);
  str_free(&alias);
  errno = err;
  return r;
}

/* in the delivery's monitor (spawner_start_delivery) */
static int finish(void *ctx, const struct spawn_request *req, const char *out, size_t len,
                  int status, str *work)
{
  (void)ctx;
  (void)req;
  return spawner_local_result(work, out, len, status);
}

/* in sluice-lspawn, when the delivery has ended */
static void release(void *ctx, const struct spawn_request *req)
{
  struct lspawn *ls = ctx;
  if (req->slot < SPAWN_SLOTS_MAX) ls->slot_busy[req->slot] = 0;
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
 * of the next), control/concurrencyuser, control/timeoutgetpw and
 * control/getpwcache. */
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
  if (control_readnum("control/timeoutgetpw", &t, TIMEOUT_GETPW_DEFAULT, 1, 3600) < 0)
    die_temp_sys("unable to read control/timeoutgetpw");
  ls->getpw.timeout_ms = t * 1000;
  if (control_readnum("control/getpwcache", &t, GETPW_CACHE_DEFAULT, 0, 86400) < 0)
    die_temp_sys("unable to read control/getpwcache");
  ls->getpw.ttl_ms = t * 1000;
  ls->getpw.negative_ttl_ms = (t < GETPW_NEGATIVE_MAX ? t : GETPW_NEGATIVE_MAX) * 1000;
}

/* control/locals (default: control/me), control/recipientdelimiter,
 * and the alias user, who runs alias deliveries. */
static void setup_aliases(struct lspawn *ls)
{
  str me = STR_INIT, raw = STR_INIT;
  size_t i;
  int r;
  if (control_readline("control/me", &me, "localhost") < 0) die_temp_sys("unable to read control/me");
  r = control_readlist("control/locals", &ls->locals);
  if (r < 0) die_temp_sys("unable to read control/locals");
  if (r == 0 && (str_copy(&ls->locals, &me) < 0 || str_catc(&ls->locals, 0) < 0)) die_nomem();
  if (control_readline("control/recipientdelimiter", &raw, "") < 0)
    die_temp_sys("unable to read control/recipientdelimiter");
  for (i = 0; i < raw.len; ++i) {
    char c = raw.s[i];
    if (c == '-' || c == '\\' || c == '@' || c == ' ' || c == '\t') continue;
    if (str_catc(&ls->delims, c) < 0) die_nomem();
  }
  if (str_0(&ls->delims) < 0) die_nomem();
  switch (priv_lookup(auto_user_alias, &ls->alias_uid, &ls->alias_gid)) {
  case 1: ls->have_alias = 1; break;
  case 0: break;
  default: die_temp_sys("unable to look up ", auto_user_alias);
  }
  if (str_copys(&ls->alias_home, auto_home) < 0 || str_cats(&ls->alias_home, "/alias") < 0) die_nomem();
  str_free(&me);
  str_free(&raw);
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
  /* the name service is used here, once at start, and never again by
   * this process: lookups per delivery are sluice-getpw's */
  switch (priv_lookup(auto_user_passwd, &ls->pw_drop.uid, &ls->pw_drop.gid)) {
  case 1: break;
  case 0: die_temp("no passwd user ", auto_user_passwd);
  default: die_temp_sys("unable to look up ", auto_user_passwd);
  }
  ls->pw_drop.groups[0] = ls->pw_drop.gid;
  ls->pw_drop.ngroups = 1;
  ls->pw_drop.home = 0;
  getpw_client_init(&ls->getpw);
  ls->getpw.path = ls->getpw_path.s;
  ls->getpw.prepare = getpw_prepare;
  lspawn_pid = getpid();
  ls->getpw.prepare_arg = &ls->pw_drop;
  ls->getpw.alias = auto_user_alias;
  setup_roles(ls);
  setup_limits(ls);
  setup_aliases(ls);
}

int main(void)
{
  static struct lspawn ls;
  struct spawner_ops ops;

  die_progname("sluice-lspawn");
  setup(&ls);
  ops.start = start;
  ops.finish = finish;
  ops.release = release;
  ops.log = log_line;
  ops.journal = JOURNAL_LOCAL_HOME;
  ops.ctx = &ls;
  if (spawner_run(&ops, 0, 1) < 0) die_temp_sys("request stream broken or out of resources");
  getpw_client_stop(&ls.getpw);
  return 0;
}
