/* ip.h: IPv4 and IPv6 addresses in text form, both ways.
 *
 * The scanners read the text at s[0..n) and store the address in network
 * byte order in the caller's array. They return how many bytes they
 * consumed, or 0 when the text does not start with a valid address (out
 * is then left untouched). They stop at the first byte that cannot
 * continue the address; the caller decides whether trailing bytes are an
 * error (compare the result with n for a whole-string match).
 *
 * The formatters write the text (no NUL) to out and return its length;
 * with out NULL they only return the length. IP4_FMT and IP6_FMT bytes
 * always suffice. Nothing here allocates or fails otherwise. */
#ifndef SLUICE_IP_H
#define SLUICE_IP_H

#include <stddef.h>

#define IP4_FMT 16 /* "255.255.255.255" plus room for a NUL */
#define IP6_FMT 40 /* eight groups of four, seven colons, plus a NUL */

/* Strict dotted quad: exactly four decimal parts 0..255 separated by
 * dots, no sign, no leading zero ("01" is refused: some resolvers read it
 * as octal), at most three digits a part. */
size_t ip4_scan(const char *s, size_t n, unsigned char out[4]);
/* Dotted quad, e.g. "127.0.0.1". */
size_t ip4_fmt(char *out, const unsigned char ip[4]);

/* RFC 4291 section 2.2 text forms: eight groups of 1..4 hex digits
 * (either case) separated by colons, "::" standing for one or more zero
 * groups at most once, and an optional dotted quad as the last 32 bits
 * ("::ffff:1.2.3.4", "64:ff9b::192.0.2.33"). */
size_t ip6_scan(const char *s, size_t n, unsigned char out[16]);
/* RFC 5952 canonical form: lower case, no leading zeros in a group, the
 * longest run of two or more zero groups as "::" (the first such run on
 * a tie), IPv4-mapped addresses as "::ffff:a.b.c.d". */
size_t ip6_fmt(char *out, const unsigned char ip[16]);

#endif
