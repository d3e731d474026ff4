/* tlsbundle.c: see tlsbundle.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "byte.h"
#include "fd.h"
#include "file.h"
#include "fmt.h"
#include "str.h"
#include "tlsbundle.h"

void tlsbundle_wipe(char *s, size_t n)
{
  volatile char *v = s;
  while (n--) *v++ = 0;
}

int tlsbundle_sni_name_ok(const char *name, size_t n)
{
  size_t i;
  if (n == 0 || n > 253 || name[0] == '.' || name[n - 1] == '.') return 0;
  for (i = 0; i < n; ++i) {
    char c = name[i];
    if (c == '.' && i && name[i - 1] == '.') return 0;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
      return 0;
  }
  return 1;
}

/* Appends one record NAME NUL LENGTH NUL BYTES to out. */
static int bundle_add(str *out, const char *name, size_t n, const str *pem)
{
  char num[FMT_ULONG];
  num[fmt_ulong(num, (unsigned long)pem->len)] = 0;
  if (str_catb(out, name, n) < 0 || str_catc(out, 0) < 0 || str_cats(out, num) < 0 || str_catc(out, 0) < 0
      || str_catb(out, pem->s, pem->len) < 0)
    return -1;
  return 0;
}

static void pem_forget(str *pem)
{
  if (pem->s) tlsbundle_wipe(pem->s, pem->a);
  str_free(pem);
}

int tlsbundle_read(str *out)
{
  DIR *d;
  struct dirent *de;
  str path = STR_INIT, pem = STR_INIT;
  size_t nsni = 0;
  int r, skipped = 0;

  r = file_read("control/tls/cert.pem", &pem, TLSBUNDLE_PEM_MAX);
  if (r <= 0 || bundle_add(out, "cert", 4, &pem) < 0) {
    int e = r == 0 ? ENOENT : r < 0 ? errno : ENOMEM;
    pem_forget(&pem);
    errno = e;
    return -1;
  }
  d = opendir("control/tls");
  if (d) {
    while ((de = readdir(d)) != 0 && nsni < TLSBUNDLE_SNI_MAX) {
      size_t n = byte_len(de->d_name, 300);
      if (n < 5 || !byte_equal(de->d_name + n - 4, ".pem", 4)) continue;
      n -= 4;
      if (n == 4 && byte_equal(de->d_name, "cert", 4)) continue;
      if (!tlsbundle_sni_name_ok(de->d_name, n)) continue;
      if (str_copys(&path, "control/tls/") < 0 || str_cats(&path, de->d_name) < 0 || str_0(&path) < 0) goto nomem;
      if (file_read(path.s, &pem, TLSBUNDLE_PEM_MAX) <= 0) {
        ++skipped;
        continue;
      }
      if (bundle_add(out, de->d_name, n, &pem) < 0) goto nomem;
      ++nsni;
    }
    closedir(d);
  }
  pem_forget(&pem);
  str_free(&path);
  return skipped;

nomem:
  closedir(d);
  pem_forget(&pem);
  str_free(&path);
  errno = ENOMEM;
  return -1;
}

/* Puts fds[0..n) on 3, 4, ... (first out of the way, above 9, so that
 * no target is overwritten before it was moved), without close-on-exec. */
static int fds_place(int *fds, int n)
{
  int i;
  for (i = 0; i < n; ++i) {
    int high = fcntl(fds[i], F_DUPFD, 10);
    if (high < 0) return -1;
    close(fds[i]);
    fds[i] = high;
  }
  for (i = 0; i < n; ++i)
    if (fd_move(3 + i, fds[i]) < 0) return -1;
  return 0;
}

int tlsbundle_exec_relay(const char *path, char mode, unsigned long pid, unsigned long timeout, unsigned long idle,
                         int ctl, int toapp, int fromapp, str *bundle, const char **what)
{
  char a_pid[FMT_ULONG], a_to[FMT_ULONG], a_idle[FMT_ULONG], a_mode[2];
  char *args[6];
  int fds[4];
  int mem = (int)syscall(SYS_memfd_create, "sluice-tls", 0);

  a_mode[0] = mode;
  a_mode[1] = 0;
  *what = "unable to make a memory file";
  if (mem < 0) return -1;
  *what = "unable to write a memory file";
  if (write_all(mem, bundle->s, bundle->len) < 0 || lseek(mem, 0, SEEK_SET) != 0) return -1;
  tlsbundle_wipe(bundle->s, bundle->len);
  str_free(bundle);
  fds[0] = ctl;
  fds[1] = toapp;
  fds[2] = fromapp;
  fds[3] = mem;
  *what = "unable to set up descriptors";
  if (fds_place(fds, 4) < 0) return -1;
  a_pid[fmt_ulong(a_pid, pid)] = 0;
  a_to[fmt_ulong(a_to, timeout)] = 0;
  a_idle[fmt_ulong(a_idle, idle)] = 0;
  args[0] = (char *)"sluice-tlsrelay";
  args[1] = a_mode;
  args[2] = a_pid;
  args[3] = a_to;
  args[4] = a_idle;
  args[5] = 0;
  *what = "unable to run sluice-tlsrelay";
  execv(path, args);
  return -1;
}
