/* rewrite.h: how sluice-send classifies a recipient as local or remote.
 *
 * The rules and their order are qmail's (sluice-send(8)):
 *  1. an address without '@' gets "@" and control/envnoathost (default
 *     control/me);
 *  2. when the domain is listed in control/percenthack, "user%host@dom"
 *     becomes "user@host", repeatedly (not in a quoted local part);
 *  3. a domain listed in control/locals (default control/me) is local,
 *     address unchanged;
 *  4. control/virtualdomains lines "key:prepend" are looked up with the
 *     keys "user@domain", "domain", each ".suffix" of the domain from the
 *     longest, then the empty key; on a match with a non-empty prepend
 *     the recipient is local as "prepend-user@domain"; an empty prepend
 *     makes it remote (an exception);
 *  5. everything else is remote.
 * Domains compare without regard to ASCII case. The domain is what
 * addr_split (addr.h) says, as in the servers' relay checks.
 *
 * rewrite_load reads the control files relative to the current
 * directory (conf-home) into the struct, which owns them; rewrite_free
 * releases them. Functions return 0 / 1 as documented, -1 with errno. */
#ifndef SLUICE_REWRITE_H
#define SLUICE_REWRITE_H

#include <stddef.h>

#include "str.h"

struct rewrite {
  str locals;
  str virtualdomains;
  str percenthack;
  str envnoathost;
};

#define REWRITE_INIT { STR_INIT, STR_INIT, STR_INIT, STR_INIT }

/* Reads control/{me,locals,virtualdomains,percenthack,envnoathost}.
 * Returns 0, or -1 with errno when a file exists but cannot be read;
 * *bad names it then. */
int rewrite_load(struct rewrite *rw, const char **bad);
void rewrite_free(struct rewrite *rw);
/* Returns 1 (local) or 0 (remote) with the address to deliver to in
 * out, or -1 with errno (ENOMEM, or EINVAL for a result over 1003 bytes). */
int rewrite_classify(const struct rewrite *rw, const char *addr, size_t len, str *out);

/* 1 when rule 2 would rewrite addr[0..len) given the control/percenthack
 * list percenthack (as rewrite_load reads it): its domain is listed and
 * its unquoted local part holds a '%'. Such a recipient leaves for the
 * host after the '%', so sluice-smtpd(8) and sluice-qmtpd(8) take it
 * only from relay clients. An address without domain gives 0 (the
 * servers accept none but postmaster). */
int rewrite_percenthack_applies(const str *percenthack, const char *addr, size_t len);

#endif
