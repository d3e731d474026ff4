/* test_users.c: users/assign, users/cdb and the user record (users.h,
 * sluice-users(5)): assign files compiled with users_compile into a cdb
 * and looked up with users_lookup (exact beats prefix, longer prefix
 * beats shorter, case ignored, the rest appended to a prefix's ext),
 * every malformed line refused with its line number, the record's
 * encoding and its decoder's refusals, and the passwd search on the
 * accounts every system has. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdb_make.h"
#include "check.h"
#include "str.h"
#include "users.h"

static char path[64];

static const char good[] =
  "=joe:joeuser:1001:1002:/home/joe:::\n"
  "=Mixed:mixuser:1003:1003:/home/mix:-:x:\n"
  "+list-:lists:2000:2001:/var/lists:-:l-:\n"
  "+list-big-:biglists:2002:2003:/var/big:-:B-:\n"
  "+joe:joeprefix:1004:1004:/home/jp:-::\n"
  "+:catchall:3000:3000:/var/all:-::\n"
  ".\n"
  "anything after the dot is ignored\n";

/* Compiles text into the cdb at path: 0, or -1 with line and why. */
static int compile(const char *text, unsigned long *line, const char **why)
{
  struct cdb_make_atomic a;
  if (cdb_make_atomic_start(&a, path, 0644) < 0) return -2;
  if (users_compile(text, strlen(text), &a.make, line, why) < 0) {
    cdb_make_atomic_abort(&a);
    return -1;
  }
  return cdb_make_atomic_finish(&a) < 0 ? -2 : 0;
}

/* 1 when local finds user/uid/home/dash/ext exactly as given. */
static int finds(const char *local, const char *user, unsigned long uid, const char *home,
                 const char *dash, const char *ext)
{
  struct users_entry e = USERS_ENTRY_INIT;
  int r = users_lookup(path, local, strlen(local), &e) == 1 && str_equals(&e.user, user) &&
          e.uid == uid && str_equals(&e.home, home) && str_equals(&e.dash, dash) &&
          str_equals(&e.ext, ext);
  users_entry_free(&e);
  return r;
}

static int refused_at(const char *text, unsigned long want_line, const char *want_why)
{
  unsigned long line = 0;
  const char *why = 0;
  int r = compile(text, &line, &why);
  return r == -1 && errno == EINVAL && line == want_line && why && strstr(why, want_why);
}

static void lookups(void)
{
  unsigned long line;
  const char *why;
  struct users_entry e = USERS_ENTRY_INIT;

  CHECK(compile(good, &line, &why) == 0);
  CHECK(finds("joe", "joeuser", 1001, "/home/joe", "", ""));
  CHECK(finds("JOE", "joeuser", 1001, "/home/joe", "", ""));
  CHECK(finds("mixed", "mixuser", 1003, "/home/mix", "-", "x"));
  /* prefixes: the longest wins (case ignored), the rest goes after
   * pre with its case kept (qmail's EXT and DEFAULT keep it) */
  CHECK(finds("list-foo", "lists", 2000, "/var/lists", "-", "l-foo"));
  CHECK(finds("List-FOO", "lists", 2000, "/var/lists", "-", "l-FOO"));
  CHECK(finds("LIST-Big-X.Y", "biglists", 2002, "/var/big", "-", "B-X.Y"));
  CHECK(finds("list-big-x", "biglists", 2002, "/var/big", "-", "B-x"));
  CHECK(finds("list-big", "lists", 2000, "/var/lists", "-", "l-big"));
  /* exact beats the prefix "joe" */
  CHECK(finds("joe", "joeuser", 1001, "/home/joe", "", ""));
  CHECK(finds("joey", "joeprefix", 1004, "/home/jp", "-", "y"));
  /* the empty prefix catches the rest */
  CHECK(finds("nobody-here", "catchall", 3000, "/var/all", "-", "nobody-here"));
  CHECK(users_lookup(path, "joe", 3, &e) == 1 && e.gid == 1002);
  users_entry_free(&e);

  /* without the catch-all nothing matches an unknown name */
  CHECK(compile("=a:u:5:5:/h:::\n.\n", &line, &why) == 0);
  CHECK(users_lookup(path, "b", 1, &e) == 0);
  CHECK(finds("A", "u", 5, "/h", "", ""));
  users_entry_free(&e);
  /* the final dot without a newline is enough; an empty file is not */
  CHECK(compile("=a:u:5:5:/h:::\n.", &line, &why) == 0);
  CHECK(refused_at("", 1, "final"));
  /* no cdb at all: not found */
  CHECK(users_lookup("/nonexistent/users/cdb", "joe", 3, &e) == 0);
  users_entry_free(&e);
}

