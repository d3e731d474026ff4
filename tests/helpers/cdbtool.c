/* cdbtool.c: a small front end of the cdb modules for the shell tests.
 *
 *   cdbtool get FILE KEY    prints the first data for KEY and a newline;
 *                           exit 100 when KEY is absent
 *   cdbtool getall FILE KEY prints every data for KEY, one per line
 *   cdbtool make FILE       reads records in the cdbmake format
 *                           (+klen,dlen:key->data, a newline after each,
 *                           an empty line at the end) on fd 0 and
 *                           writes FILE atomically
 *   cdbtool dump FILE       writes every record in that format, in file
 *                           order, and the closing empty line
 * Errors exit 111 (temporary) or 100 (bad input). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cdb.h"
#include "cdb_make.h"
#include "die.h"
#include "file.h"
#include "fmt.h"
#include "scan.h"
#include "size.h"
#include "str.h"

static void out(str *o, const char *s, size_t n)
{
  if (str_catb(o, s, n) < 0) die_nomem();
}

static void flush_out(str *o)
{
  if (write_all(1, o->s, o->len) < 0) die_temp_sys("unable to write output");
  o->len = 0;
}

static void open_cdb(struct cdb *c, const char *path)
{
  int fd = open_read(path);
  if (fd < 0) die_temp_sys("unable to open ", path);
  if (cdb_open(c, fd) < 0) die_temp_sys("unable to read ", path);
  /* the mapping (or the pread descriptor) keeps the file; fd stays open
   * until exit for the pread case */
}

static int do_get(const char *path, const char *key, int all)
{
  struct cdb c;
  str o = STR_INIT, d = STR_INIT;
  int r, found = 0;
  open_cdb(&c, path);
  cdb_findstart(&c);
  while ((r = cdb_findnext(&c, key, strlen(key))) == 1) {
    found = 1;
    if (cdb_getdata(&c, &d) < 0) die_temp_sys("unable to read ", path);
    out(&o, d.s, d.len);
    out(&o, "\n", 1);
    if (!all) break;
  }
  if (r < 0) die_temp_sys("unable to read ", path);
  flush_out(&o);
  return found ? 0 : 100;
}

static int do_dump(const char *path)
{
  struct cdb c;
  str o = STR_INIT, k = STR_INIT, d = STR_INIT;
  char num[FMT_ULONG];
  int r;
  open_cdb(&c, path);
  if (cdb_iter_start(&c) < 0) die_temp_sys("unable to read ", path);
  while ((r = cdb_iter_next(&c)) == 1) {
    if (cdb_getkey(&c, &k) < 0 || cdb_getdata(&c, &d) < 0) die_temp_sys("unable to read ", path);
    out(&o, "+", 1);
    out(&o, num, fmt_ulong(num, k.len));
    out(&o, ",", 1);
    out(&o, num, fmt_ulong(num, d.len));
    out(&o, ":", 1);
    out(&o, k.s, k.len);
    out(&o, "->", 2);
    out(&o, d.s, d.len);
    out(&o, "\n", 1);
    if (o.len > 65536) flush_out(&o);
  }
  if (r < 0) die_temp_sys("unable to read ", path);
  out(&o, "\n", 1);
  flush_out(&o);
  return 0;
}

static _Noreturn void bad_input(void) { die_perm("bad input format"); }

/* Reads one number followed by the byte end at in[*i..n). */
static size_t number(const str *in, size_t *i, char end)
{
  unsigned long u;
  size_t used = scan_ulong(in->s + *i, in->len - *i, &u);
  if (used == 0) bad_input();
  *i += used;
  if (*i >= in->len || in->s[*i] != end) bad_input();
  ++*i;
  return (size_t)u;
}

static int do_make(const char *path)
{
  struct cdb_make_atomic a;
  str in = STR_INIT;
  size_t i = 0;

  if (read_fd_all(0, &in, (size_t)1 << 31) < 0) die_temp_sys("unable to read input");
  if (cdb_make_atomic_start(&a, path, 0644) < 0) die_temp_sys("unable to create ", path, ".tmp");
  for (;;) {
    size_t klen, dlen, kend, dend;
    if (i >= in.len) break; /* end of input without the empty line */
    if (in.s[i] == '\n') break;
    if (in.s[i] != '+') goto bad;
    ++i;
    klen = number(&in, &i, ',');
    dlen = number(&in, &i, ':');
    if (size_add(&kend, i, klen) < 0 || size_add(&dend, kend, 2) < 0 || size_add(&dend, dend, dlen) < 0)
      goto bad;
    if (dend >= in.len || in.s[kend] != '-' || in.s[kend + 1] != '>' || in.s[dend] != '\n') goto bad;
    if (cdb_make_add(&a.make, in.s + i, klen, in.s + kend + 2, dlen) < 0) {
      cdb_make_atomic_abort(&a);
      die_temp_sys("unable to write ", path, ".tmp");
    }
    i = dend + 1;
  }
  if (cdb_make_atomic_finish(&a) < 0) die_temp_sys("unable to finish ", path);
  str_free(&in);
  return 0;
bad:
  cdb_make_atomic_abort(&a);
  bad_input();
}

int main(int argc, char **argv)
{
  die_progname("cdbtool");
  if (argc == 4 && strcmp(argv[1], "get") == 0) return do_get(argv[2], argv[3], 0);
  if (argc == 4 && strcmp(argv[1], "getall") == 0) return do_get(argv[2], argv[3], 1);
  if (argc == 3 && strcmp(argv[1], "make") == 0) return do_make(argv[2]);
  if (argc == 3 && strcmp(argv[1], "dump") == 0) return do_dump(argv[2]);
  die_usage("cdbtool get|getall FILE KEY | make FILE | dump FILE");
}
