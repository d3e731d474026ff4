/* sluice-showctl: prints the configuration in force (sluice-showctl(8)).
 *
 * For every control file a sluice program or run script reads
 * (sluice-control(5)), grouped as in that page, one block:
 *     name: value               (single-value files)
 *     name: (default: X)        (missing file)
 *     name:                     (lists, one indented entry a line)
 *     name: (present)           (cdb files)
 *       meaning
 * then one line "control/NAME: unknown control file" for every other
 * file in control/, then a WARNING line (also on stderr) for each
 * setting the programs would refuse or that changes what they accept:
 * a missing rcpthosts, a number out of range, a bad bounceformat, a
 * malformed smtproutes, tlsdestinations, ipme, notipme or qmqpservers
 * entry, a tcprules source newer than its cdb, a control/smtpauth that
 * others may read or with a malformed entry (never shown: it holds
 * passwords). Exit 0, or 111 when
 * control/ or a file in it cannot be read. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.h"
#include "auto.h"
#include "buf.h"
#include "control.h"
#include "die.h"
#include "file.h"
#include "ipme.h"
#include "qmtp.h"
#include "scan.h"
#include "smtpauth.h"
#include "smtproutes.h"
#include "tlspolicy.h"
#include "str.h"

/* HEAD is a group title, not a file. NUM is a one-value file holding a
 * decimal number from min to max. SECRET is a list that holds
 * passwords: never shown, only counted and checked. */
enum kind { HEAD, ONE, NUM, LIST, CDB, SECRET };

struct ctl {
  const char *name;
  enum kind kind;
  const char *dflt;    /* text shown for a missing file; "=me" means the value of me */
  const char *meaning;
  unsigned long min, max;
  const char *bad;     /* NUM: what a value out of range does */
};

#define SMTPD_BAD "sluice-smtpd answers every connection with 421"
#define SERVERS_BAD "sluice-smtpd, sluice-qmtpd and sluice-qmqpd refuse every connection"
#define SEND_BAD "sluice-send does not start (after SIGHUP it keeps the old configuration)"
#define REMOTE_BAD "every remote delivery fails temporarily (and sluice-qmqpc every message)"
#define LSPAWN_BAD "sluice-lspawn exits at start, and with it the delivery set (supervise retries)"
#define SCRIPT_BAD "tcpserver in the run scripts cannot use it"
#define RCPTFRESH_BAD "the sluice-rcptfresh service logs it and uses 60"
#define DATABYTES_BAD "sluice-smtpd, sluice-qmtpd and sluice-qmqpd refuse every connection, and sluice-queue and sluice-inject every message (exit 55, 111)"

