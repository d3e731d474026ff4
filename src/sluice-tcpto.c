/* sluice-tcpto: prints the connect-timeout table (sluice-tcpto(8)).
 *
 *     sluice-tcpto [FILE]
 *
 * Reads conf-home/queue/lock/tcpto (or FILE) and prints one line per
 * address: "ip  timed out N minutes ago, M times". Exit 0, or 111 when
 * the table cannot be read (a missing table is empty). */
#include <time.h>

#include "auto.h"
#include "die.h"
#include "file.h"
#include "ip.h"
#include "str.h"
#include "tcpto.h"

int main(int argc, char **argv)
{
  struct tcpto_entry e[TCPTO_SLOTS];
  str out = STR_INIT, path = STR_INIT;
  size_t n;
  unsigned long long now = (unsigned long long)time(0);

  die_progname("sluice-tcpto");
  if (argc > 2) die_usage("sluice-tcpto [file]");
  if (argc == 2) {
    if (str_copys(&path, argv[1]) < 0) die_nomem();
  } else if (str_copys(&path, auto_home) < 0 || str_cats(&path, "/queue/lock/tcpto") < 0) {
    die_nomem();
  }
  if (str_0(&path) < 0) die_nomem();
  if (tcpto_list(path.s, e, TCPTO_SLOTS, &n) < 0) die_temp_sys("unable to read ", path.s);
  for (size_t i = 0; i < n; ++i) {
    char t[IP6_FMT];
    unsigned long long ago = e[i].when <= now ? (now - e[i].when) / 60 : 0;
    if (str_catb(&out, t, e[i].family == 6 ? ip6_fmt(t, e[i].ip) : ip4_fmt(t, e[i].ip)) < 0
        || str_cats(&out, "  timed out ") < 0 || str_catulong(&out, (unsigned long)ago) < 0
        || str_cats(&out, ago == 1 ? " minute ago, " : " minutes ago, ") < 0
        || str_catulong(&out, e[i].count) < 0 || str_cats(&out, e[i].count == 1 ? " time\n" : " times\n") < 0)
      die_nomem();
  }
  if (out.len && write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write output");
  return 0;
}
