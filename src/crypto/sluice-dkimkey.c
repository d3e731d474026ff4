/* sluice-dkimkey: makes a DKIM key pair in control/dkim and prints the
 * TXT record to publish (sluice-dkimkey(8)).
 *
 *   sluice-dkimkey [-t rsa|ed25519] [-f] domain selector
 *
 * The private key goes to control/dkim/SELECTOR.DOMAIN.TYPE, mode 0400,
 * owned by the dkim role user (when run as root); nobody else may read
 * it. Prints the TXT record on the first line and the line to add to
 * control/dkimdomains on the second. Exit 0, 100 on a usage error or an
 * existing key (without -f), 111 on trouble. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auto.h"
#include "buf.h"
#include "byte.h"
#include "die.h"
#include "file.h"
#include "priv.h"
#include "str.h"

static int name_ok(const char *s)
{
  size_t i;
  if (!*s || *s == '.' || *s == '-') return 0;
  for (i = 0; s[i]; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '-' || c == '_'))
      return 0;
    if (i > 253) return 0;
  }
  return 1;
}

static void b64(str *out, const unsigned char *s, size_t n)
{
  if (n > 100000 || str_readyplus(out, 4 * ((n + 2) / 3) + 1) < 0) die_nomem();
  out->len += (size_t)EVP_EncodeBlock((unsigned char *)out->s + out->len, s, (int)n);
}

int main(int argc, char **argv)
{
  const char *type = "rsa", *domain, *selector;
  int force = 0, fd, ed, i;
  EVP_PKEY *key = 0;
  str path = STR_INIT, tmp = STR_INIT, pub = STR_INIT, txt = STR_INIT;
  uid_t uid = 0;
  gid_t gid = 0;
  int asroot = geteuid() == 0;
  BIO *bio;
  char *pem;
  long pemlen;
  char outmem[1024];
  buf out;

  die_progname("sluice-dkimkey");
  for (i = 1; i < argc; i++) {
    if (byte_equal(argv[i], "-f", 3)) force = 1;
    else if (byte_equal(argv[i], "-t", 3) && i + 1 < argc) type = argv[++i];
    else break;
  }
  if (argc - i != 2) die_usage("sluice-dkimkey [-t rsa|ed25519] [-f] domain selector");
  domain = argv[i];
  selector = argv[i + 1];
  if (!name_ok(domain) || !name_ok(selector)) die_perm("bad domain or selector");
  ed = byte_equal(type, "ed25519", 8);
  if (!ed && !byte_equal(type, "rsa", 4)) die_usage("sluice-dkimkey [-t rsa|ed25519] [-f] domain selector");

  if (chdir(auto_home) < 0) die_temp_sys("unable to switch to ", auto_home);
  if (asroot && priv_lookup(auto_user_dkim, &uid, &gid) != 1)
    die_temp("there is no user ", auto_user_dkim, " (tools/setup makes it)");
  if (mkdir("control/dkim", 0700) < 0 && errno != EEXIST) die_temp_sys("unable to make control/dkim");
  if (asroot && chown("control/dkim", uid, gid) < 0) die_temp_sys("unable to chown control/dkim");
  if (str_copys(&path, "control/dkim/") < 0 || str_cats(&path, selector) < 0 || str_catc(&path, '.') < 0 ||
      str_cats(&path, domain) < 0 || str_cats(&path, ed ? ".ed25519" : ".rsa") < 0 || str_0(&path) < 0)
    die_nomem();
  if (!force && access(path.s, F_OK) == 0) die_perm(path.s, " exists (-f replaces it)");

  key = ed ? EVP_PKEY_Q_keygen(0, 0, "ED25519") : EVP_PKEY_Q_keygen(0, 0, "RSA", (size_t)2048);
  if (!key) die_temp("unable to make a key");

  /* the private key, written to a new file then renamed */
  bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PrivateKey(bio, key, 0, 0, 0, 0, 0) != 1) die_temp("unable to encode the key");
  pemlen = BIO_get_mem_data(bio, &pem);
  if (str_copy(&tmp, &path) < 0 || str_cats(&tmp, ".tmp") < 0 || str_0(&tmp) < 0) die_nomem();
  unlink(tmp.s);
  fd = open(tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (fd < 0) die_temp_sys("unable to create ", tmp.s);
  if (asroot && fchown(fd, uid, gid) < 0) die_temp_sys("unable to chown ", tmp.s);
  if (fchmod(fd, 0400) < 0) die_temp_sys("unable to chmod ", tmp.s);
  if (pemlen < 0 || write_all(fd, pem, (size_t)pemlen) < 0 || file_sync(fd) < 0 || close(fd) < 0)
    die_temp_sys("unable to write ", tmp.s);
  BIO_free(bio);
  if (rename(tmp.s, path.s) < 0) die_temp_sys("unable to rename ", tmp.s);
  if (dir_sync("control/dkim") < 0) die_temp_sys("unable to sync control/dkim");

  /* p=: RSA: the SubjectPublicKeyInfo (RFC 6376 3.6.1); Ed25519: the
   * raw 32-byte key (RFC 8463 4.2) */
  if (ed) {
    unsigned char raw[32];
    size_t rl = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key, raw, &rl) != 1 || rl != 32) die_temp("unable to get the public key");
    b64(&pub, raw, rl);
  } else {
    unsigned char *der = 0;
    int dl = i2d_PUBKEY(key, &der);
    if (dl <= 0) die_temp("unable to get the public key");
    b64(&pub, der, (size_t)dl);
    OPENSSL_free(der);
  }
  EVP_PKEY_free(key);

  /* the record, in strings of at most 250 bytes */
  if (str_copys(&txt, "v=DKIM1; k=") < 0 || str_cats(&txt, ed ? "ed25519" : "rsa") < 0 ||
      str_cats(&txt, "; p=") < 0 || str_cat(&txt, &pub) < 0)
    die_nomem();
  buf_init(&out, 1, outmem, sizeof outmem);
  buf_puts(&out, selector);
  buf_puts(&out, "._domainkey.");
  buf_puts(&out, domain);
  buf_puts(&out, ". IN TXT");
  {
    size_t p, k;
    for (p = 0; p < txt.len; p += k) {
      k = txt.len - p > 250 ? 250 : txt.len - p;
      buf_puts(&out, " \"");
      buf_put(&out, txt.s + p, k);
      buf_puts(&out, "\"");
    }
  }
  buf_puts(&out, "\ncontrol/dkimdomains: ");
  buf_puts(&out, domain);
  buf_puts(&out, " ");
  buf_puts(&out, selector);
  buf_puts(&out, " ");
  buf_puts(&out, path.s);
  if (buf_putflush(&out, "\n", 1) < 0) die_temp_sys("unable to write the record");
  return 0;
}