static const struct ctl ctls[] = {
  { "This host", HEAD, 0, 0, 0, 0, 0 },
  { "me", ONE, "localhost; sluice-smtpd, -qmtpd, -qmqpd and the run scripts: the system's host name",
    "this host's name; the default for most host-name files below", 0, 0, 0 },

  { "Scheduling and bounces: sluice-send, reread on SIGHUP (svc -h)", HEAD, 0, 0, 0, 0, 0 },
  { "locals", LIST, "=me", "domains delivered on this host (sluice-send; sluice-smtpd for rcptcheck.cdb)", 0, 0, 0 },
  { "virtualdomains", LIST, "none", "key:prepend rules that make addresses local to a user", 0, 0, 0 },
  { "percenthack", LIST, "none",
    "domains where user%host@domain becomes user@host: a relay to host, so sluice-smtpd and "
    "sluice-qmtpd take such recipients only from RELAYCLIENT clients (others get 553 5.7.1)", 0, 0, 0 },
  { "envnoathost", ONE, "=me", "domain added to an envelope recipient without @", 0, 0, 0 },
  { "concurrencylocal", NUM, "10", "most local deliveries at once (1 to 1000)", 1, 1000, SEND_BAD },
  { "concurrencyremote", NUM, "20", "most remote deliveries at once (1 to 1000)", 1, 1000, SEND_BAD },
  { "queuelifetime", NUM, "604800",
    "seconds in the queue after which a temporary failure becomes permanent", 0, 100000000UL, SEND_BAD },
  { "bouncefrom", ONE, "MAILER-DAEMON", "sender user name of bounces", 0, 0, 0 },
  { "bouncehost", ONE, "=me", "sender host name of bounces", 0, 0, 0 },
  { "doublebounceto", ONE, "postmaster", "user that gets double bounces; empty: they are dropped", 0, 0, 0 },
  { "doublebouncehost", ONE, "=me", "host added to doublebounceto", 0, 0, 0 },
  { "bounceformat", ONE, "rfc3464", "bounce format: rfc3464 (DSN) or qsbmf (qmail's)", 0, 0, 0 },

  { "Local delivery: sluice-lspawn, read at start (svc -t sluice-send)", HEAD, 0, 0, 0, 0, 0 },
  { "defaultdelivery", ONE, "./Maildir/", "delivery (first line, .qmail syntax) for users without a .qmail file", 0, 0,
    0 },
  { "timeoutlocal", NUM, "3600",
    "seconds a .qmail program may run; then its process group is killed and the delivery deferred", 1,
    100000000UL, LSPAWN_BAD },
  { "concurrencyuser", NUM, "half of concurrencylocal, rounded up",
    "most local deliveries at once under one uid; one more is deferred (1 to 1000)", 1, 1000, LSPAWN_BAD },
  { "timeoutgetpw", NUM, "10",
    "seconds to wait for each answer of sluice-getpw; then it is killed and the delivery deferred",
    1, 3600, LSPAWN_BAD },
  { "getpwcache", NUM, "60",
    "seconds an answer of sluice-getpw is kept (one that found no account: 10 at most); 0 none", 0, 86400,
    LSPAWN_BAD },
  { "recipientdelimiter", ONE, "none: only the dash (qmail's user-ext)",
    "delimiters besides the dash, e.g. +: user+tag goes to user (dot-qmail(5)); sluice-smtpd reads it too",
    0, 0, 0 },
  { "aliasfile", ONE, "/etc/aliases", "the alias file that newaliases compiles into users/aliases.cdb (aliases(5))",
    0, 0, 0 },

  { "Remote delivery: sluice-remote, read at every delivery", HEAD, 0, 0, 0, 0, 0 },
  { "helohost", ONE, "=me", "host name sluice-remote sends in EHLO/HELO", 0, 0, 0 },
  { "smtproutes", LIST, "none: MX records", "domain:relay:port static routes (sluice-smtproutes(5))", 0, 0, 0 },
  { "tlsdestinations", LIST, "none: may everywhere",
    "key:level[:cafile] TLS policy per [relay], domain or .suffix: none, may, encrypt, verify (sluice-control(5))", 0,
    0, 0 },
  { "smtpauth", SECRET, "none: no AUTH",
    "[relay]:port, [relay] or domain, [options,] login:password for smarthosts; owner the remote user, mode 600 "
    "(sluice-smtpauth(5))", 0, 0, 0 },
  { "ipme", LIST, "none: the interfaces' addresses, 0.0.0.0, ::, 127.0.0.0/8, ::1",
    "more addresses of this host (ADDR or ADDR/LEN; e.g. a NAT router's): mail whose best MX host is one "
    "fails 5.4.6 instead of looping (sluice-remote(8))", 0, 0, 0 },
  { "notipme", LIST, "none",
    "addresses (ADDR or ADDR/LEN) that are not this host for that check, though it has them; they win over ipme", 0,
    0, 0 },
  { "timeoutconnect", NUM, "60", "seconds to wait for a connection (sluice-remote, sluice-qmqpc)", 1, 86400,
    REMOTE_BAD },
  { "timeoutremote", NUM, "1200", "seconds to wait for each read or write (sluice-remote, sluice-qmqpc)", 1, 86400,
    REMOTE_BAD },
  { "timeoutremotereply", NUM, "600",
    "total seconds for a command and its whole reply, against servers that trickle them; 0 no limit", 0, 86400,
    REMOTE_BAD },
  { "timeoutremotedelivery", NUM, "1800",
    "total seconds for one delivery (every host tried, the message included); 0 no limit", 0, 604800, REMOTE_BAD },
  { "remotebdat", NUM, "1", "1: BDAT chunks to a server offering CHUNKING (RFC 3030); 0: always DATA", 0, 1,
    "every remote delivery fails temporarily" },
  { "remotecache", NUM, "2",
    "seconds sluice-scache keeps an idle plaintext SMTP connection for reuse; 0 off (read by sluice-rspawn at start)",
    0, 3600, "sluice-rspawn runs without the connection cache (logged)" },

  { "Receiving: sluice-smtpd, sluice-qmtpd, sluice-qmqpd, read at every connection", HEAD, 0, 0, 0, 0, 0 },
  { "rcpthosts", LIST, "none: only RELAYCLIENT clients may send mail in",
    "domains sluice-smtpd accepts mail for (others need RELAYCLIENT)", 0, 0, 0 },
  { "morercpthosts.cdb", CDB, "none", "more rcpthosts domains, for sluice-smtpd and sluice-qmtpd", 0, 0, 0 },
  { "morercpthosts", LIST, "none", "the source of morercpthosts.cdb: run sluice-newmrh after a change", 0, 0, 0 },
  { "rcptcheck.cdb", CDB, "none: no check",
    "local parts that exist (sluice-newrcpt); sluice-smtpd refuses others with 550", 0, 0, 0 },
  { "rcptfreshinterval", NUM, "60",
    "seconds between the passes of the sluice-rcptfresh service, which rebuilds rcptcheck.cdb (as root) when "
    "it would change; 0 stops the service (sluice-newrcpt(8))", 0, 99999999UL, RCPTFRESH_BAD },
  { "badmailfrom", LIST, "none", "envelope senders (address or @host) sluice-smtpd refuses", 0, 0, 0 },
  { "databytes", NUM, "10240000 (0: no limit)", "largest message accepted, in bytes; env DATABYTES overrides", 0,
    (unsigned long)-1, DATABYTES_BAD },
  { "maxrcpt", NUM, "1000", "most recipients sluice-smtpd accepts per message (1 to 100000)", 1, 100000UL,
    SMTPD_BAD },
  { "timeoutsmtpd", NUM, "1200", "seconds the servers wait for each read or write", 1, 86400, SERVERS_BAD },
  { "timeoutsmtpdcommand", NUM, "300",
    "total seconds per command, against clients that trickle bytes (all three servers); 0 no limit", 0, 86400,
    SERVERS_BAD },
  { "timeoutsmtpddata", NUM, "600", "total seconds for the message data (all three servers); 0 no limit", 0, 86400,
    SERVERS_BAD },
  { "timeoutsmtpdsession", NUM, "1800", "total seconds per connection (all three servers); 0 no limit", 0, 604800,
    SERVERS_BAD },
  { "smtpgreeting", ONE, "=me", "text of sluice-smtpd's 220 greeting", 0, 0, 0 },
  { "localiphost", ONE, "=me", "name sluice-smtpd puts in place of its own address in box@[ip]", 0, 0, 0 },
  { "smtpdnamewait", NUM, "2000",
    "ms of DNS for the client's name in Received (all three servers); 0 /etc/hosts only", 0, 60000,
    SERVERS_BAD },
  { "tlsrequired", ONE, "none: STARTTLS optional",
    "first line not 0: sluice-smtpd refuses MAIL (530 5.7.0) until the client has started TLS", 0, 0, 0 },
  { "tls", CDB, "none: no STARTTLS, sluice-smtps refuses",
    "directory of sluice-tlsd's cert.pem and NAME.pem (SNI): certificate, chain and key, for root "
    "and the tls user only (sluice-tlsd(8))", 0, 0, 0 },

  { "AUTH: sluice-smtpd (every connection), sluice-checkpassword (every AUTH)", HEAD, 0, 0, 0, 0, 0 },
  { "smtpdauth", ONE, "none: no AUTH where SMTPAUTH is unset (port 25)",
    "AUTH where SMTPAUTH is unset: - off, else on over TLS; + also without TLS, ! before MAIL", 0, 0, 0 },
  { "checkpassword", ONE, "conf-home/bin/sluice-checkpassword",
    "the checkpassword command sluice-smtpd runs for AUTH (path and arguments)", 0, 0, 0 },
  { "smtpauthreceived", NUM, "0", "1: Received names the login of an authenticated client", 0, 1, SMTPD_BAD },
  { "smtpauthsenders.cdb", CDB, "none: any sender",
    "the senders each login may use (sluice-newauth smtpauthsenders); others 553 5.7.1", 0, 0, 0 },
  { "smtpauthsenders", CDB, "none", "the source of smtpauthsenders.cdb (login:address or login:@domain)", 0, 0, 0 },
  { "checkpasswordsource", LIST, "virtual", "where sluice-checkpassword looks logins up: virtual, system", 0, 0, 0 },
  { "authpasswd.cdb", CDB, "none: no virtual users",
    "virtual users' crypt(3) hashes, root:shadow 0640 (sluice-newauth authpasswd)", 0, 0, 0 },
  { "authpasswd", CDB, "none", "the source of authpasswd.cdb (login:hash), root:shadow 0640", 0, 0, 0 },

  { "Inbound SPF, DKIM, DMARC: sluice-authcheck (every message on port 25 while authcheck exists)", HEAD, 0, 0, 0,
    0, 0 },
  { "authcheck", LIST, "none: no checks (the port 25 run scripts set QMAILQUEUE only while it exists)",
    "empty: Authentication-Results only; reject-spf-fail, reject-dmarc (550 5.7.1), defer-temperror (451)", 0, 0,
    0 },
  { "publicsuffix", LIST, "the built-in list", "more public suffixes for DMARC's organizational domains", 0, 0, 0 },

  { "Services: the run scripts of boot/, read at service start (svc -t)", HEAD, 0, 0, 0, 0, 0 },
  { "smtpdip", ONE, "127.0.0.1", "IPv4 address of sluice-smtpd; 0 every address (smtpd6 stands down); - off", 0, 0,
    0 },
  { "smtpdip6", ONE, "::1", "IPv6 address of sluice-smtpd6; - off", 0, 0, 0 },
  { "smtpdport", NUM, "25", "port of sluice-smtpd and -smtpd6 (env SLUICE_SMTPD_PORT wins)", 1, 65535, SCRIPT_BAD },
  { "smtpsip", ONE, "none: off", "address of sluice-smtps (implicit TLS); 0 every address", 0, 0, 0 },
  { "smtpsport", NUM, "465", "port of sluice-smtps", 1, 65535, SCRIPT_BAD },
  { "submissionip", ONE, "none: off", "address of sluice-submission (587, STARTTLS and AUTH); 0 every address", 0,
    0, 0 },
  { "submissionport", NUM, "587", "port of sluice-submission (env SLUICE_SUBMISSION_PORT wins)", 1, 65535,
    SCRIPT_BAD },
  { "submissionsip", ONE, "none: off", "address of sluice-submissions (465, implicit TLS, AUTH); 0 every address",
    0, 0, 0 },
  { "submissionsport", NUM, "465", "port of sluice-submissions (env SLUICE_SUBMISSIONS_PORT wins)", 1, 65535,
    SCRIPT_BAD },
  { "qmtpdip", ONE, "127.0.0.1", "address of sluice-qmtpd; 0 every address; - off", 0, 0, 0 },
  { "qmtpdport", NUM, "209", "port of sluice-qmtpd (env SLUICE_QMTPD_PORT wins)", 1, 65535, SCRIPT_BAD },
  { "qmqpdip", ONE, "127.0.0.1", "address of sluice-qmqpd; 0 every address; - off", 0, 0, 0 },
  { "qmqpdport", NUM, "628", "port of sluice-qmqpd (env SLUICE_QMQPD_PORT wins)", 1, 65535, SCRIPT_BAD },
  { "concurrencyincoming", NUM, "40", "most connections at once, per service (tcpserver -c)", 1, 1000000UL,
    SCRIPT_BAD },
  { "tcp.smtp.cdb", CDB, "none: sluice-smtpd and -smtpd6 do not start",
    "client rules (RELAYCLIENT) of sluice-smtpd, read by tcpserver per connection", 0, 0, 0 },
  { "tcp.smtp", LIST, "copied from boot/tcp.smtp by tools/services", "tcprules source of tcp.smtp.cdb", 0, 0, 0 },
  { "tcp.submission.cdb", CDB, "none: the submission services do not start",
    "client rules of sluice-submission and sluice-submissions", 0, 0, 0 },
  { "tcp.submission", LIST, "copied from boot/tcp.submission by tools/services",
    "tcprules source of tcp.submission.cdb", 0, 0, 0 },
  { "tcp.qmtp.cdb", CDB, "none: tcp.smtp.cdb is used", "client rules of sluice-qmtpd", 0, 0, 0 },
  { "tcp.qmtp", LIST, "none", "tcprules source of tcp.qmtp.cdb", 0, 0, 0 },
  { "tcp.qmqp.cdb", CDB, "none: sluice-qmqpd does not start",
    "the only clients sluice-qmqpd serves (QMQP has no relay check)", 0, 0, 0 },
  { "tcp.qmqp", LIST, "copied from boot/tcp.qmqp by tools/services", "tcprules source of tcp.qmqp.cdb", 0, 0, 0 },

  { "Injection: sluice-inject (sendmail), read for every message", HEAD, 0, 0, 0, 0, 0 },
  { "defaultdomain", ONE, "=me", "domain sluice-inject appends to a host name without a dot (not to locals)", 0, 0, 0 },
  { "defaulthost", ONE, "=me", "host sluice-inject adds to a bare name (fred: fred@defaulthost), From, sender", 0, 0, 0 },
  { "idhost", ONE, "=me", "host part of the Message-IDs sluice-inject makes", 0, 0, 0 },
  { "plusdomain", ONE, "=me", "domain sluice-inject puts in place of a trailing + of a host", 0, 0, 0 },

  { "DKIM signing: sluice-dkimsign, read for every message", HEAD, 0, 0, 0, 0, 0 },
  { "dkimdomains", LIST, "none: nothing is signed",
    "domain selector keyfile: sluice-inject signs local and submitted mail through sluice-dkimsign "
    "(sluice-dkimdomains(5))", 0, 0, 0 },
  { "dkimcanon", ONE, "relaxed", "relaxed or simple: the canonicalization of the signatures", 0, 0, 0 },
  { "dkim", CDB, "none", "directory of the DKIM private keys, for the dkim user only (sluice-dkimkey(8))", 0, 0,
    0 },

  { "QMQP client: sluice-qmqpc, read for every message", HEAD, 0, 0, 0, 0, 0 },
  { "qmqpservers", LIST, "none: sluice-qmqpc fails", "QMQP servers sluice-qmqpc tries, in order", 0, 0, 0 },
  { "qmqpspread", ONE, "order", "where each message starts in qmqpservers: order, random or roundrobin", 0, 0, 0 },
  { "qmqpskip", NUM, "60", "seconds a server whose connect failed is tried after the others (qmqp/tcpto); 0 never",
    0, 86400, "sluice-qmqpc fails every message (exit 55)" },
};

