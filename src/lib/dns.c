/* dns.c: the DNS stub resolver of dns.h: packets, transport, MX and IP.
 *
 * Time: each try with one server may take conf->timeout_ms for the UDP
 * exchange and, when the answer is truncated, as much again for TCP; a
 * question takes at most attempts x servers tries, and dns_ip asks two
 * questions (each CNAME link one more). timeout_ms 0 and attempts 0
 * mean the defaults (5000 ms, 2). Errors of dns_mx and dns_ip are those
 * of dns.h plus EINVAL for a name that cannot be asked. Nothing is kept
 * between calls: every buffer is freed before returning, except the
 * lists handed to the caller.
 *
 * Written from RFC 1035 (message format, section 4; compression, 4.1.4),
 * RFC 3596 (AAAA) and RFC 2181 (CNAME handling). Nothing in an answer is
 * trusted: every count, length and compression pointer is checked
 * against the packet before it is used.
 *
 * Names are handled as dotted text without a trailing dot, lower-cased
 * when they come out of a packet; the root is the empty text. A label
 * may hold only the printable ASCII bytes other than '.' (0x21..0x7e):
 * anything else could not be told apart in the text form (a '.' inside
 * a label) or has no business in a mail host name, so an answer holding
 * such a label is refused as malformed.
 *
 * Compression pointers must point into the message after the header and
 * strictly before the start of the run of labels that holds them: every
 * jump then goes to a lower offset than the one before, so no pointer
 * chain can loop, and legitimate encoders only ever point back to names
 * written earlier. A name longer than 255 bytes in wire form is refused.
 *
 * dns_packet_parse replaces the contents of out and cname (it does not
 * append); on -1 their contents are unspecified but remain valid
 * strings. When the truncation bit is set only the header and the
 * question are checked (the rest may be cut anywhere) and no record is
 * returned: the caller asks again over TCP. Otherwise every record of
 * all three sections is walked and bytes after the last one make the
 * answer malformed. dns_packet_query fails with EINVAL for a name that
 * cannot be sent (an empty label, a label over 63 bytes, a name over
 * 255 bytes in wire form, a byte outside 0x21..0x7e). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "byte.h"
#include "deadline.h"
#include "dns.h"
#include "size.h"
#include "str.h"

#define DNS_HEADER 12
#define DNS_NAME_MAX 255
#define DNS_LABEL_MAX 63
#define DNS_C_IN 1
#define DNS_CNAME_LINKS 8
/* dns_packet_check: the packet does not answer our query at all */
#define DNS_MISMATCH (-2)

static int label_byte_ok(unsigned char c)
{
  return c >= 0x21 && c <= 0x7e && c != '.';
}

static unsigned get16(const unsigned char *p)
{
  return (unsigned)p[0] << 8 | (unsigned)p[1];
}

/* Drops one trailing dot: "a.b." and "a.b" are the same name. */
static size_t name_trim(const char *name, size_t len)
{
  if (len > 0 && name[len - 1] == '.') --len;
  return len;
}

/* The question section for name/qtype/IN as it goes on the wire, case
 * kept: w[0..*n), w of at least DNS_NAME_MAX + 4 bytes. 0, or -1 EINVAL
 * for a name that cannot be sent. */
static int question_wire(char *w, size_t *n, const char *name, size_t len, unsigned short qtype)
{
  size_t pos = 0, i, start = 0;

  len = name_trim(name, len);
  while (len > 0 && start <= len) {
    size_t end = start + byte_chr(name + start, len - start, '.');
    size_t lab = end - start;
    if (lab == 0 || lab > DNS_LABEL_MAX) { errno = EINVAL; return -1; }
    /* the label, its length byte and the closing root byte must fit */
    if (pos + 1 + lab + 1 > DNS_NAME_MAX) { errno = EINVAL; return -1; }
    w[pos++] = (char)lab;
    for (i = start; i < end; ++i) {
      if (!label_byte_ok((unsigned char)name[i])) { errno = EINVAL; return -1; }
      w[pos++] = name[i];
    }
    start = end + 1;
  }
  w[pos++] = 0;
  w[pos++] = (char)(qtype >> 8);
  w[pos++] = (char)(qtype & 0xff);
  w[pos++] = 0;
  w[pos++] = DNS_C_IN;
  *n = pos;
  return 0;
}

