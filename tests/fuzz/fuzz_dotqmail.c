/* fuzz_dotqmail.c: the .qmail parser (dotqmail_check, line splitting,
 * classification, the lookup chain) and mbox From_ quoting on
 * arbitrary bytes.
 *
 * Every line must classify within its bounds, with valid lines obeying
 * the documented argument rules; the lookup chain must end, each name
 * starting with ".qmail" and holding no "..". dotqmail_check, which
 * sluice-local runs before it follows a file line by line, must agree
 * with that walk: 0 exactly when no line is bad and the first is not
 * blank, else the number of the first bad line, with every kind
 * counted once per line. The safe extension has the input's length,
 * no '.' and no upper-case letter. Quoting fed in two
 * pieces must equal quoting fed at once, and removing one '>' from
 * every quoted line start must give the input back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dotqmail.h"
#include "mbox.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

static void quote(const char *s, size_t n, size_t cut, str *out)
{
  struct mbox_quote q;
  out->len = 0;
  mbox_quote_start(&q);
  fuzz_check(mbox_quote_feed(&q, s, cut, out) == 0);
  fuzz_check(mbox_quote_feed(&q, s + cut, n - cut, out) == 0);
  fuzz_check(mbox_quote_end(&q, out) == 0);
}

/* Removes one '>' from lines that start with ">...>From ". */
static void unquote(const str *in, str *out)
{
  size_t i = 0;
  out->len = 0;
  while (i < in->len) {
    size_t j = i, end;
    while (j < in->len && in->s[j] == '>') ++j;
    if (j > i && in->len - j >= 5 && memcmp(in->s + j, "From ", 5) == 0) ++i;
    end = i;
    while (end < in->len && in->s[end] != '\n') ++end;
    if (end < in->len) ++end;
    fuzz_check(str_catb(out, in->s + i, end - i) == 0);
    i = end;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;
  size_t pos = 0, off, len, aoff, alen, i;
  const char *why;
  unsigned long line, counts[DOTQMAIL_BAD + 1] = { 0 };
  str a = STR_INIT, b = STR_INIT, u = STR_INIT, name = STR_INIT;
  struct dotqmail_search srch;
  int isdef, r, steps = 0;
  unsigned long nlines = 0, first_bad = 0, total = 0;
  const char *check_why = 0;

  r = dotqmail_check(s, size, &check_why, &line, counts);
  while (dotqmail_line_next(s, size, &pos, &off, &len)) {
    enum dotqmail_kind k;
    fuzz_check(off + len <= size);
    k = dotqmail_classify(s + off, len, &aoff, &alen, &why);
    ++nlines;
    if (!first_bad && (k == DOTQMAIL_BAD || (nlines == 1 && len == 0))) first_bad = nlines;
    fuzz_check(aoff + alen <= len);
    if (k == DOTQMAIL_FORWARD) {
      fuzz_check(alen > 0 && alen <= DOTQMAIL_ADDR_MAX);
      for (i = 0; i < alen; ++i) fuzz_check((unsigned char)s[off + aoff + i] > ' ');
    }
    if (k == DOTQMAIL_PROGRAM || k == DOTQMAIL_MBOX || k == DOTQMAIL_MAILDIR)
      fuzz_check(alen > 0 && memchr(s + off + aoff, 0, alen) == 0);
  }

  for (i = 0; i <= DOTQMAIL_BAD; ++i) total += counts[i];
  fuzz_check(counts[DOTQMAIL_BAD] == 0);
  if (r == 0) {
    fuzz_check(first_bad == 0 && line == 0 && total == nlines);
  } else {
    fuzz_check(r == -1 && first_bad != 0 && line == first_bad && total == first_bad - 1);
    fuzz_check(check_why != 0 && check_why[0] != 0);
  }

  fuzz_check(dotqmail_safe_ext(&a, s, size) == 0 && a.len == size);
  for (i = 0; i < size; ++i) fuzz_check(a.s[i] != '.' && !(a.s[i] >= 'A' && a.s[i] <= 'Z'));

  if (size <= 1003) {
    dotqmail_search_start(&srch, s, size);
    while ((r = dotqmail_search_next(&srch, "-", &name, &isdef, &off)) == 1) {
      fuzz_check(++steps <= (int)size + 2);
      fuzz_check(name.len >= 7 && memcmp(name.s, ".qmail-", 7) == 0);
      for (i = 0; i + 1 < name.len; ++i) fuzz_check(!(name.s[i] == '.' && name.s[i + 1] == '.'));
      fuzz_check(off <= size);
    }
    fuzz_check(r == 0);
  }

  quote(s, size, 0, &a);
  quote(s, size, size / 2, &b);
  fuzz_check(a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0));
  unquote(&a, &u);
  fuzz_check(u.len == size && (size == 0 || memcmp(u.s, s, size) == 0));

  str_free(&a); str_free(&b); str_free(&u); str_free(&name);
  return 0;
}
