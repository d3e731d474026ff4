/* test_date.c: date_rfc5322 and date_rfc5322_utc in several zones. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "date.h"
#include "str.h"

static str out;

static void zone(const char *tz)
{
  setenv("TZ", tz, 1);
  tzset();
}

/* formats t in the current zone and compares with want */
static int local_is(time_t t, const char *want)
{
  str_truncate(&out, 0);
  if (date_rfc5322(&out, t) < 0) return 0;
  return str_equals(&out, want);
}

static int utc_is(time_t t, const char *want)
{
  str_truncate(&out, 0);
  if (date_rfc5322_utc(&out, t) < 0) return 0;
  return str_equals(&out, want);
}

static void test_utc(void)
{
  CHECK(utc_is(0, "Thu, 1 Jan 1970 00:00:00 +0000"));
  CHECK(utc_is(951782400, "Tue, 29 Feb 2000 00:00:00 +0000"));
  CHECK(utc_is(951782399, "Mon, 28 Feb 2000 23:59:59 +0000"));
  CHECK(utc_is(951868800, "Wed, 1 Mar 2000 00:00:00 +0000"));
  CHECK(utc_is(1719835200, "Mon, 1 Jul 2024 12:00:00 +0000"));
  CHECK(utc_is(1795316672, "Sun, 22 Nov 2026 03:04:32 +0000"));
  if (sizeof(time_t) > 4) {
    CHECK(utc_is((time_t)2147483647, "Tue, 19 Jan 2038 03:14:07 +0000"));
    CHECK(utc_is((time_t)2147483648LL, "Tue, 19 Jan 2038 03:14:08 +0000"));
    CHECK(utc_is((time_t)253402300799LL, "Fri, 31 Dec 9999 23:59:59 +0000"));
    /* year 10000 has five digits: refused, out unchanged */
    CHECK(str_copys(&out, "keep") == 0);
    errno = 0;
    CHECK(date_rfc5322_utc(&out, (time_t)253402300800LL) == -1 && errno == EOVERFLOW);
    CHECK(str_equals(&out, "keep"));
    /* before 1900 is refused too; 1900 itself is fine */
    CHECK(utc_is((time_t)-2208988800LL, "Mon, 1 Jan 1900 00:00:00 +0000"));
    errno = 0;
    CHECK(date_rfc5322_utc(&out, (time_t)-2208988801LL) == -1 && errno == EOVERFLOW);
    /* absurd times that gmtime cannot convert */
    CHECK(str_copys(&out, "keep") == 0);
    CHECK(date_rfc5322_utc(&out, (time_t)LLONG_MAX) == -1);
    CHECK(date_rfc5322(&out, (time_t)LLONG_MAX) == -1);
    CHECK(str_equals(&out, "keep"));
  }
  /* appends */
  CHECK(str_copys(&out, "Date: ") == 0 && date_rfc5322_utc(&out, 0) == 0);
  CHECK(str_equals(&out, "Date: Thu, 1 Jan 1970 00:00:00 +0000"));
}

static void test_local(const char *stjohns, const char *kolkata)
{
  zone("UTC0");
  CHECK(local_is(0, "Thu, 1 Jan 1970 00:00:00 +0000"));
  CHECK(local_is(951782400, "Tue, 29 Feb 2000 00:00:00 +0000"));

  zone(stjohns);
  CHECK(local_is(0, "Wed, 31 Dec 1969 20:30:00 -0330"));
  CHECK(local_is(951782400, "Mon, 28 Feb 2000 20:30:00 -0330"));
  CHECK(local_is(1719835200, "Mon, 1 Jul 2024 09:30:00 -0230")); /* summer */
  if (sizeof(time_t) > 4)
    CHECK(local_is((time_t)2147483648LL, "Mon, 18 Jan 2038 23:44:08 -0330"));
  /* the UTC form ignores TZ */
  CHECK(utc_is(0, "Thu, 1 Jan 1970 00:00:00 +0000"));

  zone(kolkata);
  CHECK(local_is(951782400, "Tue, 29 Feb 2000 05:30:00 +0530"));
  CHECK(local_is(1719835200, "Mon, 1 Jul 2024 17:30:00 +0530"));
  if (sizeof(time_t) > 4)
    CHECK(local_is((time_t)2147483648LL, "Tue, 19 Jan 2038 08:44:08 +0530"));
}

static void test_odd_zones(void)
{
  /* whole hours west and east, and a zone with minutes west of zero */
  zone("EST5");
  CHECK(local_is(0, "Wed, 31 Dec 1969 19:00:00 -0500"));
  zone("JST-9");
  CHECK(local_is(0, "Thu, 1 Jan 1970 09:00:00 +0900"));
  zone("XXX0:30");
  CHECK(local_is(0, "Wed, 31 Dec 1969 23:30:00 -0030"));
  zone("XXX-14");
  CHECK(local_is(0, "Thu, 1 Jan 1970 14:00:00 +1400"));
}

/* The arithmetic of date_rfc5322_utc against the C library's gmtime_r
 * over the whole range it accepts, day boundaries and leap days. */
static void test_utc_against_gmtime(void)
{
  static const char dn[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
  static const char mn[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  unsigned long seed = 12345, bad = 0, i;
  for (i = 0; i < 20000; ++i) {
    time_t t;
    struct tm tm;
    str want = STR_INIT, got = STR_INIT;
    seed = seed * 6364136223846793005UL + 1442695040888963407UL;
    if (i % 4 == 0) t = (time_t)((long)(seed >> 20) % 100000 - 50000) * 86400; /* midnights near 1970 */
    else t = (time_t)((long)(seed >> 11) % (253402300799L + 2208988800L) - 2208988800L);
    if (i % 4 == 1) t -= 1; /* the second before */
    if (!gmtime_r(&t, &tm)) continue;
    str_cats(&want, dn[tm.tm_wday]);
    str_cats(&want, ", ");
    str_catulong(&want, (unsigned long)tm.tm_mday);
    str_catc(&want, ' ');
    str_cats(&want, mn[tm.tm_mon]);
    str_catc(&want, ' ');
    str_catulong(&want, (unsigned long)(tm.tm_year + 1900));
    str_catc(&want, ' ');
    str_catc(&want, (char)('0' + tm.tm_hour / 10)); str_catc(&want, (char)('0' + tm.tm_hour % 10));
    str_catc(&want, ':');
    str_catc(&want, (char)('0' + tm.tm_min / 10)); str_catc(&want, (char)('0' + tm.tm_min % 10));
    str_catc(&want, ':');
    str_catc(&want, (char)('0' + tm.tm_sec / 10)); str_catc(&want, (char)('0' + tm.tm_sec % 10));
    str_cats(&want, " +0000");
    if (tm.tm_year + 1900 < 1900 || tm.tm_year + 1900 > 9999) { str_free(&want); continue; }
    if (date_rfc5322_utc(&got, t) < 0 || got.len != want.len || memcmp(got.s, want.s, got.len) != 0) ++bad;
    str_free(&want);
    str_free(&got);
  }
  CHECK(bad == 0);
}

int main(void)
{
  test_utc();
  test_utc_against_gmtime();
  /* POSIX rules need no zone database */
  test_local("NST3:30NDT,M3.2.0,M11.1.0", "IST-5:30");
  /* and the database, when it is installed */
  if (access("/usr/share/zoneinfo/America/St_Johns", R_OK) == 0
      && access("/usr/share/zoneinfo/Asia/Kolkata", R_OK) == 0)
    test_local("America/St_Johns", "Asia/Kolkata");
  test_odd_zones();
  str_free(&out);
  return check_done();
}
