/* smtpd_cmd.c: see smtpd_cmd.h.
 *
 * The parsers work on byte ranges with an index; no byte past n is ever
 * read and nothing relies on a terminator. Addresses are parsed by
 * addr_parse_path; this file only finds where they are and checks the
 * ESMTP parameters that follow. */
#include <errno.h>

#include "addr.h"
#include "byte.h"
#include "scan.h"
#include "smtpd_cmd.h"
#include "xtext.h"

struct verb_name {
  const char *name;
  int verb;
};

static const struct verb_name verbs[] = {
  { "HELO", SMTPD_HELO }, { "EHLO", SMTPD_EHLO }, { "MAIL", SMTPD_MAIL },
  { "RCPT", SMTPD_RCPT }, { "DATA", SMTPD_DATA }, { "RSET", SMTPD_RSET },
  { "NOOP", SMTPD_NOOP }, { "QUIT", SMTPD_QUIT }, { "VRFY", SMTPD_VRFY },
  { "HELP", SMTPD_HELP }, { "EXPN", SMTPD_EXPN }, { "STARTTLS", SMTPD_STARTTLS },
  { "AUTH", SMTPD_AUTH }, { "BDAT", SMTPD_BDAT },
};

static size_t skip_spaces(const char *s, size_t n, size_t i)
{
  while (i < n && s[i] == ' ') ++i;
  return i;
}

int smtpd_verb(const char *line, size_t n, size_t *arg)
{
  size_t end = byte_chr(line, n, ' ');
  size_t k;

  *arg = skip_spaces(line, n, end);
  if (byte_chr(line, n, 0) < n) return SMTPD_UNKNOWN;
  for (k = 0; k < sizeof verbs / sizeof verbs[0]; ++k)
    if (case_equalb(line, end, verbs[k].name, byte_len(verbs[k].name, 16))) return verbs[k].verb;
  return SMTPD_UNKNOWN;
}

int smtpd_parse_bdat(const char *arg, size_t n, unsigned long *size, int *last)
{
  size_t i = 0;
  unsigned long v = 0;

  *size = 0;
  *last = 0;
  if (n == 0 || arg[0] < '0' || arg[0] > '9') return SMTPD_ESYNTAX;
  while (i < n && arg[i] >= '0' && arg[i] <= '9') {
    unsigned long d = (unsigned long)(arg[i] - '0');
    if (v > ((unsigned long)-1 - d) / 10) return SMTPD_ESYNTAX;
    v = v * 10 + d;
    ++i;
  }
  if (i < n) {
    if (arg[i] != ' ') return SMTPD_ESYNTAX;
    i = skip_spaces(arg, n, i);
    if (n - i != 4 || !case_equalb(arg + i, 4, "LAST", 4)) return SMTPD_ESYNTAX;
    *last = 1;
  }
  *size = v;
  return SMTPD_OK;
}

/* The offset after "KEYWORD:" (any case) at the start of s[0..n), or
 * n + 1 when it is not there. */
static size_t after_keyword(const char *s, size_t n, const char *kw)
{
  size_t k = byte_len(kw, 16);
  if (n < k || !case_equalb(s, k, kw, k)) return n + 1;
  return k;
}

