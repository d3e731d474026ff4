/* smtpd_rcpt.h: recipient lookups of sluice-smtpd in constant databases.
 *
 * control/morercpthosts.cdb: keys are domains as in control/rcpthosts,
 * lower case, without a trailing dot; a key ".example.com" stands for
 * every name below example.com. The data is ignored.
 *
 * control/rcptcheck.cdb (written by sluice-newrcpt, sluice-newrcpt(8)):
 * keys are lower-case local parts. Data "=" marks a local part that
 * exists; data "+" marks a prefix: every local part that starts with
 * the key exists (the key itself included). The key "*" (any data)
 * turns the check off: every local part exists.
 *
 * Both lookups return 1 (match), 0 (no match) or -1 with errno set (a
 * malformed cdb: EPROTO; or ENOMEM). Nothing is allocated that outlives
 * a call; the struct cdb is the caller's. */
#ifndef SLUICE_SMTPD_RCPT_H
#define SLUICE_SMTPD_RCPT_H

#include <stddef.h>

#include "cdb.h"

/* Longest name looked up; longer ones never match. */
#define SMTPD_RCPT_KEY_MAX 320

/* domain[0..len) (any case, one trailing dot ignored), then each
 * ".suffix" of it from the longest to the shortest. */
int smtpd_morercpthosts(struct cdb *c, const char *domain, size_t len);

/* local[0..len) (any case): "*", the exact key, then every proper
 * prefix of it, longest first, recorded with data "+". */
int smtpd_rcptcheck(struct cdb *c, const char *local, size_t len);

#endif
