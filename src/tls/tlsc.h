/* tlsc.h: the TLS client engine of sluice-tlsc (sluice-tlsc(8)), the
 * only code of the client side that links OpenSSL.
 *
 * tlsc_ctx_new() makes the context every client connection uses:
 * TLS 1.2 and 1.3 only, forward-secret ciphers (no RSA key exchange,
 * no anonymous, PSK or SRP suites), no compression, no renegotiation,
 * no session tickets (each process makes one connection), and no
 * verification that could abort the handshake: the chain and the
 * name are checked, and the result reported, but the policy is the
 * caller's (sluice-remote decides, sluice-remote(8)).
 *
 * Functions return 0 or -1 with a reason in *err (printable ASCII,
 * capped at TLSC_REASON_MAX bytes). The caller owns the strings, the
 * context and the connection. */
#ifndef SLUICE_TLSC_H
#define SLUICE_TLSC_H

#include <openssl/ssl.h>

#include "str.h"

#define TLSC_REASON_MAX 300

/* A new client context. Trusted CAs: the PEM file cafile, or the
 * system store (OpenSSL's default paths, /etc/ssl/certs on Debian)
 * when cafile is NULL. NULL with *err when no context could be made;
 * a CA file that cannot be loaded leaves *cafail set to the reason
 * (every certificate is then unverified) and still returns the
 * context. */
SSL_CTX *tlsc_ctx_new(const char *cafile, str *cafail, str *err);

/* A connection on the connected socket fd (made non-blocking) with SNI
 * and the name to check: the host name name, else the address ip (a
 * text), else nothing is checked (and nothing verifies). NULL with
 * *err. */
SSL *tlsc_new(SSL_CTX *ctx, int fd, const char *name, const char *ip, str *err);

/* Runs the handshake until it is done or the deadline (deadline.h)
 * passes, or until anything arrives on watch (-1: none), the caller's
 * plaintext descriptor: the caller sends nothing before the report, so
 * input or end of file there means it gave up. 0, or -1 with *err. */
int tlsc_handshake(SSL *ssl, int fd, int watch, long long deadline, str *err);

/* After the handshake: 1 when the chain verified to a trusted CA and
 * the certificate matches the name or address given to tlsc_new, else
 * 0 with the reason in *why. */
int tlsc_verified(SSL *ssl, const str *cafail, int checked, str *why);

/* Relays bytes until one side ends: plaintext read from in goes over
 * TLS on net, plaintext received over TLS is written to out. Ends when
 * in reaches end of file (after a close_notify is sent, without
 * waiting for it to be acknowledged) or is closed while bytes for the
 * server wait (the caller gave up), when the server closes, when out
 * fails, or when nothing moves for timeout_ms (0: no limit). 0 for an
 * orderly end, -1 with *err otherwise. */
int tlsc_relay(SSL *ssl, int net, int in, int out, unsigned long timeout_ms, str *err);

#endif
