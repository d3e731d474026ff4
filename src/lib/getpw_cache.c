/* getpw_cache.c: see getpw_cache.h. Items and their strings belong to
 * the cache until getpw_cache_free. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "byte.h"
#include "getpw_cache.h"
#include "str.h"

#define ITEMS (GETPW_CACHE_SETS * GETPW_CACHE_WAYS)

/* FNV-1a over the seed and the key: the seed keeps a sender from
 * choosing local parts that all land in one set (which would only
 * evict, but there is no need to let it). */
static size_t set_of(const struct getpw_cache *c, const char *key, size_t klen)
{
  unsigned long h = 2166136261UL ^ c->seed;
  size_t i;
  for (i = 0; i < klen; ++i) {
    h ^= (unsigned char)key[i];
    h *= 16777619UL;
    h &= 0xffffffffUL;
  }
  return (size_t)(h % GETPW_CACHE_SETS) * GETPW_CACHE_WAYS;
}

static void item_drop(struct getpw_cache_item *it)
{
  it->expires = 0;
  str_free(&it->key);
  str_free(&it->value);
}

int getpw_cache_get(struct getpw_cache *c, const char *key, size_t klen, long long now, str *value)
{
  size_t base, i;
  if (!c->items) return 0;
  base = set_of(c, key, klen);
  for (i = base; i < base + GETPW_CACHE_WAYS; ++i) {
    struct getpw_cache_item *it = &c->items[i];
    if (!it->expires || it->key.len != klen || !byte_equal(it->key.s, key, klen)) continue;
    if (it->expires <= now) {
      item_drop(it);
      return 0;
    }
    return str_copyb(value, it->value.s, it->value.len) < 0 ? -1 : 1;
  }
  return 0;
}

int getpw_cache_put(struct getpw_cache *c, const char *key, size_t klen, const char *value, size_t vlen,
                    long long expires)
{
  struct getpw_cache_item *it = 0;
  size_t base, i;
  if (expires <= 0 || klen > GETPW_CACHE_ITEM_MAX || vlen > GETPW_CACHE_ITEM_MAX - klen) return 0;
  if (!c->items) {
    struct timespec ts;
    c->items = calloc(ITEMS, sizeof *c->items);
    if (!c->items) { errno = ENOMEM; return -1; }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    c->seed = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16) ^ (unsigned long)ts.tv_sec;
  }
  base = set_of(c, key, klen);
  /* the same key, else a free item, else the one that expires first */
  for (i = base; i < base + GETPW_CACHE_WAYS; ++i) {
    struct getpw_cache_item *t = &c->items[i];
    if (t->expires && t->key.len == klen && byte_equal(t->key.s, key, klen)) { it = t; break; }
  }
  for (i = base; !it && i < base + GETPW_CACHE_WAYS; ++i)
    if (!c->items[i].expires) it = &c->items[i];
  if (!it) {
    it = &c->items[base];
    for (i = base + 1; i < base + GETPW_CACHE_WAYS; ++i)
      if (c->items[i].expires < it->expires) it = &c->items[i];
  }
  if (str_copyb(&it->key, key, klen) < 0 || str_copyb(&it->value, value, vlen) < 0) {
    item_drop(it);
    return -1;
  }
  it->expires = expires;
  return 0;
}

void getpw_cache_clear(struct getpw_cache *c)
{
  size_t i;
  if (!c->items) return;
  for (i = 0; i < ITEMS; ++i) item_drop(&c->items[i]);
}

void getpw_cache_free(struct getpw_cache *c)
{
  getpw_cache_clear(c);
  free(c->items);
  c->items = 0;
}
