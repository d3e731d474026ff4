/* size.h: checked size arithmetic.
 *
 * Every length computation in sluice that could wrap goes through these.
 * Each returns 0 and stores the result, or returns -1 with errno set to
 * EOVERFLOW and leaves *out untouched. */
#ifndef SLUICE_SIZE_H
#define SLUICE_SIZE_H

#include <errno.h>
#include <stddef.h>

static inline int size_add(size_t *out, size_t a, size_t b)
{
  size_t r;
  if (__builtin_add_overflow(a, b, &r)) { errno = EOVERFLOW; return -1; }
  *out = r;
  return 0;
}

static inline int size_mul(size_t *out, size_t a, size_t b)
{
  size_t r;
  if (__builtin_mul_overflow(a, b, &r)) { errno = EOVERFLOW; return -1; }
  *out = r;
  return 0;
}

#endif
