/* sluice-fsck: checks, repairs and creates the queue (sluice-fsck(8)).
 *
 * The queue layout of sluice-queue(5) lives here, in the table
 * `layout` below, and nowhere else: tools/setup creates a queue by
 * running sluice-fsck -c. Four passes, each a function:
 *   check_structure  every directory, split directory, fifo and lock
 *                    file with its owner, group and mode; split
 *                    directories beyond conf-split;
 *   scan_files       every file of every split directory, pid/ and
 *                    bounce/: names, stale pid files; collects one
 *                    entry per message file;
 *   fix_misplaced    files outside split directory id mod conf-split;
 *   check_messages   groups the entries by id and applies the
 *                    Consistency rules of sluice-queue(5);
 *   check_quarantine reports each file that sluice-send (through
 *                    sluice-clean) or -r moved to quarantine/.
 * sluice-fsck runs as root in a tree whose directories belong to the
 * queue's users, who may put a symbolic link or another file in place
 * of any name at any moment. So nothing is done by path: the queue is
 * opened once, without following a link, as a descriptor (f->qfd), and
 * every name below it is reached with walk.h (O_NOFOLLOW at every
 * level) and changed with the *at calls or, for owners and modes,
 * with fchown/fchmod on a descriptor whose type, identity and link
 * count were checked first. A symbolic link is reported, never
 * followed.
 * Each problem is one line on fd 1: "sluice-fsck: PATH: problem". With
 * -r a repair follows as "sluice-fsck: PATH: repaired: what"; with -n
 * as "sluice-fsck: PATH: would repair: what". A repair never removes a
 * mess file that has a todo or info file.
 *
 * Exit: 0 clean (or, with -r/-c, everything repaired), 1 problems found
 * (or left unrepaired), 64 usage, 100 -c without root, 111 trouble
 * reading the queue or looking up the users. All memory is owned by
 * the struct fsck of main and lives until exit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "die.h"
#include "errtext.h"
#include "file.h"
#include "fmt.h"
#include "queue.h"
#include "qfile.h"
#include "scan.h"
#include "size.h"
#include "str.h"
#include "walk.h"

/* Leftovers of a crashed injection are removed after this age, as
 * sluice-send does (sluice-queue(5)). */
#define STALE_SECONDS (36L * 3600)

enum role { ROLE_QUEUE, ROLE_SEND, ROLE_REMOTE, ROLE_COUNT };
enum shape { SHAPE_DIR, SHAPE_SPLIT, SHAPE_FIFO, SHAPE_FILE };

struct layout {
  const char *path; /* relative to the queue; "." is the queue itself */
  enum shape shape;
  enum role owner;  /* the group is always conf-users' group role */
  mode_t mode;
};

/* sluice-queue(5), "Directories, owners and modes". Parents before
 * children: check_structure creates in this order. */
static const struct layout layout[] = {
  { ".", SHAPE_DIR, ROLE_QUEUE, 0750 },
  { "pid", SHAPE_DIR, ROLE_QUEUE, 02700 },  /* setgid: files get group sluice */
  { "mess", SHAPE_SPLIT, ROLE_QUEUE, 0750 },
  { "intd", SHAPE_SPLIT, ROLE_QUEUE, 02700 },
  { "todo", SHAPE_SPLIT, ROLE_QUEUE, 0750 },
  { "info", SHAPE_SPLIT, ROLE_SEND, 0700 },
  { "local", SHAPE_SPLIT, ROLE_SEND, 0700 },
  { "remote", SHAPE_SPLIT, ROLE_SEND, 0700 },
  { "bounce", SHAPE_DIR, ROLE_SEND, 0700 },
  { "hold", SHAPE_SPLIT, ROLE_SEND, 0700 },  /* sluice-qctl hold: a flag per message */
  { "defer", SHAPE_SPLIT, ROLE_SEND, 0700 }, /* the deferral reasons per message */
  { "quarantine", SHAPE_DIR, ROLE_QUEUE, 0750 },
  { "lock", SHAPE_DIR, ROLE_QUEUE, 0750 },
  { "lock/trigger", SHAPE_FIFO, ROLE_SEND, 0622 },
  { "lock/control", SHAPE_FIFO, ROLE_SEND, 0600 }, /* sluice-qctl's commands */
  { "lock/sendmutex", SHAPE_FILE, ROLE_SEND, 0600 },
  { "lock/tcpto", SHAPE_FILE, ROLE_REMOTE, 0644 },
  { "lock/journal.local", SHAPE_FILE, ROLE_SEND, 0620 },
  { "lock/journal.remote", SHAPE_FILE, ROLE_SEND, 0620 },
};
#define LAYOUT_COUNT (sizeof layout / sizeof layout[0])

/* The kinds of per-message files. All but bounce are split. */
enum kind { K_MESS, K_INTD, K_TODO, K_INFO, K_LOCAL, K_REMOTE, K_BOUNCE, K_COUNT };
static const char *const kind_dir[K_COUNT] = { "mess", "intd", "todo", "info", "local", "remote", "bounce" };
/* What each file is, for the problem lines. */
static const char *const kind_what[K_COUNT] = {
  "message", "unfinished envelope", "envelope", "info", "local recipient list",
  "remote recipient list", "bounce report"
};

struct entry {
  unsigned long id;
  unsigned long dir; /* the split directory it is in now */
  time_t mtime;
  unsigned long mtime_nsec;
  unsigned long ino; /* its inode: a message's must be its id */
  uid_t uid;
  enum kind kind;
};

enum mode { MODE_CHECK, MODE_REPAIR, MODE_DRYRUN };

struct fsck {
  enum mode mode;
  int create;          /* -c: may create the queue directory itself */
  int fresh;           /* the queue was created by this run: build the
                        * rest quietly, there is nothing to report */
  const char *qdir;    /* the queue directory */
  int homefd;          /* the directory that holds it (conf-home) */
  int qfd;             /* the queue, opened without following a link */
  const char *qbase;   /* its name in homefd */
  const char *prefix;  /* how paths are shown: "queue" or qdir */
  unsigned long split;
  time_t now;
  uid_t uid[ROLE_COUNT];
  const char *uname[ROLE_COUNT];
  gid_t gid;
  const char *gname;
  unsigned long problems;   /* found */
  unsigned long unrepaired; /* found and still there */
  struct entry *entries;
  size_t count, alloc;
  str extra;           /* split directories beyond conf-split, NUL-separated */
  str line;            /* scratch for output */
};

/* ---- output ---- */

static void out_parts(struct fsck *f, const char *path, va_list ap)
{
  const char *s;
  str_truncate(&f->line, 0);
  if (str_cats(&f->line, "sluice-fsck: ") < 0 || str_cats(&f->line, f->prefix) < 0) die_nomem();
  if (strcmp(path, ".") != 0)
    if (str_catc(&f->line, '/') < 0 || str_cats(&f->line, path) < 0) die_nomem();
  if (str_cats(&f->line, ": ") < 0) die_nomem();
  while ((s = va_arg(ap, const char *)) != 0)
    if (str_cats(&f->line, s) < 0) die_nomem();
  if (str_catc(&f->line, '\n') < 0) die_nomem();
  if (write_all(1, f->line.s, f->line.len) < 0) die_temp_sys("unable to write output");
}

