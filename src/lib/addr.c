/* addr.c: see addr.h.
 *
 * One pass over the path with a cursor. Each part (route, local part,
 * domain) is checked by its own function that advances the cursor and
 * returns ADDR_OK or an error; the limits are checked once the whole
 * syntax is known to be right, so a malformed path is always reported
 * as a syntax error first. Lengths are counted on the received text. */
#include "addr.h"
#include "byte.h"
#include "ip.h"
#include "size.h"

struct addr_cursor {
  const char *s;
  size_t n;
  size_t pos;
  int flags;
};

static int addr_at(const struct addr_cursor *c, char ch)
{
  return c->pos < c->n && c->s[c->pos] == ch;
}

static int addr_alnum(unsigned char ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* RFC 5322 atext */
static int addr_atext(unsigned char ch)
{
  if (addr_alnum(ch)) return 1;
  switch (ch) {
  case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
  case '+': case '-': case '/': case '=': case '?': case '^': case '_':
  case '`': case '{': case '|': case '}': case '~':
    return 1;
  default:
    return 0;
  }
}

/* The byte under the cursor is >= 0x80: checks that it starts a valid
 * UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF) and is allowed here, and stores its length. C1
 * control characters (U+0080..U+009F) are refused like ASCII ones. */
static int addr_utf8(const struct addr_cursor *c, size_t *len)
{
  const unsigned char *u = (const unsigned char *)c->s + c->pos;
  size_t left = c->n - c->pos, need, i;
  unsigned char lo = 0x80, hi = 0xbf;

  if (!(c->flags & ADDR_UTF8)) return ADDR_E8BIT;
  if (u[0] < 0xc2) return ADDR_EUTF8;
  if (u[0] < 0xe0) {
    need = 1;
  } else if (u[0] < 0xf0) {
    need = 2;
    if (u[0] == 0xe0) lo = 0xa0;
    if (u[0] == 0xed) hi = 0x9f;
  } else if (u[0] < 0xf5) {
    need = 3;
    if (u[0] == 0xf0) lo = 0x90;
    if (u[0] == 0xf4) hi = 0x8f;
  } else {
    return ADDR_EUTF8;
  }
  if (left <= need) return ADDR_EUTF8;
  if (u[1] < lo || u[1] > hi) return ADDR_EUTF8;
  for (i = 2; i <= need; ++i)
    if (u[i] < 0x80 || u[i] > 0xbf) return ADDR_EUTF8;
  if (u[0] == 0xc2 && u[1] < 0xa0) return ADDR_ESYNTAX;
  *len = need + 1;
  return ADDR_OK;
}

/* A dotted host name: labels of letters, digits and hyphens (and UTF-8
 * under ADDR_UTF8), not empty, no hyphen at either end of a label unless
 * lenient. The 63-byte label limit is applied to ASCII labels only: the
 * length of a UTF-8 label's A-label form is not known here. */
static int addr_hostname(struct addr_cursor *c)
{
  size_t label = 0;
  int ascii = 1, hyphen_end = 0, r;
  int strict = !(c->flags & ADDR_LENIENT);

  for (;;) {
    unsigned char ch = c->pos < c->n ? (unsigned char)c->s[c->pos] : 0;
    int end = c->pos >= c->n;
    if (!end && addr_alnum(ch)) {
      ++label;
      ++c->pos;
      hyphen_end = 0;
    } else if (!end && ch == '-') {
      if (label == 0 && strict) return ADDR_ESYNTAX;
      ++label;
      ++c->pos;
      hyphen_end = 1;
    } else if (!end && ch >= 0x80) {
      size_t len;
      if ((r = addr_utf8(c, &len)) != ADDR_OK) return r;
      label += len;
      c->pos += len;
      ascii = 0;
      hyphen_end = 0;
    } else {
      if (label == 0) return ADDR_ESYNTAX;
      if (hyphen_end && strict) return ADDR_ESYNTAX;
      if (ascii && label > ADDR_LABEL_MAX) return ADDR_EDOMAINLONG;
      if (end || ch != '.') return ADDR_OK;
      ++c->pos;
      label = 0;
      ascii = 1;
    }
  }
}

/* "[1.2.3.4]" or "[IPv6:...]"; the cursor is on the '['. Other
 * standardized tags (RFC 5321 General-address-literal) are refused: no
 * such tag is registered. */
static int addr_literal(struct addr_cursor *c)
{
  size_t start, len;
  const char *v;

  start = ++c->pos;
  while (c->pos < c->n && c->s[c->pos] != ']') {
    unsigned char ch = (unsigned char)c->s[c->pos];
    if (ch >= 0x80) return (c->flags & ADDR_UTF8) ? ADDR_ELITERAL : ADDR_E8BIT;
    if (ch < 33 || ch > 126 || ch == '[' || ch == '\\') return ADDR_ESYNTAX;
    ++c->pos;
  }
  if (c->pos >= c->n) return ADDR_ESYNTAX; /* no ']' */
  v = c->s + start;
  len = c->pos - start;
  ++c->pos;
  if (len > 5 && byte_startswith(v, len, "IPv6:", 1)) {
    unsigned char ip6[16];
    if (ip6_scan(v + 5, len - 5, ip6) == len - 5) return ADDR_OK;
  } else if (len > 0) {
    unsigned char ip4[4];
    if (ip4_scan(v, len, ip4) == len) return ADDR_OK;
  }
  return ADDR_ELITERAL;
}

/* A quoted local part; the cursor is on the opening '"'. Appends the
 * canonical form: bare when the content is a proper dot-string, else
 * quoted with a backslash before '"' and '\' only. */
static int addr_quoted(struct addr_cursor *c, str *out)
{
  size_t start, end, i;
  int dot_string = 1, after_dot = 1, r;

  start = ++c->pos;
  for (;;) {
    unsigned char ch;
    if (c->pos >= c->n) return ADDR_ESYNTAX; /* unterminated */
    ch = (unsigned char)c->s[c->pos];
    if (ch == '"') break;
    if (ch >= 0x80) {
      size_t len;
      if ((r = addr_utf8(c, &len)) != ADDR_OK) return r;
      c->pos += len;
      after_dot = 0;
      continue;
    }
    if (ch == '\\') {
      if (c->pos + 1 >= c->n) return ADDR_ESYNTAX;
      ch = (unsigned char)c->s[c->pos + 1];
      if (ch >= 0x80 && !(c->flags & ADDR_UTF8)) return ADDR_E8BIT;
      if (ch < 32 || ch > 126) return ADDR_ESYNTAX;
      c->pos += 2;
    } else {
      if (ch < 32 || ch > 126) return ADDR_ESYNTAX;
      ++c->pos;
    }
    if (ch == '.') {
      if (after_dot) dot_string = 0;
      after_dot = 1;
    } else {
      if (!addr_atext(ch)) dot_string = 0;
      after_dot = 0;
    }
  }
  end = c->pos++;
  if (after_dot) dot_string = 0; /* empty, or ends with a dot */

  if (!dot_string && str_catc(out, '"') < 0) return ADDR_ENOMEM;
  for (i = start; i < end; ++i) {
    char ch = c->s[i];
    if (ch == '\\') ch = c->s[++i];
    if (!dot_string && (ch == '"' || ch == '\\') && str_catc(out, '\\') < 0) return ADDR_ENOMEM;
    if (str_catc(out, ch) < 0) return ADDR_ENOMEM;
  }
  if (!dot_string && str_catc(out, '"') < 0) return ADDR_ENOMEM;
  return ADDR_OK;
}

/* An unquoted local part: atext and dots (and UTF-8 under ADDR_UTF8). */
static int addr_dot_string(struct addr_cursor *c, str *out)
{
  size_t start = c->pos;
  int after_dot = 1, r;
  int strict = !(c->flags & ADDR_LENIENT);

  while (c->pos < c->n) {
    unsigned char ch = (unsigned char)c->s[c->pos];
    if (addr_atext(ch)) {
      ++c->pos;
      after_dot = 0;
    } else if (ch == '.') {
      if (after_dot && strict) return ADDR_ESYNTAX;
      ++c->pos;
      after_dot = 1;
    } else if (ch >= 0x80) {
      size_t len;
      if ((r = addr_utf8(c, &len)) != ADDR_OK) return r;
      c->pos += len;
      after_dot = 0;
    } else {
      break;
    }
  }
  if (c->pos == start) return ADDR_ESYNTAX;
  if (after_dot && strict) return ADDR_ESYNTAX;
  if (str_catb(out, c->s + start, c->pos - start) < 0) return ADDR_ENOMEM;
  return ADDR_OK;
}

/* "@a.example,@b.example:" ; the cursor is on the first '@'. Checked,
 * then dropped (RFC 5321 section 4.1.1.3: servers should ignore it). */
static int addr_route(struct addr_cursor *c)
{
  int r;
  for (;;) {
    ++c->pos; /* the '@' */
    if ((r = addr_hostname(c)) != ADDR_OK) return r;
    if (addr_at(c, ':')) { ++c->pos; return ADDR_OK; }
    if (!addr_at(c, ',')) return ADDR_ESYNTAX;
    ++c->pos;
    if (!addr_at(c, '@')) return ADDR_ESYNTAX;
  }
}

static void addr_skip_space(struct addr_cursor *c)
{
  while (addr_at(c, ' ') || addr_at(c, '\t')) ++c->pos;
}

/* addr_parse_bare's mode, kept out of the header: the whole range is
 * the address, without brackets or blanks around it. */
#define ADDR_BARE 0x1000

/* 1 when out holds "postmaster" in any case (RFC 5321 section 4.1.1.3) */
static int addr_is_postmaster(const str *out)
{
  return case_equalb(out->s, out->len, "postmaster", 10);
}

static int addr_path(struct addr_cursor *c, str *out, size_t *consumed)
{
  size_t path_start, path_len, local_start, local_len, domain_len = 0;
  int bracket = 0, null_path = 0, no_domain = 0, r;

  if (!(c->flags & ADDR_BARE)) addr_skip_space(c);
  path_start = c->pos;
  if (c->flags & ADDR_BARE) {
    /* no brackets: a '<' fails below as a bad local part */
  } else if (addr_at(c, '<')) {
    bracket = 1;
    ++c->pos;
    if (c->flags & ADDR_LENIENT) addr_skip_space(c);
  } else if (!(c->flags & ADDR_LENIENT)) {
    return ADDR_ESYNTAX;
  }

  if (bracket && addr_at(c, '>')) {
    null_path = 1;
  } else {
    if (addr_at(c, '@') && (r = addr_route(c)) != ADDR_OK) return r;
    local_start = c->pos;
    if (addr_at(c, '"')) r = addr_quoted(c, out);
    else r = addr_dot_string(c, out);
    if (r != ADDR_OK) return r;
    local_len = c->pos - local_start;
    if (addr_at(c, '@')) {
      size_t domain_start = ++c->pos;
      if (addr_at(c, '[')) r = addr_literal(c);
      else r = addr_hostname(c);
      if (r != ADDR_OK) return r;
      domain_len = c->pos - domain_start;
      if (str_catb(out, c->s + domain_start - 1, domain_len + 1) < 0) return ADDR_ENOMEM;
    } else {
      no_domain = 1;
    }
  }

  if (bracket) {
    if (c->flags & ADDR_LENIENT) addr_skip_space(c);
    if (!addr_at(c, '>')) return ADDR_ESYNTAX;
    ++c->pos;
    path_len = c->pos - path_start;
  } else if (size_add(&path_len, c->pos - path_start, 2) < 0) {
    return ADDR_EPATHLONG;
  }
  if (c->flags & ADDR_BARE) {
    if (c->pos < c->n) return ADDR_ESYNTAX;
  } else if (c->pos < c->n && !addr_at(c, ' ') && !addr_at(c, '\t')) {
    return ADDR_ESYNTAX;
  }

  if (null_path) {
    if (!(c->flags & ADDR_ALLOW_NULL)) return ADDR_ENULL;
  } else {
    if (no_domain && !(c->flags & ADDR_ALLOW_NODOMAIN)
        && !((c->flags & ADDR_ALLOW_POSTMASTER) && addr_is_postmaster(out)))
      return ADDR_ENODOMAIN;
    if (c->flags & ADDR_LONG) {
      if (out->len > ADDR_LONG_MAX) return ADDR_EPATHLONG;
    } else {
      if (local_len > ADDR_LOCAL_MAX) return ADDR_ELOCALLONG;
      if (domain_len > ADDR_DOMAIN_MAX) return ADDR_EDOMAINLONG;
      if (path_len > ADDR_PATH_MAX) return ADDR_EPATHLONG;
    }
  }
  *consumed = c->pos;
  return ADDR_OK;
}

int addr_parse_path(const char *s, size_t n, int flags, str *out, size_t *consumed)
{
  struct addr_cursor c;
  int r;

  c.s = s;
  c.n = n;
  c.pos = 0;
  c.flags = flags & ~ADDR_BARE;
  str_truncate(out, 0);
  r = addr_path(&c, out, consumed);
  if (r != ADDR_OK) str_truncate(out, 0);
  return r;
}

int addr_parse_bare(const char *s, size_t n, int flags, str *out)
{
  struct addr_cursor c;
  size_t consumed;
  int r;

  str_truncate(out, 0);
  if (n == 0) return (flags & ADDR_ALLOW_NULL) ? ADDR_OK : ADDR_ENULL;
  c.s = s;
  c.n = n;
  c.pos = 0;
  c.flags = flags | ADDR_BARE;
  r = addr_path(&c, out, &consumed);
  if (r != ADDR_OK) str_truncate(out, 0);
  return r;
}

const char *addr_strerror(int code)
{
  switch (code) {
  case ADDR_OK: return "no error";
  case ADDR_ESYNTAX: return "syntax error in address";
  case ADDR_ELOCALLONG: return "local part too long";
  case ADDR_EDOMAINLONG: return "domain name too long";
  case ADDR_EPATHLONG: return "address too long";
  case ADDR_ELITERAL: return "bad address literal";
  case ADDR_E8BIT: return "8-bit address without SMTPUTF8";
  case ADDR_EUTF8: return "invalid UTF-8 in address";
  case ADDR_ENULL: return "null sender not allowed here";
  case ADDR_ENODOMAIN: return "address has no domain";
  case ADDR_ENOMEM: return "out of memory";
  default: return "unknown address error";
  }
}

int addr_split(const char *addr, size_t len, size_t *local_len)
{
  size_t i, at;

  /* a quoted string that is the whole address: a local part alone,
   * whatever '@' it holds */
  if (len >= 2 && addr[0] == '"') {
    for (i = 1; i < len; ++i) {
      if (addr[i] == '\\') ++i;
      else if (addr[i] == '"') break;
    }
    if (i == len - 1) {
      *local_len = len;
      return 0;
    }
  }
  at = byte_rchr(addr, len, '@');
  *local_len = at;
  return at < len;
}
