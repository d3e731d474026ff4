/* dmarc.h: DMARC (RFC 7489) without the DNS: the policy record, the
 * organizational domain and identifier alignment.
 *
 * The organizational domain (RFC 7489 3.2) comes from a small built-in
 * approximation of the Public Suffix List: every top-level label is a
 * public suffix, and so are the second-level names in dmarc.c's table
 * (co.uk, com.au, ...); the control file control/publicsuffix adds
 * names, one a line (sluice-authcheck(8)). The organizational domain
 * is the public suffix plus one label. Functions return 0 or -1 with
 * errno (EINVAL: not a valid record). */
#ifndef SLUICE_DMARC_H
#define SLUICE_DMARC_H

#include <stddef.h>

#include "str.h"

enum dmarc_policy { DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT };

struct dmarc_record {
  enum dmarc_policy p, sp;    /* sp defaults to p */
  int strict_spf, strict_dkim;
  unsigned pct;
};

/* Parses a TXT record "v=DMARC1; p=...". A record without a valid p=
 * is EINVAL, unless it has rua= (RFC 7489 6.6.3: then p=none). */
int dmarc_record_parse(const char *s, size_t n, struct dmarc_record *r);
/* 1 when the TXT record s[0..n) starts with v=DMARC1 (case-sensitive
 * tag and value, RFC 7489 6.4), else 0. */
int dmarc_record_is(const char *s, size_t n);
/* *org_len = the length of the organizational domain, the tail of
 * d[0..n) (lower case expected, no trailing dot). extra: more public
 * suffixes, a control_readlist list (NUL after each), may be 0. */
size_t dmarc_org_domain(const char *d, size_t n, const str *extra);
/* 1 when a and b are aligned: equal (strict), or with the same
 * organizational domain (relaxed). Case is ignored. */
int dmarc_aligned(const char *a, size_t an, const char *b, size_t bn, int strict, const str *extra);
const char *dmarc_policy_name(enum dmarc_policy p);

#endif
