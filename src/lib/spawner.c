/* spawner.c: the request/delivery/result loop of the spawners
 * (spawner.h). One table entry per slot; the table and every string in
 * it belong to spawner_run and are freed before it returns. Errors:
 * -1 with errno, after logging nothing (the caller reports). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "byte.h"
#include "errtext.h"
#include "fd.h"
#include "file.h"
#include "fmt.h"
#include "journal.h"
#include "netstring.h"
#include "queue.h"
#include "sig.h"
#include "spawn.h"
#include "spawner.h"
#include "str.h"
#include "wait.h"

struct slot {
  int busy;
  pid_t pid;
  int fd;               /* result pipe, -1 once closed */
  int reaped;
  int status;
  long long reaped_ms;  /* when it was reaped, for the linger */
  str out;
  struct spawn_request req;
};

struct loop {
  const struct spawner_ops *ops;
  struct slot *slots;   /* SPAWN_SLOTS_MAX of them */
  size_t nbusy;
  int in_fd;
  int out_fd;
  int in_open;
  int out_dead;         /* out_fd failed after end of input */
  str frame;
  str result;
  str work;
  int journal_fd;       /* -1 until the first delivery */
  str journal;          /* records of one result */
};

/* The loop and request whose ops->start runs now: spawner_start_delivery
 * starts the delivery under a monitor for them (see there). */
static struct loop *cur_loop;
static const struct spawn_request *cur_req;
static int cur_in_monitor; /* this process is a monitor */

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void logn(struct loop *l, const char *what, unsigned long n, const char *rest, int err)
{
  str line = STR_INIT;
  if (str_copys(&line, what) < 0 || str_catulong(&line, n) < 0 || str_cats(&line, rest) < 0 ||
      str_0(&line) < 0)
    l->ops->log(l->ops->ctx, what, err);
  else
    l->ops->log(l->ops->ctx, line.s, err);
  str_free(&line);
}

int spawner_answer_all(str *work, const struct spawn_request *req, char letter,
                       const char *text, size_t len)
{
  size_t i;
  for (i = 0; i < req->nrcpts; ++i)
    if (spawn_result_add(work, letter, text, len) < 0) return -1;
  return 0;
}

/* Opens the journal and takes the shared lock that tells a later
 * sluice-send that this spawner may still write to it (journal.h).
 * 0, or -1 with errno. */
static int journal_ready(struct loop *l)
{
  if (!l->ops->journal || l->journal_fd >= 0) return 0;
  l->journal_fd = journal_open_append(l->ops->journal);
  if (l->journal_fd < 0) return -1;
  while (flock(l->journal_fd, LOCK_SH) < 0)
    if (errno != EINTR) {
      int e = errno;
      close(l->journal_fd);
      l->journal_fd = -1;
      errno = e;
      return -1;
    }
  return 0;
}

/* Appends a record per recipient of req, from the entries in l->work
 * (spawn_result_begin and spawn_result_add: the slot, then one
 * netstring per recipient), to the journal, before the result goes to
 * sluice-send. One write: O_APPEND keeps it whole; no fsync (a power
 * cut may lose it, sluice-spawn(5)). */
static int journal_write(struct loop *l, const struct spawn_request *req)
{
  size_t pos = 0, apos = 0, off, len, used;
  const char *a;
  size_t alen;
  unsigned long sec = 0, nsec = 0;
  str name = STR_INIT;
  if (l->journal_fd < 0) return 0;
  l->journal.len = 0;
  /* the message still exists: its result is not yet recorded, so it
   * cannot have been finished and removed */
  if (queue_name(&name, "queue/mess", req->id, auto_split) < 0 || str_0(&name) < 0) { str_free(&name); return -1; }
  if (journal_message_stamp(name.s, &sec, &nsec) < 0) { str_free(&name); return -1; }
  str_free(&name);
  if (netstring_parse(l->work.s, l->work.len, l->work.len, &off, &len, &used) != 1) { errno = EPROTO; return -1; }
  pos = used;
  while (pos < l->work.len && spawn_next(&req->rcpts, &apos, &a, &alen)) {
    if (netstring_parse(l->work.s + pos, l->work.len - pos, l->work.len, &off, &len, &used) != 1 || len == 0) {
      errno = EPROTO;
      return -1;
    }
    if (journal_record_add(&l->journal, req->id, sec, nsec, l->work.s[pos + off], a, alen,
                           l->work.s + pos + off + 1, len - 1) < 0)
      return -1;
    pos += used;
  }
  return write_all(l->journal_fd, l->journal.s, l->journal.len);
}

