/* test_buf.c: buffered I/O over pipes and socketpairs. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "deadline.h"
#include "fd.h"
#include "file.h"
#include "sig.h"
#include "str.h"
#include "wait.h"

static long long ms_now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
  struct timespec t;
  t.tv_sec = ms / 1000;
  t.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&t, &t) < 0 && errno == EINTR) {}
}

/* A pipe whose write end got s[0..n) and was closed; returns the read end. */
static int pipe_with(const char *s, size_t n)
{
  int p[2];
  if (pipe(p) < 0) return -1;
  if (write_all(p[1], s, n) < 0) return -1;
  close(p[1]);
  return p[0];
}

/* Reads whatever is in fd now (fd made non-blocking). */
static ssize_t drain(int fd, char *s, size_t n)
{
  ssize_t r;
  fd_nonblock(fd, 1);
  r = read(fd, s, n);
  fd_nonblock(fd, 0);
  return r;
}

static void test_output(void)
{
  int p[2];
  char mem[8], got[256];
  buf b;
  ssize_t r;
  char big[100];
  size_t i;

  CHECK(pipe(p) == 0);
  buf_init(&b, p[1], mem, sizeof mem);
  CHECK(buf_puts(&b, "hello") == 0);
  /* nothing written until flush */
  r = drain(p[0], got, sizeof got);
  CHECK(r == -1 && errno == EAGAIN);
  CHECK(b.len == 5);
  CHECK(buf_flush(&b) == 0 && b.len == 0);
  r = drain(p[0], got, sizeof got);
  CHECK_BYTES(got, (size_t)(r > 0 ? r : 0), "hello");
  CHECK(buf_flush(&b) == 0); /* empty flush */

  /* filling past the block flushes the old bytes, keeps the new */
  CHECK(buf_put(&b, "abcdef", 6) == 0);
  CHECK(buf_put(&b, "ghij", 4) == 0);
  r = drain(p[0], got, sizeof got);
  CHECK_BYTES(got, (size_t)(r > 0 ? r : 0), "abcdef");
  CHECK(b.len == 4);
  /* exactly filling the block does not write */
  CHECK(buf_put(&b, "klmn", 4) == 0 && b.len == 8);
  r = drain(p[0], got, sizeof got);
  CHECK(r == -1);
  CHECK(buf_flush(&b) == 0);
  r = drain(p[0], got, sizeof got);
  CHECK_BYTES(got, (size_t)(r > 0 ? r : 0), "ghijklmn");

  /* a put bigger than the block writes through, after the pending bytes */
  for (i = 0; i < sizeof big; ++i) big[i] = (char)('A' + i % 26);
  big[50] = 0;
  CHECK(buf_putc(&b, '<') == 0);
  CHECK(buf_put(&b, big, sizeof big) == 0);
  CHECK(b.len == 0);
  r = drain(p[0], got, sizeof got);
  CHECK(r == 101 && got[0] == '<' && memcmp(got + 1, big, sizeof big) == 0);

  /* numbers and embedded NUL */
  CHECK(buf_putulong(&b, 0) == 0);
  CHECK(buf_putc(&b, 0) == 0);
  CHECK(buf_putulong(&b, 4294967295UL) == 0);
  CHECK(buf_putc(&b, ' ') == 0);
  CHECK(buf_putulong(&b, ULONG_MAX) == 0);
  CHECK(buf_putflush(&b, "!", 1) == 0);
  r = drain(p[0], got, sizeof got);
  if (sizeof(unsigned long) == 8)
    CHECK(r == 34 && memcmp(got, "0\0" "4294967295 18446744073709551615!", 34) == 0);
  else
    CHECK(r == 24 && memcmp(got, "0\0" "4294967295 4294967295!", 24) == 0);
  CHECK(buf_put(&b, "", 0) == 0 && b.len == 0);

  /* a block of size 0 writes every put through */
  buf_init(&b, p[1], 0, 0);
  CHECK(buf_puts(&b, "xy") == 0);
  r = drain(p[0], got, sizeof got);
  CHECK_BYTES(got, (size_t)(r > 0 ? r : 0), "xy");

  /* a write error is reported and the bytes stay pending */
  buf_init(&b, -1, mem, sizeof mem);
  CHECK(buf_puts(&b, "abc") == 0);
  CHECK(buf_flush(&b) == -1 && errno == EBADF && b.len == 3);
  close(p[0]);
  close(p[1]);
}