/* One line "sluice-fsck: PREFIX/path: parts..." (NULL-terminated parts). */
static void say(struct fsck *f, const char *path, ...)
{
  va_list ap;
  va_start(ap, path);
  out_parts(f, path, ap);
  va_end(ap);
}

static void problem(struct fsck *f, const char *path, ...)
{
  va_list ap;
  ++f->problems;
  va_start(ap, path);
  out_parts(f, path, ap);
  va_end(ap);
}

/* Called after a problem: 1 when the caller should repair it now. In
 * the other modes the problem stays; -n says what -r would do. */
static int may_repair(struct fsck *f, const char *path, const char *action)
{
  if (f->mode == MODE_REPAIR) return 1;
  ++f->unrepaired;
  if (f->mode == MODE_DRYRUN) say(f, path, "would repair: ", action, (const char *)0);
  return 0;
}

static void repaired(struct fsck *f, const char *path, const char *action)
{
  say(f, path, "repaired: ", action, (const char *)0);
}

static void repair_failed(struct fsck *f, const char *path, const char *action)
{
  int e = errno;
  ++f->unrepaired;
  say(f, path, "repair failed: ", action, ": ", errtext(e), (const char *)0);
}

static void not_repairable(struct fsck *f, const char *path, const char *why)
{
  ++f->unrepaired;
  if (f->mode != MODE_CHECK) say(f, path, "not repaired: ", why, (const char *)0);
}

/* ---- small helpers ---- */

/* 1 when s is a decimal number in canonical form (no sign, no leading
 * zero), the only form sluice gives a queue file or split directory. */
static int canonical_number(const char *s, unsigned long *u)
{
  size_t n = strlen(s);
  if (n == 0 || (n > 1 && s[0] == '0')) return 0;
  return scan_ulong_exact(s, n, u) == 0;
}

static void path_join(str *p, const char *dir, const char *name)
{
  if (str_copys(p, dir) < 0 || str_catc(p, '/') < 0 || str_cats(p, name) < 0 || str_0(p) < 0) die_nomem();
}

static void path_ulong(str *p, const char *dir, unsigned long n)
{
  if (str_copys(p, dir) < 0 || str_catc(p, '/') < 0 || str_catulong(p, n) < 0 || str_0(p) < 0) die_nomem();
}

/* The name of a message file: "kind/dir/id", or "bounce/id". */
static void entry_path(const struct fsck *f, str *p, enum kind kind, unsigned long id, unsigned long dir)
{
  if (kind == K_BOUNCE) {
    path_ulong(p, "bounce", id);
    return;
  }
  (void)f;
  if (str_copys(p, kind_dir[kind]) < 0 || str_catc(p, '/') < 0 || str_catulong(p, dir) < 0
      || str_catc(p, '/') < 0 || str_catulong(p, id) < 0 || str_0(p) < 0)
    die_nomem();
}

static size_t fmt_mode(char *s, mode_t m)
{
  s[0] = (char)('0' + ((m >> 9) & 7));
  s[1] = (char)('0' + ((m >> 6) & 7));
  s[2] = (char)('0' + ((m >> 3) & 7));
  s[3] = (char)('0' + (m & 7));
  s[4] = 0;
  return 4;
}

/* 1 when errno says a name (or a directory on its way) is missing or
 * is not what a walk may enter (a symbolic link, a file): a state the
 * structure pass reports, so that a later pass passes over it. */
static int walk_gone(int e)
{
  return e == ENOENT || e == ENOTDIR || e == ELOOP || e == EMLINK;
}

/* Reads the names of the queue's directory path (without "." and "..")
 * into names, each followed by a NUL, so that the caller may change the
 * directory while it walks them. Returns a descriptor of the directory
 * for the *at calls on its names, or -1 with errno (walk_gone(errno)
 * when missing or not a directory). */
