/* fuzz_tlsgate.c: tlsgate_request_parse, the STARTTLS gate's check of
 * the bytes a requester sends, on arbitrary bytes. The input is copied
 * to a block of exactly its size so ASan catches any read past n. An
 * accepted request is the mode byte y or Y and an address of at most
 * TLSGATE_IP_MAX address characters, pointing into the input; a request
 * rebuilt from those parts is accepted alike. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlsgate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size ? size : 1);
  char mode = 0, mode2 = 0, again[1 + TLSGATE_IP_MAX];
  const char *ip = 0, *ip2 = 0;
  size_t iplen = 0, iplen2 = 0;

  if (!s) return 0;
  if (size) memcpy(s, data, size);
  if (tlsgate_request_parse(s, size, &mode, &ip, &iplen) == 0) {
    if (mode != 'y' && mode != 'Y') abort();
    if (ip != s + 1 || iplen != size - 1 || iplen > TLSGATE_IP_MAX || !tlsgate_ip_ok(ip, iplen)) abort();
    again[0] = mode;
    memcpy(again + 1, ip, iplen);
    if (tlsgate_request_parse(again, 1 + iplen, &mode2, &ip2, &iplen2) != 0 || mode2 != mode || iplen2 != iplen)
      abort();
  } else if (size >= 1 && (s[0] == 'y' || s[0] == 'Y') && tlsgate_ip_ok(s + 1, size - 1)) {
    abort();
  }
  free(s);
  return 0;
}
