/* getpw_cache.h: the bounded cache of sluice-lspawn's user lookups
 * (sluice-lspawn(8)).
 *
 * Maps the data of a request of getpw_proto.h to the data of its
 * answer, each entry until a time of expiry (milliseconds, as
 * deadline_now gives them). It holds at most GETPW_CACHE_SETS *
 * GETPW_CACHE_WAYS entries, each at most GETPW_CACHE_ITEM_MAX bytes of
 * key and value together (a larger one is simply not kept): a key goes
 * to one set by a hash with a per-process random seed, and a full set
 * gives up its entry that expires first. So its memory is bounded
 * whatever the local parts asked for, and each call costs a hash and
 * at most GETPW_CACHE_WAYS comparisons.
 *
 * The cache owns its memory (getpw_cache_free); getpw_cache_get copies
 * into a caller-owned str. Errors: -1 with errno (ENOMEM). */
#ifndef SLUICE_GETPW_CACHE_H
#define SLUICE_GETPW_CACHE_H

#include <stddef.h>

#include "str.h"

#define GETPW_CACHE_SETS 256
#define GETPW_CACHE_WAYS 4
#define GETPW_CACHE_ITEM_MAX 2048

struct getpw_cache_item {
  long long expires;    /* 0: free */
  str key;
  str value;
};

struct getpw_cache {
  struct getpw_cache_item *items; /* SETS * WAYS, allocated at the first put */
  unsigned long seed;
};

#define GETPW_CACHE_INIT { 0, 0 }

/* 1 with value[0..) the answer cached for key and not expired at now,
 * 0 none (an expired entry is dropped), -1 no memory. */
int getpw_cache_get(struct getpw_cache *c, const char *key, size_t klen, long long now, str *value);
/* Keeps value for key until expires (> 0), replacing an entry for the
 * same key. 0 (also when the item is too big and so not kept), or -1. */
int getpw_cache_put(struct getpw_cache *c, const char *key, size_t klen, const char *value, size_t vlen,
                    long long expires);
/* Drops every entry. */
void getpw_cache_clear(struct getpw_cache *c);
void getpw_cache_free(struct getpw_cache *c);

#endif
