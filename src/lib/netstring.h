/* netstring.h: netstrings, the length-prefixed records of QMTP and QMQP.
 *
 * A netstring is "len:data," where len is the decimal length of data
 * with no leading zero (except "0" itself) and no sign or space; data is
 * any bytes, NUL included. Example: "5:hello," and "0:,".
 *
 * netstring_cat() appends to a caller-owned str and returns 0, or -1
 * with errno set (ENOMEM, EOVERFLOW); on failure the str is unchanged.
 * netstring_parse() works on a caller-owned byte range, allocates
 * nothing and never reads past it; it is incremental: call it again
 * with more bytes when it returns 0. */
#ifndef SLUICE_NETSTRING_H
#define SLUICE_NETSTRING_H

#include <stddef.h>

#include "str.h"

/* Appends the netstring encoding of s[0..n) to out. s may point into
 * out itself. */
int netstring_cat(str *out, const char *s, size_t n);

/* Looks for one netstring at the start of s[0..n), whose data may be
 * at most max bytes long. Returns
 *    1  a complete netstring: its data is s[*data_off .. *data_off +
 *       *data_len) and it took *consumed bytes (the bytes after it are
 *       left for the caller, who decides whether they are garbage);
 *    0  s[0..n) is a valid but incomplete prefix: read more and retry;
 *   -1  errno EPROTO: bad syntax (empty length, leading zero, a byte
 *       other than a digit before ':', no ',' after the data);
 *       errno EMSGSIZE: the length is above max or does not fit a
 *       size_t, or the whole netstring could not fit in memory (reported
 *       as soon as the digits show it, before the data arrives).
 * The outputs are written only when 1 is returned. */
int netstring_parse(const char *s, size_t n, size_t max,
                    size_t *data_off, size_t *data_len, size_t *consumed);

#endif
