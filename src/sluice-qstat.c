/* sluice-qstat: how many messages are in the queue (sluice-qstat(8)).
 *
 * Counts the files of mess/N and todo/N over the split directories
 * 0..conf-split-1 and prints
 *     messages in queue: N
 *     messages in queue but not yet preprocessed: M
 * Needs read access to the queue: root or a member of the sluice group.
 * Exit 0, or 111 when a directory cannot be read (or is a symbolic
 * link: every directory is opened from a descriptor of the queue with
 * walk.h, so a link a queue user planted is never followed). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "auto.h"
#include "die.h"
#include "file.h"
#include "qcount.h"
#include "str.h"
#include "walk.h"

/* The files of dir/0 .. dir/split-1, relative to the queue directory.
 * Dies 111 when one cannot be read: a partial count would mislead. */
static unsigned long count_split(int qfd, const char *dir, unsigned long split)
{
  str p = STR_INIT;
  struct qcount c = { 0, 0 };
  if (qcount_split(qfd, dir, split, &c, 0, &p) < 0) {
    if (errno == ENOMEM) die_nomem();
    die_temp_sys("unable to read queue/", p.s ? p.s : dir, " (run as root or a member of ", auto_user_group, ")");
  }
  str_free(&p);
  return c.files;
}

int main(void)
{
  str out = STR_INIT;
  unsigned long mess, todo;
  int home, qfd;

  die_progname("sluice-qstat");
  home = open_dir(auto_home);
  if (home < 0) die_temp_sys("unable to switch to ", auto_home);
  qfd = walk_dir(home, "queue");
  if (qfd < 0) die_temp_sys("unable to switch to ", auto_home, "/queue (run as root or a member of ", auto_user_group, ")");
  close(home);
  mess = count_split(qfd, "mess", auto_split);
  todo = count_split(qfd, "todo", auto_split);
  if (str_copys(&out, "messages in queue: ") < 0 || str_catulong(&out, mess) < 0
      || str_cats(&out, "\nmessages in queue but not yet preprocessed: ") < 0 || str_catulong(&out, todo) < 0
      || str_catc(&out, '\n') < 0)
    die_nomem();
  if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write output");
  return 0;
}