void dns_case_mix(char *name, size_t len, const unsigned char *bits)
{
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = (unsigned char)name[i] | 0x20;
    if (c < 'a' || c > 'z') continue;
    name[i] = (char)(bits[i / 8] >> (i % 8) & 1 ? c & ~0x20 : c);
  }
}

int dns_packet_query(str *out, unsigned short id, const char *name, size_t len, unsigned short qtype)
{
  char q[DNS_HEADER + DNS_NAME_MAX + 4];
  size_t n;

  memset(q, 0, DNS_HEADER);
  q[0] = (char)(id >> 8);
  q[1] = (char)(id & 0xff);
  q[2] = 0x01; /* RD: a stub resolver wants recursion */
  q[5] = 1;    /* one question */
  if (question_wire(q + DNS_HEADER, &n, name, len, qtype) < 0) return -1;
  return str_catb(out, q, DNS_HEADER + n);
}

/* Reads the name at pos of p[0..n) into text (replacing it), lower-cased
 * and dotted. *next is set to the offset just after the name as it sits
 * at pos (after the first pointer, when there is one). 0 or -1 EPROTO
 * (ENOMEM when text cannot grow). */
static int dns_name_read(const unsigned char *p, size_t n, size_t pos, size_t *next, str *text)
{
  size_t cur = pos, run_start = pos, wire = 0, after = 0;
  int jumped = 0;

  str_truncate(text, 0);
  for (;;) {
    unsigned c;
    if (cur >= n) goto proto;
    c = p[cur];
    if (c == 0) {
      if (!jumped) after = cur + 1;
      break;
    }
    if ((c & 0xc0) == 0xc0) {
      size_t target;
      if (cur + 1 >= n) goto proto;
      target = (size_t)(c & 0x3f) << 8 | p[cur + 1];
      if (target < DNS_HEADER || target >= run_start) goto proto;
      if (!jumped) after = cur + 2;
      jumped = 1;
      cur = run_start = target;
      continue;
    }
    if (c > DNS_LABEL_MAX) goto proto; /* the reserved 01 and 10 label types */
    if (cur + 1 + c > n) goto proto;
    wire += 1 + c;
    if (wire + 1 > DNS_NAME_MAX) goto proto; /* the root byte must still fit */
    if (text->len > 0 && str_catc(text, '.') < 0) return -1;
    {
      size_t i, at = text->len;
      for (i = 0; i < c; ++i)
        if (!label_byte_ok(p[cur + 1 + i])) goto proto;
      if (str_catb(text, (const char *)p + cur + 1, c) < 0) return -1;
      case_lowerb(text->s + at, c);
    }
    cur += 1 + c;
  }
  *next = after;
  return 0;
proto:
  errno = EPROTO;
  return -1;
}

static int name_equal(const str *a, const str *b)
{
  return a->len == b->len && (a->len == 0 || byte_equal(a->s, b->s, a->len));
}

/* One resource record, located. */
struct rr {
  size_t owner;   /* offset of its name */
  unsigned type;
  unsigned klass;
  size_t rdata;   /* offset of the rdata */
  size_t rdlen;
};

/* Reads the record at *pos, checking its rdata against the packet and,
 * for the types decoded here, its format. Advances *pos. */
static int rr_read(const unsigned char *p, size_t n, size_t *pos, struct rr *r, str *scratch)
{
  size_t at, end;
  r->owner = *pos;
  if (dns_name_read(p, n, *pos, &at, scratch) < 0) return -1;
  if (n - at < 10) goto proto;
  r->type = get16(p + at);
  r->klass = get16(p + at + 2);
  r->rdlen = get16(p + at + 8);
  r->rdata = at + 10;
  if (n - r->rdata < r->rdlen) goto proto;
  end = r->rdata + r->rdlen;
  if (r->klass == DNS_C_IN) {
    size_t after;
    switch (r->type) {
    case DNS_T_A:
      if (r->rdlen != 4) goto proto;
      break;
    case DNS_T_AAAA:
      if (r->rdlen != 16) goto proto;
      break;
    case DNS_T_CNAME:
    case DNS_T_PTR:
      if (dns_name_read(p, n, r->rdata, &after, scratch) < 0) return -1;
      if (after != end) goto proto;
      break;
    case DNS_T_TXT: {
      /* character-strings that fill the rdata exactly */
      size_t cs = r->rdata;
      while (cs < end) {
        cs += 1 + (size_t)p[cs];
        if (cs > end) goto proto;
      }
      break;
    }
    case DNS_T_MX:
      if (r->rdlen < 3) goto proto;
      if (dns_name_read(p, n, r->rdata + 2, &after, scratch) < 0) return -1;
      if (after != end) goto proto;
      break;
    default:
      break;
    }
  }
  *pos = end;
  return 0;
proto:
  errno = EPROTO;
  return -1;
}

