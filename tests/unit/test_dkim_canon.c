/* test_dkim_canon.c: DKIM canonicalization (dkim_canon.h) against the
 * examples of RFC 6376 section 3.4.5 and the edge cases of 3.4.3/3.4.4. */
#include "check.h"
#include "dkim_canon.h"

static int body_is(const char *in, size_t n, int relaxed, const char *want, size_t piece)
{
  dkim_body b;
  str out = STR_INIT;
  size_t i, k;
  int ok;
  dkim_body_init(&b, relaxed);
  for (i = 0; i < n; i += k) {
    k = n - i < piece ? n - i : piece;
    if (dkim_body_update(&b, &out, in + i, k) < 0) return 0;
  }
  if (dkim_body_final(&b, &out) < 0) return 0;
  ok = out.len == strlen(want) && (out.len == 0 || memcmp(out.s, want, out.len) == 0);
  str_free(&out);
  return ok;
}

static int header_is(const char *in, int relaxed, const char *want)
{
  str out = STR_INIT;
  int ok;
  if (dkim_canon_header(&out, in, strlen(in), relaxed, 1) < 0) return 0;
  ok = out.len == strlen(want) && memcmp(out.s, want, out.len) == 0;
  str_free(&out);
  return ok;
}

int main(void)
{
  static const char rfcbody[] = " C \r\nD \t E\r\n\r\n\r\n";
  static const char lfbody[] = " C \nD \t E\n\n\n";
  size_t piece;
  /* RFC 6376 3.4.5 */
  CHECK(header_is("A: X", 1, "a:X\r\n"));
  CHECK(header_is("B : Y\t\r\n\tZ  ", 1, "b:Y Z\r\n"));
  CHECK(header_is("A: X", 0, "A: X\r\n"));
  CHECK(header_is("B : Y\t\r\n\tZ  ", 0, "B : Y\t\r\n\tZ  \r\n"));
  /* the queue's LF form gives the same */
  CHECK(header_is("B : Y\t\n\tZ  ", 1, "b:Y Z\r\n"));
  CHECK(header_is("B : Y\t\n\tZ  ", 0, "B : Y\t\r\n\tZ  \r\n"));
  CHECK(header_is("Subject:", 1, "subject:\r\n"));
  CHECK(header_is("SUBJECT:   \t ", 1, "subject:\r\n"));
  for (piece = 1; piece <= sizeof rfcbody; piece++) {
    CHECK(body_is(rfcbody, sizeof rfcbody - 1, 1, " C\r\nD E\r\n", piece));
    CHECK(body_is(rfcbody, sizeof rfcbody - 1, 0, " C \r\nD \t E\r\n", piece));
    CHECK(body_is(lfbody, sizeof lfbody - 1, 1, " C\r\nD E\r\n", piece));
    CHECK(body_is(lfbody, sizeof lfbody - 1, 0, " C \r\nD \t E\r\n", piece));
  }
  /* empty bodies: simple is one CRLF, relaxed nothing */
  CHECK(body_is("", 0, 0, "\r\n", 1));
  CHECK(body_is("", 0, 1, "", 1));
  CHECK(body_is("\r\n\r\n", 4, 0, "\r\n", 1));
  CHECK(body_is("\n \t\n", 4, 1, "", 1));
  /* a last line without a line end gets one */
  CHECK(body_is("abc", 3, 0, "abc\r\n", 1));
  CHECK(body_is("abc  ", 5, 1, "abc\r\n", 2));
  /* a lone CR stays (simple), and is not white space (relaxed) */
  CHECK(body_is("a\rb\n", 4, 0, "a\rb\r\n", 1));
  CHECK(body_is("a \r\n", 4, 1, "a\r\n", 1));
  CHECK(body_is("a\r", 2, 0, "a\r\r\n", 1));
  /* 8-bit bytes pass untouched */
  CHECK(body_is("\xc3\xa9t\xc3\xa9\n", 6, 1, "\xc3\xa9t\xc3\xa9\r\n", 3));
  /* header split: fields, folded lines, the body offset */
  {
    static const char m[] = "From: a@b\nSubject: x\n  y\r\nTo : c\n\nbody\n";
    dkim_field f[4];
    size_t count, body;
    dkim_header_split(m, sizeof m - 1, f, 4, &count, &body);
    CHECK(count == 3);
    CHECK(body == sizeof m - 1 - 5);
    CHECK(f[0].start == 0 && f[0].end == 9 && f[0].namelen == 4);
    CHECK(f[1].start == 10 && f[1].end == 24 && f[1].namelen == 7);
    CHECK(f[2].start == 26 && f[2].namelen == 2);
    CHECK(dkim_field_is(m, &f[2], "to"));
    CHECK(dkim_field_is(m, &f[1], "SUBJECT"));
    dkim_header_split(m, sizeof m - 1, f, 1, &count, &body);
    CHECK(count == 3);
    dkim_header_split("no colon\nx: y\n", 14, f, 4, &count, &body);
    CHECK(count == 0 && body == 0);
    dkim_header_split("a: b", 4, f, 4, &count, &body);
    CHECK(count == 1 && body == 4 && f[0].end == 4);
    CHECK(f[0].value == 2 && f[0].next == 4);
    /* value and next, with CRLF and LF line ends */
    dkim_header_split(m, sizeof m - 1, f, 4, &count, &body);
    CHECK(f[0].value == 5 && f[0].next == 10);
    CHECK(f[1].value == 18 && f[1].next == 26);
    CHECK(f[2].value == 30 && f[2].end == 32 && f[2].next == 33);
    /* a name must be printable ASCII without white space (the
     * injector's and the verifier's rule): any other line starts the
     * body, for the signer as for the verifier */
#define SPLIT(lit) dkim_header_split(lit, sizeof lit - 1, f, 4, &count, &body)
    SPLIT("A: 1\nBad Name: 2\n\nx\n");
    CHECK(count == 1 && body == 5);
    SPLIT("A: 1\n\xc3\xa9: 2\n\nx\n");
    CHECK(count == 1 && body == 5);
    SPLIT("A: 1\nB\t : 2\n\nx\n");
    CHECK(count == 2 && body == 13 && f[1].namelen == 1 && f[1].value == 9);
    /* counting only */
    dkim_header_split(m, sizeof m - 1, 0, 0, &count, &body);
    CHECK(count == 3 && body == sizeof m - 1 - 5);
  }
  /* relaxed: a bare CR is not a line end and stays */
  CHECK(header_is("X: a\rb", 1, "x:a\rb\r\n"));
  CHECK(header_is("X: a\r\n b", 1, "x:a b\r\n"));
  /* the From domain */
  {
    str d = STR_INIT;
#define FROM_IS(m, want) (dkim_from_domain(m, strlen(m), &d) == 0 && str_equals(&d, want))
    CHECK(FROM_IS("From: a@Example.ORG\n\n", "example.org"));
    CHECK(FROM_IS("To: x@y\nFROM : \"Joe @ Home\" <joe@Mail.Example.>\n\nb", "mail.example"));
    CHECK(FROM_IS("From: Joe (a@comment.example) <j@real.example>\n", "real.example"));
    CHECK(FROM_IS("From: j@first.example, k@second.example\n", "first.example"));
    CHECK(FROM_IS("From: j@first.example\nFrom: k@second.example\n", "first.example"));
    CHECK(FROM_IS("From: Folded\n <f@fold.example>\n", "fold.example"));
    CHECK(dkim_from_domain("From: nobody\n", 13, &d) < 0);
    CHECK(dkim_from_domain("To: a@b\n\nFrom: c@d\n", 20, &d) < 0);
    CHECK(dkim_from_domain("From:\n", 6, &d) < 0);
    CHECK(dkim_from_domain("From: a@\n", 9, &d) < 0);
    str_free(&d);
  }
  return check_done();
}
