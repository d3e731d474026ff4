/* sluice-local: one local delivery (sluice-local(8), dot-qmail(5)).
 *
 *   sluice-local USER HOMEDIR LOCAL DASH EXT DOMAIN SENDER DEFAULTDELIVERY [TIMEOUT [FLAGS]]
 *
 * FLAGS (sluice-local(8)): 'a' an alias delivery: the instructions are
 * the alias EXT's in conf-home/users/aliases.cdb, not a .qmail file;
 * 'd' the address was \LOCAL: no ~/.forward; 'p' and a character: the
 * local part holds that recipient delimiter (control/recipientdelimiter),
 * so a missing .qmail file for the extension falls back to the address
 * without it. Without a .qmail file for the bare address, ~/.forward is
 * read (aliases.h) before the default delivery.
 *
 * Run by sluice-lspawn as the recipient, in the recipient's home, with
 * the message (seekable) on fd 0, a result pipe on fd 1 and the log on
 * fd 2. Finds the .qmail file for the extension, follows its lines in
 * order (programs, mboxes and Maildirs at once, forwards at the end in
 * one injection) and writes one result to fd 1: K, Z or D and a text,
 * exiting 0, 111 or 100. The .qmail parsing, the mailbox formats and
 * the child plumbing live in src/lib (dotqmail, maildir, mbox,
 * deliver), where the unit tests reach them. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aliases.h"
#include "auto.h"
#include "byte.h"
#include "cdb.h"
#include "control.h"
#include "deliver.h"
#include "die.h"
#include "dotqmail.h"
#include "env.h"
#include "errtext.h"
#include "file.h"
#include "fmt.h"
#include "maildir.h"
#include "mbox.h"
#include "scan.h"
#include "str.h"
#include "wait.h"

/* Limits on the arguments: addresses as in the queue, names and paths
 * far above anything real. */
#define ARG_ADDR_MAX 1003
#define ARG_USER_MAX 256
#define ARG_PATH_MAX 4096
#define MBOX_LOCK_SECONDS 30
/* The time limit of a .qmail program when TIMEOUT is not given: as
 * control/timeoutlocal's default (sluice-control(5)). */
#define PROGRAM_TIMEOUT_DEFAULT 3600UL
/* PATH of .qmail programs after conf-home/bin (where preline is, as
 * qmail's bin is first in the PATH its rc script gives qmail-local):
 * their environment is built from scratch, nothing of sluice-start's
 * comes through (dot-qmail(5)). */
#define PROGRAM_PATH "/usr/local/bin:/usr/bin:/bin"

struct local {
  const char *user, *home, *local, *dash, *ext, *domain, *sender, *dflt;
  size_t extlen, senderlen;
  str recipient;  /* LOCAL@DOMAIN */
  str dtline, rpline, ufline, head; /* head = rpline dtline */
  str qmail;      /* name of the .qmail file in force, or "" */
  str text;       /* the .qmail instructions */
  size_t default_off; /* DEFAULT = ext + default_off, when is_default */
  int is_default;
  str newsender;  /* the sender of forwards (owner rules) */
  int verp;       /* a -owner-default file: one sender per recipient */
  str forwards;   /* collected addresses, each followed by NUL */
  unsigned long nforwards, nmaildir, nmbox, nprogram;
  unsigned long timeout; /* seconds a program may run */
  env progenv;
  int alias;      /* FLAGS a: an alias delivery, EXT the alias name */
  int direct;     /* FLAGS d: no ~/.forward */
  char plus;      /* FLAGS p: the recipient delimiter in LOCAL, or 0 */
};

/* Writes the result and ends: K exits 0, Z 111, D 100. */
static _Noreturn void result(char kind, const char *a, const char *b, const char *c)
{
  str t = STR_INIT;
  char k[1];
  k[0] = kind;
  if (str_cats(&t, a) < 0 || str_cats(&t, b ? b : "") < 0 || str_cats(&t, c ? c : "") < 0) {
    t.len = 0;
    kind = 'Z';
    k[0] = 'Z';
    str_cats(&t, "4.3.0 out of memory");
  }
  deliver_sanitize(&t, DELIVER_TEXT_MAX);
  if (write_all(1, k, 1) < 0 || write_all(1, t.s ? t.s : "", t.len) < 0) _exit(EXIT_TEMP);
  _exit(kind == 'K' ? 0 : kind == 'D' ? EXIT_PERM : EXIT_TEMP);
}

