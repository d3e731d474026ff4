/* test_checkpw.c: the checkpassword command line and record, and
 * checkpw_run against /bin/sh scripts standing in for the program. */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "checkpw.h"
#include "file.h"
#include "str.h"

static int argv_fails(const char *line)
{
  struct checkpw_cmd c;
  int r;
  memset(&c, 0, sizeof c);
  r = checkpw_argv(&c, line, strlen(line));
  str_free(&c.words);
  return r == -1;
}

static void test_argv(void)
{
  struct checkpw_cmd c;
  memset(&c, 0, sizeof c);
  CHECK(checkpw_argv(&c, "  /bin/checkpassword\t/bin/true  ", 32) == 0);
  CHECK(c.argv[0] && strcmp(c.argv[0], "/bin/checkpassword") == 0);
  CHECK(c.argv[1] && strcmp(c.argv[1], "/bin/true") == 0);
  CHECK(c.argv[2] == 0);
  str_free(&c.words);
  CHECK(argv_fails(""));
  CHECK(argv_fails("   "));
  CHECK(argv_fails("checkpassword"));   /* not absolute */
  CHECK(argv_fails("/a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16")); /* 17 words */
  CHECK(!argv_fails("/a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15"));
}

static void test_record(void)
{
  str r = STR_INIT;
  CHECK(checkpw_record(&r, "bob", 3, "p w", 3, 1234) == 0);
  CHECK(r.len == 13 && memcmp(r.s, "bob\0p w\0001234\0", 13) == 0);
  str_free(&r);
}

/* run: the result checkpw_run gives for a /bin/sh script standing in
 * for the checkpassword program (written to a file: the command line
 * is split on blanks) */
static int run(const char *script)
{
  struct checkpw_cmd c;
  str path = STR_INIT, line = STR_INIT;
  int r = -9;
  memset(&c, 0, sizeof c);
  if (str_copys(&path, "/tmp/sluice-test-checkpw.") < 0 || str_catulong(&path, (unsigned long)getpid()) < 0
      || str_0(&path) < 0)
    return -9;
  if (file_replace(path.s, script, strlen(script), 0700) == 0 && str_copys(&line, "/bin/sh ") == 0
      && str_cat(&line, &path) == 0 && checkpw_argv(&c, line.s, line.len) == 0)
    r = checkpw_run(&c, "bob", 3, "secret", 6, 10);
  (void)unlink(path.s);
  str_free(&c.words);
  str_free(&line);
  str_free(&path);
  return r;
}

static void test_run(void)
{
  CHECK(run("test \"$(tr '\\0' '\\n' <&3 | head -n 2 | tr '\\n' :)\" = bob:secret:\n") == CHECKPW_GOOD);
  CHECK(run("test \"$(tr '\\0' '\\n' <&3 | head -n 2 | tr '\\n' :)\" = bob:secreT:\n") == CHECKPW_BAD);
  CHECK(run("exit 0\n") == CHECKPW_GOOD);
  CHECK(run("exit 1\n") == CHECKPW_BAD);
  CHECK(run("exit 111\n") == CHECKPW_TEMP);
  CHECK(run("exit 2\n") == CHECKPW_TEMP);
  CHECK(run("kill -9 $$\n") == CHECKPW_TEMP);
  CHECK(run("read x && exit 0; exit 1\n") == CHECKPW_BAD); /* fd 0 is /dev/null: read fails */
  {
    struct checkpw_cmd c;
    memset(&c, 0, sizeof c);
    CHECK(checkpw_argv(&c, "/nonexistent/prog", 17) == 0);
    CHECK(checkpw_run(&c, "bob", 3, "x", 1, 10) == CHECKPW_TEMP);
    str_free(&c.words);
  }
}

int main(void)
{
  test_argv();
  test_record();
  test_run();
  return check_done();
}
