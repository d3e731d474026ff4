/* addr.h: RFC 5321 envelope addresses as they follow "MAIL FROM:" and
 * "RCPT TO:", shared by every server and the injector.
 *
 * addr_parse_path() checks a Reverse-path or Forward-path and stores the
 * address in canonical form in the caller's str: without the angle
 * brackets, without a source route, and with the local part quoted only
 * when it must be ("\"john\"@x" becomes john@x, "\"john doe\"@x" stays,
 * inside quotes only '"' and '\' keep their backslash). The domain is
 * kept byte for byte (case included; address literals as written). The
 * null path "<>" gives an empty result.
 *
 * It returns ADDR_OK (0) or one of the negative addr_error codes below;
 * addr_strerror() names each in a short English text for the reply. On
 * ADDR_ENOMEM errno is set. On any error *out is left empty (length 0)
 * and *consumed is not changed. The caller owns *out (str_free it).
 *
 * ESMTP parameters (SIZE=, BODY=, SMTPUTF8, NOTIFY=...) are not parsed
 * here: *consumed points just after the path (after its '>'), where the
 * parameters begin; the byte there, if any, is a space or a tab, anything
 * else is a syntax error. smtpd splits and checks the parameters. */
#ifndef SLUICE_ADDR_H
#define SLUICE_ADDR_H

#include <stddef.h>

#include "str.h"

/* flags for addr_parse_path */
#define ADDR_ALLOW_NULL 1     /* accept "<>" (MAIL FROM) */
#define ADDR_ALLOW_NODOMAIN 2 /* accept a local part without "@domain" */
#define ADDR_LENIENT 4        /* accept what real clients send: a path
                               * without "<>", spaces just inside the
                               * brackets, and leading, trailing or
                               * doubled dots in an unquoted local part,
                               * and labels that begin or end with '-' */
#define ADDR_UTF8 8           /* SMTPUTF8 (RFC 6531): valid UTF-8 allowed
                               * in the local part and the domain */
#define ADDR_LONG 16          /* injector and queue: instead of the RFC
                               * 5321 limits below, only the result is
                               * limited, to ADDR_LONG_MAX bytes */
#define ADDR_ALLOW_POSTMASTER 32 /* accept "postmaster" (any case, also
                               * quoted) without "@domain", and no other
                               * local part alone (RFC 5321 4.1.1.3) */

/* RFC 5321 section 4.5.3.1, counted on the text as received */
#define ADDR_LOCAL_MAX 64   /* local part */
#define ADDR_DOMAIN_MAX 255 /* domain, brackets of a literal included */
#define ADDR_PATH_MAX 256   /* path, "<" and ">" and any route included */
#define ADDR_LONG_MAX 1003  /* qmail's limit on a queued address */
#define ADDR_LABEL_MAX 63   /* a label of an ASCII domain */

enum addr_error {
  ADDR_OK = 0,
  ADDR_ESYNTAX = -1,     /* malformed path */
  ADDR_ELOCALLONG = -2,  /* local part longer than 64 */
  ADDR_EDOMAINLONG = -3, /* domain longer than 255, or a label over 63 */
  ADDR_EPATHLONG = -4,   /* path longer than 256 (ADDR_LONG: result
                          * longer than 1003) */
  ADDR_ELITERAL = -5,    /* [...] that is not an IPv4 or IPv6 address */
  ADDR_E8BIT = -6,       /* byte >= 0x80 without ADDR_UTF8 */
  ADDR_EUTF8 = -7,       /* invalid UTF-8 (overlong, surrogate, cut) */
  ADDR_ENULL = -8,       /* "<>" without ADDR_ALLOW_NULL */
  ADDR_ENODOMAIN = -9,   /* no "@domain" without ADDR_ALLOW_NODOMAIN */
  ADDR_ENOMEM = -10      /* out of memory (errno set) */
};

/* Parses the path at s[0..n): optional spaces or tabs, then the path.
 * On success stores the canonical address in *out, sets *consumed to the
 * bytes used (up to and including '>') and returns ADDR_OK; otherwise
 * returns a negative enum addr_error. */
int addr_parse_path(const char *s, size_t n, int flags, str *out, size_t *consumed);

/* The same parser for an address that arrives bare, as QMTP and QMQP
 * carry it (sluice-qmtpd(8), sluice-qmqpd(8)): s[0..n) must be exactly
 * one address, no angle brackets, no blank before or after it (a
 * source route is still accepted and dropped). The empty string is the
 * null path. Flags as for addr_parse_path (ADDR_LENIENT then relaxes
 * only the dots and hyphens). Returns ADDR_OK with the canonical
 * address in *out, or a negative enum addr_error with *out empty. */
int addr_parse_bare(const char *s, size_t n, int flags, str *out);

/* A short English text for an addr_error code ("local part too long");
 * never NULL, also for unknown codes. */
const char *addr_strerror(int code);

/* The one place that splits an address into local part and domain:
 * every relay check (sluice-smtpd, sluice-qmtpd) and the routing of
 * sluice-send (rewrite.c) call it, so they cannot disagree.
 *
 * The domain follows the last '@' of addr[0..len), except when the
 * whole address is one quoted string ("\"a@b\"": a local part alone,
 * whatever it holds). On a canonical address from addr_parse_path this
 * is the '@' outside the quoted local part; on any other bytes it is
 * the last '@', as every later stage (the spawners, the delivery
 * programs) splits, so an address that does not parse can never look
 * domainless here and have a domain there ("\"victim@evil.example" and
 * "a\"@evil.example" have the domain evil.example). Appending "@dom"
 * to an address without domain always gives one whose domain is dom.
 *
 * Returns 1 and sets *local_len to the offset of that '@' (the domain
 * starts one byte later), or returns 0 and sets *local_len to len when
 * there is no domain. */
int addr_split(const char *addr, size_t len, size_t *local_len);

#endif