static _Noreturn void temp(const char *a, const char *b) { result('Z', a, b, 0); }
/* Z with a, b and the errno text: "a b: error", or "a error" when b is empty. */
static _Noreturn void temp_sys(const char *a, const char *b)
{
  const char *e = errtext(errno);
  str t = STR_INIT;
  if (str_copys(&t, b) < 0 || (t.len && str_cats(&t, ": ") < 0) || str_cats(&t, e) < 0 || str_0(&t) < 0)
    result('Z', "4.3.0 out of memory", 0, 0);
  result('Z', a, t.s, 0);
}
static _Noreturn void nomem(void) { temp("4.3.0 out of memory", 0); }

static const char *checked_arg(const char *s, size_t max, const char *what)
{
  if (byte_len(s, max + 1) > max) temp("4.3.5 sluice-local: argument too long: ", what);
  return s;
}

static void setup(struct local *l, int argc, char **argv)
{
  size_t ll, dl;
  time_t now = time(0);
  l->user = checked_arg(argv[1], ARG_USER_MAX, "USER");
  l->home = checked_arg(argv[2], ARG_PATH_MAX, "HOMEDIR");
  l->local = checked_arg(argv[3], ARG_ADDR_MAX, "LOCAL");
  l->dash = checked_arg(argv[4], 1, "DASH");
  l->ext = checked_arg(argv[5], ARG_ADDR_MAX, "EXT");
  l->domain = checked_arg(argv[6], ARG_ADDR_MAX, "DOMAIN");
  l->sender = checked_arg(argv[7], ARG_ADDR_MAX, "SENDER");
  l->dflt = checked_arg(argv[8], DOTQMAIL_MAX, "DEFAULTDELIVERY");
  if (l->dash[0] && l->dash[0] != '-') temp("4.3.5 sluice-local: DASH must be - or empty", 0);
  if (!l->user[0] || l->home[0] != '/') temp("4.3.5 sluice-local: bad USER or HOMEDIR", 0);
  l->timeout = PROGRAM_TIMEOUT_DEFAULT;
  if (argc > 9 && (scan_ulong_exact(argv[9], strlen(argv[9]), &l->timeout) < 0 || l->timeout == 0
                   || l->timeout > DELIVER_TIMEOUT_MAX))
    temp("4.3.5 sluice-local: TIMEOUT must be a number of seconds from 1 to 100000000", 0);
  if (argc > 10) {
    const char *f = checked_arg(argv[10], 16, "FLAGS");
    for (; *f; ++f) {
      if (*f == 'a') l->alias = 1;
      else if (*f == 'd') l->direct = 1;
      else if (*f == 'p' && f[1]) l->plus = *++f;
      else temp("4.3.5 sluice-local: unknown FLAGS", 0);
    }
  }
  l->extlen = strlen(l->ext);
  l->senderlen = strlen(l->sender);
  ll = strlen(l->local);
  dl = strlen(l->domain);
  if (str_copys(&l->recipient, l->local) < 0 || str_catc(&l->recipient, '@') < 0
      || str_cats(&l->recipient, l->domain) < 0)
    nomem();
  if (deliver_dtline(&l->dtline, l->local, ll, l->domain, dl) < 0) nomem();
  if (deliver_rpline(&l->rpline, l->sender, l->senderlen) < 0) nomem();
  if (mbox_fromline(&l->ufline, l->sender, l->senderlen, now) < 0) nomem();
  if (str_copy(&l->head, &l->rpline) < 0 || str_cat(&l->head, &l->dtline) < 0) nomem();
}

/* The home directory must be ours to trust: writable by nobody but its
 * owner (a member of its group could otherwise plant a .qmail program
 * that runs as the owner), and not sticky (the owner's sign that the
 * .qmail files are being edited). */
