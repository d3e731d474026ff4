/* test_rfc822.c: rfc822_line_kind, rfc822_field_name, rfc822_field_next,
 * rfc822_addrlist (groups, comments, quoted strings, angle addresses,
 * qualification, errors). */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "rfc822.h"
#include "str.h"

static const struct rfc822_qualify q = { "dom.example", "plus.example" };

/* in parses; the rewritten value is want_rew, the addresses (joined
 * with a space) want_addrs. */
static int good(const char *in, const struct rfc822_qualify *qq, const char *want_rew, const char *want_addrs)
{
  str rew = STR_INIT, addrs = STR_INIT, joined = STR_INIT;
  size_t n = 99, i;
  const char *err = 0;
  int ok, r = rfc822_addrlist(in, strlen(in), qq, &rew, &addrs, &n, &err);
  for (i = 0; i < addrs.len; ++i) str_catc(&joined, addrs.s[i] ? addrs.s[i] : ' ');
  if (joined.len) --joined.len; /* the last NUL */
  ok = r == 0 && rew.len == strlen(want_rew) && memcmp(rew.s ? rew.s : "", want_rew, rew.len) == 0 &&
       joined.len == strlen(want_addrs) && memcmp(joined.s ? joined.s : "", want_addrs, joined.len) == 0;
  {
    size_t count = 0;
    for (i = 0; i < addrs.len; ++i) count += addrs.s[i] == 0;
    ok = ok && count == n;
  }
  if (!ok) {
    check_outs("  in: ");
    check_outs(in);
    check_outs("\n  rew: ");
    check_out(rew.s ? rew.s : "", rew.len);
    check_outs("\n  addrs: ");
    check_out(joined.s ? joined.s : "", joined.len);
    check_outs(r < 0 && err ? "\n  error: " : "\n");
    if (r < 0 && err) { check_outs(err); check_outs("\n"); }
  }
  str_free(&rew);
  str_free(&addrs);
  str_free(&joined);
  return ok;
}

/* in fails with an error text containing want */
static int bad(const char *in, const char *want)
{
  str rew = STR_INIT, addrs = STR_INIT;
  size_t n = 7;
  const char *err = 0;
  int r = rfc822_addrlist(in, strlen(in), &q, &rew, &addrs, &n, &err);
  int ok = r == -1 && errno == EINVAL && err && strstr(err, want) && rew.len == 0 && addrs.len == 0 && n == 7;
  if (!ok) {
    check_outs("  in: ");
    check_outs(in);
    check_outs(r == 0 ? "  (parsed)\n" : "  error: ");
    if (r) { check_outs(err ? err : "(null)"); check_outs("\n"); }
  }
  str_free(&rew);
  str_free(&addrs);
  return ok;
}

static void lines(void)
{
  size_t v = 0;
  CHECK(rfc822_line_kind("To: a\n", 6) == RFC822_FIELD);
  CHECK(rfc822_line_kind("X-Y:\n", 5) == RFC822_FIELD);
  CHECK(rfc822_line_kind("Subject : old\n", 14) == RFC822_FIELD);
  CHECK(rfc822_line_kind(" cont\n", 6) == RFC822_CONT);
  CHECK(rfc822_line_kind("\tcont\n", 6) == RFC822_CONT);
  CHECK(rfc822_line_kind("\n", 1) == RFC822_END);
  CHECK(rfc822_line_kind("\r\n", 2) == RFC822_END);
  CHECK(rfc822_line_kind("", 0) == RFC822_END);
  CHECK(rfc822_line_kind("hello world\n", 12) == RFC822_OTHER);
  CHECK(rfc822_line_kind("From a@b Mon 10:00\n", 19) == RFC822_OTHER);
  CHECK(rfc822_line_kind(":x\n", 3) == RFC822_OTHER);
  CHECK(rfc822_line_kind("A\0B: x\n", 7) == RFC822_OTHER);
  CHECK(rfc822_field_name("Subject : x", 11, &v) == 7 && v == 9);
  CHECK(rfc822_field_name("Subject", 7, &v) == 0);
  CHECK(rfc822_name_is("cC", 2, "Cc"));
  CHECK(!rfc822_name_is("Ccc", 3, "Cc"));
}

