/* fd.h: descriptor shuffling and flags.
 *
 * Each function returns 0 on success and -1 with errno set on failure;
 * EINTR is retried. Nothing here allocates; the caller owns every fd. */
#ifndef SLUICE_FD_H
#define SLUICE_FD_H

/* Makes to refer to what from refers to, then closes from; does nothing
 * when to equals from. Like dup2, to loses its close-on-exec flag. */
int fd_move(int to, int from);
/* Makes to a copy of from (from stays open); does nothing when equal. */
int fd_copy(int to, int from);
/* Sets (on non-zero) or clears the close-on-exec flag. */
int fd_cloexec(int fd, int on);
/* Sets (on non-zero) or clears O_NONBLOCK. This flag belongs to the
 * open file description, so it is shared with every copy of the fd,
 * also in other processes. */
int fd_nonblock(int fd, int on);

#endif
