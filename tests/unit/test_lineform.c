/* test_lineform.c: the converter to the queue's line form (lineform),
 * fed in pieces of every size so a CR split from its LF is covered. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "lineform.h"
#include "str.h"

/* Converts s[0..n) in pieces of step bytes with lineform_cat. */
static void conv_cat(const char *s, size_t n, size_t step, str *out)
{
  struct lineform l;
  size_t i;

  str_truncate(out, 0);
  lineform_start(&l);
  for (i = 0; i < n; i += step) CHECK(lineform_cat(&l, s + i, n - i < step ? n - i : step, out) == 0);
  CHECK(lineform_cat_end(&l, out) == 0);
  CHECK(l.cr == 0);
}

/* The same with lineform_feed into a plain buffer. */
static size_t conv_feed(const char *s, size_t n, size_t step, char *out)
{
  struct lineform l;
  size_t i, o = 0;

  lineform_start(&l);
  for (i = 0; i < n; i += step) o += lineform_feed(&l, s + i, n - i < step ? n - i : step, out + o);
  o += lineform_end(&l, out + o);
  return o;
}

#define SAME(in, want)                                                                  \
  do {                                                                                  \
    for (size_t step = 1; step <= sizeof in; ++step) {                                 \
      char pb[sizeof in + 1];                                                          \
      size_t o;                                                                         \
      conv_cat(in, sizeof in - 1, step, &out);                                          \
      CHECK(out.len == sizeof want - 1 && (!out.len || !memcmp(out.s, want, out.len)));          \
      o = conv_feed(in, sizeof in - 1, step, pb);                                       \
      CHECK(o == sizeof want - 1 && memcmp(pb, want, o) == 0);                          \
    }                                                                                   \
  } while (0)

int main(void)
{
  str out = STR_INIT;
  struct lineform l;
  char b[4];

  SAME("", "");
  SAME("plain\nlines\n", "plain\nlines\n");
  SAME("no line end", "no line end");
  /* CR LF is a line end */
  SAME("a\r\nb\r\n", "a\nb\n");
  SAME("\r\n\r\n", "\n\n");
  SAME("Subject: x\r\n\r\nbody\r\n", "Subject: x\n\nbody\n");
  /* a bare CR becomes a space, never a line end */
  SAME("a\rb\n", "a b\n");
  SAME("a\r\r\n", "a \n");
  SAME("\r\r\r", "   ");
  SAME("end\r", "end ");
  SAME("\r", " ");
  SAME("x\r.\rBcc: y\r\n", "x . Bcc: y\n");
  SAME("a\n\rb", "a\n b");
  SAME("\n\r\n\r", "\n\n ");
  /* other bytes pass */
  SAME("\0\377\t\n\0", "\0\377\t\n\0");
  SAME("mixed\n\r\nends\r\r\nhere", "mixed\n\nends \nhere");

  /* a CR held back at the end of a piece; an empty piece keeps it */
  lineform_start(&l);
  CHECK(lineform_feed(&l, "a\r", 2, b) == 1 && b[0] == 'a' && l.cr == 1);
  CHECK(lineform_feed(&l, "", 0, b) == 0 && l.cr == 1);
  CHECK(lineform_feed(&l, "\n", 1, b) == 1 && b[0] == '\n' && l.cr == 0);
  CHECK(lineform_end(&l, b) == 0);
  CHECK(lineform_feed(&l, "\r", 1, b) == 0 && l.cr == 1);
  CHECK(lineform_feed(&l, "\r", 1, b) == 1 && b[0] == ' ' && l.cr == 1);
  CHECK(lineform_feed(&l, "z", 1, b) == 2 && b[0] == ' ' && b[1] == 'z' && l.cr == 0);

  /* no room can be asked for: EOVERFLOW, nothing changed */
  str_truncate(&out, 0);
  lineform_start(&l);
  errno = 0;
  CHECK(lineform_cat(&l, "x", (size_t)-1, &out) == -1 && errno == EOVERFLOW && out.len == 0);

  str_free(&out);
  return check_done();
}
