/* fakespawn: a stand-in spawner for the scheduler tests. Installed as
 * sluice-lspawn and sluice-rspawn in a test instance, it speaks
 * sluice-spawn(5): requests on fd 0, results on fd 1, complaints on
 * fd 2. It delivers nothing; what it does is directed by files under
 * $FAKESPAWN_DIR (when set):
 *
 *   deliveries  one line "ID RECIPIENT SLOT LETTER" appended for every
 *               recipient of every request (one O_APPEND write a line,
 *               so two fakespawns may share the file);
 *   ok/RCPT     when it exists the recipient RCPT is delivered (K) at
 *               once, whatever its name says;
 *   peak        the most requests ever in flight at once in one
 *               fakespawn (the larger of the values of all processes
 *               sharing the directory), rewritten when it grows; and
 *               peak.NAME the same for this process alone, NAME being
 *               the base name it was run as (sluice-lspawn...);
 *   errors      a line appended for each protocol violation seen: a
 *               slot reused while in flight, a missing message file.
 *
 * Per recipient, by the local part (before the last '@'): "defer..."
 * Z "4.3.0 deferred by fakespawn"; "fail..." D "5.1.1 failed by
 * fakespawn"; "slow..." K after FAKESPAWN_SLOW_MS (default 500) ms;
 * anything else K after FAKESPAWN_DELAY_MS (default 0) ms. A request
 * is answered when the last of its recipients is due; delayed requests
 * are held while others are read and answered. With
 * FAKESPAWN_CHECKMESS=1 the message file queue/mess/N/ID must exist
 * relative to the working directory (sluice-start runs its children in
 * conf-home), else every recipient gets Z and errors gets a line.
 * With FAKESPAWN_GATHER=N every request is held, whatever its delay,
 * until N are held (or input ends); then all of them are answered in
 * one write on fd 1, so that sluice-send reads their results at once
 * (53-syncs.sh: their marks share one fdatasync).
 *
 * Like the real spawners it keeps the delivery journal of sluice-spawn(5)
 * (queue/lock/journal.local when run as sluice-lspawn, journal.remote
 * otherwise; FAKESPAWN_JOURNAL=0 turns it off): each result is appended
 * there before it is written on fd 1, under a shared lock taken at the
 * first request and held to the end.
 *
 * A request that does not decode is logged and dropped; a framing
 * error exits 111, as a real spawner does. At end of input everything
 * held is answered (and journaled, even when sluice-send is gone) and
 * it exits 0. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h> /* rename */
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "byte.h"
#include "die.h"
#include "env.h"
#include "file.h"
#include "fmt.h"
#include "journal.h"
#include "queue.h"
#include "scan.h"
#include "spawn.h"
#include "str.h"

#define HELD_MAX 4096

struct held {
  unsigned long slot;
  long long due_ms;
  str frame;       /* the encoded result */
  str journal;     /* its journal records */
};

struct fake {
  const char *dir;           /* FAKESPAWN_DIR or NULL */
  const char *name;          /* base name of argv[0] */
  unsigned long slow_ms, delay_ms;
  int checkmess;
  unsigned long gather;      /* FAKESPAWN_GATHER, 0 when unset */
  str deliveries;            /* path of the deliveries file, or empty */
  unsigned int busy[SPAWN_SLOTS_MAX];
  struct held held[HELD_MAX];
  size_t nheld;
  unsigned long inflight, peak;
  const char *journal_path;  /* relative to conf-home, or NULL */
  int journal_fd;            /* -1 until the first request */
  int input_done;
};

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned long env_ms(const char *name, unsigned long dflt)
{
  const char *v = env_get(name);
  unsigned long u;
  if (!v) return dflt;
  if (scan_ulong_exact(v, strlen(v), &u) < 0) die_perm("bad number in ", name);
  return u;
}

/* dir/name (NUL-terminated) into path. */
static void dir_path(const struct fake *f, str *path, const char *name)
{
  if (str_copys(path, f->dir) < 0 || str_catc(path, '/') < 0 || str_cats(path, name) < 0 || str_0(path) < 0)
    die_nomem();
}

static void record_error(const struct fake *f, const char *what, const char *detail)
{
  str path = STR_INIT, line = STR_INIT;
  int fd;
  warn_msg(what, " ", detail);
  if (!f->dir) return;
  dir_path(f, &path, "errors");
  if (str_copys(&line, what) < 0 || str_catc(&line, ' ') < 0 || str_cats(&line, detail) < 0 ||
      str_catc(&line, '\n') < 0)
    die_nomem();
  fd = open_append(path.s, 0644);
  if (fd < 0 || write_all(fd, line.s, line.len) < 0) die_temp_sys("unable to write ", path.s);
  close(fd);
  str_free(&path);
  str_free(&line);
}

