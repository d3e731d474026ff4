/* sluice-dkimsign: signs a message with DKIM (RFC 6376, RFC 8463) and
 * hands it to sluice-queue (sluice-dkimsign(8)).
 *
 * Called as sluice-queue is (QMAILQUEUE): message on fd 0, envelope on
 * fd 1. Installed setuid to the dkim role user. It reads
 * control/dkimdomains, then splits in two at once:
 *  - the key holder (a child, uid dkim for real, effective and saved)
 *    loads the key files named there and answers fixed-size requests
 *    on a pipe: "what type is key i" and "sign this 32-byte digest with
 *    key i". It parses nothing else;
 *  - the main process drops to its caller's uid (real, effective and
 *    saved) before it reads a byte of the message, parses and hashes
 *    the message, asks the key holder for signatures, and runs
 *    conf-home/bin/sluice-queue with the signed message and the same
 *    envelope, exiting with its exit code.
 * So no process that parses the message can read a key, and the caller
 * cannot reach the key holder (other uid). */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "byte.h"
#include "control.h"
#include "die.h"
#include "dkim_canon.h"
#include "dkimsign.h"
#include "fd.h"
#include "file.h"
#include "str.h"
#include "wait.h"

/* Exit codes: sluice-queue's (sluice-queue(8)). */
#define QQ_NOMEM 51
#define QQ_READ 54
#define QQ_CONF 55
#define QQ_TEMP 81
#define QQ_TOOBIG 31

#define MESSAGE_MAX (256UL * 1024 * 1024)
#define ENVELOPE_MAX (16UL * 1024 * 1024)
#define KEYS_MAX 64
#define REQ_SIZE 37

typedef struct entry {
  const char *domain;   /* "example.com" or "*.example.com" */
  const char *selector;
  const char *keyfile;
} entry;

static entry entries[KEYS_MAX];
static unsigned nentries;

static _Noreturn void qq_die(int code, const char *what)
{
  die_msg(code, what);
}

static int word_ok(const char *s)
{
  size_t i;
  if (!*s) return 0;
  for (i = 0; s[i]; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '-' || c == '_' || (c == '*' && i == 0)))
      return 0;
  }
  return 1;
}

/* control/dkimdomains: "domain selector keyfile" a line. */
static void read_domains(str *list)
{
  size_t pos = 0, n;
  const char *e;
  int r = control_readlist("control/dkimdomains", list);
  if (r < 0) qq_die(QQ_CONF, "unable to read control/dkimdomains");
  while (control_next(list, &pos, &e, &n)) {
    char *p = (char *)e, *w[3];
    unsigned k = 0;
    while (*p && k < 3) {
      while (*p == ' ' || *p == '\t') *p++ = 0;
      if (!*p) break;
      w[k++] = p;
      while (*p && *p != ' ' && *p != '\t') p++;
    }
    while (*p == ' ' || *p == '\t') *p++ = 0;
    if (k != 3 || *p || !word_ok(w[0]) || !word_ok(w[1]) || w[1][0] == '*')
      qq_die(QQ_CONF, "control/dkimdomains: a line is not \"domain selector keyfile\"");
    if (nentries == KEYS_MAX) qq_die(QQ_CONF, "control/dkimdomains: too many lines");
    case_lowerb(w[0], byte_len(w[0], 1000));
    entries[nentries].domain = w[0];
    entries[nentries].selector = w[1];
    entries[nentries].keyfile = w[2];
    nentries++;
  }
}

/* ---- the key holder ---- */

static EVP_PKEY *keys[KEYS_MAX];
static int keytype[KEYS_MAX]; /* 0 not tried, -1 missing, -2 bad, else DKIM_* */

static void key_load(unsigned i)
{
  int fd;
  str pem = STR_INIT;
  BIO *bio;
  if (keytype[i]) return;
  keytype[i] = -2;
  fd = open_read(entries[i].keyfile);
  if (fd < 0) { if (errno == ENOENT) keytype[i] = -1; return; }
  if (read_fd_all(fd, &pem, 65536) < 0) { close(fd); str_free(&pem); return; }
  close(fd);
  bio = BIO_new_mem_buf(pem.s, (int)pem.len);
  if (bio) {
    keys[i] = PEM_read_bio_PrivateKey(bio, 0, 0, 0);
    BIO_free(bio);
  }
  str_free(&pem);
  if (!keys[i]) return;
  if (EVP_PKEY_get_base_id(keys[i]) == EVP_PKEY_ED25519) keytype[i] = DKIM_ED25519;
  else if (EVP_PKEY_get_base_id(keys[i]) == EVP_PKEY_RSA && EVP_PKEY_get_bits(keys[i]) >= 1024 &&
           EVP_PKEY_get_size(keys[i]) <= DKIM_SIGMAX) keytype[i] = DKIM_RSA;
}

