/* sluice-smtpd: the ESMTP server (sluice-smtpd(8)).
 *
 * Run by tcpserver as the daemon user, one process per connection: fd 0
 * and fd 1 are the socket, fd 2 the log. It reads its control files
 * once, then answers commands read from a buffer (pipelining: replies
 * are flushed only before the next read blocks) and hands each message
 * to sluice-queue, or to the program named by QMAILQUEUE: message on
 * the child's fd 0, envelope on its fd 1.
 *
 * The command parser (smtpd_cmd), the DATA state machine (smtpd_data),
 * the reply and header texts (smtpd_text) and the cdb lookups
 * (smtpd_rcpt) are library modules with their own tests; this file is
 * the session: sequencing, policy and I/O. It exits 0 after QUIT or end
 * of input, 111 when it gives up (timeout, too many errors, trouble).
 *
 * Time limits (deadline.h): besides timeoutsmtpd per read or write,
 * each command (from the moment the server waits for it until the
 * next one, replies included), the message data (from the 354 to the
 * final dot) and the whole session have a total; a client that passes
 * one gets 421 4.4.2 and the connection is closed, so a client that
 * trickles its bytes cannot hold a tcpserver slot for long.
 *
 * -l (local mode, for sendmail -bs: a local user's program on a pipe,
 * not the network): a line may end in LF alone, in commands and in the
 * message (smtpd_data's local mode, which also drops Return-Path
 * fields), and nothing is logged on fd 2, which is the user's terminal.
 *
 * STARTTLS (RFC 3207) through the UCSPI-TLS convention, so that no TLS
 * library is linked here: under sluice-tlsd (or any UCSPI-TLS server)
 * UCSPITLS, SSLCTLFD, SSLREADFD and SSLWRITEFD are set; STARTTLS is
 * offered, answered 220, whatever the client pipelined after it is
 * thrown away (CVE-2011-0411), `Y' goes to SSLCTLFD, the details of the
 * connection come back there, and the session goes on, reset, over
 * SSLREADFD and SSLWRITEFD. SSL_PROTOCOL in the environment (implicit
 * TLS: sluice-tlsd -i) means TLS is on from the start. Without
 * UCSPITLS, SLUICE_TLSGATE may name the socket of sluice-tlsgate
 * (tlsgate.h), which starts a TLS relay only for a client that says
 * STARTTLS: this process connects to it before the 220 (454 4.7.0 and
 * plaintext on when it does not answer), then hands it the connection
 * and the relay's ends of two pipes, and goes on as above with the
 * gate's socket as SSLCTLFD.
 *
 * SMTP AUTH (RFC 4954; PLAIN, RFC 4616, and LOGIN) when SMTPAUTH (from
 * the run script or tcprules) or control/smtpdauth says so: offered
 * only over TLS unless the value holds '+'; '!' makes AUTH a condition
 * of MAIL (submission). The password is checked by the checkpassword
 * program of control/checkpassword (checkpw.h), never here: this
 * process only ever holds the client's own password, and wipes it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "auto.h"
#include "buf.h"
#include "checkpw.h"
#include "byte.h"
#include "cdb.h"
#include "control.h"
#include "deadline.h"
#include "die.h"
#include "domain.h"
#include "env.h"
#include "fd.h"
#include "file.h"
#include "fmt.h"
#include "ip.h"
#include "qmtp_io.h"
#include "queue.h"
#include "remotehost.h"
#include "rewrite.h"
#include "sasl.h"
#include "scan.h"
#include "smtpd_cmd.h"
#include "smtpd_data.h"
#include "smtpd_rcpt.h"
#include "smtpd_text.h"
#include "str.h"
#include "tlsgate.h"
#include "ucspitls.h"
#include "wait.h"

#define ERRORS_MAX 20          /* errors before the session is closed */
#define LOG_RCPTS_MAX 4000     /* bytes of recipients in one log line */
#define AUTH_FAILURES_MAX 3    /* failed AUTH attempts before the session is closed */
#define AUTH_FAIL_DELAY 2      /* seconds before a 535 */

/* SMTPAUTH / control/smtpdauth (struct config's auth) */
#define AUTH_ON 1              /* AUTH may be offered */
#define AUTH_PLAINTEXT 2       /* '+': also without TLS */
#define AUTH_REQUIRED 4        /* '!': no MAIL before AUTH */

/* Control files that matter only for some commands are read when one
 * first needs them (the *_read flags: 0 not yet, 1 read), so that a
 * connection does not open files that cannot change its outcome. */
struct config {
  str me, greeting, localiphost, local_host;
  int localiphost_read;
  unsigned long databytes, maxrcpt;
  struct deadline_server limits; /* timeoutsmtpd and the totals */
  str rcpthosts, badmailfrom, locals, percenthack;
  str delims;                   /* control/recipientdelimiter */
  struct smtpd_rcpt rcpt;       /* the RCPT check (smtpd_rcpt.h) */
  int rcpthosts_missing, percenthack_read, badmailfrom_read;
  struct cdb morercpt;
  int morercpt_open;            /* 0 not tried yet, 1 open, -1 no file */
  struct cdb rcptcheck;
  int rcptcheck_state;          /* 0 no file, 1 open, -1 unreadable */
  int rcptpasswd;               /* 1: control/rcptpasswd stands for /etc/passwd */
  const char *relayclient;      /* NULL unless RELAYCLIENT is set */
  const char *remote_ip, *remote_host, *remote_info;
  unsigned long namewait;       /* control/smtpdnamewait (remotehost.h) */
  int name_tried;               /* the name was looked up (or needs not be) */
  int namewait_read;            /* control/smtpdnamewait was read */
  str remote_name;              /* what remotehost_find found */
  unsigned char local_ip[16];
  int local_ip_kind;            /* 0 unknown, 4 or 6 */
  const char *qq;               /* the injector: QMAILQUEUE or sluice-queue */
  str qq_path;                  /* conf-home/bin/sluice-queue, when that */
  int local;                    /* -l */
  int tls_offer;                /* UCSPITLS: STARTTLS may be offered */
  int tls_required;             /* control/tlsrequired, TLSREQUIRED */
  int tls_ctl, tls_rd, tls_wr;  /* SSLCTLFD, SSLREADFD, SSLWRITEFD */
  const char *tls_gate;         /* SLUICE_TLSGATE: sluice-tlsgate's socket */
  int auth;                     /* AUTH_ flags; 0: no AUTH */
  int auth_received;            /* control/smtpauthreceived: login in Received */
  struct checkpw_cmd checkpw;   /* control/checkpassword, read at the first AUTH */
  int checkpw_read;
  struct cdb senders;           /* control/smtpauthsenders.cdb */
  int senders_state;            /* 0 not tried yet, 1 open, -1 no file */
};

/* A message on its way to the injector, from the 354 of DATA (or the
 * first BDAT) to the final reply. */
struct message {
  struct smtpd_data d;
  pid_t pid;
  int msgfd, envfd, write_failed;
  char qp[FMT_ULONG + 1];
};

struct session {
  struct config *cf;
  buf in, out;
  char inmem[8192], outmem[4096];
  str line, reply, helo, sender, rcpts, logrcpts, chunk, addr;
  int helo_kind;                /* 0 none, SMTPD_HELO or SMTPD_EHLO */
  int in_mail, bad_sender;
  struct smtpd_mail_params params;
  struct smtpd_rcpt_params rparams;
  unsigned long nrcpt;
  unsigned errors;
  int tls_on;                   /* TLS is active */
  str tls_desc;                 /* "TLSv1.3 TLS_AES_256_GCM_SHA384", or empty */
  int authed;                   /* AUTH succeeded: may relay */
  str login;                    /* the login of that AUTH */
  int bdat;                     /* BDAT chunks of this transaction came:
                                 * msg holds the message */
  struct message msg;
  str authuser, authpass;       /* during AUTH only; wiped after */
  unsigned auth_failures;
};

static struct session S;

static void log_transaction(struct session *s, const char *result, unsigned long bytes, const char *qp);

static void out_write(struct session *s, const char *p, size_t n)
{
  if (buf_put(&s->out, p, n) < 0) _exit(EXIT_TEMP);
}

static void log_closing(struct session *s, const char *why);
static void log_auth(struct session *s, const char *what, const char *user, size_t ulen, const char *mech);

static void flush(struct session *s)
{
  if (buf_flush(&s->out) < 0) {
    if (errno == ETIMEDOUT) log_closing(s, "timeout writing to the client");
    _exit(EXIT_TEMP);
  }
}

static void reply(struct session *s, const char *text)
{
  out_write(s, text, byte_len(text, 65536));
  out_write(s, "\r\n", 2);
}

