/* fuzz_aliases.c: the target lists of alias files and ~/.forward
 * (aliases_targets, aliases_self; aliases.h) on arbitrary bytes.
 *
 * A refusal must name an offset inside the input and a reason; an
 * accepted list must give exactly *count lines, each a valid .qmail
 * line (dotqmail_classify: a program, mbox, Maildir or forward) or an
 * ":include:/" line, so that sluice-local never follows a line the
 * parser did not mean. aliases_self must leave no forward to the name
 * and keep every other line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aliases.h"
#include "byte.h"
#include "dotqmail.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *in = (const char *)data, *why;
  str out = STR_INIT;
  size_t where = 0, pos = 0, off, len, aoff, alen;
  unsigned long count = 0, lines = 0, forwards = 0;
  long hits;

  if (aliases_targets(in, size, &out, &count, &why, &where) < 0) {
    fuzz_check(why != 0 && where <= size);
    str_free(&out);
    return 0;
  }
  while (dotqmail_line_next(out.s, out.len, &pos, &off, &len)) {
    const char *line = out.s + off;
    enum dotqmail_kind k;
    ++lines;
    fuzz_check(len > 0);
    if (len > 9 && byte_startswith(line, len, ":include:", 0)) {
      fuzz_check(line[9] == '/');
      continue;
    }
    k = dotqmail_classify(line, len, &aoff, &alen, &why);
    fuzz_check(k == DOTQMAIL_PROGRAM || k == DOTQMAIL_MBOX || k == DOTQMAIL_MAILDIR || k == DOTQMAIL_FORWARD);
    if (k == DOTQMAIL_FORWARD) {
      fuzz_check(line[0] == '&');
      if (case_equalb(line + 1, len - 1, "x", 1) || case_equalb(line + 1, len - 1, "\\x", 2)) ++forwards;
    }
  }
  fuzz_check(lines == count);
  fuzz_check(out.len == 0 || out.s[out.len - 1] == '\n');
  hits = aliases_self(&out, "x", 1, "./M/\n", 5, 0);
  fuzz_check(hits >= 0 && (unsigned long)hits == forwards);
  str_free(&out);
  return 0;
}