static int key_sign(unsigned i, const unsigned char *md, unsigned char *sig)
{
  size_t len = DKIM_SIGMAX;
  int ok = 0;
  if (keytype[i] == DKIM_RSA) {
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(keys[i], 0);
    ok = c && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
         EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 && EVP_PKEY_sign(c, sig, &len, md, 32) == 1;
    EVP_PKEY_CTX_free(c);
  } else if (keytype[i] == DKIM_ED25519) {
    /* RFC 8463: Ed25519 (pure) over the SHA-256 digest */
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    ok = c && EVP_DigestSignInit(c, 0, 0, 0, keys[i]) == 1 && EVP_DigestSign(c, sig, &len, md, 32) == 1;
    EVP_MD_CTX_free(c);
  }
  return ok && len <= DKIM_SIGMAX ? (int)len : -1;
}

/* Requests: op ('T' or 'S'), 4-byte key number (big-endian), 32 bytes
 * (the digest for 'S'). Answers: 2-byte length, then the bytes: the
 * type (one byte) for 'T', the signature for 'S' (length 0: failed). */
static _Noreturn void key_holder(int rfd, int wfd)
{
  unsigned char req[REQ_SIZE], ans[2 + DKIM_SIGMAX];
  for (;;) {
    ssize_t r = read_full(rfd, (char *)req, sizeof req);
    unsigned i;
    int len = 0;
    if (r != (ssize_t)sizeof req) _exit(0);
    i = ((unsigned)req[1] << 24) | ((unsigned)req[2] << 16) | ((unsigned)req[3] << 8) | req[4];
    if (i >= nentries) _exit(1);
    key_load(i);
    if (req[0] == 'T') { ans[2] = (unsigned char)(keytype[i] < 0 ? (keytype[i] == -1 ? 0 : 3) : keytype[i]); len = 1; }
    else if (req[0] == 'S') { len = key_sign(i, req + 5, ans + 2); if (len < 0) len = 0; }
    else _exit(1);
    ans[0] = (unsigned char)(len >> 8);
    ans[1] = (unsigned char)len;
    if (write_all(wfd, (char *)ans, 2 + (size_t)len) < 0) _exit(1);
  }
}

/* ---- the main process's side ---- */

typedef struct holder {
  int wfd;
  int rfd;
} holder;

static int ask(holder *h, char op, unsigned i, const unsigned char *md, unsigned char *out)
{
  unsigned char req[REQ_SIZE], l[2];
  size_t len;
  req[0] = (unsigned char)op;
  req[1] = (unsigned char)(i >> 24); req[2] = (unsigned char)(i >> 16);
  req[3] = (unsigned char)(i >> 8); req[4] = (unsigned char)i;
  for (len = 0; len < 32; len++) req[5 + len] = md ? md[len] : 0;
  if (write_all(h->wfd, (char *)req, sizeof req) < 0) return -1;
  if (read_full(h->rfd, (char *)l, 2) != 2) return -1;
  len = ((size_t)l[0] << 8) | l[1];
  if (len > DKIM_SIGMAX) return -1;
  if (len && read_full(h->rfd, (char *)out, len) != (ssize_t)len) return -1;
  return (int)len;
}

static int sign_cb(void *arg, unsigned key, int alg, const unsigned char digest[32], unsigned char *sig)
{
  (void)alg;
  return ask((holder *)arg, 'S', key, digest, sig);
}

/* The entries for domain: the exact ones, else those of the closest
 * "*.parent" wildcard. */
static unsigned match(const str *dom, unsigned *which)
{
  unsigned i, n = 0;
  size_t off;
  for (i = 0; i < nentries; i++)
    if (case_equalb(entries[i].domain, byte_len(entries[i].domain, 1000), dom->s, dom->len))
      which[n++] = i;
  if (n) return n;
  for (off = 0; off < dom->len; off++) {
    if (dom->s[off] != '.') continue;
    for (i = 0; i < nentries; i++) {
      const char *d = entries[i].domain;
      if (d[0] != '*' || d[1] != '.') continue;
      if (case_equalb(d + 2, byte_len(d + 2, 1000), dom->s + off + 1, dom->len - off - 1))
        which[n++] = i;
    }
    if (n) return n;
  }
  return 0;
}

