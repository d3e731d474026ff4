/* tlsc.c: the TLS client engine of sluice-tlsc (tlsc.h). */
#define _GNU_SOURCE /* POLLRDHUP */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "deadline.h"
#include "fd.h"
#include "str.h"
#include "tlsc.h"

/* Forward secrecy for TLS 1.2 (TLS 1.3 has it by design): ECDHE or
 * DHE key exchange, no RSA key transport, no NULL authentication. */
#define TLSC_CIPHERS "HIGH:!aNULL:!eNULL:!kRSA:!PSK:!SRP:!MD5:!RC4:!3DES"

/* Appends s to err, non-printable bytes as '?', within TLSC_REASON_MAX. */
static void cat_reason(str *err, const char *s)
{
  for (; *s && err->len < TLSC_REASON_MAX; ++s) {
    char c = *s;
    if (c < 0x20 || c > 0x7e) c = '?';
    if (str_catc(err, c) < 0) return;
  }
}

static void set_reason(str *err, const char *a, const char *b)
{
  str_truncate(err, 0);
  cat_reason(err, a);
  if (b) cat_reason(err, b);
}

/* The reason of the last OpenSSL error after SSL_get_error said e. */
static void ssl_reason(str *err, const char *what, int e, int saved_errno)
{
  unsigned long l = ERR_peek_last_error();
  const char *r = l ? ERR_reason_error_string(l) : 0;
  str_truncate(err, 0);
  cat_reason(err, what);
  if (r) cat_reason(err, r);
  else if (e == SSL_ERROR_SYSCALL && saved_errno) cat_reason(err, strerror(saved_errno));
  else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) cat_reason(err, "connection closed by the server");
  else cat_reason(err, "unknown TLS error");
  ERR_clear_error();
}

SSL_CTX *tlsc_ctx_new(const char *cafile, str *cafail, str *err)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  str_truncate(cafail, 0);
  if (!ctx) { ssl_reason(err, "unable to make a TLS context: ", SSL_ERROR_SSL, 0); return 0; }
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) || !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)
      || !SSL_CTX_set_cipher_list(ctx, TLSC_CIPHERS)) {
    ssl_reason(err, "unable to set up the TLS context: ", SSL_ERROR_SSL, 0);
    SSL_CTX_free(ctx);
    return 0;
  }
  /* a server that closes without close_notify after QUIT is the
   * common case, and SMTP has its own end markers: no error for it */
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET
                               | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, 0);
  if (cafile) {
    if (SSL_CTX_load_verify_locations(ctx, cafile, 0) != 1) {
      unsigned long l = ERR_peek_last_error();
      const char *r = l ? ERR_reason_error_string(l) : 0;
      set_reason(cafail, "unable to load the CA file ", cafile);
      cat_reason(cafail, ": ");
      cat_reason(cafail, r ? r : "no certificate in it");
      ERR_clear_error();
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    set_reason(cafail, "unable to load the system CA store", 0);
    ERR_clear_error();
  }
  return ctx;
}

SSL *tlsc_new(SSL_CTX *ctx, int fd, const char *name, const char *ip, str *err)
{
  SSL *ssl;
  X509_VERIFY_PARAM *param;
  if (fd_nonblock(fd, 1) < 0) { set_reason(err, "unable to set the socket non-blocking: ", strerror(errno)); return 0; }
  ssl = SSL_new(ctx);
  if (!ssl) { ssl_reason(err, "unable to make a TLS connection: ", SSL_ERROR_SSL, 0); return 0; }
  param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (!SSL_set_fd(ssl, fd)) goto fail;
  if (name) {
    if (!SSL_set_tlsext_host_name(ssl, name)) goto fail;
    if (!X509_VERIFY_PARAM_set1_host(param, name, 0)) goto fail;
  } else if (ip) {
    if (!X509_VERIFY_PARAM_set1_ip_asc(param, ip)) goto fail;
  }
  SSL_set_connect_state(ssl);
  return ssl;
fail:
  ssl_reason(err, "unable to set up the TLS connection: ", SSL_ERROR_SSL, 0);
  SSL_free(ssl);
  return 0;
}

/* Waits for fd to become ready for events until deadline, or for
 * anything on watch (>= 0: the caller sends nothing before the report,
 * so input there means it went away). 0 ready, -1 timed out, the
 * caller gone or poll failed (*err). */
static int wait_fd(int fd, short events, int watch, long long deadline, str *err)
{
  for (;;) {
    struct pollfd p[2] = { { fd, events, 0 }, { watch, POLLIN | POLLRDHUP, 0 } };
    long long left = deadline ? deadline - deadline_now() : 2147483647LL;
    int r;
    if (left <= 0) { set_reason(err, "timed out", 0); return -1; }
    r = poll(p, 2, left > 2147483647LL ? 2147483647 : (int)left);
    if (r > 0 && p[1].revents) { set_reason(err, "the caller went away", 0); return -1; }
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) { set_reason(err, "poll: ", strerror(errno)); return -1; }
  }
}

