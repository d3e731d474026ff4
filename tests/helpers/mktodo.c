/* mktodo: fills a stopped instance's queue with committed messages
 * quickly, for the scheduler's backlog tests and benchmarks.
 *
 *   mktodo COUNT SENDER RECIPIENT...
 *
 * Run as the queue user (setpriv) while sluice-send is stopped. Each of
 * the COUNT messages is made the way sluice-queue makes one
 * (sluice-queue(5)): pid/PID (its own pid) is created, its inode number is
 * the id, it is linked to mess/N/ID and the message written; the
 * envelope ("u" uid, "p" pid, "F" sender, "T" each recipient) goes to
 * intd/N/ID, which is linked to todo/N/ID; the pid name is removed.
 * Files get mode 0644 as sluice-queue's umask gives them. Nothing is
 * fsynced per message (one sync() at the end): the files are test
 * data, and speed is the point. A recipient "%" in it has the message's
 * number (0 ... COUNT-1) put in place of the first %.
 *
 * Prints the ids, one a line, on fd 1 when MKTODO_IDS=1; exits 0, or
 * 111 with a message on fd 2 at the first failure. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auto.h"
#include "buf.h"
#include "byte.h"
#include "die.h"
#include "env.h"
#include "file.h"
#include "queue.h"
#include "scan.h"
#include "str.h"

static void envelope(str *envl, const char *sender, char **rcpts, unsigned long n)
{
  envl->len = 0;
  if (str_catc(envl, 'u') < 0 || str_catulong(envl, (unsigned long)getuid()) < 0 || str_catc(envl, 0) < 0
      || str_catc(envl, 'p') < 0 || str_catulong(envl, (unsigned long)getpid()) < 0 || str_catc(envl, 0) < 0
      || str_catc(envl, 'F') < 0 || str_cats(envl, sender) < 0 || str_catc(envl, 0) < 0)
    die_nomem();
  for (; *rcpts; ++rcpts) {
    const char *r = *rcpts;
    size_t len = 0, pct;
    while (r[len]) ++len;
    pct = byte_chr(r, len, '%');
    if (str_catc(envl, 'T') < 0 || str_catb(envl, r, pct) < 0) die_nomem();
    if (pct < len && (str_catulong(envl, n) < 0 || str_catb(envl, r + pct + 1, len - pct - 1) < 0)) die_nomem();
    if (str_catc(envl, 0) < 0) die_nomem();
  }
}

static void one(unsigned long n, const char *pidname, const char *sender, char **rcpts, buf *ids)
{
  str mess = STR_INIT, intd = STR_INIT, todo = STR_INIT, body = STR_INIT, envl = STR_INIT;
  struct stat st;
  unsigned long id;
  int fd = open_excl(pidname, 0644);
  if (fd < 0 && errno == EEXIST) {
    unlink(pidname);
    fd = open_excl(pidname, 0644);
  }
  if (fd < 0) die_temp_sys("unable to create ", pidname);
  if (fstat(fd, &st) < 0) die_temp_sys("unable to stat ", pidname);
  id = (unsigned long)st.st_ino;
  if (queue_name(&mess, "mess", id, auto_split) < 0 || str_0(&mess) < 0) die_nomem();
  if (queue_name(&intd, "intd", id, auto_split) < 0 || str_0(&intd) < 0) die_nomem();
  if (queue_name(&todo, "todo", id, auto_split) < 0 || str_0(&todo) < 0) die_nomem();
  if (link(pidname, mess.s) < 0) die_temp_sys("unable to link ", mess.s);
  if (str_copys(&body, "Received: (mktodo invoked by uid ") < 0 || str_catulong(&body, (unsigned long)getuid()) < 0
      || str_cats(&body, "); 1 Jan 2026 00:00:00 -0000\nFrom: ") < 0 || str_cats(&body, sender) < 0
      || str_cats(&body, "\nSubject: mktodo message ") < 0 || str_catulong(&body, n) < 0
      || str_cats(&body, "\n\nbody of a test message\n") < 0)
    die_nomem();
  if (write_all(fd, body.s, body.len) < 0 || close(fd) < 0) die_temp_sys("unable to write ", mess.s);
  envelope(&envl, sender, rcpts, n);
  fd = open_excl(intd.s, 0644);
  if (fd < 0 || write_all(fd, envl.s, envl.len) < 0 || close(fd) < 0) die_temp_sys("unable to write ", intd.s);
  if (link(intd.s, todo.s) < 0) die_temp_sys("unable to link ", todo.s);
  if (unlink(pidname) < 0) die_temp_sys("unable to remove ", pidname);
  if (ids) {
    buf_putulong(ids, id);
    buf_putc(ids, '\n');
  }
  str_free(&mess);
  str_free(&intd);
  str_free(&todo);
  str_free(&body);
  str_free(&envl);
}

int main(int argc, char **argv)
{
  static char outmem[8192];
  buf out;
  str pidname = STR_INIT;
  unsigned long count, n;
  const char *want_ids = env_get("MKTODO_IDS");
  size_t len = 0;

  die_progname("mktodo");
  if (argc < 4) die_usage("mktodo COUNT SENDER RECIPIENT...");
  while (argv[1][len]) ++len;
  if (scan_ulong_exact(argv[1], len, &count) < 0) die_usage("mktodo COUNT SENDER RECIPIENT...");
  umask(033);
  buf_init(&out, 1, outmem, sizeof outmem);
  if (chdir(auto_home) < 0 || chdir("queue") < 0) die_temp_sys("unable to switch to ", auto_home, "/queue");
  if (str_copys(&pidname, "pid/") < 0 || str_catulong(&pidname, (unsigned long)getpid()) < 0
      || str_0(&pidname) < 0)
    die_nomem();
  for (n = 0; n < count; ++n)
    one(n, pidname.s, argv[2], argv + 3, want_ids && want_ids[0] == '1' ? &out : 0);
  if (buf_flush(&out) < 0) die_temp_sys("unable to write ids");
  sync();
  str_free(&pidname);
  return 0;
}
