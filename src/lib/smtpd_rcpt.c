/* smtpd_rcpt.c: see smtpd_rcpt.h. Keys are lower-cased into a stack
 * buffer; a name longer than SMTPD_RCPT_KEY_MAX cannot match. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "addr.h"
#include "aliases.h"
#include "byte.h"
#include "domain.h"
#include "file.h"
#include "scan.h"
#include "smtpd_rcpt.h"

int smtpd_morercpthosts(struct cdb *c, const char *domain, size_t len)
{
  char key[SMTPD_RCPT_KEY_MAX];
  size_t i;
  int r;

  if (len > 0 && domain[len - 1] == '.') --len;
  if (len == 0 || len > sizeof key) return 0;
  for (i = 0; i < len; ++i) key[i] = domain[i];
  case_lowerb(key, len);
  r = cdb_find(c, key, len);
  if (r != 0) return r;
  for (i = 1; i < len; ++i) {
    if (key[i] != '.') continue;
    r = cdb_find(c, key + i, len - i);
    if (r != 0) return r;
  }
  return 0;
}

/* 1 when some record for key[0..klen) has data "+" (prefix). */
static int prefix_record(struct cdb *c, const char *key, size_t klen)
{
  int r;
  char data;

  cdb_findstart(c);
  while ((r = cdb_findnext(c, key, klen)) == 1) {
    if (cdb_datalen(c) != 1) continue;
    if (cdb_read(c, &data, 1, cdb_datapos(c)) < 0) return -1;
    if (data == '+') return 1; /* "+u" USER records: smtpd_rcpt_local_check */
  }
  return r;
}

int smtpd_rcptcheck(struct cdb *c, const char *local, size_t len)
{
  char key[SMTPD_RCPT_KEY_MAX];
  size_t i;
  int r;

  r = cdb_find(c, "*", 1);
  if (r != 0) return r;
  if (len == 0 || len > sizeof key) return 0;
  for (i = 0; i < len; ++i) key[i] = local[i];
  case_lowerb(key, len);
  r = cdb_find(c, key, len);
  if (r != 0) return r;
  for (i = len - 1; i > 0; --i) {
    r = prefix_record(c, key, i);
    if (r != 0) return r;
  }
  return 0;
}

int smtpd_rcptcheck_open(struct cdb *c)
{
  int fd = open_read("control/rcptcheck.cdb");

  if (fd < 0) return errno == ENOENT ? 0 : -1;
  return cdb_open(c, fd) < 0 ? -1 : 1;
}

int smtpd_passwd_find(const char *text, size_t tn, const char *name, size_t n, unsigned long *uid, str *home)
{
  size_t pos = 0;
  while (pos < tn) {
    size_t nl = byte_chr(text + pos, tn - pos, '\n'), f[7], k = 0, i;
    const char *l = text + pos;
    pos += nl < tn - pos ? nl + 1 : nl;
    if (nl <= n || l[n] != ':' || !byte_equal(l, name, n) || l[0] == '+' || l[0] == '-') continue;
    /* the starts of the 7 fields */
    f[k++] = 0;
    for (i = 0; i < nl && k < 7; ++i)
      if (l[i] == ':') f[k++] = i + 1;
    if (k < 7) continue;
    if (scan_ulong_exact(l + f[2], f[3] - 1 - f[2], uid) < 0) continue;
    if (str_copyb(home, l + f[5], f[6] - 1 - f[5]) < 0 || str_0(home) < 0) return -1;
    return 1;
  }
  return 0;
}

/* The passwd file, read once. 1 read, -1 not readable. */
static int passwd_text(struct smtpd_rcpt *r)
{
  if (r->passwd_state == 0) {
    int fr = file_read(r->passwd_path ? r->passwd_path : "/etc/passwd", &r->passwd, 16UL * 1024 * 1024);
    r->passwd_state = fr == 1 ? 1 : -1;
  }
  return r->passwd_state;
}

