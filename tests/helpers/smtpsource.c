/* smtpsource.c: an SMTP load generator for the benchmarks, after
 * Postfix's smtp-source.
 *
 *   smtpsource [-s sessions] [-m messages] [-l bytes] [-r recipients]
 *              [-f from] [-t to] [-6] HOST PORT
 *
 * Sends MESSAGES messages (default 1) in all to the SMTP server at the
 * numeric address HOST (IPv4; IPv6 with -6) port PORT, over up to
 * SESSIONS sessions at once (default 1). Each session is one forked
 * child with its share of the messages (MESSAGES / SESSIONS, the first
 * MESSAGES % SESSIONS sessions one more; a session with no share is not
 * opened). A session reads the greeting, sends EHLO once, then for each
 * message MAIL, RECIPIENTS RCPTs (default 1), DATA and the message, one
 * command at a time (no pipelining), and QUIT at the end.
 *
 * A message is BYTES bytes (default 2048; at least its header) counted
 * before dot-stuffing, CR LF line ends: a header with From, To, Date, a
 * unique Subject and Message-ID (process id, session, number), then
 * body lines of printable text at most 72 characters long, every 16th
 * starting with a dot, so that dot-stuffing is exercised. The sender is
 * FROM (default smtpsource@example.org); the recipient is TO (default
 * user@example.org), or with several recipients 1TO, 2TO... as
 * smtp-source makes them.
 *
 * Every reply is checked: 220 for the greeting, 354 for DATA, 2xx for
 * the rest. Any other reply, and a failed connection, read or write,
 * counts as one error; the first one is written once on fd 2. After an
 * error in a transaction the session sends RSET and goes on with the
 * next message; after a connection failure the rest of the session's
 * messages are not sent. Every connect, read and write waits at most
 * TIMEOUT_MS. At the end it writes on fd 1 one line:
 *     messages N errors E seconds T rate R/s
 * N the messages accepted (2xx after the data), E the errors, T the
 * wall time in seconds (three decimals) from the first fork until the
 * last session ended, R = N / T rounded to an integer. Exits 0 when E is
 * 0 and every message was accepted, 1 otherwise, 111 on a local error,
 * 64 on bad usage.
 *
 * Memory: each child owns its strings and frees nothing (it exits). */
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

#include "buf.h"
#include "date.h"
#include "die.h"
#include "file.h"
#include "fmt.h"
#include "scan.h"
#include "str.h"
#include "wait.h"

#define USAGE "smtpsource [-s sessions] [-m messages] [-l bytes] [-r recipients] [-f from] [-t to] [-6] HOST PORT"
#define TIMEOUT_MS 60000UL
#define REPLY_LINE_MAX 1024
#define ERROR_TEXT_MAX 300 /* keeps a child's report under PIPE_BUF */
#define BODY_LINE 72

struct source {
  int family;
  struct sockaddr_in a4;
  struct sockaddr_in6 a6;
  unsigned long sessions, messages, size, rcpts;
  const char *from, *to;
};

/* What one session did; written by the child as one line to a pipe. */
struct tally {
  unsigned long accepted, errors;
  str first_error; /* the first unexpected reply or failure, or empty */
};

struct session {
  const struct source *src;
  unsigned long index;
  buf in, out;
  char inmem[4096], outmem[8192];
  str reply;       /* the last reply line */
  struct tally *t;
};

static unsigned long long now_us(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) die_temp_sys("unable to read the clock");
  return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
}

static unsigned long arg_number(const char *s)
{
  unsigned long u;
  if (scan_ulong_exact(s, strlen(s), &u) < 0) die_usage(USAGE);
  return u;
}

/* Counts an error and keeps the text of the first one: what (a command
 * or "connect"), then the reply line or the errno text. */
static void error_note(struct tally *t, const char *what, const char *s, size_t n)
{
  t->errors++;
  if (t->first_error.len) return;
  if (n > ERROR_TEXT_MAX) n = ERROR_TEXT_MAX;
  if (str_cats(&t->first_error, what) < 0 || str_cats(&t->first_error, ": ") < 0 ||
      str_catb(&t->first_error, s, n) < 0)
    die_nomem();
}

static void error_errno(struct tally *t, const char *what)
{
  const char *e = errno == ETIMEDOUT ? "timed out" : strerror(errno);
  error_note(t, what, e, strlen(e));
}

/* A connected socket, or -1 with errno set; the connect waits at most
 * TIMEOUT_MS. The socket stays O_NONBLOCK: buf waits for it. */