static void check_home(const struct local *l)
{
  struct stat st;
  if (chdir(l->home) < 0) temp_sys("4.2.1 cannot enter the home directory ", l->home);
  if (stat(".", &st) < 0) temp_sys("4.2.1 cannot stat the home directory ", l->home);
  if (st.st_mode & S_IWOTH) temp("4.7.0 home directory is world-writable: ", l->home);
  if (st.st_mode & S_IWGRP) temp("4.7.0 home directory is group-writable: ", l->home);
  if (st.st_mode & S_ISVTX) temp("4.2.1 home directory is sticky: its .qmail files are being edited", 0);
}

/* Opens one candidate: 1 read into l->text, 0 missing, 2 empty file. */
static int try_qmail(struct local *l, const char *name)
{
  struct stat st;
  int fd = open_read(name), r;
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    temp_sys("4.2.1 cannot open ", name);
  }
  if (fstat(fd, &st) < 0) temp_sys("4.2.1 cannot stat ", name);
  if (!S_ISREG(st.st_mode)) temp("4.2.1 not a regular file: ", name);
  if (st.st_mode & S_IWOTH) temp("4.7.0 .qmail file is world-writable: ", name);
  if (st.st_mode & S_IWGRP) temp("4.7.0 .qmail file is group-writable: ", name);
  l->text.len = 0;
  r = read_fd_all(fd, &l->text, DOTQMAIL_MAX);
  if (r < 0) {
    if (errno == EFBIG) temp("4.2.1 .qmail file too large: ", name);
    temp_sys("4.2.1 cannot read ", name);
  }
  close(fd);
  return l->text.len == 0 ? 2 : 1;
}

/* Walks the .qmail chain for ext[0..n) with dash: 1 found (l->text
 * holds it), 2 an empty file (the default delivery), 0 none. */
static int search_qmail(struct local *l, const char *dash, const char *ext, size_t n)
{
  struct dotqmail_search s;
  str name = STR_INIT;
  int r, isdef;
  size_t off;

  dotqmail_search_start(&s, ext, n);
  while ((r = dotqmail_search_next(&s, dash, &name, &isdef, &off)) == 1) {
    int got = try_qmail(l, name.s);
    if (got == 0) continue;
    if (str_copy(&l->qmail, &name) < 0 || str_0(&l->qmail) < 0) nomem();
    l->is_default = isdef;
    l->default_off = off;
    str_free(&name);
    return got;
  }
  if (r < 0) nomem();
  str_free(&name);
  return 0;
}

/* Reads a file of targets (~/.forward or an :include: file) into *t as
 * .qmail lines: 1 read, 0 missing (only when may_miss). The file must
 * be a regular file writable by its owner alone; a ~/.forward must
 * belong to the user (or root), as sendmail wants. */
static int read_targets(const char *path, str *t, int forward, int may_miss)
{
  struct stat st;
  str raw = STR_INIT;
  const char *why;
  size_t where, i;
  unsigned long count = 0, line = 1;
  int fd = open_read(path);
  if (fd < 0) {
    if (errno == ENOENT && may_miss) return 0;
    temp_sys("4.2.1 cannot open ", path);
  }
  if (fstat(fd, &st) < 0) temp_sys("4.2.1 cannot stat ", path);
  if (!S_ISREG(st.st_mode)) temp("4.2.1 not a regular file: ", path);
  if (st.st_mode & S_IWOTH) temp("4.7.0 file is world-writable: ", path);
  if (st.st_mode & S_IWGRP) temp("4.7.0 file is group-writable: ", path);
  if (forward && st.st_uid != getuid() && st.st_uid != 0)
    temp("4.7.0 .forward belongs to someone else: ", path);
  if (read_fd_all(fd, &raw, ALIASES_FILE_MAX) < 0) {
    if (errno == EFBIG) temp("4.2.1 file too large: ", path);
    temp_sys("4.2.1 cannot read ", path);
  }
  close(fd);
  t->len = 0;
  if (aliases_targets(raw.s, raw.len, t, &count, &why, &where) < 0) {
    str m = STR_INIT;
    if (!why) nomem();
    for (i = 0; i < where; ++i)
      if (raw.s[i] == '\n') ++line;
    if (str_copys(&m, "4.7.0 ") < 0 || str_cats(&m, path) < 0 || str_cats(&m, " line ") < 0
        || str_catulong(&m, line) < 0 || str_cats(&m, ": ") < 0 || str_0(&m) < 0)
      nomem();
    temp(m.s, why);
  }
  str_free(&raw);
  return 1;
}

