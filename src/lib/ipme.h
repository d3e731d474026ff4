/* ipme.h: the addresses of this host, for the loop check of
 * sluice-remote (sluice-remote(8), "Mail for this host").
 *
 * A set of address ranges, each either "this host" or "not this host":
 * an address is this host's when it lies in a range of the first kind
 * and in none of the second (an exception always wins, whatever the
 * order the ranges were added in). IPv4 ranges are kept as IPv4-mapped
 * IPv6 ranges (::ffff:a.b.c.d), so an AAAA record that holds a mapped
 * address is judged as the IPv4 address it is.
 *
 * What sluice-remote puts in the set (ipme_add_host, then the lists):
 *   - every IPv4 and IPv6 address of every interface (getifaddrs(3),
 *     up or down, link-local included), each as a single address;
 *   - the wildcard addresses 0.0.0.0 and :: (a connection to them
 *     reaches this host on Linux and the BSDs), the whole loopback
 *     network 127.0.0.0/8 (every one of its addresses is delivered
 *     locally) and ::1;
 *   - the entries of control/ipme (more of this host's addresses:
 *     those a NAT router or a load balancer forwards to it), and as
 *     exceptions those of control/notipme.
 * An entry is an address, IPv4 dotted quad or IPv6 text, optionally
 * followed by "/LEN" (0..32, 0..128) for a whole network; the bits
 * past LEN are ignored.
 *
 * Functions return 0 or -1 with errno set (ENOMEM, EOVERFLOW, EINVAL
 * for a malformed entry, getifaddrs' own errors). The set owns its
 * array (ipme_free). Nothing here prints or exits. */
#ifndef SLUICE_IPME_H
#define SLUICE_IPME_H

#include <stddef.h>

#include "str.h"

struct ipme_range {
  unsigned char ip[16]; /* IPv6, or IPv4-mapped IPv6; bits past len are 0 */
  unsigned len;         /* prefix length, 0..128 */
  int not;              /* 1: an exception (control/notipme) */
};

struct ipme {
  struct ipme_range *r;
  size_t n, a;
};

#define IPME_INIT { 0, 0, 0 }

/* Reads one entry s[0..n): "ADDR" or "ADDR/LEN", no white space. 0 with
 * *out filled (not = 0), or -1 EINVAL. */
int ipme_range_scan(const char *s, size_t n, struct ipme_range *out);

/* Adds one range. */
int ipme_add(struct ipme *m, const struct ipme_range *r);

/* Adds every entry of list (as control_readlist makes it), as
 * exceptions when not is 1. On EINVAL *bad points to the malformed
 * entry (NUL-terminated); the entries before it stay added. */
int ipme_add_list(struct ipme *m, const str *list, int not, const char **bad);

/* Adds the wildcard and loopback ranges and the addresses of every
 * interface. */
int ipme_add_host(struct ipme *m);

/* 1 when ip (family 4: 4 bytes, 6: 16 bytes) is this host's, else 0. */
int ipme_is(const struct ipme *m, int family, const unsigned char *ip);

void ipme_free(struct ipme *m);

#endif
