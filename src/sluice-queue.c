/* sluice-queue: the only way into the queue.
 *
 * Reads a message on fd 0 and an envelope on fd 1, commits both to the
 * queue and exits 0 only when the message is durable: file data and
 * every directory entry it depends on are fsynced. Installed setuid to
 * the queue user; it reads no environment variable, no argument and no
 * file of the caller. Exit codes are qmail-queue's table (sluice-queue(8)).
 *
 * Steps, each crash-safe (sluice-queue(5)):
 *   an unnamed file made in intd/P (O_TMPFILE; or, where that is
 *   missing, pid/PID); its inode number is the message id
 *   linked to mess/N/ID; intd/N/ID created empty;
 *   Received line and message written; its time set from the clock
 *   and read back as the stamp; fsync file, dir
 *   envelope read and checked and written to intd/N/ID with the
 *   caller's uid and pid, the stamp and the options; fsync
 *   link intd/N/ID to todo/N/ID; fsync todo/N: the commit point
 *   the id to lock/trigger; pid/PID removed (when one was made).
 * A message longer than control/databytes (default
 * QUEUE_DATABYTES_DEFAULT) plus QUEUE_TRACE_ROOM is refused with exit
 * 31 as soon as the copy passes the limit, before the commit point;
 * bounces (the caller is sluice-send's user) are exempt: their size is
 * bounded by sluice-send, not by what a client sent.
 * Before the commit point any failure removes what was made. A kill -9
 * leaves pid, mess and intd files that sluice-send and sluice-fsck remove.
 *
 * It runs once per message, so its start-up is most of its cost when
 * fsync is cheap: it is linked statically where the toolchain allows
 * (Makefile, STATIC_PROGS), asks no name service (the role of the
 * caller comes from users/roles, written by tools/setup), and writes a
 * small message with its Received line in one write. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "byte.h"
#include "control.h"
#include "date.h"
#include "die.h"
#include "file.h"
#include "fmt.h"
#include "queue.h"
#include "qfile.h"
#include "scan.h"
#include "str.h"

/* qmail-queue's exit codes */
enum {
  QQ_ADDR_TOO_LONG = 11,
  QQ_REFUSED = 31,
  QQ_NOMEM = 51,
  QQ_TIMEOUT = 52,
  QQ_WRITE = 53,
  QQ_READ = 54,
  QQ_CONFIG = 55,
  QQ_HOME = 61,
  QQ_QUEUEDIR = 62,
  QQ_PID = 63,
  QQ_MESS = 64,
  QQ_INTD = 65,
  QQ_TODO = 66,
  QQ_BUG = 81,
  QQ_ENVELOPE = 91
};

/* Largest envelope accepted: enough for QUEUE_RCPT_MAX addresses of
 * typical length; anything bigger is refused as malformed. */
#define ENVELOPE_MAX (64UL * 1024 * 1024)

/* Names to remove on failure. They are NUL-terminated fixed buffers so
 * that the SIGALRM handler can unlink them with async-signal-safe calls. */
static char path_pid[64], path_mess[64], path_intd[64];
static volatile sig_atomic_t made_pid, made_mess, made_intd;

static void cleanup(void)
{
  if (made_intd) unlink(path_intd);
  if (made_mess) unlink(path_mess);
  if (made_pid) unlink(path_pid);
}

static _Noreturn void fail(int code, const char *what)
{
  cleanup();
  if (what) warn_msg(what);
  _exit(code);
}

static _Noreturn void fail_sys(int code, const char *what)
{
  cleanup();
  warn_sys(what);
  _exit(code);
}

/* The caller keeps its real uid and so may signal this process. Only
 * the process's own timer may end it: a SIGALRM sent by kill(),
 * sigqueue() or tgkill() has si_code <= 0 (SI_USER, SI_QUEUE, SI_TKILL)
 * and is ignored; the timer's has SI_KERNEL. Every signal is blocked
 * across the commit point (main), so even the timer cannot run cleanup()
 * once todo/N/ID may exist. */
