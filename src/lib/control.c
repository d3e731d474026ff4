/* control.c: see control.h. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byte.h"
#include "control.h"
#include "file.h"
#include "scan.h"
#include "str.h"

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Like file_read() from file.h, but refuses anything that is not a
 * regular file, and opens with O_NONBLOCK so a fifo put in place of a
 * control file cannot hang the reader in open(). With private_only, a
 * file that grants others any permission is refused (EPERM) before a
 * byte of it is read; the mode is taken from the open descriptor, so
 * a file swapped in after a check cannot slip through. Returns 1/0/-1. */
static int control_read_mode(const char *path, str *sa, int private_only)
{
  struct stat st;
  int fd, r, e;

  sa->len = 0;
  do fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  if (fstat(fd, &st) < 0) goto fail;
  if (!S_ISREG(st.st_mode)) {
    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    goto fail;
  }
  if (private_only && (st.st_mode & 0007)) {
    errno = EPERM;
    goto fail;
  }
  r = read_fd_all(fd, sa, CONTROL_MAX);
  e = errno;
  close(fd);
  errno = e;
  return r < 0 ? -1 : 1;
fail:
  e = errno;
  close(fd);
  errno = e;
  return -1;
}

static int control_read(const char *path, str *sa) { return control_read_mode(path, sa, 0); }

/* Length of the first line of s[0..n) without its trailing white space;
 * -1 (EINVAL) when that line holds a NUL. */
static int first_line(const char *s, size_t n, size_t *len)
{
  size_t end = byte_chr(s, n, '\n');
  if (byte_chr(s, end, 0) != end) { errno = EINVAL; return -1; }
  while (end > 0 && is_space(s[end - 1])) --end;
  *len = end;
  return 0;
}

int control_readline(const char *path, str *value, const char *dflt)
{
  size_t len;
  int r = control_read(path, value);
  if (r < 0) return -1;
  if (r == 0) {
    if (!dflt) return 0;
    if (str_copys(value, dflt) < 0) return -1;
    return 0;
  }
  if (first_line(value->s, value->len, &len) < 0) return -1;
  value->len = len;
  return 1;
}

/* The list of control_readlist from what control_read_mode read. */
static int readlist(const char *path, str *list, int private_only)
{
  size_t i, out = 0;
  int r = control_read_mode(path, list, private_only);
  if (r <= 0) return r;
  if (byte_chr(list->s, list->len, 0) != list->len) { errno = EINVAL; return -1; }
  /* compact in place: an entry plus its NUL is never longer than the
   * line plus its newline, except for a last line with no newline,
   * which needs one byte more */
  if (str_readyplus(list, 1) < 0) return -1;
  i = 0;
  while (i < list->len) {
    size_t start = i, end = i + byte_chr(list->s + i, list->len - i, '\n');
    i = end < list->len ? end + 1 : end;
    while (start < end && (is_space(list->s[start]))) ++start;
    while (end > start && is_space(list->s[end - 1])) --end;
    if (start == end || list->s[start] == '#') continue;
    {
      size_t k;
      for (k = start; k < end; ++k) list->s[out++] = list->s[k];
      list->s[out++] = 0;
    }
  }
  list->len = out;
  return 1;
}

int control_readlist(const char *path, str *list) { return readlist(path, list, 0); }

int control_readlist_private(const char *path, str *list) { return readlist(path, list, 1); }

int control_readnum(const char *path, unsigned long *value,
                    unsigned long dflt, unsigned long min, unsigned long max)
{
  str line = STR_INIT;
  unsigned long u;
  int r, e;

  r = control_readline(path, &line, 0);
  if (r == 0) { *value = dflt; str_free(&line); return 0; }
  if (r < 0) goto fail;
  if (scan_ulong_exact(line.s, line.len, &u) < 0) goto fail;
  if (u < min || u > max) { errno = ERANGE; goto fail; }
  str_free(&line);
  *value = u;
  return 1;
fail:
  e = errno;
  str_free(&line);
  errno = e;
  return -1;
}

int control_next(const str *list, size_t *pos, const char **entry, size_t *len)
{
  size_t n;
  if (*pos >= list->len) return 0;
  n = byte_chr(list->s + *pos, list->len - *pos, 0);
  *entry = list->s + *pos;
  *len = n;
  *pos += n < list->len - *pos ? n + 1 : n;
  return 1;
}
