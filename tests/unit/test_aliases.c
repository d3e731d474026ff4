/* test_aliases.c: the alias file and ~/.forward syntax (aliases.h,
 * aliases(5)): target lists turned into .qmail lines (addresses,
 * programs, files, :include:, \user, quotes, comments, <addr>), the
 * refusals with the offset of the bad target, self-references, whole
 * alias files compiled into a cdb and looked up (continuations,
 * comments, quoted names, case), every malformed file refused with its
 * line, and the recipient delimiter search. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "aliases.h"
#include "cdb.h"
#include "cdb_make.h"
#include "check.h"
#include "dotqmail.h"
#include "file.h"
#include "str.h"

static char path[64];
static str locals; /* "d.example\0" */

/* The .qmail text of the target list in equals want. */
static int targets_are(const char *in, const char *want, unsigned long wantcount)
{
  str out = STR_INIT;
  const char *why;
  size_t where;
  unsigned long count = 0;
  int ok = aliases_targets(in, strlen(in), &out, &count, &why, &where) == 0 && out.len == strlen(want)
           && memcmp(out.s ? out.s : "", want, out.len) == 0 && count == wantcount;
  if (!ok) {
    check_outs("targets got: ");
    check_out(out.s ? out.s : "", out.len);
    check_outs("\n");
  }
  str_free(&out);
  return ok;
}

static int targets_refused(const char *in, size_t want_where, const char *want_why)
{
  str out = STR_INIT;
  const char *why = 0;
  size_t where = 0;
  unsigned long count = 0;
  int r = aliases_targets(in, strlen(in), &out, &count, &why, &where);
  str_free(&out);
  return r == -1 && errno == EINVAL && why && strstr(why, want_why) && where == want_where;
}

static int compile(const char *text, unsigned long *line, const char **why, unsigned long *count)
{
  struct cdb_make_atomic a;
  if (cdb_make_atomic_start(&a, path, 0644) < 0) return -2;
  if (aliases_compile(text, strlen(text), &a.make, line, why, count, &locals) < 0) {
    cdb_make_atomic_abort(&a);
    return -1;
  }
  return cdb_make_atomic_finish(&a) < 0 ? -2 : 0;
}

static int maps(const char *key, const char *want)
{
  str data = STR_INIT;
  int r = cdb_lookup_path(path, key, strlen(key), &data);
  int ok = want ? r == 1 && str_equals(&data, want) : r == 0;
  if (!ok) {
    check_outs("alias got: ");
    check_out(data.s ? data.s : "", data.len);
    check_outs("\n");
  }
  str_free(&data);
  return ok;
}

static int refused_at(const char *text, unsigned long want_line, const char *want_why)
{
  unsigned long line = 0, count;
  const char *why = 0;
  int r = compile(text, &line, &why, &count);
  return r == -1 && errno == EINVAL && line == want_line && why && strstr(why, want_why);
}

