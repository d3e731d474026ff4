/* dkim_canon.h: DKIM (RFC 6376 section 3.4) header splitting and the
 * simple and relaxed canonicalizations, without any cryptography: the
 * one implementation that the signer (src/crypto/dkimsign.c) and the
 * verifier (dkimv.c, for sluice-authcheck) share, so that both cut a
 * message into the same fields and hash the same bytes, and a fuzzer
 * can reach them.
 *
 * Messages are taken as the queue holds them (LF line ends) or as they
 * travel (CRLF): a line ends at LF, and a CR right before it belongs to
 * the line end. Canonical output always uses CRLF.
 *
 * Every function returns 0, or -1 with errno set (ENOMEM, EOVERFLOW)
 * when an output str could not grow; outputs are caller-owned strs and
 * are appended to, never replaced. */
#ifndef SLUICE_DKIM_CANON_H
#define SLUICE_DKIM_CANON_H

#include <stddef.h>

#include "str.h"

/* One header field of a message: the bytes msg[start..end) hold the
 * whole field, continuation lines included, without its final line end;
 * the name is msg[start..start+namelen) (white space before the colon
 * excluded); the value is msg[value..end) (value: just after the
 * colon); next is the offset after the field's line end (the next
 * field's start), so msg[start..next) is the field as it stands. */
typedef struct dkim_field {
  size_t start;
  size_t end;
  size_t namelen;
  size_t value;
  size_t next;
} dkim_field;

/* Splits the header of msg[0..n) into fields. Writes at most max
 * fields to f (f may be 0 when max is 0), sets *count to the number of
 * fields seen (which may be larger than max: the caller treats that as
 * too many) and *body to the offset of the body (after the empty line;
 * n when there is none). A field starts with a name of printable ASCII
 * other than ':' and a colon, white space allowed before the colon
 * (rfc822_field_name, the injector's rule); any other line that is not
 * a continuation ends the header (RFC 5322 has no such line; it and
 * what follows are treated as the body, as the queue would show
 * them). Never fails. */
void dkim_header_split(const char *msg, size_t n, dkim_field *f, size_t max,
                       size_t *count, size_t *body);

/* Appends the canonical form of one field (s[0..n), without its final
 * line end) followed by CRLF when crlf is 1. relaxed: 1 relaxed, 0
 * simple. */
int dkim_canon_header(str *out, const char *s, size_t n, int relaxed, int crlf);

/* Body canonicalization, fed in pieces of any size. */
typedef struct dkim_body {
  int relaxed;
  int any;              /* some canonical byte has been produced */
  unsigned long blanks; /* empty lines held back (they may be trailing) */
  str line;             /* the current line, canonical so far */
  int wsp;              /* relaxed: white space held back in the line */
  int cr;               /* a CR held back (it may start a line end) */
} dkim_body;

void dkim_body_init(dkim_body *b, int relaxed);
/* Appends to out the canonical bytes that s[0..n) makes certain. */
int dkim_body_update(dkim_body *b, str *out, const char *s, size_t n);
/* Appends the rest at the end of the body (and frees b's memory). */
int dkim_body_final(dkim_body *b, str *out);

/* 1 when s[0..n) names field name (case-insensitive), else 0. */
int dkim_field_is(const char *msg, const dkim_field *f, const char *name);

/* The domain of the first address in the first From field (among the
 * first 1000 fields), lower case, white space and comments dropped,
 * trailing dots removed, into dom (replaced); 0 when found, -1 when
 * there is none (no From, no @, empty) or no memory. */
int dkim_from_domain(const char *msg, size_t n, str *dom);

#endif
