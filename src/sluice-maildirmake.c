/* sluice-maildirmake: create a Maildir (sluice-maildirmake(1)).
 *
 *   sluice-maildirmake DIR
 *
 * Creates DIR and DIR/tmp, DIR/new, DIR/cur, each mode 0700, owned by
 * whoever runs it. Refuses (exit 111, nothing changed) when DIR exists,
 * so an existing mailbox is never touched; exit 64 on bad usage. */
#include <errno.h>
#include <sys/stat.h>

#include "byte.h"
#include "die.h"
#include "maildir.h"

int main(int argc, char **argv)
{
  die_progname("sluice-maildirmake");
  if (argc != 2 || !argv[1][0]) die_usage("sluice-maildirmake DIR");
  if (byte_len(argv[1], 4097) > 4096) die_perm("directory name too long");
  umask(077);
  if (maildir_make(argv[1]) < 0) {
    if (errno == EEXIST) die_temp("unable to create ", argv[1], ": it already exists");
    die_temp_sys("unable to create ", argv[1]);
  }
  return 0;
}
