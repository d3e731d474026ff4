/* sluice-qmtpd: the QMTP server (sluice-qmtpd(8)).
 *
 * Run by tcpserver as the daemon user, one process per connection: fd 0
 * and fd 1 are the socket, fd 2 the log. A connection carries any
 * number of messages, each three netstrings: the message (a mode byte,
 * LF or CR, then the text), the sender, and a netstring of recipient
 * netstrings. The message is streamed to the injector (sluice-queue or
 * QMAILQUEUE) as it arrives, converted to the queue's line form
 * (lineform.h), so memory does not grow with its size; the
 * envelope follows once the recipients are known, and only when at
 * least one was accepted (otherwise the injector sees no envelope and
 * queues nothing). Each recipient gets one reply netstring, K, Z or D.
 *
 * Parsing lives in the library (qmtp, qmtp_io, qmtp_session, which the
 * fuzz target fuzz_qmtpd runs); every address is read
 * by sluice-smtpd's parser (qmtp_addr_parse) and split by addr_split, as
 * sluice-send splits it, so the relay check sees the domain the mail
 * goes to. Relay policy is the one of sluice-smtpd: control/rcpthosts,
 * control/morercpthosts.cdb, no '%' hack (control/percenthack) for
 * outsiders, and RELAYCLIENT appended to every recipient. Exit: 0 at
 * end of input, 100 after a protocol violation, 111 on a timeout or
 * trouble.
 *
 * Time limits (deadline.h), besides timeoutsmtpd per read or write:
 * the command total of sluice-smtpd bounds the wait for a message and
 * its length prefix, then its sender and recipients, then the
 * replies; the data total bounds the message text; the session total
 * the connection. Past one the connection is closed (QMTP has no
 * reply for it): the client sees a temporary failure. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "addr.h"
#include "auto.h"
#include "buf.h"
#include "byte.h"
#include "cdb.h"
#include "control.h"
#include "deadline.h"
#include "die.h"
#include "domain.h"
#include "env.h"
#include "file.h"
#include "fmt.h"
#include "lineform.h"
#include "netstring.h"
#include "qmtp.h"
#include "qmtp_io.h"
#include "qmtp_session.h"
#include "queue.h"
#include "rewrite.h"
#include "scan.h"
#include "smtpd_rcpt.h"
#include "str.h"
#include "wait.h"

#define SENDER_MAX 4096        /* bytes of the sender netstring */
#define RCPT_ITEM_MAX 4096     /* bytes of one recipient netstring */
#define LOG_RCPTS_MAX 4000     /* bytes of recipients in one log line */

struct config {
  str me, local_host, qq_path;
  unsigned long databytes;
  struct deadline_server limits; /* timeoutsmtpd and the totals */
  str rcpthosts, percenthack;
  struct cdb morercpt;
  int morercpt_open;
  str locals;                   /* local domains for the recipient check */
  struct cdb rcptcheck;
  int rcptcheck_state;          /* 0 no file, 1 open, -1 unreadable */
  str delims;                   /* control/recipientdelimiter */
  struct smtpd_rcpt rcpt;       /* the RCPT check (smtpd_rcpt.h) */
  const char *relayclient;
  struct qmtp_peer peer;
  const char *qq;
};

/* What happens to one recipient; kept one byte each in decisions. */
#define RCPT_ACCEPT 'A'
#define RCPT_RELAY 'R'  /* relaying denied */
#define RCPT_PERCENT 'P' /* relaying denied: the % hack for an outsider */
#define RCPT_SYNTAX 'S' /* not an address: the code is in errors */
#define RCPT_LONG 'L'   /* too long for the queue */
#define RCPT_BAD 'B'    /* the whole message is refused: the reply */
#define RCPT_NOUSER 'U' /* not in control/rcptcheck.cdb */
#define RCPT_NOCHECK 'C' /* rcptcheck.cdb unreadable */

struct server {
  struct config *cf;
  buf in, out;
  char inmem[8192], outmem[4096];
  str chunk, sender, rcptblock, env, decisions, errors, reply, addr, log, logrcpts, badsender, text;
  int in_data;                  /* the total armed last is the data's */
};

