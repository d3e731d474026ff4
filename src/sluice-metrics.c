/* sluice-metrics: the state of sluice in Prometheus's text exposition
 * format (sluice-metrics(8)).
 *
 *     sluice-metrics [-o FILE] [LOGDIR ...]
 *
 * Gauges from the queue (counted as sluice-qstat counts, qcount.h):
 * messages in mess/, entries of todo/, local/, remote/ and bounce/, and
 * the age of the oldest message (the mtime of its mess/ file). Counters
 * and gauges from the multilog directories (every directory under
 * conf-home/log when none is named): the files @*.s, @*.u and current
 * of each, oldest first. Counters are counts over the log files
 * multilog keeps: when it deletes an old file they drop, which
 * Prometheus treats as a counter reset (rate() stays right).
 *
 * Output on fd 1, or with -o written to FILE.tmp and renamed to FILE
 * with file_replace (a node_exporter textfile-collector file is never
 * seen half written). Exit 0; 111 when the queue cannot be read, the output
 * cannot be written or memory runs out; 100 on a bad command line. A
 * log directory that cannot be read is reported by
 * sluice_log_readable{service="NAME"} 0, not fatal. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "byte.h"
#include "die.h"
#include "file.h"
#include "qcount.h"
#include "scan.h"
#include "str.h"
#include "walk.h"

#define MAX_SERVICES 64
#define RING 8192              /* deliveries in flight whose channel is remembered */
#define LOG_FILE_MAX (64UL << 20) /* bytes read of one log file */

enum { CH_LOCAL, CH_REMOTE, CH_UNKNOWN, CH_N };
enum { R_SUCCESS, R_FAILURE, R_DEFERRAL, R_N };
enum { T_ACCEPTED, T_TEMPORARY, T_PERMANENT, T_OTHER, T_N };
static const char *const ch_name[CH_N] = { "local", "remote", "unknown" };
static const char *const r_name[R_N] = { "success", "failure", "deferral" };
static const char *const t_name[T_N] = { "accepted", "temporary", "permanent", "other" };

struct service {
  str name;
  int readable;
  unsigned long sessions, denied, tls, trans[T_N];
};

struct stats {
  unsigned long received, received_bytes, bounces;
  unsigned long deliveries[CH_N][R_N];
  int have_status;
  unsigned long used[2], limit[2];
  unsigned long ring_id[RING];
  unsigned char ring_ch[RING];
  struct service svc[MAX_SERVICES];
  size_t nsvc;
};

static struct stats st;

/* 1 when line[0..n) starts with p, and *rest points past it. */
static int starts(const char *line, size_t n, const char *p, size_t *rest)
{
  size_t k = byte_len(p, 256);
  if (n < k || !byte_equal(line, p, k)) return 0;
  *rest = k;
  return 1;
}

/* Index of the first occurrence of the word w in line[0..n), or n. */
static size_t find(const char *line, size_t n, const char *w)
{
  size_t k = byte_len(w, 256);
  for (size_t i = 0; i + k <= n; ++i)
    if (byte_equal(line + i, w, k)) return i;
  return n;
}

/* "status: local U/C remote U/C" */
static void parse_status(const char *s, size_t n)
{
  unsigned long v[4];
  size_t i = 0, k;
  static const char *const lead[4] = { "status: local ", "/", " remote ", "/" };
  for (int f = 0; f < 4; ++f) {
    if (!starts(s + i, n - i, lead[f], &k)) return;
    i += k;
    k = scan_ulong(s + i, n - i, &v[f]);
    if (!k) return;
    i += k;
  }
  st.used[CH_LOCAL] = v[0];
  st.limit[CH_LOCAL] = v[1];
  st.used[CH_REMOTE] = v[2];
  st.limit[CH_REMOTE] = v[3];
  st.have_status = 1;
}

/* "sluice-smtpd: pid N from IP ... result CODE ..." */
static void parse_smtpd(struct service *sv, const char *s, size_t n)
{
  size_t i = find(s, n, " result ");
  int t = T_OTHER;
  if (i == n) return;
  i += 8;
  if (i < n) {
    if (s[i] == '2') t = T_ACCEPTED;
    else if (s[i] == '4') t = T_TEMPORARY;
    else if (s[i] == '5') t = T_PERMANENT;
  }
  ++sv->trans[t];
  if (find(s, n, " tls ") < n) ++sv->tls;
}