/* 1 when user[0..n) is an account (uid not 0) of the passwd file; with
 * owns, also one whose home exists and is its own (stat only). */
static int passwd_account(struct smtpd_rcpt *r, const char *user, size_t n, int owns)
{
  str home = STR_INIT;
  unsigned long uid;
  struct stat st;
  int f;
  if (passwd_text(r) < 0) return owns ? 0 : 1; /* no passwd: records stand, nothing new */
  f = smtpd_passwd_find(r->passwd.s, r->passwd.len, user, n, &uid, &home);
  if (f == 1 && uid == 0) f = 0;
  if (f == 1 && owns) {
    if (home.len == 0 || home.s[0] != '/') f = 0;
    else if (stat(home.s, &st) < 0) f = errno == EACCES ? 1 : 0;
    else f = S_ISDIR(st.st_mode) && (unsigned long)st.st_uid == uid;
  }
  str_free(&home);
  return f;
}

/* 1 when some record for key[0..klen) accepts: prefix 0 exact records
 * ("=" or any data not starting with "u"; "u" USER while USER is an
 * account), prefix 1 prefix records ("+", "+u" USER likewise).
 * passwd_account reads a file, never the cdb, so the search goes on
 * where it was. */
static int records_accept(struct smtpd_rcpt *r, const char *key, size_t klen, int prefix)
{
  struct cdb *c = r->cdb;
  char data[2 + SMTPD_RCPT_KEY_MAX];
  int f;

  cdb_findstart(c);
  while ((f = cdb_findnext(c, key, klen)) == 1) {
    const char *d = data;
    uint32_t dl = cdb_datalen(c);
    if (dl > sizeof data) continue;
    if (cdb_read(c, data, dl, cdb_datapos(c)) < 0) return -1;
    if (prefix) {
      if (dl == 0 || data[0] != '+') continue;
      ++d;
      --dl;
      if (dl == 0) return 1;
    }
    if (dl > 1 && d[0] == 'u') {
      int a = passwd_account(r, d + 1, dl - 1, 0);
      if (a != 0) return a;
      continue;
    }
    return 1;
  }
  return f;
}

/* The whole check of one local part (any case). */
static int check_local(struct smtpd_rcpt *r, const char *local, size_t len)
{
  char key[SMTPD_RCPT_KEY_MAX];
  size_t i;
  int f;

  f = cdb_find(r->cdb, "*", 1);
  if (f != 0) return f;
  if (len == 0 || len > sizeof key) return 0;
  for (i = 0; i < len; ++i) key[i] = local[i];
  case_lowerb(key, len);
  f = records_accept(r, key, len, 0);
  if (f != 0) return f;
  for (i = len - 1; i > 0; --i) {
    f = records_accept(r, key, i, 1);
    if (f != 0) return f;
  }
  return passwd_account(r, key, len, 1);
}

int smtpd_rcpt_local_check(struct smtpd_rcpt *r, const char *addr, size_t len)
{
  size_t at, d;
  int f;

  if (r->state == 0 || !addr_split(addr, len, &at)) return 1;
  if (!domain_match_list(addr + at + 1, len - at - 1, r->locals)) return 1;
  if (case_equalb(addr, at, "postmaster", 10)) return 1;
  if (r->state < 0) return -1;
  f = check_local(r, addr, at);
  if (f != 0 || r->dn == 0) return f;
  d = aliases_delimiter(addr, at, r->delims, r->dn);
  if (d == at) return 0;
  return check_local(r, addr, d);
}

int smtpd_rcpt_local(struct cdb *c, int state, const str *locals, const char *addr, size_t len)
{
  struct smtpd_rcpt r;
  int f;
  memset(&r, 0, sizeof r);
  r.cdb = c;
  r.state = state;
  r.locals = locals;
  r.delims = "";
  f = smtpd_rcpt_local_check(&r, addr, len);
  str_free(&r.passwd);
  return f;
}
