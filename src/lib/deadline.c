/* deadline.c: the clock of deadline.h (the server limits are in
 * deadline_server.c, so that programs that only use buf do not link the
 * control file readers). */
#include <time.h>

#include "deadline.h"

long long deadline_now(void)
{
  struct timespec t;
  if (clock_gettime(CLOCK_MONOTONIC, &t) < 0) return 1;
  /* + 1: 0 means "no deadline" */
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000 + 1;
}

long long deadline_after(unsigned long ms)
{
  long long now;
  if (ms == 0) return 0;
  now = deadline_now();
  /* a monotonic clock in ms stays far below 2^62; so does any ulong */
  if ((unsigned long long)ms > (1ULL << 62)) ms = (unsigned long)(1ULL << 62);
  return now + (long long)ms;
}

long long deadline_min(long long a, long long b)
{
  if (a <= 0) return b > 0 ? b : 0;
  if (b <= 0) return a;
  return a < b ? a : b;
}

int deadline_passed(long long d) { return d > 0 && deadline_now() >= d; }