static int cat_loggable(str *out, const char *p, size_t n)
{
  size_t i;
  for (i = 0; i < n && i < 1100; ++i) {
    unsigned char c = (unsigned char)p[i];
    if (str_catc(out, (c < 32 || c == 127) ? '?' : (char)c) < 0) return -1;
  }
  return 0;
}

static _Noreturn void give_up(struct server *s, int code, const char *why)
{
  str l = STR_INIT;
  const char *ip = s->cf->peer.remote_ip ? s->cf->peer.remote_ip : "unknown";

  if (str_copys(&l, "sluice-qmtpd: pid ") == 0 && str_catulong(&l, (unsigned long)getpid()) == 0
      && str_cats(&l, " from ") == 0 && cat_loggable(&l, ip, byte_len(ip, 64)) == 0
      && str_cats(&l, " closing: ") == 0 && str_cats(&l, why) == 0 && str_catc(&l, '\n') == 0)
    (void)write_all(2, l.s, l.len);
  _exit(code);
}

/* A failed read: a protocol error, a timeout or a time limit. */
static _Noreturn void read_failed(struct server *s)
{
  int perm;
  const char *why = qmtp_read_error(errno, &perm);
  if (errno == ETIMEDOUT) {
    switch (deadline_server_which(&s->cf->limits, &s->in)) {
    case 2: why = "session time limit reached (timeoutsmtpdsession)"; break;
    case 1:
      why = s->in_data ? "message data time limit reached (timeoutsmtpddata)"
                       : "command time limit reached (timeoutsmtpdcommand)";
      break;
    default: why = "timeout (timeoutsmtpd)"; break;
    }
  }
  give_up(s, perm ? EXIT_PERM : EXIT_TEMP, why);
}

/* Starts the total of a phase: seconds from now, within the session. */
static void arm(struct server *s, unsigned long seconds, int in_data)
{
  deadline_server_arm(&s->cf->limits, &s->in, &s->out, seconds);
  s->in_data = in_data;
}

static _Noreturn void nomem(struct server *s)
{
  give_up(s, EXIT_TEMP, "out of memory");
}

static void out_write(struct server *s, const char *p, size_t n)
{
  if (buf_put(&s->out, p, n) < 0) give_up(s, EXIT_TEMP, "write error");
}

/* One reply netstring: kind byte and text. */
static void reply_netstring(struct server *s, const char *text, size_t n)
{
  str_truncate(&s->chunk, 0);
  if (netstring_cat(&s->chunk, text, n) < 0) nomem(s);
  out_write(s, s->chunk.s, s->chunk.len);
}

static void reply_text(struct server *s, const char *text)
{
  reply_netstring(s, text, byte_len(text, 1000));
}

static void control_trouble(struct server *s, const char *file)
{
  warn_sys("unable to read control/", file);
  give_up(s, EXIT_TEMP, "unable to read controls");
}

