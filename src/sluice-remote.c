/* sluice-remote: one remote delivery (sluice-remote(8)).
 *
 *     sluice-remote [-R FULL|HDRS] [-V ENVID] [-N] [--] DOMAIN SENDER RCPT...
 *
 * Run by sluice-rspawn as the remote user with the current directory
 * conf-home, the message on fd 0, the result pipe on fd 1 and SMTPUTF8
 * in the environment when the message has that option. The options
 * are the message's DSN parameters (RFC 3461); with -N each RCPT is
 * followed by two arguments, its NOTIFY letters and its ORCPT (either
 * may be empty). Writes one record per recipient, in order: K, P, Z or
 * D, a text, a NUL (P: delivered, and the next hop took the DSN
 * request). Exit 0 when every record was written, 111 when fd 1 failed,
 * 64 on a bad command line. The work is in remote.c and smtpc.c; TLS is done by
 * conf-home/bin/sluice-tlsc in a process of its own (starttls.h), so
 * this program links no TLS library. Credentials for smarthosts come
 * from control/smtpauth (smtpauth.h), read here, never from argv or the
 * environment. With SLUICE_SCACHEFD naming the socket of
 * sluice-scache (set by sluice-rspawn), connections are taken from and
 * handed to the connection cache (sluice-scache(8)). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "byte.h"
#include "control.h"
#include "die.h"
#include "env.h"
#include "file.h"
#include "remote.h"
#include "scache.h"
#include "sig.h"
#include "smtpc.h"
#include "spawn.h"
#include "str.h"

#define USAGE "sluice-remote [-R FULL|HDRS] [-V envid] [-N] [--] domain sender recipient [notify orcpt] ..."

/* An address that would break the command line it goes into. */
static int unsafe(const char *s, size_t n)
{
  return byte_chr(s, n, '\r') < n || byte_chr(s, n, '\n') < n || n > SPAWN_ADDR_MAX;
}

/* Marks every pending recipient with st/text. */
static void all(struct smtpc_rcpt *r, size_t n, char st, const char *text)
{
  for (size_t i = 0; i < n; ++i)
    if (!r[i].status) {
      r[i].status = st;
      if (str_copys(&r[i].text, text) < 0) die_nomem();
    }
}

/* The control files; a problem marks every recipient Z. control/smtpauth
 * holds passwords: it is refused when others may read it (a deferral
 * that says so, in sluice-send's log), and never quoted. */
static void read_control(struct remote_conf *c, str *me, str *helo, str *routes, str *tlsdest, str *auth,
                         struct smtpc_rcpt *r, size_t n)
{
  int ra;
  unsigned long tconn = 60, tremote = 1200, treply = REMOTE_REPLY_TIME, tdelivery = REMOTE_DELIVERY_TIME, bdat = 1;
  if (control_readline("control/me", me, "localhost") < 0) all(r, n, 'Z', "4.3.5 unable to read control/me");
  if (me->len == 0 && str_copys(me, "localhost") < 0) die_nomem();
  if (control_readline("control/helohost", helo, 0) < 0) all(r, n, 'Z', "4.3.5 unable to read control/helohost");
  if (helo->len == 0 && str_copy(helo, me) < 0) die_nomem();
  if (control_readnum("control/timeoutconnect", &tconn, 60, 1, 86400) < 0)
    all(r, n, 'Z', "4.3.5 unable to read control/timeoutconnect");
  if (control_readnum("control/timeoutremote", &tremote, 1200, 1, 86400) < 0)
    all(r, n, 'Z', "4.3.5 unable to read control/timeoutremote");
  if (control_readnum("control/timeoutremotereply", &treply, REMOTE_REPLY_TIME, 0, 86400) < 0)
    all(r, n, 'Z', "4.3.5 unable to read control/timeoutremotereply");
  if (control_readnum("control/timeoutremotedelivery", &tdelivery, REMOTE_DELIVERY_TIME, 0, 604800) < 0)
    all(r, n, 'Z', "4.3.5 unable to read control/timeoutremotedelivery");
  if (control_readlist("control/smtproutes", routes) < 0) all(r, n, 'Z', "4.3.5 unable to read control/smtproutes");
  if (control_readlist("control/tlsdestinations", tlsdest) < 0)
    all(r, n, 'Z', "4.3.5 unable to read control/tlsdestinations");
  if (control_readnum("control/remotebdat", &bdat, 1, 0, 1) < 0)
    all(r, n, 'Z', "4.3.5 unable to read control/remotebdat");
  c->helo = helo->s;
  c->helolen = helo->len;
  c->timeoutconnect = tconn;
  c->timeoutremote = tremote;
  c->timeoutreply = treply;
  c->timeoutdelivery = tdelivery;
  c->routes = routes;
  c->tcpto_path = "queue/lock/tcpto";
  c->ipme_path = "control/ipme"; /* read by remote.c when it needs them */
  c->notipme_path = "control/notipme";
  c->tlsdest = tlsdest;
  c->bdat = bdat != 0;
  ra = control_readlist_private("control/smtpauth", auth);
  if (ra < 0 && errno == EPERM)
    all(r, n, 'Z', "4.3.5 control/smtpauth may be read by others: not used, and no delivery until it is fixed"
                   " (chmod 600, owner the remote user; see sluice-smtpauth(5))");
  else if (ra < 0)
    all(r, n, 'Z', "4.3.5 unable to read control/smtpauth");
  c->auth = ra > 0 ? auth : 0;
  c->tlsc_path = "bin/sluice-tlsc"; /* conf-home/bin, as the current directory is conf-home */
  c->scache_fd = scache_fd_from_env(); /* from sluice-rspawn, when it runs sluice-scache */
}

