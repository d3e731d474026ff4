/* smtpsink.c: a fast SMTP sink for the benchmarks.
 *
 *   smtpsink IP PORT [DELAYMS]
 *
 * Listens on IP (IPv4, or IPv6 such as ::1) port PORT and accepts
 * every message at once: EHLO offers PIPELINING and 8BITMIME, every
 * MAIL and RCPT gets 250, DATA 354 (503 without an accepted RCPT), the
 * end of data 250, QUIT 221. Nothing is saved; it only counts. One
 * process, one poll loop, up to CONNS_MAX connections at once (more
 * wait in the listen backlog). Once listening it writes "ready\n" to
 * fd 1. With DELAYMS the greeting of each connection is sent DELAYMS
 * milliseconds after it was accepted (without holding up the others),
 * so that connections last long enough to show how many a client keeps
 * open at once. On SIGUSR1 it writes, and on SIGTERM or SIGINT it writes and
 * exits 0, one line:
 *     MESSAGES RECIPIENTS CONNECTIONS PEAK
 * MESSAGES the transactions accepted, RECIPIENTS the recipients in
 * them, CONNECTIONS the connections accepted, PEAK the largest number
 * of connections open at one time. Setup errors exit 111, bad usage 64.
 * Memory: fixed per connection, allocated once. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "die.h"
#include "file.h"
#include "scan.h"
#include "str.h"

#define CONNS_MAX 1000
#define INBUF 16384
#define OUTBUF 4096

struct conn {
  int fd;                 /* -1: free */
  int data;               /* in DATA */
  int midline;            /* the buffer was flushed in the middle of a line */
  unsigned long rcpts;    /* accepted RCPTs in this transaction */
  unsigned long long greet_at; /* ms: when to send the greeting; 0: sent */
  size_t inlen;
  char in[INBUF];
  size_t outlen;
  char out[OUTBUF];
};

static struct conn conns[CONNS_MAX];
static struct pollfd pfd[CONNS_MAX + 1];
static unsigned long n_messages, n_recipients, n_connections, n_open, n_peak;
static volatile sig_atomic_t want_report, want_exit;

static unsigned long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000ULL;
}

static void on_usr1(int s) { (void)s; want_report = 1; }
static void on_term(int s) { (void)s; want_exit = 1; }

static void report(void)
{
  str out = STR_INIT;
  if (str_catulong(&out, n_messages) < 0 || str_catc(&out, ' ') < 0 || str_catulong(&out, n_recipients) < 0 ||
      str_catc(&out, ' ') < 0 || str_catulong(&out, n_connections) < 0 || str_catc(&out, ' ') < 0 ||
      str_catulong(&out, n_peak) < 0 || str_catc(&out, '\n') < 0)
    die_nomem();
  if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write the report");
  str_free(&out);
}

static void put(struct conn *c, const char *s)
{
  size_t n = strlen(s);
  if (c->outlen + n > OUTBUF) {
    if (write_all(c->fd, c->out, c->outlen) < 0) c->outlen = 0;
    c->outlen = 0;
  }
  memcpy(c->out + c->outlen, s, n);
  c->outlen += n;
}

static void drop(struct conn *c)
{
  close(c->fd);
  c->fd = -1;
  n_open--;
}

static int verb(const char *line, size_t len, const char *v)
{
  size_t i;
  if (len < 4) return 0;
  for (i = 0; i < 4; ++i) {
    char ch = line[i];
    if (ch >= 'a' && ch <= 'z') ch = (char)(ch - 32);
    if (ch != v[i]) return 0;
  }
  return 1;
}

