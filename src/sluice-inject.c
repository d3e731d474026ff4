/* sluice-inject: turns a user's draft on stdin into a proper message and
 * hands it to sluice-queue (sluice-inject(8)).
 *
 * The header (everything up to the first empty line, or up to the first
 * line that is not a header line, at most HEADER_MAX bytes) is read into
 * memory and fixed: address fields are parsed (rfc822.h) and completed
 * by qmail-inject's rules (a bare name gets defaulthost, a dotless host
 * defaultdomain, a host ending in '+' plusdomain); Bcc, Resent-Bcc and
 * Return-Path are dropped (a Return-Path gives the envelope sender when
 * there is no -f, as in qmail-inject); Date, Message-ID and From are
 * added when missing (Resent- versions for a resent message). The body
 * is then streamed; header and body are converted to the queue's line
 * form (lineform.h: CR LF becomes LF, a bare CR a space), so a caller
 * writing CR LF (PHP's mail()) gets a message that leaves sluice with
 * plain CR LF line ends. Every check that can refuse the message
 * happens before sluice-queue is started, so a refused message leaves
 * nothing in the queue, except the size limit (control/databytes,
 * default QUEUE_DATABYTES_DEFAULT, 0 for none, on the message as
 * built): a message found too big while it streams is abandoned
 * without its envelope, so sluice-queue keeps nothing.
 *
 * -V only says what would become of each recipient (rewrite.h for
 * local or remote, control/rcptcheck.cdb for local users, as
 * sluice-smtpd checks them) and queues nothing.
 *
 * Exit codes: 0 queued (or printed with -n, or every recipient
 * deliverable with -V); 100 permanent (bad header, no recipients, bad
 * option arguments, permanent refusal by the queue); 111 temporary (out
 * of memory, unreadable configuration, the queue's temporary failures);
 * 64 usage. With -x, sendmail's sysexits codes instead (the table is in
 * the man page; every exit goes through fail()).
 *
 * Queue mode (SLUICEINJECT=queue in the environment, as the submission
 * services set it with QMAILQUEUE pointing here): sluice-inject stands
 * where sluice-queue stands, message on fd 0 and envelope on fd 1, and
 * only fixes the header as above (Bcc, Resent-Bcc and Return-Path
 * dropped, Date and Message-ID added when missing; no address is
 * rewritten and no From added: the client's are kept), then hands
 * message and envelope, unchanged, to conf-home/bin/sluice-queue and
 * exits with its exit code; its own failures use the queue's codes
 * (31 permanent, 54 temporary). */
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
#include "rewrite.h"
#include "rfc822.h"
#include "smtpd_rcpt.h"
#include "str.h"
#include "wait.h"
#include "xtext.h"

#define HEADER_MAX 1048576UL

#define USAGE "sluice-inject [-nNaAhHVx] [-f sender] [-F fullname] [-D notify] [-R ret] [-E envid] [recipient ...]"

/* sendmail's exit codes (sysexits.h), for -x */
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_NOUSER 67
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE 70
#define EX_TEMPFAIL 75

/* Set by -x: exit with the second code of fail() (sysexits) rather than
 * the first (qmail-inject's 100/111). The only global: every exit needs
 * it, and it is set once before anything can fail. */
static int sysexits;
/* Set in queue mode: exit with sluice-queue's codes (31, 54) instead. */
static int queue_mode;

#define pick(qcode, xcode) (queue_mode ? ((qcode) == EXIT_PERM ? 31 : 54) : sysexits ? (xcode) : (qcode))
/* Exits with qcode (or xcode under -x) and the message. */
#define fail(qcode, xcode, ...) die_msg(pick(qcode, xcode), __VA_ARGS__)
#define fail_sys(qcode, xcode, ...) die_sys(pick(qcode, xcode), __VA_ARGS__)
#define fail_temp(...) fail(EXIT_TEMP, EX_TEMPFAIL, __VA_ARGS__)
#define fail_temp_sys(...) fail_sys(EXIT_TEMP, EX_TEMPFAIL, __VA_ARGS__)

struct config {
  str me, defaulthost, defaultdomain, plusdomain, idhost, locals;
  str host; /* defaulthost completed by the domain rules */
  struct rfc822_qualify q;
  unsigned long databytes; /* 0: no limit */
};

enum { MODE_DEFAULT, MODE_ARGS, MODE_HEADER, MODE_BOTH };

static _Noreturn void nomem(void)
{
  fail_temp("out of memory");
}

