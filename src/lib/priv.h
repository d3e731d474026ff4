/* priv.h: the one place where a process gives up root.
 *
 * priv_drop() does setgroups, setgid, setuid in that order and then
 * checks that each took: real and effective ids equal the targets, the
 * supplementary groups are the ones asked for, and (for a target uid
 * other than 0) that setuid(0) now fails. It returns 0, or -1 with
 * errno set; -1 means the process is in an unknown state and must not
 * go on (the caller dies). It only makes system calls, so it may run
 * between fork and exec (a child_spec prepare hook) in a single-threaded
 * program. The lookups return 1 found, 0 not found, -1 on error; they
 * use getpwnam/getgrnam and so must not run between fork and exec. */
#ifndef SLUICE_PRIV_H
#define SLUICE_PRIV_H

#include <stddef.h>
#include <sys/types.h>

/* At most this many supplementary groups may be asked for (EINVAL). */
#define PRIV_GROUPS_MAX 256

/* As root (effective uid 0): sets the supplementary groups to
 * groups[0..ngroups) (ngroups 0: none), then gid, then uid, then
 * verifies. Not as root: nothing can be changed, so it succeeds, doing
 * nothing, exactly when real and effective uid and gid already equal
 * the targets (the groups are then left as they are), and fails with
 * EPERM otherwise. */
int priv_drop(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups);
/* The uid and primary gid of the user name. */
int priv_lookup(const char *name, uid_t *uid, gid_t *gid);
/* The gid of the group name. */
int priv_lookup_group(const char *name, gid_t *gid);

#endif
