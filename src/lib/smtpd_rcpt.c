/* smtpd_rcpt.c: see smtpd_rcpt.h. Keys are lower-cased into a stack
 * buffer; a name longer than SMTPD_RCPT_KEY_MAX cannot match. */
#include <errno.h>

#include "addr.h"
#include "aliases.h"
#include "byte.h"
#include "domain.h"
#include "file.h"
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
    if (data == '+') return 1;
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

int smtpd_rcpt_local_delim(struct cdb *c, int state, const str *locals, const char *delims, size_t dn,
                           const char *addr, size_t len)
{
  size_t at, d;
  int r;

  if (state == 0 || !addr_split(addr, len, &at)) return 1;
  if (!domain_match_list(addr + at + 1, len - at - 1, locals)) return 1;
  if (case_equalb(addr, at, "postmaster", 10)) return 1;
  if (state < 0) return -1;
  r = smtpd_rcptcheck(c, addr, at);
  if (r != 0 || dn == 0) return r;
  d = aliases_delimiter(addr, at, delims, dn);
  if (d == at) return 0;
  return smtpd_rcptcheck(c, addr, d);
}

int smtpd_rcpt_local(struct cdb *c, int state, const str *locals, const char *addr, size_t len)
{
  return smtpd_rcpt_local_delim(c, state, locals, "", 0, addr, len);
}