static void test_lines(void)
{
  static const char in[] = "ab\ncdefghij\n\0x\0\n\nlast";
  char mem[4];
  buf b;
  str line = STR_INIT;
  int fd = pipe_with(in, sizeof in - 1);

  CHECK(fd >= 0);
  buf_init(&b, fd, mem, sizeof mem);
  CHECK(buf_getline(&b, &line, '\n', 100) == 1);
  CHECK_BYTES(line.s, line.len, "ab\n");
  /* getline appends */
  CHECK(buf_getline(&b, &line, '\n', 100) == 1);
  CHECK_BYTES(line.s, line.len, "ab\ncdefghij\n");
  line.len = 0;
  CHECK(buf_getline(&b, &line, '\n', 100) == 1);
  CHECK(line.len == 4 && memcmp(line.s, "\0x\0\n", 4) == 0);
  line.len = 0;
  CHECK(buf_getline(&b, &line, '\n', 100) == 1);
  CHECK_BYTES(line.s, line.len, "\n");
  line.len = 0;
  /* EOF inside the last line: 0, the partial line is kept */
  CHECK(buf_getline(&b, &line, '\n', 100) == 0);
  CHECK_BYTES(line.s, line.len, "last");
  line.len = 0;
  CHECK(buf_getline(&b, &line, '\n', 100) == 0 && line.len == 0);
  close(fd);

  /* other delimiters, NUL included */
  fd = pipe_with("a\0bb\0", 5);
  buf_init(&b, fd, mem, sizeof mem);
  CHECK(buf_getline(&b, &line, 0, 100) == 1 && line.len == 2 && memcmp(line.s, "a\0", 2) == 0);
  line.len = 0;
  CHECK(buf_getline(&b, &line, 0, 100) == 1 && line.len == 3 && memcmp(line.s, "bb\0", 3) == 0);
  line.len = 0;
  CHECK(buf_getline(&b, &line, 0, 100) == 0 && line.len == 0);
  close(fd);

  /* a line over max: E2BIG with exactly max bytes, the rest still readable */
  fd = pipe_with("0123456789\nxy\nabcd\n", 19);
  buf_init(&b, fd, mem, sizeof mem);
  errno = 0;
  CHECK(buf_getline(&b, &line, '\n', 4) == -1 && errno == E2BIG);
  CHECK_BYTES(line.s, line.len, "0123");
  line.len = 0;
  CHECK(buf_getline(&b, &line, '\n', 100) == 1);
  CHECK_BYTES(line.s, line.len, "456789\n");
  line.len = 0;
  CHECK(buf_getline(&b, &line, '\n', 3) == 1); /* exactly max, delim included */
  CHECK_BYTES(line.s, line.len, "xy\n");
  line.len = 0;
  CHECK(buf_getline(&b, &line, '\n', 4) == -1 && errno == E2BIG); /* "abcd\n" is 5 */
  CHECK_BYTES(line.s, line.len, "abcd");
  line.len = 0;
  CHECK(buf_getline(&b, &line, '\n', 0) == -1 && errno == E2BIG && line.len == 0);
  CHECK(buf_getline(&b, &line, '\n', 1) == 1 && line.len == 1);
  line.len = 0;
  CHECK(buf_getline(&b, &line, '\n', 0) == 0); /* EOF with max 0 */
  CHECK(buf_getline(&b, &line, '\n', SIZE_MAX) == 0);
  close(fd);

  /* a line much longer than the block, in a bigger str */
  {
    char long_in[5001];
    size_t i;
    for (i = 0; i < 5000; ++i) long_in[i] = (char)(i % 251);
    long_in[4999] = '\n';
    for (i = 0; i < 4999; ++i) if (long_in[i] == '\n') long_in[i] = 'n';
    fd = pipe_with(long_in, 5000);
    buf_init(&b, fd, mem, sizeof mem);
    line.len = 0;
    CHECK(buf_getline(&b, &line, '\n', 5000) == 1);
    CHECK(line.len == 5000 && memcmp(line.s, long_in, 5000) == 0);
    close(fd);
  }

  /* a read error is reported */
  buf_init(&b, -1, mem, sizeof mem);
  CHECK(buf_getline(&b, &line, '\n', 10) == -1 && errno == EBADF);
  str_free(&line);
}