static void reply_str(struct session *s, const str *text)
{
  out_write(s, text->s, text->len);
  out_write(s, "\r\n", 2);
}

/* Says goodbye with a 421 (best effort, short deadline) and exits. */
static _Noreturn void close_421(struct session *s, const char *text)
{
  if (s->in_mail) log_transaction(s, "421", 0, 0);
  buf_set_timeout(&s->out, 5000);
  buf_set_deadline(&s->out, deadline_after(5000));
  reply(s, text);
  (void)buf_flush(&s->out);
  _exit(EXIT_TEMP);
}

/* A 5xx reply that counts towards ERRORS_MAX. */
static void error_reply(struct session *s, const char *text)
{
  reply(s, text);
  if (++s->errors >= ERRORS_MAX) close_421(s, "421 4.7.0 too many errors; closing connection");
}

static void error_reply_str(struct session *s, const str *text)
{
  reply_str(s, text);
  if (text->len && text->s[0] == '5' && ++s->errors >= ERRORS_MAX)
    close_421(s, "421 4.7.0 too many errors; closing connection");
}

static _Noreturn void nomem(struct session *s)
{
  close_421(s, "421 4.3.0 out of memory; closing connection");
}

/* --- the log ---------------------------------------------------------- */

static int cat_loggable(str *out, const char *p, size_t n)
{
  size_t i;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)p[i];
    if (str_catc(out, (c < 32 || c == 127) ? '?' : (char)c) < 0) return -1;
  }
  return 0;
}

static void log_rcpt(struct session *s, const str *addr, const char *code)
{
  if (s->cf->local || s->logrcpts.len > LOG_RCPTS_MAX) return;
  if (str_cats(&s->logrcpts, code ? " reject <" : " rcpt <") < 0 || cat_loggable(&s->logrcpts, addr->s, addr->len) < 0
      || str_catc(&s->logrcpts, '>') < 0)
    nomem(s);
  if (code && (str_catc(&s->logrcpts, ' ') < 0 || str_cats(&s->logrcpts, code) < 0)) nomem(s);
  if (s->logrcpts.len > LOG_RCPTS_MAX && str_cats(&s->logrcpts, " ...") < 0) nomem(s);
}

/* One line on fd 2 for the transaction just ended (best effort). */
static void log_transaction(struct session *s, const char *result, unsigned long bytes, const char *qp)
{
  str l = STR_INIT;
  const char *ip = s->cf->remote_ip ? s->cf->remote_ip : "unknown";
  int ok;

  if (s->cf->local) return;
  ok = str_copys(&l, "sluice-smtpd: pid ") == 0 && str_catulong(&l, (unsigned long)getpid()) == 0
       && str_cats(&l, " from ") == 0 && cat_loggable(&l, ip, byte_len(ip, 64)) == 0
       && str_cats(&l, " helo ") == 0 && smtpd_safe_cat(&l, s->helo.s, s->helo.len, 255, 1) == 0
       && str_cats(&l, " mail <") == 0 && cat_loggable(&l, s->sender.s, s->sender.len) == 0
       && str_catc(&l, '>') == 0 && str_cat(&l, &s->logrcpts) == 0
       && str_cats(&l, " bytes ") == 0 && str_catulong(&l, bytes) == 0
       && str_cats(&l, " result ") == 0 && str_cats(&l, result) == 0;
  if (ok && qp) ok = str_cats(&l, " qp ") == 0 && str_cats(&l, qp) == 0;
  if (ok && s->authed) ok = str_cats(&l, " auth ") == 0 && cat_loggable(&l, s->login.s, s->login.len) == 0;
  if (ok && s->tls_on) {
    /* one word: "tls TLSv1.3:TLS_AES_256_GCM_SHA384" */
    size_t i, start = l.len;
    ok = str_cats(&l, " tls ") == 0 && str_cat(&l, &s->tls_desc) == 0;
    for (i = start + 5; ok && i < l.len; ++i)
      if (l.s[i] == ' ') l.s[i] = ':';
  }
  if (ok && str_catc(&l, '\n') == 0) (void)write_all(2, l.s, l.len);
  str_free(&l);
}

/* One line on fd 2 when the server closes the connection on its own. */
static void log_closing(struct session *s, const char *why)
{
  str l = STR_INIT;
  const char *ip = s->cf->remote_ip ? s->cf->remote_ip : "unknown";

  if (s->cf->local) return;
  if (str_copys(&l, "sluice-smtpd: pid ") == 0 && str_catulong(&l, (unsigned long)getpid()) == 0
      && str_cats(&l, " from ") == 0 && cat_loggable(&l, ip, byte_len(ip, 64)) == 0
      && str_cats(&l, " closing: ") == 0 && str_cats(&l, why) == 0 && str_catc(&l, '\n') == 0)
    (void)write_all(2, l.s, l.len);
  str_free(&l);
}

/* The session's total has passed: the replies still pending and a 421
 * go out under a short deadline of their own. */
static _Noreturn void session_over(struct session *s)
{
  log_closing(s, "session time limit reached (timeoutsmtpdsession)");
  close_421(s, "421 4.4.2 session time limit reached; closing connection");
}

/* A read from the client failed (not at end of input): a timeout or a
 * time limit (which one: deadline_server_which), or a broken
 * connection. in_data: the total armed last was the data's. */
static _Noreturn void read_failed(struct session *s, int in_data)
{
  if (errno != ETIMEDOUT) close_421(s, "421 4.4.2 read error; closing connection");
  switch (deadline_server_which(&s->cf->limits, &s->in)) {
  case 2: session_over(s);
  case 1:
    if (in_data) {
      log_closing(s, "message data time limit reached (timeoutsmtpddata)");
      close_421(s, "421 4.4.2 message data time limit reached; closing connection");
    }
    log_closing(s, "command time limit reached (timeoutsmtpdcommand)");
    close_421(s, "421 4.4.2 command time limit reached; closing connection");
  default:
    log_closing(s, "timeout (timeoutsmtpd)");
    close_421(s, "421 4.4.2 timeout; closing connection");
  }
}

/* --- configuration ---------------------------------------------------- */

static void control_trouble(struct session *s, const char *file)
{
  warn_sys("unable to read control/", file);
  close_421(s, "421 4.3.0 unable to read controls; closing connection");
}

/* The descriptor number in the environment variable name, or -1. */
static int env_fd(const char *name)
{
  const char *e = env_get(name);
  unsigned long u;
  if (!e || scan_ulong_exact(e, byte_len(e, 16), &u) < 0 || u < 3 || u > 65535) return -1;
  return (int)u;
}

/* s->tls_desc = "VERSION CIPHER" from the two values (either may be
 * missing), made safe for the log and the Received field. */
static void tls_describe(struct session *s, const char *version, size_t vlen, const char *cipher, size_t clen)
{
  if (ucspitls_describe(&s->tls_desc, version, vlen, cipher, clen) < 0) nomem(s);
}

static void read_tls_config(struct session *s, struct config *cf)
{
  const char *e = env_get("UCSPITLS"), *v, *c;
  str flag = STR_INIT;
  int r;

  cf->tls_ctl = env_fd("SSLCTLFD");
  cf->tls_rd = env_fd("SSLREADFD");
  cf->tls_wr = env_fd("SSLWRITEFD");
  cf->tls_offer = !cf->local && e && !(e[0] == '-' && e[1] == 0) && cf->tls_ctl >= 0 && cf->tls_rd >= 0 && cf->tls_wr >= 0;
  if (cf->tls_offer) {
    /* the queue program and anything else started must not hold them */
    (void)fd_cloexec(cf->tls_ctl, 1);
    (void)fd_cloexec(cf->tls_rd, 1);
    (void)fd_cloexec(cf->tls_wr, 1);
  }
  /* no UCSPI-TLS wrapper: sluice-tlsgate, when the run script names it */
  cf->tls_gate = 0;
  if (!cf->tls_offer && !cf->local && !e) {
    v = env_get(TLSGATE_ENV);
    if (v && *v) {
      cf->tls_gate = v;
      cf->tls_offer = 1;
    }
  }
  r = control_readline("control/tlsrequired", &flag, 0);
  if (r < 0) control_trouble(s, "tlsrequired");
  /* not for sendmail -bs (-l): a local pipe, not the network */
  cf->tls_required = !cf->local && ((r > 0 && !(flag.len == 1 && flag.s[0] == '0')) || env_get("TLSREQUIRED") || (e && e[0] == '!'));
  str_free(&flag);
  /* implicit TLS: the wrapper has done the handshake already */
  v = env_get("SSL_PROTOCOL");
  if (v && !cf->local) {
    c = env_get("SSL_CIPHER");
    s->tls_on = 1;
    tls_describe(s, v, byte_len(v, 64), c ? c : "", c ? byte_len(c, 64) : 0);
  }
}