static void targets(void)
{
  CHECK(targets_are("alice", "&alice\n", 1));
  CHECK(targets_are(" alice , bob@x.example,carol ", "&alice\n&bob@x.example\n&carol\n", 3));
  CHECK(targets_are("alice\nbob\n", "&alice\n&bob\n", 2));
  CHECK(targets_are("# a comment, with a comma\n  # another\nalice\n", "&alice\n", 1));
  CHECK(targets_are("|/bin/prog", "|/bin/prog\n", 1));
  CHECK(targets_are("\"|/bin/prog -a, b\", x", "|/bin/prog -a, b\n&x\n", 2));
  CHECK(targets_are("\"|echo \\\"q\\\"\"", "|echo \"q\"\n", 1));
  CHECK(targets_are("/var/mail/a, /var/md/", "/var/mail/a\n/var/md/\n", 2));
  CHECK(targets_are(":include:/etc/list", ":include:/etc/list\n", 1));
  CHECK(targets_are(":INCLUDE: /etc/list", ":include:/etc/list\n", 1));
  CHECK(targets_are("\\alice, bob", "&\\alice\n&bob\n", 2));
  CHECK(targets_are("Alice Smith <alice@a.example>", "&alice@a.example\n", 1));
  CHECK(targets_are("", "", 0));
  CHECK(targets_are(" , ,\n", "", 0));
  CHECK(targets_are("a\r\nb\r\n", "&a\n&b\n", 2));

  CHECK(targets_refused("alice, bad address", 7, "space"));
  CHECK(targets_refused("a, \"|unterminated", 3, "unterminated quote"));
  CHECK(targets_refused("a,\n  \"x\ny\"", 5, "unterminated quote"));
  CHECK(targets_refused("|", 0, "without a command"));
  CHECK(targets_refused(":include:relative", 0, "absolute path"));
  CHECK(targets_refused("x <a@b", 0, "< without >"));
  CHECK(targets_refused("\\", 0, "empty address"));
  {
    char big[DOTQMAIL_ADDR_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    CHECK(targets_refused(big, 0, "longer than"));
    big[DOTQMAIL_ADDR_MAX - 1] = 0; /* 1002 bytes */
    {
      str out = STR_INIT;
      const char *why;
      size_t where;
      unsigned long count = 0;
      CHECK(aliases_targets(big, strlen(big), &out, &count, &why, &where) == 0 && count == 1);
      str_free(&out);
    }
  }
}

static void self(void)
{
  str t = STR_INIT;
  str_copys(&t, "&Alice\n&bob\n&\\alice\n|alice\n&alice@x\n");
  CHECK(aliases_self(&t, "alice", 5, "./Maildir/\n", 11, 0) == 2);
  CHECK(str_equals(&t, "./Maildir/\n&bob\n./Maildir/\n|alice\n&alice@x\n"));
  CHECK(aliases_self(&t, "nobody", 6, "", 0, 0) == 0);
  CHECK(str_equals(&t, "./Maildir/\n&bob\n./Maildir/\n|alice\n&alice@x\n"));
  str_copys(&t, "&alice@D.Example\n&alice@x\n&alicex@d.example\n&\\Alice@d.example\n&ali@d.example\n");
  CHECK(aliases_self(&t, "alice", 5, "/m\n", 3, &locals) == 2);
  CHECK(str_equals(&t, "/m\n&alice@x\n&alicex@d.example\n/m\n&ali@d.example\n"));
  str_free(&t);
}

static void files(void)
{
  unsigned long line, count;
  const char *why;
  static const char good[] =
    "# the aliases\n"
    "postmaster: root\n"
    "Root:\talice, bob@b.example\n"
    "\n"
    "staff: alice,\n"
    "  # inside\n"
    "\tbob\n"
    "  , carol\n"
    "\"Quoted.Name\" : alice\n"
    "prog: \"|/bin/x -y, z\"\n"
    "self: self, alice\n"
    "me2: Me2@d.example, me2@x.example\n"
    "last: /var/mail/last";
  CHECK(compile(good, &line, &why, &count) == 0 && count == 8);
  CHECK(maps("me2", "&\\me2\n&me2@x.example\n"));
  CHECK(maps("postmaster", "&root\n"));
  CHECK(maps("root", "&alice\n&bob@b.example\n"));
  CHECK(maps("Root", 0)); /* keys are lower case */
  CHECK(maps("staff", "&alice\n&bob\n&carol\n"));
  CHECK(maps("quoted.name", "&alice\n"));
  CHECK(maps("prog", "|/bin/x -y, z\n"));
  CHECK(maps("self", "&\\self\n&alice\n"));
  CHECK(maps("last", "/var/mail/last\n"));
  CHECK(maps("nobody", 0));
  CHECK(compile("", &line, &why, &count) == 0 && count == 0);
  CHECK(compile("# only comments\n\n", &line, &why, &count) == 0 && count == 0);

  CHECK(refused_at("a: b\nno colon\n", 2, "no colon"));
  CHECK(refused_at("  b\n", 1, "continuation line without an alias"));
  CHECK(refused_at("a: b\nA: c\n", 2, "second time"));
  CHECK(refused_at("a: b\n: c\n", 2, "empty alias name"));
  CHECK(refused_at("a b: c\n", 1, "alias name holds"));
  CHECK(refused_at("a@b: c\n", 1, "alias name holds"));
  CHECK(refused_at("\"a: c\n", 1, "unterminated quote in the alias name"));
  CHECK(refused_at("\"a\" c\n", 1, "no colon"));
  CHECK(refused_at("a: b\nc:\n", 2, "without a target"));
  CHECK(refused_at("a: b\nc: ,\n  ,\n", 2, "without a target"));
  CHECK(refused_at("a: b,\n  c,\n  d e\n", 3, "space"));
  CHECK(refused_at("a: b,\n  \"|x\n  y\"\n", 2, "unterminated quote"));
  {
    static const char nul[] = "a: b\nc: d\0e\n";
    struct cdb_make_atomic a;
    CHECK(cdb_make_atomic_start(&a, path, 0644) == 0);
    CHECK(aliases_compile(nul, sizeof nul - 1, &a.make, &line, &why, &count, 0) == -1 && line == 2
          && strstr(why, "NUL"));
    cdb_make_atomic_abort(&a);
  }
  /* many names: the duplicate check grows its table */
  {
    str big = STR_INIT;
    unsigned long i;
    for (i = 0; i < 5000; ++i) {
      str_cats(&big, "n");
      str_catulong(&big, i);
      str_cats(&big, ": x\n");
    }
    str_0(&big);
    CHECK(compile(big.s, &line, &why, &count) == 0 && count == 5000);
    CHECK(maps("n4999", "&x\n"));
    str_cats(&big, "N2500: y\n");
    str_0(&big);
    CHECK(refused_at(big.s, 5001, "second time"));
    str_free(&big);
  }
}

static void delimiter(void)
{
  CHECK(aliases_delimiter("user+tag", 8, "+", 1) == 4);
  CHECK(aliases_delimiter("user+tag", 8, "", 0) == 8);
  CHECK(aliases_delimiter("user-tag", 8, "-+", 2) == 8);
  CHECK(aliases_delimiter("a-b+c=d", 7, "=+", 2) == 3);
  CHECK(aliases_delimiter("+tag", 4, "+", 1) == 4);
  CHECK(aliases_delimiter("user", 4, "+", 1) == 4);
}

int main(void)
{
  char num[FMT_ULONG];
  size_t n = fmt_ulong(num, (unsigned long)getpid());
  memcpy(path, "/tmp/test_aliases.", 18);
  memcpy(path + 18, num, n);
  memcpy(path + 18 + n, ".cdb", 5);
  str_copys(&locals, "d.example");
  str_catc(&locals, 0);
  targets();
  self();
  files();
  delimiter();
  unlink(path);
  return check_done();
}
