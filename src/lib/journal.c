/* journal.c: records of the spawners' delivery journals (journal.h).
 * No memory is kept: records are appended to the caller's str and
 * parsed in place. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byte.h"
#include "journal.h"
#include "netstring.h"
#include "scan.h"

/* A record holds at most an id, a letter, an address and a text of the
 * sizes sluice-spawn(5) allows: anything longer is not a record. */
#define JOURNAL_RECORD_MAX 8192

int journal_record_add(str *out, unsigned long id, unsigned long sec, unsigned long nsec, char letter,
                       const char *addr, size_t addr_len, const char *text, size_t text_len)
{
  str r = STR_INIT;
  int ret = -1;
  if (str_catulong(&r, id) == 0 && str_catc(&r, 0) == 0 && str_catulong(&r, sec) == 0 && str_catc(&r, '.') == 0
      && str_catulong(&r, nsec) == 0 && str_catc(&r, 0) == 0 && str_catc(&r, letter) == 0
      && str_catb(&r, addr, addr_len) == 0 && str_catc(&r, 0) == 0 && str_catb(&r, text, text_len) == 0
      && netstring_cat(out, r.s, r.len) == 0)
    ret = 0;
  str_free(&r);
  return ret;
}

int journal_record_parse(const char *s, size_t n, struct journal_record *rec, size_t *used)
{
  size_t off, len, idlen, alen, dot;
  const char *d;
  int r = netstring_parse(s, n, JOURNAL_RECORD_MAX, &off, &len, used);
  if (r == 0) return 0;
  if (r != 1) { errno = EPROTO; return -1; }
  d = s + off;
  idlen = byte_chr(d, len, 0);
  if (idlen == 0 || idlen + 1 > len || scan_ulong_exact(d, idlen, &rec->id) < 0) { errno = EPROTO; return -1; }
  d += idlen + 1;
  len -= idlen + 1;
  idlen = byte_chr(d, len, 0); /* SECONDS.NANOSECONDS */
  dot = byte_chr(d, idlen, '.');
  if (idlen == len || dot == 0 || dot + 1 >= idlen || scan_ulong_exact(d, dot, &rec->sec) < 0
      || scan_ulong_exact(d + dot + 1, idlen - dot - 1, &rec->nsec) < 0 || idlen + 2 > len) {
    errno = EPROTO;
    return -1;
  }
  rec->letter = d[idlen + 1];
  if (rec->letter != 'K' && rec->letter != 'P' && rec->letter != 'D' && rec->letter != 'Z') {
    errno = EPROTO;
    return -1;
  }
  d += idlen + 2;
  len -= idlen + 2;
  alen = byte_chr(d, len, 0);
  if (alen == len || alen == 0) { errno = EPROTO; return -1; }
  rec->addr = d;
  rec->addr_len = alen;
  rec->text = d + alen + 1;
  rec->text_len = len - alen - 1;
  if (byte_chr(rec->text, rec->text_len, 0) != rec->text_len) { errno = EPROTO; return -1; }
  return 1;
}

int journal_message_stamp(const char *path, unsigned long *sec, unsigned long *nsec)
{
  struct stat st;
  if (lstat(path, &st) < 0) return -1;
  *sec = (unsigned long)st.st_mtim.tv_sec;
  *nsec = (unsigned long)st.st_mtim.tv_nsec;
  return 0;
}

int journal_open_append(const char *path)
{
  struct stat st;
  int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return -1;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    int e = S_ISREG(st.st_mode) ? errno : EINVAL;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}
