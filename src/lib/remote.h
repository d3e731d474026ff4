/* remote.h: one remote delivery: route, MX, connect, SMTP (sluice-remote(8)).
 *
 * remote_deliver() finds the hosts for a domain (control/smtproutes,
 * else its MX records, else its own addresses), tries their addresses
 * in turn, skipping those the tcpto table says timed out recently, and
 * runs an SMTP session (smtpc.h) on the first that takes the
 * connection, moving on to the next address while the session ends
 * with SMTPC_NEXT. It sets a status and text on every recipient whose
 * status was 0; it never fails as a whole (trouble becomes a Z text).
 *
 * The whole delivery has a time limit (timeoutdelivery, from the call):
 * connections and sessions stop at it, no further address is tried,
 * and every recipient still pending gets Z, so a server that trickles
 * its replies holds a delivery slot for no longer than that.
 *
 * Mail for this host: when the hosts come from DNS (the MX records,
 * or the domain's own addresses when it has none; also for an address
 * literal), remote_deliver never connects to one of this host's
 * addresses (ipme.h: the interfaces, loopback, and the files named by
 * ipme_path and notipme_path, read on first need). MX hosts are taken
 * a preference at a time, every host of one preference looked up
 * before any is tried: when an address of this host turns up at a
 * preference and no better host had an address, the mail would only
 * come back here, and every pending recipient fails permanently with
 * 5.4.6; when better hosts had addresses this host is a backup mail
 * host, so neither its own preference nor any worse one is tried (the
 * pending recipients get what the better hosts said). A relay named in
 * smtproutes is the administrator's choice and is not checked.
 *
 * TLS: the policy for the delivery comes from tlsdest (tlspolicy.h:
 * the relay of an smtproutes line, else the domain); each session
 * runs STARTTLS by it (smtpc_tls in smtpc.h) with sluice-tlsc at
 * tlsc_path, the name checked being the MX host name, the relay's
 * name, the domain itself when it has no MX, or for an address (an
 * address relay or literal) the address. Under may, a host whose
 * handshake failed is connected to once more and tried in plaintext.
 *
 * AUTH: credentials for the delivery come from auth (smtpauth.h: the
 * relay of an smtproutes line with its port, else the domain); each
 * session then authenticates (smtpc_conf.auth in smtpc.h), and the
 * TLS level is raised to what the credentials line asks for (verify
 * by default), whatever tlsdestinations says, so that a password is
 * never sent where that line does not allow it. The CA file is still
 * tlsdestinations'.
 *
 * The caller owns the configuration strings and the recipients. */
#ifndef SLUICE_REMOTE_H
#define SLUICE_REMOTE_H

#include <stddef.h>

#include "smtpc.h"
#include "str.h"

struct remote_conf {
  const char *helo;             /* helohost, else me */
  size_t helolen;
  unsigned long timeoutconnect; /* seconds */
  unsigned long timeoutremote;  /* seconds, each read or write */
  unsigned long timeoutreply;   /* seconds, each command with its reply; 0: none */
  unsigned long timeoutdelivery; /* seconds, the whole call; 0: none */
  const str *routes;            /* control/smtproutes, as control_readlist made it */
  const char *tcpto_path;       /* the tcpto table, or NULL for none */
  const char *ipme_path;        /* control/ipme (more of this host's addresses), or NULL */
  const char *notipme_path;     /* control/notipme (addresses that are not), or NULL */
  const str *tlsdest;           /* control/tlsdestinations (tlspolicy.h), or NULL: may */
  const char *tlsc_path;        /* sluice-tlsc, or NULL: no STARTTLS at all */
  const str *auth;              /* control/smtpauth (smtpauth.h), or NULL: none */
  int bdat;                     /* BDAT when CHUNKING is offered (control/remotebdat) */
  int scache_fd;                /* the connection cache (scache.h), or -1: none */
};

/* Defaults of control/timeoutremotereply and timeoutremotedelivery:
 * RFC 5321 4.5.3.2 asks a client to wait up to 10 minutes for the reply
 * to the end of the data (5 for the others); half an hour bounds a
 * delivery that still moves 10 MB at 6 kB/s. */
#define REMOTE_REPLY_TIME 600
#define REMOTE_DELIVERY_TIME 1800

/* The most addresses tried for one delivery. */
#define REMOTE_ADDRS_MAX 32
/* The most MX hosts looked at for one delivery (the most preferred),
 * and the most address queries made (an A and an AAAA query for each
 * host name): a domain that lists hundreds of MX hosts cannot make one
 * delivery ask the resolver hundreds of questions. */
#define REMOTE_MX_MAX 10
#define REMOTE_LOOKUPS_MAX 20

void remote_deliver(const struct remote_conf *c, const char *domain, size_t dlen, const struct smtpc_msg *m,
                    struct smtpc_rcpt *r, size_t n);

/* Connects to family (4 or 6) ip:port without blocking longer than
 * timeout_ms. Returns the socket (blocking, close-on-exec) or -1 with
 * errno (ETIMEDOUT when the deadline passed, else connect's error). */
int remote_connect(int family, const unsigned char *ip, unsigned long port, unsigned long timeout_ms);

#endif
