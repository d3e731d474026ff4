/* test_dsn.c: bounce messages (dsn). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "byte.h"
#include "check.h"
#include "dsn.h"
#include "str.h"

/* The output split into lines (without their LF). */
struct lines {
  const char **p;
  size_t *n;
  size_t count;
};

static void lines_split(struct lines *l, const str *o)
{
  size_t i = 0;
  l->count = 0;
  l->p = malloc((o->len + 1) * sizeof *l->p);
  l->n = malloc((o->len + 1) * sizeof *l->n);
  if (!l->p || !l->n) { check_outs("out of memory\n"); exit(1); }
  while (i < o->len) {
    size_t e = i + byte_chr(o->s + i, o->len - i, '\n');
    l->p[l->count] = o->s + i;
    l->n[l->count] = e - i;
    ++l->count;
    i = e + 1;
  }
}

static void lines_free(struct lines *l)
{
  free(l->p);
  free(l->n);
}

static int line_is(const struct lines *l, size_t i, const char *s)
{
  return i < l->count && l->n[i] == strlen(s) && memcmp(l->p[i], s, l->n[i]) == 0;
}

static int line_starts(const struct lines *l, size_t i, const char *s)
{
  return i < l->count && l->n[i] >= strlen(s) && memcmp(l->p[i], s, strlen(s)) == 0;
}

/* Index of the first line from i on equal to s, or l->count. */
static size_t line_find(const struct lines *l, size_t i, const char *s)
{
  for (; i < l->count; ++i) if (line_is(l, i, s)) break;
  return i;
}

static size_t line_find_prefix(const struct lines *l, size_t i, const char *s)
{
  for (; i < l->count; ++i) if (line_starts(l, i, s)) break;
  return i;
}

static size_t line_count(const struct lines *l, const char *s)
{
  size_t i, c = 0;
  for (i = 0; i < l->count; ++i) c += line_is(l, i, s);
  return c;
}

static size_t count_prefix(const struct lines *l, size_t from, size_t to, const char *s)
{
  size_t c = 0;
  for (; from < to && from < l->count; ++from) c += line_starts(l, from, s);
  return c;
}

static int has_byte(const str *o, char c)
{
  return byte_chr(o->s, o->len, c) < o->len;
}

static const char original[] =
  "Received: (sluice 4242 invoked by uid 1000); 22 Nov 2024 01:46:40 -0000\n"
  "From: Alice <alice@example.com>\n"
  "To: bob@x.example\n"
  "Subject: are you there?\n"
  "\n"
  "Just checking.\n";

static void setup(struct dsn_message *m, struct dsn_recipient *r, size_t n)
{
  memset(m, 0, sizeof *m);
  m->host = "mx.example.org";
  m->from = "MAILER-DAEMON@mx.example.org";
  m->to = "alice@example.com";
  m->sender = "alice@example.com";
  m->queue_id = 4242;
  m->arrival = 1732240000;
  m->now = 1732245872;
  m->token = "1732245872.12345.67890";
  m->rcpt = r;
  m->rcpt_count = n;
  m->original = original;
  m->original_len = sizeof original - 1;
}

static void set_rcpt(struct dsn_recipient *r, const char *addr, const char *text, size_t len)
{
  memset(r, 0, sizeof *r);
  r->addr = addr;
  r->text = text;
  r->textlen = len;
}

/* Copies the boundary out of the Content-Type line into b; 1 when found. */
static int get_boundary(const struct lines *l, str *b)
{
  size_t i = line_find_prefix(l, 0, "Content-Type: multipart/report; report-type=delivery-status; boundary=\"");
  size_t k = strlen("Content-Type: multipart/report; report-type=delivery-status; boundary=\"");
  if (i == l->count || l->n[i] < k + 2 || l->p[i][l->n[i] - 1] != '"') return 0;
  return str_copyb(b, l->p[i] + k, l->n[i] - k - 1) == 0;
}

