/* sendmail: the sendmail command line over sluice (sendmail(8)).
 *
 * Translates sendmail's options into a sluice-inject command and execs
 * it; -bv runs sluice-inject -V (verify only), -bs runs sluice-smtpd -l
 * (local mode) on stdin/stdout, -bp (and the name mailq) runs
 * sluice-qread, -bi and -I (and the name newaliases) run
 * sluice-newaliases. Options are read as getopt(3) reads them, as sendmail
 * and Postfix's sendmail do: flags may run together (-ti, -it), and an
 * option that takes a value takes the rest of its argument or the next
 * argument (-oi, -f addr, -faddr, -N never). Options that only tune
 * sendmail's own behaviour are accepted and ignored; each is listed in
 * the man page.
 *
 * Exit codes are sendmail's (sysexits.h): sluice-inject runs with -x,
 * which makes it exit with them; EX_USAGE (64) for a bad command line
 * ("sendmail: unknown option -x"), EX_TEMPFAIL (75) when out of memory
 * or when a program cannot be run for a passing reason, EX_UNAVAILABLE
 * (69) when it is missing. */
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
#define EX_SOFTWARE 70
#define EX_UNAVAILABLE 69
#define EX_TEMPFAIL 75
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

static _Noreturn void nomem(void)
{
  die_msg(EX_TEMPFAIL, "out of memory");
}

static void prog_path(str *p, const char *name)
{
  if (str_copys(p, auto_home) < 0 || str_cats(p, "/bin/") < 0 || str_cats(p, name) < 0 || str_0(p) < 0)
    nomem();
}

/* A program that cannot be run: missing or not executable is
 * EX_UNAVAILABLE, anything else (no memory, too many processes)
 * EX_TEMPFAIL. */
static _Noreturn void cannot_run(const char *path)
{
  int e = errno;
  die_sys(e == ENOENT || e == EACCES || e == ENOEXEC || e == ENOTDIR ? EX_UNAVAILABLE : EX_TEMPFAIL,
          "unable to run ", path);
}

static _Noreturn void run(const char *name, char **argv, char *const *envp)
{
  str p = STR_INIT;
  prog_path(&p, name);
  argv[0] = p.s;
  if (envp) execve(p.s, argv, envp);
  else execv(p.s, argv);
  cannot_run(p.s);
}

/* -bs: sluice-smtpd -l on our stdin and stdout, as a trusted local
 * client; its exit code in sendmail's terms (111: EX_TEMPFAIL; killed:
 * EX_SOFTWARE). */
static _Noreturn void smtp_session(void)
{
  env e = ENV_INIT;
  struct passwd *pw = getpwuid(getuid());
  const char *user = pw && pw->pw_name ? pw->pw_name : "unknown";
  char *argv[] = { 0, "-l", 0 };
  str p = STR_INIT;
  pid_t pid;
  int status, code;
  if (env_start(&e, 1) < 0 || env_set(&e, "RELAYCLIENT", "") < 0 || env_set(&e, "PROTO", "TCP") < 0 ||
      env_set(&e, "TCPREMOTEIP", "127.0.0.1") < 0 || env_set(&e, "TCPREMOTEHOST", "localhost") < 0 ||
      env_set(&e, "TCPREMOTEINFO", user) < 0 || env_set(&e, "TCPLOCALIP", "127.0.0.1") < 0 ||
      env_set(&e, "TCPLOCALHOST", "localhost") < 0 || env_set(&e, "TCPLOCALPORT", "25") < 0)
    nomem();
  /* mail of local users is DKIM-signed (sluice-dkimsign(8)), also
   * when it comes as an SMTP session */
  {
    const char *qq = env_get("QMAILQUEUE");
    if (!qq || !*qq) {
      int sign;
      if (str_copys(&p, auto_home) < 0 || str_cats(&p, "/control/dkimdomains") < 0 || str_0(&p) < 0) nomem();
      sign = access(p.s, F_OK) == 0;
      prog_path(&p, "sluice-dkimsign");
      if (sign && access(p.s, X_OK) == 0 && env_set(&e, "QMAILQUEUE", p.s) < 0) nomem();
    }
  }
  prog_path(&p, "sluice-smtpd");
  argv[0] = p.s;
  pid = child_spawn(p.s, argv, env_vector(&e), 0, 0);
  if (pid < 0) cannot_run(p.s);
  if (wait_pid(pid, &status) < 0) die_sys(EX_TEMPFAIL, "unable to wait for ", p.s);
  if (wait_crashed(status)) _exit(EX_SOFTWARE);
  code = wait_exitcode(status);
  _exit(code == EXIT_TEMP ? EX_TEMPFAIL : code);
}

/* -q (with or without a time: sendmail's daemon interval means
 * nothing here) is sluice-qctl flush, -qRdomain (or -qR domain)
 * sluice-qctl requeue @domain (sluice-qctl(8)); -qI, -qS and the rest
 * flush too. Only root controls the queue: anyone else is told how. */
