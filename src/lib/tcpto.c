/* tcpto.c: the connect-timeout table (see tcpto.h for the format). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "tcpto.h"

#define TCPTO_SIZE (TCPTO_RECORD * TCPTO_SLOTS)

int tcpto_decode(const unsigned char rec[TCPTO_RECORD], struct tcpto_entry *e)
{
  size_t alen;
  if (rec[0] != 4 && rec[0] != 6) return 0;
  if (rec[1] || rec[2] || rec[3]) return 0;
  e->family = rec[0];
  e->count = ((unsigned long)rec[4] << 24) | ((unsigned long)rec[5] << 16) | ((unsigned long)rec[6] << 8) | rec[7];
  e->when = 0;
  for (int i = 8; i < 16; ++i) e->when = (e->when << 8) | rec[i];
  alen = e->family == 4 ? 4 : 16;
  memset(e->ip, 0, sizeof e->ip);
  memcpy(e->ip, rec + 16, alen);
  return 1;
}

void tcpto_encode(unsigned char rec[TCPTO_RECORD], const struct tcpto_entry *e)
{
  unsigned long c = e->count > 0xffffffffUL ? 0xffffffffUL : e->count;
  unsigned long long w = e->when;
  memset(rec, 0, TCPTO_RECORD);
  rec[0] = (unsigned char)e->family;
  rec[4] = (unsigned char)(c >> 24);
  rec[5] = (unsigned char)(c >> 16);
  rec[6] = (unsigned char)(c >> 8);
  rec[7] = (unsigned char)c;
  for (int i = 15; i >= 8; --i) { rec[i] = (unsigned char)w; w >>= 8; }
  memcpy(rec + 16, e->ip, e->family == 4 ? 4 : 16);
}

static int lock_read(int fd)
{
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_RDLCK;
  fl.l_whence = SEEK_SET;
  while (fcntl(fd, F_SETLKW, &fl) < 0)
    if (errno != EINTR) return -1;
  return 0;
}

/* Reads the whole table into t (zero-padded). 0 or -1. */
static int table_read(int fd, unsigned char t[TCPTO_SIZE])
{
  ssize_t r;
  memset(t, 0, TCPTO_SIZE);
  if (lseek(fd, 0, SEEK_SET) < 0) return -1;
  r = read_full(fd, (char *)t, TCPTO_SIZE);
  if (r < 0) return -1;
  /* a cut last record (a crash while the file grew) counts as empty */
  memset(t + (size_t)r - (size_t)r % TCPTO_RECORD, 0, (size_t)r % TCPTO_RECORD);
  return 0;
}

static int same(const struct tcpto_entry *e, int family, const unsigned char *ip)
{
  return e->family == family && memcmp(e->ip, ip, family == 4 ? 4 : 16) == 0;
}

/* The slot of family/ip in t, or -1. */
static int table_find(const unsigned char t[TCPTO_SIZE], int family, const unsigned char *ip, struct tcpto_entry *e)
{
  for (int i = 0; i < TCPTO_SLOTS; ++i)
    if (tcpto_decode(t + i * TCPTO_RECORD, e) && same(e, family, ip)) return i;
  return -1;
}

static int close_keep(int fd, int rc)
{
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}

/* 1 with *e when family/ip is in the table, 0 when not, -1 when the
 * file cannot be read (ENOENT when missing). */
static int lookup(const char *path, int family, const unsigned char *ip, struct tcpto_entry *e)
{
  unsigned char t[TCPTO_SIZE];
  int fd = open_read(path);
  if (fd < 0) return -1;
  if (lock_read(fd) < 0 || table_read(fd, t) < 0) return close_keep(fd, -1);
  close(fd);
  return table_find(t, family, ip, e) >= 0;
}

int tcpto_blocked_for(const char *path, int family, const unsigned char *ip, time_t now, unsigned long skip)
{
  struct tcpto_entry e;
  unsigned long long n = now < 0 ? 0 : (unsigned long long)now;
  if (lookup(path, family, ip, &e) <= 0) return 0;
  if (e.when <= n) return n - e.when < skip;
  return e.when - n < skip;
}

int tcpto_blocked(const char *path, int family, const unsigned char *ip, time_t now)
{
  return tcpto_blocked_for(path, family, ip, now, TCPTO_SKIP);
}

static int open_rw(const char *path, int create)
{
  int fd;
  do fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
  while (fd < 0 && errno == EINTR);
  return fd;
}

static int write_slot(int fd, int slot, const unsigned char *rec)
{
  const unsigned char *p = rec;
  size_t left = TCPTO_RECORD;
  off_t off = (off_t)slot * TCPTO_RECORD;
  while (left > 0) {
    ssize_t w = pwrite(fd, p, left, off);
    if (w < 0) { if (errno == EINTR) continue; return -1; }
    p += w; left -= (size_t)w; off += w;
  }
  return 0;
}

int tcpto_record(const char *path, int family, const unsigned char *ip, time_t now)
{
  unsigned char t[TCPTO_SIZE], rec[TCPTO_RECORD];
  struct tcpto_entry e;
  int slot, fd = open_rw(path, 1);
  if (fd < 0) return -1;
  if (lock_ex(fd) < 0 || table_read(fd, t) < 0) return close_keep(fd, -1);
  slot = table_find(t, family, ip, &e);
  if (slot >= 0) {
    if (e.count < 0xffffffffUL) ++e.count;
  } else {
    unsigned long long oldest = 0;
    struct tcpto_entry o;
    for (int i = 0; i < TCPTO_SLOTS; ++i) {
      if (!tcpto_decode(t + i * TCPTO_RECORD, &o)) { slot = i; break; }
      if (slot < 0 || o.when < oldest) { slot = i; oldest = o.when; }
    }
    memset(&e, 0, sizeof e);
    e.family = family;
    memcpy(e.ip, ip, family == 4 ? 4 : 16);
    e.count = 1;
  }
  e.when = now < 0 ? 0 : (unsigned long long)now;
  tcpto_encode(rec, &e);
  if (write_slot(fd, slot, rec) < 0) return close_keep(fd, -1);
  if (close(fd) < 0) return -1; /* releases the lock */
  return 0;
}

int tcpto_clear(const char *path, int family, const unsigned char *ip)
{
  unsigned char t[TCPTO_SIZE], rec[TCPTO_RECORD];
  struct tcpto_entry e;
  int slot, fd;
  /* the common case, nothing recorded, needs no write lock */
  slot = lookup(path, family, ip, &e);
  if (slot == 0 || (slot < 0 && errno == ENOENT)) return 0;
  fd = open_rw(path, 0);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  if (lock_ex(fd) < 0 || table_read(fd, t) < 0) return close_keep(fd, -1);
  slot = table_find(t, family, ip, &e);
  if (slot >= 0) {
    memset(rec, 0, sizeof rec);
    if (write_slot(fd, slot, rec) < 0) return close_keep(fd, -1);
  }
  if (close(fd) < 0) return -1;
  return 0;
}

int tcpto_list(const char *path, struct tcpto_entry *out, size_t max, size_t *n)
{
  unsigned char t[TCPTO_SIZE];
  int fd = open_read(path);
  *n = 0;
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  if (lock_read(fd) < 0 || table_read(fd, t) < 0) return close_keep(fd, -1);
  close(fd);
  for (int i = 0; i < TCPTO_SLOTS && *n < max; ++i)
    if (tcpto_decode(t + i * TCPTO_RECORD, &out[*n])) ++*n;
  return 0;
}
