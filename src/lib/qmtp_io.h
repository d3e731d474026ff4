/* qmtp_io.h: descriptor work shared by sluice-qmtpd, sluice-qmqpd and
 * sluice-qmqpc: reading netstrings from a buf piece by piece (so no
 * length is trusted before it is checked), and starting the injector.
 *
 * Every function returns what its comment says, or -1 with errno set:
 * EPROTO for bad syntax or end of file in the middle of a netstring,
 * EMSGSIZE for a length over the caller's bound, ETIMEDOUT when the
 * buf's deadline passed, ENOMEM, or what read/pipe/fork reported. The
 * caller owns every buf, str and descriptor. */
#ifndef SLUICE_QMTP_IO_H
#define SLUICE_QMTP_IO_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "str.h"

/* Reads the length prefix "len:" of a netstring whose data may be at
 * most max bytes. Returns 1 with *len (and *prefix, the bytes of the
 * prefix with its ':', when prefix is not NULL); 0 when end of file came
 * before the first byte (a clean end between requests); -1 otherwise. */
int qmtp_read_len(buf *in, size_t max, size_t *len, size_t *prefix);
/* Reads the ',' that ends a netstring: 0, or -1 (EPROTO for any other
 * byte or end of file). */
int qmtp_read_comma(buf *in);
/* Reads len data bytes into out (replacing its content) and then the
 * ','. Returns 0 or -1. The caller bounds len before calling. */
int qmtp_read_data(buf *in, size_t len, str *out);
/* Reads one complete netstring of at most max data bytes into out:
 * qmtp_read_len then qmtp_read_data. 1, 0 (clean end of file) or -1. */
int qmtp_read_netstring(buf *in, size_t max, str *out);

/* Starts the injector prog (sluice-queue's interface, sluice-queue(8))
 * with a pipe on its fd 0 for the message and one on its fd 1 for the
 * envelope; returns its pid and the write ends (close-on-exec) in
 * *msgfd and *envfd, or -1. */
pid_t qmtp_qq_start(const char *prog, int *msgfd, int *envfd);

#endif
