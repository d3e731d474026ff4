/* cdb.c: see cdb.h. Written from the public description of the format;
 * every number taken from the file is range-checked before it is used. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byte.h"
#include "cdb.h"
#include "file.h"
#include "size.h"
#include "str.h"

#define CDB_MAXSIZE 0xffffffffUL

uint32_t cdb_hash(const char *key, size_t len)
{
  uint32_t h = 5381;
  size_t i;
  for (i = 0; i < len; ++i) h = ((h << 5) + h) ^ (uint32_t)(unsigned char)key[i];
  return h;
}

static uint32_t cdb_unpack(const char *p)
{
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static int cdb_proto(void)
{
  errno = EPROTO;
  return -1;
}

/* 1 when [pos, pos+len) lies inside the file. */
static int cdb_inside(const struct cdb *c, size_t pos, size_t len)
{
  size_t end;
  if (size_add(&end, pos, len) < 0) return 0;
  return end <= c->size;
}

int cdb_read(struct cdb *c, char *buf, size_t len, uint32_t pos)
{
  size_t done = 0;
  if (!cdb_inside(c, pos, len)) return cdb_proto();
  if (c->map) {
    if (len) memcpy(buf, c->map + pos, len);
    return 0;
  }
  while (done < len) {
    ssize_t r = pread(c->fd, buf + done, len - done, (off_t)pos + (off_t)done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return cdb_proto(); /* the file shrank under us */
    done += (size_t)r;
  }
  return 0;
}

const char *cdb_getptr(const struct cdb *c, uint32_t pos, size_t len)
{
  if (!c->map) { errno = ENOTSUP; return 0; }
  if (!cdb_inside(c, pos, len)) { errno = EPROTO; return 0; }
  return c->map + pos;
}

static int cdb_setup(struct cdb *c, int fd, int usemap)
{
  struct stat st;
  void *m;

  memset(c, 0, sizeof *c);
  c->fd = fd;
  if (fstat(fd, &st) < 0) return -1;
  if (st.st_size < CDB_HEADER) return cdb_proto();
  if ((unsigned long long)st.st_size > CDB_MAXSIZE) { errno = EFBIG; return -1; }
  c->size = (size_t)st.st_size;
  if (usemap) {
    m = mmap(0, c->size, PROT_READ, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED) {
      c->map = m;
      c->mapped = 1;
    }
  }
  return 0;
}

int cdb_open(struct cdb *c, int fd) { return cdb_setup(c, fd, 1); }

int cdb_open_pread(struct cdb *c, int fd) { return cdb_setup(c, fd, 0); }

int cdb_init_mem(struct cdb *c, const char *mem, size_t len)
{
  memset(c, 0, sizeof *c);
  c->fd = -1;
  if (len < CDB_HEADER) return cdb_proto();
  if (len > CDB_MAXSIZE) { errno = EFBIG; return -1; }
  c->map = mem;
  c->size = len;
  return 0;
}

void cdb_close(struct cdb *c)
{
  if (c->mapped && c->map) munmap((void *)c->map, c->size);
  c->map = 0;
  c->mapped = 0;
  c->size = 0;
}

void cdb_findstart(struct cdb *c) { c->loop = 0; }

/* Compares key with the klen file bytes at pos (already range-checked):
 * 1 equal, 0 different, -1 read error. */
static int cdb_keymatch(struct cdb *c, const char *key, size_t klen, uint32_t pos)
{
  char buf[128];
  if (c->map) return byte_equal(c->map + pos, key, klen);
  while (klen > 0) {
    size_t n = klen < sizeof buf ? klen : sizeof buf;
    if (cdb_read(c, buf, n, pos) < 0) return -1;
    if (!byte_equal(buf, key, n)) return 0;
    key += n;
    klen -= n;
    pos += (uint32_t)n; /* stays inside the file, so below 2^32 */
  }
  return 1;
}

/* Reads the record header at pos and checks that key and data fit. */
static int cdb_record(struct cdb *c, uint32_t pos, uint32_t *klen, uint32_t *dlen)
{
  char b[8];
  size_t kend, end;
  if (cdb_read(c, b, 8, pos) < 0) return -1;
  *klen = cdb_unpack(b);
  *dlen = cdb_unpack(b + 4);
  if (size_add(&kend, pos, 8) < 0 || size_add(&kend, kend, *klen) < 0) return cdb_proto();
  if (size_add(&end, kend, *dlen) < 0 || end > c->size) return cdb_proto();
  return 0;
}

int cdb_findnext(struct cdb *c, const char *key, size_t klen)
{
  char b[8];

  if (c->loop == 0) {
    uint32_t h = cdb_hash(key, klen);
    size_t tbytes;
    if (cdb_read(c, b, 8, (h & 255) * 8) < 0) return -1;
    c->hpos = cdb_unpack(b);
    c->hslots = cdb_unpack(b + 4);
    if (c->hslots == 0) return 0;
    if (size_mul(&tbytes, c->hslots, 8) < 0 || !cdb_inside(c, c->hpos, tbytes)) return cdb_proto();
    c->khash = h;
    c->kpos = c->hpos + ((h >> 8) % c->hslots) * 8;
  }
  while (c->loop < c->hslots) {
    uint32_t h, pos, rklen, rdlen;
    if (cdb_read(c, b, 8, c->kpos) < 0) return -1;
    h = cdb_unpack(b);
    pos = cdb_unpack(b + 4);
    if (pos == 0) return 0;
    ++c->loop;
    c->kpos += 8; /* inside the table, which lies inside the file */
    if (c->kpos - c->hpos == c->hslots * 8) c->kpos = c->hpos;
    if (h != c->khash) continue;
    if (cdb_record(c, pos, &rklen, &rdlen) < 0) return -1;
    if (rklen != klen) continue;
    switch (cdb_keymatch(c, key, klen, pos + 8)) {
      case -1: return -1;
      case 0: continue;
    }
    c->keypos = pos + 8;
    c->keylen = rklen;
    c->datapos = pos + 8 + rklen;
    c->datalen = rdlen;
    return 1;
  }
  return 0;
}

int cdb_find(struct cdb *c, const char *key, size_t klen)
{
  cdb_findstart(c);
  return cdb_findnext(c, key, klen);
}

uint32_t cdb_datapos(const struct cdb *c) { return c->datapos; }
uint32_t cdb_datalen(const struct cdb *c) { return c->datalen; }
uint32_t cdb_keypos(const struct cdb *c) { return c->keypos; }
uint32_t cdb_keylen(const struct cdb *c) { return c->keylen; }

static int cdb_copyout(struct cdb *c, str *out, uint32_t pos, uint32_t len)
{
  if (str_ready(out, len) < 0) return -1;
  if (cdb_read(c, out->s, len, pos) < 0) return -1;
  out->len = len;
  return 0;
}

int cdb_getdata(struct cdb *c, str *out) { return cdb_copyout(c, out, c->datapos, c->datalen); }

int cdb_getkey(struct cdb *c, str *out) { return cdb_copyout(c, out, c->keypos, c->keylen); }

int cdb_iter_start(struct cdb *c)
{
  char header[CDB_HEADER];
  uint32_t end = CDB_MAXSIZE;
  size_t i;
  /* The records end where the first hash table begins. cdbmake and
   * tinycdb write table 0 first, but the lowest position of all is the
   * safe choice for a file written by anything else. */
  if (cdb_read(c, header, sizeof header, 0) < 0) return -1;
  for (i = 0; i < 256; ++i) {
    uint32_t p = cdb_unpack(header + i * 8);
    if (p < end) end = p;
  }
  if (end < CDB_HEADER || end > c->size) return cdb_proto();
  c->iterpos = CDB_HEADER;
  c->iterend = end;
  return 0;
}

int cdb_iter_next(struct cdb *c)
{
  uint32_t pos = c->iterpos, klen, dlen;
  size_t next;
  if (pos >= c->iterend) return 0;
  if (c->iterend - pos < 8) return cdb_proto();
  if (cdb_record(c, pos, &klen, &dlen) < 0) return -1;
  /* cdb_record checked pos + 8 + klen + dlen against the file size */
  next = (size_t)pos + 8 + klen + dlen;
  if (next > c->iterend) return cdb_proto();
  c->keypos = pos + 8;
  c->keylen = klen;
  c->datapos = pos + 8 + klen;
  c->datalen = dlen;
  c->iterpos = (uint32_t)next;
  return 1;
}

int cdb_lookup_path(const char *path, const char *key, size_t klen, str *data)
{
  struct cdb c;
  int fd, r, e;
  data->len = 0;
  fd = open_read(path);
  if (fd < 0) return -1;
  r = cdb_open(&c, fd);
  if (r == 0) {
    r = cdb_find(&c, key, klen);
    if (r == 1 && cdb_getdata(&c, data) < 0) r = -1;
    cdb_close(&c);
  }
  e = errno;
  close(fd);
  errno = e;
  if (r < 0) data->len = 0;
  return r;
}