static int connect_timed(const struct source *src)
{
  struct pollfd p;
  int fd, err = 0, r;
  socklen_t len = sizeof err;
  fd = socket(src->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (src->family == AF_INET6) r = connect(fd, (const struct sockaddr *)&src->a6, sizeof src->a6);
  else r = connect(fd, (const struct sockaddr *)&src->a4, sizeof src->a4);
  if (r == 0) return fd;
  if (errno != EINPROGRESS) goto fail;
  p.fd = fd;
  p.events = POLLOUT;
  do r = poll(&p, 1, (int)TIMEOUT_MS); while (r < 0 && errno == EINTR);
  if (r < 0) goto fail;
  if (r == 0) { errno = ETIMEDOUT; goto fail; }
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) goto fail;
  if (err) { errno = err; goto fail; }
  return fd;
fail:
  err = errno;
  close(fd);
  errno = err;
  return -1;
}

/* Reads one reply, multi-line or not: returns its code (100..599), 0
 * for a malformed reply, -1 on a read error or end of file (errno
 * EPIPE). The last line, without CR LF, is left in s->reply. */
static int reply_read(struct session *s)
{
  for (;;) {
    unsigned long code;
    int r;
    str_truncate(&s->reply, 0);
    r = buf_getline(&s->in, &s->reply, '\n', REPLY_LINE_MAX);
    if (r < 0) return -1;
    if (r == 0) { errno = EPIPE; return -1; }
    while (s->reply.len && (s->reply.s[s->reply.len - 1] == '\n' || s->reply.s[s->reply.len - 1] == '\r'))
      s->reply.len--;
    if (s->reply.len < 3 || scan_ulong(s->reply.s, 3, &code) != 3 || code < 100 || code > 599) return 0;
    if (s->reply.len > 3 && s->reply.s[3] == '-') continue;
    return (int)code;
  }
}

/* Flushes what is pending and reads the reply: 1 when its code is want
 * (or any 2xx when want is 200), 0 for another reply (an error noted),
 * -1 when the connection failed (an error noted). */
static int expect(struct session *s, const char *what, int want)
{
  int code;
  if (buf_flush(&s->out) < 0) { error_errno(s->t, what); return -1; }
  code = reply_read(s);
  if (code < 0) { error_errno(s->t, what); return -1; }
  if (want == 200 ? code / 100 == 2 : code == want) return 1;
  error_note(s->t, what, s->reply.s, s->reply.len);
  return 0;
}

static int command(struct session *s, const char *verb, const char *arg, const char *prefix, const char *what,
                   int want)
{
  if (buf_puts(&s->out, verb) < 0 || (prefix && buf_puts(&s->out, prefix) < 0) ||
      (arg && buf_puts(&s->out, arg) < 0) || (arg && buf_puts(&s->out, ">") < 0) || buf_puts(&s->out, "\r\n") < 0) {
    error_errno(s->t, what);
    return -1;
  }
  return expect(s, what, want);
}

/* The body in wire form (dot-stuffed, CR LF) for size - header bytes of
 * message text, with the final ".\r\n". */
static void body_make(str *wire, unsigned long size, size_t header)
{
  size_t rem = size > header ? size - header : 0, c, j;
  unsigned long k = 0;
  while (rem >= 2) {
    c = rem - 2 > BODY_LINE ? BODY_LINE : rem - 2;
    if (rem - (c + 2) == 1) c--;   /* leave room for a whole line (CR LF) */
    if (c && k % 16 == 15) {
      if (str_cats(wire, "..") < 0) die_nomem();   /* a line starting with a dot, stuffed */
      j = 1;
    } else j = 0;
    for (; j < c; ++j) {
      char ch = (j % 8 == 7 && j + 1 < c) ? ' ' : (char)('a' + (k + j) % 26);
      if (str_catc(wire, ch) < 0) die_nomem();
    }
    if (str_cats(wire, "\r\n") < 0) die_nomem();
    rem -= c + 2;
    k++;
  }
  if (str_cats(wire, ".\r\n") < 0) die_nomem();
}

/* The header of message n of the session: its length is the same for
 * every message of a run but for the digits, so the body is sized per
 * message. */
static void header_make(str *h, const struct session *s, unsigned long n)
{
  char num[FMT_ULONG * 3 + 3];
  size_t len = 0;
  len += fmt_ulong(num + len, (unsigned long)getpid());
  num[len++] = '.';
  len += fmt_ulong(num + len, s->index);
  num[len++] = '.';
  len += fmt_ulong(num + len, n);
  str_truncate(h, 0);
  if (str_cats(h, "From: <") < 0 || str_cats(h, s->src->from) < 0 || str_cats(h, ">\r\nTo: <") < 0 ||
      str_cats(h, s->src->to) < 0 || str_cats(h, ">\r\nSubject: smtpsource test ") < 0 ||
      str_catb(h, num, len) < 0 || str_cats(h, "\r\nMessage-ID: <") < 0 || str_catb(h, num, len) < 0 ||
      str_cats(h, ".") < 0 || str_catulong(h, (unsigned long)time(0)) < 0 ||
      str_cats(h, "@smtpsource.invalid>\r\nDate: ") < 0 || date_rfc5322_utc(h, time(0)) < 0 ||
      str_cats(h, "\r\n\r\n") < 0)
    die_nomem();
}

