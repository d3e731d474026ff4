/* str.h: length-carrying, growable, binary-safe strings.
 *
 * A str owns the heap block s[0..a); the content is s[0..len). Content
 * may hold NUL bytes; nothing relies on a terminator. str_0() places a
 * NUL after the content (not counted in len) for the rare system call
 * that wants one. Every growth goes through str_ready(), which checks
 * each addition and multiplication for overflow.
 *
 * Functions return 0 on success and -1 on failure with errno set
 * (ENOMEM, or EOVERFLOW when a size would wrap); on failure the string
 * is unchanged. A zero-initialised str (STR_INIT) is empty and valid. */
#ifndef SLUICE_STR_H
#define SLUICE_STR_H

#include <stddef.h>

typedef struct str {
  char *s;
  size_t len;
  size_t a;
} str;

#define STR_INIT { 0, 0, 0 }

/* Makes room for n bytes of content plus a terminator slot. */
int str_ready(str *sa, size_t n);
/* Makes room for len + n bytes of content plus a terminator slot. */
int str_readyplus(str *sa, size_t n);
int str_copyb(str *sa, const char *s, size_t n);
int str_copys(str *sa, const char *s);
int str_copy(str *to, const str *from);
int str_catb(str *sa, const char *s, size_t n);
int str_cats(str *sa, const char *s);
int str_cat(str *to, const str *from);
int str_catc(str *sa, char c);
/* Appends the decimal form of u. */
int str_catulong(str *sa, unsigned long u);
/* Puts a NUL after the content without counting it. */
int str_0(str *sa);
/* Drops the content, keeps the block. */
void str_truncate(str *sa, size_t n);
/* Frees the block (clearing it first) and resets to STR_INIT. */
void str_free(str *sa);
/* 1 when the content equals the NUL-terminated s exactly. */
int str_equals(const str *sa, const char *s);

#endif