/* Reads a number from dir/name; 0 when missing or unreadable. */
static unsigned long read_number(const struct fake *f, const char *name)
{
  str path = STR_INIT, v = STR_INIT;
  unsigned long u = 0;
  dir_path(f, &path, name);
  if (file_read(path.s, &v, 64) == 1) {
    while (v.len && (v.s[v.len - 1] == '\n')) --v.len;
    if (scan_ulong_exact(v.s, v.len, &u) < 0) u = 0;
  }
  str_free(&path);
  str_free(&v);
  return u;
}

/* Writes u to dir/name by rename, so a reader never sees half. */
static void write_number(const struct fake *f, const char *name, unsigned long u)
{
  str path = STR_INIT, tmp = STR_INIT;
  char num[FMT_ULONG + 1];
  size_t n = fmt_ulong(num, u);
  int fd;
  num[n++] = '\n';
  dir_path(f, &path, name);
  /* one temporary name per process: lspawn and rspawn share the dir */
  if (str_copy(&tmp, &path) < 0 || str_cats(&tmp, ".tmp.") < 0 || str_catulong(&tmp, (unsigned long)getpid()) < 0
      || str_0(&tmp) < 0)
    die_nomem();
  fd = open_trunc(tmp.s, 0644);
  if (fd < 0 || write_all(fd, num, n) < 0 || close(fd) < 0) die_temp_sys("unable to write ", tmp.s);
  if (rename(tmp.s, path.s) < 0) die_temp_sys("unable to rename ", tmp.s);
  str_free(&path);
  str_free(&tmp);
}

static void note_inflight(struct fake *f)
{
  str name = STR_INIT;
  ++f->inflight;
  if (f->inflight <= f->peak) return;
  f->peak = f->inflight;
  if (!f->dir) return;
  if (str_copys(&name, "peak.") < 0 || str_cats(&name, f->name) < 0 || str_0(&name) < 0) die_nomem();
  write_number(f, name.s, f->peak);
  if (read_number(f, "peak") < f->peak) write_number(f, "peak", f->peak);
  str_free(&name);
}

static void append_delivery(const struct fake *f, unsigned long id, const char *rcpt, size_t len,
                            unsigned long slot, char letter)
{
  str line = STR_INIT;
  int fd;
  if (!f->dir) return;
  if (str_catulong(&line, id) < 0 || str_catc(&line, ' ') < 0 || str_catb(&line, rcpt, len) < 0 ||
      str_catc(&line, ' ') < 0 || str_catulong(&line, slot) < 0 || str_catc(&line, ' ') < 0 ||
      str_catc(&line, letter) < 0 || str_catc(&line, '\n') < 0)
    die_nomem();
  /* opened per line, so the spawner holds only fds 0-2 between
   * requests (40-start.sh counts them) */
  fd = open_append(f->deliveries.s, 0644);
  if (fd < 0 || write_all(fd, line.s, line.len) < 0) die_temp_sys("unable to append to ", f->deliveries.s);
  close(fd);
  str_free(&line);
}

/* 1 when $FAKESPAWN_DIR/ok/RCPT exists (names with '/' or a leading
 * '.' never do: they could point outside ok/). */
static int forced_ok(const struct fake *f, const char *rcpt, size_t len)
{
  str path = STR_INIT;
  struct stat st;
  int r;
  if (!f->dir || len == 0 || rcpt[0] == '.' || byte_chr(rcpt, len, '/') != len) return 0;
  dir_path(f, &path, "ok/");
  if (str_catb(&path, rcpt, len) < 0 || str_0(&path) < 0) die_nomem();
  r = stat(path.s, &st) == 0;
  str_free(&path);
  return r;
}

/* Decides one recipient: the letter, its text, and its delay. */
static char decide(const struct fake *f, const char *rcpt, size_t len, const char **text,
                   unsigned long *delay)
{
  size_t at = byte_rchr(rcpt, len, '@');
  *delay = 0;
  *text = "delivered by fakespawn";
  if (forced_ok(f, rcpt, len)) return 'K';
  if (byte_startswith(rcpt, at, "defer", 0)) { *text = "4.3.0 deferred by fakespawn"; return 'Z'; }
  if (byte_startswith(rcpt, at, "fail", 0)) { *text = "5.1.1 failed by fakespawn"; return 'D'; }
  *delay = byte_startswith(rcpt, at, "slow", 0) ? f->slow_ms : f->delay_ms;
  return 'K';
}