/* A child writes the pieces with pauses between them, then exits. */
static pid_t slow_writer(int fd, const char *const *pieces, long pause_ms)
{
  pid_t pid = fork();
  if (pid == 0) {
    for (; *pieces; ++pieces) {
      sleep_ms(pause_ms);
      if (write_all(fd, *pieces, strlen(*pieces)) < 0) _exit(1);
    }
    _exit(0);
  }
  return pid;
}

static void test_short_reads(void)
{
  static const char *const pieces[] = { "he", "llo\nwor", "ld\n", "tail", 0 };
  int p[2], st;
  char mem[64];
  buf b;
  str line = STR_INIT;
  pid_t pid;

  CHECK(pipe(p) == 0);
  pid = slow_writer(p[1], pieces, 10);
  close(p[1]);
  buf_init(&b, p[0], mem, sizeof mem);
  buf_set_timeout(&b, 5000);
  CHECK(buf_getline(&b, &line, '\n', 100) == 1);
  CHECK_BYTES(line.s, line.len, "hello\n");
  line.len = 0;
  CHECK(buf_getline(&b, &line, '\n', 100) == 1);
  CHECK_BYTES(line.s, line.len, "world\n");
  line.len = 0;
  CHECK(buf_getline(&b, &line, '\n', 100) == 0);
  CHECK_BYTES(line.s, line.len, "tail");
  CHECK(wait_pid(pid, &st) == pid && wait_exitcode(st) == 0);
  close(p[0]);

  /* a non-blocking descriptor without deadline is waited for */
  CHECK(pipe(p) == 0);
  CHECK(fd_nonblock(p[0], 1) == 0);
  pid = slow_writer(p[1], pieces, 30);
  close(p[1]);
  buf_init(&b, p[0], mem, sizeof mem);
  line.len = 0;
  CHECK(buf_getline(&b, &line, '\n', 100) == 1);
  CHECK_BYTES(line.s, line.len, "hello\n");
  CHECK(wait_pid(pid, &st) == pid);
  close(p[0]);
  str_free(&line);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
  (void)sig;
  ++alarms;
}

static void test_eintr(void)
{
  static const char *const pieces[] = { "late\n", 0 };
  struct itimerval it, off;
  int p[2], st;
  char mem[16];
  buf b;
  str line = STR_INIT;
  pid_t pid;

  memset(&it, 0, sizeof it);
  memset(&off, 0, sizeof off);
  it.it_value.tv_usec = 10000;
  it.it_interval.tv_usec = 10000;
  CHECK(sig_catch(SIGALRM, on_alarm) == 0);

  /* with a deadline: signals during poll do not end the wait early */
  CHECK(pipe(p) == 0);
  pid = slow_writer(p[1], pieces, 150);
  close(p[1]);
  buf_init(&b, p[0], mem, sizeof mem);
  buf_set_timeout(&b, 3000);
  alarms = 0;
  setitimer(ITIMER_REAL, &it, 0);
  CHECK(buf_getline(&b, &line, '\n', 100) == 1);
  setitimer(ITIMER_REAL, &off, 0);
  CHECK(alarms > 2);
  CHECK_BYTES(line.s, line.len, "late\n");
  CHECK(wait_pid(pid, &st) == pid);
  close(p[0]);

  /* without a deadline: the interrupted read is retried */
  CHECK(pipe(p) == 0);
  pid = slow_writer(p[1], pieces, 150);
  close(p[1]);
  buf_init(&b, p[0], mem, sizeof mem);
  alarms = 0;
  line.len = 0;
  setitimer(ITIMER_REAL, &it, 0);
  CHECK(buf_getline(&b, &line, '\n', 100) == 1);
  setitimer(ITIMER_REAL, &off, 0);
  CHECK(alarms > 2);
  CHECK_BYTES(line.s, line.len, "late\n");
  CHECK(wait_pid(pid, &st) == pid);
  close(p[0]);

  /* the deadline still holds while signals keep arriving */
  CHECK(pipe(p) == 0);
  buf_init(&b, p[0], mem, sizeof mem);
  buf_set_timeout(&b, 100);
  setitimer(ITIMER_REAL, &it, 0);
  {
    long long t0 = ms_now(), spent;
    CHECK(buf_feed(&b) == -1 && errno == ETIMEDOUT);
    spent = ms_now() - t0;
    CHECK(spent >= 90 && spent < 2000);
  }
  setitimer(ITIMER_REAL, &off, 0);
  close(p[0]);
  close(p[1]);
  sig_default(SIGALRM);
  str_free(&line);
}

