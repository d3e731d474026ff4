/* dns_conf.c: where the DNS servers are (dns_conf_load, dns_conf_resolv
 * of dns.h).
 *
 * DNSCACHEIP, when set, is the whole configuration and must be right:
 * any word that is not an address (with an optional port) fails with
 * EINVAL, and so does a value without any word, so a typo shows up as
 * a deferral instead of mail quietly going to another resolver. Only
 * the first DNS_SERVERS_MAX servers are kept. Otherwise
 * /etc/resolv.conf is read the forgiving way the C library reads it.
 * Nothing here allocates beyond the file's text, which is freed. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "byte.h"
#include "dns.h"
#include "env.h"
#include "file.h"
#include "ip.h"
#include "scan.h"
#include "str.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define RESOLV_MAX 65536

static void conf_defaults(struct dns_conf *conf)
{
  memset(conf, 0, sizeof *conf);
  conf->timeout_ms = 5000;
  conf->attempts = 2;
}

static void conf_add(struct dns_conf *conf, int family, const unsigned char *ip, unsigned short port)
{
  struct dns_server *s;
  if (conf->n >= DNS_SERVERS_MAX) return;
  s = &conf->server[conf->n++];
  memset(s, 0, sizeof *s);
  s->family = family;
  memcpy(s->ip, ip, family == AF_INET6 ? 16 : 4);
  s->port = port;
}

static void conf_localhost(struct dns_conf *conf)
{
  static const unsigned char lo[4] = { 127, 0, 0, 1 };
  if (conf->n == 0) conf_add(conf, AF_INET, lo, 53);
}

/* ":PORT" exactly (1..65535). */
static int port_scan(const char *s, size_t n, unsigned short *port)
{
  unsigned long u;
  if (n < 2 || s[0] != ':') return -1;
  if (scan_ulong_exact(s + 1, n - 1, &u) < 0 || u == 0 || u > 65535) return -1;
  *port = (unsigned short)u;
  return 0;
}

/* One DNSCACHEIP word: "1.2.3.4", "1.2.3.4:53", "::1", "[::1]", "[::1]:53". */
static int word_scan(struct dns_conf *conf, const char *w, size_t n)
{
  unsigned char ip[16];
  unsigned short port = 53;
  size_t used;

  if (n > 0 && w[0] == '[') {
    used = ip6_scan(w + 1, n - 1, ip);
    if (used == 0 || 1 + used >= n || w[1 + used] != ']') return -1;
    used += 2;
    if (used < n && port_scan(w + used, n - used, &port) < 0) return -1;
    conf_add(conf, AF_INET6, ip, port);
    return 0;
  }
  used = ip4_scan(w, n, ip);
  if (used > 0 && (used == n || w[used] == ':')) {
    if (used < n && port_scan(w + used, n - used, &port) < 0) return -1;
    conf_add(conf, AF_INET, ip, port);
    return 0;
  }
  if (ip6_scan(w, n, ip) == n) {
    conf_add(conf, AF_INET6, ip, port);
    return 0;
  }
  return -1;
}

static int is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int conf_env(struct dns_conf *conf, const char *v)
{
  size_t n = strlen(v), i = 0, words = 0;
  while (i < n) {
    size_t start;
    while (i < n && is_space(v[i])) ++i;
    if (i == n) break;
    start = i;
    while (i < n && !is_space(v[i])) ++i;
    if (word_scan(conf, v + start, i - start) < 0) { errno = EINVAL; return -1; }
    ++words;
  }
  if (words == 0) { errno = EINVAL; return -1; }
  return 0;
}

/* "name:N" with N a small decimal. */
static int option_value(const char *w, size_t n, const char *name, unsigned long *u)
{
  size_t k = strlen(name);
  if (n <= k || !byte_equal(w, name, k)) return 0;
  return scan_ulong_exact(w + k, n - k, u) == 0;
}

static void resolv_line(struct dns_conf *conf, const char *s, size_t n)
{
  size_t i = 0, start, wlen;
  const char *word;

  while (i < n && is_space(s[i])) ++i;
  start = i;
  while (i < n && !is_space(s[i])) ++i;
  word = s + start;
  wlen = i - start;
  if (wlen == 10 && byte_equal(word, "nameserver", 10)) {
    unsigned char ip[16];
    while (i < n && is_space(s[i])) ++i;
    start = i;
    while (i < n && !is_space(s[i])) ++i;
    word = s + start;
    wlen = i - start;
    if (wlen > 0 && ip4_scan(word, wlen, ip) == wlen)
      conf_add(conf, AF_INET, ip, 53);
    else if (wlen > 0 && ip6_scan(word, wlen, ip) == wlen)
      conf_add(conf, AF_INET6, ip, 53); /* "fe80::1%eth0" fails the whole-word match: skipped */
  } else if (wlen == 7 && byte_equal(word, "options", 7)) {
    for (;;) {
      unsigned long u;
      while (i < n && is_space(s[i])) ++i;
      if (i == n) break;
      start = i;
      while (i < n && !is_space(s[i])) ++i;
      word = s + start;
      wlen = i - start;
      /* the C library's own caps: 30 seconds, 5 attempts */
      if (option_value(word, wlen, "timeout:", &u) && u > 0)
        conf->timeout_ms = (u > 30 ? 30 : u) * 1000;
      else if (option_value(word, wlen, "attempts:", &u) && u > 0)
        conf->attempts = (unsigned)(u > 5 ? 5 : u);
    }
  }
}

int dns_conf_resolv(struct dns_conf *conf, const char *text, size_t len)
{
  size_t pos = 0;
  conf_defaults(conf);
  while (pos < len) {
    size_t eol = pos + byte_chr(text + pos, len - pos, '\n');
    size_t end = pos + byte_chr(text + pos, eol - pos, '#');
    end = pos + byte_chr(text + pos, end - pos, ';');
    resolv_line(conf, text + pos, end - pos);
    pos = eol + 1;
  }
  conf_localhost(conf);
  return 0;
}

int dns_conf_load(struct dns_conf *conf)
{
  const char *v = env_get("DNSCACHEIP");
  str text = STR_INIT;
  int r;

  if (v) {
    conf_defaults(conf);
    return conf_env(conf, v);
  }
  r = file_read(RESOLV_CONF, &text, RESOLV_MAX);
  if (r < 0) {
    int e = errno;
    str_free(&text);
    errno = e;
    return -1;
  }
  dns_conf_resolv(conf, text.s, r ? text.len : 0);
  str_free(&text);
  return 0;
}
