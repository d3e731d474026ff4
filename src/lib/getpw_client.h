/* getpw_client.h: sluice-lspawn's side of the long-running user lookup
 * helper, sluice-getpw in its server mode (sluice-getpw(8),
 * sluice-lspawn(8)).
 *
 * The helper is started on the first lookup the cache cannot answer,
 * through prepare (which drops to the passwd user in the child), with
 * a request pipe on its fd 0 and an answer pipe on its fd 1 (fd 2 is
 * inherited: the log). Each lookup writes one request and waits for
 * one answer (getpw_proto.h) for at most timeout_ms; an answer late,
 * malformed, missing (the helper ended) or not asked for (bytes in the
 * answer pipe before the request) gets the helper killed, and
 * the next lookup starts a new one, at once after a helper that had
 * answered before, else after a back-off that doubles from 1 s to 60 s
 * with each failure in a row. A helper found dead by a lookup although
 * it had answered before (killed, or ended on its own between two
 * lookups) is replaced at once and the lookup asked again, once.
 *
 * Answers K and D are kept in a getpw_cache: ttl_ms for an answer that
 * names an account, negative_ttl_ms for D and for an answer naming the
 * alias user (the local part matched no account); 0 keeps nothing.
 * Z is never kept. The caller checks every answer, cached or not.
 *
 * The helper is signalled only through a pidfd (or, where the kernel
 * has none, only while its answer pipe shows it alive), never waited
 * for: it is a child of the caller, and the caller's own reaping
 * (spawner.c reaps every child) collects it, so its pid may be reused
 * after that and must not be signalled by number.
 *
 * Errors: -1 with errno. No output: the caller logs. The client owns
 * its descriptors and memory until getpw_client_stop. It must not be
 * used between fork and exec. */
#ifndef SLUICE_GETPW_CLIENT_H
#define SLUICE_GETPW_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

#include "getpw_cache.h"
#include "getpw_proto.h"
#include "str.h"

/* Longest back-off between helper starts, in ms. */
#define GETPW_BACKOFF_MAX 60000UL

struct getpw_client {
  /* set by the caller before the first lookup */
  const char *path;               /* the helper: conf-home/bin/sluice-getpw */
  int (*prepare)(void *arg);      /* run in the helper's child before exec */
  void *prepare_arg;
  const char *alias;              /* the alias user's name */
  unsigned long timeout_ms;       /* for one answer, >= 1 */
  unsigned long ttl_ms;
  unsigned long negative_ttl_ms;
  /* state */
  pid_t pid;                      /* 0: no helper running */
  int pidfd, wfd, rfd;
  unsigned long answered;         /* answers of the helper running now */
  unsigned long starts;           /* helpers started so far */
  pid_t started;                  /* the pid of the last one */
  unsigned failures;              /* failed helpers in a row */
  long long next_start;           /* no start before this (deadline_now ms) */
  struct getpw_cache cache;
  str req, acc, data;
};

/* Sets the state of a new client (the caller's fields are left). */
void getpw_client_init(struct getpw_client *c);

/* Looks up a local part (kind GETPW_ASK_USER, arg the local part) or
 * the groups of a user (GETPW_ASK_GROUPS, arg the user name, gid its
 * primary group). Returns 1 with a filled (letter K, D or Z), from the
 * cache or from the helper; -1 with errno:
 *   EAGAIN     no helper: waiting out the back-off;
 *   ETIMEDOUT  no answer in time: the helper was killed;
 *   EPROTO     an answer that does not decode: the helper was killed;
 *   EPIPE      the helper ended without answering;
 *   other      the request could not be encoded (EINVAL, EMSGSIZE),
 *              the helper could not be started, no memory. */
int getpw_client_ask(struct getpw_client *c, char kind, const char *arg, size_t len, unsigned long gid,
                     struct getpw_answer *a);

/* Ends the helper (closing its request pipe: it exits at end of file)
 * and frees everything. */
void getpw_client_stop(struct getpw_client *c);

#endif
