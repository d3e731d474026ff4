/* test_cdb.c: cdb (reader) and cdb_make (writer). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byte.h"
#include "cdb.h"
#include "cdb_make.h"
#include "check.h"
#include "file.h"
#include "fmt.h"
#include "str.h"

static char dir[] = "/tmp/test_cdb.XXXXXX";
static str path_buf;

/* dir/name, NUL-terminated, in a static buffer. */
static const char *path(const char *name)
{
  if (str_copys(&path_buf, dir) < 0 || str_cats(&path_buf, "/") < 0 || str_cats(&path_buf, name) < 0
      || str_0(&path_buf) < 0)
    abort();
  return path_buf.s;
}

struct rec {
  const char *k;
  size_t klen;
  const char *d;
  size_t dlen;
};

/* Writes the records to name with the atomic writer; reads the file
 * back into image. */
static int build(const char *name, const struct rec *r, size_t n, str *image)
{
  struct cdb_make_atomic a;
  size_t i;
  if (cdb_make_atomic_start(&a, path(name), 0644) < 0) return -1;
  for (i = 0; i < n; ++i)
    if (cdb_make_add(&a.make, r[i].k, r[i].klen, r[i].d, r[i].dlen) < 0) {
      cdb_make_atomic_abort(&a);
      return -1;
    }
  if (cdb_make_atomic_finish(&a) < 0) return -1;
  return file_read(path(name), image, 1 << 30) == 1 ? 0 : -1;
}

/* 1 when the first record for key has exactly this data. */
static int has(struct cdb *c, const char *k, size_t klen, const char *d, size_t dlen)
{
  str got = STR_INIT;
  int ok;
  if (cdb_find(c, k, klen) != 1) return 0;
  ok = cdb_getdata(c, &got) == 0 && got.len == dlen && byte_equal(got.s, d, dlen) && cdb_datalen(c) == dlen;
  str_free(&got);
  return ok;
}

static void test_hash(void)
{
  /* h = 5381; h = h * 33 ^ c, worked by hand */
  CHECK(cdb_hash("", 0) == 5381);
  CHECK(cdb_hash("a", 1) == (5381u * 33u ^ 'a')); /* 177573 ^ 97 */
  CHECK(cdb_hash("a", 1) == 177604);
  CHECK(cdb_hash("\0", 1) == 177573);
  CHECK(cdb_hash("ab", 2) == (177604u * 33u ^ 'b'));
  CHECK(cdb_hash("abc", 3) == 193409669u);
  CHECK(cdb_hash("127.0.0.1", 9) == 1417155086u);
  CHECK(cdb_hash("\377\377", 2) == 5857381u); /* bytes are unsigned */
  /* a full 32-bit collision: (X ^ 0) * 33 ^ 'a' == (X ^ 1) * 33 ^ 0 */
  CHECK(cdb_hash("\0a", 2) == cdb_hash("\1\0", 2));
}

/* The exact bytes of a one-record cdb, worked out from the format. */
static void test_known_file(void)
{
  struct rec r = { "a", 1, "b", 1 };
  str img = STR_INIT;
  char want[2074];
  size_t i;
  memset(want, 0, sizeof want);
  /* hash 177604 = 0x0002b5c4: table 0xc4 = 196, slot (0x2b5 % 2) = 1 */
  for (i = 0; i < 256; ++i) {
    uint32_t pos = i <= 196 ? 2058 : 2074, slots = i == 196 ? 2 : 0;
    want[i * 8] = (char)(pos & 255);
    want[i * 8 + 1] = (char)(pos >> 8);
    want[i * 8 + 4] = (char)slots;
  }
  memcpy(want + 2048, "\1\0\0\0\1\0\0\0ab", 10);
  memcpy(want + 2058 + 8, "\xc4\xb5\x02\0\0\x08\0\0", 8);
  CHECK(build("known", &r, 1, &img) == 0);
  CHECK(img.len == sizeof want && memcmp(img.s, want, sizeof want) == 0);
  str_free(&img);
}

