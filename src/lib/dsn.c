/* dsn.c: see dsn.h. */
#include <errno.h>
#include <string.h>

#include "byte.h"
#include "date.h"
#include "dsn.h"
#include "fmt.h"
#include "str.h"

/* RFC 5322 2.1.1: a line holds at most 998 bytes before its CRLF. */
#define LINE_MAX_BYTES 998
/* Room for one line of diagnostic text with " (#5.999.999)" after it. */
#define TEXT_LINE_MAX 960
/* The token's share of the boundary; with "=_sluice_" and a "_N_"
 * variation the boundary stays within RFC 2046's 70 bytes. */
#define BOUNDARY_TOKEN_MAX 36

static int is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int dsn_status_from_text(const char *t, size_t n, struct dsn_status *st, size_t *rest)
{
  unsigned int v[3];
  size_t i, j;
  int k;

  *rest = 0;
  if (n < 5 || (t[0] != '2' && t[0] != '4' && t[0] != '5')) return 0;
  v[0] = (unsigned int)(t[0] - '0');
  i = 1;
  for (k = 1; k < 3; ++k) {
    if (i >= n || t[i] != '.') return 0;
    j = ++i;
    v[k] = 0;
    /* one digit more than allowed is read so that 4 digits are refused */
    while (i < n && i - j < 4 && t[i] >= '0' && t[i] <= '9') {
      v[k] = v[k] * 10 + (unsigned int)(t[i] - '0');
      ++i;
    }
    if (i == j || i - j > 3) return 0;
  }
  if (i < n && !is_space(t[i])) return 0;
  while (i < n && is_space(t[i])) ++i;
  st->cls = v[0];
  st->subject = v[1];
  st->detail = v[2];
  *rest = i;
  return 1;
}

size_t dsn_status_fmt(char *s, const struct dsn_status *st)
{
  size_t n = fmt_ulong(s, st->cls % 10);
  s[n++] = '.';
  n += fmt_ulong(s + n, st->subject % 1000);
  s[n++] = '.';
  n += fmt_ulong(s + n, st->detail % 1000);
  return n;
}

void dsn_status_of(const struct dsn_recipient *r, struct dsn_status *st)
{
  struct dsn_status t;
  size_t rest;
  if (r->success) {
    st->cls = 2;
    st->subject = 0;
    st->detail = 0;
    return;
  }
  if (r->text && dsn_status_from_text(r->text, r->textlen, &t, &rest) && t.cls != 2) {
    *st = t;
    return;
  }
  st->cls = r->expired ? 4 : 5;
  st->subject = 0;
  st->detail = 0;
}

/* Appends the one-line clean form of s[0..n), at most max bytes: runs
 * of white space (CR and LF included) become one space, leading and
 * trailing ones go, every other byte outside printable ASCII is '?'. */
