/* sluice-tlsd: the server side of TLS, a UCSPI-TLS wrapper
 * (sluice-tlsd(8)).
 *
 *   sluice-tlsd [-i] [-u UID -g GID] [-U UID -G GID] [-t SECONDS]
 *               [-T SECONDS] prog [arg...]
 *
 * Run by tcpserver as root with the connection on fd 0 and 1, before
 * an application such as sluice-smtpd. It forks; the child drops to the
 * application's uid and gid (-u, -g; by default the daemon role user)
 * and execs prog; this process reads the certificates' bytes, drops to
 * the tls role user (-U, -G), and waits for the application to ask for
 * TLS. Only then does it exec sluice-tlsrelay, the part linked with
 * OpenSSL, which parses the certificates, does the handshake and
 * relays. This program links no TLS library: a connection that never
 * starts TLS (most of them) pays neither OpenSSL's loading nor the
 * system C library's start-up (it is built static with musl), and the
 * TLS half starts only where it is used.
 *
 * STARTTLS mode (the default), the UCSPI-TLS convention: prog talks
 * plaintext straight on fd 0 and 1 and finds in its environment
 * UCSPITLS, SSLCTLFD (a socket to this process), SSLREADFD and
 * SSLWRITEFD (pipes); it writes `y' or `Y' on SSLCTLFD to start TLS.
 * -i (implicit TLS, port 465): the handshake comes first; prog gets the
 * pipes as fd 0 and 1 and the details as environment variables.
 *
 * What this process hands to sluice-tlsrelay at its exec (the
 * interface between the two, private to them, and shared with
 * sluice-tlsgate: src/lib/tlsbundle.h): fd 0 and 1 the connection, fd 3
 * the control socket (STARTTLS) or the pipe for the details (-i), fd 4
 * the pipe to prog, fd 5 the pipe from prog, fd 6 a memory file (memfd)
 * with the certificate files' bytes, each as NAME NUL LENGTH NUL BYTES
 * ("cert" first, for cert.pem, then one for each control/tls/NAME.pem),
 * and the arguments
 *   sluice-tlsrelay MODE PID TIMEOUT IDLE
 * with MODE y or Y (the byte prog wrote) or i, PID prog's process.
 *
 * The tls role user's ids come from -U and -G, which the run scripts
 * give (this program looks nobody up: a static program sees only
 * /etc/passwd). As root without them (or without -u and -g), it execs
 * `sluice-tlsrelay -L' with its own arguments, which looks the role
 * users up through the name service and execs this program again with
 * every id given.
 *
 * Certificates (read at each connection, so a renewed one needs no
 * restart): conf-home/control/tls/cert.pem holds the certificate chain
 * and the private key; control/tls/NAME.pem another pair served to
 * clients that ask for NAME by SNI. Without cert.pem (or without
 * sluice-tlsrelay, when OpenSSL was not there at build time), STARTTLS
 * mode runs prog without UCSPITLS (plain SMTP, a warning logged) and -i
 * refuses the connection.
 *
 * The key is read in this process only, after the fork: prog never has
 * it in memory nor open. Errors go to fd 2, one line each. Exit codes:
 * 0 normally, 64 usage, 111 temporary trouble. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auto.h"
#include "byte.h"
#include "die.h"
#include "env.h"
#include "errtext.h"
#include "fd.h"
#include "file.h"
#include "fmt.h"
#include "priv.h"
#include "scan.h"
#include "str.h"
#include "tlsbundle.h"
#include "ucspitls.h"

#define DETAILS_MAX UCSPITLS_DETAILS_MAX
#define USAGE "sluice-tlsd [-i] [-u uid -g gid] [-U uid -G gid] [-t seconds] [-T seconds] prog [arg...]"

static str relay_path = STR_INIT; /* conf-home/bin/sluice-tlsrelay */

/* Reads the certificates' bytes (tlsbundle.h) as root into out; dies
 * when cert.pem cannot be read. */
static void read_certificates(str *out)
{
  int r = tlsbundle_read(out);
  if (r < 0) {
    warn_msg("unable to read control/tls/cert.pem: ", errtext(errno), 0);
    _exit(EXIT_TEMP);
  }
  if (r > 0) warn_msg("unable to read a certificate file of control/tls: skipped", 0, 0);
}

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

/* Becomes sluice-tlsrelay (tlsbundle.h). */
static _Noreturn void relay(char mode, pid_t pid, unsigned long timeout, unsigned long idle, int ctlfd, int toapp,
                            int fromapp, str *bundle)
{
  const char *what;
  tlsbundle_exec_relay(relay_path.s, mode, (unsigned long)pid, timeout, idle, ctlfd, toapp, fromapp, bundle, &what);
  die_temp_sys(what);
}

