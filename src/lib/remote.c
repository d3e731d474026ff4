/* remote.c: hosts and connections for one remote delivery (remote.h). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "byte.h"
#include "control.h"
#include "deadline.h"
#include "dns.h"
#include "errtext.h"
#include "fd.h"
#include "ip.h"
#include "ipme.h"
#include "remote.h"
#include "scache.h"
#include "smtpauth.h"
#include "smtproutes.h"
#include "tcpto.h"
#include "tlspolicy.h"

int remote_connect(int family, const unsigned char *ip, unsigned long port, unsigned long timeout_ms)
{
  struct sockaddr_storage ss;
  socklen_t sl;
  int fd, e;
  memset(&ss, 0, sizeof ss);
  if (family == 6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((unsigned short)port);
    memcpy(&s6->sin6_addr, ip, 16);
    sl = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((unsigned short)port);
    memcpy(&s4->sin_addr, ip, 4);
    sl = sizeof *s4;
  }
  fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
    struct pollfd p;
    struct timespec start, now;
    if (errno != EINPROGRESS && errno != EINTR) goto fail;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
      long long spent, left;
      int r;
      clock_gettime(CLOCK_MONOTONIC, &now);
      spent = (long long)(now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      left = (long long)timeout_ms - spent;
      if (left <= 0) { errno = ETIMEDOUT; goto fail; }
      p.fd = fd;
      p.events = POLLOUT;
      p.revents = 0;
      r = poll(&p, 1, left > 2147483647LL ? 2147483647 : (int)left);
      if (r < 0) { if (errno == EINTR) continue; goto fail; }
      if (r == 0) continue; /* the loop notices the deadline */
      break;
    }
    {
      int err = 0;
      socklen_t el = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) goto fail;
      if (err) { errno = err; goto fail; }
    }
  }
  if (fd_nonblock(fd, 0) < 0) goto fail;
  return fd;
fail:
  e = errno;
  close(fd);
  errno = e;
  return -1;
}

/* One delivery's state. */
struct attempt {
  const struct remote_conf *c;
  const struct smtpc_msg *m;
  struct smtpc_rcpt *r;
  size_t n;
  str why;        /* the last failure */
  int allperm;    /* every host so far refused permanently */
  int tried;      /* hosts whose connection was attempted */
  int skipped;    /* addresses skipped because of tcpto */
  size_t addrs;   /* addresses looked at */
  size_t lookups; /* address queries made (two per host name) */
  int done;       /* every recipient has a status, or time is up */
  int dnstrouble; /* a host name could not be looked up (temporary) */
  long long deadline; /* of the whole delivery; 0: none */
  struct ipme me; /* this host's addresses, once me_state is 1 */
  int me_state;   /* 0 not loaded yet, 1 loaded, -1 could not be */
  struct tlspolicy tls; /* the TLS policy of the delivery */
  struct smtpauth auth; /* the credentials of the delivery, when have_auth */
  int have_auth;
  int tls_by_auth;      /* the TLS level was raised by the credentials line */
};

static int pending(const struct attempt *a)
{
  for (size_t i = 0; i < a->n; ++i)
    if (!a->r[i].status) return 1;
  return 0;
}

static void set_pending(struct attempt *a, char st, const char *text, size_t len)
{
  for (size_t i = 0; i < a->n; ++i)
    if (!a->r[i].status) {
      a->r[i].status = st;
      str_copyb(&a->r[i].text, text, len);
    }
}

static void set_pending_s(struct attempt *a, char st, const char *text)
{
  set_pending(a, st, text, strlen(text));
}

/* Every pending recipient gets st and the text "before DOMAIN after". */
static void set_pending_domain(struct attempt *a, char st, const char *before, const char *domain, size_t dlen,
                               const char *after)
{
  str t = STR_INIT;
  str_copys(&t, before);
  str_catb(&t, domain, dlen);
  str_cats(&t, after);
  set_pending(a, st, t.s, t.len);
  str_free(&t);
}