/* Runs the same checks over a file through mmap, pread and memory. */
static void test_roundtrip_small(void)
{
  static const struct rec r[] = {
    { "one", 3, "hello", 5 },
    { "two", 3, "goodbye", 7 },
    { "one", 3, "dup", 3 },
    { "", 0, "empty key", 9 },
    { "nul\0key", 7, "bin\0data\0", 9 },
    { "\0a", 2, "collide1", 8 },
    { "\1\0", 2, "collide2", 8 },
    { "one", 3, "", 0 },
    { "nodata", 6, "", 0 },
  };
  str img = STR_INIT, got = STR_INIT;
  int mode;
  CHECK(build("small", r, sizeof r / sizeof r[0], &img) == 0);
  for (mode = 0; mode < 3; ++mode) {
    struct cdb c;
    int fd = open_read(path("small")), n;
    CHECK(fd >= 0);
    if (mode == 0) CHECK(cdb_open(&c, fd) == 0 && c.map != 0);
    if (mode == 1) CHECK(cdb_open_pread(&c, fd) == 0 && c.map == 0);
    if (mode == 2) CHECK(cdb_init_mem(&c, img.s, img.len) == 0);
    CHECK(has(&c, "two", 3, "goodbye", 7));
    CHECK(has(&c, "", 0, "empty key", 9));
    CHECK(has(&c, "nul\0key", 7, "bin\0data\0", 9));
    CHECK(!has(&c, "nul", 3, "", 0));
    CHECK(has(&c, "\0a", 2, "collide1", 8));
    CHECK(has(&c, "\1\0", 2, "collide2", 8));
    CHECK(has(&c, "nodata", 6, "", 0));
    CHECK(cdb_find(&c, "three", 5) == 0);
    CHECK(cdb_find(&c, "on", 2) == 0);
    CHECK(cdb_find(&c, "\0b", 2) == 0);
    /* duplicates come back in the order they were added */
    cdb_findstart(&c);
    CHECK(cdb_findnext(&c, "one", 3) == 1 && cdb_getdata(&c, &got) == 0);
    CHECK_BYTES(got.s, got.len, "hello");
    CHECK(cdb_getkey(&c, &got) == 0);
    CHECK_BYTES(got.s, got.len, "one");
    CHECK(cdb_findnext(&c, "one", 3) == 1 && cdb_getdata(&c, &got) == 0);
    CHECK_BYTES(got.s, got.len, "dup");
    CHECK(cdb_findnext(&c, "one", 3) == 1 && cdb_datalen(&c) == 0);
    CHECK(cdb_findnext(&c, "one", 3) == 0);
    CHECK(cdb_findnext(&c, "one", 3) == 0);
    /* positions: the first record sits right after the header */
    CHECK(cdb_find(&c, "one", 3) == 1 && cdb_keypos(&c) == 2056 && cdb_datapos(&c) == 2059);
    {
      char b[5];
      const char *p;
      CHECK(cdb_read(&c, b, 5, cdb_datapos(&c)) == 0 && memcmp(b, "hello", 5) == 0);
      CHECK(cdb_read(&c, b, 5, (uint32_t)img.len - 4) == -1 && errno == EPROTO);
      CHECK(cdb_read(&c, b, 0, (uint32_t)img.len) == 0);
      p = cdb_getptr(&c, cdb_datapos(&c), 5);
      if (mode == 1) CHECK(p == 0 && errno == ENOTSUP);
      else CHECK(p != 0 && memcmp(p, "hello", 5) == 0);
      CHECK(cdb_getptr(&c, 0xfffffffful, 2) == 0);
    }
    /* iteration gives every record in file order */
    CHECK(cdb_iter_start(&c) == 0);
    for (n = 0; cdb_iter_next(&c) == 1; ++n) {
      str k = STR_INIT;
      CHECK(n < (int)(sizeof r / sizeof r[0]));
      if (n >= (int)(sizeof r / sizeof r[0])) break;
      CHECK(cdb_getkey(&c, &k) == 0 && cdb_getdata(&c, &got) == 0);
      CHECK(k.len == r[n].klen && byte_equal(k.s, r[n].k, k.len));
      CHECK(got.len == r[n].dlen && byte_equal(got.s, r[n].d, got.len));
      str_free(&k);
    }
    CHECK(n == (int)(sizeof r / sizeof r[0]));
    CHECK(cdb_iter_next(&c) == 0);
    cdb_close(&c);
    close(fd);
  }
  /* one-shot lookups */
  CHECK(cdb_lookup_path(path("small"), "two", 3, &got) == 1);
  CHECK_BYTES(got.s, got.len, "goodbye");
  CHECK(cdb_lookup_path(path("small"), "zzz", 3, &got) == 0 && got.len == 0);
  errno = 0;
  CHECK(cdb_lookup_path(path("missing"), "two", 3, &got) == -1 && errno == ENOENT);
  str_free(&got);
  str_free(&img);
}

