/* sluice-qctl: queue control for root (sluice-qctl(8)): list, show,
 * delete, hold, release, requeue, flush.
 *
 * It reads the queue (every name reached from a descriptor of the queue
 * with walk.h, never following a link) but never changes a queue file:
 * every change is a command line written to the fifo lock/control,
 * which the running sluice-send applies between two steps of its loop
 * (sluice-send(8)); sluice-qctl then watches the queue until the change
 * shows (a hold flag made or gone, a message gone), for a bounded time.
 *
 * Exit codes: 0 done; 1 an id named is not a preprocessed message of
 * the queue, or no message matched; 64 usage; 100 a bad argument;
 * 111 the queue cannot be read, sluice-send does not run, or the change
 * did not show within the time allowed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "buf.h"
#include "byte.h"
#include "die.h"
#include "file.h"
#include "qfile.h"
#include "qlist.h"
#include "scan.h"
#include "str.h"
#include "walk.h"

#define FILE_MAX (256UL * 1024 * 1024)
#define WAIT_TENTHS 1200 /* 120 s: a delivery in flight may take that */

static const char usage[] =
  "sluice-qctl list | show ID | delete ID... | delete -s SENDER | delete -r RCPT | delete -d DOMAIN"
  " | hold ID... | release ID... | requeue ID... | requeue @DOMAIN | flush";

static int qfd;
static char outmem[8192];
static buf out;

static void nomem_if(int r)
{
  if (r < 0) die_nomem();
}

static void name(str *p, const char *dir, unsigned long id)
{
  nomem_if(str_copys(p, dir));
  nomem_if(str_catc(p, '/'));
  nomem_if(str_catulong(p, id % auto_split));
  nomem_if(str_catc(p, '/'));
  nomem_if(str_catulong(p, id));
  nomem_if(str_0(p));
}

/* 1 read, 0 missing (or a link, or not a regular file); dies otherwise. */
static int read_qfile(const char *dir, unsigned long id, str *content)
{
  str p = STR_INIT;
  int r;
  if (!strcmp(dir, "bounce")) {
    nomem_if(str_copys(&p, "bounce/"));
    nomem_if(str_catulong(&p, id));
    nomem_if(str_0(&p));
  } else {
    name(&p, dir, id);
  }
  r = walk_read(qfd, p.s, content, FILE_MAX);
  if (r < 0) {
    if (errno != ELOOP && errno != EMLINK && errno != ENOTDIR && errno != EINVAL)
      die_temp_sys("unable to read queue/", p.s);
    content->len = 0;
    r = 0;
  }
  str_free(&p);
  return r;
}

/* 1 when dir/N/ID (bounce/ID) is a regular file, not reached through
 * a link; 0 when not; dies when it cannot be looked at. Never reads it
 * (a message may be large, and await looks ten times a second). */
static int exists(const char *dir, unsigned long id)
{
  str p = STR_INIT;
  const char *last;
  struct stat st;
  int dfd, r = 0;
  if (!strcmp(dir, "bounce")) {
    nomem_if(str_copys(&p, "bounce/"));
    nomem_if(str_catulong(&p, id));
    nomem_if(str_0(&p));
  } else {
    name(&p, dir, id);
  }
  dfd = walk_parent(qfd, p.s, &last);
  if (dfd < 0 && errno != ENOENT && errno != ELOOP && errno != ENOTDIR) die_temp_sys("unable to look at queue/", p.s);
  if (dfd >= 0) {
    if (fstatat(dfd, last, &st, AT_SYMLINK_NOFOLLOW) == 0) r = S_ISREG(st.st_mode);
    else if (errno != ENOENT) die_temp_sys("unable to look at queue/", p.s);
    close(dfd);
  }
  str_free(&p);
  return r;
}

/* The value of the first record of kind k in NUL-ended records. */
static int record(const str *f, char k, const char **v, size_t *len)
{
  size_t pos = 0;
  while (pos < f->len) {
    size_t n = byte_chr(f->s + pos, f->len - pos, 0);
    if (n == 0 || pos + n >= f->len) break;
    if (f->s[pos] == k) { *v = f->s + pos + 1; *len = n - 1; return 1; }
    pos += n + 1;
  }
  return 0;
}