static void parse_line(struct service *sv, const char *s, size_t n)
{
  size_t k;
  unsigned long d;
  /* multilog's "@" + 24 hex digits + " " */
  if (n >= 26 && s[0] == '@' && s[25] == ' ') { s += 26; n -= 26; }
  if (starts(s, n, "starting delivery ", &k)) {
    size_t j = scan_ulong(s + k, n - k, &d);
    if (!j) return;
    k += j;
    st.ring_id[d % RING] = d;
    st.ring_ch[d % RING] = find(s + k, n - k, " to local ") < n - k ? CH_LOCAL
                          : find(s + k, n - k, " to remote ") < n - k ? CH_REMOTE : CH_UNKNOWN;
  } else if (starts(s, n, "delivery ", &k)) {
    size_t j = scan_ulong(s + k, n - k, &d);
    int r, c;
    if (!j) return;
    k += j;
    if (starts(s + k, n - k, ": success: ", &j)) r = R_SUCCESS;
    else if (starts(s + k, n - k, ": failure: ", &j)) r = R_FAILURE;
    else if (starts(s + k, n - k, ": deferral: ", &j)) r = R_DEFERRAL;
    else return;
    c = st.ring_id[d % RING] == d ? st.ring_ch[d % RING] : CH_UNKNOWN;
    ++st.deliveries[c][r];
  } else if (starts(s, n, "new msg ", &k)) {
    ++st.received;
  } else if (starts(s, n, "info msg ", &k)) {
    size_t i = find(s, n, ": bytes ");
    unsigned long b;
    if (i < n && scan_ulong(s + i + 8, n - i - 8, &b)) st.received_bytes += b;
  } else if (starts(s, n, "bounce msg ", &k)) {
    ++st.bounces;
  } else if (starts(s, n, "status: local ", &k)) {
    parse_status(s, n);
  } else if (starts(s, n, "tcpserver: ok ", &k)) {
    ++sv->sessions;
  } else if (starts(s, n, "tcpserver: deny ", &k)) {
    ++sv->denied;
  } else if (starts(s, n, "sluice-smtpd: pid ", &k)) {
    parse_smtpd(sv, s, n);
  }
}

static void read_log_file(struct service *sv, int dfd, const char *name, str *content)
{
  size_t i = 0;
  if (walk_read(dfd, name, content, LOG_FILE_MAX) != 1) return;
  while (i < content->len) {
    size_t n = byte_chr(content->s + i, content->len - i, '\n');
    parse_line(sv, content->s + i, n);
    i += n + 1;
  }
}

static int name_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The log files of one multilog directory, oldest first. */
static void read_log_dir(struct service *sv, const char *path)
{
  int fd = open_dir(path);
  DIR *d = fd < 0 ? 0 : fdopendir(fd);
  struct dirent *de;
  str names = STR_INIT, content = STR_INIT;
  char **v = 0;
  size_t count = 0, i;
  if (!d) {
    if (fd >= 0) close(fd);
    return;
  }
  while ((de = readdir(d))) {
    size_t n = byte_len(de->d_name, 256);
    if (de->d_name[0] != '@' || n < 3 || de->d_name[n - 2] != '.' || (de->d_name[n - 1] != 's' && de->d_name[n - 1] != 'u'))
      continue;
    if (str_catb(&names, de->d_name, n + 1) < 0) die_nomem();
    ++count;
  }
  if (count) {
    if (count > (size_t)-1 / sizeof *v) die_nomem();
    v = malloc(count * sizeof *v);
    if (!v) die_nomem();
    size_t at = 0;
    for (i = 0; i < count; ++i) {
      v[i] = names.s + at;
      at += byte_len(v[i], names.len - at) + 1;
    }
    qsort(v, count, sizeof *v, name_cmp);
  }
  for (i = 0; i < count; ++i) read_log_file(sv, dirfd(d), v[i], &content);
  read_log_file(sv, dirfd(d), "current", &content);
  sv->readable = 1;
  free(v);
  closedir(d);
  str_free(&names);
  str_free(&content);
}

static struct service *service_new(const char *name, size_t n)
{
  struct service *sv;
  if (st.nsvc >= MAX_SERVICES) die_perm("more than 64 log directories");
  sv = &st.svc[st.nsvc++];
  if (str_copyb(&sv->name, name, n) < 0) die_nomem();
  return sv;
}