/* Appends the entry for an answer record of the wanted type. */
static int rr_collect(const unsigned char *p, size_t n, const struct rr *r, str *out, str *scratch)
{
  size_t after;
  switch (r->type) {
  case DNS_T_A:
  case DNS_T_AAAA:
    return str_catb(out, (const char *)p + r->rdata, r->rdlen);
  case DNS_T_MX:
    if (dns_name_read(p, n, r->rdata + 2, &after, scratch) < 0) return -1;
    if (str_catb(out, (const char *)p + r->rdata, 2) < 0) return -1;
    break;
  case DNS_T_CNAME:
  case DNS_T_PTR:
    if (dns_name_read(p, n, r->rdata, &after, scratch) < 0) return -1;
    break;
  case DNS_T_TXT: {
    /* 2 bytes of length (big-endian), then the strings joined */
    size_t at = r->rdata, end = r->rdata + r->rdlen, total = 0, start;
    while (at < end) { total += p[at]; at += 1 + (size_t)p[at]; }
    if (str_catc(out, (char)(total >> 8)) < 0 || str_catc(out, (char)(total & 0xff)) < 0) return -1;
    start = out->len;
    for (at = r->rdata; at < end; at += 1 + (size_t)p[at])
      if (str_catb(out, (const char *)p + at + 1, p[at]) < 0) { str_truncate(out, start - 2); return -1; }
    return 0;
  }
  default:
    return str_catb(out, (const char *)p + r->rdata, r->rdlen);
  }
  if (str_cat(out, scratch) < 0) return -1;
  return str_catc(out, 0);
}

static int dns_packet_check(const char *pkt, size_t n, unsigned short id, const char *name, size_t len,
                     unsigned short qtype, str *out, size_t *count, int *tc, str *cname)
{
  const unsigned char *p = (const unsigned char *)pkt;
  unsigned qd, an, ns, ar, rcode, i;
  size_t pos, answers, links = 0, qlen;
  str scratch = STR_INIT, current = STR_INIT;
  struct rr r;
  char qwire[DNS_NAME_MAX + 4];
  int ret = DNS_MISMATCH;

  *count = 0;
  *tc = 0;
  str_truncate(out, 0);
  str_truncate(cname, 0);
  len = name_trim(name, len);

  /* Is this an answer to our question at all? */
  if (n < DNS_HEADER) goto end;
  if (get16(p) != id) goto end;
  if (!(p[2] & 0x80)) goto end;              /* QR: a response */
  if ((p[2] >> 3 & 0x0f) != 0) goto end;     /* opcode QUERY */
  qd = get16(p + 4);
  an = get16(p + 6);
  ns = get16(p + 8);
  ar = get16(p + 10);
  if (qd != 1) goto end;
  /* the question exactly as asked, case included (0x20): nothing can
   * precede it, so it holds no compression pointer */
  if (question_wire(qwire, &qlen, name, len, qtype) < 0) goto end;
  if (n - DNS_HEADER < qlen || !byte_equal(pkt + DNS_HEADER, qwire, qlen)) goto end;
  pos = DNS_HEADER + qlen;
  rcode = p[3] & 0x0f;
  if (p[2] & 0x02) {
    *tc = 1;
    ret = (int)rcode;
    goto end;
  }

  /* From here on a fault is a malformed answer. */
  ret = -1;
  answers = pos;
  for (i = 0; i < an + ns + ar; ++i)
    if (rr_read(p, n, &pos, &r, &scratch) < 0) goto end;
  if (pos != n) { errno = EPROTO; goto end; }
  if (rcode != 0) { ret = (int)rcode; goto end; }

  /* Records for the name, or for the end of its CNAME chain. */
  if (str_copyb(&current, name, len) < 0) goto end;
  case_lowerb(current.s, current.len);
  for (;;) {
    size_t at = answers, skip;
    int moved = 0;
    for (i = 0; i < an; ++i) {
      if (rr_read(p, n, &at, &r, &scratch) < 0) goto end;
      if (r.klass != DNS_C_IN || r.type != qtype) continue;
      if (dns_name_read(p, n, r.owner, &skip, &scratch) < 0) goto end;
      if (!name_equal(&scratch, &current)) continue;
      if (rr_collect(p, n, &r, out, &scratch) < 0) goto end;
      ++*count;
    }
    if (*count > 0 || qtype == DNS_T_CNAME) break;
    at = answers;
    for (i = 0; i < an && !moved; ++i) {
      if (rr_read(p, n, &at, &r, &scratch) < 0) goto end;
      if (r.klass != DNS_C_IN || r.type != DNS_T_CNAME) continue;
      if (dns_name_read(p, n, r.owner, &skip, &scratch) < 0) goto end;
      if (!name_equal(&scratch, &current)) continue;
      if (dns_name_read(p, n, r.rdata, &skip, &current) < 0) goto end;
      moved = 1;
    }
    if (!moved) break;
    if (++links > DNS_CNAME_LINKS) { errno = EPROTO; goto end; }
  }
  if (*count == 0 && links > 0 && str_copy(cname, &current) < 0) goto end;
  ret = 0;
end:
  str_free(&scratch);
  str_free(&current);
  return ret;
}

