/* qfile.h: the formats of sluice-send's queue files, parsed from bytes
 * in memory (sluice-send(8) describes them):
 *
 *   info        "b" birth, "u" uid, "p" pid, optionally "s" stamp,
 *               optionally "O" options, "F" sender, "E": each field
 *               ended by a NUL, "E" last;
 *   local, remote (channel files)
 *               a header "R" + 20 decimal digits (the next attempt) + NUL,
 *               then records: a mark ('T' to do, 'D' done), the address
 *               (at least one byte), NUL;
 *   todo envelope
 *               "u" uid, "p" pid, optionally "s" stamp, optionally "O"
 *               options (before "F"), "F" sender, then "T" recipient
 *               fields, each ended by a NUL ("F" before any "T").
 *
 * A stamp is SECONDS "." NANOSECONDS (1 to 9 digits, below 10^9): the
 * time sluice-queue gave the message file as its modification time.
 * With the inode number it names a message uniquely for the life of
 * the installation (queue_msgid_fmt). Envelopes and info files written
 * before stamps existed have none.
 *
 * Options are letters, each at most once, in any order: "U" is
 * SMTPUTF8 (RFC 6531: the message was accepted with it, or an address
 * of its envelope is not ASCII). A file without an "O" field (all
 * files written before options existed) has none. The same letters
 * make the options field of a spawn request (spawn.h).
 *
 * Nothing here does I/O or keeps state; the caller owns every buffer.
 * Parsers return 0 (or 1 for the predicates) on success and -1 with
 * errno set: EPROTO for bad syntax, ENOMEM when a copy could not grow,
 * or what a caller's callback set. */
#ifndef SLUICE_QFILE_H
#define SLUICE_QFILE_H

#include <stddef.h>

#include "str.h"

#define QFILE_HEADER_LEN 22     /* "R" + 20 digits + NUL */

struct qfile_info {
  unsigned long birth, uid, pid;
  str sender;                   /* owned by the caller */
  unsigned long stamp_sec, stamp_nsec;
  int stamped;                  /* 1 when an "s" field was seen */
  unsigned options;             /* QFILE_OPT_ bits of the "O" field, or 0 */
};

#define QFILE_OPT_SMTPUTF8 1u   /* "U" */
#define QFILE_OPTIONS_MAX 8     /* bytes qfile_options_fmt writes at most */

/* Parses option letters s[0..n) (without the "O"; n may be 0: none)
 * into *opts. A letter that is unknown or repeated is EPROTO. */
int qfile_options_parse(const char *s, size_t n, unsigned *opts);

/* Writes the letters of opts into buf (room for QFILE_OPTIONS_MAX
 * bytes) and returns their number (0 for none); unknown bits are
 * left out. */
size_t qfile_options_fmt(char *buf, unsigned opts);

/* Parses a stamp, s[0..n) without the "s", into *sec and *nsec. */
int qfile_stamp_parse(const char *s, size_t n, unsigned long *sec, unsigned long *nsec);

/* Writes the stamp sec.nsec (nanoseconds as 9 digits) into buf, which
 * has room for QFILE_STAMP_MAX bytes; returns its length. */
#define QFILE_STAMP_MAX 32
size_t qfile_stamp_fmt(char *buf, unsigned long sec, unsigned long nsec);

/* Parses an info file: every field but "s" and "O" once at least, "s"
 * and "O" at most once, "E" last and nothing after it. The sender is
 * copied into in->sender. */
int qfile_info_parse(const str *s, struct qfile_info *in);

/* Parses the header at the start of channel file f into *next. */
int qfile_header_parse(const str *f, unsigned long *next);

/* Writes the header for next into h[0..QFILE_HEADER_LEN). */
void qfile_header_fmt(char *h, unsigned long next);

/* 1 when the records after the header of f are well formed, else 0. */
int qfile_records_valid(const str *f);

/* Parses a todo envelope: uid, pid, stamp, options and sender go into
 * *in ("s" and "O" at most once, before "F"), and rcpt is
 * called with each recipient's address (without the "T") in order (rcpt
 * may be 0 to read only the fields before them); a
 * negative return from rcpt stops the parse and is returned with its
 * errno. Parsing stops quietly at the first field that is empty or not
 * ended by a NUL; the envelope is good (0) when u, p and F were all
 * seen by then. */
int qfile_envelope_parse(const str *env, struct qfile_info *in,
                         int (*rcpt)(void *ctx, const char *addr, size_t len), void *ctx);

#endif
