/* walk.h: file access below a trusted directory that never follows a
 * symbolic link.
 *
 * Programs that run as root and touch a tree whose directories belong
 * to other users (the queue: its subdirectories are the queue user's)
 * must not be led out of the tree: a role user may replace any name in
 * a directory it owns by a symbolic link, at any moment. Every function
 * here starts at a directory descriptor the caller trusts and opens each
 * component of a relative path with openat(2) and O_NOFOLLOW, so a
 * symbolic link at any level makes the call fail (ELOOP, or ENOTDIR
 * where a directory is wanted) instead of being followed; ".." is
 * refused (EINVAL), so nothing is reached outside the starting
 * directory. Work on what was found is then done on descriptors
 * (fstat, fchown, fchmod) or with the *at calls relative to the
 * descriptor of the parent directory.
 *
 * Every descriptor returned has O_CLOEXEC and belongs to the caller.
 * Functions return a descriptor or 0 on success and -1 with errno set
 * on failure; EINTR is retried. Nothing here prints or exits. */
#ifndef SLUICE_WALK_H
#define SLUICE_WALK_H

#include <stddef.h>
#include <sys/stat.h>

#include "str.h"

/* Opens dirfd/path as a directory, component by component: "" and "."
 * give a new descriptor of dirfd itself. */
int walk_dir(int dirfd, const char *path);

/* Opens the directory that holds the last component of path (dirfd
 * itself when path has no slash) and points *last at that component
 * inside path. The component is never empty, "." or "..". */
int walk_parent(int dirfd, const char *path, const char **last);

/* Opens name in the directory dirfd without following a symbolic link
 * (O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY: a fifo or a terminal neither
 * blocks nor becomes the controlling terminal), then fstats it into
 * *st. Fails with ELOOP (or EMLINK on some BSDs) on a symbolic link. */
int walk_open_node(int dirfd, const char *name, struct stat *st);

/* Reads the regular file dirfd/path into sa (replacing its content),
 * at most max bytes (EFBIG beyond). Returns 1 when read, 0 when the
 * file or a directory on the way does not exist (sa emptied), -1 on
 * error: a symbolic link on the way or at the end, or anything but a
 * regular file at the end (EFTYPE where defined, else EINVAL). */
int walk_read(int dirfd, const char *path, str *sa, size_t max);

#endif
