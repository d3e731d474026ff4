/* retry.c: see retry.h. */
#include <limits.h>
#include <stdint.h>

#include "retry.h"

unsigned long retry_isqrt(unsigned long x)
{
  unsigned long lo = 0, hi = 4294967295UL; /* sqrt(ULONG_MAX) < 2^32 */
  if (hi > x) hi = x;
  while (lo < hi) { /* largest r with r*r <= x */
    unsigned long mid = lo + (hi - lo + 1) / 2;
    if (mid <= x / mid) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

time_t retry_next(time_t birth, time_t now, unsigned long unit)
{
  unsigned long age = now > birth ? (unsigned long)(now - birth) : 0;
  unsigned long r = retry_isqrt(age), step, sq;
  const unsigned long tmax = (unsigned long)INTMAX_MAX > ULONG_MAX ? ULONG_MAX : (unsigned long)INTMAX_MAX;
  if (__builtin_add_overflow(r, unit, &step) || __builtin_mul_overflow(step, step, &sq)) return (time_t)tmax;
  if (birth < 0 || sq > tmax - (unsigned long)birth) return (time_t)tmax;
  return (time_t)((unsigned long)birth + sq);
}
