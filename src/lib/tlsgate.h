/* tlsgate.h: asking sluice-tlsgate (sluice-tlsgate(8)) for STARTTLS,
 * the client side, as sluice-smtpd does it when SLUICE_TLSGATE names
 * the gate's socket instead of a UCSPI-TLS wrapper around it.
 *
 * The exchange, on a unix stream socket: the gate answers a new
 * connection with `+' when it will serve it (it has the certificates
 * read), `-' or nothing (closed) otherwise; then the client sends one
 * message: the mode byte (`Y': send the connection details back, `y':
 * do not), optionally the client's IP address (at most 45 bytes, for
 * the log), and three descriptors attached with SCM_RIGHTS: the
 * client's connection, the write end of the pipe on which the relay
 * hands the cleartext to the client program, and the read end of the
 * pipe on which it takes the replies. From then on the socket is the
 * UCSPI-TLS control socket (SSLCTLFD): the details come back on it
 * (ucspitls.h), and its end tells that the relay is gone. */
#ifndef SLUICE_TLSGATE_H
#define SLUICE_TLSGATE_H

#include <stddef.h>

#define TLSGATE_ENV "SLUICE_TLSGATE"

/* Connects to the gate at path and waits at most ms milliseconds for
 * its `+'. The connected socket (close-on-exec, blocking), or -1 with
 * errno (EAGAIN: the gate is busy or did not answer in time; ECONNREFUSED
 * or ENOENT: no gate; EPROTO: it refused). */
int tlsgate_open(const char *path, int ms);

#define TLSGATE_IP_MAX 45

/* 1 when ip[0..n) may go in a request: at most TLSGATE_IP_MAX of the
 * characters of an IPv4 or IPv6 address (digits, a-f, A-F, '.', ':'). */
int tlsgate_ip_ok(const char *ip, size_t n);

/* The gate's check of a request's bytes rec[0..n): the mode byte y or
 * Y, then nothing or an address that passes tlsgate_ip_ok. 0 with
 * *mode, *ip (pointing into rec) and *iplen set, or -1 (rejected). */
int tlsgate_request_parse(const char *rec, size_t n, char *mode, const char **ip, size_t *iplen);

/* Sends the request: mode, ip[0..iplen) (left out unless tlsgate_ip_ok)
 * and the three descriptors. 0, or -1 with errno. */
int tlsgate_request(int gate, char mode, const char *ip, size_t iplen, int conn, int to_app, int from_app);

#endif