static void fields(void)
{
  const char *h = "To: a,\n b\nSubject: x\n\tcontinued\nX: \0bin\nLast: no newline";
  size_t n = 55, pos = 0;
  struct rfc822_field f;
  CHECK(rfc822_field_next(h, n, &pos, &f) == 1 && f.start == 0 && f.len == 10 && f.name_len == 2 && f.value == 3);
  CHECK(rfc822_field_next(h, n, &pos, &f) == 1 && f.start == 10 && f.len == 22 && f.name_len == 7);
  CHECK(rfc822_field_next(h, n, &pos, &f) == 1 && f.start == 32 && f.len == 8 && f.name_len == 1);
  CHECK(rfc822_field_next(h, n, &pos, &f) == 1 && f.start == 40 && f.len == 15 && f.name_len == 4);
  CHECK(rfc822_field_next(h, n, &pos, &f) == 0);
  pos = 0;
  CHECK(rfc822_field_next(" x\n", 3, &pos, &f) == -1 && errno == EINVAL);
  pos = 0;
  CHECK(rfc822_field_next("", 0, &pos, &f) == 0);
}

static void lists(void)
{
  CHECK(good("a@b.c", &q, "a@b.c", "a@b.c"));
  CHECK(good(" joe ", &q, " joe@dom.example ", "joe@dom.example"));
  CHECK(good("joe", 0, "joe", "joe"));
  CHECK(good("joe, ann@x", &q, "joe@dom.example, ann@x", "joe@dom.example ann@x"));
  CHECK(good("Joe Q. Public <jqp@x.org>", &q, "Joe Q. Public <jqp@x.org>", "jqp@x.org"));
  CHECK(good("\"Doe, John\" <jd@x>, other@y", &q, "\"Doe, John\" <jd@x>, other@y", "jd@x other@y"));
  CHECK(good("Name <bare>", &q, "Name <bare@dom.example>", "bare@dom.example"));
  CHECK(good("a@b (comment, with <specials>)", &q, "a@b (comment, with <specials>)", "a@b"));
  CHECK(good("(nested (comment)) a@b", &q, "(nested (comment)) a@b", "a@b"));
  CHECK(good("a@host+", &q, "a@host.plus.example", "a@host.plus.example"));
  CHECK(good("N <a@host+> (x)", &q, "N <a@host.plus.example> (x)", "a@host.plus.example"));
  CHECK(good("team: a@x, b;, c@y", &q, "team: a@x, b@dom.example;, c@y", "a@x b@dom.example c@y"));
  CHECK(good("undisclosed-recipients:;", &q, "undisclosed-recipients:;", ""));
  CHECK(good("", &q, "", ""));
  CHECK(good(" , ,a@b,, ", &q, " , ,a@b,, ", "a@b"));
  CHECK(good("<>", &q, "<>", ""));
  CHECK(good("<@r1.x,@r2.y:a@b>", &q, "<@r1.x,@r2.y:a@b>", "a@b"));
  CHECK(good("\"john\"@x", &q, "\"john\"@x", "john@x"));
  CHECK(good("\"john doe\"@x", &q, "\"john doe\"@x", "\"john doe\"@x"));
  CHECK(good("a@[192.0.2.1]", &q, "a@[192.0.2.1]", "a@[192.0.2.1]"));
  CHECK(good("first.last@x.y", &q, "first.last@x.y", "first.last@x.y"));
  CHECK(good("a@b,\n c@d", &q, "a@b,\n c@d", "a@b c@d"));
  CHECK(good("J\xc3\xb6rg <j@x>", &q, "J\xc3\xb6rg <j@x>", "j@x"));
}

static void errors(void)
{
  CHECK(bad("<a@b", "unbalanced angle bracket"));
  CHECK(bad("a@b>", "unbalanced angle bracket"));
  CHECK(bad("Name <a@b, c@d>", "unbalanced angle bracket"));
  CHECK(bad("<a@b:c@d>", "unbalanced angle bracket"));
  CHECK(bad("\"unterminated <a@b>", "unbalanced quote"));
  CHECK(bad("a@b (open comment", "unbalanced parenthesis"));
  CHECK(bad("a@b )", "unbalanced parenthesis"));
  CHECK(bad("a@[1.2.3.4", "domain literal"));
  CHECK(bad("<a@b> <c@d>", "more than one angle address"));
  CHECK(bad("<a@b> trailing", "text after"));
  CHECK(bad("John Smith john@x", "words without a dot"));
  CHECK(bad("a@", "without domain"));
  CHECK(bad("@b", "without local part"));
  CHECK(bad("a@b@c", "bad domain"));
  CHECK(bad("a@b c", "bad domain"));
  CHECK(bad("x;", "outside a group"));
  CHECK(bad("<@r1 a@b>", "bad source route"));
  CHECK(bad("a\\b@c", "backslash"));
  CHECK(bad("a\001b@c", "control character"));
  CHECK(bad("a@b..c", "bad address"));
}

int main(void)
{
  lines();
  fields();
  lists();
  errors();
  return check_done();
}