/* SMTPAUTH, else control/smtpdauth: missing or "-", no AUTH; else on,
 * with '+' (also without TLS) and '!' (required before MAIL). */
static void read_auth_config(struct session *s, struct config *cf)
{
  const char *e = env_get("SMTPAUTH");
  str v = STR_INIT;
  size_t i, n;
  const char *p;
  int r;

  cf->auth = 0;
  if (cf->local) return;
  if (e) {
    p = e;
    n = byte_len(e, 64);
  } else {
    r = control_readline("control/smtpdauth", &v, "-");
    if (r < 0) control_trouble(s, "smtpdauth");
    p = v.s;
    n = v.len;
  }
  if (!(n == 1 && p[0] == '-')) {
    cf->auth = AUTH_ON;
    for (i = 0; i < n; ++i) {
      if (p[i] == '+') cf->auth |= AUTH_PLAINTEXT;
      if (p[i] == '!') cf->auth |= AUTH_REQUIRED;
    }
  }
  str_free(&v);
  if (cf->auth) {
    unsigned long num;
    if (control_readnum("control/smtpauthreceived", &num, 0, 0, 1) < 0) control_trouble(s, "smtpauthreceived");
    cf->auth_received = (int)num;
  }
}

static void read_config(struct session *s, struct config *cf)
{
  const char *e;
  char host[256];
  unsigned long num;
  int r;

  if (chdir(auto_home) < 0) {
    warn_sys("unable to switch to ", auto_home);
    close_421(s, "421 4.3.0 unable to read controls; closing connection");
  }
  if (gethostname(host, sizeof host - 1) < 0) host[0] = 0;
  host[sizeof host - 1] = 0;
  if (control_readline("control/me", &cf->me, host[0] ? host : "localhost") < 0) control_trouble(s, "me");
  if (str_0(&cf->me) < 0) nomem(s);
  if (control_readline("control/smtpgreeting", &cf->greeting, cf->me.s) < 0) control_trouble(s, "smtpgreeting");
  if (deadline_server_read(&cf->limits, &e) < 0) control_trouble(s, e);
  if (control_readnum("control/maxrcpt", &cf->maxrcpt, 1000, 1, QUEUE_RCPT_MAX) < 0) control_trouble(s, "maxrcpt");
  if (control_readnum("control/databytes", &cf->databytes, QUEUE_DATABYTES_DEFAULT, 0, (unsigned long)-1) < 0) control_trouble(s, "databytes");
  e = env_get("DATABYTES");
  if (e && scan_ulong_exact(e, byte_len(e, 64), &num) == 0) cf->databytes = num;
  cf->relayclient = env_get("RELAYCLIENT");
  /* rcpthosts (and morercpthosts.cdb, percenthack) matter only to a
   * client that may not relay */
  if (!cf->relayclient) {
    r = control_readlist("control/rcpthosts", &cf->rcpthosts);
    if (r < 0) control_trouble(s, "rcpthosts");
    cf->rcpthosts_missing = (r == 0);
  }
  r = control_readlist("control/locals", &cf->locals);
  if (r < 0) control_trouble(s, "locals");
  if (r == 0 && (str_copy(&cf->locals, &cf->me) < 0 || str_catc(&cf->locals, 0) < 0)) nomem(s);
  cf->rcptcheck_state = smtpd_rcptcheck_open(&cf->rcptcheck);
  if (cf->rcptcheck_state < 0) warn_sys("unable to read control/rcptcheck.cdb");
  if (cf->rcptcheck_state > 0 && control_readline("control/recipientdelimiter", &cf->delims, "") < 0)
    control_trouble(s, "recipientdelimiter");
  /* a front end's copy of the queue host's passwd file (tools/rcptcopy,
   * sluice-newrcpt(8) "FRONT ENDS"): its accounts are the ones that
   * rcptcheck.cdb's "u" records name */
  cf->rcptpasswd = cf->rcptcheck_state > 0 && access("control/rcptpasswd", F_OK) == 0;

  cf->remote_ip = env_get("TCPREMOTEIP");
  cf->remote_host = env_get("TCPREMOTEHOST");
  cf->remote_info = env_get("TCPREMOTEINFO");
  /* the client's name: TCPREMOTEHOST wins; else it is looked up at the
   * first DATA (remote_name) */
  cf->name_tried = cf->remote_host || cf->local;
  e = env_get("TCPLOCALHOST");
  if (str_copys(&cf->local_host, e && *e ? e : cf->me.s) < 0 || str_0(&cf->local_host) < 0) nomem(s);
  cf->local_ip_kind = 0;
  e = env_get("TCPLOCALIP");
  if (e) {
    size_t n = byte_len(e, 64);
    if (ip4_scan(e, n, cf->local_ip) == n && n) cf->local_ip_kind = 4;
    else if (ip6_scan(e, n, cf->local_ip) == n && n) cf->local_ip_kind = 6;
  }
  read_tls_config(s, cf);
  read_auth_config(s, cf);
  cf->qq = qmtp_queue_program(&cf->qq_path);
  if (!cf->qq) nomem(s);
  if (cf->rcpthosts_missing && !cf->relayclient)
    warn_msg("control/rcpthosts is missing: only clients with RELAYCLIENT may send mail");
}

/* --- addresses -------------------------------------------------------- */

/* box@[own address] becomes box@localiphost (for MAIL and RCPT). */
static void rewrite_localip(struct session *s, str *addr)
{
  const struct config *cf = s->cf;
  size_t at, dlen, n;
  const char *d;
  unsigned char ip[16];
  int same = 0;

  if (!cf->local_ip_kind || !addr_split(addr->s, addr->len, &at)) return;
  d = addr->s + at + 1;
  dlen = addr->len - at - 1;
  if (dlen < 3 || d[0] != '[' || d[dlen - 1] != ']') return;
  ++d;
  dlen -= 2;
  if (dlen > 5 && case_equalb(d, 5, "IPv6:", 5)) {
    n = dlen - 5;
    if (ip6_scan(d + 5, n, ip) == n) {
      if (cf->local_ip_kind == 6) same = byte_equal((char *)ip, (const char *)cf->local_ip, 16);
    }
  } else if (ip4_scan(d, dlen, ip) == dlen) {
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (cf->local_ip_kind == 4) same = byte_equal((char *)ip, (const char *)cf->local_ip, 4);
    else if (cf->local_ip_kind == 6)
      same = byte_equal((const char *)mapped, (const char *)cf->local_ip, 12)
             && byte_equal((char *)ip, (const char *)cf->local_ip + 12, 4);
  }
  if (!same) return;
  if (!cf->localiphost_read) {
    if (control_readline("control/localiphost", &s->cf->localiphost, cf->me.s) < 0) control_trouble(s, "localiphost");
    s->cf->localiphost_read = 1;
  }
  str_truncate(addr, at + 1);
  if (str_cat(addr, &cf->localiphost) < 0) nomem(s);
}

static int bad_mail_from(struct session *s, const str *addr)
{
  struct config *cf = s->cf;
  size_t pos = 0, n, at;
  const char *e;

  if (addr->len == 0) return 0;
  if (!cf->badmailfrom_read) {
    if (control_readlist("control/badmailfrom", &cf->badmailfrom) < 0) control_trouble(s, "badmailfrom");
    cf->badmailfrom_read = 1;
  }
  (void)addr_split(addr->s, addr->len, &at); /* at == len: no domain */
  while (control_next(&cf->badmailfrom, &pos, &e, &n)) {
    if (case_equalb(e, n, addr->s, addr->len)) return 1;
    if (n > 1 && e[0] == '@' && at < addr->len && case_equalb(e, n, addr->s + at, addr->len - at)) return 1;
  }
  return 0;
}

/* --- commands --------------------------------------------------------- */

static void message_drop(struct message *m);

static void transaction_reset(struct session *s)
{
  if (s->bdat) message_drop(&s->msg);
  s->bdat = 0;
  s->in_mail = 0;
  s->bad_sender = 0;
  s->nrcpt = 0;
  str_truncate(&s->sender, 0);
  str_truncate(&s->rcpts, 0);
  str_truncate(&s->logrcpts, 0);
}

static void transaction_abandon(struct session *s, const char *why)
{
  if (s->in_mail) log_transaction(s, why, 0, 0);
  transaction_reset(s);
}

/* AUTH may be used now (and is shown in EHLO). */
static int auth_offered(const struct session *s)
{
  return s->cf->auth && !s->authed && (s->tls_on || (s->cf->auth & AUTH_PLAINTEXT));
}

