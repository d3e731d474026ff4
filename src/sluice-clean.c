/* sluice-clean: removes queue files on sluice-send's request.
 *
 * Runs as the queue user (the owner of mess, intd, todo and pid), with
 * requests on fd 0 and one answer byte per request on fd 1; the
 * protocol is in sluice-clean(8). It trusts nobody: every request is
 * checked, a malformed one is answered '?' and logged, and a request
 * to remove a message that is still waiting in todo is refused. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "die.h"
#include "file.h"
#include "queue.h"
#include "qfile.h"
#include "scan.h"
#include "str.h"

/* A request is at most this long (type byte, 20 digits, NUL). */
#define REQUEST_MAX 32
/* Pid files older than this were left by a crashed sluice-queue. */
#define STALE_SECONDS (36L * 3600)

static int remove_name(str *name, const char *dir, unsigned long id)
{
  if (queue_name(name, dir, id, auto_split) < 0 || str_0(name) < 0) return -1;
  if (unlink(name->s) < 0 && errno != ENOENT) return -1;
  return 0;
}

/* 't': the envelope has been preprocessed; remove todo, then intd. */
static char clean_todo(unsigned long id)
{
  str name = STR_INIT;
  char answer = '+';
  if (remove_name(&name, "todo", id) < 0 || remove_name(&name, "intd", id) < 0) {
    warn_sys("unable to remove envelope ", name.s ? name.s : "");
    answer = '!';
  }
  str_free(&name);
  return answer;
}

/* 'm': the message is finished (or an orphan); remove mess and intd,
 * but never a message whose envelope still waits in todo. */
static char clean_mess(unsigned long id)
{
  str name = STR_INIT;
  struct stat st;
  char answer = '+';
  if (queue_name(&name, "todo", id, auto_split) < 0 || str_0(&name) < 0) {
    answer = '!';
  } else if (lstat(name.s, &st) == 0) {
    warn_msg("refusing to remove a message still in todo: ", name.s);
    answer = '!';
  } else if (errno != ENOENT) {
    warn_sys("unable to stat ", name.s);
    answer = '!';
  } else if (remove_name(&name, "intd", id) < 0 || remove_name(&name, "mess", id) < 0) {
    warn_sys("unable to remove ", name.s ? name.s : "");
    answer = '!';
  }
  str_free(&name);
  return answer;
}

/* 'q': todo/N/ID has no message of its own (sluice-send checked):
 * the entry moves to quarantine/ as todo.ID.TIME for the postmaster
 * (sluice-fsck reports it) and its intd link goes. It is never removed
 * silently, and never left where it would block the id or be delivered.
 * The check is made again here, by the owner of the files, so that
 * sluice-send cannot move a good message away: the message must be
 * missing, not a regular file of ours with that inode, or not the file
 * the envelope committed (queue_mess_committed). */