static int read_names(struct fsck *f, const char *path, str *names)
{
  int fd = walk_dir(f->qfd, path), copy, e;
  DIR *d;
  struct dirent *de;
  str_truncate(names, 0);
  if (fd < 0) return -1;
  copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  d = copy < 0 ? 0 : fdopendir(copy);
  if (!d) {
    e = errno;
    if (copy >= 0) close(copy);
    close(fd);
    errno = e;
    return -1;
  }
  for (;;) {
    errno = 0;
    de = readdir(d);
    if (!de) break;
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (str_cats(names, de->d_name) < 0 || str_catc(names, 0) < 0) {
      closedir(d);
      die_nomem();
    }
  }
  e = errno;
  closedir(d);
  if (e) {
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* The directory of the queue's name path, for an *at call on *name;
 * -1 with errno. */
static int parent_of(struct fsck *f, const char *path, const char **name)
{
  return walk_parent(f->qfd, path, name);
}

static void entry_add(struct fsck *f, enum kind kind, unsigned long id, unsigned long dir, const struct stat *st)
{
  if (f->count == f->alloc) {
    size_t n, bytes;
    struct entry *e;
    if (size_add(&n, f->alloc, f->alloc / 2 + 64) < 0 || size_mul(&bytes, n, sizeof *e) < 0) die_nomem();
    e = realloc(f->entries, bytes);
    if (!e) die_nomem();
    f->entries = e;
    f->alloc = n;
  }
  f->entries[f->count].id = id;
  f->entries[f->count].dir = dir;
  f->entries[f->count].mtime = st->st_mtime;
  f->entries[f->count].mtime_nsec = (unsigned long)st->st_mtim.tv_nsec;
  f->entries[f->count].ino = (unsigned long)st->st_ino;
  f->entries[f->count].uid = st->st_uid;
  f->entries[f->count].kind = kind;
  ++f->count;
}

/* ---- pass 1: structure ---- */

static int shape_ok(enum shape shape, mode_t m)
{
  switch (shape) {
  case SHAPE_DIR:
  case SHAPE_SPLIT: return S_ISDIR(m);
  case SHAPE_FIFO: return S_ISFIFO(m);
  case SHAPE_FILE: return S_ISREG(m);
  }
  return 0;
}

static const char *shape_name(enum shape shape)
{
  switch (shape) {
  case SHAPE_DIR:
  case SHAPE_SPLIT: return "is not a directory";
  case SHAPE_FIFO: return "is not a fifo";
  case SHAPE_FILE: return "is not a regular file";
  }
  return "has the wrong type";
}

static const char *shape_replace(enum shape shape)
{
  switch (shape) {
  case SHAPE_DIR:
  case SHAPE_SPLIT: return "replace by a directory";
  case SHAPE_FIFO: return "replace by a fifo";
  case SHAPE_FILE: return "replace by an empty file";
  }
  return "replace";
}

static const char *shape_replaced(enum shape shape)
{
  switch (shape) {
  case SHAPE_DIR:
  case SHAPE_SPLIT: return "replaced by a directory";
  case SHAPE_FIFO: return "replaced by a fifo";
  case SHAPE_FILE: return "replaced by an empty file";
  }
  return "replaced";
}

/* ext4's "top of a directory hierarchy" flag (chattr +T; linux/fs.h,
 * which musl's headers lack). The subdirectories of a directory with
 * the flag are spread over the file system's block groups (the Orlov
 * allocator) instead of being placed beside their parent, and each
 * file takes its inode in its directory's group. Without it every
 * queue directory and so every queue file shares one group, and on
 * ext4 without a journal each new inode is searched for past every
 * inode of the group freed in the last minutes (ext4's
 * recently_deleted check): with four queue files made and removed
 * per message that search grows with the mail rate and took about a
 * fifth of all CPU under load. With the flag on the queue and on each
 * split parent the queue's files fall in many groups. Performance
 * only: other file systems refuse the call, which is ignored. */
#ifndef FS_IOC_GETFLAGS
#define FS_IOC_GETFLAGS _IOR('f', 1, long)
#define FS_IOC_SETFLAGS _IOW('f', 2, long)
#endif
#ifndef FS_TOPDIR_FL
#define FS_TOPDIR_FL 0x00020000
#endif

static void spread_subdirs(int fd)
{
  int flags;
  if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0 || (flags & FS_TOPDIR_FL)) return;
  flags |= FS_TOPDIR_FL;
  (void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

/* Makes name in the directory dfd with exactly the owner and mode
 * wanted, then fsyncs dfd. The queue itself and each split parent
 * get the flag above (spread_subdirs). The owner and mode are set on a descriptor
 * of what was made, after checking that it is still that: a node of
 * the right type that root owns with one link (the directory may be a
 * role user's, who may swap the name in between). -1 with errno. */
static int create_node(struct fsck *f, int dfd, const char *name, enum shape shape, enum role owner, mode_t mode)
{
  struct stat st;
  int fd = -1, e;
  switch (shape) {
  case SHAPE_DIR:
  case SHAPE_SPLIT:
    if (mkdirat(dfd, name, 0700) < 0) return -1;
    fd = walk_open_node(dfd, name, &st);
    break;
  case SHAPE_FIFO:
    if (mkfifoat(dfd, name, 0600) < 0) return -1;
    fd = walk_open_node(dfd, name, &st);
    break;
  case SHAPE_FILE:
    do fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
    while (fd < 0 && errno == EINTR);
    if (fd >= 0 && fstat(fd, &st) < 0) goto fail;
    break;
  }
  if (fd < 0) return -1;
  if (!shape_ok(shape, st.st_mode) || st.st_uid != geteuid() || (!S_ISDIR(st.st_mode) && st.st_nlink != 1)) {
    errno = EEXIST; /* replaced under our hands */
    goto fail;
  }
  if (fchown(fd, f->uid[owner], f->gid) < 0 || fchmod(fd, mode) < 0) goto fail;
  if (shape == SHAPE_SPLIT || (shape == SHAPE_DIR && dfd == f->homefd)) spread_subdirs(fd);
  close(fd);
  return file_sync(dfd);
fail:
  e = errno;
  close(fd);
  errno = e;
  return -1;
}

/* Opens the node name of dfd for a change of owner or mode, as seen
 * in *seen: the same inode, of the type wanted, and, unless it is a
 * directory, with one link only (a second name could be a hard link to
 * any file of the same file system). -1 with errno (EEXIST when it is
 * no longer what was seen). */
static int open_seen(int dfd, const char *name, const struct stat *seen, enum shape shape)
{
  struct stat st;
  int fd = walk_open_node(dfd, name, &st);
  if (fd < 0) return -1;
  if (st.st_dev != seen->st_dev || st.st_ino != seen->st_ino || !shape_ok(shape, st.st_mode) ||
      (!S_ISDIR(st.st_mode) && st.st_nlink != 1)) {
    close(fd);
    errno = EEXIST;
    return -1;
  }
  return fd;
}

/* Checks one node of the layout and repairs it when asked. Returns 1
 * when it exists with the right type at the end. The queue itself
 * (".") is f->qfd. */
static int check_node(struct fsck *f, const char *path, enum shape shape, enum role owner, mode_t mode)
{
  struct stat st;
  char have[8], want[8];
  const char *name = ".";
  int dfd = -1, fd, ok = 1;
  if (!strcmp(path, ".")) {
    if (fstat(f->qfd, &st) < 0) die_temp_sys("unable to stat ", f->qdir);
  } else {
    dfd = parent_of(f, path, &name);
    if (dfd < 0) {
      if (walk_gone(errno)) return 0; /* its directory is missing or a link: reported */
      die_temp_sys("unable to open the directory of ", path);
    }
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT) die_temp_sys("unable to stat ", path);
      if (f->fresh) {
        if (create_node(f, dfd, name, shape, owner, mode) < 0) die_temp_sys("unable to create ", path);
        goto done;
      }
      problem(f, path, "missing", (const char *)0);
      if (!may_repair(f, path, "create")) ok = 0;
      else if (create_node(f, dfd, name, shape, owner, mode) < 0) {
        repair_failed(f, path, "create");
        ok = 0;
      } else {
        repaired(f, path, "created");
      }
      goto done;
    }
  }
  if (!shape_ok(shape, st.st_mode)) {
    problem(f, path, S_ISLNK(st.st_mode) ? "is a symbolic link (never followed)" : shape_name(shape), (const char *)0);
    ok = 0;
    /* the trigger fifo holds nothing: whatever is there is replaced. A
     * symbolic link is never part of the queue: it is replaced too (the
     * link is removed, never what it points to). The queue itself is
     * opened without following a link, so it is never one here. */
    if (shape != SHAPE_FIFO && !S_ISLNK(st.st_mode)) {
      not_repairable(f, path, "move it aside by hand, then run sluice-fsck -r");
      goto done;
    }
    if (!may_repair(f, path, shape_replace(shape))) goto done;
    if (unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0 ||
        create_node(f, dfd, name, shape, owner, mode) < 0) {
      repair_failed(f, path, shape_replace(shape));
      goto done;
    }
    repaired(f, path, shape_replaced(shape));
    ok = 1;
    goto done;
  }
  if (!S_ISDIR(st.st_mode) && st.st_nlink != 1) {
    char n[FMT_ULONG];
    n[fmt_ulong(n, (unsigned long)st.st_nlink)] = 0;
    problem(f, path, "has ", n, " links, want 1 (another name may be any file)", (const char *)0);
    not_repairable(f, path, "owner and mode not changed: remove it by hand, then run sluice-fsck -r");
    goto done;
  }
  if (st.st_uid != f->uid[owner] || st.st_gid != f->gid) {
    char u[FMT_ULONG], g[FMT_ULONG];
    u[fmt_ulong(u, (unsigned long)st.st_uid)] = 0;
    g[fmt_ulong(g, (unsigned long)st.st_gid)] = 0;
    problem(f, path, "owner ", u, ":", g, ", want ", f->uname[owner], ":", f->gname, (const char *)0);
    if (may_repair(f, path, "chown")) {
      fd = dfd < 0 ? f->qfd : open_seen(dfd, name, &st, shape);
      if (fd < 0 || fchown(fd, f->uid[owner], f->gid) < 0) repair_failed(f, path, "chown");
      else repaired(f, path, "owner set");
      if (fd >= 0 && fd != f->qfd) close(fd);
    }
  }
  if ((st.st_mode & 07777) != mode) {
    fmt_mode(have, st.st_mode & 07777);
    fmt_mode(want, mode);
    problem(f, path, "mode ", have, ", want ", want, (const char *)0);
    if (may_repair(f, path, "chmod")) {
      fd = dfd < 0 ? f->qfd : open_seen(dfd, name, &st, shape);
      if (fd < 0 || fchmod(fd, mode) < 0) repair_failed(f, path, "chmod");
      else repaired(f, path, "mode set");
      if (fd >= 0 && fd != f->qfd) close(fd);
    }
  }
done:
  if (dfd >= 0) close(dfd);
  return ok;
}

/* A name that has no place in the queue, name in the directory dfd. A
 * file is removed by -r: no part of sluice ever reads it, so it cannot
 * be a message; a symbolic link is removed as a name, never followed. A
 * directory is left to a human. */
static void stray(struct fsck *f, int dfd, const char *name, const char *path, const struct stat *st, const char *what)
{
  problem(f, path, what, (const char *)0);
  if (S_ISDIR(st->st_mode)) {
    not_repairable(f, path, "a directory: remove it by hand");
    return;
  }
  if (!may_repair(f, path, "remove")) return;
  if (unlinkat(dfd, name, 0) < 0) repair_failed(f, path, "remove");
  else repaired(f, path, "removed");
}

/* The split directories of one layout entry: 0..split-1 must exist;
 * a numeric one beyond is remembered so that scan_files empties it into
 * the right places and finish removes it. */
static void check_split(struct fsck *f, const struct layout *l)
{
  str p = STR_INIT, names = STR_INIT;
  char sp[FMT_ULONG];
  size_t i;
  int dfd;
  for (unsigned long n = 0; n < f->split; ++n) {
    path_ulong(&p, l->path, n);
    check_node(f, p.s, SHAPE_DIR, l->owner, l->mode);
  }
  sp[fmt_ulong(sp, f->split)] = 0;
  dfd = read_names(f, l->path, &names);
  if (dfd < 0) die_temp_sys("unable to read ", l->path);
  for (i = 0; i < names.len; i += strlen(names.s + i) + 1) {
    const char *name = names.s + i;
    unsigned long n;
    struct stat st;
    path_join(&p, l->path, name);
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) continue;
      die_temp_sys("unable to stat ", p.s);
    }
    if (canonical_number(name, &n) && S_ISDIR(st.st_mode)) {
      if (n < f->split) continue;
      problem(f, p.s, "conf-split changed? queue has split dir ", name, " but conf-split is ", sp, (const char *)0);
      if (f->mode == MODE_REPAIR) {
        if (str_cats(&f->extra, p.s) < 0 || str_catc(&f->extra, 0) < 0) die_nomem();
      } else {
        may_repair(f, p.s, "move its files to their split directories, then remove it");
      }
      continue;
    }
    if (canonical_number(name, &n) && n < f->split) continue; /* reported by check_node */
    stray(f, dfd, name, p.s, &st, "not a split directory");
  }
  close(dfd);
  str_free(&p);
  str_free(&names);
}

