/* test_tlsbundle.c: the certificate bundle of sluice-tlsd and
 * sluice-tlsgate (tlsbundle): which file names may be SNI names; the
 * records, "cert" first; a missing cert.pem; and the gate's exchange
 * (tlsgate): the addresses and requests the gate accepts, the `+'
 * waited for, a refusal, no gate, and a request with its three
 * descriptors. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fdpass.h"
#include "file.h"
#include "str.h"
#include "tlsbundle.h"
#include "tlsgate.h"

#define D(lit) (lit), (sizeof(lit) - 1)
/* bytes with NULs inside: the length of the literal, not strlen */
#define CHECK_RAW(p, n, lit) CHECK((n) == sizeof(lit) - 1 && memcmp((p), (lit), (n)) == 0)

static void test_sni_name(void)
{
  CHECK(tlsbundle_sni_name_ok(D("mx.example.test")));
  CHECK(tlsbundle_sni_name_ok(D("a-b.c9")));
  CHECK(!tlsbundle_sni_name_ok("", 0));
  CHECK(!tlsbundle_sni_name_ok(D(".mx")));
  CHECK(!tlsbundle_sni_name_ok(D("mx.")));
  CHECK(!tlsbundle_sni_name_ok(D("a..b")));
  CHECK(!tlsbundle_sni_name_ok(D("a_b")));
  CHECK(!tlsbundle_sni_name_ok(D("a/b")));
}

static int put(const char *path, const char *s)
{
  return file_replace_nosync(path, s, strlen(s), 0600);
}

static void test_read(void)
{
  char dir[] = "/tmp/test_tlsbundle.XXXXXX";
  str b = STR_INIT;
  int r;

  if (!mkdtemp(dir) || chdir(dir) < 0) {
    CHECK(0);
    return;
  }
  CHECK(tlsbundle_read(&b) == -1 && errno == ENOENT);
  CHECK(mkdir("control", 0700) == 0 && mkdir("control/tls", 0700) == 0);
  CHECK(tlsbundle_read(&b) == -1 && errno == ENOENT);
  CHECK(put("control/tls/cert.pem", "CERT") == 0);
  CHECK(put("control/tls/bad_name.pem", "X") == 0);   /* not an SNI name */
  CHECK(put("control/tls/notes.txt", "X") == 0);      /* not .pem */
  r = tlsbundle_read(&b);
  CHECK(r == 0);
  CHECK_RAW(b.s, b.len, "cert\0" "4\0" "CERT");
  CHECK(put("control/tls/mx.example.pem", "SNI-PEM") == 0);
  str_truncate(&b, 0);
  CHECK(tlsbundle_read(&b) == 0);
  CHECK_RAW(b.s, b.len, "cert\0" "4\0" "CERT" "mx.example\0" "7\0" "SNI-PEM");
  str_free(&b);
  unlink("control/tls/cert.pem");
  unlink("control/tls/bad_name.pem");
  unlink("control/tls/notes.txt");
  unlink("control/tls/mx.example.pem");
  rmdir("control/tls");
  rmdir("control");
  CHECK(chdir("/") == 0 && rmdir(dir) == 0);
}

/* A one-shot gate at path that answers `answer' (0: closes), then
 * receives a request and writes back "mode ipbytes nfds". */
static pid_t fake_gate(const char *path, char answer, int *ls)
{
  struct sockaddr_un sa;
  pid_t pid;

  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, strlen(path));
  unlink(path);
  *ls = socket(AF_UNIX, SOCK_STREAM, 0);
  if (*ls < 0 || bind(*ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(*ls, 4) < 0) return -1;
  pid = fork();
  if (pid == 0) {
    char rec[64], out[80];
    int fds[FDPASS_MAX], i;
    long n;
    int c = accept(*ls, 0, 0), nfds = 0;
    if (c < 0) _exit(1);
    if (!answer) _exit(0);
    if (write(c, &answer, 1) != 1) _exit(1);
    n = fdpass_recv(c, rec, sizeof rec, fds, FDPASS_MAX, &nfds, 0);
    if (n <= 0) _exit(0);
    for (i = 0; i < nfds; ++i) close(fds[i]);
    memcpy(out, rec, (size_t)n);
    out[n] = ' ';
    out[n + 1] = (char)('0' + nfds);
    if (write(c, out, (size_t)n + 2) < 0) _exit(1);
    _exit(0);
  }
  close(*ls);
  return pid;
}