static char quarantine_todo(unsigned long id, time_t now)
{
  str todo = STR_INIT, to = STR_INIT, mess = STR_INIT, env = STR_INIT;
  struct qfile_info in = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
  struct stat t, m;
  char answer = '+';
  if (queue_name(&todo, "todo", id, auto_split) < 0 || str_0(&todo) < 0 ||
      queue_name(&mess, "mess", id, auto_split) < 0 || str_0(&mess) < 0 ||
      str_copys(&to, "quarantine/todo.") < 0 || str_catulong(&to, id) < 0 || str_catc(&to, '.') < 0 ||
      str_catulong(&to, (unsigned long)now) < 0 || str_0(&to) < 0) {
    answer = '!';
    goto done;
  }
  if (lstat(todo.s, &t) < 0) goto done; /* already gone */
  /* the stamp, when the envelope has one; without, the older rule */
  if (file_read(todo.s, &env, 64UL << 20) > 0) qfile_envelope_parse(&env, &in, 0, 0);
  if (lstat(mess.s, &m) == 0 && queue_mess_is(&m, id, geteuid()) &&
      queue_mess_committed(&m, in.stamped, in.stamp_sec, in.stamp_nsec, t.st_mtime)) {
    warn_msg("refusing to quarantine a message that has its file: ", todo.s);
    answer = '!';
    goto done;
  }
  /* link, then unlink: rename() would be the only reason for stdio.h */
  if (link(todo.s, to.s) < 0 || unlink(todo.s) < 0) {
    warn_sys("unable to quarantine ", todo.s);
    answer = '!';
    goto done;
  }
  warn_msg("quarantined ", todo.s, " as ", to.s);
  /* intd/N/ID goes only when it is the same file: under a reused id it
   * can be the envelope of an injection still running */
  if (queue_name(&todo, "intd", id, auto_split) == 0 && str_0(&todo) == 0 && lstat(todo.s, &m) == 0 &&
      m.st_ino == t.st_ino && m.st_dev == t.st_dev && unlink(todo.s) < 0 && errno != ENOENT)
    warn_sys("unable to remove ", todo.s);
done:
  str_free(&todo);
  str_free(&to);
  str_free(&mess);
  str_free(&env);
  str_free(&in.sender);
  str_free(&in.dsn);
  return answer;
}

/* 'p': remove pid files older than STALE_SECONDS. */
static char clean_pids(time_t now)
{
  DIR *d = opendir("pid");
  struct dirent *de;
  str name = STR_INIT;
  char answer = '+';
  if (!d) { warn_sys("unable to open pid directory"); return '!'; }
  while ((errno = 0, de = readdir(d)) != 0) {
    struct stat st;
    if (de->d_name[0] == '.') continue;
    if (str_copys(&name, "pid/") < 0 || str_cats(&name, de->d_name) < 0 || str_0(&name) < 0) { answer = '!'; break; }
    if (lstat(name.s, &st) < 0) continue;
    if (!S_ISREG(st.st_mode) || st.st_mtime > now - STALE_SECONDS) continue;
    if (unlink(name.s) < 0 && errno != ENOENT) { warn_sys("unable to remove ", name.s); answer = '!'; }
    else warn_msg("removed stale ", name.s);
  }
  if (errno) answer = '!';
  closedir(d);
  str_free(&name);
  return answer;
}

/* Parses one request (without its NUL) and carries it out. */
static char handle(const char *req, size_t len)
{
  unsigned long id;
  if (len == 1 && req[0] == 'p') return clean_pids(time(0));
  if (len < 2 || (req[0] != 't' && req[0] != 'm' && req[0] != 'q')) return '?';
  if (req[1] == '0' || scan_ulong_exact(req + 1, len - 1, &id) < 0) return '?';
  if (req[0] == 'q') return quarantine_todo(id, time(0));
  return req[0] == 't' ? clean_todo(id) : clean_mess(id);
}

int main(void)
{
  char in[4096], req[REQUEST_MAX];
  size_t reqlen = 0;
  int overlong = 0;

  die_progname("sluice-clean");
  signal(SIGPIPE, SIG_IGN);
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  if (chdir("queue") < 0) die_temp_sys("unable to switch to queue directory");

  for (;;) {
    ssize_t r = read(0, in, sizeof in);
    if (r < 0) {
      if (errno == EINTR) continue;
      die_temp_sys("unable to read requests");
    }
    if (r == 0) break;
    for (ssize_t i = 0; i < r; ++i) {
      char answer;
      if (in[i] != 0) {
        if (reqlen < sizeof req) req[reqlen++] = in[i];
        else overlong = 1;
        continue;
      }
      answer = overlong ? '?' : handle(req, reqlen);
      if (answer == '?') warn_msg("malformed request ignored");
      if (write_all(1, &answer, 1) < 0) die_temp_sys("unable to answer");
      reqlen = 0;
      overlong = 0;
    }
  }
  if (reqlen || overlong) warn_msg("request cut off at end of input ignored");
  return 0;
}
