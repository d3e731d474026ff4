/* sluice-newrcpt: builds control/rcptcheck.cdb, the list of local parts
 * that exist, for sluice-smtpd's recipient check (sluice-newrcpt(8)).
 *
 * Sources: users/assign (exact and prefix entries), every passwd user
 * with a uid other than 0 who owns an existing home directory (the user
 * and the user's .qmail-EXT and .qmail-EXT-default files), and the alias
 * user's .qmail-* files (.qmail-default there means "every local part
 * exists": the key "*"), and every name of the alias database
 * users/aliases.cdb (sluice-newaliases(8)). The keys of an account of
 * /etc/passwd carry its name ("u" USER), so sluice-smtpd refuses them
 * as soon as the account is gone. The key format is in smtpd_rcpt.h. The file is
 * written atomically (a temporary file renamed over the old one), mode
 * 0644 so the daemon user can read it.
 *
 * With -r (refresh, what the sluice-rcptfresh service runs every
 * minute): nothing at all when control/rcptcheck.cdb is missing (the
 * check is off); else the new cdb is built in memory (a memfd) and
 * compared with the old file's bytes, which is replaced only when they
 * differ, so a pass over an unchanged system writes nothing. One line
 * on fd 1 says which ("unchanged", "rebuilt" or "off"). Runs of
 * sluice-newrcpt take users/rcptcheck.lock one after another, so
 * the service and a manual run or sluice-newaliases never write the
 * temporary file at once. Exit 0, 64 (usage), 111 (trouble). */
#define _GNU_SOURCE /* memfd_create */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.h"
#include "auto.h"
#include "byte.h"
#include "cdb.h"
#include "cdb_make.h"
#include "die.h"
#include "file.h"
#include "fmt.h"
#include "smtpd_rcpt.h"
#include "str.h"

#define ASSIGN_MAX (64UL * 1024 * 1024)
#define RCPTCHECK "control/rcptcheck.cdb"
/* beside the databases sluice-newu and newaliases write, not in
 * control/, where sluice-showctl would call it an unknown file */
#define RCPTLOCK "users/rcptcheck.lock"
/* a cdb cannot pass 4 GB (cdb_make.h) */
#define RCPTCHECK_MAX ((size_t)UINT32_MAX)

/* Where the keys go: the atomic maker (a plain run) or a plain maker on
 * a memory file (-r); maker points at the one in use. */
static struct cdb_make_atomic out;
static struct cdb_make mem;
static struct cdb_make *maker = &out.make;
static int memfd = -1;
static unsigned long nkeys;

static _Noreturn void fail_write(void)
{
  int e = errno;
  if (memfd >= 0) cdb_make_free(&mem);
  else cdb_make_atomic_abort(&out);
  errno = e;
  die_temp_sys("unable to write " RCPTCHECK);
}

/* The account whose keys are being added, when it is one of the passwd
 * file (its keys then hold "u" USER: sluice-smtpd drops them when the
 * account is gone), or empty. */
static str owner;

/* Adds key[0..len) lower-cased, with data "=" (exact) or "+" (prefix),
 * followed by "u" and the owner's name when there is an owner. */
static void add_key(const char *key, size_t len, char kind)
{
  char k[SMTPD_RCPT_KEY_MAX];
  str data = STR_INIT;
  size_t i;

  if (len == 0 || len > sizeof k) return; /* can never match */
  for (i = 0; i < len; ++i) k[i] = key[i];
  case_lowerb(k, len);
  if (owner.len) {
    if ((kind == '+' && str_catc(&data, '+') < 0) || str_catc(&data, 'u') < 0 || str_cat(&data, &owner) < 0)
      die_nomem();
  } else if (str_catc(&data, kind) < 0) {
    die_nomem();
  }
  if (cdb_make_add(maker, k, len, data.s, data.len) < 0) fail_write();
  str_free(&data);
  ++nkeys;
}

