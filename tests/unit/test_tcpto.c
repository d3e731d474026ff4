/* test_tcpto.c: the tcpto table in a scratch file. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "tcpto.h"

int main(void)
{
  char dir[] = "/tmp/sluice-tcpto.XXXXXX";
  char path[64];
  unsigned char a4[16] = { 127, 0, 0, 1 }, b4[16] = { 192, 0, 2, 1 }, a6[16] = { 0 };
  unsigned char rec[TCPTO_RECORD];
  struct tcpto_entry e[TCPTO_SLOTS + 1], x;
  size_t n;
  struct stat st;
  time_t now = 1700000000;

  a6[15] = 1;
  CHECK(mkdtemp(dir) != 0);
  memcpy(path, dir, sizeof dir - 1);
  memcpy(path + sizeof dir - 1, "/tcpto", 7);

  /* codec */
  memset(&x, 0, sizeof x);
  x.family = 6;
  memcpy(x.ip, a6, 16);
  x.count = 3;
  x.when = 0x0102030405060708ULL;
  tcpto_encode(rec, &x);
  CHECK(rec[0] == 6 && rec[7] == 3 && rec[8] == 1 && rec[15] == 8 && rec[31] == 1);
  memset(&e[0], 0, sizeof e[0]);
  CHECK(tcpto_decode(rec, &e[0]) == 1 && e[0].when == x.when && e[0].count == 3 && e[0].ip[15] == 1);
  rec[0] = 5;
  CHECK(tcpto_decode(rec, &e[0]) == 0);
  rec[0] = 4;
  rec[2] = 1;
  CHECK(tcpto_decode(rec, &e[0]) == 0);

  /* missing file: nothing blocked, empty list, clear is fine */
  CHECK(tcpto_blocked(path, 4, a4, now) == 0);
  CHECK(tcpto_list(path, e, TCPTO_SLOTS, &n) == 0 && n == 0);
  CHECK(tcpto_clear(path, 4, a4) == 0);

  CHECK(tcpto_record(path, 4, a4, now) == 0);
  CHECK(stat(path, &st) == 0 && st.st_size == TCPTO_RECORD && (st.st_mode & 0777) == 0644);
  CHECK(tcpto_blocked(path, 4, a4, now) == 1);
  CHECK(tcpto_blocked(path, 4, a4, now + TCPTO_SKIP - 1) == 1);
  CHECK(tcpto_blocked(path, 4, a4, now + TCPTO_SKIP) == 0);
  CHECK(tcpto_blocked(path, 4, a4, now - 10) == 1);      /* clock stepped back a little */
  CHECK(tcpto_blocked(path, 4, a4, now - 2 * TCPTO_SKIP) == 0);
  CHECK(tcpto_blocked(path, 4, b4, now) == 0);
  /* a skip time of its own (sluice-qmqpc's control/qmqpskip) */
  CHECK(tcpto_blocked_for(path, 4, a4, now + 59, 60) == 1);
  CHECK(tcpto_blocked_for(path, 4, a4, now + 60, 60) == 0);
  CHECK(tcpto_blocked_for(path, 4, a4, now - 59, 60) == 1);
  CHECK(tcpto_blocked_for(path, 4, a4, now, 0) == 0);
  CHECK(tcpto_blocked_for(path, 4, b4, now, 60) == 0);
  CHECK(tcpto_blocked(path, 6, a6, now) == 0);
  CHECK(tcpto_record(path, 4, a4, now + 60) == 0);
  CHECK(tcpto_record(path, 6, a6, now + 120) == 0);
  CHECK(tcpto_blocked(path, 6, a6, now + 120) == 1);
  CHECK(tcpto_list(path, e, TCPTO_SLOTS, &n) == 0 && n == 2);
  CHECK(e[0].family == 4 && e[0].count == 2 && e[0].when == (unsigned long long)now + 60);
  CHECK(e[1].family == 6 && e[1].count == 1 && e[1].ip[15] == 1);
  CHECK(tcpto_clear(path, 4, a4) == 0);
  CHECK(tcpto_blocked(path, 4, a4, now + 60) == 0);
  CHECK(tcpto_list(path, e, TCPTO_SLOTS, &n) == 0 && n == 1 && e[0].family == 6);

  /* a full table replaces the oldest entry */
  for (unsigned i = 0; i < TCPTO_SLOTS + 5; ++i) {
    unsigned char ip[16] = { 10, 0, (unsigned char)(i >> 8), (unsigned char)i };
    tcpto_record(path, 4, ip, now + 1000 + i);
  }
  CHECK(tcpto_list(path, e, TCPTO_SLOTS + 1, &n) == 0 && n == TCPTO_SLOTS);
  CHECK(stat(path, &st) == 0 && st.st_size == TCPTO_RECORD * TCPTO_SLOTS);
  CHECK(tcpto_blocked(path, 6, a6, now + 1000) == 0);   /* the oldest went first */
  {
    unsigned char last[16] = { 10, 0, 0, TCPTO_SLOTS + 4 }, first[16] = { 10, 0, 0, 0 };
    CHECK(tcpto_blocked(path, 4, last, now + 1000) == 1);
    CHECK(tcpto_blocked(path, 4, first, now + 1000) == 0);
  }

  /* a short or garbage file is read as far as it makes sense */
  CHECK(truncate(path, 10) == 0);
  CHECK(tcpto_list(path, e, TCPTO_SLOTS, &n) == 0 && n == 0);
  CHECK(tcpto_record(path, 4, b4, now) == 0 && tcpto_blocked(path, 4, b4, now) == 1);

  unlink(path);
  rmdir(dir);
  return check_done();
}