static void on_alarm(int sig, siginfo_t *info, void *context)
{
  (void)sig;
  (void)context;
  if (info && info->si_code <= 0) return;
  cleanup();
  _exit(QQ_TIMEOUT);
}

/* 1 when open(O_TMPFILE) failed because the kernel or the file system
 * cannot make unnamed files (not a trouble of the queue). */
static int tmpfile_unsupported(int e)
{
  return e == EOPNOTSUPP || e == EISDIR || e == EINVAL || e == ENOSYS;
}

/* Copies a str name into one of the fixed buffers. */
static void fix_name(char *dst, size_t size, const str *name)
{
  if (name->len >= size) fail(QQ_BUG, "queue name too long");
  for (size_t i = 0; i < name->len; ++i) dst[i] = name->s[i];
  dst[name->len] = 0;
}

/* users/roles (sluice-queue(8)): one line "ROLE UID" for each user role
 * of conf-users, written by tools/setup from the passwd database and
 * checked by sluice-fsck. Reading it costs one open and one read where
 * getpwuid() would load and ask the name service (and cannot work in a
 * static program). The file is root's, in a root-owned directory. */
#define ROLES_MAX 4096

/* The roles the Received line names, with what it says for each. */
static const char *const role_how[][2] = {
  { "daemon", "from network" }, { "alias", "by alias" }, { "send", "by bounce" },
};
#define ROLE_SEND 2

/* The index in role_how of the role of the first line of roles[0..n)
 * that names uid, or -1 ("by uid N"). */
static int roles_how(const char *roles, size_t n, uid_t uid)
{
  size_t i = 0;
  while (i < n) {
    size_t start = i, sp = 0, end;
    unsigned long u;
    while (i < n && roles[i] != '\n') {
      if (roles[i] == ' ' && !sp) sp = i;
      ++i;
    }
    end = i++;
    if (!sp || scan_ulong_exact(roles + sp + 1, end - sp - 1, &u) < 0 || u != (unsigned long)uid) continue;
    for (size_t r = 0; r < sizeof role_how / sizeof role_how[0]; ++r)
      if (strlen(role_how[r][0]) == sp - start && !memcmp(roles + start, role_how[r][0], sp - start)) return (int)r;
  }
  return -1;
}

/* The role of uid by users/roles (relative to conf-home), an index in
 * role_how; -1 when the file is missing, unreadable or does not name
 * uid: the line then says "by uid N", which is all a Received line
 * needs (sluice-fsck reports a missing or wrong file), and the size
 * limit applies. */
static int invoked_role(uid_t uid)
{
  char roles[ROLES_MAX];
  ssize_t n;
  int fd = open_read("users/roles");
  if (fd < 0) return -1;
  n = read(fd, roles, sizeof roles); /* one read: a small regular file */
  close(fd);
  if (n <= 0) return -1;
  return roles_how(roles, (size_t)n, uid);
}

static int received_line(str *out, pid_t pid, int role, uid_t uid, time_t now)
{
  const char *how = role >= 0 ? role_how[role][1] : 0;
  if (str_copys(out, "Received: (sluice ") < 0) return -1;
  if (str_catulong(out, (unsigned long)pid) < 0) return -1;
  if (str_cats(out, " invoked ") < 0) return -1;
  if (how) {
    if (str_cats(out, how) < 0) return -1;
  } else {
    if (str_cats(out, "by uid ") < 0 || str_catulong(out, (unsigned long)uid) < 0) return -1;
  }
  /* UTC, as qmail-queue does: the line does not depend on TZ. (glibc's
   * gmtime_r still loads /etc/localtime once; a date_rfc5322_utc that
   * did its own arithmetic would spare those few system calls.) */
  if (str_cats(out, "); ") < 0 || date_rfc5322_utc(out, now) < 0) return -1;
  return str_catc(out, '\n');
}