#define NCTLS (sizeof ctls / sizeof ctls[0])

/* The tcprules and cdb sources whose staleness is worth a warning. */
static const char *const compiled[][3] = {
  { "tcp.smtp", "tcp.smtp.cdb", "tcprules (or tools/services)" },
  { "tcp.qmtp", "tcp.qmtp.cdb", "tcprules (or tools/services)" },
  { "tcp.qmqp", "tcp.qmqp.cdb", "tcprules (or tools/services)" },
  { "morercpthosts", "morercpthosts.cdb", "sluice-newmrh" },
};

/* One-value files whose readers take an empty first line as missing. */
static const char *const empty_is_default[] = {
  "envnoathost", "bouncehost", "doublebouncehost", "defaultdelivery", "helohost", "aliasfile",
  "smtpdip", "smtpdip6", "smtpdport", "qmtpdip", "qmtpdport", "qmqpdip", "qmqpdport", "concurrencyincoming",
};

static int empty_default(const char *name)
{
  for (size_t i = 0; i < sizeof empty_is_default / sizeof empty_is_default[0]; ++i)
    if (!strcmp(name, empty_is_default[i])) return 1;
  return 0;
}

static void nomem_if(int r)
{
  if (r < 0) die_nomem();
}

static void path(str *p, const char *n)
{
  nomem_if(str_copys(p, "control/"));
  nomem_if(str_cats(p, n));
  nomem_if(str_0(p));
}

