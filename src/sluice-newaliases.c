/* sluice-newaliases: compiles the alias file (control/aliasfile, default
 * /etc/aliases) into conf-home/users/aliases.cdb (sluice-newaliases(8),
 * aliases(5)); `newaliases`, `sendmail -bi` and `sendmail -I` run it.
 *
 * The new cdb is written beside the old one and renamed over it only
 * when the whole file parsed and was written: on any error the old cdb
 * stays in force and nothing half-done is left. Then, when
 * control/rcptcheck.cdb exists, sluice-newrcpt rebuilds it so that
 * sluice-smtpd accepts the alias names at RCPT. The parsing is
 * aliases_compile. Exit 0 done; 100 the alias file is malformed
 * (reported as FILE:LINE: why); 111 anything else. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.h"
#include "auto.h"
#include "byte.h"
#include "cdb_make.h"
#include "control.h"
#include "die.h"
#include "file.h"
#include "fmt.h"
#include "str.h"
#include "wait.h"

#define ALIASFILE_DEFAULT "/etc/aliases"

static void out(const char *s) { write_all(1, s, byte_len(s, 65536)); }

int main(int argc, char **argv)
{
  struct cdb_make_atomic a;
  str path = STR_INIT, text = STR_INIT, prog = STR_INIT, locals = STR_INIT;
  unsigned long line, count;
  const char *why;
  char num[FMT_ULONG + 1];
  struct stat st;

  (void)argv;
  die_progname("newaliases");
  if (argc > 1) die_usage("newaliases");
  umask(022);
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  if (control_readline("control/aliasfile", &path, ALIASFILE_DEFAULT) < 0)
    die_temp_sys("unable to read control/aliasfile");
  if (path.len == 0 && str_copys(&path, ALIASFILE_DEFAULT) < 0) die_nomem();
  if (str_0(&path) < 0) die_nomem();
  if (path.s[0] != '/') die_temp("control/aliasfile must name an absolute path: ", path.s);
  /* the local domains: an alias naming itself at one of them means
   * the account (aliases(5)) */
  switch (control_readlist("control/locals", &locals)) {
  case 1: break;
  case 0:
    if (control_readline("control/me", &locals, "localhost") < 0) die_temp_sys("unable to read control/me");
    if (str_catc(&locals, 0) < 0) die_nomem();
    break;
  default: die_temp_sys("unable to read control/locals");
  }
  switch (file_read(path.s, &text, ALIASES_FILE_MAX)) {
  case 1: break;
  case 0: die_temp("unable to read ", path.s, ": the file does not exist");
  default: die_temp_sys("unable to read ", path.s);
  }
  if (cdb_make_atomic_start(&a, ALIASES_CDB, 0644) < 0) die_temp_sys("unable to create " ALIASES_CDB ".tmp");
  if (aliases_compile(text.s, text.len, &a.make, &line, &why, &count, &locals) < 0) {
    int err = errno;
    cdb_make_atomic_abort(&a);
    if (why) {
      num[fmt_ulong(num, line)] = 0;
      die_perm(path.s, ":", num, ": ", why, "; nothing written, " ALIASES_CDB " unchanged");
    }
    errno = err;
    die_temp_sys("unable to write " ALIASES_CDB ".tmp");
  }
  if (cdb_make_atomic_finish(&a) < 0) die_temp_sys("unable to put " ALIASES_CDB " in place");
  num[fmt_ulong(num, count)] = 0;
  out(path.s);
  out(": ");
  out(num);
  out(count == 1 ? " alias\n" : " aliases\n");

  if (stat("control/rcptcheck.cdb", &st) == 0) {
    char *av[2];
    pid_t pid;
    int ws;
    if (str_copys(&prog, auto_home) < 0 || str_cats(&prog, "/bin/sluice-newrcpt") < 0 || str_0(&prog) < 0)
      die_nomem();
    av[0] = prog.s;
    av[1] = 0;
    pid = child_spawn(prog.s, av, 0, 0, 0);
    if (pid < 0) die_temp_sys("unable to run ", prog.s);
    if (wait_pid(pid, &ws) < 0) die_temp_sys("unable to wait for ", prog.s);
    if (wait_exitcode(ws) != 0) die_temp("sluice-newrcpt failed: control/rcptcheck.cdb lacks the new aliases");
    out("control/rcptcheck.cdb rebuilt (sluice-newrcpt)\n");
  } else if (errno != ENOENT) {
    die_temp_sys("unable to stat control/rcptcheck.cdb");
  }
  return 0;
}