/* Copies fd 0 to fd, after the Received line. The buffer is filled
 * before each write, so that a small message and its Received line
 * take one write. More than limit bytes on fd 0 (0: no limit) is a
 * permanent refusal, before anything is committed. */
static void copy_message(int fd, const str *received, unsigned long limit)
{
  char buf[65536];
  size_t have = received->len;
  unsigned long long copied = 0; /* bytes of fd 0; cannot wrap before the limit */
  int eof = 0;
  if (have > sizeof buf) fail(QQ_BUG, "Received line too long");
  memcpy(buf, received->s, have);
  while (!eof) {
    while (have < sizeof buf) {
      ssize_t r = read(0, buf + have, sizeof buf - have);
      if (r < 0) {
        if (errno == EINTR) continue;
        fail_sys(QQ_READ, "unable to read message");
      }
      if (r == 0) {
        eof = 1;
        break;
      }
      have += (size_t)r;
      copied += (unsigned long long)r;
      if (limit && copied > limit) fail(QQ_REFUSED, "message too big: over control/databytes");
    }
    if (write_all(fd, buf, have) < 0) fail_sys(QQ_WRITE, "unable to write message");
    have = 0;
  }
}

/* 1 when s[0..n) is printable ASCII (32 to 126). */
static int printable(const char *s, size_t n)
{
  size_t i;
  for (i = 0; i < n; ++i)
    if (s[i] < 32 || s[i] > 126) return 0;
  return 1;
}

/* The longest value of an I, N or R record (DSN). */
#define DSN_FIELD_MAX 1000

/* Reads the envelope from fd 1 and checks it: optionally an 'O' record
 * (option letters, qfile.h) NUL, optionally an 'I' record (DSN ENVID),
 * then 'F' sender NUL, then 'T' recipient NUL for each recipient, each
 * perhaps after an 'N' (NOTIFY) and an 'R' (ORCPT) record of its own,
 * then a final NUL, then end of file.
 * An address is at most QUEUE_ADDR_MAX bytes and holds no CR or LF (it
 * would end up in headers). *from gets the offset of the 'F' record,
 * *opts the options, with SMTPUTF8 added when an address holds a byte
 * above 127 (such a message cannot be relayed without it, whoever
 * queued it). Returns the number of recipients. */
