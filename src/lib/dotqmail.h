/* dotqmail.h: .qmail files (dot-qmail(5)): which file applies to an
 * address extension, and what each of its lines asks for.
 *
 * The lookup chain for the extension "a-b-c" is .qmail-a-b-c,
 * .qmail-a-b-default, .qmail-a-default, .qmail-default; DEFAULT is the
 * part of the extension that "default" stands for. The extension is
 * lower-cased and '.' becomes ':' in the file names (the "safe"
 * extension), so no name can climb out of the home directory. The file
 * names are ".qmail" DASH EXT: with an empty extension the only
 * candidate is ".qmail" DASH.
 *
 * Nothing here touches the file system. Functions that build names
 * return 0, or -1 with errno ENOMEM/EOVERFLOW (the str then holds
 * nothing useful); the others cannot fail. The caller owns every str. */
#ifndef SLUICE_DOTQMAIL_H
#define SLUICE_DOTQMAIL_H

#include <stddef.h>

#include "str.h"

/* Largest .qmail file read; a bigger one is a temporary failure. */
#define DOTQMAIL_MAX 65536
/* Longest forwarding address (sluice-queue's limit). */
#define DOTQMAIL_ADDR_MAX 1003

enum dotqmail_kind {
  DOTQMAIL_EMPTY,   /* empty line (after the first): skipped */
  DOTQMAIL_COMMENT, /* '#' */
  DOTQMAIL_PROGRAM, /* '|' command */
  DOTQMAIL_MBOX,    /* '/' or '.' path */
  DOTQMAIL_MAILDIR, /* the same, ending in '/' */
  DOTQMAIL_FORWARD, /* '&' address, or an address starting with a letter or digit */
  DOTQMAIL_BAD      /* anything else; *why says what is wrong */
};

/* Replaces out with the safe form of ext[0..n): ASCII letters lowered,
 * '.' turned into ':'. */
int dotqmail_safe_ext(str *out, const char *ext, size_t n);

/* Walks the lookup chain. Usage:
 *     struct dotqmail_search s; dotqmail_search_start(&s, ext, n);
 *     while (dotqmail_search_next(&s, dash, &name, &isdef, &defoff) == 1) ...
 * The struct points into ext, which must outlive it. */
struct dotqmail_search {
  const char *ext;
  size_t len;
  size_t pos;   /* next prefix length to try as a -default file */
  int state;    /* 0: exact name next; 1: defaults; 2: done */
};

void dotqmail_search_start(struct dotqmail_search *s, const char *ext, size_t len);
/* 1 with the next candidate's file name in *name (NUL-terminated with
 * str_0, so it can be opened directly), *is_default 1 for a -default
 * name, and *default_off the offset in ext where the part matched by
 * "default" begins (DEFAULT = ext[*default_off..len), in the original
 * case); 0 when the chain is exhausted; -1 on allocation failure. */
int dotqmail_search_next(struct dotqmail_search *s, const char *dash, str *name,
                         int *is_default, size_t *default_off);

/* Steps through the lines of a .qmail file held in text[0..n): 1 with
 * the next line in text[*off..*off + *len) (without its newline, with
 * trailing spaces, tabs and CRs removed), 0 at the end. *pos starts at
 * 0 and belongs to the caller. */
int dotqmail_line_next(const char *text, size_t n, size_t *pos, size_t *off, size_t *len);

/* Classifies one line as returned by dotqmail_line_next. For PROGRAM
 * the argument is the command after '|'; for MBOX and MAILDIR the whole
 * path; for FORWARD the address (after '&' when there is one). For BAD
 * *why is a static English text. The argument of a valid line holds no
 * NUL byte; an address holds no control byte, no space and at most
 * DOTQMAIL_ADDR_MAX bytes. */
enum dotqmail_kind dotqmail_classify(const char *line, size_t n, size_t *arg_off, size_t *arg_len,
                                     const char **why);

/* Checks a whole file text[0..n): 0 when every line is valid, else -1
 * with *why a static text and *lineno the 1-based number of the first
 * bad line. A blank first line is refused (qmail's rule: it catches
 * files mangled by an editor). The counts of each kind are added to
 * counts[kind] when counts is not NULL (an array of DOTQMAIL_BAD + 1). */
int dotqmail_check(const char *text, size_t n, const char **why, unsigned long *lineno,
                   unsigned long *counts);

#endif
