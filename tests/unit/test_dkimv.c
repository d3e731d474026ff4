/* test_dkimv.c: the verifier's split and body bytes (l=) over the
 * shared canonicalization, tag lists, DKIM-Signature and key record
 * parsing, the header bytes a signature covers. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "dkimv.h"
#include "str.h"
#include "taglist.h"

#define EQ(v, lit) CHECK_BYTES((v).s, (v).len, lit)

int main(void)
{
  static const char msg[] = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
  struct dkim_msg m;
  str out = STR_INIT;
  const char *why = 0;
  struct taglist t;
  struct dkim_sig sig;
  size_t n;
  int ed, strict;

  /* the split is dkim_header_split's; the canonicalization is
   * dkim_canon's (tests/unit/test_dkim_canon.c): here only that the
   * verifier reaches them and cuts to l= */
  CHECK(dkim_msg_split(msg, sizeof msg - 1, &m) == 0);
  CHECK(m.nf == 2);
  CHECK(m.body == 22);
  CHECK(m.f[1].start == 6 && m.f[1].value == 9 && m.f[1].end == 18 && m.f[1].next == 20);
  str_truncate(&out, 0);
  CHECK(dkim_canon_header(&out, msg + m.f[0].start, m.f[0].end - m.f[0].start, 1, 1) == 0);
  CHECK(dkim_canon_header(&out, msg + m.f[1].start, m.f[1].end - m.f[1].start, 1, 1) == 0);
  EQ(out, "a:X\r\nb:Y Z\r\n");
  str_truncate(&out, 0);
  CHECK(dkim_body_data(msg + m.body, sizeof msg - 1 - m.body, 0, 0, 0, &out, &why) == 0);
  EQ(out, " C\r\nD E\r\n");
  str_truncate(&out, 0);
  CHECK(dkim_body_data(msg + m.body, sizeof msg - 1 - m.body, 1, 0, 0, &out, &why) == 0);
  EQ(out, " C \r\nD \t E\r\n");
  str_truncate(&out, 0);
  CHECK(dkim_body_data(msg + m.body, sizeof msg - 1 - m.body, 1, 1, 3, &out, &why) == 0);
  EQ(out, " C ");
  str_truncate(&out, 0);
  CHECK(dkim_body_data("x\n", 2, 1, 1, 9, &out, &why) == -1 && errno == EINVAL);
  str_truncate(&out, 0);
  CHECK(dkim_body_data("x\n", 2, 1, 1, 3, &out, &why) == 0);
  EQ(out, "x\r\n");
  /* empty bodies: simple is CRLF (l=0 takes none of it), relaxed
   * nothing */
  str_truncate(&out, 0);
  CHECK(dkim_body_data("", 0, 1, 0, 0, &out, &why) == 0);
  EQ(out, "\r\n");
  str_truncate(&out, 0);
  CHECK(dkim_body_data("", 0, 1, 1, 0, &out, &why) == 0);
  CHECK(out.len == 0);
  str_truncate(&out, 0);
  CHECK(dkim_body_data("\r\n\r\n", 4, 0, 0, 0, &out, &why) == 0);
  CHECK(out.len == 0);
  dkim_msg_free(&m);
  /* a line that is not a field starts the body, as in the signer */
  {
    static const char m3[] = "A: 1\nBad Name: 2\n\nbody\n";
    CHECK(dkim_msg_split(m3, sizeof m3 - 1, &m) == 0);
    CHECK(m.nf == 1 && m.body == 5);
    dkim_msg_free(&m);
  }
  /* more than DKIM_FIELDS_MAX fields */
  {
    str big = STR_INIT;
    size_t i;
    int ok = 1;
    for (i = 0; i <= DKIM_FIELDS_MAX; ++i)
      if (str_cats(&big, "X: y\n") < 0) ok = 0;
    CHECK(ok);
    CHECK(dkim_msg_split(big.s, big.len, &m) == -1 && errno == EINVAL);
    str_truncate(&big, big.len - 5);
    CHECK(dkim_msg_split(big.s, big.len, &m) == 0 && m.nf == DKIM_FIELDS_MAX);
    dkim_msg_free(&m);
    str_free(&big);
  }

  /* tag lists */
  CHECK(taglist_parse(&t, "v=1; a = rsa-sha256 ;\r\n b=ab\r\n cd;", 34) == 0);
  CHECK(t.n == 3);
  CHECK(taglist_get(&t, "a", &n) && n == 10);
  CHECK(taglist_get(&t, "b", &n) && n == 7);
  CHECK(taglist_get(&t, "c", &n) == 0);
  CHECK(taglist_parse(&t, "v=1; v=2", 8) == -1);
  CHECK(taglist_parse(&t, "v", 1) == -1);
  CHECK(taglist_parse(&t, "1v=1", 4) == -1);
  CHECK(taglist_parse(&t, "v=1;;a=2", 8) == -1);
  CHECK(taglist_parse(&t, "", 0) == 0 && t.n == 0);
  CHECK(taglist_parse(&t, "a=\x01", 3) == -1);

  /* signatures */
  {
    static const char s1[] = "v=1; a=rsa-sha256; d=Example.COM; s=sel; c=relaxed; h=From:To; "
                             "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA; l=10";
    CHECK(dkim_sig_parse(s1, sizeof s1 - 1, 0, &sig, &why) == 0);
    if (!why) {
      CHECK(sig.alg == DKIM_RSA_SHA256);
      CHECK(sig.header_simple == 0 && sig.body_simple == 1);
      EQ(sig.d, "example.com");
      EQ(sig.i, "@example.com");
      CHECK(sig.has_l && sig.l == 10);
      CHECK(sig.bh.len == 32 && sig.b.len == 3);
      dkim_sig_free(&sig);
    }
  }
  {
    static const char s2[] = "v=1; a=rsa-sha256; d=example.com; s=sel; h=To; "
                             "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";
    CHECK(dkim_sig_parse(s2, sizeof s2 - 1, 0, &sig, &why) == -1 && why && strstr(why, "From"));
  }
  {
    static const char s3[] = "v=1; a=rsa-sha1; d=example.com; s=sel; h=from; "
                             "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";
    CHECK(dkim_sig_parse(s3, sizeof s3 - 1, 0, &sig, &why) == -1 && why && strstr(why, "algorithm"));
  }
  {
    static const char s4[] = "v=1; a=ed25519-sha256; d=example.com; s=sel; h=from; i=x@other.com; "
                             "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";
    CHECK(dkim_sig_parse(s4, sizeof s4 - 1, 0, &sig, &why) == -1 && why && strstr(why, "i="));
  }
  {
    static const char s5[] = "v=1; a=ed25519-sha256; d=example.com; s=sel; h=from; x=100; "
                             "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";
    CHECK(dkim_sig_parse(s5, sizeof s5 - 1, 200, &sig, &why) == -1 && why && strstr(why, "expired"));
    CHECK(dkim_sig_parse(s5, sizeof s5 - 1, 50, &sig, &why) == 0);
    if (!why) dkim_sig_free(&sig);
  }

  /* the header bytes: h= picks fields bottom up; b= emptied */
  {
    static const char m2[] = "From: a@x\nTo: 1\nTo: 2\nDKIM-Signature: v=1; a=rsa-sha256; d=x; s=s;\n"
                             " h=to:to:to:from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n b=AA\n AA\n\nbody\n";
    CHECK(dkim_msg_split(m2, sizeof m2 - 1, &m) == 0);
    CHECK(m.nf == 4);
    CHECK(dkim_sig_parse(m2 + m.f[3].value, m.f[3].end - m.f[3].value, 0, &sig, &why) == 0);
    if (!why) {
      CHECK(dkim_header_data(&m, 3, &sig, &out) == 0);
      /* no c=: simple/simple */
      EQ(out, "To: 2\r\nTo: 1\r\nFrom: a@x\r\n"
              "DKIM-Signature: v=1; a=rsa-sha256; d=x; s=s;\r\n h=to:to:to:from; "
              "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n b=");
      dkim_sig_free(&sig);
    }
    dkim_msg_free(&m);
  }

  /* key records */
  CHECK(dkim_key_parse("v=DKIM1; k=ed25519; p=AAAA", 26, &ed, &strict, &out, &why) == 0 && ed == 1 && out.len == 3);
  CHECK(dkim_key_parse("p=AAAA; t=y:s", 13, &ed, &strict, &out, &why) == 0 && ed == 0 && strict == 1);
  CHECK(dkim_key_parse("v=DKIM1; p=", 11, &ed, &strict, &out, &why) == -1 && strstr(why, "revoked"));
  CHECK(dkim_key_parse("k=dsa; p=AAAA", 13, &ed, &strict, &out, &why) == -1);
  CHECK(dkim_key_parse("p=AAAA; v=DKIM1", 15, &ed, &strict, &out, &why) == -1);
  CHECK(dkim_key_parse("h=sha1; p=AAAA", 14, &ed, &strict, &out, &why) == -1);
  str_free(&out);
  return check_done();
}
