/* fuzz_cdb.c: the cdb reader on arbitrary bytes held in memory.
 *
 * Lookups of fixed keys, of keys taken from the input itself (which hit
 * its tables), walks through duplicates and a full iteration must never
 * crash, read outside the input or loop forever. Whatever is "found"
 * must lie inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cdb.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookup(struct cdb *c, const char *key, size_t klen, size_t size, str *out)
{
  int r, n = 0;
  cdb_findstart(c);
  while ((r = cdb_findnext(c, key, klen)) == 1) {
    if ((size_t)cdb_datapos(c) + cdb_datalen(c) > size) abort();
    if ((size_t)cdb_keypos(c) + cdb_keylen(c) > size || cdb_keylen(c) != klen) abort();
    if (cdb_getdata(c, out) < 0) abort(); /* the range was checked */
    if (++n > 1 << 20) abort(); /* bounded by the slot count */
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* a private copy, exactly size bytes, so ASan sees any overread */
  char *mem = malloc(size ? size : 1);
  struct cdb c;
  str out = STR_INIT, key = STR_INIT;
  size_t i;
  int r;

  if (!mem) return 0;
  for (i = 0; i < size; ++i) mem[i] = (char)data[i];
  if (cdb_init_mem(&c, mem, size) == 0) {
    static const char *const keys[] = { "", "a", "127.0.0.1", "one", "example.com" };
    for (i = 0; i < sizeof keys / sizeof keys[0]; ++i) {
      size_t n = 0;
      while (keys[i][n]) ++n;
      lookup(&c, keys[i], n, size, &out);
    }
    /* keys from the file itself, as the iterator finds them */
    if (cdb_iter_start(&c) == 0) {
      int count = 0;
      while ((r = cdb_iter_next(&c)) == 1) {
        if (cdb_getkey(&c, &key) < 0 || cdb_getdata(&c, &out) < 0) abort();
        if (count++ < 64) {
          struct cdb c2 = c;
          lookup(&c2, key.s, key.len, size, &out);
        }
      }
    }
    /* a key made of the input's last bytes */
    lookup(&c, mem + size - (size < 16 ? size : 16), size < 16 ? size : 16, size, &out);
    cdb_close(&c);
  }
  str_free(&out);
  str_free(&key);
  free(mem);
  return 0;
}
