/* qmtp.h: the pieces of QMTP and QMQP (sluice-qmtpd(8), sluice-qmqpd(8),
 * sluice-qmqpc(8)) that parse bytes from the network or from control
 * files, kept apart from the programs so that unit tests and a fuzz
 * target reach them.
 *
 * Both protocols are made of netstrings ("len:data,", netstring.h). The
 * servers never hold a whole message in memory: they read a length
 * prefix byte by byte (qmtp_len), check it against their limits before
 * anything is allocated, then stream the data. The small parts (sender,
 * recipients) are read into memory under a fixed bound and split with
 * qmtp_list_next.
 *
 * Errors: functions return -1 with errno set (EPROTO for bad syntax,
 * EMSGSIZE for a length over the caller's bound, ENOMEM, EOVERFLOW)
 * unless documented otherwise. Nothing here reads or writes a
 * descriptor, and nothing here keeps memory but the caller's str. */
#ifndef SLUICE_QMTP_H
#define SLUICE_QMTP_H

#include <stddef.h>

#include "addr.h"
#include "str.h"

/* Default TCP ports. */
#define QMTP_PORT 209
#define QMQP_PORT 628

/* --- the length prefix of a netstring, fed one byte at a time ------- */

struct qmtp_len {
  int state;      /* 0 nothing yet, 1 in the digits, 2 after "0", 3 done */
  size_t len;     /* the length so far */
  size_t bytes;   /* bytes of the prefix consumed, ':' included */
};

void qmtp_len_start(struct qmtp_len *l);
/* Feeds one byte. Returns 0 when more bytes are needed, 1 when c was
 * the ':' that ends the prefix (l->len is the data length, l->bytes the
 * prefix length), -1 with errno EPROTO (not a digit, a leading zero, an
 * empty length, or a call after 1) or EMSGSIZE (the length passes max:
 * reported as soon as the digits show it). */
int qmtp_len_feed(struct qmtp_len *l, char c, size_t max);

/* --- lists of netstrings --------------------------------------------- */

/* The next netstring of the block s[*pos..n), whose data may be at
 * most max bytes: returns 1 with its data in *data, *len and *pos moved
 * past it; 0 when *pos == n (the block is used up); -1 with errno
 * EPROTO (bad syntax, or a netstring cut off by the end of the block)
 * or EMSGSIZE (longer than max). */
int qmtp_list_next(const char *s, size_t n, size_t *pos, size_t max, const char **data, size_t *len);

/* --- addresses --------------------------------------------------------- */

#define QMTP_ADDR_OK 0
#define QMTP_ADDR_LONG (-1) /* longer than QUEUE_ADDR_MAX (1003) */
#define QMTP_ADDR_BAD (-2)  /* holds NUL, CR or LF: cannot be queued */
#define QMTP_ADDR_SYNTAX (-3) /* not an address: qmtp_addr_parse refused it */

/* Whether s[0..n) can go into an envelope as it is: QMTP_ADDR_OK or
 * QMTP_ADDR_LONG or QMTP_ADDR_BAD. Only the bytes: the servers parse
 * every address with qmtp_addr_parse as well. */
int qmtp_addr_check(const char *s, size_t n);

/* Which addresses each server takes, as flags for qmtp_addr_parse.
 * QMTP is SMTP's peer: a sender is "" or has a domain (MAIL FROM), a
 * recipient has a domain or is "postmaster" (RCPT TO). QMQP clients are
 * trusted injectors: an address without domain is taken and gets
 * control/envnoathost later (sluice-send(8)). */
#define QMTP_SENDER ADDR_ALLOW_NULL
#define QMTP_RCPT ADDR_ALLOW_POSTMASTER
#define QMQP_SENDER (ADDR_ALLOW_NULL | ADDR_ALLOW_NODOMAIN)
#define QMQP_RCPT ADDR_ALLOW_NODOMAIN

/* An address of a QMTP or QMQP envelope, s[0..n), read by the parser of
 * sluice-smtpd's MAIL and RCPT (addr_parse_bare: exactly one address,
 * no angle brackets, UTF-8 allowed, the lenient dots of real clients,
 * at most 1003 bytes) under policy (one of the four above). Returns
 * ADDR_OK with the canonical address in *out, the form the relay check
 * and sluice-send split alike (addr_split); or a negative enum
 * addr_error with *out empty. */
int qmtp_addr_parse(const char *s, size_t n, int policy, str *out);

/* --- a QMQP request ---------------------------------------------------- */

/* The most recipients one QMQP or QMTP message may carry here. */
#define QMTP_RCPT_MAX 10000
/* Bound on the bytes after the message in a QMQP request (sender and
 * recipients) and on QMTP's recipient netstring: enough for
 * QMTP_RCPT_MAX recipients of 1003 bytes with their prefixes. */
#define QMTP_TAIL_MAX (QMTP_RCPT_MAX * 1012UL + 1100UL)

struct qmqp_tail {
  const char *sender;  /* points into the caller's block */
  size_t sender_len;
  size_t nrcpt;
  int addr_error;      /* the worst result over the sender (QMQP_SENDER)
                        * and the recipients (QMQP_RCPT): QMTP_ADDR_SYNTAX
                        * (not parsed), _BAD, _LONG, or 0 when all ok */
};

/* The part of a QMQP request after the message: the sender netstring,
 * then one netstring per recipient, filling s[0..n) exactly. Appends
 * the recipients to *rcpts as envelope records ("T" address NUL, in
 * canonical form, qmtp_addr_parse's; one that does not parse as it
 * came: see t->addr_error) and fills *t; t->sender is the sender as it
 * came. Returns 0, or -1 with
 * errno EPROTO (bad or cut netstring, no recipient, more than
 * QMTP_RCPT_MAX, a sender or recipient netstring longer than 4096
 * bytes), ENOMEM or EOVERFLOW. */
int qmqp_tail_parse(const char *s, size_t n, struct qmqp_tail *t, str *rcpts);

/* A whole QMQP request held in memory: s[0..n) is the data of the outer
 * netstring. Sets *msg_off and *msg_len to the message, then works as
 * qmqp_tail_parse on the rest. For tests and the fuzz target: the
 * server reads the same structure piece by piece with the functions
 * above. */
int qmqp_request_parse(const char *s, size_t n, size_t *msg_off, size_t *msg_len, struct qmqp_tail *t, str *rcpts);

/* --- replies ------------------------------------------------------------ */

/* Replaces out's content with the reply (without netstring framing)
 * for the wait status of the injector: "K" and the queue's text
 * (exit 0), "D" and a text for codes 11 to 40, "Z" and a text for
 * everything else (a crash included). id is appended to the K text. */
int qmtp_qq_reply(str *out, int wait_status, const char *id);

/* --- control/qmqpservers ---------------------------------------------- */

struct qmqp_server {
  unsigned char ip[16]; /* IPv4 in the first 4 bytes when is6 is 0 */
  int is6;
  unsigned long port;
};

/* One entry of control/qmqpservers: "1.2.3.4", "1.2.3.4:PORT", "::1",
 * "[::1]" or "[::1]:PORT" (an IPv6 address with a port needs the
 * brackets); the port defaults to QMQP_PORT and must be 1..65535.
 * Returns 0, or -1 with errno EINVAL. */
int qmqp_server_parse(const char *s, size_t n, struct qmqp_server *out);

#endif
