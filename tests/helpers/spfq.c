/* spfq.c: runs sluice's SPF evaluator (spf.h) over sluice's resolver
 * for the tests (tests/sh/88-authcheck.sh).
 *
 *   spfq IP SENDER HELO
 *
 * checks SENDER's domain (the HELO name when SENDER is empty or has no
 * '@') for client address IP with DNSCACHEIP's servers, and prints the
 * result ("pass", "fail", ...) and a newline. Exit 0; 64 on bad usage,
 * 111 on trouble. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authcheck.h"
#include "byte.h"
#include "die.h"
#include "dns.h"
#include "file.h"
#include "ip.h"
#include "spf.h"
#include "str.h"

int main(int argc, char **argv)
{
  struct dns_conf conf;
  struct spf_dns dns;
  struct spf_request rq;
  str sender = STR_INIT;
  const char *r;
  size_t n, at;

  die_progname("spfq");
  if (argc != 4) die_usage("spfq IP SENDER HELO");
  memset(&rq, 0, sizeof rq);
  n = strlen(argv[1]);
  if (ip4_scan(argv[1], n, rq.ip) == n) rq.family = AF_INET;
  else if (ip6_scan(argv[1], n, rq.ip) == n) rq.family = AF_INET6;
  else die_usage("spfq IP SENDER HELO");
  if (dns_conf_load(&conf) < 0) die_temp_sys("unable to read the DNS configuration");
  authcheck_dns(&dns, &conf);
  rq.helo = argv[3];
  rq.helo_len = strlen(argv[3]);
  n = strlen(argv[2]);
  at = byte_rchr(argv[2], n, '@');
  if (n == 0 || at == n) {
    if (str_copys(&sender, "postmaster@") < 0 || str_cats(&sender, argv[3]) < 0) die_nomem();
    rq.domain = argv[3];
    rq.domain_len = rq.helo_len;
  } else {
    if (str_copys(&sender, argv[2]) < 0) die_nomem();
    rq.domain = argv[2] + at + 1;
    rq.domain_len = n - at - 1;
  }
  rq.sender = sender.s;
  rq.sender_len = sender.len;
  r = spf_result_name(spf_check(&dns, &rq));
  if (write_all(1, r, strlen(r)) < 0 || write_all(1, "\n", 1) < 0) die_temp_sys("unable to write");
  return 0;
}