/* "name [ip]" or "[ip]" */
static void describe(str *d, const char *name, size_t nlen, int family, const unsigned char *ip)
{
  char t[IP6_FMT];
  str_truncate(d, 0);
  if (nlen) { str_catb(d, name, nlen); str_catc(d, ' '); }
  str_catc(d, '[');
  str_catb(d, t, family == 6 ? ip6_fmt(t, ip) : ip4_fmt(t, ip));
  str_catc(d, ']');
}

/* 1 (and the delivery is over) when its deadline has passed. */
static int out_of_time(struct attempt *a)
{
  if (!deadline_passed(a->deadline)) return 0;
  if (a->why.len == 0) str_copys(&a->why, "4.4.2 time limit of the delivery reached (timeoutremotedelivery)");
  a->allperm = 0;
  a->done = 1;
  return 1;
}

/* What a cached connection carries with it (the cache's opaque state). */
#define KEPT_MAGIC 0x5c0c4e01UL
struct kept {
  unsigned long magic;
  long long birth;        /* time() of the connect */
  unsigned long uses;     /* transactions made on it */
  struct smtpc_ext ext;   /* the keywords of its EHLO */
};

/* The key of a connection (scache.h): the address, the port, the TLS
 * policy and the HELO name; 0, or -1 (no memory: no cache). */
static int cache_key(str *k, const struct attempt *a, int family, const unsigned char *ip, unsigned long port)
{
  char t[IP6_FMT];
  str_truncate(k, 0);
  if (str_catb(k, t, family == 6 ? ip6_fmt(t, ip) : ip4_fmt(t, ip)) < 0 || str_catc(k, ' ') < 0
      || str_catulong(k, port) < 0 || str_cats(k, a->tls.level == TLSPOLICY_NONE || !a->c->tlsc_path ? " none " : " may ") < 0
      || str_catb(k, a->c->helo, a->c->helolen) < 0)
    return -1;
  return 0;
}

/* A connection from the cache for key (with *kp filled), or -1. */
static int cache_get(const struct attempt *a, const str *key, struct kept *kp)
{
  str st = STR_INIT;
  int fd = scache_get(a->c->scache_fd, key->s, key->len, &st);
  if (fd >= 0 && (st.len != sizeof *kp || (memcpy(kp, st.s, sizeof *kp), kp->magic != KEPT_MAGIC))) {
    close(fd);
    fd = -1;
  }
  if (fd >= 0 && (time(0) - kp->birth >= SCACHE_REUSE_TIME || kp->birth > time(0))) {
    smtpc_quit(fd, 1000);
    close(fd);
    fd = -1;
  }
  str_free(&st);
  return fd;
}

/* Hands fd to the cache after one more transaction, or says QUIT. */
static void cache_put(const struct attempt *a, const str *key, struct kept *kp, int fd)
{
  kp->uses++;
  kp->magic = KEPT_MAGIC;
  if (kp->uses < SCACHE_REUSE_COUNT && time(0) - kp->birth < SCACHE_REUSE_TIME
      && scache_send(a->c->scache_fd, 'P', key->s, key->len, (const char *)kp, sizeof *kp, fd) == 0)
    return;
  smtpc_quit(fd, a->c->timeoutremote * 1000);
}

