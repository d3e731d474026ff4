/* sluice-send: the scheduler.
 *
 * Started by sluice-start as the send user with the spawner pipes on
 * fixed descriptors (sluice-start(8)). It preprocesses todo in bounded
 * batches, keeps every message's next attempt per channel in a heap,
 * runs at most concurrencylocal + concurrencyremote deliveries at once
 * through sluice-lspawn and sluice-rspawn (sluice-spawn(5)), records
 * each result durably in the queue, injects bounces and asks
 * sluice-clean to remove what is finished. The formats of the files it
 * owns (info, local, remote, bounce) and the retry schedule are in
 * sluice-send(8).
 *
 * Durability: a recipient's mark is flipped (and fsynced) only after
 * its failure report, if any, is in the bounce file (fsynced); channel
 * files are durable (file and directory fsynced) before the info file
 * that makes them count, and the info file is durable before todo is
 * removed. */
#define _GNU_SOURCE /* sync_file_range */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "buf.h"
#include "byte.h"
#include "control.h"
#include "die.h"
#include "dsn.h"
#include "errtext.h"
#include "fd.h"
#include "file.h"
#include "fmt.h"
#include "journal.h"
#include "netstring.h"
#include "prioq.h"
#include "qfile.h"
#include "qlist.h"
#include "queue.h"
#include "retry.h"
#include "rewrite.h"
#include "scan.h"
#include "sig.h"
#include "size.h"
#include "spawn.h"
#include "str.h"
#include "wait.h"

#define CH_LOCAL 0
#define CH_REMOTE 1
#define TODO_BATCH 256          /* todo entries preprocessed per round, with
                                 * one fsync per directory (group commit) */
#define TODO_HOT_BUSY 32        /* entries the trigger named, per round
                                 * while deliveries run or are due */
#define TODO_BATCH_BUSY 16      /* scanned entries per round while new
                                 * mail or deliveries are waiting: a
                                 * backlog in todo cannot hold them up
                                 * for more than a few fsyncs */
#define TODO_TRICKLE_PER_SECOND 32 /* and at most this many a second
                                 * while new mail came in the last second
                                 * or so */
#define TODO_BATCH_BYTES (16UL << 20) /* and at most about this many envelope
                                 * bytes per round: memory stays bounded
                                 * however large the envelopes are */
#define HEADER_LEN QFILE_HEADER_LEN
#define STALE_SECONDS (36L * 3600)
#define RESCAN_SECONDS 600      /* todo is rescanned this often anyway */
#define BOUNCE_RETRY_SECONDS 60
#define BOUNCE_ORIGINAL_MAX (1024UL * 1024)
#define CHANNEL_FILE_MAX (64UL * 1024 * 1024)

/* ---------- configuration ---------- */

struct config {
  struct rewrite rw;
  str me, bouncefrom, bouncehost, doublebouncehost, doublebounceto;
  unsigned long concurrency[2];
  unsigned long peruser;     /* control/concurrencyuser: deliveries to one recipient at once */
  unsigned long lifetime;
  int qsbmf;
};

static void config_free(struct config *c)
{
  rewrite_free(&c->rw);
  str_free(&c->me);
  str_free(&c->bouncefrom);
  str_free(&c->bouncehost);
  str_free(&c->doublebouncehost);
  str_free(&c->doublebounceto);
}

/* Reads every control file; -1 leaves *bad naming the file that failed. */
static int config_load(struct config *c, const char **bad)
{
  str v = STR_INIT;
  int r = -1;
  if (rewrite_load(&c->rw, bad) < 0) return -1;
  *bad = "control/me";
  if (control_readline("control/me", &c->me, "localhost") < 0) goto done;
  *bad = "control/bouncefrom";
  if (control_readline("control/bouncefrom", &c->bouncefrom, "MAILER-DAEMON") < 0) goto done;
  *bad = "control/bouncehost";
  if (control_readline("control/bouncehost", &c->bouncehost, 0) < 0) goto done;
  if (c->bouncehost.len == 0 && str_copy(&c->bouncehost, &c->me) < 0) goto done;
  *bad = "control/doublebouncehost";
  if (control_readline("control/doublebouncehost", &c->doublebouncehost, 0) < 0) goto done;
  if (c->doublebouncehost.len == 0 && str_copy(&c->doublebouncehost, &c->me) < 0) goto done;
  *bad = "control/doublebounceto";
  if (control_readline("control/doublebounceto", &c->doublebounceto, "postmaster") < 0) goto done;
  *bad = "control/concurrencylocal";
  if (control_readnum("control/concurrencylocal", &c->concurrency[CH_LOCAL], 10, 1, SPAWN_SLOTS_MAX) < 0) goto done;
  *bad = "control/concurrencyremote";
  if (control_readnum("control/concurrencyremote", &c->concurrency[CH_REMOTE], 20, 1, SPAWN_SLOTS_MAX) < 0) goto done;
  *bad = "control/concurrencyuser";
  if (control_readnum("control/concurrencyuser", &c->peruser, (c->concurrency[CH_LOCAL] + 1) / 2, 1, SPAWN_SLOTS_MAX) < 0)
    goto done;
  *bad = "control/queuelifetime";
  if (control_readnum("control/queuelifetime", &c->lifetime, 604800, 0, 100000000UL) < 0) goto done;
  *bad = "control/bounceformat";
  if (control_readline("control/bounceformat", &v, "rfc3464") < 0) goto done;
  c->qsbmf = str_equals(&v, "qsbmf");
  if (!c->qsbmf && !str_equals(&v, "rfc3464")) { errno = EINVAL; goto done; }
  *bad = 0;
  r = 0;
done:
  str_free(&v);
  return r;
}

/* ---------- the log ---------- */

/* Lines are assembled in logline and collected in logbuf, which is
 * written when the next line would not fit and at the end of every
 * pass of the main loop (log_flush), never with a line cut: one write
 * of at most LOG_WRITE_MAX (PIPE_BUF) bytes is atomic on the log pipe,
 * so the spawners' lines never land inside ours. Fatal exits flush
 * first (die_parts below). */
#define LOG_WRITE_MAX 4096
static char logmem[LOG_WRITE_MAX];
static buf logbuf;
static str logline;

static void log_flush(void)
{
  int e = errno;
  buf_flush(&logbuf);
  errno = e;
}

/* every fatal exit writes the log lines still held before its own */
#define die_parts(...) (log_flush(), die_parts(__VA_ARGS__))

static void log_safe(const char *s, size_t n)
{
  size_t i;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (str_catc(&logline, (c < 32 || c > 126) ? '_' : (char)c) < 0) die_nomem();
  }
}

static void log_s(const char *s)
{
  if (str_cats(&logline, s) < 0) die_nomem();
}
static void log_start(const char *s)
{
  logline.len = 0;
  log_s(s);
}
static void log_u(unsigned long u)
{
  if (str_catulong(&logline, u) < 0) die_nomem();
}
static void log_msgid(unsigned long id, unsigned long sec, unsigned long nsec)
{
  if (queue_msgid_cat(&logline, id, sec, nsec) < 0) die_nomem();
}
static void log_end(void)
{
  if (str_catc(&logline, '\n') < 0) die_nomem();
  if (logbuf.len + logline.len > LOG_WRITE_MAX) log_flush();
  buf_put(&logbuf, logline.s, logline.len);
  logline.len = 0;
}

static void log_line(const char *a, const char *b)
{
  log_start(a);
  if (b) log_s(b);
  log_end();
}

/* ---------- messages ---------- */

struct pass {
  str file;       /* the channel file; marks T pending, D done, P taken in this pass */
  size_t pos;     /* next record to consider */
  int deferred;   /* a recipient was deferred in this pass */
  int user_busy;  /* sluice-lspawn said its user had too many deliveries */
  int rcpt_full;  /* its next local recipient had control/concurrencyuser deliveries running */
};

/* sluice-lspawn's answer when a user has control/concurrencyuser
 * deliveries running (sluice-lspawn(8)): not a failure of the message,
 * so it is tried again in USER_BUSY_SECONDS, not by the backoff. */
#define USER_BUSY_TEXT "4.4.5 too many deliveries in progress for this user"
#define USER_BUSY_SECONDS 2

struct msg {
  unsigned long id;
  time_t birth;
  unsigned long ssec, snsec; /* the stamp: with id, the message's name in the log */
  unsigned char stamped;     /* ssec.snsec is the stamp sluice-queue gave mess */
  time_t next[2];
  unsigned inflight[2];
  unsigned char has[2];      /* the channel file exists */
  unsigned char queued[2];   /* waiting in the channel's continue list */
  unsigned char todo_done;   /* removal of todo requested */
  unsigned char todo_pending;/* sluice-clean has not answered that request yet */
  unsigned char finished;    /* all done; kept until todo is surely gone */
  unsigned char bounce;      /* bounce/ID exists */
  unsigned char bounce_failed;
  unsigned char maybe[2];    /* has[c] is 0 but the channel file may still exist */
  unsigned char frozen;      /* its message file is not its own: never delivered */
  unsigned char busy_wait;   /* in busy_wait: put off for its busy user */
  unsigned char hot;         /* new mail (named by the trigger) before its
                              * first pass ended: counted in hot_live */
  int markfd[2];             /* the channel file, open with marks not yet synced; -1 */
  struct pass *pass[2];
  str sender;                /* from info, read once: not again per delivery */
  unsigned options;          /* QFILE_OPT_ bits from info, for every delivery */
  unsigned char notify_success; /* a recipient asked for DSN NOTIFY=SUCCESS */
  str *dsn;                  /* the DSN fields of info (qfile.h), for remote
                              * requests; NULL when it has none */
  unsigned char held;        /* hold/N/ID exists: never scheduled (sluice-qctl) */
  unsigned char deleted;     /* sluice-qctl delete: every recipient done, no bounce */
};

/* Hash map of messages by id: open addressing, linear probing,
 * backward-shift deletion. */
struct msgmap {
  struct msg **v;
  size_t a, n;
};

static struct msgmap msgs;

static size_t slot_of(unsigned long id, size_t a)
{
  unsigned long long h = (unsigned long long)id * 0x9E3779B97F4A7C15ULL;
  return (size_t)(h >> 17) & (a - 1);
}

static struct msg *msg_find(unsigned long id)
{
  size_t i;
  if (!msgs.a) return 0;
  for (i = slot_of(id, msgs.a); msgs.v[i]; i = (i + 1) & (msgs.a - 1))
    if (msgs.v[i]->id == id) return msgs.v[i];
  return 0;
}

static void map_put(struct msg **v, size_t a, struct msg *m)
{
  size_t i = slot_of(m->id, a);
  while (v[i]) i = (i + 1) & (a - 1);
  v[i] = m;
}

/* Messages the trigger named (new mail) whose first pass has not
 * ended yet: while there are any, a backlog in todo only trickles. */
static size_t hot_live;

static void hot_forget(struct msg *m)
{
  if (!m->hot) return;
  m->hot = 0;
  --hot_live;
}

static struct msg *msg_new(unsigned long id)
{
  struct msg *m;
  if ((msgs.n + 1) * 2 > msgs.a) {
    size_t a = msgs.a ? msgs.a * 2 : 1024, bytes, i;
    struct msg **v;
    if (size_mul(&bytes, a, sizeof *v) < 0 || !(v = calloc(1, bytes))) die_nomem();
    for (i = 0; i < msgs.a; ++i)
      if (msgs.v[i]) map_put(v, a, msgs.v[i]);
    free(msgs.v);
    msgs.v = v;
    msgs.a = a;
  }
  m = calloc(1, sizeof *m);
  if (!m) die_nomem();
  m->id = id;
  m->markfd[0] = m->markfd[1] = -1;
  map_put(msgs.v, msgs.a, m);
  ++msgs.n;
  return m;
}

static void msg_delete(struct msg *m)
{
  hot_forget(m);
  size_t i = slot_of(m->id, msgs.a), j, k;
  while (msgs.v[i] != m) i = (i + 1) & (msgs.a - 1);
  msgs.v[i] = 0;
  for (j = (i + 1) & (msgs.a - 1); msgs.v[j]; j = (j + 1) & (msgs.a - 1)) {
    k = slot_of(msgs.v[j]->id, msgs.a);
    /* move v[j] back to i unless its home lies cyclically in (i, j] */
    if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
      msgs.v[i] = msgs.v[j];
      msgs.v[j] = 0;
      i = j;
    }
  }
  --msgs.n;
  str_free(&m->sender);
  if (m->dsn) str_free(m->dsn);
  free(m->dsn);
  free(m);
}

/* ---------- channels and slots ---------- */

struct slot {
  int busy;
  int reported; /* its result came in this read: freed after the marks are synced */
  unsigned long id;
  unsigned long delivery;
  str offsets;  /* size_t offsets of the marks in the channel file */
  str addrs;    /* the recipients, each followed by NUL */
  size_t n;
};

struct channel {
  const char *name;
  unsigned long unit;
  int fdout, fdin;
  str out;                 /* request bytes not yet written */
  str in;                  /* result bytes not yet decoded */
  struct slot slots[SPAWN_SLOTS_MAX];
  unsigned long used;
  struct prioq heap;
  unsigned long *cont;     /* ring of message ids continuing a pass */
  size_t cont_head, cont_n, cont_a;
};

static struct channel chans[2];
static struct config cfg;
static unsigned long delivery_count;
static time_t now;

static const char *dirs[2] = { "local", "remote" };

static void cont_push(struct channel *c, unsigned long id)
{
  if (c->cont_n == c->cont_a) {
    size_t a = c->cont_a ? c->cont_a * 2 : 64, bytes, i;
    unsigned long *v;
    if (size_mul(&bytes, a, sizeof *v) < 0 || !(v = malloc(bytes))) die_nomem();
    for (i = 0; i < c->cont_n; ++i) v[i] = c->cont[(c->cont_head + i) % c->cont_a];
    free(c->cont);
    c->cont = v;
    c->cont_a = a;
    c->cont_head = 0;
  }
  c->cont[(c->cont_head + c->cont_n) % c->cont_a] = id;
  ++c->cont_n;
}

