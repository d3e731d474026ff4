/* test_rfc822.c: rfc822_line_kind, rfc822_field_name, rfc822_field_next,
 * rfc822_addrlist (groups, comments, quoted strings, angle addresses,
 * qualification by qmail-inject's rules, the lenient readings, errors),
 * rfc822_qualify_host. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "rfc822.h"
#include "str.h"

/* bare local parts and the '+' rule only (no dotless rule) */
static const struct rfc822_qualify q = { "dom.example", 0, "plus.example", 0, 0 };
/* qmail-inject's rules in full: defaulthost, defaultdomain, plusdomain,
 * and names of this host that stay as they are */
static str keep = STR_INIT;
static struct rfc822_qualify qfull = { "host.example", "dom.example", "plus.example", &keep, 0 };
static struct rfc822_qualify qlenient = { "host.example", "dom.example", "plus.example", &keep, 1 };

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
static int bad_q(const char *in, const struct rfc822_qualify *qq, const char *want)
{
  str rew = STR_INIT, addrs = STR_INIT;
  size_t n = 7;
  const char *err = 0;
  int r = rfc822_addrlist(in, strlen(in), qq, &rew, &addrs, &n, &err);
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

static int bad(const char *in, const char *want) { return bad_q(in, &q, want); }

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

/* qmail-inject's rules: bare names get defaulthost, dotless hosts
 * defaultdomain, unless they are names of this host (keep) */
static void qualify(void)
{
  str h = STR_INIT;
  str_copyb(&keep, "localhost\0myhost\0", 17);
  CHECK(good("fred", &qfull, "fred@host.example", "fred@host.example"));
  CHECK(good("fred@box", &qfull, "fred@box.dom.example", "fred@box.dom.example"));
  CHECK(good("Fred <fred@box> (c)", &qfull, "Fred <fred@box.dom.example> (c)", "fred@box.dom.example"));
  CHECK(good("fred@a.b", &qfull, "fred@a.b", "fred@a.b"));
  CHECK(good("fred@LocalHost, root@myhost", &qfull, "fred@LocalHost, root@myhost", "fred@LocalHost root@myhost"));
  CHECK(good("fred@box+", &qfull, "fred@box.plus.example", "fred@box.plus.example"));
  CHECK(good("fred@a.b+", &qfull, "fred@a.b.plus.example", "fred@a.b.plus.example"));
  CHECK(good("fred@[192.0.2.1]", &qfull, "fred@[192.0.2.1]", "fred@[192.0.2.1]"));
  CHECK(good("team: a, b@c;", &qfull, "team: a@host.example, b@c.dom.example;", "a@host.example b@c.dom.example"));
  CHECK(good("a@b", 0, "a@b", "a@b"));
  CHECK(good("a@b", &q, "a@b", "a@b")); /* no domain: no dotless rule */
  CHECK(rfc822_qualify_host(&qfull, "box", 3, &h) == 0 && str_equals(&h, "box.dom.example"));
  str_truncate(&h, 0);
  CHECK(rfc822_qualify_host(&qfull, "mx.example.org", 14, &h) == 0 && str_equals(&h, "mx.example.org"));
  str_truncate(&h, 0);
  CHECK(rfc822_qualify_host(&qfull, "localhost", 9, &h) == 0 && str_equals(&h, "localhost"));
  str_truncate(&h, 0);
  CHECK(rfc822_qualify_host(&qfull, "box+", 4, &h) == 0 && str_equals(&h, "box.plus.example"));
  str_truncate(&h, 0);
  CHECK(rfc822_qualify_host(&qfull, "[192.0.2.1]", 11, &h) == 0 && str_equals(&h, "[192.0.2.1]"));
  str_truncate(&h, 0);
  CHECK(rfc822_qualify_host(0, "box", 3, &h) == 0 && str_equals(&h, "box"));
  str_free(&h);
}

/* the lenient readings: ';' as ',', a name without <> before an address */
static void lenient(void)
{
  CHECK(good("a@x.org; b@y.org", &qlenient, "a@x.org, b@y.org", "a@x.org b@y.org"));
  CHECK(good("a@x.org;b@y.org;", &qlenient, "a@x.org,b@y.org,", "a@x.org b@y.org"));
  CHECK(good("Joe Bloggs j@x.org", &qlenient, "Joe Bloggs <j@x.org>", "j@x.org"));
  CHECK(good("\"Joe B.\" j.b@x.org (c), Ann <a@y.org>", &qlenient, "\"Joe B.\" <j.b@x.org> (c), Ann <a@y.org>",
             "j.b@x.org a@y.org"));
  CHECK(good("Joe Q. Bloggs j@box", &qlenient, "Joe Q. Bloggs <j@box.dom.example>", "j@box.dom.example"));
  CHECK(good("team: a; b@x.org; c", &qlenient, "team: a@host.example; b@x.org, c@host.example",
             "a@host.example b@x.org c@host.example"));
  CHECK(good("first.last@x.org", &qlenient, "first.last@x.org", "first.last@x.org"));
  /* dots side by side are the strict reading's business, not a name */
  CHECK(good("a...-'-@x.org", &qlenient, "a...-'-@x.org", "a...-'-@x.org"));
  CHECK(bad_q("Joe Bloggs", &qlenient, "words without a dot"));
  CHECK(bad_q("a@x.org b@y.org", &qlenient, "bad domain"));
  CHECK(bad_q("Joe j@x.org trailing", &qlenient, "bad domain"));
  CHECK(bad_q("a@x.org; b@y.org", &qfull, "outside a group"));
  CHECK(bad_q("Joe Bloggs j@x.org", &qfull, "words without a dot"));
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
  qualify();
  lenient();
  errors();
  return check_done();
}
