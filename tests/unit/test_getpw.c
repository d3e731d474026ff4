/* test_getpw.c: the protocol of sluice-lspawn and its lookup helper
 * (getpw_proto.h, sluice-getpw(8)): known-answer encodings, round
 * trips, every malformed request and answer the decoders must refuse;
 * and the bounded cache of sluice-lspawn (getpw_cache.h): hits, expiry,
 * replacement, items too big to keep, and a bound on what it holds
 * however many keys are put. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "getpw_cache.h"
#include "getpw_proto.h"
#include "str.h"
#include "users.h"

/* The frames of sluice-getpw(8)'s example, byte for byte. */
#define EX_ASK "10:ujoe-Lists,"
#define EX_ASK_GROUPS "8:g100\0joe,"
#define EX_ANSWER "39:Kjoe\0" "1001\0" "100\0" "/home/joe\0-\0Lists\0" "100\0" "27\0,"

static void set(str *s, const char *lit)
{
  str_copys(s, lit);
}

static void test_examples(void)
{
  str out = STR_INIT;
  struct users_entry e = USERS_ENTRY_INIT;
  unsigned long g[2] = { 100, 27 };

  CHECK(getpw_request_encode(&out, GETPW_ASK_USER, "joe-Lists", 9, 0) == 0);
  CHECK_BYTES(out.s, out.len, EX_ASK);
  out.len = 0;
  CHECK(getpw_request_encode(&out, GETPW_ASK_GROUPS, "joe", 3, 100) == 0);
  CHECK(out.len == sizeof EX_ASK_GROUPS - 1 && memcmp(out.s, EX_ASK_GROUPS, out.len) == 0);
  out.len = 0;
  set(&e.user, "joe");
  e.uid = 1001;
  e.gid = 100;
  set(&e.home, "/home/joe");
  set(&e.dash, "-");
  set(&e.ext, "Lists");
  CHECK(getpw_answer_user(&out, &e, g, 2) == 0);
  CHECK(out.len == sizeof EX_ANSWER - 1 && memcmp(out.s, EX_ANSWER, out.len) == 0);
  out.len = 0;
  CHECK(getpw_answer_groups(&out, g, 1) == 0);
  CHECK(out.len == 8 && memcmp(out.s, "5:K100\0,", 8) == 0);
  out.len = 0;
  CHECK(getpw_answer_fail(&out, 'Z', "no", 2) == 0);
  CHECK_BYTES(out.s, out.len, "3:Zno,");
  users_entry_free(&e);
  str_free(&out);
}

static void test_request_decode(void)
{
  struct getpw_request rq = { 0, STR_INIT, 0 };
  char big[USERS_LOCAL_MAX + 2];
  str out = STR_INIT;

  CHECK(getpw_request_decode(&rq, "ujoe-Lists", 10) == 0);
  CHECK(rq.kind == 'u' && rq.arg.len == 9 && memcmp(rq.arg.s, "joe-Lists", 9) == 0);
  CHECK(getpw_request_decode(&rq, "u", 1) == 0 && rq.arg.len == 0); /* "@host": empty local part */
  CHECK(getpw_request_decode(&rq, "g100\0joe", 8) == 0);
  CHECK(rq.kind == 'g' && rq.gid == 100 && rq.arg.len == 3);
  errno = 0;
  CHECK(getpw_request_decode(&rq, "", 0) < 0 && errno == EPROTO);
  CHECK(getpw_request_decode(&rq, "xjoe", 4) < 0 && errno == EPROTO);
  CHECK(getpw_request_decode(&rq, "uj\0e", 4) < 0 && errno == EPROTO);
  CHECK(getpw_request_decode(&rq, "g100", 4) < 0 && errno == EPROTO);
  CHECK(getpw_request_decode(&rq, "g100\0", 5) < 0 && errno == EPROTO);
  CHECK(getpw_request_decode(&rq, "g0100\0joe", 9) < 0 && errno == EPROTO);
  CHECK(getpw_request_decode(&rq, "g-1\0joe", 7) < 0 && errno == EPROTO);
  CHECK(getpw_request_decode(&rq, "g4294967295\0joe", 15) < 0 && errno == EPROTO);
  CHECK(getpw_request_decode(&rq, "g1\0jo\0e", 8) < 0 && errno == EPROTO);
  memset(big, 'a', sizeof big);
  big[0] = 'u';
  CHECK(getpw_request_decode(&rq, big, USERS_LOCAL_MAX + 1) == 0);
  CHECK(getpw_request_decode(&rq, big, USERS_LOCAL_MAX + 2) < 0 && errno == EMSGSIZE);
  /* the encoder refuses what the decoder would */
  CHECK(getpw_request_encode(&out, 'u', big, USERS_LOCAL_MAX + 1, 0) < 0 && errno == EMSGSIZE);
  CHECK(getpw_request_encode(&out, 'u', "a\0b", 3, 0) < 0 && errno == EINVAL);
  CHECK(getpw_request_encode(&out, 'g', "", 0, 1) < 0 && errno == EINVAL);
  CHECK(getpw_request_encode(&out, 'g', "joe", 3, 4294967295UL) < 0 && errno == EINVAL);
  CHECK(getpw_request_encode(&out, 'q', "joe", 3, 0) < 0 && errno == EINVAL);
  CHECK(out.len == 0);
  getpw_request_free(&rq);
  str_free(&out);
}