struct entry {
  unsigned long id;
  time_t when;
  unsigned long size;
};

static int entry_cmp(const void *a, const void *b)
{
  const struct entry *x = a, *y = b;
  if (x->when != y->when) return x->when < y->when ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* Every message file of the queue, oldest first (birth from info). */
static struct entry *messages(size_t *np)
{
  struct entry *v = 0;
  size_t n = 0, a = 0;
  str p = STR_INIT, info = STR_INIT;
  for (unsigned long d = 0; d < auto_split; ++d) {
    DIR *dir;
    struct dirent *de;
    int dfd, copy;
    nomem_if(str_copys(&p, "mess/"));
    nomem_if(str_catulong(&p, d));
    nomem_if(str_0(&p));
    dfd = walk_dir(qfd, p.s);
    copy = dfd < 0 ? -1 : fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    dir = copy < 0 ? 0 : fdopendir(copy);
    if (!dir) die_temp_sys("unable to read queue/", p.s);
    while ((de = readdir(dir)) != 0) {
      unsigned long id;
      struct stat st;
      if (scan_ulong_exact(de->d_name, byte_len(de->d_name, sizeof de->d_name), &id) < 0) continue;
      if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) continue;
      if (n == a) {
        struct entry *nv;
        a = a ? a * 2 : 64;
        if (a > (size_t)-1 / sizeof *v / 2) die_nomem();
        nv = realloc(v, a * sizeof *v);
        if (!nv) die_nomem();
        v = nv;
      }
      v[n].id = id;
      v[n].when = st.st_mtime;
      v[n].size = (unsigned long)st.st_size;
      ++n;
    }
    closedir(dir);
    close(dfd);
  }
  for (size_t i = 0; i < n; ++i) {
    const char *val;
    size_t len;
    unsigned long b;
    if (read_qfile("info", v[i].id, &info) && record(&info, 'b', &val, &len) && scan_ulong_exact(val, len, &b) == 0)
      v[i].when = (time_t)b;
  }
  if (n) qsort(v, n, sizeof *v, entry_cmp);
  str_free(&p);
  str_free(&info);
  *np = n;
  return v;
}

static void put(const str *s)
{
  if (buf_put(&out, s->s, s->len) < 0) die_temp_sys("unable to write output");
}

static void list(void)
{
  size_t n;
  struct entry *v = messages(&n);
  str o = STR_INIT, info = STR_INIT, loc = STR_INIT, rem = STR_INIT, def = STR_INIT;
  time_t now = time(0);
  for (size_t i = 0; i < n; ++i) {
    const char *val = "";
    size_t len = 0;
    o.len = 0;
    if (read_qfile("info", v[i].id, &info)) {
      struct qlist_msg m;
      record(&info, 'F', &val, &len);
      m.id = v[i].id;
      m.birth = v[i].when;
      m.size = v[i].size;
      m.sender = val;
      m.senderlen = len;
      m.local = read_qfile("local", v[i].id, &loc) ? &loc : 0;
      m.remote = read_qfile("remote", v[i].id, &rem) ? &rem : 0;
      m.defer = read_qfile("defer", v[i].id, &def) ? &def : 0;
      m.held = exists("hold", v[i].id);
      m.bounce = exists("bounce", v[i].id);
      nomem_if(qlist_format(&o, &m, now));
    } else {
      nomem_if(str_catulong(&o, v[i].id));
      nomem_if(str_cats(&o, "  "));
      nomem_if(qlist_cat_age(&o, now > v[i].when ? (unsigned long)(now - v[i].when) : 0));
      nomem_if(str_cats(&o, "  "));
      nomem_if(str_catulong(&o, v[i].size));
      if (read_qfile("todo", v[i].id, &info)) {
        record(&info, 'F', &val, &len);
        nomem_if(str_cats(&o, "  <"));
        nomem_if(qlist_cat_safe(&o, val, len));
        nomem_if(str_cats(&o, ">  not yet preprocessed\n"));
      } else {
        nomem_if(str_cats(&o, "  being injected, or left by a crash\n"));
      }
    }
    put(&o);
  }
  free(v);
  str_free(&o); str_free(&info); str_free(&loc); str_free(&rem); str_free(&def);
}