int tlsc_handshake(SSL *ssl, int fd, int watch, long long deadline, str *err)
{
  for (;;) {
    int r, e, saved;
    ERR_clear_error();
    errno = 0;
    r = SSL_connect(ssl);
    if (r == 1) return 0;
    saved = errno;
    e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
      if (wait_fd(fd, POLLIN, watch, deadline, err) < 0) return -1;
    } else if (e == SSL_ERROR_WANT_WRITE) {
      if (wait_fd(fd, POLLOUT, watch, deadline, err) < 0) return -1;
    } else {
      ssl_reason(err, "", e, saved);
      return -1;
    }
  }
}

int tlsc_verified(SSL *ssl, const str *cafail, int checked, str *why)
{
  long v;
  if (!SSL_get0_peer_certificate(ssl)) { set_reason(why, "no certificate", 0); return 0; }
  if (cafail->len) { str_truncate(why, 0); str_cat(why, cafail); return 0; }
  v = SSL_get_verify_result(ssl);
  if (v != X509_V_OK) { set_reason(why, X509_verify_cert_error_string(v), 0); return 0; }
  if (!checked) { set_reason(why, "no host name to check", 0); return 0; }
  return 1;
}

int tlsc_relay(SSL *ssl, int net, int in, int out, unsigned long timeout_ms, str *err)
{
  char a[16384], b[16384]; /* a: from in to the server; b: from the server to out */
  size_t aoff = 0, alen = 0, boff = 0, blen = 0;
  int in_eof = 0, net_eof = 0;

  if (fd_nonblock(in, 1) < 0 || fd_nonblock(out, 1) < 0) {
    set_reason(err, "unable to set the pipe non-blocking: ", strerror(errno));
    return -1;
  }
  for (;;) {
    struct pollfd p[3];
    int progress = 0, r, e, saved;
    short nev = 0, inev = 0, outev = 0;

    if (!in_eof && alen == 0) {
      ssize_t n = read(in, a, sizeof a);
      if (n > 0) { aoff = 0; alen = (size_t)n; progress = 1; }
      else if (n == 0) { in_eof = 1; progress = 1; }
      else if (errno == EAGAIN || errno == EWOULDBLOCK) inev = POLLIN;
      else if (errno == EINTR) progress = 1;
      else { in_eof = 1; progress = 1; }
    } else if (!in_eof) {
      /* a full buffer: no more input, but the caller closing (it gave
       * up on a server that does not read) ends the relay at once */
      inev = POLLRDHUP;
    }
    if (alen > 0) {
      ERR_clear_error();
      errno = 0;
      r = SSL_write(ssl, a + aoff, alen > 16384 ? 16384 : (int)alen);
      saved = errno;
      if (r > 0) {
        aoff += (size_t)r;
        alen -= (size_t)r;
        progress = 1;
      } else {
        e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ) nev |= POLLIN;
        else if (e == SSL_ERROR_WANT_WRITE) nev |= POLLOUT;
        else { ssl_reason(err, "sending: ", e, saved); return -1; }
      }
    }
    if (!net_eof && blen == 0) {
      ERR_clear_error();
      errno = 0;
      r = SSL_read(ssl, b, sizeof b);
      saved = errno;
      if (r > 0) {
        boff = 0;
        blen = (size_t)r;
        progress = 1;
      } else {
        e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ) nev |= POLLIN;
        else if (e == SSL_ERROR_WANT_WRITE) nev |= POLLOUT;
        else if (e == SSL_ERROR_ZERO_RETURN) { net_eof = 1; progress = 1; }
        else { ssl_reason(err, "receiving: ", e, saved); return -1; }
      }
    }
    if (blen > 0) {
      ssize_t n = write(out, b + boff, blen);
      if (n > 0) { boff += (size_t)n; blen -= (size_t)n; progress = 1; }
      else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) outev = POLLOUT;
      else if (n < 0 && errno == EINTR) progress = 1;
      else { set_reason(err, "writing the plaintext: ", strerror(errno)); return -1; }
    }
    if (in_eof && alen == 0) {
      SSL_shutdown(ssl); /* the close_notify, if it can go at once */
      return 0;
    }
    if (net_eof && blen == 0) return 0;
    if (progress) continue;
    /* a descriptor nothing waits for is left out (-1): its POLLHUP
     * would otherwise wake the loop again and again */
    p[0].fd = inev ? in : -1; p[0].events = inev; p[0].revents = 0;
    p[1].fd = outev ? out : -1; p[1].events = outev; p[1].revents = 0;
    p[2].fd = nev ? net : -1; p[2].events = nev; p[2].revents = 0;
    r = poll(p, 3, timeout_ms == 0 || timeout_ms > 2147483647UL ? -1 : (int)timeout_ms);
    if (r == 0) { set_reason(err, "timed out", 0); return -1; }
    if (r < 0 && errno != EINTR) { set_reason(err, "poll: ", strerror(errno)); return -1; }
    if (r > 0 && alen > 0 && (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR))) return 0;
  }
}