/* The client may relay: RELAYCLIENT, or it logged in. */
static int may_relay(const struct session *s)
{
  return s->cf->relayclient || s->authed;
}

/* 1 when the login may use addr as its envelope sender: no
 * control/smtpauthsenders.cdb, or the null sender, or the address is
 * the login itself, or the cdb lists the address or its @domain for
 * the login. */
static int sender_owned(struct session *s, const str *addr)
{
  struct config *cf = s->cf;
  size_t at;
  int r;

  if (cf->senders_state == 0) {
    int fd = open_read("control/smtpauthsenders.cdb");
    if (fd >= 0) {
      if (cdb_open(&cf->senders, fd) < 0) control_trouble(s, "smtpauthsenders.cdb");
      cf->senders_state = 1;
    } else if (errno == ENOENT) {
      cf->senders_state = -1;
    } else {
      control_trouble(s, "smtpauthsenders.cdb");
    }
  }
  if (cf->senders_state < 0 || addr->len == 0) return 1;
  if (case_equalb(addr->s, addr->len, s->login.s, s->login.len)) return 1;
  (void)addr_split(addr->s, addr->len, &at);
  cdb_findstart(&cf->senders);
  for (;;) {
    r = cdb_findnext(&cf->senders, s->login.s, s->login.len);
    if (r < 0) control_trouble(s, "smtpauthsenders.cdb");
    if (r == 0) return 0;
    if (cdb_getdata(&cf->senders, &s->chunk) < 0) control_trouble(s, "smtpauthsenders.cdb");
    if (case_equalb(s->chunk.s, s->chunk.len, addr->s, addr->len)) break;
    if (s->chunk.len > 1 && s->chunk.s[0] == '@' && at < addr->len
        && case_equalb(s->chunk.s, s->chunk.len, addr->s + at, addr->len - at))
      break;
  }
  str_truncate(&s->chunk, 0);
  return 1;
}

static void cmd_helo(struct session *s, int verb, const char *arg, size_t n)
{
  const struct config *cf = s->cf;
  size_t len;

  if (smtpd_parse_helo(arg, n, &len) != SMTPD_OK) {
    error_reply(s, "501 5.5.4 syntax: EHLO hostname");
    return;
  }
  transaction_abandon(s, "abandoned");
  if (str_copyb(&s->helo, arg, len) < 0) nomem(s);
  /* SMTPHELO: the HELO/EHLO name for the injector (sluice-authcheck
   * checks its SPF record), as sluice-smtpd(8) documents */
  if (str_0(&s->helo) < 0 || setenv("SMTPHELO", s->helo.s, 1) < 0) nomem(s);
  s->helo_kind = verb;
  out_write(s, "250", 3);
  out_write(s, verb == SMTPD_EHLO ? "-" : " ", 1);
  reply_str(s, &cf->me);
  if (verb == SMTPD_HELO) return;
  reply(s, "250-PIPELINING");
  reply(s, "250-8BITMIME");
  if (cf->databytes) {
    char num[FMT_ULONG];
    out_write(s, "250-SIZE ", 9);
    out_write(s, num, fmt_ulong(num, cf->databytes));
    out_write(s, "\r\n", 2);
  } else {
    reply(s, "250-SIZE");
  }
  reply(s, "250-ENHANCEDSTATUSCODES");
  reply(s, "250-CHUNKING");
  reply(s, "250-DSN");
  if (cf->tls_offer && !s->tls_on) reply(s, "250-STARTTLS");
  if (auth_offered(s)) reply(s, "250-AUTH PLAIN LOGIN");
  reply(s, "250 SMTPUTF8");
}

static void cmd_mail(struct session *s, const char *arg, size_t n)
{
  const struct config *cf = s->cf;
  int r;

  if (!s->helo_kind) {
    error_reply(s, "503 5.5.1 send EHLO or HELO first");
    return;
  }
  if (s->in_mail) {
    error_reply(s, "503 5.5.1 nested MAIL command");
    return;
  }
  if (cf->tls_required && !s->tls_on) {
    error_reply(s, "530 5.7.0 must issue a STARTTLS command first");
    return;
  }
  if ((cf->auth & AUTH_REQUIRED) && !s->authed) {
    error_reply(s, "530 5.7.0 authentication required");
    return;
  }
  r = smtpd_parse_mail(arg, n, &s->addr, &s->params);
  if (r == SMTPD_ENOMEM) nomem(s);
  if (r != SMTPD_OK) {
    if (smtpd_error_reply(&s->reply, r, s->params.addr_error, 1) < 0) nomem(s);
    error_reply_str(s, &s->reply);
    return;
  }
  if (s->params.auth_given && !cf->auth) {
    /* AUTH= only where AUTH is offered; elsewhere an unknown parameter */
    if (smtpd_error_reply(&s->reply, SMTPD_EPARAM, 0, 1) < 0) nomem(s);
    error_reply_str(s, &s->reply);
    return;
  }
  if (cf->databytes && s->params.size_given && (s->params.size_overflow || s->params.size > cf->databytes)) {
    error_reply(s, "552 5.3.4 message size exceeds fixed maximum message size");
    return;
  }
  rewrite_localip(s, &s->addr);
  if (s->addr.len > QUEUE_ADDR_MAX) {
    error_reply(s, "553 5.1.7 sender address too long");
    return;
  }
  if (s->authed && !sender_owned(s, &s->addr)) {
    log_auth(s, "sender refused", s->login.s, s->login.len, 0);
    error_reply(s, "553 5.7.1 sender address not owned by the authenticated login");
    return;
  }
  transaction_reset(s);
  if (str_copy(&s->sender, &s->addr) < 0) nomem(s);
  s->bad_sender = bad_mail_from(s, &s->addr);
  s->in_mail = 1;
  reply(s, "250 2.1.0 sender ok");
}

/* 1 when mail for the domain of addr may be accepted from anybody. */
static int rcpt_allowed(struct session *s, const char *dom, size_t dlen)
{
  struct config *cf = s->cf;
  int r;

  if (domain_match_list(dom, dlen, &cf->rcpthosts)) return 1;
  if (cf->morercpt_open == 0) {
    int fd = open_read("control/morercpthosts.cdb");
    if (fd >= 0) {
      if (cdb_open(&cf->morercpt, fd) < 0) control_trouble(s, "morercpthosts.cdb");
      cf->morercpt_open = 1;
    } else if (errno != ENOENT) {
      control_trouble(s, "morercpthosts.cdb");
    } else {
      cf->morercpt_open = -1;
    }
  }
  if (cf->morercpt_open < 0) return 0;
  r = smtpd_morercpthosts(&cf->morercpt, dom, dlen);
  if (r < 0) close_421(s, "421 4.3.0 unable to read controls; closing connection");
  return r;
}

static void cmd_rcpt(struct session *s, const char *arg, size_t n)
{
  struct config *cf = s->cf;
  size_t at;
  int r, addr_error, has_domain;

  if (!s->in_mail) {
    error_reply(s, "503 5.5.1 MAIL first");
    return;
  }
  r = smtpd_parse_rcpt(arg, n, s->params.smtputf8, &s->addr, &addr_error, &s->rparams);
  if (r == SMTPD_ENOMEM) nomem(s);
  if (r != SMTPD_OK) {
    if (smtpd_error_reply(&s->reply, r, addr_error, 0) < 0) nomem(s);
    error_reply_str(s, &s->reply);
    return;
  }
  if (s->bad_sender) {
    log_rcpt(s, &s->addr, "553");
    error_reply(s, "553 5.7.1 sender refused by this server's policy");
    return;
  }
  if (s->nrcpt >= cf->maxrcpt) {
    log_rcpt(s, &s->addr, "452");
    reply(s, "452 4.5.3 too many recipients");
    return;
  }
  rewrite_localip(s, &s->addr);
  has_domain = addr_split(s->addr.s, s->addr.len, &at);
  if (!may_relay(s) && has_domain && !rcpt_allowed(s, s->addr.s + at + 1, s->addr.len - at - 1)) {
    log_rcpt(s, &s->addr, "553");
    error_reply(s, "553 5.7.1 relaying denied");
    return;
  }
  /* control/percenthack would send it to the host after the '%' (read
   * at the first local part with a '%': it cannot apply to others) */
  if (!may_relay(s) && has_domain && !cf->percenthack_read && byte_chr(s->addr.s, at, '%') < at) {
    if (control_readlist("control/percenthack", &cf->percenthack) < 0) control_trouble(s, "percenthack");
    cf->percenthack_read = 1;
  }
  if (!may_relay(s) && rewrite_percenthack_applies(&cf->percenthack, s->addr.s, s->addr.len)) {
    log_rcpt(s, &s->addr, "553");
    error_reply(s, "553 5.7.1 relaying denied: no % in the local part here");
    return;
  }
  cf->rcpt.cdb = &cf->rcptcheck;
  cf->rcpt.state = cf->rcptcheck_state;
  cf->rcpt.locals = &cf->locals;
  cf->rcpt.delims = cf->delims.s ? cf->delims.s : "";
  cf->rcpt.dn = cf->delims.len;
  cf->rcpt.passwd_path = cf->rcptpasswd ? "control/rcptpasswd" : 0;
  r = smtpd_rcpt_local_check(&cf->rcpt, s->addr.s, s->addr.len);
  if (r < 0) {
    log_rcpt(s, &s->addr, "451");
    reply(s, "451 4.3.0 unable to check recipient");
    return;
  }
  if (r == 0) {
    log_rcpt(s, &s->addr, "550");
    error_reply(s, "550 5.1.1 no such user here");
    return;
  }
  if (cf->relayclient && str_cats(&s->addr, cf->relayclient) < 0) nomem(s);
  if (s->addr.len > QUEUE_ADDR_MAX) {
    error_reply(s, "553 5.1.3 recipient address too long");
    return;
  }
  /* DSN's NOTIFY and ORCPT: the N and R records before the T
   * (sluice-queue(5)) */
  if (smtpd_rcpt_records_cat(&s->rcpts, &s->rparams) < 0) nomem(s);
  if (str_catc(&s->rcpts, 'T') < 0 || str_cat(&s->rcpts, &s->addr) < 0 || str_catc(&s->rcpts, 0) < 0) nomem(s);
  ++s->nrcpt;
  log_rcpt(s, &s->addr, 0);
  reply(s, "250 2.1.5 recipient ok");
}

