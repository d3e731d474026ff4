/* test_getpw_client.c: sluice-lspawn's side of the lookup helper
 * (getpw_client.h) against shell stand-ins for the helper: an answer
 * and the cache that spares the second question; a helper that ends
 * after one answer, replaced at once with the question asked again; a
 * helper that never answers, killed at the deadline; an answer that
 * does not parse; a helper that ends without answering, then the
 * back-off (no start while it lasts); the state after a stop. The test
 * reaps the stand-ins itself (sluice-lspawn leaves that to spawner.c). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "file.h"
#include "getpw_client.h"
#include "getpw_proto.h"
#include "str.h"

static char dir[] = "/tmp/test_getpw_client.XXXXXX";
static str path;

/* Writes the stand-in NAME with the shell text body; its path in path. */
static const char *script(const char *name, const char *body)
{
  str text = STR_INIT;
  int fd;
  path.len = 0;
  if (str_copys(&path, dir) < 0 || str_cats(&path, "/") < 0 || str_cats(&path, name) < 0 || str_0(&path) < 0)
    return 0;
  if (str_copys(&text, "#!/bin/sh\n") < 0 || str_cats(&text, body) < 0 || str_cats(&text, "\n") < 0) return 0;
  fd = open_trunc(path.s, 0755);
  if (fd < 0 || write_all(fd, text.s, text.len) < 0) return 0;
  close(fd);
  str_free(&text);
  return path.s;
}

static void client(struct getpw_client *c, const char *p, unsigned long timeout_ms)
{
  memset(c, 0, sizeof *c);
  getpw_client_init(c);
  c->path = p;
  c->alias = "alias";
  c->timeout_ms = timeout_ms;
  c->ttl_ms = 60000;
  c->negative_ttl_ms = 10000;
}

/* How pid ended: its wait status, or -1. */
static int ended(pid_t pid)
{
  int st;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return st;
}

/* the groups request for gid is "8:g10N\0joe," (11 bytes); each
 * stand-in reads one such request, and answers with "5:K100\0," */
#define READ_ONE "head -c 11 > /dev/null"
#define ANSWER "printf '5:K100\\0,'"

static void test_answer_and_cache(void)
{
  struct getpw_client c;
  struct getpw_answer a;
  pid_t first;

  client(&c, script("good", READ_ONE "; " ANSWER "; exec sleep 60"), 5000);
  memset(&a, 0, sizeof a);
  CHECK(getpw_client_ask(&c, GETPW_ASK_GROUPS, "joe", 3, 101, &a) == 1);
  CHECK(a.letter == 'K' && a.ngroups == 1 && a.groups[0] == 100);
  CHECK(c.starts == 1 && c.pid > 0 && c.started == c.pid);
  first = c.pid;
  /* the same question: from the cache, the helper (which would not
   * answer again) not asked */
  memset(&a, 0, sizeof a);
  CHECK(getpw_client_ask(&c, GETPW_ASK_GROUPS, "joe", 3, 101, &a) == 1 && a.groups[0] == 100);
  CHECK(c.starts == 1 && c.pid == first);
  /* at stop the request pipe closes; the stand-in sleeps on: kill it */
  getpw_client_stop(&c);
  CHECK(c.pid == 0 && c.wfd < 0 && c.rfd < 0);
  kill(first, SIGKILL);
  CHECK(ended(first) >= 0);
}

static void test_replaced_at_once(void)
{
  struct getpw_client c;
  struct getpw_answer a;
  pid_t first;
  int st;

  /* answers once, then ends */
  client(&c, script("once", READ_ONE "; " ANSWER), 5000);
  memset(&a, 0, sizeof a);
  CHECK(getpw_client_ask(&c, GETPW_ASK_GROUPS, "joe", 3, 101, &a) == 1);
  first = c.pid;
  CHECK(ended(first) == 0);
  /* another question: the helper is gone; a new one answers it */
  memset(&a, 0, sizeof a);
  CHECK(getpw_client_ask(&c, GETPW_ASK_GROUPS, "joe", 3, 102, &a) == 1 && a.letter == 'K');
  CHECK(c.starts == 2 && c.failures == 0);
  st = ended(c.pid);
  CHECK(st == 0);
  getpw_client_stop(&c);
}

