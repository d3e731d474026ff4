/* fuzz_control.c: the control file readers (control.h) on a file of
 * arbitrary bytes, read by path as every program reads them (the file
 * is a memory file named through /proc/self/fd). The first byte sets
 * the bounds given to control_readnum.
 *
 * Checked against a reference written here from the rules of
 * control.h: control_readline gives the first line without trailing
 * space, tab or CR, and fails (EINVAL) only for a NUL in that line;
 * control_readlist gives exactly the stripped lines that are neither
 * empty nor comments, each NUL-ended, walked by control_next, and fails
 * only for a NUL anywhere; control_readnum agrees with
 * control_readline and scan_ulong_exact and the bounds, and leaves the
 * value alone when it fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "byte.h"
#include "control.h"
#include "fmt.h"
#include "scan.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

static int space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* The reference list: each line stripped, empty lines and comments
 * dropped, each entry NUL-ended. */
static void reference_list(const char *s, size_t n, str *out)
{
  size_t pos = 0;
  while (pos < n) {
    size_t nl = byte_chr(s + pos, n - pos, '\n'), a = pos, b = pos + nl;
    pos += nl < n - pos ? nl + 1 : nl;
    while (a < b && space(s[a])) ++a;
    while (b > a && space(s[b - 1])) --b;
    if (a == b || s[a] == '#') continue;
    fuzz_check(str_catb(out, s + a, b - a) == 0 && str_catc(out, 0) == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int memfile = -1;
  static char path[64];
  static str value, list, ref;
  const char *s = (const char *)data + 1;
  size_t n, line, first, pos, len, entries = 0, nul_entries = 0;
  unsigned long num, u, min, max;
  const char *e;
  int r;

  if (size == 0) return 0;
  if (memfile < 0) {
    size_t k;
    memfile = memfd_create("fuzz_control", MFD_CLOEXEC);
    fuzz_check(memfile >= 0);
    memcpy(path, "/proc/self/fd/", 14);
    k = 14 + fmt_ulong(path + 14, (unsigned long)memfile);
    path[k] = 0;
  }
  n = size - 1;
  fuzz_check(ftruncate(memfile, 0) == 0 && pwrite(memfile, s, n, 0) == (ssize_t)n);

  /* control_readline */
  first = byte_chr(s, n, '\n');
  line = first;
  while (line > 0 && space(s[line - 1])) --line;
  errno = 0;
  r = control_readline(path, &value, "default");
  if (byte_chr(s, first, 0) != first) {
    fuzz_check(r == -1 && errno == EINVAL);
  } else {
    fuzz_check(r == 1 && value.len == line && (line == 0 || memcmp(value.s, s, line) == 0));
  }

  /* control_readlist and control_next */
  r = control_readlist(path, &list);
  if (byte_chr(s, n, 0) != n) {
    fuzz_check(r == -1 && errno == EINVAL);
  } else {
    fuzz_check(r == 1);
    str_truncate(&ref, 0);
    reference_list(s, n, &ref);
    fuzz_check(list.len == ref.len && (ref.len == 0 || memcmp(list.s, ref.s, ref.len) == 0));
    pos = 0;
    while (control_next(&list, &pos, &e, &len)) {
      fuzz_check(++entries <= n && len > 0 && e + len < list.s + list.len && e[len] == 0);
      fuzz_check(!space(e[0]) && !space(e[len - 1]) && e[0] != '#' && memchr(e, '\n', len) == 0);
    }
    for (pos = 0; pos < list.len; ++pos) nul_entries += list.s[pos] == 0;
    fuzz_check(pos == list.len && entries == nul_entries);
  }

  /* control_readnum with bounds from the first byte */
  min = data[0] & 0x0f;
  max = (data[0] & 0x80) ? (unsigned long)-1 : (unsigned long)(data[0] >> 4) * 1000;
  num = 12345;
  errno = 0;
  r = control_readnum(path, &num, 7, min, max);
  if (byte_chr(s, first, 0) != first) {
    fuzz_check(r == -1 && errno == EINVAL && num == 12345);
  } else if (scan_ulong_exact(s, line, &u) < 0) {
    fuzz_check(r == -1 && (errno == EINVAL || errno == ERANGE) && num == 12345);
  } else if (u < min || u > max) {
    fuzz_check(r == -1 && errno == ERANGE && num == 12345);
  } else {
    fuzz_check(r == 1 && num == u);
  }
  return 0;
}