static void nomem_if(int r)
{
  if (r < 0) nomem();
}

static void control_path(str *p, const char *name)
{
  nomem_if(str_copys(p, auto_home));
  nomem_if(str_cats(p, "/control/"));
  nomem_if(str_cats(p, name));
  nomem_if(str_0(p));
}

/* control/NAME into value, dflt when it is missing; the environment
 * variable var, when set and not empty, wins (qmail-inject's
 * QMAILDEFAULTHOST and friends). */
static void read_one(const char *name, str *value, const char *dflt, const char *var)
{
  str p = STR_INIT;
  const char *e = var ? env_get(var) : 0;
  if (e && *e) {
    nomem_if(str_copys(value, e));
  } else {
    control_path(&p, name);
    if (control_readline(p.s, value, dflt) < 0) fail_temp_sys("unable to read ", p.s);
  }
  nomem_if(str_0(value));
  str_free(&p);
}

static void config_read(struct config *c)
{
  str p = STR_INIT;
  int r;
  read_one("me", &c->me, "localhost", 0);
  if (c->me.len == 0) nomem_if(str_copys(&c->me, "localhost"));
  read_one("defaulthost", &c->defaulthost, c->me.s, "QMAILDEFAULTHOST");
  read_one("defaultdomain", &c->defaultdomain, c->me.s, "QMAILDEFAULTDOMAIN");
  read_one("plusdomain", &c->plusdomain, c->me.s, "QMAILPLUSDOMAIN");
  read_one("idhost", &c->idhost, c->me.s, "QMAILIDHOST");
  control_path(&p, "locals");
  r = control_readlist(p.s, &c->locals);
  if (r < 0) fail_temp_sys("unable to read ", p.s);
  if (r == 0) {
    nomem_if(str_copy(&c->locals, &c->me));
    nomem_if(str_catc(&c->locals, 0));
  }
  control_path(&p, "databytes");
  if (control_readnum(p.s, &c->databytes, QUEUE_DATABYTES_DEFAULT, 0, (unsigned long)-1) < 0)
    fail_temp_sys("unable to read ", p.s);
  str_free(&p);

  /* qmail-inject's rules: a bare name gets defaulthost, a dotless host
   * defaultdomain (unless it is one of this host's names, control/locals),
   * a host ending in '+' plusdomain; defaulthost itself is completed too */
  c->q.host = 0;
  c->q.domain = c->defaultdomain.len ? c->defaultdomain.s : 0;
  c->q.plus = c->plusdomain.len ? c->plusdomain.s : 0;
  c->q.keep = &c->locals;
  c->q.lenient = 1;
  nomem_if(rfc822_qualify_host(&c->q, c->defaulthost.s, c->defaulthost.len, &c->host));
  nomem_if(str_0(&c->host));
  c->q.host = c->host.s;
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
  fail_temp("unable to find the user name: set MAILUSER or USER");
}

/* user@host in canonical form, host completed by the domain rules (NULL:
 * the completed defaulthost), or death: the pieces come from the
 * environment and must not smuggle line breaks into the header. */
static void make_address(str *out, const char *user, const char *host, const struct config *c)
{
  str t = STR_INIT;
  size_t used;
  int r;
  nomem_if(str_copys(&t, "<"));
  nomem_if(str_cats(&t, user));
  nomem_if(str_catc(&t, '@'));
  if (host) nomem_if(rfc822_qualify_host(&c->q, host, strlen(host), &t));
  else nomem_if(str_cat(&t, &c->host));
  nomem_if(str_catc(&t, '>'));
  r = addr_parse_path(t.s, t.len, ADDR_LENIENT | ADDR_LONG | ADDR_UTF8, out, &used);
  if (r == ADDR_ENOMEM) nomem();
  if (r != ADDR_OK || used != t.len)
    fail(EXIT_PERM, EX_USAGE, "invalid address ", user, "@", host ? host : c->host.s, " from the environment: ",
         addr_strerror(r), " (set MAILUSER and MAILHOST)");
  str_free(&t);
}

/* Completes the canonical address in *a by the domain rules: a bare
 * local part gets @host, a dotless or '+' host its domain. */
static void complete_address(str *a, const struct config *c)
{
  size_t local_len;
  str t = STR_INIT;
  if (!a->len) return;
  if (!addr_split(a->s, a->len, &local_len)) {
    nomem_if(str_catc(a, '@'));
    nomem_if(str_cat(a, &c->host));
    return;
  }
  nomem_if(str_copyb(&t, a->s, local_len + 1));
  nomem_if(rfc822_qualify_host(&c->q, a->s + local_len + 1, a->len - local_len - 1, &t));
  nomem_if(str_copy(a, &t));
  str_free(&t);
}