static void check_structure(struct fsck *f)
{
  for (size_t i = 0; i < LAYOUT_COUNT; ++i) {
    const struct layout *l = &layout[i];
    if (!check_node(f, l->path, l->shape, l->owner, l->mode)) continue;
    if (l->shape == SHAPE_SPLIT) check_split(f, l);
  }
}

/* ---- pass 2: files ---- */

static void check_pid_dir(struct fsck *f)
{
  str p = STR_INIT, names = STR_INIT;
  size_t i;
  int dfd = read_names(f, "pid", &names);
  if (dfd < 0) {
    if (walk_gone(errno)) return; /* reported by check_structure */
    die_temp_sys("unable to read pid");
  }
  for (i = 0; i < names.len; i += strlen(names.s + i) + 1) {
    const char *name = names.s + i;
    unsigned long n;
    struct stat st;
    path_join(&p, "pid", name);
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) continue; /* an injection just finished */
      die_temp_sys("unable to stat ", p.s);
    }
    if (!canonical_number(name, &n) || !S_ISREG(st.st_mode)) {
      stray(f, dfd, name, p.s, &st, "not a pid file");
      continue;
    }
    if (f->now - st.st_mtime <= STALE_SECONDS) continue; /* an injection running now */
    problem(f, p.s, "stale pid file (older than 36 hours)", (const char *)0);
    if (!may_repair(f, p.s, "remove")) continue;
    if (unlinkat(dfd, name, 0) < 0) repair_failed(f, p.s, "remove");
    else repaired(f, p.s, "removed");
  }
  close(dfd);
  str_free(&p);
  str_free(&names);
}

/* Gives the queue file from the name to instead, by linkat and
 * unlinkat (never over an existing file, never lost), each directory
 * fsynced; with to null, just removes from. 0, or -1 with errno. */
static int move_name(struct fsck *f, const char *from, const char *to)
{
  const char *fname, *tname;
  int fd = -1, td = -1, r = -1, e;
  fd = parent_of(f, from, &fname);
  if (fd < 0) goto done;
  if (to) {
    td = parent_of(f, to, &tname);
    if (td < 0) goto done;
    /* flags 0: a symbolic link would be linked itself, not followed */
    if (linkat(fd, fname, td, tname, 0) < 0 || file_sync(td) < 0) goto done;
  }
  if (unlinkat(fd, fname, 0) < 0 || file_sync(fd) < 0) goto done;
  r = 0;
done:
  e = errno;
  if (fd >= 0) close(fd);
  if (td >= 0) close(td);
  errno = e;
  return r;
}

/* An entry whose split directory is not id mod conf-split: moved
 * with link and unlink, so it is never lost and never overwrites
 * another file. The entry follows the file. */
static void move_misplaced(struct fsck *f, struct entry *e)
{
  str from = STR_INIT, to = STR_INIT;
  unsigned long right = e->id % f->split;
  entry_path(f, &from, e->kind, e->id, e->dir);
  entry_path(f, &to, e->kind, e->id, right);
  problem(f, from.s, "misplaced: id belongs in ", to.s, (const char *)0);
  if (may_repair(f, from.s, "move it there")) {
    if (move_name(f, from.s, to.s) < 0) {
      if (errno == EEXIST) not_repairable(f, from.s, "the right place is taken too");
      else repair_failed(f, from.s, "move");
    } else {
      repaired(f, from.s, "moved");
      e->dir = right;
    }
  }
  str_free(&from);
  str_free(&to);
}