/* --- DATA ------------------------------------------------------------- */

/* Looks the client's name up once (remotehost.h), when the first message
 * needs it for its Received line: after the 354, while the client sends. */
static void remote_name(struct session *s)
{
  struct config *cf = s->cf;
  int r;

  if (cf->name_tried) return;
  cf->name_tried = 1;
  r = remotehost_find(cf->remote_ip, 0, cf->namewait, &cf->remote_name);
  if (r < 0) nomem(s);
  if (r == 0) return;
  if (str_0(&cf->remote_name) < 0) nomem(s);
  cf->remote_host = cf->remote_name.s;
}

/* Starts the injector (qmtp_qq_start): QMAILQUEUE or sluice-queue. */
static pid_t qq_start(const struct config *cf, int *msgfd, int *envfd)
{
  return qmtp_qq_start(cf->qq, msgfd, envfd);
}

/* The login for a comment of the Received field: no byte that could end
 * the comment or the field (sasl_user_ok has kept out controls and
 * spaces already). */
static int received_login_cat(str *out, const str *login)
{
  size_t i;
  for (i = 0; i < login->len; ++i) {
    unsigned char c = (unsigned char)login->s[i];
    if (str_catc(out, (c == '(' || c == ')' || c == '\\' || c > 126 || c < 33) ? '?' : (char)c) < 0) return -1;
  }
  return 0;
}

/* Starts the injector and writes the Received line. 0, or -1 after a
 * 451 reply (the transaction is reset). bdat: no 354 is sent. */
static int message_begin(struct session *s, struct message *m, int bdat)
{
  struct config *cf = s->cf;
  struct smtpd_received rl;
  const char *proto;

  m->msgfd = m->envfd = -1;
  m->write_failed = 0;
  if (!cf->name_tried && !cf->namewait_read) {
    if (remotehost_wait_read(&cf->namewait) < 0) control_trouble(s, "smtpdnamewait");
    cf->namewait_read = 1;
  }
  m->pid = qq_start(cf, &m->msgfd, &m->envfd);
  if (m->pid < 0) {
    warn_sys("unable to start the queue program");
    log_transaction(s, "451", 0, 0);
    transaction_reset(s);
    reply(s, "451 4.3.0 qq unable to start");
    return -1;
  }
  m->qp[fmt_ulong(m->qp, (unsigned long)m->pid)] = 0;
  if (!bdat) reply(s, cf->local ? "354 go ahead, end with a line holding a single dot" : "354 go ahead, end with <CR><LF>.<CR><LF>");
  if (!cf->name_tried) {
    flush(s); /* the client sends the message while the name is looked up */
    remote_name(s);
  }
  /* the data's total starts after the lookup: the client is not charged
   * for the server's own wait */
  deadline_server_arm(&cf->limits, &s->in, &s->out, cf->limits.data);

  /* RFC 3848 and RFC 6531 section 3.7.7 */
  if (s->tls_on || s->authed) {
    /* RFC 3848: S for TLS, A for AUTH */
    str_truncate(&s->addr, 0);
    if (str_cats(&s->addr, s->params.smtputf8 ? "UTF8SMTP" : "ESMTP") < 0
        || (s->tls_on && str_catc(&s->addr, 'S') < 0) || (s->authed && str_catc(&s->addr, 'A') < 0)
        || (s->tls_on && s->tls_desc.len && (str_cats(&s->addr, " (") < 0 || str_cat(&s->addr, &s->tls_desc) < 0 || str_catc(&s->addr, ')') < 0))
        || (s->authed && cf->auth_received && (str_cats(&s->addr, " (authenticated as ") < 0 || received_login_cat(&s->addr, &s->login) < 0 || str_catc(&s->addr, ')') < 0))
        || str_0(&s->addr) < 0)
      nomem(s);
    proto = s->addr.s;
  } else {
    proto = s->params.smtputf8 ? "UTF8SMTP" : s->helo_kind == SMTPD_EHLO ? "ESMTP" : "SMTP";
  }
  rl.helo = s->helo.s;
  rl.helo_len = s->helo.len;
  rl.remote_host = cf->remote_host;
  rl.remote_info = cf->remote_info;
  rl.remote_ip = cf->remote_ip;
  rl.local_host = cf->local_host.s;
  rl.protocol = proto;
  rl.when = time(0);
  str_truncate(&s->chunk, 0);
  if (smtpd_received_line(&s->chunk, &rl) < 0) nomem(s);
  if (write_all(m->msgfd, s->chunk.s, s->chunk.len) < 0) m->write_failed = 1;
  str_truncate(&s->chunk, 0);
  if (bdat) smtpd_data_start_bdat(&m->d, cf->databytes);
  else if (cf->local) smtpd_data_start_local(&m->d, cf->databytes);
  else smtpd_data_start(&m->d, cf->databytes);
  return 0;
}

/* Writes what the data machine stored in s->chunk to the injector. */
static void message_write(struct session *s, struct message *m)
{
  if (s->chunk.len && !m->write_failed && write_all(m->msgfd, s->chunk.s, s->chunk.len) < 0) m->write_failed = 1;
  str_truncate(&s->chunk, 0);
}

/* The reply text for the data machine's errors, or 0. */
static const char *message_error_text(const struct message *m)
{
  if (m->d.err & SMTPD_DATA_BARE) return "554 5.5.0 bare LF/CR not accepted";
  if (m->d.err & SMTPD_DATA_NUL) return "554 5.6.0 NUL byte not accepted";
  if (m->d.err & SMTPD_DATA_TOOBIG) return "552 5.3.4 message size exceeds fixed maximum message size";
  if (m->d.err & SMTPD_DATA_LOOP) return "554 5.4.6 too many hops: mail loop";
  return 0;
}

/* Gives the message up: the injector gets no envelope and queues
 * nothing. */
static void message_drop(struct message *m)
{
  int status;
  if (m->msgfd >= 0) close(m->msgfd);
  if (m->envfd >= 0) close(m->envfd);
  m->msgfd = m->envfd = -1;
  if (m->pid > 0) (void)wait_pid(m->pid, &status);
  m->pid = 0;
}

/* The data is complete: the envelope goes to the injector (or nothing,
 * after a problem), the reply is sent and the transaction ends. */
