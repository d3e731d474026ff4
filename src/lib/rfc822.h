/* rfc822.h: message header parsing for the injector (RFC 5322).
 *
 * Three pieces, each working on byte ranges (no NUL terminator needed,
 * NUL bytes allowed in the data):
 *
 *  - rfc822_line_kind() classifies one line of input while the header
 *    is being read: a new field, a continuation line, the empty line
 *    that ends the header, or something else (the body has begun).
 *  - rfc822_field_next() walks a header made only of fields and their
 *    continuation lines, one field at a time.
 *  - rfc822_addrlist() parses the value of an address field (To, Cc,
 *    Bcc, From, Reply-To...): a comma-separated list of mailboxes
 *    ("addr@dom", "Name <addr@dom>", "addr@dom (comment)") and groups
 *    ("team: a@x, b@y;"), with quoted strings, comments (nested),
 *    domain literals and source routes. It returns the addresses in
 *    canonical envelope form and a copy of the value in which bare
 *    local parts have been qualified.
 *
 * Errors: rfc822_addrlist returns 0, or -1 with errno EINVAL (the value
 * does not parse; *err then names the problem in a short English text,
 * e.g. "unbalanced angle bracket") or ENOMEM/EOVERFLOW. The caller owns
 * every str passed in; their content is replaced. */
#ifndef SLUICE_RFC822_H
#define SLUICE_RFC822_H

#include <stddef.h>

#include "str.h"

/* rfc822_line_kind results */
#define RFC822_FIELD 1 /* "Name: value" (name: printable ASCII but ':') */
#define RFC822_CONT 2  /* starts with a space or a tab */
#define RFC822_END 3   /* empty line ("\n", "\r\n") or nothing at all */
#define RFC822_OTHER 4 /* anything else: not a header line */

/* Classifies line[0..n) (its line feed included when present). */
int rfc822_line_kind(const char *line, size_t n);

/* If line[0..n) begins a field, returns the length of its name (at
 * least 1) and sets *value to the index just after the ':'; else 0.
 * White space between the name and the colon (obsolete syntax) is
 * accepted and not counted in the name. */
size_t rfc822_field_name(const char *line, size_t n, size_t *value);

struct rfc822_field {
  size_t start;    /* offset of the field in the header */
  size_t len;      /* its length, continuation lines and final LF included */
  size_t name_len; /* the name is h[start..start+name_len) */
  size_t value;    /* offset of the value (just after ':') */
};

/* Steps through h[0..n), a header of fields and continuation lines:
 *     size_t pos = 0; struct rfc822_field f;
 *     while ((r = rfc822_field_next(h, n, &pos, &f)) == 1) use f
 * Returns 1 with *f set, 0 at the end, -1 (EINVAL) when the text at
 * pos does not start a field. A last line without LF is part of the
 * last field. */
int rfc822_field_next(const char *h, size_t n, size_t *pos, struct rfc822_field *f);

/* 1 when the field name name[0..len) equals want, ignoring ASCII case. */
int rfc822_name_is(const char *name, size_t len, const char *want);

/* How addresses are completed, by qmail-inject's rules (qmail-header(5)):
 *  - a local part without '@' gets "@" host (when host is not NULL;
 *    else it stays bare); host is used as given, so the caller completes
 *    it first with rfc822_qualify_host;
 *  - a domain that ends with '+' has the '+' replaced by "." plus (when
 *    plus is not NULL), with or without dots;
 *  - else a domain without a dot (one atom: not a domain literal) gets
 *    "." domain appended (when domain is not NULL), unless it is one of
 *    the names in keep (a control_readlist list, ASCII case ignored;
 *    NULL: none), the names this host answers to, such as localhost.
 * lenient accepts two common mistakes instead of refusing the value:
 * a ';' outside a group separates addresses like a ',' (and becomes one
 * in the rewritten value), and a mailbox made of words followed by an
 * address with '@' but no angle brackets ("Joe Bloggs j@x") is read as
 * the name and that address (rewritten "Joe Bloggs <j@x>"). */
struct rfc822_qualify {
  const char *host;
  const char *domain;
  const char *plus;
  const str *keep;
  int lenient;
};

/* Appends host[0..n) to *out, completed by the domain rules above (the
 * '+' and the dotless rule; a domain literal "[...]" is kept). q may be
 * NULL: the host is copied. 0, or -1 with errno ENOMEM. */
int rfc822_qualify_host(const struct rfc822_qualify *q, const char *host, size_t n, str *out);

/* Parses the address list v[0..n) (a field value, folding included).
 * On success: *rewritten = v with the qualifications made (every other
 * byte, comments and phrases included, is kept), *addrs = each address
 * in canonical form (as addr_parse_path gives it) followed by a NUL,
 * *naddrs = their number. Empty elements (",,"), empty groups and the
 * null address "<>" give no address. */
int rfc822_addrlist(const char *v, size_t n, const struct rfc822_qualify *q,
                    str *rewritten, str *addrs, size_t *naddrs, const char **err);

#endif
