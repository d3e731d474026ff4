/* sluice-qmqpc: hand a message to a QMQP server (sluice-qmqpc(8)).
 *
 * Speaks sluice-queue's interface, so it can stand in for it through
 * QMAILQUEUE or in place of conf-home/bin/sluice-queue on a front-end
 * host: the message on fd 0 until end of file, the envelope on fd 1,
 * exit codes from sluice-queue's table. It reads both completely (an
 * envelope cut before its final NUL sends nothing), then tries the
 * servers of control/qmqpservers, starting where control/qmqpspread
 * says (the first, a random one, or the next in turn): a server that
 * cannot be reached, breaks the connection before the whole request is
 * sent or answers Z is followed by the next; K ends with 0, D with 31.
 * A server whose connect failed is recorded in qmqp/tcpto (the tcpto
 * table's format) and tried only after the others for
 * control/qmqpskip seconds. Once the whole request is sent, a missing
 * or broken reply ends the run with a temporary code: the server may
 * have queued the message, so the caller's retry, not the next server,
 * takes it (a possible duplicate, never a loss). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "buf.h"
#include "byte.h"
#include "control.h"
#include "die.h"
#include "fd.h"
#include "file.h"
#include "fmt.h"
#include "ip.h"
#include "netstring.h"
#include "qfile.h"
#include "qmtp.h"
#include "qmtp_io.h"
#include "queue.h"
#include "scan.h"
#include "str.h"
#include "tcpto.h"

#define EXIT_OK 0
#define EXIT_ADDRLONG 11
#define EXIT_DENIED 31
#define EXIT_NOMEM 51
#define EXIT_READ 54
#define EXIT_CONFIG 55
#define EXIT_NETWORK 56
#define EXIT_HOME 61
#define EXIT_REFUSED_TEMP 71
#define EXIT_TIMEOUT 72
#define EXIT_CONNREFUSED 73
#define EXIT_COMM 74
#define EXIT_ENVELOPE 91

#define REPLY_MAX 1000 /* bytes of a reply netstring */
#define SERVERS_MAX 256 /* entries of control/qmqpservers used */

/* the state under conf-home, used only when the directory qmqp exists
 * and is writable: both are hints, never needed for correctness */
#define STATE_TCPTO "qmqp/tcpto"
#define STATE_NEXT "qmqp/next"

/* The envelope on fd 1: perhaps an "O" record (options, sluice-queue(8))
 * NUL, then "F" sender NUL, "T" recipient NUL each, NUL. Builds the
 * request tail (sender and recipient netstrings). QMQP has no room for
 * options: they are checked and dropped (sluice-queue on the queue
 * host sets SMTPUTF8 again for a non-ASCII address). */
static void read_envelope(str *tail)
{
  buf b;
  char mem[4096];
  str rec = STR_INIT;
  unsigned long nrcpt = 0;
  int first = 1, r;

  buf_init(&b, 1, mem, sizeof mem);
  for (;;) {
    str_truncate(&rec, 0);
    r = buf_getline(&b, &rec, 0, QUEUE_ADDR_MAX + 2);
    if (r < 0 && errno == E2BIG) die_msg(EXIT_ADDRLONG, "envelope address too long");
    if (r < 0 && errno == ENOMEM) die_msg(EXIT_NOMEM, "out of memory");
    if (r < 0) die_sys(EXIT_READ, "unable to read the envelope");
    if (r == 0) die_msg(EXIT_READ, "the envelope ends before its final NUL: nothing sent");
    --rec.len; /* the NUL */
    if (first && rec.len > 0 && rec.s[0] == 'O') {
      unsigned opts;
      if (first == 2 || rec.len < 2 || qfile_options_parse(rec.s + 1, rec.len - 1, &opts) < 0)
        die_msg(EXIT_ENVELOPE, "envelope format error");
      first = 2;
      continue;
    }
    if (first) {
      if (rec.len == 0 || rec.s[0] != 'F') die_msg(EXIT_ENVELOPE, "envelope format error");
      first = 0;
    } else {
      if (rec.len == 0) break;
      if (rec.s[0] != 'T') die_msg(EXIT_ENVELOPE, "envelope format error");
      if (++nrcpt > QMTP_RCPT_MAX) die_msg(EXIT_ENVELOPE, "too many recipients");
    }
    if (rec.len - 1 > QUEUE_ADDR_MAX) die_msg(EXIT_ADDRLONG, "envelope address too long");
    if (netstring_cat(tail, rec.s + 1, rec.len - 1) < 0) die_msg(EXIT_NOMEM, "out of memory");
  }
  if (nrcpt == 0) die_msg(EXIT_ENVELOPE, "no recipients: QMQP needs at least one");
  str_free(&rec);
}

/* Connects to sv within timeout seconds: the socket, or -1 with the
 * exit code for the failure in *err. */