/* Replaces each ":include:/path" line of l->text by the targets of the
 * file, read as the delivery's user, to ALIASES_INCLUDE_DEPTH levels. */
static void expand_includes(struct local *l)
{
  unsigned depth;
  for (depth = 0;; ++depth) {
    str out = STR_INIT, inc = STR_INIT, path = STR_INIT;
    size_t pos = 0, off, len;
    int found = 0;
    while (dotqmail_line_next(l->text.s, l->text.len, &pos, &off, &len)) {
      const char *line = l->text.s + off;
      if (len > 9 && byte_startswith(line, len, ":include:", 0)) {
        found = 1;
        if (depth >= ALIASES_INCLUDE_DEPTH) result('D', "5.3.5 :include: files nested too deep", 0, 0);
        if (str_copyb(&path, line + 9, len - 9) < 0 || str_0(&path) < 0) nomem();
        read_targets(path.s, &inc, 0, 0);
        if (str_cat(&out, &inc) < 0) nomem();
        continue;
      }
      if (str_catb(&out, line, len) < 0 || str_catc(&out, '\n') < 0) nomem();
    }
    str_free(&l->text);
    l->text = out;
    str_free(&inc);
    str_free(&path);
    if (!found) return;
  }
}

/* An alias delivery: the instructions of the alias EXT. */
static void load_alias(struct local *l)
{
  str path = STR_INIT, key = STR_INIT;
  if (str_copys(&path, auto_home) < 0 || str_cats(&path, "/" ALIASES_CDB) < 0 || str_0(&path) < 0) nomem();
  if (str_copyb(&key, l->ext, l->extlen) < 0) nomem();
  case_lowerb(key.s, key.len);
  switch (cdb_lookup_path(path.s, key.s, key.len, &l->text)) {
  case 1: break;
  case 0: temp("4.3.0 the alias is no longer in the alias database: ", l->ext);
  default: temp_sys("4.3.0 unable to read ", path.s);
  }
  if (str_copys(&l->qmail, "alias ") < 0 || str_cat(&l->qmail, &key) < 0 || str_0(&l->qmail) < 0) nomem();
  expand_includes(l);
  if (l->text.len == 0) result('D', "5.1.1 the alias expands to nothing", 0, 0);
  str_free(&path);
  str_free(&key);
}

/* conf-home/control/locals, else control/me (we are in the home). */
static void read_locals(str *locals)
{
  str p = STR_INIT;
  int r;
  if (str_copys(&p, auto_home) < 0 || str_cats(&p, "/control/locals") < 0 || str_0(&p) < 0) nomem();
  r = control_readlist(p.s, locals);
  if (r < 0) temp_sys("4.3.0 unable to read ", p.s);
  if (r == 0) {
    if (str_copys(&p, auto_home) < 0 || str_cats(&p, "/control/me") < 0 || str_0(&p) < 0) nomem();
    if (control_readline(p.s, locals, "localhost") < 0) temp_sys("4.3.0 unable to read ", p.s);
    if (str_catc(locals, 0) < 0) nomem();
  }
  str_free(&p);
}

/* ~/.forward, for the bare address without a .qmail file: 1 in force
 * (l->text holds its instructions), 0 none or empty. A target naming
 * the user (bare, as \user, or at a domain of control/locals) is the
 * user's own mailbox: the default delivery. */
static int load_forward(struct local *l)
{
  str repl = STR_INIT, locals = STR_INIT;
  if (!read_targets(".forward", &l->text, 1, 1)) return 0;
  if (str_copys(&l->qmail, ".forward") < 0 || str_0(&l->qmail) < 0) nomem();
  expand_includes(l);
  if (str_copys(&repl, l->dflt) < 0 || str_catc(&repl, '\n') < 0) nomem();
  read_locals(&locals);
  if (aliases_self(&l->text, l->user, strlen(l->user), repl.s, repl.len, &locals) < 0) nomem();
  str_free(&locals);
  str_free(&repl);
  return l->text.len > 0;
}

/* Finds the .qmail file; fills l->text with its instructions, those
 * of the alias or ~/.forward, or with the default delivery. */
