/* test_dotqmail.c: the .qmail lookup chain, safe extensions, line
 * splitting and classification, and whole-file checks (dotqmail.h). */
#include <string.h>

#include "check.h"
#include "dotqmail.h"
#include "str.h"

/* Runs the chain for ext with dash and compares the names and the
 * DEFAULT parts with want: "name|default;name|default;..." where an
 * exact (non-default) name has no '|'. */
static int chain_is(const char *ext, const char *dash, const char *want)
{
  struct dotqmail_search s;
  str name = STR_INIT, got = STR_INIT;
  int isdef, r, ok;
  size_t off;
  dotqmail_search_start(&s, ext, strlen(ext));
  while ((r = dotqmail_search_next(&s, dash, &name, &isdef, &off)) == 1) {
    if (got.len) str_catc(&got, ';');
    str_cat(&got, &name);
    if (name.s[name.len] != 0) { str_free(&name); str_free(&got); return 0; }
    if (isdef) { str_catc(&got, '|'); str_cats(&got, ext + off); }
  }
  ok = r == 0 && got.len == strlen(want) && memcmp(got.s, want, got.len) == 0;
  if (!ok) {
    check_outs("chain got: ");
    check_out(got.s ? got.s : "", got.len);
    check_outs("\n");
  }
  /* exhausted stays exhausted */
  if (dotqmail_search_next(&s, dash, &name, &isdef, &off) != 0) ok = 0;
  str_free(&name);
  str_free(&got);
  return ok;
}

static int kind_is(const char *line, enum dotqmail_kind k, const char *arg)
{
  size_t off, len;
  const char *why;
  enum dotqmail_kind got = dotqmail_classify(line, strlen(line), &off, &len, &why);
  if (got != k) return 0;
  if (!arg) return 1;
  return len == strlen(arg) && memcmp(line + off, arg, len) == 0;
}

static int check_is(const char *text, int want, unsigned long want_line)
{
  const char *why;
  unsigned long line;
  int r = dotqmail_check(text, strlen(text), &why, &line, 0);
  return r == want && line == want_line && (r == 0 || why[0] != 0);
}

