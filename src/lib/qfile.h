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
 * of its envelope is not ASCII); "H" and "B" are DSN's RET=HDRS and
 * RET=FULL (RFC 3461 4.3).
 *
 * DSN (RFC 3461), in files written since it exists:
 *   todo envelope  optionally "I" envid before "F"; before a "T",
 *                  optionally "N" notify letters and "R" orcpt, which
 *                  belong to that recipient;
 *   info           optionally "I" envid and "D" fields before "F": "D",
 *                  the notify letters (none: not given), a space, the
 *                  orcpt as xtext (empty: none), a space, the recipient
 *                  address as in the channel file.
 * Notify letters: "N" (NEVER, alone) or some of "S" SUCCESS, "F"
 * FAILURE, "D" DELAY. The envid and the orcpt ("addr-type;address")
 * are decoded, printable ASCII. A file without an "O" field (all
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
  str dsn;                      /* DSN fields (RFC 3461), each with its
                                 * NUL: "I" envid, "D" per recipient
                                 * (below); owned by the caller */
  /* qfile_envelope_parse only, while rcpt runs: the "N" (NOTIFY) and
   * "R" (ORCPT) records that came before the "T" (pointers into the
   * envelope; 0 and 0 when absent) */
  const char *notify, *orcpt;
  size_t notify_len, orcpt_len;
};

#define QFILE_OPT_SMTPUTF8 1u   /* "U" */
#define QFILE_OPT_RET_HDRS 2u   /* "H": DSN RET=HDRS */
#define QFILE_OPT_RET_FULL 4u   /* "B": DSN RET=FULL */
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

/* Appends a "D" field for the recipient addr with the notify letters
 * and orcpt (each may be empty). 0 or -1 (ENOMEM). */
int qfile_dsn_cat(str *out, const char *notify, size_t nlen, const char *orcpt, size_t olen,
                  const char *addr, size_t alen);

/* Finds in dsn (the fields of struct qfile_info) the "D" field of addr
 * (the first that matches): 1 with *notify and *nlen pointing at its
 * letters and orcpt holding the decoded orcpt (empty: none), 0 when
 * there is none, -1 with errno (ENOMEM, EPROTO). */
int qfile_dsn_find(const str *dsn, const char *addr, size_t alen, const char **notify, size_t *nlen, str *orcpt);

/* 1 when a "D" field of dsn asks for NOTIFY=SUCCESS, else 0. */
int qfile_dsn_wants_success(const str *dsn);

/* Points *envid at the "I" field's value in dsn: its length, or 0. */
size_t qfile_dsn_envid(const str *dsn, const char **envid);

/* 1 when the notify letters n[0..len) are valid: "N" alone, or each of
 * "S", "F", "D" at most once. */
int qfile_notify_valid(const char *n, size_t len);

#endif
