/* fmt.h: number formatting without the printf family.
 *
 * Each fmt_ function writes its digits to s (when s is not NULL) and
 * returns how many bytes the form takes; no NUL is written. Buffers of
 * FMT_ULONG bytes hold any unsigned long in any base here. */
#ifndef SLUICE_FMT_H
#define SLUICE_FMT_H

#include <stddef.h>

#define FMT_ULONG 40

size_t fmt_ulong(char *s, unsigned long u);
/* Decimal, left-padded with zeros to at least width digits. */
size_t fmt_ulong0(char *s, unsigned long u, size_t width);
/* Lower-case hexadecimal. */
size_t fmt_xlong(char *s, unsigned long u);
/* Signed decimal. */
size_t fmt_long(char *s, long l);

#endif
