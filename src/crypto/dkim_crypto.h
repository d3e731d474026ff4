/* dkim_crypto.h: the libcrypto half of DKIM verification (RFC 6376
 * rsa-sha256, RFC 8463 ed25519-sha256), as authcheck.h's struct
 * authcheck_crypto wants it. */
#ifndef SLUICE_DKIM_CRYPTO_H
#define SLUICE_DKIM_CRYPTO_H

#include <stddef.h>

#include "str.h"

/* SHA-256 of s[0..n): 0, or -1 when libcrypto fails. */
int dkim_crypto_sha256(const char *s, size_t n, unsigned char out[32]);
/* Checks sig over data[0..n) with the key of a DKIM key record (p=,
 * decoded): for RSA a SubjectPublicKeyInfo (or a bare RSAPublicKey, as
 * some publish it) of at least 1024 bits, PKCS#1 v1.5 with SHA-256; for
 * Ed25519 the 32 raw bytes, signing the SHA-256 of data (RFC 8463 3).
 * 1 good, 0 bad, -1 unusable key. */
int dkim_crypto_verify(int ed25519, const str *key, const str *sig, const char *data, size_t n);

#endif
