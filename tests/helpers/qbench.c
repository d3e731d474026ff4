/* qbench.c: injection rate of sluice-queue, without shell overhead.
 *
 *   qbench PROGRAM PARALLEL TOTAL SIZE
 *
 * Runs PROGRAM (a sluice-queue) TOTAL times, keeping PARALLEL runs in
 * flight. Each run gets a SIZE-byte message on fd 0 and a one-recipient
 * envelope on fd 1, both through pipes filled before the child starts
 * (SIZE must fit in a pipe buffer, at most 60000 bytes, so filling never
 * blocks). Prints one line on fd 1:
 *     DONE FAILED MICROSECONDS MESSAGES_PER_SECOND
 * where FAILED counts runs that did not exit 0. Exits 0 when every run
 * exited 0, 1 otherwise, 111 on a local error (message on fd 2). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "die.h"
#include "file.h"
#include "scan.h"
#include "str.h"
#include "wait.h"

#define SIZE_MAX_MESSAGE 60000UL

static unsigned long long now_us(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) die_temp_sys("unable to read the clock");
  return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
}

/* A pipe holding s[0..n) and already closed for writing: returns the
 * read end. */
static int filled_pipe(const char *s, size_t n)
{
  int p[2];
  if (pipe(p) < 0) die_temp_sys("unable to make a pipe");
  if (write_all(p[1], s, n) < 0) die_temp_sys("unable to fill a pipe");
  close(p[1]);
  return p[0];
}

static pid_t start_one(const char *program, const str *msg, const str *env)
{
  char *argv[2];
  child_fd fds[2];
  pid_t pid;
  int in = filled_pipe(msg->s, msg->len);
  int envfd = filled_pipe(env->s, env->len);
  argv[0] = (char *)program;
  argv[1] = 0;
  fds[0].to = 0;
  fds[0].from = in;
  fds[1].to = 1;
  fds[1].from = envfd;
  pid = child_spawn(program, argv, 0, fds, 2);
  if (pid < 0) die_temp_sys("unable to run ", program);
  close(in);
  close(envfd);
  return pid;
}

static unsigned long arg_number(const char *s)
{
  unsigned long u;
  if (scan_ulong_exact(s, strlen(s), &u) < 0) die_usage("qbench PROGRAM PARALLEL TOTAL SIZE");
  return u;
}

int main(int argc, char **argv)
{
  str msg = STR_INIT, env = STR_INIT, out = STR_INIT;
  unsigned long parallel, total, size, started = 0, done = 0, failed = 0, running = 0;
  unsigned long long start, elapsed;

  die_progname("qbench");
  if (argc != 5) die_usage("qbench PROGRAM PARALLEL TOTAL SIZE");
  parallel = arg_number(argv[2]);
  total = arg_number(argv[3]);
  size = arg_number(argv[4]);
  if (parallel == 0 || total == 0 || size < 2 || size > SIZE_MAX_MESSAGE)
    die_usage("qbench PROGRAM PARALLEL TOTAL SIZE");
  signal(SIGPIPE, SIG_IGN);

  /* a plain header and body of size bytes, lines of 72 characters */
  if (str_copys(&msg, "Subject: qbench\n\n") < 0) die_nomem();
  while (msg.len < size - 1) {
    char c = (msg.len % 73 == 72) ? '\n' : (char)('a' + msg.len % 26);
    if (str_catc(&msg, c) < 0) die_nomem();
  }
  if (str_catc(&msg, '\n') < 0) die_nomem();
  if (str_catb(&env, "Fbench@example.org\0Tuser@example.org\0\0", 38) < 0) die_nomem();

  start = now_us();
  while (done < total) {
    int status;
    pid_t pid;
    while (running < parallel && started < total) {
      start_one(argv[1], &msg, &env);
      ++started;
      ++running;
    }
    pid = wait_pid(-1, &status);
    if (pid < 0) die_temp_sys("unable to wait for a child");
    --running;
    ++done;
    if (wait_exitcode(status) != 0) ++failed;
  }
  elapsed = now_us() - start;
  if (elapsed == 0) elapsed = 1;

  if (str_catulong(&out, done) < 0 || str_catc(&out, ' ') < 0 || str_catulong(&out, failed) < 0
      || str_catc(&out, ' ') < 0 || str_catulong(&out, (unsigned long)elapsed) < 0
      || str_catc(&out, ' ') < 0
      || str_catulong(&out, (unsigned long)(((unsigned long long)done * 1000000ULL + elapsed / 2) / elapsed)) < 0
      || str_catc(&out, '\n') < 0)
    die_nomem();
  if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write output");
  return failed ? 1 : 0;
}