/* Checks the whole RFC 3464 structure; returns the index of the first
 * line of the delivery-status part body through *report and that of
 * the headers part body through *hdrs. */
static void check_structure(const str *o, const struct lines *l, size_t *report, size_t *hdrs)
{
  str b = STR_INIT, delim = STR_INIT, close = STR_INIT;
  size_t end, i, d1, d2, d3, d4;

  end = line_find(l, 0, "");
  CHECK(end < l->count);
  CHECK(count_prefix(l, 0, end, "Date: ") == 1);
  CHECK(count_prefix(l, 0, end, "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>") == 1);
  CHECK(count_prefix(l, 0, end, "To: <") == 1);
  CHECK(count_prefix(l, 0, end, "Subject: ") == 1);
  CHECK(count_prefix(l, 0, end, "Message-ID: <1732245872.12345.67890.bounce@mx.example.org>") == 1);
  CHECK(count_prefix(l, 0, end, "Auto-Submitted: auto-replied") == 1);
  CHECK(count_prefix(l, 0, end, "MIME-Version: 1.0") == 1);
  CHECK(get_boundary(l, &b));
  CHECK(b.len > 0 && b.len <= 70);
  CHECK(str_copys(&delim, "--") == 0 && str_cat(&delim, &b) == 0 && str_0(&delim) == 0);
  CHECK(str_copy(&close, &delim) == 0 && str_cats(&close, "--") == 0 && str_0(&close) == 0);
  CHECK(line_count(l, delim.s) == 3);
  CHECK(line_count(l, close.s) == 1);
  d1 = line_find(l, 0, delim.s);
  d2 = line_find(l, d1 + 1, delim.s);
  d3 = line_find(l, d2 + 1, delim.s);
  d4 = line_find(l, 0, close.s);
  CHECK(end < d1 && d1 < d2 && d2 < d3 && d3 < d4);
  CHECK(d4 == l->count - 1);
  CHECK(line_is(l, d1 + 1, "Content-Type: text/plain; charset=us-ascii"));
  CHECK(line_is(l, d2 + 1, "Content-Type: message/delivery-status"));
  CHECK(line_is(l, d3 + 1, "Content-Type: text/rfc822-headers"));
  CHECK(line_is(l, d1 + 3, "") && line_is(l, d2 + 3, "") && line_is(l, d3 + 3, ""));
  CHECK(line_is(l, d2 + 4, "Reporting-MTA: dns; mx.example.org"));
  CHECK(count_prefix(l, d2, d3, "Arrival-Date: ") == 1);
  CHECK(line_is(l, d1 + 4, "This is the mail system at mx.example.org."));
  /* the message ends with LF; no CR anywhere */
  CHECK(o->len > 0 && o->s[o->len - 1] == '\n');
  CHECK(!has_byte(o, '\r'));
  /* header and report lines fit RFC 5322, and are printable ASCII */
  for (i = 0; i < l->count; ++i) {
    if (i < end || (i > d2 && i < d3)) {
      size_t k;
      int clean = 1;
      CHECK(l->n[i] <= 998);
      for (k = 0; k < l->n[i]; ++k)
        if ((unsigned char)l->p[i][k] < 0x20 || (unsigned char)l->p[i][k] >= 0x7f) clean = 0;
      CHECK(clean);
    }
  }
  *report = d2 + 4;
  *hdrs = d3 + 4;
  str_free(&b);
  str_free(&delim);
  str_free(&close);
}