static void read_config(struct server *s, struct config *cf)
{
  const char *e;
  char host[256];
  unsigned long num;
  int fd, r;

  if (chdir(auto_home) < 0) {
    warn_sys("unable to switch to ", auto_home);
    give_up(s, EXIT_TEMP, "unable to read controls");
  }
  if (gethostname(host, sizeof host - 1) < 0) host[0] = 0;
  host[sizeof host - 1] = 0;
  if (control_readline("control/me", &cf->me, host[0] ? host : "localhost") < 0) control_trouble(s, "me");
  if (str_0(&cf->me) < 0) nomem(s);
  if (deadline_server_read(&cf->limits, &e) < 0) control_trouble(s, e);
  if (control_readnum("control/databytes", &cf->databytes, QUEUE_DATABYTES_DEFAULT, 0, (unsigned long)-1) < 0) control_trouble(s, "databytes");
  e = env_get("DATABYTES");
  if (e && scan_ulong_exact(e, byte_len(e, 64), &num) == 0) cf->databytes = num;
  if (control_readlist("control/rcpthosts", &cf->rcpthosts) < 0) control_trouble(s, "rcpthosts");
  if (control_readlist("control/percenthack", &cf->percenthack) < 0) control_trouble(s, "percenthack");
  fd = open_read("control/morercpthosts.cdb");
  if (fd >= 0) {
    if (cdb_open(&cf->morercpt, fd) < 0) control_trouble(s, "morercpthosts.cdb");
    cf->morercpt_open = 1;
  } else if (errno != ENOENT) {
    control_trouble(s, "morercpthosts.cdb");
  }
  /* the recipient check of sluice-smtpd (smtpd_rcpt_local) */
  r = control_readlist("control/locals", &cf->locals);
  if (r < 0) control_trouble(s, "locals");
  if (r == 0 && (str_copy(&cf->locals, &cf->me) < 0 || str_catc(&cf->locals, 0) < 0)) nomem(s);
  cf->rcptcheck_state = smtpd_rcptcheck_open(&cf->rcptcheck);
  if (cf->rcptcheck_state < 0) warn_sys("unable to read control/rcptcheck.cdb");
  if (cf->rcptcheck_state > 0 && control_readline("control/recipientdelimiter", &cf->delims, "") < 0)
    control_trouble(s, "recipientdelimiter");
  cf->relayclient = env_get("RELAYCLIENT");
  r = qmtp_peer_env(&cf->peer, &cf->local_host, cf->me.s);
  if (r == -2) control_trouble(s, "smtpdnamewait");
  if (r < 0) nomem(s);
  cf->qq = qmtp_queue_program(&cf->qq_path);
  if (!cf->qq) nomem(s);
}

/* 1 when mail for the domain may be accepted from anybody. */
static int rcpt_allowed(struct server *s, const char *dom, size_t dlen)
{
  struct config *cf = s->cf;
  int r;

  if (domain_match_list(dom, dlen, &cf->rcpthosts)) return 1;
  if (!cf->morercpt_open) return 0;
  r = smtpd_morercpthosts(&cf->morercpt, dom, dlen);
  if (r < 0) give_up(s, EXIT_TEMP, "unable to read control/morercpthosts.cdb");
  return r;
}

/* Decides about one recipient; an accepted one goes into s->env in
 * canonical form. *err gets the parser's code for RCPT_SYNTAX. */
static char decide(struct server *s, const char *a, size_t n, int *err)
{
  struct config *cf = s->cf;
  size_t at;
  int r;

  *err = qmtp_addr_parse(a, n, QMTP_RCPT, &s->addr);
  if (*err == ADDR_ENOMEM) nomem(s);
  if (*err == ADDR_EPATHLONG) return RCPT_LONG;
  if (*err != ADDR_OK) return RCPT_SYNTAX;
  /* without a domain only postmaster parses: local, as in sluice-smtpd */
  if (!cf->relayclient && addr_split(s->addr.s, s->addr.len, &at)
      && !rcpt_allowed(s, s->addr.s + at + 1, s->addr.len - at - 1))
    return RCPT_RELAY;
  if (!cf->relayclient && rewrite_percenthack_applies(&cf->percenthack, s->addr.s, s->addr.len)) return RCPT_PERCENT;
  cf->rcpt.cdb = &cf->rcptcheck;
  cf->rcpt.state = cf->rcptcheck_state;
  cf->rcpt.locals = &cf->locals;
  cf->rcpt.delims = cf->delims.s ? cf->delims.s : "";
  cf->rcpt.dn = cf->delims.len;
  r = smtpd_rcpt_local_check(&cf->rcpt, s->addr.s, s->addr.len);
  if (r < 0) return RCPT_NOCHECK;
  if (r == 0) return RCPT_NOUSER;
  if (cf->relayclient && str_cats(&s->addr, cf->relayclient) < 0) nomem(s);
  if (qmtp_addr_check(s->addr.s, s->addr.len) != QMTP_ADDR_OK) return RCPT_LONG;
  if (str_catc(&s->env, 'T') < 0 || str_cat(&s->env, &s->addr) < 0 || str_catc(&s->env, 0) < 0) nomem(s);
  return RCPT_ACCEPT;
}