static int connect_to(const struct qmqp_server *sv, unsigned long timeout, int *err)
{
  struct sockaddr_in6 a6;
  struct sockaddr_in a4;
  struct pollfd p;
  int fd, r, e = 0;
  socklen_t elen = sizeof e;

  fd = socket(sv->is6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = EXIT_NETWORK;
    return -1;
  }
  if (fd_nonblock(fd, 1) < 0) goto fail;
  if (sv->is6) {
    memset(&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((unsigned short)sv->port);
    memcpy(&a6.sin6_addr, sv->ip, 16);
    r = connect(fd, (struct sockaddr *)&a6, sizeof a6);
  } else {
    memset(&a4, 0, sizeof a4);
    a4.sin_family = AF_INET;
    a4.sin_port = htons((unsigned short)sv->port);
    memcpy(&a4.sin_addr, sv->ip, 4);
    r = connect(fd, (struct sockaddr *)&a4, sizeof a4);
  }
  if (r == 0) return fd;
  if (errno != EINPROGRESS) goto fail;
  p.fd = fd;
  p.events = POLLOUT;
  do {
    r = poll(&p, 1, timeout > 86400 ? 86400000 : (int)(timeout * 1000));
  } while (r < 0 && errno == EINTR);
  if (r == 0) {
    close(fd);
    *err = EXIT_TIMEOUT;
    return -1;
  }
  if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0) goto fail;
  if (e == 0) return fd;
  errno = e;
fail:
  *err = errno == ECONNREFUSED ? EXIT_CONNREFUSED : errno == ETIMEDOUT ? EXIT_TIMEOUT : EXIT_NETWORK;
  close(fd);
  return -1;
}

static void server_warn(const char *server, const char *what, const str *text)
{
  str l = STR_INIT;
  size_t i;

  if (str_copys(&l, "sluice-qmqpc: ") == 0 && str_cats(&l, server) == 0 && str_cats(&l, ": ") == 0
      && str_cats(&l, what) == 0) {
    if (text)
      for (i = 0; i < text->len && i < REPLY_MAX; ++i) {
        unsigned char c = (unsigned char)text->s[i];
        if (str_catc(&l, (c < 32 || c == 127) ? '?' : (char)c) < 0) break;
      }
    if (str_catc(&l, '\n') == 0) (void)write_all(2, l.s, l.len);
  }
  str_free(&l);
}

/* Sends the request to one server: the exit code to end with, or -1 to
 * try the next server (with *err set). */
static int try_server(const char *name, const struct qmqp_server *sv, unsigned long tconnect, unsigned long tremote,
                      const str *head, const str *msg, const str *tail, int *err)
{
  buf out, in;
  char outmem[8192], inmem[1024];
  str reply = STR_INIT;
  int fd, r;

  fd = connect_to(sv, tconnect, err);
  if (fd < 0) {
    server_warn(name, *err == EXIT_TIMEOUT ? "connection timed out" : "connection failed", 0);
    if (*err == EXIT_TIMEOUT || *err == EXIT_CONNREFUSED)
      (void)tcpto_record(STATE_TCPTO, sv->is6 ? 6 : 4, sv->ip, time(0));
    return -1;
  }
  (void)tcpto_clear(STATE_TCPTO, sv->is6 ? 6 : 4, sv->ip);
  buf_init(&out, fd, outmem, sizeof outmem);
  buf_set_timeout(&out, tremote * 1000);
  if (buf_put(&out, head->s, head->len) < 0 || buf_put(&out, msg->s, msg->len) < 0 || buf_put(&out, ",", 1) < 0
      || buf_put(&out, tail->s, tail->len) < 0 || buf_putflush(&out, ",", 1) < 0) {
    *err = errno == ETIMEDOUT ? EXIT_TIMEOUT : EXIT_COMM;
    server_warn(name, "unable to send the message", 0);
    close(fd);
    return -1;
  }
  buf_init(&in, fd, inmem, sizeof inmem);
  buf_set_timeout(&in, tremote * 1000);
  r = qmtp_read_netstring(&in, REPLY_MAX, &reply);
  close(fd);
  if (r != 1 || reply.len == 0) {
    /* the whole request went out: the server may have queued it, so
     * the next server must not get it too; the caller tries again */
    r = r < 0 && errno == ETIMEDOUT ? EXIT_TIMEOUT : EXIT_COMM;
    server_warn(name, "no valid reply after the whole message was sent: the caller must retry", 0);
    str_free(&reply);
    return r;
  }
  switch (reply.s[0]) {
  case 'K': str_free(&reply); return EXIT_OK;
  case 'D':
    server_warn(name, "refused permanently: ", &reply);
    str_free(&reply);
    return EXIT_DENIED;
  case 'Z':
    server_warn(name, "refused temporarily: ", &reply);
    *err = EXIT_REFUSED_TEMP;
    break;
  default:
    server_warn(name, "bad reply: ", &reply);
    *err = EXIT_COMM;
    break;
  }
  str_free(&reply);
  return -1;
}

/* The next value of the round-robin counter qmqp/next (a decimal
 * number, read and rewritten under an fcntl lock), 0 when the file
 * cannot be used. */
