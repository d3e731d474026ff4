/* dsn.h: bounce messages (delivery status notifications) for sluice-send.
 *
 * dsn_compose() builds the complete bounce for one queued message whose
 * deliveries to some recipients failed for good, and appends it to a str
 * with LF line endings (the form the queue stores). The bounce is then
 * injected like any other message by the caller, with the envelope
 * sender "" (or "#@[]" for a double bounce).
 *
 * Two formats:
 *   DSN_RFC3464  multipart/report; report-type=delivery-status (RFC 6522)
 *                with a text/plain explanation, a message/delivery-status
 *                part (RFC 3464) and the original header as
 *                text/rfc822-headers (the whole message as message/rfc822
 *                with ret_full: DSN's RET=FULL). The default. The DSN
 *                ENVID and each ORCPT, when given, become the
 *                Original-Envelope-Id and Original-Recipient fields.
 *   DSN_QSBMF    qmail-send's bounce format, for sites whose scripts parse
 *                it: "Hi. This is the qmail-send program at HOST." intro,
 *                a "<address>:" paragraph per recipient, the break line
 *                "--- Below this line is a copy of the message." and the
 *                original message (capped).
 *
 * Untrusted bytes (diagnostic texts from remote servers, addresses, the
 * original header) cannot break the structure: in header fields and
 * delivery-status fields every byte outside printable ASCII becomes '?'
 * (tab, CR and LF become one space), every field stays on one line of
 * at most 998 bytes (longer values are cut), and in the readable text
 * each diagnostic line is cleaned the same way and blank lines are
 * dropped. The MIME boundary is checked against all part contents and
 * varied until it occurs in none of them. Only the QSBMF copy of the
 * original message is passed through unchanged (as qmail does).
 *
 * A recipient may be a success (DSN NOTIFY=SUCCESS, RFC 3461 6.2):
 * Action delivered or relayed, Status 2.0.0; a report that holds only
 * successes says so in its subject and text. QSBMF has no successes:
 * the caller leaves them out.
 *
 * Errors: dsn_compose returns 0, or -1 with errno set: EINVAL for a
 * missing field or zero recipients, ENOMEM / EOVERFLOW from str growth,
 * EOVERFLOW from date formatting. On failure out is left at its old
 * length.
 *
 * Memory: every pointer in the input structs is borrowed for the call;
 * nothing is kept. out is the caller's and is only appended to. */
#ifndef SLUICE_DSN_H
#define SLUICE_DSN_H

#include <stddef.h>
#include <time.h>

#include "str.h"

enum dsn_format { DSN_RFC3464 = 0, DSN_QSBMF = 1 };

/* Where a Diagnostic-Code text came from: an SMTP reply ("smtp") or
 * sluice itself (local delivery, DNS, connection trouble: "X-sluice"). */
enum dsn_diag_type { DSN_DIAG_SMTP = 0, DSN_DIAG_SLUICE = 1 };

/* An RFC 3463 status code class.subject.detail. */
struct dsn_status {
  unsigned int cls;     /* 2, 4 or 5 */
  unsigned int subject; /* 0..999 */
  unsigned int detail;  /* 0..999 */
};

/* Longest text form, "5.999.999", plus room to spare. */
#define DSN_STATUS_MAX 12

#define DSN_HEADERS_CAP_DEFAULT (64UL * 1024)
#define DSN_QSBMF_CAP_DEFAULT (10UL * 1024 * 1024)

struct dsn_recipient {
  const char *addr;         /* NUL-terminated recipient address */
  const char *text;         /* the spawner's failure text, may hold any byte */
  size_t textlen;
  int expired;              /* a temporary failure made permanent by queuelifetime */
  enum dsn_diag_type diag_type;
  const char *remote_mta;   /* NUL-terminated host name, or NULL when unknown */
  time_t last_attempt;      /* 0: use now */
  const char *orcpt;        /* DSN ORCPT "addr-type;address" (RFC 3461), or NULL */
  int success;              /* a success notice (NOTIFY=SUCCESS), not a
                             * failure: DSN_DELIVERED or DSN_RELAYED */
};

/* struct dsn_recipient's success: delivered here (local), or relayed
 * to a host that was not asked for DSN (remote). */
#define DSN_DELIVERED 1
#define DSN_RELAYED 2

struct dsn_message {
  const char *host;         /* reporting host, control/me */
  const char *from;         /* bounce From address, bouncefrom@bouncehost */
  const char *to;           /* original sender, or doublebounceto */
  int doublebounce;         /* the failed message was itself a bounce */
  unsigned long queue_id;   /* id of the failed message in the queue */
  const char *msgid;        /* its id for the life of the installation (queue.h), or NULL */
  time_t arrival;           /* when it was queued */
  time_t now;
  enum dsn_format format;
  const char *token;        /* unique text for Message-ID and boundary */
  const char *sender;       /* original envelope sender ("" for a bounce) */
  const struct dsn_recipient *rcpt;
  size_t rcpt_count;        /* at least 1 */
  const char *original;     /* the queued message, Received line first */
  size_t original_len;
  size_t headers_cap;       /* RFC 3464 header copy cap; 0: the default */
  size_t qsbmf_cap;         /* QSBMF message copy cap; 0: the default */
  const char *envid;        /* DSN ENVID (RFC 3461), or NULL */
  int ret_full;             /* DSN RET=FULL: the whole message is
                             * returned (message/rfc822, at most
                             * qsbmf_cap bytes), not only its header */
};

/* Splits a leading "x.y.z" status code off text[0..len): the code must be
 * followed by the end of the text or by white space, with class 2, 4 or 5
 * and subject and detail of 1 to 3 digits. Returns 1 and fills *st and
 * *rest (the offset of the text after the code and the white space that
 * follows it) when there is one; returns 0 (st untouched, *rest 0)
 * otherwise. Never fails. */
int dsn_status_from_text(const char *text, size_t len, struct dsn_status *st, size_t *rest);
/* Writes the text form of st to s (DSN_STATUS_MAX bytes) and returns its
 * length; no NUL. */
size_t dsn_status_fmt(char *s, const struct dsn_status *st);
/* The status reported for r: 2.0.0 for a success; the code leading its
 * text when it is a 4.x.x or 5.x.x code, else 4.0.0 when the failure
 * expired, else 5.0.0. */
void dsn_status_of(const struct dsn_recipient *r, struct dsn_status *st);
/* Appends the whole bounce message to out. */
int dsn_compose(str *out, const struct dsn_message *m);

#endif