/* Tries one address. */
static void try_addr(struct attempt *a, const char *name, size_t nlen, int family, const unsigned char *ip,
                     unsigned long port)
{
  str host = STR_INIT, match = STR_INIT;
  struct smtpc_conf sc;
  struct smtpc_tls tls;
  struct smtpc_reuse reuse;
  struct kept kept;
  str key = STR_INIT;
  unsigned long ms;
  int fd = -1, perm = 0, cache;

  if (a->done || a->addrs >= REMOTE_ADDRS_MAX) return;
  if (out_of_time(a)) return;
  ++a->addrs;
  describe(&host, name, nlen, family, ip);
  if (str_0(&host) < 0) { str_free(&host); return; }
  if (a->c->tcpto_path && tcpto_blocked(a->c->tcpto_path, family, ip, time(0))) {
    ++a->skipped;
    str_free(&host);
    return;
  }
  ++a->tried;
  ms = a->c->timeoutconnect * 1000;
  if (a->deadline) {
    long long left = a->deadline - deadline_now();
    if (left < 1) left = 1;
    if ((unsigned long long)left < ms) ms = (unsigned long)left;
  }
  /* plaintext sessions without AUTH only, and never one that fell back
   * to plaintext after a failed handshake (sluice-scache(8)) */
  memset(&reuse, 0, sizeof reuse);
  memset(&kept, 0, sizeof kept);
  cache = a->c->scache_fd >= 0 && !a->have_auth
          && (a->tls.level == TLSPOLICY_NONE || a->tls.level == TLSPOLICY_MAY)
          && cache_key(&key, a, family, ip, port) == 0;
  if (cache) fd = cache_get(a, &key, &kept);
  if (fd >= 0) {
    reuse.reused = 1;
    reuse.ext = kept.ext;
  } else {
    kept.birth = time(0);
    kept.uses = 0;
  }
  reuse.offer = cache;
fresh:
  if (fd < 0) fd = remote_connect(family, ip, port, ms);
  if (fd < 0) {
    int e = errno;
    if (e == ETIMEDOUT && ms < a->c->timeoutconnect * 1000) {
      /* the delivery's time ran out, not the host's */
      str_copys(&a->why, "4.4.2 time limit of the delivery reached (timeoutremotedelivery) while connecting to ");
      str_cat(&a->why, &host);
      a->allperm = 0;
      a->done = 1;
      str_free(&host);
      str_free(&key);
      return;
    }
    if (e == ETIMEDOUT && a->c->tcpto_path) tcpto_record(a->c->tcpto_path, family, ip, time(0));
    str_copys(&a->why, e == ETIMEDOUT ? "4.4.1 connection to " : "4.4.1 unable to connect to ");
    str_cat(&a->why, &host);
    if (e == ETIMEDOUT) str_cats(&a->why, " timed out");
    else { str_cats(&a->why, ": "); str_cats(&a->why, errtext(e)); }
    a->allperm = 0;
    str_free(&host);
    str_free(&key);
    return;
  }
  if (a->c->tcpto_path && !reuse.reused) tcpto_clear(a->c->tcpto_path, family, ip);
  sc.helo = a->c->helo;
  sc.helolen = a->c->helolen;
  sc.timeout_ms = a->c->timeoutremote * 1000;
  sc.reply_ms = a->c->timeoutreply * 1000;
  sc.deadline = a->deadline;
  sc.host = host.s;
  sc.tls = 0;
  sc.auth = a->have_auth ? &a->auth : 0;
  sc.bdat = a->c->bdat;
  sc.reuse = cache ? &reuse : 0;
  memset(&tls, 0, sizeof tls);
  if (a->c->tlsc_path && a->tls.level != TLSPOLICY_NONE) {
    char t[IP6_FMT];
    /* the name the certificate must match, else the address */
    int r = nlen ? str_copyb(&match, name, nlen) : str_copyb(&match, t, family == 6 ? ip6_fmt(t, ip) : ip4_fmt(t, ip));
    if (r < 0 || str_0(&match) < 0) {
      str_copys(&a->why, "4.3.0 out of memory");
      a->allperm = 0;
      goto done;
    }
    tls.level = a->tls.level;
    tls.args.prog = a->c->tlsc_path;
    tls.args.name = nlen ? match.s : 0;
    tls.args.ip = nlen ? 0 : match.s;
    tls.args.cafile = a->tls.cafile.len ? a->tls.cafile.s : 0;
    tls.args.timeout = a->c->timeoutremote;
    tls.required_by = a->tls_by_auth ? "control/smtpauth" : 0;
    sc.tls = &tls;
  }
  for (;;) {
    int rc = smtpc_session(fd, &sc, a->m, a->r, a->n, &a->why, &perm);
    if (reuse.stale) {
      /* the cached connection had gone stale before MAIL was
       * accepted: nothing happened, the same address afresh */
      close(fd);
      fd = -1;
      reuse.reused = 0;
      reuse.stale = 0;
      kept.birth = time(0);
      kept.uses = 0;
      str_truncate(&a->why, 0);
      goto fresh;
    }
    if (reuse.keep) {
      kept.ext = reuse.ext;
      cache_put(a, &key, &kept, fd);
      reuse.keep = 0;
    }
    close(fd);
    fd = -1;
    if (rc == SMTPC_DONE || !pending(a)) { a->done = 1; break; }
    if (!perm) a->allperm = 0;
    if (deadline_passed(a->deadline)) {
      a->allperm = 0;
      a->done = 1; /* the pending recipients get Z with the session's why */
      break;
    }
    if (!tls.handshake_failed || tls.plain_retry) break;
    /* may: the same host again, in plaintext, as Postfix does */
    tls.plain_retry = 1;
    reuse.reused = 0;
    fd = remote_connect(family, ip, port, ms);
    if (fd < 0) break; /* the why of the handshake stands */
  }
done:
  if (fd >= 0) close(fd);
  str_free(&match);
  str_free(&host);
  str_free(&key);
}