static int cat_clean(str *o, const char *s, size_t n, size_t max)
{
  size_t i, put = 0;
  int space = 0;
  if (str_readyplus(o, n < max ? n : max) < 0) return -1;
  for (i = 0; i < n && put < max; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (is_space((char)c)) { space = 1; continue; }
    if (space && put > 0) {
      if (put + 2 > max) break;
      o->s[o->len++] = ' ';
      ++put;
    }
    space = 0;
    o->s[o->len++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    ++put;
  }
  return 0;
}

static size_t cstrlen(const char *s) { return s ? strlen(s) : 0; }

/* One header or report field: name, pre, the clean value, post, LF; the
 * value is cut so that the line holds at most 998 bytes. */
static int cat_field(str *o, const char *name, const char *pre, const char *v, size_t vn, const char *post)
{
  size_t fixed = cstrlen(name) + cstrlen(pre) + cstrlen(post);
  size_t max = fixed < LINE_MAX_BYTES ? LINE_MAX_BYTES - fixed : 0;
  if (str_cats(o, name) < 0) return -1;
  if (pre && str_cats(o, pre) < 0) return -1;
  if (cat_clean(o, v, vn, max) < 0) return -1;
  if (post && str_cats(o, post) < 0) return -1;
  return str_catc(o, '\n');
}

static int cat_fields(str *o, const char *name, const char *pre, const char *v, const char *post)
{
  return cat_field(o, name, pre, v, cstrlen(v), post);
}

static int cat_date_field(str *o, const char *name, time_t t)
{
  if (str_cats(o, name) < 0) return -1;
  if (date_rfc5322(o, t) < 0) return -1;
  return str_catc(o, '\n');
}

/* The lines of s[0..n), each cleaned and cut to TEXT_LINE_MAX; blank
 * lines are dropped so that a QSBMF paragraph cannot end early. Returns
 * the number of lines written, or -1. */
static long cat_text_lines(str *o, const char *s, size_t n)
{
  long lines = 0;
  size_t i = 0;
  while (i < n) {
    size_t e = i + byte_chr(s + i, n - i, '\n');
    size_t before = o->len;
    if (cat_clean(o, s + i, e - i, TEXT_LINE_MAX) < 0) return -1;
    if (o->len > before) {
      if (str_catc(o, '\n') < 0) return -1;
      ++lines;
    }
    i = e < n ? e + 1 : n;
  }
  return lines;
}

/* A recipient paragraph, shared by both formats: "<addr>:", the text
 * after its status code, a note when the failure expired, the status
 * as "(#x.y.z)" at the end of that text (where QSBMF readers look), the
 * remote server when known, a blank line. */
static int cat_recipient_paragraph(str *o, const struct dsn_recipient *r)
{
  struct dsn_status st, lead;
  char sb[DSN_STATUS_MAX];
  size_t rest = 0;
  long lines;
  const char *text = r->text ? r->text : "";

  dsn_status_of(r, &st);
  if (!dsn_status_from_text(text, r->textlen, &lead, &rest)) rest = 0;
  if (cat_fields(o, "<", 0, r->addr, ">:") < 0) return -1;
  if (r->success) {
    if (str_cats(o, r->success == DSN_DELIVERED ? "Delivered to the mailbox here.\n"
                                                : "Relayed to a server that does not report delivery.\n") < 0)
      return -1;
  }
  lines = cat_text_lines(o, text + rest, r->textlen - rest);
  if (lines < 0) return -1;
  if (r->expired) {
    if (str_cats(o, "I gave up: the message stayed in the queue longer than the queue lifetime.\n") < 0) return -1;
    ++lines;
  }
  if (lines == 0 && str_cats(o, "No reason was given.\n") < 0) return -1;
  str_truncate(o, o->len - 1); /* the last line gets the status */
  if (str_cats(o, " (#") < 0) return -1;
  if (str_catb(o, sb, dsn_status_fmt(sb, &st)) < 0) return -1;
  if (str_cats(o, ")\n") < 0) return -1;
  if (r->remote_mta && *r->remote_mta && cat_fields(o, "Remote server: ", 0, r->remote_mta, 0) < 0) return -1;
  return str_catc(o, '\n');
}

/* Copies from src into o only the bytes allowed in a msg-id or a
 * boundary (letters, digits and the punctuation in extra), at most max. */
static int cat_only(str *o, const char *src, const char *extra, size_t max)
{
  size_t put = 0;
  for (; src && *src && put < max; ++src) {
    char c = *src;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr(extra, c)) {
      if (str_catc(o, c) < 0) return -1;
      ++put;
    }
  }
  return 0;
}

static int cat_message_id(str *o, const struct dsn_message *m)
{
  size_t before;
  if (str_cats(o, "Message-ID: <") < 0) return -1;
  before = o->len;
  if (cat_only(o, m->token, ".-_+=", 200) < 0) return -1;
  if (o->len == before && str_catulong(o, m->queue_id) < 0) return -1;
  if (str_cats(o, ".bounce@") < 0) return -1;
  before = o->len;
  if (cat_only(o, m->host, ".-[]:", 400) < 0) return -1;
  if (o->len == before && str_cats(o, "localhost") < 0) return -1;
  return str_cats(o, ">\n");
}

