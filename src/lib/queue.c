/* queue.c: see queue.h. */
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