/* One warning: a WARNING line in out, the same on stderr. */
static void warning(str *w, const char *a, const char *b, const char *c)
{
  nomem_if(str_cats(w, "WARNING: "));
  nomem_if(str_cats(w, a));
  nomem_if(str_cats(w, b));
  nomem_if(str_cats(w, c));
  nomem_if(str_catc(w, '\n'));
  warn_msg(a, b, c);
}

/* The value of a NUM file v (present): a warning unless in range. */
static void check_num(const struct ctl *c, const str *v, str *w)
{
  unsigned long u;
  str t = STR_INIT;
  if (scan_ulong_exact(v->s, v->len, &u) == 0 && u >= c->min && u <= c->max) return;
  nomem_if(str_cats(&t, " is not a number from "));
  nomem_if(str_catulong(&t, c->min));
  nomem_if(str_cats(&t, " to "));
  nomem_if(str_catulong(&t, c->max));
  nomem_if(str_cats(&t, ": "));
  nomem_if(str_cats(&t, c->bad));
  nomem_if(str_0(&t));
  warning(w, "control/", c->name, t.s);
  str_free(&t);
}

/* One list entry e[0..len) (NUL-terminated, as control_readlist makes
 * them) of the files whose syntax the readers check. */
static void check_entry(const char *name, const char *e, size_t len, str *w)
{
  if (!strcmp(name, "smtproutes")) {
    struct smtproute r = SMTPROUTE_INIT;
    size_t keylen;
    int bad = smtproutes_parse(e, len, &keylen, &r) < 0;
    smtproute_free(&r);
    if (bad) warning(w, "control/smtproutes: malformed line: ", e, "; every remote delivery fails temporarily");
  } else if (!strcmp(name, "tlsdestinations")) {
    struct tlspolicy p = TLSPOLICY_INIT;
    size_t keylen;
    int bad = tlspolicy_parse(e, len, &keylen, &p) < 0;
    tlspolicy_free(&p);
    if (bad) warning(w, "control/tlsdestinations: malformed line: ", e, "; every remote delivery fails temporarily");
  } else if (!strcmp(name, "ipme") || !strcmp(name, "notipme")) {
    struct ipme_range r;
    if (ipme_range_scan(e, len, &r) < 0)
      warning(w, !strcmp(name, "ipme") ? "control/ipme: not an address: " : "control/notipme: not an address: ", e,
              "; remote deliveries by MX fail temporarily");
  } else if (!strcmp(name, "qmqpservers")) {
    struct qmqp_server sv;
    if (qmqp_server_parse(e, len, &sv) < 0)
      warning(w, "control/qmqpservers: not an address: ", e, " (sluice-qmqpc skips it)");
  }
}

