/* sluice-inject: turns a user's draft on stdin into a proper message and
 * hands it to sluice-queue (sluice-inject(8)).
 *
 * The header (everything up to the first empty line, or up to the first
 * line that is not a header line, at most HEADER_MAX bytes) is read into
 * memory and fixed: address fields are parsed (rfc822.h) and bare
 * addresses qualified; Bcc and Resent-Bcc are dropped; Date, Message-ID
 * and From are added when missing (Resent- versions for a resent
 * message). The body is then streamed; header and body are converted to
 * the queue's line form (lineform.h: CR LF becomes LF, a bare CR a
 * space), so a caller writing CR LF (PHP's mail()) gets a message that
 * leaves sluice with plain CR LF line ends. Every check that
 * can refuse the message happens before sluice-queue is started, so a
 * refused message leaves nothing in the queue, except the size limit
 * (control/databytes, default QUEUE_DATABYTES_DEFAULT, 0 for none, on
 * the message as built): a message found too big while it streams is
 * abandoned without its envelope, so sluice-queue keeps nothing.
 *
 * Exit codes: 0 queued (or printed with -n); 100 permanent (bad header,
 * no recipients, bad option arguments, permanent refusal by the queue);
 * 111 temporary (out of memory, unreadable configuration, the queue's
 * temporary failures); 64 usage. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "auto.h"
#include "buf.h"
#include "byte.h"
#include "control.h"
#include "date.h"
#include "die.h"
#include "env.h"
#include "fd.h"
#include "file.h"
#include "fmt.h"
#include "lineform.h"
#include "queue.h"
#include "rfc822.h"
#include "str.h"
#include "wait.h"

#define HEADER_MAX 1048576UL

#define USAGE "sluice-inject [-nahH] [-f sender] [-F fullname] [recipient ...]"

struct config {
  str me, defaulthost, defaultdomain, plusdomain, idhost;
  unsigned long databytes; /* 0: no limit */
};

enum { MODE_DEFAULT, MODE_ARGS, MODE_HEADER, MODE_BOTH };

static void nomem_if(int r)
{
  if (r < 0) die_nomem();
}

static void control_path(str *p, const char *name)
{
  nomem_if(str_copys(p, auto_home));
  nomem_if(str_cats(p, "/control/"));
  nomem_if(str_cats(p, name));
  nomem_if(str_0(p));
}

static void read_one(const char *name, str *value, const char *dflt)
{
  str p = STR_INIT;
  control_path(&p, name);
  if (control_readline(p.s, value, dflt) < 0) die_temp_sys("unable to read ", p.s);
  nomem_if(str_0(value));
  str_free(&p);
}

static void config_read(struct config *c)
{
  read_one("me", &c->me, "localhost");
  if (c->me.len == 0) nomem_if(str_copys(&c->me, "localhost"));
  read_one("defaulthost", &c->defaulthost, c->me.s);
  read_one("defaultdomain", &c->defaultdomain, c->me.s);
  read_one("plusdomain", &c->plusdomain, c->me.s);
  read_one("idhost", &c->idhost, c->me.s);
  {
    str p = STR_INIT;
    control_path(&p, "databytes");
    if (control_readnum(p.s, &c->databytes, QUEUE_DATABYTES_DEFAULT, 0, (unsigned long)-1) < 0)
      die_temp_sys("unable to read ", p.s);
    str_free(&p);
  }
}

/* Writes head, then the rest of in, to out, refusing to pass limit
 * bytes in all (0: no limit). 0 done, -1 read error, -2 write error,
 * -3 over the limit (nothing past it was written). */