/* 1 when the answer data lit[0..n) to kind is refused with errno e. */
static int refused(char kind, const char *lit, size_t n, int e)
{
  struct getpw_answer a;
  int r;
  memset(&a, 0, sizeof a);
  errno = 0;
  r = getpw_answer_decode(&a, kind, lit, n) < 0 && errno == e;
  getpw_answer_free(&a);
  return r;
}

#define REFUSED(kind, lit, e) refused(kind, lit, sizeof lit - 1, e)

static void test_answer_decode(void)
{
  struct getpw_answer a;
  str many = STR_INIT;
  size_t i;

  memset(&a, 0, sizeof a);
  /* the example's data: the frame without "36:" and "," */
  CHECK(getpw_answer_decode(&a, 'u', &EX_ANSWER[3], sizeof EX_ANSWER - 5) == 0);
  CHECK(a.letter == 'K' && a.e.uid == 1001 && a.e.gid == 100 && a.ngroups == 2);
  CHECK(a.groups[0] == 100 && a.groups[1] == 27);
  CHECK(str_equals(&a.e.user, "joe") && str_equals(&a.e.home, "/home/joe") && str_equals(&a.e.ext, "Lists"));
  CHECK(getpw_answer_decode(&a, 'g', "K5\0" "0\0", 5) == 0 && a.ngroups == 2 && a.groups[1] == 0);
  CHECK(getpw_answer_decode(&a, 'u', "D", 1) == 0 && a.letter == 'D');
  CHECK(getpw_answer_decode(&a, 'g', "Ztrouble", 8) == 0 && a.letter == 'Z');
  getpw_answer_free(&a);

  CHECK(REFUSED('u', "", EPROTO));
  CHECK(REFUSED('u', "X", EPROTO));
  CHECK(REFUSED('g', "Dno", EPROTO));              /* D only to u */
  CHECK(REFUSED('u', "Zx\0y", EPROTO));            /* NUL in a text */
  CHECK(REFUSED('g', "K", EPROTO));                /* no group */
  CHECK(REFUSED('g', "K5", EPROTO));               /* group not ended */
  CHECK(REFUSED('g', "K05\0", EPROTO));            /* leading zero */
  CHECK(REFUSED('g', "K\0", EPROTO));              /* empty group */
  CHECK(REFUSED('g', "K4294967295\0", EPROTO));    /* (gid_t)-1 */
  CHECK(REFUSED('u', "Kjoe\0" "1\0" "1\0" "/h\0\0\0", EPROTO));            /* no groups */
  CHECK(REFUSED('u', "Kjoe\0" "1\0" "1\0" "/h\0\0", EPROTO));              /* five fields */
  CHECK(REFUSED('u', "Kjoe\0" "1\0" "1\0" "h\0\0\0" "1\0", EPROTO));       /* relative home */
  CHECK(REFUSED('u', "K\0" "1\0" "1\0" "/h\0\0\0" "1\0", EPROTO));         /* no user */
  CHECK(REFUSED('u', "Kjoe\0" "x\0" "1\0" "/h\0\0\0" "1\0", EPROTO));      /* uid */
  CHECK(REFUSED('u', "Kjoe\0" "1\0" "1\0" "/h\0\0\0" "1\0" "x", EPROTO));  /* trailing bytes */
  /* GETPW_GROUPS_MAX groups, and one more */
  str_catc(&many, 'K');
  for (i = 0; i < GETPW_GROUPS_MAX; ++i) str_cats(&many, "7"), str_catc(&many, 0);
  CHECK(getpw_answer_decode(&a, 'g', many.s, many.len) == 0 && a.ngroups == GETPW_GROUPS_MAX);
  str_cats(&many, "7");
  str_catc(&many, 0);
  CHECK(refused('g', many.s, many.len, EMSGSIZE));
  getpw_answer_free(&a);
  str_free(&many);
}