static void fix_misplaced(struct fsck *f)
{
  for (size_t i = 0; i < f->count; ++i) {
    struct entry *e = &f->entries[i];
    if (e->kind != K_BOUNCE && e->id % f->split != e->dir) move_misplaced(f, e);
  }
}

/* A queued message and its envelope are readable by the queue's roles
 * only: mode 0640 (QUEUE_FILE_MODE), group sluice, which sluice-queue
 * gets from the setgid pid/ and intd/ directories. Files queued before
 * that (0644, the caller's group) are repaired; the queue's directories
 * kept others out of them already. A file is changed only when it has
 * no name but its own, or, for an envelope, its own and its intd or
 * todo name: any other second name could be a hard link to any file. */
static void check_access(struct fsck *f, enum kind kind, int dfd, const char *name, const char *path, unsigned long id,
                         unsigned long dir, const struct stat *st)
{
  char have[8], want[8];
  struct stat other;
  str twin = STR_INIT;
  int fd;
  if ((st->st_mode & 07777) == QUEUE_FILE_MODE && st->st_gid == f->gid) return;
  if (st->st_nlink > 1 && kind == K_MESS) return; /* an injection still running: its pid name */
  fmt_mode(have, st->st_mode & 07777);
  fmt_mode(want, QUEUE_FILE_MODE);
  problem(f, path, "mode ", have, st->st_gid == f->gid ? "" : " and not group ", st->st_gid == f->gid ? "" : f->gname,
          ", want ", want, " group ", f->gname, " (a queued message is for the queue's roles only)", (const char *)0);
  if (!may_repair(f, path, "set its group and mode")) return;
  if (st->st_nlink == 2) {
    /* the envelope's second name must be its intd or todo name */
    entry_path(f, &twin, kind == K_TODO ? K_INTD : K_TODO, id, dir);
    if (fstatat(f->qfd, twin.s, &other, AT_SYMLINK_NOFOLLOW) < 0 || other.st_ino != st->st_ino
        || other.st_dev != st->st_dev) {
      str_free(&twin);
      not_repairable(f, path, "it has a second name that is not its envelope's: look at it by hand");
      return;
    }
  } else if (st->st_nlink != 1) {
    not_repairable(f, path, "it has more names than its own: look at it by hand");
    return;
  }
  str_free(&twin);
  fd = walk_open_node(dfd, name, &other);
  if (fd < 0 || other.st_ino != st->st_ino || other.st_dev != st->st_dev || !S_ISREG(other.st_mode)
      || other.st_nlink != st->st_nlink || fchown(fd, (uid_t)-1, f->gid) < 0 || fchmod(fd, QUEUE_FILE_MODE) < 0)
    repair_failed(f, path, "set its group and mode");
  else
    repaired(f, path, "set its group and mode");
  if (fd >= 0) close(fd);
}

/* The files of one split directory dir at path, or of bounce/. */
static void scan_dir(struct fsck *f, enum kind kind, const char *path, unsigned long dir)
{
  str p = STR_INIT, names = STR_INIT;
  size_t i;
  int dfd = read_names(f, path, &names);
  if (dfd < 0) {
    if (walk_gone(errno)) return; /* reported by check_structure */
    die_temp_sys("unable to read ", path);
  }
  for (i = 0; i < names.len; i += strlen(names.s + i) + 1) {
    const char *name = names.s + i;
    unsigned long id;
    struct stat st;
    path_join(&p, path, name);
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) continue;
      die_temp_sys("unable to stat ", p.s);
    }
    if (!canonical_number(name, &id)) {
      stray(f, dfd, name, p.s, &st, "name is not a decimal number");
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      problem(f, p.s, S_ISLNK(st.st_mode) ? "a symbolic link, not a regular file (never followed)" : "not a regular file",
              (const char *)0);
      not_repairable(f, p.s, "move it aside by hand");
      continue;
    }
    if (kind == K_MESS || kind == K_INTD || kind == K_TODO) check_access(f, kind, dfd, name, p.s, id, dir, &st);
    entry_add(f, kind, id, dir, &st);
  }
  close(dfd);
  str_free(&p);
  str_free(&names);
}

/* Every numeric subdirectory of each split kind, those beyond
 * conf-split included, then bounce/ and pid/. */
