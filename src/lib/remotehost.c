/* remotehost.c: the client's host name (remotehost.h).
 *
 * The hosts file is read whole (at most CONTROL_MAX bytes; a larger or
 * unreadable one counts as holding no name) at the moment of the lookup,
 * so an edit takes effect with the next connection. A PTR name must
 * lead back to the address: anybody who controls the reverse zone of
 * an address can give it any name, a forged "mail.example.com" among
 * them, while only the owner of the name's zone can make the name point
 * at the address. Only the first PTR record is tried. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "byte.h"
#include "control.h"
#include "deadline.h"
#include "dns.h"
#include "env.h"
#include "file.h"
#include "ip.h"
#include "remotehost.h"

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* The next word of line[*pos..n): 1 with *w, *wn; 0 at the end. */
static int word_next(const char *line, size_t n, size_t *pos, const char **w, size_t *wn)
{
  size_t i = *pos, start;
  while (i < n && is_space(line[i])) ++i;
  if (i >= n) return 0;
  start = i;
  while (i < n && !is_space(line[i])) ++i;
  *w = line + start;
  *wn = i - start;
  *pos = i;
  return 1;
}

/* Parses address text: AF_INET or AF_INET6 with ip filled (a mapped
 * IPv6 address becomes IPv4), or 0. */
static int addr_parse(const char *s, size_t n, unsigned char ip[16])
{
  static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  if (n == 0) return 0;
  if (ip4_scan(s, n, ip) == n) return AF_INET;
  if (ip6_scan(s, n, ip) == n) {
    if (byte_equal((const char *)ip, (const char *)mapped, 12)) {
      memmove(ip, ip + 12, 4);
      return AF_INET;
    }
    return AF_INET6;
  }
  return 0;
}

int remotehost_hosts(const char *text, size_t len, int family, const unsigned char *ip, str *out)
{
  size_t at = 0;

  while (at < len) {
    size_t end = at + byte_chr(text + at, len - at, '\n');
    size_t n = byte_chr(text + at, end - at, '#'), pos = 0;
    const char *line = text + at, *w;
    size_t wn;
    unsigned char a[16];
    at = end < len ? end + 1 : len;
    if (!word_next(line, n, &pos, &w, &wn)) continue;
    if (addr_parse(w, wn, a) != family) continue;
    if (!byte_equal((const char *)a, (const char *)ip, family == AF_INET6 ? 16 : 4)) continue;
    if (!word_next(line, n, &pos, &w, &wn)) continue;
    if (str_copyb(out, w, wn) < 0) return -1;
    return 1;
  }
  return 0;
}

/* The PTR name of the address, forward-confirmed: 1, 0 or -1 ENOMEM. */
static int from_dns(int family, const unsigned char *ip, unsigned long wait_ms, str *out)
{
  struct dns_conf conf;
  struct dns_iplist l;
  size_t i;
  int found = 0;

  if (dns_conf_load(&conf) < 0) return 0;
  conf.deadline = deadline_after(wait_ms);
  if (dns_ptr(&conf, family, ip, out) < 0) return errno == ENOMEM ? -1 : 0;
  if (out->len == 0) return 0;
  if (dns_addr(&conf, out->s, out->len, family, &l) < 0) return errno == ENOMEM ? -1 : 0;
  for (i = 0; i < l.n && !found; ++i)
    found = l.ip[i].family == family && byte_equal((const char *)l.ip[i].ip, (const char *)ip, family == AF_INET6 ? 16 : 4);
  dns_iplist_free(&l);
  return found;
}

int remotehost_find(const char *ip, const char *hosts, unsigned long wait_ms, str *out)
{
  unsigned char a[16];
  str text = STR_INIT;
  int family, r;

  if (!ip) return 0;
  family = addr_parse(ip, byte_len(ip, 64), a);
  if (!family) return 0;
  if (!hosts) hosts = env_get("SLUICE_HOSTS");
  if (!hosts || !*hosts) hosts = REMOTEHOST_HOSTS;
  r = file_read(hosts, &text, CONTROL_MAX);
  if (r < 0 && errno == ENOMEM) {
    str_free(&text);
    return -1;
  }
  r = r > 0 ? remotehost_hosts(text.s, text.len, family, a, out) : 0;
  str_free(&text);
  if (r != 0) return r;
  if (wait_ms == 0) return 0;
  r = from_dns(family, a, wait_ms, out);
  if (r == 0) str_truncate(out, 0);
  return r;
}

int remotehost_wait_read(unsigned long *wait_ms)
{
  return control_readnum("control/smtpdnamewait", wait_ms, REMOTEHOST_WAIT_DEFAULT, 0, REMOTEHOST_WAIT_MAX);
}