static void test_status(void)
{
  struct dsn_status st = { 0, 0, 0 };
  size_t rest = 99;
  char b[DSN_STATUS_MAX];

  CHECK(dsn_status_from_text("5.1.1 user unknown", 18, &st, &rest) == 1);
  CHECK(st.cls == 5 && st.subject == 1 && st.detail == 1 && rest == 6);
  CHECK(dsn_status_from_text("4.4.7 too old", 13, &st, &rest) == 1);
  CHECK(st.cls == 4 && st.subject == 4 && st.detail == 7 && rest == 6);
  CHECK(dsn_status_from_text("5.1.1", 5, &st, &rest) == 1 && rest == 5 && st.cls == 5);
  st.cls = 7;
  CHECK(dsn_status_from_text("550 5.1.1 no", 12, &st, &rest) == 0 && rest == 0 && st.cls == 7);
  CHECK(dsn_status_from_text("9.9.9 x", 7, &st, &rest) == 0);
  CHECK(dsn_status_from_text("5.1000.1 x", 10, &st, &rest) == 0);
  CHECK(dsn_status_from_text("5.1.1000", 8, &st, &rest) == 0);
  CHECK(dsn_status_from_text("5.1.1x", 6, &st, &rest) == 0);
  CHECK(dsn_status_from_text("5.1", 3, &st, &rest) == 0);
  CHECK(dsn_status_from_text("5..1 x", 6, &st, &rest) == 0);
  CHECK(dsn_status_from_text("", 0, &st, &rest) == 0);
  CHECK(dsn_status_from_text("2.0.0 ok", 8, &st, &rest) == 1 && st.cls == 2);
  CHECK(dsn_status_from_text("5.999.999\n  more", 16, &st, &rest) == 1 && rest == 12);
  CHECK(st.subject == 999 && st.detail == 999);
  CHECK_BYTES(b, dsn_status_fmt(b, &st), "5.999.999");
  {
    struct dsn_recipient r;
    set_rcpt(&r, "a@b", "no code here", 12);
    dsn_status_of(&r, &st);
    CHECK_BYTES(b, dsn_status_fmt(b, &st), "5.0.0");
    r.expired = 1;
    dsn_status_of(&r, &st);
    CHECK_BYTES(b, dsn_status_fmt(b, &st), "4.0.0");
    set_rcpt(&r, "a@b", "5.7.1 refused", 13);
    r.expired = 1;
    dsn_status_of(&r, &st);
    CHECK_BYTES(b, dsn_status_fmt(b, &st), "5.7.1");
    set_rcpt(&r, "a@b", "2.0.0 odd", 9);
    dsn_status_of(&r, &st);
    CHECK_BYTES(b, dsn_status_fmt(b, &st), "5.0.0");
  }
}

static void test_one(void)
{
  struct dsn_message m;
  struct dsn_recipient r[1];
  str o = STR_INIT;
  struct lines l;
  size_t rep, hdr, i;

  set_rcpt(&r[0], "bob@x.example", "5.1.1 user unknown", 18);
  r[0].remote_mta = "mx.x.example";
  setup(&m, r, 1);
  CHECK(str_copys(&o, "keep") == 0);
  CHECK(dsn_compose(&o, &m) == 0);
  CHECK(byte_startswith(o.s, o.len, "keepDate: ", 0));
  /* compose again into an empty string for the line checks */
  str_truncate(&o, 0);
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  check_structure(&o, &l, &rep, &hdr);
  CHECK(line_find(&l, 0, "To: <alice@example.com>") < l.count);
  CHECK(line_find(&l, 0, "Subject: Undelivered mail: returned to sender") < l.count);
  i = line_find(&l, 0, "<bob@x.example>:");
  CHECK(i < rep);
  CHECK(line_is(&l, i + 1, "user unknown (#5.1.1)"));
  CHECK(line_is(&l, i + 2, "Remote server: mx.x.example"));
  CHECK(line_is(&l, rep + 1, "X-Sluice-Queue-ID: 4242"));
  CHECK(line_is(&l, rep + 2, "X-Sluice-Sender: rfc822; alice@example.com"));
  CHECK(line_is(&l, rep + 4, ""));
  CHECK(line_is(&l, rep + 5, "Final-Recipient: rfc822; bob@x.example"));
  CHECK(line_is(&l, rep + 6, "Action: failed"));
  CHECK(line_is(&l, rep + 7, "Status: 5.1.1"));
  CHECK(line_is(&l, rep + 8, "Remote-MTA: dns; mx.x.example"));
  CHECK(line_is(&l, rep + 9, "Diagnostic-Code: smtp; 5.1.1 user unknown"));
  CHECK(line_starts(&l, rep + 10, "Last-Attempt-Date: "));
  /* the original header, Received line first, then the delimiter */
  CHECK(line_starts(&l, hdr, "Received: (sluice 4242 invoked"));
  CHECK(line_is(&l, hdr + 3, "Subject: are you there?"));
  CHECK(line_is(&l, hdr + 4, ""));
  CHECK(line_find(&l, 0, "Just checking.") == l.count);
  lines_free(&l);
  str_free(&o);
}