static void malformed(void)
{
  char *big;
  CHECK(refused_at("=a:u:5:5:/h:::\n", 2, "final"));
  CHECK(refused_at("=a:u:5:5:/h:::\n=b:u:x:5:/h:::\n.\n", 2, "uid is not a number"));
  CHECK(refused_at("=a:u:5:5:/h:::\n\n.\n", 2, "does not start"));
  CHECK(refused_at("=a:u:5:y:/h:::\n.\n", 1, "gid is not a number"));
  CHECK(refused_at("=a:u:0:5:/h:::\n.\n", 1, "uid 0"));
  CHECK(refused_at("=a:u:5:5:/h::\n.\n", 1, "too few fields"));
  CHECK(refused_at("=a:u:5:5:/h::::\n.\n", 1, "too many fields"));
  CHECK(refused_at("=a:u:5:5:/h:::x\n.\n", 1, "colon"));
  CHECK(refused_at("=a::5:5:/h:::\n.\n", 1, "user name is empty"));
  CHECK(refused_at("=a:u:5:5:h:::\n.\n", 1, "absolute"));
  CHECK(refused_at("=a:u:4294967295:5:/h:::\n.\n", 1, "uid is out of range"));
  CHECK(refused_at("=a:u:99999999999999999999999:5:/h:::\n.\n", 1, "uid is not a number"));
  CHECK(refused_at("#comment\n.\n", 1, "does not start"));
  big = malloc(USERS_LINE_MAX + 64);
  if (big) {
    memset(big, 'x', USERS_LINE_MAX + 10);
    memcpy(big, "=a:u:5:5:/", 10);
    memcpy(big + USERS_LINE_MAX + 10, ":::\n.\n", 7);
    CHECK(refused_at(big, 1, "too long"));
    free(big);
  }
}

/* Decodes a literal record (its length without the final NUL). */
#define DEC(lit) users_decode(&d, (lit), sizeof(lit) - 1)

static void records(void)
{
  struct users_entry e = USERS_ENTRY_INIT, d = USERS_ENTRY_INIT;
  str out = STR_INIT;
  static const char rec[] = "bob\0" "1000\0" "100\0" "/home/bob\0" "-\0" "ext\0";

  CHECK(str_copys(&e.user, "bob") == 0 && str_copys(&e.home, "/home/bob") == 0 &&
        str_copys(&e.dash, "-") == 0 && str_copys(&e.ext, "ext") == 0);
  e.uid = 1000;
  e.gid = 100;
  CHECK(users_encode(&out, &e) == 0);
  CHECK(out.len == sizeof rec - 1 && memcmp(out.s, rec, out.len) == 0);
  CHECK(users_decode(&d, out.s, out.len) == 0);
  CHECK(str_equals(&d.user, "bob") && d.uid == 1000 && d.gid == 100 &&
        str_equals(&d.home, "/home/bob") && str_equals(&d.dash, "-") && str_equals(&d.ext, "ext"));
  /* refusals: one field short, trailing byte, bad numbers, bad home */
  errno = 0;
  CHECK(users_decode(&d, rec, sizeof rec - 2) < 0 && errno == EPROTO);
  CHECK(users_decode(&d, rec, sizeof rec) < 0 && errno == EPROTO);
  CHECK(DEC("bob\0" "x\0" "1\0" "/h\0" "\0" "\0") < 0);
  CHECK(DEC("bob\0" "1\0" "1\0" "h\0" "\0" "\0") < 0);
  CHECK(DEC("\0" "1\0" "1\0" "/h\0" "\0" "\0") < 0);
  CHECK(DEC("b\0" "1\0" "4294967295\0" "/h\0" "\0" "\0") < 0);
  CHECK(DEC("b\0" "1\0" "2\0" "/h\0" "\0" "\0") == 0 && d.gid == 2);
  users_entry_free(&e);
  users_entry_free(&d);
  str_free(&out);
}

static void passwd(void)
{
  struct users_entry e = USERS_ENTRY_INIT;
  /* root has uid 0: never a mail user; so not root-anything either */
  CHECK(users_passwd("root", 4, &e) == 0);
  CHECK(users_passwd("ROOT-x", 6, &e) == 0);
  CHECK(users_passwd("no-such-user-here-zz", 20, &e) == 0);
  users_entry_free(&e);
  /* the alias route takes root as an alias name: whole local part,
   * case kept, as extension */
  CHECK(users_alias("root", "/var/sluice/alias", "Some-Body", 9, &e) == 1 && str_equals(&e.home, "/var/sluice/alias") && e.uid == 0 && str_equals(&e.dash, "-") &&
        str_equals(&e.ext, "Some-Body") && str_equals(&e.user, "root"));
  users_entry_free(&e);
  CHECK(users_alias("no-such-user-here-zz", "/h", "x", 1, &e) == 0);
  users_entry_free(&e);
}

int main(void)
{
  char num[FMT_ULONG];
  size_t n = fmt_ulong(num, (unsigned long)getpid());
  memcpy(path, "/tmp/test_users.", 16);
  memcpy(path + 16, num, n);
  memcpy(path + 16 + n, ".cdb", 5);
  lookups();
  malformed();
  records();
  passwd();
  unlink(path);
  return check_done();
}
