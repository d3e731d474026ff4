/* starttls.h: the client side of STARTTLS for sluice-remote, without
 * a TLS library: after the server's 220 reply to STARTTLS the socket
 * is handed to sluice-tlsc (sluice-tlsc(8)), which runs the TLS engine
 * in a process of its own and relays plaintext over a socketpair.
 *
 * starttls_spawn() starts PROG with
 *     fd 0 and fd 1  one end of a new socketpair (plaintext), the
 *                    other end returned to the caller;
 *     fd 3           the connected socket to the server;
 *     fd 2           inherited (warnings);
 * and the arguments of struct starttls_args. sluice-tlsc first writes
 * one report line on the socketpair (starttls_report_parse), then,
 * when the handshake succeeded, relays bytes both ways until either
 * side closes. The caller reads the report line and goes on with SMTP
 * on the returned descriptor; when done it calls starttls_end(), which
 * closes that descriptor (sluice-tlsc then sends its close_notify and
 * exits) and reaps the child.
 *
 * Returns as documented, or -1 with errno set. The caller owns every
 * string. */
#ifndef SLUICE_STARTTLS_H
#define SLUICE_STARTTLS_H

#include <stddef.h>
#include <sys/types.h>

#include "str.h"

/* The longest report line sluice-tlsc writes, its LF included. */
#define STARTTLS_REPORT_MAX 1024

struct starttls_args {
  const char *prog;     /* the path of sluice-tlsc */
  const char *name;     /* the host name: SNI and the name checked; NULL: none */
  const char *ip;       /* the address checked when name is NULL (text), or NULL */
  const char *cafile;   /* trusted CAs, or NULL for the system store */
  unsigned long timeout; /* seconds for the handshake and each wait */
};

/* Starts args->prog on sock as above. Returns the caller's end of the
 * socketpair (close-on-exec) with *pid set; -1 when the program could
 * not be started (errno from the socketpair, fork or execve). sock is
 * not closed. */
int starttls_spawn(const struct starttls_args *args, int sock, pid_t *pid);

/* Closes fd (when >= 0) and waits for pid (when > 0). */
void starttls_end(int fd, pid_t pid);

struct starttls_info {
  int ok;          /* 1: TLS is on; 0: the handshake failed */
  int verified;    /* 1: the chain verified and the name matched */
  str protocol;    /* "TLSv1.3" */
  str cipher;      /* "TLS_AES_256_GCM_SHA384" */
  str reason;      /* why the handshake failed, or why the certificate
                    * was not verified; printable ASCII */
};

#define STARTTLS_INFO_INIT { 0, 0, STR_INIT, STR_INIT, STR_INIT }

/* Decodes the report line s[0..n) (its line end removed), one of
 *     ok PROTOCOL CIPHER verified
 *     ok PROTOCOL CIPHER unverified REASON
 *     fail REASON
 * where PROTOCOL and CIPHER are 1 to 64 bytes of printable ASCII
 * without spaces, and REASON is 1 or more bytes of printable ASCII.
 * 0, or -1 EINVAL for anything else (ENOMEM). */
int starttls_report_parse(const char *s, size_t n, struct starttls_info *info);

void starttls_info_free(struct starttls_info *info);

#endif