/* The addresses of one host name into *ips (empty on trouble). -1
 * when the name does not exist, 0 otherwise (DNS trouble is noted in
 * why). Nothing is asked once REMOTE_LOOKUPS_MAX queries were made. */
static int lookup(struct attempt *a, struct dns_conf *dc, const char *name, size_t nlen, struct dns_iplist *ips)
{
  if (a->lookups + 2 > REMOTE_LOOKUPS_MAX) {
    if (a->why.len == 0) str_copys(&a->why, "4.4.3 too many host names to look up (see sluice-remote(8))");
    a->allperm = 0;
    a->dnstrouble = 1;
    return 0;
  }
  a->lookups += 2; /* dns_ip asks for AAAA and A */
  if (dns_ip(dc, name, nlen, 1, ips) < 0) {
    int e = errno;
    dns_iplist_free(ips);
    if (e == ENOENT) return -1;
    str_copys(&a->why, "4.4.3 temporary DNS failure looking up ");
    str_catb(&a->why, name, nlen);
    a->allperm = 0;
    a->dnstrouble = 1;
  }
  return 0;
}

/* Tries each address of one host name. */
static void try_list(struct attempt *a, const char *name, size_t nlen, const struct dns_iplist *ips,
                     unsigned long port)
{
  for (size_t i = 0; i < ips->n && !a->done; ++i)
    try_addr(a, name, nlen, ips->ip[i].family == AF_INET6 ? 6 : 4, ips->ip[i].ip, port);
  if (ips->n == 0 && a->why.len == 0) {
    str_copys(&a->why, "4.4.3 no address for ");
    str_catb(&a->why, name, nlen);
  }
}

/* The addresses of one host name, each tried: lookup, then try_list. */
static int try_name(struct attempt *a, struct dns_conf *dc, const char *name, size_t nlen, unsigned long port)
{
  struct dns_iplist ips = { 0, 0 };
  int r = lookup(a, dc, name, nlen, &ips);
  if (r == 0) try_list(a, name, nlen, &ips, port);
  dns_iplist_free(&ips);
  return r;
}

/* Loads this host's addresses on first use. 0, or -1 when they could
 * not be found out: every pending recipient then has Z (a loop check
 * that cannot be made must not let mail loop). */
static int me_load(struct attempt *a)
{
  const char *path[2] = { a->c->ipme_path, a->c->notipme_path };
  str list = STR_INIT, t = STR_INIT;
  const char *bad = 0;
  int i;

  if (a->me_state) return a->me_state > 0 ? 0 : -1;
  a->me_state = -1;
  if (ipme_add_host(&a->me) < 0) {
    int e = errno;
    str_copys(&t, e == ENOMEM ? "4.3.0 out of memory" : "4.3.0 unable to list this host's addresses (getifaddrs): ");
    if (e != ENOMEM) str_cats(&t, errtext(e));
    goto fail;
  }
  for (i = 0; i < 2; ++i) {
    if (!path[i]) continue;
    if (control_readlist(path[i], &list) < 0) {
      str_copys(&t, "4.3.5 unable to read ");
      str_cats(&t, path[i]);
      goto fail;
    }
    if (ipme_add_list(&a->me, &list, i, &bad) < 0) {
      if (errno != EINVAL) { str_copys(&t, "4.3.0 out of memory"); goto fail; }
      str_copys(&t, "4.3.5 ");
      str_cats(&t, path[i]);
      str_cats(&t, " has a malformed line: ");
      str_catb(&t, bad, strlen(bad) > 100 ? 100 : strlen(bad));
      goto fail;
    }
  }
  str_free(&list);
  a->me_state = 1;
  return 0;
fail:
  set_pending(a, 'Z', t.s, t.len);
  a->done = 1;
  str_free(&t);
  str_free(&list);
  return -1;
}

