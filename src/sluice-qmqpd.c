/* sluice-qmqpd: the QMQP server (sluice-qmqpd(8)).
 *
 * Run by tcpserver as the daemon user for trusted clients only (the
 * tcprules of the service decide who may connect: there is no relay
 * check here). One message per connection: a single netstring holding
 * the message netstring, the sender netstring and one netstring per
 * recipient; one reply netstring, K, Z or D. The message is streamed to
 * the injector as it arrives, converted to the queue's line form
 * (lineform.h); the sender and recipients, bounded by
 * QMTP_TAIL_MAX, are read into memory and parsed by qmqp_tail_parse,
 * every address with sluice-smtpd's parser (qmtp_addr_parse): a
 * request with one that does not parse is refused whole (D). The
 * framing is in qmtp_session, which the fuzz target fuzz_qmtpd runs.
 * Exit: 0 after a reply (or a connection closed before any byte), 100
 * after a protocol violation (closed without a reply, nothing queued),
 * 111 on a timeout or trouble.
 *
 * Time limits (deadline.h), besides timeoutsmtpd per read or write:
 * the command total of sluice-smtpd bounds the length prefixes, then
 * the sender and recipients, then the reply; the data total bounds the
 * message; the session total the connection. Past one the connection
 * is closed without a reply (nothing queued). */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "auto.h"
#include "buf.h"
#include "byte.h"
#include "control.h"
#include "deadline.h"
#include "die.h"
#include "env.h"
#include "file.h"
#include "fmt.h"
#include "lineform.h"
#include "netstring.h"
#include "qmtp.h"
#include "qmtp_io.h"
#include "qmtp_session.h"
#include "queue.h"
#include "scan.h"
#include "size.h"
#include "str.h"
#include "wait.h"

