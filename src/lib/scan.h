/* scan.h: number scanning with overflow detection.
 *
 * Each scan_ function reads digits from s[0..n) and returns how many
 * bytes it consumed, storing the value in *u. It returns 0 (and leaves
 * *u alone) when there is no digit or when the value would overflow;
 * the caller decides whether trailing bytes are an error. */
#ifndef SLUICE_SCAN_H
#define SLUICE_SCAN_H

#include <stddef.h>

size_t scan_ulong(const char *s, size_t n, unsigned long *u);
size_t scan_xlong(const char *s, size_t n, unsigned long *u);
/* Like scan_ulong but the whole range must be digits: returns 0 for
 * success, -1 (errno EINVAL or ERANGE) otherwise. */
int scan_ulong_exact(const char *s, size_t n, unsigned long *u);

#endif
