/* ucspitls.h: the connection details of the UCSPI-TLS convention, as
 * a UCSPI-TLS server (sluice-tlsd) sends them after a `Y' command and
 * an application (sluice-smtpd) reads them: variables "NAME=value",
 * each ended by a NUL byte, and one more NUL after the last ("\0" or
 * "\0\0" alone: no variable). No TLS library here; these only handle
 * bytes, so the SMTP server stays free of one.
 *
 * The details come from another process: every function takes a byte
 * range, reads nothing past it and relies on no terminator. The caller
 * owns every buffer and str. */
#ifndef SLUICE_UCSPITLS_H
#define SLUICE_UCSPITLS_H

#include <stddef.h>

#include "str.h"

/* The longest details string accepted, final NUL included. */
#define UCSPITLS_DETAILS_MAX 4096

/* 1 when p[0..n) is a whole details string (ends "\0\0" with variables,
 * or is "\0" or "\0\0" with none), 0 when more bytes are needed, -1 when
 * it cannot become one: an entry without '=' or with an empty name, or
 * more than UCSPITLS_DETAILS_MAX bytes. Bytes after the end count as
 * malformed (-1). */
int ucspitls_details_complete(const char *p, size_t n);

/* The value of variable name in the whole details string p[0..n): a
 * pointer into p and its length in *len, or NULL when absent. */
const char *ucspitls_detail(const char *p, size_t n, const char *name, size_t *len);

/* out = "VERSION CIPHER" (or "VERSION" alone when the cipher is empty;
 * "TLS" when the version is), each cut to 64 bytes, every byte other
 * than A-Z a-z 0-9 . _ - made '_': safe in a header comment and a log
 * line. 0, or -1 (ENOMEM). */
int ucspitls_describe(str *out, const char *version, size_t vlen, const char *cipher, size_t clen);

#endif