static void test_three(void)
{
  static const char *addrs[3] = { "a@one.example", "b@two.example", "c@three.example" };
  static const char *status[3] = { "Status: 5.1.1", "Status: 5.0.0", "Status: 4.0.0" };
  struct dsn_message m;
  struct dsn_recipient r[3];
  str o = STR_INIT;
  struct lines l;
  size_t rep, hdr, i, at;

  set_rcpt(&r[0], addrs[0], "5.1.1 no mailbox here by that name", 34);
  set_rcpt(&r[1], addrs[1], "mailbox is a directory\nwith a second line", 41);
  r[1].diag_type = DSN_DIAG_SLUICE;
  set_rcpt(&r[2], addrs[2], "connection refused", 18);
  r[2].expired = 1;
  r[2].last_attempt = 1732245000;
  setup(&m, r, 3);
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  check_structure(&o, &l, &rep, &hdr);
  at = rep;
  for (i = 0; i < 3; ++i) {
    str want = STR_INIT;
    CHECK(str_copys(&want, "Final-Recipient: rfc822; ") == 0 && str_cats(&want, addrs[i]) == 0 && str_0(&want) == 0);
    at = line_find(&l, at, want.s);
    CHECK(at < hdr);
    CHECK(line_is(&l, at - 1, ""));
    CHECK(line_is(&l, at + 1, "Action: failed"));
    CHECK(line_is(&l, at + 2, status[i]));
    str_free(&want);
  }
  CHECK(line_find(&l, rep, "Diagnostic-Code: X-sluice; mailbox is a directory with a second line") < hdr);
  CHECK(count_prefix(&l, rep, hdr, "Final-Recipient: ") == 3);
  i = line_find(&l, 0, "<b@two.example>:");
  CHECK(line_is(&l, i + 1, "mailbox is a directory"));
  CHECK(line_is(&l, i + 2, "with a second line (#5.0.0)"));
  i = line_find(&l, 0, "<c@three.example>:");
  CHECK(line_is(&l, i + 1, "connection refused"));
  CHECK(line_starts(&l, i + 2, "I gave up"));
  CHECK(l.n[i + 2] > 8 && byte_equal(l.p[i + 2] + l.n[i + 2] - 8, "(#4.0.0)", 8));
  lines_free(&l);
  str_free(&o);
}

static void test_double(void)
{
  static const char bounce[] =
    "Received: (sluice 77 invoked for bounce); 22 Nov 2024 01:46:40 -0000\n"
    "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n"
    "Subject: Undelivered mail: returned to sender\n"
    "\n"
    "body\n";
  struct dsn_message m;
  struct dsn_recipient r[1];
  str o = STR_INIT;
  struct lines l;
  size_t rep, hdr;

  set_rcpt(&r[0], "alice@example.com", "5.1.1 no such user", 18);
  setup(&m, r, 1);
  m.doublebounce = 1;
  m.to = "postmaster@mx.example.org";
  m.sender = "";
  m.original = bounce;
  m.original_len = sizeof bounce - 1;
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  check_structure(&o, &l, &rep, &hdr);
  CHECK(line_find(&l, 0, "Subject: Undeliverable bounce") < rep);
  CHECK(line_find(&l, 0, "To: <postmaster@mx.example.org>") < rep);
  CHECK(line_find(&l, rep, "X-Sluice-Sender: rfc822; <>") < hdr);
  CHECK(line_find(&l, rep, "Final-Recipient: rfc822; alice@example.com") < hdr);
  CHECK(line_starts(&l, hdr, "Received: (sluice 77 invoked for bounce)"));
  lines_free(&l);
  str_free(&o);
}