struct server {
  buf in, out;
  char inmem[8192], outmem[1024];
  str chunk, tail, sender, rcpts, env, reply, log, me, local_host, qq_path;
  unsigned long databytes;
  struct deadline_server limits; /* timeoutsmtpd and the totals */
  int in_data;                   /* the total armed last is the data's */
  struct qmtp_peer peer;
  const char *qq;
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

static void log_line(struct server *s, const char *what, const char *p, size_t n, const char *qp)
{
  const char *ip = s->peer.remote_ip ? s->peer.remote_ip : "unknown";
  str *l = &s->log;

  str_truncate(l, 0);
  if (str_copys(l, "sluice-qmqpd: pid ") == 0 && str_catulong(l, (unsigned long)getpid()) == 0
      && str_cats(l, " from ") == 0 && cat_loggable(l, ip, byte_len(ip, 64)) == 0 && str_catc(l, ' ') == 0
      && str_cats(l, what) == 0 && cat_loggable(l, p, n) == 0
      && (!qp || (str_cats(l, " qp ") == 0 && str_cats(l, qp) == 0)) && str_catc(l, '\n') == 0)
    (void)write_all(2, l->s, l->len);
}

static _Noreturn void give_up(struct server *s, int code, const char *why)
{
  log_line(s, "closing: ", why, byte_len(why, 200), 0);
  _exit(code);
}

static _Noreturn void read_failed(struct server *s)
{
  int perm;
  const char *why = qmtp_read_error(errno, &perm);
  if (errno == ETIMEDOUT) {
    switch (deadline_server_which(&s->limits, &s->in)) {
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
  deadline_server_arm(&s->limits, &s->in, &s->out, seconds);
  s->in_data = in_data;
}

static _Noreturn void nomem(struct server *s)
{
  give_up(s, EXIT_TEMP, "out of memory");
}

static void control_trouble(struct server *s, const char *file)
{
  warn_sys("unable to read control/", file);
  give_up(s, EXIT_TEMP, "unable to read controls");
}

static void read_config(struct server *s)
{
  const char *e;
  char host[256];
  unsigned long num;

  if (chdir(auto_home) < 0) {
    warn_sys("unable to switch to ", auto_home);
    give_up(s, EXIT_TEMP, "unable to read controls");
  }
  if (gethostname(host, sizeof host - 1) < 0) host[0] = 0;
  host[sizeof host - 1] = 0;
  if (control_readline("control/me", &s->me, host[0] ? host : "localhost") < 0) control_trouble(s, "me");
  if (str_0(&s->me) < 0) nomem(s);
  if (deadline_server_read(&s->limits, &e) < 0) control_trouble(s, e);
  if (control_readnum("control/databytes", &s->databytes, QUEUE_DATABYTES_DEFAULT, 0, (unsigned long)-1) < 0) control_trouble(s, "databytes");
  e = env_get("DATABYTES");
  if (e && scan_ulong_exact(e, byte_len(e, 64), &num) == 0) s->databytes = num;
  {
    int r = qmtp_peer_env(&s->peer, &s->local_host, s->me.s);
    if (r == -2) control_trouble(s, "smtpdnamewait");
    if (r < 0) nomem(s);
  }
  s->qq = qmtp_queue_program(&s->qq_path);
  if (!s->qq) nomem(s);
}

/* Once the injector has answered, the reply gets a command's time even
 * past the session's end: a client must learn that its message is
 * queued. */
static void send_reply(struct server *s)
{
  buf_set_deadline(&s->out, deadline_after(s->limits.command * 1000));
  str_truncate(&s->chunk, 0);
  if (netstring_cat(&s->chunk, s->reply.s, s->reply.len) < 0) nomem(s);
  if (buf_putflush(&s->out, s->chunk.s, s->chunk.len) < 0) give_up(s, EXIT_TEMP, "write error");
}

int main(void)
{
  static struct server srv;
  struct server *s = &srv;
  struct qmqp_tail t;
  size_t mlen, tlen;
  unsigned long stored = 0;
  const char *bad = 0;
  char qp[FMT_ULONG + 4];
  int r, msgfd = -1, envfd = -1, write_failed = 0, status = 0;
  pid_t pid = -1;

  die_progname("sluice-qmqpd");
  signal(SIGPIPE, SIG_IGN);
  buf_init(&s->in, 0, s->inmem, sizeof s->inmem);
  buf_init(&s->out, 1, s->outmem, sizeof s->outmem);
  read_config(s);
  deadline_server_start(&s->limits, &s->in, &s->out);
  arm(s, s->limits.command, 0);

  /* the message netstring must fit inside the outer one, with its
   * comma; checked before a byte of the message is read */
  r = qmqp_session_head(&s->in, &mlen, &tlen);
  if (r == 0) return 0;
  if (r < 0) read_failed(s);

  qp[0] = 0;
  if (s->databytes && mlen > s->databytes) {
    bad = "Dmessage size exceeds fixed maximum message size (#5.3.4)";
  } else {
    pid = qmtp_qq_received(s->qq, &s->peer, "QMQP", &s->chunk, &msgfd, &envfd, &write_failed);
    if (pid == -2) nomem(s);
    if (pid < 0) {
      warn_sys("unable to start the queue program");
      bad = "Zqq unable to start (#4.3.0)";
    } else {
      qp[fmt_ulong(qp, (unsigned long)pid)] = 0;
    }
  }
  arm(s, s->limits.data, 1);
  if (qmtp_session_body(&s->in, mlen, msgfd, &s->chunk, &stored, &write_failed) < 0) read_failed(s);
  if (msgfd >= 0) close(msgfd);
  arm(s, s->limits.command, 0);
  /* the sender and the recipients, then the outer comma; exiting on a
   * failure closes the envelope pipe: nothing queued */
  if (qmqp_session_tail(&s->in, tlen, &s->tail, &t, &s->rcpts) < 0) read_failed(s);

  if (!bad && t.addr_error == QMTP_ADDR_LONG) bad = "Daddress too long (#5.1.3)";
  if (!bad && t.addr_error == QMTP_ADDR_SYNTAX) bad = "Dsender or recipient is not a valid address (#5.1.3)";
  if (!bad && t.addr_error) bad = "Daddress unusable (#5.1.3)";
  /* the sender as the envelope stores it: canonical, as the recipients */
  if (!bad && (r = qmtp_addr_parse(t.sender, t.sender_len, QMQP_SENDER, &s->sender)) != ADDR_OK) {
    if (r == ADDR_ENOMEM) nomem(s);
    bad = "Dsender or recipient is not a valid address (#5.1.3)"; /* cannot happen: checked above */
  }
  if (pid >= 0) {
    if (!bad && !write_failed) {
      if (str_copys(&s->env, "F") < 0 || str_cat(&s->env, &s->sender) < 0 || str_catc(&s->env, 0) < 0
          || str_cat(&s->env, &s->rcpts) < 0 || str_catc(&s->env, 0) < 0)
        nomem(s);
      (void)write_all(envfd, s->env.s, s->env.len);
    }
    close(envfd);
    if (wait_pid(pid, &status) < 0) status = 0x7f00;
  }
  if (bad) {
    if (str_copys(&s->reply, bad) < 0) nomem(s);
  } else if (write_failed && wait_exitcode(status) == 0) {
    if (str_copys(&s->reply, "Zqq write error or disk full (#4.3.0)") < 0) nomem(s);
  } else {
    str id = STR_INIT;
    if (str_copys(&id, "qp ") < 0 || str_cats(&id, qp) < 0 || str_0(&id) < 0) nomem(s);
    if (qmtp_qq_reply(&s->reply, status, id.s) < 0) nomem(s);
    str_free(&id);
  }
  send_reply(s);
  {
    str what = STR_INIT;
    if (str_copys(&what, "mail <") == 0 && cat_loggable(&what, t.sender, t.sender_len) == 0
        && str_cats(&what, "> rcpts ") == 0 && str_catulong(&what, (unsigned long)t.nrcpt) == 0
        && str_cats(&what, " bytes ") == 0 && str_catulong(&what, (unsigned long)mlen) == 0
        && str_cats(&what, " result ") == 0 && str_0(&what) == 0)
      log_line(s, what.s, s->reply.s, s->reply.len, qp[0] ? qp : 0);
    str_free(&what);
  }
  return 0;
}