static int message_copy(buf *out, const str *head, buf *in, int body, unsigned long limit)
{
  char conv[4097];
  struct lineform lf;
  unsigned long long total = head->len;
  size_t n;
  if (limit && total > limit) return -3;
  if (buf_put(out, head->s, head->len) < 0) return -2;
  lineform_start(&lf);
  while (body) {
    size_t avail = buf_avail(in);
    if (avail == 0) {
      ssize_t r = buf_feed(in);
      if (r < 0) return -1;
      if (r == 0) break;
      continue;
    }
    if (avail > sizeof conv - 1) avail = sizeof conv - 1;
    n = lineform_feed(&lf, buf_peek(in), avail, conv);
    total += n;
    if (limit && total > limit) return -3;
    if (buf_put(out, conv, n) < 0) return -2;
    buf_seek(in, avail);
  }
  n = lineform_end(&lf, conv);
  total += n;
  if (limit && total > limit) return -3;
  if (buf_put(out, conv, n) < 0) return -2;
  return buf_flush(out) < 0 ? -2 : 0;
}

/* The first of the environment variables that is set and not empty. */
static const char *env_first(const char *const *names)
{
  for (; *names; ++names) {
    const char *v = env_get(*names);
    if (v && *v) return v;
  }
  return 0;
}

static const char *user_name(const struct passwd *pw)
{
  static const char *const names[] = { "QMAILUSER", "MAILUSER", "USER", "LOGNAME", 0 };
  const char *u = env_first(names);
  if (u) return u;
  if (pw && pw->pw_name && *pw->pw_name) return pw->pw_name;
  die_temp("unable to find the user name: set MAILUSER or USER");
}

static const char *user_host(const struct config *c)
{
  static const char *const names[] = { "QMAILHOST", "MAILHOST", 0 };
  const char *h = env_first(names);
  return h ? h : c->defaulthost.s;
}

/* user@host in canonical form, or death: the pieces come from the
 * environment and must not smuggle line breaks into the header. */
static void make_address(str *out, const char *user, const char *host)
{
  str t = STR_INIT;
  size_t used;
  int r;
  nomem_if(str_copys(&t, "<"));
  nomem_if(str_cats(&t, user));
  nomem_if(str_catc(&t, '@'));
  nomem_if(str_cats(&t, host));
  nomem_if(str_catc(&t, '>'));
  r = addr_parse_path(t.s, t.len, ADDR_LENIENT | ADDR_LONG | ADDR_UTF8, out, &used);
  if (r == ADDR_ENOMEM) die_nomem();
  if (r != ADDR_OK || used != t.len)
    die_perm("invalid address ", user, "@", host, " from the environment: ", addr_strerror(r),
             " (set MAILUSER and MAILHOST)");
  str_free(&t);
}

/* The envelope sender given with -f: "" and "<>" are the null sender, a
 * bare local part gets @defaulthost. */
static void parse_sender(str *out, const char *arg, const struct config *c)
{
  str t = STR_INIT;
  size_t used, local_len;
  int r;
  if (!*arg) { str_truncate(out, 0); return; }
  if (arg[0] == '<') nomem_if(str_copys(&t, arg));
  else {
    nomem_if(str_copys(&t, "<"));
    nomem_if(str_cats(&t, arg));
    nomem_if(str_catc(&t, '>'));
  }
  r = addr_parse_path(t.s, t.len, ADDR_ALLOW_NULL | ADDR_ALLOW_NODOMAIN | ADDR_LENIENT | ADDR_LONG | ADDR_UTF8, out, &used);
  if (r == ADDR_ENOMEM) die_nomem();
  if (r != ADDR_OK || used != t.len) die_perm("bad sender address ", arg, ": ", addr_strerror(r));
  if (out->len && !addr_split(out->s, out->len, &local_len)) {
    nomem_if(str_catc(out, '@'));
    nomem_if(str_cat(out, &c->defaulthost));
  }
  str_free(&t);
}

/* A display name as a phrase: kept as it is when it is only letters,
 * digits, spaces and atom characters, else a quoted string. Control
 * characters (line breaks included) are dropped. */
