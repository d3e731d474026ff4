/* domain.h: domain names in mail addresses and control lists.
 *
 * Comparisons ignore ASCII case and one trailing dot ("Example.COM."
 * equals "example.com"). Nothing here allocates or fails: the
 * predicates return 1 or 0. Every name travels with its length; no
 * NUL terminator is needed. */
#ifndef SLUICE_DOMAIN_H
#define SLUICE_DOMAIN_H

#include <stddef.h>

#include "str.h"

/* 1 when a[0..alen) and b[0..blen) name the same domain. */
int domain_equal(const char *a, size_t alen, const char *b, size_t blen);

/* 1 when host matches an entry of list, a run of NUL-terminated entries
 * as made by control_readlist (rcpthosts, locals, ...). An entry
 * "example.com" matches that name only; an entry ".example.com"
 * matches every name below it (a.example.com, a.b.example.com) but not
 * example.com itself. Empty entries (and "." alone) match nothing; an
 * empty host, or one holding a NUL byte, matches nothing. */
int domain_match_list(const char *host, size_t hostlen, const str *list);

/* 1 when s[0..n) is a syntactically valid host name: dot-separated
 * labels of 1..63 letters, digits, hyphens and underscores, no label
 * starting or ending with a hyphen, at most 253 bytes (one trailing dot
 * allowed on top), and a last label that is not all digits (so
 * "192.0.2.1" is not a name; RFC 3696 section 2). Underscores are
 * accepted although RFC 1123 host names have none: DNS allows them,
 * real mail hosts use them, and refusing them would bounce mail that
 * can be delivered. Address literals ("[192.0.2.1]") are not names. */
int domain_valid(const char *s, size_t n);

/* For an address s[0..n): 1 with *off = the index just after the '@'
 * that addr_split (addr.h) names, the last one (the domain is
 * s[*off..n), possibly empty), or 0 when there is no domain (no '@', or
 * the whole address is one quoted string; *off untouched). */
int domain_of(const char *s, size_t n, size_t *off);

#endif
