/* sluice-newu: compiles conf-home/users/assign into users/cdb
 * (sluice-newu(8), sluice-users(5)). The new cdb is written beside the
 * old one and renamed over it only when the whole file parsed and was
 * written; on any error the old cdb stays in force. The parsing is
 * users_compile. Exit 0 done, 111 anything wrong (a syntax error is
 * reported as users/assign:LINE: why). */
#include <errno.h>
#include <unistd.h>

#include "auto.h"
#include "cdb_make.h"
#include "die.h"
#include "file.h"
#include "fmt.h"
#include "str.h"
#include "users.h"

int main(void)
{
  struct cdb_make_atomic a;
  str text = STR_INIT;
  unsigned long line;
  const char *why;
  char num[FMT_ULONG + 1];

  die_progname("sluice-newu");
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  switch (file_read("users/assign", &text, USERS_ASSIGN_MAX)) {
  case 1: break;
  case 0: die_temp("unable to read users/assign: the file does not exist");
  default: die_temp_sys("unable to read users/assign");
  }
  if (cdb_make_atomic_start(&a, "users/cdb", 0644) < 0) die_temp_sys("unable to create users/cdb.tmp");
  if (users_compile(text.s, text.len, &a.make, &line, &why) < 0) {
    int err = errno;
    cdb_make_atomic_abort(&a);
    if (why) {
      num[fmt_ulong(num, line)] = 0;
      die_temp("users/assign:", num, ": ", why);
    }
    errno = err;
    die_temp_sys("unable to write users/cdb.tmp");
  }
  if (cdb_make_atomic_finish(&a) < 0) die_temp_sys("unable to put users/cdb in place");
  return 0;
}
