/* maildir.h: delivery into a Maildir and creating one.
 *
 * A delivery writes the file under tmp/ with an exclusive create,
 * fsyncs it, links it into new/ under its final unique name
 *     SECONDS.MmicrosecondsPpidVdeviceIinode.HOST
 * (device and inode of the file in decimal, HOST the host name with
 * '/' written \057 and ':' written \072), removes the tmp/ name and
 * fsyncs new/. Nothing appears in new/ until the file is complete and
 * durable; on any failure the tmp/ file is removed and nothing is left
 * in new/.
 *
 * Functions return 0, or -1 with errno set; maildir_deliver also sets
 * *what to a static text naming the step that failed. The caller owns
 * every str and descriptor. */
#ifndef SLUICE_MAILDIR_H
#define SLUICE_MAILDIR_H

#include <stddef.h>
#include <sys/types.h>

#include "str.h"

/* Appends host[0..n) with '/' as \057 and ':' as \072. */
int maildir_cat_host(str *out, const char *host, size_t n);

/* Replaces out with "SEC.MusecPpid" and, when with_file is non-zero,
 * "VdevIino", then "." and the escaped host. */
int maildir_unique(str *out, unsigned long sec, unsigned long usec, unsigned long pid,
                   int with_file, unsigned long dev, unsigned long ino, const char *host, size_t hostlen);

/* Delivers head[0..headlen) and then the content of msgfd (from
 * offset 0, converted to the queue's line form, lineform.h) into the
 * Maildir dir (a path with or without a trailing '/'). On success
 * *name (when not NULL) holds the final name under new/. */
int maildir_deliver(const char *dir, int msgfd, const char *head, size_t headlen,
                    str *name, const char **what);

/* Creates dir and its tmp, new and cur with mode 0700 (EEXIST when
 * dir exists). */
int maildir_make(const char *dir);

#endif