static int cont_pop(struct channel *c, unsigned long *id)
{
  if (!c->cont_n) return 0;
  *id = c->cont[c->cont_head];
  c->cont_head = (c->cont_head + 1) % c->cont_a;
  --c->cont_n;
  return 1;
}

/* The status line is written once per pass of the main loop, when the
 * numbers changed since the last one: not after every event. */
static void log_status(void)
{
  static unsigned long last[4] = { (unsigned long)-1, 0, 0, 0 };
  if (last[0] == chans[CH_LOCAL].used && last[1] == cfg.concurrency[CH_LOCAL]
      && last[2] == chans[CH_REMOTE].used && last[3] == cfg.concurrency[CH_REMOTE])
    return;
  last[0] = chans[CH_LOCAL].used;
  last[1] = cfg.concurrency[CH_LOCAL];
  last[2] = chans[CH_REMOTE].used;
  last[3] = cfg.concurrency[CH_REMOTE];
  log_start("status: local ");
  log_u(chans[CH_LOCAL].used);
  log_s("/");
  log_u(cfg.concurrency[CH_LOCAL]);
  log_s(" remote ");
  log_u(chans[CH_REMOTE].used);
  log_s("/");
  log_u(cfg.concurrency[CH_REMOTE]);
  log_end();
}

/* ---------- sluice-clean ---------- */

static int fd_clean_out = 7, fd_clean_in = 8;
static str clean_out, clean_pending; /* pending: type byte + id digits + NUL each */
static size_t clean_head;             /* answered bytes at the front of clean_pending */

static void clean_request(char type, unsigned long id)
{
  str r = STR_INIT;
  if (str_catc(&r, type) < 0) die_nomem();
  if (type != 'p' && str_catulong(&r, id) < 0) die_nomem();
  if (str_catc(&r, 0) < 0 || str_cat(&clean_out, &r) < 0 || str_cat(&clean_pending, &r) < 0) die_nomem();
  str_free(&r);
}

static void msg_end(struct msg *m);
static void maybe_finish(struct msg *m);

/* O(1) per answer however many requests wait: the answered front is
 * skipped with clean_head and cut off only when it is most of the
 * string. */
static void clean_answer(char a)
{
  size_t left = clean_pending.len - clean_head, len;
  const char *p;
  if (!left) {
    log_line("warning: sluice-clean answered more than was asked", 0);
    return;
  }
  p = clean_pending.s + clean_head;
  len = byte_chr(p, left, 0);
  if (len == left) {
    log_line("warning: sluice-clean answered more than was asked", 0);
    return;
  }
  if (a != '+') {
    log_start("warning: sluice-clean could not do ");
    log_safe(p, len);
    log_s(a == '?' ? ": malformed request" : ": will retry later");
    log_end();
  }
  if (len > 1 && p[0] == 't') {
    unsigned long id;
    struct msg *m;
    if (scan_ulong(p + 1, len - 1, &id) == len - 1 && (m = msg_find(id)) != 0) {
      m->todo_pending = 0;
      if (a != '+') {
        m->todo_done = 0; /* the next todo scan asks again */
      } else if (m->finished) {
        m->finished = 0;
        maybe_finish(m);
      }
    }
  }
  clean_head += len + 1;
  if (clean_head == clean_pending.len) {
    clean_pending.len = clean_head = 0;
  } else if (clean_head >= 4096 && clean_head * 2 >= clean_pending.len) {
    memmove(clean_pending.s, clean_pending.s + clean_head, clean_pending.len - clean_head);
    clean_pending.len -= clean_head;
    clean_head = 0;
  }
}

/* ---------- queue files ---------- */

static str qname;

static const char *qpath(const char *dir, unsigned long id)
{
  if (queue_name(&qname, dir, id, auto_split) < 0 || str_0(&qname) < 0) die_nomem();
  return qname.s;
}

static const char *qdirpath(const char *dir, unsigned long id)
{
  if (queue_dirname(&qname, dir, id, auto_split) < 0 || str_0(&qname) < 0) die_nomem();
  return qname.s;
}

/* bounce/ is not split: it holds only messages with fresh failures */
static const char *bpath(unsigned long id)
{
  if (str_copys(&qname, "bounce/") < 0 || str_catulong(&qname, id) < 0 || str_0(&qname) < 0) die_nomem();
  return qname.s;
}

/* file_read, but with a block the size of the file: file_read readies
 * 64 KB for every read, and str_free clears the whole block, which cost
 * more than the read for the small files read per message. 1 read, 0
 * no such file, -1 error (EFBIG past max). */
static int file_read_fitted(const char *path, str *sa, size_t max)
{
  struct stat st;
  ssize_t got;
  size_t want;
  int fd = open_read(path), r = -1, e;
  sa->len = 0;
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  if (fstat(fd, &st) < 0) goto done;
  if (st.st_size < 0 || (unsigned long long)st.st_size > max) { errno = EFBIG; goto done; }
  want = (size_t)st.st_size + 1; /* one more: a file that grew is seen */
  if (str_ready(sa, want) < 0) goto done;
  got = read_full(fd, sa->s, want);
  if (got < 0) goto done;
  sa->len = (size_t)got;
  if ((size_t)got == want && read_fd_all(fd, sa, max) < 0) goto done;
  r = 1;
done:
  e = errno;
  close(fd);
  errno = e;
  return r;
}

/* 1 and the info, 0 when there is no (complete) info file, -1 error. */
static int info_read(unsigned long id, struct qfile_info *in)
{
  str s = STR_INIT;
  int r = file_read_fitted(qpath("info", id), &s, 1UL << 20);
  if (r > 0) r = qfile_info_parse(&s, in) < 0 ? 0 : 1;
  str_free(&s);
  return r;
}

/* fdatasync: the bytes and what is needed to read them back (the size)
 * are durable when it returns; only timestamps may be lost, and no file
 * of sluice-send's keeps anything in its timestamps. It spares the
 * inode write that fsync adds after a mark flip in place. */
static int data_sync(int fd)
{
  int r;
  do r = fdatasync(fd);
  while (r < 0 && errno == EINTR);
  return r;
}

/* The command channel (lock/control, sluice-qctl(8)), defined below
 * with its handlers. */
static void control_note_deferral(struct msg *m, const char *a, size_t alen, const char *r, size_t rlen);
static void control_all_done(struct msg *m, int c);
static void control_forget(struct msg *m);
static void control_load(struct msg *m);
static void summary_changed(void);

/* ---------- scheduling ---------- */

static void schedule(struct msg *m, int c, time_t when)
{
  m->next[c] = when;
  summary_changed();
  if (prioq_insert(&chans[c].heap, when, m->id) < 0) die_nomem();
}

static void persist_next(struct msg *m, int c)
{
  char h[HEADER_LEN];
  int fd = open(qpath(dirs[c], m->id), O_WRONLY | O_CLOEXEC);
  qfile_header_fmt(h, m->next[c] > 0 ? (unsigned long)m->next[c] : 0);
  /* no fsync: a retry time lost in a crash only makes the retry early */
  if (fd < 0 || pwrite(fd, h, HEADER_LEN, 0) != HEADER_LEN) log_line("warning: unable to record retry time in ", qname.s);
  if (fd >= 0) close(fd);
}


static void pass_free(struct msg *m, int c)
{
  if (m->pass[c]) {
    str_free(&m->pass[c]->file);
    free(m->pass[c]);
    m->pass[c] = 0;
  }
}

/* Messages whose local pass ended with "too many deliveries for this
 * user" (sluice-lspawn's concurrencyuser), oldest first. Each is also
 * scheduled USER_BUSY_SECONDS ahead; each local delivery that ends
 * (a slot of some user freed) brings the oldest one forward to now, so
 * a burst for one user goes on at the pace its deliveries end instead
 * of in steps of seconds, one retry per ended delivery. Bounded: when
 * full, the schedule alone brings them back. */
#define BUSY_WAIT_MAX 65536
static unsigned long busy_wait[BUSY_WAIT_MAX];
static size_t busy_head, busy_n;

static void busy_push(unsigned long id)
{
  if (busy_n == BUSY_WAIT_MAX) return;
  busy_wait[(busy_head + busy_n++) % BUSY_WAIT_MAX] = id;
}

/* A local delivery ended: the oldest message still waiting for its
 * user goes first in line. */
static void busy_release(void)
{
  while (busy_n) {
    unsigned long id = busy_wait[busy_head];
    struct msg *m = msg_find(id);
    busy_head = (busy_head + 1) % BUSY_WAIT_MAX;
    --busy_n;
    if (m && m->has[CH_LOCAL] && !m->pass[CH_LOCAL] && m->busy_wait && m->next[CH_LOCAL] > now) {
      m->busy_wait = 0;
      schedule(m, CH_LOCAL, 0);
      return;
    }
  }
}

/* Local deliveries in flight by recipient, and the messages waiting
 * for one of them to end. sluice-send holds a local recipient back
 * while control/concurrencyuser deliveries to it are running, as
 * sluice-lspawn would refuse the delivery anyway (it counts by user,
 * this by address: the two agree for a user's own address, and
 * sluice-lspawn's answer still covers several addresses of one user).
 * So a burst for one user costs no request to sluice-lspawn that comes
 * back "too many deliveries": the message waits here, off the
 * schedule's short retry, and each ended delivery to that recipient
 * sends the oldest waiting message on. A key lives while a delivery
 * to it runs or a message waits for it, so there are at most about
 * concurrencylocal of them. */
struct rkey {
  str addr;
  unsigned long n;          /* deliveries in flight */
  unsigned long *w;         /* ring of waiting message ids */
  size_t wh, wn, wa;
};
static struct rkey *rkeys;
static size_t nrkeys, arkeys;

/* The key of address a, made when create and missing; 0 when missing. */
static struct rkey *rkey_find(const char *a, size_t len, int create)
{
  size_t i;
  struct rkey *k;
  for (i = 0; i < nrkeys; ++i)
    if (case_equalb(rkeys[i].addr.s, rkeys[i].addr.len, a, len)) return &rkeys[i];
  if (!create) return 0;
  if (nrkeys == arkeys) {
    size_t na = arkeys ? arkeys * 2 : 16, bytes;
    struct rkey *v;
    if (size_mul(&bytes, na, sizeof *v) < 0 || !(v = realloc(rkeys, bytes))) die_nomem();
    rkeys = v;
    arkeys = na;
  }
  k = &rkeys[nrkeys++];
  memset(k, 0, sizeof *k);
  if (str_copyb(&k->addr, a, len) < 0) die_nomem();
  return k;
}

static void rkey_drop_if_idle(struct rkey *k)
{
  if (k->n || k->wn) return;
  str_free(&k->addr);
  free(k->w);
  *k = rkeys[--nrkeys];
}

static void rkey_wait(struct rkey *k, unsigned long id)
{
  if (k->wn == k->wa) {
    size_t na = k->wa ? k->wa * 2 : 16, bytes, i;
    unsigned long *v;
    if (size_mul(&bytes, na, sizeof *v) < 0 || !(v = malloc(bytes))) die_nomem();
    for (i = 0; i < k->wn; ++i) v[i] = k->w[(k->wh + i) % k->wa];
    free(k->w);
    k->w = v;
    k->wa = na;
    k->wh = 0;
  }
  k->w[(k->wh + k->wn++) % k->wa] = id;
}

/* The first pending record of a pass from pos: its offset, or the
 * file's length. */
static size_t pass_pending(const struct pass *p, size_t pos)
{
  while (pos < p->file.len) {
    size_t len = byte_chr(p->file.s + pos, p->file.len - pos, 0);
    if (p->file.s[pos] == 'T') return pos;
    pos += len + 1;
  }
  return p->file.len;
}

/* How long a message waiting for its recipient stays off the schedule
 * at most (each ended delivery to that recipient brings one back
 * before): only for a key left with waiters and nothing running. */
#define RCPT_WAIT_SECONDS 30

/* The pass over a channel file is over and nothing is in flight. */
static void pass_end(struct msg *m, int c)
{
  struct pass *p = m->pass[c];
  size_t pos = HEADER_LEN;
  int pending = 0, p_busy = p->user_busy;
  struct rkey *k = 0;
  if (m->deleted) control_all_done(m, c); /* sluice-qctl delete: nothing is pending */
  hot_forget(m);
  /* held back for its recipient, and nothing else to retry later: the
   * recipient at pos is the one dispatch found busy */
  if (p->rcpt_full && !p->deferred && !p_busy && c == CH_LOCAL) {
    size_t first = pass_pending(p, p->pos);
    if (first < p->file.len) k = rkey_find(p->file.s + first + 1, byte_chr(p->file.s + first, p->file.len - first, 0) - 1, 1);
  }
  while (pos < p->file.len) {
    size_t len = byte_chr(p->file.s + pos, p->file.len - pos, 0);
    if (p->file.s[pos] != 'D') pending = 1;
    pos += len + 1;
  }
  pass_free(m, c);
  if (!pending) {
    if (k) rkey_drop_if_idle(k);
    m->has[c] = 0;
    if (unlink(qpath(dirs[c], m->id)) < 0 && errno != ENOENT) {
      log_line("warning: unable to remove ", qname.s);
      m->maybe[c] = 1; /* maybe_finish tries again */
    }
  } else if (k && k->n >= cfg.peruser) {
    /* held back for its recipient: waits for one of its deliveries to end */
    m->busy_wait = 1;
    rkey_wait(k, m->id);
    schedule(m, c, now + RCPT_WAIT_SECONDS);
  } else if (k) {
    schedule(m, c, now); /* its recipient's deliveries ended meanwhile */
    rkey_drop_if_idle(k);
  } else {
    schedule(m, c, p_busy ? now + USER_BUSY_SECONDS : retry_next(m->birth, now, chans[c].unit));
    persist_next(m, c);
    if (p_busy && c == CH_LOCAL) {
      m->busy_wait = 1;
      busy_push(m->id);
    }
  }
}

