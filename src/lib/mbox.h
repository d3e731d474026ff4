/* mbox.h: delivery into an mbox file (the "mboxo"/"mboxrd" family as
 * read by mutt, mblaze and Python's mailbox module).
 *
 * A delivery appends
 *     From SENDER DATE          (the From_ line, see mbox_fromline)
 *     head                      (Return-Path and Delivered-To)
 *     the message in the queue's line form (lineform.h: a CR LF or a
 *       bare CR left in it becomes LF or a space), where every line that starts with "From " after any
 *       number of '>' gets one more '>' in front (mboxrd quoting, so a
 *       reader can undo it exactly)
 *     a newline if the message did not end with one, then an empty line
 * under an exclusive fcntl lock on the whole file, then fsyncs it. On
 * any failure the file is cut back to its size before the delivery,
 * so a reader never sees half a message.
 *
 * Functions return 0, or -1 with errno set (mbox_deliver also sets
 * *what to a static text naming the failed step; ETIMEDOUT when the
 * lock was not granted in time). The caller owns every str and fd. */
#ifndef SLUICE_MBOX_H
#define SLUICE_MBOX_H

#include <stddef.h>
#include <time.h>

#include "str.h"

/* Streaming From_ quoting. Feed the message in pieces of any size;
 * the quoted text is appended to out. */
struct mbox_quote {
  int bol;        /* at the beginning of a line */
  size_t gt;      /* '>' seen at the beginning of this line */
  size_t matched; /* bytes of "From " matched after them */
  char last;      /* last byte of input, '\n' before any */
};

void mbox_quote_start(struct mbox_quote *q);
int mbox_quote_feed(struct mbox_quote *q, const char *s, size_t n, str *out);
/* Flushes bytes held back at the end of the input (a last line that is
 * a prefix of ">>From "). */
int mbox_quote_end(struct mbox_quote *q, str *out);

/* Appends the asctime-like UTC date "Sun Nov 22 03:04:32 2026" (the
 * day of the month padded with a space to two places, as asctime
 * does). EOVERFLOW when t does not convert or its year is not 4 digits. */
int mbox_date(str *out, time_t t);
/* Appends "From SENDER DATE\n" with MAILER-DAEMON for an empty sender
 * and every space or control byte of the sender turned into '_'. */
int mbox_fromline(str *out, const char *sender, size_t n, time_t t);

/* Appends a message to the mbox at path (created with mode 0600 when
 * missing). lock_seconds bounds the wait for the lock (SIGALRM is
 * caught meanwhile and set back to its default disposition after). */
int mbox_deliver(const char *path, int msgfd, const char *fromline, size_t fromlen,
                 const char *head, size_t headlen, unsigned lock_seconds, const char **what);

#endif