/* Writes the finished result in l->work for slot. */
static int send_result(struct loop *l, unsigned long slot)
{
  l->result.len = 0;
  if (spawn_result_end(&l->result, &l->work) < 0) return -1;
  if (l->out_dead) {
    logn(l, "result for slot ", slot, " dropped: the result pipe is closed", 0);
    return 0;
  }
  if (write_all(l->out_fd, l->result.s, l->result.len) < 0) {
    /* EPIPE: sluice-send is gone. The deliveries in flight still run
     * to their end, each journaled (sluice-spawn(5)); dying here would
     * leave their results to nobody, and they would be made again. */
    if (l->in_open && errno != EPIPE) return -1;
    l->out_dead = 1;
    logn(l, "result for slot ", slot, " dropped: unable to write", errno);
  }
  return 0;
}

static void slot_clear(struct loop *l, struct slot *s)
{
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  s->busy = 0;
  s->pid = 0;
  s->reaped = 0;
  s->out.len = 0;
  spawn_request_free(&s->req);
  --l->nbusy;
}

static void handle_request(struct loop *l, int *fatal)
{
  struct spawn_request req = SPAWN_REQUEST_INIT;
  struct slot *s;
  pid_t pid = 0;
  int fd = -1, r;

  if (spawn_request_decode(&req, l->frame.s, l->frame.len) < 0) {
    l->ops->log(l->ops->ctx, "malformed request dropped", errno);
    spawn_request_free(&req);
    return;
  }
  s = &l->slots[req.slot];
  if (s->busy) {
    logn(l, "request for slot ", req.slot, " dropped: the slot is in flight", 0);
    spawn_request_free(&req);
    return;
  }
  l->work.len = 0;
  if (spawn_result_begin(&l->work, req.slot) < 0) goto nomem;
  if (journal_ready(l) < 0) {
    /* without its journal a delivery could be made twice after a
     * crash of sluice-send: none is made */
    int err = errno;
    logn(l, "unable to open the delivery journal for slot ", req.slot, "", err);
    if (spawner_answer_all(&l->work, &req, 'Z', "4.3.0 unable to open the delivery journal", 41) < 0) goto nomem;
    if (send_result(l, req.slot) < 0) *fatal = errno;
    spawn_request_free(&req);
    return;
  }
  cur_loop = l;
  cur_req = &req;
  r = l->ops->start(l->ops->ctx, &req, &pid, &fd, &l->work);
  cur_loop = 0;
  cur_req = 0;
  if (r == 1) {
    fd_nonblock(fd, 1);
    s->busy = 1;
    s->pid = pid;
    s->fd = fd;
    s->reaped = 0;
    s->out.len = 0;
    s->req = req;
    ++l->nbusy;
    return;
  }
  if (r < 0) {
    int err = errno;
    str text = STR_INIT;
    l->work.len = 0;
    if (spawn_result_begin(&l->work, req.slot) < 0 ||
        str_copys(&text, "4.3.0 unable to start delivery: ") < 0 ||
        str_cats(&text, errtext(err)) < 0 ||
        spawner_answer_all(&l->work, &req, 'Z', text.s, text.len) < 0) {
      str_free(&text);
      goto nomem;
    }
    str_free(&text);
    logn(l, "unable to start delivery for slot ", req.slot, "", err);
  }
  if (send_result(l, req.slot) < 0) *fatal = errno;
  spawn_request_free(&req);
  return;
nomem:
  *fatal = errno ? errno : ENOMEM;
  spawn_request_free(&req);
}

/* Reads what fd 0 has; handles each complete request. Returns 0, or -1
 * with errno on a framing or read error. */