static void message_end(struct session *s, struct message *m)
{
  int status = 0;
  const char *text;

  str_truncate(&s->chunk, 0);
  close(m->msgfd);
  m->msgfd = -1;
  if (m->d.err || m->write_failed) {
    close(m->envfd); /* no envelope: the injector gives up */
    m->envfd = -1;
    if (wait_pid(m->pid, &status) < 0) status = 0;
    m->pid = 0;
    text = message_error_text(m);
    if (text) {
      const char *code = text[0] == '5' && text[1] == '5' && text[2] == '4' ? "554" : "552";
      log_transaction(s, code, m->d.bytes, m->qp);
      transaction_reset(s);
      error_reply(s, text);
      return;
    }
    /* the injector went away while reading */
    if (smtpd_qq_ok(status) || smtpd_qq_reply(&s->reply, status, m->qp) < 0) {
      if (str_copys(&s->reply, "451 4.3.0 qq write error or disk full") < 0) nomem(s);
    }
  } else {
    /* SMTPUTF8 (RFC 6531) and DSN's RET (RFC 3461) travel with the
     * message: the "O" record of sluice-queue(8), then ENVID in the "I"
     * record, before F */
    str_truncate(&s->chunk, 0);
    if (((s->params.smtputf8 || s->params.ret) && (str_catc(&s->chunk, 'O') < 0
                                                   || (s->params.smtputf8 && str_catc(&s->chunk, 'U') < 0)
                                                   || (s->params.ret == SMTPD_RET_HDRS && str_catc(&s->chunk, 'H') < 0)
                                                   || (s->params.ret == SMTPD_RET_FULL && str_catc(&s->chunk, 'B') < 0)
                                                   || str_catc(&s->chunk, 0) < 0))
        || (s->params.envid_given && (str_catc(&s->chunk, 'I') < 0 || str_cat(&s->chunk, &s->params.envid) < 0
                                      || str_catc(&s->chunk, 0) < 0))
        || str_catc(&s->chunk, 'F') < 0 || str_cat(&s->chunk, &s->sender) < 0 || str_catc(&s->chunk, 0) < 0
        || str_cat(&s->chunk, &s->rcpts) < 0 || str_catc(&s->chunk, 0) < 0)
      nomem(s);
    (void)write_all(m->envfd, s->chunk.s, s->chunk.len);
    close(m->envfd);
    m->envfd = -1;
    str_truncate(&s->chunk, 0);
    if (wait_pid(m->pid, &status) < 0) status = 0x7f00; /* lost: temporary */
    m->pid = 0;
    if (str_copys(&s->chunk, "qp ") < 0 || str_cats(&s->chunk, m->qp) < 0 || str_0(&s->chunk) < 0) nomem(s);
    if (smtpd_qq_reply(&s->reply, status, s->chunk.s) < 0) nomem(s);
    str_truncate(&s->chunk, 0);
  }
  {
    char code[4];
    code[0] = s->reply.s[0];
    code[1] = s->reply.s[1];
    code[2] = s->reply.s[2];
    code[3] = 0;
    log_transaction(s, code, m->d.bytes, m->qp);
  }
  transaction_reset(s);
  error_reply_str(s, &s->reply);
}

static void cmd_data(struct session *s)
{
  struct message *m = &s->msg;

  if (!s->in_mail) {
    error_reply(s, "503 5.5.1 MAIL first");
    return;
  }
  if (s->bdat) {
    /* RFC 3030 2: DATA and BDAT are not mixed in one transaction */
    error_reply(s, "503 5.5.1 DATA after BDAT: send RSET");
    return;
  }
  if (s->nrcpt == 0) {
    error_reply(s, "554 5.5.1 no valid recipients");
    return;
  }
  if (message_begin(s, m, 0) < 0) return;
  while (!m->d.done) {
    ssize_t used;
    if (buf_avail(&s->in) == 0) {
      ssize_t r;
      flush(s);
      r = buf_feed(&s->in);
      if (r == 0) {
        log_transaction(s, "eof", m->d.bytes, m->qp);
        _exit(0); /* the injector sees no envelope and queues nothing */
      }
      if (r < 0) read_failed(s, 1);
    }
    str_truncate(&s->chunk, 0);
    used = smtpd_data_feed(&m->d, buf_peek(&s->in), buf_avail(&s->in), &s->chunk);
    if (used < 0) nomem(s);
    buf_seek(&s->in, (size_t)used);
    message_write(s, m);
  }
  message_end(s, m);
}

/* --- BDAT (RFC 3030 CHUNKING) ------------------------------------------ */

/* Reads the size bytes of a chunk, feeding them to the message when m
 * is not 0, discarding them otherwise. */
static void bdat_read(struct session *s, struct message *m, unsigned long size)
{
  deadline_server_arm(&s->cf->limits, &s->in, &s->out, s->cf->limits.data);
  while (size) {
    size_t take = buf_avail(&s->in);
    if (take == 0) {
      ssize_t r;
      flush(s);
      r = buf_feed(&s->in);
      if (r == 0) {
        if (m) log_transaction(s, "eof", m->d.bytes, m->qp);
        _exit(0); /* the injector sees no envelope and queues nothing */
      }
      if (r < 0) read_failed(s, 1);
      continue;
    }
    if (take > size) take = (size_t)size;
    if (m) {
      str_truncate(&s->chunk, 0);
      if (smtpd_data_feed(&m->d, buf_peek(&s->in), take, &s->chunk) < 0) nomem(s);
      message_write(s, m);
    }
    buf_seek(&s->in, take);
    size -= take;
  }
}

static void cmd_bdat(struct session *s, const char *arg, size_t n)
{
  struct message *m = &s->msg;
  unsigned long size;
  int last;
  const char *text = 0;

  if (smtpd_parse_bdat(arg, n, &size, &last) != SMTPD_OK) {
    /* the size is unknown, so are the bytes that follow: they would be
     * read as commands, which nobody can want */
    close_421(s, "421 5.5.4 syntax: BDAT size [LAST]; closing connection");
  }
  if (s->helo_kind != SMTPD_EHLO) text = "503 5.5.1 send EHLO first";
  else if (!s->in_mail) text = "503 5.5.1 MAIL first";
  else if (s->nrcpt == 0) text = "554 5.5.1 no valid recipients";
  if (text) {
    bdat_read(s, 0, size); /* the chunk comes whatever the reply */
    error_reply(s, text);
    return;
  }
  if (!s->bdat) {
    if (message_begin(s, m, 1) < 0) {
      bdat_read(s, 0, size);
      return;
    }
    s->bdat = 1;
  }
  bdat_read(s, m, size);
  if (m->d.err & (SMTPD_DATA_TOOBIG | SMTPD_DATA_BARE | SMTPD_DATA_NUL)) {
    /* refused at once: the client sends no more chunks in vain */
    text = message_error_text(m);
    log_transaction(s, text[2] == '4' ? "554" : "552", m->d.bytes, m->qp);
    transaction_reset(s);
    error_reply(s, text);
    return;
  }
  if (!last) {
    char num[FMT_ULONG];
    out_write(s, "250 2.0.0 ", 10);
    out_write(s, num, fmt_ulong(num, size));
    reply(s, " octets received");
    return;
  }
  if (smtpd_data_end_bdat(&m->d, &s->chunk) < 0) nomem(s);
  message_write(s, m);
  s->bdat = 0;
  message_end(s, m);
}

/* --- STARTTLS ---------------------------------------------------------- */

/* Reads the details the TLS wrapper sends after `Y' (ucspitls.h)
 * into d, within one timeoutsmtpd. Returns 1, or 0 when the wrapper
 * closed the control socket (the handshake failed) or sent garbage. */
static int tls_read_details(struct session *s, str *d)
{
  long long end = deadline_after(s->cf->limits.call * 1000);
  char b[256];

  str_truncate(d, 0);
  for (;;) {
    struct pollfd p = { .fd = s->cf->tls_ctl, .events = POLLIN };
    long long left = end - deadline_now();
    ssize_t r;
    int c = ucspitls_details_complete(d->s, d->len);
    if (c) return c > 0;
    if (left <= 0) return 0;
    if (poll(&p, 1, left > 60000 ? 60000 : (int)left) < 0 && errno != EINTR) return 0;
    r = read(s->cf->tls_ctl, b, sizeof b);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) return 0;
    if (str_catb(d, b, (size_t)r) < 0) nomem(s);
  }
}

/* Through sluice-tlsgate (tlsgate.h): the pipes, the request `Y' with
 * the connection and the relay's ends of the pipes; then cf->tls_rd
 * and cf->tls_wr are this process's ends, as under a UCSPI-TLS
 * wrapper. 1, or 0 when the request could not be made. */
static int tls_gate_request(struct session *s)
{
  struct config *cf = s->cf;
  int toapp[2], fromapp[2], ok;
  const char *ip = cf->remote_ip;

  if (pipe(toapp) < 0) return 0;
  if (pipe(fromapp) < 0) {
    close(toapp[0]);
    close(toapp[1]);
    return 0;
  }
  /* the queue program and anything else started must not hold them */
  (void)fd_cloexec(toapp[0], 1);
  (void)fd_cloexec(fromapp[1], 1);
  ok = tlsgate_request(cf->tls_ctl, 'Y', ip ? ip : "", ip ? byte_len(ip, 46) : 0, 0, toapp[1], fromapp[0]) == 0;
  close(toapp[1]);
  close(fromapp[0]);
  cf->tls_rd = toapp[0];
  cf->tls_wr = fromapp[1];
  return ok;
}

