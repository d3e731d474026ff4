/* dkimsign.h: building DKIM-Signature fields (RFC 6376, RFC 8463) for
 * sluice-dkimsign. The hashing uses libcrypto; the private key is never
 * here: signing is a callback (in sluice-dkimsign, a request to the
 * process that holds the keys).
 *
 * Returns 0, or -1 with errno set (ENOMEM, or EIO when the callback
 * failed). */
#ifndef SLUICE_DKIMSIGN_H
#define SLUICE_DKIMSIGN_H

#include <stddef.h>

#include "str.h"

#define DKIM_RSA 1
#define DKIM_ED25519 2
#define DKIM_SIGMAX 512

/* sign the 32-byte digest with key number key of type alg: writes the
 * signature to sig (at most DKIM_SIGMAX bytes), returns its length, or
 * -1 on failure. */
typedef int (*dkim_signer)(void *arg, unsigned key, int alg,
                           const unsigned char digest[32], unsigned char *sig);

typedef struct dkim_sign_request {
  const char *domain;   /* d= */
  const char *selector; /* s= */
  int alg;              /* DKIM_RSA or DKIM_ED25519 */
  unsigned key;         /* passed to the signer */
  int relaxed;          /* 1: relaxed/relaxed, 0: simple/simple */
  unsigned long t;      /* t= */
} dkim_sign_request;

/* Appends to out one DKIM-Signature field, with a final line end, for
 * the message msg[0..n) (header and body), its lines ending in nl
 * ("\n" or "\r\n"). */
int dkim_sign_message(str *out, const char *msg, size_t n, const char *nl,
                      const dkim_sign_request *req, dkim_signer signer, void *arg);

#endif