/* 1 when an address of ips is this host's (*which its index), 0 when
 * none is, -1 when me_load failed. */
static int mine(struct attempt *a, const struct dns_iplist *ips, size_t *which)
{
  if (ips->n == 0) return 0;
  if (me_load(a) < 0) return -1;
  for (size_t i = 0; i < ips->n; ++i)
    if (ipme_is(&a->me, ips->ip[i].family == AF_INET6 ? 6 : 4, ips->ip[i].ip)) {
      *which = i;
      return 1;
    }
  return 0;
}

/* The best mail host of domain, name [ip] (or the address literal
 * [ip] when nlen is 0), is this host: every pending recipient fails
 * with 5.4.6, since delivering would only hand the mail back to this
 * host's own SMTP server, again and again until the hop count ran out. */
static void loop_found(struct attempt *a, const char *domain, size_t dlen, const char *name, size_t nlen,
                       int family, const unsigned char *ip)
{
  str host = STR_INIT, t = STR_INIT;
  describe(&host, name, nlen, family, ip);
  str_copys(&t, "5.4.6 mail for ");
  str_catb(&t, domain, dlen);
  str_cats(&t, " would loop back to this host: ");
  if (nlen) {
    str_cats(&t, "its best mail host ");
    str_cat(&t, &host);
    str_cats(&t, " is this host, but ");
  } else {
    str_cat(&t, &host);
    str_cats(&t, " is an address of this host, but ");
  }
  str_catb(&t, domain, dlen);
  str_cats(&t, " is not in control/locals or control/virtualdomains (see sluice-remote(8))");
  set_pending(a, 'D', t.s, t.len);
  a->done = 1;
  str_free(&t);
  str_free(&host);
}

/* A domain that is an address literal: "[192.0.2.1]" or "[IPv6:...]". */
static int literal(const char *d, size_t n, int *family, unsigned char ip[16])
{
  if (n < 3 || d[0] != '[' || d[n - 1] != ']') return 0;
  d++;
  n -= 2;
  if (ip4_scan(d, n, ip) == n) { *family = 4; return 1; }
  if (n > 5 && case_equalb(d, 5, "IPv6:", 5) && ip6_scan(d + 5, n - 5, ip) == n - 5) { *family = 6; return 1; }
  return -1;
}

/* The MX hosts of one preference, mx[i..j), each looked up before any
 * is tried, so that this host among them is noticed first. Returns 1
 * when this host is one of them (or its addresses could not be found
 * out): no worse preference may be tried. */
static int try_pref(struct attempt *a, struct dns_conf *dc, const char *domain, size_t dlen,
                    const struct dns_mxlist *mx, size_t i, size_t j, unsigned long port)
{
  struct dns_iplist ips[REMOTE_MX_MAX];
  int gone[REMOTE_MX_MAX];
  size_t k, which = 0;
  int me = 0, trouble = a->dnstrouble; /* before this preference */

  for (k = i; k < j; ++k) {
    ips[k - i].ip = 0;
    ips[k - i].n = 0;
    gone[k - i] = lookup(a, dc, mx->mx[k].host.s, mx->mx[k].host.len, &ips[k - i]) < 0;
  }
  for (k = i; k < j && me == 0; ++k) me = mine(a, &ips[k - i], &which);
  if (me > 0 && a->addrs == 0 && !trouble) {
    /* no better host had an address, and no DNS trouble hid one */
    const struct dns_iplist *l = &ips[k - 1 - i];
    loop_found(a, domain, dlen, mx->mx[k - 1].host.s, mx->mx[k - 1].host.len,
               l->ip[which].family == AF_INET6 ? 6 : 4, l->ip[which].ip);
  }
  for (k = i; k < j && me == 0 && !a->done && a->addrs < REMOTE_ADDRS_MAX; ++k) {
    if (gone[k - i]) {
      str_copys(&a->why, "4.4.3 MX host ");
      str_cat(&a->why, &mx->mx[k].host);
      str_cats(&a->why, " does not exist");
      a->allperm = 0;
    } else {
      try_list(a, mx->mx[k].host.s, mx->mx[k].host.len, &ips[k - i], port);
    }
  }
  for (k = i; k < j; ++k) dns_iplist_free(&ips[k - i]);
  return me != 0;
}