/* A SECRET file (control/smtpauth): "(present, N entries, not shown)"
 * into o, problems into w; no byte of an entry is ever shown. Returns
 * 1 when the file exists. */
static int show_secret(const struct ctl *c, const str *p, str *v, str *o, str *w)
{
  size_t pos = 0, len, n = 0, keylen;
  const char *e;
  int r = control_readlist_private(p->s, v);
  if (r < 0 && errno == EPERM) {
    nomem_if(str_cats(o, " (present, not read: others may read it)"));
    warning(w, "control/", c->name,
            " may be read by others: not used, and every remote delivery fails temporarily (chmod 600)");
    return 1;
  }
  if (r < 0 && errno == EACCES) {
    nomem_if(str_cats(o, " (present, not readable by this user)"));
    return 1;
  }
  if (r < 0) die_temp_sys("unable to read ", p->s);
  if (r == 0) return 0;
  while (control_next(v, &pos, &e, &len)) {
    struct smtpauth a = SMTPAUTH_INIT;
    str t = STR_INIT;
    ++n;
    if (smtpauth_parse(e, len, &keylen, &a) < 0) {
      nomem_if(str_cats(&t, ": entry "));
      nomem_if(str_catulong(&t, n));
      nomem_if(str_cats(&t, " (not counting comments and empty lines) is malformed (not shown); "
                            "every remote delivery fails temporarily"));
      nomem_if(str_0(&t));
      warning(w, "control/", c->name, t.s);
    }
    smtpauth_free(&a);
    str_free(&t);
  }
  nomem_if(str_cats(o, " (present, "));
  nomem_if(str_catulong(o, n));
  nomem_if(str_cats(o, n == 1 ? " entry, not shown)" : " entries, not shown)"));
  return 1;
}

