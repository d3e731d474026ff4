/* sluice-tlsd: the server side of TLS, a UCSPI-TLS wrapper
 * (sluice-tlsd(8)).
 *
 *   sluice-tlsd [-i] [-u UID -g GID] [-t SECONDS] [-T SECONDS] prog [arg...]
 *
 * Run by tcpserver as root with the connection on fd 0 and 1, before
 * an application such as sluice-smtpd. It forks; the child drops to the
 * application's uid and gid (-u, -g; by default the daemon role user)
 * and execs prog; this process stays, holds the TLS engine, and drops
 * to the tls role user (conf-users) as soon as it has read its
 * certificates, before it reads a byte from the client.
 *
 * STARTTLS mode (the default), the UCSPI-TLS convention: prog talks
 * plaintext straight on fd 0 and 1 and finds in its environment
 * UCSPITLS, SSLCTLFD (a socket to this process), SSLREADFD and
 * SSLWRITEFD (pipes). When it writes `y' or `Y' on SSLCTLFD, this
 * process does the handshake on the connection, then relays: the
 * client's decrypted bytes to SSLREADFD, what prog writes on SSLWRITEFD
 * encrypted to the client. With `Y', once the handshake is done, the
 * details go back on SSLCTLFD as "VAR=value\0"... and one more "\0"
 * (SSL_PROTOCOL, SSL_CIPHER, SSL_CIPHER_USEKEYSIZE, SSL_TLS_SNI, the
 * names of Apache's mod_ssl); a failed handshake closes SSLCTLFD and
 * the pipes instead.
 *
 * -i (implicit TLS, port 465): the handshake comes first; prog gets the
 * pipes as fd 0 and 1 and the details as environment variables, and no
 * UCSPITLS.
 *
 * Certificates (read at each connection, so a renewed one needs no
 * restart): conf-home/control/tls/cert.pem holds the certificate chain
 * and the private key; control/tls/NAME.pem another pair served to
 * clients that ask for NAME by SNI. Without cert.pem, STARTTLS mode
 * runs prog without UCSPITLS (plain SMTP, a warning logged) and -i
 * refuses the connection.
 *
 * The key is read in this process only, after the fork: prog never has
 * it in memory nor open. Errors go to fd 2, one line each. Exit codes:
 * 0 normally, 100 usage, 111 temporary trouble. */
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
#include "tlsctx.h"
#include "ucspitls.h"

#define SNI_MAX 256             /* control/tls/NAME.pem files loaded at most */
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

/* 1 when name (a file name without .pem) may be an SNI host name:
 * letters, digits, hyphens, dots, no empty label. */
static int sni_name_ok(const char *name, size_t n)
{
  size_t i;
  if (n == 0 || n > 253 || name[0] == '.' || name[n - 1] == '.') return 0;
  for (i = 0; i < n; ++i) {
    char c = name[i];
    if (c == '.' && i && name[i - 1] == '.') return 0;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
      return 0;
  }
  return 1;
}

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

#define PEM_MAX (1UL << 20)     /* bytes of one certificate file */

/* Reads control/tls/cert.pem and every control/tls/NAME.pem into
 * memory, as root, before the drop: only their bytes. Parsing them and
 * making the TLS contexts waits for STARTTLS (contexts_make), so that
 * a connection that never starts TLS costs no key parsing. Dies when
 * cert.pem cannot be read. */
