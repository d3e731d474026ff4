/* test_qmtp.c: the QMTP/QMQP parsers (qmtp) and netstring reading from
 * a descriptor (qmtp_io). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "qmtp.h"
#include "qmtp_io.h"
#include "str.h"

/* Feeds s[0..n) to a fresh length parser: the last result; *at gets
 * the index of the byte that gave it. */
static int len_of(const char *s, size_t n, size_t max, size_t *len, size_t *at)
{
  struct qmtp_len l;
  size_t i;
  int r = 0;

  qmtp_len_start(&l);
  for (i = 0; i < n; ++i) {
    r = qmtp_len_feed(&l, s[i], max);
    if (r != 0) break;
  }
  *len = l.len;
  *at = i;
  return r;
}

static void test_len(void)
{
  size_t len, at;
  struct qmtp_len l;

  CHECK(len_of("5:", 2, 100, &len, &at) == 1 && len == 5 && at == 1);
  CHECK(len_of("0:", 2, 100, &len, &at) == 1 && len == 0);
  CHECK(len_of("123:", 4, 123, &len, &at) == 1 && len == 123);
  CHECK(len_of("12", 2, 100, &len, &at) == 0);
  errno = 0;
  CHECK(len_of("124:", 4, 123, &len, &at) == -1 && errno == EMSGSIZE && at == 2);
  errno = 0;
  CHECK(len_of("05:", 3, 100, &len, &at) == -1 && errno == EPROTO);
  errno = 0;
  CHECK(len_of(":", 1, 100, &len, &at) == -1 && errno == EPROTO);
  errno = 0;
  CHECK(len_of("1x:", 3, 100, &len, &at) == -1 && errno == EPROTO);
  errno = 0;
  CHECK(len_of("-1:", 3, 100, &len, &at) == -1 && errno == EPROTO);
  errno = 0;
  CHECK(len_of(" 1:", 3, 100, &len, &at) == -1 && errno == EPROTO);
  /* a length that does not fit a size_t */
  errno = 0;
  CHECK(len_of("99999999999999999999999:", 24, (size_t)-1, &len, &at) == -1 && errno == EMSGSIZE);
  /* the prefix size is counted, and nothing after ':' is accepted */
  qmtp_len_start(&l);
  CHECK(qmtp_len_feed(&l, '4', 10) == 0 && qmtp_len_feed(&l, '2', 100) == 0 && qmtp_len_feed(&l, ':', 100) == 1);
  CHECK(l.bytes == 3 && l.len == 42);
  errno = 0;
  CHECK(qmtp_len_feed(&l, '1', 100) == -1 && errno == EPROTO);
}

static void test_list(void)
{
  const char *s = "3:abc,0:,1:x,";
  size_t pos = 0, len;
  const char *d;

  CHECK(qmtp_list_next(s, strlen(s), &pos, 10, &d, &len) == 1 && len == 3 && memcmp(d, "abc", 3) == 0);
  CHECK(qmtp_list_next(s, strlen(s), &pos, 10, &d, &len) == 1 && len == 0);
  CHECK(qmtp_list_next(s, strlen(s), &pos, 10, &d, &len) == 1 && len == 1 && d[0] == 'x');
  CHECK(qmtp_list_next(s, strlen(s), &pos, 10, &d, &len) == 0 && pos == strlen(s));
  pos = 0;
  errno = 0;
  CHECK(qmtp_list_next("3:ab", 4, &pos, 10, &d, &len) == -1 && errno == EPROTO && pos == 0);
  errno = 0;
  CHECK(qmtp_list_next("3:abcd", 6, &pos, 10, &d, &len) == -1 && errno == EPROTO);
  errno = 0;
  CHECK(qmtp_list_next("30:", 3, &pos, 10, &d, &len) == -1 && errno == EMSGSIZE);
  errno = 0;
  CHECK(qmtp_list_next("x", 1, &pos, 10, &d, &len) == -1 && errno == EPROTO);
}

static void test_addr(void)
{
  char big[1100];

  memset(big, 'a', sizeof big);
  CHECK(qmtp_addr_check("a@b", 3) == QMTP_ADDR_OK);
  CHECK(qmtp_addr_check("", 0) == QMTP_ADDR_OK);
  CHECK(qmtp_addr_check(big, 1003) == QMTP_ADDR_OK);
  CHECK(qmtp_addr_check(big, 1004) == QMTP_ADDR_LONG);
  CHECK(qmtp_addr_check("a\0b", 3) == QMTP_ADDR_BAD);
  CHECK(qmtp_addr_check("a\rb", 3) == QMTP_ADDR_BAD);
  CHECK(qmtp_addr_check("a\nb", 3) == QMTP_ADDR_BAD);
}

