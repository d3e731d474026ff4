/* sluice-showctl: prints the configuration in force (sluice-showctl(8)).
 *
 * For every control file sluice knows (sluice-control(5)) one block:
 *     name: value               (single-value files)
 *     name: (default: X)        (missing file)
 *     name:                     (lists, one indented entry a line)
 *       meaning
 * then one line "control/NAME: unknown control file" for every other
 * file in control/, and a loud warning when rcpthosts is missing. Exit
 * 0, or 111 when control/ or a file in it cannot be read. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "auto.h"
#include "buf.h"
#include "control.h"
#include "die.h"
#include "file.h"
#include "str.h"

enum kind { ONE, LIST, CDB };

struct ctl {
  const char *name;
  enum kind kind;
  const char *dflt; /* text shown for a missing file; "=me" means the value of me */
  const char *meaning;
};

static const struct ctl ctls[] = {
  { "me", ONE, "localhost", "the host's name; the default for most host-name files below" },
  { "locals", LIST, "=me", "domains delivered locally" },
  { "rcpthosts", LIST, "none: EVERY domain is accepted", "domains sluice-smtpd accepts mail for (others need RELAYCLIENT)" },
  { "morercpthosts", LIST, "none", "more rcpthosts entries, the source of morercpthosts.cdb" },
  { "morercpthosts.cdb", CDB, "none", "compiled morercpthosts, consulted after rcpthosts" },
  { "virtualdomains", LIST, "none", "domain:prepend rules that make addresses local to a user" },
  { "percenthack", LIST, "none", "domains where user%host@domain becomes user@host" },
  { "envnoathost", ONE, "=me", "domain added to an envelope recipient without @" },
  { "bouncefrom", ONE, "MAILER-DAEMON", "sender user name of bounces" },
  { "bouncehost", ONE, "=me", "sender host name of bounces" },
  { "doublebouncehost", ONE, "=me", "host of the address that gets double bounces" },
  { "doublebounceto", ONE, "postmaster", "user that gets double bounces" },
  { "bounceformat", ONE, "rfc3464", "bounce format: rfc3464 (DSN) or qsbmf (qmail's)" },
  { "concurrencylocal", ONE, "10", "most local deliveries at once (at most 1000)" },
  { "concurrencyremote", ONE, "20", "most remote deliveries at once (at most 1000)" },
  { "queuelifetime", ONE, "604800", "seconds a message may stay in the queue before temporary failures become permanent" },
  { "smtproutes", LIST, "none", "domain:relay:port static routes for remote delivery" },
  { "helohost", ONE, "=me", "host name sluice-remote sends in EHLO/HELO" },
  { "timeoutremote", ONE, "1200", "seconds sluice-remote waits for the remote server" },
  { "timeoutconnect", ONE, "60", "seconds sluice-remote waits for a connection" },
  { "badmailfrom", LIST, "none", "envelope senders (address or @host) refused by sluice-smtpd" },
  { "databytes", ONE, "0 (no limit)", "largest message sluice-smtpd accepts, in bytes (env DATABYTES overrides)" },
  { "localiphost", ONE, "=me", "name that replaces the server's own IP address in box@[ip]" },
  { "smtpgreeting", ONE, "=me", "text of sluice-smtpd's 220 greeting" },
  { "timeoutsmtpd", ONE, "1200", "seconds sluice-smtpd waits for the client" },
  { "maxrcpt", ONE, "0 (no limit)", "most recipients sluice-smtpd accepts per message" },
  { "defaultdomain", ONE, "=me", "domain sluice-inject adds to bare recipient addresses" },
  { "defaulthost", ONE, "=me", "host sluice-inject uses for From and the envelope sender" },
  { "idhost", ONE, "=me", "host part of the Message-IDs sluice-inject makes" },
  { "plusdomain", ONE, "=me", "domain sluice-inject puts in place of a trailing + of a host" },
  { "qmqpservers", LIST, "none", "QMQP servers sluice-qmqpc tries, in order" },
  { "defaultdelivery", ONE, "./Maildir/", "delivery for users without a .qmail file" },
  { "rcptcheck.cdb", CDB, "none", "valid local recipients, checked by sluice-smtpd at RCPT time" },
};

