/* fsyncrate.c: the raw fsync-bound reference for the queue benchmark.
 *
 *   fsyncrate DIR COUNT [link|rename]
 *
 * COUNT times: creates a new file in DIR, writes 2048 bytes, fsyncs the
 * file, fsyncs DIR (the name was created), closes and unlinks the file
 * (the unlink is not synced, as sluice-clean does not sync removals).
 * Each round is the least a durable injection of one small file can cost.
 * On a journalling file system the directory fsync right after the file
 * fsync often finds nothing left to commit. With "link", the file gets
 * a second name in DIR after its fsync and before the directory fsync
 * (as sluice-queue links intd to todo), so each fsync commits something.
 * With "rename", the file is renamed to that second name after its fsync
 * and before the directory fsync (a Maildir delivery or a file moved
 * into place: create, write, fsync, rename, fsync the directory).
 * Prints one line on fd 1:
 *     ROUNDS MICROSECONDS FSYNCS_PER_SECOND
 * Errors exit 111 with a message on fd 2. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* rename */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "die.h"
#include "file.h"
#include "fmt.h"
#include "scan.h"
#include "str.h"

static unsigned long long now_us(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) die_temp_sys("unable to read the clock");
  return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
}

int main(int argc, char **argv)
{
  char block[2048];
  str name = STR_INIT, name2 = STR_INIT, out = STR_INIT;
  unsigned long count, i;
  unsigned long long start, elapsed;
  int dirfd, with_link, with_rename;

  die_progname("fsyncrate");
  if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "link") != 0 && strcmp(argv[3], "rename") != 0))
    die_usage("fsyncrate DIR COUNT [link|rename]");
  if (scan_ulong_exact(argv[2], strlen(argv[2]), &count) < 0 || count == 0)
    die_usage("fsyncrate DIR COUNT [link|rename]");
  with_link = argc == 4 && strcmp(argv[3], "link") == 0;
  with_rename = argc == 4 && strcmp(argv[3], "rename") == 0;
  for (i = 0; i < sizeof block; ++i) block[i] = (char)('a' + i % 26);
  block[sizeof block - 1] = '\n';

  if (str_copys(&name, argv[1]) < 0 || str_cats(&name, "/fsyncrate.") < 0
      || str_catulong(&name, (unsigned long)getpid()) < 0 || str_0(&name) < 0)
    die_nomem();
  if (str_copy(&name2, &name) < 0 || str_cats(&name2, ".link") < 0 || str_0(&name2) < 0) die_nomem();
  dirfd = open_dir(argv[1]);
  if (dirfd < 0) die_temp_sys("unable to open ", argv[1]);

  start = now_us();
  for (i = 0; i < count; ++i) {
    int fd = open_excl(name.s, 0644);
    if (fd < 0) die_temp_sys("unable to create ", name.s);
    if (write_all(fd, block, sizeof block) < 0) die_temp_sys("unable to write ", name.s);
    if (file_sync(fd) < 0) die_temp_sys("unable to fsync ", name.s);
    if (with_link && link(name.s, name2.s) < 0) die_temp_sys("unable to link ", name2.s);
    if (with_rename && rename(name.s, name2.s) < 0) die_temp_sys("unable to rename ", name.s);
    if (file_sync(dirfd) < 0) die_temp_sys("unable to fsync ", argv[1]);
    if (close(fd) < 0) die_temp_sys("unable to close ", name.s);
    if (!with_rename && unlink(name.s) < 0) die_temp_sys("unable to remove ", name.s);
    if ((with_link || with_rename) && unlink(name2.s) < 0) die_temp_sys("unable to remove ", name2.s);
  }
  elapsed = now_us() - start;
  if (elapsed == 0) elapsed = 1;

  if (str_catulong(&out, count) < 0 || str_catc(&out, ' ') < 0
      || str_catulong(&out, (unsigned long)elapsed) < 0 || str_catc(&out, ' ') < 0
      || str_catulong(&out, (unsigned long)((2ULL * count * 1000000ULL + elapsed / 2) / elapsed)) < 0
      || str_catc(&out, '\n') < 0)
    die_nomem();
  if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write output");
  return 0;
}
