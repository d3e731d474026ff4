/* test_maildir.c: unique names, host escaping, delivery into a real
 * Maildir, and failures that must leave nothing behind (maildir.h). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "file.h"
#include "maildir.h"
#include "str.h"

static str pathbuf;

static const char *join(const char *a, const char *b)
{
  str_copys(&pathbuf, a);
  str_catc(&pathbuf, '/');
  str_cats(&pathbuf, b);
  str_0(&pathbuf);
  return pathbuf.s;
}

/* Number of entries (without . and ..) in dir; the last name in *name. */
static int entries(const char *dir, str *name)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  if (!d) return -1;
  while ((e = readdir(d)) != 0) {
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
    ++n;
    if (name) { str_copys(name, e->d_name); str_0(name); }
  }
  closedir(d);
  return n;
}

int main(void)
{
  str s = STR_INIT, name = STR_INIT, listed = STR_INIT, md = STR_INIT;
  char dir[] = "/tmp/test_maildir.XXXXXX";
  const char *what;
  int msg;
  struct stat st;

  CHECK(maildir_cat_host(&s, "a/b:c.d", 7) == 0);
  CHECK_BYTES(s.s, s.len, "a\\057b\\072c.d");
  CHECK(maildir_unique(&s, 1795316672, 42, 999, 0, 0, 0, "h:x", 3) == 0);
  CHECK_BYTES(s.s, s.len, "1795316672.M42P999.h\\072x");
  CHECK(maildir_unique(&s, 1, 0, 2, 1, 2049, 123456, "host", 4) == 0);
  CHECK_BYTES(s.s, s.len, "1.M0P2V2049I123456.host");

  CHECK(mkdtemp(dir) != 0);
  str_copys(&md, join(dir, "Maildir"));
  str_0(&md);
  CHECK(maildir_make(md.s) == 0);
  CHECK(stat(join(md.s, "tmp"), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
  CHECK(stat(join(md.s, "new"), &st) == 0 && (st.st_mode & 0777) == 0700);
  CHECK(stat(join(md.s, "cur"), &st) == 0 && (st.st_mode & 0777) == 0700);
  CHECK(maildir_make(md.s) == -1 && errno == EEXIST);

  CHECK(file_replace(join(dir, "msg"), "Subject: x\n\nbody\n", 17, 0600) == 0);
  msg = open_read(join(dir, "msg"));
  CHECK(msg >= 0);
  CHECK(maildir_deliver(md.s, msg, "H: 1\n", 5, &name, &what) == 0);
  CHECK(entries(join(md.s, "tmp"), 0) == 0);
  CHECK(entries(join(md.s, "new"), &listed) == 1);
  CHECK(name.len == listed.len && memcmp(name.s, listed.s, name.len) == 0);
  CHECK(memchr(name.s, '/', name.len) == 0 && memchr(name.s, ':', name.len) == 0);
  str_copys(&s, "new/");
  str_cat(&s, &name);
  str_0(&s);
  CHECK(file_read(join(md.s, s.s), &s, 1000) == 1);
  CHECK_BYTES(s.s, s.len, "H: 1\nSubject: x\n\nbody\n");
  /* trailing slash accepted, second name differs */
  str_catc(&md, '/');
  str_0(&md);
  CHECK(maildir_deliver(md.s, msg, "", 0, &s, &what) == 0);
  CHECK(!(s.len == name.len && memcmp(s.s, name.s, s.len) == 0));
  CHECK(entries(join(md.s, "new"), 0) == 2);

  /* CR LF and bare CR left in a queued message: LF only in the file */
  {
    int m2;
    str got = STR_INIT;
    CHECK(file_replace(join(dir, "msg2"), "Subject: y\r\n\r\na\rb\r\r\nend\r", 24, 0600) == 0);
    m2 = open_read(join(dir, "msg2"));
    CHECK(m2 >= 0);
    CHECK(maildir_deliver(md.s, m2, "H: 2\n", 5, &name, &what) == 0);
    str_copys(&got, "new/");
    str_cat(&got, &name);
    str_0(&got);
    CHECK(file_read(join(md.s, got.s), &got, 1000) == 1);
    CHECK_BYTES(got.s, got.len, "H: 2\nSubject: y\n\na b \nend ");
    close(m2);
    unlink(join(dir, "msg2"));
    str_free(&got);
  }

  /* a missing Maildir: temporary error, nothing made */
  CHECK(maildir_deliver(join(dir, "none"), msg, "", 0, 0, &what) == -1 && errno == ENOENT && what[0]);
  /* an unreadable message: the tmp file is removed, new/ untouched */
  close(msg);
  CHECK(maildir_deliver(md.s, msg, "H: 1\n", 5, 0, &what) == -1 && errno == EBADF);
  CHECK(entries(join(md.s, "tmp"), 0) == 0);
  CHECK(entries(join(md.s, "new"), 0) == 3);

  /* clean up */
  {
    str nd = STR_INIT;
    DIR *d;
    struct dirent *e;
    str_copys(&nd, join(md.s, "new"));
    str_0(&nd);
    d = opendir(nd.s);
    while (d && (e = readdir(d)) != 0)
      if (e->d_name[0] != '.') unlink(join(nd.s, e->d_name));
    if (d) closedir(d);
    rmdir(nd.s);
    rmdir(join(md.s, "tmp"));
    rmdir(join(md.s, "cur"));
    rmdir(md.s);
    unlink(join(dir, "msg"));
    CHECK(rmdir(dir) == 0);
    str_free(&nd);
  }
  str_free(&s); str_free(&name); str_free(&listed); str_free(&md); str_free(&pathbuf);
  return check_done();
}