static void test_empty(void)
{
  str img = STR_INIT;
  struct cdb c;
  size_t i;
  int ok = 1;
  CHECK(build("empty", 0, 0, &img) == 0);
  CHECK(img.len == 2048);
  /* every table sits at 2048 with no slots */
  for (i = 0; i < 256; ++i)
    if (memcmp(img.s + i * 8, "\0\x08\0\0\0\0\0\0", 8) != 0) ok = 0;
  CHECK(ok);
  CHECK(cdb_init_mem(&c, img.s, img.len) == 0);
  CHECK(cdb_find(&c, "", 0) == 0);
  CHECK(cdb_find(&c, "x", 1) == 0);
  CHECK(cdb_iter_start(&c) == 0 && cdb_iter_next(&c) == 0);
  str_free(&img);
}

static void key_of(unsigned long i, char *b, size_t *n)
{
  b[0] = 'k';
  *n = 1 + fmt_ulong(b + 1, i);
}

static void test_many(void)
{
  enum { N = 10000 };
  struct cdb_make_atomic a;
  struct cdb c;
  str img = STR_INIT, got = STR_INIT;
  char k[FMT_ULONG + 1], d[FMT_ULONG + 2];
  size_t kn, dn, i, found = 0, right = 0, iterated = 0, inorder = 0;
  int r;

  CHECK(cdb_make_atomic_start(&a, path("many"), 0640) == 0);
  for (i = 0; i < N; ++i) {
    key_of(i, k, &kn);
    d[0] = 'd';
    d[1] = '=';
    dn = 2 + fmt_ulong(d + 2, i * 7);
    if (cdb_make_add(&a.make, k, kn, d, dn) < 0) break;
  }
  CHECK(i == N);
  CHECK(cdb_make_atomic_finish(&a) == 0);
  {
    struct stat st;
    CHECK(stat(path("many"), &st) == 0 && (st.st_mode & 07777) == 0640);
    CHECK(stat(path("many.tmp"), &st) == -1 && errno == ENOENT);
  }
  CHECK(file_read(path("many"), &img, 1 << 30) == 1);
  CHECK(cdb_init_mem(&c, img.s, img.len) == 0);
  for (i = 0; i < N; ++i) {
    key_of(i, k, &kn);
    if (cdb_find(&c, k, kn) != 1) continue;
    ++found;
    d[0] = 'd';
    d[1] = '=';
    dn = 2 + fmt_ulong(d + 2, i * 7);
    if (cdb_getdata(&c, &got) == 0 && got.len == dn && byte_equal(got.s, d, dn)) ++right;
  }
  CHECK(found == N && right == N);
  for (i = N; i < N + 1000; ++i) {
    key_of(i, k, &kn);
    if (cdb_find(&c, k, kn) != 0) break;
  }
  CHECK(i == N + 1000);
  CHECK(cdb_iter_start(&c) == 0);
  while ((r = cdb_iter_next(&c)) == 1) {
    key_of(iterated, k, &kn);
    if (cdb_getkey(&c, &got) == 0 && got.len == kn && byte_equal(got.s, k, kn)) ++inorder;
    ++iterated;
  }
  CHECK(r == 0 && iterated == N && inorder == N);
  /* the tables hold twice as many slots as records, and the first table
   * starts where the records end */
  {
    uint32_t total = 0, p0;
    const unsigned char *u = (const unsigned char *)img.s;
    for (i = 0; i < 256; ++i)
      total += (uint32_t)u[i * 8 + 4] | (uint32_t)u[i * 8 + 5] << 8 | (uint32_t)u[i * 8 + 6] << 16;
    CHECK(total == 2 * N);
    p0 = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16;
    CHECK(img.len == p0 + (size_t)2 * N * 8);
  }
  str_free(&got);
  str_free(&img);
}