/* 1 when queue/mess/N/ID exists (or the check is off). */
static int message_exists(const struct fake *f, unsigned long id)
{
  str name = STR_INIT;
  struct stat st;
  int r;
  if (!f->checkmess) return 1;
  if (queue_name(&name, "queue/mess", id, auto_split) < 0 || str_0(&name) < 0) die_nomem();
  r = stat(name.s, &st) == 0;
  if (!r) record_error(f, "missing message file", name.s);
  str_free(&name);
  return r;
}

static void answer(struct fake *f, unsigned long slot, const str *frame, const str *journal)
{
  if (f->journal_fd >= 0 && journal->len && write_all(f->journal_fd, journal->s, journal->len) < 0)
    die_temp_sys("unable to write the journal");
  if (write_all(1, frame->s, frame->len) < 0) {
    if (!f->input_done && errno != EPIPE) die_temp_sys("unable to write result");
    warn_sys("result dropped (journaled)");
  }
  if (f->busy[slot]) --f->busy[slot];
  if (f->inflight) --f->inflight;
}

/* FAKESPAWN_GATHER: once gather requests are held (or input has
 * ended), answers them all: each journaled, then every result in one
 * write. */
static void answer_gathered(struct fake *f)
{
  str out = STR_INIT;
  size_t i;
  if (!f->nheld || (f->nheld < f->gather && f->nheld < HELD_MAX && !f->input_done)) return;
  for (i = 0; i < f->nheld; ++i) {
    struct held *h = &f->held[i];
    if (f->journal_fd >= 0 && h->journal.len && write_all(f->journal_fd, h->journal.s, h->journal.len) < 0)
      die_temp_sys("unable to write the journal");
    if (str_cat(&out, &h->frame) < 0) die_nomem();
    if (f->busy[h->slot]) --f->busy[h->slot];
    if (f->inflight) --f->inflight;
    str_free(&h->frame);
    str_free(&h->journal);
  }
  f->nheld = 0;
  if (write_all(1, out.s, out.len) < 0) {
    if (!f->input_done && errno != EPIPE) die_temp_sys("unable to write result");
    warn_sys("results dropped (journaled)");
  }
  str_free(&out);
}

/* Answers every held request that is due by now (all when all is set,
 * waiting for none of them). */
static void answer_due(struct fake *f, int all)
{
  long long now = now_ms();
  size_t i = 0;
  if (f->gather) {
    answer_gathered(f);
    return;
  }
  while (i < f->nheld) {
    struct held *h = &f->held[i];
    if (!all && h->due_ms > now) { ++i; continue; }
    answer(f, h->slot, &h->frame, &h->journal);
    str_free(&h->frame);
    str_free(&h->journal);
    f->held[i] = f->held[--f->nheld];
  }
}

/* Milliseconds until the first held request is due; -1 when none. */
static int next_timeout(const struct fake *f)
{
  long long first = -1, now = now_ms();
  size_t i;
  if (f->gather) return f->nheld && (f->nheld >= f->gather || f->input_done) ? 0 : -1;
  for (i = 0; i < f->nheld; ++i)
    if (first < 0 || f->held[i].due_ms < first) first = f->held[i].due_ms;
  if (first < 0) return -1;
  if (first <= now) return 0;
  return first - now > 60000 ? 60000 : (int)(first - now);
}