static void test_qmqp(void)
{
  static const char req[] = "12:hello world\n,5:a@b.c,5:x@y.z,3:q@r,";
  str rcpts = STR_INIT;
  struct qmqp_tail t;
  size_t off = 0, len = 0;

  CHECK(qmqp_request_parse(req, sizeof req - 1, &off, &len, &t, &rcpts) == 0);
  CHECK_BYTES(req + off, len, "hello world\n");
  CHECK_BYTES(t.sender, t.sender_len, "a@b.c");
  CHECK(t.nrcpt == 2 && t.addr_error == 0);
  CHECK(rcpts.len == 12 && memcmp(rcpts.s, "Tx@y.z\0Tq@r\0", 12) == 0);

  /* empty sender is fine; no recipient is not */
  str_truncate(&rcpts, 0);
  CHECK(qmqp_tail_parse("0:,1:a,", 7, &t, &rcpts) == 0 && t.sender_len == 0 && t.nrcpt == 1);
  str_truncate(&rcpts, 0);
  errno = 0;
  CHECK(qmqp_tail_parse("0:,", 3, &t, &rcpts) == -1 && errno == EPROTO && rcpts.len == 0);
  errno = 0;
  CHECK(qmqp_tail_parse("", 0, &t, &rcpts) == -1 && errno == EPROTO);
  /* garbage after the last recipient, a cut one, a recipient with CR */
  errno = 0;
  CHECK(qmqp_tail_parse("0:,1:a,x", 8, &t, &rcpts) == -1 && errno == EPROTO && rcpts.len == 0);
  errno = 0;
  CHECK(qmqp_tail_parse("0:,2:a,", 7, &t, &rcpts) == -1 && errno == EPROTO);
  CHECK(qmqp_tail_parse("0:,3:a\rb,", 9, &t, &rcpts) == 0 && t.addr_error == QMTP_ADDR_BAD);
  str_truncate(&rcpts, 0);
  /* a missing message netstring */
  errno = 0;
  CHECK(qmqp_request_parse("", 0, &off, &len, &t, &rcpts) == -1 && errno == EPROTO);
  errno = 0;
  CHECK(qmqp_request_parse("2:hi", 4, &off, &len, &t, &rcpts) == -1 && errno == EPROTO);
  str_free(&rcpts);
}

/* qmtp_addr_parse: sluice-smtpd's parser, bare, under each policy; the
 * addresses of issue 12 that hid a remote domain never parse. */
static int parses_to(const char *in, size_t n, int policy, const char *want)
{
  str out = STR_INIT;
  int r = qmtp_addr_parse(in, n, policy, &out);
  int ok = want ? r == ADDR_OK && out.len == strlen(want) && (out.len == 0 || memcmp(out.s, want, out.len) == 0)
                : r != ADDR_OK && out.len == 0;
  str_free(&out);
  return ok;
}
#define PARSES(in, policy, want) parses_to(in, sizeof in - 1, policy, want)