static void test_no_separator(void)
{
  static const char msg[] =
    "Received: (sluice 1 invoked); x\n"
    "Subject: no body\n"
    "X-Last: unterminated";
  struct dsn_message m;
  struct dsn_recipient r[1];
  str o = STR_INIT, big = STR_INIT;
  struct lines l;
  size_t rep, hdr, i;

  set_rcpt(&r[0], "bob@x.example", "5.1.1 gone", 10);
  setup(&m, r, 1);
  m.original = msg;
  m.original_len = sizeof msg - 1;
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  check_structure(&o, &l, &rep, &hdr);
  CHECK(line_is(&l, hdr + 1, "Subject: no body"));
  CHECK(line_is(&l, hdr + 2, "X-Last: unterminated"));
  CHECK(line_is(&l, hdr + 3, ""));
  lines_free(&l);

  /* a long original without a blank line is cut at a line end by the cap */
  for (i = 0; i < 5000; ++i) if (str_cats(&big, "X-Filler: 0123456789012345678901234567890123456789\n") < 0) break;
  CHECK(big.len == 5000 * 51);
  m.original = big.s;
  m.original_len = big.len;
  m.headers_cap = 1000;
  str_truncate(&o, 0);
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  check_structure(&o, &l, &rep, &hdr);
  CHECK(count_prefix(&l, hdr, l.count, "X-Filler: ") == 1000 / 51);
  CHECK(line_is(&l, hdr + 1000 / 51, ""));
  lines_free(&l);
  m.headers_cap = 0;
  str_truncate(&o, 0);
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  check_structure(&o, &l, &rep, &hdr);
  CHECK(count_prefix(&l, hdr, l.count, "X-Filler: ") == DSN_HEADERS_CAP_DEFAULT / 51);
  lines_free(&l);

  /* an empty original still gives a well-formed third part */
  m.original = 0;
  m.original_len = 0;
  str_truncate(&o, 0);
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  check_structure(&o, &l, &rep, &hdr);
  lines_free(&l);
  str_free(&o);
  str_free(&big);
}

static void test_boundary_clash(void)
{
  struct dsn_message m;
  struct dsn_recipient r[1];
  str o = STR_INIT, b1 = STR_INIT, b2 = STR_INIT, msg = STR_INIT;
  struct lines l;
  size_t rep, hdr;
  int k;

  set_rcpt(&r[0], "bob@x.example", "5.1.1 gone", 10);
  setup(&m, r, 1);
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  CHECK(get_boundary(&l, &b1));
  lines_free(&l);

  /* the original carries that boundary and its first variations */
  CHECK(str_copys(&msg, "Received: (sluice 1 invoked); x\n") == 0);
  for (k = 0; k < 3; ++k) {
    CHECK(str_cats(&msg, "X-Trap: --") == 0 && str_cat(&msg, &b1) == 0);
    if (k) CHECK(str_catc(&msg, '_') == 0 && str_catulong(&msg, (unsigned long)k) == 0 && str_catc(&msg, '_') == 0);
    CHECK(str_catc(&msg, '\n') == 0);
  }
  CHECK(str_cats(&msg, "--") == 0 && str_cat(&msg, &b1) == 0 && str_cats(&msg, "--\n\nbody\n") == 0);
  m.original = msg.s;
  m.original_len = msg.len;
  str_truncate(&o, 0);
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  check_structure(&o, &l, &rep, &hdr);
  CHECK(get_boundary(&l, &b2));
  CHECK(!(b1.len == b2.len && byte_equal(b1.s, b2.s, b1.len)));
  CHECK(line_starts(&l, hdr + 1, "X-Trap: --=_sluice_"));
  lines_free(&l);

  /* the token's text in a diagnostic is dodged the same way */
  set_rcpt(&r[0], "bob@x.example", "5.1.1 --=_sluice_1732245872.12345.67890", 39);
  m.original = original;
  m.original_len = sizeof original - 1;
  str_truncate(&o, 0);
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  check_structure(&o, &l, &rep, &hdr);
  CHECK(get_boundary(&l, &b2));
  CHECK(!(b1.len == b2.len && byte_equal(b1.s, b2.s, b1.len)));
  lines_free(&l);
  str_free(&o);
  str_free(&b1);
  str_free(&b2);
  str_free(&msg);
}