static unsigned long parse_id(const char *s)
{
  unsigned long id;
  if (scan_ulong_exact(s, byte_len(s, 32), &id) < 0 || byte_len(s, 32) >= 32) die_msg(100, "not a message id: ", s);
  return id;
}

/* Dies with 1 unless id is a preprocessed message of the queue. */
static void known(unsigned long id, const char *s)
{
  if (!exists("mess", id)) die_msg(1, "no message ", s, " in the queue");
  if (!exists("info", id)) die_msg(1, "message ", s, " is not yet preprocessed by sluice-send; try again");
}

static int fd_control = -1;

static void command(const char *verb, const char *arg)
{
  str line = STR_INIT;
  nomem_if(str_copys(&line, verb));
  if (arg) { nomem_if(str_catc(&line, ' ')); nomem_if(str_cats(&line, arg)); }
  nomem_if(str_catc(&line, '\n'));
  if (line.len > 1000) die_msg(100, "argument too long");
  if (fd_control < 0) {
    struct stat st;
    int lfd = walk_dir(qfd, "lock");
    if (lfd < 0) die_temp_sys("unable to open queue/lock");
    /* a fifo without a reader: ENXIO, sluice-send does not run */
    fd_control = openat(lfd, "control", O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd_control < 0 && errno == ENXIO) die_temp("sluice-send does not run (nobody reads queue/lock/control)");
    if (fd_control < 0) die_temp_sys("unable to open queue/lock/control (run sluice-fsck -r)");
    if (fstat(fd_control, &st) < 0 || !S_ISFIFO(st.st_mode)) die_temp("queue/lock/control is not a fifo");
    close(lfd);
  }
  /* one write of less than PIPE_BUF bytes: never mixed with another's */
  if (write(fd_control, line.s, line.len) != (ssize_t)line.len) die_temp_sys("unable to write to queue/lock/control");
  str_free(&line);
}

/* Waits until exists(dir, id) == want; dies 111 when it does not come. */
static void await(const char *dir, unsigned long id, int want, const char *what)
{
  for (int i = 0; i < WAIT_TENTHS; ++i) {
    if (exists(dir, id) == want) return;
    usleep(100000);
  }
  {
    str s = STR_INIT;
    nomem_if(str_catulong(&s, id));
    nomem_if(str_0(&s));
    die_temp(what, " of message ", s.s, " not seen after 120 s (see sluice-send's log)");
  }
}

static void say(const char *a, unsigned long id)
{
  str s = STR_INIT;
  nomem_if(str_cats(&s, a));
  nomem_if(str_catulong(&s, id));
  nomem_if(str_catc(&s, '\n'));
  put(&s);
  str_free(&s);
}

/* 1 when message id matches -s, -r or -d (opt) with value v. */
static int matches(unsigned long id, char opt, const char *v)
{
  str f = STR_INIT;
  size_t vlen = byte_len(v, 1024), pos;
  int hit = 0;
  const char *val;
  size_t len;
  if (opt == 's') {
    if (read_qfile("info", id, &f) && record(&f, 'F', &val, &len)) hit = case_equalb(val, len, v, vlen);
    str_free(&f);
    return hit;
  }
  for (int c = 0; c < 2 && !hit; ++c) {
    if (!read_qfile(c ? "remote" : "local", id, &f) || f.len < QFILE_HEADER_LEN) continue;
    for (pos = QFILE_HEADER_LEN; pos < f.len && !hit;) {
      size_t n = byte_chr(f.s + pos, f.len - pos, 0);
      if (n == 0 || pos + n >= f.len) break;
      if (f.s[pos] == 'T') {
        const char *a = f.s + pos + 1;
        size_t alen = n - 1, at = byte_rchr(a, alen, '@');
        if (opt == 'r') hit = case_equalb(a, alen, v, vlen);
        else hit = at < alen && case_equalb(a + at + 1, alen - at - 1, v, vlen);
      }
      pos += n + 1;
    }
  }
  str_free(&f);
  return hit;
}