static int read_requests(struct loop *l, int in_fd, str *acc)
{
  char in[8192];
  ssize_t r = read(in_fd, in, sizeof in);
  int fatal = 0;

  if (r < 0) {
    if (errno == EINTR || errno == EAGAIN) return 0;
    return -1;
  }
  if (r == 0) {
    if (acc->len) l->ops->log(l->ops->ctx, "request cut off by end of input ignored", 0);
    l->in_open = 0;
    return 0;
  }
  if (str_catb(acc, in, (size_t)r) < 0) return -1;
  for (;;) {
    int t = spawn_frame_take(acc, &l->frame, SPAWN_FRAME_MAX);
    if (t == 0) return 0;
    if (t < 0) {
      if (errno != EMSGSIZE) errno = EPROTO;
      return -1;
    }
    handle_request(l, &fatal);
    if (fatal) { errno = fatal; return -1; }
  }
}

/* Reads a child's result pipe; keeps at most SPAWNER_OUTPUT_MAX bytes. */
static int read_child(struct slot *s)
{
  char in[8192];
  ssize_t r = read(s->fd, in, sizeof in);
  if (r < 0) {
    if (errno == EINTR || errno == EAGAIN) return 0;
    r = 0; /* treat like end of file: the answer is what came so far */
  }
  if (r == 0) {
    close(s->fd);
    s->fd = -1;
    return 0;
  }
  /* a monitor's result body: at most a frame */
  if (s->out.len < SPAWN_FRAME_MAX) {
    size_t room = SPAWN_FRAME_MAX - s->out.len;
    if (str_catb(&s->out, in, (size_t)r < room ? (size_t)r : room) < 0) return -1;
  }
  return 0;
}

static void reap(struct loop *l)
{
  int st;
  pid_t p;
  size_t i;
  while ((p = wait_nohang(&st)) > 0) {
    for (i = 0; i < SPAWN_SLOTS_MAX; ++i) {
      struct slot *s = &l->slots[i];
      if (s->busy && !s->reaped && s->pid == p) {
        s->reaped = 1;
        s->status = st;
        s->reaped_ms = now_ms();
        break;
      }
    }
  }
}

/* Answers every slot whose process has been reaped and whose pipe is
 * closed (or has lingered too long). */
static int answer_done(struct loop *l)
{
  size_t i;
  long long now = now_ms();
  for (i = 0; i < SPAWN_SLOTS_MAX && l->nbusy; ++i) {
    struct slot *s = &l->slots[i];
    if (!s->busy || !s->reaped) continue;
    if (s->fd >= 0) {
      if (now - s->reaped_ms < SPAWNER_LINGER_MS) continue;
      logn(l, "slot ", i, ": result pipe still open after the process ended; closed", 0);
    }
    l->work.len = 0;
    if (l->ops->release) l->ops->release(l->ops->ctx, &s->req);
    if (WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0 && s->out.len) {
      /* the monitor's result, journaled by the monitor */
      if (str_copy(&l->work, &s->out) < 0) return -1;
    } else {
      /* the monitor died before it had the result: unknown whether the
       * delivery was made, so it is tried again (sluice-spawn(5)) */
      logn(l, "slot ", i, ": the delivery's monitor ended without a result", 0);
      if (spawn_result_begin(&l->work, s->req.slot) < 0 ||
          spawner_answer_all(&l->work, &s->req, 'Z', "4.3.0 the delivery's monitor ended without a result", 51) < 0)
        return -1;
    }
    if (send_result(l, s->req.slot) < 0) return -1;
    slot_clear(l, s);
  }
  return 0;
}

/* Poll timeout: until the first lingering pipe is due, or forever. */
static int next_timeout(const struct loop *l)
{
  long long first = -1, now = now_ms();
  size_t i;
  for (i = 0; i < SPAWN_SLOTS_MAX; ++i) {
    const struct slot *s = &l->slots[i];
    if (s->busy && s->reaped && s->fd >= 0) {
      long long due = s->reaped_ms + SPAWNER_LINGER_MS;
      if (first < 0 || due < first) first = due;
    }
  }
  if (first < 0) return -1;
  return first <= now ? 0 : (int)(first - now);
}