static void test_addr_parse(void)
{
  char big[1100];

  CHECK(PARSES("a@b.example", QMTP_RCPT, "a@b.example"));
  CHECK(PARSES("\"a\"@b.example", QMTP_RCPT, "a@b.example"));
  CHECK(PARSES("\"a@x\"@b.example", QMTP_RCPT, "\"a@x\"@b.example"));
  CHECK(PARSES("j\xc3\xb6rg@b.example", QMTP_RCPT, "j\xc3\xb6rg@b.example"));
  CHECK(PARSES("j\xc3rg@b.example", QMTP_RCPT, 0));
  CHECK(PARSES("a..b.@b.example", QMTP_RCPT, "a..b.@b.example")); /* lenient, as smtpd */
  CHECK(PARSES("\"victim@evil.example", QMTP_RCPT, 0));
  CHECK(PARSES("\"victim@evil.example", QMQP_RCPT, 0));
  CHECK(PARSES("a\"@evil.example", QMTP_RCPT, 0));
  CHECK(PARSES("a\"@evil.example", QMQP_RCPT, 0));
  CHECK(PARSES("\"a\\\"@evil.example", QMQP_RCPT, 0));
  CHECK(PARSES("<a@b.example>", QMQP_RCPT, 0));
  CHECK(PARSES("a@b.example ", QMQP_RCPT, 0));
  CHECK(PARSES("a@b\0@c.example", QMQP_RCPT, 0));
  CHECK(PARSES("a@b\r.example", QMQP_RCPT, 0));
  /* without a domain: QMTP as RCPT TO (postmaster), QMQP anything */
  CHECK(PARSES("victim", QMTP_RCPT, 0));
  CHECK(PARSES("\"victim@evil.example\"", QMTP_RCPT, 0));
  CHECK(PARSES("Postmaster", QMTP_RCPT, "Postmaster"));
  CHECK(PARSES("victim", QMQP_RCPT, "victim"));
  CHECK(PARSES("\"victim@evil.example\"", QMQP_RCPT, "\"victim@evil.example\""));
  /* senders: "" is the null sender; QMTP wants a domain, as MAIL FROM */
  CHECK(PARSES("", QMTP_SENDER, ""));
  CHECK(PARSES("", QMTP_RCPT, 0));
  CHECK(PARSES("s", QMTP_SENDER, 0));
  CHECK(PARSES("s", QMQP_SENDER, "s"));
  CHECK(PARSES("\"s\"@a.example", QMQP_SENDER, "s@a.example"));
  CHECK(PARSES("<>", QMQP_SENDER, 0));
  /* the queue's limit, not RFC 5321's */
  memset(big, 'a', sizeof big);
  big[990] = '@';
  CHECK(parses_to(big, 1003, QMTP_RCPT, 0) == 0 && parses_to(big, 1000, QMTP_RCPT, 0) == 0);
  {
    str out = STR_INIT;
    CHECK(qmtp_addr_parse(big, 1003, QMTP_RCPT, &out) == ADDR_OK && out.len == 1003);
    CHECK(qmtp_addr_parse(big, 1004, QMTP_RCPT, &out) == ADDR_EPATHLONG && out.len == 0);
    str_free(&out);
  }
}

/* qmqp_tail_parse: every address parsed, the canonical form stored */
static void test_qmqp_addr(void)
{
  str rcpts = STR_INIT;
  struct qmqp_tail t;

  CHECK(qmqp_tail_parse("7:\"s\"@a.b,10:\"x@y\"@z.ex,3:loc,", 30, &t, &rcpts) == 0);
  CHECK(t.addr_error == 0 && t.nrcpt == 2);
  CHECK_BYTES(t.sender, t.sender_len, "\"s\"@a.b");
  CHECK(rcpts.len == 17 && memcmp(rcpts.s, "T\"x@y\"@z.ex\0Tloc\0", 17) == 0);
  str_truncate(&rcpts, 0);
  CHECK(qmqp_tail_parse("0:,5:a@b.c,20:\"victim@evil.example,", 35, &t, &rcpts) == 0);
  CHECK(t.addr_error == QMTP_ADDR_SYNTAX && t.nrcpt == 2);
  str_truncate(&rcpts, 0);
  CHECK(qmqp_tail_parse("0:,15:a\"@evil.example,", 22, &t, &rcpts) == 0 && t.addr_error == QMTP_ADDR_SYNTAX);
  str_truncate(&rcpts, 0);
  CHECK(qmqp_tail_parse("2:\"s,5:a@b.c,", 13, &t, &rcpts) == 0 && t.addr_error == QMTP_ADDR_SYNTAX);
  str_free(&rcpts);
}

static void test_reply(void)
{
  str r = STR_INIT;

  CHECK(qmtp_qq_reply(&r, 0, "qp 42") == 0);
  CHECK(r.len > 1 && r.s[0] == 'K' && memcmp(r.s + r.len - 5, "qp 42", 5) == 0);
  CHECK(qmtp_qq_reply(&r, 31 << 8, "qp 1") == 0 && r.len > 1 && r.s[0] == 'D');
  CHECK(qmtp_qq_reply(&r, 11 << 8, "qp 1") == 0 && r.s[0] == 'D');
  CHECK(qmtp_qq_reply(&r, 53 << 8, "qp 1") == 0 && r.s[0] == 'Z');
  CHECK(qmtp_qq_reply(&r, 71 << 8, "qp 1") == 0 && r.s[0] == 'Z');
  CHECK(qmtp_qq_reply(&r, SIGKILL, "qp 1") == 0 && r.s[0] == 'Z');
  str_free(&r);
}

static int server(const char *s, struct qmqp_server *sv)
{
  return qmqp_server_parse(s, strlen(s), sv);
}

