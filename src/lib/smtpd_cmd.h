/* smtpd_cmd.h: the SMTP command parser of sluice-smtpd (RFC 5321, with
 * the parameters of SIZE (RFC 1870), 8BITMIME (RFC 6152) and SMTPUTF8
 * (RFC 6531)).
 *
 * Every function takes a command line as received, without its CRLF,
 * as a byte range that may hold anything (NUL included). Nothing here
 * reads or writes a descriptor or keeps state between calls; the
 * session (which command may come when) is sluice-smtpd's business.
 *
 * Results: smtpd_verb() returns an enum smtpd_verb; the parsers return
 * SMTPD_OK (0) or a negative enum smtpd_error; smtpd_error_reply()
 * gives the reply text for each error. The caller owns every
 * str passed in; on failure the address str is left empty. */
#ifndef SLUICE_SMTPD_CMD_H
#define SLUICE_SMTPD_CMD_H

#include <stddef.h>

#include "str.h"

/* The longest command line accepted, CRLF included (RFC 5321 allows
 * 512; real clients send longer parameter lists). */
#define SMTPD_LINE_MAX 1000

enum smtpd_verb {
  SMTPD_UNKNOWN = 0,
  SMTPD_HELO,
  SMTPD_EHLO,
  SMTPD_MAIL,
  SMTPD_RCPT,
  SMTPD_DATA,
  SMTPD_RSET,
  SMTPD_NOOP,
  SMTPD_QUIT,
  SMTPD_VRFY,
  SMTPD_HELP,
  SMTPD_EXPN,
  SMTPD_STARTTLS,
  SMTPD_AUTH,
  SMTPD_BDAT
};

enum smtpd_error {
  SMTPD_OK = 0,
  SMTPD_ESYNTAX = -1,   /* "FROM:"/"TO:" missing, junk after the path */
  SMTPD_EADDR = -2,     /* the path is invalid: see addr_error */
  SMTPD_EPARAM = -3,    /* an unknown or repeated ESMTP parameter */
  SMTPD_EPARAMVAL = -4, /* a known parameter with a bad value */
  SMTPD_ENOMEM = -5,    /* out of memory (errno set) */
  SMTPD_EARG = -6,      /* HELO/EHLO without a name, or an argument to a
                         * command that takes none */
  SMTPD_ENUL = -7       /* a NUL byte in the command line */
};

/* BODY= values */
#define SMTPD_BODY_NONE 0
#define SMTPD_BODY_7BIT 1
#define SMTPD_BODY_8BITMIME 2

struct smtpd_mail_params {
  int size_given;        /* SIZE= present */
  int size_overflow;     /* SIZE= value too large for unsigned long */
  unsigned long size;    /* SIZE= value */
  int body;              /* SMTPD_BODY_... */
  int smtputf8;          /* SMTPUTF8 present */
  int auth_given;        /* AUTH= present (RFC 4954 5; its value is not kept) */
  int addr_error;        /* the addr_parse_path code on SMTPD_EADDR */
  int ret;               /* RET= (RFC 3461 4.3): SMTPD_RET_... */
  int envid_given;       /* ENVID= present (RFC 3461 4.4) */
  str envid;             /* its value, xtext-decoded (the caller's: it
                          * must start as STR_INIT and is reused) */
};

/* RET= values */
#define SMTPD_RET_NONE 0
#define SMTPD_RET_FULL 1
#define SMTPD_RET_HDRS 2

/* NOTIFY= bits (RFC 3461 4.1); 0: the parameter was not given */
#define SMTPD_NOTIFY_NEVER 1u
#define SMTPD_NOTIFY_SUCCESS 2u
#define SMTPD_NOTIFY_FAILURE 4u
#define SMTPD_NOTIFY_DELAY 8u

#define SMTPD_ENVID_MAX 100  /* bytes of ENVID's xtext (RFC 3461 4.4) */
#define SMTPD_ORCPT_MAX 500  /* bytes of ORCPT's value (RFC 3461 4.2) */