static void test_deadline(void)
{
  int sv[2], p[2];
  char mem[64];
  buf b;
  str line = STR_INIT;
  long long t0, spent;
  char *big;
  size_t bigsize = 8 * 1024 * 1024;

  /* a silent peer: reading times out */
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  buf_init(&b, sv[0], mem, sizeof mem);
  buf_set_timeout(&b, 100);
  t0 = ms_now();
  errno = 0;
  CHECK(buf_feed(&b) == -1 && errno == ETIMEDOUT);
  spent = ms_now() - t0;
  CHECK(spent >= 90 && spent < 2000);

  /* a peer that stops mid-line: the partial line is in *line */
  CHECK(write_all(sv[1], "HELO par", 8) == 0);
  errno = 0;
  CHECK(buf_getline(&b, &line, '\n', 100) == -1 && errno == ETIMEDOUT);
  CHECK_BYTES(line.s, line.len, "HELO par");
  CHECK(write_all(sv[1], "tial\n", 5) == 0);
  CHECK(buf_getline(&b, &line, '\n', 100) == 1);
  CHECK_BYTES(line.s, line.len, "HELO partial\n");

  /* a peer that does not read: writing times out instead of hanging */
  big = malloc(bigsize);
  CHECK(big != 0);
  if (!big) return;
  memset(big, 'x', bigsize);
  buf_init(&b, sv[0], mem, sizeof mem);
  buf_set_timeout(&b, 100);
  t0 = ms_now();
  errno = 0;
  CHECK(buf_put(&b, big, bigsize) == -1 && errno == ETIMEDOUT);
  spent = ms_now() - t0;
  CHECK(spent >= 90 && spent < 3000);
  close(sv[0]);
  close(sv[1]);

  /* the same with a pipe (written in PIPE_BUF chunks) */
  CHECK(pipe(p) == 0);
  buf_init(&b, p[1], mem, sizeof mem);
  buf_set_timeout(&b, 100);
  t0 = ms_now();
  errno = 0;
  CHECK(buf_put(&b, big, bigsize) == -1 && errno == ETIMEDOUT);
  spent = ms_now() - t0;
  CHECK(spent >= 90 && spent < 3000);
  /* the pipe is full now: a flush fails and keeps its bytes */
  CHECK(buf_put(&b, "abc", 3) == 0);
  CHECK(buf_flush(&b) == -1 && errno == ETIMEDOUT && b.len == 3 && memcmp(mem, "abc", 3) == 0);
  close(p[0]);
  close(p[1]);

  /* with a deadline a big write to a reading peer still completes */
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  {
    pid_t pid = fork();
    if (pid == 0) {
      char sink[4096];
      size_t total = 0;
      ssize_t r;
      close(sv[0]);
      while ((r = read(sv[1], sink, sizeof sink)) > 0) total += (size_t)r;
      _exit(total == bigsize + 3 ? 0 : 1);
    }
    close(sv[1]);
    buf_init(&b, sv[0], mem, sizeof mem);
    buf_set_timeout(&b, 5000);
    CHECK(buf_put(&b, "abc", 3) == 0);
    CHECK(buf_put(&b, big, bigsize) == 0);
    CHECK(buf_flush(&b) == 0);
    close(sv[0]);
    {
      int st;
      CHECK(wait_pid(pid, &st) == pid && wait_exitcode(st) == 0);
    }
  }
  free(big);
  str_free(&line);
}