static void find_qmail(struct local *l)
{
  size_t extlen = l->extlen;
  int r;

  if (l->alias) { load_alias(l); return; }
  r = search_qmail(l, l->dash, l->ext, extlen);
  if (r == 0 && extlen && l->plus) {
    /* user+tag without .qmail-tag: the address without +tag, and for
     * the bare user its .qmail (not .qmail-: the dash came with +tag) */
    size_t ll = strlen(l->local), d = byte_chr(l->local, ll, l->plus), tail = ll - d;
    extlen = extlen >= tail ? extlen - tail : 0;
    r = search_qmail(l, extlen ? l->dash : "", l->ext, extlen);
  }
  if (r == 1) return;
  if (r == 0 && extlen) result('D', "5.1.1 no mailbox here by that name", 0, 0);
  if (r == 0 && !l->direct && load_forward(l)) return;
  l->qmail.len = 0;
  if (str_copys(&l->text, l->dflt) < 0) nomem();
  if (l->text.len == 0) temp("4.3.5 no .qmail file and no default delivery", 0);
}

static int file_exists(const str *name)
{
  struct stat st;
  if (stat(name->s, &st) == 0) return 1;
  if (errno != ENOENT) temp_sys("4.2.1 cannot stat ", name->s);
  return 0;
}

/* An alias delivery: with an alias owner-NAME, forwards go out from
 * owner-NAME@DOMAIN (aliases(5), as Postfix does). */
static void alias_owner(struct local *l)
{
  str path = STR_INIT, key = STR_INIT, data = STR_INIT;
  if (str_copys(&path, auto_home) < 0 || str_cats(&path, "/" ALIASES_CDB) < 0 || str_0(&path) < 0) nomem();
  if (str_copys(&key, "owner-") < 0 || str_catb(&key, l->ext, l->extlen) < 0) nomem();
  case_lowerb(key.s, key.len);
  switch (cdb_lookup_path(path.s, key.s, key.len, &data)) {
  case 1:
    if (str_copy(&l->newsender, &key) < 0 || str_catc(&l->newsender, '@') < 0
        || str_cats(&l->newsender, l->domain) < 0)
      nomem();
    break;
  case 0: break;
  default: temp_sys("4.3.0 unable to read ", path.s);
  }
  str_free(&path);
  str_free(&key);
  str_free(&data);
}

/* The sender of forwards: with .qmail-EXT-owner the owner address
 * LOCAL-owner@DOMAIN, and with .qmail-EXT-owner-default too the VERP
 * form (one sender per recipient). Bounces keep their sender. */
static void owner_sender(struct local *l)
{
  str name = STR_INIT;
  if (str_copys(&l->newsender, l->sender) < 0) nomem();
  if (l->senderlen == 0 || str_equals(&l->newsender, "#@[]")) return;
  if (l->alias) { alias_owner(l); return; }
  if (str_copys(&name, ".qmail") < 0 || str_cats(&name, l->dash) < 0) nomem();
  {
    str safe = STR_INIT;
    if (dotqmail_safe_ext(&safe, l->ext, l->extlen) < 0 || str_cat(&name, &safe) < 0) nomem();
    str_free(&safe);
  }
  if (str_cats(&name, "-owner") < 0 || str_0(&name) < 0) nomem();
  if (file_exists(&name)) {
    if (str_cats(&name, "-default") < 0 || str_0(&name) < 0) nomem();
    l->verp = file_exists(&name);
    if (str_copys(&l->newsender, l->local) < 0 || str_cats(&l->newsender, "-owner") < 0) nomem();
    if (l->verp && str_catc(&l->newsender, '-') < 0) nomem();
    if (str_catc(&l->newsender, '@') < 0 || str_cats(&l->newsender, l->domain) < 0) nomem();
    if (l->verp && str_cats(&l->newsender, "-@[]") < 0) nomem();
  }
  str_free(&name);
}

static void setenv_b(env *e, const char *name, const char *s, size_t n)
{
  str v = STR_INIT;
  if (str_copyb(&v, s, n) < 0 || str_0(&v) < 0 || env_set(e, name, v.s) < 0) nomem();
  str_free(&v);
}

static void setenv_str(env *e, const char *name, const str *v) { setenv_b(e, name, v->s ? v->s : "", v->len); }

