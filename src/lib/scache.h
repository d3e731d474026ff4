/* scache.h: the connection cache of remote delivery (sluice-scache(8)).
 *
 * sluice-rspawn starts sluice-scache once with one end of a
 * SOCK_SEQPACKET socketpair and gives the other end to every
 * sluice-remote (as the descriptor named by SLUICE_SCACHEFD). Each
 * request is one record, so the records of concurrent deliveries never
 * mix; only sluice-scache reads that socket.
 *
 *   put:  'P', the key, NUL, the state, with the connection attached
 *         (SCM_RIGHTS): the cache keeps it idle under the key;
 *   get:  'G', the key, with one end of a fresh socketpair attached:
 *         the answer comes back on it, 'Y' and the state with the
 *         connection attached, or 'N'.
 *
 * The key names everything that changes the session (address, port,
 * HELO name, TLS policy); the state is opaque to the cache (the EHLO
 * keywords, the time of the connect and the number of transactions
 * made). A record holds at most SCACHE_RECORD_MAX bytes. */
#ifndef SLUICE_SCACHE_H
#define SLUICE_SCACHE_H

#include <stddef.h>

#include "str.h"

#define SCACHE_RECORD_MAX 1024
#define SCACHE_ENV "SLUICE_SCACHEFD"   /* the descriptor, in sluice-remote */
#define SCACHE_FD 3                    /* where sluice-rspawn puts it */
#define SCACHE_ANSWER_MS 1000          /* the longest wait for a get */
#define SCACHE_REUSE_TIME 300          /* seconds a connection may be reused after its connect */
#define SCACHE_REUSE_COUNT 100         /* transactions on one connection at most */

/* Sends one record (op, key, and for a put a NUL and the state) with fd
 * attached, without blocking. 0, or -1 with errno. */
int scache_send(int sock, char op, const char *key, size_t klen, const char *state, size_t slen, int fd);

/* Receives one record of at most SCACHE_RECORD_MAX bytes into *rec
 * with at most one descriptor (*fd, close-on-exec, or -1; others that
 * came along are closed). Returns the record's length, 0 at end of
 * file, -1 with errno. */
long scache_recv(int sock, char *rec, size_t size, int *fd);

/* A get: the connection (*state filled) or -1 (none, or the cache did
 * not answer within SCACHE_ANSWER_MS). */
int scache_get(int sock, const char *key, size_t klen, str *state);

/* The descriptor named by SLUICE_SCACHEFD when it is a SOCK_SEQPACKET
 * unix socket (made close-on-exec), else -1. */
int scache_fd_from_env(void);

#endif
