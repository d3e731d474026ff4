/* sluice-tlsrelay: the TLS half of sluice-tlsd (sluice-tlsd(8)), the
 * only part of it linked with OpenSSL. sluice-tlsd execs it, as the
 * tls role user, once the application asked for TLS (or at once with
 * -i), and so does a child of sluice-tlsgate (sluice-tlsgate(8)) for a
 * sluice-smtpd that asked it for STARTTLS; what they hand over
 * (descriptors, the certificates' bytes in a memory file, the arguments
 * MODE PID TIMEOUT IDLE, PID 0 when the application is not this
 * process's child) is described in src/lib/tlsbundle.h. This program parses the certificates, does
 * the handshake on fd 0 and 1, gives the details back (STARTTLS mode
 * with `Y', or to the application before its exec with -i), relays
 * until the application closes its end, and waits for the application.
 *
 *   sluice-tlsrelay -L ARG...
 * looks the role users up through the name service (the daemon user
 * unless -u is among ARG, the tls user unless -U is) and execs
 * sluice-tlsd with the ids given, then ARG: what sluice-tlsd does as
 * root when the ids were not given, since it looks nobody up itself.
 *
 * Errors go to fd 2, one line each, under the name sluice-tlsd. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "auto.h"
#include "byte.h"
#include "die.h"
#include "env.h"
#include "fd.h"
#include "file.h"
#include "fmt.h"
#include "priv.h"
#include "scan.h"
#include "str.h"
#include "tlsbundle.h"
#include "tlsctx.h"
#include "ucspitls.h"

#define SNI_MAX TLSBUNDLE_SNI_MAX
#define DETAILS_MAX UCSPITLS_DETAILS_MAX
#define RELAY_BUF 16384

struct sni_entry {
  char name[254];
  SSL_CTX *ctx;
  str pem;                      /* the file, read as root; parsed at STARTTLS */
};

struct tlsd {
  SSL_CTX *ctx;                 /* control/tls/cert.pem */
  str pem;                      /* its bytes, read as root before the drop */
  struct sni_entry sni[SNI_MAX];
  size_t nsni;
  const char *sni_used;         /* the name whose file was served */
  unsigned long timeout;        /* seconds: the handshake's total */
  unsigned long idle;           /* seconds: the relay with no byte either way */
};

static const char *remote_ip(void)
{
  const char *ip = env_get("TCPREMOTEIP");
  return ip ? ip : "unknown";
}

/* A warning with the client's address and OpenSSL's reason. */
static void warn_tls(const char *what)
{
  char e[256];
  warn_msg("from ", remote_ip(), ": ", what, ": ", tls_error_text(e, sizeof e));
}

/* --- certificates ------------------------------------------------------ */

static int sni_callback(SSL *ssl, int *alert, void *arg)
{
  struct tlsd *t = arg;
  const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  size_t n, i;

  (void)alert;
  if (!name) return SSL_TLSEXT_ERR_OK;
  n = byte_len(name, 254);
  for (i = 0; i < t->nsni; ++i) {
    if (case_equalb(name, n, t->sni[i].name, byte_len(t->sni[i].name, 254))) {
      if (SSL_set_SSL_CTX(ssl, t->sni[i].ctx) != t->sni[i].ctx) return SSL_TLSEXT_ERR_ALERT_FATAL;
      t->sni_used = t->sni[i].name;
      return SSL_TLSEXT_ERR_OK;
    }
  }
  return SSL_TLSEXT_ERR_OK; /* the default certificate */
}

#define PEM_MAX TLSBUNDLE_PEM_MAX
#define BUNDLE_FD TLSBUNDLE_FD

/* Reads the certificates' bytes from the memory file sluice-tlsd made
 * (records NAME NUL LENGTH NUL BYTES, "cert" first) into t, and closes
 * it. Dies when it is malformed. */