static void test_hostile(void)
{
  static const char nasty[] = "5.1.1 bad\r\nBcc: evil@x\r\n\0nul\x80\xff\x1b[31m\x7f\n\n\n.\r";
  static const char nasty_hdr[] =
    "Received: (sluice 1 invoked); x\n"
    "Subject: caf\xc3\xa9 \r\x01 x\n"
    "\n";
  struct dsn_message m;
  struct dsn_recipient r[2];
  str o = STR_INIT, longtext = STR_INIT;
  struct lines l;
  size_t rep, hdr, i;

  set_rcpt(&r[0], "bob\r\n@x.example", nasty, sizeof nasty - 1);
  r[0].remote_mta = "mx\n.x.example";
  CHECK(str_copys(&longtext, "5.2.2 ") == 0);
  for (i = 0; i < 5000; ++i) if (str_catc(&longtext, (char)('a' + i % 26)) < 0) break;
  set_rcpt(&r[1], "c@y.example", longtext.s, longtext.len);
  setup(&m, r, 2);
  m.to = "alice\n@example.com";
  m.original = nasty_hdr;
  m.original_len = sizeof nasty_hdr - 1;
  CHECK(dsn_compose(&o, &m) == 0);
  CHECK(!has_byte(&o, '\r'));
  CHECK(!has_byte(&o, '\0'));
  lines_split(&l, &o);
  check_structure(&o, &l, &rep, &hdr);
  CHECK(line_find(&l, 0, "To: <alice @example.com>") < rep);
  CHECK(line_find(&l, rep, "Final-Recipient: rfc822; bob @x.example") < hdr);
  CHECK(line_find(&l, rep, "Diagnostic-Code: smtp; 5.1.1 bad Bcc: evil@x ?nul???[31m? .") < hdr);
  CHECK(line_find(&l, rep, "Remote-MTA: dns; mx .x.example") < hdr);
  CHECK(line_find_prefix(&l, 0, "Bcc:") > line_find(&l, 0, "")); /* only in the text part */
  CHECK(line_find_prefix(&l, rep, "Bcc:") == l.count);
  i = line_find_prefix(&l, rep, "Diagnostic-Code: smtp; 5.2.2 abc");
  CHECK(i < hdr && l.n[i] == 998);
  CHECK(line_is(&l, hdr + 1, "Subject: caf?? ?? x"));
  /* the readable text: every line printable, none too long */
  i = line_find(&l, 0, "<bob @x.example>:");
  CHECK(line_is(&l, i + 1, "bad"));
  CHECK(line_is(&l, i + 2, "Bcc: evil@x"));
  CHECK(line_is(&l, i + 3, "?nul???[31m?"));
  CHECK(line_is(&l, i + 4, ". (#5.1.1)"));
  for (i = 0; i < l.count; ++i) CHECK(l.n[i] <= 998);
  lines_free(&l);
  str_free(&o);
  str_free(&longtext);
}

