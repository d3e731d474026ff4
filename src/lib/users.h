/* users.h: who a local delivery runs as (sluice-users(5)).
 *
 * A local part is mapped to a user, uid, gid, home, dash and extension,
 * first through users/cdb (compiled from users/assign by sluice-newu),
 * then through the passwd lookup of sluice-getpw. Both answer with the
 * same record: "user\0uid\0gid\0home\0dash\0ext\0". This module parses
 * users/assign into a cdb, looks local parts up in it, encodes and
 * decodes the record, and does the passwd search of sluice-getpw.
 *
 * Functions return 0 (or 1 found / 0 not found) on success and -1 with
 * errno set on failure. A users_entry owns its strings; free it with
 * users_entry_free. Matching ignores ASCII case: local parts are
 * lower-cased before they are looked up; but every extension handed
 * back takes its part of the local part as the address spells it, so
 * that sluice-local's EXT and DEFAULT keep their case, as under qmail
 * (the .qmail file names are lower-cased by sluice-local itself). */
#ifndef SLUICE_USERS_H
#define SLUICE_USERS_H

#include <stddef.h>

#include "cdb_make.h"
#include "str.h"

/* Longest line of users/assign (without its newline). */
#define USERS_LINE_MAX 4096
/* Largest users/assign read. */
#define USERS_ASSIGN_MAX (64UL * 1024 * 1024)
/* Largest uid or gid accepted ((uid_t)-1 is reserved). */
#define USERS_ID_MAX 4294967294UL
/* Longest local part looked up. */
#define USERS_LOCAL_MAX 1003

struct users_entry {
  str user;
  unsigned long uid;
  unsigned long gid;
  str home;
  str dash;
  str ext;
};

#define USERS_ENTRY_INIT { STR_INIT, 0, 0, STR_INIT, STR_INIT, STR_INIT }

void users_entry_free(struct users_entry *e);

/* Appends the record "user\0uid\0gid\0home\0dash\0ext\0" for e to out. */
int users_encode(str *out, const struct users_entry *e);
/* Parses one record (exactly six NUL-terminated fields, nothing after
 * them); numbers decimal up to USERS_ID_MAX, user non-empty, home an
 * absolute path. -1 with errno EPROTO when malformed. uid 0 is not
 * refused here: the caller decides (sluice-lspawn refuses it). */
int users_decode(struct users_entry *e, const char *s, size_t n);

/* Compiles the text of users/assign, text[0..n), adding its records to
 * m. On a syntax error returns -1 with errno EINVAL, *line the 1-based
 * line number and *why a fixed text ("uid is not a number"); on a
 * failure of m returns -1 with *why NULL and m's errno. Lines after
 * the final "." are ignored, as by qmail-newu. */
int users_compile(const char *text, size_t n, struct cdb_make *m, unsigned long *line,
                  const char **why);

/* Looks local[0..len) up in the cdb at path: the exact key first, then
 * the prefixes from the longest to the empty one. 1 found (e filled;
 * for a prefix, ext = the entry's ext + the rest of the local part),
 * 0 not found or no cdb file, -1 error (an unreadable or malformed
 * cdb, a malformed record: EPROTO). */
int users_lookup(const char *path, const char *local, size_t len, struct users_entry *e);

/* The passwd search of sluice-getpw(8): the longest prefix of the
 * lower-cased local part that is the whole of it or ends before a '-',
 * naming a passwd account with uid other than 0 that owns its existing
 * home directory; ext is the rest after that '-', case kept. 1 found,
 * 0 none, -1 a temporary failure (passwd or a home could not be read). */
int users_passwd(const char *local, size_t len, struct users_entry *e);
/* The alias user taking the whole local part, case kept, as extension:
 * 1 found, 0 no such account, -1 passwd could not be read. Its home is
 * home (conf-home/alias), not the one in passwd: the alias user's
 * directory belongs to the installation, and an account made by an
 * earlier installation elsewhere must not divert postmaster's mail. */
int users_alias(const char *alias, const char *home, const char *local, size_t len, struct users_entry *e);

#endif