static void cat_phrase(str *out, const char *name)
{
  const char *atext = "!#$%&'*+-/=?^_`{|}~ ";
  int plain = 1;
  size_t i, n = strlen(name);
  for (i = 0; i < n; ++i) {
    unsigned char ch = (unsigned char)name[i];
    int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (!alnum && (ch >= 128 || !strchr(atext, ch))) plain = 0;
  }
  if (n && (name[0] == ' ' || name[n - 1] == ' ')) plain = 0;
  if (!plain) nomem_if(str_catc(out, '"'));
  for (i = 0; i < n; ++i) {
    unsigned char ch = (unsigned char)name[i];
    if (ch < 32 || ch == 127) continue;
    if (!plain && (ch == '"' || ch == '\\')) nomem_if(str_catc(out, '\\'));
    nomem_if(str_catc(out, (char)ch));
  }
  if (!plain) nomem_if(str_catc(out, '"'));
}

/* The full name: -F, the environment, or the gecos field up to its
 * first comma with '&' standing for the capitalised login name. */
static void full_name(str *out, const char *opt, const struct passwd *pw)
{
  static const char *const names[] = { "QMAILNAME", "MAILNAME", "NAME", 0 };
  const char *n = opt ? opt : env_first(names);
  str_truncate(out, 0);
  if (n) { nomem_if(str_copys(out, n)); return; }
  if (!pw || !pw->pw_gecos) return;
  for (const char *g = pw->pw_gecos; *g && *g != ','; ++g) {
    if (*g == '&' && pw->pw_name && *pw->pw_name) {
      char first = pw->pw_name[0];
      if (first >= 'a' && first <= 'z') first = (char)(first - 32);
      nomem_if(str_catc(out, first));
      nomem_if(str_cats(out, pw->pw_name + 1));
    } else {
      nomem_if(str_catc(out, *g));
    }
  }
}

static void message_id(str *out, const struct config *c, time_t now)
{
  unsigned long rnd = 0;
  unsigned char b[8];
  char num[FMT_ULONG];
  int fd = open_read("/dev/urandom");
  if (fd >= 0) {
    if (read_full(fd, (char *)b, sizeof b) == (ssize_t)sizeof b)
      for (size_t i = 0; i < sizeof b; ++i) rnd = (rnd << 8) | b[i];
    close(fd);
  }
  if (!rnd) rnd = (unsigned long)now ^ ((unsigned long)getpid() << 16) ^ (unsigned long)clock();
  nomem_if(str_catc(out, '<'));
  nomem_if(str_catulong(out, (unsigned long)now));
  nomem_if(str_catc(out, '.'));
  nomem_if(str_catulong(out, (unsigned long)getpid()));
  nomem_if(str_catc(out, '.'));
  nomem_if(str_catb(out, num, fmt_xlong(num, rnd)));
  nomem_if(str_catc(out, '@'));
  nomem_if(str_cat(out, &c->idhost));
  nomem_if(str_catc(out, '>'));
}

/* ---- recipients ---- */

struct rcpts {
  str list; /* addresses, each followed by NUL */
  size_t n;
};

static void rcpts_add(struct rcpts *r, const str *addrs, size_t n)
{
  nomem_if(str_cat(&r->list, addrs));
  r->n += n;
}

struct entry {
  const char *s;
  size_t len, index;
};

