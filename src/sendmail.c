/* sendmail: the sendmail command line over sluice (sendmail(8)).
 *
 * Translates sendmail's options into a sluice-inject command and execs
 * it; -bs runs sluice-smtpd on stdin/stdout, -bp (and the name mailq)
 * runs sluice-qread. Options that only tune sendmail's own behaviour are
 * accepted and ignored; each is listed in the man page. Unknown options
 * exit 64 (EX_USAGE) with "sendmail: unknown option -x". */
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auto.h"
#include "die.h"
#include "env.h"
#include "file.h"
#include "str.h"
#include "wait.h"

#define EX_USAGE 64
#define MAXARGS 4096

static void out(const char *s) { write_all(1, s, strlen(s)); }
static void err(const char *s) { write_all(2, s, strlen(s)); }

static _Noreturn void usage_die(const char *what, const char *opt)
{
  err("sendmail: ");
  err(what);
  err(opt);
  err("\n");
  _exit(EX_USAGE);
}

static void prog_path(str *p, const char *name)
{
  if (str_copys(p, auto_home) < 0 || str_cats(p, "/bin/") < 0 || str_cats(p, name) < 0 || str_0(p) < 0)
    die_nomem();
}

static _Noreturn void run(const char *name, char **argv, char *const *envp)
{
  str p = STR_INIT;
  prog_path(&p, name);
  argv[0] = p.s;
  if (envp) execve(p.s, argv, envp);
  else execv(p.s, argv);
  die_temp_sys("unable to run ", p.s);
}

/* -q: SIGALRM to sluice-send through its daemontools service (svc -a),
 * found under conf-home/service (where make run puts it) or the usual
 * system service directories. Only root may signal it. */
static _Noreturn void queue_run(void)
{
  static const char *const dirs[] = { "/service/sluice-send", "/etc/service/sluice-send", "/var/service/sluice-send", 0 };
  str own = STR_INIT;
  const char *d;
  size_t i;
  if (str_copys(&own, auto_home) < 0 || str_cats(&own, "/service/sluice-send") < 0 || str_0(&own) < 0) die_nomem();
  for (i = 0, d = own.s; d; d = dirs[i++]) {
    struct stat st;
    if (stat(d, &st) == 0 && S_ISDIR(st.st_mode) && geteuid() == 0) {
      char *argv[] = { "svc", "-a", (char *)d, 0 };
      pid_t pid = child_spawn("/usr/bin/svc", argv, 0, 0, 0);
      int status;
      if (pid < 0) break;
      if (wait_pid(pid, &status) < 0 || wait_exitcode(status) != 0) break;
      out("sendmail: asked sluice-send to retry every queued message now\n");
      _exit(0);
    }
  }
  out("sendmail: sluice-send retries on its own schedule; to retry everything now, run as root:\n"
      "  svc -a ");
  out(own.s);
  out("   (the directory of the sluice-send service)\n");
  _exit(0);
}

int main(int argc, char **argv)
{
  char *iargv[MAXARGS];
  size_t n = 1;
  const char *sender = 0, *fullname = 0;
  int header = 0, verbose = 0, i;
  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];

  die_progname("sendmail");
  if (!strcmp(base, "mailq")) {
    char *a[] = { 0, 0 };
    run("sluice-qread", a, 0);
  }
  if (!strcmp(base, "newaliases")) {
    out("sendmail: sluice has no aliases database: aliases are .qmail files (see dot-qmail(5))\n");
    return 0;
  }

  for (i = 1; i < argc; ++i) {
    const char *a = argv[i];
    if (a[0] != '-' || a[1] == 0) break;
    if (!strcmp(a, "--")) { ++i; break; }
    switch (a[1]) {
    case 't': if (a[2]) usage_die("unknown option ", a); header = 1; break;
    case 'i': if (a[2]) usage_die("unknown option ", a); break; /* dots are never special */
    case 'v': if (a[2]) usage_die("unknown option ", a); verbose = 1; break;
    case 'U': case 'G': case 'm': case 'n': case 'e': case 's': break; /* harmless */
    case 'f': case 'r': case 'F': {
      const char *v;
      if (a[2]) v = a + 2;
      else if (i + 1 < argc) v = argv[++i];
      else usage_die("option requires an argument: ", a);
      if (a[1] == 'F') fullname = v; else sender = v;
      break;
    }
    case 'o': case 'O': case 'B': case 'N': case 'R': case 'V': case 'L':
      /* -oX, -O opt=val, -Btype, -Ndsn, -Rret, -Venvid, -Ltag: ignored; a
       * separate argument is taken when nothing is attached */
      if (!a[2] && a[1] != 'o') {
        if (i + 1 >= argc) usage_die("option requires an argument: ", a);
        ++i;
      }
      break;
    case 'h': case 'X': case 'C': case 'A': case 'p':
      if (!a[2]) {
        if (i + 1 >= argc) usage_die("option requires an argument: ", a);
        ++i;
      }
      break;
    case 'I': if (a[2]) usage_die("unknown option ", a);
      out("sendmail: sluice has no aliases database: aliases are .qmail files (see dot-qmail(5))\n");
      return 0;
    case 'q': queue_run();
    case 'b':
      if (!strcmp(a, "-bm")) break;
      if (!strcmp(a, "-bp")) {
        char *q[] = { 0, 0 };
        run("sluice-qread", q, 0);
      }
      if (!strcmp(a, "-bi")) {
        out("sendmail: sluice has no aliases database: aliases are .qmail files (see dot-qmail(5))\n");
        return 0;
      }
      if (!strcmp(a, "-bs")) {
        env e = ENV_INIT;
        struct passwd *pw = getpwuid(getuid());
        const char *user = pw && pw->pw_name ? pw->pw_name : "unknown";
        char *s[] = { 0, 0 };
        if (env_start(&e, 1) < 0 || env_set(&e, "RELAYCLIENT", "") < 0 || env_set(&e, "PROTO", "TCP") < 0 ||
            env_set(&e, "TCPREMOTEIP", "127.0.0.1") < 0 || env_set(&e, "TCPREMOTEHOST", "localhost") < 0 ||
            env_set(&e, "TCPREMOTEINFO", user) < 0 || env_set(&e, "TCPLOCALIP", "127.0.0.1") < 0 ||
            env_set(&e, "TCPLOCALHOST", "localhost") < 0 || env_set(&e, "TCPLOCALPORT", "25") < 0)
          die_nomem();
        run("sluice-smtpd", s, env_vector(&e));
      }
      usage_die("unsupported mode ", a);
    default:
      usage_die("unknown option ", a);
    }
  }

  if (header) iargv[n++] = "-H";
  else {
    if (i >= argc) usage_die("no recipients given (name them, or use -t to read them from the header)", "");
    iargv[n++] = "-a";
  }
  if (sender) { iargv[n++] = "-f"; iargv[n++] = (char *)sender; }
  if (fullname) { iargv[n++] = "-F"; iargv[n++] = (char *)fullname; }
  iargv[n++] = "--";
  for (; i < argc; ++i) {
    if (n + 1 >= MAXARGS) usage_die("too many recipients on the command line", "");
    iargv[n++] = argv[i];
  }
  iargv[n] = 0;
  if (verbose) {
    str p = STR_INIT;
    prog_path(&p, "sluice-inject");
    err("sendmail: running ");
    err(p.s);
    for (size_t k = 1; k < n; ++k) {
      err(" '");
      err(iargv[k]);
      err("'");
    }
    err("\n");
    str_free(&p);
  }
  run("sluice-inject", iargv, 0);
}
