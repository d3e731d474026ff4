/* starttls.c: handing a client connection to sluice-tlsc (starttls.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "byte.h"
#include "fmt.h"
#include "starttls.h"
#include "wait.h"

int starttls_spawn(const struct starttls_args *a, int sock, pid_t *pid)
{
  char num[FMT_ULONG];
  char *argv[16];
  child_fd fds[3];
  int sp[2], n = 0, e;
  pid_t p;

  num[fmt_ulong(num, a->timeout)] = 0;
  argv[n++] = (char *)"sluice-tlsc";
  argv[n++] = (char *)"-t";
  argv[n++] = num;
  if (a->cafile) {
    argv[n++] = (char *)"-c";
    argv[n++] = (char *)a->cafile;
  }
  if (a->name) {
    argv[n++] = (char *)"-n";
    argv[n++] = (char *)a->name;
  } else if (a->ip) {
    argv[n++] = (char *)"-i";
    argv[n++] = (char *)a->ip;
  }
  argv[n] = 0;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return -1;
  fds[0].to = 0; fds[0].from = sp[1];
  fds[1].to = 1; fds[1].from = sp[1];
  fds[2].to = 3; fds[2].from = sock;
  p = child_spawn(a->prog, argv, 0, fds, 3);
  e = errno;
  close(sp[1]);
  if (p < 0) {
    close(sp[0]);
    errno = e;
    return -1;
  }
  *pid = p;
  return sp[0];
}

void starttls_end(int fd, pid_t pid)
{
  int status;
  if (fd >= 0) close(fd);
  if (pid > 0) wait_pid(pid, &status);
}

/* The next word of s[*i..n), up to a space or the end: 1 to max bytes
 * of printable ASCII; its length, or 0 when there is none. */
static size_t word(const char *s, size_t n, size_t *i, size_t max)
{
  size_t start = *i, j = start;
  while (j < n && s[j] != ' ') {
    if (s[j] < 0x21 || s[j] > 0x7e) return 0;
    ++j;
  }
  if (j == start || j - start > max) return 0;
  *i = j;
  return j - start;
}

static int printable(const char *s, size_t n)
{
  if (n == 0) return 0;
  for (size_t i = 0; i < n; ++i)
    if (s[i] < 0x20 || s[i] > 0x7e) return 0;
  return 1;
}

int starttls_report_parse(const char *s, size_t n, struct starttls_info *info)
{
  size_t i = 0, w;
  info->ok = info->verified = 0;
  str_truncate(&info->protocol, 0);
  str_truncate(&info->cipher, 0);
  str_truncate(&info->reason, 0);
  if (n >= 5 && !memcmp(s, "fail ", 5)) {
    if (!printable(s + 5, n - 5)) goto bad;
    return str_copyb(&info->reason, s + 5, n - 5) < 0 ? -1 : 0;
  }
  if (n < 3 || memcmp(s, "ok ", 3)) goto bad;
  i = 3;
  if (!(w = word(s, n, &i, 64))) goto bad;
  if (str_copyb(&info->protocol, s + i - w, w) < 0) return -1;
  if (i >= n || s[i++] != ' ') goto bad;
  if (!(w = word(s, n, &i, 64))) goto bad;
  if (str_copyb(&info->cipher, s + i - w, w) < 0) return -1;
  if (i >= n || s[i++] != ' ') goto bad;
  if (n - i == 8 && !memcmp(s + i, "verified", 8)) {
    info->ok = info->verified = 1;
    return 0;
  }
  if (n - i > 11 && !memcmp(s + i, "unverified ", 11) && printable(s + i + 11, n - i - 11)) {
    if (str_copyb(&info->reason, s + i + 11, n - i - 11) < 0) return -1;
    info->ok = 1;
    return 0;
  }
bad:
  info->ok = info->verified = 0;
  errno = EINVAL;
  return -1;
}

void starttls_info_free(struct starttls_info *info)
{
  str_free(&info->protocol);
  str_free(&info->cipher);
  str_free(&info->reason);
}
