/* sluice-getpw: the passwd half of the local user lookup
 * (sluice-getpw(8)), run as the passwd user.
 *
 * With one argument, a local part, it answers once on fd 1 with the
 * record "user\0uid\0gid\0home\0dash\0ext\0" of users.h and exits:
 * 0 answered, 100 a local part that cannot be looked up, 111 temporary
 * trouble. Without arguments it is sluice-lspawn's long-running helper:
 * it reads requests on fd 0 and writes one answer per request on fd 1
 * (getpw_proto.h), with the supplementary groups of the user found, so
 * that sluice-lspawn itself never uses the name service; it exits 0 at
 * end of file on fd 0, 111 on a request that does not decode or an
 * error of its descriptors.
 *
 * The search: the longest prefix (the whole local part, or a part
 * ending before a '-') naming a passwd account with a non-zero uid
 * that owns its home directory, else the alias user with the whole
 * local part as extension (users_passwd and users_alias). */
#include <errno.h>
#include <grp.h>
#include <unistd.h>

#include "auto.h"
#include "byte.h"
#include "die.h"
#include "file.h"
#include "getpw_proto.h"
#include "spawn.h"
#include "str.h"
#include "users.h"

/* Who takes mail for local[0..len): 1 found (e filled), 0 the local
 * part cannot be looked up, -1 temporary trouble with *why set. */
static int find(const char *local, size_t len, const str *alias_home, struct users_entry *e, const char **why)
{
  int r;
  if (len > USERS_LOCAL_MAX || byte_chr(local, len, 0) != len) return 0;
  r = users_passwd(local, len, e);
  if (r < 0) { *why = "unable to read the passwd database"; return -1; }
  if (r == 1) return 1;
  users_entry_free(e);
  r = users_alias(auto_user_alias, alias_home->s, local, len, e);
  if (r < 0) { *why = "unable to look up the alias user"; return -1; }
  if (r == 0) {
    *why = "no alias user";
    errno = ENOENT;
    return -1;
  }
  return 1;
}

/* The supplementary groups of user (NUL-terminated) with primary group
 * gid: their number, or 0 when there are too many or none. */
static size_t groups_of(const char *user, unsigned long gid, unsigned long *out)
{
  gid_t g[GETPW_GROUPS_MAX];
  int n = GETPW_GROUPS_MAX, i;
  if (getgrouplist(user, (gid_t)gid, g, &n) < 0 || n < 1 || n > GETPW_GROUPS_MAX) return 0;
  for (i = 0; i < n; ++i) out[i] = (unsigned long)g[i];
  return (size_t)n;
}

/* Appends the answer to rq to out; 0, or -1 no memory. */
static int answer(const struct getpw_request *rq, const str *alias_home, str *out)
{
  struct users_entry e = USERS_ENTRY_INIT;
  unsigned long groups[GETPW_GROUPS_MAX];
  str user = STR_INIT;
  const char *why = "";
  size_t n;
  int r = -1;

  if (rq->kind == GETPW_ASK_GROUPS) {
    if (str_copy(&user, &rq->arg) < 0 || str_0(&user) < 0) goto done;
    n = groups_of(user.s, rq->gid, groups);
    if (n == 0) {
      warn_msg("unable to list the groups of ", user.s);
      r = getpw_answer_fail(out, 'Z', "unable to list the groups", 25);
    } else {
      r = getpw_answer_groups(out, groups, n);
    }
    goto done;
  }
  switch (find(rq->arg.s, rq->arg.len, alias_home, &e, &why)) {
  case 0:
    r = getpw_answer_fail(out, 'D', "local part too long", 19);
    goto done;
  case -1:
    warn_sys(why);
    r = getpw_answer_fail(out, 'Z', why, byte_len(why, 100));
    goto done;
  }
  if (str_copy(&user, &e.user) < 0 || str_0(&user) < 0) goto done;
  n = groups_of(user.s, e.gid, groups);
  if (n == 0) {
    warn_msg("unable to list the groups of ", user.s);
    r = getpw_answer_fail(out, 'Z', "unable to list the groups", 25);
  } else {
    r = getpw_answer_user(out, &e, groups, n);
  }
done:
  users_entry_free(&e);
  str_free(&user);
  return r;
}

static void serve(const str *alias_home)
{
  struct getpw_request rq = { 0, STR_INIT, 0 };
  str acc = STR_INIT, frame = STR_INIT, out = STR_INIT;
  char in[4096];

  for (;;) {
    ssize_t r;
    int t = spawn_frame_take(&acc, &frame, GETPW_FRAME_MAX);
    if (t < 0) die_temp("request does not parse");
    if (t == 1) {
      if (getpw_request_decode(&rq, frame.s, frame.len) < 0) die_temp_sys("request does not decode");
      out.len = 0;
      if (answer(&rq, alias_home, &out) < 0) die_nomem();
      if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write the answer");
      continue;
    }
    r = read(0, in, sizeof in);
    if (r == 0) {
      if (acc.len) die_temp("request cut off by end of input");
      return;
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      die_temp_sys("unable to read requests");
    }
    if (str_catb(&acc, in, (size_t)r) < 0) die_nomem();
  }
}

int main(int argc, char **argv)
{
  struct users_entry e = USERS_ENTRY_INIT;
  str out = STR_INIT, alias_home = STR_INIT;
  const char *local, *why = "";
  size_t len;

  die_progname("sluice-getpw");
  if (str_copys(&alias_home, auto_home) < 0 || str_cats(&alias_home, "/alias") < 0 || str_0(&alias_home) < 0)
    die_nomem();
  if (argc == 1) {
    serve(&alias_home);
    return 0;
  }
  if (argc != 2) die_usage("sluice-getpw [local]");
  local = argv[1];
  len = byte_len(local, USERS_LOCAL_MAX + 1);
  switch (find(local, len, &alias_home, &e, &why)) {
  case 0: die_perm("local part is too long");
  case -1: die_temp_sys(why);
  }
  if (users_encode(&out, &e) < 0) die_nomem();
  if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write the answer");
  users_entry_free(&e);
  str_free(&out);
  str_free(&alias_home);
  return 0;
}