static void test_server(void)
{
  struct qmqp_server sv;
  static const unsigned char lo6[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

  CHECK(server("127.0.0.1", &sv) == 0 && !sv.is6 && sv.port == 628 && memcmp(sv.ip, "\177\0\0\1", 4) == 0);
  CHECK(server("10.1.2.3:6628", &sv) == 0 && !sv.is6 && sv.port == 6628 && sv.ip[3] == 3);
  CHECK(server("::1", &sv) == 0 && sv.is6 && sv.port == 628 && memcmp(sv.ip, lo6, 16) == 0);
  CHECK(server("[::1]", &sv) == 0 && sv.is6 && sv.port == 628);
  CHECK(server("[::1]:7000", &sv) == 0 && sv.is6 && sv.port == 7000 && memcmp(sv.ip, lo6, 16) == 0);
  CHECK(server("2001:db8::1", &sv) == 0 && sv.is6 && sv.ip[0] == 0x20 && sv.ip[15] == 1);
  sv.port = 1;
  errno = 0;
  CHECK(server("", &sv) == -1 && errno == EINVAL && sv.port == 1);
  CHECK(server("host.example", &sv) == -1);
  CHECK(server("1.2.3.4:", &sv) == -1);
  CHECK(server("1.2.3.4:0", &sv) == -1);
  CHECK(server("1.2.3.4:65536", &sv) == -1);
  CHECK(server("1.2.3.4:x", &sv) == -1);
  CHECK(server("1.2.3.4 ", &sv) == -1);
  CHECK(server("[::1", &sv) == -1);
  CHECK(server("[]", &sv) == -1);
  CHECK(server("[1.2.3.4]", &sv) == -1);
  CHECK(server("[::1]x", &sv) == -1);
  CHECK(server("1.2.3", &sv) == -1);
}

/* A buf reading the bytes s[0..n) through a pipe. */
static void feed(buf *b, char *mem, size_t size, const char *s, size_t n)
{
  int p[2];

  CHECK(pipe(p) == 0);
  CHECK(write(p[1], s, n) == (ssize_t)n);
  close(p[1]);
  buf_init(b, p[0], mem, size);
}

static void test_io(void)
{
  buf b;
  char mem[4];
  str out = STR_INIT;
  size_t len, prefix;

  feed(&b, mem, sizeof mem, "11:hello world,0:,", 18);
  CHECK(qmtp_read_netstring(&b, 100, &out) == 1);
  CHECK_BYTES(out.s, out.len, "hello world");
  CHECK(qmtp_read_netstring(&b, 100, &out) == 1 && out.len == 0);
  CHECK(qmtp_read_netstring(&b, 100, &out) == 0);
  close(b.fd);

  feed(&b, mem, sizeof mem, "123:", 4);
  CHECK(qmtp_read_len(&b, 1000, &len, &prefix) == 1 && len == 123 && prefix == 4);
  close(b.fd);

  feed(&b, mem, sizeof mem, "12", 2);
  errno = 0;
  CHECK(qmtp_read_len(&b, 1000, &len, &prefix) == -1 && errno == EPROTO);
  close(b.fd);

  feed(&b, mem, sizeof mem, "5:abc", 5);
  errno = 0;
  CHECK(qmtp_read_netstring(&b, 100, &out) == -1 && errno == EPROTO);
  close(b.fd);

  feed(&b, mem, sizeof mem, "3:abc;", 6);
  errno = 0;
  CHECK(qmtp_read_netstring(&b, 100, &out) == -1 && errno == EPROTO);
  close(b.fd);

  /* the length is refused before any data is read or allocated */
  feed(&b, mem, sizeof mem, "99999999999:", 12);
  errno = 0;
  CHECK(qmtp_read_netstring(&b, 100, &out) == -1 && errno == EMSGSIZE);
  close(b.fd);
  str_free(&out);
}

static void test_qq_start(void)
{
  int msgfd = -1, envfd = -1, status = 0;
  pid_t pid;

  errno = 0;
  CHECK(qmtp_qq_start("/nonexistent/sluice-queue", &msgfd, &envfd) == -1 && errno == ENOENT);
  /* /bin/sh reads its script from fd 0: "exit 7" */
  pid = qmtp_qq_start("/bin/sh", &msgfd, &envfd);
  CHECK(pid > 0);
  if (pid > 0) {
    CHECK(write(msgfd, "exit 7\n", 7) == 7);
    close(msgfd);
    close(envfd);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7);
  }
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  test_len();
  test_list();
  test_addr();
  test_qmqp();
  test_addr_parse();
  test_qmqp_addr();
  test_reply();
  test_server();
  test_io();
  test_qq_start();
  return check_done();
}
