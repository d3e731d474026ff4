/* tlsctx.c: see tlsctx.h. */
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tlsctx.h"

SSL_CTX *tlsctx_new(int server)
{
  SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  long opts;

  if (!ctx) return 0;
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) goto fail;
  if (!SSL_CTX_set_max_proto_version(ctx, 0)) goto fail; /* the highest known: 1.3 */
  /* OpenSSL 3 refuses client-initiated renegotiation by default
   * (SSL_OP_ALLOW_CLIENT_RENEGOTIATION unset); NO_RENEGOTIATION also
   * stops TLS 1.2 renegotiation in both directions. */
  opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE;
  SSL_CTX_set_options(ctx, (uint64_t)opts);
  if (!SSL_CTX_set_cipher_list(ctx, TLSCTX_CIPHERS_12)) goto fail;
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (server && !SSL_CTX_set_num_tickets(ctx, 0)) goto fail;
  return ctx;
fail:
  SSL_CTX_free(ctx);
  return 0;
}

int tlsctx_load_pem(SSL_CTX *ctx, const char *path)
{
  if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1) return 0;
  if (SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) != 1) return 0;
  if (SSL_CTX_check_private_key(ctx) != 1) return 0;
  return 1;
}

int tlsctx_load_pem_mem(SSL_CTX *ctx, const char *pem, size_t len)
{
  BIO *b;
  X509 *x;
  EVP_PKEY *k;
  int ok = 0;

  if (len > INT_MAX) return 0;
  /* the certificate, then the rest of the chain */
  b = BIO_new_mem_buf(pem, (int)len);
  if (!b) return 0;
  x = PEM_read_bio_X509_AUX(b, 0, 0, 0);
  if (!x || SSL_CTX_use_certificate(ctx, x) != 1) goto done;
  X509_free(x);
  x = 0;
  if (SSL_CTX_clear_chain_certs(ctx) != 1) goto done;
  for (;;) {
    X509 *ca = PEM_read_bio_X509(b, 0, 0, 0);
    if (!ca) break;
    if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
      X509_free(ca);
      goto done;
    }
  }
  ERR_clear_error(); /* the end of the file ended the loop */
  BIO_free(b);
  /* the key, anywhere in the file */
  b = BIO_new_mem_buf(pem, (int)len);
  if (!b) return 0;
  k = PEM_read_bio_PrivateKey(b, 0, 0, 0);
  if (!k) goto done;
  ok = SSL_CTX_use_PrivateKey(ctx, k) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(k);
done:
  X509_free(x);
  BIO_free(b);
  return ok;
}

const char *tls_error_text(char *buf, size_t n)
{
  unsigned long e = ERR_get_error();

  if (!n) return buf;
  if (e) ERR_error_string_n(e, buf, n);
  else if (n > 1) {
    buf[0] = '?';
    buf[1] = 0;
  } else {
    buf[0] = 0;
  }
  ERR_clear_error();
  return buf;
}
