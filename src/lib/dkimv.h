/* dkimv.h: the parts of DKIM verification (RFC 6376, RFC 8463) that
 * need no cryptography: splitting a message into header fields and
 * body, DKIM-Signature and key record parsing, and the exact bytes to
 * hash. The splitting and the simple and relaxed canonicalizations are
 * dkim_canon.h's, the code the signer uses; the hashing and the
 * signature check are in src/crypto/ (dkim_crypto.c, libcrypto).
 *
 * Functions return 0, or -1 with errno (EINVAL: malformed input, with
 * *why set to a short reason when the function takes one; ENOMEM,
 * EOVERFLOW). Structures own their memory (dkim_sig_free,
 * dkim_msg_free). Input lines may end in LF or CRLF; output lines end
 * in CRLF, as RFC 6376 3.4 hashes them. */
#ifndef SLUICE_DKIMV_H
#define SLUICE_DKIMV_H

#include <stddef.h>

#include "dkim_canon.h"
#include "str.h"

#define DKIM_FIELDS_MAX 1000

struct dkim_msg {
  const char *s;               /* the whole message (not owned) */
  size_t n;
  dkim_field *f;               /* header fields, top to bottom */
  size_t nf;
  size_t body;                 /* offset of the body (after the blank line) */
};

/* Splits s[0..n) with dkim_header_split: the header ends at an empty
 * line or at a line that is not a field (which starts the body); more
 * than DKIM_FIELDS_MAX fields is EINVAL. */
int dkim_msg_split(const char *s, size_t n, struct dkim_msg *m);
void dkim_msg_free(struct dkim_msg *m);

enum dkim_alg { DKIM_RSA_SHA256, DKIM_ED25519_SHA256 };

struct dkim_sig {
  enum dkim_alg alg;
  int header_simple, body_simple;
  str d, s, i, h;              /* h: the h= value without blanks */
  str b, bh;                   /* decoded */
  str b64;                     /* b= as given, without blanks (header.b) */
  int has_l;
  unsigned long long l;
};

/* Parses the value of a DKIM-Signature field (v=1, a, b, bh, c, d, h,
 * i, l, q, s, t, x; RFC 6376 3.5 and 6.1.1: required tags, h= must
 * name From, i= within d=, x= after t=). now: the time, for x=
 * (0: not checked). */
int dkim_sig_parse(const char *v, size_t n, long long now, struct dkim_sig *sig, const char **why);
void dkim_sig_free(struct dkim_sig *sig);

/* Appends the bytes of the body b[0..n) that a signature's bh= covers:
 * its canonical form (dkim_body_*), cut to l bytes when has_l (EINVAL
 * when the canonical body is shorter than l). */
int dkim_body_data(const char *b, size_t n, int simple, int has_l, unsigned long long l, str *out, const char **why);
/* out = the header bytes the signature of field sig_field covers: the
 * fields h= names, each taken from the bottom up, unused ones, then the
 * signature field itself with the b= value removed and no final CRLF
 * (RFC 6376 3.7, 5.4.2). */
int dkim_header_data(const struct dkim_msg *m, size_t sig_field, const struct dkim_sig *sig, str *out);

/* Parses a key record (RFC 6376 3.6.1): v=DKIM1 (first when present),
 * k=rsa or ed25519, h= naming sha256 when present, p= decoded into key
 * (empty: revoked, EINVAL), s= allowing email. *ed25519 is set for
 * k=ed25519; *strict for t=s (i= must be d= exactly). */
int dkim_key_parse(const char *v, size_t n, int *ed25519, int *strict, str *key, const char **why);

#endif