static void test_qsbmf(void)
{
  struct dsn_message m;
  struct dsn_recipient r[2];
  str o = STR_INIT;
  struct lines l;
  size_t end, i;

  set_rcpt(&r[0], "bob@x.example", "5.1.1 Sorry, no mailbox here by that name.", 42);
  set_rcpt(&r[1], "c@y.example", "timed out\n\nwhile connecting", 27);
  r[1].expired = 1;
  setup(&m, r, 2);
  m.format = DSN_QSBMF;
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  end = line_find(&l, 0, "");
  CHECK(count_prefix(&l, 0, end, "Date: ") == 1);
  CHECK(count_prefix(&l, 0, end, "From: MAILER-DAEMON@mx.example.org") == 1);
  CHECK(count_prefix(&l, 0, end, "To: <alice@example.com>") == 1);
  CHECK(count_prefix(&l, 0, end, "Subject: failure notice") == 1);
  CHECK(count_prefix(&l, 0, end, "MIME-Version:") == 0);
  CHECK(line_is(&l, end + 1, "Hi. This is the qmail-send program at mx.example.org."));
  i = line_find(&l, end, "<bob@x.example>:");
  CHECK(i < l.count && line_is(&l, i - 1, ""));
  CHECK(line_is(&l, i + 1, "Sorry, no mailbox here by that name. (#5.1.1)"));
  CHECK(line_is(&l, i + 2, ""));
  CHECK(line_is(&l, i + 3, "<c@y.example>:"));
  CHECK(line_is(&l, i + 4, "timed out"));
  CHECK(line_is(&l, i + 5, "while connecting"));
  CHECK(line_starts(&l, i + 6, "I gave up"));
  CHECK(line_is(&l, i + 7, ""));
  CHECK(line_is(&l, i + 8, "--- Below this line is a copy of the message."));
  CHECK(line_is(&l, i + 9, ""));
  CHECK(o.len >= sizeof original - 1 &&
        byte_equal(o.s + o.len - (sizeof original - 1), original, sizeof original - 1));
  lines_free(&l);

  /* the copy is capped at a line end; an unterminated end gets its LF */
  m.qsbmf_cap = 40;
  str_truncate(&o, 0);
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  i = line_find(&l, 0, "--- Below this line is a copy of the message.");
  CHECK(line_is(&l, i + 1, ""));
  /* no line end within the cap: cut there */
  CHECK(i + 3 == l.count && l.n[i + 2] == 40 && line_starts(&l, i + 2, "Received: (sluice 4242"));
  lines_free(&l);
  m.qsbmf_cap = 120;
  str_truncate(&o, 0);
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  i = line_find(&l, 0, "--- Below this line is a copy of the message.");
  CHECK(line_starts(&l, i + 2, "Received: (sluice 4242"));
  CHECK(line_is(&l, i + 3, "From: Alice <alice@example.com>"));
  CHECK(i + 4 == l.count);
  lines_free(&l);
  m.qsbmf_cap = 0;
  m.original = "no newline";
  m.original_len = 10;
  str_truncate(&o, 0);
  CHECK(dsn_compose(&o, &m) == 0);
  CHECK(o.len > 11 && byte_equal(o.s + o.len - 11, "no newline\n", 11));
  str_free(&o);
}

static void test_errors(void)
{
  struct dsn_message m;
  struct dsn_recipient r[1];
  str o = STR_INIT;

  set_rcpt(&r[0], "bob@x.example", "5.1.1 gone", 10);
  setup(&m, r, 0);
  CHECK(str_copys(&o, "old") == 0);
  errno = 0;
  CHECK(dsn_compose(&o, &m) == -1 && errno == EINVAL && str_equals(&o, "old"));
  setup(&m, r, 1);
  m.host = 0;
  errno = 0;
  CHECK(dsn_compose(&o, &m) == -1 && errno == EINVAL && str_equals(&o, "old"));
  setup(&m, r, 1);
  r[0].addr = 0;
  CHECK(dsn_compose(&o, &m) == -1 && errno == EINVAL);
  r[0].addr = "bob@x.example";
  /* a time that does not convert fails cleanly */
  m.now = (time_t)1 << 62;
  errno = 0;
  CHECK(dsn_compose(&o, &m) == -1 && errno == EOVERFLOW && str_equals(&o, "old"));
  str_free(&o);
}