/* users/assign: "=local:..." exact, "+prefix:..." prefix; "." ends it. */
static void read_assign(void)
{
  str f = STR_INIT;
  size_t pos = 0;
  int r = file_read("users/assign", &f, ASSIGN_MAX);

  if (r < 0) die_temp_sys("unable to read users/assign");
  while (pos < f.len) {
    size_t end = pos + byte_chr(f.s + pos, f.len - pos, '\n');
    const char *line = f.s + pos;
    size_t n = end - pos, colon;

    pos = end + 1;
    if (n == 1 && line[0] == '.') break;
    if (n == 0) continue;
    colon = byte_chr(line, n, ':');
    if (colon == n || (line[0] != '=' && line[0] != '+')) {
      warn_msg("ignoring a malformed line in users/assign");
      continue;
    }
    if (line[0] == '=') add_key(line + 1, colon - 1, '=');
    else if (colon == 1) add_key("*", 1, '+'); /* "+:" matches every local part */
    else add_key(line + 1, colon - 1, '+');
  }
  str_free(&f);
}

/* Each .qmail-EXT file in dir gives prefix-EXT ('.' for ':'), and
 * .qmail-EXT-default gives the wildcard prefix-EXT-; prefix empty (the
 * alias user): .qmail-default alone means everything ("*"). */
static void read_dotqmail(const char *dir, const char *prefix)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  str key = STR_INIT;
  size_t plen = byte_len(prefix, 1000);

  if (!d) {
    warn_sys("unable to read directory ", dir);
    return;
  }
  while ((e = readdir(d)) != 0) {
    const char *name = e->d_name;
    size_t n = byte_len(name, 4096), i;
    int wild = 0;

    if (n <= 7 || !byte_startswith(name, n, ".qmail-", 0)) continue;
    name += 7;
    n -= 7;
    if (case_equalb(name, n, "default", 7)) {
      n = 0;
      wild = 1;
    } else if (n > 8 && case_equalb(name + n - 8, 8, "-default", 8)) {
      n -= 7; /* keep the '-' */
      wild = 1;
    }
    if (plen == 0 && n == 0) {
      add_key("*", 1, '+');
      continue;
    }
    if (str_copyb(&key, prefix, plen) < 0 || (plen && str_catc(&key, '-') < 0) || str_catb(&key, name, n) < 0)
      die_nomem();
    for (i = plen; i < key.len; ++i)
      if (key.s[i] == ':') key.s[i] = '.';
    add_key(key.s, key.len, wild ? '+' : '=');
  }
  closedir(d);
  str_free(&key);
}

/* Every alias name of users/aliases.cdb (none when it is missing). */
static void read_aliases(void)
{
  struct cdb c;
  str key = STR_INIT;
  int fd = open_read(ALIASES_CDB), r;

  if (fd < 0) {
    if (errno == ENOENT) return;
    die_temp_sys("unable to read " ALIASES_CDB);
  }
  if (cdb_open(&c, fd) < 0 || cdb_iter_start(&c) < 0) die_temp_sys("unable to read " ALIASES_CDB);
  while ((r = cdb_iter_next(&c)) == 1) {
    if (cdb_getkey(&c, &key) < 0) die_temp_sys("unable to read " ALIASES_CDB);
    add_key(key.s, key.len, '=');
  }
  if (r < 0) die_temp_sys("unable to read " ALIASES_CDB);
  cdb_close(&c);
  close(fd);
  str_free(&key);
}

static int plain_name(const char *s)
{
  size_t i, n = byte_len(s, 1000);
  if (n == 0 || n >= 1000) return 0;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 32 || c >= 127 || c == '@' || c == ':' || c == '/') return 0;
  }
  return 1;
}

/* The lines of /etc/passwd sorted by name, so that finding each account
 * of getpwent there costs a binary search, not a scan of the file (a
 * scan per account made a pass over 10000 accounts take 0.4 s of CPU).
 * The lines of one name keep their order: the first that
 * smtpd_passwd_find accepts wins, as in sluice-smtpd's scan. */
struct pwline {
  size_t off, len, namelen; /* the line etc[off..off+len), its name's length */
};
static const char *pw_text; /* for the comparison only */