static void read_certificates(struct tlsd *t)
{
  str all = STR_INIT;
  size_t off = 0;
  int first = 1;

  if (read_fd_all(BUNDLE_FD, &all, (SNI_MAX + 1) * (PEM_MAX + 300)) < 0) die_temp_sys("unable to read the certificates");
  close(BUNDLE_FD);
  while (off < all.len) {
    size_t n = byte_chr(all.s + off, all.len - off, 0), m;
    const char *name = all.s + off;
    unsigned long len;
    str *pem;
    if (off + n >= all.len || n == 0 || n > 253) die_temp("malformed certificate records");
    off += n + 1;
    m = byte_chr(all.s + off, all.len - off, 0);
    if (off + m >= all.len || scan_ulong_exact(all.s + off, m, &len) < 0 || len > PEM_MAX) die_temp("malformed certificate records");
    off += m + 1;
    if (len > all.len - off) die_temp("malformed certificate records");
    if (first) {
      if (n != 4 || !byte_equal(name, "cert", 4)) die_temp("malformed certificate records");
      pem = &t->pem;
      first = 0;
    } else {
      struct sni_entry *e;
      if (t->nsni == SNI_MAX || !tlsbundle_sni_name_ok(name, n)) die_temp("malformed certificate records");
      e = &t->sni[t->nsni++];
      memcpy(e->name, name, n);
      e->name[n] = 0;
      e->ctx = 0;
      e->pem = (str)STR_INIT;
      pem = &e->pem;
    }
    if (str_copyb(pem, all.s + off, len) < 0) die_nomem();
    off += len;
  }
  if (first) die_temp("no certificate records");
  OPENSSL_cleanse(all.s, all.len);
  str_free(&all);
}

/* Makes the TLS contexts from the bytes read_certificates kept, and
 * forgets those bytes. Dies when cert.pem cannot be used; an unusable
 * NAME.pem is skipped with a warning. */
static void contexts_make(struct tlsd *t)
{
  size_t i, k = 0;

  t->ctx = tlsctx_new(1);
  if (!t->ctx) {
    warn_tls("cannot make a TLS context");
    _exit(EXIT_TEMP);
  }
  if (!tlsctx_load_pem_mem(t->ctx, t->pem.s, t->pem.len)) {
    warn_tls("cannot use control/tls/cert.pem");
    _exit(EXIT_TEMP);
  }
  OPENSSL_cleanse(t->pem.s, t->pem.len);
  str_free(&t->pem);
  SSL_CTX_set_tlsext_servername_callback(t->ctx, sni_callback);
  SSL_CTX_set_tlsext_servername_arg(t->ctx, t);
  for (i = 0; i < t->nsni; ++i) {
    struct sni_entry *e = &t->sni[i];
    SSL_CTX *c = tlsctx_new(1);
    if (!c) die_nomem();
    if (!tlsctx_load_pem_mem(c, e->pem.s, e->pem.len)) {
      warn_tls("cannot use a certificate file of control/tls: skipped");
      SSL_CTX_free(c);
      c = 0;
    }
    OPENSSL_cleanse(e->pem.s, e->pem.len);
    str_free(&e->pem);
    if (!c) continue;
    if (k != i) memcpy(t->sni[k].name, e->name, sizeof e->name);
    t->sni[k].ctx = c;
    ++k;
  }
  t->nsni = k;
}

/* --- the handshake and its details ------------------------------------ */

static int cat_detail(str *out, const char *name, const char *value)
{
  size_t n = byte_len(value, 256), i;
  if (str_cats(out, name) < 0 || str_catc(out, '=') < 0) return -1;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)value[i];
    if (str_catc(out, (c <= 32 || c >= 127 || c == '=') ? '_' : (char)c) < 0) return -1;
  }
  return str_catc(out, 0);
}

/* out = "SSL_PROTOCOL=...\0...\0\0" for the connection. */
static void details(struct tlsd *t, SSL *ssl, str *out)
{
  char num[FMT_ULONG];
  int bits = SSL_get_cipher_bits(ssl, 0);

  num[fmt_ulong(num, bits > 0 ? (unsigned long)bits : 0)] = 0;
  str_truncate(out, 0);
  if (cat_detail(out, "SSL_PROTOCOL", SSL_get_version(ssl)) < 0
      || cat_detail(out, "SSL_CIPHER", SSL_get_cipher_name(ssl)) < 0
      || cat_detail(out, "SSL_CIPHER_USEKEYSIZE", num) < 0
      || (t->sni_used && cat_detail(out, "SSL_TLS_SNI", t->sni_used) < 0)
      || str_catc(out, 0) < 0)
    die_nomem();
  if (out->len > DETAILS_MAX) die_temp("connection details too long");
}

static volatile sig_atomic_t handshake_late;

static void on_alarm(int sig)
{
  (void)sig;
  handshake_late = 1;
}

/* The handshake on fd 0 and 1, as a server, within t->timeout seconds:
 * SIGALRM (no SA_RESTART) interrupts the read or write that waits, and
 * the handshake fails. NULL when it failed (logged). */
