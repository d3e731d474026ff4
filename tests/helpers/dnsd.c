/* dnsd.c: a small authoritative DNS server for the tests.
 *
 *   dnsd IP PORT ZONEFILE
 *
 * Serves UDP and TCP on IP (IPv4 or IPv6, e.g. 127.0.0.1 or ::1) port
 * PORT. Once both sockets are bound it writes "ready\n" to fd 1, then
 * two lines per query: "udp NAME TYPE" or "tcp NAME TYPE" (NAME in lower
 * case, TYPE the number), then "case NAME" with NAME as asked (the
 * resolver randomises the case of its letters). It runs until killed;
 * a TCP client is served to the end before the next one (each read
 * waits at most 2 seconds).
 *
 * Answers copy the question as it was asked, case included, as real
 * servers do; only FORGE below does otherwise.
 *
 * The zone file has one entry a line, fields separated by spaces; empty
 * lines and lines starting with '#' are ignored. Names are matched
 * without regard to case and written without a trailing dot.
 *
 *   A NAME IPV4              an A record          A mx1.example.test 127.0.0.1
 *   AAAA NAME IPV6           an AAAA record       AAAA mx6.example.test ::1
 *   MX NAME PREF HOST        an MX record         MX example.test 10 mx1.example.test
 *   CNAME NAME TARGET        NAME is an alias     CNAME alias.example.test mx1.example.test
 *   PTR NAME TARGET          a PTR record         PTR 2.0.0.127.in-addr.arpa host.example.test
 *   TXT NAME TEXT...         a TXT record: the rest of the line after
 *                            one blank, split into strings of 255 bytes
 *                            (TXT spf.test v=spf1 -all)
 *   NULLMX NAME              the MX "0 ." of RFC 7505
 *   TRUNC NAME               UDP answers for NAME have TC set and no
 *                            records; TCP gives the full answer
 *   SERVFAIL NAME            answers RCODE 2
 *   REFUSED NAME             answers RCODE 5
 *   GARBAGE NAME             answers with a malformed packet (the right
 *                            id and question, then a record whose
 *                            rdlength runs past the end)
 *   SLOW NAME                never answers (TCP: closes the connection)
 *   FORGE NAME               answers like a blind forger: the records of
 *                            NAME (or NOERROR), but with the question
 *                            name in lower case, not as asked (the
 *                            resolver's 0x20 check must drop it)
 *
 * Answers: the records of NAME of the asked type; when there are none
 * and NAME has a CNAME, that CNAME record alone (the client has to ask
 * again for the target); when NAME appears in the zone at all, an empty
 * NOERROR answer; otherwise NXDOMAIN. Record owners are compressed as a
 * pointer to the question name. Exit 111 on setup trouble, 100 on a bad
 * zone file, 64 on bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "byte.h"
#include "die.h"
#include "dns.h"
#include "file.h"
#include "ip.h"
#include "scan.h"
#include "str.h"

#ifndef DNS_T_PTR
#define DNS_T_PTR 12
#endif

enum kind { K_A, K_AAAA, K_MX, K_CNAME, K_PTR, K_NULLMX, K_TRUNC, K_SERVFAIL, K_REFUSED, K_GARBAGE, K_SLOW, K_FORGE, K_TXT };

static const struct {
  const char *word;
  enum kind kind;
  int args; /* fields after NAME */
} kinds[] = {
  { "A", K_A, 1 },           { "AAAA", K_AAAA, 1 },         { "MX", K_MX, 2 },
  { "CNAME", K_CNAME, 1 },   { "NULLMX", K_NULLMX, 0 },     { "TRUNC", K_TRUNC, 0 },
  { "SERVFAIL", K_SERVFAIL, 0 }, { "REFUSED", K_REFUSED, 0 }, { "GARBAGE", K_GARBAGE, 0 },
  { "SLOW", K_SLOW, 0 },      { "FORGE", K_FORGE, 0 },      { "PTR", K_PTR, 1 },
  { "TXT", K_TXT, 1 },
};

struct entry {
  enum kind kind;
  str name;
  str target;          /* MX host, CNAME or PTR target */
  unsigned pref;
  unsigned char ip[16];
};

#define ENTRIES_MAX 1024
static struct entry zone[ENTRIES_MAX];
static size_t nzone;

static void nomem_check(int r)
{
  if (r < 0) die_nomem();
}

static size_t field(const char *s, size_t n, size_t *pos, const char **f)
{
  size_t start;
  while (*pos < n && (s[*pos] == ' ' || s[*pos] == '\t')) ++*pos;
  start = *pos;
  while (*pos < n && s[*pos] != ' ' && s[*pos] != '\t') ++*pos;
  *f = s + start;
  return *pos - start;
}

