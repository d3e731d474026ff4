/* getpw_proto.c: see getpw_proto.h. Errors: -1 with errno; an encoder
 * that fails leaves out as it was. Memory: the decoded request and
 * answer own their strings; nothing else is kept. */
#include <errno.h>

#include "byte.h"
#include "getpw_proto.h"
#include "netstring.h"
#include "scan.h"
#include "str.h"
#include "users.h"

/* Wraps body into one netstring appended to out. */
static int frame(str *out, const str *body)
{
  if (body->len > GETPW_FRAME_MAX) { errno = EMSGSIZE; return -1; }
  return netstring_cat(out, body->s, body->len);
}

int getpw_request_encode(str *out, char kind, const char *arg, size_t len, unsigned long gid)
{
  str b = STR_INIT;
  int r = -1;
  if (byte_chr(arg, len, 0) != len) { errno = EINVAL; return -1; }
  if (kind == GETPW_ASK_USER) {
    if (len > USERS_LOCAL_MAX) { errno = EMSGSIZE; return -1; }
    if (str_catc(&b, kind) == 0 && str_catb(&b, arg, len) == 0) r = frame(out, &b);
  } else if (kind == GETPW_ASK_GROUPS) {
    if (len == 0 || len > GETPW_USER_MAX || gid > USERS_ID_MAX) { errno = EINVAL; return -1; }
    if (str_catc(&b, kind) == 0 && str_catulong(&b, gid) == 0 && str_catc(&b, 0) == 0 &&
        str_catb(&b, arg, len) == 0)
      r = frame(out, &b);
  } else {
    errno = EINVAL;
  }
  str_free(&b);
  return r;
}

static int proto_error(void)
{
  errno = EPROTO;
  return -1;
}

/* A decimal id: digits only, no leading zero but "0", at most
 * USERS_ID_MAX. */
static int scan_id(const char *s, size_t n, unsigned long *u)
{
  if (n > 1 && s[0] == '0') return -1;
  if (scan_ulong_exact(s, n, u) < 0 || *u > USERS_ID_MAX) return -1;
  return 0;
}

int getpw_request_decode(struct getpw_request *rq, const char *s, size_t n)
{
  size_t z;
  rq->arg.len = 0;
  rq->gid = 0;
  if (n < 1) return proto_error();
  rq->kind = s[0];
  ++s;
  --n;
  if (byte_chr(s, n, 0) != n && rq->kind == GETPW_ASK_USER) return proto_error();
  switch (rq->kind) {
  case GETPW_ASK_USER:
    if (n > USERS_LOCAL_MAX) { errno = EMSGSIZE; return -1; }
    return str_copyb(&rq->arg, s, n);
  case GETPW_ASK_GROUPS:
    z = byte_chr(s, n, 0);
    if (z == n || scan_id(s, z, &rq->gid) < 0) return proto_error();
    s += z + 1;
    n -= z + 1;
    if (n == 0 || byte_chr(s, n, 0) != n) return proto_error();
    if (n > GETPW_USER_MAX) { errno = EMSGSIZE; return -1; }
    return str_copyb(&rq->arg, s, n);
  default:
    return proto_error();
  }
}

void getpw_request_free(struct getpw_request *rq)
{
  str_free(&rq->arg);
}

static int cat_groups(str *b, const unsigned long *groups, size_t n)
{
  size_t i;
  if (n < 1 || n > GETPW_GROUPS_MAX) { errno = EINVAL; return -1; }
  for (i = 0; i < n; ++i) {
    if (groups[i] > USERS_ID_MAX) { errno = EINVAL; return -1; }
    if (str_catulong(b, groups[i]) < 0 || str_catc(b, 0) < 0) return -1;
  }
  return 0;
}

int getpw_answer_user(str *out, const struct users_entry *e, const unsigned long *groups, size_t n)
{
  str b = STR_INIT;
  int r = -1;
  if (str_catc(&b, 'K') == 0 && users_encode(&b, e) == 0 && cat_groups(&b, groups, n) == 0)
    r = frame(out, &b);
  str_free(&b);
  return r;
}

int getpw_answer_groups(str *out, const unsigned long *groups, size_t n)
{
  str b = STR_INIT;
  int r = -1;
  if (str_catc(&b, 'K') == 0 && cat_groups(&b, groups, n) == 0) r = frame(out, &b);
  str_free(&b);
  return r;
}

int getpw_answer_fail(str *out, char letter, const char *text, size_t len)
{
  str b = STR_INIT;
  int r = -1;
  if ((letter != 'D' && letter != 'Z') || byte_chr(text, len, 0) != len) { errno = EINVAL; return -1; }
  if (str_catc(&b, letter) == 0 && str_catb(&b, text, len) == 0) r = frame(out, &b);
  str_free(&b);
  return r;
}

/* The GROUPS field: s[0..n) exactly, 1 to GETPW_GROUPS_MAX ids. */
static int decode_groups(struct getpw_answer *a, const char *s, size_t n)
{
  size_t pos = 0;
  a->ngroups = 0;
  while (pos < n) {
    size_t z = byte_chr(s + pos, n - pos, 0);
    if (z == n - pos) return proto_error();
    if (a->ngroups == GETPW_GROUPS_MAX) { errno = EMSGSIZE; return -1; }
    if (scan_id(s + pos, z, &a->groups[a->ngroups]) < 0) return proto_error();
    ++a->ngroups;
    pos += z + 1;
  }
  if (a->ngroups == 0) return proto_error();
  return 0;
}

int getpw_answer_decode(struct getpw_answer *a, char kind, const char *s, size_t n)
{
  size_t pos = 1, i;
  users_entry_free(&a->e);
  a->ngroups = 0;
  if (n < 1) return proto_error();
  a->letter = s[0];
  switch (a->letter) {
  case 'D':
    if (kind != GETPW_ASK_USER) return proto_error();
    /* fall through */
  case 'Z':
    if (byte_chr(s + 1, n - 1, 0) != n - 1) return proto_error();
    return 0;
  case 'K':
    break;
  default:
    return proto_error();
  }
  if (kind == GETPW_ASK_GROUPS) return decode_groups(a, s + 1, n - 1);
  if (kind != GETPW_ASK_USER) return proto_error();
  /* the record is the first six NUL-ended fields */
  for (i = 0; i < 6; ++i) {
    size_t z = byte_chr(s + pos, n - pos, 0);
    if (z == n - pos) return proto_error();
    pos += z + 1;
  }
  if (users_decode(&a->e, s + 1, pos - 1) < 0) {
    int err = errno;
    users_entry_free(&a->e);
    errno = err;
    return -1;
  }
  if (decode_groups(a, s + pos, n - pos) < 0) {
    int err = errno;
    users_entry_free(&a->e);
    errno = err;
    return -1;
  }
  return 0;
}

void getpw_answer_free(struct getpw_answer *a)
{
  users_entry_free(&a->e);
  a->ngroups = 0;
}
