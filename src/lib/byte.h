/* byte.h: operations on byte ranges (pointer plus length).
 *
 * Nothing here looks for a NUL terminator: every range carries its
 * length. None of these fail. */
#ifndef SLUICE_BYTE_H
#define SLUICE_BYTE_H

#include <stddef.h>

/* Index of the first c in s[0..n), or n when there is none. */
size_t byte_chr(const char *s, size_t n, int c);
/* Index of the last c in s[0..n), or n when there is none. */
size_t byte_rchr(const char *s, size_t n, int c);
/* 1 when a[0..n) equals b[0..n), else 0. */
int byte_equal(const char *a, const char *b, size_t n);
/* 1 when the ranges are equal ignoring ASCII case, else 0. */
int case_equalb(const char *a, size_t alen, const char *b, size_t blen);
/* 1 when s[0..n) starts with the NUL-terminated prefix p (ASCII case
 * ignored when fold is non-zero). */
int byte_startswith(const char *s, size_t n, const char *p, int fold);
/* Lower-cases ASCII letters of s[0..n) in place. */
void case_lowerb(char *s, size_t n);
/* Length of the NUL-terminated s, at most max (max when no NUL). */
size_t byte_len(const char *s, size_t max);
/* 1 when a byte of s[0..n) is 0x80 or more (not ASCII), else 0. */
int byte_8bit(const char *s, size_t n);

#endif
