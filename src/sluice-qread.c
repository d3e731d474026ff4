/* sluice-qread (also installed as mailq): lists the queued messages
 * (sluice-qread(8)).
 *
 * For each message under mess/N, oldest first:
 *     ID  AGE  SIZE  <sender>
 * then one line per recipient with its channel and state, from
 * local/N/ID and remote/N/ID for a preprocessed message (info/N/ID
 * exists) or from todo/N/ID for one not yet preprocessed. It only reads
 * the queue (root, or a member of the sluice group for what that group
 * can read). Anyone else gets the summary that sluice-send writes to
 * conf-home/status/mailq (no bodies; deferral reasons included). Exit 0,
 * or 111 when neither can be read.
 *
 * Run as root it reads directories that belong to the queue's users:
 * every name is reached from a descriptor of the queue with walk.h, so a
 * symbolic link planted there is never followed (a file behind one is
 * shown as missing) and a fifo never blocks. */
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
#include "qlist.h"
#include "scan.h"
#include "str.h"
#include "walk.h"

#define CHANNEL_HEADER 22          /* "R" + 20 digits + NUL (sluice-send(8)) */
#define FILE_MAX (256UL * 1024 * 1024)

struct msg {
  unsigned long id;
  time_t when;
  off_t size;
};

static void nomem_if(int r)
{
  if (r < 0) die_nomem();
}

static int msg_cmp(const void *a, const void *b)
{
  const struct msg *x = a, *y = b;
  if (x->when != y->when) return x->when < y->when ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
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

/* 1 when errno says a name is a symbolic link, has one on its way, or
 * is not a regular file: such a name is not the queue's, and is shown
 * as missing. */
static int not_queue_file(int e)
{
  return e == ELOOP || e == EMLINK || e == ENOTDIR || e == EINVAL;
}

/* Reads dir/N/ID below the queue qfd; 1 read, 0 missing (or a link, or
 * not a regular file), dies on other errors. */
static int read_qfile(int qfd, const char *dir, unsigned long id, str *content)
{
  str p = STR_INIT;
  int r;
  name(&p, dir, id);
  r = walk_read(qfd, p.s, content, FILE_MAX);
  if (r < 0) {
    if (!not_queue_file(errno)) die_temp_sys("unable to read queue/", p.s);
    content->len = 0;
    r = 0;
  }
  str_free(&p);
  return r;
}

/* Appends a printable copy of s[0..n) (control bytes as '_'). */
static void cat_safe(str *o, const char *s, size_t n)
{
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    nomem_if(str_catc(o, (c < 32 || c == 127) ? '_' : (char)c));
  }
}

static void cat_age(str *o, time_t now, time_t when)
{
  unsigned long age = now > when ? (unsigned long)(now - when) : 0;
  if (age < 60) { nomem_if(str_catulong(o, age)); nomem_if(str_catc(o, 's')); }
  else if (age < 3600) { nomem_if(str_catulong(o, age / 60)); nomem_if(str_catc(o, 'm')); }
  else if (age < 86400) { nomem_if(str_catulong(o, age / 3600)); nomem_if(str_catc(o, 'h')); }
  else { nomem_if(str_catulong(o, age / 86400)); nomem_if(str_catc(o, 'd')); }
}

/* The value of the first record of kind k in NUL-terminated records. */
static int record(const str *f, size_t start, char k, const char **v, size_t *len)
{
  size_t pos = start;
  while (pos < f->len) {
    size_t n = byte_chr(f->s + pos, f->len - pos, 0);
    if (n == 0) break;
    if (f->s[pos] == k) { *v = f->s + pos + 1; *len = n - 1; return 1; }
    pos += n + 1;
  }
  return 0;
}

/* One line per recipient record (T or D) of f from start. */
static void recipients(str *o, const str *f, size_t start, const char *channel, int todo)
{
  size_t pos = start;
  while (pos < f->len) {
    size_t n = byte_chr(f->s + pos, f->len - pos, 0);
    if (n == 0) break;
    if (pos + n >= f->len) break; /* torn last record */
    if (f->s[pos] == 'T' || f->s[pos] == 'D') {
      nomem_if(str_cats(o, "  "));
      nomem_if(str_cats(o, channel));
      nomem_if(str_cats(o, !todo && f->s[pos] == 'D' ? "done    <" : "pending <"));
      cat_safe(o, f->s + pos + 1, n - 1);
      nomem_if(str_cats(o, ">\n"));
    }
    pos += n + 1;
  }
}