/* One transaction: returns 1 when the message was accepted, 0 when not
 * (the session goes on), -1 when the connection failed. */
static int transaction(struct session *s, unsigned long n, str *header, str *body)
{
  unsigned long i, good = 0;
  int r;
  r = command(s, "MAIL FROM:<", s->src->from, 0, "MAIL", 200);
  if (r <= 0) goto out;
  for (i = 1; i <= s->src->rcpts; ++i) {
    char num[FMT_ULONG + 1];
    size_t len = 0;
    if (s->src->rcpts > 1) len = fmt_ulong(num, i);
    num[len] = 0;
    r = command(s, "RCPT TO:<", s->src->to, num, "RCPT", 200);
    if (r < 0) return -1;
    good += (unsigned long)r;
  }
  if (!good) { r = 0; goto out; }
  r = command(s, "DATA", 0, 0, "DATA", 354);
  if (r <= 0) goto out;
  header_make(header, s, n);
  str_truncate(body, 0);
  body_make(body, s->src->size, header->len);
  if (buf_put(&s->out, header->s, header->len) < 0 || buf_put(&s->out, body->s, body->len) < 0) {
    error_errno(s->t, "message");
    return -1;
  }
  r = expect(s, "end of data", 200);
  if (r == 1) { s->t->accepted++; return 1; }
out:
  if (r == 0 && command(s, "RSET", 0, 0, "RSET", 200) < 0) return -1;
  return r;
}

/* One session with count messages, tallied in *t. */
static void session_run(const struct source *src, unsigned long index, unsigned long count, struct tally *t)
{
  static struct session s;   /* large buffers: off the stack */
  str header = STR_INIT, body = STR_INIT;
  unsigned long n;
  int fd = connect_timed(src);
  if (fd < 0) { error_errno(t, "connect"); return; }
  s.src = src;
  s.index = index;
  s.t = t;
  buf_init(&s.in, fd, s.inmem, sizeof s.inmem);
  buf_init(&s.out, fd, s.outmem, sizeof s.outmem);
  buf_set_timeout(&s.in, TIMEOUT_MS);
  buf_set_timeout(&s.out, TIMEOUT_MS);
  if (expect(&s, "greeting", 220) <= 0) goto end;
  if (command(&s, "EHLO smtpsource.invalid", 0, 0, "EHLO", 200) <= 0) goto end;
  for (n = 0; n < count; ++n)
    if (transaction(&s, n, &header, &body) < 0) goto end;
  command(&s, "QUIT", 0, 0, "QUIT", 200);
end:
  close(fd);
}

/* The child's report: "ACCEPTED ERRORS FIRST_ERROR\n", one write under
 * PIPE_BUF bytes, so that reports of children do not mix. */
static void report_write(int fd, const struct tally *t)
{
  str line = STR_INIT;
  size_t i;
  if (str_catulong(&line, t->accepted) < 0 || str_catc(&line, ' ') < 0 || str_catulong(&line, t->errors) < 0 ||
      str_catc(&line, ' ') < 0)
    die_nomem();
  for (i = 0; i < t->first_error.len; ++i) {
    char ch = t->first_error.s[i];
    if (str_catc(&line, ch == '\n' || ch == '\r' ? ' ' : ch) < 0) die_nomem();
  }
  if (str_catc(&line, '\n') < 0) die_nomem();
  if (write_all(fd, line.s, line.len) < 0) die_temp_sys("unable to write the report");
}

/* Adds the reports in s[0..n) to *t and counts them. */
static unsigned long reports_add(const char *s, size_t n, struct tally *t)
{
  unsigned long count = 0;
  size_t pos = 0;
  while (pos < n) {
    const char *nl = memchr(s + pos, '\n', n - pos);
    size_t end = nl ? (size_t)(nl - s) : n, k;
    unsigned long a, e;
    k = scan_ulong(s + pos, end - pos, &a);
    if (k && pos + k < end && s[pos + k] == ' ') {
      size_t k2 = scan_ulong(s + pos + k + 1, end - pos - k - 1, &e);
      if (k2) {
        size_t text = pos + k + 1 + k2 + 1;
        t->accepted += a;
        t->errors += e;
        if (!t->first_error.len && text < end && str_catb(&t->first_error, s + text, end - text) < 0) die_nomem();
        count++;
      }
    }
    pos = end + 1;
  }
  return count;
}