int dns_packet_parse(const char *pkt, size_t n, unsigned short id, const char *name, size_t len,
                     unsigned short qtype, str *out, size_t *count, int *tc, str *cname)
{
  int r = dns_packet_check(pkt, n, id, name, len, qtype, out, count, tc, cname);
  if (r == DNS_MISMATCH) { errno = EPROTO; return -1; }
  if (r < 0) { *count = 0; *tc = 0; }
  return r;
}

/* ---- transport ----
 *
 * Each try uses a fresh socket. A UDP socket is connect()ed to the
 * server without an explicit bind: the kernel then binds it to an
 * ephemeral port it picks at random (Linux has randomised UDP ephemeral
 * ports since 2.6.24), and only datagrams from the server's address and
 * port reach us. The query id comes from getrandom() (/dev/urandom when
 * the system call is missing). A datagram whose id or question does not
 * match is dropped and the wait goes on until the per-try deadline, so
 * a blind spoofer has to guess both the id and the port, and the case
 * of every letter of the name: each try sends the name with its letters
 * in random case (dns_case_mix, "0x20"), and an answer whose question
 * differs in case from the one sent is dropped like any other. A
 * resolver that does not copy the question as sent (none of the common
 * ones) would have every answer dropped: sluice-remote(8) says so. */

#define DNS_UDP_MAX 65535
#define DNS_TIMEOUT_DEFAULT 5000UL
#define DNS_ATTEMPTS_DEFAULT 2U

static int dns_random(void *out, size_t n)
{
  char *p = out;
  while (n > 0) {
    ssize_t r = getrandom(p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOSYS) break;
      return -1;
    }
    p += r;
    n -= (size_t)r;
  }
  if (n > 0) {
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t r;
    if (fd < 0) return -1;
    while (n > 0) {
      r = read(fd, p, n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) { close(fd); errno = EIO; return -1; }
      p += r;
      n -= (size_t)r;
    }
    close(fd);
  }
  return 0;
}

/* The clock of deadline.h, so that conf->deadline can be compared. */
static unsigned long long now_ms(void)
{
  return (unsigned long long)deadline_now();
}

/* now + timeout_ms, but no later than conf->deadline when that is set. */
static unsigned long long try_deadline(const struct dns_conf *conf, unsigned long timeout_ms)
{
  unsigned long long d = now_ms() + timeout_ms;
  if (conf->deadline > 0 && (unsigned long long)conf->deadline < d) d = (unsigned long long)conf->deadline;
  return d;
}

/* Waits for events on fd until the deadline: 1 ready, 0 timed out, -1. */
static int wait_fd(int fd, short events, unsigned long long deadline)
{
  for (;;) {
    struct pollfd pfd;
    unsigned long long now = now_ms();
    int r;
    if (now >= deadline) return 0;
    pfd.fd = fd;
    pfd.events = events;
    pfd.revents = 0;
    r = poll(&pfd, 1, deadline - now > 60000 ? 60000 : (int)(deadline - now));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r > 0) return 1;
  }
}

static socklen_t server_addr(const struct dns_server *s, struct sockaddr_storage *sa)
{
  memset(sa, 0, sizeof *sa);
  if (s->family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(s->port);
    memcpy(&s6->sin6_addr, s->ip, 16);
    return sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(s->port);
    memcpy(&s4->sin_addr, s->ip, 4);
    return sizeof *s4;
  }
}

