/* smtpc.c: SMTP client session, reply reader, DATA encoder (smtpc.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "byte.h"
#include "deadline.h"
#include "errtext.h"
#include "fmt.h"
#include "scan.h"
#include "smtpc.h"
#include "starttls.h"
#include "str.h"
#include "tlspolicy.h"
#include "xtext.h"

/* ---- replies ---- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Appends s[0..n) to t with every byte that is not printable ASCII
 * replaced by '?', stopping at max bytes in t. Allocation failures only
 * shorten the text. */
static void cat_clean(str *t, const char *s, size_t n, size_t max)
{
  for (size_t i = 0; i < n && t->len < max; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\t') c = ' ';
    if (c < 0x20 || c > 0x7e) c = '?';
    if (str_catc(t, (char)c) < 0) return;
  }
}

/* Reads one line into *line (without its line end), keeping at most
 * SMTPC_LINE_KEEP bytes and discarding the rest. *total counts every
 * byte read. 1 read, -1 error (end of file: ECONNRESET; more than
 * SMTPC_REPLY_MAX in total: E2BIG). */
static int line_read(buf *in, str *line, str *scratch, size_t *total)
{
  int r;
  str_truncate(line, 0);
  r = buf_getline(in, line, '\n', SMTPC_LINE_KEEP + 2);
  *total += line->len;
  if (r < 0 && errno == E2BIG) {
    for (;;) {
      str_truncate(scratch, 0);
      r = buf_getline(in, scratch, '\n', 4096);
      *total += scratch->len;
      if (*total > SMTPC_REPLY_MAX) { errno = E2BIG; return -1; }
      if (r < 0 && errno == E2BIG) continue;
      break;
    }
  }
  if (r == 0) { errno = ECONNRESET; return -1; }
  if (r < 0) return -1;
  if (*total > SMTPC_REPLY_MAX) { errno = E2BIG; return -1; }
  while (line->len > 0 && (line->s[line->len - 1] == '\n' || line->s[line->len - 1] == '\r')) --line->len;
  if (line->len > SMTPC_LINE_KEEP) line->len = SMTPC_LINE_KEEP;
  return 1;
}

int smtpc_reply_read(buf *in, struct smtpc_reply *r)
{
  str line = STR_INIT, scratch = STR_INIT;
  size_t total = 0, nlines = 0;
  int code = -1, rc = 0;

  r->code = 0;
  str_truncate(&r->text, 0);
  str_truncate(&r->lines, 0);
  for (;;) {
    int c;
    char sep;
    if (line_read(in, &line, &scratch, &total) < 0) {
      if (errno == E2BIG) { r->code = 0; code = 0; }
      else rc = -1;
      break;
    }
    ++nlines;
    if (line.len < 3 || line.s[0] < '2' || line.s[0] > '5' || !is_digit(line.s[1]) || !is_digit(line.s[2])) { code = 0; break; }
    sep = line.len > 3 ? line.s[3] : ' ';
    if (sep != ' ' && sep != '-') { code = 0; break; }
    c = (line.s[0] - '0') * 100 + (line.s[1] - '0') * 10 + (line.s[2] - '0');
    if (code >= 0 && c != code) { code = 0; break; }
    if (code < 0) {
      code = c;
      cat_clean(&r->text, line.s, 3, SMTPC_TEXT_KEEP);
    }
    if (line.len > 4) {
      if (r->text.len < SMTPC_TEXT_KEEP) str_catc(&r->text, ' ');
      cat_clean(&r->text, line.s + 4, line.len - 4, SMTPC_TEXT_KEEP);
    }
    if (nlines <= SMTPC_LINES_KEEP) {
      size_t start = r->lines.len, i;
      if (line.len > 4 && str_catb(&r->lines, line.s + 4, line.len - 4) < 0) { rc = -1; break; }
      /* a NUL sent by the server must not split one kept line in two */
      for (i = start; i < r->lines.len; ++i)
        if (r->lines.s[i] == 0) r->lines.s[i] = '?';
      if (str_catc(&r->lines, 0) < 0) { rc = -1; break; }
    }
    if (sep == ' ') break;
    if (nlines >= SMTPC_REPLY_LINES_MAX) { code = 0; break; }
  }
  str_free(&line);
  str_free(&scratch);
  if (rc < 0) return -1;
  r->code = code < 0 ? 0 : code;
  return 0;
}

void smtpc_reply_free(struct smtpc_reply *r)
{
  str_free(&r->text);
  str_free(&r->lines);
}