static int cat_common_headers(str *o, const struct dsn_message *m, const char *from_pre, const char *from_post, const char *subject)
{
  if (cat_date_field(o, "Date: ", m->now) < 0) return -1;
  if (cat_fields(o, "From: ", from_pre, m->from, from_post) < 0) return -1;
  if (cat_fields(o, "To: ", "<", m->to, ">") < 0) return -1;
  if (str_cats(o, "Subject: ") < 0 || str_cats(o, subject) < 0 || str_catc(o, '\n') < 0) return -1;
  if (cat_message_id(o, m) < 0) return -1;
  return str_cats(o, "Auto-Submitted: auto-replied\n");
}

static int contains(const str *hay, const str *needle)
{
  size_t i = 0;
  if (needle->len == 0) return 1;
  while (i + needle->len <= hay->len) {
    size_t k = byte_chr(hay->s + i, hay->len - i, needle->s[0]);
    i += k;
    if (i + needle->len > hay->len) return 0;
    if (byte_equal(hay->s + i, needle->s, needle->len)) return 1;
    ++i;
  }
  return 0;
}

/* The header of the original (up to its first empty line, or all of it),
 * at most cap bytes ending at a line end, with bytes outside printable
 * ASCII (tab aside) shown as '?' and lines cut at 998 bytes. */
static int cat_header_copy(str *o, const char *s, size_t n, size_t cap)
{
  size_t end = 0, i;
  while (end < n) {
    size_t e = end + byte_chr(s + end, n - end, '\n');
    if (e == end) break; /* the empty line */
    end = e < n ? e + 1 : n;
  }
  if (end > cap) {
    size_t lf = byte_rchr(s, cap, '\n');
    end = lf < cap ? lf + 1 : cap;
  }
  i = 0;
  while (i < end) {
    size_t e = i + byte_chr(s + i, end - i, '\n');
    size_t k, len = e - i;
    if (len > LINE_MAX_BYTES) len = LINE_MAX_BYTES;
    if (str_readyplus(o, len + 1) < 0) return -1;
    for (k = 0; k < len; ++k) {
      unsigned char c = (unsigned char)s[i + k];
      o->s[o->len++] = ((c < 0x20 && c != '\t') || c >= 0x7f) ? '?' : (char)c;
    }
    o->s[o->len++] = '\n';
    i = e < end ? e + 1 : end;
  }
  return 0;
}

