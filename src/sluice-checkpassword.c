/* sluice-checkpassword: a checkpassword program (D. J. Bernstein's
 * interface) for sluice-smtpd's AUTH: sluice-checkpassword(8).
 *
 * Reads "login NUL password NUL timestamp NUL" (at most 512 bytes) from
 * fd 3 and looks the login up in the sources control/checkpasswordsource
 * lists, in order ("virtual": control/authpasswd.cdb, compiled by
 * sluice-newauth; "system": the shadow file through getspnam). The first
 * source that knows the login decides: the password is hashed with
 * crypt(3) (libxcrypt: yescrypt, SHA-512 and the rest) using the stored
 * hash as setting, and the result compared with the stored hash in
 * constant time. An unknown login is hashed against a made-up yescrypt
 * setting too, so that its answer takes as long as a known one's.
 *
 * Installed root:shadow 2755: setgid shadow, as Debian's unix_chkpwd,
 * and nothing more; the virtual password cdb is root:shadow 0640 too.
 * Run with that privilege, it answers only the daemon user (the uid
 * sluice-smtpd runs as) and root, so that local users cannot use it to
 * guess passwords without sluice-smtpd's delays. The group is given up
 * before the program named in the arguments, if any, is executed.
 *
 * Exit: 0 password right (or the exit of the program run then), 1
 * wrong, unknown login, locked or expired account, root; 2 malformed
 * input on fd 3; 111 trouble (unreadable source, not allowed caller). */
#include <crypt.h>
#include <errno.h>
#include <pwd.h>
#include <shadow.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "byte.h"
#include "cdb.h"
#include "control.h"
#include "die.h"
#include "file.h"
#include "str.h"

#define INPUT_MAX 512

static struct crypt_data cd;

/* 1 when hashing pass with the setting hash gives hash, compared in
 * constant time (the time depends on the lengths only). */
static int hash_matches(const char *pass, const char *hash)
{
  const char *h;
  size_t n1, n2, i, n;
  unsigned char d = 0;

  h = crypt_r(pass, hash, &cd);
  if (!h || h[0] == '*') return 0;
  n1 = byte_len(h, CRYPT_OUTPUT_SIZE);
  n2 = byte_len(hash, CRYPT_OUTPUT_SIZE);
  n = n1 > n2 ? n1 : n2;
  for (i = 0; i < n; ++i) d |= (unsigned char)((i < n1 ? h[i] : 0) ^ (i < n2 ? hash[i] : 0));
  d |= (unsigned char)(n1 != n2);
  return d == 0;
}

/* A hash of a usable form: not empty, not locked ('!', '*'). */
static int hash_usable(const char *hash)
{
  return hash[0] && hash[0] != '!' && hash[0] != '*';
}

/* Virtual users: 1 found (hash copied), 0 not there, -1 trouble. */
static int lookup_virtual(const char *user, size_t ulen, str *hash)
{
  int r = cdb_lookup_path("control/authpasswd.cdb", user, ulen, hash);
  if (r < 0 && errno == ENOENT) return 0;
  if (r > 0 && (byte_chr(hash->s, hash->len, 0) < hash->len || str_0(hash) < 0)) return -1;
  return r;
}

/* System accounts: 1 found, 0 not there (or root: never by mail), -1. */
static int lookup_system(const char *user, str *hash)
{
  struct passwd *pw;
  struct spwd *sp;

  errno = 0;
  pw = getpwnam(user);
  if (!pw) return errno && errno != ENOENT && errno != ESRCH ? -1 : 0;
  if (pw->pw_uid == 0) return 0;
  errno = 0;
  sp = getspnam(user);
  if (!sp) {
    if (errno == EACCES) return -1;
    /* no shadow entry: the passwd field, if it holds a hash */
    if (str_copys(hash, pw->pw_passwd) < 0 || str_0(hash) < 0) return -1;
    if ((hash->len < 3 || hash->s[0] != '$') && str_copys(hash, "*") < 0) return -1;
    return str_0(hash) < 0 ? -1 : 1;
  }
  /* sp_expire: the day the account expires (days since 1970) */
  if (sp->sp_expire > 0 && (long)(time(0) / 86400) >= sp->sp_expire) {
    if (str_copys(hash, "!") < 0) return -1;
    return str_0(hash) < 0 ? -1 : 1;
  }
  if (str_copys(hash, sp->sp_pwdp) < 0 || str_0(hash) < 0) return -1;
  return 1;
}

