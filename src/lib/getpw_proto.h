/* getpw_proto.h: the pipe protocol between sluice-lspawn and the
 * long-running sluice-getpw (its server mode), byte for byte in
 * sluice-getpw(8).
 *
 * Every message is one netstring. A request's data is a letter and its
 * argument:
 *     u LOCAL            who takes mail for the local part LOCAL (no
 *                        NUL, at most USERS_LOCAL_MAX bytes), with the
 *                        supplementary groups of that user
 *     g GID \0 USER      the supplementary groups of USER whose primary
 *                        group is GID (decimal), for a users/cdb entry
 * An answer's data is a letter and what follows it:
 *     K RECORD GROUPS    (to u) the record of users.h, six fields each
 *                        ended by a NUL, then GROUPS
 *     K GROUPS           (to g)
 *     D TEXT             (to u only) the local part cannot be looked up
 *     Z TEXT             temporary trouble (TEXT for a log only)
 * GROUPS is 1 to GETPW_GROUPS_MAX gids, each decimal ended by a NUL.
 * TEXT holds no NUL. Decoders check every field and reject leftover
 * bytes: 0, or -1 with errno EPROTO (malformed) or EMSGSIZE (over a
 * limit); encoders return 0, or -1 with errno and out unchanged.
 * Decoded structures own their memory (getpw_answer_free). */
#ifndef SLUICE_GETPW_PROTO_H
#define SLUICE_GETPW_PROTO_H

#include <stddef.h>

#include "str.h"
#include "users.h"

/* Most bytes in the data of one request or answer. */
#define GETPW_FRAME_MAX 16384UL
/* Most groups in one answer (priv.h's PRIV_GROUPS_MAX). */
#define GETPW_GROUPS_MAX 256
/* Longest user name in a g request. */
#define GETPW_USER_MAX 256

#define GETPW_ASK_USER 'u'
#define GETPW_ASK_GROUPS 'g'

struct getpw_request {
  char kind;            /* GETPW_ASK_USER or GETPW_ASK_GROUPS */
  str arg;              /* the local part, or the user name (no NUL inside) */
  unsigned long gid;    /* for g */
};

struct getpw_answer {
  char letter;          /* K, D or Z */
  struct users_entry e; /* for K to u */
  unsigned long groups[GETPW_GROUPS_MAX];
  size_t ngroups;       /* for K: at least 1 */
};

/* Appends the framed request (the outer netstring included). */
int getpw_request_encode(str *out, char kind, const char *arg, size_t len, unsigned long gid);
/* Decodes the data of one request frame. */
int getpw_request_decode(struct getpw_request *rq, const char *s, size_t n);
void getpw_request_free(struct getpw_request *rq);

/* Append a framed answer: K to u (e and groups), K to g (groups), or
 * letter D or Z with text (a NUL in it is refused: EINVAL). */
int getpw_answer_user(str *out, const struct users_entry *e, const unsigned long *groups, size_t n);
int getpw_answer_groups(str *out, const unsigned long *groups, size_t n);
int getpw_answer_fail(str *out, char letter, const char *text, size_t len);
/* Decodes the data of one answer frame to a request of kind. */
int getpw_answer_decode(struct getpw_answer *a, char kind, const char *s, size_t n);
void getpw_answer_free(struct getpw_answer *a);

#endif