static int compose_rfc3464(str *o, const struct dsn_message *m)
{
  str text = STR_INIT, report = STR_INIT, hdr = STR_INIT, b = STR_INIT;
  size_t i, baselen, failures = 0;
  unsigned long k;
  int r = -1;

  for (i = 0; i < m->rcpt_count; ++i)
    if (!m->rcpt[i].success) ++failures;

  /* part 1: for people */
  if (cat_fields(&text, "This is the mail system at ", 0, m->host, ".") < 0) goto out;
  if (failures == 0) {
    if (str_cats(&text,
        "\nAs you asked, this is a report on the delivery of your message to\n"
        "the addresses below, and the headers of your message are attached.\n\n") < 0) goto out;
  } else if (m->doublebounce) {
    if (str_cats(&text,
        "\nA bounce message, sent to tell a sender that a message could not be\n"
        "delivered, could not be delivered itself. It comes to you, the\n"
        "postmaster, instead. The reasons are below, and the headers of the\n"
        "failed bounce are attached.\n\n") < 0) goto out;
  } else {
    if (str_cats(&text,
        "\nI could not deliver your message to the addresses below. These\n"
        "failures are permanent and I have stopped trying. The reason for each\n"
        "address follows, and the headers of your message are attached.\n\n") < 0) goto out;
  }
  for (i = 0; i < m->rcpt_count; ++i)
    if (cat_recipient_paragraph(&text, &m->rcpt[i]) < 0) goto out;
  str_truncate(&text, text.len - 1); /* no blank line at the end */

  /* part 2: for programs (RFC 3464 section 2.2 and 2.3) */
  if (m->envid && *m->envid && cat_fields(&report, "Original-Envelope-Id: ", 0, m->envid, 0) < 0) goto out;
  if (cat_fields(&report, "Reporting-MTA: ", "dns; ", m->host, 0) < 0) goto out;
  if (str_cats(&report, "X-Sluice-Queue-ID: ") < 0 ||
      (m->msgid ? cat_only(&report, m->msgid, ".", 64) : str_catulong(&report, m->queue_id)) < 0 ||
      str_catc(&report, '\n') < 0) goto out;
  if (m->sender && *m->sender) {
    if (cat_fields(&report, "X-Sluice-Sender: ", "rfc822; ", m->sender, 0) < 0) goto out;
  } else if (str_cats(&report, "X-Sluice-Sender: rfc822; <>\n") < 0) goto out;
  if (cat_date_field(&report, "Arrival-Date: ", m->arrival) < 0) goto out;
  for (i = 0; i < m->rcpt_count; ++i) {
    const struct dsn_recipient *rc = &m->rcpt[i];
    struct dsn_status st;
    char sb[DSN_STATUS_MAX];
    dsn_status_of(rc, &st);
    if (str_catc(&report, '\n') < 0) goto out;
    if (rc->orcpt && *rc->orcpt && cat_fields(&report, "Original-Recipient: ", 0, rc->orcpt, 0) < 0) goto out;
    if (cat_fields(&report, "Final-Recipient: ", "rfc822; ", rc->addr, 0) < 0) goto out;
    if (str_cats(&report, rc->success == DSN_DELIVERED ? "Action: delivered\nStatus: "
                          : rc->success ? "Action: relayed\nStatus: " : "Action: failed\nStatus: ") < 0) goto out;
    if (str_catb(&report, sb, dsn_status_fmt(sb, &st)) < 0 || str_catc(&report, '\n') < 0) goto out;
    if (rc->remote_mta && *rc->remote_mta &&
        cat_fields(&report, "Remote-MTA: ", "dns; ", rc->remote_mta, 0) < 0) goto out;
    if (rc->text && rc->textlen &&
        cat_field(&report, "Diagnostic-Code: ", rc->diag_type == DSN_DIAG_SMTP ? "smtp; " : "X-sluice; ",
                  rc->text, rc->textlen, 0) < 0) goto out;
    if (cat_date_field(&report, "Last-Attempt-Date: ", rc->last_attempt ? rc->last_attempt : m->now) < 0) goto out;
  }

  /* part 3: what was returned */
  if (m->ret_full) {
    /* the whole message, cut at a line end past the cap */
    size_t cap = m->qsbmf_cap ? m->qsbmf_cap : DSN_QSBMF_CAP_DEFAULT, end = m->original_len;
    if (end > cap) {
      size_t lf = byte_rchr(m->original, cap, '\n');
      end = lf < cap ? lf + 1 : cap;
    }
    if (str_catb(&hdr, m->original, end) < 0) goto out;
    if (hdr.len && hdr.s[hdr.len - 1] != '\n' && str_catc(&hdr, '\n') < 0) goto out;
  } else if (cat_header_copy(&hdr, m->original, m->original_len,
                             m->headers_cap ? m->headers_cap : DSN_HEADERS_CAP_DEFAULT) < 0) {
    goto out;
  }

  /* a boundary that no part contains; each rejected candidate matches
   * at a distinct place in the parts, so the loop ends */
  if (str_cats(&b, "=_sluice_") < 0 || cat_only(&b, m->token, ".-_", BOUNDARY_TOKEN_MAX) < 0) goto out;
  baselen = b.len;
  for (k = 0;; ++k) {
    str_truncate(&b, baselen);
    if (k && (str_catc(&b, '_') < 0 || str_catulong(&b, k) < 0 || str_catc(&b, '_') < 0)) goto out;
    if (!contains(&text, &b) && !contains(&report, &b) && !contains(&hdr, &b)) break;
  }

  if (cat_common_headers(o, m, "Mail Delivery System <", ">",
                         failures == 0 ? "Successful mail delivery report"
                         : m->doublebounce ? "Undeliverable bounce" : "Undelivered mail: returned to sender") < 0) goto out;
  if (str_cats(o, "MIME-Version: 1.0\n"
                  "Content-Type: multipart/report; report-type=delivery-status; boundary=\"") < 0) goto out;
  if (str_cat(o, &b) < 0 || str_cats(o, "\"\n\n") < 0) goto out;
  if (str_cats(o, "This is a delivery status notification in MIME format (RFC 3464).\n\n--") < 0) goto out;
  if (str_cat(o, &b) < 0) goto out;
  if (str_cats(o, "\nContent-Type: text/plain; charset=us-ascii\n"
                  "Content-Description: Notification\n\n") < 0) goto out;
  if (str_cat(o, &text) < 0 || str_cats(o, "\n--") < 0 || str_cat(o, &b) < 0) goto out;
  if (str_cats(o, "\nContent-Type: message/delivery-status\n"
                  "Content-Description: Delivery report\n\n") < 0) goto out;
  if (str_cat(o, &report) < 0 || str_cats(o, "\n--") < 0 || str_cat(o, &b) < 0) goto out;
  if (str_cats(o, m->ret_full ? "\nContent-Type: message/rfc822\n"
                                "Content-Description: Undelivered message\n\n"
                              : "\nContent-Type: text/rfc822-headers\n"
                                "Content-Description: Undelivered message headers\n\n") < 0) goto out;
  if (str_cat(o, &hdr) < 0 || str_cats(o, "\n--") < 0 || str_cat(o, &b) < 0 || str_cats(o, "--\n") < 0) goto out;
  r = 0;
out:
  str_free(&text);
  str_free(&report);
  str_free(&hdr);
  str_free(&b);
  return r;
}