static void scan_files(struct fsck *f)
{
  str p = STR_INIT, names = STR_INIT;
  for (enum kind k = K_MESS; k < K_BOUNCE; k = (enum kind)(k + 1)) {
    size_t i;
    int dfd = read_names(f, kind_dir[k], &names);
    if (dfd < 0) {
      if (walk_gone(errno)) continue;
      die_temp_sys("unable to read ", kind_dir[k]);
    }
    for (i = 0; i < names.len; i += strlen(names.s + i) + 1) {
      unsigned long n;
      struct stat st;
      if (!canonical_number(names.s + i, &n)) continue; /* reported by check_split */
      path_join(&p, kind_dir[k], names.s + i);
      if (fstatat(dfd, names.s + i, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) continue;
      scan_dir(f, k, p.s, n);
    }
    close(dfd);
  }
  scan_dir(f, K_BOUNCE, "bounce", 0);
  check_pid_dir(f);
  str_free(&p);
  str_free(&names);
}

/* ---- pass 3: messages ---- */

static int entry_cmp(const void *a, const void *b)
{
  const struct entry *x = a, *y = b;
  if (x->id != y->id) return x->id < y->id ? -1 : 1;
  return (int)x->kind - (int)y->kind;
}

static void remove_entry(struct fsck *f, const struct entry *e, const char *why)
{
  str p = STR_INIT;
  entry_path(f, &p, e->kind, e->id, e->dir);
  if (may_repair(f, p.s, why)) {
    if (move_name(f, p.s, 0) < 0) repair_failed(f, p.s, "remove");
    else repaired(f, p.s, "removed");
  }
  str_free(&p);
}

/* Moves the file of e to quarantine/KIND.ID.TIME (the name sluice-clean
 * gives, sluice-queue(5)), for the postmaster to look at: kept, but
 * where nothing delivers it or mistakes it for another message of the
 * same id. A taken name gets a suffix .1, .2 and so on. */
static void quarantine_entry(struct fsck *f, const struct entry *e)
{
  str p = STR_INIT, to = STR_INIT;
  entry_path(f, &p, e->kind, e->id, e->dir);
  if (may_repair(f, p.s, "move to quarantine/")) {
    int r = -1;
    for (unsigned long n = 0; n < 100; ++n) {
      if (str_copys(&to, "quarantine/") < 0 || str_cats(&to, kind_dir[e->kind]) < 0 || str_catc(&to, '.') < 0 ||
          str_catulong(&to, e->id) < 0 || str_catc(&to, '.') < 0 || str_catulong(&to, (unsigned long)f->now) < 0)
        die_nomem();
      if (n && (str_catc(&to, '.') < 0 || str_catulong(&to, n) < 0)) die_nomem();
      if (str_0(&to) < 0) die_nomem();
      r = move_name(f, p.s, to.s);
      if (r == 0 || errno != EEXIST) break;
    }
    if (r < 0) repair_failed(f, p.s, "move to quarantine/");
    else say(f, p.s, "repaired: moved to ", to.s, (const char *)0);
  }
  str_free(&p);
  str_free(&to);
}

/* 1 when the mess file e is the message of its id: a file of the queue
 * user whose inode is the id. Anything else (planted, or a copy
 * restored from a backup) must never be delivered under this id. */
static int mess_is_its_own(const struct fsck *f, const struct entry *e)
{
  return e->ino == e->id && e->uid == f->uid[ROLE_QUEUE];
}

/* The stamp recorded in the envelope (todo) or info file e, as
 * sluice-send reads it: 1 with *in filled when there is one, 0 when the
 * file has none (written before stamps) or does not parse, -1 when it
 * is gone or cannot be read. */
static int stamp_of(struct fsck *f, const struct entry *e, struct qfile_info *in)
{
  str p = STR_INIT, s = STR_INIT;
  int r = -1;
  entry_path(f, &p, e->kind, e->id, e->dir);
  in->stamped = 0;
  if (walk_read(f->qfd, p.s, &s, 64UL << 20) > 0)
    r = (e->kind == K_TODO ? qfile_envelope_parse(&s, in, 0, 0) : qfile_info_parse(&s, in)) == 0 && in->stamped;
  str_free(&p);
  str_free(&s);
  str_free(&in->sender);
  str_free(&in->dsn);
  return r;
}

/* 1 when the message file m was not written after the envelope or
 * info file e committed it: its time is e's stamp, or, for a file from
 * before stamps, the envelope is not older than the message. */
static int committed_by(struct fsck *f, const struct entry *m, const struct entry *e)
{
  struct qfile_info in = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
  int r = stamp_of(f, e, &in);
  if (r > 0) return m->mtime == (time_t)in.stamp_sec && m->mtime_nsec == in.stamp_nsec;
  return r < 0 || e->kind != K_TODO || e->mtime >= m->mtime;
}

/* The files of one id, e[0..n), sorted by kind (mess first). */
static void check_message(struct fsck *f, const struct entry *e, size_t n)
{
  const struct entry *of[K_COUNT] = { 0 };
  str p = STR_INIT, want = STR_INIT;
  const char *why = " missing)";
  int not_own = 0;
  time_t newest = 0;
  size_t i;

  for (i = 0; i < n; ++i) {
    of[e[i].kind] = &e[i];
    if (e[i].mtime > newest) newest = e[i].mtime;
  }

  if (of[K_MESS] && !mess_is_its_own(f, of[K_MESS])) {
    char ino[FMT_ULONG], uid[FMT_ULONG];
    ino[fmt_ulong(ino, of[K_MESS]->ino)] = 0;
    uid[fmt_ulong(uid, (unsigned long)of[K_MESS]->uid)] = 0;
    entry_path(f, &p, K_MESS, of[K_MESS]->id, of[K_MESS]->dir);
    problem(f, p.s, "not the message of this id (inode ", ino, ", owner ", uid, "; want inode = id, owner ",
            f->uname[ROLE_QUEUE], ")", (const char *)0);
    quarantine_entry(f, of[K_MESS]);
    of[K_MESS] = 0;
    not_own = 1;
    why = " is not its message)";
  }
  if (of[K_MESS] && of[K_INFO] && !committed_by(f, of[K_MESS], of[K_INFO])) {
    /* being delivered, but the file is no longer the one that was
     * queued: sluice-send has frozen it; nothing of it is delivered */
    entry_path(f, &p, K_MESS, of[K_MESS]->id, of[K_MESS]->dir);
    problem(f, p.s, "changed after it was queued (its time is not the stamp in info): never delivered", (const char *)0);
    for (i = 0; i < n; ++i) quarantine_entry(f, &e[i]);
    return;
  }
  if (of[K_MESS] && of[K_TODO] && !committed_by(f, of[K_MESS], of[K_TODO])) {
    /* an envelope names the time sluice-queue gave its message (older
     * envelopes: it is written after the message): another one is left
     * by an earlier message that had the same inode, or the message
     * file was changed */
    entry_path(f, &p, K_TODO, of[K_TODO]->id, of[K_TODO]->dir);
    problem(f, p.s, "envelope not of this message (its stamp is not the message's time, or it is older than the message)",
            (const char *)0);
    quarantine_entry(f, of[K_TODO]);
    if (of[K_INTD] && of[K_INTD]->ino == of[K_TODO]->ino) {
      entry_path(f, &p, K_INTD, of[K_INTD]->id, of[K_INTD]->dir);
      problem(f, p.s, "second name of an envelope older than its message", (const char *)0);
      remove_entry(f, of[K_INTD], "remove");
      of[K_INTD] = 0;
    }
    of[K_TODO] = 0;
    newest = of[K_MESS]->mtime;
    if (of[K_INTD] && of[K_INTD]->mtime > newest) newest = of[K_INTD]->mtime;
  }

  if (!of[K_MESS]) {
    /* nothing to deliver. A missing message: an envelope goes to
     * quarantine/, as sluice-send has it done, for it tells whose mail
     * was lost; every other file of the id is removed. A message that
     * is not its own: every file of the id goes to quarantine/, where
     * nothing is lost if it was a queue restored from a copy. */
    if (queue_name(&want, "mess", e[0].id, f->split) < 0 || str_0(&want) < 0) die_nomem();
    for (i = 0; i < n; ++i) {
      if (e[i].kind == K_MESS) continue; /* not its own: quarantined above */
      entry_path(f, &p, e[i].kind, e[i].id, e[i].dir);
      problem(f, p.s, kind_what[e[i].kind], " without message (", want.s, why, (const char *)0);
      if (e[i].kind == K_TODO || not_own) quarantine_entry(f, &e[i]);
      else remove_entry(f, &e[i], "remove (nothing to deliver)");
    }
  } else if (of[K_TODO] || of[K_INFO]) {
    /* committed (todo) or being delivered (info): consistent. A todo
     * next to info is a crash during preprocessing, which sluice-send
     * redoes; info alone is a message without recipients. */
  } else if (of[K_LOCAL] || of[K_REMOTE] || of[K_BOUNCE]) {
    if (queue_name(&want, "info", e[0].id, f->split) < 0 || str_0(&want) < 0) die_nomem();
    for (i = 0; i < n; ++i) {
      if (e[i].kind == K_MESS || e[i].kind == K_INTD || e[i].kind == K_TODO) continue;
      entry_path(f, &p, e[i].kind, e[i].id, e[i].dir);
      problem(f, p.s, kind_what[e[i].kind], " without info (", want.s, " missing)", (const char *)0);
      not_repairable(f, p.s, "recipients may still be pending: decide by hand (sluice-send(8))");
    }
  } else if (f->now - newest > STALE_SECONDS) {
    /* mess, perhaps intd, and nothing else, for 36 hours: a crashed
     * injection that never reached its commit point */
    if (of[K_INTD]) {
      entry_path(f, &p, K_INTD, of[K_INTD]->id, of[K_INTD]->dir);
      problem(f, p.s, "unfinished envelope of an orphan message, older than 36 hours", (const char *)0);
      remove_entry(f, of[K_INTD], "remove");
    }
    entry_path(f, &p, K_MESS, of[K_MESS]->id, of[K_MESS]->dir);
    problem(f, p.s, "orphan message without envelope, older than 36 hours (left by a crashed injection)", (const char *)0);
    remove_entry(f, of[K_MESS], "remove (never committed)");
  }
  str_free(&p);
  str_free(&want);
}

static void check_messages(struct fsck *f)
{
  size_t i = 0, j;
  if (f->count > 1) qsort(f->entries, f->count, sizeof *f->entries, entry_cmp);
  while (i < f->count) {
    for (j = i + 1; j < f->count && f->entries[j].id == f->entries[i].id; ++j) {}
    check_message(f, f->entries + i, j - i);
    i = j;
  }
}

/* Removes the split directories beyond conf-split that scan_files has
 * emptied. */
static void remove_extra_dirs(struct fsck *f)
{
  for (size_t i = 0; i < f->extra.len; i += strlen(f->extra.s + i) + 1) {
    const char *path = f->extra.s + i, *name;
    int dfd = parent_of(f, path, &name), r = -1;
    if (dfd >= 0) {
      r = unlinkat(dfd, name, AT_REMOVEDIR);
      if (r == 0) r = file_sync(dfd);
      close(dfd);
    }
    if (r < 0) {
      if (errno == ENOTEMPTY || errno == EEXIST) not_repairable(f, path, "still holds files that could not be moved");
      else repair_failed(f, path, "remove");
    } else {
      repaired(f, path, "files moved to their split directories, removed");
    }
  }
}

/* ---- pass 4: quarantine ---- */

/* Every name in quarantine/ is reported, each time: a message there
 * lost its recipients or was not the queue's, and a human must look at
 * it (sluice-queue(5)). Only a human removes it. */
static void check_quarantine(struct fsck *f)
{
  str names = STR_INIT;
  int dfd = read_names(f, "quarantine", &names);
  if (dfd < 0) {
    if (walk_gone(errno)) return; /* reported by check_structure */
    die_temp_sys("unable to read quarantine");
  }
  for (size_t i = 0; i < names.len; i += strlen(names.s + i) + 1) {
    problem(f, "quarantine", "quarantined: ", names.s + i, (const char *)0);
    not_repairable(f, "quarantine", "look at it (sluice-queue(5)), then remove it by hand");
  }
  close(dfd);
  str_free(&names);
}

/* ---- users/roles ---- */

/* users/roles beside the queue (sluice-queue(8)): one line "ROLE UID"
 * for each user role, written by tools/setup and read by sluice-queue
 * to name its caller's role without the name service. It must be a
 * regular file of root's that no one else may write, and every role
 * must have exactly one line with the uid passwd gives its user. Not
 * repaired here: tools/setup writes it. */
#define ROLES_MAX 4096

/* A problem of users/roles, shown as path shown (parts NULL-terminated). */
static void roles_problem(struct fsck *f, const char *shown, ...)
{
  const char *prefix = f->prefix;
  va_list ap;
  f->prefix = shown;
  ++f->problems;
  va_start(ap, shown);
  out_parts(f, ".", ap);
  va_end(ap);
  not_repairable(f, ".", "run tools/setup (make setup), which rewrites it");
  f->prefix = prefix;
}

static void check_roles(struct fsck *f)
{
  static const char *const role[] = { "alias", "daemon", "log", "passwd", "queue", "remote", "send" };
  const char *const user[] = { auto_user_alias, auto_user_daemon, auto_user_log, auto_user_passwd,
                               auto_user_queue, auto_user_remote, auto_user_send };
  enum { NROLES = sizeof role / sizeof role[0] };
  int seen[NROLES] = { 0 };
  str path = STR_INIT, text = STR_INIT;
  const char *shown;
  struct stat st;
  size_t i = 0;
  int dfd = -1, fd = -1;

  /* the parent of the queue by name, not by "queue/..", which does
   * not resolve while the queue is missing (before -c creates it) */
  {
    size_t n = strlen(f->qdir);
    while (n > 1 && f->qdir[n - 1] == '/') --n;
    while (n > 0 && f->qdir[n - 1] != '/') --n;
    if (str_copyb(&path, f->qdir, n) < 0 || str_cats(&path, "users/roles") < 0 || str_0(&path) < 0) die_nomem();
  }
  /* shown like the other paths: relative to conf-home, unless a queue
   * directory was given */
  shown = f->qdir == f->prefix ? path.s : "users/roles";
  /* read through conf-home's descriptor, never through a link */
  dfd = walk_dir(f->homefd, "users");
  if (dfd >= 0) fd = walk_open_node(dfd, "roles", &st);
  if (dfd < 0 || fd < 0) {
    if (errno == ENOENT) roles_problem(f, shown, "missing", (const char *)0);
    else if (walk_gone(errno)) roles_problem(f, shown, "a symbolic link, or in one (never followed)", (const char *)0);
    else die_temp_sys("unable to open ", path.s);
    goto done;
  }
  if (!S_ISREG(st.st_mode)) {
    roles_problem(f, shown, "not a regular file", (const char *)0);
    goto done;
  }
  if (st.st_uid != 0 || (st.st_mode & 022)) {
    roles_problem(f, shown, "must be owned by root and writable by root alone", (const char *)0);
    goto done;
  }
  if (read_fd_all(fd, &text, ROLES_MAX) < 0) {
    if (errno != EFBIG) die_temp_sys("unable to read ", path.s);
    roles_problem(f, shown, "larger than 4096 bytes", (const char *)0);
    goto done;
  }
  while (i < text.len) {
    size_t start = i, sp = 0, end, r;
    unsigned long u;
    char have[FMT_ULONG], want[FMT_ULONG];
    struct passwd *pw;
    while (i < text.len && text.s[i] != '\n') {
      if (text.s[i] == ' ' && !sp) sp = i;
      ++i;
    }
    end = i++;
    for (r = 0; r < NROLES; ++r)
      if (sp && strlen(role[r]) == sp - start && !memcmp(text.s + start, role[r], sp - start)) break;
    if (r == NROLES || scan_ulong_exact(text.s + sp + 1, end - sp - 1, &u) < 0) {
      roles_problem(f, shown, "a line is not \"ROLE UID\" with a user role of conf-users", (const char *)0);
      continue;
    }
    if (seen[r]++) {
      roles_problem(f, shown, "role ", role[r], " has more than one line", (const char *)0);
      continue;
    }
    pw = getpwnam(user[r]);
    if (!pw) die_temp("unknown user ", user[r], ": create the sluice users first (make setup)");
    if ((unsigned long)pw->pw_uid != u) {
      have[fmt_ulong(have, u)] = 0;
      want[fmt_ulong(want, (unsigned long)pw->pw_uid)] = 0;
      roles_problem(f, shown, "role ", role[r], " has uid ", have, ", but ", user[r], " has uid ", want,
                    (const char *)0);
    }
  }
  for (size_t r = 0; r < NROLES; ++r)
    if (!seen[r]) roles_problem(f, shown, "no line for role ", role[r], (const char *)0);
done:
  if (fd >= 0) close(fd);
  if (dfd >= 0) close(dfd);
  str_free(&path);
  str_free(&text);
}

/* ---- the whole run ---- */

static void lookup_ids(struct fsck *f)
{
  const char *user[ROLE_COUNT] = { auto_user_queue, auto_user_send, auto_user_remote };
  struct group *gr;
  for (int r = 0; r < ROLE_COUNT; ++r) {
    struct passwd *pw = getpwnam(user[r]);
    if (!pw) die_temp("unknown user ", user[r], ": create the sluice users first (make setup)");
    f->uid[r] = pw->pw_uid;
    f->uname[r] = user[r];
  }
  gr = getgrnam(auto_user_group);
  if (!gr) die_temp("unknown group ", auto_user_group, ": create the sluice users first (make setup)");
  f->gid = gr->gr_gid;
  f->gname = auto_user_group;
}

/* Opens the directory that holds the queue (conf-home) by name: the
 * path down to it is root's. It must be root's and writable by root
 * alone, or a user could put a link or another directory in place of
 * the queue. Sets f->homefd and f->qbase. */
static void open_home(struct fsck *f, str *home)
{
  size_t n = strlen(f->qdir), end;
  struct stat st;
  while (n > 1 && f->qdir[n - 1] == '/') --n;
  end = n;
  while (n > 0 && f->qdir[n - 1] != '/') --n;
  if (str_copyb(home, f->qdir + n, end - n) < 0 || str_0(home) < 0) die_nomem();
  f->qbase = home->s;
  if (str_equals(home, "..") || str_equals(home, ".") || str_equals(home, "/") || !home->len)
    die_usage("sluice-fsck [-r | -n | -c] [queuedir]");
  {
    str dir = STR_INIT;
    if (n == 0) {
      if (str_copys(&dir, ".") < 0) die_nomem();
    } else if (str_copyb(&dir, f->qdir, n) < 0) {
      die_nomem();
    }
    if (str_0(&dir) < 0) die_nomem();
    f->homefd = open_dir(dir.s);
    if (f->homefd < 0) die_temp_sys("unable to open ", dir.s);
    str_free(&dir);
  }
  if (fstat(f->homefd, &st) < 0) die_temp_sys("unable to stat the directory of ", f->qdir);
  if (st.st_uid != 0 || (st.st_mode & 022)) {
    problem(f, ".", "its directory is not root's alone (owner, group or others may write it): "
            "a user could put a link or another directory in place of the queue", (const char *)0);
    not_repairable(f, ".", "make the directory root's, mode 0755");
  }
}

/* Makes sure the queue directory exists (creating it with -c) and opens
 * it without following a link (f->qfd). Returns 0 when there is no
 * queue to check. */
static int enter_queue(struct fsck *f)
{
  struct stat st;
  if (fstatat(f->homefd, f->qbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno != ENOENT) die_temp_sys("unable to stat ", f->qdir);
    /* a queue that -c was asked to create is no problem to report */
    if (!(f->create && f->mode == MODE_REPAIR)) problem(f, ".", "missing", (const char *)0);
    if (!f->create) {
      /* -r does not create it: a missing queue may mean a wrong home or
       * a file system that is not mounted */
      not_repairable(f, ".", "sluice-fsck -c creates a new, empty queue");
      if (f->mode == MODE_CHECK) say(f, ".", "sluice-fsck -c creates a new, empty queue", (const char *)0);
      return 0;
    }
    if (!may_repair(f, ".", "create")) return 0;
    if (create_node(f, f->homefd, f->qbase, SHAPE_DIR, layout[0].owner, layout[0].mode) < 0) {
      repair_failed(f, ".", "create");
      return 0;
    }
    say(f, ".", "created, with every directory, fifo and lock file below", (const char *)0);
    f->fresh = 1;
  } else if (!S_ISDIR(st.st_mode)) {
    problem(f, ".", S_ISLNK(st.st_mode) ? "is a symbolic link (never followed)" : "is not a directory", (const char *)0);
    not_repairable(f, ".", "move it aside by hand");
    return 0;
  }
  f->qfd = walk_dir(f->homefd, f->qbase);
  if (f->qfd < 0) die_temp_sys("unable to open ", f->qdir);
  return 1;
}

static int fsck_run(struct fsck *f)
{
  str home = STR_INIT;
  umask(077);
  open_home(f, &home);
  check_roles(f);
  if (enter_queue(f)) {
    check_structure(f);
    scan_files(f);
    fix_misplaced(f);
    check_messages(f);
    if (f->mode == MODE_REPAIR) remove_extra_dirs(f);
    check_quarantine(f);
  }
  str_free(&home);
  if (f->mode == MODE_REPAIR) return f->unrepaired ? 1 : 0;
  return f->problems ? 1 : 0;
}

int main(int argc, char **argv)
{
  static struct fsck f;
  str qdir = STR_INIT;
  int opt;

  die_progname("sluice-fsck");
  f.mode = MODE_CHECK;
  while ((opt = getopt(argc, argv, "rnc")) != -1) {
    switch (opt) {
    case 'r': if (f.mode != MODE_DRYRUN) f.mode = MODE_REPAIR; break;
    case 'n': f.mode = MODE_DRYRUN; break;
    case 'c': f.create = 1; break;
    default: die_usage("sluice-fsck [-r | -n | -c] [queuedir]");
    }
  }
  if (argc - optind > 1) die_usage("sluice-fsck [-r | -n | -c] [queuedir]");
  if (f.create) {
    if (geteuid() != 0) die_perm("-c creates the queue with its owners and needs root");
    if (f.mode == MODE_CHECK) f.mode = MODE_REPAIR;
  }
  if (optind < argc) {
    f.qdir = f.prefix = argv[optind];
  } else {
    path_join(&qdir, auto_home, "queue");
    f.qdir = qdir.s;
    f.prefix = "queue";
  }
  f.split = auto_split;
  f.now = time(0);
  lookup_ids(&f);
  return fsck_run(&f);
}
