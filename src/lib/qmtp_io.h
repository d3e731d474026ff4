/* qmtp_io.h: descriptor work shared by sluice-qmtpd, sluice-qmqpd and
 * sluice-qmqpc: reading netstrings from a buf piece by piece (so no
 * length is trusted before it is checked), and starting the injector
 * (sluice-smtpd starts it the same way).
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

/* What a failed read by the functions above (errno err) means to a
 * server: the reason for its log ("timeout", "protocol error: ..."),
 * with *perm 1 for a protocol violation (the client's fault) and 0 for
 * a temporary trouble (timeout, no memory, a read error). */
const char *qmtp_read_error(int err, int *perm);

/* Starts the injector prog (sluice-queue's interface, sluice-queue(8))
 * with a pipe on its fd 0 for the message and one on its fd 1 for the
 * envelope; returns its pid and the write ends (close-on-exec) in
 * *msgfd and *envfd, or -1. */
pid_t qmtp_qq_start(const char *prog, int *msgfd, int *envfd);

/* The client of a QMTP or QMQP connection, as tcpserver names it. */
struct qmtp_peer {
  const char *remote_ip;    /* TCPREMOTEIP, or NULL */
  const char *remote_host;  /* TCPREMOTEHOST, or the name looked up */
  const char *remote_info;  /* TCPREMOTEINFO, or NULL */
  const char *local_host;   /* TCPLOCALHOST or control/me: after "by" */
  int name_tried;           /* the name is known or was looked up */
  unsigned long namewait;   /* control/smtpdnamewait (remotehost.h) */
  str name;                 /* the name looked up; the caller frees it */
};

/* Fills peer from the tcpserver environment (TCPREMOTEIP, TCPREMOTEHOST,
 * TCPREMOTEINFO) and local_host with TCPLOCALHOST, or me when that is
 * unset or empty; peer->local_host points into local_host. When
 * TCPREMOTEHOST is unset, reads control/smtpdnamewait: the name is looked
 * up (remotehost_find) when qmtp_qq_received first needs it. 0; -1
 * with errno ENOMEM; -2 when control/smtpdnamewait cannot be read. */
int qmtp_peer_env(struct qmtp_peer *peer, str *local_host, const char *me);
/* The injector of the servers: QMAILQUEUE when set and not empty, else
 * conf-home/bin/sluice-queue, built in path. NULL with errno ENOMEM. */
const char *qmtp_queue_program(str *path);

/* How sluice-qmtpd and sluice-qmqpd begin a message: looks the client's
 * name up unless that was done (remotehost.h), builds in work
 * (replacing its content) the Received line of a message from peer by
 * protocol ("QMTP", "QMQP"), without HELO and dated now
 * (smtpd_received_line), starts prog as qmtp_qq_start does and writes
 * the line to the message pipe. Returns the pid with *msgfd and *envfd;
 * *write_failed becomes 1 when the line could not be written (it is
 * left alone otherwise). -1 with errno when the injector could not be
 * started; -2 (errno ENOMEM or EOVERFLOW) when the line could not be
 * built, and then nothing was started. */
pid_t qmtp_qq_received(const char *prog, struct qmtp_peer *peer, const char *protocol, str *work,
                       int *msgfd, int *envfd, int *write_failed);

#endif