/* The parameters of RCPT (DSN, RFC 3461). */
struct smtpd_rcpt_params {
  unsigned notify;       /* SMTPD_NOTIFY_ bits */
  int orcpt_given;       /* ORCPT= present */
  str orcpt;             /* its value as "addr-type;address", the
                          * address xtext-decoded (the caller's, as
                          * envid above) */
};

/* The verb of line[0..n): the bytes up to the first space,
 * case-insensitively. *arg gets the offset of the argument (after the
 * verb and any spaces; n when there is none). A line that holds a NUL
 * anywhere is SMTPD_UNKNOWN. */
int smtpd_verb(const char *line, size_t n, size_t *arg);

/* The argument of MAIL: "FROM:" (any case, spaces allowed around the
 * colon), the reverse-path, then parameters separated by spaces: SIZE,
 * BODY, SMTPUTF8, AUTH, and DSN's RET (FULL or HDRS) and ENVID (xtext
 * of at most SMTPD_ENVID_MAX bytes whose decoded bytes are printable
 * ASCII), each at most once. The
 * address is parsed with ADDR_ALLOW_NULL | ADDR_LENIENT, and with
 * ADDR_UTF8 when the SMTPUTF8 parameter is present. */
int smtpd_parse_mail(const char *arg, size_t n, str *addr, struct smtpd_mail_params *p);

/* The argument of RCPT: "TO:", the forward-path (a bare "postmaster"
 * without domain is allowed: ADDR_ALLOW_POSTMASTER), then the DSN
 * parameters NOTIFY= (NEVER alone, or a list of SUCCESS, FAILURE and
 * DELAY, each at most once, any case) and ORCPT= (an atom, ";", xtext
 * whose decoded bytes are printable ASCII), each at most once; with
 * rp 0 no parameter is allowed. utf8 non-zero: the transaction
 * announced SMTPUTF8. *addr_error gets the addr_parse_path code on
 * SMTPD_EADDR. */
int smtpd_parse_rcpt(const char *arg, size_t n, int utf8, str *addr, int *addr_error,
                     struct smtpd_rcpt_params *rp);

/* Appends the DSN records of the queue envelope (sluice-queue(5)) for
 * one recipient: "N" and the NOTIFY letters (N, or some of S F D) NUL
 * when NOTIFY was given, "R" and the ORCPT value NUL when it was.
 * 0 or -1 (ENOMEM). */
int smtpd_rcpt_records_cat(str *out, const struct smtpd_rcpt_params *rp);

/* The argument of HELO/EHLO: one word of printable non-space bytes
 * (8-bit bytes allowed for the odd client); SMTPD_OK or SMTPD_EARG. The
 * name is not checked further: it only ends up, made safe, in the
 * Received line. *len gets the length of the word. */
int smtpd_parse_helo(const char *arg, size_t n, size_t *len);

/* The argument of BDAT (RFC 3030): a chunk size of decimal digits,
 * then optionally one space or more and LAST (any case), nothing else.
 * *size gets the size, *last 1 for LAST. SMTPD_OK, or SMTPD_ESYNTAX
 * (also for a size that does not fit an unsigned long). */
int smtpd_parse_bdat(const char *arg, size_t n, unsigned long *size, int *last);

/* Replaces out's content with the reply line (code, enhanced code,
 * text; no CRLF) for a parser error of MAIL (mail non-zero) or RCPT.
 * Returns 0, or -1 (ENOMEM). */
int smtpd_error_reply(str *out, int err, int addr_error, int mail);

/* Appends s[0..n) to out with every byte outside [A-Za-z0-9.-_:] (and,
 * when brackets is non-zero, '[' and ']') replaced by '?', at most max
 * bytes of it. For HELO names and host names in the Received line and
 * the log. */
int smtpd_safe_cat(str *out, const char *s, size_t n, size_t max, int brackets);

#endif