static void log_rcpt(struct server *s, const char *a, size_t n, char decision)
{
  if (s->logrcpts.len > LOG_RCPTS_MAX) return;
  if (str_cats(&s->logrcpts, decision == RCPT_ACCEPT ? " rcpt <" : " reject <") < 0
      || cat_loggable(&s->logrcpts, a, n) < 0 || str_catc(&s->logrcpts, '>') < 0)
    nomem(s);
  if (s->logrcpts.len > LOG_RCPTS_MAX && str_cats(&s->logrcpts, " ...") < 0) nomem(s);
}

static void log_message(struct server *s, unsigned long bytes, const char *qp, const str *result)
{
  const char *ip = s->cf->peer.remote_ip ? s->cf->peer.remote_ip : "unknown";
  str *l = &s->log;
  int ok;

  str_truncate(l, 0);
  ok = str_copys(l, "sluice-qmtpd: pid ") == 0 && str_catulong(l, (unsigned long)getpid()) == 0
       && str_cats(l, " from ") == 0 && cat_loggable(l, ip, byte_len(ip, 64)) == 0
       && str_cats(l, " mail <") == 0 && cat_loggable(l, s->sender.s, s->sender.len) == 0
       && str_catc(l, '>') == 0 && str_cat(l, &s->logrcpts) == 0
       && str_cats(l, " bytes ") == 0 && str_catulong(l, bytes) == 0
       && str_cats(l, " result ") == 0 && cat_loggable(l, result->s, result->len) == 0;
  if (ok && qp) ok = str_cats(l, " qp ") == 0 && str_cats(l, qp) == 0;
  if (ok && str_catc(l, '\n') == 0) (void)write_all(2, l->s, l->len);
}