/* DSN parameters: ENVID, ORCPT, RET=FULL (RFC 3461, 3464). */
static void test_dsn_params(void)
{
  struct dsn_message m;
  struct dsn_recipient r[2];
  str o = STR_INIT;
  struct lines l;
  size_t i;

  set_rcpt(&r[0], "bob@x.example", "5.1.1 user unknown", 18);
  r[0].orcpt = "rfc822;Bob@Old.example";
  set_rcpt(&r[1], "carol@x.example", "5.1.1 user unknown", 18);
  setup(&m, r, 2);
  m.envid = "QQ314159\nX-Injected: yes";
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  i = line_find(&l, 0, "Content-Type: message/delivery-status");
  CHECK(i < l.count);
  /* the envid first in the per-message block, its LF made harmless */
  CHECK(line_is(&l, i + 3, "Original-Envelope-Id: QQ314159 X-Injected: yes"));
  CHECK(line_find(&l, 0, "X-Injected: yes") == l.count);
  i = line_find(&l, 0, "Original-Recipient: rfc822;Bob@Old.example");
  CHECK(i < l.count && line_is(&l, i + 1, "Final-Recipient: rfc822; bob@x.example"));
  CHECK(line_count(&l, "Original-Recipient: rfc822;Bob@Old.example") == 1);
  CHECK(count_prefix(&l, 0, l.count, "Original-Recipient:") == 1);
  CHECK(line_find(&l, 0, "Content-Type: text/rfc822-headers") < l.count);
  CHECK(line_find(&l, 0, "Just checking.") == l.count);
  lines_free(&l);
  /* RET=FULL: the body comes back */
  m.ret_full = 1;
  m.envid = 0;
  str_truncate(&o, 0);
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  CHECK(line_find(&l, 0, "Content-Type: message/rfc822") < l.count);
  CHECK(line_find(&l, 0, "Content-Type: text/rfc822-headers") == l.count);
  CHECK(line_find(&l, 0, "Just checking.") < l.count);
  CHECK(count_prefix(&l, 0, l.count, "Original-Envelope-Id:") == 0);
  lines_free(&l);
  /* successes only: delivered, relayed, 2.0.0, a subject of its own */
  m.ret_full = 0;
  r[0].success = DSN_DELIVERED;
  r[1].success = DSN_RELAYED;
  r[1].text = "250 ok";
  r[1].textlen = 6;
  str_truncate(&o, 0);
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  CHECK(line_find(&l, 0, "Subject: Successful mail delivery report") < l.count);
  i = line_find(&l, 0, "Final-Recipient: rfc822; bob@x.example");
  CHECK(i < l.count && line_is(&l, i + 1, "Action: delivered") && line_is(&l, i + 2, "Status: 2.0.0"));
  i = line_find(&l, 0, "Final-Recipient: rfc822; carol@x.example");
  CHECK(i < l.count && line_is(&l, i + 1, "Action: relayed") && line_is(&l, i + 2, "Status: 2.0.0"));
  CHECK(count_prefix(&l, 0, l.count, "Action: failed") == 0);
  lines_free(&l);
  /* mixed: the failure subject */
  r[1].success = 0;
  str_truncate(&o, 0);
  CHECK(dsn_compose(&o, &m) == 0);
  lines_split(&l, &o);
  CHECK(line_find(&l, 0, "Subject: Undelivered mail: returned to sender") < l.count);
  CHECK(line_count(&l, "Action: delivered") == 1 && line_count(&l, "Action: failed") == 1);
  lines_free(&l);
  str_free(&o);
}

int main(void)
{
  test_status();
  test_one();
  test_three();
  test_double();
  test_no_separator();
  test_boundary_clash();
  test_hostile();
  test_qsbmf();
  test_errors();
  test_dsn_params();
  return check_done();
}