static void by_mx(struct attempt *a, const char *domain, size_t dlen, unsigned long port)
{
  struct dns_conf dc;
  struct dns_mxlist mx = { 0, 0, 0 };
  if (dns_conf_load(&dc) < 0) { set_pending_s(a, 'Z', "4.3.5 unable to read the DNS configuration (DNSCACHEIP)"); return; }
  if (dns_mx(&dc, domain, dlen, &mx) < 0) {
    int e = errno;
    dns_mxlist_free(&mx);
    if (e == ENOENT) set_pending_domain(a, 'D', "5.1.2 domain ", domain, dlen, " does not exist");
    else set_pending_domain(a, 'Z', "4.4.3 temporary DNS failure looking up the MX records of ", domain, dlen, "");
    return;
  }
  if (mx.nullmx) {
    set_pending_domain(a, 'D', "5.1.10 ", domain, dlen, " does not accept mail (null MX)");
  } else if (mx.n == 0) {
    /* RFC 5321 5.1: no MX, the domain itself is the host */
    struct dns_iplist ips = { 0, 0 };
    size_t which = 0;
    int r = lookup(a, &dc, domain, dlen, &ips), me = r == 0 ? mine(a, &ips, &which) : 0;
    if (me > 0)
      loop_found(a, domain, dlen, domain, dlen, ips.ip[which].family == AF_INET6 ? 6 : 4, ips.ip[which].ip);
    else if (me == 0 && r == 0)
      try_list(a, domain, dlen, &ips, port);
    dns_iplist_free(&ips);
    if (r < 0)
      set_pending_domain(a, 'D', "5.1.2 domain ", domain, dlen, " does not exist");
    else if (a->tried == 0 && a->skipped == 0 && a->why.len > 0 && byte_startswith(a->why.s, a->why.len, "4.4.3 no address", 0))
      set_pending_domain(a, 'D', "5.4.4 domain ", domain, dlen, " has no MX record and no address");
  } else {
    /* the most preferred REMOTE_MX_MAX hosts, a preference at a time,
     * and none once no address may be tried any more */
    size_t lim = mx.n < REMOTE_MX_MAX ? mx.n : REMOTE_MX_MAX, i = 0, j;
    while (i < lim && !a->done && a->addrs < REMOTE_ADDRS_MAX) {
      for (j = i + 1; j < lim && mx.mx[j].pref == mx.mx[i].pref; ++j) {}
      if (try_pref(a, &dc, domain, dlen, &mx, i, j, port)) break;
      i = j;
    }
  }
  dns_mxlist_free(&mx);
}

void remote_deliver(const struct remote_conf *c, const char *domain, size_t dlen, const struct smtpc_msg *m,
                    struct smtpc_rcpt *r, size_t n)
{
  struct attempt a;
  struct smtproute route = SMTPROUTE_INIT;
  const str *relay = 0; /* the relay of a matching smtproutes line */
  int routed;
  unsigned char ip[16];
  int family, lit;

  memset(&a, 0, sizeof a);
  a.c = c;
  a.m = m;
  a.r = r;
  a.n = n;
  a.allperm = 1;
  a.deadline = deadline_after(c->timeoutdelivery * 1000);
  a.tls.level = TLSPOLICY_MAY;
  if (!pending(&a)) return;