/* One message. Returns 0 at a clean end of input before it. */
static int one_message(struct server *s)
{
  struct config *cf = s->cf;
  size_t len, pos, n, i, naccept = 0;
  const char *bad = 0, *a;
  char mode = 0, qp[FMT_ULONG + 4];
  int r, msgfd = -1, envfd = -1, write_failed = 0, status = 0;
  pid_t pid = -1;
  unsigned long stored;

  arm(s, cf->limits.command, 0);
  r = qmtp_session_head(&s->in, &len, &mode);
  if (r == 0) return 0;
  if (r < 0) read_failed(s);
  qp[0] = 0;
  arm(s, cf->limits.data, 1);
  if (mode != '\n' && mode != '\r') {
    bad = "Dunknown message format: the first byte must be LF or CR (#5.6.0)";
  } else if (cf->databytes && len > cf->databytes) {
    bad = "Dmessage size exceeds fixed maximum message size (#5.3.4)";
  } else {
    pid = qmtp_qq_received(cf->qq, &cf->peer, "QMTP", &s->chunk, &msgfd, &envfd, &write_failed);
    if (pid == -2) nomem(s);
    if (pid < 0) {
      warn_sys("unable to start the queue program");
      bad = "Zqq unable to start (#4.3.0)";
    } else {
      qp[fmt_ulong(qp, (unsigned long)pid)] = 0;
    }
  }
  stored = 0;
  if (qmtp_session_body(&s->in, len, msgfd, &s->chunk, &stored, &write_failed) < 0) read_failed(s);
  if (msgfd >= 0) close(msgfd);
  arm(s, cf->limits.command, 0);
  if (qmtp_session_tail(&s->in, SENDER_MAX, &s->sender, &s->rcptblock) < 0) read_failed(s);

  /* the recipients: check the whole list before answering any */
  str_truncate(&s->decisions, 0);
  str_truncate(&s->errors, 0);
  str_truncate(&s->logrcpts, 0);
  /* the sender in canonical form, as sluice-smtpd's MAIL FROM */
  r = qmtp_addr_parse(s->sender.s, s->sender.len, QMTP_SENDER, &s->addr);
  if (r == ADDR_ENOMEM) nomem(s);
  if (str_copys(&s->env, "F") < 0 || str_cat(&s->env, &s->addr) < 0 || str_catc(&s->env, 0) < 0) nomem(s);
  if (!bad && r != ADDR_OK) {
    if (str_copys(&s->badsender, "Dbad sender address: ") < 0 || str_cats(&s->badsender, addr_strerror(r)) < 0
        || str_cats(&s->badsender, " (#5.1.7)") < 0 || str_0(&s->badsender) < 0)
      nomem(s);
    bad = s->badsender.s;
  }
  pos = 0;
  while ((r = qmtp_list_next(s->rcptblock.s, s->rcptblock.len, &pos, RCPT_ITEM_MAX, &a, &n)) == 1) {
    int err = ADDR_OK;
    char d = s->decisions.len >= QMTP_RCPT_MAX ? RCPT_LONG : bad ? RCPT_BAD : decide(s, a, n, &err);
    if (str_catc(&s->decisions, d) < 0 || str_catc(&s->errors, (char)-err) < 0) nomem(s);
    if (d == RCPT_ACCEPT) ++naccept;
    log_rcpt(s, a, n, d);
  }
  if (r < 0) {
    if (errno != EMSGSIZE) errno = EPROTO;
    read_failed(s); /* exiting closes the envelope pipe: nothing queued */
  }

  if (pid >= 0) {
    if (naccept && !bad && !write_failed) {
      if (str_catc(&s->env, 0) < 0) nomem(s);
      (void)write_all(envfd, s->env.s, s->env.len);
    }
    close(envfd); /* without an envelope the injector queues nothing */
    if (wait_pid(pid, &status) < 0) status = 0x7f00;
  }
  if (bad) {
    if (str_copys(&s->reply, bad) < 0) nomem(s);
  } else if (!naccept) {
    if (str_copys(&s->reply, "Dno valid recipients (#5.1.0)") < 0) nomem(s);
  } else if (write_failed && wait_exitcode(status) == 0) {
    if (str_copys(&s->reply, "Zqq write error or disk full (#4.3.0)") < 0) nomem(s);
  } else {
    str id = STR_INIT;
    if (str_copys(&id, "qp ") < 0 || str_cats(&id, qp) < 0 || str_0(&id) < 0) nomem(s);
    if (qmtp_qq_reply(&s->reply, status, id.s) < 0) nomem(s);
    str_free(&id);
  }

  /* one reply per recipient, in order; once the injector has answered
   * they get a command's time even past the session's end, so that a
   * client is not left without the answer for a queued message */
  buf_set_deadline(&s->out, deadline_after(cf->limits.command * 1000));
  for (i = 0; i < s->decisions.len; ++i) {
    switch (s->decisions.s[i]) {
    case RCPT_RELAY: reply_text(s, "Dsorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"); break;
    case RCPT_PERCENT: reply_text(s, "Dsorry, relaying denied: no % in the local part here (#5.7.1)"); break;
    case RCPT_SYNTAX:
      if (str_copys(&s->text, "Dbad recipient address: ") < 0
          || str_cats(&s->text, addr_strerror(-(int)(unsigned char)s->errors.s[i])) < 0
          || str_cats(&s->text, " (#5.1.3)") < 0)
        nomem(s);
      reply_netstring(s, s->text.s, s->text.len);
      break;
    case RCPT_LONG: reply_text(s, "Drecipient address too long, or too many recipients (#5.1.3)"); break;
    case RCPT_NOUSER: reply_text(s, "Dno such user here (#5.1.1)"); break;
    case RCPT_NOCHECK: reply_text(s, "Zunable to check recipient (#4.3.0)"); break;
    case RCPT_BAD:
      if (bad) reply_netstring(s, s->reply.s, s->reply.len);
      else reply_text(s, "Drecipient address unusable (#5.1.3)");
      break;
    default: reply_netstring(s, s->reply.s, s->reply.len); break;
    }
  }
  log_message(s, stored, qp[0] ? qp : 0, &s->reply);
  if (buf_flush(&s->out) < 0) give_up(s, EXIT_TEMP, "write error");
  return 1;
}

int main(void)
{
  static struct config cf;
  static struct server srv;
  struct server *s = &srv;

  die_progname("sluice-qmtpd");
  signal(SIGPIPE, SIG_IGN);
  s->cf = &cf;
  buf_init(&s->in, 0, s->inmem, sizeof s->inmem);
  buf_init(&s->out, 1, s->outmem, sizeof s->outmem);
  read_config(s, &cf);
  deadline_server_start(&cf.limits, &s->in, &s->out);
  while (one_message(s)) {
  }
  return 0;
}
