/* users.c: users/assign, users/cdb and the passwd search (users.h,
 * sluice-users(5), sluice-getpw(8)).
 *
 * cdb keys: "=" + lower-cased local part for an exact entry, "+" +
 * lower-cased prefix for a prefix entry; data the record of users.h.
 * Only the matching ignores case: an extension handed back keeps the
 * case of the address (qmail's EXT and DEFAULT do).
 * Errors: -1 with errno; the compiler also says which line and why.
 * Memory: every str here belongs to the caller or is freed before
 * return. */
#include <errno.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byte.h"
#include "cdb.h"
#include "cdb_make.h"
#include "file.h"
#include "fmt.h"
#include "scan.h"
#include "str.h"
#include "users.h"

void users_entry_free(struct users_entry *e)
{
  str_free(&e->user);
  str_free(&e->home);
  str_free(&e->dash);
  str_free(&e->ext);
  e->uid = e->gid = 0;
}

static int cat0(str *out, const char *s, size_t n)
{
  if (str_catb(out, s, n) < 0) return -1;
  return str_catc(out, 0);
}

static int catnum0(str *out, unsigned long u)
{
  char num[FMT_ULONG];
  return cat0(out, num, fmt_ulong(num, u));
}

int users_encode(str *out, const struct users_entry *e)
{
  size_t old = out->len;
  if (cat0(out, e->user.s, e->user.len) < 0 || catnum0(out, e->uid) < 0 ||
      catnum0(out, e->gid) < 0 || cat0(out, e->home.s, e->home.len) < 0 ||
      cat0(out, e->dash.s, e->dash.len) < 0 || cat0(out, e->ext.s, e->ext.len) < 0) {
    str_truncate(out, old);
    return -1;
  }
  return 0;
}

/* A decimal id: digits only, at most USERS_ID_MAX. */
static int scan_id(const char *s, size_t n, unsigned long *u)
{
  if (scan_ulong_exact(s, n, u) < 0 || *u > USERS_ID_MAX) return -1;
  return 0;
}

int users_decode(struct users_entry *e, const char *s, size_t n)
{
  const char *f[6];
  size_t len[6], pos = 0, i;

  for (i = 0; i < 6; ++i) {
    size_t z = byte_chr(s + pos, n - pos, 0);
    if (z == n - pos) { errno = EPROTO; return -1; }
    f[i] = s + pos;
    len[i] = z;
    pos += z + 1;
  }
  if (pos != n || len[0] == 0 || len[3] == 0 || f[3][0] != '/') { errno = EPROTO; return -1; }
  if (scan_id(f[1], len[1], &e->uid) < 0 || scan_id(f[2], len[2], &e->gid) < 0) {
    errno = EPROTO;
    return -1;
  }
  if (str_copyb(&e->user, f[0], len[0]) < 0 || str_copyb(&e->home, f[3], len[3]) < 0 ||
      str_copyb(&e->dash, f[4], len[4]) < 0 || str_copyb(&e->ext, f[5], len[5]) < 0)
    return -1;
  return 0;
}

/* --- users/assign --- */

/* Parses one '=' or '+' line (without its newline) into key and data;
 * returns 0, or -1 with *why set. */
static int assign_line(const char *s, size_t n, str *key, str *data, const char **why)
{
  const char *f[8];
  size_t len[8], pos = 1, i, nf = 0;
  unsigned long uid, gid;

  /* the fields after the leading '=' or '+', each ended by a colon */
  while (pos < n) {
    size_t c = byte_chr(s + pos, n - pos, ':');
    if (c == n - pos) { *why = "the line does not end with a colon"; return -1; }
    if (nf == 7) { *why = "too many fields (want 7, each ended by a colon)"; return -1; }
    f[nf] = s + pos;
    len[nf] = c;
    ++nf;
    pos += c + 1;
  }
  if (nf != 7) { *why = "too few fields (want 7, each ended by a colon)"; return -1; }
  if (len[1] == 0) { *why = "user name is empty"; return -1; }
  if (scan_ulong_exact(f[2], len[2], &uid) < 0) { *why = "uid is not a number"; return -1; }
  if (scan_ulong_exact(f[3], len[3], &gid) < 0) { *why = "gid is not a number"; return -1; }
  if (uid > USERS_ID_MAX) { *why = "uid is out of range"; return -1; }
  if (gid > USERS_ID_MAX) { *why = "gid is out of range"; return -1; }
  if (uid == 0) { *why = "uid 0 is not allowed (sluice never delivers as root)"; return -1; }
  if (len[4] == 0 || f[4][0] != '/') { *why = "home is not an absolute path"; return -1; }
  if (len[0] > USERS_LOCAL_MAX) { *why = "local part is too long"; return -1; }

  if (str_copyb(key, s, 1) < 0 || str_catb(key, f[0], len[0]) < 0) return -1;
  case_lowerb(key->s + 1, len[0]);
  data->len = 0;
  if (cat0(data, f[1], len[1]) < 0 || catnum0(data, uid) < 0 || catnum0(data, gid) < 0) return -1;
  for (i = 4; i < 7; ++i)
    if (cat0(data, f[i], len[i]) < 0) return -1;
  return 0;
}