static SSL *handshake(struct tlsd *t)
{
  SSL *ssl = SSL_new(t->ctx);
  struct sigaction sa;
  int r;

  if (!ssl) die_nomem();
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (!SSL_set_rfd(ssl, 0) || !SSL_set_wfd(ssl, 1)) die_nomem();
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGALRM, &sa, 0) < 0) die_temp_sys("unable to catch SIGALRM");
  alarm((unsigned)t->timeout);
  do r = SSL_accept(ssl);
  while (r != 1 && !handshake_late && SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ && errno == EINTR);
  alarm(0);
  if (r != 1) {
    if (handshake_late) {
      ERR_clear_error();
      warn_msg("from ", remote_ip(), ": TLS handshake failed: time limit reached (-t)");
    } else {
      warn_tls("TLS handshake failed");
    }
    SSL_free(ssl);
    return 0;
  }
  return ssl;
}

/* --- relaying ---------------------------------------------------------- */

struct half {
  char mem[RELAY_BUF];
  size_t off, len;
};

/* Relays until the application closes its end (or the client goes and
 * the application follows): client (SSL on fd 0/1) to toapp, fromapp
 * to the client. Every descriptor is non-blocking; OpenSSL's wants
 * decide what is polled. */
static void relay(struct tlsd *t, SSL *ssl, int toapp, int fromapp)
{
  static struct half in, out; /* in: client to app; out: app to client */
  int client_eof = 0, client_dead = 0, app_eof = 0;

  if (fd_nonblock(0, 1) < 0 || fd_nonblock(1, 1) < 0 || fd_nonblock(toapp, 1) < 0 || fd_nonblock(fromapp, 1) < 0)
    die_temp_sys("unable to set up descriptors");
  for (;;) {
    struct pollfd p[4];
    int np = 0, progress = 1, ssl_r = 0, ssl_w = 0, app_w = 0, app_r = 0, r;

    while (progress) {
      progress = 0;
      ssl_r = ssl_w = app_w = app_r = 0;
      if (!client_eof && in.len == 0) {
        r = SSL_read(ssl, in.mem, sizeof in.mem);
        if (r > 0) {
          in.off = 0;
          in.len = (size_t)r;
          progress = 1;
        } else {
          switch (SSL_get_error(ssl, r)) {
          case SSL_ERROR_WANT_READ: ssl_r = 1; break;
          case SSL_ERROR_WANT_WRITE: ssl_w = 1; break;
          case SSL_ERROR_ZERO_RETURN: client_eof = 1; progress = 1; break;
          default: client_eof = client_dead = 1; progress = 1; ERR_clear_error(); break;
          }
        }
      }
      if (in.len && toapp >= 0) {
        ssize_t w = write(toapp, in.mem + in.off, in.len);
        if (w > 0) {
          in.off += (size_t)w;
          in.len -= (size_t)w;
          progress = 1;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
          app_w = 1;
        } else {
          in.len = 0; /* the application stopped reading: drop it */
          close(toapp);
          toapp = -1;
        }
      }
      if (in.len && toapp < 0) in.len = 0;
      if (client_eof && in.len == 0 && toapp >= 0) {
        close(toapp); /* the application sees end of input */
        toapp = -1;
        progress = 1;
      }
      if (!app_eof && out.len == 0) {
        ssize_t n = read(fromapp, out.mem, sizeof out.mem);
        if (n > 0) {
          out.off = 0;
          out.len = (size_t)n;
          progress = 1;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          app_r = 1;
        } else {
          app_eof = 1;
          progress = 1;
        }
      }
      if (out.len && client_dead) out.len = 0;
      if (out.len) {
        r = SSL_write(ssl, out.mem + out.off, (int)out.len);
        if (r > 0) {
          out.off += (size_t)r;
          out.len -= (size_t)r;
          progress = 1;
        } else {
          switch (SSL_get_error(ssl, r)) {
          case SSL_ERROR_WANT_READ: ssl_r = 1; break;
          case SSL_ERROR_WANT_WRITE: ssl_w = 1; break;
          default: client_eof = client_dead = 1; out.len = 0; progress = 1; ERR_clear_error(); break;
          }
        }
      }
      if (app_eof && out.len == 0) {
        if (!client_dead) {
          /* close_notify, best effort: one try without waiting */
          (void)SSL_shutdown(ssl);
          ERR_clear_error();
        }
        return;
      }
    }
    if (ssl_r) p[np++] = (struct pollfd){ .fd = 0, .events = POLLIN };
    if (ssl_w) p[np++] = (struct pollfd){ .fd = 1, .events = POLLOUT };
    if (app_w) p[np++] = (struct pollfd){ .fd = toapp, .events = POLLOUT };
    if (app_r) p[np++] = (struct pollfd){ .fd = fromapp, .events = POLLIN };
    if (np == 0) return;
    r = poll(p, (nfds_t)np, (int)(t->idle * 1000));
    if (r == 0) {
      warn_msg("from ", remote_ip(), ": idle time limit reached");
      return;
    }
    if (r < 0 && errno != EINTR) die_temp_sys("poll failed");
  }
}

