/* smtpc.h: the SMTP client side of sluice-remote (RFC 5321 with
 * PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN and CHUNKING).
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
#include "smtpauth.h"
#include "starttls.h"
#include "str.h"

#define SMTPC_LINE_KEEP 512          /* bytes kept of one reply line */
#define SMTPC_TEXT_KEEP 1000         /* bytes kept of a reply for reports */
#define SMTPC_LINES_KEEP 200         /* lines kept for the EHLO parser */
#define SMTPC_REPLY_MAX 1048576      /* a longer reply is malformed */
#define SMTPC_REPLY_LINES_MAX 1000   /* so is one with more lines */
#define SMTPC_PIPELINE_CHUNK 100     /* RCPTs sent before their replies are read */
#define SMTPC_LINE_MAX 998           /* bytes of a line of data on the wire, without
                                      * its CRLF (RFC 5321 4.5.3.1.6); longer lines
                                      * are broken */
#define SMTPC_BDAT_FIRST 65536       /* bytes of a first BDAT chunk pipelined with RCPT */
#define SMTPC_BDAT_CHUNK 1048576     /* bytes of every other BDAT chunk (the last may
                                      * be smaller; a chunk may pass this by what one
                                      * block of input encodes to) */
#define SMTPC_ENVID_MAX 100          /* bytes of ENVID's xtext on the wire (RFC 3461 4.4) */
#define SMTPC_ORCPT_MAX 500          /* bytes of ORCPT's value on the wire (RFC 3461 4.2) */

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
  int smtputf8;
  int starttls;
  int auth;                 /* AUTH offered (RFC 4954; also "AUTH=") */
  int auth_plain;           /* ... with PLAIN */
  int auth_login;           /* ... with LOGIN */
  int size;                 /* SIZE offered */
  unsigned long long size_max; /* its limit; 0: none declared */
  int dsn;                  /* DSN offered (RFC 3461) */
  int chunking;             /* CHUNKING offered (RFC 3030: BDAT) */
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
 * ".\r\n". A line longer than SMTPC_LINE_MAX bytes (the dot added for
 * transparency not counted, as RFC 5321 4.5.3.1.6 says) is broken by
 * CR LF and a space after each SMTPC_LINE_MAX bytes of output, so that
 * every line sent, the space included, has at most SMTPC_LINE_MAX
 * bytes and a header field stays one folded field; a produced line
 * starts with a space and so never needs a dot. Does not flush. 0, -1
 * when reading in failed, -2 when writing out failed (errno set). */
int smtpc_data_copy(buf *out, buf *in);

/* The same content for BDAT (RFC 3030), in chunks: exactly the bytes
 * smtpc_data_copy writes, less the dots it doubles and the final
 * ".\r\n" (CR LF line ends, bare CRs as spaces, long lines broken, a
 * final CR LF when missing). smtpc_encoder_init starts a message (stuff
 * 1: with the dots and the final dot line, as DATA wants; 0: for BDAT);
 * smtpc_encode_chunk appends what follows to chunk until it holds at
 * least target bytes (it may pass target by what one block of in
 * encodes to) or the message has ended. Returns 1 when more of the
 * message follows, 0 when the message ended with this chunk (the chunk
 * may then be shorter, even empty), -1 when reading in failed, -2 when
 * chunk could not grow (errno set). */
struct smtpc_encoder {
  int stuff;  /* double a leading dot, end with ".\r\n" */
  int bol;    /* at the start of an output line */
  size_t col; /* bytes of content on the current output line */
  int cr;     /* a CR ended the last block, its fate unknown */
  buf *out;   /* smtpc_data_copy's output, else NULL */
  str *chunk; /* smtpc_encode_chunk's output, else NULL */
};
void smtpc_encoder_init(struct smtpc_encoder *e, int stuff);
int smtpc_encode_chunk(struct smtpc_encoder *e, buf *in, str *chunk, size_t target);

/* The number of breaks smtpc_data_copy puts into a line of len bytes
 * (CR LF not counted): 0 up to SMTPC_LINE_MAX, then one more for every
 * SMTPC_LINE_MAX - 1 bytes (a continuation line starts with the
 * space). */
unsigned long long smtpc_line_breaks(unsigned long long len);

struct smtpc_scan {
  unsigned long long wire; /* bytes on the wire as SIZE= declares them */
  int eightbit;            /* a byte 0x80 or more anywhere */
  int header8bit;          /* ... in the header section */
};