int users_compile(const char *text, size_t n, struct cdb_make *m, unsigned long *line,
                  const char **why)
{
  str key = STR_INIT, data = STR_INIT;
  size_t pos = 0;
  int r = -1;

  *line = 0;
  *why = 0;
  while (pos < n) {
    size_t nl = byte_chr(text + pos, n - pos, '\n');
    const char *s = text + pos;
    ++*line;
    pos += nl < n - pos ? nl + 1 : nl;
    if (nl > USERS_LINE_MAX) { *why = "line is too long"; goto syntax; }
    if (byte_chr(s, nl, 0) != nl) { *why = "NUL byte in the line"; goto syntax; }
    if (nl == 1 && s[0] == '.') { r = 0; goto done; }
    if (nl == 0 || (s[0] != '=' && s[0] != '+')) {
      *why = "the line does not start with =, + or .";
      goto syntax;
    }
    if (assign_line(s, nl, &key, &data, why) < 0) {
      if (*why) goto syntax;
      goto done;
    }
    if (cdb_make_add(m, key.s, key.len, data.s, data.len) < 0) goto done;
  }
  ++*line;
  *why = "missing the final line holding a single .";
syntax:
  errno = EINVAL;
done:
  str_free(&key);
  str_free(&data);
  return r;
}

/* --- users/cdb --- */

static int cdb_get(struct cdb *c, const str *key, str *data)
{
  int r = cdb_find(c, key->s, key->len);
  if (r <= 0) return r;
  return cdb_getdata(c, data) < 0 ? -1 : 1;
}

static int lookup_in(struct cdb *c, const char *local, size_t len, struct users_entry *e)
{
  str key = STR_INIT, data = STR_INIT;
  size_t i;
  int r = -1;

  if (str_copys(&key, "=") < 0 || str_catb(&key, local, len) < 0) goto done;
  case_lowerb(key.s + 1, len);
  r = cdb_get(c, &key, &data);
  if (r != 0) {
    if (r == 1 && users_decode(e, data.s, data.len) < 0) r = -1;
    goto done;
  }
  key.s[0] = '+';
  for (i = len + 1; i-- > 0;) {
    str_truncate(&key, 1 + i);
    r = cdb_get(c, &key, &data);
    if (r == 0) continue;
    /* the rest keeps its case, as EXT and DEFAULT do under qmail */
    if (r == 1 && (users_decode(e, data.s, data.len) < 0 ||
                   str_catb(&e->ext, local + i, len - i) < 0))
      r = -1;
    goto done;
  }
  r = 0;
done:
  str_free(&key);
  str_free(&data);
  return r;
}

int users_lookup(const char *path, const char *local, size_t len, struct users_entry *e)
{
  struct cdb c;
  int fd, r, err;

  if (len > USERS_LOCAL_MAX) return 0;
  fd = open_read(path);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  if (cdb_open(&c, fd) < 0) {
    err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  r = lookup_in(&c, local, len, e);
  err = errno;
  cdb_close(&c);
  close(fd);
  errno = err;
  return r;
}

/* --- passwd --- */

/* getpwnam says "not found" with NULL and errno 0 or one of these. */
static int pw_not_found(int e)
{
  return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

static int fill(struct users_entry *e, const struct passwd *pw, const char *dash,
                const char *ext, size_t extlen)
{
  if (str_copys(&e->user, pw->pw_name) < 0 || str_copys(&e->home, pw->pw_dir) < 0 ||
      str_copys(&e->dash, dash) < 0 || str_copyb(&e->ext, ext, extlen) < 0)
    return -1;
  e->uid = pw->pw_uid;
  e->gid = pw->pw_gid;
  return 0;
}

/* 1 when name is an account that may receive mail (uid not 0, owns
 * its existing home), 0 when not, -1 on a temporary failure. */
static int candidate(const char *name, struct passwd **out)
{
  struct passwd *pw;
  struct stat st;

  errno = 0;
  pw = getpwnam(name);
  if (!pw) return pw_not_found(errno) ? 0 : -1;
  if (pw->pw_uid == 0 || !pw->pw_dir || pw->pw_dir[0] != '/') return 0;
  if (stat(pw->pw_dir, &st) < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == EACCES || errno == ELOOP ||
        errno == ENAMETOOLONG)
      return 0;
    return -1;
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != pw->pw_uid) return 0;
  *out = pw;
  return 1;
}

int users_passwd(const char *local, size_t len, struct users_entry *e)
{
  str lower = STR_INIT;
  size_t end = len;
  int r = -1;

  if (len > USERS_LOCAL_MAX) return 0;
  if (str_copyb(&lower, local, len) < 0 || str_0(&lower) < 0) { str_free(&lower); return -1; }
  case_lowerb(lower.s, len);
  if (byte_chr(lower.s, len, 0) != len) { r = 0; goto done; }
  /* candidates: the whole local part, then each prefix before a '-',
   * longest first */
  for (;;) {
    struct passwd *pw = 0;
    if (end > 0) {
      char save = lower.s[end];
      lower.s[end] = 0;
      r = candidate(lower.s, &pw);
      lower.s[end] = save;
      if (r < 0) goto done;
      if (r == 1) {
        /* the extension as the address spells it: only the account
         * name is matched without regard to case */
        if (end == len) r = fill(e, pw, "", "", 0);
        else r = fill(e, pw, "-", local + end + 1, len - end - 1);
        if (r == 0) r = 1;
        goto done;
      }
    }
    while (end > 0 && lower.s[--end] != '-')
      ;
    if (end == 0) break;
  }
  r = 0;
done:
  str_free(&lower);
  return r;
}

int users_alias(const char *alias, const char *home, const char *local, size_t len, struct users_entry *e)
{
  struct passwd *pw;
  errno = 0;
  pw = getpwnam(alias);
  if (!pw) return pw_not_found(errno) ? 0 : -1;
  if (fill(e, pw, "-", local, len) < 0 || str_copys(&e->home, home) < 0) return -1;
  return 1;
}
