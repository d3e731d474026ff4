/* sluice-newauth: compiles control/authpasswd into control/authpasswd.cdb
 * (the virtual users of sluice-checkpassword) or control/smtpauthsenders
 * into control/smtpauthsenders.cdb (the senders each login may use,
 * read by sluice-smtpd): sluice-newauth(8).
 *
 * Both files hold lines "login:value" (authpasswd: the crypt(3) hash;
 * smtpauthsenders: an address or @domain, several lines per login
 * allowed); '#' lines and empty lines are skipped. The key is the login
 * as written, the data the value. The cdb gets the owner, group and
 * mode of its source, so a password file kept root:shadow 0640 stays
 * so; it is replaced atomically and on any error the old one stays in
 * force. Exit 0, 100 for a bad line (with its number), 111 trouble. */
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

/* 1 when e[0..n) is "login:value" with a login and value of 1..255
 * bytes, no white space or control character in either. */
static int line_ok(const char *e, size_t n, size_t *colon)
{
  size_t i;
  *colon = byte_chr(e, n, ':');
  if (*colon == 0 || *colon > 255 || *colon + 1 >= n || n - *colon - 1 > 255) return 0;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)e[i];
    if (c <= ' ' || c == 127) return 0;
  }
  return 1;
}

int main(int argc, char **argv)
{
  struct cdb_make_atomic out;
  str list = STR_INIT, src = STR_INIT, dst = STR_INIT;
  size_t pos = 0, len, colon;
  unsigned long n = 0;
  const char *e;
  struct stat st;
  int r;

  die_progname("sluice-newauth");
  if (argc != 2 || !(str_copys(&src, "control/") == 0 && str_cats(&src, argv[1]) == 0)) die_usage("sluice-newauth authpasswd|smtpauthsenders");
  if (!(byte_len(argv[1], 32) == 10 && byte_equal(argv[1], "authpasswd", 10))
      && !(byte_len(argv[1], 32) == 15 && byte_equal(argv[1], "smtpauthsenders", 15)))
    die_usage("sluice-newauth authpasswd|smtpauthsenders");
  if (str_copy(&dst, &src) < 0 || str_cats(&dst, ".cdb") < 0 || str_0(&dst) < 0 || str_0(&src) < 0) die_nomem();
  umask(077);
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  r = control_readlist(src.s, &list);
  if (r < 0) die_temp_sys("unable to read ", src.s);
  if (r == 0) die_perm(src.s, " does not exist: nothing to compile (the old cdb, if any, is kept)");
  if (stat(src.s, &st) < 0) die_temp_sys("unable to stat ", src.s);
  while (control_next(&list, &pos, &e, &len)) {
    char num[FMT_ULONG];
    ++n;
    if (!line_ok(e, len, &colon)) {
      num[fmt_ulong(num, n)] = 0;
      die_perm(src.s, ": entry ", num, " is not login:value (the old cdb is kept)");
    }
  }
  if (cdb_make_atomic_start(&out, dst.s, st.st_mode & 0644) < 0) die_temp_sys("unable to create ", dst.s, ".tmp");
  if (fchown(out.fd, st.st_uid, st.st_gid) < 0 && geteuid() == 0) {
    cdb_make_atomic_abort(&out);
    die_temp_sys("unable to give ", dst.s, ".tmp its owner");
  }
  for (pos = 0; control_next(&list, &pos, &e, &len);) {
    (void)line_ok(e, len, &colon);
    if (cdb_make_add(&out.make, e, colon, e + colon + 1, len - colon - 1) < 0) {
      int err = errno;
      cdb_make_atomic_abort(&out);
      errno = err;
      die_temp_sys("unable to write ", dst.s, ".tmp");
    }
  }
  if (cdb_make_atomic_finish(&out) < 0) die_temp_sys("unable to write ", dst.s);
  str_free(&list);
  return 0;
}