/* Scans the message on fd from its start: s->wire = the size of what
 * smtpc_data_copy sends, with CR LF line ends and broken lines, less
 * the dots added for transparency and the final ".\r\n" (RFC 1870);
 * s->eightbit when a byte is 0x80 or more; s->header8bit when one is in
 * the header section (every line before the first empty one). 0 or -1
 * (read error). */
int smtpc_message_scan(int fd, struct smtpc_scan *s);

struct smtpc_rcpt {
  const char *addr;  /* the recipient; no CR, LF or NUL */
  size_t len;
  char status;       /* 0 pending, then 'K', 'Z' or 'D' */
  str text;          /* why: "5.1.1 host [ip] said: 550 ..." */
  const char *notify; /* DSN NOTIFY letters (qfile.h: "N", or some of
                      * "SFD"), or NULL/0: none */
  size_t notifylen;
  const char *orcpt; /* DSN ORCPT, decoded "addr-type;address" (printable
                      * ASCII), or NULL/0: none */
  size_t orcptlen;
  int dsn_passed;    /* out, with K: NOTIFY went to a server offering
                      * DSN, which took the message (RFC 3461 6.2.2) */
};

struct smtpc_msg {
  int fd;            /* the message; seekable, read from offset 0 */
  unsigned long long wire;
  int eightbit;      /* BODY=8BITMIME is declared when offered */
  int smtputf8;      /* SMTPUTF8 is asked for when offered (RFC 6531) */
  int utf8_needed;   /* an address or a header field is not ASCII: with
                      * smtputf8 set, a server without SMTPUTF8 cannot
                      * take the message (5.6.7) */
  const char *sender; /* "" for the null sender */
  size_t senderlen;
  int ret;           /* DSN RET: SMTPC_RET_NONE, _FULL or _HDRS */
  const char *envid; /* DSN ENVID, decoded (printable ASCII), or NULL/0 */
  size_t envidlen;
};

#define SMTPC_RET_NONE 0
#define SMTPC_RET_FULL 1
#define SMTPC_RET_HDRS 2

/* STARTTLS (RFC 3207) for one session, by the policy levels of
 * tlspolicy.h. The TLS engine is sluice-tlsc, started by starttls.h
 * after the 220 reply; the session goes on over its plaintext pipe and
 * says EHLO again. none: STARTTLS is never sent. may: sent when
 * offered and sluice-tlsc is there; a refused STARTTLS goes on in
 * plaintext in the same session; a failed handshake ends the session
 * with SMTPC_NEXT and handshake_failed set, so that the caller can try
 * the host again in plaintext (with plain_retry set). encrypt: a host
 * without STARTTLS, a refused STARTTLS or a failed handshake ends the
 * session with SMTPC_NEXT and a 4.7.4 or 4.7.5 text. verify: as
 * encrypt, and also when the certificate did not verify (4.7.5 with
 * sluice-tlsc's reason). The result text of an accepted message says
 * the protocol, cipher and verification ("(TLSv1.3 TLS_AES_256_GCM_SHA384
 * verified)"), or "(plaintext after a failed TLS handshake)". */
struct smtpc_tls {
  int level;                 /* TLSPOLICY_NONE .. TLSPOLICY_VERIFY */
  struct starttls_args args; /* how to start sluice-tlsc */
  int plain_retry;           /* in: the retry in plaintext after a failed
                              * handshake under may (no STARTTLS) */
  int handshake_failed;      /* out: under may, the handshake failed */
  const char *required_by;   /* the file that asks for TLS, named in the
                              * why texts: "control/tlsdestinations"
                              * (NULL) or "control/smtpauth" */
};

/* Connection reuse (sluice-scache(8)), for plaintext sessions without
 * AUTH only. With reused set, the connection comes from the cache:
 * there is no greeting and no EHLO, ext holds the keywords of the
 * session's EHLO, and RSET is sent first; a failure of the reused
 * connection before the server accepted MAIL (RSET not answered 250,
 * an I/O error, a malformed reply or 421 to MAIL) ends the session with
 * SMTPC_NEXT and stale set: nothing was committed, no recipient has a
 * status from it, and the caller connects afresh to the same address
 * without counting a failure of the host. With offer set, a session
 * that ended in a good state (the reply to the end of the data read,
 * not 421, no byte more from the server, neither TLS nor AUTH) is left
 * open without QUIT and keep is set, with ext the keywords: the caller
 * caches the connection or says QUIT on it (smtpc_quit). */
