/* tlsctx.h: the OpenSSL set-up shared by sluice's TLS programs
 * (sluice-tlsd, sluice-tlsc). Only programs under src/tls link OpenSSL;
 * the core library (src/lib) never includes this header.
 *
 * The policy is fixed here so that every TLS program offers the same:
 * TLS 1.2 and 1.3 only; for TLS 1.2 only forward-secret (ECDHE) AEAD
 * ciphers, the server's order preferred; no compression (CRIME), no
 * renegotiation; no session tickets or session cache (each connection
 * is its own process, so nothing could be resumed anyway).
 *
 * Functions return a context or 1 on success; NULL or 0 on failure,
 * with the reason left on OpenSSL's error queue (tls_error_text). The
 * caller owns the SSL_CTX and frees it with SSL_CTX_free. */
#ifndef SLUICE_TLSCTX_H
#define SLUICE_TLSCTX_H

#include <stddef.h>

#include <openssl/ssl.h>

/* TLS 1.2 cipher list: ECDHE key exchange, AEAD only. TLS 1.3 suites
 * are all forward-secret; OpenSSL's default set is kept. */
#define TLSCTX_CIPHERS_12 "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"

/* A context with the policy above; server 1 for a server, 0 for a
 * client. Certificates are not loaded. */
SSL_CTX *tlsctx_new(int server);

/* Loads the certificate chain and the private key, both from the PEM
 * file path (the key may sit before or after the certificates), and
 * checks that they match. The file is opened, read and closed here. */
int tlsctx_load_pem(SSL_CTX *ctx, const char *path);
/* The same from the file's bytes pem[0..len): 1 ok, 0 not usable. */
int tlsctx_load_pem_mem(SSL_CTX *ctx, const char *pem, size_t len);

/* The first error on OpenSSL's queue as text in buf[0..n) (always
 * NUL-terminated when n > 0), and the queue emptied. */
const char *tls_error_text(char *buf, size_t n);

#endif