/* The queue user: the owner of mess/, and of every message file. */
static uid_t queue_uid;

/* 1 when mess/N/ID is the message that was committed as ID: a regular
 * file of the queue user with that inode number whose time is the
 * envelope's stamp (or, for an envelope from before stamps, not later
 * than birth, the time of the todo entry); 0 when it is missing or
 * another file; -1 when it could not be looked at. *st gets its lstat. */
static int mess_is_own(unsigned long id, int stamped, unsigned long sec, unsigned long nsec, time_t birth,
                       struct stat *st)
{
  if (lstat(qpath("mess", id), st) < 0) return errno == ENOENT ? 0 : -1;
  return queue_mess_is(st, id, queue_uid) && queue_mess_committed(st, stamped, sec, nsec, birth);
}

/* A known message whose file is gone or replaced: its recipients would
 * get somebody else's message. Never delivered; left for sluice-fsck. */
static void freeze(struct msg *m)
{
  m->frozen = 1;
  log_start("alert: msg ");
  log_msgid(m->id, m->ssec, m->snsec);
  log_s(": mess/");
  log_u(m->id % auto_split);
  log_s("/");
  log_u(m->id);
  log_s(" is missing or not this message's own; no delivery made, left for sluice-fsck");
  log_end();
}

static int pass_start(struct msg *m, int c)
{
  struct pass *p;
  struct stat st;
  int r;
  if (m->frozen) return -1;
  r = mess_is_own(m->id, m->stamped, m->ssec, m->snsec, m->birth, &st);
  if (r == 0) { freeze(m); return -1; }
  if (r < 0) { schedule(m, c, now + 3600); return -1; }
  p = calloc(1, sizeof *p);
  if (!p) die_nomem();
  r = file_read_fitted(qpath(dirs[c], m->id), &p->file, CHANNEL_FILE_MAX);
  if (r <= 0 || qfile_header_parse(&p->file, &(unsigned long){ 0 }) < 0 || !qfile_records_valid(&p->file)) {
    log_start(r == 0 ? "warning: missing " : "warning: unable to read or parse ");
    log_s(qname.s);
    log_s(": will look again in an hour");
    log_end();
    str_free(&p->file);
    free(p);
    if (r == 0) { m->has[c] = 0; return -1; }
    schedule(m, c, now + 3600);
    return -1;
  }
  p->pos = HEADER_LEN;
  m->pass[c] = p;
  return 0;
}

static size_t domain_off(const char *a, size_t len)
{
  size_t at = byte_rchr(a, len, '@');
  return at == len ? len : at + 1;
}

/* Keeps the DSN fields of info for the remote requests of m. */
static void msg_set_dsn(struct msg *m, const str *dsn)
{
  if (dsn->len == 0) return;
  m->dsn = calloc(1, sizeof *m->dsn);
  if (!m->dsn || str_copy(m->dsn, dsn) < 0) die_nomem();
}

/* Appends the request for the recipients in sl to ch->out. A remote
 * request carries the DSN parameters of its recipients (sluice-spawn(5))
 * so that sluice-remote can pass them on; a value the request cannot
 * carry (longer than RFC 3461 allows on the wire) is left out, and a
 * request that cannot be made with them goes without any, logged. */
static int request_encode(struct channel *ch, unsigned long s, const struct msg *m, int c, const struct slot *sl)
{
  str list = STR_INIT, orcpt = STR_INIT;
  const char *envid = 0, *a, *nl;
  size_t elen = 0, apos = 0, alen, nlen;
  int any = 0, r;

  if (c == CH_REMOTE && m->dsn) {
    elen = qfile_dsn_envid(m->dsn, &envid);
    if (!spawn_dsn_valid('E', envid, elen)) elen = 0;
    any = elen > 0;
    while (spawn_next(&sl->addrs, &apos, &a, &alen)) {
      int f = qfile_dsn_find(m->dsn, a, alen, &nl, &nlen, &orcpt);
      if (f < 0 && errno == ENOMEM) die_nomem();
      if (f != 1) { nl = ""; nlen = 0; }
      if (!spawn_dsn_valid('N', nl, nlen)) nlen = 0;
      if (f != 1 || !spawn_dsn_valid('O', orcpt.s, orcpt.len)) orcpt.len = 0;
      if (nlen || orcpt.len) any = 1;
      if (str_catb(&list, nl, nlen) < 0 || str_catc(&list, 0) < 0 || str_cat(&list, &orcpt) < 0
          || str_catc(&list, 0) < 0)
        die_nomem();
    }
  }
  if (any) {
    r = spawn_request_encode_dsn(&ch->out, s, m->id, m->options, m->sender.s, m->sender.len, envid, elen,
                                 sl->addrs.s, sl->addrs.len, sl->n, list.s, list.len);
    if (r < 0 && errno == EPROTO) {
      log_start("warning: msg ");
      log_msgid(m->id, m->ssec, m->snsec);
      log_s(": its DSN parameters do not fit a delivery request; sent without them");
      log_end();
      any = 0;
    } else if (r < 0) {
      any = -1;
    }
  }
  if (!any)
    r = spawn_request_encode(&ch->out, s, m->id, m->options, m->sender.s, m->sender.len, sl->addrs.s, sl->addrs.len,
                             sl->n);
  else
    r = any < 0 ? -1 : 0;
  str_free(&list);
  str_free(&orcpt);
  return r;
}

/* Sends one delivery of message m on channel c: the next pending
 * recipient, and for remote every other pending one at its domain.
 * Returns 1 when the pass has more to dispatch, 0 when it has not, 2
 * when no slot is free. */
static int dispatch(struct msg *m, int c)
{
  struct channel *ch = &chans[c];
  struct pass *p = m->pass[c];
  struct slot *sl = 0;
  unsigned long s;
  size_t pos, first = 0, firstlen = 0;
  const char *dom = 0;
  size_t domlen = 0;

  while (p->pos < p->file.len) { /* the next pending record */
    size_t len = byte_chr(p->file.s + p->pos, p->file.len - p->pos, 0);
    if (p->file.s[p->pos] == 'T') { first = p->pos; firstlen = len; break; }
    p->pos += len + 1;
  }
  if (p->pos >= p->file.len) return 0;
  for (s = 0; s < cfg.concurrency[c]; ++s)
    if (!ch->slots[s].busy) { sl = &ch->slots[s]; break; }
  if (!sl) return 2; /* after SIGHUP lowered the concurrency */
  if (c == CH_LOCAL) {
    struct rkey *k = rkey_find(p->file.s + first + 1, firstlen - 1, 1);
    if (k->n >= cfg.peruser) {
      p->rcpt_full = 1;
      rkey_drop_if_idle(k);
      return 0;
    }
    ++k->n;
    p->rcpt_full = 0;
  }

  sl->busy = 1;
  sl->id = m->id;
  sl->delivery = ++delivery_count;
  sl->offsets.len = sl->addrs.len = 0;
  sl->n = 0;
  if (c == CH_REMOTE) {
    size_t d = domain_off(p->file.s + first + 1, firstlen - 1);
    dom = p->file.s + first + 1 + d;
    domlen = firstlen - 1 - d;
  }
  for (pos = first; pos < p->file.len && sl->n < SPAWN_RCPTS_MAX;) {
    size_t len = byte_chr(p->file.s + pos, p->file.len - pos, 0);
    const char *a = p->file.s + pos + 1;
    int take = p->file.s[pos] == 'T';
    if (take && c == CH_REMOTE) {
      size_t d = domain_off(a, len - 1);
      take = case_equalb(a + d, len - 1 - d, dom, domlen);
    }
    if (take) {
      p->file.s[pos] = 'P';
      if (str_catb(&sl->offsets, (const char *)&pos, sizeof pos) < 0 || str_catb(&sl->addrs, a, len - 1) < 0
          || str_catc(&sl->addrs, 0) < 0)
        die_nomem();
      ++sl->n;
      log_start("starting delivery ");
      log_u(sl->delivery);
      log_s(": msg ");
      log_msgid(m->id, m->ssec, m->snsec);
      log_s(c == CH_LOCAL ? " to local " : " to remote ");
      log_safe(a, len - 1);
      log_end();
      if (c == CH_LOCAL) break;
    }
    pos += len + 1;
  }
  p->pos = first + firstlen + 1;
  if (request_encode(ch, s, m, c, sl) < 0) die_temp_sys("unable to encode a delivery request");
  ++ch->used;
  ++m->inflight[c];
  while (p->pos < p->file.len) {
    size_t len = byte_chr(p->file.s + p->pos, p->file.len - p->pos, 0);
    if (p->file.s[p->pos] == 'T') return 1;
    p->pos += len + 1;
  }
  return 0;
}

static int draining; /* SIGTERM: start nothing new */

static void run_channel(int c)
{
  struct channel *ch = &chans[c];
  while (!draining && ch->used < cfg.concurrency[c]) {
    struct msg *m = 0;
    unsigned long id;
    struct prioq_item top;
    int more;
    if (cont_pop(ch, &id)) {
      m = msg_find(id);
      if (!m || !m->queued[c]) continue;
      m->queued[c] = 0;
      if (!m->pass[c]) continue;
      if (m->held) { /* held meanwhile: the pass ends with what is in flight */
        if (!m->inflight[c]) { pass_end(m, c); maybe_finish(m); }
        continue;
      }
    } else if (prioq_min(&ch->heap, &top) && top.when <= now) {
      prioq_delmin(&ch->heap);
      m = msg_find(top.id);
      if (!m || !m->has[c] || m->pass[c] || m->next[c] != top.when) continue; /* stale entry */
      if (m->held) continue; /* released by sluice-qctl: scheduled anew then */
      if (pass_start(m, c) < 0) { maybe_finish(m); continue; }
    } else {
      break;
    }
    more = dispatch(m, c);
    if (more) {
      m->queued[c] = 1;
      cont_push(ch, m->id);
      if (more == 2) break;
    } else if (m->inflight[c] == 0) {
      pass_end(m, c);
      maybe_finish(m);
    }
  }
}

/* ---------- results ---------- */

