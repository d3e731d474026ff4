/* test_execpath.c: the PATH search of execpath.h in a scratch tree:
 * order of the elements, files that are not executable or not regular
 * skipped (EACCES remembered), empty elements as the current
 * directory, names with a slash taken as they are. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "execpath.h"
#include "str.h"

static char top[] = "/tmp/test_execpath.XXXXXX";
static str scratch;

static const char *at(const char *rel)
{
  str_copys(&scratch, top);
  str_catc(&scratch, '/');
  str_cats(&scratch, rel);
  str_0(&scratch);
  return scratch.s;
}

static void file(const char *rel, mode_t mode)
{
  int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd >= 0) close(fd);
  chmod(at(rel), mode);
}

/* 1 when name is found in path as want (relative to top, or literally
 * when it starts with '/' or '.', or after a leading '='; NULL: not
 * found with errno e). */
static int finds(const char *name, const char *path, const char *want, int e)
{
  str out = STR_INIT, w = STR_INIT;
  int r, ok;
  errno = 0;
  r = execpath_find(&out, name, path);
  if (!want) {
    ok = r == 0 && errno == e && out.len == 0;
  } else {
    if (want[0] == '=') {
      str_copys(&w, want + 1);
    } else if (want[0] == '/' || want[0] == '.') {
      str_copys(&w, want);
    } else {
      str_copys(&w, top);
      str_catc(&w, '/');
      str_cats(&w, want);
    }
    ok = r == 1 && out.len == w.len && memcmp(out.s, w.s, w.len) == 0 && out.s[out.len] == 0;
  }
  str_free(&out);
  str_free(&w);
  return ok;
}

int main(void)
{
  str path = STR_INIT;
  char cwd[4096];

  if (!mkdtemp(top)) { CHECK(!"mkdtemp"); return check_done(); }
  mkdir(at("a"), 0755);
  mkdir(at("b"), 0755);
  mkdir(at("c"), 0755);
  mkdir(at("a/isdir"), 0755);
  file("a/plain", 0644);   /* not executable */
  file("b/plain", 0755);
  file("a/both", 0755);
  file("b/both", 0755);
  file("c/isdir", 0755);
  file("c/only", 0644);

  /* a:b:c */
  str_copys(&path, at("a"));
  str_catc(&path, ':');
  str_cats(&path, at("b"));
  str_catc(&path, ':');
  str_cats(&path, at("c"));
  str_0(&path);
  CHECK(finds("both", path.s, "a/both", 0));          /* the first element wins */
  CHECK(finds("plain", path.s, "b/plain", 0));        /* not executable: skipped */
  CHECK(finds("isdir", path.s, "c/isdir", 0));        /* a directory: skipped */
  CHECK(finds("nosuch", path.s, 0, ENOENT));
  CHECK(finds("only", path.s, 0, EACCES));            /* found, not executable */
  CHECK(finds("", path.s, 0, ENOENT));
  /* a slash: as it is, whatever is there */
  CHECK(finds("./whatever", path.s, "./whatever", 0));
  CHECK(finds("/no/such/thing", path.s, "/no/such/thing", 0));
  CHECK(finds("sub/x", "", "=sub/x", 0));
  /* empty elements are the current directory: leading, inner, trailing */
  if (getcwd(cwd, sizeof cwd) && chdir(at("b")) == 0) {
    CHECK(finds("plain", "", "./plain", 0));
    CHECK(finds("plain", ":/nonexistent", "./plain", 0));
    CHECK(finds("plain", "/nonexistent::/x", "./plain", 0));
    CHECK(finds("plain", "/nonexistent:", "./plain", 0));
    CHECK(finds("plain", "/nonexistent", 0, ENOENT));
    CHECK(chdir(cwd) == 0);
  }
  /* PATH unset: the default path, where sh lives */
  CHECK(finds("sh", 0, "/bin/sh", 0));
  CHECK(finds("no-such-program-here-zz", 0, 0, ENOENT));

  unlink(at("a/plain")); unlink(at("b/plain")); unlink(at("a/both")); unlink(at("b/both"));
  unlink(at("c/isdir")); unlink(at("c/only")); rmdir(at("a/isdir"));
  rmdir(at("a")); rmdir(at("b")); rmdir(at("c")); rmdir(top);
  str_free(&path);
  str_free(&scratch);
  return check_done();
}