static int pwline_cmp(const void *a, const void *b)
{
  const struct pwline *x = a, *y = b;
  size_t n = x->namelen < y->namelen ? x->namelen : y->namelen;
  int c = memcmp(pw_text + x->off, pw_text + y->off, n);
  if (c) return c;
  if (x->namelen != y->namelen) return x->namelen < y->namelen ? -1 : 1;
  return x->off < y->off ? -1 : x->off > y->off;
}

/* Fills idx (an array of struct pwline in a str) from etc[0..len). */
static void passwd_index(const char *etc, size_t len, str *idx)
{
  size_t pos = 0;

  idx->len = 0;
  while (pos < len) {
    struct pwline l;
    size_t nl = byte_chr(etc + pos, len - pos, '\n');
    l.off = pos;
    l.len = nl;
    l.namelen = byte_chr(etc + pos, nl, ':');
    pos += nl < len - pos ? nl + 1 : nl;
    if (l.namelen == nl) continue; /* no field: never an account */
    if (str_catb(idx, (const char *)&l, sizeof l) < 0) die_nomem();
  }
  pw_text = etc;
  if (idx->len) qsort(idx->s, idx->len / sizeof(struct pwline), sizeof(struct pwline), pwline_cmp);
}

/* smtpd_passwd_find(etc, ...) through the index: 1 found, 0 not, -1 no
 * memory. */
static int passwd_lookup(const char *etc, const str *idx, const char *name, size_t n, unsigned long *uid, str *home)
{
  const struct pwline *v = (const struct pwline *)(const void *)idx->s;
  size_t lo = 0, hi = idx->len / sizeof(struct pwline);

  while (lo < hi) { /* the first line whose name is not below name */
    size_t mid = lo + (hi - lo) / 2, m = v[mid].namelen < n ? v[mid].namelen : n;
    int c = memcmp(etc + v[mid].off, name, m);
    if (c < 0 || (c == 0 && v[mid].namelen < n)) lo = mid + 1;
    else hi = mid;
  }
  for (; lo < idx->len / sizeof(struct pwline); ++lo) {
    int r;
    if (v[lo].namelen != n || !byte_equal(etc + v[lo].off, name, n)) break;
    r = smtpd_passwd_find(etc + v[lo].off, v[lo].len, name, n, uid, home);
    if (r != 0) return r;
  }
  return 0;
}