/* The environment of .qmail programs (dot-qmail(5)), built from
 * scratch: PATH, the delivery's variables, and QMAILQUEUE when the
 * postmaster set it for sluice-local; nothing else of what sluice-start
 * inherited (supervise's environment, its secrets, LD_ or locale
 * variables) reaches a user's program. */
static void program_env(struct local *l)
{
  static const char *const hostn[3] = { "HOST2", "HOST3", "HOST4" };
  static const char *const extn[3] = { "EXT2", "EXT3", "EXT4" };
  env *e = &l->progenv;
  str v = STR_INIT;
  unsigned k;
  size_t dl = strlen(l->domain);

  /* conf-home/bin first, unless its name would split the list */
  if (!strchr(auto_home, ':') && (str_copys(&v, auto_home) < 0 || str_cats(&v, "/bin:") < 0)) nomem();
  if (str_cats(&v, PROGRAM_PATH) < 0 || str_0(&v) < 0) nomem();
  if (env_start(e, 0) < 0 || env_set(e, "PATH", v.s) < 0) nomem();
  {
    const char *q = env_get("QMAILQUEUE");
    if (q && *q && env_set(e, "QMAILQUEUE", q) < 0) nomem();
  }
  setenv_b(e, "SENDER", l->sender, l->senderlen);
  setenv_str(e, "NEWSENDER", &l->newsender);
  setenv_str(e, "RECIPIENT", &l->recipient);
  setenv_b(e, "USER", l->user, strlen(l->user));
  setenv_b(e, "HOME", l->home, strlen(l->home));
  setenv_b(e, "HOST", l->domain, dl);
  setenv_b(e, "LOCAL", l->local, strlen(l->local));
  setenv_b(e, "EXT", l->ext, l->extlen);
  for (k = 2; k <= 4; ++k) {
    if (deliver_host_part(&v, l->domain, dl, k) < 0) nomem();
    setenv_str(e, hostn[k - 2], &v);
    if (deliver_ext_part(&v, l->ext, l->extlen, k) < 0) nomem();
    setenv_str(e, extn[k - 2], &v);
  }
  if (l->is_default) setenv_b(e, "DEFAULT", l->ext + l->default_off, l->extlen - l->default_off);
  setenv_str(e, "DTLINE", &l->dtline);
  setenv_str(e, "RPLINE", &l->rpline);
  setenv_str(e, "UFLINE", &l->ufline);
  str_free(&v);
}

/* Runs one program line; returns 1 when the remaining lines are to be
 * skipped (exit 99), 0 to go on; fails the delivery otherwise. */
static int do_program(struct local *l, const char *cmd, size_t n)
{
  str c = STR_INIT, out = STR_INIT, code = STR_INIT;
  char *argv[4];
  struct deliver_child ch;
  int ws;
  enum deliver_status st;

  if (str_copyb(&c, cmd, n) < 0 || str_0(&c) < 0) nomem();
  argv[0] = (char *)"/bin/sh";
  argv[1] = (char *)"-c";
  argv[2] = c.s;
  argv[3] = 0;
  ch.path = "/bin/sh";
  ch.argv = argv;
  ch.envp = env_vector(&l->progenv);
  /* as in qmail, a program gets the message as queued: Return-Path and
   * Delivered-To are in RPLINE and DTLINE for programs (preline) that
   * want them */
  ch.head = 0;
  ch.headlen = 0;
  ch.msgfd = 0;
  ch.envelope = 0;
  ch.envlen = 0;
  ch.timeout = l->timeout;
  switch (deliver_child_run(&ch, &out, DELIVER_TEXT_MAX, &ws)) {
  case 0: break;
  case 1: {
    char num[FMT_ULONG];
    num[fmt_ulong(num, l->timeout)] = 0;
    result('Z', "4.3.0 program did not finish within ", num,
           " seconds (control/timeoutlocal); it was killed, with every process of its group");
  }
  default: temp_sys("4.3.0 unable to run a program: ", "");
  }
  ++l->nprogram;
  st = deliver_program_status(ws);
  if (st == DELIVER_OK || st == DELIVER_STOP) {
    str_free(&c); str_free(&out); str_free(&code);
    return st == DELIVER_STOP;
  }
  deliver_sanitize(&out, DELIVER_TEXT_MAX);
  if (out.len == 0) {
    int ec = wait_exitcode(ws);
    if (str_cats(&out, st == DELIVER_PERM ? "5.3.0 " : "4.3.0 ") < 0) nomem();
    if (ec < 0) {
      if (str_cats(&out, "program crashed") < 0) nomem();
    } else if (str_cats(&out, "program exited ") < 0 || str_catulong(&out, (unsigned long)ec) < 0) nomem();
  }
  if (str_0(&out) < 0) nomem();
  result(st == DELIVER_PERM ? 'D' : 'Z', out.s, 0, 0);
}

