/* prioq.c: see prioq.h. */
#include <errno.h>
#include <stdlib.h>

#include "prioq.h"
#include "size.h"

int prioq_insert(struct prioq *q, time_t when, unsigned long id)
{
  size_t i, bytes;
  if (q->n == q->a) {
    size_t want = q->a ? q->a : 64;
    struct prioq_item *p;
    if (q->a && size_mul(&want, q->a, 2) < 0) return -1;
    if (size_mul(&bytes, want, sizeof *q->v) < 0) return -1;
    p = realloc(q->v, bytes);
    if (!p) { errno = ENOMEM; return -1; }
    q->v = p;
    q->a = want;
  }
  i = q->n++;
  while (i > 0) { /* sift up */
    size_t parent = (i - 1) / 2;
    if (q->v[parent].when <= when) break;
    q->v[i] = q->v[parent];
    i = parent;
  }
  q->v[i].when = when;
  q->v[i].id = id;
  return 0;
}

int prioq_min(const struct prioq *q, struct prioq_item *top)
{
  if (q->n == 0) return 0;
  *top = q->v[0];
  return 1;
}

void prioq_delmin(struct prioq *q)
{
  struct prioq_item last;
  size_t i = 0;
  if (q->n == 0) return;
  last = q->v[--q->n];
  for (;;) { /* sift down */
    size_t c = 2 * i + 1;
    if (c >= q->n) break;
    if (c + 1 < q->n && q->v[c + 1].when < q->v[c].when) ++c;
    if (last.when <= q->v[c].when) break;
    q->v[i] = q->v[c];
    i = c;
  }
  if (q->n > 0) q->v[i] = last;
}

void prioq_free(struct prioq *q)
{
  free(q->v);
  q->v = 0;
  q->n = q->a = 0;
}
