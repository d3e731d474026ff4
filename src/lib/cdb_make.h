/* cdb_make.h: writer of constant databases (see cdb.h for the format).
 *
 * The output is byte-identical to what cdbmake, tcprules and tinycdb's
 * `cdb -c` write for the same records in the same order: records first,
 * then table i (0..255) with twice as many slots as it has records,
 * filled by linear probing in the order the records were added (so a
 * reader finds duplicate keys in that order), then the header.
 *
 * Functions return 0 on success and -1 with errno set. A cdb cannot pass
 * 4 GB - 1 bytes: cdb_make_add fails with EFBIG when a record would take
 * the finished file there (the record is then not added and the maker
 * stays usable). A write error breaks the maker: every later call fails
 * with the same errno.
 *
 * Memory: the struct owns its buffers; cdb_make_finish frees them
 * whether it succeeds or not, and cdb_make_free frees them without
 * writing (after a failure, or to give up). The descriptor is the
 * caller's. The atomic variant owns its descriptor and names too. */
#ifndef SLUICE_CDB_MAKE_H
#define SLUICE_CDB_MAKE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "str.h"

struct cdb_make {
  int fd;
  int err;            /* errno of the failure that broke the file, or 0 */
  uint32_t pos;       /* file position of the next record */
  uint32_t nrec;
  size_t buflen;
  str slots;          /* per record 8 bytes: hash, position (LE) */
  uint32_t count[256];
  char buf[8192];
};

/* Starts a cdb on fd, which must be a regular file opened for writing
 * (it is rewound to offset 0 and written from there). */
int cdb_make_start(struct cdb_make *m, int fd);
/* Adds a record; keys may repeat, be empty or hold any byte. */
int cdb_make_add(struct cdb_make *m, const char *key, size_t klen, const char *data, size_t dlen);
/* Writes the hash tables and the header, then frees the buffers. Does
 * not fsync or close fd. */
int cdb_make_finish(struct cdb_make *m);
/* Frees the buffers without finishing the file. */
void cdb_make_free(struct cdb_make *m);

/* A cdb written to path.tmp and renamed over path when complete: on any
 * failure the old file at path stays in force. */
struct cdb_make_atomic {
  struct cdb_make make; /* add records with cdb_make_add(&a.make, ...) */
  str path;             /* NUL-terminated */
  str tmp;              /* path plus ".tmp", NUL-terminated */
  int fd;
};

/* Creates path.tmp (O_CREAT|O_TRUNC|O_CLOEXEC) with exactly the given
 * mode and starts a cdb in it. */
int cdb_make_atomic_start(struct cdb_make_atomic *a, const char *path, mode_t mode);
/* Finishes the cdb, fsyncs and closes it, renames it over path and
 * fsyncs the directory. On a failure before the rename the temporary
 * file is removed and path is untouched; if only the directory fsync
 * fails, the new file is in place but perhaps not yet durable. Frees
 * everything in both cases. */
int cdb_make_atomic_finish(struct cdb_make_atomic *a);
/* Gives up: closes and removes path.tmp, frees everything. */
void cdb_make_atomic_abort(struct cdb_make_atomic *a);

#endif
