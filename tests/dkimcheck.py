#!/usr/bin/python3
"""dkimcheck.py: checks DKIM signatures with python3-dkim (Debian's
python3-dkim, an independent implementation), for tests/sh/99-dkim.sh.

  dkimcheck.py verify ZONE MESSAGE [N]
      every DKIM-Signature of MESSAGE (LF or CRLF line ends) must verify
      with the TXT records of ZONE (lines as sluice-dkimkey prints them:
      NAME. IN TXT "..." "..."), served through dnsfunc; prints one line
      "ok d= s= a=" per signature; with N, there must be exactly N.
  dkimcheck.py sign ZONE KEYFILE DOMAIN SELECTOR CANON MESSAGE
      prints MESSAGE signed by python3-dkim (CANON relaxed or simple)
  dkimcheck.py bh MESSAGE
      prints the bh= of each DKIM-Signature, one a line
Exit 0 when all is well, 1 otherwise (with the reason on stderr)."""
import re
import sys

import dkim


def zone(path):
    recs = {}
    for line in open(path, encoding="ascii"):
        m = re.match(r'^(\S+)\.\s+IN\s+TXT\s+(.*)$', line.strip())
        if m:
            recs[m.group(1).lower()] = "".join(re.findall(r'"([^"]*)"', m.group(2))).encode()
    return recs


def crlf(data):
    return re.sub(rb'\r?\n', b'\r\n', data)


def sigs(msg):
    return [v for (k, v) in dkim.rfc822_parse(msg)[0] if k.lower() == b'dkim-signature']


def main():
    cmd = sys.argv[1]
    if cmd == "verify":
        recs = zone(sys.argv[2])
        msg = crlf(open(sys.argv[3], "rb").read())

        def dnsfunc(name, timeout=5):
            n = name.decode() if isinstance(name, bytes) else name
            return recs.get(n.rstrip(".").lower())
        found = sigs(msg)
        if len(sys.argv) > 4 and len(found) != int(sys.argv[4]):
            print("want %s signatures, found %d" % (sys.argv[4], len(found)), file=sys.stderr)
            return 1
        for i in range(len(found)):
            d = dkim.DKIM(msg)
            if not d.verify(idx=i, dnsfunc=dnsfunc):
                print("signature %d does not verify: %r" % (i, found[i]), file=sys.stderr)
                return 1
            tags = dict(dkim.util.parse_tag_value(re.sub(rb'\s+', b'', found[i])))
            print("ok d=%s s=%s a=%s" % (tags[b'd'].decode(), tags[b's'].decode(), tags[b'a'].decode()))
        return 0
    if cmd == "sign":
        key = open(sys.argv[3], "rb").read()
        canon = sys.argv[6].encode()
        msg = crlf(open(sys.argv[7], "rb").read())
        sig = dkim.sign(msg, sys.argv[5].encode(), sys.argv[4].encode(), key,
                        canonicalize=(canon, canon),
                        include_headers=[b'from', b'to', b'subject'])
        sys.stdout.buffer.write(sig + msg)
        return 0
    if cmd == "bh":
        msg = crlf(open(sys.argv[2], "rb").read())
        for s in sigs(msg):
            tags = dict(dkim.util.parse_tag_value(re.sub(rb'\s+', b'', s)))
            print(tags[b'bh'].decode())
        return 0
    print(__doc__, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