/* One block of the listing for c, into o; problems into w. Returns 1
 * when the file exists. */
static int show(const struct ctl *c, const str *me, str *o, str *w)
{
  str p = STR_INIT, v = STR_INIT;
  int r;

  if (c->kind == HEAD) {
    nomem_if(str_cats(o, "\n# "));
    nomem_if(str_cats(o, c->name));
    nomem_if(str_cats(o, "\n"));
    return 0;
  }
  path(&p, c->name);
  nomem_if(str_cats(o, c->name));
  nomem_if(str_cats(o, ":"));
  if (c->kind == CDB) {
    r = access(p.s, F_OK) == 0 ? 1 : 0;
    if (r) nomem_if(str_cats(o, " (present)"));
  } else if (c->kind == SECRET) {
    r = show_secret(c, &p, &v, o, w);
  } else if (c->kind == ONE || c->kind == NUM) {
    r = control_readline(p.s, &v, 0);
    if (r < 0) die_temp_sys("unable to read ", p.s);
    if (r && v.len == 0) nomem_if(str_cats(o, " (empty)"));
    if (r && v.len == 0 && empty_default(c->name)) r = 0;
    if (r && v.len) {
      nomem_if(str_catc(o, ' '));
      nomem_if(str_cat(o, &v));
    }
    if (r && c->kind == NUM) check_num(c, &v, w);
    if (r && !strcmp(c->name, "bounceformat") && !str_equals(&v, "rfc3464") && !str_equals(&v, "qsbmf"))
      warning(w, "control/bounceformat is neither rfc3464 nor qsbmf: ", SEND_BAD, "");
  } else {
    size_t pos = 0, len;
    const char *e;
    r = control_readlist(p.s, &v);
    if (r < 0) die_temp_sys("unable to read ", p.s);
    if (r && v.len == 0) nomem_if(str_cats(o, " (empty)"));
    while (r && control_next(&v, &pos, &e, &len)) {
      nomem_if(str_cats(o, "\n    "));
      nomem_if(str_catb(o, e, len));
      check_entry(c->name, e, len, w);
    }
  }
  if (!r) {
    nomem_if(str_cats(o, " (default: "));
    if (!strcmp(c->dflt, "=me")) {
      nomem_if(str_cat(o, me));
    } else {
      nomem_if(str_cats(o, c->dflt));
    }
    nomem_if(str_catc(o, ')'));
  }
  nomem_if(str_cats(o, "\n  "));
  nomem_if(str_cats(o, c->meaning));
  nomem_if(str_cats(o, "\n"));
  str_free(&p);
  str_free(&v);
  return r;
}

