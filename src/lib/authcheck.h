/* authcheck.h: the inbound mail checks of sluice-authcheck(8): SPF
 * (spf.h) for MAIL FROM, or the HELO name when MAIL FROM is empty;
 * every DKIM-Signature (dkimv.h, with the hashing and the signature
 * check supplied by the caller, which links libcrypto); DMARC
 * (dmarc.h); the Authentication-Results header (RFC 8601) that says
 * so; and which existing Authentication-Results fields claim this
 * host's authserv-id and go.
 *
 * authcheck_run never fails for bad input (that is a result); it
 * returns -1 only with errno ENOMEM or EOVERFLOW. The caller owns every
 * buffer; authcheck_result_free releases the result. */
#ifndef SLUICE_AUTHCHECK_H
#define SLUICE_AUTHCHECK_H

#include <stddef.h>

#include "dkimv.h"
#include "dns.h"
#include "spf.h"
#include "str.h"

/* The libcrypto half, given by the program. sha256 returns 0 or -1;
 * verify returns 1 for a good signature, 0 for a bad one, -1 when the
 * key is unusable (malformed, or an RSA key under 1024 bits). */
struct authcheck_crypto {
  int (*sha256)(const char *s, size_t n, unsigned char out[32]);
  int (*verify)(int ed25519, const str *key, const str *sig, const char *data, size_t n);
};

struct authcheck_conf {
  const char *me;             /* the authserv-id (control/me) */
  size_t me_len;
  const str *publicsuffix;    /* control/publicsuffix list, may be 0 */
  int reject_spf, reject_dmarc, defer_temp;  /* control/authcheck */
  long long now;              /* for DKIM x= (0: not checked) */
};

struct authcheck_input {
  int have_ip;
  int family;
  unsigned char ip[16];
  const char *helo;
  size_t helo_len;
  const char *sender;         /* the envelope sender, may be empty */
  size_t sender_len;
  const char *msg;
  size_t msg_len;
};

#define AUTHCHECK_ACCEPT 0
#define AUTHCHECK_REJECT 32   /* sluice-smtpd: 550 5.7.1 */
#define AUTHCHECK_DEFER 75    /* sluice-smtpd: 451 4.7.0 */
#define AUTHCHECK_REFUSE 31   /* more than DKIM_FIELDS_MAX header fields: 554 5.3.0 */

struct authcheck_result {
  str header;                 /* "Authentication-Results: ...\n" */
  char *drop;                 /* per header field of msg: 1 = remove */
  struct dkim_msg m;          /* the fields of msg */
  enum spf_result spf;
  int verdict;                /* AUTHCHECK_* */
  str why;                    /* for the log, when verdict != 0 */
};

int authcheck_run(const struct authcheck_conf *conf, const struct spf_dns *dns, const struct authcheck_crypto *cr,
                  const struct authcheck_input *in, struct authcheck_result *res);
/* Appends the new message: the header, then msg without the dropped
 * fields. */
int authcheck_message(const struct authcheck_result *res, const struct authcheck_input *in, str *out);
void authcheck_result_free(struct authcheck_result *res);

/* 1 when the Authentication-Results value v[0..n) names authserv-id
 * id (ASCII case ignored; comments and blanks before it skipped). */
int authres_id_is(const char *v, size_t n, const char *id, size_t idlen);

/* struct spf_dns over sluice's resolver; ctx is a struct dns_conf. */
void authcheck_dns(struct spf_dns *dns, struct dns_conf *conf);

#endif