/* --- main -------------------------------------------------------------- */

static unsigned long number(const char *s, const char *what)
{
  unsigned long u;
  if (scan_ulong_exact(s, byte_len(s, 32), &u) < 0) die_temp("bad ", what, " from sluice-tlsd: ", s);
  return u;
}

/* -L: the role users looked up, sluice-tlsd again with their ids. */
static _Noreturn void lookup_and_return(int argc, char **argv)
{
  static char *nargv[256 + 16];
  char num[4][FMT_ULONG];
  int have_u = 0, have_tu = 0, i, k = 0;
  uid_t uid;
  gid_t gid;
  str path = STR_INIT;

  if (argc > 256) die_temp("too many arguments");
  for (i = 0; i < argc && argv[i][0] == '-'; ++i) {
    if (!strcmp(argv[i], "--")) break;
    if (!strcmp(argv[i], "-u")) have_u = 1;
    if (!strcmp(argv[i], "-U")) have_tu = 1;
    if (byte_chr("ugUGtT", 6, argv[i][1]) < 6 && argv[i][1] && !argv[i][2]) ++i;
  }
  nargv[k++] = (char *)"sluice-tlsd";
  if (!have_u) {
    if (priv_lookup(auto_user_daemon, &uid, &gid) != 1) die_temp("no user ", auto_user_daemon, " (the daemon role)");
    num[0][fmt_ulong(num[0], (unsigned long)uid)] = 0;
    num[1][fmt_ulong(num[1], (unsigned long)gid)] = 0;
    nargv[k++] = (char *)"-u";
    nargv[k++] = num[0];
    nargv[k++] = (char *)"-g";
    nargv[k++] = num[1];
  }
  if (!have_tu) {
    if (priv_lookup(auto_user_tls, &uid, &gid) != 1) die_temp("no user ", auto_user_tls, " (the tls role)");
    num[2][fmt_ulong(num[2], (unsigned long)uid)] = 0;
    num[3][fmt_ulong(num[3], (unsigned long)gid)] = 0;
    nargv[k++] = (char *)"-U";
    nargv[k++] = num[2];
    nargv[k++] = (char *)"-G";
    nargv[k++] = num[3];
  }
  for (i = 0; i < argc; ++i) nargv[k++] = argv[i];
  nargv[k] = 0;
  if (str_copys(&path, auto_home) < 0 || str_cats(&path, "/bin/sluice-tlsd") < 0 || str_0(&path) < 0) die_nomem();
  execv(path.s, nargv);
  die_temp_sys("unable to run ", path.s);
}

int main(int argc, char **argv)
{
  static struct tlsd t;
  int status;
  char mode;
  pid_t pid;
  SSL *ssl = 0;
  str d = STR_INIT;

  die_progname("sluice-tlsd");
  if (argc >= 2 && !strcmp(argv[1], "-L")) lookup_and_return(argc - 2, argv + 2);
  if (argc != 5 || (strcmp(argv[1], "i") && strcmp(argv[1], "y") && strcmp(argv[1], "Y")))
    die_usage("sluice-tlsrelay is run by sluice-tlsd, not by hand");
  mode = argv[1][0];
  pid = (pid_t)number(argv[2], "pid");
  t.timeout = number(argv[3], "timeout");
  t.idle = number(argv[4], "idle time limit");
  signal(SIGPIPE, SIG_IGN);
  if (fd_cloexec(3, 1) < 0 || fd_cloexec(4, 1) < 0 || fd_cloexec(5, 1) < 0) die_temp_sys("unable to set up descriptors");

  read_certificates(&t);
  contexts_make(&t);
  ssl = handshake(&t);
  if (ssl && mode != 'y') {
    details(&t, ssl, &d);
    if (write_all(3, d.s, d.len) < 0) {
      SSL_free(ssl);
      ssl = 0;
    }
  }
  close(3);
  if (ssl) relay(&t, ssl, 4, 5);
  else {
    close(4);
    close(5);
  }
  close(0);
  close(1);
  /* PID 0: started by sluice-tlsgate, the application is not a child */
  if (pid > 0)
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  return 0;
}
