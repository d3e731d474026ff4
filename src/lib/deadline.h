/* deadline.h: absolute deadlines for network sessions.
 *
 * A deadline is a point in time, in milliseconds on the monotonic clock
 * (CLOCK_MONOTONIC, so a stepped wall clock neither extends nor cuts
 * it); 0 means "none". A buf (buf.h) honours one with buf_set_deadline
 * on top of its per-call timeout: that is how a server bounds a whole
 * command, a whole message and a whole session, and how the SMTP client
 * bounds a reply and a delivery, so a peer that trickles one byte at a
 * time cannot hold a process for longer than the total.
 *
 * The servers (sluice-smtpd, sluice-qmtpd, sluice-qmqpd) share their
 * limits, read from control files by deadline_server_read:
 *     timeoutsmtpd         each read or write (seconds, default 1200)
 *     timeoutsmtpdcommand  one command: waiting for it, reading it and
 *                          writing the replies before the next (300)
 *     timeoutsmtpddata     the message data, first byte to the end (600)
 *     timeoutsmtpdsession  the whole connection (1800)
 * A total of 0 turns that total off. Nothing here allocates; errors are
 * -1 with errno set (what control_readnum reported). */
#ifndef SLUICE_DEADLINE_H
#define SLUICE_DEADLINE_H

#include "buf.h"

/* Milliseconds on the monotonic clock (never 0 after the first call
 * returns: the clock is offset so that 0 stays free to mean "none"). */
long long deadline_now(void);
/* The deadline ms milliseconds from now; 0 (none) when ms is 0. */
long long deadline_after(unsigned long ms);
/* The earlier of a and b, where 0 is later than anything. */
long long deadline_min(long long a, long long b);
/* 1 when d is set and has passed, else 0. */
int deadline_passed(long long d);

#define DEADLINE_SMTPD_CALL 1200      /* timeoutsmtpd: qmail's default */
#define DEADLINE_SMTPD_COMMAND 300    /* RFC 5321 4.5.3.2.7: at least 5 minutes */
#define DEADLINE_SMTPD_DATA 600       /* RFC 5321 4.5.3.2.6: the client waits 10 */
#define DEADLINE_SMTPD_SESSION 1800

struct deadline_server {
  unsigned long call, command, data, session; /* seconds; 0 for a total: none */
  long long session_end;                      /* set by deadline_server_start */
};

/* Reads the four control files above (relative to the current
 * directory) into *d, with the defaults for missing files. 0, or -1
 * with *bad naming the file that could not be used. */
int deadline_server_read(struct deadline_server *d, const char **bad);
/* Starts the session clock now and gives in and out the per-call
 * timeout. */
void deadline_server_start(struct deadline_server *d, buf *in, buf *out);
/* Gives in and out the deadline "seconds from now, but not after the
 * end of the session" (seconds 0: only the session's). */
void deadline_server_arm(const struct deadline_server *d, buf *in, buf *out, unsigned long seconds);
/* Which limit a read or write that failed with ETIMEDOUT on b ran
 * into: 2 the session's, 1 the total armed last (command or data), 0
 * the per-call timeout. */
int deadline_server_which(const struct deadline_server *d, const buf *b);

#endif
