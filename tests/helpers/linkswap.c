/* linkswap.c: a queue user swapping a name for a symbolic link as fast
 * as it can, to race a root program that checks a name and then acts
 * on it (tests/sh/21-fsck-links.sh).
 *
 *   linkswap DIR NAME TARGET file|dir SECONDS
 *
 * In DIR: makes NAME a fresh regular file mode 0666 (or a directory
 * mode 0777: both "wrong", so that sluice-fsck -r wants to chmod them)
 * and .swap a symbolic link to TARGET, then exchanges the two names
 * with renameat2(RENAME_EXCHANGE) in a tight loop; every 200 exchanges
 * (an even count, so NAME is the node again) NAME is made afresh, as
 * the repair may have changed its owner or mode. Stops after SECONDS
 * and leaves NAME a regular file (or directory) of its own. Prints the
 * number of exchanges. Exit 0; 111 on trouble; 77 when the kernel has
 * no RENAME_EXCHANGE (the caller skips). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "die.h"
#include "file.h"
#include "fmt.h"
#include "scan.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int is_dir;

/* renameat2(RENAME_EXCHANGE) through syscall(2): older C libraries have
 * no wrapper; where the system has no such call, ENOSYS. */
static int exchange(int dfd, const char *a, const char *b)
{
#ifdef SYS_renameat2
  return (int)syscall(SYS_renameat2, dfd, a, dfd, b, RENAME_EXCHANGE);
#else
  (void)dfd; (void)a; (void)b;
  errno = ENOSYS;
  return -1;
#endif
}

/* NAME as a new node with the wrong mode. Whatever is there goes (a
 * directory when empty). */
static void fresh(int dfd, const char *name)
{
  int fd;
  if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) (void)unlinkat(dfd, name, AT_REMOVEDIR);
  if (is_dir) {
    if (mkdirat(dfd, name, 0777) < 0) return;
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } else {
    fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0666);
  }
  if (fd < 0) return; /* taken meanwhile: the next round tries again */
  if (fchmod(fd, is_dir ? 0777 : 0666) < 0) {
    /* not ours any more: the next round makes it afresh */
  }
  close(fd);
}

int main(int argc, char **argv)
{
  unsigned long seconds, count = 0;
  char num[FMT_ULONG];
  time_t end;
  int dfd;

  die_progname("linkswap");
  if (argc != 6 || scan_ulong_exact(argv[5], strlen(argv[5]), &seconds) < 0)
    die_usage("linkswap DIR NAME TARGET file|dir SECONDS");
  is_dir = !strcmp(argv[4], "dir");
  dfd = open_dir(argv[1]);
  if (dfd < 0) die_temp_sys("unable to open ", argv[1]);
  unlinkat(dfd, ".swap", 0);
  if (symlinkat(argv[3], dfd, ".swap") < 0) die_temp_sys("unable to make the link");
  /* the root program racing us may remove NAME between fresh() and the
   * first exchange (ENOENT): make it again, a bounded number of times */
  for (int tries = 0;; ++tries) {
    fresh(dfd, argv[2]);
    if (exchange(dfd, argv[2], ".swap") == 0) break;
    if (errno == ENOSYS || errno == EINVAL) return 77;
    if (errno != ENOENT || tries >= 1000) die_temp_sys("unable to exchange");
    if (fstatat(dfd, ".swap", &(struct stat){ 0 }, AT_SYMLINK_NOFOLLOW) < 0 && symlinkat(argv[3], dfd, ".swap") < 0)
      die_temp_sys("unable to make the link");
  }
  (void)exchange(dfd, argv[2], ".swap");
  end = time(0) + (time_t)seconds;
  while (time(0) < end) {
    for (int i = 0; i < 200; ++i) {
      /* a failure (the other side removed a name) only ends this round */
      if (exchange(dfd, argv[2], ".swap") < 0) break;
      ++count;
    }
    /* NAME back to a node of its own, .swap back to the link */
    {
      struct stat st;
      if (fstatat(dfd, argv[2], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        (void)exchange(dfd, argv[2], ".swap");
      if (fstatat(dfd, ".swap", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode))
        (void)unlinkat(dfd, ".swap", S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
      if (fstatat(dfd, ".swap", &st, AT_SYMLINK_NOFOLLOW) < 0 && symlinkat(argv[3], dfd, ".swap") < 0)
        die_temp_sys("unable to make the link");
    }
    fresh(dfd, argv[2]);
  }
  unlinkat(dfd, ".swap", 0);
  num[fmt_ulong(num, count)] = 0;
  if (write_all(1, num, strlen(num)) < 0 || write_all(1, "\n", 1) < 0) die_temp_sys("unable to write");
  return 0;
}