int main(void)
{
  str list = STR_INIT, msg = STR_INIT, envl = STR_INIT, sigs = STR_INIT, dom = STR_INIT, canon = STR_INIT;
  uid_t ruid = getuid(), euid = geteuid();
  int toh[2], fromh[2], mp[2], ep[2], status, relaxed = 1;
  pid_t kid, qq;
  holder h;
  unsigned which[KEYS_MAX], n, i;
  char *qargv[2];
  child_fd fds[2];

  die_progname("sluice-dkimsign");
  signal(SIGPIPE, SIG_IGN);
  if (chdir(auto_home) < 0) qq_die(61, "unable to switch to conf-home");
  read_domains(&list);
  if (control_readline("control/dkimcanon", &canon, "relaxed") < 0) qq_die(QQ_CONF, "unable to read control/dkimcanon");
  if (str_equals(&canon, "simple")) relaxed = 0;
  else if (!str_equals(&canon, "relaxed")) qq_die(QQ_CONF, "control/dkimcanon is neither relaxed nor simple");

  if (pipe(toh) < 0 || pipe(fromh) < 0) qq_die(QQ_TEMP, "unable to make a pipe");
  kid = fork();
  if (kid < 0) qq_die(QQ_TEMP, "unable to fork");
  if (kid == 0) {
    /* the key holder: dkim for good, away from the caller's fds */
    if (setresuid(euid, euid, euid) < 0 || getuid() != euid || geteuid() != euid) _exit(1);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    /* keep fd 2 (errors) and the two pipes: nothing of the caller's */
    {
      int fd;
      for (fd = 0; fd < 1024; fd++)
        if (fd != 2 && fd != toh[0] && fd != fromh[1]) close(fd);
    }
    key_holder(toh[0], fromh[1]);
  }
  close(toh[0]);
  close(fromh[1]);
  if (fd_cloexec(toh[1], 1) < 0 || fd_cloexec(fromh[0], 1) < 0) qq_die(QQ_TEMP, "unable to set close-on-exec");
  /* the caller's uid from here on, before reading the message */
  if (setresuid(ruid, ruid, ruid) < 0 || getuid() != ruid || geteuid() != ruid)
    qq_die(QQ_TEMP, "unable to drop privileges");
  h.wfd = toh[1];
  h.rfd = fromh[0];

  if (read_fd_all(0, &msg, MESSAGE_MAX) < 0) {
    if (errno == EFBIG || errno == E2BIG) qq_die(QQ_TOOBIG, "message too big to sign");
    if (errno == ENOMEM) qq_die(QQ_NOMEM, "out of memory");
    qq_die(QQ_READ, "unable to read the message");
  }
  if (read_fd_all(1, &envl, ENVELOPE_MAX) < 0) qq_die(91, "unable to read the envelope");

  n = 0;
  if (nentries && dkim_from_domain(msg.s, msg.len, &dom) == 0) n = match(&dom, which);
  for (i = 0; i < n; i++) {
    unsigned char t;
    dkim_sign_request req;
    size_t nlpos = byte_chr(msg.s, msg.len, '\n');
    int r = ask(&h, 'T', which[i], 0, &t);
    if (r != 1) qq_die(QQ_TEMP, "the key holder failed");
    if (t == 0) continue; /* no such key file: that signature is not made */
    if (t != DKIM_RSA && t != DKIM_ED25519) qq_die(QQ_CONF, "unable to read a key file of control/dkimdomains");
    req.domain = entries[which[i]].domain;
    if (req.domain[0] == '*') req.domain += 2;
    req.selector = entries[which[i]].selector;
    req.alg = t;
    req.key = which[i];
    req.relaxed = relaxed;
    req.t = (unsigned long)time(0);
    if (dkim_sign_message(&sigs, msg.s, msg.len,
                          nlpos > 0 && nlpos < msg.len && msg.s[nlpos - 1] == '\r' ? "\r\n" : "\n",
                          &req, sign_cb, &h) < 0) {
      if (errno == ENOMEM) qq_die(QQ_NOMEM, "out of memory");
      if (errno == E2BIG) break; /* too many header fields: not signed */
      qq_die(QQ_TEMP, "unable to sign");
    }
  }
  close(h.wfd);
  close(h.rfd);
  wait_pid(kid, &status);

  if (pipe(mp) < 0 || pipe(ep) < 0) qq_die(QQ_TEMP, "unable to make a pipe");
  fd_cloexec(mp[1], 1);
  fd_cloexec(ep[1], 1);
  {
    str qprog = STR_INIT;
    if (str_copys(&qprog, auto_home) < 0 || str_cats(&qprog, "/bin/sluice-queue") < 0 || str_0(&qprog) < 0)
      qq_die(QQ_NOMEM, "out of memory");
    fds[0].to = 0; fds[0].from = mp[0];
    fds[1].to = 1; fds[1].from = ep[0];
    qargv[0] = qprog.s;
    qargv[1] = 0;
    qq = child_spawn(qprog.s, qargv, 0, fds, 2);
    if (qq < 0) qq_die(QQ_TEMP, "unable to run sluice-queue");
  }
  close(mp[0]);
  close(ep[0]);
  if (write_all(mp[1], sigs.s, sigs.len) == 0 && write_all(mp[1], msg.s, msg.len) == 0) {
    close(mp[1]);
    if (write_all(ep[1], envl.s, envl.len) < 0) { /* its exit code says why */ }
  } else close(mp[1]);
  close(ep[1]);
  if (wait_pid(qq, &status) < 0) qq_die(QQ_TEMP, "unable to wait for sluice-queue");
  if (wait_crashed(status)) qq_die(QQ_TEMP, "sluice-queue crashed");
  return wait_exitcode(status);
}