/* Many keys that share one table, and full hash collisions. */
static void test_colliding(void)
{
  struct cdb_make_atomic a;
  struct cdb c;
  str img = STR_INIT, got = STR_INIT;
  char keys[200][FMT_ULONG + 1];
  size_t lens[200], n = 0, i, ok = 0;
  unsigned long j;
  unsigned int b;

  for (j = 0; n < 200; ++j) {
    key_of(j, keys[n], &lens[n]);
    if ((cdb_hash(keys[n], lens[n]) & 255) == 42) ++n;
  }
  CHECK(cdb_make_atomic_start(&a, path("coll"), 0644) == 0);
  for (i = 0; i < n; ++i) CHECK(cdb_make_add(&a.make, keys[i], lens[i], keys[i], lens[i]) == 0);
  /* 256 two-byte keys with one hash: (0, c) and (1, c ^ 'a'...) pairs */
  for (b = 0; b < 256; ++b) {
    char k2[2];
    k2[0] = 0;
    k2[1] = (char)b;
    CHECK(cdb_make_add(&a.make, k2, 2, k2, 2) == 0);
    k2[0] = 1;
    CHECK(cdb_make_add(&a.make, k2, 2, k2, 2) == 0);
  }
  CHECK(cdb_make_atomic_finish(&a) == 0);
  CHECK(file_read(path("coll"), &img, 1 << 30) == 1);
  CHECK(cdb_init_mem(&c, img.s, img.len) == 0);
  /* table 42 has 2 * (200 + its share of the two-byte keys) slots */
  CHECK((unsigned char)img.s[42 * 8 + 4] + 256 * (unsigned char)img.s[42 * 8 + 5] >= 400);
  for (i = 0; i < n; ++i) ok += has(&c, keys[i], lens[i], keys[i], lens[i]);
  CHECK(ok == n);
  ok = 0;
  for (b = 0; b < 256; ++b) {
    char k2[2];
    k2[0] = 0;
    k2[1] = (char)b;
    ok += has(&c, k2, 2, k2, 2);
    k2[0] = 1;
    ok += has(&c, k2, 2, k2, 2);
    k2[0] = 2;
    ok += cdb_find(&c, k2, 2) == 0;
  }
  CHECK(ok == 3 * 256);
  str_free(&got);
  str_free(&img);
}

static void put32(char *p, uint32_t u)
{
  p[0] = (char)(u & 255);
  p[1] = (char)(u >> 8 & 255);
  p[2] = (char)(u >> 16 & 255);
  p[3] = (char)(u >> 24 & 255);
}

/* find must give -1 EPROTO, or 0: never 1, never a crash. */
static int refuses(struct cdb *c, const char *k, size_t klen)
{
  int r;
  errno = 0;
  r = cdb_find(c, k, klen);
  return r == 0 || (r == -1 && errno == EPROTO);
}

static int find_proto(struct cdb *c, const char *k, size_t klen)
{
  errno = 0;
  return cdb_find(c, k, klen) == -1 && errno == EPROTO;
}

