/* xtext.h: the xtext encoding of RFC 3461 section 4 (DSN's ENVID and
 * ORCPT values, also AUTH=):
 *
 *   xtext   = *( xchar / hexchar )
 *   xchar   = any byte from 33 to 126 but "+" and "="
 *   hexchar = "+" followed by two upper-case hex digits
 *
 * Decoding checks the syntax and, because the decoded values of ENVID
 * and ORCPT end up in the header of delivery status notifications,
 * that every decoded byte is printable US-ASCII (32 to 126): RFC 3461
 * 4.1 and 4.2 ask for nothing else. Nothing here allocates except into
 * the caller's str; nothing reads or writes a descriptor. */
#ifndef SLUICE_XTEXT_H
#define SLUICE_XTEXT_H

#include <stddef.h>

#include "str.h"

/* Decodes s[0..n) into *out (replacing its content). 0, or -1 with
 * errno EINVAL (bad syntax, or a decoded byte outside 32..126; *out is
 * then empty) or ENOMEM. */
int xtext_decode(const char *s, size_t n, str *out);

/* Appends s[0..n) encoded as xtext to *out. 0, or -1 (ENOMEM,
 * EOVERFLOW) with *out as before. */
int xtext_encode_cat(str *out, const char *s, size_t n);

#endif