static int loop_run(struct loop *l, int in_fd, struct pollfd *pfd, size_t *index)
{
  str acc = STR_INIT;
  int self = sig_selfpipe_init(), r = -1;

  if (self < 0 || sig_selfpipe_catch(SIGCHLD) < 0 || sig_ignore(SIGPIPE) < 0) return -1;
  while (l->in_open || l->nbusy) {
    size_t n = 0, i;
    pfd[n].fd = self;
    pfd[n].events = POLLIN;
    pfd[n++].revents = 0;
    if (l->in_open) {
      pfd[n].fd = in_fd;
      pfd[n].events = POLLIN;
      pfd[n++].revents = 0;
    }
    for (i = 0; i < SPAWN_SLOTS_MAX; ++i)
      if (l->slots[i].busy && l->slots[i].fd >= 0) {
        index[n] = i;
        pfd[n].fd = l->slots[i].fd;
        pfd[n].events = POLLIN;
        pfd[n++].revents = 0;
      }
    if (poll(pfd, n, next_timeout(l)) < 0 && errno != EINTR) goto done;
    if (pfd[0].revents)
      while (sig_selfpipe_read() > 0)
        ;
    for (i = l->in_open ? 2 : 1; i < n; ++i)
      if (pfd[i].revents && read_child(&l->slots[index[i]]) < 0) goto done;
    reap(l);
    if (answer_done(l) < 0) goto done;
    if (l->in_open && pfd[1].revents && read_requests(l, in_fd, &acc) < 0) goto done;
  }
  r = 0;
done:
  str_free(&acc);
  return r;
}

int spawner_run(const struct spawner_ops *ops, int in_fd, int out_fd)
{
  struct loop l;
  struct pollfd *pfd;
  size_t *index, i;
  int r, err;

  memset(&l, 0, sizeof l);
  l.ops = ops;
  l.in_fd = in_fd;
  l.out_fd = out_fd;
  l.in_open = 1;
  l.journal_fd = -1;
  l.slots = calloc(SPAWN_SLOTS_MAX, sizeof *l.slots);
  pfd = calloc(SPAWN_SLOTS_MAX + 2, sizeof *pfd);
  index = calloc(SPAWN_SLOTS_MAX + 2, sizeof *index);
  if (!l.slots || !pfd || !index) {
    free(l.slots);
    free(pfd);
    free(index);
    errno = ENOMEM;
    return -1;
  }
  for (i = 0; i < SPAWN_SLOTS_MAX; ++i) l.slots[i].fd = -1;
  r = loop_run(&l, in_fd, pfd, index);
  err = errno;
  for (i = 0; i < SPAWN_SLOTS_MAX; ++i) {
    if (l.slots[i].fd >= 0) close(l.slots[i].fd);
    str_free(&l.slots[i].out);
    spawn_request_free(&l.slots[i].req);
  }
  if (l.journal_fd >= 0) close(l.journal_fd); /* releases the lock, after every result */
  str_free(&l.journal);
  str_free(&l.frame);
  str_free(&l.result);
  str_free(&l.work);
  free(l.slots);
  free(pfd);
  free(index);
  errno = err;
  return r;
}

int spawner_pipe(int p[2])
{
  int err;
  if (pipe(p) < 0) return -1;
  if (fd_cloexec(p[0], 1) == 0 && fd_cloexec(p[1], 1) == 0) return 0;
  err = errno;
  close(p[0]);
  close(p[1]);
  errno = err;
  return -1;
}

pid_t spawner_start(const char *path, char *const *argv, int in, int (*prepare)(void *arg), void *arg, int *fd)
{
  return spawner_start_env(path, argv, 0, in, prepare, arg, fd);
}

static int pass_to = -1, pass_from = -1;

void spawner_pass_fd(int to, int from)
{
  pass_to = to;
  pass_from = from;
}

pid_t spawner_start_env(const char *path, char *const *argv, char *const *envp, int in, int (*prepare)(void *arg),
                        void *arg, int *fd)
{
  child_fd fds[3];
  child_spec sp;
  int p[2], err;
  pid_t pid;

  if (spawner_pipe(p) < 0) return -1;
  fds[0].to = 0;
  fds[0].from = in;
  fds[1].to = 1;
  fds[1].from = p[1];
  memset(&sp, 0, sizeof sp);
  sp.path = path;
  sp.argv = argv;
  sp.envp = envp;
  sp.fds = fds;
  sp.nfds = 2;
  if (pass_to > 2 && pass_from >= 0) {
    fds[2].to = pass_to;
    fds[2].from = pass_from;
    sp.nfds = 3;
  }
  sp.prepare = prepare;
  sp.arg = arg;
  pid = child_start(&sp);
  err = errno;
  close(p[1]);
  if (pid < 0) {
    close(p[0]);
    errno = err;
    return -1;
  }
  *fd = p[0];
  return pid;
}

