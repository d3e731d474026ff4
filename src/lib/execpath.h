/* execpath.h: finding a command in PATH the way the shell and execvp
 * do, so that a program can start it with child_start (which takes a
 * path and reports an exec failure synchronously).
 *
 * Returns 1 with *out the path to execute (NUL-terminated), 0 when
 * nothing fits (errno ENOENT, or EACCES when a regular file of that
 * name was found but may not be executed), -1 with errno on failure
 * (ENOMEM, EOVERFLOW). out is the caller's and is replaced. */
#ifndef SLUICE_EXECPATH_H
#define SLUICE_EXECPATH_H

#include "str.h"

/* The search path used when PATH is unset (that of execvp). */
#define EXECPATH_DEFAULT "/bin:/usr/bin"

/* A name holding a '/' is taken as it is (1, without looking at the
 * file: execve says what is wrong with it). An empty name is never
 * found. Otherwise each element of path (colon-separated; an empty
 * element is the current directory; path NULL: EXECPATH_DEFAULT) is
 * tried in order, and the first DIR/name that is a regular file the
 * caller may execute (access(2) X_OK, real ids) wins. */
int execpath_find(str *out, const char *name, const char *path);

#endif