static void show(int qfd, str *o, const struct msg *m, time_t now)
{
  str f = STR_INIT, info = STR_INIT;
  const char *v;
  size_t len;
  int preprocessed, todo;
  struct stat st;
  str p = STR_INIT;
  int bfd;

  preprocessed = read_qfile(qfd, "info", m->id, &info);
  if (preprocessed) { /* with hold flags and deferral reasons (qlist.h) */
    str loc = STR_INIT, rem = STR_INIT, def = STR_INIT, h = STR_INIT;
    struct qlist_msg q;
    q.id = m->id;
    q.birth = m->when;
    q.size = (unsigned long)m->size;
    q.sender = "";
    q.senderlen = 0;
    if (record(&info, 0, 'F', &v, &len)) { q.sender = v; q.senderlen = len; }
    q.local = read_qfile(qfd, "local", m->id, &loc) ? &loc : 0;
    q.remote = read_qfile(qfd, "remote", m->id, &rem) ? &rem : 0;
    q.defer = read_qfile(qfd, "defer", m->id, &def) ? &def : 0;
    q.held = read_qfile(qfd, "hold", m->id, &h);
    nomem_if(str_copys(&p, ""));
    nomem_if(str_catulong(&p, m->id));
    nomem_if(str_0(&p));
    bfd = walk_dir(qfd, "bounce");
    q.bounce = bfd >= 0 && fstatat(bfd, p.s, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
    if (bfd >= 0) close(bfd);
    nomem_if(qlist_format(o, &q, now));
    str_free(&loc); str_free(&rem); str_free(&def); str_free(&h);
    str_free(&info);
    str_free(&p);
    return;
  }
  nomem_if(str_catulong(o, m->id));
  nomem_if(str_cats(o, "  "));
  cat_age(o, now, m->when);
  nomem_if(str_cats(o, "  "));
  nomem_if(str_catulong(o, (unsigned long)m->size));
  {
    todo = read_qfile(qfd, "todo", m->id, &f);
    if (todo) {
      nomem_if(str_cats(o, "  <"));
      if (record(&f, 0, 'F', &v, &len)) cat_safe(o, v, len);
      nomem_if(str_cats(o, ">  not yet preprocessed\n"));
      recipients(o, &f, 0, "todo   ", 1);
    } else {
      nomem_if(str_cats(o, "  being injected, or left by a crash\n"));
    }
  }
  str_free(&f);
  str_free(&info);
  str_free(&p);
}

/* For a user who cannot read the queue: the summary sluice-send keeps
 * in conf-home/status/mailq (sluice-send(8)), which holds no message
 * body. Exits. */
static _Noreturn void summary(int home)
{
  str s = STR_INIT;
  char outmem[8192];
  buf b;
  int r = walk_read(home, "status/mailq", &s, FILE_MAX);
  if (r < 0) die_temp_sys("unable to read ", auto_home, "/status/mailq");
  if (r == 0) die_temp("the queue is readable by root only, and sluice-send has written no summary in ", auto_home,
                       "/status/mailq");
  buf_init(&b, 1, outmem, sizeof outmem);
  if (buf_put(&b, s.s, s.len) < 0 || buf_flush(&b) < 0) die_temp_sys("unable to write output");
  _exit(0);
}

int main(int argc, char **argv)
{
  struct msg *msgs = 0;
  size_t nmsgs = 0, amsgs = 0;
  str p = STR_INIT, o = STR_INIT;
  time_t now = time(0);
  char outmem[8192];
  buf b;
  int home, qfd;

  (void)argc;
  die_progname(argv[0] ? argv[0] : "sluice-qread");
  home = open_dir(auto_home);
  if (home < 0) die_temp_sys("unable to switch to ", auto_home);
  qfd = walk_dir(home, "queue");
  if (qfd < 0 && errno == EACCES) summary(home); /* an ordinary user */
  if (qfd < 0) die_temp_sys("unable to read the queue ", auto_home, "/queue (run as root)");
  close(home);
  for (unsigned long n = 0; n < auto_split; ++n) {
    DIR *d;
    struct dirent *de;
    int dfd, copy;
    nomem_if(str_copys(&p, "mess/"));
    nomem_if(str_catulong(&p, n));
    nomem_if(str_0(&p));
    dfd = walk_dir(qfd, p.s);
    copy = dfd < 0 ? -1 : fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    d = copy < 0 ? 0 : fdopendir(copy);
    if (!d) die_temp_sys("unable to read the queue directory ", auto_home, "/queue/", p.s, " (run as root)");
    for (;;) {
      unsigned long id;
      struct stat st;
      size_t l;
      errno = 0;
      de = readdir(d);
      if (!de) break;
      l = strlen(de->d_name);
      if (scan_ulong_exact(de->d_name, l, &id) < 0) continue;
      /* removed meanwhile, or no message file of the queue */
      if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) continue;
      if (nmsgs == amsgs) {
        size_t na = amsgs ? amsgs * 2 : 64;
        struct msg *nm;
        if (na > (size_t)-1 / sizeof *nm / 2) die_nomem();
        nm = realloc(msgs, na * sizeof *nm);
        if (!nm) die_nomem();
        msgs = nm;
        amsgs = na;
      }
      msgs[nmsgs].id = id;
      msgs[nmsgs].when = st.st_mtime;
      msgs[nmsgs].size = st.st_size;
      ++nmsgs;
    }
    if (errno) die_temp_sys("unable to read the queue directory ", p.s);
    closedir(d);
    close(dfd);
  }
  /* birth time from info, when there is one */
  for (size_t i = 0; i < nmsgs; ++i) {
    str info = STR_INIT;
    const char *v;
    size_t len;
    unsigned long birth;
    if (read_qfile(qfd, "info", msgs[i].id, &info) && record(&info, 0, 'b', &v, &len) &&
        scan_ulong_exact(v, len, &birth) == 0)
      msgs[i].when = (time_t)birth;
    str_free(&info);
  }
  if (nmsgs) qsort(msgs, nmsgs, sizeof *msgs, msg_cmp);
  buf_init(&b, 1, outmem, sizeof outmem);
  for (size_t i = 0; i < nmsgs; ++i) {
    str_truncate(&o, 0);
    show(qfd, &o, &msgs[i], now);
    if (buf_put(&b, o.s, o.len) < 0) die_temp_sys("unable to write output");
  }
  if (buf_flush(&b) < 0) die_temp_sys("unable to write output");
  free(msgs);
  return 0;
}
