/* fuzz_qfile.c: the readers of sluice-send's queue files (qfile.h) on
 * arbitrary bytes, as sluice-send runs them: an info file, a channel
 * file (header and records, and the walk over the records that
 * sluice-send's passes make), and a todo envelope whose recipients go
 * through rewrite_classify with a fixed configuration, filed into a
 * local and a remote channel file as todo_round does.
 *
 * Checked: nothing reads outside its input; the values of an info
 * that parses, written as sluice-send writes them, read back the same;
 * a header that parses formats back to itself; every channel
 * file built from an envelope has a valid header and records; every
 * recipient handed out lies inside the envelope. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "byte.h"
#include "qfile.h"
#include "rewrite.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
  if (!ok) abort();
}

struct files {
  const str *env;
  const struct rewrite *rw;
  str chan[2];
  str out;
  unsigned long n[2];
};

static int rcpt(void *ctx, const char *a, size_t len)
{
  struct files *f = ctx;
  int c;
  fuzz_check(len > 0 && a >= f->env->s && a + len < f->env->s + f->env->len && a[len] == 0);
  c = rewrite_classify(f->rw, a, len, &f->out);
  if (c < 0) {
    fuzz_check(errno != ENOMEM);
    errno = EPROTO;
    return -1;
  }
  c = c ? 0 : 1;
  fuzz_check(str_catc(&f->chan[c], 'T') == 0 && str_cat(&f->chan[c], &f->out) == 0
             && str_catc(&f->chan[c], 0) == 0);
  ++f->n[c];
  return 0;
}

static void check_info(const str *s)
{
  struct qfile_info in = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
  if (qfile_info_parse(s, &in) == 0) {
    str back = STR_INIT;
    fuzz_check(in.sender.len < s->len);
    fuzz_check(str_catc(&back, 'b') == 0 && str_catulong(&back, in.birth) == 0 && str_catc(&back, 0) == 0
               && str_catc(&back, 'u') == 0 && str_catulong(&back, in.uid) == 0 && str_catc(&back, 0) == 0
               && str_catc(&back, 'p') == 0 && str_catulong(&back, in.pid) == 0 && str_catc(&back, 0) == 0);
    if (in.stamped) {
      char st[QFILE_STAMP_MAX];
      fuzz_check(in.stamp_nsec < 1000000000UL);
      fuzz_check(str_catc(&back, 's') == 0 && str_catb(&back, st, qfile_stamp_fmt(st, in.stamp_sec, in.stamp_nsec)) == 0
                 && str_catc(&back, 0) == 0);
    }
    fuzz_check(str_catc(&back, 'F') == 0 && str_cat(&back, &in.sender) == 0 && str_catc(&back, 0) == 0
               && str_catc(&back, 'E') == 0 && str_catc(&back, 0) == 0);
    /* what sluice-send writes for these values reads back the same */
    {
      struct qfile_info again = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
      fuzz_check(qfile_info_parse(&back, &again) == 0);
      fuzz_check(again.birth == in.birth && again.uid == in.uid && again.pid == in.pid);
      fuzz_check(again.stamped == in.stamped && again.stamp_sec == in.stamp_sec && again.stamp_nsec == in.stamp_nsec);
      fuzz_check(again.sender.len == in.sender.len
                 && (!in.sender.len || memcmp(again.sender.s, in.sender.s, in.sender.len) == 0));
      str_free(&again.sender);
    }
    str_free(&back);
  }
  str_free(&in.sender);
  str_free(&in.dsn);
}

static void check_channel(const str *f)
{
  unsigned long next;
  if (qfile_header_parse(f, &next) == 0) {
    char h[QFILE_HEADER_LEN];
    qfile_header_fmt(h, next);
    fuzz_check(memcmp(h, f->s, QFILE_HEADER_LEN) == 0);
    if (qfile_records_valid(f)) {
      /* the walk of sluice-send's pass_end and dispatch */
      size_t pos = QFILE_HEADER_LEN;
      while (pos < f->len) {
        size_t len = byte_chr(f->s + pos, f->len - pos, 0);
        fuzz_check(pos + len < f->len && len >= 2);
        fuzz_check(f->s[pos] == 'T' || f->s[pos] == 'D');
        pos += len + 1;
      }
      fuzz_check(pos == f->len);
    }
  }
}

static void check_envelope(const str *env)
{
  static struct rewrite rw = REWRITE_INIT;
  struct qfile_info in = { 0, 0, 0, STR_INIT, 0, 0, 0, 0, STR_INIT, 0, 0, 0, 0 };
  struct files f;
  char h[QFILE_HEADER_LEN];
  int c;

  if (!rw.locals.len) {
    fuzz_check(str_copyb(&rw.locals, "example.org\0local.test\0", 23) == 0);
    fuzz_check(str_copyb(&rw.virtualdomains, "virt.test:v\0ex@virt2.test:w\0.sub.test:s\0none.test:\0", 52) == 0);
    fuzz_check(str_copyb(&rw.percenthack, "example.org\0pct.test\0", 21) == 0);
    fuzz_check(str_copys(&rw.envnoathost, "example.org") == 0);
  }
  memset(&f, 0, sizeof f);
  f.env = env;
  f.rw = &rw;
  qfile_header_fmt(h, 0);
  for (c = 0; c < 2; ++c) fuzz_check(str_copyb(&f.chan[c], h, QFILE_HEADER_LEN) == 0);
  if (qfile_envelope_parse(env, &in, rcpt, &f) == 0) {
    for (c = 0; c < 2; ++c) {
      unsigned long next = 1;
      fuzz_check(qfile_header_parse(&f.chan[c], &next) == 0 && next == 0);
      fuzz_check(qfile_records_valid(&f.chan[c]));
    }
  } else {
    fuzz_check(errno == EPROTO);
  }
  for (c = 0; c < 2; ++c) str_free(&f.chan[c]);
  str_free(&f.out);
  str_free(&in.sender);
  str_free(&in.dsn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  str s = STR_INIT;
  if (size == 0) return 0;
  /* an exact-size copy: ASan sees a read one past the end */
  s.s = malloc(size - 1 ? size - 1 : 1);
  if (!s.s) return 0;
  memcpy(s.s, data + 1, size - 1);
  s.len = size - 1;
  s.a = size - 1;
  switch (data[0] % 3) {
  case 0: check_info(&s); break;
  case 1: check_channel(&s); break;
  default: check_envelope(&s); break;
  }
  free(s.s);
  return 0;
}
