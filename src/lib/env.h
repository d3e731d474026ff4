/* env.h: reading the environment and building one for exec.
 *
 * env_get() only reads the process environment. An env is a builder
 * for the envp of child_start()/execve: it owns a NULL-terminated
 * vector of "name=value" strings, each a heap copy, all freed by
 * env_free(). A zero-initialised env (ENV_INIT) is empty and valid.
 * Functions return 0 on success and -1 with errno set on failure
 * (EINVAL for a bad name, ENOMEM, EOVERFLOW when a size would wrap);
 * on failure the builder is unchanged. */
#ifndef SLUICE_ENV_H
#define SLUICE_ENV_H

#include <stddef.h>

typedef struct env {
  char **v;  /* n entries then a NULL, or NULL when nothing was ever set */
  size_t n;
  size_t a;  /* slots allocated in v */
} env;

#define ENV_INIT { 0, 0, 0 }

/* The value of name in the process environment, or NULL when unset or
 * when name is empty or holds '='. */
const char *env_get(const char *name);

/* Empties e and, when inherit is non-zero, fills it with a copy of the
 * current process environment (entries without '=' are skipped, a
 * repeated name keeps its first value). */
int env_start(env *e, int inherit);
/* Sets name to value, replacing an earlier value. name must be
 * non-empty and hold no '='; value may hold anything but NUL. */
int env_set(env *e, const char *name, const char *value);
/* Removes name (not an error when absent). */
int env_unset(env *e, const char *name);
/* The value of name in e, or NULL. Valid until e changes. */
const char *env_find(const env *e, const char *name);
/* The NULL-terminated vector for execve; owned by e, valid until e
 * changes. Never NULL. */
char *const *env_vector(const env *e);
/* Frees every entry and the vector; e becomes ENV_INIT. */
void env_free(env *e);

#endif