static int compose_qsbmf(str *o, const struct dsn_message *m)
{
  size_t i, n, cap = m->qsbmf_cap ? m->qsbmf_cap : DSN_QSBMF_CAP_DEFAULT;

  if (cat_common_headers(o, m, 0, 0, "failure notice") < 0) return -1;
  /* the fixed first line that QSBMF readers recognise */
  if (cat_fields(o, "\nHi. This is the qmail-send program at ", 0, m->host, ".") < 0) return -1;
  if (m->doublebounce) {
    if (str_cats(o, "A bounce message could not be delivered to its recipient, so it\n"
                    "comes to the postmaster instead. The reasons follow.\n\n") < 0) return -1;
  } else {
    if (str_cats(o, "I could not deliver your message to the addresses below. These\n"
                    "failures are permanent and I have stopped trying.\n\n") < 0) return -1;
  }
  for (i = 0; i < m->rcpt_count; ++i)
    if (cat_recipient_paragraph(o, &m->rcpt[i]) < 0) return -1;
  /* the fixed break line that QSBMF readers look for */
  if (str_cats(o, "--- Below this line is a copy of the message.\n\n") < 0) return -1;
  n = m->original_len;
  if (n > cap) {
    size_t lf = byte_rchr(m->original, cap, '\n');
    n = lf < cap ? lf + 1 : cap;
  }
  if (n > 0 && str_catb(o, m->original, n) < 0) return -1;
  if (n > 0 && m->original[n - 1] != '\n' && str_catc(o, '\n') < 0) return -1;
  return 0;
}

int dsn_compose(str *out, const struct dsn_message *m)
{
  size_t start = out->len;
  size_t i;
  int r;

  if (!m || !m->host || !m->from || !m->to || !m->token || !m->rcpt || m->rcpt_count == 0 ||
      (!m->original && m->original_len)) {
    errno = EINVAL;
    return -1;
  }
  for (i = 0; i < m->rcpt_count; ++i)
    if (!m->rcpt[i].addr || (!m->rcpt[i].text && m->rcpt[i].textlen)) { errno = EINVAL; return -1; }
  r = m->format == DSN_QSBMF ? compose_qsbmf(out, m) : compose_rfc3464(out, m);
  if (r < 0) {
    int e = errno;
    str_truncate(out, start);
    errno = e;
  }
  return r;
}