/* One line (with its LF); returns -1 when the connection must close. */
static int line(struct conn *c, const char *s, size_t len)
{
  if (c->data) {
    if (!c->midline && ((len == 3 && s[0] == '.' && s[1] == '\r') || (len == 2 && s[0] == '.'))) {
      c->data = 0;
      n_messages++;
      n_recipients += c->rcpts;
      c->rcpts = 0;
      put(c, "250 ok\r\n");
    }
    return 0;
  }
  if (verb(s, len, "EHLO")) put(c, "250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
  else if (verb(s, len, "HELO")) put(c, "250 sink\r\n");
  else if (verb(s, len, "MAIL")) { c->rcpts = 0; put(c, "250 ok\r\n"); }
  else if (verb(s, len, "RCPT")) { c->rcpts++; put(c, "250 ok\r\n"); }
  else if (verb(s, len, "DATA")) {
    if (c->rcpts) { c->data = 1; put(c, "354 go ahead\r\n"); }
    else put(c, "503 no valid recipients\r\n");
  }
  else if (verb(s, len, "RSET")) { c->rcpts = 0; put(c, "250 ok\r\n"); }
  else if (verb(s, len, "NOOP")) put(c, "250 ok\r\n");
  else if (verb(s, len, "QUIT")) { put(c, "221 bye\r\n"); return -1; }
  else put(c, "502 unknown command\r\n");
  return 0;
}

/* Reads what is there, answers every complete line. */
static void serve(struct conn *c)
{
  ssize_t r = read(c->fd, c->in + c->inlen, INBUF - c->inlen);
  size_t start = 0, i;
  int quit = 0;
  if (r <= 0) { drop(c); return; }
  c->inlen += (size_t)r;
  for (i = 0; i < c->inlen && !quit; ++i)
    if (c->in[i] == '\n') {
      if (line(c, c->in + start, i + 1 - start) < 0) quit = 1;
      c->midline = 0;
      start = i + 1;
    }
  if (start < c->inlen && !quit) {
    memmove(c->in, c->in + start, c->inlen - start);
    c->inlen -= start;
    if (c->inlen == INBUF) { c->inlen = 0; c->midline = 1; }   /* a long line: only its end matters */
  } else c->inlen = 0;
  if (c->outlen) {
    if (write_all(c->fd, c->out, c->outlen) < 0) quit = 1;
    c->outlen = 0;
  }
  if (quit) drop(c);
}

int main(int argc, char **argv)
{
  struct sockaddr_in6 a6;
  struct sockaddr_in a4;
  unsigned long port, delay = 0;
  int ls, one = 1, v6;
  size_t i;

  die_progname("smtpsink");
  if (argc < 3 || argc > 4 || scan_ulong_exact(argv[2], strlen(argv[2]), &port) < 0 || port == 0 || port > 65535 ||
      (argc == 4 && scan_ulong_exact(argv[3], strlen(argv[3]), &delay) < 0))
    die_usage("smtpsink IP PORT [DELAYMS]");
  v6 = strchr(argv[1], ':') != 0;
  ls = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  if (ls < 0) die_temp_sys("unable to make a socket");
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (v6) {
    memset(&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((unsigned short)port);
    if (inet_pton(AF_INET6, argv[1], &a6.sin6_addr) != 1) die_usage("smtpsink IP PORT");
    if (bind(ls, (struct sockaddr *)&a6, sizeof a6) < 0) die_temp_sys("unable to bind");
  } else {
    memset(&a4, 0, sizeof a4);
    a4.sin_family = AF_INET;
    a4.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, argv[1], &a4.sin_addr) != 1) die_usage("smtpsink IP PORT");
    if (bind(ls, (struct sockaddr *)&a4, sizeof a4) < 0) die_temp_sys("unable to bind");
  }
  if (listen(ls, 1024) < 0) die_temp_sys("unable to listen");
  if (fcntl(ls, F_SETFL, O_NONBLOCK) < 0) die_temp_sys("unable to make the socket non-blocking");
  signal(SIGPIPE, SIG_IGN);
  signal(SIGUSR1, on_usr1);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  for (i = 0; i < CONNS_MAX; ++i) conns[i].fd = -1;
  if (write_all(1, "ready\n", 6) < 0) die_temp_sys("unable to write to fd 1");

  for (;;) {
    size_t n = 0, slot[CONNS_MAX];
    int waiting = 0;
    unsigned long long now = now_ms();
    if (want_exit) { report(); return 0; }
    if (want_report) { want_report = 0; report(); }
    pfd[n].fd = n_open < CONNS_MAX ? ls : -1;
    pfd[n].events = POLLIN;
    n++;
    for (i = 0; i < CONNS_MAX; ++i)
      if (conns[i].fd >= 0) {
        if (conns[i].greet_at) {
          if (conns[i].greet_at > now) { waiting = 1; continue; }
          conns[i].greet_at = 0;
          if (write_all(conns[i].fd, "220 sink ESMTP\r\n", 16) < 0) { drop(&conns[i]); continue; }
        }
        slot[n - 1] = i;
        pfd[n].fd = conns[i].fd;
        pfd[n].events = POLLIN;
        n++;
      }
    if (poll(pfd, n, waiting ? 2 : 200) < 0) {
      if (errno == EINTR) continue;
      die_temp_sys("poll failed");
    }
    for (i = 1; i < n; ++i)
      if (pfd[i].revents) serve(&conns[slot[i - 1]]);
    if (pfd[0].revents & POLLIN)
      for (;;) {
        int fd;
        if (n_open >= CONNS_MAX) break;
        fd = accept(ls, 0, 0);
        if (fd < 0) break;
        for (i = 0; i < CONNS_MAX && conns[i].fd >= 0; ++i) {}
        memset(&conns[i], 0, sizeof conns[i]);
        conns[i].fd = fd;
        n_connections++;
        if (++n_open > n_peak) n_peak = n_open;
        if (delay) conns[i].greet_at = now_ms() + delay;
        else if (write_all(fd, "220 sink ESMTP\r\n", 16) < 0) drop(&conns[i]);
      }
  }
}