/* A socket of type connected (or connecting) to s. */
static int server_socket(const struct dns_server *s, int type)
{
  struct sockaddr_storage sa;
  socklen_t salen = server_addr(s, &sa);
  int fd = socket(s->family == AF_INET6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  while (connect(fd, (struct sockaddr *)&sa, salen) < 0) {
    if (errno == EINTR) continue;
    if (errno == EINPROGRESS && type == SOCK_STREAM) return fd;
    close(fd);
    return -1;
  }
  return fd;
}

/* What one exchange with one server came to. */
struct answer {
  str records;
  size_t count;
  str cname;
};

/* Sends q over TCP (2-byte length prefix) and reads the whole answer by
 * the deadline. Returns the RCODE or -1 (EAGAIN for network trouble,
 * EPROTO for a bad answer, ENOMEM). */
static int exchange_tcp(const struct dns_server *s, const str *q, unsigned short id, const char *name,
                        size_t len, unsigned short qtype, unsigned long long deadline, struct answer *a)
{
  unsigned char lenbuf[2];
  char *pkt = 0;
  size_t want, got, sent;
  int fd, r, tc, ret = -1, err = EAGAIN;
  str out = STR_INIT;

  fd = server_socket(s, SOCK_STREAM);
  if (fd < 0) { errno = EAGAIN; return -1; }
  if (wait_fd(fd, POLLOUT, deadline) != 1) goto done;
  {
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) goto done;
  }
  if (str_readyplus(&out, 0) < 0 || str_copyb(&out, "\0\0", 2) < 0 || str_cat(&out, q) < 0) {
    err = errno;
    goto done;
  }
  out.s[0] = (char)(q->len >> 8);
  out.s[1] = (char)(q->len & 0xff);
  for (sent = 0; sent < out.len;) {
    ssize_t w = send(fd, out.s + sent, out.len - sent, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) goto done;
      if (wait_fd(fd, POLLOUT, deadline) != 1) goto done;
      continue;
    }
    sent += (size_t)w;
  }
  /* the length prefix, then exactly that many bytes */
  want = 2;
  for (got = 0; got < want;) {
    char *to = pkt ? pkt + (got - 2) : (char *)lenbuf + got;
    size_t room = pkt ? want - got : 2 - got;
    ssize_t rd = recv(fd, to, room, 0);
    if (rd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) goto done;
      if (wait_fd(fd, POLLIN, deadline) != 1) goto done;
      continue;
    }
    if (rd == 0) { err = EPROTO; goto done; } /* the server hung up early */
    got += (size_t)rd;
    if (!pkt && got == 2) {
      size_t plen = get16(lenbuf);
      if (plen == 0) { err = EPROTO; goto done; }
      pkt = malloc(plen);
      if (!pkt) { err = ENOMEM; goto done; }
      want = 2 + plen;
    }
  }
  r = dns_packet_check(pkt, want - 2, id, name, len, qtype, &a->records, &a->count, &tc, &a->cname);
  if (r == DNS_MISMATCH || (r >= 0 && tc)) { err = EPROTO; goto done; }
  if (r < 0) { err = errno; goto done; }
  ret = r;
done:
  free(pkt);
  str_free(&out);
  close(fd);
  if (ret < 0) errno = err;
  return ret;
}

/* One try with one server: UDP, then TCP when the answer is truncated.
 * Returns the RCODE or -1 (EAGAIN, EPROTO, ENOMEM). */
