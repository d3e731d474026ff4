/* env.c: see env.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "size.h"

extern char **environ;

static int name_ok(const char *name)
{
  return name && name[0] && !strchr(name, '=');
}

const char *env_get(const char *name)
{
  if (!name_ok(name)) return 0;
  return getenv(name);
}

/* Index of the entry for name[0..nlen), or e->n. */
static size_t find(const env *e, const char *name, size_t nlen)
{
  size_t i;
  for (i = 0; i < e->n; ++i)
    if (strncmp(e->v[i], name, nlen) == 0 && e->v[i][nlen] == '=') return i;
  return e->n;
}

/* Puts the ready-made entry s ("name=value", name nlen bytes) into e,
 * replacing an earlier one when replace is set (else keeping it and
 * freeing s). Takes ownership of s in every case. */
static int put(env *e, char *s, size_t nlen, int replace)
{
  size_t i = find(e, s, nlen);
  if (i < e->n) {
    if (replace) {
      free(e->v[i]);
      e->v[i] = s;
    } else {
      free(s);
    }
    return 0;
  }
  /* room for one more entry and the NULL */
  if (e->n + 2 > e->a) {
    size_t want, bytes;
    char **nv;
    if (size_add(&want, e->n, 2) < 0 || size_add(&want, want, want / 2 + 8) < 0 ||
        size_mul(&bytes, want, sizeof *nv) < 0) {
      free(s);
      return -1;
    }
    nv = realloc(e->v, bytes);
    if (!nv) {
      free(s);
      errno = ENOMEM;
      return -1;
    }
    e->v = nv;
    e->a = want;
  }
  e->v[e->n++] = s;
  e->v[e->n] = 0;
  return 0;
}

static char *entry(const char *name, size_t nlen, const char *value, size_t vlen)
{
  size_t total;
  char *s;
  if (size_add(&total, nlen, vlen) < 0 || size_add(&total, total, 2) < 0) return 0;
  s = malloc(total);
  if (!s) { errno = ENOMEM; return 0; }
  memcpy(s, name, nlen);
  s[nlen] = '=';
  memcpy(s + nlen + 1, value, vlen);
  s[nlen + 1 + vlen] = 0;
  return s;
}

int env_set(env *e, const char *name, const char *value)
{
  size_t nlen;
  char *s;
  if (!name_ok(name) || !value) { errno = EINVAL; return -1; }
  nlen = strlen(name);
  s = entry(name, nlen, value, strlen(value));
  if (!s) return -1;
  return put(e, s, nlen, 1);
}

int env_unset(env *e, const char *name)
{
  size_t nlen, i;
  if (!name_ok(name)) { errno = EINVAL; return -1; }
  nlen = strlen(name);
  i = find(e, name, nlen);
  if (i == e->n) return 0;
  free(e->v[i]);
  memmove(e->v + i, e->v + i + 1, (e->n - i) * sizeof *e->v); /* moves the NULL too */
  --e->n;
  return 0;
}

const char *env_find(const env *e, const char *name)
{
  size_t nlen, i;
  if (!name_ok(name)) return 0;
  nlen = strlen(name);
  i = find(e, name, nlen);
  return i < e->n ? e->v[i] + nlen + 1 : 0;
}

char *const *env_vector(const env *e)
{
  static char *const empty[1] = { 0 };
  return e->v ? e->v : empty;
}

void env_free(env *e)
{
  size_t i;
  for (i = 0; i < e->n; ++i) free(e->v[i]);
  free(e->v);
  e->v = 0;
  e->n = 0;
  e->a = 0;
}

int env_start(env *e, int inherit)
{
  env fresh = ENV_INIT;
  char **p;
  if (inherit && environ) {
    for (p = environ; *p; ++p) {
      const char *eq = strchr(*p, '=');
      size_t nlen;
      char *s;
      if (!eq || eq == *p) continue;
      nlen = (size_t)(eq - *p);
      s = entry(*p, nlen, eq + 1, strlen(eq + 1));
      if (!s || put(&fresh, s, nlen, 0) < 0) {
        int err = errno;
        env_free(&fresh);
        errno = err;
        return -1;
      }
    }
  }
  env_free(e);
  *e = fresh;
  return 0;
}
