/* aliases.h: sendmail's alias file (/etc/aliases) and ~/.forward
 * (aliases(5), newaliases(8)), turned into .qmail instructions so that
 * sluice-local follows them like any .qmail file (dot-qmail(5)).
 *
 * A target list is what follows "name:" in the alias file, or a whole
 * ~/.forward: targets separated by commas or newlines; a line whose
 * first non-blank byte is '#' is a comment; double quotes group (and
 * are removed; a backslash in them takes the next byte as it is). Each
 * target becomes one .qmail line:
 *     |command          "|command"      (a program)
 *     /path             "/path"         (mbox; a Maildir when it ends in /)
 *     :include:/path    ":include:/path" (read when the mail is delivered)
 *     \user             "&\user"        (the user's own mailbox: no alias,
 *                                        no .forward; sluice-lspawn(8))
 *     address, <addr>   "&address"      (a forward)
 * The ":include:" line is not a .qmail line: sluice-local replaces it
 * by the targets of the file before it checks the text.
 *
 * The compiled alias database (users/aliases.cdb, written by
 * sluice-newaliases(8)) maps each lower-cased name to its .qmail text.
 *
 * Functions return 0 (or 1 found / 0 not found) and -1 with errno on
 * failure. A syntax error is -1 with errno EINVAL, *why a static
 * English text and *where the byte offset in the input where the bad
 * target starts. The caller owns every str. */
#ifndef SLUICE_ALIASES_H
#define SLUICE_ALIASES_H

#include <stddef.h>

#include "cdb_make.h"
#include "str.h"

/* Largest alias file, include file or ~/.forward read. */
#define ALIASES_FILE_MAX (64UL * 1024 * 1024)
/* Longest alias name (a local part, as in the queue). */
#define ALIASES_NAME_MAX 1003
/* Deepest nesting of :include: files. */
#define ALIASES_INCLUDE_DEPTH 8
/* The alias database, relative to conf-home. */
#define ALIASES_CDB "users/aliases.cdb"

/* Appends the .qmail lines for the target list text[0..n) to out and
 * adds their number to *count. */
int aliases_targets(const char *text, size_t n, str *out, unsigned long *count, const char **why,
                    size_t *where);

/* Replaces every line of the .qmail text in *text that forwards to the
 * bare name[0..n) or to \name (ignoring ASCII case), or, when locals
 * (a control_readlist list) is not NULL, to name@DOMAIN with DOMAIN in
 * locals, by repl[0..rlen) (which ends in a newline, or is empty).
 * Returns the number of lines replaced, or -1 (no memory). */
long aliases_self(str *text, const char *name, size_t n, const char *repl, size_t rlen, const str *locals);

/* Compiles an alias file text[0..n) into m: key the lower-cased name,
 * data its .qmail text. Logical lines start with a non-blank byte; a
 * line starting with a space or tab continues the one before; blank
 * lines and comment lines ('#' first) are skipped anywhere. A name may
 * be quoted. A target naming the alias itself (bare, or at a domain of
 * locals when not NULL) becomes \name (the account of that name), as
 * Postfix does. Errors (EINVAL): *line the
 * 1-based line, *why the problem; a name given twice is an error too.
 * Other failures (of m, or no memory): -1 with *why NULL. *count gets
 * the number of aliases. */
int aliases_compile(const char *text, size_t n, struct cdb_make *m, unsigned long *line,
                    const char **why, unsigned long *count, const str *locals);

/* The first byte of local[0..n) that is one of the delimiters in
 * delims[0..dn) other than '-' ('-' keeps qmail's meaning); its offset,
 * or n when there is none or it is the first byte. */
size_t aliases_delimiter(const char *local, size_t n, const char *delims, size_t dn);

#endif
