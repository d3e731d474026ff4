/* dsnmake.c: builds a bounce with the dsn module, for the shell tests.
 *
 *   dsnmake [options] ADDR TEXT [ADDR TEXT ...] < original-message
 *
 * Each ADDR TEXT pair is a failed recipient and the spawner's text for
 * it (a leading "x.y.z " status code is used as the status). Writes the
 * bounce to fd 1. Options:
 *   -q         QSBMF instead of RFC 3464
 *   -D         a double bounce
 *   -e         the failures are temporary ones that expired
 *   -x         diagnostic texts come from sluice itself, not SMTP
 *   -m HOST    the remote MTA of every recipient
 *   -h HOST    reporting host (mx.example.org)
 *   -f ADDR    bounce From (MAILER-DAEMON@ the reporting host)
 *   -s ADDR    original envelope sender (alice@example.com)
 *   -t ADDR    bounce To (the sender)
 *   -k TOKEN   unique token (1732245872.12345.67890)
 *   -i ID      queue id (12345)
 *   -a TIME    arrival time, seconds since the epoch (1732240000)
 *   -n TIME    now (1732245872)
 *   -c BYTES   cap of the header copy (RFC 3464) or message copy (QSBMF)
 * Exit 0, 64 for bad usage, 111 for trouble. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "die.h"
#include "dsn.h"
#include "file.h"
#include "scan.h"
#include "str.h"

#define USAGE "dsnmake [-qDex] [-m host] [-h host] [-f from] [-s sender] [-t to] [-k token] [-i id] [-a time] [-n time] [-c cap] addr text ..."

static unsigned long number(const char *s)
{
  unsigned long u;
  if (scan_ulong_exact(s, strlen(s), &u) < 0) die_usage(USAGE);
  return u;
}

int main(int argc, char **argv)
{
  struct dsn_message m;
  struct dsn_recipient *r;
  str orig = STR_INIT, out = STR_INIT, from = STR_INIT;
  const char *remote = 0;
  int expired = 0, sluicediag = 0, opt;
  size_t i, n;
  unsigned long cap = 0;

  die_progname("dsnmake");
  memset(&m, 0, sizeof m);
  m.host = "mx.example.org";
  m.sender = "alice@example.com";
  m.token = "1732245872.12345.67890";
  m.queue_id = 12345;
  m.arrival = 1732240000;
  m.now = 1732245872;
  m.format = DSN_RFC3464;
  while ((opt = getopt(argc, argv, "qDexm:h:f:s:t:k:i:a:n:c:")) != -1) {
    switch (opt) {
      case 'q': m.format = DSN_QSBMF; break;
      case 'D': m.doublebounce = 1; break;
      case 'e': expired = 1; break;
      case 'x': sluicediag = 1; break;
      case 'm': remote = optarg; break;
      case 'h': m.host = optarg; break;
      case 'f': m.from = optarg; break;
      case 's': m.sender = optarg; break;
      case 't': m.to = optarg; break;
      case 'k': m.token = optarg; break;
      case 'i': m.queue_id = number(optarg); break;
      case 'a': m.arrival = (time_t)number(optarg); break;
      case 'n': m.now = (time_t)number(optarg); break;
      case 'c': cap = number(optarg); break;
      default: die_usage(USAGE);
    }
  }
  argv += optind;
  argc -= optind;
  if (argc < 2 || argc % 2) die_usage(USAGE);
  if (!m.from) {
    if (str_copys(&from, "MAILER-DAEMON@") < 0 || str_cats(&from, m.host) < 0 || str_0(&from) < 0) die_nomem();
    m.from = from.s;
  }
  if (!m.to) m.to = m.sender;
  m.headers_cap = cap;
  m.qsbmf_cap = cap;

  n = (size_t)argc / 2;
  r = calloc(n, sizeof *r);
  if (!r) die_nomem();
  for (i = 0; i < n; ++i) {
    r[i].addr = argv[2 * i];
    r[i].text = argv[2 * i + 1];
    r[i].textlen = strlen(argv[2 * i + 1]);
    r[i].expired = expired;
    r[i].diag_type = sluicediag ? DSN_DIAG_SLUICE : DSN_DIAG_SMTP;
    r[i].remote_mta = remote;
  }
  m.rcpt = r;
  m.rcpt_count = n;

  if (read_fd_all(0, &orig, 64UL * 1024 * 1024) < 0) die_temp_sys("unable to read the original message");
  m.original = orig.s;
  m.original_len = orig.len;
  if (dsn_compose(&out, &m) < 0) die_temp_sys("unable to compose the bounce");
  if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write output");
  free(r);
  str_free(&orig);
  str_free(&out);
  str_free(&from);
  return 0;
}