  switch (routed = smtproutes_find(c->routes, domain, dlen, &route)) {
  case -1:
    set_pending_s(&a, 'Z', errno == EINVAL ? "4.3.5 control/smtproutes has a malformed line (see sluice-smtproutes(5))"
                                           : "4.3.0 out of memory");
    goto out;
  case 1:
    if (route.literal != -1) relay = &route.relay;
    break;
  default:
    break;
  }
  if (c->tlsdest && tlspolicy_find(c->tlsdest, relay ? relay->s : 0, relay ? relay->len : 0, domain, dlen, &a.tls) < 0) {
    set_pending_s(&a, 'Z', errno == EINVAL ? "4.3.5 control/tlsdestinations has a malformed line (see sluice-control(5))"
                                           : "4.3.0 out of memory");
    goto out;
  }
  /* the CA file goes to sluice-tlsc's argv: it needs its NUL (a str
   * has none of its own; without it the bytes after the name were
   * whatever the heap held) */
  if (str_0(&a.tls.cafile) < 0) {
    set_pending_s(&a, 'Z', "4.3.0 out of memory");
    goto out;
  }

  if (c->auth) {
    int found = smtpauth_find(c->auth, relay ? relay->s : 0, relay ? relay->len : 0, route.port, domain, dlen, &a.auth);
    if (found < 0) {
      /* never quote the line: it holds a password */
      set_pending_s(&a, 'Z', errno == EINVAL ? "4.3.5 control/smtpauth has a malformed line (see sluice-smtpauth(5))"
                                             : "4.3.0 out of memory");
      goto out;
    }
    a.have_auth = found == 1;
    if (a.have_auth && a.auth.tls > a.tls.level) {
      a.tls.level = a.auth.tls;
      a.tls_by_auth = 1;
    }
  }

  switch (routed) {
  case 1:
    if (route.literal == 4 || route.literal == 6) {
      try_addr(&a, 0, 0, route.literal, route.ip, route.port);
    } else if (route.literal == 0) {
      struct dns_conf dc;
      if (dns_conf_load(&dc) < 0) { set_pending_s(&a, 'Z', "4.3.5 unable to read the DNS configuration (DNSCACHEIP)"); goto out; }
      if (try_name(&a, &dc, route.relay.s, route.relay.len, route.port) < 0) {
        str_copys(&a.why, "4.4.3 smtproutes relay ");
        str_cat(&a.why, &route.relay);
        str_cats(&a.why, " does not exist");
      }
    } else {
      /* empty relay: the MX hosts, on the route's port */
      by_mx(&a, domain, dlen, route.port);
    }
    break;
  default:
    lit = literal(domain, dlen, &family, ip);
    if (lit > 0) {
      struct dns_ip one = { family == 6 ? AF_INET6 : AF_INET, { 0 } };
      struct dns_iplist l = { &one, 1 };
      size_t which;
      int me;
      memcpy(one.ip, ip, family == 6 ? 16 : 4);
      me = mine(&a, &l, &which);
      if (me > 0) loop_found(&a, domain, dlen, 0, 0, family, ip);
      else if (me == 0) try_addr(&a, 0, 0, family, ip, 25);
    } else if (lit < 0) {
      set_pending_s(&a, 'D', "5.1.2 malformed address literal");
    } else {
      by_mx(&a, domain, dlen, 25);
    }
  }

  if (pending(&a)) {
    if (a.tried == 0 && a.skipped > 0) {
      str_copys(&a.why, "4.4.1 every mail host of ");
      str_catb(&a.why, domain, dlen);
      str_cats(&a.why, " timed out within the last hour (see sluice-tcpto)");
      a.allperm = 0;
    }
    if (a.why.len == 0) str_copys(&a.why, "4.4.0 no host to deliver to");
    set_pending(&a, a.allperm && a.tried > 0 ? 'D' : 'Z', a.why.s, a.why.len);
  }
out:
  smtproute_free(&route);
  tlspolicy_free(&a.tls);
  smtpauth_free(&a.auth);
  str_free(&a.why);
  ipme_free(&a.me);
}