/* The monitor (sluice-spawn(5), "Monitors"): runs in a process of its
 * own, forked from the spawner, while the delivery child runs. It
 * collects the child's output (at most SPAWNER_OUTPUT_MAX bytes; after
 * the child has ended, its pipe gets SPAWNER_LINGER_MS to close), reaps
 * it, makes the result with ops->finish, appends it to the journal and
 * only then writes it to the spawner on mfd. A kill -9 of the spawner
 * leaves the monitors running: each result still reaches the journal,
 * whose shared lock the monitors hold (the same open file) until they
 * end, so the next sluice-send reads it only after the last one. */
static void monitor_run(struct loop *l, const struct spawn_request *req, pid_t child, int cfd, int mfd)
{
  str out = STR_INIT;
  int st = 0, reaped = 0, open_ = 1, timeout;
  long long reaped_ms = 0;
  char b[8192];

  while (open_ || !reaped) {
    if (!reaped) {
      pid_t p = waitpid(child, &st, WNOHANG);
      if (p == child) { reaped = 1; reaped_ms = now_ms(); }
      else if (p < 0 && errno != EINTR) { st = SIGKILL; reaped = 1; reaped_ms = now_ms(); }
    }
    if (!open_) {
      /* no wait status: taken as killed, a deferral */
      if (!reaped && wait_pid(child, &st) < 0) st = SIGKILL;
      break;
    }
    if (reaped) {
      long long left = reaped_ms + SPAWNER_LINGER_MS - now_ms();
      if (left <= 0) break;
      timeout = (int)left;
    } else {
      timeout = 1000; /* the child may end with a descendant holding its pipe */
    }
    {
      struct pollfd pfd;
      pfd.fd = cfd;
      pfd.events = POLLIN;
      pfd.revents = 0;
      if (poll(&pfd, 1, timeout) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (!pfd.revents) continue;
    }
    {
      ssize_t r = read(cfd, b, sizeof b);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        open_ = 0;
        continue;
      }
      if (out.len < SPAWNER_OUTPUT_MAX) {
        size_t room = SPAWNER_OUTPUT_MAX - out.len;
        if (str_catb(&out, b, (size_t)r < room ? (size_t)r : room) < 0) _exit(111);
      }
    }
  }
  close(cfd);
  l->work.len = 0;
  if (spawn_result_begin(&l->work, req->slot) < 0 ||
      l->ops->finish(l->ops->ctx, req, out.s, out.len, st, &l->work) < 0)
    _exit(111);
  if (journal_write(l, req) < 0) logn(l, "unable to write the delivery journal for slot ", req->slot, "", errno);
  if (write_all(mfd, l->work.s, l->work.len) < 0) _exit(errno == EPIPE ? 0 : 111);
  _exit(0);
}

pid_t spawner_start_delivery(const char *path, char *const *argv, char *const *envp, int in,
                             int (*prepare)(void *arg), void *arg, int *fd)
{
  struct loop *l = cur_loop;
  const struct spawn_request *req = cur_req;
  int mp[2], cfd, err;
  pid_t m, child;
  size_t i;

  if (!l || !req || cur_in_monitor) return spawner_start_env(path, argv, envp, in, prepare, arg, fd);
  if (spawner_pipe(mp) < 0) return -1;
  m = fork();
  if (m < 0) {
    err = errno;
    close(mp[0]);
    close(mp[1]);
    errno = err;
    return -1;
  }
  if (m == 0) {
    cur_in_monitor = 1;
    cur_loop = 0;
    sig_default(SIGCHLD);
    close(mp[0]);
    child = spawner_start_env(path, argv, envp, in, prepare, arg, &cfd);
    /* nothing of the spawner's stays open here but the journal: no
     * request pipe, no result pipe (sluice-send must see the spawner's
     * end at once), no other delivery's pipe */
    if (l->in_fd != mp[1]) close(l->in_fd);
    if (l->out_fd != mp[1]) close(l->out_fd);
    for (i = 0; i < SPAWN_SLOTS_MAX; ++i)
      if (l->slots[i].fd >= 0 && l->slots[i].fd != mp[1]) close(l->slots[i].fd);
    if (child < 0) {
      /* nothing started, nothing to journal */
      str text = STR_INIT;
      err = errno;
      l->work.len = 0;
      if (str_copys(&text, "4.3.0 unable to start delivery: ") < 0 || str_cats(&text, errtext(err)) < 0
          || spawn_result_begin(&l->work, req->slot) < 0
          || spawner_answer_all(&l->work, req, 'Z', text.s, text.len) < 0)
        _exit(111);
      _exit(write_all(mp[1], l->work.s, l->work.len) < 0 ? 111 : 0);
    }
    monitor_run(l, req, child, cfd, mp[1]);
  }
  close(mp[1]);
  *fd = mp[0];
  return m;
}