size_t smtpc_enhanced(const char *s, size_t n, int cls)
{
  size_t i = 0, d;
  if (n < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5')) return 0;
  if (cls && s[0] - '0' != cls) return 0;
  if (s[1] != '.') return 0;
  i = 2;
  for (int part = 0; part < 2; ++part) {
    for (d = 0; i < n && is_digit(s[i]); ++i) ++d;
    if (d < 1 || d > 3) return 0;
    if (part == 0) {
      if (i >= n || s[i] != '.') return 0;
      ++i;
    }
  }
  if (i < n && s[i] != ' ') return 0;
  return i;
}

/* 1 when s[0..n) starts with keyword kw (case ignored) followed by the
 * end or a space; *rest = the index after it. */
static int keyword(const char *s, size_t n, const char *kw, size_t *rest)
{
  size_t k = strlen(kw);
  if (n < k || !case_equalb(s, k, kw, k)) return 0;
  if (n > k && s[k] != ' ') return 0;
  *rest = k;
  return 1;
}

void smtpc_ehlo_parse(const struct smtpc_reply *r, struct smtpc_ext *ext)
{
  size_t pos = 0, first = 1;
  memset(ext, 0, sizeof *ext);
  while (pos < r->lines.len) {
    const char *s = r->lines.s + pos;
    size_t n = byte_chr(s, r->lines.len - pos, 0), rest;
    pos += n + 1;
    if (first) { first = 0; continue; }
    if (keyword(s, n, "PIPELINING", &rest)) ext->pipelining = 1;
    else if (keyword(s, n, "8BITMIME", &rest)) ext->eightbitmime = 1;
    else if (keyword(s, n, "SMTPUTF8", &rest)) ext->smtputf8 = 1;
    else if (keyword(s, n, "STARTTLS", &rest)) ext->starttls = 1;
    else if (keyword(s, n, "DSN", &rest)) ext->dsn = 1;
    else if (keyword(s, n, "CHUNKING", &rest)) ext->chunking = 1;
    else if (keyword(s, n, "AUTH", &rest) || (n > 5 && case_equalb(s, 5, "AUTH=", 5) && (rest = 5))) {
      /* the mechanisms, separated by spaces ("AUTH=" is the form of
       * drafts before RFC 2554 that some servers still send) */
      ext->auth = 1;
      while (rest < n) {
        size_t w;
        while (rest < n && s[rest] == ' ') ++rest;
        for (w = 0; rest + w < n && s[rest + w] != ' '; ++w) {}
        if (w == 5 && case_equalb(s + rest, 5, "PLAIN", 5)) ext->auth_plain = 1;
        if (w == 5 && case_equalb(s + rest, 5, "LOGIN", 5)) ext->auth_login = 1;
        rest += w;
      }
    }
    else if (keyword(s, n, "SIZE", &rest)) {
      unsigned long v;
      ext->size = 1;
      ext->size_max = 0;
      while (rest < n && s[rest] == ' ') ++rest;
      if (rest < n && scan_ulong_exact(s + rest, n - rest, &v) == 0) ext->size_max = v;
    }
  }
}

/* ---- the message ---- */

/* The encoder's output: the buf of smtpc_data_copy or the chunk of
 * smtpc_encode_chunk. */
static int put(struct smtpc_encoder *e, const char *s, size_t n)
{
  return e->chunk ? str_catb(e->chunk, s, n) : buf_put(e->out, s, n);
}

/* Before a byte of content: breaks a line that is full (CR LF and a
 * space), and doubles a dot at the start of a line (for DATA). c is the
 * byte. */
static int before_content(struct smtpc_encoder *e, char c)
{
  if (e->col >= SMTPC_LINE_MAX) {
    if (put(e, "\r\n ", 3) < 0) return -1;
    e->col = 1;
  } else if (e->bol && c == '.' && e->stuff && put(e, ".", 1) < 0) {
    return -1;
  }
  e->bol = 0;
  ++e->col;
  return 0;
}

static int line_end(struct smtpc_encoder *e)
{
  e->bol = 1;
  e->col = 0;
  return put(e, "\r\n", 2);
}

void smtpc_encoder_init(struct smtpc_encoder *e, int stuff)
{
  e->stuff = stuff;
  e->bol = 1;
  e->col = 0;
  e->cr = 0;
  e->out = 0;
  e->chunk = 0;
}

/* Encodes from in until the output chunk holds target bytes (never
 * without a chunk) or the message ends. 1, 0, -1, -2 as
 * smtpc_encode_chunk says. */
static int encode(struct smtpc_encoder *e, buf *in, size_t target)
{
  int progressed = 0; /* a block was taken: each call moves on */
  for (;;) {
    ssize_t r;
    char *p;
    size_t n, i, start;
    if (e->chunk && progressed && e->chunk->len >= target) {
      /* full: the message goes on unless the input has ended, which
       * makes this the last chunk */
      if (buf_avail(in) > 0) return 1;
      r = buf_feed(in);
      if (r < 0) return -1;
      if (r > 0) return 1;
      break;
    }
    r = buf_feed(in);
    if (r < 0 && errno == ENOBUFS) r = 1; /* bytes already buffered */
    if (r < 0) return -1;
    n = buf_avail(in);
    if (r == 0 && n == 0) break;
    p = buf_peek(in);
    start = 0;
    i = 0;
    if (e->cr) {
      e->cr = 0;
      if (p[0] == '\n') {
        if (line_end(e) < 0) return -2;
        start = i = 1;
      } else if (before_content(e, ' ') < 0 || put(e, " ", 1) < 0) {
        return -2;
      }
    }
    /* p[start..i) is content not yet written: it has no line end, no
     * CR, and fits the current output line */
    for (; i < n; ++i) {
      char c = p[i];
      if (c == '\n') {
        if (put(e, p + start, i - start) < 0 || line_end(e) < 0) return -2;
        start = i + 1;
      } else if (c == '\r') {
        if (put(e, p + start, i - start) < 0) return -2;
        start = i + 1;
        if (i + 1 == n) {
          e->cr = 1;
        } else if (p[i + 1] == '\n') {
          if (line_end(e) < 0) return -2;
          start = ++i + 1;
        } else if (before_content(e, ' ') < 0 || put(e, " ", 1) < 0) {
          return -2;
        }
      } else if (e->col >= SMTPC_LINE_MAX || (e->bol && c == '.')) {
        if (put(e, p + start, i - start) < 0 || before_content(e, c) < 0) return -2;
        start = i;
      } else {
        e->bol = 0;
        ++e->col;
      }
    }
    if (put(e, p + start, n - start) < 0) return -2;
    buf_seek(in, n);
    progressed = 1;
  }
  if (e->cr && (before_content(e, ' ') < 0 || put(e, " ", 1) < 0)) return -2;
  e->cr = 0;
  if (!e->bol && line_end(e) < 0) return -2;
  if (e->stuff && put(e, ".\r\n", 3) < 0) return -2;
  return 0;
}

int smtpc_data_copy(buf *out, buf *in)
{
  struct smtpc_encoder e;
  smtpc_encoder_init(&e, 1);
  e.out = out;
  return encode(&e, in, 0);
}

int smtpc_encode_chunk(struct smtpc_encoder *e, buf *in, str *chunk, size_t target)
{
  int r;
  e->out = 0;
  e->chunk = chunk;
  r = encode(e, in, target);
  e->chunk = 0;
  return r;
}

unsigned long long smtpc_line_breaks(unsigned long long len)
{
  if (len <= SMTPC_LINE_MAX) return 0;
  return (len - SMTPC_LINE_MAX + SMTPC_LINE_MAX - 2) / (SMTPC_LINE_MAX - 1);
}

/* One line of len bytes of content, ended (by the message or by the
 * CR LF added at its end): its size on the wire. */
static unsigned long long wire_line(unsigned long long len)
{
  return len + 3 * smtpc_line_breaks(len) + 2;
}

int smtpc_message_scan(int fd, struct smtpc_scan *sc)
{
  char mem[65536];
  unsigned long long w = 0, len = 0; /* len: bytes of the current line */
  int e = 0, h = 0, header = 1, cr = 0; /* cr: the last byte was a CR */
  if (lseek(fd, 0, SEEK_SET) < 0) return -1;
  for (;;) {
    ssize_t r = read(fd, mem, sizeof mem);
    if (r < 0) { if (errno == EINTR) continue; return -1; }
    if (r == 0) break;
    for (ssize_t i = 0; i < r; ++i) {
      unsigned char c = (unsigned char)mem[i];
      if (c == '\n') {
        if (cr) --len; /* CR LF: the CR is the line end's */
        if (len == 0) header = 0;
        w += wire_line(len);
        len = 0;
      } else {
        ++len;
        if (c >= 0x80) {
          e = 1;
          if (header) h = 1;
        }
      }
      cr = c == '\r';
    }
  }
  if (len) w += wire_line(len); /* a bare CR at the end is a space */
  sc->wire = w;
  sc->eightbit = e;
  sc->header8bit = h;
  return 0;
}

/* ---- the session ---- */

struct session {
  buf in, out;
  const struct smtpc_conf *c;
  struct smtpc_reply rep;
  str *why;
  int *why_perm;
  int dead; /* the connection failed: no QUIT */
  int sock; /* the connection to the server */
  int tlsfd; /* the plaintext side of sluice-tlsc, or -1 */
  pid_t tlspid; /* sluice-tlsc, or 0 */
  struct starttls_info tls; /* what sluice-tlsc reported */
  int authenticated; /* AUTH succeeded */
};

/* Starts the total of one command and its reply: reply_ms from now, but
 * not past the delivery's deadline. */
static void arm(struct session *s)
{
  long long at = deadline_min(s->c->deadline, deadline_after(s->c->reply_ms));
  buf_set_deadline(&s->in, at);
  buf_set_deadline(&s->out, at);
}

/* The enhanced code of a reply, when it has one of its class. */
static size_t reply_enhanced(const struct smtpc_reply *rep, const char **at)
{
  size_t n;
  if (rep->text.len < 4) return 0;
  *at = rep->text.s + 4;
  n = smtpc_enhanced(*at, rep->text.len - 4, rep->code / 100);
  return n;
}

/* t = "[code ]host said: REPLY (in reply to WHAT)"; code from the reply,
 * else dflt (may be NULL). */
static void report(str *t, const struct session *s, const char *dflt, const char *what)
{
  const char *enh;
  size_t en = reply_enhanced(&s->rep, &enh);
  str_truncate(t, 0);
  if (en) { str_catb(t, enh, en); str_catc(t, ' '); }
  else if (dflt) { str_cats(t, dflt); str_catc(t, ' '); }
  str_cats(t, s->c->host);
  if (s->rep.code == 0) {
    str_cats(t, " sent a malformed reply");
  } else {
    str_cats(t, " said: ");
    str_cat(t, &s->rep.text);
  }
  str_cats(t, " (in reply to ");
  str_cats(t, what);
  str_catc(t, ')');
}

/* t = "code host: problem ERRNO-TEXT (WHAT)" for an I/O failure. */
static void report_io(str *t, const struct session *s, const char *code, const char *what)
{
  int e = errno;
  str_copys(t, code);
  str_catc(t, ' ');
  str_cats(t, s->c->host);
  if (e == ETIMEDOUT && deadline_passed(s->c->deadline)) str_cats(t, ": timed out (time limit of the delivery) ");
  else if (e == ETIMEDOUT && (buf_expired(&s->in) || buf_expired(&s->out)))
    str_cats(t, ": timed out (time limit of a reply) ");
  else if (e == ETIMEDOUT) str_cats(t, ": timed out ");
  else if (e == ECONNRESET || e == EPIPE) str_cats(t, ": connection lost ");
  else { str_cats(t, ": "); str_cats(t, errtext(e)); str_catc(t, ' '); }
  str_cats(t, what);
}

/* Reads a reply; -1 (with *why set) on I/O failure or a malformed one. */
static int get_reply(struct session *s, const char *what)
{
  arm(s);
  if (smtpc_reply_read(&s->in, &s->rep) < 0) {
    s->dead = 1;
    report_io(s->why, s, "4.4.2", what);
    *s->why_perm = 0;
    return -1;
  }
  if (s->rep.code == 0) {
    s->dead = 1;
    report(s->why, s, "4.5.0", what);
    *s->why_perm = 0;
    return -1;
  }
  return 0;
}

static int put_cmd(struct session *s, const char *a, const char *b, size_t blen, const char *c)
{
  arm(s);
  if (buf_puts(&s->out, a) < 0) return -1;
  if (b && buf_put(&s->out, b, blen) < 0) return -1;
  if (c && buf_puts(&s->out, c) < 0) return -1;
  return buf_put(&s->out, "\r\n", 2);
}

static int flush(struct session *s, const char *what)
{
  arm(s);
  if (buf_flush(&s->out) < 0) {
    s->dead = 1;
    report_io(s->why, s, "4.4.2", what);
    *s->why_perm = 0;
    return -1;
  }
  return 0;
}

/* Refused before the transaction: the why text from the reply. */
static int refused(struct session *s, const char *what)
{
  report(s->why, s, s->rep.code >= 500 ? "5.0.0" : "4.0.0", what);
  *s->why_perm = s->rep.code >= 500;
  return -1;
}

static void quit(struct session *s)
{
  /* best effort: the result does not change */
  if (s->dead) return;
  if (put_cmd(s, "QUIT", 0, 0, 0) < 0 || buf_flush(&s->out) < 0) return;
  arm(s);
  smtpc_reply_read(&s->in, &s->rep);
}

static void set_status(struct smtpc_rcpt *r, char st, const str *text)
{
  r->status = st;
  str_copy(&r->text, text);
}

/* Marks each recipient in state from (0 pending, 'A' accepted) with st. */
static void set_all(struct smtpc_rcpt *r, size_t n, char from, char st, const str *text)
{
  for (size_t i = 0; i < n; ++i)
    if (r[i].status == from) set_status(&r[i], st, text);
}

static char class_status(int code) { return code >= 500 ? 'D' : 'Z'; }

/* *why = "code HOST: TEXT TEXT2". */
static void tls_why(struct session *s, const char *code, const char *text, const str *text2)
{
  str_copys(s->why, code);
  str_catc(s->why, ' ');
  str_cats(s->why, s->c->host);
  str_cats(s->why, text);
  if (text2) str_cat(s->why, text2);
  *s->why_perm = 0;
}

/* Appends "(FILE)", the file that asks for TLS, to *why. */
static void required_by(struct session *s, const struct smtpc_tls *t)
{
  str_catc(s->why, '(');
  str_cats(s->why, t->required_by ? t->required_by : "control/tlsdestinations");
  str_catc(s->why, ')');
}

/* STARTTLS as the policy says, after EHLO (ehlo 1, its keywords in
 * *ext) or HELO (ehlo 0). 0 to go on, over TLS or in plaintext (*ext
 * then holds the keywords of the EHLO sent over TLS); -1 with *why set
 * to end the session (smtpc_tls in smtpc.h). */
static int tls_step(struct session *s, struct smtpc_ext *ext, int ehlo)
{
  struct smtpc_tls *t = s->c->tls;
  str line = STR_INIT;
  int need, r;

  if (!t || t->level == TLSPOLICY_NONE || t->plain_retry) return 0;
  need = t->level >= TLSPOLICY_ENCRYPT;
  if (!ehlo || !ext->starttls) {
    if (!need) return 0;
    tls_why(s, "4.7.4", " did not offer STARTTLS, and TLS is required for this destination ", 0);
    required_by(s, t);
    return -1;
  }
  if (access(t->args.prog, X_OK) < 0) {
    str e = STR_INIT;
    if (!need) return 0; /* built without OpenSSL: plaintext */
    str_copys(&e, t->args.prog);
    str_cats(&e, ": ");
    str_cats(&e, errtext(errno));
    tls_why(s, "4.7.5", ": unable to start TLS, which is required for this destination: ", &e);
    str_free(&e);
    return -1;
  }
  if (put_cmd(s, "STARTTLS", 0, 0, 0) < 0 || flush(s, "sending STARTTLS") < 0) return -1;
  if (get_reply(s, "STARTTLS") < 0) return -1;
  if (s->rep.code != 220) {
    if (!need) return 0; /* the session goes on in plaintext */
    /* a temporary failure whatever the class of the reply: TLS is
     * this side's requirement, and another attempt may find it */
    tls_why(s, "4.7.4", " refused STARTTLS, and TLS is required for this destination ", 0);
    required_by(s, t);
    str_cats(s->why, ": ");
    str_cat(s->why, &s->rep.text);
    return -1;
  }
  /* From here the connection belongs to sluice-tlsc: bytes the server
   * sent after its 220 in plaintext (s->in) are dropped with the old
   * buffers, never read as replies (RFC 3207 section 4.2). */
  s->tlsfd = starttls_spawn(&t->args, s->sock, &s->tlspid);
  if (s->tlsfd < 0) {
    str e = STR_INIT;
    s->dead = 1;
    if (!need) t->handshake_failed = 1;
    str_copys(&e, t->args.prog);
    str_cats(&e, ": ");
    str_cats(&e, errtext(errno));
    tls_why(s, "4.7.5", ": unable to start TLS: ", &e);
    str_free(&e);
    return -1;
  }
  buf_init(&s->in, s->tlsfd, s->in.mem, s->in.size);
  buf_init(&s->out, s->tlsfd, s->out.mem, s->out.size);
  buf_set_timeout(&s->in, s->c->timeout_ms);
  buf_set_timeout(&s->out, s->c->timeout_ms);
  arm(s);
  r = buf_getline(&s->in, &line, '\n', STARTTLS_REPORT_MAX);
  if (r > 0) --line.len;
  if (r <= 0 || starttls_report_parse(line.s, line.len, &s->tls) < 0) {
    if (r < 0) report_io(s->why, s, "4.7.5", "waiting for the TLS handshake");
    else tls_why(s, "4.7.5", ": TLS handshake failed: sluice-tlsc gave no report", 0);
    s->dead = 1;
    if (!need) t->handshake_failed = 1;
    str_free(&line);
    return -1;
  }
  str_free(&line);
  if (!s->tls.ok) {
    s->dead = 1;
    if (!need) t->handshake_failed = 1;
    tls_why(s, "4.7.5", ": TLS handshake failed: ", &s->tls.reason);
    return -1;
  }
  if (t->level == TLSPOLICY_VERIFY && !s->tls.verified) {
    tls_why(s, "4.7.5", ": certificate not verified (", 0);
    str_cats(s->why, t->required_by ? t->required_by : "control/tlsdestinations");
    str_cats(s->why, ": verify): ");
    str_cat(s->why, &s->tls.reason);
    return -1;
  }
  if (put_cmd(s, "EHLO ", s->c->helo, s->c->helolen, 0) < 0 || flush(s, "sending EHLO") < 0) return -1;
  if (get_reply(s, "EHLO") < 0) return -1;
  if (s->rep.code / 100 != 2) return refused(s, "EHLO");
  smtpc_ehlo_parse(&s->rep, ext);
  return 0;
}

/* Greeting and EHLO/HELO. 0, or -1 with *why set. */
static int hello(struct session *s, struct smtpc_ext *ext)
{
  memset(ext, 0, sizeof *ext);
  if (get_reply(s, "the greeting") < 0) return -1;
  if (s->rep.code / 100 != 2) return refused(s, "the greeting");
  if (put_cmd(s, "EHLO ", s->c->helo, s->c->helolen, 0) < 0 || flush(s, "sending EHLO") < 0) return -1;
  if (get_reply(s, "EHLO") < 0) return -1;
  if (s->rep.code / 100 == 2) {
    smtpc_ehlo_parse(&s->rep, ext);
    return tls_step(s, ext, 1);
  }
  if (s->rep.code < 500) return refused(s, "EHLO");
  if (put_cmd(s, "HELO ", s->c->helo, s->c->helolen, 0) < 0 || flush(s, "sending HELO") < 0) return -1;
  if (get_reply(s, "HELO") < 0) return -1;
  if (s->rep.code / 100 != 2) return refused(s, "HELO");
  return tls_step(s, ext, 0);
}

/* *why = "code HOST TEXT" for an AUTH failure of this side. */
static void auth_why(struct session *s, const char *code, const char *text)
{
  str_copys(s->why, code);
  str_catc(s->why, ' ');
  str_cats(s->why, s->c->host);
  str_cats(s->why, text);
  *s->why_perm = 0;
}

/* Sends one line of AUTH (a command or a response that holds
 * credentials) and reads the reply; the line is cleared from the
 * output block once written. 0, or -1 with *why set. */
static int auth_line(struct session *s, const char *a, const str *b, const char *what)
{
  int r = put_cmd(s, a, b ? b->s : 0, b ? b->len : 0, 0);
  if (r == 0) r = flush(s, what);
  else {
    s->dead = 1;
    report_io(s->why, s, "4.4.2", what);
  }
  memset(s->out.mem, 0, s->out.size); /* nothing is pending: flushed, or dead */
  if (r < 0) return -1;
  return get_reply(s, what);
}

/* The reply to AUTH, in s->rep, did not say 235. -1 (try the next
 * host, *why set) or -2 (every pending recipient failed, in r). */
static int auth_refused(struct session *s, const char *what, struct smtpc_rcpt *r, size_t n)
{
  str t = STR_INIT;
  if (s->rep.code >= 500) {
    report(&t, s, "5.7.8", what);
    set_all(r, n, 0, 'D', &t);
    str_free(&t);
    return -2;
  }
  if (s->rep.code >= 400) {
    report(s->why, s, "4.7.0", what);
    *s->why_perm = 0;
    return -1;
  }
  /* a 2xx other than 235, or a 3xx where none belongs */
  report(s->why, s, "4.7.0", what);
  str_cats(s->why, ": an unexpected reply");
  *s->why_perm = 0;
  return -1;
}

/* AUTH as the server offers it (smtpc_conf.auth in smtpc.h). 0 when
 * authenticated or not asked for; -1 to end the session with
 * SMTPC_NEXT, -2 when every pending recipient failed. */
static int auth_step(struct session *s, const struct smtpc_ext *ext, struct smtpc_rcpt *r, size_t n)
{
  const struct smtpauth *a = s->c->auth;
  str resp = STR_INIT;
  int plain, rc = -1;

  if (!a) return 0;
  if (a->tls >= SMTPAUTH_TLS_ENCRYPT && s->tlsfd < 0) {
    auth_why(s, "4.7.4", " is not talking TLS, and control/smtpauth allows AUTH for this destination only over TLS");
    return -1;
  }
  if (a->tls == SMTPAUTH_TLS_VERIFY && !s->tls.verified) {
    auth_why(s, "4.7.5", ": certificate not verified, and control/smtpauth allows AUTH for this destination only"
                         " with a verified certificate (tls=verify): ");
    str_cat(s->why, &s->tls.reason);
    return -1;
  }
  if (!ext->auth) {
    auth_why(s, "4.7.0", " did not offer AUTH, and control/smtpauth has credentials for this destination");
    return -1;
  }
  plain = ext->auth_plain && a->mech != SMTPAUTH_MECH_LOGIN;
  if (!plain && !(ext->auth_login && a->mech != SMTPAUTH_MECH_PLAIN)) {
    auth_why(s, "4.7.0", a->mech == SMTPAUTH_MECH_ANY ? " offers neither AUTH PLAIN nor AUTH LOGIN"
                         : a->mech == SMTPAUTH_MECH_PLAIN ? " does not offer AUTH PLAIN (control/smtpauth: auth=plain)"
                                                          : " does not offer AUTH LOGIN (control/smtpauth: auth=login)");
    return -1;
  }
  if (plain) {
    if (smtpauth_plain(&resp, a) < 0) goto nomem;
    if (auth_line(s, "AUTH PLAIN ", &resp, "AUTH PLAIN") < 0) goto out;
    if (s->rep.code != 235) {
      if (s->rep.code == 334) {
        /* a challenge after the initial response: cancel (RFC 4954 4) */
        if (auth_line(s, "*", 0, "AUTH PLAIN") < 0) goto out;
        auth_why(s, "4.7.0", " sent a challenge after the initial response of AUTH PLAIN");
        goto out;
      }
      rc = auth_refused(s, "AUTH PLAIN", r, n);
      goto out;
    }
  } else {
    if (auth_line(s, "AUTH LOGIN", 0, "AUTH LOGIN") < 0) goto out;
    if (s->rep.code != 334) { rc = auth_refused(s, "AUTH LOGIN", r, n); goto out; }
    if (smtpauth_base64(&resp, a->login.s, a->login.len) < 0) goto nomem;
    if (auth_line(s, "", &resp, "AUTH LOGIN") < 0) goto out;
    if (s->rep.code != 334) { rc = auth_refused(s, "AUTH LOGIN", r, n); goto out; }
    if (smtpauth_base64(&resp, a->password.s, a->password.len) < 0) goto nomem;
    if (auth_line(s, "", &resp, "AUTH LOGIN") < 0) goto out;
    if (s->rep.code != 235) { rc = auth_refused(s, "AUTH LOGIN", r, n); goto out; }
  }
  s->authenticated = 1;
  rc = 0;
  goto out;
nomem:
  auth_why(s, "4.3.0", ": out of memory for AUTH");
out:
  str_free(&resp); /* clears */
  return rc;
}

static int mail_cmd(struct session *s, const struct smtpc_ext *ext, const struct smtpc_msg *m)
{
  char num[FMT_ULONG];
  if (buf_puts(&s->out, "MAIL FROM:<") < 0 || buf_put(&s->out, m->sender, m->senderlen) < 0
      || buf_putc(&s->out, '>') < 0)
    return -1;
  if (ext->size) {
    unsigned long v = m->wire > (unsigned long long)~0UL ? ~0UL : (unsigned long)m->wire;
    if (buf_puts(&s->out, " SIZE=") < 0 || buf_put(&s->out, num, fmt_ulong(num, v)) < 0) return -1;
  }
  if (ext->eightbitmime && m->eightbit && buf_puts(&s->out, " BODY=8BITMIME") < 0) return -1;
  if (ext->smtputf8 && m->smtputf8 && buf_puts(&s->out, " SMTPUTF8") < 0) return -1;
  if (ext->dsn) {
    /* DSN (RFC 3461 4.3, 4.4), as the message was received */
    str v = STR_INIT;
    int r = 0;
    if (m->ret == SMTPC_RET_FULL) r = buf_puts(&s->out, " RET=FULL");
    else if (m->ret == SMTPC_RET_HDRS) r = buf_puts(&s->out, " RET=HDRS");
    if (r == 0 && m->envidlen) {
      if (xtext_encode_cat(&v, m->envid, m->envidlen) < 0) r = -1;
      else if (v.len <= SMTPC_ENVID_MAX && (buf_puts(&s->out, " ENVID=") < 0 || buf_put(&s->out, v.s, v.len) < 0))
        r = -1;
    }
    str_free(&v);
    if (r < 0) return -1;
  }
  return buf_put(&s->out, "\r\n", 2);
}

/* " NOTIFY=... ORCPT=..." of r for a server that offers DSN (RFC 3461
 * 4.1, 4.2), into v; the ORCPT's address is xtext, its type as it is. */
static int rcpt_dsn(str *v, const struct smtpc_rcpt *r)
{
  str_truncate(v, 0);
  if (r->notifylen) {
    char sep = '=';
    if (str_cats(v, " NOTIFY") < 0) return -1;
    for (size_t i = 0; i < r->notifylen; ++i) {
      const char *k = r->notify[i] == 'N' ? "NEVER" : r->notify[i] == 'S' ? "SUCCESS"
                      : r->notify[i] == 'F' ? "FAILURE" : r->notify[i] == 'D' ? "DELAY" : 0;
      if (!k) continue; /* sluice-remote has checked them */
      if (str_catc(v, sep) < 0 || str_cats(v, k) < 0) return -1;
      sep = ',';
    }
  }
  if (r->orcptlen) {
    size_t semi = byte_chr(r->orcpt, r->orcptlen, ';'), start = v->len;
    if (semi > 0 && semi < r->orcptlen) {
      if (str_cats(v, " ORCPT=") < 0 || str_catb(v, r->orcpt, semi + 1) < 0
          || xtext_encode_cat(v, r->orcpt + semi + 1, r->orcptlen - semi - 1) < 0)
        return -1;
      if (v->len - start - 7 > SMTPC_ORCPT_MAX) v->len = start; /* too long to pass on */
    }
  }
  return 0;
}

/* RCPT TO for r, with its DSN parameters when the server offers DSN. */
static int rcpt_cmd(struct session *s, const struct smtpc_ext *ext, const struct smtpc_rcpt *r, str *v)
{
  str_truncate(v, 0);
  if (ext->dsn && rcpt_dsn(v, r) < 0) return -1;
  arm(s);
  if (buf_puts(&s->out, "RCPT TO:<") < 0 || buf_put(&s->out, r->addr, r->len) < 0 || buf_putc(&s->out, '>') < 0
      || (v->len && buf_put(&s->out, v->s, v->len) < 0))
    return -1;
  return buf_put(&s->out, "\r\n", 2);
}

/* Undo 'A' (accepted at RCPT) back to pending, for SMTPC_NEXT. */
static int next_host(struct smtpc_rcpt *r, size_t n)
{
  for (size_t i = 0; i < n; ++i)
    if (r[i].status == 'A') r[i].status = 0;
  return SMTPC_NEXT;
}

/* "BDAT size[ LAST]" and the chunk (RFC 3030), not flushed. Only the
 * delivery's deadline bounds the chunk's bytes, as DATA's. */
static int bdat_put(struct session *s, const str *chunk, int last)
{
  char num[FMT_ULONG];
  arm(s);
  if (buf_puts(&s->out, "BDAT ") < 0 || buf_put(&s->out, num, fmt_ulong(num, (unsigned long)chunk->len)) < 0
      || (last && buf_puts(&s->out, " LAST") < 0) || buf_put(&s->out, "\r\n", 2) < 0)
    return -1;
  buf_set_deadline(&s->out, s->c->deadline);
  return chunk->len ? buf_put(&s->out, chunk->s, chunk->len) : 0;
}

/* Reads the reply to the end of the data (DATA's final dot, or the
 * BDAT chunk with LAST: what) and gives it to every accepted recipient;
 * then QUIT. From here on the server may have the message: no other
 * host is tried. */
static void end_of_data(struct session *s, const struct smtpc_ext *ext, struct smtpc_rcpt *r, size_t n, str *t,
                        const char *what)
{
  const struct smtpc_conf *c = s->c;
  struct smtpc_reuse *ru = c->reuse;
  arm(s);
  if (smtpc_reply_read(&s->in, &s->rep) < 0) {
    s->dead = 1;
    report_io(t, s, "4.4.2", "waiting for the reply to the end of the data");
    set_all(r, n, 'A', 'Z', t);
    return;
  }
  if (s->rep.code == 0) {
    s->dead = 1;
    report(t, s, "4.5.0", what);
    set_all(r, n, 'A', 'Z', t);
    return;
  }
  if (s->rep.code / 100 == 2) {
    str_copys(t, c->host);
    str_cats(t, " accepted the message");
    if (s->tlsfd >= 0) {
      str_cats(t, " (");
      str_cat(t, &s->tls.protocol);
      str_catc(t, ' ');
      str_cat(t, &s->tls.cipher);
      if (s->tls.verified) {
        str_cats(t, " verified");
      } else {
        str_cats(t, " unverified: ");
        str_cat(t, &s->tls.reason);
      }
      str_catc(t, ')');
    } else if (c->tls && c->tls->plain_retry) {
      str_cats(t, " (plaintext after a failed TLS handshake)");
    }
    if (s->authenticated) str_cats(t, " (authenticated)");
    str_cats(t, ": ");
    str_cat(t, &s->rep.text);
    /* RFC 3461 6.2.2: the server took the DSN request with the message;
     * a success is its to report now */
    for (size_t i = 0; i < n; ++i)
      if (r[i].status == 'A') r[i].dsn_passed = ext->dsn && r[i].notifylen > 0;
    set_all(r, n, 'A', 'K', t);
  } else {
    report(t, s, 0, what);
    set_all(r, n, 'A', class_status(s->rep.code), t);
  }
  if (ru && ru->offer && !s->dead && s->tlsfd < 0 && !s->authenticated && !(c->tls && c->tls->plain_retry)
      && s->rep.code != 421 && s->in.pos >= s->in.len) {
    /* a good state, nothing more from the server: the caller keeps it */
    ru->keep = 1;
    ru->ext = *ext;
  } else {
    quit(s);
  }
}

int smtpc_session(int sock, const struct smtpc_conf *c, const struct smtpc_msg *m, struct smtpc_rcpt *r, size_t n,
                  str *why, int *why_perm)
{
  char inmem[2048], outmem[8192], msgmem[16384];
  struct session s;
  struct smtpc_ext ext;
  str t = STR_INIT, v = STR_INIT, chunk = STR_INIT;
  struct smtpc_encoder enc;
  buf msg;
  size_t i, accepted = 0;
  int rc = SMTPC_DONE, mail_ok = 1, mail_read = 0, mail_accepted = 0, not_stale = 0;
  int use_bdat, bdat_sent = 0, bdat_last = 0, msg_trouble = 0;
  struct smtpc_reuse *ru = c->reuse;

  memset(&s, 0, sizeof s);
  s.c = c;
  s.sock = sock;
  s.tlsfd = -1;
  s.why = why;
  s.why_perm = why_perm;
  buf_init(&s.in, sock, inmem, sizeof inmem);
  buf_init(&s.out, sock, outmem, sizeof outmem);
  buf_set_timeout(&s.in, c->timeout_ms);
  buf_set_timeout(&s.out, c->timeout_ms);
  arm(&s);
  *why_perm = 0;
  str_truncate(why, 0);

  if (ru) ru->stale = ru->keep = 0;
  if (ru && ru->reused) {
    /* a connection from the cache: RSET, and it must say 250 (a
     * server that closed it or says 421 ends it here, before anything
     * of the transaction was sent) */
    ext = ru->ext;
    if (put_cmd(&s, "RSET", 0, 0, 0) < 0 || flush(&s, "sending RSET") < 0 || get_reply(&s, "RSET") < 0
        || s.rep.code != 250) {
      s.dead = 1;
      rc = SMTPC_NEXT;
      goto out;
    }
  } else {
    if (hello(&s, &ext) < 0) { quit(&s); rc = SMTPC_NEXT; goto out; }
    switch (auth_step(&s, &ext, r, n)) {
    case -1: quit(&s); rc = SMTPC_NEXT; goto out;
    case -2: quit(&s); goto out;
    default: break;
    }
  }

  if (ext.size && ext.size_max > 0 && m->wire > ext.size_max) {
    char num[FMT_ULONG];
    str_copys(&t, "5.3.4 message too big for ");
    str_cats(&t, c->host);
    str_cats(&t, " (");
    str_catb(&t, num, fmt_ulong(num, m->wire > (unsigned long long)~0UL ? ~0UL : (unsigned long)m->wire));
    str_cats(&t, " bytes, its limit is ");
    str_catb(&t, num, fmt_ulong(num, (unsigned long)ext.size_max));
    str_catc(&t, ')');
    set_all(r, n, 0, 'D', &t);
    quit(&s);
    goto out;
  }

  /* RFC 6531 3.4: a message that needs SMTPUTF8 must not go to a
   * server without it; one that asked for it but holds no non-ASCII
   * address or header field goes without (3.4 advises not to ask then).
   * Another host of the domain may offer it: SMTPC_NEXT, permanent. */
  if (m->smtputf8 && m->utf8_needed && !ext.smtputf8) {
    str_copys(why, "5.6.7 ");
    str_cats(why, c->host);
    str_cats(why, " does not offer SMTPUTF8, which this message needs (RFC 6531): an address or a header field"
                  " is not ASCII");
    *why_perm = 1;
    not_stale = 1; /* a fresh connection would say the same */
    quit(&s);
    rc = SMTPC_NEXT;
    goto out;
  }

  /* CHUNKING (RFC 3030): the message by BDAT, without dot-stuffing */
  use_bdat = c->bdat && ext.chunking;
  smtpc_encoder_init(&enc, 0);
  buf_init(&msg, m->fd, msgmem, sizeof msgmem);

  if (mail_cmd(&s, &ext, m) < 0) goto io_next;
  if (!ext.pipelining) {
    if (flush(&s, "sending MAIL") < 0) { rc = next_host(r, n); goto out; }
    if (get_reply(&s, "MAIL") < 0) { rc = next_host(r, n); goto out; }
    mail_read = 1;
    if (s.rep.code == 421 && ru && ru->reused) { s.dead = 1; rc = SMTPC_NEXT; goto out; }
    mail_accepted = s.rep.code / 100 == 2;
    if (s.rep.code / 100 != 2) {
      report(&t, &s, 0, "MAIL");
      set_all(r, n, 0, class_status(s.rep.code), &t);
      quit(&s);
      goto out;
    }
  }
  for (i = 0; i < n;) {
    size_t group = ext.pipelining ? SMTPC_PIPELINE_CHUNK : 1, j, k = 0;
    for (j = i; j < n && k < group; ++j) {
      if (r[j].status) continue;
      if (rcpt_cmd(&s, &ext, &r[j], &v) < 0) goto io_next;
      ++k;
    }
    /* with PIPELINING the first chunk goes with the last RCPT group
     * (RFC 3030 4.2): a server that refuses every recipient answers it
     * 5xx and drops it */
    if (use_bdat && ext.pipelining && j >= n) {
      int e = lseek(m->fd, 0, SEEK_SET) < 0 ? -1 : smtpc_encode_chunk(&enc, &msg, &chunk, SMTPC_BDAT_FIRST);
      if (e < 0) {
        msg_trouble = e;
      } else {
        if (bdat_put(&s, &chunk, e == 0) < 0) goto io_next;
        bdat_sent = 1;
        bdat_last = e == 0;
      }
    }
    if (flush(&s, bdat_sent ? "sending the message" : "sending RCPT") < 0) { rc = next_host(r, n); goto out; }
    if (!mail_read) {
      if (get_reply(&s, "MAIL") < 0) { rc = next_host(r, n); goto out; }
      mail_read = 1;
      if (s.rep.code == 421 && ru && ru->reused) { s.dead = 1; rc = next_host(r, n); goto out; }
      mail_accepted = s.rep.code / 100 == 2;
      if (s.rep.code / 100 != 2) {
        mail_ok = 0;
        report(&t, &s, 0, "MAIL");
        set_all(r, n, 0, class_status(s.rep.code), &t);
      }
    }
    for (; i < j; ++i) {
      if (r[i].status) continue;
      if (!mail_ok) continue;
      if (get_reply(&s, "RCPT") < 0) { rc = next_host(r, n); goto out; }
      if (s.rep.code / 100 == 2) { r[i].status = 'A'; ++accepted; continue; }
      report(&t, &s, 0, "RCPT TO");
      set_status(&r[i], class_status(s.rep.code), &t);
    }
    /* with MAIL refused under pipelining, read and drop the RCPT replies
     * (and the chunk's) */
    if (!mail_ok) {
      size_t q;
      for (q = 0; q < k; ++q)
        if (get_reply(&s, "RCPT") < 0) break;
      if (q == k && bdat_sent) (void)get_reply(&s, "BDAT");
      quit(&s);
      goto out;
    }
  }
  if (!accepted) {
    if (bdat_sent) (void)get_reply(&s, "BDAT"); /* the refusal of the chunk */
    quit(&s);
    goto out;
  }
  if (use_bdat) {
    for (;;) {
      int e;
      if (msg_trouble) {
        str_copys(&t, msg_trouble == -1 ? "4.3.0 unable to read the message" : "4.3.0 out of memory");
        set_all(r, n, 'A', 'Z', &t);
        quit(&s); /* no LAST was sent: the server has no message */
        goto out;
      }
      if (bdat_sent) {
        if (bdat_last) {
          end_of_data(&s, &ext, r, n, &t, "BDAT LAST");
          goto out;
        }
        /* the server cannot have the message before LAST: another
         * host may still take it */
        if (get_reply(&s, "BDAT") < 0) { rc = next_host(r, n); goto out; }
        if (s.rep.code / 100 != 2) {
          report(&t, &s, 0, "BDAT");
          set_all(r, n, 'A', class_status(s.rep.code), &t);
          quit(&s);
          goto out;
        }
      } else if (lseek(m->fd, 0, SEEK_SET) < 0) {
        msg_trouble = -1;
        continue;
      }
      str_truncate(&chunk, 0);
      e = smtpc_encode_chunk(&enc, &msg, &chunk, SMTPC_BDAT_CHUNK);
      if (e < 0) { msg_trouble = e; continue; }
      if (bdat_put(&s, &chunk, e == 0) < 0 || flush(&s, "sending the message") < 0) {
        s.dead = 1;
        report_io(why, &s, "4.4.2", "sending the message");
        rc = next_host(r, n);
        goto out;
      }
      bdat_sent = 1;
      bdat_last = e == 0;
    }
  }

  if (put_cmd(&s, "DATA", 0, 0, 0) < 0 || flush(&s, "sending DATA") < 0) { rc = next_host(r, n); goto out; }
  if (get_reply(&s, "DATA") < 0) { rc = next_host(r, n); goto out; }
  if (s.rep.code != 354) {
    report(&t, &s, 0, "DATA");
    set_all(r, n, 'A', class_status(s.rep.code), &t);
    quit(&s);
    goto out;
  }
  if (lseek(m->fd, 0, SEEK_SET) < 0) {
    str_copys(&t, "4.3.0 unable to read the message");
    set_all(r, n, 'A', 'Z', &t);
    goto out; /* no QUIT: the server must not take a cut message */
  }
  /* the message itself: only the delivery's deadline bounds it (its
   * size has no bound a reply's total could follow); flush() then gives
   * the last bytes and the final dot a reply's total */
  buf_set_deadline(&s.out, c->deadline);
  {
    int d = smtpc_data_copy(&s.out, &msg);
    if (d == -1) {
      str_copys(&t, "4.3.0 unable to read the message");
      set_all(r, n, 'A', 'Z', &t);
      goto out;
    }
    if (d == -2 || flush(&s, "sending the message") < 0) {
      s.dead = 1;
      report_io(why, &s, "4.4.2", "sending the message");
      rc = next_host(r, n);
      goto out;
    }
  }
  end_of_data(&s, &ext, r, n, &t, "the end of the data");
  goto out;

io_next:
  s.dead = 1;
  report_io(why, &s, "4.4.2", "sending a command");
  rc = next_host(r, n);
out:
  if (rc == SMTPC_NEXT && ru && ru->reused && !mail_accepted && !not_stale) ru->stale = 1;
  if (rc == SMTPC_DONE) {
    /* nothing may stay pending or half-accepted */
    str_copys(&t, "4.4.2 ");
    str_cats(&t, c->host);
    str_cats(&t, ": the session ended early");
    set_all(r, n, 'A', 'Z', &t);
    set_all(r, n, 0, 'Z', &t);
  }
  str_free(&t);
  str_free(&v);
  str_free(&chunk);
  smtpc_reply_free(&s.rep);
  starttls_end(s.tlsfd, s.tlspid);
  starttls_info_free(&s.tls);
  return rc;
}

void smtpc_quit(int sock, unsigned long timeout_ms)
{
  char inmem[512], outmem[16];
  struct smtpc_reply rep = SMTPC_REPLY_INIT;
  buf in, out;
  buf_init(&in, sock, inmem, sizeof inmem);
  buf_init(&out, sock, outmem, sizeof outmem);
  buf_set_timeout(&in, timeout_ms);
  buf_set_timeout(&out, timeout_ms);
  if (buf_put(&out, "QUIT\r\n", 6) == 0 && buf_flush(&out) == 0) (void)smtpc_reply_read(&in, &rep);
  smtpc_reply_free(&rep);
}