static void test_cache(void)
{
  struct getpw_cache c = GETPW_CACHE_INIT;
  str v = STR_INIT;
  char key[32], big[GETPW_CACHE_ITEM_MAX];
  size_t i, kept;
  int all = 1;

  CHECK(getpw_cache_get(&c, "a", 1, 100, &v) == 0);
  CHECK(getpw_cache_put(&c, "a", 1, "one", 3, 200) == 0);
  CHECK(getpw_cache_get(&c, "a", 1, 100, &v) == 1 && str_equals(&v, "one"));
  CHECK(getpw_cache_get(&c, "b", 1, 100, &v) == 0);
  CHECK(getpw_cache_put(&c, "a", 1, "two", 3, 300) == 0);   /* replaced */
  CHECK(getpw_cache_get(&c, "a", 1, 250, &v) == 1 && str_equals(&v, "two"));
  CHECK(getpw_cache_get(&c, "a", 1, 300, &v) == 0);         /* expired at 300 */
  CHECK(getpw_cache_get(&c, "a", 1, 100, &v) == 0);         /* and dropped */
  memset(big, 'x', sizeof big);
  CHECK(getpw_cache_put(&c, "k", 1, big, sizeof big, 500) == 0); /* too big: not kept */
  CHECK(getpw_cache_get(&c, "k", 1, 100, &v) == 0);
  CHECK(getpw_cache_put(&c, "k", 1, big, sizeof big - 1, 500) == 0);
  CHECK(getpw_cache_get(&c, "k", 1, 100, &v) == 1 && v.len == sizeof big - 1);
  CHECK(getpw_cache_put(&c, "z", 1, "v", 1, 0) == 0);       /* no expiry: not kept */
  CHECK(getpw_cache_get(&c, "z", 1, 1, &v) == 0);
  /* many more keys than it holds: it keeps at most its size, and the
   * newest key is always there */
  for (i = 0; i < 10 * GETPW_CACHE_SETS * GETPW_CACHE_WAYS; ++i) {
    size_t n = 0, j = i;
    do key[n++] = (char)('a' + j % 26); while ((j /= 26) && n < sizeof key);
    if (getpw_cache_put(&c, key, n, "v", 1, 1000 + (long long)i) < 0 || getpw_cache_get(&c, key, n, 500, &v) != 1)
      all = 0;
  }
  CHECK(all);
  kept = 0;
  for (i = 0; i < GETPW_CACHE_SETS * GETPW_CACHE_WAYS; ++i)
    if (c.items[i].expires) ++kept;
  CHECK(kept <= GETPW_CACHE_SETS * GETPW_CACHE_WAYS && kept > GETPW_CACHE_SETS);
  getpw_cache_clear(&c);
  CHECK(getpw_cache_get(&c, "k", 1, 100, &v) == 0);
  getpw_cache_free(&c);
  str_free(&v);
}

int main(void)
{
  test_examples();
  test_request_decode();
  test_answer_decode();
  test_cache();
  return check_done();
}