int spawner_open_message(unsigned long id)
{
  str name = STR_INIT;
  struct stat st, dir;
  int fd = -1, err;
  if (queue_name(&name, "queue/mess", id, auto_split) == 0 && str_0(&name) == 0)
    fd = open(name.s, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  err = errno;
  /* The message is the regular file whose inode number is its id,
   * owned by the owner of queue/mess (the queue user), with no link
   * but its own and the pid file's: never another file put there by a
   * compromised queue user or left behind a reused id. */
  if (fd >= 0) {
    if (fstat(fd, &st) < 0 || stat("queue/mess", &dir) < 0) {
      err = errno;
    } else if (!queue_mess_is(&st, id, dir.st_uid) || st.st_nlink > 2) {
      err = EPERM;
    } else {
      str_free(&name);
      fd_nonblock(fd, 0);
      return fd;
    }
    close(fd);
    fd = -1;
  }
  str_free(&name);
  errno = err;
  return fd;
}

/* --- what the delivery programs said --- */

static int add_with_code(str *work, char letter, const char *text, int code)
{
  str t = STR_INIT;
  int r;
  char num[FMT_ULONG];
  if (str_copys(&t, text) < 0 || str_catb(&t, num, fmt_ulong(num, (unsigned long)code)) < 0) {
    str_free(&t);
    return -1;
  }
  r = spawn_result_add(work, letter, t.s, t.len);
  str_free(&t);
  return r;
}

int spawner_local_result(str *work, const char *out, size_t len, int status)
{
  int code = wait_exitcode(status);
  char letter;

  if (wait_crashed(status) || code < 0 || len == 0)
    return spawn_result_add(work, 'Z', "4.3.0 sluice-local crashed", 26);
  letter = out[0];
  ++out;
  --len;
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r')) --len;
  switch (letter) {
  case 'K':
    if (code == 0) return spawn_result_add(work, 'K', out, len);
    return add_with_code(work, 'Z', "4.3.0 sluice-local reported success but exited ", code);
  case 'D':
    if (code == 100) return spawn_result_add(work, 'D', out, len);
    return add_with_code(work, 'Z', "4.3.0 sluice-local reported a permanent failure but exited ",
                         code);
  case 'Z':
    return spawn_result_add(work, 'Z', out, len);
  default:
    return spawn_result_add(work, 'Z', "4.3.0 sluice-local gave an answer that does not parse", 53);
  }
}

int spawner_remote_result(str *work, size_t nrcpts, const char *out, size_t len, int status)
{
  static const char crashed[] = "4.3.0 sluice-remote crashed or gave no answer";
  static const char unparsed[] = "4.3.0 sluice-remote gave an answer that does not parse";
  size_t i, pos = 0;
  int dead = wait_crashed(status) != 0;

  for (i = 0; i < nrcpts; ++i) {
    size_t z;
    int r;
    if (dead || pos >= len) {
      r = spawn_result_add(work, 'Z', crashed, sizeof crashed - 1);
    } else {
      z = byte_chr(out + pos, len - pos, 0);
      if (z == len - pos) {
        r = spawn_result_add(work, 'Z', crashed, sizeof crashed - 1);
        pos = len;
      } else {
        char letter = z ? out[pos] : 0;
        if (letter == 'K' || letter == 'P' || letter == 'Z' || letter == 'D')
          r = spawn_result_add(work, letter, out + pos + 1, z - 1);
        else
          r = spawn_result_add(work, 'Z', unparsed, sizeof unparsed - 1);
        pos += z + 1;
      }
    }
    if (r < 0) return -1;
  }
  return 0;
}