static void do_file(struct local *l, const char *path, size_t n, int maildir)
{
  str p = STR_INIT;
  const char *what;
  if (str_copyb(&p, path, n) < 0 || str_0(&p) < 0) nomem();
  if (maildir) {
    if (maildir_deliver(p.s, 0, l->head.s, l->head.len, 0, &what) < 0) {
      str w = STR_INIT;
      int e = errno;
      if (str_copys(&w, "4.2.0 maildir delivery to ") < 0 || str_cat(&w, &p) < 0 || str_cats(&w, " failed: ") < 0
          || str_cats(&w, what) < 0 || str_cats(&w, ": ") < 0 || str_0(&w) < 0)
        nomem();
      errno = e;
      temp_sys(w.s, "");
    }
    ++l->nmaildir;
  } else {
    if (mbox_deliver(p.s, 0, l->ufline.s, l->ufline.len, l->head.s, l->head.len, MBOX_LOCK_SECONDS, &what) < 0) {
      str w = STR_INIT;
      int e = errno;
      if (str_copys(&w, "4.2.0 mbox delivery to ") < 0 || str_cat(&w, &p) < 0 || str_cats(&w, " failed: ") < 0
          || str_cats(&w, what) < 0 || str_cats(&w, ": ") < 0 || str_0(&w) < 0)
        nomem();
      errno = e;
      temp_sys(w.s, "");
    }
    ++l->nmbox;
  }
  str_free(&p);
}

/* One injection of the message, with Delivered-To on top, from sender
 * to the addresses in rcpts (each followed by NUL). */
static void inject(struct local *l, const str *sender, const char *rcpts, size_t rlen)
{
  str envelope = STR_INIT, path = STR_INIT;
  const char *q = env_get("QMAILQUEUE");
  char *argv[2];
  struct deliver_child ch;
  int ws, code;
  enum deliver_status st;

  if (q && *q) {
    if (str_copys(&path, q) < 0) nomem();
  } else if (str_copys(&path, auto_home) < 0 || str_cats(&path, "/bin/sluice-queue") < 0) {
    nomem();
  }
  if (str_0(&path) < 0) nomem();
  if (str_copys(&envelope, "F") < 0 || str_cat(&envelope, sender) < 0 || str_catc(&envelope, 0) < 0) nomem();
  {
    size_t pos = 0;
    while (pos < rlen) {
      size_t n = byte_chr(rcpts + pos, rlen - pos, 0);
      if (str_catc(&envelope, 'T') < 0 || str_catb(&envelope, rcpts + pos, n) < 0 || str_catc(&envelope, 0) < 0)
        nomem();
      pos += n + 1;
    }
  }
  if (str_catc(&envelope, 0) < 0) nomem();
  argv[0] = path.s;
  argv[1] = 0;
  ch.path = path.s;
  ch.argv = argv;
  ch.envp = 0;
  ch.head = l->dtline.s;
  ch.headlen = l->dtline.len;
  ch.msgfd = 0;
  ch.envelope = envelope.s;
  ch.envlen = envelope.len;
  ch.timeout = 0; /* the injector keeps its own time limits */
  if (deliver_child_run(&ch, 0, 0, &ws) < 0) temp_sys("4.3.0 forwarding failed: cannot run ", path.s);
  st = deliver_queue_status(ws);
  if (st == DELIVER_OK) { str_free(&envelope); str_free(&path); return; }
  code = wait_exitcode(ws);
  {
    str t = STR_INIT;
    if (str_cats(&t, st == DELIVER_PERM ? "5.3.0 forwarding failed: the queue refused the message (exit "
                                        : "4.3.0 forwarding failed: the queue failed temporarily (exit ") < 0)
      nomem();
    if (code < 0) { if (str_cats(&t, "crash") < 0) nomem(); }
    else if (str_catulong(&t, (unsigned long)code) < 0) nomem();
    if (str_catc(&t, ')') < 0 || str_0(&t) < 0) nomem();
    result(st == DELIVER_PERM ? 'D' : 'Z', t.s, 0, 0);
  }
}