static int exchange(const struct dns_conf *conf, const struct dns_server *s, unsigned long timeout_ms,
                    const char *name, size_t len, unsigned short qtype, struct answer *a)
{
  unsigned char idb[2], bits[(DNS_NAME_MAX + 7) / 8];
  char mixed[DNS_NAME_MAX];
  unsigned short id;
  unsigned long long deadline;
  str q = STR_INIT, in = STR_INIT;
  int fd = -1, ret = -1, err = EAGAIN, r, tc;

  /* a name that long cannot be sent (dns_packet_query says EINVAL) */
  if (name_trim(name, len) > sizeof mixed) { errno = EINVAL; return -1; }
  len = name_trim(name, len);
  if (dns_random(idb, 2) < 0 || dns_random(bits, (len + 7) / 8) < 0) { errno = EAGAIN; return -1; }
  id = (unsigned short)get16(idb);
  memcpy(mixed, name, len);
  dns_case_mix(mixed, len, bits);
  name = mixed;
  if (dns_packet_query(&q, id, name, len, qtype) < 0) return -1;
  if (str_ready(&in, DNS_UDP_MAX) < 0) { err = errno; goto done; }
  deadline = try_deadline(conf, timeout_ms);
  fd = server_socket(s, SOCK_DGRAM);
  if (fd < 0) goto done;
  for (;;) {
    ssize_t w = send(fd, q.s, q.len, 0);
    if (w >= 0) break;
    if (errno == EINTR) continue;
    goto done;
  }
  for (;;) {
    ssize_t rd;
    int ready = wait_fd(fd, POLLIN, deadline);
    if (ready != 1) goto done;
    rd = recv(fd, in.s, DNS_UDP_MAX, 0);
    if (rd < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      goto done; /* ECONNREFUSED: nobody listens there */
    }
    r = dns_packet_check(in.s, (size_t)rd, id, name, len, qtype, &a->records, &a->count, &tc, &a->cname);
    if (r == DNS_MISMATCH) continue; /* not ours: keep waiting */
    if (r < 0) { err = errno; goto done; }
    if (!tc) { ret = r; goto done; }
    break;
  }
  close(fd);
  fd = -1;
  ret = exchange_tcp(s, &q, id, name, len, qtype, try_deadline(conf, timeout_ms), a);
  if (ret < 0) err = errno;
done:
  if (fd >= 0) close(fd);
  str_free(&q);
  str_free(&in);
  if (ret < 0) errno = err;
  return ret;
}

/* Asks the servers of conf about name/qtype, trying each in turn for
 * conf->attempts rounds. 0 with the answer (records, or a CNAME target
 * to follow, or neither for "no such record"); -1 ENOENT for NXDOMAIN,
 * EAGAIN, EPROTO or ENOMEM otherwise. */
static int ask(const struct dns_conf *conf, const char *name, size_t len, unsigned short qtype, struct answer *a)
{
  unsigned long timeout = conf->timeout_ms ? conf->timeout_ms : DNS_TIMEOUT_DEFAULT;
  unsigned attempts = conf->attempts ? conf->attempts : DNS_ATTEMPTS_DEFAULT;
  unsigned round;
  size_t i, nservers = conf->n > DNS_SERVERS_MAX ? DNS_SERVERS_MAX : conf->n;
  int err = EAGAIN;

  for (round = 0; round < attempts; ++round)
    for (i = 0; i < nservers; ++i) {
      int r;
      if (deadline_passed(conf->deadline)) { errno = EAGAIN; return -1; }
      r = exchange(conf, &conf->server[i], timeout, name, len, qtype, a);
      if (r == 0) return 0;
      if (r == 3) { errno = ENOENT; return -1; }
      if (r < 0 && (errno == ENOMEM || errno == EOVERFLOW || errno == EINVAL)) return -1;
      if (r < 0 && errno == EPROTO) err = EPROTO;
      /* SERVFAIL, REFUSED, anything else: the next server may do better */
    }
  errno = err;
  return -1;
}

/* ask() following CNAMEs across queries: at most DNS_CNAME_LINKS. */
static int resolve(const struct dns_conf *conf, const char *name, size_t len, unsigned short qtype, struct answer *a)
{
  str target = STR_INIT;
  unsigned links = 0;
  int ret = -1;

  for (;;) {
    if (ask(conf, name, len, qtype, a) < 0) break;
    if (a->count > 0 || a->cname.len == 0) { ret = 0; break; }
    if (++links > DNS_CNAME_LINKS) { errno = EPROTO; break; }
    if (str_copy(&target, &a->cname) < 0) break;
    name = target.s;
    len = target.len;
  }
  {
    int e = errno;
    str_free(&target);
    errno = e;
  }
  return ret;
}

static void answer_free(struct answer *a)
{
  str_free(&a->records);
  str_free(&a->cname);
  a->count = 0;
}

void dns_mxlist_free(struct dns_mxlist *l)
{
  size_t i;
  if (!l) return;
  for (i = 0; i < l->n; ++i) str_free(&l->mx[i].host);
  free(l->mx);
  l->mx = 0;
  l->n = 0;
  l->nullmx = 0;
}

void dns_iplist_free(struct dns_iplist *l)
{
  if (!l) return;
  free(l->ip);
  l->ip = 0;
  l->n = 0;
}

struct mx_sort {
  unsigned pref;
  unsigned long key; /* random: shuffles equal preferences */
  size_t at;         /* offset of the entry in the answer */
};