static void name_copy(str *to, const char *s, size_t n)
{
  if (n > 0 && s[n - 1] == '.') --n;
  nomem_check(str_copyb(to, s, n));
}

static void zone_line(const char *s, size_t n)
{
  const char *f[4];
  size_t len[4], pos = 0, i, k;
  struct entry *e;
  unsigned long u;

  if (n > 0 && s[n - 1] == '\r') --n;
  for (i = 0; i < 4; ++i) len[i] = field(s, n, &pos, &f[i]);
  if (len[0] == 0 || f[0][0] == '#') return;
  for (k = 0; k < sizeof kinds / sizeof kinds[0]; ++k)
    if (len[0] == strlen(kinds[k].word) && byte_equal(f[0], kinds[k].word, len[0])) break;
  if (k == sizeof kinds / sizeof kinds[0]) die_perm("unknown zone entry type");
  if (len[1] == 0) die_perm("zone entry without a name");
  if (kinds[k].kind == K_TXT) {
    size_t at = (size_t)(f[1] - s) + len[1];
    if (at < n) ++at;
    if (nzone == ENTRIES_MAX) die_perm("zone too big");
    e = &zone[nzone++];
    e->kind = K_TXT;
    name_copy(&e->name, f[1], len[1]);
    nomem_check(str_copyb(&e->target, s + at, n - at));
    return;
  }
  for (i = 2; i < 2 + (size_t)kinds[k].args; ++i)
    if (len[i] == 0) die_perm("zone entry with too few fields");
  {
    const char *rest;
    if (field(s, n, &pos, &rest) != 0) die_perm("zone entry with too many fields");
  }
  if (nzone == ENTRIES_MAX) die_perm("zone too big");
  e = &zone[nzone++];
  e->kind = kinds[k].kind;
  name_copy(&e->name, f[1], len[1]);
  switch (e->kind) {
  case K_A:
    if (ip4_scan(f[2], len[2], e->ip) != len[2]) die_perm("bad IPv4 address in zone");
    break;
  case K_AAAA:
    if (ip6_scan(f[2], len[2], e->ip) != len[2]) die_perm("bad IPv6 address in zone");
    break;
  case K_MX:
    if (scan_ulong_exact(f[2], len[2], &u) < 0 || u > 65535) die_perm("bad MX preference in zone");
    e->pref = (unsigned)u;
    name_copy(&e->target, f[3], len[3]);
    break;
  case K_CNAME:
  case K_PTR:
    name_copy(&e->target, f[2], len[2]);
    break;
  default:
    break;
  }
}

static void zone_load(const char *path)
{
  str z = STR_INIT;
  size_t pos = 0;
  int r = file_read(path, &z, 1 << 20);
  if (r < 0) die_temp_sys("unable to read ", path);
  if (r == 0) die_perm("no zone file ", path);
  while (pos < z.len) {
    size_t eol = pos + byte_chr(z.s + pos, z.len - pos, '\n');
    zone_line(z.s + pos, eol - pos);
    pos = eol + 1;
  }
  str_free(&z);
}

static int has(const str *name, enum kind kind)
{
  size_t i;
  for (i = 0; i < nzone; ++i)
    if (zone[i].kind == kind && case_equalb(zone[i].name.s, zone[i].name.len, name->s, name->len)) return 1;
  return 0;
}

static int exists(const str *name)
{
  size_t i;
  for (i = 0; i < nzone; ++i)
    if (case_equalb(zone[i].name.s, zone[i].name.len, name->s, name->len)) return 1;
  return 0;
}

static void put16(str *o, unsigned v)
{
  nomem_check(str_catc(o, (char)(v >> 8 & 0xff)));
  nomem_check(str_catc(o, (char)(v & 0xff)));
}

static void putname(str *o, const str *name)
{
  size_t pos = 0;
  while (pos < name->len) {
    size_t n = byte_chr(name->s + pos, name->len - pos, '.');
    nomem_check(str_catc(o, (char)n));
    nomem_check(str_catb(o, name->s + pos, n));
    pos += n + 1;
  }
  nomem_check(str_catc(o, 0));
}

/* Appends one answer record owned by the question name (offset 12). */
static void put_record(str *o, unsigned type, const char *rdata, size_t rdlen)
{
  put16(o, 0xc00c);
  put16(o, type);
  put16(o, 1);
  put16(o, 0);
  put16(o, 300);
  put16(o, (unsigned)rdlen);
  nomem_check(str_catb(o, rdata, rdlen));
}

static void put_an(str *o, unsigned an)
{
  o->s[6] = (char)(an >> 8);
  o->s[7] = (char)(an & 0xff);
}

