/* test_qlist.c: the listing of one queued message (qlist.h), known
 * answers for states, hold, deferral counts and reasons, next try. */
#include <string.h>

#include "check.h"
#include "qlist.h"
#include "str.h"

static str mk(const char *s, size_t n)
{
  str r = STR_INIT;
  if (str_copyb(&r, s, n) < 0) r.len = 0;
  return r;
}
#define MK(lit) mk(lit, sizeof lit - 1)

static void test_plain(void)
{
  str loc = MK("R00000000000000000000\0Tloc@me.example\0");
  str rem = MK("R00000000000000000000\0Tq1@r.example\0Dq2@r.example\0");
  str o = STR_INIT;
  struct qlist_msg m = { 42, 1000, 340, "s@r.example", 11, &loc, &rem, 0, 0, 0 };
  CHECK(qlist_format(&o, &m, 1000 + 7200) == 0);
  CHECK_BYTES(o.s, o.len, "42  2h  340  <s@r.example>\n"
                          "  local  pending <loc@me.example>\n"
                          "  remote pending <q1@r.example>\n"
                          "  remote done    <q2@r.example>\n");
  str_free(&loc); str_free(&rem); str_free(&o);
}

static void test_deferred(void)
{
  str rem = MK("R00000000000000002000\0Ta@x.example\0Tb@x.example\0");
  str def = MK("a@x.example\0" "1100\0" "4.4.1 first\0"
               "b@x.example\0" "1100\0" "4.2.2 full\0"
               "a@x.example\0" "1500\0" "4.3.0 no\001way\0"
               "a@x.example\0" "16");  /* a torn last record is ignored */
  str o = STR_INIT;
  struct qlist_msg m = { 7, 1000, 5, "", 0, 0, &rem, &def, 0, 1 };
  CHECK(qlist_format(&o, &m, 1700) == 0);
  CHECK_BYTES(o.s, o.len, "7  11m  5  <>\n"
                          "  remote pending <a@x.example>  deferred 2 times\n"
                          "      last: 4.3.0 no_way\n"
                          "  remote pending <b@x.example>  deferred 1 time\n"
                          "      last: 4.2.2 full\n"
                          "  remote next try in 5m\n"
                          "  bounce report waiting to be sent\n");
  o.len = 0;
  m.held = 1;
  CHECK(qlist_format(&o, &m, 1700) == 0);
  CHECK_BYTES(o.s, o.len, "7  11m  5  <>  held\n"
                          "  remote held    <a@x.example>  deferred 2 times\n"
                          "      last: 4.3.0 no_way\n"
                          "  remote held    <b@x.example>  deferred 1 time\n"
                          "      last: 4.2.2 full\n"
                          "  bounce report waiting to be sent\n");
  str_free(&rem); str_free(&def); str_free(&o);
}

static void test_age(void)
{
  str o = STR_INIT;
  CHECK(qlist_cat_age(&o, 59) == 0 && qlist_cat_age(&o, 60) == 0 && qlist_cat_age(&o, 86400 * 3) == 0);
  CHECK_BYTES(o.s, o.len, "59s1m3d");
  str_free(&o);
}

int main(void)
{
  test_plain();
  test_deferred();
  test_age();
  return check_done();
}
