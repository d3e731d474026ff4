/* queue.c: see queue.h. */
#include "fmt.h"
#include "queue.h"
#include "str.h"

int queue_dirname(str *name, const char *dir, unsigned long id, unsigned long split)
{
  if (str_copys(name, dir) < 0 || str_catc(name, '/') < 0) return -1;
  return str_catulong(name, split ? id % split : 0);
}

int queue_name(str *name, const char *dir, unsigned long id, unsigned long split)
{
  if (queue_dirname(name, dir, id, split) < 0 || str_catc(name, '/') < 0) return -1;
  return str_catulong(name, id);
}

int queue_mess_is(const struct stat *st, unsigned long id, uid_t owner)
{
  return S_ISREG(st->st_mode) && (unsigned long)st->st_ino == id && st->st_uid == owner;
}

int queue_mess_committed(const struct stat *st, int stamped, unsigned long sec, unsigned long nsec, time_t birth)
{
  if (stamped) return (unsigned long)st->st_mtim.tv_sec == sec && (unsigned long)st->st_mtim.tv_nsec == nsec;
  return st->st_mtime <= birth;
}

int queue_msgid_cat(str *s, unsigned long id, unsigned long sec, unsigned long nsec)
{
  char ns[FMT_ULONG];
  if (str_catulong(s, id) < 0 || str_catc(s, '.') < 0 || str_catulong(s, sec) < 0) return -1;
  return str_catb(s, ns, fmt_ulong0(ns, nsec % 1000000000UL, 9));
}