/* A source edited after its compiled form was made is not in force. */
/* The alias file newer than its database (or one without a database):
 * newaliases has not run since it changed (aliases(5)). */
static void check_aliases(str *w)
{
  str f = STR_INIT;
  struct stat sa, sb;
  if (control_readline("control/aliasfile", &f, "/etc/aliases") < 0) return;
  if (f.len == 0) nomem_if(str_copys(&f, "/etc/aliases"));
  nomem_if(str_0(&f));
  if (stat(f.s, &sa) == 0) {
    int have = stat(ALIASES_CDB, &sb) == 0;
    if (!have || sa.st_mtime > sb.st_mtime) {
      nomem_if(str_cats(&f, have ? " is newer than " ALIASES_CDB ": not in force until rebuilt with "
                                 : " exists but " ALIASES_CDB " does not: no alias is in force until "));
      nomem_if(str_0(&f));
      warning(w, f.s, "newaliases", have ? "" : " runs");
    }
  }
  str_free(&f);
}

static void check_compiled(str *w)
{
  str a = STR_INIT, b = STR_INIT;
  for (size_t i = 0; i < sizeof compiled / sizeof compiled[0]; ++i) {
    struct stat sa, sb;
    path(&a, compiled[i][0]);
    path(&b, compiled[i][1]);
    if (stat(a.s, &sa) < 0 || stat(b.s, &sb) < 0) continue;
    if (sa.st_mtime <= sb.st_mtime) continue;
    nomem_if(str_cats(&a, " is newer than "));
    nomem_if(str_cats(&a, b.s));
    nomem_if(str_cats(&a, ": not in force until rebuilt with "));
    nomem_if(str_0(&a));
    warning(w, a.s, compiled[i][2], "");
  }
  str_free(&a);
  str_free(&b);
  check_aliases(w);
}

