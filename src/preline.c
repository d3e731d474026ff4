/* preline: run a command with the message on its standard input,
 * preceded by the envelope lines of the delivery (preline(1)).
 *
 *   preline [-dfr] command [arg ...]
 *
 * Meant for .qmail program lines, "|preline procmail": sluice-local
 * gives a program the message as queued, and the mbox From_ line, the
 * Return-Path and the Delivered-To line in UFLINE, RPLINE and DTLINE
 * (dot-qmail(5)). preline writes those three lines, in that order (-f
 * leaves out the From_ line, -r the Return-Path, -d the Delivered-To
 * line; -F, -R, -D put them back), then copies its standard input,
 * through a pipe, to the command, found in PATH and run with preline's
 * environment and other descriptors.
 *
 * Exit codes: the command's own, so sluice-local reads them as it
 * reads any program's; 100 for a usage error or a variable that is
 * not set (preline was not run from a .qmail file); 111 when the
 * command cannot be found or started, is killed by a signal, or the
 * message cannot be read. A command that stops reading early is not
 * an error: its exit code decides. On a read error the command is
 * killed before its input is closed, so it never takes a cut message
 * for a whole one. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "die.h"
#include "env.h"
#include "execpath.h"
#include "fd.h"
#include "file.h"
#include "fmt.h"
#include "str.h"
#include "wait.h"

#define USAGE "usage: preline [-dfr] command [arg ...]"

/* The lines, in the order they are written, and the option letter
 * that leaves each out. */
static const char *const line_var[3] = { "UFLINE", "RPLINE", "DTLINE" };
static const char line_opt[3] = { 'f', 'r', 'd' };

/* Parses the options into want[]; returns the index of the command.
 * Options end at the first argument that does not start with '-', at
 * "--", or at a lone "-": everything after belongs to the command. */
static int parse_options(int argc, char **argv, int want[3])
{
  int i;
  for (i = 1; i < argc; ++i) {
    const char *a = argv[i];
    size_t k;
    if (a[0] != '-' || a[1] == 0) break;
    if (a[1] == '-' && a[2] == 0) { ++i; break; }
    for (k = 1; a[k]; ++k) {
      unsigned j;
      for (j = 0; j < 3; ++j) {
        if (a[k] == line_opt[j]) { want[j] = 0; break; }
        if (a[k] == line_opt[j] - 'a' + 'A') { want[j] = 1; break; }
      }
      if (j == 3) {
        char bad[2];
        bad[0] = a[k];
        bad[1] = 0;
        die_perm("unknown option -", bad, "; ", USAGE);
      }
    }
  }
  if (i >= argc || argv[i][0] == 0) die_perm(USAGE);
  return i;
}

/* The lines wanted, each as the environment holds it, with a newline
 * added when it lacks one; an empty value adds nothing. */
static void build_head(str *head, const int want[3])
{
  unsigned j;
  for (j = 0; j < 3; ++j) {
    const char *v;
    size_t n;
    if (!want[j]) continue;
    v = env_get(line_var[j]);
    if (!v) die_perm(line_var[j], " is not set: preline runs from a .qmail program line (dot-qmail(5))");
    n = strlen(v);
    if (str_catb(head, v, n) < 0) die_nomem();
    if (n > 0 && v[n - 1] != '\n' && str_catc(head, '\n') < 0) die_nomem();
  }
}

/* The command must not see a cut message as a whole one: killed before
 * its input is closed, then reaped. */
static _Noreturn void abandon(pid_t pid, int out, const char *a, const char *b)
{
  int e = errno;
  int st;
  kill(pid, SIGKILL);
  close(out);
  wait_pid(pid, &st);
  errno = e;
  die_temp_sys(a, b);
}

int main(int argc, char **argv)
{
  static char copy[65536];
  int want[3] = { 1, 1, 1 };
  str head = STR_INIT, path = STR_INIT;
  const char *name;
  child_fd fds[1];
  int p[2], st, stopped = 0, cmd;
  pid_t pid;

  die_progname("preline");
  signal(SIGPIPE, SIG_IGN); /* a command that stops reading gives EPIPE */
  cmd = parse_options(argc, argv, want);
  name = argv[cmd];
  build_head(&head, want);

  switch (execpath_find(&path, name, env_get("PATH"))) {
  case 1: break;
  case 0:
    if (errno == ENOENT) die_temp("cannot run ", name, ": not found in PATH");
    die_temp_sys("cannot run ", name);
  default: die_nomem();
  }
  if (pipe(p) < 0) die_temp_sys("unable to make a pipe");
  if (fd_cloexec(p[0], 1) < 0 || fd_cloexec(p[1], 1) < 0) die_temp_sys("unable to set up the pipe");
  fds[0].to = 0;
  fds[0].from = p[0];
  pid = child_spawn(path.s, argv + cmd, 0, fds, 1);
  if (pid < 0) die_temp_sys("cannot run ", path.s);
  close(p[0]);

  if (head.len && write_all(p[1], head.s, head.len) < 0) {
    if (errno != EPIPE) abandon(pid, p[1], "unable to write to ", name);
    stopped = 1;
  }
  while (!stopped) {
    ssize_t r = read(0, copy, sizeof copy);
    if (r < 0) {
      if (errno == EINTR) continue;
      abandon(pid, p[1], "unable to read the message", "");
    }
    if (r == 0) break;
    if (write_all(p[1], copy, (size_t)r) < 0) {
      if (errno != EPIPE) abandon(pid, p[1], "unable to write to ", name);
      stopped = 1; /* it has read what it wanted: its exit code decides */
    }
  }
  close(p[1]);
  if (wait_pid(pid, &st) < 0) die_temp_sys("unable to wait for ", name);
  if (wait_crashed(st)) {
    char num[FMT_ULONG];
    num[fmt_ulong(num, (unsigned long)wait_crashed(st))] = 0;
    die_temp(name, " was killed by signal ", num);
  }
  _exit(wait_exitcode(st));
}