static void test_malformed(void)
{
  static const struct rec r[] = {
    { "alpha", 5, "one", 3 },
    { "beta", 4, "two", 3 },
    { "gamma", 5, "three", 5 },
  };
  str img = STR_INIT, bad = STR_INIT;
  struct cdb c;
  uint32_t ha = cdb_hash("alpha", 5), ta = (ha & 255) * 8, tpos;
  size_t cut, i;
  int fd;

  CHECK(build("mal", r, 3, &img) == 0);
  tpos = (uint32_t)(unsigned char)img.s[ta] | (uint32_t)(unsigned char)img.s[ta + 1] << 8;

  /* shorter than the header */
  errno = 0;
  CHECK(cdb_init_mem(&c, img.s, 2047) == -1 && errno == EPROTO);
  CHECK(cdb_init_mem(&c, img.s, 0) == -1);
  fd = open_trunc(path("short"), 0600);
  CHECK(fd >= 0 && write_all(fd, img.s, 100) == 0);
  close(fd);
  fd = open_read(path("short"));
  errno = 0;
  CHECK(cdb_open(&c, fd) == -1 && errno == EPROTO);
  close(fd);
  CHECK(cdb_lookup_path(path("short"), "alpha", 5, &bad) == -1 && errno == EPROTO);

  /* a header that points the table past the end */
  CHECK(str_copy(&bad, &img) == 0);
  put32(bad.s + ta, (uint32_t)bad.len);
  CHECK(cdb_init_mem(&c, bad.s, bad.len) == 0 && find_proto(&c, "alpha", 5));
  put32(bad.s + ta, 0xfffffff8u);
  CHECK(find_proto(&c, "alpha", 5));
  /* a slot count that runs past the end, or wraps when multiplied */
  CHECK(str_copy(&bad, &img) == 0);
  put32(bad.s + ta + 4, 0x7fffffffu);
  CHECK(cdb_init_mem(&c, bad.s, bad.len) == 0 && find_proto(&c, "alpha", 5));
  put32(bad.s + ta + 4, 0x20000001u);
  CHECK(find_proto(&c, "alpha", 5));
  put32(bad.s + ta + 4, 0xffffffffu);
  CHECK(find_proto(&c, "alpha", 5));
  /* the iterator's end (lowest table) past the file or inside the header */
  CHECK(str_copy(&bad, &img) == 0);
  put32(bad.s, 100);
  CHECK(cdb_init_mem(&c, bad.s, bad.len) == 0 && cdb_iter_start(&c) == -1 && errno == EPROTO);
  put32(bad.s, (uint32_t)bad.len + 1);
  for (i = 1; i < 256; ++i) put32(bad.s + i * 8, (uint32_t)bad.len + 1);
  CHECK(cdb_iter_start(&c) == -1 && errno == EPROTO);

  /* record lengths past the end: key length, then data length */
  CHECK(str_copy(&bad, &img) == 0);
  put32(bad.s + 2048, 0xffffffffu);
  CHECK(cdb_init_mem(&c, bad.s, bad.len) == 0 && find_proto(&c, "alpha", 5));
  CHECK(cdb_iter_start(&c) == 0 && cdb_iter_next(&c) == -1 && errno == EPROTO);
  CHECK(has(&c, "beta", 4, "two", 3));
  CHECK(str_copy(&bad, &img) == 0);
  put32(bad.s + 2048 + 4, 0xfffffff0u);
  CHECK(cdb_init_mem(&c, bad.s, bad.len) == 0 && find_proto(&c, "alpha", 5));
  /* a data length that passes the first table but not the file */
  put32(bad.s + 2048 + 4, (uint32_t)(bad.len - 2048 - 8 - 5));
  CHECK(find_proto(&c, "alpha", 5) == 0 && cdb_datalen(&c) == bad.len - 2048 - 13);
  CHECK(cdb_iter_start(&c) == 0 && cdb_iter_next(&c) == -1 && errno == EPROTO);

  /* a slot pointing past the end, and one pointing into the header */
  CHECK(str_copy(&bad, &img) == 0);
  for (i = 0; i < 2; ++i) put32(bad.s + tpos + i * 8 + 4, 0xfffffff0u);
  CHECK(cdb_init_mem(&c, bad.s, bad.len) == 0 && find_proto(&c, "alpha", 5));
  for (i = 0; i < 2; ++i) put32(bad.s + tpos + i * 8 + 4, 8);
  CHECK(refuses(&c, "alpha", 5));

  /* a full table (no empty slot) whose slots never match: the probe
   * stops after slot-count tries */
  CHECK(str_copy(&bad, &img) == 0);
  for (i = 0; i < 2; ++i) {
    put32(bad.s + tpos + i * 8, ha ^ 1);
    put32(bad.s + tpos + i * 8 + 4, 2048);
  }
  CHECK(cdb_init_mem(&c, bad.s, bad.len) == 0 && cdb_find(&c, "alpha", 5) == 0);
  /* the same slot matching the hash but holding another key, forever */
  for (i = 0; i < 2; ++i) {
    put32(bad.s + tpos + i * 8, ha);
    put32(bad.s + tpos + i * 8 + 4, 2048 + 8 + 5 + 3); /* "beta" */
  }
  CHECK(cdb_find(&c, "alpha", 5) == 0);
  cdb_findstart(&c);
  CHECK(cdb_findnext(&c, "alpha", 5) == 0 && cdb_findnext(&c, "alpha", 5) == 0);

  /* every table is the header itself (overlapping tables) */
  CHECK(str_copy(&bad, &img) == 0);
  for (i = 0; i < 256; ++i) {
    put32(bad.s + i * 8, 0);
    put32(bad.s + i * 8 + 4, 256);
  }
  CHECK(cdb_init_mem(&c, bad.s, bad.len) == 0);
  CHECK(refuses(&c, "alpha", 5) && refuses(&c, "", 0) && refuses(&c, "beta", 4));
  CHECK(cdb_iter_start(&c) == -1);
  /* every table has zero slots */
  for (i = 0; i < 256; ++i) {
    put32(bad.s + i * 8, 2048);
    put32(bad.s + i * 8 + 4, 0);
  }
  CHECK(cdb_find(&c, "alpha", 5) == 0 && cdb_find(&c, "gamma", 5) == 0);
  /* the slot count is ignored past the table: only zero slots */
  CHECK(cdb_iter_start(&c) == 0 && cdb_iter_next(&c) == 0);

  /* every 97th truncation of a valid file: the right answer or EPROTO */
  for (cut = 0; cut <= img.len; cut += 97) {
    int good = 1, rc;
    if (cdb_init_mem(&c, img.s, cut) < 0) {
      if (cut >= 2048 || errno != EPROTO) good = 0;
      CHECK(good);
      continue;
    }
    for (i = 0; i < 3; ++i) {
      errno = 0;
      rc = cdb_find(&c, r[i].k, r[i].klen);
      if (rc == 1) {
        str got = STR_INIT;
        if (cdb_getdata(&c, &got) < 0 || got.len != r[i].dlen || !byte_equal(got.s, r[i].d, got.len)) good = 0;
        str_free(&got);
      } else if (!(rc == -1 && errno == EPROTO)) good = 0;
    }
    if (cdb_iter_start(&c) == 0) {
      i = 0;
      while ((rc = cdb_iter_next(&c)) == 1) {
        if (i >= 3 || cdb_keylen(&c) != r[i].klen) good = 0;
        ++i;
      }
      if (rc == 0 && i != 3) good = 0;
    } else if (errno != EPROTO) good = 0;
    CHECK(good);
  }
  /* ...and through pread, where the file really is short */
  for (cut = 2048; cut <= img.len; cut += 97) {
    int rc, good = 1;
    fd = open_trunc(path("cut"), 0600);
    CHECK(fd >= 0 && write_all(fd, img.s, cut) == 0);
    close(fd);
    fd = open_read(path("cut"));
    CHECK(cdb_open_pread(&c, fd) == 0);
    for (i = 0; i < 3; ++i) {
      errno = 0;
      rc = cdb_find(&c, r[i].k, r[i].klen);
      if (rc != 1 && !(rc == -1 && errno == EPROTO)) good = 0;
    }
    CHECK(good);
    cdb_close(&c);
    close(fd);
  }
  str_free(&bad);
  str_free(&img);
}