/* The caller may ask: when setgid, only root and the daemon user. */
static void check_caller(void)
{
  struct passwd *pw;
  uid_t u = getuid();

  if (getegid() == getgid() || u == 0) return;
  pw = getpwnam(auto_user_daemon);
  if (pw && pw->pw_uid == u) return;
  die_temp("only root and ", auto_user_daemon, " may run this program");
}

int main(int argc, char **argv)
{
  str in = STR_INIT, hash = STR_INIT, sources = STR_INIT;
  size_t ulen, plen, tlen, pos = 0, n;
  const char *user, *pass, *e;
  int found = 0, good = 0, r;

  die_progname("sluice-checkpassword");
  check_caller();
  if (read_fd_all(3, &in, INPUT_MAX + 1) < 0) {
    if (errno == EFBIG) die_msg(2, "more than 512 bytes on fd 3");
    die_temp_sys("unable to read fd 3");
  }
  close(3);
  if (in.len > INPUT_MAX) die_msg(2, "more than 512 bytes on fd 3");
  /* login NUL password NUL timestamp NUL */
  user = in.s;
  ulen = byte_chr(in.s, in.len, 0);
  if (ulen == in.len || ulen == 0) die_msg(2, "malformed input on fd 3");
  pass = in.s + ulen + 1;
  plen = byte_chr(pass, in.len - ulen - 1, 0);
  if (plen == in.len - ulen - 1) die_msg(2, "malformed input on fd 3");
  tlen = byte_chr(pass + plen + 1, in.len - ulen - plen - 2, 0);
  if (tlen == in.len - ulen - plen - 2) die_msg(2, "malformed input on fd 3");

  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  r = control_readlist("control/checkpasswordsource", &sources);
  if (r < 0) die_temp_sys("unable to read control/checkpasswordsource");
  if (r == 0 && str_catb(&sources, "virtual\0", 8) < 0) die_nomem();
  while (!found && control_next(&sources, &pos, &e, &n)) {
    if (n == 7 && byte_equal(e, "virtual", 7)) {
      r = lookup_virtual(user, ulen, &hash);
      if (r < 0) die_temp_sys("unable to read control/authpasswd.cdb");
    } else if (n == 6 && byte_equal(e, "system", 6)) {
      r = lookup_system(user, &hash);
      if (r < 0) die_temp_sys("unable to read the shadow file");
    } else {
      die_temp("control/checkpasswordsource: unknown source ", e, " (virtual or system)");
    }
    found = r > 0;
  }
  if (found && hash_usable(hash.s) && plen) {
    good = hash_matches(pass, hash.s);
  } else {
    /* as long as a real check: a yescrypt hash of a made-up setting */
    (void)hash_matches(pass, "$y$j9T$lHInX92uZ5NIV88NL.KJ0/$23BQUPe5trQoyPFAl.gkNoC5u7yCkaCadc4D1lr/T39");
  }
  explicit_bzero(in.s, in.a);
  explicit_bzero(&cd, sizeof cd);
  if (!good) _exit(1);
  if (argc > 1) {
    /* the group stays here: the next program gets the caller's */
    if (setgid(getgid()) < 0 || getegid() != getgid()) die_temp_sys("unable to drop the shadow group");
    execv(argv[1], argv + 1);
    die_temp_sys("unable to run ", argv[1]);
  }
  return 0;
}