static int mx_cmp(const void *x, const void *y)
{
  const struct mx_sort *a = x, *b = y;
  if (a->pref != b->pref) return a->pref < b->pref ? -1 : 1;
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  return a->at < b->at ? -1 : a->at > b->at;
}

/* The MX records of name. A single MX with preference 0 and the root as
 * its target is a null MX (RFC 7505): nullmx is set and the list is
 * empty. Other MX records with the root as target cannot be used and
 * are left out. */
int dns_mx(const struct dns_conf *conf, const char *name, size_t len, struct dns_mxlist *out)
{
  struct answer a = { STR_INIT, 0, STR_INIT };
  struct mx_sort *sorts = 0;
  unsigned char *keys = 0;
  size_t i, at, bytes, kept = 0;
  int err;

  out->mx = 0;
  out->n = 0;
  out->nullmx = 0;
  if (resolve(conf, name, len, DNS_T_MX, &a) < 0) goto fail;
  if (a.count == 0) goto ok;
  if (size_mul(&bytes, a.count, sizeof *sorts) < 0) goto fail;
  sorts = malloc(bytes);
  if (size_mul(&bytes, a.count, 4) < 0) goto fail;
  keys = malloc(bytes);
  if (!sorts || !keys) { errno = ENOMEM; goto fail; }
  if (dns_random(keys, bytes) < 0) { errno = EAGAIN; goto fail; }
  for (i = 0, at = 0; i < a.count; ++i) {
    size_t hostlen = byte_chr(a.records.s + at + 2, a.records.len - at - 2, 0);
    if (hostlen == 0 && a.count == 1 && get16((unsigned char *)a.records.s) == 0) {
      out->nullmx = 1;
      goto ok;
    }
    if (hostlen > 0) {
      sorts[kept].pref = get16((unsigned char *)a.records.s + at);
      sorts[kept].key = (unsigned long)keys[4 * i] << 24 | (unsigned long)keys[4 * i + 1] << 16 |
                        (unsigned long)keys[4 * i + 2] << 8 | keys[4 * i + 3];
      sorts[kept].at = at;
      ++kept;
    }
    at += 2 + hostlen + 1;
  }
  qsort(sorts, kept, sizeof *sorts, mx_cmp);
  if (kept > 0) {
    if (size_mul(&bytes, kept, sizeof *out->mx) < 0) goto fail;
    out->mx = malloc(bytes);
    if (!out->mx) { errno = ENOMEM; goto fail; }
  }
  for (i = 0; i < kept; ++i) {
    const char *h = a.records.s + sorts[i].at + 2;
    str host = STR_INIT;
    if (str_copyb(&host, h, byte_len(h, a.records.len - sorts[i].at - 2)) < 0) goto fail;
    out->mx[i].pref = sorts[i].pref;
    out->mx[i].host = host;
    out->n = i + 1;
  }
ok:
  free(sorts);
  free(keys);
  answer_free(&a);
  return 0;
fail:
  err = errno;
  free(sorts);
  free(keys);
  answer_free(&a);
  dns_mxlist_free(out);
  errno = err;
  return -1;
}

/* Appends the addresses of one answer to out. */
static int ip_add(struct dns_iplist *out, const struct answer *a, int family)
{
  size_t i, total, bytes, size = family == AF_INET6 ? 16 : 4;
  struct dns_ip *grown;
  if (a->count == 0) return 0;
  if (size_add(&total, out->n, a->count) < 0 || size_mul(&bytes, total, sizeof *grown) < 0) return -1;
  grown = realloc(out->ip, bytes);
  if (!grown) { errno = ENOMEM; return -1; }
  out->ip = grown;
  for (i = 0; i < a->count; ++i) {
    struct dns_ip *ip = &out->ip[out->n + i];
    memset(ip, 0, sizeof *ip);
    ip->family = family;
    memcpy(ip->ip, a->records.s + i * size, size);
  }
  out->n = total;
  return 0;
}

/* Both queries are made. Addresses found by either are returned even
 * when the other query failed temporarily (delivery can go on with
 * them); with no address, a temporary failure of either query wins over
 * NXDOMAIN, which wins over an empty answer. */