/* Builds the answer to q[0..n) into o; returns 0 to send it, -1 to stay
 * silent (unparseable query, or SLOW). */
static int answer(const char *q, size_t n, int tcp, str *o)
{
  const unsigned char *u = (const unsigned char *)q;
  str name = STR_INIT, rd = STR_INIT;
  size_t pos = 12, qend, i;
  unsigned qtype, an = 0;
  int ret = -1;

  if (n < 12 || (u[2] & 0x80) || u[4] != 0 || u[5] != 1) goto end;
  while (pos < n && u[pos] != 0) {
    size_t l = u[pos];
    if (l > 63 || pos + 1 + l >= n) goto end;
    if (name.len > 0) nomem_check(str_catc(&name, '.'));
    nomem_check(str_catb(&name, q + pos + 1, l));
    pos += 1 + l;
  }
  if (pos >= n || n - pos - 1 < 4) goto end;
  qend = pos + 1 + 4;
  qtype = (unsigned)u[pos + 1] << 8 | u[pos + 2];
  {
    str line = STR_INIT;
    size_t at;
    nomem_check(str_copys(&line, tcp ? "tcp " : "udp "));
    at = line.len;
    nomem_check(str_cat(&line, &name));
    case_lowerb(line.s + at, name.len);
    nomem_check(str_catc(&line, ' '));
    nomem_check(str_catulong(&line, qtype));
    nomem_check(str_cats(&line, "\ncase "));
    nomem_check(str_cat(&line, &name));
    nomem_check(str_catc(&line, '\n'));
    if (write_all(1, line.s, line.len) < 0) die_temp_sys("unable to write log");
    str_free(&line);
  }
  if (has(&name, K_SLOW)) goto end;

  str_truncate(o, 0);
  nomem_check(str_catb(o, q, 2));
  put16(o, 0x8400 | (u[2] & 0x01) << 8);   /* QR, AA, RD copied */
  put16(o, 1);
  put16(o, 0);
  put16(o, 0);
  put16(o, 0);
  nomem_check(str_catb(o, q + 12, qend - 12));
  /* the name in wire form: length bytes are at most 63, below 'A' */
  if (has(&name, K_FORGE)) case_lowerb(o->s + 12, qend - 12 - 4);
  ret = 0;
  if (has(&name, K_SERVFAIL)) { o->s[3] |= 2; goto end; }
  if (has(&name, K_REFUSED)) { o->s[3] |= 5; goto end; }
  if (has(&name, K_GARBAGE)) {
    put_an(o, 1);
    put16(o, 0xc00c);
    put16(o, qtype);
    put16(o, 1);
    put16(o, 0);
    put16(o, 300);
    put16(o, 200);
    nomem_check(str_catb(o, "\x7f\0\0\x01", 4));
    goto end;
  }
  if (!exists(&name)) { o->s[3] |= 3; goto end; }
  if (!tcp && has(&name, K_TRUNC)) { o->s[2] |= 0x02; goto end; }
  for (i = 0; i < nzone; ++i) {
    const struct entry *e = &zone[i];
    if (!case_equalb(e->name.s, e->name.len, name.s, name.len)) continue;
    str_truncate(&rd, 0);
    if (e->kind == K_A && qtype == DNS_T_A) {
      put_record(o, DNS_T_A, (const char *)e->ip, 4);
    } else if (e->kind == K_AAAA && qtype == DNS_T_AAAA) {
      put_record(o, DNS_T_AAAA, (const char *)e->ip, 16);
    } else if (e->kind == K_MX && qtype == DNS_T_MX) {
      put16(&rd, e->pref);
      putname(&rd, &e->target);
      put_record(o, DNS_T_MX, rd.s, rd.len);
    } else if (e->kind == K_NULLMX && qtype == DNS_T_MX) {
      put_record(o, DNS_T_MX, "\0\0\0", 3);
    } else if (e->kind == K_PTR && qtype == DNS_T_PTR) {
      putname(&rd, &e->target);
      put_record(o, DNS_T_PTR, rd.s, rd.len);
    } else if (e->kind == K_CNAME && qtype == DNS_T_CNAME) {
      putname(&rd, &e->target);
      put_record(o, DNS_T_CNAME, rd.s, rd.len);
    } else if (e->kind == K_TXT && qtype == 16) {
      size_t at = 0;
      do {
        size_t c = e->target.len - at > 255 ? 255 : e->target.len - at;
        nomem_check(str_catc(&rd, (char)c));
        nomem_check(str_catb(&rd, e->target.s + at, c));
        at += c;
      } while (at < e->target.len);
      put_record(o, 16, rd.s, rd.len);
    } else {
      continue;
    }
    ++an;
  }
  if (an == 0 && qtype != DNS_T_CNAME)
    for (i = 0; i < nzone; ++i) {
      const struct entry *e = &zone[i];
      if (e->kind != K_CNAME || !case_equalb(e->name.s, e->name.len, name.s, name.len)) continue;
      str_truncate(&rd, 0);
      putname(&rd, &e->target);
      put_record(o, DNS_T_CNAME, rd.s, rd.len);
      ++an;
      break;
    }
  if (an > 65535) die_perm("too many records");
  put_an(o, an);
end:
  str_free(&name);
  str_free(&rd);
  return ret;
}

