/* smtproutes.h: static routes for remote delivery (sluice-smtproutes(5)).
 *
 * control/smtproutes holds lines "domain:relay:port". The list is read
 * with control_readlist (comments and blank lines gone) and searched
 * here; nothing is cached between calls. A relay is empty (use the MX
 * records of the recipient's domain), a host name, an IPv4 address or
 * an IPv6 address in brackets ("[::1]"); the port is optional (25).
 *
 * Search order for a domain d, as qmail does it: the line whose domain
 * is d itself, then ".suffix" lines for each suffix of d from the
 * longest (".b.c" for "a.b.c") to the shortest (".c"), then the line
 * with an empty domain. Among lines with the same key the first in the
 * file wins. Keys compare ignoring ASCII case and one trailing dot.
 *
 * Functions return 1 / 0 as documented, or -1 with errno set (EINVAL
 * for a malformed line, ENOMEM). The caller owns every str. */
#ifndef SLUICE_SMTPROUTES_H
#define SLUICE_SMTPROUTES_H

#include <stddef.h>

#include "str.h"

#define SMTPROUTES_PORT 25

struct smtproute {
  str relay;          /* host name or address text, brackets removed; empty: MX */
  int literal;        /* 0 host name, 4 IPv4 address, 6 IPv6 address, -1 empty */
  unsigned char ip[16];
  unsigned long port; /* 1..65535 */
};

#define SMTPROUTE_INIT { STR_INIT, -1, { 0 }, SMTPROUTES_PORT }

/* Splits one line s[0..n) into its domain key (*key = s + *keyoff,
 * *keylen bytes) and the route. 0, or -1 EINVAL when the line has no
 * ':', an unclosed '[', a bracketed text that is not an IPv6 or IPv4
 * address, a relay that is neither empty nor a valid host name nor an
 * IPv4 address, or a port outside 1..65535 or with trailing bytes. */
int smtproutes_parse(const char *s, size_t n, size_t *keylen, struct smtproute *route);

/* Looks domain[0..len) up in list (entries as made by
 * control_readlist). Returns 1 with *route filled, 0 when no line
 * matches, -1 when a line that had to be looked at is malformed (every
 * line is checked, so a typo anywhere is noticed at once) or on ENOMEM. */
int smtproutes_find(const str *list, const char *domain, size_t len, struct smtproute *route);

void smtproute_free(struct smtproute *route);

#endif
