/* test_deliver.c: exit code tables, result text sanitising, header
 * lines, the Delivered-To loop check, HOSTn/EXTn, VERP senders, and
 * deliver_child_run feeding real children (deliver.h), with its time
 * limit: the whole process group killed, SIGKILL after the grace. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "deliver.h"
#include "file.h"
#include "scan.h"
#include "str.h"
#include "wait.h"

#define EXITED(c) ((c) << 8)

static char dir[] = "/tmp/test_deliver.XXXXXX";
static str pathbuf;

static const char *in_dir(const char *name)
{
  str_copys(&pathbuf, dir);
  str_catc(&pathbuf, '/');
  str_cats(&pathbuf, name);
  str_0(&pathbuf);
  return pathbuf.s;
}

/* 1 when a message with content text has a Delivered-To for addr. */
static int loop_in(const char *text, size_t n, const char *addr)
{
  int fd, r;
  if (file_replace(in_dir("hdr"), text, n, 0600) < 0) return -1;
  fd = open_read(in_dir("hdr"));
  if (fd < 0) return -1;
  r = deliver_header_has_dt(fd, addr, strlen(addr));
  close(fd);
  return r;
}

static int sanitized_is(const char *in, size_t n, size_t max, const char *want)
{
  str s = STR_INIT;
  int ok;
  str_copyb(&s, in, n);
  deliver_sanitize(&s, max);
  ok = s.len == strlen(want) && memcmp(s.s, want, s.len) == 0;
  str_free(&s);
  return ok;
}

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when the process whose pid the file holds is gone (no such process,
 * or a zombie waiting for init), within a second; 0 otherwise. */
static int pid_gone(const char *file)
{
  str t = STR_INIT, proc = STR_INIT;
  unsigned long pid = 0;
  int k, gone = 0;
  if (file_read(file, &t, 100) != 1 || scan_ulong(t.s, t.len, &pid) == 0 || pid == 0) goto done;
  str_copys(&proc, "/proc/");
  str_catulong(&proc, pid);
  str_cats(&proc, "/stat");
  str_0(&proc);
  for (k = 0; k < 100 && !gone; ++k) {
    if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) gone = 1;
    else if (file_read(proc.s, &t, 4096) == 1 && t.len > 0) {
      size_t i = t.len;
      while (i > 0 && t.s[i - 1] != ')') --i; /* the state follows the name */
      if (i + 1 < t.len && t.s[i + 1] == 'Z') gone = 1;
    }
    if (!gone) {
      struct timespec ts = { 0, 10000000 };
      nanosleep(&ts, 0);
    }
  }
done:
  str_free(&t);
  str_free(&proc);
  return gone;
}

