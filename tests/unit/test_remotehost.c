/* test_remotehost.c: remotehost_hosts (the hosts file format) and
 * remotehost_find without DNS (a hosts file of the test, wait 0). The
 * DNS side is tested end to end by tests/sh/87-nodns.sh. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "file.h"
#include "remotehost.h"
#include "str.h"

static const char hosts[] =
  "# a comment line\n"
  "127.0.0.1\tlocalhost loopback\n"
  "127.0.0.1 second.example\n"
  "  192.0.2.7   seven.example   alias7 # trailing comment\r\n"
  "192.0.2.8\n"
  "192.0.2.9 # nine.example is commented out\n"
  "#192.0.2.10 ten.example\n"
  "::1 ip6-localhost ip6-loopback\n"
  "2001:DB8::1 six.example\n"
  "999.0.0.1 bad.example\n"
  "192.0.2.11 eleven.example";

static int lookup(int family, const unsigned char *ip, str *out)
{
  return remotehost_hosts(hosts, sizeof hosts - 1, family, ip, out);
}

static int is(const str *s, const char *want)
{
  return s->len == strlen(want) && memcmp(s->s, want, s->len) == 0;
}

static void test_hosts(void)
{
  str out = STR_INIT;
  unsigned char lo[4] = { 127, 0, 0, 1 }, seven[4] = { 192, 0, 2, 7 }, eight[4] = { 192, 0, 2, 8 };
  unsigned char nine[4] = { 192, 0, 2, 9 }, ten[4] = { 192, 0, 2, 10 }, eleven[4] = { 192, 0, 2, 11 };
  unsigned char v6lo[16] = { 0 }, six[16] = { 0x20, 0x01, 0x0d, 0xb8 }, other[4] = { 198, 51, 100, 1 };

  v6lo[15] = 1;
  six[15] = 1;
  CHECK(lookup(AF_INET, lo, &out) == 1 && is(&out, "localhost"));
  CHECK(lookup(AF_INET, seven, &out) == 1 && is(&out, "seven.example"));
  CHECK(lookup(AF_INET, eight, &out) == 0);  /* an address without a name */
  CHECK(lookup(AF_INET, nine, &out) == 0);   /* its name is a comment */
  CHECK(lookup(AF_INET, ten, &out) == 0);    /* a commented-out line */
  CHECK(lookup(AF_INET, eleven, &out) == 1 && is(&out, "eleven.example")); /* no final LF */
  CHECK(lookup(AF_INET, other, &out) == 0);
  CHECK(lookup(AF_INET6, v6lo, &out) == 1 && is(&out, "ip6-localhost"));
  CHECK(lookup(AF_INET6, six, &out) == 1 && is(&out, "six.example"));
  /* the family must match: ::1 is not 127.0.0.1, nor 0.0.0.1 anything */
  CHECK(lookup(AF_INET, v6lo + 12, &out) == 0);
  CHECK(remotehost_hosts("", 0, AF_INET, lo, &out) == 0);
  str_free(&out);
}

static void test_find(void)
{
  char path[] = "/tmp/test_remotehost.XXXXXX";
  str out = STR_INIT;
  int fd = mkstemp(path);

  CHECK(fd >= 0);
  if (fd < 0) return;
  CHECK(write_all(fd, hosts, sizeof hosts - 1) == 0);
  close(fd);
  CHECK(remotehost_find("127.0.0.1", path, 0, &out) == 1 && is(&out, "localhost"));
  CHECK(remotehost_find("192.0.2.7", path, 0, &out) == 1 && is(&out, "seven.example"));
  /* an IPv4-mapped address is its IPv4 address */
  CHECK(remotehost_find("::ffff:192.0.2.7", path, 0, &out) == 1 && is(&out, "seven.example"));
  CHECK(remotehost_find("2001:db8::1", path, 0, &out) == 1 && is(&out, "six.example"));
  /* wait 0: no DNS, no name */
  CHECK(remotehost_find("198.51.100.1", path, 0, &out) == 0);
  /* what is not an address has no name */
  CHECK(remotehost_find("localhost", path, 0, &out) == 0);
  CHECK(remotehost_find("127.0.0.1 ", path, 0, &out) == 0);
  CHECK(remotehost_find("", path, 0, &out) == 0);
  CHECK(remotehost_find(0, path, 0, &out) == 0);
  unlink(path);
  /* a missing hosts file holds no names */
  CHECK(remotehost_find("127.0.0.1", path, 0, &out) == 0);
  str_free(&out);
}

int main(void)
{
  test_hosts();
  test_find();
  return check_done();
}