static void test_ip(void)
{
  CHECK(tlsgate_ip_ok(D("192.0.2.1")));
  CHECK(tlsgate_ip_ok(D("2001:db8::1")));
  CHECK(tlsgate_ip_ok(D("::ffff:192.0.2.1")));
  CHECK(tlsgate_ip_ok("", 0));
  CHECK(!tlsgate_ip_ok(D("fe80::1%eth0")));
  CHECK(!tlsgate_ip_ok(D("1.2.3.4\n")));
  CHECK(!tlsgate_ip_ok(D("0123456789012345678901234567890123456789012345")));
}

static void test_parse(void)
{
  char mode = 0;
  const char *ip = 0;
  size_t iplen = 9;

  CHECK(tlsgate_request_parse(D("Y"), &mode, &ip, &iplen) == 0 && mode == 'Y' && iplen == 0);
  CHECK(tlsgate_request_parse(D("y192.0.2.1"), &mode, &ip, &iplen) == 0 && mode == 'y');
  CHECK_BYTES(ip, iplen, "192.0.2.1");
  CHECK(tlsgate_request_parse(D("Y2001:db8::1"), &mode, &ip, &iplen) == 0);
  CHECK(tlsgate_request_parse("", 0, &mode, &ip, &iplen) == -1);
  CHECK(tlsgate_request_parse(D("i"), &mode, &ip, &iplen) == -1);
  CHECK(tlsgate_request_parse(D("Y1.2.3.4\r\n"), &mode, &ip, &iplen) == -1);
  CHECK(tlsgate_request_parse(D("GET / HTTP/1.0"), &mode, &ip, &iplen) == -1);
  CHECK(tlsgate_request_parse(D("Y\0"), &mode, &ip, &iplen) == -1);
}

static void test_gate(void)
{
  char path[] = "/tmp/test_tlsgate.XXXXXX";
  char sock[64], buf[80];
  int ls, g, p[2], st;
  pid_t pid;
  ssize_t n;

  if (!mkdtemp(path)) {
    CHECK(0);
    return;
  }
  memcpy(sock, path, sizeof path - 1);
  memcpy(sock + sizeof path - 1, "/gate", 6);
  /* no gate */
  CHECK(tlsgate_open(sock, 1000) == -1 && (errno == ENOENT || errno == ECONNREFUSED));
  /* a gate that refuses */
  pid = fake_gate(sock, '-', &ls);
  CHECK(pid > 0);
  CHECK(tlsgate_open(sock, 5000) == -1 && errno == EPROTO);
  waitpid(pid, &st, 0);
  /* a gate that closes */
  pid = fake_gate(sock, 0, &ls);
  CHECK(tlsgate_open(sock, 5000) == -1 && errno == EPROTO);
  waitpid(pid, &st, 0);
  /* a gate that serves: the request arrives whole with 3 descriptors */
  pid = fake_gate(sock, '+', &ls);
  g = tlsgate_open(sock, 5000);
  CHECK(g >= 0);
  CHECK(pipe(p) == 0);
  CHECK(tlsgate_request(g, 'Y', D("192.0.2.1"), 0, p[1], p[0]) == 0);
  n = read(g, buf, sizeof buf);
  CHECK_BYTES(buf, n > 0 ? (size_t)n : 0, "Y192.0.2.1 3");
  close(g);
  close(p[0]);
  close(p[1]);
  waitpid(pid, &st, 0);
  /* an address too long, or not an address, is left out */
  pid = fake_gate(sock, '+', &ls);
  g = tlsgate_open(sock, 5000);
  CHECK(pipe(p) == 0);
  CHECK(tlsgate_request(g, 'y', D("0123456789012345678901234567890123456789012345"), 0, p[1], p[0]) == 0);
  n = read(g, buf, sizeof buf);
  CHECK_BYTES(buf, n > 0 ? (size_t)n : 0, "y 3");
  close(g);
  close(p[0]);
  close(p[1]);
  waitpid(pid, &st, 0);
  unlink(sock);
  rmdir(path);
}

int main(void)
{
  test_sni_name();
  test_read();
  test_ip();
  test_parse();
  test_gate();
  return check_done();
}
