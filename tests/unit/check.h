/* check.h: the tiny assertion kit of the C unit tests.
 *
 * CHECK(cond) counts a pass or prints a FAIL line with file and line;
 * check_done() prints the closing "N passed, N failed" line that
 * tests/run sums up, and returns the exit status for main. Output goes
 * straight to fd 1 with the project's own formatting (no stdio). */
#ifndef SLUICE_CHECK_H
#define SLUICE_CHECK_H

#include <string.h>
#include <unistd.h>

#include "fmt.h"

static unsigned long check_passed, check_failed;

static void check_out(const char *s, size_t n)
{
  while (n > 0) {
    ssize_t w = write(1, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static void check_outs(const char *s) { check_out(s, strlen(s)); }

static void check_outu(unsigned long u)
{
  char b[FMT_ULONG];
  check_out(b, fmt_ulong(b, u));
}

static int check_report(int ok, const char *what, const char *file, unsigned long line)
{
  if (ok) { ++check_passed; return 1; }
  ++check_failed;
  check_outs("FAIL ");
  check_outs(file);
  check_outs(":");
  check_outu(line);
  check_outs(": ");
  check_outs(what);
  check_outs("\n");
  return 0;
}

#define CHECK(cond) check_report(!!(cond), #cond, __FILE__, (unsigned long)__LINE__)
/* Compare a byte range with a string literal (or NUL-terminated string). */
#define CHECK_BYTES(p, n, lit) \
  check_report((n) == strlen(lit) && memcmp((p), (lit), (n)) == 0, #p " == " #lit, __FILE__, (unsigned long)__LINE__)

static int check_done(void)
{
  check_outu(check_passed);
  check_outs(" passed, ");
  check_outu(check_failed);
  check_outs(" failed\n");
  return check_failed ? 1 : 0;
}

#endif