static void handle(struct fake *f, const str *frame)
{
  struct spawn_request req = SPAWN_REQUEST_INIT;
  str work = STR_INIT, out = STR_INIT, jr = STR_INIT;
  size_t pos = 0, len;
  const char *rcpt;
  unsigned long delay = 0, stamp_sec = 0, stamp_nsec = 0;
  int have_mess;

  if (spawn_request_decode(&req, frame->s, frame->len) < 0) {
    warn_sys("malformed request dropped");
    spawn_request_free(&req);
    return;
  }
  if (f->busy[req.slot]) {
    char num[FMT_ULONG + 1];
    num[fmt_ulong(num, req.slot)] = 0;
    record_error(f, "slot reuse", num);
  }
  ++f->busy[req.slot];
  note_inflight(f);
  if (f->journal_path && f->journal_fd < 0) {
    f->journal_fd = journal_open_append(f->journal_path);
    if (f->journal_fd < 0) die_temp_sys("unable to open ", f->journal_path);
    while (flock(f->journal_fd, LOCK_SH) < 0)
      if (errno != EINTR) die_temp_sys("unable to lock ", f->journal_path);
  }
  have_mess = message_exists(f, req.id);
  if (spawn_result_begin(&work, req.slot) < 0) die_temp_sys("unable to encode result");
  if (f->journal_path) {
    str mp = STR_INIT;
    if (queue_name(&mp, "queue/mess", req.id, auto_split) < 0 || str_0(&mp) < 0) die_nomem();
    if (journal_message_stamp(mp.s, &stamp_sec, &stamp_nsec) < 0) stamp_sec = stamp_nsec = 0;
    str_free(&mp);
  }
  while (spawn_next(&req.rcpts, &pos, &rcpt, &len)) {
    const char *text = "4.3.0 message file missing (fakespawn)";
    unsigned long d = 0;
    char letter = have_mess ? decide(f, rcpt, len, &text, &d) : 'Z';
    if (d > delay) delay = d;
    append_delivery(f, req.id, rcpt, len, req.slot, letter);
    if (spawn_result_add(&work, letter, text, strlen(text)) < 0) die_temp_sys("unable to encode result");
    if (journal_record_add(&jr, req.id, stamp_sec, stamp_nsec, letter, rcpt, len, text, strlen(text)) < 0) die_nomem();
  }
  if (spawn_result_end(&out, &work) < 0) die_temp_sys("unable to encode result");
  if (delay == 0 && !f->gather) {
    answer(f, req.slot, &out, &jr);
    str_free(&out);
    str_free(&jr);
  } else {
    if (f->nheld == HELD_MAX) answer_due(f, 1);
    f->held[f->nheld].slot = req.slot;
    f->held[f->nheld].due_ms = now_ms() + (long long)delay;
    f->held[f->nheld].frame = out;
    f->held[f->nheld].journal = jr;
    ++f->nheld;
  }
  str_free(&work);
  spawn_request_free(&req);
}

/* Reads what is there on fd 0 and handles every complete request:
 * returns 0 at end of input, 1 otherwise. */
static int read_requests(struct fake *f, str *acc, str *frame)
{
  char in[8192];
  ssize_t r = read(0, in, sizeof in);
  if (r < 0) {
    if (errno == EINTR || errno == EAGAIN) return 1;
    die_temp_sys("unable to read requests");
  }
  if (r == 0) {
    if (acc->len) warn_msg("request cut off at end of input ignored");
    return 0;
  }
  if (str_catb(acc, in, (size_t)r) < 0) die_nomem();
  for (;;) {
    int t = spawn_frame_take(acc, frame, SPAWN_FRAME_MAX);
    if (t == 0) return 1;
    if (t < 0) die_temp_sys("framing error in requests");
    handle(f, frame);
  }
}

static void setup(struct fake *f, const char *argv0)
{
  const char *cm = env_get("FAKESPAWN_CHECKMESS");
  size_t i;
  f->name = argv0;
  for (i = 0; argv0[i]; ++i)
    if (argv0[i] == '/') f->name = argv0 + i + 1;
  f->dir = env_get("FAKESPAWN_DIR");
  if (f->dir && !f->dir[0]) f->dir = 0;
  f->slow_ms = env_ms("FAKESPAWN_SLOW_MS", 500);
  f->delay_ms = env_ms("FAKESPAWN_DELAY_MS", 0);
  f->gather = env_ms("FAKESPAWN_GATHER", 0);
  f->checkmess = cm && cm[0] == '1' && !cm[1];
  if (f->dir) dir_path(f, &f->deliveries, "deliveries");
  f->journal_fd = -1;
  cm = env_get("FAKESPAWN_JOURNAL");
  if (!cm || cm[0] != '0')
    f->journal_path = byte_equal(f->name, "sluice-lspawn", 14) ? JOURNAL_LOCAL_HOME : JOURNAL_REMOTE_HOME;
}

int main(int argc, char **argv)
{
  static struct fake f;
  str acc = STR_INIT, frame = STR_INIT;
  int open_input = 1;

  die_progname("fakespawn");
  (void)argc;
  signal(SIGPIPE, SIG_IGN);
  setup(&f, argv[0] ? argv[0] : "fakespawn");
  while (open_input) {
    struct pollfd pfd;
    pfd.fd = 0;
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, next_timeout(&f)) < 0 && errno != EINTR) die_temp_sys("poll failed");
    answer_due(&f, 0);
    if (pfd.revents) open_input = read_requests(&f, &acc, &frame);
  }
  /* end of input: answer what is held, each when it is due */
  f.input_done = 1;
  while (f.nheld) {
    int t = next_timeout(&f);
    if (t > 0) poll(0, 0, t);
    answer_due(&f, 0);
  }
  str_free(&acc);
  str_free(&frame);
  str_free(&f.deliveries);
  return 0;
}
