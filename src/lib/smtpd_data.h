/* smtpd_data.h: the DATA state machine of sluice-smtpd.
 *
 * Bytes arrive in pieces of any size; smtpd_data_feed() consumes them
 * up to and including the CR LF . CR LF that ends the data and no
 * further, so that pipelined commands after the data stay unread. Only
 * that exact sequence ends the data (the first CR LF may be the one of
 * the 354 reply: an empty message is ". CR LF" at once). A bare LF, a
 * bare CR or a NUL anywhere marks the data as refused (the SMTP
 * smuggling defence): the machine then goes on to the strict end and
 * stores nothing more, so a smuggled "\n.\n" or "\r.\r" never ends the
 * data and never becomes a command.
 *
 * While nothing is wrong it appends the message to *out as it will be
 * queued: dot-unstuffed, lines ended by LF alone. It also counts the
 * message size (as stored) against a limit, and the Received: and
 * Delivered-To: lines of the header (a mail loop when there are
 * SMTPD_HOPS_MAX of them or more). After a problem it stops storing;
 * the caller reads the flags when done is set.
 *
 * Local mode (smtpd_data_start_local, for sendmail -bs: a local user's
 * program, not the network): a line may end in LF alone as well as in
 * CR LF, so "." LF ends the data; a bare CR becomes a space (the queue's
 * line form, as sluice-inject makes it); and Return-Path fields of the
 * header are dropped, continuation lines included, as sluice-inject
 * drops them. NUL bytes are still refused.
 *
 * BDAT mode (smtpd_data_start_bdat, RFC 3030 CHUNKING): the data comes
 * in chunks of counted bytes, so no dot is special (no unstuffing, no
 * end marker) and smtpd_data_feed always consumes all it is given; the
 * caller ends the message with smtpd_data_end_bdat after the LAST
 * chunk. Line ends are checked as in the network DATA mode (a bare CR,
 * a bare LF or a NUL is refused), so a message taken in by BDAT is
 * stored, and relayed, exactly as the same message sent with DATA; a
 * CR at the end of one chunk and a LF at the start of the next are one
 * CR LF.
 *
 * Memory: the state is a plain struct of the caller's; *out belongs to
 * the caller, who empties it between calls as it pleases. */
#ifndef SLUICE_SMTPD_DATA_H
#define SLUICE_SMTPD_DATA_H

#include <stddef.h>
#include <sys/types.h>

#include "str.h"

#define SMTPD_HOPS_MAX 100

/* err bits */
#define SMTPD_DATA_BARE 1   /* a bare CR or LF */
#define SMTPD_DATA_NUL 2    /* a NUL byte */
#define SMTPD_DATA_TOOBIG 4 /* the message passed max bytes */
#define SMTPD_DATA_LOOP 8   /* SMTPD_HOPS_MAX hop lines or more */

struct smtpd_data {
  int state;            /* where in a line we are (smtpd_data.c) */
  int done;             /* 1 once the final CR LF . CR LF was consumed */
  int err;              /* SMTPD_DATA_ bits */
  int in_header;        /* still in the header */
  unsigned long max;    /* the size limit, 0 for none */
  unsigned long bytes;  /* message bytes as stored (saturating; a dropped
                         * Return-Path field does not count) */
  unsigned long hops;   /* Received:/Delivered-To: lines in the header */
  size_t hlen;          /* bytes of the current line in head (at most 13) */
  char head[16];        /* start of the current line, for the hop count */
  int local;            /* local mode (above) */
  int holding;          /* local: head[0..hlen) not stored yet: it may
                         * start "Return-Path:" */
  int dropping;         /* local: inside a Return-Path field */
  int skipping;         /* local: the current line is not stored */
  int bdat;             /* BDAT mode (below) */
};

/* Starts a new message with the size limit max (0: none). */
void smtpd_data_start(struct smtpd_data *d, unsigned long max);
/* The same in local mode. */
void smtpd_data_start_local(struct smtpd_data *d, unsigned long max);

/* The same in BDAT mode. */
void smtpd_data_start_bdat(struct smtpd_data *d, unsigned long max);
/* BDAT mode: the end of the last chunk. A CR held back is bare; a last
 * line without CR LF gets its LF in the store. Sets d->done. Returns 0,
 * or -1 with errno ENOMEM. */
int smtpd_data_end_bdat(struct smtpd_data *d, str *out);

/* Consumes bytes of in[0..n) and appends what is to be stored to *out.
 * Returns the number of bytes consumed (less than n only when the end
 * of the data was reached: d->done is then 1), or -1 with errno ENOMEM
 * (when *out could not grow; nothing is consumed then). */
ssize_t smtpd_data_feed(struct smtpd_data *d, const char *in, size_t n, str *out);

#endif