static void delete_matching(char opt, const char *v)
{
  size_t n, asked = 0;
  struct entry *e = messages(&n);
  str s = STR_INIT;
  if (!*v) die_msg(100, "empty match");
  for (size_t i = 0; i < n; ++i) {
    if (!exists("info", e[i].id) || !matches(e[i].id, opt, v)) continue;
    nomem_if(str_copys(&s, ""));
    nomem_if(str_catulong(&s, e[i].id));
    nomem_if(str_0(&s));
    command("delete", s.s);
    e[asked++].id = e[i].id; /* asked ids move to the front */
  }
  if (!asked) die_msg(1, "no message matches");
  for (size_t i = 0; i < asked; ++i) {
    await("mess", e[i].id, 0, "the deletion");
    say("deleted ", e[i].id);
  }
  free(e);
  str_free(&s);
}

static void show(unsigned long id, const char *arg)
{
  str m = STR_INIT;
  if (!read_qfile("mess", id, &m)) die_msg(1, "no message ", arg, " in the queue");
  put(&m);
  str_free(&m);
}

int main(int argc, char **argv)
{
  int home;
  const char *verb;
  die_progname("sluice-qctl");
  if (argc < 2) die_usage(usage);
  verb = argv[1];
  if (getuid() != 0 || geteuid() != 0) die_msg(100, "only root may control the queue (mailq lists it for everyone)");
  home = open_dir(auto_home);
  if (home < 0) die_temp_sys("unable to switch to ", auto_home);
  qfd = walk_dir(home, "queue");
  if (qfd < 0) die_temp_sys("unable to open ", auto_home, "/queue");
  close(home);
  buf_init(&out, 1, outmem, sizeof outmem);
  if (!strcmp(verb, "list") && argc == 2) list();
  else if (!strcmp(verb, "flush") && argc == 2) { command("flush", 0); nomem_if(buf_puts(&out, "flush requested\n")); }
  else if (!strcmp(verb, "show") && argc == 3) show(parse_id(argv[2]), argv[2]);
  else if (!strcmp(verb, "delete") && argc == 4 && argv[2][0] == '-' && argv[2][1] && !argv[2][2]
           && (argv[2][1] == 's' || argv[2][1] == 'r' || argv[2][1] == 'd'))
    delete_matching(argv[2][1], argv[3]);
  else if (!strcmp(verb, "requeue") && argc == 3 && argv[2][0] == '@') {
    if (!argv[2][1] || byte_len(argv[2], 300) >= 300) die_msg(100, "bad domain: ", argv[2]);
    command("requeue", argv[2]);
    nomem_if(buf_puts(&out, "requeue requested\n"));
  } else if ((!strcmp(verb, "delete") || !strcmp(verb, "hold") || !strcmp(verb, "release") || !strcmp(verb, "requeue"))
             && argc >= 3) {
    int i;
    for (i = 2; i < argc; ++i) known(parse_id(argv[i]), argv[i]); /* all checked before any is changed */
    for (i = 2; i < argc; ++i) {
      unsigned long id = parse_id(argv[i]);
      command(verb, argv[i]);
      if (!strcmp(verb, "delete")) { await("mess", id, 0, "the deletion"); say("deleted ", id); }
      else if (!strcmp(verb, "hold")) { await("hold", id, 1, "the hold"); say("held ", id); }
      else if (!strcmp(verb, "release")) { await("hold", id, 0, "the release"); say("released ", id); }
      else if (exists("hold", id)) say("held, so not tried (release it): ", id);
      else say("requeued ", id);
    }
  } else {
    die_usage(usage);
  }
  if (buf_flush(&out) < 0) die_temp_sys("unable to write output");
  return 0;
}