static unsigned long read_envelope(str *env, size_t *from, unsigned *opts)
{
  size_t i = 0, start;
  unsigned long rcpts = 0;
  int final = 0, utf8 = 0, seen_from = 0, pending = 0;

  if (read_fd_all(1, env, ENVELOPE_MAX) < 0) {
    if (errno == EFBIG) fail(QQ_ENVELOPE, "envelope too large");
    fail_sys(QQ_READ, "unable to read envelope");
  }
  /* no envelope at all: the caller gave up on purpose (sluice-inject
   * over databytes, a client gone during DATA) and says so itself; a
   * warning here would be a second, confusing line on a user's terminal */
  if (env->len == 0) fail(QQ_READ, 0);
  *opts = 0;
  if (env->s[0] == 'O') {
    size_t end = byte_chr(env->s, env->len, 0);
    if (end == env->len) fail(QQ_READ, "envelope truncated: caller gave up");
    if (end < 2 || qfile_options_parse(env->s + 1, end - 1, opts) < 0)
      fail(QQ_ENVELOPE, "envelope has a bad O record");
    i = end + 1;
  }
  *from = i;
  /* DSN (RFC 3461): ENVID in an I record before F (sluice-queue(5)) */
  if (i < env->len && env->s[i] == 'I') {
    size_t end = i + byte_chr(env->s + i, env->len - i, 0);
    if (end == env->len) fail(QQ_READ, "envelope truncated: caller gave up");
    if (end - i < 2 || end - i - 1 > DSN_FIELD_MAX || !printable(env->s + i + 1, end - i - 1))
      fail(QQ_ENVELOPE, "envelope has a bad I record");
    i = end + 1;
  }
  while (i < env->len) {
    char kind = env->s[i];
    if (kind == 0) {
      if (!seen_from) fail(QQ_ENVELOPE, "envelope has no sender");
      if (pending) fail(QQ_ENVELOPE, "envelope has an N or R record without its T");
      if (i + 1 != env->len) fail(QQ_ENVELOPE, "envelope has bytes after its end");
      final = 1;
      break;
    }
    if (seen_from && (kind == 'N' || kind == 'R')) {
      /* NOTIFY letters or ORCPT of the next recipient, each at most once */
      size_t end = i + byte_chr(env->s + i, env->len - i, 0);
      int bit = kind == 'N' ? 1 : 2;
      if (end == env->len) fail(QQ_READ, "envelope truncated: caller gave up");
      if ((pending & bit) || end - i < 2 || end - i - 1 > DSN_FIELD_MAX
          || (kind == 'N' ? !qfile_notify_valid(env->s + i + 1, end - i - 1)
                          : !printable(env->s + i + 1, end - i - 1)
                                || byte_chr(env->s + i + 1, end - i - 1, ';') >= end - i - 1))
        fail(QQ_ENVELOPE, "envelope has a bad N or R record");
      pending |= bit;
      i = end + 1;
      continue;
    }
    if (!seen_from ? kind != 'F' : kind != 'T')
      fail(QQ_ENVELOPE, !seen_from ? "envelope does not start with F" : "envelope record does not start with T");
    seen_from = 1;
    pending = 0;
    start = ++i;
    while (i < env->len && env->s[i] != 0) {
      if (env->s[i] == '\n' || env->s[i] == '\r') fail(QQ_ENVELOPE, "envelope address holds a line break");
      if ((unsigned char)env->s[i] >= 0x80) utf8 = 1;
      ++i;
    }
    if (i >= env->len) fail(QQ_READ, "envelope truncated: caller gave up");
    if (i - start > QUEUE_ADDR_MAX) fail(QQ_ADDR_TOO_LONG, "address too long");
    ++i;
    if (kind == 'T' && ++rcpts > QUEUE_RCPT_MAX) fail(QQ_ENVELOPE, "too many recipients");
  }
  if (!final) fail(QQ_READ, "envelope truncated: caller gave up");
  if (utf8) *opts |= QFILE_OPT_SMTPUTF8;
  return rcpts;
}

/* Wakes sluice-send with the new message's id and a newline, one write
 * (atomic: far below PIPE_BUF), so that it takes this todo entry
 * before a backlog it is working through (sluice-queue(5)). */
