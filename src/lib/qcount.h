/* qcount.h: counting the files of the queue's directories, for
 * sluice-qstat and sluice-metrics.
 *
 * Every directory is opened from a descriptor of the queue with walk.h,
 * so a symbolic link a queue user planted is never followed. Entries
 * "." and ".." are not counted. Functions return 0, or -1 with errno
 * set; qcount_split also names the directory that failed in *failed
 * (a path relative to the queue, owned by the caller's str). Nothing
 * here prints or exits. */
#ifndef SLUICE_QCOUNT_H
#define SLUICE_QCOUNT_H
#include <time.h>
#include "str.h"

struct qcount {
  unsigned long files; /* entries counted */
  time_t oldest;       /* smallest mtime seen (only when asked), 0: none */
};

/* Adds the entries of qfd/path to *c; with want_age, also lowers
 * c->oldest to the mtime of each entry (fstatat, no link followed; an
 * entry gone in between is counted but not dated). */
int qcount_dir(int qfd, const char *path, struct qcount *c, int want_age);
/* The same over dir/0 .. dir/split-1; *failed gets the path that
 * could not be read. */
int qcount_split(int qfd, const char *dir, unsigned long split, struct qcount *c, int want_age, str *failed);
#endif
