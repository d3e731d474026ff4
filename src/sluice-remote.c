/* sluice-remote: one remote delivery (sluice-remote(8)).
 *
 *     sluice-remote DOMAIN SENDER RCPT...
 *
 * Run by sluice-rspawn as the remote user with the current directory
 * conf-home, the message on fd 0 and the result pipe on fd 1. Writes
 * one record per recipient, in order: K, Z or D, a text, a NUL. Exit 0
 * when every record was written, 111 when fd 1 failed, 64 on a bad
 * command line. The work is in remote.c and smtpc.c. */
#include <signal.h>
#include <string.h>

#include "byte.h"
#include "control.h"
#include "die.h"
#include "file.h"
#include "remote.h"
#include "sig.h"
#include "smtpc.h"
#include "spawn.h"
#include "str.h"

/* An address that would break the command line it goes into. */
static int unsafe(const char *s, size_t n)
{
  return byte_chr(s, n, '\r') < n || byte_chr(s, n, '\n') < n || n > 1003;
}

/* Marks every pending recipient with st/text. */
static void all(struct smtpc_rcpt *r, size_t n, char st, const char *text)
{
  for (size_t i = 0; i < n; ++i)
    if (!r[i].status) {
      r[i].status = st;
      if (str_copys(&r[i].text, text) < 0) die_nomem();
    }
}

int main(int argc, char **argv)
{
  str me = STR_INIT, helo = STR_INIT, routes = STR_INIT, out = STR_INIT;
  struct remote_conf conf;
  struct smtpc_msg msg;
  struct smtpc_rcpt *r;
  size_t n, i;
  unsigned long tconn = 60, tremote = 1200;
  const char *sender;

  die_progname("sluice-remote");
  if (argc < 4) die_usage("sluice-remote domain sender recipient ...");
  if (sig_ignore(SIGPIPE) < 0) die_temp_sys("unable to ignore SIGPIPE");
  n = (size_t)(argc - 3);
  r = calloc_rcpts:
  ;
  return 0;
}
