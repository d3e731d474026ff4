/* sluice-authcheck: SPF, DKIM and DMARC checks of inbound mail between
 * sluice-smtpd and sluice-queue (QMAILQUEUE interface: the message on
 * fd 0, the envelope on fd 1), writing one Authentication-Results
 * header; see sluice-authcheck(8). The checks are in authcheck.c; this
 * file reads the input and the configuration, logs, and hands the
 * message on. It links libcrypto (dkim_crypto.c) and holds no key. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auto.h"
#include "authcheck.h"
#include "byte.h"
#include "control.h"
#include "deadline.h"
#include "die.h"
#include "dkim_crypto.h"
#include "dns.h"
#include "env.h"
#include "file.h"
#include "ip.h"
#include "qmtp_io.h"
#include "str.h"
#include "wait.h"

#define MESSAGE_MAX (256UL << 20)
#define ENVELOPE_MAX (64UL << 20)
/* qmail-queue's table (sluice-queue(8)) */
#define QQ_NOMEM 51
#define QQ_READ 54
#define QQ_CONFIG 55
#define QQ_HOME 61
#define QQ_BUG 81

static _Noreturn void fail(int code, const char *what)
{
  die_sys(code, what);
}

/* The sender of the envelope: after an optional O record, "F" sender
 * NUL. Returns 0 or -1 (malformed: exit 91 as sluice-queue would). */
static int envelope_sender(const str *envl, const char **s, size_t *n)
{
  size_t pos = 0, z;
  if (envl->len > 0 && envl->s[0] == 'O') {
    z = byte_chr(envl->s, envl->len, 0);
    if (z == envl->len) return -1;
    pos = z + 1;
  }
  if (pos >= envl->len || envl->s[pos] != 'F') return -1;
  z = byte_chr(envl->s + pos, envl->len - pos, 0);
  if (z == envl->len - pos) return -1;
  *s = envl->s + pos + 1;
  *n = z - 1;
  return 0;
}

static int policy_has(const str *list, const char *word)
{
  size_t pos = 0, len;
  const char *e;
  while (control_next(list, &pos, &e, &len))
    if (case_equalb(e, len, word, byte_len(word, 64))) return 1;
  return 0;
}

int main(void)
{
  str msg = STR_INIT, envl = STR_INIT, me = STR_INIT, policy = STR_INIT, suffixes = STR_INIT, out = STR_INIT,
      qpath = STR_INIT;
  struct authcheck_conf conf;
  struct authcheck_input in;
  struct authcheck_result res;
  struct authcheck_crypto cr = { dkim_crypto_sha256, dkim_crypto_verify };
  struct dns_conf dc;
  struct spf_dns dns;
  const char *e, *qprog;
  int msgfd, envfd, status;
  pid_t pid;

  die_progname("sluice-authcheck");
  signal(SIGPIPE, SIG_IGN);
  if (read_fd_all(0, &msg, MESSAGE_MAX) < 0) fail(errno == ENOMEM ? QQ_NOMEM : QQ_READ, "unable to read the message");
  if (read_fd_all(1, &envl, ENVELOPE_MAX) < 0) fail(errno == ENOMEM ? QQ_NOMEM : QQ_READ, "unable to read the envelope");
  if (chdir(auto_home) < 0) fail(QQ_HOME, "unable to enter conf-home");
  if (control_readline("control/me", &me, "localhost") < 0) fail(QQ_CONFIG, "unable to read control/me");
  if (control_readlist("control/authcheck", &policy) < 0) fail(QQ_CONFIG, "unable to read control/authcheck");
  if (control_readlist("control/publicsuffix", &suffixes) < 0) fail(QQ_CONFIG, "unable to read control/publicsuffix");
  if (dns_conf_load(&dc) < 0) fail(QQ_CONFIG, "unable to read the DNS configuration");
  dc.deadline = deadline_after(120000); /* all lookups together */
  authcheck_dns(&dns, &dc);

  conf.me = me.s ? me.s : "";
  conf.me_len = me.len;
  conf.publicsuffix = &suffixes;
  conf.reject_spf = policy_has(&policy, "reject-spf-fail");
  conf.reject_dmarc = policy_has(&policy, "reject-dmarc");
  conf.defer_temp = policy_has(&policy, "defer-temperror");
  conf.now = deadline_now() / 1000;

  memset(&in, 0, sizeof in);
  e = env_get("TCPREMOTEIP");
  if (e) {
    size_t n = byte_len(e, 64);
    if (n > 0 && ip4_scan(e, n, in.ip) == n) {
      in.have_ip = 1;
      in.family = AF_INET;
    } else if (n > 0 && ip6_scan(e, n, in.ip) == n) {
      in.have_ip = 1;
      in.family = AF_INET6;
    }
  }
  e = env_get("SMTPHELO");
  in.helo = e ? e : "";
  in.helo_len = e ? byte_len(e, 255) : 0;
  if (envelope_sender(&envl, &in.sender, &in.sender_len) < 0) die_msg(91, "malformed envelope");
  in.msg = msg.s ? msg.s : "";
  in.msg_len = msg.len;

  if (authcheck_run(&conf, &dns, &cr, &in, &res) < 0) fail(QQ_NOMEM, "out of memory");
  if (res.verdict != AUTHCHECK_ACCEPT) {
    if (str_0(&res.why) < 0) fail(QQ_NOMEM, "out of memory");
    warn_msg(res.verdict == AUTHCHECK_DEFER ? "deferred: " : "refused: ", res.why.s);
    _exit(res.verdict);
  }
  if (authcheck_message(&res, &in, &out) < 0) fail(QQ_NOMEM, "out of memory");
  authcheck_result_free(&res);
  str_free(&msg);

  qprog = env_get("AUTHCHECK_QUEUE");
  if (!qprog || !*qprog) {
    if (str_copys(&qpath, auto_home) < 0 || str_cats(&qpath, "/bin/sluice-queue") < 0 || str_0(&qpath) < 0)
      fail(QQ_NOMEM, "out of memory");
    qprog = qpath.s;
  }
  pid = qmtp_qq_start(qprog, &msgfd, &envfd);
  if (pid < 0) fail(71, "unable to start the queue program");
  (void)write_all(msgfd, out.s ? out.s : "", out.len);
  close(msgfd);
  (void)write_all(envfd, envl.s, envl.len);
  close(envfd);
  if (wait_pid(pid, &status) < 0) fail(QQ_BUG, "unable to wait for the queue program");
  if (wait_crashed(status)) die_msg(QQ_BUG, "the queue program crashed");
  _exit(wait_exitcode(status));
}