static void read_certificates(struct tlsd *t)
{
  DIR *d;
  struct dirent *de;
  str path = STR_INIT;

  if (file_read("control/tls/cert.pem", &t->pem, PEM_MAX) < 0) {
    warn_msg("unable to read control/tls/cert.pem: ", strerror(errno), 0);
    _exit(EXIT_TEMP);
  }
  d = opendir("control/tls");
  if (!d) return;
  while ((de = readdir(d)) != 0 && t->nsni < SNI_MAX) {
    size_t n = byte_len(de->d_name, 300);
    struct sni_entry *e = &t->sni[t->nsni];
    if (n < 5 || !byte_equal(de->d_name + n - 4, ".pem", 4)) continue;
    n -= 4;
    if (n == 4 && byte_equal(de->d_name, "cert", 4)) continue;
    if (!sni_name_ok(de->d_name, n)) continue;
    if (str_copys(&path, "control/tls/") < 0 || str_cats(&path, de->d_name) < 0 || str_0(&path) < 0) die_nomem();
    e->pem = (str)STR_INIT;
    if (file_read(path.s, &e->pem, PEM_MAX) < 0) {
      warn_msg("unable to read a certificate file of control/tls: skipped", 0, 0);
      str_free(&e->pem);
      continue;
    }
    memcpy(e->name, de->d_name, n);
    e->name[n] = 0;
    e->ctx = 0;
    ++t->nsni;
  }
  closedir(d);
  str_free(&path);
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

/* --- the application --------------------------------------------------- */

static int setenv_fd(const char *name, int fd)
{
  char num[FMT_ULONG];
  num[fmt_ulong(num, (unsigned long)fd)] = 0;
  return setenv(name, num, 1);
}

/* Sets the SSL_ variables of a whole details string (ucspitls.h); 0,
 * or -1 when one is malformed or is not an SSL_ variable. */
static int setenv_details(char *d, size_t n)
{
  size_t i = 0;
  if (ucspitls_details_complete(d, n) != 1) return -1;
  while (i < n && d[i]) {
    size_t len = byte_chr(d + i, n - i, 0), eq = byte_chr(d + i, len, '=');
    if (!byte_startswith(d + i, len, "SSL_", 0)) return -1;
    d[i + eq] = 0;
    if (setenv(d + i, d + i + eq + 1, 1) < 0) return -1;
    i += len + 1;
  }
  return 0;
}

static const char *const app_unset[] = {
  "SSL_PROTOCOL", "SSL_CIPHER", "SSL_CIPHER_USEKEYSIZE", "SSL_TLS_SNI",
  "UCSPITLS", "SSLCTLFD", "SSLREADFD", "SSLWRITEFD",
};

/* The child: drops to the application's ids and execs it. implicit:
 * fd 0 and 1 become the pipes and the details are read from infofd
 * (as the application's user) first. */
static _Noreturn void run_app(char **argv, int dropping, uid_t uid, gid_t gid, int implicit, int ctl, int rd, int wr,
                              int infofd)
{
  size_t i;

  for (i = 0; i < sizeof app_unset / sizeof app_unset[0]; ++i) (void)unsetenv(app_unset[i]);
  if (dropping && priv_drop(uid, gid, 0, 0) < 0) die_temp_sys("unable to drop to the application's user");
  if (implicit) {
    static char d[DETAILS_MAX + 1];
    size_t n = 0;
    if (fd_move(0, rd) < 0 || fd_move(1, wr) < 0) die_temp_sys("unable to set up descriptors");
    for (;;) {
      ssize_t r = read(infofd, d + n, sizeof d - n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      n += (size_t)r;
      if (n == sizeof d) break;
    }
    close(infofd);
    if (n == 0) _exit(0); /* no handshake, no session */
    if (setenv_details(d, n) < 0) die_temp("bad connection details from the TLS side");
  } else if (ctl >= 0) {
    if (setenv_fd("SSLCTLFD", ctl) < 0 || setenv_fd("SSLREADFD", rd) < 0 || setenv_fd("SSLWRITEFD", wr) < 0
        || setenv("UCSPITLS", "", 1) < 0)
      die_nomem();
  }
  signal(SIGPIPE, SIG_DFL); /* as the application would have had it */
  execvp(argv[0], argv);
  die_temp_sys("unable to run ", argv[0]);
}

/* --- main -------------------------------------------------------------- */

static unsigned long number(const char *s, const char *what)
{
  unsigned long u;
  if (scan_ulong_exact(s, byte_len(s, 32), &u) < 0) die_usage("sluice-tlsd: bad ", what, ": ", s);
  return u;
}

int main(int argc, char **argv)
{
  static struct tlsd t;
  int implicit = 0, have_ids = 0, i, status, dropping;
  int ctl[2] = { -1, -1 }, toapp[2], fromapp[2], info[2] = { -1, -1 };
  uid_t app_uid = 0, tls_uid = 0;
  gid_t app_gid = 0, tls_gid = 0;
  int have_uid = 0, have_gid = 0, with_tls;
  pid_t pid;
  struct stat st;
  SSL *ssl;
  str d = STR_INIT;

  die_progname("sluice-tlsd");
  t.timeout = 60;
  t.idle = 3600;
  for (i = 1; i < argc && argv[i][0] == '-'; ++i) {
    if (!strcmp(argv[i], "--")) {
      ++i;
      break;
    } else if (!strcmp(argv[i], "-i")) {
      implicit = 1;
    } else if (!strcmp(argv[i], "-u") && i + 1 < argc) {
      app_uid = (uid_t)number(argv[++i], "uid");
      have_uid = 1;
    } else if (!strcmp(argv[i], "-g") && i + 1 < argc) {
      app_gid = (gid_t)number(argv[++i], "gid");
      have_gid = 1;
    } else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
      t.timeout = number(argv[++i], "timeout");
      if (t.timeout == 0 || t.timeout > 86400) die_usage("sluice-tlsd: -t takes 1 to 86400 seconds");
    } else if (!strcmp(argv[i], "-T") && i + 1 < argc) {
      t.idle = number(argv[++i], "idle time limit");
      if (t.idle == 0 || t.idle > 86400) die_usage("sluice-tlsd: -T takes 1 to 86400 seconds");
    } else {
      die_usage("sluice-tlsd [-i] [-u uid -g gid] [-t seconds] [-T seconds] prog [arg...]");
    }
  }
  if (i >= argc || have_uid != have_gid) die_usage("sluice-tlsd [-i] [-u uid -g gid] [-t seconds] [-T seconds] prog [arg...]");
  have_ids = have_uid;
  argv += i;
  signal(SIGPIPE, SIG_IGN);

  /* Who runs what: as root, this process becomes the tls role user and
   * the application its own; otherwise nothing changes. */
  dropping = (geteuid() == 0);
  if (dropping) {
    if (priv_lookup(auto_user_tls, &tls_uid, &tls_gid) != 1) die_temp("no user ", auto_user_tls, " (the tls role)");
    if (!have_ids && priv_lookup(auto_user_daemon, &app_uid, &app_gid) != 1)
      die_temp("no user ", auto_user_daemon, " (the daemon role)");
    if (tls_uid == 0 || app_uid == 0) die_temp("refusing to run the TLS engine or the application as root");
  }
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  with_tls = stat("control/tls/cert.pem", &st) == 0;
  if (!with_tls) {
    if (implicit) die_temp("control/tls/cert.pem is missing: no TLS, connection refused");
    warn_msg("control/tls/cert.pem is missing: running ", argv[0], " without TLS");
    run_app(argv, dropping, app_uid, app_gid, 0, -1, -1, -1, -1);
  }

  if (pipe(toapp) < 0 || pipe(fromapp) < 0) die_temp_sys("unable to make pipes");
  if (implicit) {
    if (pipe(info) < 0) die_temp_sys("unable to make a pipe");
  } else if (socketpair(AF_UNIX, SOCK_STREAM, 0, ctl) < 0) {
    die_temp_sys("unable to make a socket pair");
  }
  pid = fork();
  if (pid < 0) die_temp_sys("unable to fork");
  if (pid == 0) {
    close(toapp[1]);
    close(fromapp[0]);
    if (implicit) {
      close(info[1]);
    } else {
      close(ctl[0]);
    }
    run_app(argv, dropping, app_uid, app_gid, implicit, ctl[1], toapp[0], fromapp[1], info[0]);
  }
  close(toapp[0]);
  close(fromapp[1]);
  if (implicit) close(info[0]);
  else close(ctl[1]);
  if (fd_cloexec(toapp[1], 1) < 0 || fd_cloexec(fromapp[0], 1) < 0) die_temp_sys("unable to set up descriptors");

  /* The keys' bytes, as root; then the drop, before any byte of the
   * client. They are parsed only when TLS starts. */
  read_certificates(&t);
  if (dropping && priv_drop(tls_uid, tls_gid, 0, 0) < 0) die_temp_sys("unable to drop to user ", auto_user_tls);

  if (implicit) {
    contexts_make(&t);
    ssl = handshake(&t);
    if (ssl) {
      details(&t, ssl, &d);
      if (write_all(info[1], d.s, d.len) < 0) ssl = 0;
    }
    close(info[1]);
  } else {
    char c = 0;
    ssize_t r;
    do r = read(ctl[0], &c, 1);
    while (r < 0 && errno == EINTR);
    ssl = 0;
    if (r == 1 && (c == 'y' || c == 'Y')) {
      contexts_make(&t);
      ssl = handshake(&t);
      if (ssl && c == 'Y') {
        details(&t, ssl, &d);
        if (write_all(ctl[0], d.s, d.len) < 0) {
          SSL_free(ssl);
          ssl = 0;
        }
      }
    }
    close(ctl[0]);
  }
  if (ssl) relay(&t, ssl, toapp[1], fromapp[0]);
  else {
    close(toapp[1]);
    close(fromapp[0]);
  }
  close(0);
  close(1);
  if (waitpid(pid, &status, 0) < 0) return 0;
  return 0;
}