static int entry_cmp(const void *a, const void *b)
{
  const struct entry *x = a, *y = b;
  size_t m = x->len < y->len ? x->len : y->len;
  int c = m ? memcmp(x->s, y->s, m) : 0;
  if (c) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* Writes F sender, T for each distinct recipient (first occurrence
 * order), and the final NUL into env. */
static void envelope(str *ev, const str *sender, const struct rcpts *r)
{
  struct entry *e;
  unsigned char *dup;
  size_t i, pos = 0;
  if (r->n > (size_t)-1 / sizeof *e) die_nomem();
  e = malloc(r->n * sizeof *e + 1);
  dup = calloc(r->n + 1, 1);
  if (!e || !dup) die_nomem();
  for (i = 0; i < r->n; ++i) {
    size_t len = byte_chr(r->list.s + pos, r->list.len - pos, 0);
    e[i].s = r->list.s + pos;
    e[i].len = len;
    e[i].index = i;
    pos += len + 1;
  }
  qsort(e, r->n, sizeof *e, entry_cmp);
  for (i = 1; i < r->n; ++i)
    if (e[i].len == e[i - 1].len && byte_equal(e[i].s, e[i - 1].s, e[i].len)) dup[e[i].index] = 1;
  nomem_if(str_copyb(ev, "F", 1));
  nomem_if(str_cat(ev, sender));
  nomem_if(str_catc(ev, 0));
  pos = 0;
  for (i = 0; i < r->n; ++i) {
    size_t len = byte_chr(r->list.s + pos, r->list.len - pos, 0);
    if (!dup[i]) {
      nomem_if(str_catc(ev, 'T'));
      nomem_if(str_catb(ev, r->list.s + pos, len));
      nomem_if(str_catc(ev, 0));
    }
    pos += len + 1;
  }
  nomem_if(str_catc(ev, 0));
  free(e);
  free(dup);
}

/* ---- the queue's answer ---- */

static const char *qq_text(int code)
{
  switch (code) {
  case 11: return "envelope address too long for qq (#5.1.3)";
  case 31: return "mail server permanently rejected message (#5.3.0)";
  case 51: return "qq out of memory (#4.3.0)";
  case 52: return "qq timeout (#4.3.0)";
  case 53: return "qq write error or disk full (#4.3.0)";
  case 54: return "qq read error (#4.3.0)";
  case 55: return "qq unable to read configuration (#4.3.0)";
  case 56: return "qq trouble making network connection (#4.3.0)";
  case 61: return "qq trouble in home directory (#4.3.0)";
  case 62: case 63: case 64: case 65: case 66: return "qq trouble creating files in queue (#4.3.0)";
  case 71: return "mail server temporarily rejected message (#4.3.0)";
  case 72: return "connection to mail server timed out (#4.4.1)";
  case 73: return "connection to mail server rejected (#4.4.1)";
  case 74: return "connection to mail server succeeded, but communication failed (#4.4.2)";
  case 81: return "qq internal bug (#4.3.0)";
  case 91: return "envelope format error (#4.3.0)";
  }
  if (code >= 11 && code <= 40) return "qq permanent problem (#5.3.0)";
  return "qq temporary problem (#4.3.0)";
}

/* ---- main ---- */

struct header {
  str in;        /* the header as read */
  str sep;       /* the empty line that ended it, or "" */
  str firstbody; /* a non-header line that ended it, or "" */
  int eof;       /* input ended inside the header */
};

/* Reads the header, each line converted to the queue's line form
 * (lineform.h): a line as read ends at its LF, so a CR held back at
 * its end is either the CR of its CR LF or a bare CR at end of input. */
static void read_header(buf *in, struct header *h)
{
  str raw = STR_INIT, line = STR_INIT;
  for (;;) {
    size_t room = HEADER_MAX - h->in.len;
    struct lineform lf;
    int r, kind;
    str_truncate(&raw, 0);
    str_truncate(&line, 0);
    r = buf_getline(in, &raw, '\n', room + 1);
    if (r < 0) {
      if (errno == E2BIG) die_perm("header too long (over 1048576 bytes): not queued");
      if (errno == ENOMEM) die_nomem();
      die_temp_sys("unable to read the message");
    }
    lineform_start(&lf);
    nomem_if(lineform_cat(&lf, raw.s, raw.len, &line));
    nomem_if(lineform_cat_end(&lf, &line));
    if (line.len == 0) { h->eof = 1; break; }
    kind = rfc822_line_kind(line.s, line.len);
    if (kind == RFC822_CONT && h->in.len == 0) kind = RFC822_OTHER;
    if (kind == RFC822_END) { nomem_if(str_copy(&h->sep, &line)); break; }
    if (kind == RFC822_OTHER) { nomem_if(str_copy(&h->firstbody, &line)); break; }
    if (line.len > room) die_perm("header too long (over 1048576 bytes): not queued");
    nomem_if(str_cat(&h->in, &line));
    if (r == 0) { h->eof = 1; break; }
  }
  str_free(&raw);
  str_free(&line);
}

static int is_one_of(const char *name, size_t len, const char *const *list)
{
  for (; *list; ++list)
    if (rfc822_name_is(name, len, *list)) return 1;
  return 0;
}

int main(int argc, char **argv)
{
  static const char *const rcpt_fields[] = { "To", "Cc", "Bcc", 0 };
  static const char *const resent_rcpt_fields[] = { "Resent-To", "Resent-Cc", "Resent-Bcc", 0 };
  static const char *const sender_fields[] = { "From", "Sender", "Resent-From", "Resent-Sender", 0 };
  static const char *const reply_fields[] = { "Reply-To", "Resent-Reply-To", 0 };
  static char inmem[65536], outmem[65536];
  struct config c = { STR_INIT, STR_INIT, STR_INIT, STR_INIT, STR_INIT, 0 };
  struct header h = { STR_INIT, STR_INIT, STR_INIT, 0 };
  struct rcpts hrcpts = { STR_INIT, 0 }, arcpts = { STR_INIT, 0 }, all = { STR_INIT, 0 };
  str out = STR_INIT, rew = STR_INIT, addrs = STR_INIT, sender = STR_INIT, from = STR_INIT, name = STR_INIT;
  str envl = STR_INIT, qprog = STR_INIT;
  const char *opt_f = 0, *opt_F = 0, *err;
  const char *nl = "\n"; /* the queue's line form (sluice-queue(5)) */
  int mode = MODE_DEFAULT, print = 0, resent = 0, have_date = 0, have_mid = 0, have_from = 0;
  struct passwd *pw;
  time_t now = time(0);
  buf in, bout;
  size_t pos, naddrs;
  struct rfc822_field f;
  struct rfc822_qualify qrcpt, qsender;
  int i, r;

  die_progname("sluice-inject");
  for (i = 1; i < argc; ++i) {
    const char *a = argv[i];
    int took_value = 0;
    if (a[0] != '-' || a[1] == 0) break;
    if (!strcmp(a, "--")) { ++i; break; }
    for (size_t j = 1; a[j] && !took_value; ++j) {
      switch (a[j]) {
      case 'n': print = 1; break;
      case 'a': mode = MODE_ARGS; break;
      case 'h': mode = MODE_HEADER; break;
      case 'H': mode = MODE_BOTH; break;
      case 'f': case 'F': {
        const char *v;
        if (a[j + 1]) v = a + j + 1;
        else if (i + 1 < argc) v = argv[++i];
        else die_usage(USAGE);
        if (a[j] == 'f') opt_f = v; else opt_F = v;
        took_value = 1;
        break;
      }
      default: {
        char o[2] = { a[j], 0 };
        die_parts(64, 0, "fatal", "unknown option -", o, "; usage: " USAGE, (const char *)0);
      }
      }
    }
  }
  if (mode == MODE_DEFAULT) mode = i < argc ? MODE_ARGS : MODE_HEADER;
  if (mode == MODE_HEADER && i < argc) warn_msg("-h: recipient arguments ignored (use -H to add them)");

  signal(SIGPIPE, SIG_IGN);
  config_read(&c);
  pw = getpwuid(getuid());
  qrcpt.domain = c.defaultdomain.s;
  qrcpt.plus = c.plusdomain.s;
  qsender.domain = c.defaulthost.s;
  qsender.plus = c.plusdomain.s;

  /* recipients from the arguments */
  if (mode == MODE_ARGS || mode == MODE_BOTH) {
    for (int k = i; k < argc; ++k) {
      if (rfc822_addrlist(argv[k], strlen(argv[k]), &qrcpt, &rew, &addrs, &naddrs, &err) < 0) {
        if (errno == EINVAL) die_perm("unable to parse recipient ", argv[k], ": ", err);
        die_nomem();
      }
      rcpts_add(&arcpts, &addrs, naddrs);
    }
  }

  buf_init(&in, 0, inmem, sizeof inmem);
  read_header(&in, &h);

  /* pass 1: is this a resent message? */
  pos = 0;
  while ((r = rfc822_field_next(h.in.s, h.in.len, &pos, &f)) == 1)
    if (byte_startswith(h.in.s + f.start, f.name_len, "Resent-", 1)) resent = 1;
  if (r < 0) die_perm("malformed header");

  /* pass 2: rewrite */
  pos = 0;
  while (rfc822_field_next(h.in.s, h.in.len, &pos, &f) == 1) {
    const char *nm = h.in.s + f.start;
    const char *val = h.in.s + f.value;
    size_t vlen = f.start + f.len - f.value;
    int is_rcpt = is_one_of(nm, f.name_len, rcpt_fields), is_rrcpt = is_one_of(nm, f.name_len, resent_rcpt_fields);
    int is_sender = is_one_of(nm, f.name_len, sender_fields), is_reply = is_one_of(nm, f.name_len, reply_fields);
    if (rfc822_name_is(nm, f.name_len, resent ? "Resent-Date" : "Date")) have_date = 1;
    if (rfc822_name_is(nm, f.name_len, resent ? "Resent-Message-ID" : "Message-ID")) have_mid = 1;
    if (rfc822_name_is(nm, f.name_len, resent ? "Resent-From" : "From")) have_from = 1;
    if (is_rcpt || is_rrcpt || is_sender || is_reply) {
      const struct rfc822_qualify *q = is_sender ? &qsender : &qrcpt;
      if (rfc822_addrlist(val, vlen, q, &rew, &addrs, &naddrs, &err) < 0) {
        str fname = STR_INIT;
        if (errno != EINVAL) die_nomem();
        nomem_if(str_copyb(&fname, nm, f.name_len));
        nomem_if(str_0(&fname));
        die_perm("unable to parse the ", fname.s, ": field: ", err, ": not queued");
      }
      if ((resent ? is_rrcpt : is_rcpt) && (mode == MODE_HEADER || mode == MODE_BOTH)) rcpts_add(&hrcpts, &addrs, naddrs);
      if (rfc822_name_is(nm, f.name_len, "Bcc") || rfc822_name_is(nm, f.name_len, "Resent-Bcc")) continue;
      nomem_if(str_catb(&out, nm, f.value - f.start));
      nomem_if(str_cat(&out, &rew));
    } else {
      nomem_if(str_catb(&out, nm, f.len));
    }
    if (out.len && out.s[out.len - 1] != '\n') nomem_if(str_cats(&out, nl));
  }

  /* additions */
  if (!have_date) {
    nomem_if(str_cats(&out, resent ? "Resent-Date: " : "Date: "));
    if (date_rfc5322(&out, now) < 0) die_temp_sys("unable to format the date");
    nomem_if(str_cats(&out, nl));
  }
  if (!have_mid) {
    nomem_if(str_cats(&out, resent ? "Resent-Message-ID: " : "Message-ID: "));
    message_id(&out, &c, now);
    nomem_if(str_cats(&out, nl));
  }
  if (!have_from) {
    make_address(&from, user_name(pw), user_host(&c));
    full_name(&name, opt_F, pw);
    nomem_if(str_cats(&out, resent ? "Resent-From: " : "From: "));
    if (name.len) {
      nomem_if(str_0(&name));
      cat_phrase(&out, name.s);
      nomem_if(str_cats(&out, " <"));
      nomem_if(str_cat(&out, &from));
      nomem_if(str_catc(&out, '>'));
    } else {
      nomem_if(str_cat(&out, &from));
    }
    nomem_if(str_cats(&out, nl));
  }
  if (h.sep.len) nomem_if(str_cat(&out, &h.sep));
  else nomem_if(str_cats(&out, nl));
  nomem_if(str_cat(&out, &h.firstbody));

  /* envelope */
  if (opt_f) parse_sender(&sender, opt_f, &c);
  else {
    static const char *const su[] = { "QMAILSUSER", "QMAILUSER", "MAILUSER", "USER", "LOGNAME", 0 };
    static const char *const sh[] = { "QMAILSHOST", "QMAILHOST", "MAILHOST", 0 };
    const char *u = env_first(su), *hh = env_first(sh);
    make_address(&sender, u ? u : user_name(pw), hh ? hh : c.defaulthost.s);
  }
  rcpts_add(&all, &hrcpts.list, hrcpts.n);
  rcpts_add(&all, &arcpts.list, arcpts.n);
  if (all.n == 0 && !print) {
    if (mode == MODE_ARGS) die_perm("no recipients: not queued");
    die_perm("no recipients: no To, Cc or Bcc address in the header", mode == MODE_BOTH ? " and none given as arguments" : "",
             ": not queued");
  }
  envelope(&envl, &sender, &all);

  if (print) {
    buf_init(&bout, 1, outmem, sizeof outmem);
    r = message_copy(&bout, &out, &in, !h.eof, 0);
    if (r == -1) die_temp_sys("unable to read the message");
    if (r == -2) die_temp_sys("unable to write the message");
    return 0;
  }

  {
    const char *qq = env_get("QMAILQUEUE");
    int mp[2], ep[2], status, code;
    child_fd fds[2];
    char *qargv[2];
    pid_t pid;
    if (qq && *qq) nomem_if(str_copys(&qprog, qq));
    else {
      nomem_if(str_copys(&qprog, auto_home));
      nomem_if(str_cats(&qprog, "/bin/sluice-queue"));
    }
    nomem_if(str_0(&qprog));
    if (pipe(mp) < 0 || pipe(ep) < 0) die_temp_sys("unable to make a pipe");
    if (fd_cloexec(mp[0], 1) < 0 || fd_cloexec(mp[1], 1) < 0 || fd_cloexec(ep[0], 1) < 0 || fd_cloexec(ep[1], 1) < 0)
      die_temp_sys("unable to set close-on-exec");
    fds[0].to = 0; fds[0].from = mp[0];
    fds[1].to = 1; fds[1].from = ep[0];
    qargv[0] = qprog.s;
    qargv[1] = 0;
    pid = child_spawn(qprog.s, qargv, 0, fds, 2);
    if (pid < 0) die_temp_sys("unable to run ", qprog.s);
    close(mp[0]);
    close(ep[0]);
    buf_init(&bout, mp[1], outmem, sizeof outmem);
    r = message_copy(&bout, &out, &in, !h.eof, c.databytes);
    if (r == -3) {
      char num[FMT_ULONG];
      close(mp[1]);
      close(ep[1]);
      wait_pid(pid, &status);
      num[fmt_ulong(num, c.databytes)] = 0;
      die_perm("message too big: over ", num, " bytes (control/databytes) (#5.3.4): not queued");
    }
    if (r == -1) {
      /* no envelope: the queue sees its caller give up and keeps nothing */
      int e = errno;
      close(mp[1]);
      close(ep[1]);
      wait_pid(pid, &status);
      errno = e;
      die_temp_sys("unable to read the message: not queued");
    }
    close(mp[1]);
    if (r == 0) {
      if (write_all(ep[1], envl.s, envl.len) < 0) { /* the exit code says why */ }
    }
    close(ep[1]);
    if (wait_pid(pid, &status) < 0) die_temp_sys("unable to wait for ", qprog.s);
    if (wait_crashed(status)) die_temp("qq crashed (#4.3.0)");
    code = wait_exitcode(status);
    if (code == 0 && r == 0) return 0;
    if (code == 0) die_temp("qq write error or disk full (#4.3.0)");
    die_msg(code >= 11 && code <= 40 ? EXIT_PERM : EXIT_TEMP, qq_text(code));
  }
}
