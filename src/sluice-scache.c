/* sluice-scache: the connection cache of remote delivery (sluice-scache(8)).
 *
 *     sluice-scache SECONDS
 *
 * Started once by sluice-rspawn, as the remote user, with one end of a
 * SOCK_SEQPACKET socketpair on fd 0 (scache.h has the records) and the
 * log on fd 2. It holds idle plaintext SMTP connections that
 * sluice-remote handed it after a finished transaction, each under its
 * key, and hands one back to the next sluice-remote that asks with the
 * same key. It never reads a byte from a connection and writes at most
 * "QUIT" CR LF to one, when it drops it: after SECONDS idle, when the
 * cache is full, or at the end. A connection on which the server spoke
 * or that it closed while idle is closed at once. It holds no message
 * and no credentials. It ends (exit 0) at end of file on fd 0, that is
 * once sluice-rspawn and every sluice-remote have gone. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "byte.h"
#include "die.h"
#include "scache.h"
#include "scan.h"
#include "sig.h"

#define MAX_TOTAL 64       /* idle connections held at most */
#define MAX_PER_KEY 20     /* ... for one destination */
#define RECORDS_PER_ROUND 64

struct ent {
  int fd;
  size_t klen, slen;
  long long idle_until;    /* monotonic ms */
  unsigned long long seq;  /* order of arrival */
  char key[SCACHE_RECORD_MAX];
  char state[SCACHE_RECORD_MAX];
};

static struct ent ents[MAX_TOTAL];
static size_t nents;
static unsigned long long seq;
static long long idle_ms;

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drops entry i: QUIT (best effort, never waiting) when quit, then close. */
static void drop(size_t i, int quit)
{
  if (quit) (void)send(ents[i].fd, "QUIT\r\n", 6, MSG_DONTWAIT | MSG_NOSIGNAL);
  close(ents[i].fd);
  if (i != nents - 1) ents[i] = ents[nents - 1];
  --nents;
}

static int same_key(const struct ent *e, const char *key, size_t klen)
{
  return e->klen == klen && byte_equal(e->key, key, klen);
}

/* The oldest entry (with the key when key is not NULL), or nents. */
static size_t oldest(const char *key, size_t klen, size_t *count)
{
  size_t i, best = nents;
  *count = 0;
  for (i = 0; i < nents; ++i) {
    if (key && !same_key(&ents[i], key, klen)) continue;
    ++*count;
    if (best == nents || ents[i].seq < ents[best].seq) best = i;
  }
  return best;
}

static void put(const char *rec, size_t n, int fd)
{
  size_t z = byte_chr(rec + 1, n - 1, 0) + 1, count, o;
  struct ent *e;
  if (fd < 0) return;
  if (z >= n || z == 1) { close(fd); return; }
  o = oldest(rec + 1, z - 1, &count);
  if (count >= MAX_PER_KEY) drop(o, 1);
  if (nents >= MAX_TOTAL) {
    o = oldest(0, 0, &count);
    drop(o, 1);
  }
  e = &ents[nents++];
  e->fd = fd;
  e->klen = z - 1;
  memcpy(e->key, rec + 1, e->klen);
  e->slen = n - z - 1;
  memcpy(e->state, rec + z + 1, e->slen);
  e->idle_until = now_ms() + idle_ms;
  e->seq = ++seq;
}

static void get(const char *rec, size_t n, int reply)
{
  size_t i, best = nents;
  if (reply < 0) return;
  for (i = 0; i < nents; ++i)
    if (same_key(&ents[i], rec + 1, n - 1) && (best == nents || ents[i].seq > ents[best].seq)) best = i;
  if (best == nents) {
    (void)scache_send(reply, 'N', "", 0, 0, 0, -1);
  } else if (scache_send(reply, 'Y', ents[best].key, ents[best].klen, ents[best].state, ents[best].slen,
                         ents[best].fd) == 0) {
    drop(best, 0); /* now the asker's */
  } else {
    drop(best, 1);
  }
  close(reply);
}

int main(int argc, char **argv)
{
  static struct pollfd p[MAX_TOTAL + 1];
  static char rec[SCACHE_RECORD_MAX];
  unsigned long secs;

  die_progname("sluice-scache");
  if (argc != 2 || scan_ulong_exact(argv[1], byte_len(argv[1], 16), &secs) < 0 || secs < 1 || secs > 3600)
    die_usage("sluice-scache seconds (1 to 3600)");
  if (sig_ignore(SIGPIPE) < 0) die_temp_sys("unable to ignore SIGPIPE");
  idle_ms = (long long)secs * 1000;
  for (;;) {
    size_t i, np = nents;
    long long now = now_ms(), next = -1;
    int timeout, r;
    p[0].fd = 0;
    p[0].events = POLLIN;
    p[0].revents = 0;
    for (i = 0; i < nents; ++i) {
      p[i + 1].fd = ents[i].fd;
      p[i + 1].events = POLLIN | POLLRDHUP;
      p[i + 1].revents = 0;
      if (next < 0 || ents[i].idle_until < next) next = ents[i].idle_until;
    }
    timeout = next < 0 ? -1 : next <= now ? 0 : next - now > 3600000 ? 3600000 : (int)(next - now);
    r = poll(p, np + 1, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      die_temp_sys("poll failed");
    }
    now = now_ms();
    /* from the end, so that drop() moving the last entry down is safe */
    for (i = np; i > 0; --i) {
      if (p[i].revents) drop(i - 1, 0); /* the server spoke or closed: nothing to say to it */
      else if (ents[i - 1].idle_until <= now) drop(i - 1, 1);
    }
    if (p[0].revents) {
      for (int k = 0; k < RECORDS_PER_ROUND; ++k) {
        int fd;
        long n = scache_recv(0, rec, sizeof rec, &fd);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
          if (errno == EMSGSIZE) continue; /* dropped, its descriptor closed */
          die_temp_sys("unable to read requests");
        }
        if (n == 0) {
          while (nents) drop(nents - 1, 1);
          return 0;
        }
        if (rec[0] == 'P') put(rec, (size_t)n, fd);
        else if (rec[0] == 'G') get(rec, (size_t)n, fd);
        else if (fd >= 0) close(fd);
      }
    }
  }
}
