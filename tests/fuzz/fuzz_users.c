/* fuzz_users.c: users/assign as sluice-newu compiles it and users/cdb
 * and sluice-getpw's answer as sluice-lspawn reads them (users.h), on
 * arbitrary bytes. The first byte picks the part.
 *
 * assign: users_compile into a cdb in a memory file (sluice-newu's
 * path), then users_lookup through /proc/self/fd for the local part of
 * each of the first lines (sluice-lspawn's path). Checked: a failure
 * is a syntax error with a reason and a line number inside the text;
 * after a success every "=" line's local part is found, and so is a
 * "+" line's prefix with "x" after it; whatever is found decodes into
 * a user other than root with a name and an absolute home, and the
 * extension of a prefix match ends with the part after the prefix.
 *
 * record: users_decode on the bytes (an answer of sluice-getpw);
 * whatever decodes encodes to a record that decodes the same. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "byte.h"
#include "cdb_make.h"
#include "fmt.h"
#include "str.h"
#include "users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

static int same(const str *a, const str *b)
{
  return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
}

/* 1 when s[0..n), the assign text, has a line before its "." whose
 * local part is local[0..len) without regard to case: an exact ('=')
 * one is found before any wildcard, and a wildcard ('+') one is the
 * longest prefix, leaving an empty extension. */
static int has_exact(const char *s, size_t n, const char *local, size_t len)
{
  size_t pos = 0;
  while (pos < n) {
    size_t nl = byte_chr(s + pos, n - pos, '\n'), colon;
    const char *l = s + pos;
    pos += nl + 1;
    if (nl == 1 && l[0] == '.') break;
    if (nl < 2 || (l[0] != '=' && l[0] != '+')) continue;
    colon = byte_chr(l + 1, nl - 1, ':');
    if (colon == len && case_equalb(l + 1, colon, local, len)) return 1;
  }
  return 0;
}

static void check_found(const struct users_entry *e)
{
  fuzz_check(e->uid != 0 && e->uid <= USERS_ID_MAX && e->gid <= USERS_ID_MAX);
  fuzz_check(e->user.len > 0 && e->home.len > 0 && e->home.s[0] == '/');
}

static void check_assign(const char *s, size_t n)
{
  static int memfile = -1;
  static char path[64];
  struct cdb_make m;
  unsigned long line, lines = 1;
  const char *why;
  size_t pos = 0, i, looked = 0;
  int r;

  if (memfile < 0) {
    size_t k = 0;
    memfile = memfd_create("fuzz_users", MFD_CLOEXEC);
    fuzz_check(memfile >= 0);
    memcpy(path, "/proc/self/fd/", 14);
    k = 14 + fmt_ulong(path + 14, (unsigned long)memfile);
    path[k] = 0;
  }
  fuzz_check(ftruncate(memfile, 0) == 0);
  fuzz_check(cdb_make_start(&m, memfile) == 0);
  r = users_compile(s, n, &m, &line, &why);
  for (i = 0; i < n; ++i) lines += s[i] == '\n';
  if (r < 0) {
    fuzz_check(errno == EINVAL && why != 0 && line >= 1 && line <= lines + 1);
    cdb_make_free(&m);
    return;
  }
  fuzz_check(cdb_make_finish(&m) == 0);
  /* every line before the "." */
  while (pos < n && looked < 16) {
    size_t nl = byte_chr(s + pos, n - pos, '\n'), colon;
    const char *l = s + pos;
    struct users_entry e = USERS_ENTRY_INIT;
    pos += nl + 1;
    if (nl == 1 && l[0] == '.') break;
    fuzz_check(nl >= 2 && (l[0] == '=' || l[0] == '+'));
    colon = byte_chr(l + 1, nl - 1, ':');
    fuzz_check(colon < nl - 1 && colon <= USERS_LOCAL_MAX);
    ++looked;
    if (l[0] == '=') {
      fuzz_check(users_lookup(path, l + 1, colon, &e) == 1);
      check_found(&e);
    } else if (colon < USERS_LOCAL_MAX) {
      str local = STR_INIT;
      fuzz_check(str_copyb(&local, l + 1, colon) == 0 && str_catc(&local, 'x') == 0);
      fuzz_check(users_lookup(path, local.s, local.len, &e) == 1);
      check_found(&e);
      /* the wildcard's extension, unless a line for the whole probe takes it */
      fuzz_check(e.ext.len > 0 || has_exact(s, n, local.s, local.len));
      str_free(&local);
    }
    users_entry_free(&e);
  }
}

static void check_record(const char *s, size_t n)
{
  struct users_entry e = USERS_ENTRY_INIT, back = USERS_ENTRY_INIT;
  str enc = STR_INIT;
  if (users_decode(&e, s, n) == 0) {
    fuzz_check(e.user.len > 0 && e.home.len > 0 && e.home.s[0] == '/');
    fuzz_check(users_encode(&enc, &e) == 0 && enc.len <= n);
    fuzz_check(users_decode(&back, enc.s, enc.len) == 0);
    fuzz_check(same(&e.user, &back.user) && same(&e.home, &back.home) && same(&e.dash, &back.dash)
               && same(&e.ext, &back.ext) && e.uid == back.uid && e.gid == back.gid);
  } else {
    fuzz_check(errno == EPROTO);
  }
  users_entry_free(&e);
  users_entry_free(&back);
  str_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s;
  if (size == 0) return 0;
  s = malloc(size - 1 ? size - 1 : 1);
  if (!s) return 0;
  memcpy(s, data + 1, size - 1);
  if (data[0] & 1) check_record(s, size - 1);
  else check_assign(s, size - 1);
  free(s);
  return 0;
}
