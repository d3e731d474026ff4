/* spf.h: the Sender Policy Framework check_host() of RFC 7208.
 *
 * spf_check evaluates the SPF record of a domain for a client address,
 * through the lookups of a struct spf_dns (sluice's resolver in the
 * programs, a table in the unit tests), with the limits of RFC 7208
 * 4.6.4: at most 10 terms that cause DNS queries (include, a, mx, ptr,
 * exists, redirect), at most 10 MX or PTR names per term, at most 2
 * "void" lookups (NXDOMAIN or no records). Exceeding one is permerror.
 * The whole record is parsed, macros included, before any term is
 * evaluated, so a syntax error anywhere is permerror (4.6). The "p"
 * macro expands to "unknown" (RFC 7208 7.3 allows it; it costs
 * lookups and is discouraged); "exp" is ignored (the result carries no
 * explanation).
 *
 * The spf_dns functions return 0 (a list, possibly empty), or -1 with
 * errno ENOENT for NXDOMAIN and anything else for a temporary error.
 * spf_check returns the result (never fails; ENOMEM is temperror).
 * No memory is kept after it returns. */
#ifndef SLUICE_SPF_H
#define SLUICE_SPF_H

#include <stddef.h>

#include "dns.h"
#include "str.h"

enum spf_result {
  SPF_NONE, SPF_NEUTRAL, SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_TEMPERROR, SPF_PERMERROR
};

struct spf_dns {
  void *ctx;
  int (*txt)(void *ctx, const char *name, size_t len, struct dns_txtlist *out);
  int (*addr)(void *ctx, const char *name, size_t len, int family, struct dns_iplist *out);
  int (*mx)(void *ctx, const char *name, size_t len, struct dns_mxlist *out);
  int (*ptr)(void *ctx, int family, const unsigned char *ip, str *name);
};

struct spf_request {
  int family;                 /* AF_INET or AF_INET6 */
  unsigned char ip[16];
  const char *sender;         /* local@domain (for HELO: postmaster@helo) */
  size_t sender_len;
  const char *helo;           /* may be empty */
  size_t helo_len;
  const char *domain;         /* the domain to check */
  size_t domain_len;
};

/* "pass", "fail", ... as in RFC 7208 and RFC 8601. */
const char *spf_result_name(enum spf_result r);
enum spf_result spf_check(const struct spf_dns *dns, const struct spf_request *req);

/* Exposed for tests and the fuzz target. */
/* Expands the macro-string s[0..n) for req and domain (the current
 * <domain>) into out (replacing it). Returns 0, or -1 (EINVAL: a
 * syntax error; ENOMEM). */
int spf_macro_expand(str *out, const char *s, size_t n, const struct spf_request *req,
                     const char *domain, size_t domain_len);
/* Parses an SPF record; 0 when it is well-formed, -1 (EINVAL) when
 * not. */
int spf_record_check(const char *s, size_t n, const struct spf_request *req);

#endif
