/* tlspolicy.h: the outbound TLS policy of sluice-remote
 * (control/tlsdestinations, sluice-control(5) and sluice-remote(8)).
 *
 * The file holds lines "key:level" or "key:level:cafile". The list is
 * read with control_readlist (comments and blank lines gone) and
 * searched here; nothing is cached. A key is
 *   [relay]   a relay of control/smtproutes as written there (a host
 *             name or an address, in brackets), for mail sent to it;
 *   domain    the recipient domain itself;
 *   .suffix   every domain below suffix;
 *   (empty)   the default.
 * level is none, may, encrypt or verify (Postfix's
 * smtp_tls_security_level); cafile, when given, is a file of trusted
 * CA certificates (PEM) that replaces the system store for that line,
 * taken as everything after the second colon.
 *
 * Search order for a delivery to domain d through relay r (r empty
 * when the hosts come from DNS): "[r]", then d, then ".suffix" lines
 * for each suffix of d from the longest, then the empty key; the first
 * line with that key wins. No line: may, the system store. Keys
 * compare ignoring ASCII case and one trailing dot.
 *
 * Functions return as documented or -1 with errno set (EINVAL for a
 * malformed line, ENOMEM). The caller owns every str. */
#ifndef SLUICE_TLSPOLICY_H
#define SLUICE_TLSPOLICY_H

#include <stddef.h>

#include "str.h"

#define TLSPOLICY_NONE 0    /* never STARTTLS */
#define TLSPOLICY_MAY 1     /* STARTTLS when offered, no verification,
                             * plaintext again after a failed handshake */
#define TLSPOLICY_ENCRYPT 2 /* TLS or no delivery to that host */
#define TLSPOLICY_VERIFY 3  /* TLS with a verified certificate that
                             * matches the host name */

struct tlspolicy {
  int level;
  str cafile; /* empty: the system store */
};

#define TLSPOLICY_INIT { TLSPOLICY_MAY, STR_INIT }

/* Splits one line s[0..n): *keylen = the length of its key (brackets
 * included for a relay key), the level and CA file into *p. 0, or -1
 * EINVAL when the line has no ':' after its key, an unclosed '[', an
 * unknown level, an empty cafile after a second ':', or a NUL byte. */
int tlspolicy_parse(const char *s, size_t n, size_t *keylen, struct tlspolicy *p);

/* Looks a delivery up in list (made by control_readlist): relay[0..rlen)
 * (rlen 0: none) and domain[0..dlen). Returns 1 with *p filled from the
 * matching line, 0 with *p set to the default (may, no CA file) when
 * none matches, -1 when any line is malformed (every line is checked,
 * so a typo is noticed at once) or on ENOMEM. */
int tlspolicy_find(const str *list, const char *relay, size_t rlen, const char *domain, size_t dlen,
                   struct tlspolicy *p);

/* "none", "may", "encrypt", "verify" */
const char *tlspolicy_name(int level);

void tlspolicy_free(struct tlspolicy *p);

#endif
