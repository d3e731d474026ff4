/* file.h: safe file helpers.
 *
 * Every descriptor opened here has O_CLOEXEC, so nothing leaks into
 * programs sluice runs. Functions return a descriptor or 0 on success
 * and -1 with errno set on failure; EINTR is retried inside. */
#ifndef SLUICE_FILE_H
#define SLUICE_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "str.h"

int open_read(const char *path);
/* O_WRONLY|O_CREAT|O_TRUNC, mode 0600 unless given. */
int open_trunc(const char *path, mode_t mode);
/* O_WRONLY|O_CREAT|O_EXCL: fails with EEXIST when the name exists. */
int open_excl(const char *path, mode_t mode);
int open_append(const char *path, mode_t mode);
/* O_RDONLY|O_DIRECTORY. */
int open_dir(const char *path);

/* Writes all n bytes (a short write is retried); -1 on error. */
int write_all(int fd, const char *s, size_t n);
/* Reads until n bytes or end of file; returns the count read or -1. */
ssize_t read_full(int fd, char *s, size_t n);
/* Appends the whole remaining content of fd to sa; fails with EFBIG
 * when it would pass max bytes in all. */
int read_fd_all(int fd, str *sa, size_t max);
/* Reads the file at path into sa (replacing its content). Returns 1
 * when read, 0 when the file does not exist (sa emptied), -1 on error. */
int file_read(const char *path, str *sa, size_t max);

/* fsync(fd), retrying EINTR. */
int file_sync(int fd);
/* Opens the directory at path, fsyncs it and closes it: makes a name
 * created, linked, renamed or removed in it durable. */
int dir_sync(const char *path);
/* dir_sync of the directory part of path ("." when it has no slash). */
int dir_sync_of(const char *path);

/* Writes s[0..n) to path atomically and durably: a temporary file
 * beside it (path plus ".tmp"), fsync, rename over path, fsync of the
 * directory. On failure the old file is untouched. */
int file_replace(const char *path, const char *s, size_t n, mode_t mode);
/* file_replace without any sync: readers see the old or the new file
 * whole, but a crash may leave either, or an empty one. For views that
 * are rewritten anyway (sluice-send's queue summary). */
int file_replace_nosync(const char *path, const char *s, size_t n, mode_t mode);

/* fcntl record locks on the whole file: exclusive waiting, exclusive
 * without waiting (-1 with EAGAIN/EACCES when held), and release. */
int lock_ex(int fd);
int lock_exnb(int fd);
int lock_un(int fd);

#endif
