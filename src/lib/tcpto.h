/* tcpto.h: the connect-timeout table queue/lock/tcpto (sluice-tcpto(8)).
 *
 * sluice-remote records every address whose connect timed out, and skips
 * an address whose last timeout is less than TCPTO_SKIP seconds old, so
 * that a dead host does not cost timeoutconnect seconds per delivery.
 * A successful connect removes the address.
 *
 * The file is TCPTO_SLOTS fixed records of TCPTO_RECORD bytes (a
 * shorter file is read as if padded with empty records):
 *     byte 0       family: 0 empty slot, 4 IPv4, 6 IPv6
 *     bytes 1-3    zero
 *     bytes 4-7    number of timeouts, unsigned 32-bit big-endian
 *     bytes 8-15   time of the last timeout, seconds since the epoch,
 *                  unsigned 64-bit big-endian
 *     bytes 16-31  the address: 4 bytes (rest zero) or 16 bytes
 * A new address takes an empty slot, or else the slot with the oldest
 * timeout. Writers hold an fcntl write lock on the whole file for the
 * read-modify-write; readers take a read lock.
 *
 * Functions return what is documented, or -1 with errno set. Nothing
 * is allocated. */
#ifndef SLUICE_TCPTO_H
#define SLUICE_TCPTO_H

#include <stddef.h>
#include <time.h>

#define TCPTO_RECORD 32
#define TCPTO_SLOTS 128
#define TCPTO_SKIP 3600

struct tcpto_entry {
  int family;                 /* 4 or 6 */
  unsigned char ip[16];
  unsigned long count;
  unsigned long long when;
};

/* 1 when family/ip timed out within TCPTO_SKIP seconds of now (either
 * side, so a clock stepped back does not block an address for long),
 * 0 when not (also when the file does not exist or cannot be read: the
 * table is only an optimisation). */
int tcpto_blocked(const char *path, int family, const unsigned char *ip, time_t now);
/* The same with a skip time of its own (sluice-qmqpc's
 * control/qmqpskip): 1 when the last failure is less than skip seconds
 * away from now. */
int tcpto_blocked_for(const char *path, int family, const unsigned char *ip, time_t now, unsigned long skip);
/* Records a connect timeout of family/ip at now (creating the file,
 * mode 0644, when missing). 0 or -1. */
int tcpto_record(const char *path, int family, const unsigned char *ip, time_t now);
/* Removes family/ip from the table if it is there. 0 or -1 (a missing
 * file is 0). */
int tcpto_clear(const char *path, int family, const unsigned char *ip);
/* Reads the used slots into out[0..max) in slot order; *n = how many.
 * A missing file gives 0 entries. 0 or -1. */
int tcpto_list(const char *path, struct tcpto_entry *out, size_t max, size_t *n);

/* The record codec, exposed for tests: decode returns 1 for a used slot
 * (filling *e), 0 for an empty or malformed one. */
int tcpto_decode(const unsigned char rec[TCPTO_RECORD], struct tcpto_entry *e);
void tcpto_encode(unsigned char rec[TCPTO_RECORD], const struct tcpto_entry *e);

#endif
