/* execpath.c: see execpath.h. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byte.h"
#include "execpath.h"
#include "str.h"

/* Tries dir[0..dlen)/name: 1 when it is an executable regular file, 0
 * when not (*denied set when it is a regular file we may not
 * execute), -1 without memory. */
static int try_dir(str *out, const char *dir, size_t dlen, const char *name, size_t nlen, int *denied)
{
  struct stat st;
  if (dlen == 0) {
    if (str_copys(out, "./") < 0) return -1;
  } else if (str_copyb(out, dir, dlen) < 0 || str_catc(out, '/') < 0) {
    return -1;
  }
  if (str_catb(out, name, nlen) < 0 || str_0(out) < 0) return -1;
  if (stat(out->s, &st) < 0 || !S_ISREG(st.st_mode)) return 0;
  if (access(out->s, X_OK) == 0) return 1;
  *denied = 1;
  return 0;
}

int execpath_find(str *out, const char *name, const char *path)
{
  size_t nlen = strlen(name), plen, pos = 0;
  int denied = 0;

  if (byte_chr(name, nlen, '/') < nlen) {
    if (str_copyb(out, name, nlen) < 0 || str_0(out) < 0) return -1;
    return 1;
  }
  if (nlen == 0) {
    errno = ENOENT;
    return 0;
  }
  if (!path) path = EXECPATH_DEFAULT;
  plen = strlen(path);
  for (;;) {
    size_t n = byte_chr(path + pos, plen - pos, ':');
    int r = try_dir(out, path + pos, n, name, nlen, &denied);
    if (r != 0) return r;
    pos += n;
    if (pos == plen) break;
    ++pos; /* past the colon: another element follows, maybe empty */
  }
  out->len = 0;
  errno = denied ? EACCES : ENOENT;
  return 0;
}
