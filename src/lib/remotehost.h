/* remotehost.h: the client's host name for the Received line, found by
 * the server itself (sluice-smtpd, sluice-qmtpd, sluice-qmqpd).
 *
 * The shipped run scripts start tcpserver with -H (no name lookup): a
 * tcpserver that looks every client's name up makes each connection
 * wait on DNS before the server even starts (and ucspi-tcp does not
 * read /etc/hosts). The servers look the name up themselves, once per
 * connection and only when a message is on its way (after the 354 of
 * DATA, while the client sends the message), with a short total
 * deadline:
 *   1. TCPREMOTEHOST, when set (a tcpserver without -H, another UCSPI
 *      server, sendmail -bs): used as it is, nothing is looked up;
 *   2. the hosts file (/etc/hosts, or the file SLUICE_HOSTS names): the
 *      first name of the first line that holds the client's address;
 *   3. DNS, unless the wait is 0: the PTR name of the address, used only
 *      when that name's A (or AAAA) records hold the address again
 *      (forward-confirmed, as Postfix does); otherwise no name.
 * No name: the Received line says "unknown" (smtpd_received_line).
 *
 * The wait is control/smtpdnamewait (milliseconds, default 2000, at
 * most 60000; 0 turns DNS off, the hosts file is still read), the total
 * for every DNS question of the lookup. Nothing here exits or prints. */
#ifndef SLUICE_REMOTEHOST_H
#define SLUICE_REMOTEHOST_H

#include "str.h"

#define REMOTEHOST_WAIT_DEFAULT 2000UL
#define REMOTEHOST_WAIT_MAX 60000UL
#define REMOTEHOST_HOSTS "/etc/hosts"

/* The first name of the first line of the hosts file text[0..len) whose
 * address is the address family/ip (AF_INET: 4 bytes, AF_INET6: 16):
 * 1 with the name in out (replacing it), 0 when no line names it, -1
 * ENOMEM. '#' starts a comment; malformed lines are skipped. */
int remotehost_hosts(const char *text, size_t len, int family, const unsigned char *ip, str *out);

/* Steps 2 and 3 above for the address text ip (TCPREMOTEIP's form: a
 * dotted quad or an IPv6 address; an IPv4-mapped IPv6 address counts
 * as its IPv4 address), the hosts file at hosts (NULL: SLUICE_HOSTS
 * when set, else /etc/hosts), DNS for at most wait_ms in all. 1 with
 * the name in out; 0 when no name is known (not in the file, no PTR, not
 * confirmed, DNS trouble, out of time, an address that does not parse,
 * an unreadable hosts file); -1 ENOMEM. */
int remotehost_find(const char *ip, const char *hosts, unsigned long wait_ms, str *out);

/* The wait of control/smtpdnamewait (read relative to the working
 * directory): 0 or -1 with errno as control_readnum says. */
int remotehost_wait_read(unsigned long *wait_ms);

#endif
