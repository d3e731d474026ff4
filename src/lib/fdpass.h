/* fdpass.h: one message on a unix socket with descriptors attached
 * (SCM_RIGHTS), both ways; shared by the connection cache (scache.h)
 * and the STARTTLS gate (tlsgate.h). EINTR is retried inside. */
#ifndef SLUICE_FDPASS_H
#define SLUICE_FDPASS_H

#include <stddef.h>

#define FDPASS_MAX 8    /* descriptors in one message at most */

/* Sends buf[0..n) with fds[0..nfds) attached (nfds 0 to FDPASS_MAX);
 * flags for sendmsg (MSG_NOSIGNAL is always added). 0, or -1 with errno
 * (EPROTO when only part went). */
int fdpass_send(int sock, const char *buf, size_t n, const int *fds, int nfds, int flags);

/* Receives one message of at most size bytes into buf with the
 * descriptors that came along (close-on-exec) in fds[0..*nfds); those
 * beyond max are closed. flags for recvmsg (MSG_CMSG_CLOEXEC is always
 * added). Returns the length, 0 at end of file, or -1 with errno
 * (EMSGSIZE when the message or its descriptors did not fit: every
 * descriptor is then closed and *nfds is 0). */
long fdpass_recv(int sock, char *buf, size_t size, int *fds, int max, int *nfds, int flags);

#endif