static void cmd_starttls(struct session *s, size_t n)
{
  struct config *cf = s->cf;
  const char *v, *c;
  size_t vlen = 0, clen = 0;
  int null;

  if (!cf->tls_offer || s->tls_on) {
    error_reply(s, s->tls_on ? "503 5.5.1 TLS already active" : "502 5.5.1 STARTTLS not available");
    return;
  }
  if (n) {
    error_reply(s, "501 5.5.4 STARTTLS takes no argument");
    return;
  }
  if (cf->tls_gate) {
    /* sluice-tlsgate answers before the 220, or the client hears 454
     * and goes on in plaintext */
    cf->tls_ctl = tlsgate_open(cf->tls_gate, (int)(cf->limits.call > 60 ? 60000 : cf->limits.call * 1000));
    if (cf->tls_ctl < 0) {
      warn_sys("STARTTLS: sluice-tlsgate at ", cf->tls_gate, " did not answer");
      reply(s, "454 4.7.0 TLS not available now");
      return;
    }
  }
  reply(s, "220 2.0.0 ready to start TLS");
  flush(s);
  /* CVE-2011-0411: nothing the client sent before the handshake may be
   * read as if it came over TLS */
  buf_seek(&s->in, buf_avail(&s->in));
  if (cf->tls_gate) {
    if (!tls_gate_request(s)) {
      log_closing(s, "cannot start TLS: sluice-tlsgate is gone");
      _exit(EXIT_TEMP);
    }
  } else if (write_all(cf->tls_ctl, "Y", 1) < 0) {
    log_closing(s, "cannot start TLS: the TLS wrapper is gone");
    _exit(EXIT_TEMP);
  }
  if (!tls_read_details(s, &s->chunk)) {
    log_closing(s, "TLS handshake failed");
    _exit(0);
  }
  v = ucspitls_detail(s->chunk.s, s->chunk.len, "SSL_PROTOCOL", &vlen);
  c = ucspitls_detail(s->chunk.s, s->chunk.len, "SSL_CIPHER", &clen);
  tls_describe(s, v ? v : "", v ? vlen : 0, c ? c : "", c ? clen : 0);
  str_truncate(&s->chunk, 0);
  s->tls_on = 1;
  /* from now on the wrapper's pipes; the socket is its alone */
  buf_init(&s->in, cf->tls_rd, s->inmem, sizeof s->inmem);
  buf_init(&s->out, cf->tls_wr, s->outmem, sizeof s->outmem);
  buf_set_timeout(&s->in, cf->limits.call * 1000);
  buf_set_timeout(&s->out, cf->limits.call * 1000);
  null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || fd_copy(0, null) < 0 || fd_copy(1, null) < 0) {
    log_closing(s, "cannot let go of the socket");
    _exit(EXIT_TEMP);
  }
  if (null > 1) close(null);
  close(cf->tls_ctl);
  /* RFC 3207 4.2: the client starts again with EHLO, and nothing
   * learnt before TLS counts, a login included */
  transaction_abandon(s, "starttls");
  s->authed = 0;
  str_truncate(&s->login, 0);
  s->helo_kind = 0;
  str_truncate(&s->helo, 0);
}

/* --- AUTH ------------------------------------------------------------- */

/* One line on fd 2 about an AUTH: "sluice-smtpd: pid N from IP auth
 * WHAT user <LOGIN> mech MECH"; contrib/fail2ban matches the
 * "auth failed" lines. */
/* A login as the client sent it, for the log: no byte that could end
 * the line, or the <...> around it. */
static int cat_login(str *out, const char *p, size_t n)
{
  size_t i;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)p[i];
    if (str_catc(out, (c < 33 || c == 127 || c == '<' || c == '>') ? '?' : (char)c) < 0) return -1;
  }
  return 0;
}

static void log_auth(struct session *s, const char *what, const char *user, size_t ulen, const char *mech)
{
  str l = STR_INIT;
  const char *ip = s->cf->remote_ip ? s->cf->remote_ip : "unknown";

  if (s->cf->local) return;
  if (str_copys(&l, "sluice-smtpd: pid ") == 0 && str_catulong(&l, (unsigned long)getpid()) == 0
      && str_cats(&l, " from ") == 0 && cat_loggable(&l, ip, byte_len(ip, 64)) == 0
      && str_cats(&l, " auth ") == 0 && str_cats(&l, what) == 0
      && str_cats(&l, " user <") == 0 && cat_login(&l, user, ulen > SASL_USER_MAX ? SASL_USER_MAX : ulen) == 0
      && str_catc(&l, '>') == 0 && (!mech || (str_cats(&l, " mech ") == 0 && str_cats(&l, mech) == 0))
      && str_catc(&l, '\n') == 0)
    (void)write_all(2, l.s, l.len);
  str_free(&l);
}

static int get_line(struct session *s);
enum { LINE_EOF, LINE_OK, LINE_LONG, LINE_BARE };

static void auth_clear(struct session *s)
{
  sasl_wipe(&s->authpass);
  sasl_wipe(&s->authuser);
  sasl_wipe(&s->line);
  sasl_wipe(&s->chunk);
}

/* Sends "334 CHALLENGE" and reads the client's response, base64, into
 * out (at most max bytes). Returns 1, or 0 after it has answered
 * (cancelled, bad base64, line too long). */
static int auth_read(struct session *s, const char *challenge, str *out, size_t max)
{
  int r;

  reply(s, challenge);
  r = get_line(s);
  if (r == LINE_EOF) {
    auth_clear(s);
    _exit(0);
  }
  if (r == LINE_BARE) {
    auth_clear(s);
    close_421(s, "421 4.5.0 bare LF/CR not accepted; closing connection");
  }
  if (r == LINE_LONG) {
    error_reply(s, "500 5.5.6 authentication exchange line is too long");
    return 0;
  }
  if (s->line.len == 1 && s->line.s[0] == '*') {
    error_reply(s, "501 5.7.0 authentication cancelled");
    return 0;
  }
  if (base64_decode(s->line.s, s->line.len, out, max) < 0) {
    if (errno == ENOMEM) nomem(s);
    error_reply(s, "501 5.5.2 cannot decode the response");
    return 0;
  }
  return 1;
}

/* The initial response of AUTH MECH IR (RFC 4954 4): "=" is empty. */
static int auth_initial(struct session *s, const char *ir, size_t n, str *out, size_t max)
{
  if (n == 1 && ir[0] == '=') {
    str_truncate(out, 0);
    return 1;
  }
  if (base64_decode(ir, n, out, max) < 0) {
    if (errno == ENOMEM) nomem(s);
    error_reply(s, "501 5.5.2 cannot decode the initial response");
    return 0;
  }
  return 1;
}

/* Runs the checkpassword program on s->authuser and s->authpass and
 * answers. */
static void auth_check(struct session *s, const char *mech)
{
  struct config *cf = s->cf;
  int r;

  if (!cf->checkpw_read) {
    str v = STR_INIT, dflt = STR_INIT;
    if (str_copys(&dflt, auto_home) < 0 || str_cats(&dflt, "/bin/sluice-checkpassword") < 0 || str_0(&dflt) < 0) nomem(s);
    if (control_readline("control/checkpassword", &v, dflt.s) < 0) control_trouble(s, "checkpassword");
    if (checkpw_argv(&cf->checkpw, v.s, v.len) < 0) {
      if (errno == ENOMEM) nomem(s);
      warn_msg("control/checkpassword: not an absolute path and at most 16 words");
      str_free(&v);
      str_free(&dflt);
      reply(s, "454 4.7.0 temporary authentication failure");
      return;
    }
    str_free(&v);
    str_free(&dflt);
    cf->checkpw_read = 1;
  }
  if (!sasl_user_ok(s->authuser.s, s->authuser.len) || s->authpass.len == 0) {
    r = CHECKPW_BAD;
  } else {
    flush(s);
    r = checkpw_run(&cf->checkpw, s->authuser.s, s->authuser.len, s->authpass.s, s->authpass.len, cf->limits.call);
  }
  sasl_wipe(&s->authpass);
  if (r == CHECKPW_GOOD) {
    if (str_copy(&s->login, &s->authuser) < 0) nomem(s);
    s->authed = 1;
    log_auth(s, "ok", s->login.s, s->login.len, mech);
    auth_clear(s);
    reply(s, "235 2.7.0 authentication successful");
    return;
  }
  if (r == CHECKPW_TEMP) {
    log_auth(s, "trouble", s->authuser.s, s->authuser.len, mech);
    auth_clear(s);
    reply(s, "454 4.7.0 temporary authentication failure");
    return;
  }
  log_auth(s, "failed", s->authuser.s, s->authuser.len, mech);
  auth_clear(s);
  flush(s);
  sleep(AUTH_FAIL_DELAY);
  if (++s->auth_failures >= AUTH_FAILURES_MAX) {
    reply(s, "535 5.7.8 authentication credentials invalid");
    log_closing(s, "too many authentication failures");
    close_421(s, "421 4.7.0 too many authentication failures; closing connection");
  }
  error_reply(s, "535 5.7.8 authentication credentials invalid");
}

