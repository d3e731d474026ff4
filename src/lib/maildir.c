/* maildir.c: see maildir.h. */
#include <errno.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "byte.h"
#include "file.h"
#include "lineform.h"
#include "maildir.h"
#include "str.h"

int maildir_cat_host(str *out, const char *host, size_t n)
{
  size_t i;
  for (i = 0; i < n; ++i) {
    int r;
    if (host[i] == '/') r = str_cats(out, "\\057");
    else if (host[i] == ':') r = str_cats(out, "\\072");
    else r = str_catc(out, host[i]);
    if (r < 0) return -1;
  }
  return 0;
}

int maildir_unique(str *out, unsigned long sec, unsigned long usec, unsigned long pid,
                   int with_file, unsigned long dev, unsigned long ino, const char *host, size_t hostlen)
{
  if (str_copys(out, "") < 0 || str_catulong(out, sec) < 0 || str_cats(out, ".M") < 0
      || str_catulong(out, usec) < 0 || str_catc(out, 'P') < 0 || str_catulong(out, pid) < 0)
    return -1;
  if (with_file && (str_catc(out, 'V') < 0 || str_catulong(out, dev) < 0 || str_catc(out, 'I') < 0
                    || str_catulong(out, ino) < 0))
    return -1;
  if (str_catc(out, '.') < 0) return -1;
  return maildir_cat_host(out, host, hostlen);
}

/* path = dir "/" sub ["/" name], NUL-terminated */
static int sub_path(str *path, const char *dir, const char *sub, const str *name)
{
  if (str_copys(path, dir) < 0) return -1;
  if (path->len == 0 || path->s[path->len - 1] != '/') {
    if (str_catc(path, '/') < 0) return -1;
  }
  if (str_cats(path, sub) < 0) return -1;
  if (name && (str_catc(path, '/') < 0 || str_cat(path, name) < 0)) return -1;
  return str_0(path);
}

/* Writes head, then the message in the queue's line form (lineform.h),
 * so a CR LF or a bare CR left in a queued message never gives the
 * Maildir file mixed line ends. */
static int copy_in(int fd, int msgfd, const char *head, size_t headlen)
{
  char chunk[32768], conv[sizeof chunk + 1];
  struct lineform lf;
  size_t n;
  if (write_all(fd, head, headlen) < 0) return -1;
  if (lseek(msgfd, 0, SEEK_SET) < 0) return -1;
  lineform_start(&lf);
  for (;;) {
    ssize_t r = read(msgfd, chunk, sizeof chunk);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    n = lineform_feed(&lf, chunk, (size_t)r, conv);
    if (write_all(fd, conv, n) < 0) return -1;
  }
  n = lineform_end(&lf, conv);
  return write_all(fd, conv, n) < 0 ? -1 : 0;
}

int maildir_deliver(const char *dir, int msgfd, const char *head, size_t headlen,
                    str *name, const char **what)
{
  str tmpname = STR_INIT, finalname = STR_INIT, tmppath = STR_INIT, newpath = STR_INIT, newdir = STR_INIT;
  char host[256];
  struct timeval tv;
  struct stat st;
  int fd = -1, made = 0, r = -1, e, tries;

  *what = "out of memory";
  if (gethostname(host, sizeof host) < 0) { *what = "cannot get the host name"; return -1; }
  host[sizeof host - 1] = 0;

  for (tries = 0;; ++tries) {
    gettimeofday(&tv, 0);
    if (maildir_unique(&tmpname, (unsigned long)tv.tv_sec, (unsigned long)tv.tv_usec,
                       (unsigned long)getpid(), 0, 0, 0, host, byte_len(host, sizeof host)) < 0)
      goto out;
    if (sub_path(&tmppath, dir, "tmp", &tmpname) < 0) goto out;
    fd = open_excl(tmppath.s, 0600);
    if (fd >= 0) break;
    if (errno != EEXIST || tries >= 2) { *what = "cannot create a file in tmp/ (does the Maildir exist?)"; goto out; }
    sleep(1);
  }
  made = 1;
  *what = "cannot write the message";
  if (fstat(fd, &st) < 0) goto out;
  if (copy_in(fd, msgfd, head, headlen) < 0) goto out;
  *what = "cannot fsync the message";
  if (file_sync(fd) < 0) goto out;
  if (close(fd) < 0) { fd = -1; goto out; }
  fd = -1;
  *what = "out of memory";
  if (maildir_unique(&finalname, (unsigned long)tv.tv_sec, (unsigned long)tv.tv_usec,
                     (unsigned long)getpid(), 1, (unsigned long)st.st_dev, (unsigned long)st.st_ino,
                     host, byte_len(host, sizeof host)) < 0)
    goto out;
  if (sub_path(&newpath, dir, "new", &finalname) < 0 || sub_path(&newdir, dir, "new", 0) < 0) goto out;
  *what = "cannot link the message into new/";
  if (link(tmppath.s, newpath.s) < 0) goto out;
  unlink(tmppath.s);
  made = 0;
  *what = "cannot fsync new/";
  if (dir_sync(newdir.s) < 0) {
    e = errno;
    unlink(newpath.s);  /* not durable: take it back, the retry delivers again */
    errno = e;
    goto out;
  }
  if (name && str_copy(name, &finalname) < 0) { r = 0; goto out; }
  *what = "";
  r = 0;
out:
  e = errno;
  if (fd >= 0) close(fd);
  if (made) unlink(tmppath.s);
  str_free(&tmpname); str_free(&finalname); str_free(&tmppath); str_free(&newpath); str_free(&newdir);
  errno = e;
  return r;
}

int maildir_make(const char *dir)
{
  str p = STR_INIT;
  static const char *const subs[3] = { "tmp", "new", "cur" };
  int i, e;
  if (mkdir(dir, 0700) < 0) return -1;
  for (i = 0; i < 3; ++i) {
    if (sub_path(&p, dir, subs[i], 0) < 0 || mkdir(p.s, 0700) < 0) {
      e = errno;
      str_free(&p);
      errno = e;
      return -1;
    }
  }
  str_free(&p);
  return 0;
}
