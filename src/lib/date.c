/* date.c: see date.h. */
#include <errno.h>
#include <time.h>

#include "date.h"
#include "fmt.h"
#include "str.h"

static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Longest form: "Sun, 31 Dec 9999 23:59:60 -9959" is 31 bytes. */
#define DATE_MAX 40

static int date_format(str *out, const struct tm *tm, long gmtoff)
{
  char b[DATE_MAX];
  size_t n = 0;
  long year;
  unsigned long off;

  if (tm->tm_wday < 0 || tm->tm_wday > 6 || tm->tm_mon < 0 || tm->tm_mon > 11
      || tm->tm_mday < 1 || tm->tm_mday > 31 || tm->tm_hour < 0 || tm->tm_hour > 23
      || tm->tm_min < 0 || tm->tm_min > 59 || tm->tm_sec < 0 || tm->tm_sec > 60) {
    errno = EOVERFLOW;
    return -1;
  }
  year = (long)tm->tm_year + 1900;
  if (year < 1900 || year > 9999) { errno = EOVERFLOW; return -1; }
  /* |offset| in whole minutes; a zone a hundred hours off cannot be written */
  off = gmtoff < 0 ? (unsigned long)(-(gmtoff + 1)) + 1 : (unsigned long)gmtoff;
  off /= 60;
  if (off / 60 > 99) { errno = EOVERFLOW; return -1; }

  b[n++] = days[tm->tm_wday][0];
  b[n++] = days[tm->tm_wday][1];
  b[n++] = days[tm->tm_wday][2];
  b[n++] = ',';
  b[n++] = ' ';
  n += fmt_ulong(b + n, (unsigned long)tm->tm_mday);
  b[n++] = ' ';
  b[n++] = months[tm->tm_mon][0];
  b[n++] = months[tm->tm_mon][1];
  b[n++] = months[tm->tm_mon][2];
  b[n++] = ' ';
  n += fmt_ulong0(b + n, (unsigned long)year, 4);
  b[n++] = ' ';
  n += fmt_ulong0(b + n, (unsigned long)tm->tm_hour, 2);
  b[n++] = ':';
  n += fmt_ulong0(b + n, (unsigned long)tm->tm_min, 2);
  b[n++] = ':';
  n += fmt_ulong0(b + n, (unsigned long)tm->tm_sec, 2);
  b[n++] = ' ';
  b[n++] = gmtoff < 0 && off > 0 ? '-' : '+';
  n += fmt_ulong0(b + n, off / 60, 2);
  n += fmt_ulong0(b + n, off % 60, 2);
  return str_catb(out, b, n);
}

int date_rfc5322(str *out, time_t t)
{
  struct tm tm;
  if (!localtime_r(&t, &tm)) { errno = EOVERFLOW; return -1; }
  return date_format(out, &tm, tm.tm_gmtoff);
}

/* The UTC calendar by arithmetic, without gmtime_r: glibc's reads
 * /etc/localtime once per process, which sluice-queue (run once per
 * message) should not pay for. Days are counted in 400-year eras of
 * 146097 days from 0000-03-01, so the leap day ends a year. */
static void civil_from_days(long z, long *y, int *m, int *d)
{
  long era, doe, yoe, doy, mp;
  z += 719468; /* 1970-01-01 to 0000-03-01 */
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int date_rfc5322_utc(str *out, time_t t)
{
  struct tm tm;
  long ndays, secs, year;
  int month, mday;
  /* 9999-12-31 23:59:59 is the last time an RFC 5322 date can hold */
  if (t < -2208988800L || t > 253402300799L) { errno = EOVERFLOW; return -1; }
  ndays = (long)(t >= 0 ? t / 86400 : (t - 86399) / 86400);
  secs = (long)(t - (time_t)ndays * 86400);
  civil_from_days(ndays, &year, &month, &mday);
  tm.tm_year = (int)(year - 1900);
  tm.tm_mon = month - 1;
  tm.tm_mday = mday;
  tm.tm_hour = (int)(secs / 3600);
  tm.tm_min = (int)(secs / 60 % 60);
  tm.tm_sec = (int)(secs % 60);
  tm.tm_wday = (int)((ndays % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
  return date_format(out, &tm, 0);
}