struct smtpc_reuse {
  int reused;           /* in */
  int offer;            /* in */
  struct smtpc_ext ext; /* in with reused, out with keep */
  int stale;            /* out */
  int keep;             /* out */
};

struct smtpc_conf {
  const char *helo;
  size_t helolen;
  unsigned long timeout_ms;   /* every read and write */
  unsigned long reply_ms;     /* total for sending a command and reading its
                               * reply (each, when pipelined); 0: none */
  long long deadline;         /* of the whole delivery (deadline.h); 0: none */
  const char *host;           /* "name [address]" for reports */
  struct smtpc_tls *tls;      /* STARTTLS, or NULL: never */
  const struct smtpauth *auth; /* AUTH, or NULL: never (below) */
  int bdat;                   /* send the message by BDAT when CHUNKING is
                               * offered (below); 0: always DATA */
  struct smtpc_reuse *reuse;  /* connection reuse, or NULL: none */
};

/* DSN (RFC 3461): when the server offers DSN, MAIL carries RET= and
 * ENVID= and each RCPT NOTIFY= and ORCPT= as the message and the
 * recipient have them (xtext-encoded; a value longer on the wire than
 * SMTPC_ENVID_MAX or SMTPC_ORCPT_MAX is left out); a server without DSN
 * gets none of them. A recipient accepted with NOTIFY by a server that
 * offers DSN gets dsn_passed.
 *
 * CHUNKING (RFC 3030): with c->bdat and CHUNKING offered the message
 * goes as BDAT chunks (smtpc_encode_chunk), the last with LAST, instead
 * of DATA. With PIPELINING the first chunk (at most SMTPC_BDAT_FIRST
 * bytes) is sent with the last group of RCPT commands; the others, of
 * SMTPC_BDAT_CHUNK bytes, each wait for the reply to the one before.
 * A 4xx or 5xx reply to a chunk ends the transaction: every accepted
 * recipient gets Z or D with it, no further chunk is sent, QUIT. Until
 * the LAST chunk has been sent a broken connection tries the next host
 * (the server cannot have the message); the reply to LAST counts as the
 * reply to the end of the data. */

/* QUIT on sock and its reply awaited for at most timeout_ms; best
 * effort. */
void smtpc_quit(int sock, unsigned long timeout_ms);

/* AUTH (RFC 4954) with c->auth, after EHLO (and STARTTLS) and before
 * MAIL: PLAIN (RFC 4616, with the initial response) when offered and
 * allowed, else LOGIN. The session must first meet auth->tls: TLS (tls
 * encrypt) or TLS with a verified certificate (tls verify); the caller
 * raises the STARTTLS level to match, so a session that cannot reach
 * it has already ended, and this is checked again here. A server that
 * does not offer AUTH, or none of the two mechanisms, a TLS requirement
 * not met, or a 4xx reply end the session with SMTPC_NEXT and a why
 * (4.7.0, 4.7.4, 4.7.5 or the server's reply); a 5xx reply (535
 * 5.7.8: bad credentials) fails every pending recipient permanently
 * with the server's reply (SMTPC_DONE). The texts never hold the login
 * or the password, and the command buffers are cleared after AUTH. A
 * delivery that authenticated says "authenticated" in its result. */

#define SMTPC_DONE 0   /* every recipient that was pending has a status */
#define SMTPC_NEXT 1   /* nothing was committed: try the next host */

/* Runs one SMTP session on the connected socket sock for the recipients
 * of r[0..n) whose status is 0. SMTPC_DONE when each got K, Z or D.
 * SMTPC_NEXT when the server could not take the message (greeting or
 * EHLO/HELO refused, a disconnect, timeout or malformed reply before
 * the end of the data was acknowledged): recipients it already refused
 * keep their Z/D, the rest are pending again, *why says what went wrong
 * (with an enhanced status code) and *why_perm is 1 when the server
 * refused permanently (5xx greeting or HELO) or cannot take the message
 * at all (5.6.7: the message needs SMTPUTF8, which the server does not
 * offer; RFC 6531 3.4). A time limit that passes
 * counts as a timeout (4.4.2). Does not close sock. */
int smtpc_session(int sock, const struct smtpc_conf *c, const struct smtpc_msg *m, struct smtpc_rcpt *r, size_t n,
                  str *why, int *why_perm);

#endif
