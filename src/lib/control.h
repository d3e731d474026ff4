/* control.h: reading qmail-style control files.
 *
 * A control file holds one value (its first line) or a list (one entry
 * a line). Missing files are normal: the caller supplies a default.
 *
 * Every reader returns 1 when the file was read, 0 when it does not
 * exist (ENOENT; the default is used), and -1 with errno set on any
 * other trouble: an unreadable file, a path that is not a regular file
 * (EISDIR for a directory, EINVAL for a fifo, device or socket; such
 * files are opened without blocking and refused), a file larger than
 * CONTROL_MAX bytes (EFBIG), a NUL byte in a value (EINVAL), or no
 * memory. On -1 the output holds nothing useful. The caller owns every
 * str passed in; the readers replace its content.
 *
 * White space here is space, tab and CR (so CRLF files work). */
#ifndef SLUICE_CONTROL_H
#define SLUICE_CONTROL_H

#include <stddef.h>

#include "str.h"

/* The largest control file read (1 MB): far above any sane list, low
 * enough that a runaway file cannot exhaust a daemon's memory. */
#define CONTROL_MAX 1048576

/* value = first line of the file, trailing white space stripped (an
 * empty file gives 1 and an empty value, as in qmail). When the file is
 * missing, value = dflt (empty when dflt is NULL) and 0 is returned. */
int control_readline(const char *path, str *value, const char *dflt);

/* list = the file's entries, each followed by a NUL: "a\0b\0". Each
 * line has its leading and trailing white space stripped; then empty
 * lines and lines starting with '#' are skipped. Unlike qmail,
 * leading white space is stripped (and "  # x" is a comment): an
 * indented entry can only be a mistake and would otherwise never
 * match. A missing file gives an empty list and 0. */
int control_readlist(const char *path, str *list);

/* control_readlist for a file that holds secrets (control/smtpauth):
 * -1 with errno EPERM, nothing read, when the file grants any
 * permission to others (mode & 007). The caller should wipe the list
 * when done with it (str_free clears the block). */
int control_readlist_private(const char *path, str *list);

/* *value = the file's first line read as a decimal number. A missing
 * file gives *value = dflt and 0 (dflt is not checked against the
 * bounds). -1 with errno EINVAL when the line is not all digits (empty
 * included; trailing white space is allowed) or ERANGE when the number
 * is outside [min, max] or does not fit; *value is then unchanged. */
int control_readnum(const char *path, unsigned long *value,
                    unsigned long dflt, unsigned long min, unsigned long max);

/* Walks a list made by control_readlist:
 *     size_t pos = 0; const char *e; size_t n;
 *     while (control_next(&list, &pos, &e, &n)) use e[0..n)
 * Returns 1 with the next entry (e is NUL-terminated at e[n]) or 0 at
 * the end. pos starts at 0 and belongs to the caller. */
int control_next(const str *list, size_t *pos, const char **entry, size_t *len);

#endif
