/* fuzz_authcheck.c: a whole message through authcheck_run (header
 * splitting, DKIM-Signature and tag-list parsing, canonicalization,
 * the header bytes of each signature, From parsing, DMARC, the
 * Authentication-Results field and the removal of forged ones), with
 * lookups answered from the input (the first line is every TXT record:
 * a DKIM key or a DMARC policy) and a stand-in for libcrypto that
 * accepts every signature. Also dkim_key_parse and dmarc_record_parse
 * on the first line. The new message must hold the header once. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "authcheck.h"
#include "byte.h"
#include "dkimv.h"
#include "dmarc.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *line;
static size_t line_len;

static int f_txt(void *ctx, const char *name, size_t len, struct dns_txtlist *out)
{
  (void)ctx; (void)name; (void)len;
  out->n = 0;
  out->txt = calloc(1, sizeof *out->txt);
  if (!out->txt) return -1;
  if (str_copyb(&out->txt[0], line, line_len) < 0) { free(out->txt); out->txt = 0; return -1; }
  out->n = 1;
  return 0;
}

static int f_addr(void *ctx, const char *name, size_t len, int family, struct dns_iplist *out)
{
  (void)ctx; (void)name; (void)len; (void)family;
  out->ip = 0;
  out->n = 0;
  errno = ENOENT;
  return -1;
}

static int f_mx(void *ctx, const char *name, size_t len, struct dns_mxlist *out)
{
  (void)ctx; (void)name; (void)len;
  out->mx = 0;
  out->n = 0;
  out->nullmx = 0;
  errno = EAGAIN;
  return -1;
}

static int f_ptr(void *ctx, int family, const unsigned char *ip, str *name)
{
  (void)ctx; (void)family; (void)ip; (void)name;
  errno = ENOENT;
  return -1;
}

static int c_sha256(const char *s, size_t n, unsigned char out[32])
{
  size_t i;
  memset(out, 0, 32);
  for (i = 0; i < n; ++i) out[i % 32] = (unsigned char)(out[i % 32] ^ (unsigned char)s[i]);
  return 0;
}

static int c_verify(int ed25519, const str *key, const str *sig, const char *d, size_t n)
{
  (void)ed25519; (void)key; (void)sig; (void)d; (void)n;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct spf_dns dns = { 0, f_txt, f_addr, f_mx, f_ptr };
  struct authcheck_crypto cr = { c_sha256, c_verify };
  struct authcheck_conf conf;
  struct authcheck_input in;
  struct authcheck_result res;
  struct dmarc_record rec;
  char *s = malloc(size ? size : 1);
  str out = STR_INIT, key = STR_INIT;
  const char *why;
  int ed, strict;

  if (!s) return 0;
  if (size) memcpy(s, data, size);
  line = s;
  line_len = byte_chr(s, size, '\n');
  (void)dkim_key_parse(line, line_len, &ed, &strict, &key, &why);
  (void)dmarc_record_parse(line, line_len, &rec);
  memset(&conf, 0, sizeof conf);
  conf.me = "mx.example";
  conf.me_len = 10;
  conf.reject_dmarc = conf.reject_spf = conf.defer_temp = 1;
  memset(&in, 0, sizeof in);
  in.have_ip = 1;
  in.family = AF_INET;
  memcpy(in.ip, "\xc0\0\x02\x01", 4);
  in.helo = "helo.test";
  in.helo_len = 9;
  in.sender = "a@b.example.test";
  in.sender_len = 16;
  in.msg = s;
  in.msg_len = size;
  if (authcheck_run(&conf, &dns, &cr, &in, &res) == 0) {
    if (res.verdict == AUTHCHECK_REFUSE) {
      if (res.header.len != 0) abort();
    } else {
      if (res.header.len < 24 || memcmp(res.header.s, "Authentication-Results: ", 24) != 0) abort();
      if (authcheck_message(&res, &in, &out) == 0 && out.len < res.header.len) abort();
    }
  }
  authcheck_result_free(&res);
  str_free(&out);
  str_free(&key);
  free(s);
  return 0;
}
