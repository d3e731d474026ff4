/* dns.h: a DNS stub resolver for sluice-remote (MX, A, AAAA, CNAME)
 * and for the servers' client names (PTR, dns_ptr).
 *
 * Queries go over UDP to the resolvers of the configuration, with a
 * random query id, a random source port and the letters of the name in
 * random case ("0x20", dns_case_mix) per query, falling back to TCP when
 * an answer is truncated. An answer is used only when its id matches
 * and its question section is byte for byte the one sent, case
 * included (a resolver copies the question into its answer, RFC 1035
 * 4.1.1; a forger has to guess the case too); any other datagram is
 * ignored as forged and the wait goes on. Every length, count
 * and compression pointer in it is checked against the packet (pointer
 * loops included), so a hostile answer is an error, never a crash.
 * CNAME chains are followed (at most 8 links).
 *
 * Results: 0 success; -1 with errno
 *   ENOENT     the name does not exist (NXDOMAIN): a permanent answer;
 *   EAGAIN     temporary trouble: timeout, SERVFAIL, REFUSED, no server;
 *   EPROTO     a malformed or mismatched answer (treated as temporary);
 *   ENOMEM, EOVERFLOW as usual.
 * Lists own their memory (dns_mxlist_free, dns_iplist_free). */
#ifndef SLUICE_DNS_H
#define SLUICE_DNS_H

#include <stddef.h>

#include "str.h"

#define DNS_SERVERS_MAX 8

struct dns_server {
  int family;                 /* AF_INET or AF_INET6 */
  unsigned char ip[16];       /* 4 or 16 bytes used */
  unsigned short port;        /* 53 unless given */
};

struct dns_conf {
  struct dns_server server[DNS_SERVERS_MAX];
  size_t n;
  unsigned long timeout_ms;   /* per try; default 5000 */
  unsigned attempts;          /* rounds over the servers; default 2 */
  long long deadline;         /* deadline.h time: no try goes past it and
                               * none starts after it (EAGAIN); 0: none.
                               * dns_conf_load and dns_conf_resolv set 0 */
};

/* Fills conf from the DNSCACHEIP environment variable when set
 * (space-separated addresses, each optionally with a port: "127.0.0.1",
 * "127.0.0.1:5353", "::1", "[::1]:5353"), else from the nameserver lines
 * of /etc/resolv.conf, else 127.0.0.1. Returns 0 or -1 (EINVAL when
 * DNSCACHEIP is malformed). */
int dns_conf_load(struct dns_conf *conf);
/* Added for tests: fills conf from text in the resolv.conf format
 * ("nameserver ADDR" lines, IPv4 or IPv6, scoped addresses ignored;
 * "options timeout:N attempts:N"), 127.0.0.1 when it names no server.
 * Returns 0 (malformed lines are ignored, as the C library does). */
int dns_conf_resolv(struct dns_conf *conf, const char *text, size_t len);

struct dns_mx {
  unsigned pref;
  str host;                   /* lower-case, no trailing dot */
};

struct dns_mxlist {
  struct dns_mx *mx;
  size_t n;                   /* 0: the name exists but has no MX */
  int nullmx;                 /* RFC 7505: a single MX "." */
};

struct dns_ip {
  int family;                 /* AF_INET or AF_INET6 */
  unsigned char ip[16];
};

struct dns_iplist {
  struct dns_ip *ip;
  size_t n;
};

/* MX records of name, sorted by preference, equal preferences shuffled. */
int dns_mx(const struct dns_conf *conf, const char *name, size_t len, struct dns_mxlist *out);
/* A and AAAA records of name (both queries; AAAA first when want6 is
 * set, A first otherwise). A name with neither is ENOENT only when the
 * name does not exist; otherwise 0 with an empty list. */
int dns_ip(const struct dns_conf *conf, const char *name, size_t len, int want6, struct dns_iplist *out);
/* The records of one type only: A (family AF_INET) or AAAA (AF_INET6);
 * a name without them is 0 with an empty list, ENOENT when the name
 * does not exist. */
int dns_addr(const struct dns_conf *conf, const char *name, size_t len, int family, struct dns_iplist *out);
/* The name of an address (PTR, RFC 1035 3.5 and RFC 3596 2.5: the
 * in-addr.arpa or ip6.arpa name, CNAMEs followed, RFC 2317): the first
 * PTR record into name (replacing it; lower-case, no trailing dot, not
 * checked against its address: the caller confirms it with dns_addr).
 * family AF_INET with ip[0..4) or AF_INET6 with ip[0..16). ENOENT when
 * the address has no name (NXDOMAIN, or no PTR record). */
int dns_ptr(const struct dns_conf *conf, int family, const unsigned char *ip, str *name);
struct dns_txtlist {
  str *txt;                   /* each record's strings joined (RFC 7208
                               * 3.3, RFC 6376 3.6.2.2); may hold NULs */
  size_t n;
};
/* TXT records of name: 0 with an empty list when the name has none,
 * ENOENT when it does not exist. */
int dns_txt(const struct dns_conf *conf, const char *name, size_t len, struct dns_txtlist *out);
void dns_txtlist_free(struct dns_txtlist *l);
void dns_mxlist_free(struct dns_mxlist *l);
void dns_iplist_free(struct dns_iplist *l);

/* The packet layer, exposed for tests and the fuzz target. */
/* Appends a query packet for name/type with the given id to out. The
 * name goes out with its case as given. */
int dns_packet_query(str *out, unsigned short id, const char *name, size_t len, unsigned short qtype);
/* Sets the case of each ASCII letter name[i] of name[0..len) from bit
 * i % 8 of bits[i / 8] (1: upper case); other bytes are left alone. bits
 * holds at least (len + 7) / 8 bytes. */
void dns_case_mix(char *name, size_t len, const unsigned char *bits);
/* Checks an answer packet against the query (id; question name, case
 * included but for one trailing dot, type and class IN) and
 * collects its answer records of type qtype into out as
 * consecutive entries: for MX "pref(2 bytes big-endian) name NUL", for A
 * 4 bytes, for AAAA 16 bytes, for TXT 2 bytes of length
 * (big-endian) and the strings joined, for CNAME "name NUL" (names decoded to
 * dotted lower-case text). Returns the RCODE (0 ok, 3 NXDOMAIN, ...) and
 * sets *tc when the truncation bit is set and *cname to the CNAME
 * target when the answer holds only a CNAME for the name; -1 EPROTO. */
int dns_packet_parse(const char *pkt, size_t n, unsigned short id, const char *name, size_t len,
                     unsigned short qtype, str *out, size_t *count, int *tc, str *cname);

#define DNS_T_A 1
#define DNS_T_CNAME 5
#define DNS_T_PTR 12
#define DNS_T_MX 15
#define DNS_T_TXT 16
#define DNS_T_AAAA 28

#endif
