/* checkpw.h: running a checkpassword program (D. J. Bernstein's
 * interface, https://cr.yp.to/checkpwd/interface.html) for SMTP AUTH.
 *
 * The program gets "login NUL password NUL timestamp NUL" on fd 3 (a
 * pipe, closed after the write), /dev/null on fds 0 and 1, the
 * caller's fd 2; it exits 0 when the password is right, 1 when it is
 * wrong (or the login unknown), anything else (111 by convention) on
 * trouble. The caller never sees any password data but the client's.
 *
 * checkpw_argv splits a command line (the first line of
 * control/checkpassword) on blanks into at most CHECKPW_ARGS words:
 * 0, or -1 with errno EINVAL (empty, too many words, not an absolute
 * path) or ENOMEM. checkpw_run returns CHECKPW_GOOD, CHECKPW_BAD or
 * CHECKPW_TEMP (the program could not start, was killed, passed
 * timeout seconds, or exited with another code); it never exits. The
 * caller owns every buffer. */
#ifndef SLUICE_CHECKPW_H
#define SLUICE_CHECKPW_H

#include <stddef.h>
#include <time.h>

#include "str.h"

#define CHECKPW_ARGS 16

enum { CHECKPW_GOOD = 0, CHECKPW_BAD = 1, CHECKPW_TEMP = 2 };

struct checkpw_cmd {
  str words;                       /* the words, each NUL-terminated */
  char *argv[CHECKPW_ARGS + 1];    /* pointers into words, NULL-ended */
};

int checkpw_argv(struct checkpw_cmd *c, const char *line, size_t n);

/* The record written to fd 3: "user NUL pass NUL timestamp NUL". */
int checkpw_record(str *out, const char *user, size_t ulen, const char *pass, size_t plen, time_t when);

int checkpw_run(const struct checkpw_cmd *c, const char *user, size_t ulen, const char *pass, size_t plen,
                unsigned timeout);

#endif