static unsigned long number(const char *s, const char *what)
{
  unsigned long u;
  if (scan_ulong_exact(s, byte_len(s, 32), &u) < 0) die_usage("sluice-tlsd: bad ", what, ": ", s);
  return u;
}

int main(int argc, char **argv)
{
  int implicit = 0, i, status, dropping, with_tls;
  int ctl[2] = { -1, -1 }, toapp[2], fromapp[2], info[2] = { -1, -1 };
  uid_t app_uid = 0, tls_uid = 0;
  gid_t app_gid = 0, tls_gid = 0;
  int have_u = 0, have_g = 0, have_tu = 0, have_tg = 0;
  unsigned long timeout = 60, idle = 3600;
  char **orig = argv;
  pid_t pid;
  struct stat st;
  str bundle = STR_INIT;

  die_progname("sluice-tlsd");
  for (i = 1; i < argc && argv[i][0] == '-'; ++i) {
    if (!strcmp(argv[i], "--")) {
      ++i;
      break;
    } else if (!strcmp(argv[i], "-i")) {
      implicit = 1;
    } else if (!strcmp(argv[i], "-u") && i + 1 < argc) {
      app_uid = (uid_t)number(argv[++i], "uid");
      have_u = 1;
    } else if (!strcmp(argv[i], "-g") && i + 1 < argc) {
      app_gid = (gid_t)number(argv[++i], "gid");
      have_g = 1;
    } else if (!strcmp(argv[i], "-U") && i + 1 < argc) {
      tls_uid = (uid_t)number(argv[++i], "uid");
      have_tu = 1;
    } else if (!strcmp(argv[i], "-G") && i + 1 < argc) {
      tls_gid = (gid_t)number(argv[++i], "gid");
      have_tg = 1;
    } else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
      timeout = number(argv[++i], "timeout");
      if (timeout == 0 || timeout > 86400) die_usage("sluice-tlsd: -t takes 1 to 86400 seconds");
    } else if (!strcmp(argv[i], "-T") && i + 1 < argc) {
      idle = number(argv[++i], "idle time limit");
      if (idle == 0 || idle > 86400) die_usage("sluice-tlsd: -T takes 1 to 86400 seconds");
    } else {
      die_usage(USAGE);
    }
  }
  if (i >= argc || have_u != have_g || have_tu != have_tg) die_usage(USAGE);
  argv += i;
  signal(SIGPIPE, SIG_IGN);

  /* Who runs what: as root, this process becomes the tls role user and
   * the application its own; otherwise nothing changes. */
  dropping = (geteuid() == 0);
  if (str_copys(&relay_path, auto_home) < 0 || str_cats(&relay_path, "/bin/sluice-tlsrelay") < 0
      || str_0(&relay_path) < 0)
    die_nomem();
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  with_tls = stat("control/tls/cert.pem", &st) == 0;
  if (with_tls && access(relay_path.s, X_OK) < 0) {
    warn_msg(relay_path.s, " is missing (built without OpenSSL?)", 0);
    with_tls = 0;
  }
  if (dropping && (!have_u || (with_tls && !have_tu))) {
    /* the role users by name: the relay looks them up and comes back
     * here with every id given: sluice-tlsrelay -L ARG... */
    static char *largv[256 + 3];
    int k;
    if (argc > 256) die_usage(USAGE);
    largv[0] = (char *)"sluice-tlsrelay";
    largv[1] = (char *)"-L";
    for (k = 1; k < argc; ++k) largv[k + 1] = orig[k];
    largv[argc + 1] = 0;
    if (access(relay_path.s, X_OK) < 0) die_temp("as root without -u and -g, ", relay_path.s, " is needed to look the users up");
    execv(relay_path.s, largv);
    die_temp_sys("unable to run ", relay_path.s);
  }
  if (dropping && ((with_tls && tls_uid == 0) || app_uid == 0))
    die_temp("refusing to run the TLS engine or the application as root");
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

  /* The keys' bytes, as root; then the drop, before any byte of the
   * client. They are parsed only when TLS starts, by the relay. */
  read_certificates(&bundle);
  if (dropping && priv_drop(tls_uid, tls_gid, 0, 0) < 0) die_temp_sys("unable to drop to the tls role user");

  if (implicit) relay('i', pid, timeout, idle, info[1], toapp[1], fromapp[0], &bundle);
  {
    char c = 0;
    ssize_t r;
    do r = read(ctl[0], &c, 1);
    while (r < 0 && errno == EINTR);
    if (r == 1 && (c == 'y' || c == 'Y')) relay(c, pid, timeout, idle, ctl[0], toapp[1], fromapp[0], &bundle);
  }
  /* no TLS asked for: the session ends without OpenSSL ever loaded */
  tlsbundle_wipe(bundle.s, bundle.len);
  close(ctl[0]);
  close(toapp[1]);
  close(fromapp[0]);
  close(0);
  close(1);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  return 0;
}
