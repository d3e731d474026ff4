/* prioq.h: a binary min-heap of (time, id) pairs, O(log n) per change.
 *
 * sluice-send keeps one per channel: the messages whose next attempt is
 * due at the given time. The heap owns its array; prioq_free releases
 * it. prioq_insert returns 0, or -1 with errno ENOMEM/EOVERFLOW. Equal
 * times come out in no particular order. */
#ifndef SLUICE_PRIOQ_H
#define SLUICE_PRIOQ_H

#include <stddef.h>
#include <time.h>

struct prioq_item {
  time_t when;
  unsigned long id;
};

struct prioq {
  struct prioq_item *v;
  size_t n;
  size_t a;
};

#define PRIOQ_INIT { 0, 0, 0 }

int prioq_insert(struct prioq *q, time_t when, unsigned long id);
/* 1 and the earliest item in *top, or 0 when empty. */
int prioq_min(const struct prioq *q, struct prioq_item *top);
void prioq_delmin(struct prioq *q);
void prioq_free(struct prioq *q);

#endif