int main(void)
{
  str s = STR_INIT;
  size_t pos, off, len;
  unsigned long counts[DOTQMAIL_BAD + 1] = { 0 };
  const char *why;
  unsigned long line;
  const char *t;

  /* safe extensions */
  CHECK(dotqmail_safe_ext(&s, "Foo.Bar-X", 9) == 0);
  CHECK_BYTES(s.s, s.len, "foo:bar-x");
  CHECK(dotqmail_safe_ext(&s, "../../etc", 9) == 0);
  CHECK_BYTES(s.s, s.len, "::/::/etc"); /* no "..": cannot climb */
  CHECK(dotqmail_safe_ext(&s, "", 0) == 0 && s.len == 0);

  /* the chain */
  CHECK(chain_is("", "", ".qmail"));
  CHECK(chain_is("", "-", ".qmail-"));
  CHECK(chain_is("a", "-", ".qmail-a;.qmail-default|a"));
  CHECK(chain_is("a-b-c", "-", ".qmail-a-b-c;.qmail-a-b-default|c;.qmail-a-default|b-c;.qmail-default|a-b-c"));
  CHECK(chain_is("Lists.X-Y", "-", ".qmail-lists:x-y;.qmail-lists:x-default|Y;.qmail-default|Lists.X-Y"));
  CHECK(chain_is("a-", "-", ".qmail-a-;.qmail-a-default|;.qmail-default|a-"));
  CHECK(chain_is("-a", "-", ".qmail--a;.qmail--default|a;.qmail-default|-a"));
  CHECK(chain_is("x", "", ".qmailx;.qmaildefault|x"));

  /* lines */
  t = "one  \t\ntwo\r\n\nlast";
  pos = 0;
  CHECK(dotqmail_line_next(t, strlen(t), &pos, &off, &len) == 1);
  CHECK_BYTES(t + off, len, "one");
  CHECK(dotqmail_line_next(t, strlen(t), &pos, &off, &len) == 1);
  CHECK_BYTES(t + off, len, "two");
  CHECK(dotqmail_line_next(t, strlen(t), &pos, &off, &len) == 1 && len == 0);
  CHECK(dotqmail_line_next(t, strlen(t), &pos, &off, &len) == 1);
  CHECK_BYTES(t + off, len, "last");
  CHECK(dotqmail_line_next(t, strlen(t), &pos, &off, &len) == 0);
  pos = 0;
  CHECK(dotqmail_line_next("", 0, &pos, &off, &len) == 0);

  /* classification */
  CHECK(kind_is("", DOTQMAIL_EMPTY, 0));
  CHECK(kind_is("# comment", DOTQMAIL_COMMENT, 0));
  CHECK(kind_is("#", DOTQMAIL_COMMENT, 0));
  CHECK(kind_is("|/usr/bin/prog -x", DOTQMAIL_PROGRAM, "/usr/bin/prog -x"));
  CHECK(kind_is("|", DOTQMAIL_BAD, 0));
  CHECK(kind_is("./Maildir/", DOTQMAIL_MAILDIR, "./Maildir/"));
  CHECK(kind_is("/var/mail/joe/", DOTQMAIL_MAILDIR, "/var/mail/joe/"));
  CHECK(kind_is("./Mailbox", DOTQMAIL_MBOX, "./Mailbox"));
  CHECK(kind_is("/var/mail/joe", DOTQMAIL_MBOX, "/var/mail/joe"));
  CHECK(kind_is("&joe@example.org", DOTQMAIL_FORWARD, "joe@example.org"));
  CHECK(kind_is("joe@example.org", DOTQMAIL_FORWARD, "joe@example.org"));
  CHECK(kind_is("9lives", DOTQMAIL_FORWARD, "9lives"));
  CHECK(kind_is("&", DOTQMAIL_BAD, 0));
  CHECK(kind_is("& joe", DOTQMAIL_BAD, 0));
  CHECK(kind_is("joe doe", DOTQMAIL_BAD, 0));
  CHECK(kind_is(" ./Maildir/", DOTQMAIL_BAD, 0));
  CHECK(kind_is("-x", DOTQMAIL_BAD, 0));
  CHECK(kind_is("\"q\"@x", DOTQMAIL_BAD, 0));
  {
    char nul[] = "|a\0b";
    CHECK(dotqmail_classify(nul, 4, &off, &len, &why) == DOTQMAIL_BAD && why[0]);
    char ctl[] = "&a\001b";
    CHECK(dotqmail_classify(ctl, 4, &off, &len, &why) == DOTQMAIL_BAD);
  }
  {
    char big[DOTQMAIL_ADDR_MAX + 3];
    memset(big, 'a', sizeof big);
    big[0] = '&';
    CHECK(dotqmail_classify(big, DOTQMAIL_ADDR_MAX + 1, &off, &len, &why) == DOTQMAIL_FORWARD
          && len == DOTQMAIL_ADDR_MAX);
    CHECK(dotqmail_classify(big, DOTQMAIL_ADDR_MAX + 2, &off, &len, &why) == DOTQMAIL_BAD);
  }

  /* whole files */
  CHECK(check_is("./Maildir/\n", 0, 0));
  CHECK(check_is("# only\n# comments\n", 0, 0));
  CHECK(check_is("\n./Maildir/\n", -1, 1));
  CHECK(check_is("  \n./Maildir/\n", -1, 1));
  CHECK(check_is("./Maildir/\n\n\n|true\n", 0, 0));
  CHECK(check_is("./Maildir/\n|true\n  bad\n", -1, 3));
  CHECK(check_is("", 0, 0));
  t = "# c\n|prog\n./Mailbox\n./Maildir/\n&a@b\nc@d\n\n";
  CHECK(dotqmail_check(t, strlen(t), &why, &line, counts) == 0);
  CHECK(counts[DOTQMAIL_COMMENT] == 1 && counts[DOTQMAIL_PROGRAM] == 1 && counts[DOTQMAIL_MBOX] == 1
        && counts[DOTQMAIL_MAILDIR] == 1 && counts[DOTQMAIL_FORWARD] == 2 && counts[DOTQMAIL_EMPTY] == 1);

  str_free(&s);
  return check_done();
}
