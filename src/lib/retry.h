/* retry.h: the quadratic backoff schedule of sluice-send(8).
 *
 * After a temporary failure the next attempt on a channel is due at
 *     birth + (floor(sqrt(now - birth)) + unit)^2
 * with unit 10 for local and 20 for remote deliveries, so attempts fall
 * near (k * unit)^2 seconds after the message was queued. A clock that
 * went backwards (now < birth) counts as now == birth. The result
 * saturates at the largest time_t instead of wrapping. */
#ifndef SLUICE_RETRY_H
#define SLUICE_RETRY_H

#include <time.h>

#define RETRY_UNIT_LOCAL 10UL
#define RETRY_UNIT_REMOTE 20UL

/* floor(sqrt(x)), exact for every unsigned long. */
unsigned long retry_isqrt(unsigned long x);
time_t retry_next(time_t birth, time_t now, unsigned long unit);

#endif