static void cmd_auth(struct session *s, const char *arg, size_t n)
{
  const struct config *cf = s->cf;
  size_t sp, ir;
  const char *mech;

  if (!cf->auth) {
    error_reply(s, "502 5.5.1 AUTH not available");
    return;
  }
  if (!s->tls_on && !(cf->auth & AUTH_PLAINTEXT)) {
    error_reply(s, "538 5.7.11 encryption required for requested authentication mechanism");
    return;
  }
  if (s->helo_kind != SMTPD_EHLO) {
    error_reply(s, "503 5.5.1 send EHLO first");
    return;
  }
  if (s->authed) {
    error_reply(s, "503 5.5.1 already authenticated");
    return;
  }
  if (s->in_mail) {
    error_reply(s, "503 5.5.1 AUTH not permitted during a mail transaction");
    return;
  }
  if (n == 0) {
    error_reply(s, "501 5.5.4 syntax: AUTH mechanism [initial-response]");
    return;
  }
  sp = byte_chr(arg, n, ' ');
  ir = sp < n ? sp + 1 : n;
  while (ir < n && arg[ir] == ' ') ++ir;
  if (ir < n && byte_chr(arg + ir, n - ir, ' ') < n - ir) {
    error_reply(s, "501 5.5.4 syntax: AUTH mechanism [initial-response]");
    return;
  }
  if (case_equalb(arg, sp, "PLAIN", 5)) {
    mech = "PLAIN";
    /* PLAIN: authzid NUL login NUL password */
    if (ir < n) {
      if (!auth_initial(s, arg + ir, n - ir, &s->chunk, 2 * SASL_USER_MAX + SASL_PASS_MAX + 2)) goto out;
    } else if (!auth_read(s, "334 ", &s->chunk, 2 * SASL_USER_MAX + SASL_PASS_MAX + 2)) {
      goto out;
    }
    if (sasl_plain_split(s->chunk.s, s->chunk.len, &s->authuser, &s->authpass) < 0) {
      if (errno == ENOMEM) nomem(s);
      /* the login is the second part, if any: for the log */
      str_truncate(&s->authuser, 0);
      {
        size_t a = byte_chr(s->chunk.s, s->chunk.len, 0);
        if (a < s->chunk.len) {
          size_t u = byte_chr(s->chunk.s + a + 1, s->chunk.len - a - 1, 0);
          if (str_copyb(&s->authuser, s->chunk.s + a + 1, u) < 0) nomem(s);
        }
      }
      str_truncate(&s->authpass, 0);
    }
    sasl_wipe(&s->chunk);
  } else if (case_equalb(arg, sp, "LOGIN", 5)) {
    mech = "LOGIN";
    if (ir < n) {
      if (!auth_initial(s, arg + ir, n - ir, &s->authuser, SASL_USER_MAX + 1)) goto out;
    } else if (!auth_read(s, "334 VXNlcm5hbWU6", &s->authuser, SASL_USER_MAX + 1)) { /* "Username:" */
      goto out;
    }
    if (!auth_read(s, "334 UGFzc3dvcmQ6", &s->authpass, SASL_PASS_MAX + 1)) goto out; /* "Password:" */
    if (s->authpass.len > SASL_PASS_MAX || byte_chr(s->authpass.s, s->authpass.len, 0) < s->authpass.len)
      str_truncate(&s->authpass, 0);
  } else {
    error_reply(s, "504 5.5.4 unrecognised authentication mechanism");
    return;
  }
  auth_check(s, mech);
out:
  auth_clear(s);
}

/* --- the command loop ------------------------------------------------- */

/* Reads one command line into s->line without its CR LF. Replies are
 * flushed before any read that may block. */
static int get_line(struct session *s)
{
  int toolong = 0;

  str_truncate(&s->line, 0);
  for (;;) {
    size_t avail = buf_avail(&s->in), i, take;
    const char *p;
    if (avail == 0) {
      ssize_t r;
      flush(s);
      r = buf_feed(&s->in);
      if (r == 0) return LINE_EOF;
      if (r < 0) read_failed(s, 0);
      continue;
    }
    p = buf_peek(&s->in);
    i = byte_chr(p, avail, '\n');
    take = i < avail ? i + 1 : avail;
    if (toolong || s->line.len + take > SMTPD_LINE_MAX) {
      toolong = 1;
    } else if (str_catb(&s->line, p, take) < 0) {
      nomem(s);
    }
    buf_seek(&s->in, take);
    if (i < avail) break;
  }
  if (toolong) return LINE_LONG;
  if (s->line.len >= 2 && s->line.s[s->line.len - 2] == '\r') s->line.len -= 2;
  else if (s->cf->local && s->line.s[s->line.len - 1] == '\n') s->line.len -= 1; /* LF alone */
  else return LINE_BARE;
  if (byte_chr(s->line.s, s->line.len, '\r') < s->line.len) return LINE_BARE;
  return LINE_OK;
}

static void session(struct session *s)
{
  for (;;) {
    size_t argoff;
    const char *arg;
    size_t n;
    int r, verb;

    /* a new command: its total starts now, replies to the last one
     * included (those still go out when the session's has passed) */
    if (deadline_passed(s->cf->limits.session_end)) session_over(s);
    deadline_server_arm(&s->cf->limits, &s->in, &s->out, s->cf->limits.command);
    r = get_line(s);

    if (r == LINE_EOF) return;
    if (r == LINE_LONG) {
      error_reply(s, "500 5.5.2 line too long");
      continue;
    }
    if (r == LINE_BARE) close_421(s, "421 4.5.0 bare LF/CR not accepted; closing connection");
    verb = smtpd_verb(s->line.s, s->line.len, &argoff);
    arg = s->line.s + argoff;
    n = s->line.len - argoff;
    switch (verb) {
    case SMTPD_HELO:
    case SMTPD_EHLO: cmd_helo(s, verb, arg, n); break;
    case SMTPD_MAIL: cmd_mail(s, arg, n); break;
    case SMTPD_RCPT: cmd_rcpt(s, arg, n); break;
    case SMTPD_DATA:
      if (n) error_reply(s, "501 5.5.4 DATA takes no argument");
      else cmd_data(s);
      break;
    case SMTPD_BDAT: cmd_bdat(s, arg, n); break;
    case SMTPD_RSET:
      if (n) {
        error_reply(s, "501 5.5.4 RSET takes no argument");
        break;
      }
      transaction_abandon(s, "rset");
      reply(s, "250 2.0.0 ok");
      break;
    case SMTPD_NOOP: reply(s, "250 2.0.0 ok"); break;
    case SMTPD_QUIT:
      transaction_abandon(s, "quit");
      out_write(s, "221 2.0.0 ", 10);
      reply_str(s, &s->cf->me);
      flush(s);
      return;
    case SMTPD_VRFY: reply(s, "252 2.5.2 cannot verify; send the message and delivery will be attempted"); break;
    case SMTPD_HELP: reply(s, "214 2.0.0 commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP"); break;
    case SMTPD_EXPN: error_reply(s, "502 5.5.1 EXPN not available"); break;
    case SMTPD_STARTTLS: cmd_starttls(s, n); break;
    case SMTPD_AUTH: cmd_auth(s, arg, n); break;
    default:
      if (byte_chr(s->line.s, s->line.len, 0) < s->line.len) error_reply(s, "500 5.5.2 NUL byte in command");
      else error_reply(s, "500 5.5.1 command not recognised");
      break;
    }
  }
}

int main(int argc, char **argv)
{
  static struct config cf;
  struct session *s = &S;
  int i;

  die_progname("sluice-smtpd");
  for (i = 1; i < argc; ++i)
    if (!strcmp(argv[i], "-l")) cf.local = 1;
  signal(SIGPIPE, SIG_IGN);
  s->cf = &cf;
  buf_init(&s->in, 0, s->inmem, sizeof s->inmem);
  buf_init(&s->out, 1, s->outmem, sizeof s->outmem);
  read_config(s, &cf);
  deadline_server_start(&cf.limits, &s->in, &s->out);
  out_write(s, "220 ", 4);
  out_write(s, cf.greeting.s, cf.greeting.len);
  reply(s, " ESMTP");
  session(s);
  transaction_abandon(s, "eof");
  flush(s);
  return 0;
}
