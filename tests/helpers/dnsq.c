/* dnsq.c: asks the resolver of dns.h one question, for the tests.
 *
 *   dnsq [-t MS] [-a N] mx NAME     "PREF HOST" lines in the order
 *                                   dns_mx gives; "nullmx" for a null MX
 *   dnsq [-t MS] [-a N] ip NAME     addresses, A records first
 *   dnsq [-t MS] [-a N] ip6 NAME    addresses, AAAA records first
 *
 * The servers come from dns_conf_load (DNSCACHEIP or /etc/resolv.conf);
 * -t sets the per-try timeout in milliseconds and -a the rounds over
 * the servers. Exit 0 with the answer (nothing printed for an empty
 * one), 100 when the name does not exist, 111 on temporary trouble
 * (the message names the errno: EAGAIN, EPROTO...), 64 on bad usage. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "die.h"
#include "dns.h"
#include "file.h"
#include "ip.h"
#include "scan.h"
#include "str.h"

#define USAGE "dnsq [-t MS] [-a N] mx|ip|ip6 NAME"

static void fail(void)
{
  if (errno == ENOENT) die_perm("name does not exist");
  if (errno == EPROTO) die_temp("temporary failure: EPROTO: malformed answer");
  if (errno == EAGAIN) die_temp("temporary failure: EAGAIN: no answer");
  die_temp_sys("temporary failure");
}

static void out(str *o, const char *s, size_t n)
{
  if (str_catb(o, s, n) < 0) die_nomem();
}

int main(int argc, char **argv)
{
  struct dns_conf conf;
  str o = STR_INIT;
  unsigned long timeout = 0, attempts = 0;
  const char *what, *name;
  size_t i;
  int argi = 1;

  die_progname("dnsq");
  while (argi + 1 < argc && argv[argi][0] == '-') {
    unsigned long *v = 0;
    if (strcmp(argv[argi], "-t") == 0) v = &timeout;
    if (strcmp(argv[argi], "-a") == 0) v = &attempts;
    if (!v || scan_ulong_exact(argv[argi + 1], strlen(argv[argi + 1]), v) < 0) die_usage(USAGE);
    argi += 2;
  }
  if (argc - argi != 2) die_usage(USAGE);
  what = argv[argi];
  name = argv[argi + 1];
  if (dns_conf_load(&conf) < 0) die_temp_sys("unable to read the DNS configuration");
  if (timeout) conf.timeout_ms = timeout;
  if (attempts) conf.attempts = (unsigned)attempts;

  if (strcmp(what, "mx") == 0) {
    struct dns_mxlist l;
    if (dns_mx(&conf, name, strlen(name), &l) < 0) fail();
    if (l.nullmx) out(&o, "nullmx\n", 7);
    for (i = 0; i < l.n; ++i) {
      if (str_catulong(&o, l.mx[i].pref) < 0) die_nomem();
      out(&o, " ", 1);
      out(&o, l.mx[i].host.s, l.mx[i].host.len);
      out(&o, "\n", 1);
    }
    dns_mxlist_free(&l);
  } else if (strcmp(what, "ip") == 0 || strcmp(what, "ip6") == 0) {
    struct dns_iplist l;
    if (dns_ip(&conf, name, strlen(name), what[2] == '6', &l) < 0) fail();
    for (i = 0; i < l.n; ++i) {
      char b[IP6_FMT];
      size_t n = l.ip[i].family == AF_INET6 ? ip6_fmt(b, l.ip[i].ip) : ip4_fmt(b, l.ip[i].ip);
      out(&o, b, n);
      out(&o, "\n", 1);
    }
    dns_iplist_free(&l);
  } else {
    die_usage(USAGE);
  }
  if (write_all(1, o.s, o.len) < 0) die_temp_sys("unable to write");
  str_free(&o);
  return 0;
}
