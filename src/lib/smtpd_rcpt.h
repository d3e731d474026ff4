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
#include "str.h"

/* Longest name looked up; longer ones never match. */
#define SMTPD_RCPT_KEY_MAX 320

/* domain[0..len) (any case, one trailing dot ignored), then each
 * ".suffix" of it from the longest to the shortest. */
int smtpd_morercpthosts(struct cdb *c, const char *domain, size_t len);

/* local[0..len) (any case): "*", the exact key, then every proper
 * prefix of it, longest first, recorded with data "+". */
int smtpd_rcptcheck(struct cdb *c, const char *local, size_t len);

/* Opens control/rcptcheck.cdb (relative to the working directory,
 * conf-home) into c. Returns 1 (open), 0 (no such file: no check) or
 * -1 with errno (the file exists but cannot be used: every recipient
 * that would be checked is then unable to be checked). */
int smtpd_rcptcheck_open(struct cdb *c);

/* The recipient check of sluice-smtpd(8), which sluice-qmtpd(8)
 * applies too, for the address addr[0..len): when state (what
 * smtpd_rcptcheck_open returned) is not 0, the domain after the last @
 * is in locals (a control_readlist list) and the local part is not
 * postmaster (any case), the local part must pass smtpd_rcptcheck.
 * Returns 1 (accepted: checked and found, or not checked), 0 (no such
 * user: 550 5.1.1) or -1 (unable to check: 451 4.3.0; errno is set
 * when the cdb could be read but not parsed). */
int smtpd_rcpt_local(struct cdb *c, int state, const str *locals, const char *addr, size_t len);
/* The same with the recipient delimiters delims[0..dn) of
 * control/recipientdelimiter ('-' among them is ignored: qmail's
 * extensions are in the cdb already): a local part that fails the
 * check is tried again up to its first delimiter, so user+tag passes
 * when user does (aliases_delimiter, aliases.h). */
int smtpd_rcpt_local_delim(struct cdb *c, int state, const str *locals, const char *delims, size_t dn,
                           const char *addr, size_t len);

#endif
