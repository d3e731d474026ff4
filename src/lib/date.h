/* date.h: RFC 5322 date-time text for Date: and Received: lines.
 *
 * The form is "Tue, 1 Jul 2003 10:52:37 +0200": English day and month
 * names, the day of the month without padding (as in RFC 5322 A.1.2),
 * a four-digit year, and a numeric zone (never a zone name). The
 * caller owns out; the text is appended to it.
 *
 * Both functions return 0, or -1 with errno set: EOVERFLOW when t does
 * not convert to a broken-down time or its year is before 1900 or after
 * 9999 (RFC 5322 wants four digits, 1900 or later), ENOMEM/EOVERFLOW
 * from str growth. On failure out is unchanged. */
#ifndef SLUICE_DATE_H
#define SLUICE_DATE_H

#include <time.h>

#include "str.h"

/* Local time as set by TZ (the caller runs tzset() first if TZ
 * changed), with the offset from tm_gmtoff, e.g. "-0330". An offset
 * with seconds (old local mean times) is truncated toward zero to
 * whole minutes. */
int date_rfc5322(str *out, time_t t);
/* UTC, zone "+0000". */
int date_rfc5322_utc(str *out, time_t t);

#endif