int main(void)
{
  str s = STR_INIT, out = STR_INIT, big = STR_INIT, env = STR_INIT;
  int msg, ws, i;
  struct deliver_child c;
  char *argv[4];

  signal(SIGPIPE, SIG_IGN);
  CHECK(mkdtemp(dir) != 0);

  /* exit code tables */
  CHECK(deliver_program_status(EXITED(0)) == DELIVER_OK);
  CHECK(deliver_program_status(EXITED(99)) == DELIVER_STOP);
  {
    static const int perm[] = { 64, 65, 70, 76, 77, 78, 100, 112 };
    for (i = 0; i < 8; ++i) CHECK(deliver_program_status(EXITED(perm[i])) == DELIVER_PERM);
  }
  CHECK(deliver_program_status(EXITED(111)) == DELIVER_TEMP);
  CHECK(deliver_program_status(EXITED(1)) == DELIVER_TEMP);
  CHECK(deliver_program_status(EXITED(66)) == DELIVER_TEMP);
  CHECK(deliver_program_status(SIGKILL) == DELIVER_TEMP);
  CHECK(deliver_program_status(SIGSEGV | 0x80) == DELIVER_TEMP);
  CHECK(deliver_queue_status(EXITED(0)) == DELIVER_OK);
  CHECK(deliver_queue_status(EXITED(11)) == DELIVER_PERM);
  CHECK(deliver_queue_status(EXITED(31)) == DELIVER_PERM);
  CHECK(deliver_queue_status(EXITED(40)) == DELIVER_PERM);
  CHECK(deliver_queue_status(EXITED(10)) == DELIVER_TEMP);
  CHECK(deliver_queue_status(EXITED(41)) == DELIVER_TEMP);
  CHECK(deliver_queue_status(EXITED(53)) == DELIVER_TEMP);
  CHECK(deliver_queue_status(EXITED(100)) == DELIVER_TEMP);
  CHECK(deliver_queue_status(SIGTERM) == DELIVER_TEMP);

  /* sanitising */
  CHECK(sanitized_is("  a\n\nb\0c\r\n ", 12, 100, "a b c"));
  CHECK(sanitized_is("abcdef", 6, 3, "abc"));
  CHECK(sanitized_is("\n\n", 2, 10, ""));
  CHECK(sanitized_is("x\177y", 3, 10, "x y"));

  /* header lines */
  s.len = 0;
  CHECK(deliver_dtline(&s, "joe-x", 5, "Example.ORG", 11) == 0);
  CHECK_BYTES(s.s, s.len, "Delivered-To: joe-x@Example.ORG\n");
  s.len = 0;
  CHECK(deliver_dtline(&s, "a\nb", 3, "c", 1) == 0);
  CHECK_BYTES(s.s, s.len, "Delivered-To: a_b@c\n");
  s.len = 0;
  CHECK(deliver_rpline(&s, "", 0) == 0);
  CHECK_BYTES(s.s, s.len, "Return-Path: <>\n");
  s.len = 0;
  CHECK(deliver_rpline(&s, "a@b", 3) == 0);
  CHECK_BYTES(s.s, s.len, "Return-Path: <a@b>\n");

  /* loop check */
  {
    const char *m1 = "Received: x\nDelivered-To: JOE@example.org\nSubject: y\n\nbody\n";
    const char *m2 = "Received: x\nDelivered-To: joe@example.org.x\n\nDelivered-To: joe@example.org\n";
    const char *m3 = "Delivered-to :  joe@example.org  \r\n\r\n";
    const char *m4 = "X-Delivered-To: joe@example.org\nDelivered-To: other@example.org\n";
    const char *m5 = "Subject: a\n Delivered-To: joe@example.org\n\n";
    const char *m6 = "Delivered-To: joe@example.org";
    CHECK(loop_in(m1, strlen(m1), "joe@example.org") == 1);
    CHECK(loop_in(m2, strlen(m2), "joe@example.org") == 0); /* body does not count */
    CHECK(loop_in(m3, strlen(m3), "joe@example.org") == 1);
    CHECK(loop_in(m4, strlen(m4), "joe@example.org") == 0);
    CHECK(loop_in(m5, strlen(m5), "joe@example.org") == 0); /* continuation line */
    CHECK(loop_in(m6, strlen(m6), "joe@example.org") == 1); /* no newline at all */
    CHECK(loop_in("", 0, "joe@example.org") == 0);
    /* a line far longer than any address, then ours */
    big.len = 0;
    str_cats(&big, "X-Long: ");
    for (i = 0; i < 20000; ++i) str_catc(&big, 'z');
    str_cats(&big, "\nDelivered-To: joe@example.org\n\n");
    CHECK(loop_in(big.s, big.len, "joe@example.org") == 1);
    big.len = 0;
    str_cats(&big, "Delivered-To: ");
    for (i = 0; i < 20000; ++i) str_catc(&big, 'z');
    str_cats(&big, "\n\n");
    CHECK(loop_in(big.s, big.len, "joe@example.org") == 0);
    CHECK(deliver_header_has_dt(-1, "a", 1) == -1);
  }

  /* HOSTn, EXTn */
  CHECK(deliver_host_part(&s, "mail.a.example.org", 18, 2) == 0);
  CHECK_BYTES(s.s, s.len, "mail.a.example");
  CHECK(deliver_host_part(&s, "mail.a.example.org", 18, 3) == 0);
  CHECK_BYTES(s.s, s.len, "mail.a");
  CHECK(deliver_host_part(&s, "mail.a.example.org", 18, 4) == 0);
  CHECK_BYTES(s.s, s.len, "mail");
  CHECK(deliver_host_part(&s, "example.org", 11, 4) == 0);
  CHECK_BYTES(s.s, s.len, "example");
  CHECK(deliver_host_part(&s, "localhost", 9, 2) == 0);
  CHECK_BYTES(s.s, s.len, "localhost");
  CHECK(deliver_ext_part(&s, "a-b-c", 5, 2) == 0);
  CHECK_BYTES(s.s, s.len, "b-c");
  CHECK(deliver_ext_part(&s, "a-b-c", 5, 3) == 0);
  CHECK_BYTES(s.s, s.len, "c");
  CHECK(deliver_ext_part(&s, "a-b-c", 5, 4) == 0);
  CHECK(s.len == 0);
  CHECK(deliver_ext_part(&s, "a", 1, 2) == 0);
  CHECK(s.len == 0);
  CHECK(deliver_ext_part(&s, "a-", 2, 2) == 0);
  CHECK(s.len == 0);

  /* VERP */
  CHECK(deliver_verp_sender(&s, "list", "example.org", "bob@example.net", 15) == 0);
  CHECK_BYTES(s.s, s.len, "list-owner-bob=example.net@example.org");
  CHECK(deliver_verp_sender(&s, "list", "example.org", "bob", 3) == 0);
  CHECK_BYTES(s.s, s.len, "list-owner-bob@example.org");

  /* children: output capture with header then message */
  CHECK(file_replace(in_dir("msg"), "Subject: x\n\nbody\n", 17, 0600) == 0);
  msg = open_read(in_dir("msg"));
  CHECK(msg >= 0);
  lseek(msg, 5, SEEK_SET); /* the run must start at offset 0 */
  argv[0] = (char *)"/bin/sh"; argv[1] = (char *)"-c"; argv[2] = (char *)"cat; echo err >&2; exit 7"; argv[3] = 0;
  memset(&c, 0, sizeof c);
  c.path = "/bin/sh"; c.argv = argv; c.envp = 0; c.head = "H: 1\n"; c.headlen = 5; c.msgfd = msg;
  CHECK(deliver_child_run(&c, &out, 1000, &ws) == 0);
  CHECK(deliver_program_status(ws) == DELIVER_TEMP && ((ws >> 8) & 255) == 7);
  CHECK_BYTES(out.s, out.len, "H: 1\nSubject: x\n\nbody\nerr\n");
  /* the output limit */
  out.len = 0;
  CHECK(deliver_child_run(&c, &out, 4, &ws) == 0 && out.len == 4);
  /* a child that reads nothing and exits 0 */
  argv[2] = (char *)"exit 0";
  out.len = 0;
  CHECK(deliver_child_run(&c, &out, 1000, &ws) == 0 && ws == 0 && out.len == 0);
  /* a missing program */
  c.path = "/nonexistent/prog";
  CHECK(deliver_child_run(&c, &out, 1000, &ws) == -1);

  /* the time limit: a program within it is not touched */
  {
    long long t0;
    c.path = "/bin/sh";
    c.timeout = 5;
    argv[2] = (char *)"cat > /dev/null; echo done; exit 3";
    out.len = 0;
    t0 = now_ms();
    CHECK(deliver_child_run(&c, &out, 1000, &ws) == 0 && ((ws >> 8) & 255) == 3);
    CHECK_BYTES(out.s, out.len, "done\n");
    CHECK(now_ms() - t0 < 2000);
    /* over it: the program and its background child, which holds the
     * output pipe, are both killed by SIGTERM to the group */
    c.timeout = 1;
    str_copys(&s, "sleep 100 & echo $! > ");
    str_cats(&s, in_dir("bg.pid"));
    str_cats(&s, "; sleep 100");
    str_0(&s);
    argv[2] = s.s;
    t0 = now_ms();
    CHECK(deliver_child_run(&c, &out, 1000, &ws) == 1);
    CHECK(now_ms() - t0 >= 1000 && now_ms() - t0 < 3000);
    CHECK(wait_crashed(ws) == SIGTERM);
    CHECK(pid_gone(in_dir("bg.pid")));
    /* pipes closed early, then a long sleep: the limit still holds */
    argv[2] = (char *)"exec < /dev/null > /dev/null 2>&1; sleep 100";
    t0 = now_ms();
    CHECK(deliver_child_run(&c, &out, 1000, &ws) == 1);
    CHECK(now_ms() - t0 < 3000);
    /* SIGTERM ignored: SIGKILL after the grace, to the whole group */
    str_copys(&s, "trap '' TERM; sleep 100 & echo $! > ");
    str_cats(&s, in_dir("bg.pid"));
    str_cats(&s, "; sleep 100");
    str_0(&s);
    argv[2] = s.s;
    t0 = now_ms();
    CHECK(deliver_child_run(&c, &out, 1000, &ws) == 1);
    CHECK(now_ms() - t0 >= 1000 + DELIVER_KILL_GRACE * 1000 - 100);
    CHECK(now_ms() - t0 < 3000 + DELIVER_KILL_GRACE * 1000);
    CHECK(wait_crashed(ws) == SIGKILL);
    CHECK(pid_gone(in_dir("bg.pid")));
    CHECK(unlink(in_dir("bg.pid")) == 0);
    /* out of range */
    c.timeout = DELIVER_TIMEOUT_MAX + 1;
    CHECK(deliver_child_run(&c, &out, 1000, &ws) == -1 && errno == EINVAL);
    c.timeout = 0;
  }
  close(msg);

  /* a queued message with CR LF and bare CRs reaches the program in
   * the queue's line form, also when it ends with a CR */
  CHECK(file_replace(in_dir("msg"), "Subject: x\r\n\r\na\rb\r\r\nend\r", 24, 0600) == 0);
  msg = open_read(in_dir("msg"));
  CHECK(msg >= 0);
  argv[2] = (char *)"cat";
  c.path = "/bin/sh"; c.msgfd = msg;
  out.len = 0;
  CHECK(deliver_child_run(&c, &out, 1000, &ws) == 0 && ws == 0);
  CHECK_BYTES(out.s, out.len, "H: 1\nSubject: x\n\na b \nend ");
  close(msg);

  /* envelope mode, big message and big envelope, the child reading
   * the envelope first: must not deadlock */
  big.len = 0;
  for (i = 0; i < 300000; ++i) str_catc(&big, (char)('a' + i % 26));
  str_catc(&big, '\n');
  CHECK(file_replace(in_dir("big"), big.s, big.len, 0600) == 0);
  msg = open_read(in_dir("big"));
  env.len = 0;
  str_cats(&env, "Fs@x");
  str_catc(&env, 0);
  for (i = 0; i < 10000; ++i) { str_cats(&env, "Trcpt@example.org"); str_catc(&env, 0); }
  str_catc(&env, 0);
  str_copys(&s, "cat <&1 > ");
  str_cats(&s, in_dir("env.out"));
  str_cats(&s, "; cat > ");
  str_cats(&s, in_dir("msg.out"));
  str_0(&s);
  argv[2] = s.s;
  c.path = "/bin/sh"; c.head = "DT\n"; c.headlen = 3; c.msgfd = msg; c.envelope = env.s; c.envlen = env.len;
  CHECK(deliver_child_run(&c, 0, 0, &ws) == 0 && ws == 0);
  CHECK(file_read(in_dir("env.out"), &out, 10000000) == 1 && out.len == env.len
        && memcmp(out.s, env.s, env.len) == 0);
  CHECK(file_read(in_dir("msg.out"), &out, 10000000) == 1 && out.len == big.len + 3
        && memcmp(out.s, "DT\n", 3) == 0 && memcmp(out.s + 3, big.s, big.len) == 0);
  close(msg);

  unlink(in_dir("hdr")); unlink(in_dir("msg")); unlink(in_dir("big"));
  unlink(in_dir("env.out")); unlink(in_dir("msg.out"));
  CHECK(rmdir(dir) == 0);
  str_free(&s); str_free(&out); str_free(&big); str_free(&env); str_free(&pathbuf);
  return check_done();
}