static void source_parse(struct source *src, int argc, char **argv)
{
  int opt;
  unsigned long port;
  src->family = AF_INET;
  src->sessions = 1;
  src->messages = 1;
  src->size = 2048;
  src->rcpts = 1;
  src->from = "smtpsource@example.org";
  src->to = "user@example.org";
  while ((opt = getopt(argc, argv, "s:m:l:r:f:t:6")) != -1)
    switch (opt) {
      case 's': src->sessions = arg_number(optarg); break;
      case 'm': src->messages = arg_number(optarg); break;
      case 'l': src->size = arg_number(optarg); break;
      case 'r': src->rcpts = arg_number(optarg); break;
      case 'f': src->from = optarg; break;
      case 't': src->to = optarg; break;
      case '6': src->family = AF_INET6; break;
      default: die_usage(USAGE);
    }
  if (argc - optind != 2 || src->sessions == 0 || src->sessions > 10000 || src->rcpts == 0 || src->rcpts > 100000)
    die_usage(USAGE);
  port = arg_number(argv[optind + 1]);
  if (port == 0 || port > 65535) die_usage(USAGE);
  memset(&src->a4, 0, sizeof src->a4);
  memset(&src->a6, 0, sizeof src->a6);
  if (src->family == AF_INET6) {
    src->a6.sin6_family = AF_INET6;
    src->a6.sin6_port = htons((unsigned short)port);
    if (inet_pton(AF_INET6, argv[optind], &src->a6.sin6_addr) != 1) die_usage(USAGE);
  } else {
    src->a4.sin_family = AF_INET;
    src->a4.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, argv[optind], &src->a4.sin_addr) != 1) die_usage(USAGE);
  }
  if (src->sessions > src->messages) src->sessions = src->messages ? src->messages : 1;
}

int main(int argc, char **argv)
{
  struct source src;
  struct tally total = { 0, 0, STR_INIT };
  str reports = STR_INIT, out = STR_INIT;
  unsigned long i, children = 0, reported, missing = 0;
  unsigned long long start, elapsed;
  char num[FMT_ULONG];
  int p[2], status;

  die_progname("smtpsource");
  source_parse(&src, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  if (pipe(p) < 0) die_temp_sys("unable to make a pipe");

  start = now_us();
  for (i = 0; i < src.sessions && src.messages; ++i) {
    unsigned long count = src.messages / src.sessions + (i < src.messages % src.sessions);
    pid_t pid = fork();
    if (pid < 0) die_temp_sys("unable to fork");
    if (pid == 0) {
      struct tally t = { 0, 0, STR_INIT };
      close(p[0]);
      session_run(&src, i, count, &t);
      report_write(p[1], &t);
      _exit(0);
    }
    children++;
  }
  close(p[1]);
  if (read_fd_all(p[0], &reports, 1UL << 24) < 0) die_temp_sys("unable to read the reports");
  for (i = 0; i < children; ++i) {
    if (wait_pid(-1, &status) < 0) die_temp_sys("unable to wait for a session");
    if (wait_exitcode(status) != 0) missing++;
  }
  elapsed = now_us() - start;
  if (elapsed == 0) elapsed = 1;
  reported = reports_add(reports.s, reports.len, &total);
  if (reported < children) missing += children - reported;
  if (missing) error_note(&total, "session", "ended without a report", 22);
  if (total.first_error.len) {
    if (write_all(2, "smtpsource: first error: ", 25) < 0 || write_all(2, total.first_error.s, total.first_error.len) < 0 ||
        write_all(2, "\n", 1) < 0)
      die_temp_sys("unable to write to fd 2");
  }

  if (str_cats(&out, "messages ") < 0 || str_catulong(&out, total.accepted) < 0 || str_cats(&out, " errors ") < 0 ||
      str_catulong(&out, total.errors) < 0 || str_cats(&out, " seconds ") < 0 ||
      str_catulong(&out, (unsigned long)(elapsed / 1000000ULL)) < 0 || str_catc(&out, '.') < 0 ||
      str_catb(&out, num, fmt_ulong0(num, (unsigned long)(elapsed % 1000000ULL / 1000ULL), 3)) < 0 ||
      str_cats(&out, " rate ") < 0 ||
      str_catulong(&out, (unsigned long)(((unsigned long long)total.accepted * 1000000ULL + elapsed / 2) / elapsed)) < 0 ||
      str_cats(&out, "/s\n") < 0)
    die_nomem();
  if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write the result");
  return total.errors || total.accepted != src.messages ? 1 : 0;
}