int dns_ip(const struct dns_conf *conf, const char *name, size_t len, int want6, struct dns_iplist *out)
{
  int i, err = 0, temp = 0, gone = 0;

  out->ip = 0;
  out->n = 0;
  for (i = 0; i < 2; ++i) {
    int six = want6 ? i == 0 : i == 1;
    struct answer a = { STR_INIT, 0, STR_INIT };
    int r = resolve(conf, name, len, six ? DNS_T_AAAA : DNS_T_A, &a);
    if (r == 0 && ip_add(out, &a, six ? AF_INET6 : AF_INET) < 0) r = -1;
    if (r < 0) {
      int e = errno;
      answer_free(&a);
      if (e == ENOENT) {
        gone = 1;
      } else if (e == EAGAIN || e == EPROTO) {
        if (!temp) err = e;
        temp = 1;
      } else {
        dns_iplist_free(out);
        errno = e;
        return -1;
      }
      continue;
    }
    answer_free(&a);
  }
  if (out->n > 0) return 0;
  if (temp) { errno = err; return -1; }
  if (gone) { errno = ENOENT; return -1; }
  return 0;
}

int dns_addr(const struct dns_conf *conf, const char *name, size_t len, int family, struct dns_iplist *out)
{
  struct answer a = { STR_INIT, 0, STR_INIT };
  int r;

  out->ip = 0;
  out->n = 0;
  r = resolve(conf, name, len, family == AF_INET6 ? DNS_T_AAAA : DNS_T_A, &a);
  if (r == 0 && ip_add(out, &a, family == AF_INET6 ? AF_INET6 : AF_INET) < 0) r = -1;
  if (r < 0) {
    int e = errno;
    answer_free(&a);
    dns_iplist_free(out);
    errno = e;
    return -1;
  }
  answer_free(&a);
  return 0;
}

int dns_ptr(const struct dns_conf *conf, int family, const unsigned char *ip, str *name)
{
  static const char hex[] = "0123456789abcdef";
  struct answer a = { STR_INIT, 0, STR_INIT };
  char q[80]; /* 32 nibbles with dots and "ip6.arpa": 73 */
  size_t n = 0;
  int i, r;

  if (family == AF_INET6) {
    for (i = 15; i >= 0; --i) {
      q[n++] = hex[ip[i] & 15];
      q[n++] = '.';
      q[n++] = hex[ip[i] >> 4];
      q[n++] = '.';
    }
    memcpy(q + n, "ip6.arpa", 8);
    n += 8;
  } else {
    for (i = 3; i >= 0; --i) {
      unsigned v = ip[i];
      if (v >= 100) q[n++] = (char)('0' + v / 100);
      if (v >= 10) q[n++] = (char)('0' + v / 10 % 10);
      q[n++] = (char)('0' + v % 10);
      q[n++] = '.';
    }
    memcpy(q + n, "in-addr.arpa", 12);
    n += 12;
  }
  r = resolve(conf, q, n, DNS_T_PTR, &a);
  if (r == 0 && a.count == 0) {
    errno = ENOENT;
    r = -1;
  }
  /* the first entry: "name NUL" */
  if (r == 0 && str_copyb(name, a.records.s, byte_len(a.records.s, a.records.len)) < 0) r = -1;
  {
    int e = errno;
    answer_free(&a);
    errno = e;
  }
  return r;
}

int dns_txt(const struct dns_conf *conf, const char *name, size_t len, struct dns_txtlist *out)
{
  struct answer a = { STR_INIT, 0, STR_INIT };
  size_t at = 0, i;
  int r;

  out->txt = 0;
  out->n = 0;
  r = resolve(conf, name, len, DNS_T_TXT, &a);
  if (r == 0 && a.count > 0) {
    out->txt = calloc(a.count, sizeof *out->txt);
    if (!out->txt) r = -1;
  }
  for (i = 0; r == 0 && i < a.count; ++i) {
    size_t l;
    if (a.records.len - at < 2) { errno = EPROTO; r = -1; break; }
    l = (size_t)(unsigned char)a.records.s[at] << 8 | (unsigned char)a.records.s[at + 1];
    at += 2;
    if (a.records.len - at < l) { errno = EPROTO; r = -1; break; }
    if (str_copyb(&out->txt[i], a.records.s + at, l) < 0) { r = -1; break; }
    out->n = i + 1;
    at += l;
  }
  {
    int e = errno;
    answer_free(&a);
    if (r < 0) dns_txtlist_free(out);
    errno = e;
  }
  return r;
}

void dns_txtlist_free(struct dns_txtlist *l)
{
  size_t i;
  if (!l) return;
  for (i = 0; i < l->n; ++i) str_free(&l->txt[i]);
  free(l->txt);
  l->txt = 0;
  l->n = 0;
}