static void trigger(unsigned long id)
{
  char b[FMT_ULONG + 1];
  size_t n = fmt_ulong(b, id);
  int fd = open("lock/trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return; /* nobody listening: sluice-send scans todo at start */
  b[n++] = '\n';
  if (write(fd, b, n) < 0) { /* a full fifo already wakes the reader */ }
  close(fd);
}

int main(void)
{
  str name = STR_INIT, received = STR_INIT, env = STR_INIT, info = STR_INIT;
  struct stat st;
  pid_t pid = getpid();
  uid_t uid = getuid();
  time_t now = time(0);
  unsigned long id, databytes, limit;
  char stamp[QFILE_STAMP_MAX], optbuf[QFILE_OPTIONS_MAX];
  size_t stamp_len, from;
  unsigned opts;
  int fd, intd_fd, role;

  die_progname("sluice-queue");
  umask(037); /* QUEUE_FILE_MODE, whatever the caller's umask */
  signal(SIGPIPE, SIG_IGN);
  {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, 0);
  }
  alarm(86400);

  if (chdir(auto_home) < 0) fail_sys(QQ_HOME, "unable to switch to home directory");
  role = invoked_role(uid);
  if (received_line(&received, pid, role, uid, now) < 0) fail(QQ_NOMEM, "out of memory");
  if (control_readnum("control/databytes", &databytes, QUEUE_DATABYTES_DEFAULT, 0, (unsigned long)-1) < 0)
    fail_sys(QQ_CONFIG, "unable to read control/databytes");
  limit = databytes == 0 || role == ROLE_SEND || databytes > (unsigned long)-1 - QUEUE_TRACE_ROOM
              ? 0 : databytes + QUEUE_TRACE_ROOM;
  if (chdir("queue") < 0) fail_sys(QQ_QUEUEDIR, "unable to switch to queue directory");

  /* 1. the message's inode: its number is the message id. An unnamed
   * file in intd/P (P this process's id modulo conf-split; the
   * directory is setgid like pid/, so the file gets group sluice): the
   * messages' inodes spread over the file system's block groups as the
   * split directories do, instead of crowding the one pid/ is in, where
   * ext4 without a journal walks past every inode freed in the last half
   * minute to allocate one. Its first name is mess/N/ID, given through
   * /proc/self/fd; a kill before that leaves nothing. Without O_TMPFILE
   * (an old kernel, a file system without it) or /proc, the pid file as
   * before: pid/PID, then linked to mess/N/ID. */
  fd = -1;
  if (str_copys(&name, "intd/") < 0 || str_catulong(&name, (unsigned long)pid % auto_split) < 0 || str_0(&name) < 0)
    fail(QQ_NOMEM, "out of memory");
  fd = open(name.s, O_TMPFILE | O_WRONLY | O_CLOEXEC, QUEUE_FILE_MODE);
  if (fd < 0 && !tmpfile_unsupported(errno)) fail_sys(QQ_PID, "unable to create message file");
  if (fd >= 0) {
    char proc[sizeof "/proc/self/fd/" + FMT_ULONG];
    if (fstat(fd, &st) < 0) fail_sys(QQ_PID, "unable to stat message file");
    id = (unsigned long)st.st_ino;
    if (queue_name(&name, "mess", id, auto_split) < 0) fail(QQ_NOMEM, "out of memory");
    fix_name(path_mess, sizeof path_mess, &name);
    memcpy(proc, "/proc/self/fd/", 14);
    proc[14 + fmt_ulong(proc + 14, (unsigned long)fd)] = 0;
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path_mess, AT_SYMLINK_FOLLOW) == 0) {
      made_mess = 1;
    } else {
      struct stat proc_st; /* stat, not access: this runs setuid, and access asks for the real uid */
      if (errno != ENOENT || stat("/proc/self/fd", &proc_st) == 0) fail_sys(QQ_MESS, "unable to link message into mess");
      close(fd); /* no /proc: the unnamed file goes away */
      fd = -1;
    }
  }
  if (fd < 0) {
    if (str_copys(&name, "pid/") < 0 || str_catulong(&name, (unsigned long)pid) < 0) fail(QQ_NOMEM, "out of memory");
    fix_name(path_pid, sizeof path_pid, &name);
    fd = open_excl(path_pid, QUEUE_FILE_MODE);
    if (fd < 0 && errno == EEXIST) { /* left by a crashed process with our pid */
      unlink(path_pid);
      fd = open_excl(path_pid, QUEUE_FILE_MODE);
    }
    if (fd < 0) fail_sys(QQ_PID, "unable to create pid file");
    made_pid = 1;
    if (fstat(fd, &st) < 0) fail_sys(QQ_PID, "unable to stat pid file");
    id = (unsigned long)st.st_ino;

    /* 2. the message, under mess/N/ID */
    if (queue_name(&name, "mess", id, auto_split) < 0) fail(QQ_NOMEM, "out of memory");
    fix_name(path_mess, sizeof path_mess, &name);
    if (link(path_pid, path_mess) < 0) fail_sys(QQ_MESS, "unable to link message into mess");
    made_mess = 1;
  }
  /* the envelope file is created now, before the first fsync: creating
   * a name right after an fsync waits for the journal on some file
   * systems, and an intd file without todo is invisible anyway */
  if (queue_name(&name, "intd", id, auto_split) < 0) fail(QQ_NOMEM, "out of memory");
  fix_name(path_intd, sizeof path_intd, &name);
  intd_fd = open_excl(path_intd, QUEUE_FILE_MODE);
  if (intd_fd < 0) fail_sys(QQ_INTD, "unable to create envelope file");
  made_intd = 1;
  copy_message(fd, &received, limit);
  /* The stamp: the message file's modification time, set from the
   * clock now that its inode is ours, and read back as the file system
   * keeps it. With the id it names this message for the life of the
   * installation, and sluice-send delivers the file only while its time
   * is still this one (sluice-queue(5)). */
  {
    struct timespec ts[2];
    if (clock_gettime(CLOCK_REALTIME, &ts[0]) < 0) fail_sys(QQ_WRITE, "unable to read the clock");
    ts[1] = ts[0];
    if (futimens(fd, ts) < 0 || fstat(fd, &st) < 0) fail_sys(QQ_WRITE, "unable to set the message's time");
    stamp_len = qfile_stamp_fmt(stamp, (unsigned long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
  }
  if (file_sync(fd) < 0) fail_sys(QQ_WRITE, "unable to sync message");
  if (close(fd) < 0) fail_sys(QQ_WRITE, "unable to close message");
  if (dir_sync_of(path_mess) < 0) fail_sys(QQ_MESS, "unable to sync mess directory");

  /* 3. the envelope, under intd/N/ID */
  read_envelope(&env, &from, &opts);
  if (str_copys(&info, "u") < 0 || str_catulong(&info, (unsigned long)uid) < 0 || str_catc(&info, 0) < 0
      || str_cats(&info, "p") < 0 || str_catulong(&info, (unsigned long)pid) < 0 || str_catc(&info, 0) < 0
      || str_catc(&info, 's') < 0 || str_catb(&info, stamp, stamp_len) < 0 || str_catc(&info, 0) < 0
      || (opts && (str_catc(&info, 'O') < 0 || str_catb(&info, optbuf, qfile_options_fmt(optbuf, opts)) < 0
                   || str_catc(&info, 0) < 0))
      || str_catb(&info, env.s + from, env.len - 1 - from) < 0) /* without the final NUL */
    fail(QQ_NOMEM, "out of memory");
  if (write_all(intd_fd, info.s, info.len) < 0) fail_sys(QQ_WRITE, "unable to write envelope");
  if (file_sync(intd_fd) < 0) fail_sys(QQ_WRITE, "unable to sync envelope");
  if (close(intd_fd) < 0) fail_sys(QQ_WRITE, "unable to close envelope");
  /* intd/N needs no directory fsync: after a crash only the todo name
   * matters, and an intd name that did not survive is not missed. */

  /* 4. the commit point: todo/N/ID, made durable by fsync of todo/N.
   * From just before the link on, no signal is delivered: a handler
   * that ran after the link would remove mess/N/ID under a committed
   * todo/N/ID (a hole a local caller could aim at with SIGALRM), and a
   * timeout reported after the commit would make the caller send the
   * message again. SIGKILL and SIGSTOP cannot be blocked; a kill -9
   * here leaves a committed message or the leftovers of one that never
   * was, never half of one. */
  if (queue_name(&name, "todo", id, auto_split) < 0 || str_0(&name) < 0) fail(QQ_NOMEM, "out of memory");
  {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, 0);
  }
  if (link(path_intd, name.s) < 0) fail_sys(QQ_TODO, "unable to link envelope into todo");
  if (dir_sync_of(name.s) < 0) {
    int e = errno;
    /* not durable yet: undo the link ourselves, then the rest */
    if (unlink(name.s) < 0) {
      made_intd = made_mess = 0; /* todo stays: so must its message */
      errno = e;
      fail_sys(QQ_TODO, "unable to sync todo directory, and unable to remove todo entry");
    }
    errno = e;
    fail_sys(QQ_TODO, "unable to sync todo directory");
  }
  made_intd = made_mess = 0; /* committed: nothing may be removed now */

  /* 5. wake sluice-send; 6. done */
  trigger(id);
  if (made_pid) unlink(path_pid);
  made_pid = 0;
  _exit(0);
}
