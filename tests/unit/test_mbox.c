/* test_mbox.c: From_ quoting (whole and in every split), the From_ line
 * and its date, and appends to a real mbox file (mbox.h). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "file.h"
#include "mbox.h"
#include "str.h"

/* Quotes in at once and split at every position (and byte by byte);
 * all must give want. */
static int quote_is(const char *in, const char *want)
{
  size_t n = strlen(in), cut, i;
  int ok = 1;
  str out = STR_INIT;
  struct mbox_quote q;
  for (cut = 0; cut <= n; ++cut) {
    out.len = 0;
    mbox_quote_start(&q);
    if (mbox_quote_feed(&q, in, cut, &out) < 0 || mbox_quote_feed(&q, in + cut, n - cut, &out) < 0
        || mbox_quote_end(&q, &out) < 0)
      ok = 0;
    if (out.len != strlen(want) || (out.len && memcmp(out.s, want, out.len) != 0)) ok = 0;
  }
  out.len = 0;
  mbox_quote_start(&q);
  for (i = 0; i < n; ++i) mbox_quote_feed(&q, in + i, 1, &out);
  mbox_quote_end(&q, &out);
  if (out.len != strlen(want) || (out.len && memcmp(out.s, want, out.len) != 0)) ok = 0;
  str_free(&out);
  return ok;
}

int main(void)
{
  str s = STR_INIT;
  char dir[] = "/tmp/test_mbox.XXXXXX", path[64], msgpath[64];
  const char *what;
  int msg;
  size_t before;

  CHECK(quote_is("", ""));
  CHECK(quote_is("From x\n", ">From x\n"));
  CHECK(quote_is(">From x\n", ">>From x\n"));
  CHECK(quote_is(">>>From x\n", ">>>>From x\n"));
  CHECK(quote_is("a\nFrom x\nFrom\nFrom:\n", "a\n>From x\nFrom\nFrom:\n"));
  CHECK(quote_is(" From x\n", " From x\n"));
  CHECK(quote_is("xFrom x\n", "xFrom x\n"));
  CHECK(quote_is("from x\n", "from x\n"));
  CHECK(quote_is(">\n>>\n>Fro\n", ">\n>>\n>Fro\n"));
  CHECK(quote_is(">>Fro", ">>Fro"));            /* held back, flushed at the end */
  CHECK(quote_is("From ", ">From "));
  CHECK(quote_is("F>From x\n", "F>From x\n"));
  CHECK(quote_is("\n\nFrom \n", "\n\n>From \n"));

  CHECK(mbox_date(&s, 1795316672) == 0);
  CHECK_BYTES(s.s, s.len, "Sun Nov 22 03:04:32 2026");
  s.len = 0;
  CHECK(mbox_date(&s, 1000000000) == 0);
  CHECK_BYTES(s.s, s.len, "Sun Sep  9 01:46:40 2001");
  s.len = 0;
  CHECK(mbox_fromline(&s, "a@b", 3, 0) == 0);
  CHECK_BYTES(s.s, s.len, "From a@b Thu Jan  1 00:00:00 1970\n");
  s.len = 0;
  CHECK(mbox_fromline(&s, "", 0, 0) == 0);
  CHECK_BYTES(s.s, s.len, "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n");
  s.len = 0;
  CHECK(mbox_fromline(&s, "\"a b\"\n@c", 8, 0) == 0);
  CHECK_BYTES(s.s, s.len, "From \"a_b\"_@c Thu Jan  1 00:00:00 1970\n");

  /* real appends */
  CHECK(mkdtemp(dir) != 0);
  memcpy(path, dir, sizeof dir - 1); memcpy(path + sizeof dir - 1, "/mbox", 6);
  memcpy(msgpath, dir, sizeof dir - 1); memcpy(msgpath + sizeof dir - 1, "/msg", 5);
  CHECK(file_replace(msgpath, "Subject: x\n\nFrom here\nno newline", 32, 0600) == 0);
  msg = open_read(msgpath);
  CHECK(msg >= 0);
  CHECK(mbox_deliver(path, msg, "From a Thu Jan  1 00:00:00 1970\n", 32, "H: 1\n", 5, 5, &what) == 0);
  CHECK(mbox_deliver(path, msg, "From b Thu Jan  1 00:00:00 1970\n", 32, "", 0, 5, &what) == 0);
  CHECK(file_read(path, &s, 100000) == 1);
  CHECK_BYTES(s.s, s.len,
              "From a Thu Jan  1 00:00:00 1970\nH: 1\nSubject: x\n\n>From here\nno newline\n\n"
              "From b Thu Jan  1 00:00:00 1970\nSubject: x\n\n>From here\nno newline\n\n");
  /* a queued message with CR LF and a bare CR: LF only in the mbox,
   * the converted "From " line still quoted, a final bare CR a space */
  close(msg);
  unlink(path);
  CHECK(file_replace(msgpath, "Subject: y\r\n\r\nFrom\r\rthere\r\nFrom x\r", 34, 0600) == 0);
  msg = open_read(msgpath);
  CHECK(msg >= 0);
  CHECK(mbox_deliver(path, msg, "From a Thu Jan  1 00:00:00 1970\n", 32, "", 0, 5, &what) == 0);
  CHECK(file_read(path, &s, 100000) == 1);
  CHECK_BYTES(s.s, s.len, "From a Thu Jan  1 00:00:00 1970\nSubject: y\n\n>From  there\n>From x \n\n");
  /* an unreadable message: nothing is left behind */
  before = s.len;
  close(msg);
  CHECK(mbox_deliver(path, msg, "From c x\n", 9, "", 0, 5, &what) == -1 && what[0]);
  CHECK(file_read(path, &s, 100000) == 1 && s.len == before);
  /* a directory is no mbox */
  CHECK(mbox_deliver(dir, 0, "From c x\n", 9, "", 0, 5, &what) == -1);
  unlink(path);
  unlink(msgpath);
  rmdir(dir);
  str_free(&s);
  return check_done();
}
