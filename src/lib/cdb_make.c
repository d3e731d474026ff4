/* cdb_make.c: see cdb_make.h. Written from the public description of the
 * cdb format. */
#include <errno.h>
#include <stdio.h> /* rename */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdb.h"
#include "cdb_make.h"
#include "file.h"
#include "size.h"
#include "str.h"

#define CDB_MAXSIZE 0xffffffffUL

static void cdb_make_pack(char *p, uint32_t u)
{
  p[0] = (char)(u & 255);
  p[1] = (char)(u >> 8 & 255);
  p[2] = (char)(u >> 16 & 255);
  p[3] = (char)(u >> 24 & 255);
}

static uint32_t cdb_make_unpack(const char *p)
{
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static int cdb_make_broken(struct cdb_make *m)
{
  if (!m->err) m->err = errno ? errno : EIO;
  errno = m->err;
  return -1;
}

static int cdb_make_flush(struct cdb_make *m)
{
  if (m->buflen == 0) return 0;
  if (write_all(m->fd, m->buf, m->buflen) < 0) return cdb_make_broken(m);
  m->buflen = 0;
  return 0;
}

/* Buffered write; the caller has checked the positions. */
static int cdb_make_write(struct cdb_make *m, const char *s, size_t n)
{
  if (n > sizeof m->buf - m->buflen) {
    if (cdb_make_flush(m) < 0) return -1;
    if (n >= sizeof m->buf) {
      if (write_all(m->fd, s, n) < 0) return cdb_make_broken(m);
      return 0;
    }
  }
  if (n) memcpy(m->buf + m->buflen, s, n);
  m->buflen += n;
  return 0;
}

int cdb_make_start(struct cdb_make *m, int fd)
{
  memset(m, 0, sizeof *m);
  m->fd = fd;
  if (lseek(fd, 0, SEEK_SET) < 0) return -1;
  /* room for the header, written last */
  memset(m->buf, 0, CDB_HEADER);
  m->buflen = CDB_HEADER;
  m->pos = CDB_HEADER;
  return 0;
}

int cdb_make_add(struct cdb_make *m, const char *key, size_t klen, const char *data, size_t dlen)
{
  size_t end, tables, total;
  uint32_t h;
  char b[8];

  if (m->err) { errno = m->err; return -1; }
  /* The finished file holds this record and 16 bytes of table per
   * record (two slots of 8): all of it must stay below 4 GB. */
  if (size_add(&end, m->pos, 8) < 0 || size_add(&end, end, klen) < 0 || size_add(&end, end, dlen) < 0
      || size_add(&tables, m->nrec, 1) < 0 || size_mul(&tables, tables, 16) < 0
      || size_add(&total, end, tables) < 0 || total > CDB_MAXSIZE) {
    errno = EFBIG;
    return -1;
  }
  h = cdb_hash(key, klen);
  cdb_make_pack(b, h);
  cdb_make_pack(b + 4, m->pos);
  if (str_catb(&m->slots, b, 8) < 0) return -1;
  cdb_make_pack(b, (uint32_t)klen);
  cdb_make_pack(b + 4, (uint32_t)dlen);
  if (cdb_make_write(m, b, 8) < 0 || cdb_make_write(m, key, klen) < 0 || cdb_make_write(m, data, dlen) < 0) return -1;
  m->pos = (uint32_t)end;
  ++m->nrec;
  ++m->count[h & 255];
  return 0;
}

void cdb_make_free(struct cdb_make *m)
{
  str_free(&m->slots);
  m->buflen = 0;
}

static int cdb_make_tables(struct cdb_make *m, char *header)
{
  uint32_t start[256], next[256], i, maxslots = 0, r;
  str split = STR_INIT, table = STR_INIT;
  size_t bytes;

  /* group the slots by table, keeping the order of addition */
  for (i = 0, r = 0; i < 256; ++i) {
    start[i] = next[i] = r;
    r += m->count[i];
    if (m->count[i] * 2 > maxslots) maxslots = m->count[i] * 2;
  }
  if (size_mul(&bytes, m->nrec, 8) < 0 || str_ready(&split, bytes) < 0) goto fail;
  for (r = 0; r < m->nrec; ++r) {
    const char *s = m->slots.s + (size_t)r * 8;
    i = cdb_make_unpack(s) & 255;
    memcpy(split.s + (size_t)next[i]++ * 8, s, 8);
  }
  if (size_mul(&bytes, maxslots, 8) < 0 || str_ready(&table, bytes) < 0) goto fail;

  for (i = 0; i < 256; ++i) {
    uint32_t n = m->count[i] * 2; /* below 2^29: the file is below 4 GB */
    cdb_make_pack(header + i * 8, m->pos);
    cdb_make_pack(header + i * 8 + 4, n);
    if (n == 0) continue;
    memset(table.s, 0, (size_t)n * 8);
    for (r = start[i]; r < start[i] + m->count[i]; ++r) {
      const char *s = split.s + (size_t)r * 8;
      uint32_t where = (cdb_make_unpack(s) >> 8) % n;
      /* half the slots stay empty, so this ends; a used slot has a
       * record position, never 0 */
      while (cdb_make_unpack(table.s + (size_t)where * 8 + 4) != 0)
        if (++where == n) where = 0;
      memcpy(table.s + (size_t)where * 8, s, 8);
    }
    if (cdb_make_write(m, table.s, (size_t)n * 8) < 0) goto fail;
    m->pos += n * 8; /* checked by cdb_make_add */
  }
  str_free(&split);
  str_free(&table);
  return 0;
fail:
  {
    int e = errno;
    str_free(&split);
    str_free(&table);
    errno = e;
  }
  return -1;
}

int cdb_make_finish(struct cdb_make *m)
{
  char header[CDB_HEADER];
  size_t done = 0;
  int e;

  if (m->err) { errno = m->err; goto fail; }
  if (cdb_make_tables(m, header) < 0 || cdb_make_flush(m) < 0) goto fail;
  while (done < sizeof header) {
    ssize_t w = pwrite(m->fd, header + done, sizeof header - done, (off_t)done);
    if (w < 0) {
      if (errno == EINTR) continue;
      goto fail;
    }
    if (w == 0) { errno = EIO; goto fail; }
    done += (size_t)w;
  }
  cdb_make_free(m);
  return 0;
fail:
  e = errno;
  cdb_make_free(m);
  errno = e;
  return -1;
}

static void cdb_make_atomic_release(struct cdb_make_atomic *a)
{
  str_free(&a->path);
  str_free(&a->tmp);
  a->fd = -1;
}

int cdb_make_atomic_start(struct cdb_make_atomic *a, const char *path, mode_t mode)
{
  int e;
  memset(a, 0, sizeof *a);
  a->fd = -1;
  if (str_copys(&a->path, path) < 0 || str_0(&a->path) < 0) goto fail;
  if (str_copys(&a->tmp, path) < 0 || str_cats(&a->tmp, ".tmp") < 0 || str_0(&a->tmp) < 0) goto fail;
  a->fd = open_trunc(a->tmp.s, mode);
  if (a->fd < 0) goto fail;
  /* exactly this mode, whatever the umask */
  if (fchmod(a->fd, mode) < 0 || cdb_make_start(&a->make, a->fd) < 0) goto fail_unlink;
  return 0;
fail_unlink:
  e = errno;
  close(a->fd);
  unlink(a->tmp.s);
  errno = e;
fail:
  e = errno;
  cdb_make_atomic_release(a);
  errno = e;
  return -1;
}

int cdb_make_atomic_finish(struct cdb_make_atomic *a)
{
  int e, fd = a->fd;
  a->fd = -1;
  if (cdb_make_finish(&a->make) < 0 || file_sync(fd) < 0) {
    e = errno;
    close(fd);
    goto fail_unlink;
  }
  if (close(fd) < 0) { e = errno; goto fail_unlink; }
  if (rename(a->tmp.s, a->path.s) < 0) { e = errno; goto fail_unlink; }
  if (dir_sync_of(a->path.s) < 0) {
    e = errno;
    cdb_make_atomic_release(a);
    errno = e;
    return -1;
  }
  cdb_make_atomic_release(a);
  return 0;
fail_unlink:
  unlink(a->tmp.s);
  cdb_make_atomic_release(a);
  errno = e;
  return -1;
}

void cdb_make_atomic_abort(struct cdb_make_atomic *a)
{
  int e = errno;
  cdb_make_free(&a->make);
  if (a->fd >= 0) close(a->fd);
  if (a->tmp.s) unlink(a->tmp.s);
  cdb_make_atomic_release(a);
  errno = e;
}