static void read_passwd(void)
{
  struct passwd *pw;
  struct stat st;
  str etc = STR_INIT, home = STR_INIT, idx = STR_INIT;
  unsigned long uid;
  int have_etc = file_read("/etc/passwd", &etc, 16UL * 1024 * 1024) == 1, f;

  if (have_etc) passwd_index(etc.s, etc.len, &idx);
  setpwent();
  while ((errno = 0, pw = getpwent()) != 0) {
    if (pw->pw_uid == 0 || !plain_name(pw->pw_name) || !pw->pw_dir || pw->pw_dir[0] != '/') continue;
    if (stat(pw->pw_dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != pw->pw_uid) continue;
    /* an account of /etc/passwd itself, which sluice-smtpd can see */
    owner.len = 0;
    f = have_etc ? passwd_lookup(etc.s, &idx, pw->pw_name, byte_len(pw->pw_name, 1000), &uid, &home) : 0;
    if (f < 0) die_nomem();
    if (f == 1 && uid == (unsigned long)pw->pw_uid && str_copys(&owner, pw->pw_name) < 0) die_nomem();
    add_key(pw->pw_name, byte_len(pw->pw_name, 1000), '=');
    read_dotqmail(pw->pw_dir, pw->pw_name);
    owner.len = 0;
  }
  str_free(&etc);
  str_free(&home);
  str_free(&idx);
  if (errno != 0 && errno != ENOENT) die_temp_sys("unable to read the user database");
  endpwent();
}

/* Writes "sluice-newrcpt: " what " (N keys)" and a newline on fd 1. */
static void say(const char *what, int with_count)
{
  str line = STR_INIT;
  char num[FMT_ULONG];

  num[fmt_ulong(num, nkeys)] = 0;
  if (str_copys(&line, "sluice-newrcpt: ") < 0 || str_cats(&line, what) < 0
      || (with_count && (str_cats(&line, " (") < 0 || str_cats(&line, num) < 0 || str_cats(&line, " keys)") < 0))
      || str_catc(&line, '\n') < 0)
    die_nomem();
  if (write_all(1, line.s, line.len) < 0) die_temp_sys("unable to write to fd 1");
  str_free(&line);
}

/* -r: a descriptor for the new cdb that never reaches the disk: a
 * memfd, or where there is none (old kernels) an unlinked file beside
 * the cdb. */
static int open_memory(void)
{
  int fd = memfd_create("rcptcheck.cdb", MFD_CLOEXEC);
  if (fd >= 0 || errno != ENOSYS) return fd;
  fd = open_trunc(RCPTCHECK ".new", 0600);
  if (fd >= 0 && unlink(RCPTCHECK ".new") < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* -r after the keys: the old file replaced only when its bytes differ.
 * Returns 1 when it was rewritten, 0 when it was left alone. */
static int finish_refresh(void)
{
  str fresh = STR_INIT, old = STR_INIT;
  int r, changed;

  if (cdb_make_finish(&mem) < 0) fail_write();
  if (lseek(memfd, 0, SEEK_SET) < 0 || read_fd_all(memfd, &fresh, RCPTCHECK_MAX) < 0)
    die_temp_sys("unable to read back the new " RCPTCHECK);
  close(memfd);
  memfd = -1;
  r = file_read(RCPTCHECK, &old, RCPTCHECK_MAX);
  if (r < 0 && errno != EFBIG) die_temp_sys("unable to read " RCPTCHECK);
  changed = r != 1 || old.len != fresh.len || !byte_equal(old.s, fresh.s, fresh.len);
  if (changed && file_replace(RCPTCHECK, fresh.s, fresh.len, 0644) < 0)
    die_temp_sys("unable to write " RCPTCHECK);
  str_free(&fresh);
  str_free(&old);
  return changed;
}

int main(int argc, char **argv)
{
  struct passwd *pw;
  struct stat st;
  str home = STR_INIT;
  int refresh = 0, lockfd;

  die_progname("sluice-newrcpt");
  if (argc == 2 && byte_len(argv[1], 3) == 2 && byte_equal(argv[1], "-r", 2)) refresh = 1;
  else if (argc > 1) die_usage("sluice-newrcpt [-r]");
  umask(022);
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  /* one run at a time: they share the name of the temporary file */
  lockfd = open_append(RCPTLOCK, 0600);
  if (lockfd < 0 || lock_ex(lockfd) < 0) die_temp_sys("unable to lock " RCPTLOCK);
  if (refresh) {
    if (stat(RCPTCHECK, &st) < 0) {
      if (errno != ENOENT) die_temp_sys("unable to stat " RCPTCHECK);
      say(RCPTCHECK " is missing: check off", 0);
      return 0;
    }
    memfd = open_memory();
    if (memfd < 0) die_temp_sys("unable to create a memory file");
    if (cdb_make_start(&mem, memfd) < 0) die_temp_sys("unable to start the new " RCPTCHECK);
    maker = &mem;
  } else if (cdb_make_atomic_start(&out, RCPTCHECK, 0644) < 0) {
    die_temp_sys("unable to create " RCPTCHECK ".tmp");
  }

  read_assign();
  read_aliases();
  pw = getpwnam(auto_user_alias);
  if (!pw) {
    if (refresh) cdb_make_free(&mem);
    else cdb_make_atomic_abort(&out);
    die_temp("no alias user ", auto_user_alias);
  }
  /* the alias user's files live in conf-home/alias, as sluice-getpw(8) says */
  if (str_copys(&home, auto_home) < 0 || str_cats(&home, "/alias") < 0 || str_0(&home) < 0) die_nomem();
  read_dotqmail(home.s, "");
  read_passwd();

  if (refresh) say(finish_refresh() ? RCPTCHECK " rebuilt" : RCPTCHECK " unchanged", 1);
  else if (cdb_make_atomic_finish(&out) < 0) die_temp_sys("unable to write " RCPTCHECK);
  str_free(&home);
  close(lockfd);
  return 0;
}
