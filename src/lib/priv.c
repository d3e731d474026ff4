/* priv.c: see priv.h. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "priv.h"

static int ids_are(uid_t uid, gid_t gid)
{
  return getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid;
}

/* 1 when the supplementary groups are exactly groups[0..n), allowing
 * the systems that also list the effective gid there. */
static int groups_are(const gid_t *groups, size_t n, gid_t gid)
{
  gid_t now[PRIV_GROUPS_MAX + 1];
  int got, i;
  size_t j;

  got = getgroups(PRIV_GROUPS_MAX + 1, now);
  if (got < 0) return 0;
  for (i = 0; i < got; ++i) {
    int known = now[i] == gid;
    for (j = 0; j < n && !known; ++j) known = now[i] == groups[j];
    if (!known) return 0;
  }
  for (j = 0; j < n; ++j) {
    int present = 0;
    for (i = 0; i < got && !present; ++i) present = now[i] == groups[j];
    if (!present) return 0;
  }
  return 1;
}

int priv_drop(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups)
{
  if (ngroups > PRIV_GROUPS_MAX || (ngroups && !groups)) { errno = EINVAL; return -1; }
  if (geteuid() != 0) {
    if (ids_are(uid, gid)) return 0;
    errno = EPERM;
    return -1;
  }
  if (setgroups(ngroups, groups) < 0) return -1;
  if (setgid(gid) < 0) return -1;
  if (setuid(uid) < 0) return -1;
  if (!ids_are(uid, gid) || !groups_are(groups, ngroups, gid)) { errno = EPERM; return -1; }
  if (uid != 0 && setuid(0) == 0) { errno = EPERM; return -1; }
  if (uid != 0 && gid != 0 && setgid(0) == 0) { errno = EPERM; return -1; }
  return 0;
}

/* getpwnam and getgrnam say "not found" with a NULL result and errno
 * left alone, or (glibc and others) one of these. */
static int not_found_errno(int e)
{
  return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

int priv_lookup(const char *name, uid_t *uid, gid_t *gid)
{
  struct passwd *pw;
  if (!name || !name[0]) return 0;
  errno = 0;
  pw = getpwnam(name);
  if (!pw) return not_found_errno(errno) ? 0 : -1;
  if (uid) *uid = pw->pw_uid;
  if (gid) *gid = pw->pw_gid;
  return 1;
}

int priv_lookup_group(const char *name, gid_t *gid)
{
  struct group *gr;
  if (!name || !name[0]) return 0;
  errno = 0;
  gr = getgrnam(name);
  if (!gr) return not_found_errno(errno) ? 0 : -1;
  if (gid) *gid = gr->gr_gid;
  return 1;
}
