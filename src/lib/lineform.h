/* lineform.h: the internal line form of queued messages
 * (sluice-queue(5), "Line ends").
 *
 * In the queue a line ends with a bare LF and a CR is never part of a
 * line end. Every program that puts a message into the queue for a
 * caller (sluice-inject and so sendmail, sluice-qmtpd, sluice-qmqpd;
 * sluice-smtpd has its own strict DATA machine) converts what it is
 * given with this converter, and every local delivery (Maildir, mbox,
 * programs, forwards) converts what it reads from the queue with it
 * again, because sluice-queue itself copies bytes as they come (any
 * local user may run it, and queues written before the rule exist):
 *
 *   CR LF            becomes LF (a DOS or network line end);
 *   a CR not directly followed by LF (a "bare CR", in the middle of a
 *                    line or at the very end of the input) becomes a
 *                    space;
 *   every other byte, LF included, is kept.
 *
 * A bare CR becomes a space and not a line end, as Postfix's
 * cleanup_replace_stray_cr_lf does: RFC 5321 section 2.3.8 forbids
 * sending it, and turning it into a line break would let a sender
 * split a header field in two or build a line holding only a dot in
 * the eyes of a peer that ends lines at CR. So CR CR LF becomes
 * space LF.
 *
 * The converter works on pieces of any size: a CR at the end of one
 * piece is held back until the next shows what follows it, and
 * lineform_end settles it. Nothing here allocates except into the
 * caller's str; nothing reads or writes a descriptor. */
#ifndef SLUICE_LINEFORM_H
#define SLUICE_LINEFORM_H

#include <stddef.h>

#include "str.h"

struct lineform {
  int cr; /* a CR ended the last piece */
};

void lineform_start(struct lineform *l);
/* Converts in[0..n) into out, which has room for n + 1 bytes (the CR
 * held back from the previous piece may come out as a space first).
 * Returns the bytes written. in and out must not overlap. */
size_t lineform_feed(struct lineform *l, const char *in, size_t n, char *out);
/* The end of the input: writes a held-back CR as a space into out
 * (room for 1 byte). Returns the bytes written, 0 or 1. */
size_t lineform_end(struct lineform *l, char *out);
/* lineform_feed appending to *out: 0, or -1 (ENOMEM, EOVERFLOW) with
 * *out unchanged and the state as before the call. */
int lineform_cat(struct lineform *l, const char *in, size_t n, str *out);
/* lineform_end appending to *out: 0 or -1 as lineform_cat. */
int lineform_cat_end(struct lineform *l, str *out);

#endif
