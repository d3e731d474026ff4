/* smtpauth.h: credentials for authenticated smarthosts
 * (control/smtpauth, sluice-smtpauth(5)).
 *
 * The file holds lines
 *     key login:password
 *     key options login:password
 * read with control_readlist_private (comments and blank lines gone,
 * a file that others may read refused) and searched here; nothing is
 * cached. A key is
 *   [relay]:port  a relay of control/smtproutes as written there (a
 *                 host name or an address) with the port used;
 *   [relay]       that relay on any port;
 *   domain        the recipient domain itself (no suffixes, no default).
 * Fields are separated by spaces or tabs. The field after the key is
 * the credentials when it holds a ':', else a comma-separated list of
 * options (tls=verify, tls=encrypt, tls=none; auth=plain, auth=login),
 * followed by the credentials. The credentials are the rest of the
 * line: the login up to the first ':' (no white space in it), the
 * password everything after it (colons and inner spaces included).
 * Login and password are 1 to SMTPAUTH_FIELD_MAX bytes.
 *
 * Search order for a delivery to domain d through relay r on port p:
 * "[r]:p", "[r]", then d (r empty: only d); the first line with that
 * key wins. Keys compare ignoring ASCII case and one trailing dot.
 *
 * No error path of this module ever copies a byte of a line into a
 * message: a line holds a password. Functions return as documented or
 * -1 with errno set (EINVAL for a malformed line, ENOMEM). The caller
 * owns every str and should str_free (which clears) the credentials. */
#ifndef SLUICE_SMTPAUTH_H
#define SLUICE_SMTPAUTH_H

#include <stddef.h>

#include "str.h"

#define SMTPAUTH_FIELD_MAX 512 /* bytes of a login or a password */

#define SMTPAUTH_TLS_NONE 0    /* AUTH even in plaintext */
#define SMTPAUTH_TLS_ENCRYPT 2 /* AUTH only over TLS */
#define SMTPAUTH_TLS_VERIFY 3  /* only over TLS with a verified certificate
                                * (the default); the values are those of
                                * tlspolicy.h's levels */

#define SMTPAUTH_MECH_ANY 0    /* PLAIN when offered, else LOGIN */
#define SMTPAUTH_MECH_PLAIN 1
#define SMTPAUTH_MECH_LOGIN 2

struct smtpauth {
  str login;
  str password;
  int tls;  /* SMTPAUTH_TLS_* */
  int mech; /* SMTPAUTH_MECH_* */
};

#define SMTPAUTH_INIT { STR_INIT, STR_INIT, SMTPAUTH_TLS_VERIFY, SMTPAUTH_MECH_ANY }

/* Splits one line s[0..n): *keylen = the length of its key, the rest
 * into *a. 0, or -1 EINVAL when the key is empty, a '[' is not closed,
 * a port is not 1..65535, an option is unknown, the credentials have no
 * ':', an empty or too long login or password, white space in the
 * login, or a NUL byte anywhere. */
int smtpauth_parse(const char *s, size_t n, size_t *keylen, struct smtpauth *a);

/* Looks a delivery up in list: relay[0..rlen) (rlen 0: none) on port,
 * and domain[0..dlen). 1 with *a filled, 0 when no line matches (*a
 * emptied), -1 when any line is malformed (every line is checked, so a
 * typo is noticed at once) or on ENOMEM. */
int smtpauth_find(const str *list, const char *relay, size_t rlen, unsigned long port, const char *domain, size_t dlen,
                  struct smtpauth *a);

/* out = base64 (RFC 4648, padded) of s[0..n). 0 or -1 ENOMEM. */
int smtpauth_base64(str *out, const char *s, size_t n);

/* out = the AUTH PLAIN response (RFC 4616): base64 of NUL login NUL
 * password. 0 or -1 ENOMEM; no copy in clear is left behind. */
int smtpauth_plain(str *out, const struct smtpauth *a);

void smtpauth_free(struct smtpauth *a);

#endif
