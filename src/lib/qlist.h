/* qlist.h: the text of one queued message as sluice-qctl list, mailq
 * and the public summary that sluice-send writes show it
 * (sluice-qctl(8)). No I/O: the caller reads the queue files and owns
 * every buffer; qlist_format appends to o and returns 0, or -1 with
 * errno ENOMEM when o could not grow. Bodies are never shown.
 *
 * The defer file (sluice-queue(5)) is a list of records ADDRESS NUL
 * TIME NUL TEXT NUL, one per deferral, oldest first; the last one of
 * an address is its last deferral reason, their number its deferrals. */
#ifndef SLUICE_QLIST_H
#define SLUICE_QLIST_H

#include <stddef.h>
#include <time.h>

#include "str.h"

struct qlist_msg {
  unsigned long id;
  time_t birth;
  unsigned long size;
  const char *sender; size_t senderlen;
  const str *local, *remote; /* channel files, or 0 when there is none */
  const str *defer;          /* the defer file, or 0 */
  int held;                  /* hold/N/ID exists */
  int bounce;                /* bounce/ID exists */
};

int qlist_format(str *o, const struct qlist_msg *m, time_t now);

/* Appends a printable copy of s[0..n): control bytes become '_'. */
int qlist_cat_safe(str *o, const char *s, size_t n);

/* Appends an age or a delay in seconds as 5s, 3m, 2h or 4d. */
int qlist_cat_age(str *o, unsigned long seconds);

#endif
