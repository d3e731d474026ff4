/* checkpw.c: running a checkpassword program (checkpw.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpw.h"
#include "deadline.h"
#include "fd.h"
#include "file.h"
#include "sasl.h"
#include "wait.h"

int checkpw_argv(struct checkpw_cmd *c, const char *line, size_t n)
{
  size_t i = 0, k = 0, start[CHECKPW_ARGS];

  str_truncate(&c->words, 0);
  while (i < n) {
    while (i < n && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == n) break;
    if (k == CHECKPW_ARGS) {
      errno = EINVAL;
      return -1;
    }
    start[k++] = c->words.len;
    while (i < n && line[i] != ' ' && line[i] != '\t') {
      if (line[i] == 0) {
        errno = EINVAL;
        return -1;
      }
      if (str_catc(&c->words, line[i++]) < 0) return -1;
    }
    if (str_catc(&c->words, 0) < 0) return -1;
  }
  if (k == 0 || c->words.s[0] != '/') {
    errno = EINVAL;
    return -1;
  }
  for (i = 0; i < k; ++i) c->argv[i] = c->words.s + start[i];
  c->argv[k] = 0;
  return 0;
}

int checkpw_record(str *out, const char *user, size_t ulen, const char *pass, size_t plen, time_t when)
{
  str_truncate(out, 0);
  if (str_catb(out, user, ulen) < 0 || str_catc(out, 0) < 0 || str_catb(out, pass, plen) < 0
      || str_catc(out, 0) < 0 || str_catulong(out, (unsigned long)when) < 0 || str_catc(out, 0) < 0)
    return -1;
  return 0;
}

int checkpw_run(const struct checkpw_cmd *c, const char *user, size_t ulen, const char *pass, size_t plen,
                unsigned timeout)
{
  int p[2], null, status = 0, code;
  child_fd fds[4];
  str rec = STR_INIT;
  pid_t pid, w;
  long long end;
  void (*old)(int);

  if (checkpw_record(&rec, user, ulen, pass, plen, time(0)) < 0) return CHECKPW_TEMP;
  null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) {
    sasl_wipe(&rec);
    str_free(&rec);
    return CHECKPW_TEMP;
  }
  if (pipe(p) < 0) {
    close(null);
    sasl_wipe(&rec);
    str_free(&rec);
    return CHECKPW_TEMP;
  }
  (void)fd_cloexec(p[0], 1);
  (void)fd_cloexec(p[1], 1);
  fds[0].to = 0; fds[0].from = null;
  fds[1].to = 1; fds[1].from = null;
  fds[2].to = 3; fds[2].from = p[0];
  pid = child_spawn(c->argv[0], c->argv, 0, fds, 3);
  close(null);
  close(p[0]);
  if (pid < 0) {
    close(p[1]);
    sasl_wipe(&rec);
    str_free(&rec);
    return CHECKPW_TEMP;
  }
  /* the record is far below a pipe's buffer: this write cannot block
   * (a program that does not read it still gets its EOF) */
  old = signal(SIGPIPE, SIG_IGN);
  (void)write_all(p[1], rec.s, rec.len);
  signal(SIGPIPE, old);
  close(p[1]);
  sasl_wipe(&rec);
  str_free(&rec);

  end = deadline_after((long long)timeout * 1000);
  for (;;) {
    w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return CHECKPW_TEMP;
    if (deadline_passed(end)) {
      kill(pid, SIGKILL);
      (void)wait_pid(pid, &status);
      return CHECKPW_TEMP;
    }
    (void)poll(0, 0, 20);
  }
  code = wait_exitcode(status);
  if (code == 0) return CHECKPW_GOOD;
  if (code == 1) return CHECKPW_BAD;
  return CHECKPW_TEMP;
}