static void do_forwards(struct local *l)
{
  if (l->nforwards == 0) return;
  if (!l->verp) {
    inject(l, &l->newsender, l->forwards.s, l->forwards.len);
    return;
  }
  {
    size_t pos = 0;
    str s = STR_INIT;
    while (pos < l->forwards.len) {
      size_t n = byte_chr(l->forwards.s + pos, l->forwards.len - pos, 0);
      if (deliver_verp_sender(&s, l->local, l->domain, l->forwards.s + pos, n) < 0) nomem();
      inject(l, &s, l->forwards.s + pos, n + 1);
      pos += n + 1;
    }
    str_free(&s);
  }
}

/* Follows the instructions in l->text, in order; forwards last. */
static void follow(struct local *l)
{
  const char *why;
  unsigned long lineno;
  size_t pos = 0, off, len, aoff, alen;

  if (dotqmail_check(l->text.s, l->text.len, &why, &lineno, 0) < 0) {
    str t = STR_INIT;
    if (str_copys(&t, "4.7.0 ") < 0 || str_cats(&t, l->qmail.len ? l->qmail.s : "default delivery") < 0
        || str_cats(&t, " line ") < 0 || str_catulong(&t, lineno) < 0 || str_cats(&t, ": ") < 0
        || str_0(&t) < 0)
      nomem();
    temp(t.s, why);
  }
  while (dotqmail_line_next(l->text.s, l->text.len, &pos, &off, &len)) {
    const char *line = l->text.s + off;
    int stop = 0;
    switch (dotqmail_classify(line, len, &aoff, &alen, &why)) {
    case DOTQMAIL_PROGRAM: stop = do_program(l, line + aoff, alen); break;
    case DOTQMAIL_MBOX: do_file(l, line + aoff, alen, 0); break;
    case DOTQMAIL_MAILDIR: do_file(l, line + aoff, alen, 1); break;
    case DOTQMAIL_FORWARD:
      if (str_catb(&l->forwards, line + aoff, alen) < 0 || str_catc(&l->forwards, 0) < 0) nomem();
      ++l->nforwards;
      break;
    default: break;
    }
    if (stop) break;
  }
  do_forwards(l);
}

static _Noreturn void report_ok(const struct local *l)
{
  str t = STR_INIT;
  if (str_cats(&t, "delivered: maildir ") < 0 || str_catulong(&t, l->nmaildir) < 0
      || str_cats(&t, ", mbox ") < 0 || str_catulong(&t, l->nmbox) < 0
      || str_cats(&t, ", program ") < 0 || str_catulong(&t, l->nprogram) < 0
      || str_cats(&t, ", forward ") < 0 || str_catulong(&t, l->nforwards) < 0 || str_0(&t) < 0)
    nomem();
  result('K', t.s, 0, 0);
}

int main(int argc, char **argv)
{
  static struct local l;
  int r;

  die_progname("sluice-local");
  signal(SIGPIPE, SIG_IGN);
  umask(077);
  if (argc < 9 || argc > 11)
    temp("4.3.5 sluice-local: usage: USER HOMEDIR LOCAL DASH EXT DOMAIN SENDER DEFAULTDELIVERY [TIMEOUT [FLAGS]]", 0);
  if (lseek(0, 0, SEEK_SET) < 0) temp_sys("4.3.0 the message on fd 0 is not seekable: ", "");
  setup(&l, argc, argv);
  check_home(&l);
  r = deliver_header_has_dt(0, l.recipient.s, l.recipient.len);
  if (r < 0) temp_sys("4.3.0 cannot read the message: ", "");
  if (r > 0) result('D', "5.4.6 this message is looping: it already has my Delivered-To line", 0, 0);
  find_qmail(&l);
  owner_sender(&l);
  program_env(&l);
  follow(&l);
  report_ok(&l);
}