static int is_keychar(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Parses the ESMTP parameters of MAIL in s[0..n). */
static int mail_params(const char *s, size_t n, struct smtpd_mail_params *p)
{
  size_t i = 0;

  for (;;) {
    size_t kstart, klen, vstart, vlen;
    int has_value = 0;

    while (i < n && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i >= n) return SMTPD_OK;
    kstart = i;
    while (i < n && is_keychar(s[i])) ++i;
    klen = i - kstart;
    if (klen == 0) return SMTPD_ESYNTAX;
    vstart = i;
    if (i < n && s[i] == '=') {
      has_value = 1;
      vstart = ++i;
      while (i < n && s[i] != ' ' && s[i] != '\t') {
        unsigned char c = (unsigned char)s[i];
        if (c < 33 || c > 126) return SMTPD_EPARAMVAL;
        ++i;
      }
    } else if (i < n && s[i] != ' ' && s[i] != '\t') {
      return SMTPD_ESYNTAX;
    }
    vlen = i - vstart;

    if (case_equalb(s + kstart, klen, "SIZE", 4)) {
      if (p->size_given || !has_value || vlen == 0) return p->size_given ? SMTPD_EPARAM : SMTPD_EPARAMVAL;
      p->size_given = 1;
      for (size_t j = vstart; j < vstart + vlen; ++j)
        if (s[j] < '0' || s[j] > '9') return SMTPD_EPARAMVAL;
      if (scan_ulong_exact(s + vstart, vlen, &p->size) < 0) {
        if (errno != ERANGE) return SMTPD_EPARAMVAL;
        p->size_overflow = 1;
        p->size = (unsigned long)-1;
      }
    } else if (case_equalb(s + kstart, klen, "BODY", 4)) {
      if (p->body != SMTPD_BODY_NONE) return SMTPD_EPARAM;
      if (!has_value) return SMTPD_EPARAMVAL;
      if (case_equalb(s + vstart, vlen, "7BIT", 4)) p->body = SMTPD_BODY_7BIT;
      else if (case_equalb(s + vstart, vlen, "8BITMIME", 8)) p->body = SMTPD_BODY_8BITMIME;
      else return SMTPD_EPARAMVAL;
    } else if (case_equalb(s + kstart, klen, "AUTH", 4)) {
      /* RFC 4954 5: the original submitter, xtext or <>; read and
       * ignored (the caller refuses it where AUTH is not offered) */
      if (p->auth_given) return SMTPD_EPARAM;
      if (!has_value || vlen == 0) return SMTPD_EPARAMVAL;
      p->auth_given = 1;
    } else if (case_equalb(s + kstart, klen, "RET", 3)) {
      if (p->ret != SMTPD_RET_NONE) return SMTPD_EPARAM;
      if (!has_value) return SMTPD_EPARAMVAL;
      if (case_equalb(s + vstart, vlen, "FULL", 4)) p->ret = SMTPD_RET_FULL;
      else if (case_equalb(s + vstart, vlen, "HDRS", 4)) p->ret = SMTPD_RET_HDRS;
      else return SMTPD_EPARAMVAL;
    } else if (case_equalb(s + kstart, klen, "ENVID", 5)) {
      if (p->envid_given) return SMTPD_EPARAM;
      if (!has_value || vlen == 0 || vlen > SMTPD_ENVID_MAX) return SMTPD_EPARAMVAL;
      if (xtext_decode(s + vstart, vlen, &p->envid) < 0) return errno == ENOMEM ? SMTPD_ENOMEM : SMTPD_EPARAMVAL;
      p->envid_given = 1;
    } else if (case_equalb(s + kstart, klen, "SMTPUTF8", 8)) {
      if (p->smtputf8) return SMTPD_EPARAM;
      if (has_value) return SMTPD_EPARAMVAL;
      p->smtputf8 = 1;
    } else {
      return SMTPD_EPARAM;
    }
  }
}

int smtpd_parse_mail(const char *arg, size_t n, str *addr, struct smtpd_mail_params *p)
{
  size_t off, used = 0;
  int r;

  p->size_given = p->size_overflow = 0;
  p->size = 0;
  p->body = SMTPD_BODY_NONE;
  p->smtputf8 = 0;
  p->auth_given = 0;
  p->addr_error = ADDR_OK;
  p->ret = SMTPD_RET_NONE;
  p->envid_given = 0;
  str_truncate(&p->envid, 0);
  str_truncate(addr, 0);
  if (byte_chr(arg, n, 0) < n) return SMTPD_ENUL;
  off = after_keyword(arg, n, "FROM:");
  if (off > n) return SMTPD_ESYNTAX;
  /* First with UTF-8 allowed, only to find where the parameters start. */
  r = addr_parse_path(arg + off, n - off, ADDR_ALLOW_NULL | ADDR_LENIENT | ADDR_UTF8, addr, &used);
  if (r == ADDR_ENOMEM) return SMTPD_ENOMEM;
  if (r != ADDR_OK) {
    p->addr_error = r;
    return SMTPD_EADDR;
  }
  r = mail_params(arg + off + used, n - off - used, p);
  if (r != SMTPD_OK) {
    str_truncate(addr, 0);
    return r;
  }
  if (!p->smtputf8) {
    r = addr_parse_path(arg + off, n - off, ADDR_ALLOW_NULL | ADDR_LENIENT, addr, &used);
    if (r == ADDR_ENOMEM) return SMTPD_ENOMEM;
    if (r != ADDR_OK) {
      p->addr_error = r;
      return SMTPD_EADDR;
    }
  }
  return SMTPD_OK;
}

/* NOTIFY's value: NEVER, or a list of SUCCESS, FAILURE, DELAY. */
static int notify_parse(const char *s, size_t n, unsigned *bits)
{
  size_t i = 0;

  *bits = 0;
  for (;;) {
    size_t start = i;
    unsigned b;
    while (i < n && s[i] != ',') ++i;
    if (case_equalb(s + start, i - start, "NEVER", 5)) b = SMTPD_NOTIFY_NEVER;
    else if (case_equalb(s + start, i - start, "SUCCESS", 7)) b = SMTPD_NOTIFY_SUCCESS;
    else if (case_equalb(s + start, i - start, "FAILURE", 7)) b = SMTPD_NOTIFY_FAILURE;
    else if (case_equalb(s + start, i - start, "DELAY", 5)) b = SMTPD_NOTIFY_DELAY;
    else return SMTPD_EPARAMVAL;
    if (*bits & b) return SMTPD_EPARAMVAL;
    *bits |= b;
    if (i >= n) break;
    ++i; /* the comma */
  }
  /* NEVER stands alone (RFC 3461 4.1) */
  if ((*bits & SMTPD_NOTIFY_NEVER) && *bits != SMTPD_NOTIFY_NEVER) return SMTPD_EPARAMVAL;
  return SMTPD_OK;
}

/* ORCPT's value: addr-type (an atom) ";" xtext. */
static int orcpt_parse(const char *s, size_t n, str *out, str *tmp)
{
  size_t semi = byte_chr(s, n, ';'), i;

  if (semi == 0 || semi >= n || n > SMTPD_ORCPT_MAX) return SMTPD_EPARAMVAL;
  for (i = 0; i < semi; ++i)
    if (!is_keychar(s[i])) return SMTPD_EPARAMVAL;
  if (xtext_decode(s + semi + 1, n - semi - 1, tmp) < 0) return errno == ENOMEM ? SMTPD_ENOMEM : SMTPD_EPARAMVAL;
  if (tmp->len == 0) return SMTPD_EPARAMVAL;
  if (str_copyb(out, s, semi + 1) < 0 || str_cat(out, tmp) < 0) return SMTPD_ENOMEM;
  return SMTPD_OK;
}

static int rcpt_params(const char *s, size_t n, struct smtpd_rcpt_params *rp)
{
  size_t i = 0;
  str tmp = STR_INIT;
  int r = SMTPD_OK;

  for (;;) {
    size_t kstart, klen, vstart, vlen;

    while (i < n && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i >= n) break;
    if (!rp) {
      r = SMTPD_EPARAM;
      break;
    }
    kstart = i;
    while (i < n && is_keychar(s[i])) ++i;
    klen = i - kstart;
    if (klen == 0 || i >= n || s[i] != '=') {
      r = klen == 0 || (i < n && s[i] != ' ' && s[i] != '\t') ? SMTPD_ESYNTAX : SMTPD_EPARAM;
      if (r == SMTPD_EPARAM && (case_equalb(s + kstart, klen, "NOTIFY", 6) || case_equalb(s + kstart, klen, "ORCPT", 5)))
        r = SMTPD_EPARAMVAL;
      break;
    }
    vstart = ++i;
    while (i < n && s[i] != ' ' && s[i] != '\t') {
      unsigned char c = (unsigned char)s[i];
      if (c < 33 || c > 126) {
        r = SMTPD_EPARAMVAL;
        goto done;
      }
      ++i;
    }
    vlen = i - vstart;
    if (case_equalb(s + kstart, klen, "NOTIFY", 6)) {
      if (rp->notify) r = SMTPD_EPARAM;
      else r = notify_parse(s + vstart, vlen, &rp->notify);
    } else if (case_equalb(s + kstart, klen, "ORCPT", 5)) {
      if (rp->orcpt_given) r = SMTPD_EPARAM;
      else if ((r = orcpt_parse(s + vstart, vlen, &rp->orcpt, &tmp)) == SMTPD_OK) rp->orcpt_given = 1;
    } else {
      r = SMTPD_EPARAM;
    }
    if (r != SMTPD_OK) break;
  }
done:
  str_free(&tmp);
  return r;
}

int smtpd_parse_rcpt(const char *arg, size_t n, int utf8, str *addr, int *addr_error,
                     struct smtpd_rcpt_params *rp)
{
  size_t off, used = 0;
  int r, flags = ADDR_LENIENT | ADDR_ALLOW_POSTMASTER | (utf8 ? ADDR_UTF8 : 0);

  *addr_error = ADDR_OK;
  str_truncate(addr, 0);
  if (rp) {
    rp->notify = 0;
    rp->orcpt_given = 0;
    str_truncate(&rp->orcpt, 0);
  }
  if (byte_chr(arg, n, 0) < n) return SMTPD_ENUL;
  off = after_keyword(arg, n, "TO:");
  if (off > n) return SMTPD_ESYNTAX;
  r = addr_parse_path(arg + off, n - off, flags, addr, &used);
  if (r == ADDR_ENOMEM) return SMTPD_ENOMEM;
  if (r != ADDR_OK) {
    *addr_error = r;
    return SMTPD_EADDR;
  }
  r = rcpt_params(arg + off + used, n - off - used, rp);
  if (r != SMTPD_OK) str_truncate(addr, 0);
  return r;
}

int smtpd_rcpt_records_cat(str *out, const struct smtpd_rcpt_params *rp)
{
  if (rp->notify) {
    if (str_catc(out, 'N') < 0) return -1;
    if ((rp->notify & SMTPD_NOTIFY_NEVER) && str_catc(out, 'N') < 0) return -1;
    if ((rp->notify & SMTPD_NOTIFY_SUCCESS) && str_catc(out, 'S') < 0) return -1;
    if ((rp->notify & SMTPD_NOTIFY_FAILURE) && str_catc(out, 'F') < 0) return -1;
    if ((rp->notify & SMTPD_NOTIFY_DELAY) && str_catc(out, 'D') < 0) return -1;
    if (str_catc(out, 0) < 0) return -1;
  }
  if (rp->orcpt_given && (str_catc(out, 'R') < 0 || str_cat(out, &rp->orcpt) < 0 || str_catc(out, 0) < 0)) return -1;
  return 0;
}

int smtpd_parse_helo(const char *arg, size_t n, size_t *len)
{
  size_t i = 0;

  while (i < n && arg[i] != ' ' && arg[i] != '\t') {
    unsigned char c = (unsigned char)arg[i];
    if (c < 33 || c == 127) return SMTPD_EARG;
    ++i;
  }
  if (i == 0) return SMTPD_EARG;
  *len = i;
  return SMTPD_OK;
}

int smtpd_error_reply(str *out, int err, int addr_error, int mail)
{
  const char *text;

  switch (err) {
  case SMTPD_ESYNTAX:
    text = mail ? "501 5.5.4 syntax: MAIL FROM:<address>" : "501 5.5.4 syntax: RCPT TO:<address>";
    break;
  case SMTPD_EPARAM: text = "555 5.5.4 parameter not recognised or repeated"; break;
  case SMTPD_EPARAMVAL: text = "501 5.5.4 bad parameter value"; break;
  case SMTPD_ENOMEM: text = "451 4.3.0 out of memory"; break;
  case SMTPD_EARG: text = "501 5.5.4 syntax error in arguments"; break;
  case SMTPD_ENUL: text = "500 5.5.2 NUL byte in command"; break;
  case SMTPD_EADDR:
    if (addr_error == ADDR_E8BIT) {
      text = "553 5.6.7 non-ASCII address needs SMTPUTF8";
      break;
    }
    if (str_copys(out, mail ? "501 5.1.7 bad sender address: " : "501 5.1.3 bad recipient address: ") < 0) return -1;
    return str_cats(out, addr_strerror(addr_error));
  default: text = "451 4.3.0 internal error"; break;
  }
  return str_copys(out, text);
}

static int safe_char(unsigned char c, int brackets)
{
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return 1;
  if (c == '.' || c == '-' || c == '_' || c == ':') return 1;
  return brackets && (c == '[' || c == ']');
}

int smtpd_safe_cat(str *out, const char *s, size_t n, size_t max, int brackets)
{
  size_t i;

  if (n > max) n = max;
  if (str_readyplus(out, n) < 0) return -1;
  for (i = 0; i < n; ++i) out->s[out->len + i] = safe_char((unsigned char)s[i], brackets) ? s[i] : '?';
  out->len += n;
  return 0;
}
