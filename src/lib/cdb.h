/* cdb.h: reader of constant databases (D. J. Bernstein's cdb format).
 *
 * The files are byte-compatible with those of cdbmake, tcprules
 * (ucspi-tcp) and tinycdb's cdb tool: a 2048-byte header of 256
 * (position, slot count) pairs, the records (key length, data length,
 * key, data), then 256 open-addressing hash tables of (hash, position)
 * slots. Every number is 32-bit little-endian.
 *
 * The whole file is treated as untrusted: every position and length read
 * from it is checked against the file size before use, with overflow
 * checked arithmetic, and every probe loop is bounded by the table's slot
 * count. A malformed file makes a function return -1 with errno EPROTO;
 * it never makes one read outside the file or loop forever.
 *
 * Lookups return 1 (found), 0 (not found) or -1 (error, errno set).
 * Other functions return 0 on success and -1 with errno set.
 *
 * Memory: struct cdb belongs to the caller. cdb_open maps the file (or,
 * when mapping fails, reads it with pread on demand) and cdb_close
 * unmaps it; the descriptor stays the caller's to close, after
 * cdb_close. cdb_init_mem reads a caller-owned block that must outlive
 * the struct. A cdb is replaced by renaming a new file over it, never
 * rewritten in place, so a mapping stays valid while it is open. */
#ifndef SLUICE_CDB_H
#define SLUICE_CDB_H

#include <stddef.h>
#include <stdint.h>

#include "str.h"

#define CDB_HEADER 2048

struct cdb {
  const char *map;   /* the whole file; NULL when read with pread */
  size_t size;       /* file size, at most 0xffffffff */
  int fd;            /* read with pread when map is NULL */
  int mapped;        /* 1 when map came from mmap (cdb_close unmaps) */
  /* state of the current search (cdb_findstart/cdb_findnext) */
  uint32_t loop;     /* slots probed so far; 0 before the first */
  uint32_t khash;
  uint32_t hpos;     /* table position and slot count */
  uint32_t hslots;
  uint32_t kpos;     /* next slot to probe */
  /* the record found last (by a lookup or the iterator) */
  uint32_t keypos, keylen, datapos, datalen;
  /* the iterator: next record position and end of the record area */
  uint32_t iterpos, iterend;
};

/* The cdb hash of key[0..len): h = 5381; h = ((h << 5) + h) ^ c. */
uint32_t cdb_hash(const char *key, size_t len);

/* Opens the cdb file on fd (mmap, pread when mapping fails). Fails with
 * EPROTO when the file is shorter than the header, EFBIG when it is
 * larger than 4 GB - 1 (no cdb position can reach beyond). */
int cdb_open(struct cdb *c, int fd);
/* Like cdb_open but never maps: every access is a pread. For file
 * systems without mmap, and for tests of that path. */
int cdb_open_pread(struct cdb *c, int fd);
/* Reads a cdb held in memory, mem[0..len); mem must outlive c. */
int cdb_init_mem(struct cdb *c, const char *mem, size_t len);
/* Unmaps the file (if mapped); does not close the descriptor. */
void cdb_close(struct cdb *c);

/* Starts a new search; the next cdb_findnext finds the first record. */
void cdb_findstart(struct cdb *c);
/* Finds the next record with key[0..klen) since cdb_findstart: 1 found,
 * 0 no more, -1 error. Call it again with the same key to walk through
 * duplicate keys in the order they were added. */
int cdb_findnext(struct cdb *c, const char *key, size_t klen);
/* cdb_findstart then cdb_findnext: the first record with the key. */
int cdb_find(struct cdb *c, const char *key, size_t klen);

/* Where the record found last keeps its data and key; checked to lie
 * inside the file. */
uint32_t cdb_datapos(const struct cdb *c);
uint32_t cdb_datalen(const struct cdb *c);
uint32_t cdb_keypos(const struct cdb *c);
uint32_t cdb_keylen(const struct cdb *c);

/* Copies file bytes [pos, pos+len) to buf; EPROTO when out of range. */
int cdb_read(struct cdb *c, char *buf, size_t len, uint32_t pos);
/* A pointer to file bytes [pos, pos+len) when the file is in memory;
 * NULL with errno EPROTO when out of range, ENOTSUP in pread mode. */
const char *cdb_getptr(const struct cdb *c, uint32_t pos, size_t len);
/* Replaces out's content with the data (or the key) of the record found
 * last. */
int cdb_getdata(struct cdb *c, str *out);
int cdb_getkey(struct cdb *c, str *out);

/* Iteration over all records in file order, for tools that dump a cdb:
 * cdb_iter_start, then cdb_iter_next returns 1 with the record's key and
 * data available through the accessors above, 0 after the last record,
 * -1 on error. The iterator and a search do not disturb each other's
 * position, but both set the "found last" record. */
int cdb_iter_start(struct cdb *c);
int cdb_iter_next(struct cdb *c);

/* One-shot lookup: opens path, puts the first data for key in data.
 * 1 found, 0 not found (data emptied), -1 error; a missing file is an
 * error (ENOENT), not "not found": the caller decides what it means. */
int cdb_lookup_path(const char *path, const char *key, size_t klen, str *data);

#endif
