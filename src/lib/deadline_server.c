/* deadline_server.c: the time limits of the servers (deadline.h). */
#include <errno.h>

#include "buf.h"
#include "control.h"
#include "deadline.h"

int deadline_server_read(struct deadline_server *d, const char **bad)
{
  d->session_end = 0;
  if (control_readnum("control/timeoutsmtpd", &d->call, DEADLINE_SMTPD_CALL, 1, 86400) < 0) {
    *bad = "timeoutsmtpd";
    return -1;
  }
  if (control_readnum("control/timeoutsmtpdcommand", &d->command, DEADLINE_SMTPD_COMMAND, 0, 86400) < 0) {
    *bad = "timeoutsmtpdcommand";
    return -1;
  }
  if (control_readnum("control/timeoutsmtpddata", &d->data, DEADLINE_SMTPD_DATA, 0, 86400) < 0) {
    *bad = "timeoutsmtpddata";
    return -1;
  }
  if (control_readnum("control/timeoutsmtpdsession", &d->session, DEADLINE_SMTPD_SESSION, 0, 604800) < 0) {
    *bad = "timeoutsmtpdsession";
    return -1;
  }
  return 0;
}

void deadline_server_start(struct deadline_server *d, buf *in, buf *out)
{
  d->session_end = deadline_after(d->session * 1000);
  buf_set_timeout(in, d->call * 1000);
  buf_set_timeout(out, d->call * 1000);
  buf_set_deadline(in, d->session_end);
  buf_set_deadline(out, d->session_end);
}

void deadline_server_arm(const struct deadline_server *d, buf *in, buf *out, unsigned long seconds)
{
  long long at = deadline_min(d->session_end, deadline_after(seconds * 1000));
  buf_set_deadline(in, at);
  buf_set_deadline(out, at);
}

int deadline_server_which(const struct deadline_server *d, const buf *b)
{
  if (deadline_passed(d->session_end)) return 2;
  if (buf_expired(b)) return 1;
  return 0;
}
