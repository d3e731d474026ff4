/* spawn.h: the protocol between sluice-send and the spawners
 * (sluice-lspawn, sluice-rspawn), byte for byte in sluice-spawn(5).
 *
 * A request is one netstring holding netstrings: slot, message id,
 * options (the letters of qfile.h, perhaps none), sender, then one per
 * recipient. DSN (RFC 3461) rides inside those fields, only when the
 * message has it: the sender field may go on with a NUL and the ENVID,
 * a recipient field with a NUL, its NOTIFY letters (qfile.h), a NUL
 * and its ORCPT ("addr-type;address", decoded); a request without DSN
 * is byte for byte what it was before. A result is one netstring
 * holding netstrings: slot, then one per recipient of the request, in
 * order, each a letter (K delivered, P delivered to a next hop that
 * took the DSN request, Z temporary failure, D permanent failure)
 * followed by a text. Decoders check every field and reject leftover
 * bytes; they return 0, or -1 with errno EPROTO (malformed) or
 * EMSGSIZE (a field over its limit). Decoded structures own their
 * memory (spawn_request_free / spawn_result_free). */
#ifndef SLUICE_SPAWN_H
#define SLUICE_SPAWN_H

#include <stddef.h>

#include "str.h"

#define SPAWN_SLOTS_MAX 1000UL      /* slots are 0..SPAWN_SLOTS_MAX-1 */
#define SPAWN_RCPTS_MAX 1000UL      /* recipients in one request */
#define SPAWN_ADDR_MAX 1003UL       /* bytes in one address */
#define SPAWN_TEXT_MAX 4000UL       /* bytes in one result text */
#define SPAWN_FRAME_MAX (2UL * 1024 * 1024)
#define SPAWN_ENVID_MAX 100UL       /* bytes of a decoded ENVID (RFC 3461 4.4) */
#define SPAWN_ORCPT_MAX 500UL       /* bytes of a decoded ORCPT (RFC 3461 4.2) */
#define SPAWN_NOTIFY_MAX 3UL        /* NOTIFY letters: "N", or some of "SFD" */

struct spawn_request {
  unsigned long slot;
  unsigned long id;
  unsigned options; /* QFILE_OPT_ bits */
  str sender;       /* no NUL inside */
  str rcpts;        /* the recipients, each followed by a NUL */
  size_t nrcpts;
  str envid;        /* DSN ENVID, decoded; empty: none */
  str dsn;          /* per recipient, in order: its NOTIFY letters, a
                     * NUL, its ORCPT, a NUL (both empty: none), read
                     * beside rcpts with spawn_next; empty when no
                     * recipient has any */
};

#define SPAWN_REQUEST_INIT { 0, 0, 0, STR_INIT, STR_INIT, 0, STR_INIT, STR_INIT }

struct spawn_result {
  unsigned long slot;
  str results;      /* each: letter, text, NUL (texts hold no NUL) */
  size_t nresults;
};

/* Appends the encoded request to out. options: QFILE_OPT_ bits (the
 * known ones are written). rcpts holds nrcpts addresses, each followed
 * by a NUL. */
int spawn_request_encode(str *out, unsigned long slot, unsigned long id, unsigned options,
                         const char *sender, size_t sender_len,
                         const char *rcpts, size_t rcpts_len, size_t nrcpts);
/* The same with DSN: envid[0..envid_len) (0 bytes: none), and dsn
 * (NULL or dsn_len 0: none) holding for each recipient its NOTIFY
 * letters, a NUL, its ORCPT, a NUL (struct spawn_request's dsn). A value
 * that spawn_dsn_valid refuses is EPROTO; nothing is appended then. */
int spawn_request_encode_dsn(str *out, unsigned long slot, unsigned long id, unsigned options,
                             const char *sender, size_t sender_len, const char *envid, size_t envid_len,
                             const char *rcpts, size_t rcpts_len, size_t nrcpts,
                             const char *dsn, size_t dsn_len);
/* 1 when a DSN value may go into a request: kind 'E' an ENVID, 'O' an
 * ORCPT, 'N' NOTIFY letters; each may be empty (none). An ENVID is 1
 * to SPAWN_ENVID_MAX printable ASCII bytes (32 to 126), an ORCPT 1 to
 * SPAWN_ORCPT_MAX of them with a ';' after at least one byte, NOTIFY
 * letters as qfile_notify_valid says. */
int spawn_dsn_valid(char kind, const char *s, size_t n);
/* Decodes the content of one frame (the outer netstring's data). */
int spawn_request_decode(struct spawn_request *req, const char *s, size_t n);
void spawn_request_free(struct spawn_request *req);

/* Result encoding, one recipient at a time: begin, add (letter K, P, Z
 * or D; the text may not hold NUL and is cut to SPAWN_TEXT_MAX), end. */
int spawn_result_begin(str *work, unsigned long slot);
int spawn_result_add(str *work, char letter, const char *text, size_t len);
/* Wraps work into the outer netstring appended to out. */
int spawn_result_end(str *out, const str *work);
int spawn_result_decode(struct spawn_result *res, const char *s, size_t n);
void spawn_result_free(struct spawn_result *res);

/* Steps through NUL-terminated entries of a list (rcpts or results):
 * returns 1 with entry and len set, 0 at the end. */
int spawn_next(const str *list, size_t *pos, const char **entry, size_t *len);

/* If acc begins with a complete outer netstring (at most max bytes of
 * data), copies its data to frame, drops it from acc and returns 1;
 * returns 0 when more bytes are needed, -1 when acc is malformed. */
int spawn_frame_take(str *acc, str *frame, size_t max);

#endif