/* The envelope sender given with -f: "" and "<>" are the null sender, a
 * bare local part gets @defaulthost, a dotless host defaultdomain. */
static void parse_sender(str *out, const char *arg, const struct config *c)
{
  str t = STR_INIT;
  size_t used;
  int r;
  if (!*arg) { str_truncate(out, 0); return; }
  if (arg[0] == '<') nomem_if(str_copys(&t, arg));
  else {
    nomem_if(str_copys(&t, "<"));
    nomem_if(str_cats(&t, arg));
    nomem_if(str_catc(&t, '>'));
  }
  r = addr_parse_path(t.s, t.len, ADDR_ALLOW_NULL | ADDR_ALLOW_NODOMAIN | ADDR_LENIENT | ADDR_LONG | ADDR_UTF8, out, &used);
  if (r == ADDR_ENOMEM) nomem();
  if (r != ADDR_OK || used != t.len) fail(EXIT_PERM, EX_USAGE, "bad sender address ", arg, ": ", addr_strerror(r));
  complete_address(out, c);
  str_free(&t);
}

/* The envelope sender a Return-Path field gives: 1 with *out set (empty
 * for "<>"), or 0 when the value is not one address or "<>" (the field
 * is then only dropped). */
static int return_path(str *out, const char *v, size_t n, const struct config *c)
{
  str rew = STR_INIT, addrs = STR_INIT;
  size_t naddrs = 0;
  const char *err;
  int r = 0;
  if (rfc822_addrlist(v, n, &c->q, &rew, &addrs, &naddrs, &err) < 0) {
    if (errno != EINVAL) nomem();
  } else if (naddrs == 1) {
    nomem_if(str_copyb(out, addrs.s, addrs.len - 1)); /* without its NUL */
    r = 1;
  } else if (naddrs == 0 && byte_chr(v, n, '<') < n) {
    str_truncate(out, 0);
    r = 1;
  }
  str_free(&rew);
  str_free(&addrs);
  return r;
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

/* DSN (RFC 3461) requests of the command line: -D, -R, -E. */
struct dsn_opts {
  char notify[4];   /* the queue's NOTIFY letters (sluice-queue(5)), or "" */
  char ret;         /* 'H', 'B' or 0 */
  str envid;        /* decoded */
};

/* Parses sendmail's -N value (never, or a comma list of success,
 * failure, delay; any case) into the queue's letters. 0 or -1. */
static int notify_letters(const char *v, char *out)
{
  size_t n = 0;
  while (*v) {
    size_t k = 0;
    char l;
    while (v[k] && v[k] != ',') ++k;
    if (case_equalb(v, k, "never", 5)) l = 'N';
    else if (case_equalb(v, k, "success", 7)) l = 'S';
    else if (case_equalb(v, k, "failure", 7)) l = 'F';
    else if (case_equalb(v, k, "delay", 5)) l = 'D';
    else return -1;
    if (n >= 3 || byte_chr(out, n, l) < n) return -1;
    out[n++] = l;
    v += k;
    if (*v == ',' && *++v == 0) return -1; /* a trailing comma */
  }
  out[n] = 0;
  if (n == 0 || (byte_chr(out, n, 'N') < n && n > 1)) return -1;
  return 0;
}

/* Writes F sender, T for each distinct recipient (first occurrence
 * order), and the final NUL into env; with the DSN records of d (the
 * O options and I before F, an N before each T). */
static void envelope(str *ev, const str *sender, const struct rcpts *r, const struct dsn_opts *d)
{
  struct entry *e;
  unsigned char *dup;
  size_t i, pos = 0;
  if (r->n > (size_t)-1 / sizeof *e) nomem();
  e = malloc(r->n * sizeof *e + 1);
  dup = calloc(r->n + 1, 1);
  if (!e || !dup) nomem();
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
  str_truncate(ev, 0);
  if (d->ret) {
    char o[3] = { 'O', d->ret, 0 };
    nomem_if(str_catb(ev, o, 3));
  }
  if (d->envid.len) {
    nomem_if(str_catc(ev, 'I'));
    nomem_if(str_cat(ev, &d->envid));
    nomem_if(str_catc(ev, 0));
  }
  nomem_if(str_catc(ev, 'F'));
  nomem_if(str_cat(ev, sender));
  nomem_if(str_catc(ev, 0));
  pos = 0;
  for (i = 0; i < r->n; ++i) {
    size_t len = byte_chr(r->list.s + pos, r->list.len - pos, 0);
    if (!dup[i]) {
      if (d->notify[0]) {
        nomem_if(str_catc(ev, 'N'));
        nomem_if(str_cats(ev, d->notify));
        nomem_if(str_catc(ev, 0));
      }
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

/* The exit code for the queue's exit code (not 0): qmail-inject's
 * 100/111, or with -x: 11 (an address too long) EX_DATAERR, the other
 * permanent ones (11-40: refused) EX_UNAVAILABLE, 81 and 91 (a bug in
 * the queue or in its caller) EX_SOFTWARE, every other EX_TEMPFAIL. */
static int qq_exit(int code)
{
  if (code >= 11 && code <= 40) return pick(EXIT_PERM, code == 11 ? EX_DATAERR : EX_UNAVAILABLE);
  if (code == 81 || code == 91) return pick(EXIT_TEMP, EX_SOFTWARE);
  return pick(EXIT_TEMP, EX_TEMPFAIL);
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
      if (errno == E2BIG) fail(EXIT_PERM, EX_DATAERR, "header too long (over 1048576 bytes): not queued");
      if (errno == ENOMEM) nomem();
      fail_temp_sys("unable to read the message");
    }
    lineform_start(&lf);
    nomem_if(lineform_cat(&lf, raw.s, raw.len, &line));
    nomem_if(lineform_cat_end(&lf, &line));
    if (line.len == 0) { h->eof = 1; break; }
    kind = rfc822_line_kind(line.s, line.len);
    if (kind == RFC822_CONT && h->in.len == 0) kind = RFC822_OTHER;
    if (kind == RFC822_END) { nomem_if(str_copy(&h->sep, &line)); break; }
    if (kind == RFC822_OTHER) { nomem_if(str_copy(&h->firstbody, &line)); break; }
    if (line.len > room) fail(EXIT_PERM, EX_DATAERR, "header too long (over 1048576 bytes): not queued");
    nomem_if(str_cat(&h->in, &line));
    if (r == 0) { h->eof = 1; break; }
  }
  str_free(&raw);
  str_free(&line);
}

/* The queue's door, NUL-terminated, into *p: conf-home/bin/sluice-dkimsign
 * when control/dkimdomains exists and the signer is installed (mail
 * of local users and of the submission services is DKIM-signed,
 * sluice-dkimsign(8)), else conf-home/bin/sluice-queue. */
static void queue_program(str *p)
{
  int sign;
  nomem_if(str_copys(p, auto_home));
  nomem_if(str_cats(p, "/control/dkimdomains"));
  nomem_if(str_0(p));
  sign = access(p->s, F_OK) == 0;
  nomem_if(str_copys(p, auto_home));
  nomem_if(str_cats(p, "/bin/sluice-dkimsign"));
  nomem_if(str_0(p));
  if (sign && access(p->s, X_OK) == 0) return;
  nomem_if(str_copys(p, auto_home));
  nomem_if(str_cats(p, "/bin/sluice-queue"));
  nomem_if(str_0(p));
}

/* The largest envelope passed on in queue mode (sluice-queue's own
 * limits are lower). */
#define ENVELOPE_MAX 67108864UL

/* Queue mode (see the top): returns the exit code. */
static int queue_filter(const struct config *c)
{
  static char inmem[65536], outmem[65536];
  struct header h = { STR_INIT, STR_INIT, STR_INIT, 0 };
  str out = STR_INIT, qprog = STR_INIT, envl = STR_INIT;
  struct rfc822_field f;
  size_t pos = 0;
  int resent = 0, have_date = 0, have_mid = 0, r, mp[2], ep[2], status;
  time_t now = time(0);
  child_fd fds[2];
  char *qargv[2];
  pid_t pid;
  buf in, bout;

  buf_init(&in, 0, inmem, sizeof inmem);
  read_header(&in, &h);
  while ((r = rfc822_field_next(h.in.s, h.in.len, &pos, &f)) == 1)
    if (byte_startswith(h.in.s + f.start, f.name_len, "Resent-", 1)) resent = 1;
  if (r < 0) {
    nomem_if(str_copy(&out, &h.in)); /* not a header to fix: passed on as it is */
  } else {
    pos = 0;
    while (rfc822_field_next(h.in.s, h.in.len, &pos, &f) == 1) {
      const char *nm = h.in.s + f.start;
      if (rfc822_name_is(nm, f.name_len, "Bcc") || rfc822_name_is(nm, f.name_len, "Resent-Bcc")
          || rfc822_name_is(nm, f.name_len, "Return-Path"))
        continue;
      if (rfc822_name_is(nm, f.name_len, resent ? "Resent-Date" : "Date")) have_date = 1;
      if (rfc822_name_is(nm, f.name_len, resent ? "Resent-Message-ID" : "Message-ID")) have_mid = 1;
      nomem_if(str_catb(&out, nm, f.len));
      if (out.len && out.s[out.len - 1] != '\n') nomem_if(str_catc(&out, '\n'));
    }
    if (!have_date) {
      nomem_if(str_cats(&out, resent ? "Resent-Date: " : "Date: "));
      if (date_rfc5322(&out, now) < 0) fail_temp_sys("unable to format the date");
      nomem_if(str_catc(&out, '\n'));
    }
    if (!have_mid) {
      nomem_if(str_cats(&out, resent ? "Resent-Message-ID: " : "Message-ID: "));
      message_id(&out, c, now);
      nomem_if(str_catc(&out, '\n'));
    }
  }
  if (h.sep.len) nomem_if(str_cat(&out, &h.sep));
  else nomem_if(str_catc(&out, '\n'));
  nomem_if(str_cat(&out, &h.firstbody));

  queue_program(&qprog);
  if (pipe(mp) < 0 || pipe(ep) < 0) fail_temp_sys("unable to make a pipe");
  if (fd_cloexec(mp[0], 1) < 0 || fd_cloexec(mp[1], 1) < 0 || fd_cloexec(ep[0], 1) < 0 || fd_cloexec(ep[1], 1) < 0)
    fail_temp_sys("unable to set close-on-exec");
  fds[0].to = 0; fds[0].from = mp[0];
  fds[1].to = 1; fds[1].from = ep[0];
  qargv[0] = qprog.s;
  qargv[1] = 0;
  pid = child_spawn(qprog.s, qargv, 0, fds, 2);
  if (pid < 0) fail_temp_sys("unable to run ", qprog.s);
  close(mp[0]);
  close(ep[0]);
  buf_init(&bout, mp[1], outmem, sizeof outmem);
  r = message_copy(&bout, &out, &in, !h.eof, 0);
  close(mp[1]);
  /* the envelope comes after the whole message; none (the caller gave
   * up): none passed on, and sluice-queue keeps nothing */
  if (r == 0 && read_fd_all(1, &envl, ENVELOPE_MAX) == 0 && envl.len) (void)write_all(ep[1], envl.s, envl.len);
  close(ep[1]);
  if (wait_pid(pid, &status) < 0) fail_temp_sys("unable to wait for ", qprog.s);
  if (wait_crashed(status)) return 81;
  if (r == -1) return 54;
  if (r == -2 && wait_exitcode(status) == 0) return 53;
  return wait_exitcode(status);
}

static int is_one_of(const char *name, size_t len, const char *const *list)
{
  for (; *list; ++list)
    if (rfc822_name_is(name, len, *list)) return 1;
  return 0;
}

/* ---- -V: what would become of each recipient ---- */

struct verifier {
  struct rewrite rw;
  struct cdb rcptcheck;
  int rcptcheck_state; /* smtpd_rcptcheck_open's answer */
  buf out;
  int nouser, trouble;
};

static void verify_start(struct verifier *v, char *mem, size_t size)
{
  const char *bad;
  if (chdir(auto_home) < 0) fail_temp_sys("unable to switch to ", auto_home);
  if (rewrite_load(&v->rw, &bad) < 0) {
    if (errno == ENOMEM) nomem();
    fail_temp_sys("unable to read control/", bad);
  }
  v->rcptcheck_state = smtpd_rcptcheck_open(&v->rcptcheck);
  buf_init(&v->out, 1, mem, size);
  v->nouser = v->trouble = 0;
}

static void verify_put(struct verifier *v, const char *s, size_t n)
{
  if (buf_put(&v->out, s, n) < 0) fail_temp_sys("unable to write the answer");
}

static void verify_puts(struct verifier *v, const char *s) { verify_put(v, s, strlen(s)); }

/* One line for the address addr[0..len) (canonical, completed). */
static void verify_one(struct verifier *v, const char *addr, size_t len)
{
  str to = STR_INIT;
  size_t at;
  int local = rewrite_classify(&v->rw, addr, len, &to);
  verify_put(v, addr, len);
  if (local < 0) {
    if (errno == ENOMEM) nomem();
    verify_puts(v, ": undeliverable: address too long (#5.1.3)\n");
    v->nouser = 1;
  } else if (!local) {
    verify_puts(v, ": deliverable: remote, relayed to ");
    if (addr_split(to.s, to.len, &at)) verify_put(v, to.s + at + 1, to.len - at - 1);
    verify_puts(v, "\n");
  } else {
    int r = smtpd_rcpt_local(&v->rcptcheck, v->rcptcheck_state, &v->rw.locals, addr, len);
    if (r < 0) {
      verify_puts(v, ": unable to check: rcptcheck.cdb unreadable (#4.3.0)\n");
      v->trouble = 1;
    } else if (r == 0) {
      verify_puts(v, ": undeliverable: no such local user (#5.1.1)\n");
      v->nouser = 1;
    } else {
      verify_puts(v, ": deliverable: local");
      if (to.len != len || !byte_equal(to.s, addr, len)) {
        verify_puts(v, " as ");
        verify_put(v, to.s, to.len);
      }
      if (v->rcptcheck_state == 0) verify_puts(v, " (local part not checked: no control/rcptcheck.cdb)");
      verify_puts(v, "\n");
    }
  }
  str_free(&to);
}

/* An argument that does not parse. */
static void verify_unparseable(struct verifier *v, const char *arg, const char *err)
{
  verify_puts(v, arg);
  verify_puts(v, ": undeliverable: unparseable address: ");
  verify_puts(v, err);
  verify_puts(v, "\n");
  v->nouser = 1;
}

static _Noreturn void verify_end(struct verifier *v)
{
  if (buf_flush(&v->out) < 0) fail_temp_sys("unable to write the answer");
  if (v->trouble) _exit(pick(EXIT_TEMP, EX_TEMPFAIL));
  _exit(v->nouser ? pick(EXIT_PERM, EX_NOUSER) : 0);
}

/* ---- main ---- */

int main(int argc, char **argv)
{
  static const char *const rcpt_fields[] = { "To", "Cc", "Bcc", 0 };
  static const char *const resent_rcpt_fields[] = { "Resent-To", "Resent-Cc", "Resent-Bcc", 0 };
  static const char *const sender_fields[] = { "From", "Sender", "Resent-From", "Resent-Sender", 0 };
  static const char *const reply_fields[] = { "Reply-To", "Resent-Reply-To", 0 };
  static char inmem[65536], outmem[65536];
  static struct config c;
  static struct verifier vf;
  struct header h = { STR_INIT, STR_INIT, STR_INIT, 0 };
  struct rcpts hrcpts = { STR_INIT, 0 }, arcpts = { STR_INIT, 0 }, all = { STR_INIT, 0 };
  str out = STR_INIT, rew = STR_INIT, addrs = STR_INIT, sender = STR_INIT, from = STR_INIT, name = STR_INIT;
  str envl = STR_INIT, qprog = STR_INIT, rpsender = STR_INIT;
  const char *opt_f = 0, *opt_F = 0, *err, *qi;
  static struct dsn_opts dsn;
  const char *nl = "\n"; /* the queue's line form (sluice-queue(5)) */
  int mode = MODE_DEFAULT, print = 0, verify = 0, resent = 0, have_date = 0, have_mid = 0, have_from = 0;
  int seen_rp = 0, have_rp = 0;
  struct passwd *pw;
  time_t now = time(0);
  buf in, bout;
  size_t pos, naddrs;
  struct rfc822_field f;
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
      case 'N': print = 0; break;
      case 'a': mode = MODE_ARGS; break;
      case 'A': mode = MODE_DEFAULT; break;
      case 'h': mode = MODE_HEADER; break;
      case 'H': mode = MODE_BOTH; break;
      case 'V': verify = 1; break;
      case 'x': sysexits = 1; break;
      case 'f': case 'F': case 'D': case 'R': case 'E': {
        const char *v;
        if (a[j + 1]) v = a + j + 1;
        else if (i + 1 < argc) v = argv[++i];
        else die_usage(USAGE);
        if (a[j] == 'f') opt_f = v;
        else if (a[j] == 'F') opt_F = v;
        else if (a[j] == 'D') {
          if (notify_letters(v, dsn.notify) < 0)
            die_parts(64, 0, "fatal", "bad -N/-D value: ", v, " (never, or success,failure,delay)", (const char *)0);
        } else if (a[j] == 'R') {
          size_t vl = byte_len(v, 8);
          if (case_equalb(v, vl, "full", 4)) dsn.ret = 'B';
          else if (case_equalb(v, vl, "hdrs", 4)) dsn.ret = 'H';
          else die_parts(64, 0, "fatal", "bad -R value: ", v, " (full or hdrs)", (const char *)0);
        } else {
          size_t vl = byte_len(v, 101);
          if (vl > 100 || xtext_decode(v, vl, &dsn.envid) < 0) {
            if (errno == ENOMEM) nomem();
            die_parts(64, 0, "fatal", "bad -V/-E value: ", v, " (xtext of at most 100 bytes)", (const char *)0);
          }
        }
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
  qi = env_get("SLUICEINJECT");
  if (qi && !strcmp(qi, "queue")) queue_mode = 1;
  config_read(&c);
  if (queue_mode) return queue_filter(&c);
  pw = getpwuid(getuid());

  /* -V with recipients from the arguments only: nothing is read */
  if (verify && mode == MODE_ARGS) {
    verify_start(&vf, outmem, sizeof outmem);
    if (i >= argc) fail(EXIT_PERM, EX_USAGE, "no recipients to verify");
    for (int k = i; k < argc; ++k) {
      if (rfc822_addrlist(argv[k], strlen(argv[k]), &c.q, &rew, &addrs, &naddrs, &err) < 0) {
        if (errno != EINVAL) nomem();
        verify_unparseable(&vf, argv[k], err);
        continue;
      }
      for (pos = 0; pos < addrs.len;) {
        size_t len = byte_chr(addrs.s + pos, addrs.len - pos, 0);
        verify_one(&vf, addrs.s + pos, len);
        pos += len + 1;
      }
    }
    verify_end(&vf);
  }

  /* recipients from the arguments */
  if (mode == MODE_ARGS || mode == MODE_BOTH) {
    for (int k = i; k < argc; ++k) {
      if (rfc822_addrlist(argv[k], strlen(argv[k]), &c.q, &rew, &addrs, &naddrs, &err) < 0) {
        if (errno == EINVAL) fail(EXIT_PERM, EX_NOUSER, "unable to parse recipient ", argv[k], ": ", err);
        nomem();
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
  if (r < 0) fail(EXIT_PERM, EX_DATAERR, "malformed header");

  /* pass 2: rewrite */
  pos = 0;
  while (rfc822_field_next(h.in.s, h.in.len, &pos, &f) == 1) {
    const char *nm = h.in.s + f.start;
    const char *val = h.in.s + f.value;
    size_t vlen = f.start + f.len - f.value;
    int is_rcpt = is_one_of(nm, f.name_len, rcpt_fields), is_rrcpt = is_one_of(nm, f.name_len, resent_rcpt_fields);
    int is_sender = is_one_of(nm, f.name_len, sender_fields), is_reply = is_one_of(nm, f.name_len, reply_fields);
    if (rfc822_name_is(nm, f.name_len, "Return-Path")) {
      /* dropped; the first one may give the envelope sender (below) */
      if (!seen_rp) have_rp = return_path(&rpsender, val, vlen, &c);
      seen_rp = 1;
      continue;
    }
    if (rfc822_name_is(nm, f.name_len, resent ? "Resent-Date" : "Date")) have_date = 1;
    if (rfc822_name_is(nm, f.name_len, resent ? "Resent-Message-ID" : "Message-ID")) have_mid = 1;
    if (rfc822_name_is(nm, f.name_len, resent ? "Resent-From" : "From")) have_from = 1;
    if (is_rcpt || is_rrcpt || is_sender || is_reply) {
      if (rfc822_addrlist(val, vlen, &c.q, &rew, &addrs, &naddrs, &err) < 0) {
        str fname = STR_INIT;
        if (errno != EINVAL) nomem();
        nomem_if(str_copyb(&fname, nm, f.name_len));
        nomem_if(str_0(&fname));
        fail(EXIT_PERM, EX_DATAERR, "unable to parse the ", fname.s, ": field: ", err, ": not queued");
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

  if (verify) { /* -V -h or -V -H */
    verify_start(&vf, outmem, sizeof outmem);
    rcpts_add(&all, &hrcpts.list, hrcpts.n);
    rcpts_add(&all, &arcpts.list, arcpts.n);
    if (all.n == 0) fail(EXIT_PERM, EX_USAGE, "no recipients to verify");
    for (pos = 0; pos < all.list.len;) {
      size_t len = byte_chr(all.list.s + pos, all.list.len - pos, 0);
      verify_one(&vf, all.list.s + pos, len);
      pos += len + 1;
    }
    verify_end(&vf);
  }

  /* additions */
  if (!have_date) {
    nomem_if(str_cats(&out, resent ? "Resent-Date: " : "Date: "));
    if (date_rfc5322(&out, now) < 0) fail_temp_sys("unable to format the date");
    nomem_if(str_cats(&out, nl));
  }
  if (!have_mid) {
    nomem_if(str_cats(&out, resent ? "Resent-Message-ID: " : "Message-ID: "));
    message_id(&out, &c, now);
    nomem_if(str_cats(&out, nl));
  }
  if (!have_from) {
    static const char *const hosts[] = { "QMAILHOST", "MAILHOST", 0 };
    make_address(&from, user_name(pw), env_first(hosts), &c);
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

  /* envelope sender: -f, else the Return-Path field (unless QMAILINJECT
   * holds 's'), else the environment, as qmail-inject chooses */
  qi = env_get("QMAILINJECT");
  if (opt_f) parse_sender(&sender, opt_f, &c);
  else if (have_rp && !(qi && strchr(qi, 's'))) nomem_if(str_copy(&sender, &rpsender));
  else {
    static const char *const su[] = { "QMAILSUSER", "QMAILUSER", "MAILUSER", "USER", "LOGNAME", 0 };
    static const char *const sh[] = { "QMAILSHOST", "QMAILHOST", "MAILHOST", 0 };
    const char *u = env_first(su);
    make_address(&sender, u ? u : user_name(pw), env_first(sh), &c);
  }
  rcpts_add(&all, &hrcpts.list, hrcpts.n);
  rcpts_add(&all, &arcpts.list, arcpts.n);
  if (all.n == 0 && !print) {
    if (mode == MODE_ARGS) fail(EXIT_PERM, EX_USAGE, "no recipients: not queued");
    fail(EXIT_PERM, EX_USAGE, "no recipients: no To, Cc or Bcc address in the header",
         mode == MODE_BOTH ? " and none given as arguments" : "", ": not queued");
  }
  envelope(&envl, &sender, &all, &dsn);

  if (print) {
    buf_init(&bout, 1, outmem, sizeof outmem);
    r = message_copy(&bout, &out, &in, !h.eof, 0);
    if (r == -1) fail_temp_sys("unable to read the message");
    if (r == -2) fail_temp_sys("unable to write the message");
    return 0;
  }

  {
    const char *qq = env_get("QMAILQUEUE");
    int mp[2], ep[2], status, code;
    child_fd fds[2];
    char *qargv[2];
    pid_t pid;
    if (qq && *qq) {
      nomem_if(str_copys(&qprog, qq));
      nomem_if(str_0(&qprog));
    } else queue_program(&qprog);
    if (pipe(mp) < 0 || pipe(ep) < 0) fail_temp_sys("unable to make a pipe");
    if (fd_cloexec(mp[0], 1) < 0 || fd_cloexec(mp[1], 1) < 0 || fd_cloexec(ep[0], 1) < 0 || fd_cloexec(ep[1], 1) < 0)
      fail_temp_sys("unable to set close-on-exec");
    fds[0].to = 0; fds[0].from = mp[0];
    fds[1].to = 1; fds[1].from = ep[0];
    qargv[0] = qprog.s;
    qargv[1] = 0;
    pid = child_spawn(qprog.s, qargv, 0, fds, 2);
    if (pid < 0) fail_temp_sys("unable to run ", qprog.s);
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
      fail(EXIT_PERM, EX_DATAERR, "message too big: over ", num, " bytes (control/databytes) (#5.3.4): not queued");
    }
    if (r == -1) {
      /* no envelope: the queue sees its caller give up and keeps nothing */
      int e = errno;
      close(mp[1]);
      close(ep[1]);
      wait_pid(pid, &status);
      errno = e;
      fail_temp_sys("unable to read the message: not queued");
    }
    close(mp[1]);
    if (r == 0) {
      if (write_all(ep[1], envl.s, envl.len) < 0) { /* the exit code says why */ }
    }
    close(ep[1]);
    if (wait_pid(pid, &status) < 0) fail_temp_sys("unable to wait for ", qprog.s);
    if (wait_crashed(status)) fail_temp("qq crashed (#4.3.0)");
    code = wait_exitcode(status);
    if (code == 0 && r == 0) return 0;
    if (code == 0) fail_temp("qq write error or disk full (#4.3.0)");
    die_msg(qq_exit(code), qq_text(code));
  }
}