static int append_bounce_id(unsigned long id, const str *records)
{
  int created = 0, fd;
  const char *path = bpath(id);
  struct stat st;
  if (lstat(path, &st) < 0) created = 1;
  fd = open_append(path, 0600);
  if (fd < 0) return -1;
  if (write_all(fd, records->s, records->len) < 0 || file_sync(fd) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  close(fd);
  if (created && dir_sync("bounce") < 0) return -1;
  return 0;
}

static int append_bounce(struct msg *m, const str *records)
{
  if (append_bounce_id(m->id, records) < 0) return -1;
  m->bounce = 1;
  return 0;
}

/* A delivery of m on channel c has reported: continue the pass, or end
 * it when nothing is left to dispatch and nothing is in flight. */
static void after_delivery(struct msg *m, int c)
{
  struct pass *p = m->pass[c];
  size_t pos;
  if (m->inflight[c] != 0 || m->queued[c] || !p) return;
  for (pos = p->pos; pos < p->file.len;) {
    size_t len = byte_chr(p->file.s + pos, p->file.len - pos, 0);
    if (p->file.s[pos] == 'T') {
      m->queued[c] = 1;
      cont_push(&chans[c], m->id);
      return;
    }
    pos += len + 1;
  }
  pass_end(m, c);
}

static unsigned char journal_check[2]; /* a result came: see whether the journal can be emptied */

/* The results of one read from a spawner are handled in three steps,
 * so that every mark written into one channel file shares one
 * fdatasync (group commit; sluice-queue(5), "Durability"):
 * handle_result logs each result, appends its failure reports to the
 * bounce file (fsynced there, before any mark) and writes its marks
 * with pwrite; marks_sync writes the log out and syncs each channel
 * file written once; result_finish then frees the slots and goes on
 * with the messages (passes end, bounces, removals), which need the
 * marks durable. ids collects the ids whose channel file got marks
 * (unsigned longs), slots the slots that reported (size_ts). */
static void handle_result(int c, const struct spawn_result *res, str *ids, str *slots)
{
  struct channel *ch = &chans[c];
  struct slot *sl;
  struct msg *m;
  str bounce = STR_INIT, rec = STR_INIT;
  size_t rpos = 0, apos = 0, i;
  int expired, fd;
  char *marks;

  if (res->slot >= SPAWN_SLOTS_MAX || !ch->slots[res->slot].busy || ch->slots[res->slot].reported) {
    log_start("warning: result for idle ");
    log_s(ch->name);
    log_s(" slot ");
    log_u(res->slot);
    log_s(" ignored");
    log_end();
    return;
  }
  sl = &ch->slots[res->slot];
  m = msg_find(sl->id);
  if (res->nresults != sl->n || !m || !m->pass[c]) {
    log_start("warning: result for delivery ");
    log_u(sl->delivery);
    log_s(!m || !m->pass[c] ? " has no message; ignored" : " has the wrong number of recipients; treated as deferred");
    log_end();
    if (m && m->pass[c]) m->pass[c]->deferred = 1;
    goto reported;
  }
  expired = (unsigned long)(now > m->birth ? now - m->birth : 0) >= cfg.lifetime;
  if (c == CH_LOCAL) {
    /* a delivery that ran (not one put off for its busy user) has
     * freed a place for its user: one waiting message goes on */
    const char *r0;
    size_t r0len, p0 = 0;
    if (spawn_next(&res->results, &p0, &r0, &r0len)
        && !(r0len - 1 >= sizeof USER_BUSY_TEXT - 1 && byte_equal(r0 + 1, USER_BUSY_TEXT, sizeof USER_BUSY_TEXT - 1)))
      busy_release();
  }
  marks = calloc(sl->n ? sl->n : 1, 1);
  if (!marks) die_nomem();
  for (i = 0; i < sl->n; ++i) {
    const char *r, *a;
    size_t rlen, alen;
    spawn_next(&res->results, &rpos, &r, &rlen);
    spawn_next(&sl->addrs, &apos, &a, &alen);
    log_start("delivery ");
    log_u(sl->delivery);
    log_s(r[0] == 'K' || r[0] == 'P' ? ": success: "
          : r[0] == 'D' ? ": failure: " : expired ? ": failure: too old: " : ": deferral: ");
    if (c == CH_REMOTE) { log_safe(a, alen); log_s(": "); }
    log_safe(r + 1, rlen - 1);
    log_end();
    if (r[0] == 'K' || r[0] == 'P') {
      marks[i] = 'D';
      /* DSN NOTIFY=SUCCESS: an S record in the bounce file, which
       * send_bounce keeps only for the recipients that asked; none
       * after P: the next hop took the DSN request and reports the
       * success itself (RFC 3461 6.2.2) */
      if (r[0] == 'K' && m->notify_success && m->sender.len) {
        rec.len = 0;
        if (str_catc(&rec, 'S') < 0 || str_catc(&rec, c == CH_LOCAL ? 'L' : 'R') < 0
            || str_catb(&rec, a, alen) < 0 || str_catc(&rec, 0) < 0
            || str_catb(&rec, r + 1, rlen - 1) < 0 || netstring_cat(&bounce, rec.s, rec.len) < 0)
          die_nomem();
      }
    } else if (m->deleted) {
      marks[i] = 'D'; /* deleted by sluice-qctl while in flight: no bounce */
    } else if (r[0] == 'D' || expired) {
      marks[i] = 'D';
      rec.len = 0;
      if (str_catc(&rec, r[0] == 'D' ? 'D' : 'Z') < 0 || str_catc(&rec, c == CH_LOCAL ? 'L' : 'R') < 0
          || str_catb(&rec, a, alen) < 0 || str_catc(&rec, 0) < 0
          || str_catb(&rec, r + 1, rlen - 1) < 0 || netstring_cat(&bounce, rec.s, rec.len) < 0)
        die_nomem();
    } else {
      m->pass[c]->deferred = 1;
      if (c == CH_LOCAL && rlen - 1 >= sizeof USER_BUSY_TEXT - 1 && byte_equal(r + 1, USER_BUSY_TEXT, sizeof USER_BUSY_TEXT - 1))
        m->pass[c]->user_busy = 1;
      else
        control_note_deferral(m, a, alen, r + 1, rlen - 1);
    }
  }
  if (bounce.len && append_bounce(m, &bounce) < 0) {
    /* the failures stay unmarked and are retried: nothing is lost */
    log_line("warning: unable to write bounce file: ", errtext(errno));
    for (i = 0; i < sl->n; ++i) marks[i] = 0;
    m->pass[c]->deferred = 1;
  }
  /* a result with nothing to mark (every recipient deferred) changes no
   * byte of the channel file: no open, no sync */
  for (i = 0; i < sl->n && marks[i] != 'D'; ++i) {}
  fd = m->markfd[c];
  if (i < sl->n && fd < 0) {
    fd = open(qpath(dirs[c], m->id), O_WRONLY | O_CLOEXEC);
    if (fd < 0) log_line("warning: unable to open channel file ", qname.s);
    else {
      m->markfd[c] = fd;
      if (str_catb(ids, (const char *)&m->id, sizeof m->id) < 0) die_nomem();
    }
  }
  for (i = 0; i < sl->n; ++i) {
    size_t off;
    memcpy(&off, sl->offsets.s + i * sizeof off, sizeof off);
    if (marks[i] == 'D') {
      if (fd >= 0 && pwrite(fd, "D", 1, (off_t)off) == 1) m->pass[c]->file.s[off] = 'D';
      else m->pass[c]->deferred = 1;
    }
  }
  free(marks);
  journal_check[c] = 1;
reported:
  sl->reported = 1;
  {
    size_t s = res->slot;
    if (str_catb(slots, (const char *)&s, sizeof s) < 0) die_nomem();
  }
  str_free(&bounce);
  str_free(&rec);
}

/* Makes the marks of this read durable: one fdatasync per channel file
 * however many results it got. The log lines of the results are out
 * first. */
static void marks_sync(int c, const str *ids)
{
  size_t i;
  log_flush();
  for (i = 0; i + sizeof(unsigned long) <= ids->len; i += sizeof(unsigned long)) {
    unsigned long id;
    struct msg *m;
    memcpy(&id, ids->s + i, sizeof id);
    m = msg_find(id);
    if (!m || m->markfd[c] < 0) continue;
    if (data_sync(m->markfd[c]) < 0) log_line("warning: unable to sync ", qpath(dirs[c], id));
    close(m->markfd[c]);
    m->markfd[c] = -1;
  }
}

/* A reported slot, its marks durable: the slot is free again and its
 * message goes on. */
static void result_finish(int c, size_t s)
{
  struct channel *ch = &chans[c];
  struct slot *sl = &ch->slots[s];
  struct msg *m = msg_find(sl->id);
  if (c == CH_LOCAL && sl->n) {
    /* one delivery to its recipient fewer: the oldest message waiting
     * for that recipient goes on */
    struct rkey *k = rkey_find(sl->addrs.s, byte_len(sl->addrs.s, sl->addrs.len), 0);
    if (k) {
      if (k->n) --k->n;
      while (k->wn) {
        struct msg *w = msg_find(k->w[k->wh]);
        k->wh = (k->wh + 1) % k->wa;
        --k->wn;
        if (w && w->has[CH_LOCAL] && !w->pass[CH_LOCAL] && w->busy_wait) {
          w->busy_wait = 0;
          schedule(w, CH_LOCAL, 0);
          break;
        }
      }
      rkey_drop_if_idle(k);
    }
  }
  if (m && m->pass[c]) {
    --m->inflight[c];
    after_delivery(m, c);
  }
  sl->busy = 0;
  sl->reported = 0;
  --ch->used;
  if (m) maybe_finish(m);
}

/* ---------- bounces ---------- */

static unsigned long bounce_seq;

/* Runs sluice-queue with the message and envelope; returns its exit code
 * (0 committed) or -1 when it could not be run. */
static int inject(const str *message, const str *envelope, unsigned long *qp)
{
  int mp[2], ep[2], status;
  pid_t pid;
  str prog = STR_INIT;
  char *argv[2];
  child_fd fds[2];

  if (pipe(mp) < 0) return -1;
  if (pipe(ep) < 0) { close(mp[0]); close(mp[1]); return -1; }
  fd_cloexec(mp[1], 1);
  fd_cloexec(ep[1], 1);
  if (str_copys(&prog, auto_home) < 0 || str_cats(&prog, "/bin/sluice-queue") < 0 || str_0(&prog) < 0) die_nomem();
  argv[0] = prog.s;
  argv[1] = 0;
  fds[0].to = 0; fds[0].from = mp[0];
  fds[1].to = 1; fds[1].from = ep[0];
  pid = child_spawn(prog.s, argv, 0, fds, 2);
  close(mp[0]);
  close(ep[0]);
  str_free(&prog);
  if (pid < 0) { close(mp[1]); close(ep[1]); return -1; }
  *qp = (unsigned long)pid;
  (void)(write_all(mp[1], message->s, message->len) < 0);
  close(mp[1]);
  (void)(write_all(ep[1], envelope->s, envelope->len) < 0);
  close(ep[1]);
  if (wait_pid(pid, &status) < 0) return -1;
  return wait_exitcode(status);
}

/* Injects the bounce of message m from its bounce file. 0 done (or
 * dropped), -1 failed (retried later). */
static int send_bounce(struct msg *m)
{
  str records = STR_INIT, original = STR_INIT, out = STR_INIT, env = STR_INIT, token = STR_INIT;
  str from = STR_INIT, to = STR_INIT, addrs = STR_INIT, msgid = STR_INIT;
  str orcpt = STR_INIT, orcpts = STR_INIT, envid = STR_INIT;
  const char *envid_p = 0;
  struct qfile_info in = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
  struct dsn_recipient *rc = 0;
  struct dsn_message dm;
  size_t n = 0, pos = 0, i;
  unsigned long qp = 0;
  int r = -1, code, fd;

  if (info_read(m->id, &in) <= 0) goto done;
  if (file_read(bpath(m->id), &records, 64UL << 20) < 0) goto done;
  if (in.sender.len == 4 && byte_equal(in.sender.s, "#@[]", 4)) {
    log_start("triple bounce: discarding bounce/");
    log_u(m->id);
    log_end();
    r = 0;
    goto remove;
  }
  if (in.sender.len == 0 && cfg.doublebounceto.len == 0) {
    log_start("double bounce: discarding bounce/");
    log_u(m->id);
    log_s(" (control/doublebounceto is empty)");
    log_end();
    r = 0;
    goto remove;
  }
  /* count and check the records; a torn last record is ignored */
  while (pos < records.len) {
    size_t off, len, used;
    if (netstring_parse(records.s + pos, records.len - pos, 1UL << 20, &off, &len, &used) != 1) break;
    ++n;
    pos += used;
  }
  if (n == 0) { r = 0; goto remove; }
  rc = calloc(n, sizeof *rc);
  if (!rc) die_nomem();
  /* the addresses need NUL terminators: copy them into one block */
  for (pos = 0, i = 0; i < n; ++i) {
    size_t off, len, used, alen;
    const char *rec;
    netstring_parse(records.s + pos, records.len - pos, 1UL << 20, &off, &len, &used);
    rec = records.s + pos + off;
    if (len < 2) { pos += used; rc[i].text = ""; continue; }
    alen = byte_chr(rec + 2, len - 2, 0);
    if (str_catb(&addrs, rec + 2, alen) < 0 || str_catc(&addrs, 0) < 0) die_nomem();
    rc[i].text = rec + 2 + alen + (alen < len - 2 ? 1 : 0);
    rc[i].textlen = len - 2 - alen - (alen < len - 2 ? 1 : 0);
    rc[i].expired = rec[0] == 'Z';
    if (rec[0] == 'S') rc[i].success = rec[1] == 'L' ? DSN_DELIVERED : DSN_RELAYED;
    rc[i].diag_type = rec[1] == 'R' ? DSN_DIAG_SMTP : DSN_DIAG_SLUICE;
    rc[i].last_attempt = now;
    pos += used;
  }
  for (pos = 0, i = 0; i < n; ++i) {
    rc[i].addr = addrs.s + pos;
    pos += byte_len(addrs.s + pos, addrs.len - pos) + 1;
  }
  /* DSN (RFC 3461): a recipient whose NOTIFY leaves out FAILURE (NEVER
   * included) gets no bounce; a success is reported only to a sender
   * (not <>) that asked with NOTIFY=SUCCESS, and not in QSBMF; an ORCPT
   * goes into the report. The ORCPT values are copied into one block,
   * so their pointers are set once it has stopped growing. */
  {
    size_t kept = 0, *ooff = calloc(n, sizeof *ooff);
    if (!ooff) die_nomem();
    for (i = 0; i < n; ++i) {
      const char *nl;
      size_t nlen;
      int f = qfile_dsn_find(&in.dsn, rc[i].addr, byte_len(rc[i].addr, addrs.len), &nl, &nlen, &orcpt);
      if (f < 0 && errno == ENOMEM) die_nomem();
      if (rc[i].success) {
        if (f != 1 || byte_chr(nl, nlen, 'S') == nlen || in.sender.len == 0 || cfg.qsbmf) continue;
      } else if (f == 1 && nlen && byte_chr(nl, nlen, 'F') == nlen) {
        log_start("bounce to ");
        log_safe(rc[i].addr, byte_len(rc[i].addr, addrs.len));
        log_s(" suppressed by NOTIFY for msg ");
        log_msgid(m->id, m->ssec, m->snsec);
        log_end();
        continue;
      }
      ooff[kept] = 0;
      if (f == 1 && orcpt.len) {
        ooff[kept] = orcpts.len + 1;
        if (str_cat(&orcpts, &orcpt) < 0 || str_catc(&orcpts, 0) < 0) die_nomem();
      }
      rc[kept++] = rc[i];
    }
    for (i = 0; i < kept; ++i) rc[i].orcpt = ooff[i] ? orcpts.s + ooff[i] - 1 : 0;
    free(ooff);
    n = kept;
    if (n == 0) { r = 0; goto remove; }
  }
  {
    size_t elen = qfile_dsn_envid(&in.dsn, &envid_p);
    if (elen && (str_copyb(&envid, envid_p, elen) < 0 || str_0(&envid) < 0)) die_nomem();
  }
  fd = open_read(qpath("mess", m->id));
  if (fd < 0 || read_fd_all(fd, &original, BOUNCE_ORIGINAL_MAX) < 0) {
    if (errno != EFBIG) { if (fd >= 0) close(fd); goto done; }
  }
  if (fd >= 0) close(fd);

  if (str_copy(&from, &cfg.bouncefrom) < 0 || str_catc(&from, '@') < 0 || str_cat(&from, &cfg.bouncehost) < 0
      || str_0(&from) < 0)
    die_nomem();
  if (in.sender.len == 0) { /* double bounce */
    if (str_copy(&to, &cfg.doublebounceto) < 0) die_nomem();
    if (byte_chr(to.s, to.len, '@') == to.len && (str_catc(&to, '@') < 0 || str_cat(&to, &cfg.doublebouncehost) < 0))
      die_nomem();
  } else if (str_copy(&to, &in.sender) < 0) {
    die_nomem();
  }
  if (str_0(&to) < 0 || str_0(&in.sender) < 0 || str_0(&cfg.me) < 0) die_nomem();
  if (str_catulong(&token, (unsigned long)now) < 0 || str_catc(&token, '.') < 0 || str_catulong(&token, m->id) < 0
      || str_catc(&token, '.') < 0 || str_catulong(&token, ++bounce_seq) < 0 || str_0(&token) < 0)
    die_nomem();
  memset(&dm, 0, sizeof dm);
  dm.host = cfg.me.s;
  dm.from = from.s;
  dm.to = to.s;
  dm.doublebounce = in.sender.len == 0;
  dm.queue_id = m->id;
  if (queue_msgid_cat(&msgid, m->id, m->ssec, m->snsec) < 0 || str_0(&msgid) < 0) die_nomem();
  dm.msgid = msgid.s;
  dm.arrival = m->birth;
  dm.now = now;
  dm.format = cfg.qsbmf ? DSN_QSBMF : DSN_RFC3464;
  dm.token = token.s;
  dm.sender = in.sender.s;
  dm.rcpt = rc;
  dm.rcpt_count = n;
  dm.original = original.s;
  dm.original_len = original.len;
  dm.envid = envid.len ? envid.s : 0;
  dm.ret_full = (in.options & QFILE_OPT_RET_FULL) != 0;
  if (dsn_compose(&out, &dm) < 0) goto done;

  /* envelope: a bounce has the null sender; a double bounce #@[] */
  if (str_cats(&env, in.sender.len == 0 ? "F#@[]" : "F") < 0 || str_catc(&env, 0) < 0 || str_catc(&env, 'T') < 0
      || str_catb(&env, to.s, to.len) < 0 || str_catc(&env, 0) < 0 || str_catc(&env, 0) < 0)
    die_nomem();
  code = inject(&out, &env, &qp);
  if (code != 0) {
    log_start("warning: unable to inject bounce for msg ");
    log_msgid(m->id, m->ssec, m->snsec);
    log_s(": sluice-queue exit ");
    log_u(code < 0 ? 999UL : (unsigned long)code);
    log_end();
    goto done;
  }
  log_start("bounce msg ");
  log_msgid(m->id, m->ssec, m->snsec);
  log_s(" qp ");
  log_u(qp);
  log_end();
  r = 0;
remove:
  if (unlink(bpath(m->id)) < 0 && errno != ENOENT) { r = -1; goto done; }
  dir_sync("bounce");
  m->bounce = 0;
done:
  free(rc);
  str_free(&records);
  str_free(&original);
  str_free(&out);
  str_free(&env);
  str_free(&token);
  str_free(&from);
  str_free(&to);
  str_free(&addrs);
  str_free(&msgid);
  str_free(&orcpt);
  str_free(&orcpts);
  str_free(&envid);
  str_free(&in.sender);
  str_free(&in.dsn);
  return r;
}

static void msg_end(struct msg *m)
{
  clean_request('m', m->id);
  summary_changed();
  log_start("end msg ");
  log_msgid(m->id, m->ssec, m->snsec);
  log_end();
  msg_delete(m);
}

static void maybe_finish(struct msg *m)
{
  int c;
  if (m->finished) return;
  for (c = 0; c < 2; ++c)
    if (m->inflight[c] || m->pass[c]) return;
  if (m->bounce) {
    if (send_bounce(m) < 0) {
      m->bounce_failed = 1;
      return;
    }
    m->bounce_failed = 0;
  }
  if (m->has[0] || m->has[1]) return;
  if (!m->todo_done) return; /* wait until todo is gone first */
  /* Until sluice-clean has answered the removal of todo, the entry may
   * still be there: the message stays known (finished) so that a todo
   * scan does not take it for a new message, and its info stays, so
   * that a sluice-send that starts after a crash here loads it as done
   * instead of preprocessing the entry again (and delivering it again:
   * found by the soak, a kill -9 of sluice-clean at this point).
   * clean_answer calls this again once the entry is gone. */
  if (m->todo_pending) {
    m->finished = 1;
    return;
  }
  /* channel files are normally gone already (pass_end): no lookups for them */
  for (c = 0; c < 2; ++c) {
    if (!m->maybe[c]) continue;
    if (unlink(qpath(dirs[c], m->id)) < 0 && errno != ENOENT) return;
    m->maybe[c] = 0;
  }
  control_forget(m); /* hold and defer files go before info */
  if (unlink(qpath("info", m->id)) < 0 && errno != ENOENT) return;
  msg_end(m);
}

/* ---------- loading the queue and preprocessing todo ---------- */

static void load_message(unsigned long id, const struct qfile_info *in, int todo_done)
{
  struct msg *m = msg_new(id);
  struct stat st;
  int c;
  m->birth = (time_t)in->birth;
  m->ssec = in->stamp_sec;
  m->snsec = in->stamp_nsec;
  m->stamped = (unsigned char)in->stamped;
  if (!in->stamped && lstat(qpath("mess", id), &st) == 0) { /* info from before stamps: named by the file's time */
    m->ssec = (unsigned long)st.st_mtim.tv_sec;
    m->snsec = (unsigned long)st.st_mtim.tv_nsec;
  }
  m->todo_done = (unsigned char)todo_done;
  if (!todo_done) {
    /* preprocessed by a sluice-send that ended before its todo entry
     * was gone: its "new msg" line may have died with it (a kill -9
     * between the info file and the log write). Said now, perhaps a
     * second time, so that every message's log has its start. */
    log_start("new msg ");
    log_msgid(id, m->ssec, m->snsec);
    log_end();
  }
  if (str_copy(&m->sender, &in->sender) < 0) die_nomem();
  m->options = in->options;
  m->notify_success = (unsigned char)qfile_dsn_wants_success(&in->dsn);
  msg_set_dsn(m, &in->dsn);
  for (c = 0; c < 2; ++c) {
    str f = STR_INIT;
    unsigned long next = 0;
    int fd = open_read(qpath(dirs[c], id));
    if (fd < 0) {
      if (errno != ENOENT) m->maybe[c] = 1;
      continue;
    }
    if (str_ready(&f, HEADER_LEN) == 0) {
      ssize_t got = read_full(fd, f.s, HEADER_LEN);
      f.len = got > 0 ? (size_t)got : 0;
      if (qfile_header_parse(&f, &next) < 0) next = 0;
    }
    close(fd);
    str_free(&f);
    m->has[c] = 1;
    schedule(m, c, (time_t)next);
  }
  if (lstat(bpath(id), &st) == 0) m->bounce = 1;
  control_load(m);
  /* done already: a crash after its last channel file was removed and
   * before its info file was (or with only its bounce left to send);
   * nothing else would look at it again */
  maybe_finish(m);
}

static void load_queue(void)
{
  unsigned long n;
  str path = STR_INIT;
  for (n = 0; n < auto_split; ++n) {
    DIR *d;
    struct dirent *de;
    if (str_copys(&path, "info/") < 0 || str_catulong(&path, n) < 0 || str_0(&path) < 0) die_nomem();
    d = opendir(path.s);
    if (!d) die_temp_sys("unable to open ", path.s);
    while ((de = readdir(d)) != 0) {
      unsigned long id;
      struct qfile_info in = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
      size_t len = byte_len(de->d_name, sizeof de->d_name);
      if (de->d_name[0] == '.' || scan_ulong_exact(de->d_name, len, &id) < 0) continue;
      if (info_read(id, &in) > 0 && !msg_find(id)) {
        struct stat st;
        /* todo still present: remove it once more (t), harmless */
        load_message(id, &in, lstat(qpath("todo", id), &st) < 0);
      }
      str_free(&in.sender);
      str_free(&in.dsn);
    }
    closedir(d);
  }
  str_free(&path);
}

/* todo scanning: an incremental cursor so a huge todo never blocks */
static DIR *scan_dir;
static unsigned long scan_index;
static int scan_active, scan_again;
/* Ids of new todo entries named by the trigger (sluice-queue writes the
 * id and a newline), taken before the scan; when more come than fit,
 * or bytes that are not such a line, a scan finds the rest. */
#define HOT_MAX 4096
static unsigned long hot[HOT_MAX];
static size_t hot_n;
static unsigned long hot_acc;   /* digits of the line being read */
static int hot_digits;          /* how many; -1: the line is not an id */
static time_t hot_last;         /* when the trigger last named one */
static time_t trickle_second;   /* the second trickle_used counts in */
static size_t trickle_used;     /* backlog entries taken in it */
static time_t scan_last;

struct pre {
  unsigned long id;
  time_t birth;
  struct qfile_info in;
  str chan[2];
  unsigned long nrcpt[2];
  int hot;   /* named by the trigger: new mail */
};

/* Files recipient addr of a todo envelope under its channel. */
static int envelope_rcpt(void *ctx, const char *addr, size_t len)
{
  struct pre *p = ctx;
  str out = STR_INIT;
  int c = rewrite_classify(&cfg.rw, addr, len, &out);
  if (c < 0) {
    if (errno == ENOMEM) die_nomem();
    str_free(&out);
    errno = EPROTO;
    return -1;
  }
  c = c ? CH_LOCAL : CH_REMOTE;
  /* DSN (RFC 3461): NOTIFY and ORCPT go into the info file, under the
   * address as the channel file and so the bounce file hold it */
  if ((p->in.notify || p->in.orcpt)
      && qfile_dsn_cat(&p->in.dsn, p->in.notify, p->in.notify_len, p->in.orcpt, p->in.orcpt_len, out.s, out.len) < 0)
    die_nomem();
  if (str_catc(&p->chan[c], 'T') < 0 || str_cat(&p->chan[c], &out) < 0 || str_catc(&p->chan[c], 0) < 0)
    die_nomem();
  ++p->nrcpt[c];
  str_free(&out);
  return 0;
}

static int envelope_classify(struct pre *p, const str *env)
{
  int c;
  char h[HEADER_LEN];
  qfile_header_fmt(h, 0);
  for (c = 0; c < 2; ++c) {
    p->chan[c].len = 0;
    p->nrcpt[c] = 0;
    if (str_catb(&p->chan[c], h, HEADER_LEN) < 0) die_nomem();
  }
  if (qfile_envelope_parse(env, &p->in, envelope_rcpt, p) < 0) {
    if (errno == ENOMEM) die_nomem();
    return -1;
  }
  return 0;
}

/* Files of one batch made durable together: each is written first
 * (files_add), its writeback started at once (sync_file_range, Linux),
 * and only then is each one fdatasynced (files_sync): the first
 * fdatasync finds the others' data on its way to the disk and one
 * journal commit serves many files, where writing and syncing each in
 * turn costs a commit per file. The guarantee is fdatasync's in both
 * cases. At most FILES_MAX are open at once; more are synced early. */
#define FILES_MAX 64
static int files_fd[FILES_MAX];
static size_t files_n;

static int files_sync(void)
{
  size_t i;
  int r = 0, e = 0;
  for (i = 0; i < files_n; ++i) {
    if (r == 0 && data_sync(files_fd[i]) < 0) { e = errno; r = -1; }
    close(files_fd[i]);
  }
  files_n = 0;
  if (r < 0) errno = e;
  return r;
}

static int files_add(const char *path, const str *s)
{
  int fd, e;
  if (files_n == FILES_MAX && files_sync() < 0) return -1;
  fd = open_trunc(path, 0600);
  if (fd < 0) return -1;
  if (write_all(fd, s->s, s->len) < 0) {
    e = errno;
    close(fd);
    errno = e;
    return -1;
  }
#ifdef SYNC_FILE_RANGE_WRITE
  (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* a head start only */
#endif
  files_fd[files_n++] = fd;
  return 0;
}

/* Looks at todo entry id for the batch: a known message's entry is
 * asked to be removed (or, committed again under a known id, left);
 * a new one is read, checked and added to batch[*nb]. */
static void todo_take(struct pre *batch, size_t *nbp, unsigned long id, str *envp, size_t *bytes)
{
  struct stat st;
  struct msg *m;
  size_t i, nb = *nbp;
  int c, r;
  str env = *envp;

  m = msg_find(id);
  if (m) {
    if (!m->todo_done) {
      clean_request('t', id);
      m->todo_done = 1;
      m->todo_pending = 1;
      maybe_finish(m);
    } else if (!m->todo_pending && lstat(qpath("todo", id), &st) == 0) {
      /* Its todo entry was removed, so this one was committed later
       * under the same id: the known message's file was removed under
       * it and the inode reused. The known one must not deliver the
       * new file; the new entry waits until the known one is gone.
       * (The lstat: a directory read may still list an entry removed
       * since, taken earlier through the trigger.) */
      if (!m->frozen) freeze(m);
      log_start("warning: todo/");
      log_u(id % auto_split);
      log_s("/");
      log_u(id);
      log_s(" was committed under the id of a known message: left until that message ends");
      log_end();
    }
    return;
  }
  for (i = 0; i < nb; ++i)
    if (batch[i].id == id) return;
  r = file_read_fitted(qpath("todo", id), &env, 64UL << 20);
  *envp = env;
  if (r <= 0) return;
  if (lstat(qname.s, &st) < 0) return;
  memset(&batch[nb], 0, sizeof batch[nb]);
  batch[nb].id = id;
  batch[nb].birth = st.st_mtime;
  if (envelope_classify(&batch[nb], &env) < 0) {
    log_start("warning: unable to parse todo/");
    log_u(id % auto_split);
    log_s("/");
    log_u(id);
    log_s(": left for sluice-fsck");
    log_end();
    str_free(&batch[nb].in.sender);
    str_free(&batch[nb].in.dsn);
    for (c = 0; c < 2; ++c) str_free(&batch[nb].chan[c]);
    return;
  }
  {
    struct qfile_info *in = &batch[nb].in;
    r = mess_is_own(id, in->stamped, in->stamp_sec, in->stamp_nsec, st.st_mtime, &st);
    if (r == 1 && !in->stamped) { /* from before stamps: the file's time names it */
      in->stamp_sec = (unsigned long)st.st_mtim.tv_sec;
      in->stamp_nsec = (unsigned long)st.st_mtim.tv_nsec;
    }
  }
  if (r != 1) {
    str_free(&batch[nb].in.sender);
    str_free(&batch[nb].in.dsn);
    for (c = 0; c < 2; ++c) str_free(&batch[nb].chan[c]);
  }
  switch (r) {
  case 1: break;
  case 0:
    /* a todo entry without its own message: delivering it would send
     * whatever file later gets this inode number (sluice-queue(5)) */
    log_start("alert: todo/");
    log_u(id % auto_split);
    log_s("/");
    log_u(id);
    log_s(" has no message of its own (mess missing, or not the queue's, or its time is not the envelope's stamp): quarantined");
    log_end();
    clean_request('q', id);
    return;
  default:
    return; /* looked at again in the next scan */
  }
  *bytes += env.len;
  *nbp = nb + 1;
}

static int fd_trigger = -1;

/* 1 when lock/trigger has bytes waiting (new mail), without reading them */
static int trigger_waiting(void)
{
  struct pollfd p;
  p.fd = fd_trigger;
  p.events = POLLIN;
  p.revents = 0;
  return fd_trigger >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/* Preprocesses up to TODO_BATCH entries of todo. Returns the number of
 * entries looked at. */
static int todo_round(void)
{
  struct pre batch[TODO_BATCH];
  unsigned char dirty[3][1000];
  size_t nb = 0, i;
  int looked = 0, c;
  char stamp[QFILE_STAMP_MAX], opts[QFILE_OPTIONS_MAX];
  str path = STR_INIT, env = STR_INIT, info = STR_INIT;

  if (!scan_active && !hot_n) return 0;
  memset(dirty, 0, sizeof dirty);
  size_t batch_bytes = 0, scan_max = TODO_BATCH;
  int next_look = TODO_BATCH_BUSY;
  if (hot_n || chans[CH_LOCAL].used || chans[CH_REMOTE].used) scan_max = TODO_BATCH_BUSY;
  /* while new mail streams in, and until the new mail taken has had
   * its first pass, the backlog trickles, at most
   * TODO_TRICKLE_PER_SECOND entries a second: its fsyncs and its first
   * tries would take the disk and the slots from the new mail */
  if (now - hot_last <= 1 || hot_live) {
    if (trickle_second != now) { trickle_second = now; trickle_used = 0; }
    scan_max = trickle_used < TODO_TRICKLE_PER_SECOND ? TODO_TRICKLE_PER_SECOND - trickle_used : 0;
    if (scan_max > TODO_BATCH_BUSY) scan_max = TODO_BATCH_BUSY;
  }
  /* back-pressure: while every slot of a channel is busy and more of
   * its deliveries are due, a backlog in todo waits; what the trigger
   * names (new mail) is still taken, and goes into the line behind
   * what is there, not behind the whole backlog */
  for (c = 0; c < 2; ++c) {
    struct prioq_item top;
    if (chans[c].used >= cfg.concurrency[c] && prioq_min(&chans[c].heap, &top) && top.when <= now) scan_max = 0;
  }
  /* first the entries the trigger named: new messages go before a
   * backlog that a scan is working through. While deliveries run or
   * are due, a smaller batch: the syncs of a full one would hold every
   * dispatch and every result back for their whole length */
  size_t hot_max = TODO_BATCH;
  for (c = 0; c < 2; ++c) {
    struct prioq_item top;
    if (chans[c].used || (prioq_min(&chans[c].heap, &top) && top.when <= now)) hot_max = TODO_HOT_BUSY;
  }
  while (hot_n && nb < hot_max && batch_bytes < TODO_BATCH_BYTES) {
    size_t before = nb;
    ++looked;
    todo_take(batch, &nb, hot[--hot_n], &env, &batch_bytes);
    if (nb > before) batch[before].hot = 1;
  }
  scan_max += nb;
  while (scan_active && nb < scan_max && nb < TODO_BATCH && looked < 4 * TODO_BATCH && batch_bytes < TODO_BATCH_BYTES) {
    struct dirent *de;
    unsigned long id;
    size_t len;
    /* a full round of the backlog ends early when new mail comes: the
     * trigger's entries go first, in the next round */
    if (scan_max > TODO_BATCH_BUSY && looked >= next_look) {
      next_look = looked + TODO_BATCH_BUSY;
      if (trigger_waiting()) break;
    }
    if (!scan_dir) {
      if (scan_index >= auto_split) {
        scan_active = 0;
        break;
      }
      if (str_copys(&path, "todo/") < 0 || str_catulong(&path, scan_index) < 0 || str_0(&path) < 0) die_nomem();
      scan_dir = opendir(path.s);
      ++scan_index;
      if (!scan_dir) { log_line("warning: unable to open ", path.s); continue; }
    }
    de = readdir(scan_dir);
    if (!de) {
      closedir(scan_dir);
      scan_dir = 0;
      continue;
    }
    len = byte_len(de->d_name, sizeof de->d_name);
    if (de->d_name[0] == '.' || scan_ulong_exact(de->d_name, len, &id) < 0) continue;
    ++looked;
    {
      size_t before = nb;
      todo_take(batch, &nb, id, &env, &batch_bytes);
      if (nb > before) ++trickle_used;
    }
  }

  /* phase 1: channel files, durable with their directories */
  for (i = 0; i < nb; ++i)
    for (c = 0; c < 2; ++c) {
      if (!batch[i].nrcpt[c]) continue;
      if (files_add(qpath(dirs[c], batch[i].id), &batch[i].chan[c]) < 0)
        die_temp_sys("unable to write ", qname.s);
      dirty[c][batch[i].id % auto_split] = 1;
    }
  if (files_sync() < 0) die_temp_sys("unable to sync a channel file");
  for (c = 0; c < 2; ++c)
    for (i = 0; i < auto_split; ++i)
      if (dirty[c][i] && dir_sync(qdirpath(dirs[c], i)) < 0) die_temp_sys("unable to sync ", qname.s);
  /* phase 2: info files; from now on the message counts as preprocessed */
  for (i = 0; i < nb; ++i) {
    struct pre *p = &batch[i];
    info.len = 0;
    if (str_catc(&info, 'b') < 0 || str_catulong(&info, (unsigned long)p->birth) < 0 || str_catc(&info, 0) < 0
        || str_catc(&info, 'u') < 0 || str_catulong(&info, p->in.uid) < 0 || str_catc(&info, 0) < 0
        || str_catc(&info, 'p') < 0 || str_catulong(&info, p->in.pid) < 0 || str_catc(&info, 0) < 0
        || str_catc(&info, 's') < 0 || str_catb(&info, stamp, qfile_stamp_fmt(stamp, p->in.stamp_sec, p->in.stamp_nsec)) < 0
        || str_catc(&info, 0) < 0
        || (p->in.options && (str_catc(&info, 'O') < 0
                              || str_catb(&info, opts, qfile_options_fmt(opts, p->in.options)) < 0
                              || str_catc(&info, 0) < 0))
        || str_cat(&info, &p->in.dsn) < 0
        || str_catc(&info, 'F') < 0 || str_cat(&info, &p->in.sender) < 0 || str_catc(&info, 0) < 0
        || str_catc(&info, 'E') < 0 || str_catc(&info, 0) < 0)
      die_nomem();
    if (files_add(qpath("info", p->id), &info) < 0) die_temp_sys("unable to write ", qname.s);
    dirty[2][p->id % auto_split] = 1;
  }
  if (files_sync() < 0) die_temp_sys("unable to sync an info file");
  for (i = 0; i < auto_split; ++i)
    if (dirty[2][i] && dir_sync(qdirpath("info", i)) < 0) die_temp_sys("unable to sync ", qname.s);
  /* phase 3: todo can go; the messages enter the schedule */
  for (i = 0; i < nb; ++i) {
    struct pre *p = &batch[i];
    struct msg *m;
    struct stat st;
    clean_request('t', p->id);
    log_start("new msg ");
    log_msgid(p->id, p->in.stamp_sec, p->in.stamp_nsec);
    log_end();
    log_start("info msg ");
    log_msgid(p->id, p->in.stamp_sec, p->in.stamp_nsec);
    log_s(": bytes ");
    log_u(stat(qpath("mess", p->id), &st) == 0 ? (unsigned long)st.st_size : 0);
    log_s(" from <");
    log_safe(p->in.sender.s, p->in.sender.len);
    log_s("> qp ");
    log_u(p->in.pid);
    log_s(" uid ");
    log_u(p->in.uid);
    log_end();
    m = msg_new(p->id);
    m->birth = p->birth;
    m->ssec = p->in.stamp_sec;
    m->snsec = p->in.stamp_nsec;
    m->stamped = 1; /* sluice-queue's stamp, or the file's time: it is checked before each pass */
    m->todo_done = 1;
    m->todo_pending = 1; /* asked for above */
    m->sender = p->in.sender; /* moved, not copied */
    p->in.sender = (str)STR_INIT;
    m->options = p->in.options;
    m->notify_success = (unsigned char)qfile_dsn_wants_success(&p->in.dsn);
    msg_set_dsn(m, &p->in.dsn);
    if (p->hot && (p->nrcpt[0] || p->nrcpt[1])) {
      m->hot = 1;
      ++hot_live;
    }
    for (c = 0; c < 2; ++c) {
      if (p->nrcpt[c]) {
        m->has[c] = 1;
        /* new mail named by the trigger goes first in line, before
         * retries that are due and a backlog's first tries: a queue of
         * deferred mail or a todo backlog does not hold it up */
        schedule(m, c, p->hot ? 0 : now);
      }
      str_free(&p->chan[c]);
    }
    str_free(&p->in.sender);
    str_free(&p->in.dsn);
    maybe_finish(m);
  }
  str_free(&path);
  str_free(&env);
  str_free(&info);
  return looked;
}

/* Takes the trigger's bytes: each line of decimal digits names a new
 * todo entry. 1 when a scan is needed (anything else came: a byte from
 * an older writer, a bad line, more ids than fit), else 0. */
static int trigger_read(const char *b, size_t n)
{
  size_t i;
  int rescan = 0;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)b[i];
    if (c == '\n') {
      if (hot_digits > 0 && hot_n < HOT_MAX) {
        hot[hot_n++] = hot_acc;
        hot_last = now;
      }
      else rescan = 1;
      hot_acc = 0;
      hot_digits = 0;
    } else if (c >= '0' && c <= '9' && hot_digits >= 0 && hot_digits < 19) {
      hot_acc = hot_acc * 10 + (c - '0');
      ++hot_digits;
    } else {
      hot_digits = -1;
      rescan = 1;
    }
  }
  return rescan;
}

static void scan_start(void)
{
  if (scan_active) { scan_again = 1; return; }
  scan_active = 1;
  scan_again = 0;
  scan_index = 0;
  scan_last = now;
}

/* Orphans: mess files with neither todo nor info. One with a single
 * link is finished: its pid file is gone, so sluice-queue has ended,
 * and had it committed, todo or info would exist (the mess file is
 * looked at before them: a commit after that look leaves a todo entry
 * that the look at todo sees). It was left by a sluice-send that ended
 * between removing the info file and sluice-clean removing the
 * message, and is removed at once. One with two links (the pid file's)
 * is an injection in progress or a crashed one: removed after 36 hours,
 * when sluice-clean has removed stale pid files. Run at start and
 * daily. */
static void sweep_orphans(void)
{
  unsigned long n;
  str path = STR_INIT;
  clean_request('p', 0);
  for (n = 0; n < auto_split; ++n) {
    DIR *d;
    struct dirent *de;
    if (str_copys(&path, "mess/") < 0 || str_catulong(&path, n) < 0 || str_0(&path) < 0) die_nomem();
    d = opendir(path.s);
    if (!d) continue;
    while ((de = readdir(d)) != 0) {
      unsigned long id;
      struct stat st;
      size_t len = byte_len(de->d_name, sizeof de->d_name);
      struct stat t;
      if (de->d_name[0] == '.' || scan_ulong_exact(de->d_name, len, &id) < 0 || msg_find(id)) continue;
      if (lstat(qpath("mess", id), &st) < 0) continue;
      if (lstat(qpath("todo", id), &t) == 0 || lstat(qpath("info", id), &t) == 0) continue;
      if (st.st_nlink == 1 && S_ISREG(st.st_mode)) {
        log_start("removing finished msg ");
        log_msgid(id, (unsigned long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
        log_end();
        /* its "end msg" line may have died with the sluice-send that
         * finished it (a kill -9 before the log was written): said now,
         * perhaps a second time */
        log_start("end msg ");
        log_msgid(id, (unsigned long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
        log_end();
        clean_request('m', id);
        continue;
      }
      if (st.st_mtime > now - STALE_SECONDS) continue;
      log_start("removing orphan msg ");
      log_msgid(id, (unsigned long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
      log_end();
      clean_request('m', id);
    }
    closedir(d);
  }
  str_free(&path);
}

/* ---------- the main loop ---------- */

static void retry_all(void)
{
  size_t i;
  int c;
  for (i = 0; i < msgs.a; ++i) {
    struct msg *m = msgs.v[i];
    if (!m) continue;
    for (c = 0; c < 2; ++c)
      if (m->has[c] && !m->pass[c]) schedule(m, c, now);
    if (m->bounce_failed) maybe_finish(m);
  }
}

/* ---------- the command channel (sluice-qctl) ---------- */

/* lock/control is a fifo (the send user's, mode 0600) that root,
 * through sluice-qctl(8), writes commands to, one per line:
 *     delete ID | hold ID | release ID | requeue ID | requeue @DOMAIN | flush
 * Each line is applied whole between two steps of the main loop, never
 * in the middle of a delivery's bookkeeping, so no step sees a half
 * changed queue; each is logged as "control: ..." with its outcome,
 * which sluice-qctl reads back from the queue. A held message is
 * flagged by hold/N/ID, kept across restarts; the deferral reasons of
 * each recipient are appended to defer/N/ID (sluice-queue(5)). Neither
 * is synced but the hold flag: a lost reason only shows an older one. */
#define CONTROL_LINE_MAX 1024
#define DEFER_FILE_MAX (1UL << 20)  /* past this, defer/N/ID starts again */
#define DEFER_TEXT_MAX 900

static int fd_control = -1;
static char control_line[CONTROL_LINE_MAX];
static size_t control_len;
static int control_overlong;

/* Appends ADDR NUL TIME NUL TEXT NUL to defer/N/ID (TEXT's NULs and
 * line ends become spaces). Failures are only logged. */
static void control_note_deferral(struct msg *m, const char *a, size_t alen, const char *r, size_t rlen)
{
  str rec = STR_INIT;
  struct stat st;
  size_t i;
  int fd;
  const char *path = qpath("defer", m->id);
  if (rlen > DEFER_TEXT_MAX) rlen = DEFER_TEXT_MAX;
  if (str_catb(&rec, a, alen) < 0 || str_catc(&rec, 0) < 0 || str_catulong(&rec, (unsigned long)now) < 0
      || str_catc(&rec, 0) < 0)
    die_nomem();
  for (i = 0; i < rlen; ++i)
    if (str_catc(&rec, (r[i] == 0 || r[i] == '\n' || r[i] == '\r') ? ' ' : r[i]) < 0) die_nomem();
  if (str_catc(&rec, 0) < 0) die_nomem();
  if (lstat(path, &st) == 0 && (unsigned long long)st.st_size > DEFER_FILE_MAX) fd = open_trunc(path, 0600);
  else fd = open_append(path, 0600);
  if (fd < 0 || write_all(fd, rec.s, rec.len) < 0) log_line("warning: unable to record a deferral reason in ", path);
  if (fd >= 0) close(fd);
  str_free(&rec);
}

/* sluice-qctl delete: every pending recipient of channel c is marked
 * done in the channel file (and the pass in memory), synced. Records
 * in flight stay taken in memory until their result; the pass ends
 * with nothing pending. */
static void control_all_done(struct msg *m, int c)
{
  str f = STR_INIT;
  size_t pos;
  int fd, wrote = 0;
  struct pass *p = m->pass[c];
  if (p)
    for (pos = HEADER_LEN; pos < p->file.len;) {
      size_t len = byte_chr(p->file.s + pos, p->file.len - pos, 0);
      if (p->file.s[pos] == 'T' || (p->file.s[pos] == 'P' && !m->inflight[c])) p->file.s[pos] = 'D';
      pos += len + 1;
    }
  if (file_read_fitted(qpath(dirs[c], m->id), &f, CHANNEL_FILE_MAX) <= 0 || f.len < HEADER_LEN) {
    str_free(&f);
    return;
  }
  fd = open(qname.s, O_WRONLY | O_CLOEXEC);
  if (fd < 0) log_line("warning: unable to open channel file ", qname.s);
  for (pos = HEADER_LEN; fd >= 0 && pos < f.len;) {
    size_t len = byte_chr(f.s + pos, f.len - pos, 0);
    if (f.s[pos] == 'T') {
      if (pwrite(fd, "D", 1, (off_t)pos) != 1) log_line("warning: unable to mark a deleted recipient in ", qname.s);
      else wrote = 1;
    }
    pos += len + 1;
  }
  if (wrote && data_sync(fd) < 0) log_line("warning: unable to sync ", qname.s);
  if (fd >= 0) close(fd);
  str_free(&f);
}

/* The message ends: its hold flag and deferral reasons go with it. */
static void control_forget(struct msg *m)
{
  if (unlink(qpath("hold", m->id)) < 0 && errno != ENOENT) log_line("warning: unable to remove ", qname.s);
  if (unlink(qpath("defer", m->id)) < 0 && errno != ENOENT) log_line("warning: unable to remove ", qname.s);
}

static void control_load(struct msg *m)
{
  struct stat st;
  m->held = lstat(qpath("hold", m->id), &st) == 0;
}

static void control_log(const char *what, struct msg *m, const char *outcome)
{
  log_start("control: ");
  log_s(what);
  log_s(" msg ");
  log_msgid(m->id, m->ssec, m->snsec);
  if (outcome) log_s(outcome);
  log_end();
}

static void control_requeue(struct msg *m)
{
  int c;
  for (c = 0; c < 2; ++c)
    if (m->has[c] && !m->pass[c] && !m->held) schedule(m, c, now);
  if (m->bounce_failed) maybe_finish(m);
}

static void control_hold(struct msg *m)
{
  int fd = open(qpath("hold", m->id), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || file_sync(fd) < 0 || dir_sync(qdirpath("hold", m->id)) < 0) {
    if (fd >= 0) close(fd);
    control_log("hold", m, ": failed: unable to write its hold flag");
    return;
  }
  close(fd);
  m->held = 1;
  summary_changed();
  control_log("hold", m, 0);
}

static void control_release(struct msg *m)
{
  if (unlink(qpath("hold", m->id)) < 0 && errno != ENOENT) {
    control_log("release", m, ": failed: unable to remove its hold flag");
    return;
  }
  m->held = 0;
  summary_changed();
  control_requeue(m);
  control_log("release", m, 0);
}

static void control_delete(struct msg *m)
{
  int c;
  m->deleted = 1;
  control_log("delete", m, m->inflight[0] || m->inflight[1] ? ": after the deliveries in flight" : 0);
  if (m->bounce) { /* failures not yet reported are dropped with it */
    if (unlink(bpath(m->id)) < 0 && errno != ENOENT) log_line("warning: unable to remove ", qname.s);
    else m->bounce = 0;
  }
  m->bounce_failed = 0;
  for (c = 0; c < 2; ++c) {
    if (!m->has[c]) continue;
    control_all_done(m, c);
    if (!m->pass[c]) {
      m->has[c] = 0;
      if (unlink(qpath(dirs[c], m->id)) < 0 && errno != ENOENT) m->maybe[c] = 1;
    }
  }
  maybe_finish(m);
}

/* Every message with a pending recipient at domain d[0..n) is tried now. */
static void control_requeue_domain(const char *d, size_t n)
{
  size_t i, pos;
  unsigned long found = 0;
  int c;
  str f = STR_INIT;
  for (i = 0; i < msgs.a; ++i) {
    struct msg *m = msgs.v[i];
    if (!m || m->held || m->finished) continue;
    for (c = 0; c < 2; ++c) {
      if (!m->has[c] || m->pass[c]) continue;
      if (file_read_fitted(qpath(dirs[c], m->id), &f, CHANNEL_FILE_MAX) <= 0) continue;
      for (pos = HEADER_LEN; pos < f.len;) {
        size_t len = byte_chr(f.s + pos, f.len - pos, 0);
        if (f.s[pos] == 'T' && len > 1) {
          size_t off = domain_off(f.s + pos + 1, len - 1);
          if (case_equalb(f.s + pos + 1 + off, len - 1 - off, d, n)) {
            schedule(m, c, now);
            ++found;
            break;
          }
        }
        pos += len + 1;
      }
    }
  }
  str_free(&f);
  log_start("control: requeue @");
  log_safe(d, n);
  log_s(": ");
  log_u(found);
  log_s(" channel files due now");
  log_end();
}

/* One command line (without its newline). */
static void control_command(const char *s, size_t n)
{
  size_t sp = byte_chr(s, n, ' ');
  const char *arg = sp < n ? s + sp + 1 : s + n;
  size_t alen = sp < n ? n - sp - 1 : 0;
  unsigned long id;
  struct msg *m;
  if (sp == 5 && byte_equal(s, "flush", 5) && alen == 0) {
    log_line("control: flush: retrying everything now", 0);
    retry_all();
    return;
  }
  if (sp == 7 && byte_equal(s, "requeue", 7) && alen > 1 && arg[0] == '@') {
    control_requeue_domain(arg + 1, alen - 1);
    return;
  }
  if (scan_ulong_exact(arg, alen, &id) < 0) goto bad;
  m = msg_find(id);
  if (!m || m->finished) {
    log_start("control: ");
    log_safe(s, n);
    log_s(": no such message in sluice-send's queue (not yet preprocessed, or gone)");
    log_end();
    return;
  }
  if (sp == 6 && byte_equal(s, "delete", 6) && m->frozen)
    /* its mess file is not its own: removing it could remove another
     * message's (sluice-fsck -r quarantines it instead) */
    control_log("delete", m, ": refused: its message file is not its own; left for sluice-fsck");
  else if (sp == 6 && byte_equal(s, "delete", 6)) control_delete(m);
  else if (sp == 4 && byte_equal(s, "hold", 4)) control_hold(m);
  else if (sp == 7 && byte_equal(s, "release", 7)) control_release(m);
  else if (sp == 7 && byte_equal(s, "requeue", 7)) { control_requeue(m); control_log("requeue", m, m->held ? ": held, not tried" : 0); }
  else goto bad;
  return;
bad:
  log_start("control: unknown command ignored: ");
  log_safe(s, n);
  log_end();
}

static void control_read(void)
{
  char b[512];
  ssize_t r;
  while ((r = read(fd_control, b, sizeof b)) > 0) {
    ssize_t i;
    for (i = 0; i < r; ++i) {
      if (b[i] == '\n') {
        if (!control_overlong) control_command(control_line, control_len);
        else log_line("control: overlong command ignored", 0);
        control_len = 0;
        control_overlong = 0;
        log_flush(); /* the outcome is in the log soon after sluice-qctl sees it */
      } else if (control_len < sizeof control_line) {
        control_line[control_len++] = b[i];
      } else {
        control_overlong = 1;
      }
    }
  }
}

/* Removes hold and defer files of ids sluice-send does not know (left
 * when a message's other files were removed by hand or by sluice-fsck
 * -r): a stale hold flag would hold the next message given that id.
 * At start, after the queue is loaded, and daily. */
static void control_sweep(void)
{
  static const char *const kinds[2] = { "hold", "defer" };
  str path = STR_INIT;
  unsigned long n;
  int k;
  for (k = 0; k < 2; ++k)
    for (n = 0; n < auto_split; ++n) {
      DIR *d;
      struct dirent *de;
      if (str_copys(&path, kinds[k]) < 0 || str_catc(&path, '/') < 0 || str_catulong(&path, n) < 0 || str_0(&path) < 0)
        die_nomem();
      d = opendir(path.s);
      if (!d) continue; /* a queue of an older version: none */
      while ((de = readdir(d)) != 0) {
        unsigned long id;
        size_t len = byte_len(de->d_name, sizeof de->d_name);
        if (de->d_name[0] == '.' || scan_ulong_exact(de->d_name, len, &id) < 0 || msg_find(id)) continue;
        if (unlink(qpath(kinds[k], id)) == 0) log_line("removed stale ", qname.s);
      }
      closedir(d);
    }
  str_free(&path);
}

static void open_control(void)
{
  int dummy;
  fd_control = open("lock/control", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_control < 0) {
    log_line("warning: no lock/control (run sluice-fsck -r): sluice-qctl commands are not read", 0);
    return;
  }
  dummy = open("lock/control", O_WRONLY | O_NONBLOCK | O_CLOEXEC); /* never end of file */
  (void)dummy;
}

/* ---------- the public queue summary (mailq for everyone) ---------- */

/* conf-home/status/mailq (the send user's directory, 0755, made by
 * tools/setup): the listing of sluice-qctl list without bodies, for
 * mailq run by users who cannot read the queue (sluice-qread(8)).
 * Rewritten (not synced: it is only a view) at most every
 * SUMMARY_SECONDS after something changed, and only the
 * SUMMARY_MAX oldest messages, so a large queue costs a bounded read of
 * channel files per rewrite. Without the directory nothing is written. */
#define SUMMARY_SECONDS 5
#define SUMMARY_MAX 1000
#define SUMMARY_PATH "../status/mailq"

static int summary_dirty = 1, summary_off;
static time_t summary_last;

static void summary_changed(void)
{
  summary_dirty = 1;
}

static int summary_cmp(const void *a, const void *b)
{
  const struct msg *x = *(struct msg *const *)a, *y = *(struct msg *const *)b;
  if (x->birth != y->birth) return x->birth < y->birth ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static void summary_write(void)
{
  struct msg **v;
  size_t i, n = 0, shown;
  str o = STR_INIT, loc = STR_INIT, rem = STR_INIT, def = STR_INIT;
  summary_dirty = 0;
  summary_last = now;
  if (summary_off) return;
  v = calloc(msgs.n ? msgs.n : 1, sizeof *v);
  if (!v) die_nomem();
  for (i = 0; i < msgs.a; ++i)
    if (msgs.v[i] && !msgs.v[i]->finished && n < msgs.n) v[n++] = msgs.v[i];
  if (n) qsort(v, n, sizeof *v, summary_cmp);
  shown = n > SUMMARY_MAX ? SUMMARY_MAX : n;
  if (str_cats(&o, "# sluice queue summary by sluice-send, ") < 0 || str_catulong(&o, (unsigned long)n) < 0
      || str_cats(&o, " messages preprocessed, written at ") < 0 || str_catulong(&o, (unsigned long)now) < 0
      || str_catc(&o, '\n') < 0)
    die_nomem();
  for (i = 0; i < shown; ++i) {
    struct msg *m = v[i];
    struct qlist_msg q;
    struct stat st;
    q.id = m->id;
    q.birth = m->birth;
    q.size = lstat(qpath("mess", m->id), &st) == 0 ? (unsigned long)st.st_size : 0;
    q.sender = m->sender.s;
    q.senderlen = m->sender.len;
    q.local = m->has[CH_LOCAL] && file_read_fitted(qpath("local", m->id), &loc, CHANNEL_FILE_MAX) > 0 ? &loc : 0;
    q.remote = m->has[CH_REMOTE] && file_read_fitted(qpath("remote", m->id), &rem, CHANNEL_FILE_MAX) > 0 ? &rem : 0;
    q.defer = file_read_fitted(qpath("defer", m->id), &def, DEFER_FILE_MAX + 4096) > 0 ? &def : 0;
    q.held = m->held;
    q.bounce = m->bounce;
    if (qlist_format(&o, &q, now) < 0) die_nomem();
  }
  if (shown < n && (str_cats(&o, "# and ") < 0 || str_catulong(&o, (unsigned long)(n - shown)) < 0
                    || str_cats(&o, " younger messages not shown\n") < 0))
    die_nomem();
  if (file_replace_nosync(SUMMARY_PATH, o.s, o.len, 0644) < 0) {
    if (errno == ENOENT) summary_off = 1; /* no status directory: no summary */
    else log_line("warning: unable to write the queue summary: ", errtext(errno));
  }
  free(v);
  str_free(&o); str_free(&loc); str_free(&rem); str_free(&def);
}

static void flush_nonblocking(int fd, str *s, const char *what)
{
  size_t done = 0;
  while (done < s->len) {
    ssize_t w = write(fd, s->s + done, s->len - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      die_temp_sys("unable to write to ", what);
    }
    done += (size_t)w;
  }
  if (done) { /* one move for all the writes */
    memmove(s->s, s->s + done, s->len - done);
    s->len -= done;
  }
}

static void read_results(int c)
{
  struct channel *ch = &chans[c];
  char b[65536];
  ssize_t r = read(ch->fdin, b, sizeof b);
  str frame = STR_INIT, ids = STR_INIT, slots = STR_INIT;
  struct spawn_result res;
  size_t i;
  if (r < 0) {
    if (errno == EINTR || errno == EAGAIN) return;
    die_temp_sys("unable to read results of ", ch->name);
  }
  if (r == 0) die_temp("the ", ch->name, " spawner went away");
  if (str_catb(&ch->in, b, (size_t)r) < 0) die_nomem();
  memset(&res, 0, sizeof res);
  for (;;) {
    int t = spawn_frame_take(&ch->in, &frame, SPAWN_FRAME_MAX);
    if (t < 0) die_temp("garbled results from the ", ch->name, " spawner");
    if (t == 0) break;
    if (spawn_result_decode(&res, frame.s, frame.len) < 0) {
      log_start("warning: malformed result from the ");
      log_s(ch->name);
      log_s(" spawner ignored");
      log_end();
      continue;
    }
    handle_result(c, &res, &ids, &slots);
  }
  marks_sync(c, &ids);
  for (i = 0; i + sizeof(size_t) <= slots.len; i += sizeof(size_t)) {
    size_t s;
    memcpy(&s, slots.s + i, sizeof s);
    result_finish(c, s);
  }
  spawn_result_free(&res);
  str_free(&frame);
  str_free(&ids);
  str_free(&slots);
}

/* ---------- the spawners' journals (journal.h, sluice-spawn(5)) ---------- */

static int journal_fd[2] = { -1, -1 };

/* Applies one record: the first pending record of its recipient in the
 * message's channel file is marked done, after its failure report, if
 * any, is in the bounce file. A record whose recipient is no longer
 * pending was applied before. */
static void journal_apply_one(int c, const struct journal_record *r)
{
  str f = STR_INIT, b = STR_INIT, rec = STR_INIT;
  size_t pos = HEADER_LEN;
  int fd;
  unsigned long sec, nsec;
  if (r->letter == 'Z') return; /* deferred: retried anyway */
  /* the record is about the message that had this id then: a later one
   * with the same id (a reused inode) has another modification time */
  if (journal_message_stamp(qpath("mess", r->id), &sec, &nsec) < 0 || sec != r->sec || nsec != r->nsec) return;
  if (file_read_fitted(qpath(dirs[c], r->id), &f, CHANNEL_FILE_MAX) <= 0 || qfile_header_parse(&f, &(unsigned long){ 0 }) < 0
      || !qfile_records_valid(&f))
    goto done;
  while (pos < f.len) {
    size_t len = byte_chr(f.s + pos, f.len - pos, 0);
    if (f.s[pos] == 'T' && len - 1 == r->addr_len && byte_equal(f.s + pos + 1, r->addr, r->addr_len)) break;
    pos += len + 1;
  }
  if (pos >= f.len) goto done;
  log_start("delivery journal: msg ");
  log_msgid(r->id, r->sec, r->nsec);
  log_s(r->letter == 'D' ? ": failure: " : ": success: ");
  log_safe(r->addr, r->addr_len);
  log_s(": ");
  log_safe(r->text, r->text_len);
  log_s(" (recorded by the spawner, not by the sluice-send that ended)");
  log_end();
  if (r->letter == 'D') {
    if (str_catc(&rec, 'D') < 0 || str_catc(&rec, c == CH_LOCAL ? 'L' : 'R') < 0
        || str_catb(&rec, r->addr, r->addr_len) < 0 || str_catc(&rec, 0) < 0
        || str_catb(&rec, r->text, r->text_len) < 0 || netstring_cat(&b, rec.s, rec.len) < 0)
      die_nomem();
    if (append_bounce_id(r->id, &b) < 0) die_temp_sys("unable to write ", bpath(r->id));
  }
  fd = open(qpath(dirs[c], r->id), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || pwrite(fd, "D", 1, (off_t)pos) != 1 || data_sync(fd) < 0) die_temp_sys("unable to mark ", qname.s);
  close(fd);
done:
  str_free(&f);
  str_free(&b);
  str_free(&rec);
}

/* At start: waits until no spawner of an earlier set can write to the
 * journal of channel c (they hold a shared lock until they end), then
 * applies every record and empties it. */
static void journal_recover(int c)
{
  const char *path = c == CH_LOCAL ? JOURNAL_LOCAL : JOURNAL_REMOTE;
  str j = STR_INIT;
  size_t pos = 0;
  struct stat st;
  int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) die_temp_sys("unable to open ", path, " (sluice-fsck -c makes it)");
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) die_temp("not a regular file: ", path);
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    log_line("status: waiting for the deliveries of an earlier set to end: ", path);
    log_flush();
    while (flock(fd, LOCK_EX) < 0)
      if (errno != EINTR) die_temp_sys("unable to lock ", path);
  }
  if (read_fd_all(fd, &j, 1UL << 30) < 0) die_temp_sys("unable to read ", path);
  while (pos < j.len) {
    struct journal_record r;
    size_t used;
    int k = journal_record_parse(j.s + pos, j.len - pos, &r, &used);
    if (k == 0) break; /* cut by a crash: never reported, never marked */
    if (k < 0) {
      log_line("warning: a record that does not parse in ", path);
      break;
    }
    journal_apply_one(c, &r);
    pos += used;
  }
  str_free(&j);
  log_flush();
  if (ftruncate(fd, 0) < 0) die_temp_sys("unable to empty ", path);
  flock(fd, LOCK_UN);
  journal_fd[c] = fd;
}

/* Once nothing is in flight on channel c, every record in its journal
 * has been reported and marked: the journal is emptied when it has
 * grown. */
static void journal_trim(int c)
{
  struct stat st;
  journal_check[c] = 0;
  if (chans[c].used || journal_fd[c] < 0 || fstat(journal_fd[c], &st) < 0 || st.st_size < 65536) return;
  if (ftruncate(journal_fd[c], 0) < 0) log_line("warning: unable to empty a delivery journal: ", errtext(errno));
}

static void open_trigger(void)
{
  int dummy;
  if (fd_trigger >= 0) close(fd_trigger);
  fd_trigger = open("lock/trigger", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_trigger < 0) die_temp_sys("unable to open lock/trigger");
  /* a writer of our own, so the fifo never reports end of file */
  dummy = open("lock/trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  (void)dummy;
}

static void reload(void)
{
  struct config fresh;
  const char *bad = 0;
  int r;
  memset(&fresh, 0, sizeof fresh);
  if (chdir("..") < 0) die_temp_sys("unable to switch to ", auto_home);
  r = config_load(&fresh, &bad);
  if (chdir("queue") < 0) die_temp_sys("unable to switch to the queue");
  if (r < 0) {
    log_start("warning: unable to reread ");
    log_s(bad ? bad : "control");
    log_s(": ");
    log_s(errtext(errno));
    log_s("; keeping the old configuration");
    log_end();
    config_free(&fresh);
    return;
  }
  config_free(&cfg);
  cfg = fresh;
  log_line("control files reread", 0);
}

int main(void)
{
  const char *bad = 0;
  int lockfd, sigfd, c;
  time_t last_sweep;

  die_progname("sluice-send");
  buf_init(&logbuf, 2, logmem, sizeof logmem);
  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  if (config_load(&cfg, &bad) < 0) die_temp_sys("unable to read ", bad ? bad : "control");
  if (chdir("queue") < 0) die_temp_sys("unable to switch to the queue");
  {
    struct stat st;
    if (lstat("mess", &st) < 0) die_temp_sys("unable to stat mess");
    queue_uid = st.st_uid;
  }
  lockfd = open("lock/sendmutex", O_WRONLY | O_CLOEXEC);
  if (lockfd < 0) die_temp_sys("unable to open lock/sendmutex");
  if (lock_exnb(lockfd) < 0) {
    /* the sluice-send of an earlier set, finishing its deliveries after
     * its sluice-start died (sluice-start(8)): wait for it */
    log_line("status: waiting for another sluice-send to end", 0);
    log_flush();
    while (lock_ex(lockfd) < 0)
      if (errno != EINTR) die_temp_sys("unable to lock lock/sendmutex");
  }
  /* queue names are relative to queue/; reload() steps back up to
   * conf-home for the control files */

  sigfd = sig_selfpipe_init();
  if (sigfd < 0) die_temp_sys("unable to create the signal pipe");
  sig_selfpipe_catch(SIGTERM);
  sig_selfpipe_catch(SIGHUP);
  sig_selfpipe_catch(SIGALRM);
  sig_ignore(SIGPIPE);

  chans[CH_LOCAL].name = "local";
  chans[CH_LOCAL].unit = RETRY_UNIT_LOCAL;
  chans[CH_LOCAL].fdout = 3;
  chans[CH_LOCAL].fdin = 4;
  chans[CH_REMOTE].name = "remote";
  chans[CH_REMOTE].unit = RETRY_UNIT_REMOTE;
  chans[CH_REMOTE].fdout = 5;
  chans[CH_REMOTE].fdin = 6;
  for (c = 0; c < 2; ++c) {
    fd_nonblock(chans[c].fdout, 1);
    fd_nonblock(chans[c].fdin, 1);
  }
  fd_nonblock(fd_clean_out, 1);
  fd_nonblock(fd_clean_in, 1);
  open_trigger();
  open_control();

  now = time(0);
  log_line("status: starting", 0);
  journal_recover(CH_LOCAL);
  journal_recover(CH_REMOTE);
  load_queue();
  sweep_orphans();
  control_sweep();
  last_sweep = now;
  scan_start();

  for (;;) {
    struct pollfd pfd[9];
    int np = 0, timeout = -1, i;
    struct prioq_item top;

    now = time(0);
    if (!draining) {
      todo_round();
      if (!scan_active && (scan_again || now - scan_last >= RESCAN_SECONDS)) scan_start();
      if (now - last_sweep >= 86400) { sweep_orphans(); control_sweep(); last_sweep = now; }
      for (c = 0; c < 2; ++c) run_channel(c);
    }
    for (c = 0; c < 2; ++c) {
      if (journal_check[c]) journal_trim(c);
      flush_nonblocking(chans[c].fdout, &chans[c].out, chans[c].name);
    }
    log_status();
    if (summary_dirty && !draining && now - summary_last >= SUMMARY_SECONDS) summary_write();
    log_flush(); /* before the removals it logs are asked for */
    flush_nonblocking(fd_clean_out, &clean_out, "sluice-clean");
    if (draining && !chans[0].used && !chans[1].used && clean_pending.len == clean_head) break;

    if (!draining) {
      if (scan_active || hot_n) timeout = 0;
      for (c = 0; c < 2; ++c)
        if (chans[c].used < cfg.concurrency[c] && prioq_min(&chans[c].heap, &top)) {
          long wait = top.when <= now ? 0 : (long)(top.when - now);
          if (wait > 3600) wait = 3600;
          if (timeout < 0 || wait * 1000 < timeout) timeout = (int)(wait * 1000);
        }
      if (timeout < 0 || timeout > RESCAN_SECONDS * 1000) timeout = RESCAN_SECONDS * 1000;
      if (summary_dirty && timeout > SUMMARY_SECONDS * 1000) timeout = SUMMARY_SECONDS * 1000;
    }
    pfd[np].fd = sigfd; pfd[np++].events = POLLIN;
    pfd[np].fd = fd_trigger; pfd[np++].events = POLLIN;
    for (c = 0; c < 2; ++c) {
      pfd[np].fd = chans[c].fdin;
      pfd[np++].events = POLLIN;
      pfd[np].fd = chans[c].fdout;
      pfd[np++].events = chans[c].out.len ? POLLOUT : 0;
    }
    pfd[np].fd = fd_clean_in; pfd[np++].events = POLLIN;
    pfd[np].fd = fd_clean_out; pfd[np++].events = clean_out.len ? POLLOUT : 0;
    pfd[np].fd = fd_control; pfd[np++].events = fd_control >= 0 && !draining ? POLLIN : 0;
    if (poll(pfd, (nfds_t)np, timeout) < 0) {
      if (errno == EINTR) continue;
      die_temp_sys("poll failed");
    }
    now = time(0);
    if (pfd[0].revents) {
      int s;
      while ((s = sig_selfpipe_read()) > 0) {
        if (s == SIGTERM) { draining = 1; log_line("status: exiting when deliveries in progress end", 0); }
        if (s == SIGHUP) reload();
        if (s == SIGALRM) { log_line("status: retrying everything now", 0); retry_all(); }
      }
    }
    if (pfd[1].revents & POLLIN) {
      char b[512];
      ssize_t r;
      int rescan = 0;
      while ((r = read(fd_trigger, b, sizeof b)) > 0)
        if (trigger_read(b, (size_t)r)) rescan = 1;
      if (rescan) scan_start();
    }
    for (c = 0, i = 2; c < 2; ++c, i += 2)
      if (pfd[i].revents & (POLLIN | POLLHUP)) read_results(c);
    if (pfd[6].revents & (POLLIN | POLLHUP)) {
      char b[512];
      ssize_t r = read(fd_clean_in, b, sizeof b);
      if (r == 0) die_temp("sluice-clean went away");
      for (i = 0; i < r; ++i) clean_answer(b[i]);
    }
    if (pfd[8].revents & POLLIN) control_read();
  }
  log_line("status: exiting", 0);
  log_flush();
  return 0;
}
