/* test_rewrite.c: how sluice-send classifies a recipient (rewrite), and
 * the agreement of that routing with the servers' relay checks: the
 * domain rewrite_classify routes by is the one addr_split gives, and the
 * '%' hack acts exactly where rewrite_percenthack_applies says so. */
#include <string.h>

#include "addr.h"
#include "byte.h"
#include "check.h"
#include "rewrite.h"
#include "str.h"

/* a control_readlist list from "a\0b\0" */
static void list(str *l, const char *s, size_t n)
{
  if (str_copyb(l, s, n) < 0) _exit(111);
}

static void setup(struct rewrite *rw)
{
  list(&rw->locals, "me.example\0local.example\0", 25);
  list(&rw->virtualdomains, "virt.example:v\0", 15);
  list(&rw->percenthack, "local.example\0ph.example\0", 25);
  list(&rw->envnoathost, "me.example", 10);
}

/* classify addr: want local (1) or remote (0) and the address routed */
static int classify(const struct rewrite *rw, const char *addr, size_t n, int local, const char *want)
{
  str out = STR_INIT;
  int r = rewrite_classify(rw, addr, n, &out);
  int ok = r == local && out.len == strlen(want) && memcmp(out.s, want, out.len) == 0;
  if (!ok) {
    check_outs("  classify got ");
    check_outu((unsigned long)(r + 1));
    check_outs(" ");
    check_out(out.s ? out.s : "", out.len);
    check_outs("\n");
  }
  str_free(&out);
  return ok;
}
#define CLASSIFY(a, local, want) classify(&rw, a, sizeof a - 1, local, want)

static void test_classify(void)
{
  struct rewrite rw = REWRITE_INIT;

  setup(&rw);
  CHECK(CLASSIFY("u@me.example", 1, "u@me.example"));
  CHECK(CLASSIFY("u@ME.Example", 1, "u@ME.Example"));
  CHECK(CLASSIFY("u", 1, "u@me.example"));
  CHECK(CLASSIFY("u@remote.example", 0, "u@remote.example"));
  CHECK(CLASSIFY("u@virt.example", 1, "v-u@virt.example"));
  /* a quoted local part: the domain is after it, whatever it holds */
  CHECK(CLASSIFY("\"victim@evil.example\"@me.example", 1, "\"victim@evil.example\"@me.example"));
  CHECK(CLASSIFY("\"victim@evil.example\"", 1, "\"victim@evil.example\"@me.example"));
  /* bytes that do not parse route by the last '@', as addr_split says
   * (the relay check sees evil.example too) */
  CHECK(CLASSIFY("\"victim@evil.example", 0, "\"victim@evil.example"));
  CHECK(CLASSIFY("a\"@evil.example", 0, "a\"@evil.example"));
  /* the % hack, repeatedly, only for listed domains, not inside quotes */
  CHECK(CLASSIFY("u%remote.example@local.example", 0, "u@remote.example"));
  CHECK(CLASSIFY("u%me.example@LOCAL.example", 1, "u@me.example"));
  CHECK(CLASSIFY("u%remote.example%ph.example@local.example", 0, "u@remote.example"));
  CHECK(CLASSIFY("u%remote.example@me.example", 1, "u%remote.example@me.example"));
  CHECK(CLASSIFY("\"u%remote.example x\"@local.example", 1, "\"u%remote.example x\"@local.example"));
  CHECK(CLASSIFY("%remote.example@local.example", 0, "@remote.example"));
  rewrite_free(&rw);
}

static void test_percenthack_applies(void)
{
  struct rewrite rw = REWRITE_INIT;
  static const char *const addrs[] = {
    "u%remote.example@local.example", "u%remote.example@LOCAL.EXAMPLE", "u%remote.example@me.example",
    "u@local.example", "\"u%remote.example x\"@local.example", "%remote.example@local.example",
    "u%remote.example%ph.example@local.example", "u%remote.example", "u%x@ph.example", "\"a%b@c\"",
    "u%remote.example@local.example.", "u%@local.example",
  };
  size_t k;

  setup(&rw);
  CHECK(rewrite_percenthack_applies(&rw.percenthack, "u%remote.example@local.example", 30) == 1);
  CHECK(rewrite_percenthack_applies(&rw.percenthack, "u%remote.example@me.example", 27) == 0);
  CHECK(rewrite_percenthack_applies(&rw.percenthack, "\"u%r x\"@local.example", 21) == 0);
  CHECK(rewrite_percenthack_applies(&rw.percenthack, "u%remote.example", 16) == 0);
  CHECK(rewrite_percenthack_applies(&rw.percenthack, "", 0) == 0);
  /* it says yes exactly when sluice-send's rule 2 changes the address
   * (an address with a domain: the servers take no other but postmaster) */
  for (k = 0; k < sizeof addrs / sizeof addrs[0]; ++k) {
    str out = STR_INIT;
    size_t n = strlen(addrs[k]), at;
    int changed;
    struct rewrite plain = REWRITE_INIT;
    list(&plain.locals, "me.example\0local.example\0", 25);
    list(&plain.envnoathost, "me.example", 10);
    if (!addr_split(addrs[k], n, &at)) {
      CHECK(rewrite_percenthack_applies(&rw.percenthack, addrs[k], n) == 0);
      rewrite_free(&plain);
      continue;
    }
    /* the same classification without control/percenthack */
    CHECK(rewrite_classify(&rw, addrs[k], n, &out) >= 0);
    {
      str base = STR_INIT;
      CHECK(rewrite_classify(&plain, addrs[k], n, &base) >= 0);
      changed = out.len != base.len || memcmp(out.s, base.s, out.len) != 0;
      str_free(&base);
    }
    CHECK(rewrite_percenthack_applies(&rw.percenthack, addrs[k], n) == changed);
    str_free(&out);
    rewrite_free(&plain);
  }
  rewrite_free(&rw);
}

int main(void)
{
  test_classify();
  test_percenthack_applies();
  return check_done();
}