/* The absolute deadline: a peer trickling bytes faster than the per-call
 * timeout is still cut off at it (the slowloris defence). */
static void test_total_deadline(void)
{
  static const char *const trickle[] = { "N", "O", "O", "P", " ", "x", "x", "x", "x", "x", "x", "x", "x", "x",
                                         "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "\n", 0 };
  int p[2], sv[2], st;
  char mem[64];
  buf b;
  str line = STR_INIT;
  long long t0, spent, d;
  pid_t pid;

  /* deadline arithmetic: 0 is "none" and later than anything */
  d = deadline_after(1000);
  CHECK(d > deadline_now() && d <= deadline_now() + 1000);
  CHECK(deadline_after(0) == 0);
  CHECK(deadline_min(0, 0) == 0 && deadline_min(0, 5) == 5 && deadline_min(7, 0) == 7 && deadline_min(7, 5) == 5);
  CHECK(!deadline_passed(0) && !deadline_passed(d) && deadline_passed(deadline_now() - 1));

  /* one byte every 50 ms against a 1 s per-call timeout: the line is
   * not done after 300 ms, and the deadline ends it there */
  CHECK(pipe(p) == 0);
  pid = slow_writer(p[1], trickle, 50);
  close(p[1]);
  buf_init(&b, p[0], mem, sizeof mem);
  buf_set_timeout(&b, 1000);
  buf_set_deadline(&b, deadline_after(300));
  CHECK(!buf_expired(&b));
  t0 = ms_now();
  errno = 0;
  CHECK(buf_getline(&b, &line, '\n', 100) == -1 && errno == ETIMEDOUT);
  spent = ms_now() - t0;
  CHECK(spent >= 290 && spent < 1000);
  CHECK(buf_expired(&b));
  CHECK(line.len >= 2 && line.len < 20);
  /* once passed, a read fails at once even with bytes waiting */
  sleep_ms(120);
  errno = 0;
  CHECK(buf_feed(&b) == -1 && errno == ETIMEDOUT);
  /* a new deadline (or none) lets the rest of the line in */
  buf_set_deadline(&b, 0);
  CHECK(!buf_expired(&b));
  CHECK(buf_getline(&b, &line, '\n', 100) == 1);
  CHECK_BYTES(line.s, line.len, "NOOP xxxxxxxxxxxxxxxxxxx\n");
  CHECK(wait_pid(pid, &st) == pid);
  close(p[0]);

  /* a far deadline does not lengthen the per-call timeout */
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  buf_init(&b, sv[0], mem, sizeof mem);
  buf_set_timeout(&b, 100);
  buf_set_deadline(&b, deadline_after(10000));
  t0 = ms_now();
  errno = 0;
  CHECK(buf_feed(&b) == -1 && errno == ETIMEDOUT);
  spent = ms_now() - t0;
  CHECK(spent >= 90 && spent < 2000);
  CHECK(!buf_expired(&b));
  close(sv[0]);
  close(sv[1]);

  /* a deadline without a per-call timeout also bounds a read */
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  buf_init(&b, sv[0], mem, sizeof mem);
  buf_set_deadline(&b, deadline_after(100));
  t0 = ms_now();
  CHECK(buf_feed(&b) == -1 && errno == ETIMEDOUT);
  spent = ms_now() - t0;
  CHECK(spent >= 90 && spent < 2000);
  /* and a write once it has passed, with the bytes kept */
  buf_init(&b, sv[0], mem, sizeof mem);
  buf_set_deadline(&b, deadline_now() - 1);
  CHECK(buf_put(&b, "abc", 3) == 0);
  CHECK(buf_flush(&b) == -1 && errno == ETIMEDOUT && b.len == 3);
  buf_set_deadline(&b, deadline_after(1000));
  CHECK(buf_flush(&b) == 0);
  CHECK(read(sv[1], mem, sizeof mem) == 3 && memcmp(mem, "abc", 3) == 0);
  close(sv[0]);
  close(sv[1]);
  str_free(&line);
}

static void test_get(void)
{
  char mem[4], out[32];
  buf b;
  int fd = pipe_with("abcdefghij", 10);

  buf_init(&b, fd, mem, sizeof mem);
  CHECK(buf_get(&b, out, 0) == 0);
  CHECK(buf_get(&b, out, 2) == 2 && memcmp(out, "ab", 2) == 0);
  CHECK(buf_avail(&b) == 2 && buf_peek(&b)[0] == 'c');
  buf_seek(&b, 1);
  CHECK(buf_avail(&b) == 1 && buf_peek(&b)[0] == 'd');
  /* only the buffered bytes come back, then a direct read */
  CHECK(buf_get(&b, out, 10) == 1 && out[0] == 'd');
  CHECK(buf_get(&b, out, 10) == 6 && memcmp(out, "efghij", 6) == 0);
  CHECK(buf_get(&b, out, 10) == 0);
  CHECK(buf_get(&b, out, 1) == 0);
  buf_seek(&b, 100); /* past the end is clamped */
  CHECK(buf_avail(&b) == 0);
  close(fd);

  /* exact reads, as for netstrings */
  fd = pipe_with("abcdef", 6);
  buf_init(&b, fd, mem, sizeof mem);
  CHECK(buf_read_exact(&b, out, 0) == 1);
  CHECK(buf_read_exact(&b, out, 3) == 1 && memcmp(out, "abc", 3) == 0);
  errno = 0;
  CHECK(buf_read_exact(&b, out, 5) == -1 && errno == EPROTO);
  CHECK(buf_read_exact(&b, out, 1) == 0);
  close(fd);

  /* feeding a full block: ENOBUFS; after a seek, it compacts */
  fd = pipe_with("123456", 6);
  buf_init(&b, fd, mem, sizeof mem);
  CHECK(buf_feed(&b) == 4);
  errno = 0;
  CHECK(buf_feed(&b) == -1 && errno == ENOBUFS);
  buf_seek(&b, 3);
  CHECK(buf_feed(&b) == 2);
  CHECK(buf_avail(&b) == 3 && memcmp(buf_peek(&b), "456", 3) == 0);
  CHECK(buf_get(&b, out, 3) == 3);
  CHECK(buf_feed(&b) == 0);
  close(fd);

  /* a block of size 0 cannot buffer input, but direct reads work */
  fd = pipe_with("zz", 2);
  buf_init(&b, fd, 0, 0);
  CHECK(buf_feed(&b) == -1 && errno == ENOBUFS);
  CHECK(buf_get(&b, out, 5) == 2);
  close(fd);
}

static void test_copy(void)
{
  char inmem[7], outmem[5], back[20000];
  char data[10000];
  buf in, out;
  int fd, p[2];
  size_t i;
  ssize_t r;

  for (i = 0; i < sizeof data; ++i) data[i] = (char)(i * 7 % 256);
  fd = pipe_with(data, sizeof data);
  CHECK(pipe(p) == 0);
  buf_init(&in, fd, inmem, sizeof inmem);
  buf_init(&out, p[1], outmem, sizeof outmem);
  CHECK(buf_copy(&out, &in) == 0);
  CHECK(buf_flush(&out) == 0);
  close(p[1]);
  r = read_full(p[0], back, sizeof back);
  CHECK(r == (ssize_t)sizeof data && memcmp(back, data, sizeof data) == 0);
  close(p[0]);
  close(fd);

  /* empty input */
  fd = pipe_with("", 0);
  buf_init(&in, fd, inmem, sizeof inmem);
  CHECK(buf_copy(&out, &in) == 0);
  close(fd);

  /* read error: -1; write error: -2 */
  buf_init(&in, -1, inmem, sizeof inmem);
  CHECK(buf_copy(&out, &in) == -1 && errno == EBADF);
  fd = pipe_with(data, sizeof data);
  buf_init(&in, fd, inmem, sizeof inmem);
  buf_init(&out, -1, outmem, sizeof outmem);
  CHECK(buf_copy(&out, &in) == -2 && errno == EBADF);
  close(fd);
}

int main(void)
{
  sig_ignore(SIGPIPE);
  test_output();
  test_lines();
  test_short_reads();
  test_eintr();
  test_deadline();
  test_total_deadline();
  test_get();
  test_copy();
  return check_done();
}
