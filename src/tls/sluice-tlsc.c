/* sluice-tlsc: the client side of STARTTLS for sluice-remote
 * (sluice-tlsc(8)).
 *
 *     sluice-tlsc [-t seconds] [-c cafile] [-n name | -i address]
 *
 * Started by sluice-remote after the server's 220 reply to STARTTLS,
 * with the connected socket on fd 3 and one end of a socketpair on fd
 * 0 and fd 1. Runs the TLS handshake on fd 3 (SNI: name), checks the
 * certificate chain against cafile or the system store and the name
 * (or the address), writes one report line on fd 1 and then relays
 * plaintext between fd 0/1 and TLS on fd 3 until either side closes.
 * The report line is
 *     ok PROTOCOL CIPHER verified
 *     ok PROTOCOL CIPHER unverified REASON
 *     fail REASON
 * (starttls.h decodes it). Exit 0 after an orderly end, 111 when the
 * handshake or the relay failed, 64 for a bad command line. It holds
 * no key and runs as its caller (the remote user). */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "die.h"
#include "file.h"
#include "scan.h"
#include "sig.h"
#include "str.h"
#include "tlsc.h"

#define USAGE "sluice-tlsc [-t seconds] [-c cafile] [-n name | -i address]"

/* Writes one report line: parts, then LF. 0, or -1 when fd 1 failed. */
static int report(const char *a, const str *b, const char *c, const str *d)
{
  str line = STR_INIT;
  int r;
  if (str_cats(&line, a) < 0 || (b && str_cat(&line, b) < 0) || (c && str_cats(&line, c) < 0)
      || (d && str_cat(&line, d) < 0) || str_catc(&line, '\n') < 0)
    die_nomem();
  r = write_all(1, line.s, line.len);
  str_free(&line);
  return r;
}

/* The handshake failed: the report says why (sluice-remote logs it),
 * so nothing more goes to fd 2. */
static _Noreturn void fail(const str *why)
{
  report("fail ", why, 0, 0); /* the caller may be gone: no matter */
  _exit(111);
}

int main(int argc, char **argv)
{
  const char *cafile = 0, *name = 0, *ip = 0;
  unsigned long timeout = 1200;
  str err = STR_INIT, cafail = STR_INIT, why = STR_INIT, proto = STR_INIT;
  SSL_CTX *ctx;
  SSL *ssl;
  int i, verified;

  die_progname("sluice-tlsc");
  for (i = 1; i < argc; ++i) {
    const char *o = argv[i];
    if (i + 1 >= argc || o[0] != '-' || !o[1] || o[2]) die_usage(USAGE);
    switch (o[1]) {
    case 't':
      if (scan_ulong_exact(argv[i + 1], strlen(argv[i + 1]), &timeout) < 0 || timeout == 0 || timeout > 86400)
        die_usage(USAGE);
      break;
    case 'c': cafile = argv[i + 1]; break;
    case 'n': name = argv[i + 1]; break;
    case 'i': ip = argv[i + 1]; break;
    default: die_usage(USAGE);
    }
    ++i;
  }
  if (name && ip) die_usage(USAGE);
  if (sig_ignore(SIGPIPE) < 0) die_temp_sys("unable to ignore SIGPIPE");

  ctx = tlsc_ctx_new(cafile, &cafail, &err);
  if (!ctx) fail(&err);
  ssl = tlsc_new(ctx, 3, name, ip, &err);
  if (!ssl) fail(&err);
  if (tlsc_handshake(ssl, 3, 0, deadline_after(timeout * 1000), &err) < 0) fail(&err);
  verified = tlsc_verified(ssl, &cafail, name || ip, &why);
  if (str_copys(&proto, SSL_get_version(ssl)) < 0 || str_catc(&proto, ' ') < 0
      || str_cats(&proto, SSL_get_cipher_name(ssl)) < 0)
    die_nomem();
  if ((verified ? report("ok ", &proto, " verified", 0) : report("ok ", &proto, " unverified ", &why)) < 0)
    die_temp_sys("unable to write the report");

  if (tlsc_relay(ssl, 3, 0, 1, timeout * 1000, &err) < 0) {
    if (str_0(&err) < 0) die_nomem();
    die_temp("connection ended: ", err.s);
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return 0;
}
