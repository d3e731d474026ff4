/* smtpd_text.h: texts sluice-smtpd writes that tests should pin down:
 * the reply for an injector's exit status, and the Received line.
 *
 * Functions return 0, or -1 with errno set (ENOMEM, EOVERFLOW) and the
 * output in an unspecified state. The caller owns every str. */
#ifndef SLUICE_SMTPD_TEXT_H
#define SLUICE_SMTPD_TEXT_H

#include <time.h>

#include "str.h"

/* The reply (no CRLF) for the wait status of the injector (qmail-queue's
 * exit code table, sluice-queue(8)): exit 0 gives "250 2.0.0 ok " and
 * then id (the text the caller chose: a queue id or the injector's pid);
 * 11 to 40 a 554 permanent failure; anything else, a crash included, a
 * 451 temporary one. */
int smtpd_qq_reply(str *out, int wait_status, const char *id);

/* 1 when the wait status means the message was queued (exit 0). */
int smtpd_qq_ok(int wait_status);

struct smtpd_received {
  const char *helo;         /* the HELO/EHLO name, or NULL */
  size_t helo_len;
  const char *remote_host;  /* TCPREMOTEHOST, or NULL */
  const char *remote_info;  /* TCPREMOTEINFO, or NULL */
  const char *remote_ip;    /* TCPREMOTEIP, or NULL */
  const char *local_host;   /* the name after "by" */
  const char *protocol;     /* "SMTP", "ESMTP", "UTF8SMTP" */
  time_t when;
};

/* Appends "Received: from HELO (INFO@HOST [IP])\n  by LOCAL with PROTO; DATE\n"
 * (RFC 5321 4.4): every name goes through smtpd_safe_cat, so no byte
 * of the client's can break the header; an IPv6 address is written as
 * an RFC 5321 literal, [IPv6:...]. */
int smtpd_received_line(str *out, const struct smtpd_received *r);

#endif
