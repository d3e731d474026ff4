/* smtpc.h: the SMTP client side of sluice-remote (RFC 5321 with
 * PIPELINING, SIZE and 8BITMIME).
 *
 * Everything the server sends is untrusted: reply lines of any length
 * (a capped prefix is kept), multi-line replies, garbage, silence and
 * disconnects all end in a clear result, never a crash or a hang: every
 * read and write has a per-call timeout, each command with its reply a
 * total (a server that trickles a reply byte by byte is cut off when
 * it passes), and the whole delivery an absolute deadline (deadline.h)
 * that also bounds the message transfer.
 *
 * Memory: a smtpc_reply and the text of each smtpc_rcpt are owned by
 * the caller (free them with smtpc_reply_free / str_free); the session
 * only borrows the message descriptor, the socket and the addresses. A
 * failed allocation while building a report text only shortens the
 * text; statuses are always set. */
#ifndef SLUICE_SMTPC_H
#define SLUICE_SMTPC_H

#include <stddef.h>

#include "buf.h"
#include "str.h"

#define SMTPC_LINE_KEEP 512          /* bytes kept of one reply line */
#define SMTPC_TEXT_KEEP 1000         /* bytes kept of a reply for reports */
#define SMTPC_LINES_KEEP 200         /* lines kept for the EHLO parser */
#define SMTPC_REPLY_MAX 1048576      /* a longer reply is malformed */
#define SMTPC_REPLY_LINES_MAX 1000   /* so is one with more lines */
#define SMTPC_PIPELINE_CHUNK 100     /* RCPTs sent before their replies are read */

struct smtpc_reply {
  int code;   /* 200..599, or 0 when the reply was malformed */
  str text;   /* "550 text of line 1 text of line 2", printable ASCII, capped */
  str lines;  /* the text of each line after "NNN-", NUL after each, capped */
};

#define SMTPC_REPLY_INIT { 0, STR_INIT, STR_INIT }

/* Reads one reply from in. Returns 0 with r->code set: 0 means the
 * reply was malformed (a line not starting with three digits, the first
 * 2 to 5, followed by ' ', '-' or the line end; lines with different
 * codes; too long or too many lines), which the caller treats as a
 * temporary failure of the connection. Returns -1 when the reply could
 * not be read: errno ETIMEDOUT, ECONNRESET (also for end of file), or
 * another read error, or ENOMEM. Line ends may be CRLF or LF. */
int smtpc_reply_read(buf *in, struct smtpc_reply *r);
void smtpc_reply_free(struct smtpc_reply *r);

/* The length of the RFC 3463 enhanced status code at s[0..n) (class
 * 2, 4 or 5, equal to cls when cls is non-zero; subject and detail 1 to
 * 3 digits) when it is followed by a space or the end, else 0. */
size_t smtpc_enhanced(const char *s, size_t n, int cls);

struct smtpc_ext {
  int pipelining;
  int eightbitmime;
  int size;                 /* SIZE offered */
  unsigned long long size_max; /* its limit; 0: none declared */
};

/* Reads the EHLO keywords from the lines of a 2xx EHLO reply (the first
 * line is the server's name and is skipped). Unknown keywords and
 * malformed SIZE values are ignored (a SIZE with a bad number is taken
 * as offered without a limit). */
void smtpc_ehlo_parse(const struct smtpc_reply *r, struct smtpc_ext *ext);

/* Copies a queued message from in to out as DATA content, so that no
 * bare CR or bare LF ever reaches the wire (RFC 5321 section 2.3.8):
 * LF and CR LF (left by queues older than the line form of
 * sluice-queue(5)) become CR LF, any other CR becomes a space (as
 * lineform.h does), a line starting with '.' gets another '.', a final
 * CR LF is added when the message does not end with a line end, then
 * ".\r\n". Does not flush. 0, -1 when reading in failed, -2 when
 * writing out failed (errno set). */
int smtpc_data_copy(buf *out, buf *in);

/* Scans the message on fd from its start: *wire = bytes plus one per LF
 * (the size with CRLF line ends, as SIZE= declares it), *eightbit when
 * a byte is 0x80 or more. 0 or -1 (read error). */
int smtpc_message_scan(int fd, unsigned long long *wire, int *eightbit);

struct smtpc_rcpt {
  const char *addr;  /* the recipient; no CR, LF or NUL */
  size_t len;
  char status;       /* 0 pending, then 'K', 'Z' or 'D' */
  str text;          /* why: "5.1.1 host [ip] said: 550 ..." */
};

struct smtpc_msg {
  int fd;            /* the message; seekable, read from offset 0 */
  unsigned long long wire;
  int eightbit;
  const char *sender; /* "" for the null sender */
  size_t senderlen;
};

struct smtpc_conf {
  const char *helo;
  size_t helolen;
  unsigned long timeout_ms;   /* every read and write */
  unsigned long reply_ms;     /* total for sending a command and reading its
                               * reply (each, when pipelined); 0: none */
  long long deadline;         /* of the whole delivery (deadline.h); 0: none */
  const char *host;           /* "name [address]" for reports */
};

#define SMTPC_DONE 0   /* every recipient that was pending has a status */
#define SMTPC_NEXT 1   /* nothing was committed: try the next host */

/* Runs one SMTP session on the connected socket sock for the recipients
 * of r[0..n) whose status is 0. SMTPC_DONE when each got K, Z or D.
 * SMTPC_NEXT when the server could not take the message (greeting or
 * EHLO/HELO refused, a disconnect, timeout or malformed reply before
 * the end of the data was acknowledged): recipients it already refused
 * keep their Z/D, the rest are pending again, *why says what went wrong
 * (with an enhanced status code) and *why_perm is 1 when the server
 * refused permanently (5xx greeting or HELO). A time limit that passes
 * counts as a timeout (4.4.2). Does not close sock. */
int smtpc_session(int sock, const struct smtpc_conf *c, const struct smtpc_msg *m, struct smtpc_rcpt *r, size_t n,
                  str *why, int *why_perm);

#endif
