/* journal.h: the delivery journals of the spawners (sluice-spawn(5),
 * "Journals").
 *
 * Before a spawner reports a delivery's result to sluice-send it
 * appends one record per recipient to its journal (queue/lock/
 * journal.local or journal.remote), so a result outlives a scheduler
 * killed before it recorded it: the next sluice-send applies the
 * journals before it schedules anything, and a completed delivery is
 * never made again. A record is one netstring holding: the message id
 * in decimal, a NUL, the modification time of the message file as
 * SECONDS.NANOSECONDS (the id is an inode number, reused once a message
 * is gone: the time tells a later message with the same id from the
 * one the record is about), a NUL, the result letter (K, P, D or Z), the
 * recipient, a NUL, the result text. A spawner holds a shared flock on its journal
 * from its first delivery to its exit; sluice-send takes an exclusive
 * one at start, so it reads a journal only when no older spawner can
 * still write to it.
 *
 * Functions return 0, or -1 with errno (EPROTO for a record that does
 * not parse, ENOMEM); they never print or exit. */
#ifndef SLUICE_JOURNAL_H
#define SLUICE_JOURNAL_H

#include <stddef.h>

#include "str.h"

#define JOURNAL_LOCAL "lock/journal.local"   /* relative to the queue */
#define JOURNAL_REMOTE "lock/journal.remote"
#define JOURNAL_LOCAL_HOME "queue/lock/journal.local"   /* relative to conf-home */
#define JOURNAL_REMOTE_HOME "queue/lock/journal.remote"

struct journal_record {
  unsigned long id;
  unsigned long sec, nsec;  /* the message file's modification time */
  char letter;
  const char *addr;   /* points into the parsed buffer; no NUL inside */
  size_t addr_len;
  const char *text;
  size_t text_len;
};

/* Appends the record to out. */
int journal_record_add(str *out, unsigned long id, unsigned long sec, unsigned long nsec, char letter,
                       const char *addr, size_t addr_len, const char *text, size_t text_len);

/* The modification time of the message file path (lstat): 0, or -1
 * with errno. */
int journal_message_stamp(const char *path, unsigned long *sec, unsigned long *nsec);

/* Parses the record at s[0..n): 1 with *rec set and *used the bytes it
 * took, 0 when s holds only the start of a record (a write cut by a
 * crash: the rest is ignored), -1 with errno EPROTO when it is not a
 * record. */
int journal_record_parse(const char *s, size_t n, struct journal_record *rec, size_t *used);

/* Opens a spawner's journal (path relative to the working directory)
 * for appending, without following a symbolic link, and checks that it
 * is a regular file. The descriptor (close-on-exec), or -1 with errno. */
int journal_open_append(const char *path);

#endif
