/* spawnreq.c: writes and reads the spawner protocol (sluice-spawn(5))
 * for the shell tests of sluice-lspawn and sluice-rspawn.
 *
 *   spawnreq SLOT ID SENDER RCPT...   writes one encoded request on fd 1
 *                                     (no newline)
 *   spawnreq -d                       reads result frames on fd 0 and
 *                                     prints, per entry, one line
 *                                     "SLOT LETTER TEXT" (a newline in
 *                                     a text is printed as "\n")
 * Exit 100 on bad arguments or a result that does not decode, 111 on
 * trouble reading or writing. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "die.h"
#include "file.h"
#include "scan.h"
#include "spawn.h"
#include "str.h"

static void put(str *o, const char *s, size_t n)
{
  if (str_catb(o, s, n) < 0) die_nomem();
}

static int encode(int argc, char **argv)
{
  str rcpts = STR_INIT, out = STR_INIT;
  unsigned long slot, id;
  int i;

  if (argc < 5) die_usage("spawnreq SLOT ID SENDER RCPT... | spawnreq -d");
  if (scan_ulong_exact(argv[1], strlen(argv[1]), &slot) < 0 ||
      scan_ulong_exact(argv[2], strlen(argv[2]), &id) < 0)
    die_perm("SLOT and ID must be numbers");
  for (i = 4; i < argc; ++i) put(&rcpts, argv[i], strlen(argv[i]) + 1);
  if (spawn_request_encode(&out, slot, id, 0, argv[3], strlen(argv[3]), rcpts.s, rcpts.len,
                           (size_t)(argc - 4)) < 0)
    die_perm_sys("unable to encode the request");
  if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write");
  str_free(&rcpts);
  str_free(&out);
  return 0;
}

static int decode(void)
{
  str in = STR_INIT, frame = STR_INIT, out = STR_INIT;
  struct spawn_result res = { 0, STR_INIT, 0 };
  size_t pos, len, k;
  const char *e;
  int t;

  if (read_fd_all(0, &in, SPAWN_FRAME_MAX * 4UL) < 0) die_temp_sys("unable to read");
  while ((t = spawn_frame_take(&in, &frame, SPAWN_FRAME_MAX)) == 1) {
    if (spawn_result_decode(&res, frame.s, frame.len) < 0) die_perm_sys("bad result");
    pos = 0;
    while (spawn_next(&res.results, &pos, &e, &len)) {
      if (str_catulong(&out, res.slot) < 0) die_nomem();
      put(&out, " ", 1);
      put(&out, e, 1);
      put(&out, " ", 1);
      for (k = 1; k < len; ++k) {
        if (e[k] == '\n') put(&out, "\\n", 2);
        else put(&out, e + k, 1);
      }
      put(&out, "\n", 1);
    }
  }
  if (t < 0 || in.len) die_perm("results end in a broken frame");
  if (write_all(1, out.s, out.len) < 0) die_temp_sys("unable to write");
  spawn_result_free(&res);
  str_free(&in);
  str_free(&frame);
  str_free(&out);
  return 0;
}

int main(int argc, char **argv)
{
  die_progname("spawnreq");
  if (argc == 2 && argv[1][0] == '-' && argv[1][1] == 'd' && !argv[1][2]) return decode();
  return encode(argc, argv);
}