/* "control/NAME: unknown control file" for every file not in ctls. */
static void list_unknown(str *o)
{
  DIR *d = opendir("control");
  struct dirent *de;

  if (!d) die_temp_sys("unable to read ", auto_home, "/control");
  for (;;) {
    size_t i;
    errno = 0;
    de = readdir(d);
    if (!de) break;
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    for (i = 0; i < NCTLS; ++i)
      if (ctls[i].kind != HEAD && !strcmp(de->d_name, ctls[i].name)) break;
    if (i < NCTLS) continue;
    nomem_if(str_cats(o, "control/"));
    nomem_if(str_cats(o, de->d_name));
    nomem_if(str_cats(o, ": unknown control file\n"));
  }
  if (errno) die_temp_sys("unable to read ", auto_home, "/control");
  closedir(d);
}

int main(void)
{
  str o = STR_INIT, w = STR_INIT, me = STR_INIT;
  char outmem[8192];
  buf b;
  int have_rcpthosts = 0;

  die_progname("sluice-showctl");
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  if (control_readline("control/me", &me, "localhost") < 0) die_temp_sys("unable to read control/me");
  nomem_if(str_cats(&o, "sluice control files in "));
  nomem_if(str_cats(&o, auto_home));
  nomem_if(str_cats(&o, "/control\n"));
  for (size_t i = 0; i < NCTLS; ++i)
    if (show(&ctls[i], &me, &o, &w) && !strcmp(ctls[i].name, "rcpthosts")) have_rcpthosts = 1;

  nomem_if(str_catc(&o, '\n'));
  list_unknown(&o);
  check_compiled(&w);
  if (!have_rcpthosts) {
    /* Unlike qmail, sluice-smtpd and sluice-qmtpd take a missing
     * rcpthosts as an empty list: no open relay, but no mail in either. */
    nomem_if(str_cats(&w, "WARNING: control/rcpthosts is missing: sluice-smtpd and sluice-qmtpd take it as empty:\n"
                          "WARNING: only RELAYCLIENT clients may send mail in (besides morercpthosts.cdb domains).\n"
                          "WARNING: List the domains this host receives mail for in control/rcpthosts.\n"));
    warn_msg("control/rcpthosts is missing: only RELAYCLIENT clients may send mail in");
  }
  {
    /* said loudly: every listed domain relays user%host@domain to host */
    str ph = STR_INIT;
    if (control_readlist("control/percenthack", &ph) > 0 && ph.len > 0)
      warning(&w, "control/percenthack lists domains: user%host@domain is relayed to host; ",
              "sluice-smtpd and sluice-qmtpd take it only from RELAYCLIENT clients, ",
              "sluice-qmqpd from every client it lets in");
    str_free(&ph);
  }
  nomem_if(str_cat(&o, &w));
  buf_init(&b, 1, outmem, sizeof outmem);
  if (buf_put(&b, o.s, o.len) < 0 || buf_flush(&b) < 0) die_temp_sys("unable to write output");
  return 0;
}