static _Noreturn void queue_run(const char *rest, const char *next)
{
  str dom = STR_INIT;
  char *a[] = { 0, "flush", 0, 0 };
  if (rest[0] == 'R') {
    const char *d = rest[1] ? rest + 1 : next;
    if (!d || !*d) usage_die("-qR needs a domain", "");
    if (str_copys(&dom, "@") < 0 || str_cats(&dom, d[0] == '@' ? d + 1 : d) < 0 || str_0(&dom) < 0) nomem();
    a[1] = "requeue";
    a[2] = dom.s;
  }
  if (geteuid() != 0) {
    out("sendmail: sluice-send retries on its own schedule; to retry now, run as root:\n  ");
    out(auto_home);
    out(a[2] ? "/bin/sluice-qctl requeue " : "/bin/sluice-qctl flush");
    if (a[2]) out(a[2]);
    out("\n");
    _exit(0);
  }
  run("sluice-qctl", a, 0);
}

/* newaliases, -bi, -I: sluice-newaliases compiles the alias file. */
static _Noreturn void new_aliases(void)
{
  char *a[] = { 0, 0 };
  run("sluice-newaliases", a, 0);
}

int main(int argc, char **argv)
{
  char *iargv[MAXARGS];
  size_t n = 1;
  const char *sender = 0, *fullname = 0, *mode = "m";
  const char *dsn_notify = 0, *dsn_ret = 0, *dsn_envid = 0;
  int header = 0, verbose = 0, i;
  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];

  die_progname("sendmail");
  if (!strcmp(base, "mailq")) {
    char *a[] = { 0, 0 };
    run("sluice-qread", a, 0);
  }
  if (!strcmp(base, "newaliases")) new_aliases();

  for (i = 1; i < argc; ++i) {
    const char *a = argv[i];
    size_t j;
    int took_value = 0;
    if (a[0] != '-' || a[1] == 0) break;
    if (!strcmp(a, "--")) { ++i; break; }
    for (j = 1; a[j] && !took_value; ++j) {
      char o[3] = { '-', a[j], 0 };
      const char *rest = a + j + 1, *v = 0;
      switch (a[j]) {
      case 't': header = 1; continue;
      case 'i': continue; /* dots are never special */
      case 'v': verbose = 1; continue;
      case 'U': case 'G': case 'm': case 'n': case 'e': case 's': case 'c': continue; /* harmless */
      case 'I': new_aliases();
      case 'q': queue_run(rest, i + 1 < argc ? argv[i + 1] : 0); /* -q, -qtime, -qRsite */
      case 'o': took_value = 1; continue; /* -oX: always attached */
      case 'b': case 'f': case 'r': case 'F': case 'O': case 'B': case 'N': case 'R': case 'V': case 'L':
      case 'h': case 'X': case 'C': case 'A': case 'p':
        /* the value is the rest of the argument, else the next one */
        if (*rest) v = rest;
        else if (i + 1 < argc) v = argv[++i];
        else usage_die("option requires an argument: ", o);
        took_value = 1;
        break;
      default:
        usage_die("unknown option ", o);
      }
      if (a[j] == 'b') mode = v;
      else if (a[j] == 'F') fullname = v;
      else if (a[j] == 'f' || a[j] == 'r') sender = v;
      else if (a[j] == 'N') dsn_notify = v; /* DSN (RFC 3461): sluice-inject -D, -R, -E */
      else if (a[j] == 'R') dsn_ret = v;
      else if (a[j] == 'V') dsn_envid = v;
      /* -O opt=val, -Btype, -Ltag, -h hops, -X file, -C file, -Ax,
       * -pproto: ignored */
    }
  }

  if (!strcmp(mode, "p")) {
    char *q[] = { 0, 0 };
    run("sluice-qread", q, 0);
  }
  if (!strcmp(mode, "i")) new_aliases();
  if (!strcmp(mode, "s")) smtp_session();
  if (strcmp(mode, "m") && strcmp(mode, "v")) usage_die("unsupported mode -b", mode);

  iargv[n++] = "-x";
  if (!strcmp(mode, "v")) iargv[n++] = "-V";
  if (header) iargv[n++] = "-H";
  else {
    if (i >= argc) usage_die("no recipients given (name them, or use -t to read them from the header)", "");
    iargv[n++] = "-a";
  }
  if (sender) { iargv[n++] = "-f"; iargv[n++] = (char *)sender; }
  if (fullname) { iargv[n++] = "-F"; iargv[n++] = (char *)fullname; }
  if (dsn_notify) { iargv[n++] = "-D"; iargv[n++] = (char *)dsn_notify; }
  if (dsn_ret) { iargv[n++] = "-R"; iargv[n++] = (char *)dsn_ret; }
  if (dsn_envid) { iargv[n++] = "-E"; iargv[n++] = (char *)dsn_envid; }
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
