/* smtpd_data.c: see smtpd_data.h.
 *
 * States, by what the machine has seen last:
 *   BOL    the start of a line (after CR LF, or the start of the data)
 *   MID    inside a line
 *   CR     a CR inside a line, not yet known to end it
 *   DOT    a dot at the start of a line
 *   DOTCR  a dot at the start of a line, then CR
 * A bare LF or bare CR is recorded as an error and then treated as an
 * ordinary byte of the line, so the end is found only at a strict
 * CR LF . CR LF, whatever came before. In local mode a LF ends a line
 * in every state and a bare CR is stored as a space.
 *
 * Header lines pass through emit(), which counts hops and, in local
 * mode, holds back the first bytes of each line while they may still
 * spell "Return-Path:", so that such a field is never stored. */
#include <errno.h>

#include "byte.h"
#include "smtpd_data.h"

enum { S_BOL, S_MID, S_CR, S_DOT, S_DOTCR };

void smtpd_data_start(struct smtpd_data *d, unsigned long max)
{
  d->state = S_BOL;
  d->done = 0;
  d->err = 0;
  d->in_header = 1;
  d->max = max;
  d->bytes = 0;
  d->hops = 0;
  d->hlen = 0;
  d->local = 0;
  d->holding = 0;
  d->dropping = 0;
  d->skipping = 0;
  d->bdat = 0;
}

void smtpd_data_start_bdat(struct smtpd_data *d, unsigned long max)
{
  smtpd_data_start(d, max);
  d->bdat = 1;
}

void smtpd_data_start_local(struct smtpd_data *d, unsigned long max)
{
  smtpd_data_start(d, max);
  d->local = 1;
}

/* The current header line's first bytes decide whether it is a hop. */
static void hop_check(struct smtpd_data *d)
{
  if (byte_startswith(d->head, d->hlen, "received:", 1) || byte_startswith(d->head, d->hlen, "delivered-to:", 1)) {
    if (++d->hops >= SMTPD_HOPS_MAX) d->err |= SMTPD_DATA_LOOP;
  }
}

/* Stores c (counted against the limit; nothing is stored after a
 * problem). */
static void store(struct smtpd_data *d, char c, str *out)
{
  if (d->bytes != (unsigned long)-1) ++d->bytes;
  if (d->max && d->bytes > d->max) d->err |= SMTPD_DATA_TOOBIG;
  if (!d->err) out->s[out->len++] = c;
}

/* One byte of the message as it will be stored; out has room for it
 * and for the bytes held back. */
static void emit(struct smtpd_data *d, char c, str *out)
{
  static const char rp[] = "return-path:";
  size_t k;

  if (!d->in_header) {
    store(d, c, out);
    return;
  }
  if (c == '\n') {
    if (d->hlen == 0) d->in_header = 0; /* the empty line ends the header */
    else if (d->hlen < 13) hop_check(d);
    if (d->holding) /* a short line that only began like Return-Path */
      for (k = 0; k < d->hlen; ++k) store(d, d->head[k], out);
    if (!d->skipping) store(d, c, out);
    d->hlen = 0;
    d->holding = d->skipping = 0;
    return;
  }
  if (d->hlen == 0 && d->local) {
    /* a new line: a continuation of a dropped field, or a new field */
    if (d->dropping && (c == ' ' || c == '\t')) d->skipping = 1;
    else {
      d->dropping = 0;
      d->holding = 1;
    }
  }
  k = d->hlen; /* c's place in the line, when it is below 13 */
  if (d->hlen < 13) {
    d->head[d->hlen++] = c;
    if (d->hlen == 13) hop_check(d);
  } else if (d->hlen == 13) {
    d->hlen = 14; /* checked already; only count that the line is not empty */
  }
  if (d->skipping) return;
  if (d->holding) {
    char lc = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    if (k < sizeof rp - 1 && lc == rp[k]) {
      if (k == sizeof rp - 2) { /* "Return-Path:": drop the field */
        d->holding = 0;
        d->dropping = d->skipping = 1;
      }
      return;
    }
    d->holding = 0;
    for (size_t h = 0; h < k; ++h) store(d, d->head[h], out);
  }
  store(d, c, out);
}

/* A byte inside a line (state MID after it, or CR for a CR). */
static void mid_byte(struct smtpd_data *d, char c, str *out)
{
  if (c == '\r') {
    d->state = S_CR;
    return;
  }
  d->state = S_MID;
  if (c == '\n' && d->local) {
    emit(d, c, out);
    d->state = S_BOL;
    return;
  }
  if (c == '\n') d->err |= SMTPD_DATA_BARE;
  else if (c == 0) d->err |= SMTPD_DATA_NUL;
  emit(d, c, out);
}

/* A CR that turned out bare: refused, or a space in local mode. */
static void bare_cr(struct smtpd_data *d, str *out)
{
  if (d->local) {
    emit(d, ' ', out);
    return;
  }
  d->err |= SMTPD_DATA_BARE;
  emit(d, '\r', out);
}

ssize_t smtpd_data_feed(struct smtpd_data *d, const char *in, size_t n, str *out)
{
  size_t i;

  if (d->done) return 0;
  /* Each input byte stores at most one byte, plus the CR held back in
   * state CR or DOTCR that a following byte may show to be bare, plus
   * the start of a header line held back in local mode. */
  if (str_readyplus(out, n + 1 + sizeof d->head) < 0) return -1;
  for (i = 0; i < n; ++i) {
    char c = in[i];
    switch (d->state) {
    case S_BOL:
      if (c == '.' && !d->bdat) d->state = S_DOT;
      else mid_byte(d, c, out);
      break;
    case S_MID:
      mid_byte(d, c, out);
      break;
    case S_CR:
      if (c == '\n') {
        emit(d, '\n', out);
        d->state = S_BOL;
      } else {
        bare_cr(d, out); /* the CR held back was bare */
        mid_byte(d, c, out);
      }
      break;
    case S_DOT:
      /* the dot was stuffing (or a lone dot followed by a bare byte) */
      if (c == '\r') d->state = S_DOTCR;
      else if (c == '\n' && d->local) {
        d->done = 1;
        return (ssize_t)(i + 1);
      } else mid_byte(d, c, out);
      break;
    case S_DOTCR:
      if (c == '\n') {
        d->done = 1;
        return (ssize_t)(i + 1);
      }
      bare_cr(d, out);
      mid_byte(d, c, out);
      break;
    }
  }
  return (ssize_t)n;
}

int smtpd_data_end_bdat(struct smtpd_data *d, str *out)
{
  if (d->done) return 0;
  if (str_readyplus(out, 2 + sizeof d->head) < 0) return -1;
  if (d->state == S_CR) {
    bare_cr(d, out);
    d->state = S_MID;
  }
  if (d->state == S_MID) emit(d, '\n', out); /* the last line's end */
  d->state = S_BOL;
  d->done = 1;
  return 0;
}
