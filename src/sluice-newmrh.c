/* sluice-newmrh: compiles control/morercpthosts into
 * control/morercpthosts.cdb, the form sluice-smtpd and sluice-qmtpd read
 * (sluice-newmrh(8)). A site moving from qmail keeps its file; the cdb
 * is the same format qmail-newmrh writes.
 *
 * Each entry is a domain ("example.org": that domain) or a suffix
 * (".example.org": its subdomains), stored lower-cased as a key with
 * empty data. The cdb is replaced atomically; on any error the old one
 * stays in force and the exit code is 111 (100 for a bad entry, with its
 * line number). */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auto.h"
#include "byte.h"
#include "cdb_make.h"
#include "control.h"
#include "die.h"
#include "fmt.h"
#include "str.h"

#define SRC "control/morercpthosts"
#define DST "control/morercpthosts.cdb"

/* 1 when the entry can be a domain or a .suffix: printable, no white
 * space, no '@', at most 255 bytes. */
static int entry_ok(const char *e, size_t n)
{
  size_t i;
  if (n == 0 || n > 255) return 0;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)e[i];
    if (c <= ' ' || c == 127 || c == '@') return 0;
  }
  return !(n == 1 && e[0] == '.');
}

int main(int argc, char **argv)
{
  struct cdb_make_atomic out;
  str list = STR_INIT, key = STR_INIT;
  size_t pos = 0, len;
  unsigned long n = 0;
  const char *e;
  int r;

  (void)argv;
  die_progname("sluice-newmrh");
  if (argc > 1) die_usage("sluice-newmrh");
  umask(022);
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  r = control_readlist(SRC, &list);
  if (r < 0) die_temp_sys("unable to read ", SRC);
  if (r == 0) die_perm(SRC, " does not exist: nothing to compile (the old cdb, if any, is kept)");
  /* check every entry before anything is written */
  while (control_next(&list, &pos, &e, &len)) {
    char num[FMT_ULONG];
    ++n;
    if (!entry_ok(e, len)) {
      num[fmt_ulong(num, n)] = 0;
      die_perm(SRC, ": entry ", num, " is not a domain or .suffix (the old cdb is kept)");
    }
  }
  if (cdb_make_atomic_start(&out, DST, 0644) < 0) die_temp_sys("unable to create ", DST, ".tmp");
  for (pos = 0; control_next(&list, &pos, &e, &len);) {
    if (str_copyb(&key, e, len) < 0) { cdb_make_atomic_abort(&out); die_nomem(); }
    case_lowerb(key.s, key.len);
    if (key.len > 1 && key.s[key.len - 1] == '.') --key.len; /* "example.org." */
    if (cdb_make_add(&out.make, key.s, key.len, "", 0) < 0) {
      int err = errno;
      cdb_make_atomic_abort(&out);
      errno = err;
      die_temp_sys("unable to write ", DST, ".tmp");
    }
  }
  if (cdb_make_atomic_finish(&out) < 0) die_temp_sys("unable to write ", DST);
  str_free(&list);
  str_free(&key);
  return 0;
}