/* The value of a DSN argument, or NULL/0 when it may not go on the
 * wire (sluice-spawn(5) says what a request may carry). */
static void dsn_arg(char kind, const char *a, const char **v, size_t *len)
{
  size_t l = strlen(a);
  *v = spawn_dsn_valid(kind, a, l) && l ? a : 0;
  *len = *v ? l : 0;
}

int main(int argc, char **argv)
{
  str me = STR_INIT, helo = STR_INIT, routes = STR_INIT, tlsdest = STR_INIT, auth = STR_INIT, out = STR_INIT;
  struct remote_conf conf;
  struct smtpc_msg msg;
  struct smtpc_scan scan;
  struct smtpc_rcpt *r;
  size_t n, i;
  int utf8, a = 1, pairs = 0;

  die_progname("sluice-remote");
  memset(&msg, 0, sizeof msg);
  /* the DSN options (sluice-rspawn gives them before "--") */
  while (a < argc && argv[a][0] == '-') {
    const char *o = argv[a++];
    if (o[1] == '-' && o[2] == 0) break;
    if (o[1] == 'N' && o[2] == 0) { pairs = 1; continue; }
    if ((o[1] != 'R' && o[1] != 'V') || o[2] != 0 || a >= argc) die_usage(USAGE);
    if (o[1] == 'V') {
      dsn_arg('E', argv[a++], &msg.envid, &msg.envidlen);
    } else {
      const char *v = argv[a++];
      if (case_equalb(v, strlen(v), "FULL", 4)) msg.ret = SMTPC_RET_FULL;
      else if (case_equalb(v, strlen(v), "HDRS", 4)) msg.ret = SMTPC_RET_HDRS;
      else die_usage(USAGE);
    }
  }
  argv += a - 1;
  argc -= a - 1;
  if (argc < 4 || (pairs && (argc - 3) % 3 != 0)) die_usage(USAGE);
  if (sig_ignore(SIGPIPE) < 0) die_temp_sys("unable to ignore SIGPIPE");
  n = (size_t)(argc - 3) / (pairs ? 3 : 1);
  r = calloc(n, sizeof *r);
  if (!r) die_nomem();
  for (i = 0; i < n; ++i) {
    char **arg = argv + 3 + i * (pairs ? 3 : 1);
    r[i].addr = arg[0];
    r[i].len = strlen(arg[0]);
    if (pairs) {
      dsn_arg('N', arg[1], &r[i].notify, &r[i].notifylen);
      dsn_arg('O', arg[2], &r[i].orcpt, &r[i].orcptlen);
    }
    if (r[i].len == 0 || unsafe(r[i].addr, r[i].len)) {
      r[i].status = 'D';
      if (str_copys(&r[i].text, "5.1.3 unusable recipient address") < 0) die_nomem();
    }
  }

  msg.sender = argv[2];
  msg.senderlen = strlen(argv[2]);
  /* the double-bounce sender is the null path on the wire */
  if (str_equals(&(str){ argv[2], msg.senderlen, 0 }, "#@[]")) msg.senderlen = 0;
  if (unsafe(msg.sender, msg.senderlen)) all(r, n, 'D', "5.1.7 unusable sender address");
  msg.fd = 0;
  memset(&scan, 0, sizeof scan);
  if (smtpc_message_scan(0, &scan) < 0) all(r, n, 'Z', "4.3.0 unable to read the message");
  msg.wire = scan.wire;
  msg.eightbit = scan.eightbit;
  /* SMTPUTF8: asked for by the queue (sluice-rspawn sets the variable),
   * and needed by a non-ASCII address whatever the queue says */
  utf8 = byte_8bit(msg.sender, msg.senderlen);
  for (i = 0; i < n; ++i) utf8 |= byte_8bit(r[i].addr, r[i].len);
  {
    const char *asked = env_get("SMTPUTF8");
    msg.smtputf8 = utf8 || (asked && *asked);
  }
  msg.utf8_needed = utf8 || scan.header8bit;

  read_control(&conf, &me, &helo, &routes, &tlsdest, &auth, r, n);
  remote_deliver(&conf, argv[1], strlen(argv[1]), &msg, r, n);
  str_free(&auth); /* clears the passwords */

  for (i = 0; i < n; ++i) {
    size_t len = r[i].text.len;
    if (!r[i].status) r[i].status = 'Z';
    if (r[i].status == 'K' && r[i].dsn_passed) r[i].status = 'P';
    if (len > SPAWN_TEXT_MAX) len = SPAWN_TEXT_MAX;
    if (len == 0 && str_copys(&r[i].text, "no further information") == 0) len = r[i].text.len;
    for (size_t k = 0; k < len; ++k)
      if (r[i].text.s[k] == 0) r[i].text.s[k] = '?';
    if (str_catc(&out, r[i].status) < 0 || str_catb(&out, r[i].text.s, len) < 0 || str_catc(&out, 0) < 0) die_nomem();
  }
  if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write the results");
  for (i = 0; i < n; ++i) str_free(&r[i].text);
  free(r);
  str_free(&out);
  str_free(&routes);
  str_free(&tlsdest);
  str_free(&helo);
  str_free(&me);
  return 0;
}