static void test_writer_errors(void)
{
  struct cdb_make m;
  struct cdb_make_atomic a;
  struct cdb c;
  str img = STR_INIT;
  char small[5] = "data";
  int fd, p[2];

  /* sizes that would take the file to 4 GB fail before reading data */
  fd = open_trunc(path("big"), 0600);
  CHECK(cdb_make_start(&m, fd) == 0);
  errno = 0;
  CHECK(cdb_make_add(&m, "k", 1, small, 0xffffffffu) == -1 && errno == EFBIG);
  CHECK(cdb_make_add(&m, "k", 1, small, 0xffffffffu - 2048 - 8 - 1 - 16 + 1) == -1 && errno == EFBIG);
  CHECK(cdb_make_add(&m, small, (size_t)-1, small, 1) == -1 && errno == EFBIG);
  CHECK(cdb_make_add(&m, small, (size_t)-1, small, (size_t)-1) == -1 && errno == EFBIG);
  /* the maker is still fine afterwards */
  CHECK(cdb_make_add(&m, "k", 1, small, 4) == 0);
  CHECK(cdb_make_finish(&m) == 0);
  close(fd);
  CHECK(file_read(path("big"), &img, 1 << 20) == 1);
  CHECK(cdb_init_mem(&c, img.s, img.len) == 0 && has(&c, "k", 1, "data", 4));

  /* not seekable */
  CHECK(pipe(p) == 0);
  CHECK(cdb_make_start(&m, p[1]) == -1 && errno == ESPIPE);
  cdb_make_free(&m);
  close(p[0]);
  close(p[1]);
  /* a descriptor that cannot be written: the error sticks */
  fd = open_read(path("big"));
  CHECK(cdb_make_start(&m, fd) == 0);
  CHECK(cdb_make_add(&m, "k", 1, "v", 1) == 0); /* buffered */
  CHECK(cdb_make_finish(&m) == -1 && errno == EBADF);
  CHECK(cdb_make_start(&m, fd) == 0);
  {
    static char huge[20000];
    CHECK(cdb_make_add(&m, "k", 1, huge, sizeof huge) == -1 && errno == EBADF);
    CHECK(cdb_make_add(&m, "k", 1, "v", 1) == -1 && errno == EBADF);
    CHECK(cdb_make_finish(&m) == -1 && errno == EBADF);
  }
  close(fd);

  /* atomic: abort leaves the old file; a failed start or rename too */
  CHECK(cdb_make_atomic_start(&a, path("big"), 0644) == 0);
  CHECK(cdb_make_add(&a.make, "other", 5, "x", 1) == 0);
  cdb_make_atomic_abort(&a);
  CHECK(access(path("big.tmp"), F_OK) == -1 && errno == ENOENT);
  CHECK(cdb_lookup_path(path("big"), "k", 1, &img) == 1);
  CHECK_BYTES(img.s, img.len, "data");
  errno = 0;
  CHECK(cdb_make_atomic_start(&a, path("nodir/x.cdb"), 0644) == -1 && errno == ENOENT);
  CHECK(mkdir(path("isdir"), 0700) == 0 && mkdir(path("isdir/sub"), 0700) == 0);
  CHECK(cdb_make_atomic_start(&a, path("isdir"), 0644) == 0);
  CHECK(cdb_make_atomic_finish(&a) == -1);
  CHECK(access(path("isdir.tmp"), F_OK) == -1 && errno == ENOENT);
  rmdir(path("isdir/sub"));
  rmdir(path("isdir"));
  str_free(&img);
}

static void cleanup(void)
{
  static const char *names[] = { "known", "small", "empty", "many", "coll", "mal", "short", "cut", "big" };
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; ++i) unlink(path(names[i]));
  rmdir(dir);
  str_free(&path_buf);
}

int main(void)
{
  if (!mkdtemp(dir)) return 111;
  test_hash();
  test_known_file();
  test_roundtrip_small();
  test_empty();
  test_many();
  test_colliding();
  test_malformed();
  test_writer_errors();
  cleanup();
  return check_done();
}