#define NCTLS (sizeof ctls / sizeof ctls[0])

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

int main(void)
{
  str o = STR_INIT, p = STR_INIT, v = STR_INIT, me = STR_INIT;
  char outmem[8192];
  buf b;
  DIR *d;
  struct dirent *de;
  int have_rcpthosts = 0;

  die_progname("sluice-showctl");
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  if (control_readline("control/me", &me, "localhost") < 0) die_temp_sys("unable to read control/me");
  nomem_if(str_0(&me));
  nomem_if(str_cats(&o, "sluice control files in "));
  nomem_if(str_cats(&o, auto_home));
  nomem_if(str_cats(&o, "/control\n\n"));
  for (size_t i = 0; i < NCTLS; ++i) {
    const struct ctl *c = &ctls[i];
    int r;
    path(&p, c->name);
    nomem_if(str_cats(&o, c->name));
    nomem_if(str_cats(&o, ":"));
    if (c->kind == CDB) {
      r = access(p.s, F_OK) == 0 ? 1 : 0;
      if (r) nomem_if(str_cats(&o, " (present)"));
    } else if (c->kind == ONE) {
      r = control_readline(p.s, &v, 0);
      if (r < 0) die_temp_sys("unable to read ", p.s);
      if (r) {
        nomem_if(str_catc(&o, ' '));
        nomem_if(str_cat(&o, &v));
      }
    } else {
      size_t pos = 0, len;
      const char *e;
      r = control_readlist(p.s, &v);
      if (r < 0) die_temp_sys("unable to read ", p.s);
      if (r && v.len == 0) nomem_if(str_cats(&o, " (empty)"));
      while (r && control_next(&v, &pos, &e, &len)) {
        nomem_if(str_cats(&o, "\n    "));
        nomem_if(str_catb(&o, e, len));
      }
    }
    if (r && !strcmp(c->name, "rcpthosts")) have_rcpthosts = 1;
    if (!r) {
      nomem_if(str_cats(&o, " (default: "));
      if (!strcmp(c->dflt, "=me")) {
        nomem_if(str_cats(&o, me.s));
      } else {
        nomem_if(str_cats(&o, c->dflt));
      }
      nomem_if(str_catc(&o, ')'));
    }
    nomem_if(str_cats(&o, "\n  "));
    nomem_if(str_cats(&o, c->meaning));
    nomem_if(str_cats(&o, "\n"));
  }

  nomem_if(str_catc(&o, '\n'));
  d = opendir("control");
  if (!d) die_temp_sys("unable to read ", auto_home, "/control");
  for (;;) {
    size_t i;
    errno = 0;
    de = readdir(d);
    if (!de) break;
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    for (i = 0; i < NCTLS; ++i)
      if (!strcmp(de->d_name, ctls[i].name)) break;
    if (i < NCTLS) continue;
    nomem_if(str_cats(&o, "control/"));
    nomem_if(str_cats(&o, de->d_name));
    nomem_if(str_cats(&o, ": unknown control file\n"));
  }
  if (errno) die_temp_sys("unable to read ", auto_home, "/control");
  closedir(d);
  if (!have_rcpthosts) {
    nomem_if(str_cats(&o, "WARNING: control/rcpthosts is missing: sluice-smtpd accepts mail for EVERY domain\n"
                          "WARNING: and relays it: this host is an OPEN RELAY. List your domains in control/rcpthosts.\n"));
    warn_msg("control/rcpthosts is missing: this host is an open relay");
  }
  buf_init(&b, 1, outmem, sizeof outmem);
  if (buf_put(&b, o.s, o.len) < 0 || buf_flush(&b) < 0) die_temp_sys("unable to write output");
  return 0;
}