static unsigned long next_turn(void)
{
  char b[FMT_ULONG + 1];
  unsigned long v = 0;
  ssize_t r;
  int fd;

  fd = open(STATE_NEXT, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return 0;
  if (lock_ex(fd) < 0) {
    close(fd);
    return 0;
  }
  r = read(fd, b, sizeof b - 1);
  if (r > 0) {
    size_t n = (size_t)r;
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == ' ')) --n;
    if (scan_ulong_exact(b, n, &v) < 0) v = 0;
  }
  {
    size_t n = fmt_ulong(b, v + 1);
    b[n++] = '\n';
    if (lseek(fd, 0, SEEK_SET) == 0 && ftruncate(fd, 0) == 0) (void)write_all(fd, b, n);
  }
  close(fd);
  return v;
}

static unsigned long random_start(void)
{
  unsigned long v;
  if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v) return v;
  return (unsigned long)time(0) ^ ((unsigned long)getpid() << 8);
}

int main(void)
{
  str servers = STR_INIT, msg = STR_INIT, tail = STR_INIT, head = STR_INIT, spread = STR_INIT;
  struct qmqp_server sv[SERVERS_MAX];
  const char *name[SERVERS_MAX];
  unsigned char skipped[SERVERS_MAX];
  size_t nsv = 0, start = 0, k;
  unsigned long tconnect, tremote, skip;
  int pass;
  size_t pos = 0, n, inner, mdigits;
  const char *e;
  char num[FMT_ULONG];
  int err = EXIT_CONFIG, r;

  die_progname("sluice-qmqpc");
  signal(SIGPIPE, SIG_IGN);
  if (chdir(auto_home) < 0) die_sys(EXIT_HOME, "unable to switch to ", auto_home);
  if (control_readlist("control/qmqpservers", &servers) < 0) die_sys(EXIT_CONFIG, "unable to read control/qmqpservers");
  if (control_readnum("control/timeoutconnect", &tconnect, 60, 1, 86400) < 0)
    die_sys(EXIT_CONFIG, "unable to read control/timeoutconnect");
  if (control_readnum("control/timeoutremote", &tremote, 1200, 1, 86400) < 0)
    die_sys(EXIT_CONFIG, "unable to read control/timeoutremote");
  if (control_readnum("control/qmqpskip", &skip, 60, 0, 86400) < 0)
    die_sys(EXIT_CONFIG, "unable to read control/qmqpskip");
  if (control_readline("control/qmqpspread", &spread, "order") < 0)
    die_sys(EXIT_CONFIG, "unable to read control/qmqpspread");

  if (read_fd_all(0, &msg, (size_t)-1 / 2) < 0) {
    if (errno == ENOMEM) die_msg(EXIT_NOMEM, "out of memory");
    die_sys(EXIT_READ, "unable to read the message");
  }
  read_envelope(&tail);

  /* outer "len:" then the message netstring's "len:"; the message, its
   * comma, the tail and the outer comma follow */
  mdigits = fmt_ulong(num, (unsigned long)msg.len);
  inner = mdigits + 1 + msg.len + 1 + tail.len;
  if (inner < msg.len) die_msg(EXIT_NOMEM, "message too large");
  if (str_catulong(&head, (unsigned long)inner) < 0 || str_catc(&head, ':') < 0 || str_catb(&head, num, mdigits) < 0
      || str_catc(&head, ':') < 0)
    die_msg(EXIT_NOMEM, "out of memory");

  while (control_next(&servers, &pos, &e, &n)) {
    if (nsv == SERVERS_MAX) {
      server_warn(e, "ignored: more than 256 servers in control/qmqpservers", 0);
      break;
    }
    if (qmqp_server_parse(e, n, &sv[nsv]) < 0) {
      server_warn(e, "not an address in control/qmqpservers", 0);
      continue;
    }
    name[nsv++] = e;
  }
  if (nsv == 0) die_msg(EXIT_CONFIG, "no usable QMQP server in control/qmqpservers");

  /* where to start: the first server, a random one or the next in turn */
  if (spread.len == 6 && memcmp(spread.s, "random", 6) == 0) start = random_start() % nsv;
  else if (spread.len == 10 && memcmp(spread.s, "roundrobin", 10) == 0) start = next_turn() % nsv;
  else if (!(spread.len == 5 && memcmp(spread.s, "order", 5) == 0))
    die_msg(EXIT_CONFIG, "control/qmqpspread is not order, random or roundrobin");

  /* servers whose connect failed within qmqpskip seconds come last, in
   * the same order: a last resort, so that mail still goes out when all
   * of them failed recently */
  for (k = 0; k < nsv; ++k)
    skipped[k] = skip > 0 && tcpto_blocked_for(STATE_TCPTO, sv[k].is6 ? 6 : 4, sv[k].ip, time(0), skip);
  for (pass = 0; pass < 2; ++pass)
    for (k = 0; k < nsv; ++k) {
      size_t i = (start + k) % nsv;
      if (skipped[i] != pass) continue;
      r = try_server(name[i], &sv[i], tconnect, tremote, &head, &msg, &tail, &err);
      if (r >= 0) _exit(r);
    }
  die_msg(err, "no QMQP server accepted the message");
}