/* A log directory's service name: its last component. */
static void add_log_dir(const char *path)
{
  size_t n = byte_len(path, 4096), b;
  while (n > 1 && path[n - 1] == '/') --n;
  b = byte_rchr(path, n, '/');
  b = b < n ? b + 1 : 0;
  read_log_dir(service_new(path + b, n - b), path);
}

/* Every directory under conf-home/log. */
static void add_default_logs(void)
{
  str p = STR_INIT;
  DIR *d;
  struct dirent *de;
  if (str_copys(&p, auto_home) < 0 || str_cats(&p, "/log") < 0 || str_0(&p) < 0) die_nomem();
  d = opendir(p.s);
  if (!d) return;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    p.len = 0;
    if (str_copys(&p, auto_home) < 0 || str_cats(&p, "/log/") < 0 || str_cats(&p, de->d_name) < 0 || str_0(&p) < 0)
      die_nomem();
    add_log_dir(p.s);
  }
  closedir(d);
  str_free(&p);
}

/* --- output ------------------------------------------------------------ */

static str out;

static void o(const char *s)
{
  if (str_cats(&out, s) < 0) die_nomem();
}
static void ou(unsigned long u)
{
  if (str_catulong(&out, u) < 0) die_nomem();
}
/* a label value: escapes \, " and newline */
static void olabel(const char *s, size_t n)
{
  for (size_t i = 0; i < n; ++i) {
    if (s[i] == '\\' || s[i] == '"') o("\\");
    if (s[i] == '\n') { o("\\n"); continue; }
    if (str_catc(&out, s[i]) < 0) die_nomem();
  }
}
static void head(const char *name, const char *type, const char *help)
{
  o("# HELP ");
  o(name);
  o(" ");
  o(help);
  o("\n# TYPE ");
  o(name);
  o(" ");
  o(type);
  o("\n");
}
static void svc_metric(const char *name, const struct service *sv, const char *label, const char *value, unsigned long v)
{
  o(name);
  o("{service=\"");
  olabel(sv->name.s, sv->name.len);
  if (label) {
    o("\",");
    o(label);
    o("=\"");
    o(value);
  }
  o("\"} ");
  ou(v);
  o("\n");
}

static unsigned long count_queue(int qfd, const char *dir, int split, time_t *oldest)
{
  str failed = STR_INIT;
  struct qcount c = { 0, 0 };
  int r = split ? qcount_split(qfd, dir, auto_split, &c, oldest != 0, &failed) : qcount_dir(qfd, dir, &c, 0);
  if (r < 0) {
    if (errno == ENOMEM) die_nomem();
    die_temp_sys("unable to read queue/", failed.s ? failed.s : dir, " (run as root or a member of ", auto_user_group, ")");
  }
  str_free(&failed);
  if (oldest) *oldest = c.oldest;
  return c.files;
}

static void queue_metrics(void)
{
  int home, qfd;
  time_t oldest, now = time(0);
  unsigned long mess, todo, local, remote, bounce;
  home = open_dir(auto_home);
  if (home < 0) die_temp_sys("unable to switch to ", auto_home);
  qfd = walk_dir(home, "queue");
  if (qfd < 0) die_temp_sys("unable to switch to ", auto_home, "/queue (run as root or a member of ", auto_user_group, ")");
  close(home);
  mess = count_queue(qfd, "mess", 1, &oldest);
  todo = count_queue(qfd, "todo", 1, 0);
  local = count_queue(qfd, "local", 1, 0);
  remote = count_queue(qfd, "remote", 1, 0);
  bounce = count_queue(qfd, "bounce", 0, 0);
  close(qfd);
  head("sluice_queue_messages", "gauge", "Messages in the queue (files of queue/mess).");
  o("sluice_queue_messages ");
  ou(mess);
  o("\n");
  head("sluice_queue_pending_messages", "gauge",
       "Messages by what they wait for: todo (not yet preprocessed), local and remote (recipients of that channel not done), bounce (a bounce to send).");
  o("sluice_queue_pending_messages{state=\"todo\"} ");
  ou(todo);
  o("\nsluice_queue_pending_messages{state=\"local\"} ");
  ou(local);
  o("\nsluice_queue_pending_messages{state=\"remote\"} ");
  ou(remote);
  o("\nsluice_queue_pending_messages{state=\"bounce\"} ");
  ou(bounce);
  o("\n");
  head("sluice_queue_oldest_message_age_seconds", "gauge", "Age of the oldest message in the queue, 0 when it is empty.");
  o("sluice_queue_oldest_message_age_seconds ");
  ou(mess && oldest && now > oldest ? (unsigned long)(now - oldest) : 0);
  o("\n");
}

