/* dkim_crypto.c: see dkim_crypto.h. */
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim_crypto.h"

int dkim_crypto_sha256(const char *s, size_t n, unsigned char out[32])
{
  unsigned int len = 0;
  if (EVP_Digest(s, n, out, &len, EVP_sha256(), 0) != 1 || len != 32) return -1;
  return 0;
}

int dkim_crypto_verify(int ed25519, const str *key, const str *sig, const char *data, size_t n)
{
  EVP_PKEY *pk = 0;
  EVP_MD_CTX *ctx = 0;
  int ret = -1, r;

  if (ed25519) {
    unsigned char h[32];
    if (key->len != 32) return -1;
    pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, 0, (const unsigned char *)key->s, 32);
    if (!pk) return -1;
    if (dkim_crypto_sha256(data, n, h) < 0) goto end;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, 0, 0, 0, pk) != 1) goto end;
    r = EVP_DigestVerify(ctx, (const unsigned char *)sig->s, sig->len, h, 32);
    ret = r == 1 ? 1 : 0;
  } else {
    const unsigned char *p = (const unsigned char *)key->s;
    pk = d2i_PUBKEY(0, &p, (long)key->len);
    if (!pk || p != (const unsigned char *)key->s + key->len) {
      EVP_PKEY_free(pk);
      p = (const unsigned char *)key->s;
      pk = d2i_PublicKey(EVP_PKEY_RSA, 0, &p, (long)key->len);
      if (!pk) return -1;
    }
    if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA || EVP_PKEY_get_bits(pk) < 1024) goto end;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, 0, EVP_sha256(), 0, pk) != 1) goto end;
    r = EVP_DigestVerify(ctx, (const unsigned char *)sig->s, sig->len, (const unsigned char *)data, n);
    ret = r == 1 ? 1 : 0;
  }
end:
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  return ret;
}
