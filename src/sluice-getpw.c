/* sluice-getpw: the passwd half of the local user lookup
 * (sluice-getpw(8)). Run by sluice-lspawn as the passwd user with one
 * argument, a local part; answers on fd 1 with the record
 * "user\0uid\0gid\0home\0dash\0ext\0" of users.h: the longest
 * prefix (the whole local part, or a part ending before a '-') naming a
 * passwd account with a non-zero uid that owns its home directory,
 * else the alias user with the whole local part as extension. The
 * search is users_passwd and users_alias. Exit 0 answered, 100 a local
 * part that cannot be looked up, 111 temporary trouble. */
#include <errno.h>

#include "auto.h"
#include "byte.h"
#include "die.h"
#include "file.h"
#include "str.h"
#include "users.h"

int main(int argc, char **argv)
{
  struct users_entry e = USERS_ENTRY_INIT;
  str out = STR_INIT, alias_home = STR_INIT;
  const char *local;
  size_t len;
  int r;

  die_progname("sluice-getpw");
  if (argc != 2) die_usage("sluice-getpw local");
  local = argv[1];
  len = byte_len(local, USERS_LOCAL_MAX + 1);
  if (len > USERS_LOCAL_MAX) die_perm("local part is too long");
  r = users_passwd(local, len, &e);
  if (r < 0) die_temp_sys("unable to read the passwd database");
  if (r == 0) {
    users_entry_free(&e);
    if (str_copys(&alias_home, auto_home) < 0 || str_cats(&alias_home, "/alias") < 0 || str_0(&alias_home) < 0)
      die_nomem();
    r = users_alias(auto_user_alias, alias_home.s, local, len, &e);
    if (r < 0) die_temp_sys("unable to look up the alias user ", auto_user_alias);
    if (r == 0) die_temp("no alias user ", auto_user_alias);
  }
  if (users_encode(&out, &e) < 0) die_nomem();
  if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write the answer");
  users_entry_free(&e);
  str_free(&out);
  str_free(&alias_home);
  return 0;
}