/* Reads exactly n bytes, waiting at most 2 seconds each time: 1, 0 at
 * end of file or trouble. */
static int tcp_read(int fd, char *s, size_t n)
{
  while (n > 0) {
    struct pollfd p;
    ssize_t r;
    p.fd = fd;
    p.events = POLLIN;
    if (poll(&p, 1, 2000) <= 0) return 0;
    r = read(fd, s, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    s += r;
    n -= (size_t)r;
  }
  return 1;
}

static void tcp_serve(int fd)
{
  char lenbuf[2], *q;
  str o = STR_INIT, msg = STR_INIT;
  for (;;) {
    size_t n;
    if (!tcp_read(fd, lenbuf, 2)) break;
    n = (size_t)(unsigned char)lenbuf[0] << 8 | (unsigned char)lenbuf[1];
    nomem_check(str_ready(&msg, n));
    q = msg.s;
    if (!tcp_read(fd, q, n)) break;
    if (answer(q, n, 1, &o) < 0) break;
    lenbuf[0] = (char)(o.len >> 8);
    lenbuf[1] = (char)(o.len & 0xff);
    if (write_all(fd, lenbuf, 2) < 0 || write_all(fd, o.s, o.len) < 0) break;
  }
  str_free(&o);
  str_free(&msg);
  close(fd);
}

int main(int argc, char **argv)
{
  struct sockaddr_storage sa;
  socklen_t salen;
  unsigned char ip[16];
  unsigned long port;
  int family, udp, tcp, one = 1;
  str in = STR_INIT, o = STR_INIT;

  die_progname("dnsd");
  if (argc != 4) die_usage("dnsd IP PORT ZONEFILE");
  memset(&sa, 0, sizeof sa);
  if (scan_ulong_exact(argv[2], strlen(argv[2]), &port) < 0 || port == 0 || port > 65535)
    die_usage("dnsd IP PORT ZONEFILE");
  if (ip4_scan(argv[1], strlen(argv[1]), ip) == strlen(argv[1])) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
    family = AF_INET;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((unsigned short)port);
    memcpy(&s4->sin_addr, ip, 4);
    salen = sizeof *s4;
  } else if (ip6_scan(argv[1], strlen(argv[1]), ip) == strlen(argv[1])) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
    family = AF_INET6;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((unsigned short)port);
    memcpy(&s6->sin6_addr, ip, 16);
    salen = sizeof *s6;
  } else {
    die_usage("dnsd IP PORT ZONEFILE");
  }
  zone_load(argv[3]);

  udp = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  tcp = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (udp < 0 || tcp < 0) die_temp_sys("unable to create sockets");
  setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) {
    setsockopt(udp, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    setsockopt(tcp, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (bind(udp, (struct sockaddr *)&sa, salen) < 0) die_temp_sys("unable to bind UDP ", argv[1], " ", argv[2]);
  if (bind(tcp, (struct sockaddr *)&sa, salen) < 0) die_temp_sys("unable to bind TCP ", argv[1], " ", argv[2]);
  if (listen(tcp, 16) < 0) die_temp_sys("unable to listen");
  if (write_all(1, "ready\n", 6) < 0) die_temp_sys("unable to write");
  nomem_check(str_ready(&in, 65536));

  for (;;) {
    struct pollfd p[2];
    p[0].fd = udp;
    p[0].events = POLLIN;
    p[1].fd = tcp;
    p[1].events = POLLIN;
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die_temp_sys("poll");
    }
    if (p[0].revents & POLLIN) {
      struct sockaddr_storage from;
      socklen_t fromlen = sizeof from;
      ssize_t r = recvfrom(udp, in.s, 65536, 0, (struct sockaddr *)&from, &fromlen);
      if (r > 0 && answer(in.s, (size_t)r, 0, &o) == 0)
        sendto(udp, o.s, o.len, 0, (struct sockaddr *)&from, fromlen);
    }
    if (p[1].revents & POLLIN) {
      int c = accept(tcp, 0, 0);
      if (c >= 0) tcp_serve(c);
    }
  }
}
