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
/* The check of sluice-smtpd itself, which also follows passwd without
 * a rebuild of rcptcheck.cdb (sluice-newrcpt(8), "ACCOUNTS"):
 *  - a record "u" USER (a passwd account's address, from /etc/passwd)
 *    or "+u" USER (its prefix) counts only while USER is still in the
 *    passwd file with a uid other than 0: a userdel'ed account is
 *    refused at once;
 *  - a local part that no record accepts is accepted when it names an
 *    account of the passwd file (uid not 0) whose home directory
 *    exists and belongs to it (stat only, no home is read; a home the
 *    caller may not stat counts as its own): a useradd'ed account is
 *    accepted at once;
 *  - with the recipient delimiters delims[0..dn) of
 *    control/recipientdelimiter ('-' among them is ignored: qmail's
 *    extensions are in the cdb already), a local part that fails is
 *    tried again up to its first delimiter, so user+tag passes when
 *    user does (aliases_delimiter, aliases.h).
 * The passwd file (passwd_path, "/etc/passwd") is read once, at the
 * first need, into passwd; passwd_state is 0 before, 1 read, -1 not
 * readable (then nothing is accepted or refused through it). */
struct smtpd_rcpt {
  struct cdb *cdb;
  int state;               /* what smtpd_rcptcheck_open returned */
  const str *locals;
  const char *delims;
  size_t dn;
  const char *passwd_path;
  str passwd;
  int passwd_state;
};
int smtpd_rcpt_local_check(struct smtpd_rcpt *r, const char *addr, size_t len);

/* Looks name[0..n) up in the passwd file text[0..tn) (lines
 * "name:pw:uid:gid:gecos:home:shell"; NIS "+"/"-" lines skipped): 1
 * found (uid and home filled), 0 not, -1 no memory. */
int smtpd_passwd_find(const char *text, size_t tn, const char *name, size_t n, unsigned long *uid, str *home);

#endif
