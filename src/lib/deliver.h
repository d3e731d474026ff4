/* deliver.h: the pieces of one local delivery that are not a mailbox
 * format (sluice-local(8)): the header lines it adds, the loop check,
 * the environment of .qmail programs, how exit codes of programs and of
 * the injector map to success, temporary and permanent failure, and
 * running a child that is fed the message through a pipe.
 *
 * Functions return 0 (or a documented value) on success and -1 with
 * errno set on failure (ENOMEM, EOVERFLOW, or the failing system
 * call's error). The caller owns every str and every descriptor passed
 * in; deliver_child_run closes only the pipes it makes. */
#ifndef SLUICE_DELIVER_H
#define SLUICE_DELIVER_H

#include <stddef.h>
#include <sys/types.h>

#include "str.h"

/* Longest result text sent to sluice-lspawn (sluice-local(8)). */
#define DELIVER_TEXT_MAX 1000

enum deliver_status {
  DELIVER_OK = 0,   /* success */
  DELIVER_STOP = 1, /* success, skip the remaining .qmail lines (exit 99) */
  DELIVER_TEMP = 2, /* temporary failure: retry later */
  DELIVER_PERM = 3  /* permanent failure: bounce */
};

/* A .qmail program's wait status: 0 ok; 99 ok and stop; 64, 65, 70,
 * 76, 77, 78, 100, 112 permanent; every other code and any crash
 * temporary. */
enum deliver_status deliver_program_status(int wstatus);
/* The injector's (sluice-queue or QMAILQUEUE) wait status: 0 ok; 11..40
 * permanent; every other code and any crash temporary. */
enum deliver_status deliver_queue_status(int wstatus);

/* Makes text fit a result line: every byte below 32 (NUL, CR and LF
 * included) and 127 becomes a space, runs of spaces collapse to one,
 * leading and trailing spaces go, and the text is cut to max bytes. */
void deliver_sanitize(str *text, size_t max);

/* Appends s[0..n) with every control byte (below 32, and 127) replaced
 * by '_', so an address can go into a header line or a From_ line. */
int deliver_cat_safe(str *out, const char *s, size_t n);

/* "Delivered-To: LOCAL@DOMAIN\n" */
int deliver_dtline(str *out, const char *local, size_t llen, const char *domain, size_t dlen);
/* "Return-Path: <SENDER>\n" */
int deliver_rpline(str *out, const char *sender, size_t n);

/* Reads the message header from fd (from offset 0, up to the first
 * empty line or end of file) and looks for a Delivered-To field whose
 * value, with surrounding blanks removed, equals addr[0..n) ignoring
 * ASCII case. Returns 1 found, 0 not found, -1 on a read error. The
 * offset of fd is left anywhere. */
int deliver_header_has_dt(int fd, const char *addr, size_t n);

/* HOSTk (k 2..4): host without its last k-1 dot-separated labels;
 * when it has fewer dots, its first label. Replaces out. */
int deliver_host_part(str *out, const char *host, size_t n, unsigned k);
/* EXTk (k 2..4): ext after its first k-1 dashes; empty when it has
 * fewer. Replaces out. */
int deliver_ext_part(str *out, const char *ext, size_t n, unsigned k);

/* The VERP sender for a forward to rcpt: "LOCAL-owner-RL=RH@DOMAIN"
 * where rcpt is RL@RH (RL alone when rcpt has no '@'). Replaces out. */
int deliver_verp_sender(str *out, const char *local, const char *domain, const char *rcpt, size_t rlen);

/* Longest time limit of a child, in seconds (about three years; far
 * above anything useful, low enough that milliseconds never wrap). */
#define DELIVER_TIMEOUT_MAX 100000000UL
/* Seconds between SIGTERM and SIGKILL to a child over its time limit. */
#define DELIVER_KILL_GRACE 5

/* Runs a child and feeds it.
 *   fd 0 of the child: a pipe carrying head[0..headlen) and then the
 *     whole content of msgfd (read from offset 0) in the queue's line
 *     form (lineform.h), so programs and forwards see LF line ends;
 *   with envelope non-NULL, fd 1 of the child: a pipe carrying
 *     envelope[0..envlen) (the injector's envelope), fd 2 inherited;
 *   otherwise fds 1 and 2 of the child: one pipe whose first outmax
 *     bytes are appended to *output (the rest is read and dropped).
 * The pipes are fed and drained together with poll(), so no order of
 * reads in the child can deadlock. A child that stops reading early is
 * not an error (its exit code decides). SIGPIPE must be ignored by the
 * caller.
 *   With timeout non-zero (seconds, at most DELIVER_TIMEOUT_MAX) the
 * child runs in a process group of its own and everything, its exit
 * included, must be done within timeout seconds of its start; after
 * that the whole group gets SIGTERM (and SIGCONT), the pipes to the
 * child are closed, and after at most DELIVER_KILL_GRACE seconds more
 * (less when the child has ended and its output pipe is closed) the
 * group gets SIGKILL, before the child is reaped, so the group id
 * cannot have been reused. A descendant that leaves the group (setsid,
 * setpgid) escapes this.
 * Returns 0 with *wstatus the child's wait status; 1 when the time
 * limit passed (*wstatus as reaped after the kill); or -1 with errno
 * when the child could not be started or a pipe failed (the child, if
 * started, has been killed, with its group when it has one, and
 * reaped then). */
struct deliver_child {
  const char *path;
  char *const *argv;
  char *const *envp;
  const char *head;
  size_t headlen;
  int msgfd;
  const char *envelope;
  size_t envlen;
  unsigned long timeout; /* seconds; 0: no limit and no process group */
};
int deliver_child_run(const struct deliver_child *c, str *output, size_t outmax, int *wstatus);

#endif
