/* fuzz_spf.c: SPF records and macros on arbitrary bytes. The first
 * byte picks the mode: 0 spf_record_check on the rest; 1
 * spf_macro_expand on the rest (an expansion is printable ASCII and
 * bounded); else spf_check with every TXT lookup answered by the rest
 * (split at '\n' into records), every A lookup by 192.0.2.1, MX and
 * PTR by NXDOMAIN, so include/redirect recurse into the same text and
 * the lookup limits must stop it. The input is copied to a block of
 * exactly its size so ASan catches any read past the end. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "byte.h"
#include "spf.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *text;
static size_t text_len;
static unsigned queries;

static int f_txt(void *ctx, const char *name, size_t len, struct dns_txtlist *out)
{
  size_t pos = 0, k = 0;
  (void)ctx; (void)name; (void)len;
  if (++queries > 100) abort(); /* the limits must stop recursion */
  out->txt = calloc(8, sizeof *out->txt);
  out->n = 0;
  if (!out->txt) return -1;
  while (pos <= text_len && k < 8) {
    size_t l = byte_chr(text + pos, text_len - pos, '\n');
    if (str_copyb(&out->txt[k], text + pos, l) < 0) { out->n = k; dns_txtlist_free(out); return -1; }
    out->n = ++k;
    pos += l + 1;
  }
  return 0;
}

static int f_addr(void *ctx, const char *name, size_t len, int family, struct dns_iplist *out)
{
  (void)ctx; (void)name;
  if (++queries > 100) abort();
  out->ip = 0;
  out->n = 0;
  if (len % 3 == 0) { errno = ENOENT; return -1; }
  if (family != AF_INET) return 0;
  out->ip = calloc(1, sizeof *out->ip);
  if (!out->ip) return -1;
  out->ip[0].family = AF_INET;
  memcpy(out->ip[0].ip, "\xc0\0\x02\x01", 4);
  out->n = 1;
  return 0;
}

static int f_mx(void *ctx, const char *name, size_t len, struct dns_mxlist *out)
{
  (void)ctx; (void)name; (void)len;
  if (++queries > 100) abort();
  out->mx = 0;
  out->n = 0;
  out->nullmx = 0;
  errno = ENOENT;
  return -1;
}

static int f_ptr(void *ctx, int family, const unsigned char *ip, str *name)
{
  (void)ctx; (void)family; (void)ip; (void)name;
  if (++queries > 100) abort();
  errno = ENOENT;
  return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct spf_request rq;
  struct spf_dns d = { 0, f_txt, f_addr, f_mx, f_ptr };
  char *s;
  str out = STR_INIT;
  size_t i;

  if (size < 1) return 0;
  s = malloc(size - 1 ? size - 1 : 1);
  if (!s) return 0;
  memcpy(s, data + 1, size - 1);
  memset(&rq, 0, sizeof rq);
  rq.family = data[0] & 0x80 ? AF_INET6 : AF_INET;
  memcpy(rq.ip, "\xc0\0\x02\x01\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
  rq.sender = "user-name@example.test";
  rq.sender_len = 22;
  rq.helo = "helo.example.test";
  rq.helo_len = 17;
  rq.domain = "example.test";
  rq.domain_len = 12;
  switch (data[0] & 0x7f) {
  case 0:
    (void)spf_record_check(s, size - 1, &rq);
    break;
  case 1:
    if (spf_macro_expand(&out, s, size - 1, &rq, "example.test", 12) == 0)
      for (i = 0; i < out.len; ++i)
        if ((unsigned char)out.s[i] < 0x20 || (unsigned char)out.s[i] > 0x7e) abort();
    break;
  default:
    text = s;
    text_len = size - 1;
    queries = 0;
    if (spf_check(&d, &rq) > SPF_PERMERROR) abort();
    break;
  }
  str_free(&out);
  free(s);
  return 0;
}