static void test_timeout(void)
{
  struct getpw_client c;
  struct getpw_answer a;
  pid_t pid;
  int st;

  client(&c, script("hang", "exec sleep 60"), 300);
  memset(&a, 0, sizeof a);
  errno = 0;
  CHECK(getpw_client_ask(&c, GETPW_ASK_USER, "joe", 3, 0, &a) == -1 && errno == ETIMEDOUT);
  pid = c.started;
  CHECK(c.pid == 0 && c.starts == 1);
  st = ended(pid);
  CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  getpw_client_stop(&c);
}

static void test_garbage(void)
{
  struct getpw_client c;
  struct getpw_answer a;
  int st;

  client(&c, script("garbage", READ_ONE "; printf '3:Kxx,'; exec sleep 60"), 5000);
  memset(&a, 0, sizeof a);
  errno = 0;
  CHECK(getpw_client_ask(&c, GETPW_ASK_GROUPS, "joe", 3, 101, &a) == -1 && errno == EPROTO);
  CHECK(c.pid == 0);
  st = ended(c.started);
  CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  getpw_client_stop(&c);
  /* two answers for one question are refused too */
  client(&c, script("twice", READ_ONE "; " ANSWER "; " ANSWER "; exec sleep 60"), 5000);
  memset(&a, 0, sizeof a);
  errno = 0;
  /* (the second may not have arrived when the first is read: then the
   * first is taken, and the next question finds the second) */
  if (getpw_client_ask(&c, GETPW_ASK_GROUPS, "joe", 3, 101, &a) == 1) {
    usleep(200000);
    errno = 0;
    CHECK(getpw_client_ask(&c, GETPW_ASK_GROUPS, "joe", 3, 103, &a) == -1 && errno == EPROTO);
  } else {
    CHECK(errno == EPROTO);
  }
  st = ended(c.started);
  CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  getpw_client_stop(&c);
}

static void test_backoff(void)
{
  struct getpw_client c;
  struct getpw_answer a;

  client(&c, script("dies", "exit 0"), 5000);
  memset(&a, 0, sizeof a);
  errno = 0;
  CHECK(getpw_client_ask(&c, GETPW_ASK_USER, "joe", 3, 0, &a) == -1 && errno == EPIPE);
  CHECK(ended(c.started) == 0);
  /* the first failure: started again at once */
  errno = 0;
  CHECK(getpw_client_ask(&c, GETPW_ASK_USER, "joe", 3, 0, &a) == -1 && errno == EPIPE);
  CHECK(c.starts == 2 && ended(c.started) == 0);
  /* the second in a row: a pause, with no start */
  errno = 0;
  CHECK(getpw_client_ask(&c, GETPW_ASK_USER, "joe", 3, 0, &a) == -1 && errno == EAGAIN);
  CHECK(c.starts == 2);
  getpw_client_stop(&c);
  /* a helper that cannot be started */
  client(&c, "/nonexistent/sluice-getpw", 5000);
  errno = 0;
  CHECK(getpw_client_ask(&c, GETPW_ASK_USER, "joe", 3, 0, &a) == -1 && errno == ENOENT);
  CHECK(c.starts == 0 && c.failures == 1);
  getpw_client_stop(&c);
  getpw_answer_free(&a);
}

int main(void)
{
  if (!mkdtemp(dir)) {
    CHECK(0);
    return check_done();
  }
  signal(SIGPIPE, SIG_IGN); /* as in sluice-lspawn (spawner.c) */
  test_answer_and_cache();
  test_replaced_at_once();
  test_timeout();
  test_garbage();
  test_backoff();
  {
    static const char *names[] = { "good", "once", "hang", "garbage", "twice", "dies", 0 };
    size_t i;
    for (i = 0; names[i]; ++i)
      if (script(names[i], "")) unlink(path.s);
  }
  rmdir(dir);
  str_free(&path);
  return check_done();
}