static void log_metrics(void)
{
  size_t i;
  int c, r, t;
  head("sluice_log_readable", "gauge", "1 when the service's multilog directory could be read.");
  for (i = 0; i < st.nsvc; ++i) svc_metric("sluice_log_readable", &st.svc[i], 0, 0, (unsigned long)st.svc[i].readable);
  head("sluice_messages_received_total", "counter", "Messages taken from the queue's todo by sluice-send (\"new msg\" lines).");
  o("sluice_messages_received_total ");
  ou(st.received);
  o("\n");
  head("sluice_messages_received_bytes_total", "counter", "Bytes of those messages (\"info msg\" lines).");
  o("sluice_messages_received_bytes_total ");
  ou(st.received_bytes);
  o("\n");
  head("sluice_deliveries_total", "counter", "Delivery attempts by channel and result.");
  for (c = 0; c < CH_N; ++c)
    for (r = 0; r < R_N; ++r) {
      o("sluice_deliveries_total{channel=\"");
      o(ch_name[c]);
      o("\",result=\"");
      o(r_name[r]);
      o("\"} ");
      ou(st.deliveries[c][r]);
      o("\n");
    }
  head("sluice_bounces_total", "counter", "Bounce messages sent (\"bounce msg\" lines).");
  o("sluice_bounces_total ");
  ou(st.bounces);
  o("\n");
  if (st.have_status) {
    head("sluice_concurrency_used", "gauge", "Deliveries in progress by channel (the last status line of sluice-send).");
    for (c = 0; c < 2; ++c) {
      o("sluice_concurrency_used{channel=\"");
      o(ch_name[c]);
      o("\"} ");
      ou(st.used[c]);
      o("\n");
    }
    head("sluice_concurrency_limit", "gauge", "Most deliveries at once by channel (control/concurrencylocal, concurrencyremote).");
    for (c = 0; c < 2; ++c) {
      o("sluice_concurrency_limit{channel=\"");
      o(ch_name[c]);
      o("\"} ");
      ou(st.limit[c]);
      o("\n");
    }
  }
  head("sluice_smtp_sessions_total", "counter", "Connections accepted by tcpserver (\"tcpserver: ok\" lines).");
  for (i = 0; i < st.nsvc; ++i) svc_metric("sluice_smtp_sessions_total", &st.svc[i], 0, 0, st.svc[i].sessions);
  head("sluice_smtp_sessions_denied_total", "counter", "Connections refused by the tcprules (\"tcpserver: deny\" lines).");
  for (i = 0; i < st.nsvc; ++i) svc_metric("sluice_smtp_sessions_denied_total", &st.svc[i], 0, 0, st.svc[i].denied);
  head("sluice_smtp_transactions_total", "counter", "SMTP mail transactions by result: accepted (2xx), temporary (4xx), permanent (5xx), other.");
  for (i = 0; i < st.nsvc; ++i)
    for (t = 0; t < T_N; ++t) svc_metric("sluice_smtp_transactions_total", &st.svc[i], "result", t_name[t], st.svc[i].trans[t]);
  head("sluice_smtp_tls_transactions_total", "counter", "SMTP mail transactions under TLS.");
  for (i = 0; i < st.nsvc; ++i) svc_metric("sluice_smtp_tls_transactions_total", &st.svc[i], 0, 0, st.svc[i].tls);
}

static void usage(void)
{
  die_perm("usage: sluice-metrics [-o FILE] [LOGDIR ...]");
}

int main(int argc, char **argv)
{
  const char *file = 0;
  int i = 1;
  die_progname("sluice-metrics");
  if (i < argc && argv[i][0] == '-' && argv[i][1] == 'o' && !argv[i][2]) {
    if (i + 1 >= argc) usage();
    file = argv[i + 1];
    i += 2;
  }
  if (i < argc && argv[i][0] == '-' && !(argv[i][1] == '-' && !argv[i][2])) usage();
  if (i < argc && argv[i][0] == '-') ++i;
  queue_metrics();
  if (i >= argc) add_default_logs();
  for (; i < argc; ++i) add_log_dir(argv[i]);
  log_metrics();
  if (!file) {
    if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write output");
  } else if (file_replace(file, out.s, out.len, 0644) < 0) {
    die_temp_sys("unable to write ", file);
  }
  return 0;
}
