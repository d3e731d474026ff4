/* sasl.h: the byte-level parts of SMTP AUTH (RFC 4954) for the PLAIN
 * (RFC 4616) and LOGIN mechanisms: base64 (RFC 4648) without line
 * breaks, and the split of a PLAIN response.
 *
 * Everything works on byte ranges that may hold any byte; nothing reads
 * or writes a descriptor. Functions return 0 on success and -1 with
 * errno set: EINVAL for input that breaks the rules (bad base64
 * character, wrong padding, a part too long, a missing NUL), ENOMEM.
 * The caller owns every str passed in; on failure the outputs hold
 * nothing useful (the caller should clear them: they may hold part of
 * a password). */
#ifndef SLUICE_SASL_H
#define SLUICE_SASL_H

#include <stddef.h>

#include "str.h"

/* The longest login and the longest password accepted (DJB's
 * checkpassword reads at most 512 bytes of fd 3). */
#define SASL_USER_MAX 255
#define SASL_PASS_MAX 255

/* out = the bytes in[0..n) encodes. Strict: only A-Z a-z 0-9 + /, the
 * length a multiple of 4, '=' only as padding at the end, and the bits
 * the padding leaves unused must be zero. An empty input decodes to
 * nothing. At most max bytes are produced: more is EINVAL. */
int base64_decode(const char *in, size_t n, str *out, size_t max);

/* Appends the base64 of in[0..n) to out, with padding. */
int base64_encode(const char *in, size_t n, str *out);

/* Splits a decoded PLAIN response "authzid NUL authcid NUL passwd".
 * authzid may be empty; when it is not, it must equal authcid (sluice
 * does not let one login act for another). authcid (the login) must be
 * 1..SASL_USER_MAX bytes and passwd 1..SASL_PASS_MAX, neither holding a
 * NUL. user and pass get copies. */
int sasl_plain_split(const char *p, size_t n, str *user, str *pass);

/* 1 when p[0..n) may be a login: 1..SASL_USER_MAX bytes, none of them a
 * NUL, control character or space (so it can go into a log line and a
 * Received field as it is); else 0. */
int sasl_user_ok(const char *p, size_t n);

/* Overwrites the bytes of s (a password) with zeros, in a way the
 * compiler cannot drop, and empties it. */
void sasl_wipe(str *s);

#endif
