#!/usr/bin/env python3
"""wirecheck.py: checks what SMTP sinks (tests/smtpsink.py) received
against RFC 5321/5322 and against the message each caller handed in.

  wirecheck.py --sink NAME=DIR=KEYWORDS ... TAG=FEATURES=SENT ...

Each --sink names a sink, the directory it saved into and the EHLO
keywords it offered, comma-separated (SIZE, 8BITMIME, SMTPUTF8; empty
for none). Each TAG names one caller's message: the sinks hold it as
the transaction whose recipient's local part is "r-TAG"; SENT is the
file the caller handed to sluice (the message as written to sendmail,
or as given to an SMTP client), any line ends; FEATURES says what SENT
must hold, comma-separated: "dots" (a body line starting with a dot and
one that is a single dot), "long" (a body line over 998 bytes), "utf8"
(8-bit bytes in the body), "ascii" (none).

Prints one line per check, "TAG SINK CHECK ok" or "TAG SINK CHECK
why" (SINK "-" for the checks of SENT alone):
  input         SENT holds FEATURES
  delivered     exactly one transaction for r-TAG at the sink
  crlf          every line ends CR LF; no bare CR or LF; ends in CR LF
  line-length   no line over 998 bytes before its CR LF (a dot added by
                dot-stuffing not counted: RFC 5321 4.5.3.1.6)
  dot-stuffing  every line starting with a dot carries the added dot,
                and as many as SENT's body has lines starting with a dot
  header        the header (field name, colon; or a folded line), then
                an empty line, then the body; one Date and one From
                field, at most one of the other fields RFC 5322 3.6
                allows once
  body          the body, dot-stuffing undone, is SENT's body with CR LF
                line ends; a line over 998 bytes may arrive broken as
                Postfix's smtp_line_length_limit does: its first 998
                bytes, then CR LF SPACE and the rest, in pieces of at
                most 998 bytes each, the space included
  mail-from     the MAIL FROM parameters: SIZE only if offered, near the
                data's size; BODY=8BITMIME exactly when 8BITMIME was
                offered and the message has 8-bit bytes (BODY=7BIT only
                with 8BITMIME offered and an ASCII message); SMTPUTF8
                only if offered and never for an ASCII envelope and
                header; nothing else
"""
import os
import re
import sys

LIMIT = 998


def lineform(b):
    """The queue's line form (sluice-queue(5)): CR LF -> LF, other CR -> space."""
    return b.replace(b"\r\n", b"\n").replace(b"\r", b" ")


def body_lines(sent):
    """SENT's body as a list of lines, LF form, without line ends."""
    b = lineform(sent)
    i = b.find(b"\n\n")
    if i < 0:
        return None
    body = b[i + 2:]
    if body and not body.endswith(b"\n"):
        body += b"\n"
    return body.split(b"\n")[:-1]


def eight_bit(b):
    return any(c >= 0x80 for c in b)


def check_input(sent, features):
    lines = body_lines(sent)
    if lines is None:
        return "no empty line after the header in what the caller sent"
    for f in features:
        if f == "dots":
            if b"." not in lines or not any(l.startswith(b".") and l != b"." for l in lines):
                return "the caller's body lost its dot lines"
        elif f == "long":
            if not any(len(l) > LIMIT for l in lines):
                return "the caller's body has no line over %d bytes" % LIMIT
        elif f == "utf8":
            if not eight_bit(b"".join(lines)):
                return "the caller's body has no 8-bit byte"
        elif f == "ascii":
            if eight_bit(sent):
                return "the caller's message has 8-bit bytes"
        elif f:
            return "unknown feature " + f
    return "ok"


def show(b, i):
    return repr(b[max(0, i - 20):i + 20])


def check_crlf(w):
    for i, c in enumerate(w):
        if c == 13 and w[i + 1:i + 2] != b"\n":
            return "bare CR at byte %d: %s" % (i, show(w, i))
        if c == 10 and (i == 0 or w[i - 1] != 13):
            return "bare LF at byte %d: %s" % (i, show(w, i))
    if not w.endswith(b"\r\n"):
        return "no CR LF at the end of the data"
    return "ok"


def wire_lines(w):
    """The data's lines without CR LF (a bare LF also ends one here)."""
    return w.replace(b"\r\n", b"\n").split(b"\n")[:-1] if w else []


def check_length(w):
    """RFC 5321 4.5.3.1.6: 998 bytes and CR LF, the dot doubled for
    transparency not counted."""
    for n, l in enumerate(wire_lines(w)):
        if len(l) - l.startswith(b".") > LIMIT:
            return "line %d is %d bytes: %r..." % (n + 1, len(l), l[:40])
    return "ok"


def split_wire(w):
    """(header lines, body lines) of the data, or None without the empty line."""
    lines = wire_lines(w)
    if b"" not in lines:
        return None
    i = lines.index(b"")
    return lines[:i], lines[i + 1:]


FIELD = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]*:")
# RFC 5322 3.6: Date and From exactly once, these at most once
ONCE = ("date", "from", "sender", "reply-to", "to", "cc", "bcc", "message-id", "in-reply-to", "references",
        "subject")


def check_header(w):
    parts = split_wire(w)
    if parts is None:
        return "no empty line between header and body"
    head = parts[0]
    if not head:
        return "empty header"
    count = {}
    for n, l in enumerate(head):
        if l[:1] in (b" ", b"\t"):
            if n == 0:
                return "the header starts with a folded line"
        elif not FIELD.match(l):
            return "header line %d is no field: %r" % (n + 1, l[:60])
        else:
            name = l.split(b":", 1)[0].strip().lower().decode()
            count[name] = count.get(name, 0) + 1
    for name in ONCE:
        if count.get(name, 0) != 1 and (name in ("date", "from") or count.get(name, 0) > 1):
            return "%d %s fields" % (count.get(name, 0), name)
    return "ok"


def check_dots(w, sent):
    parts = split_wire(w)
    if parts is None:
        return "no empty line between header and body"
    for n, l in enumerate(parts[0]):
        if l.startswith(b"."):
            return "header line %d starts with a dot" % (n + 1)
    dotted = [l for l in parts[1] if l.startswith(b".")]
    for l in dotted:
        if not l.startswith(b".."):
            return "a body line starting with a dot without the added dot: %r" % l[:60]
    want = sum(1 for l in body_lines(sent) or [] if l.startswith(b"."))
    if len(dotted) != want:
        return "%d body lines start with a dot on the wire, %d in what was sent" % (len(dotted), want)
    return "ok"


def check_body(w, sent):
    parts = split_wire(w)
    if parts is None:
        return "no empty line between header and body"
    raw = parts[1]
    got = [l[1:] if l.startswith(b".") else l for l in raw]
    want = body_lines(sent)
    if want is None:
        return "no body in what was sent"
    i = 0
    for n, l in enumerate(want):
        if i >= len(got):
            return "the body ends early: line %d of %d missing: %r" % (n + 1, len(want), l[:60])
        g = got[i]
        i += 1
        if g == l:
            continue
        # too long: its first 998 bytes, then pieces starting with a space
        if len(l) > LIMIT and g == l[:LIMIT]:
            rest = l[LIMIT:]
            while rest:
                if i >= len(got):
                    return "line %d: broken at %d, its rest missing" % (n + 1, LIMIT)
                c = raw[i]
                i += 1
                if not c.startswith(b" ") or len(c) < 2 or len(c) > LIMIT or not rest.startswith(c[1:]):
                    return "line %d: a piece of the broken line is %r..." % (n + 1, c[:40])
                rest = rest[len(c) - 1:]
            continue
        if len(l) > LIMIT and l.startswith(g):
            return "line %d of %d bytes: %d bytes on the wire, not broken at %d" % (n + 1, len(l), len(g), LIMIT)
        return "line %d: %r on the wire, %r sent" % (n + 1, g[:60], l[:60])
    if i < len(got):
        return "%d lines more on the wire than sent, from %r" % (len(got) - i, got[i][:60])
    return "ok"


def check_mail(env, data, offered, folds):
    first = env.split(b"\n")[0].decode("latin-1")
    m = re.match(r"^FROM:<([^>]*)>(.*)$", first, re.I)
    if not m:
        return "MAIL FROM argument %r" % first[:80]
    params = m.group(2).split()
    eight = eight_bit(data)
    head = data.split(b"\r\n\r\n", 1)[0]
    ascii_mail = not eight_bit(head) and not eight_bit(env)
    seen = set()
    for p in params:
        k, _, v = p.partition("=")
        k = k.upper()
        if k in seen:
            return "parameter %s twice" % k
        seen.add(k)
        if k == "SIZE":
            if "SIZE" not in offered:
                return "SIZE=%s without SIZE offered" % v
            if not v.isdigit():
                return "SIZE=%s" % v
            if abs(int(v) - len(data)) > 3 * folds:
                return "SIZE=%s for %d bytes of data" % (v, len(data))
        elif k == "BODY":
            if "8BITMIME" not in offered:
                return "BODY=%s without 8BITMIME offered" % v
            if v.upper() == "8BITMIME" and not eight:
                return "BODY=8BITMIME for a message without 8-bit bytes"
            if v.upper() == "7BIT" and eight:
                return "BODY=7BIT for a message with 8-bit bytes"
            if v.upper() not in ("8BITMIME", "7BIT"):
                return "BODY=%s" % v
        elif k == "SMTPUTF8":
            if "SMTPUTF8" not in offered:
                return "SMTPUTF8 without SMTPUTF8 offered"
            if ascii_mail:
                return "SMTPUTF8 for an ASCII envelope and header"
        else:
            return "unknown parameter %s" % p
    if "8BITMIME" in offered and eight and "BODY" not in seen:
        return "no BODY=8BITMIME for a message with 8-bit bytes (8BITMIME offered)"
    return "ok"


def folds_in(w, sent):
    """How many lines the wire has more than SENT's body: the breaks of
    long lines (for the SIZE estimate; the body check judges them)."""
    parts = split_wire(w)
    if parts is None:
        return 0
    return max(0, len(parts[1]) - len(body_lines(sent) or []))


def main():
    sinks = []
    tags = []
    args = sys.argv[1:]
    while args:
        a = args.pop(0)
        if a == "--sink":
            name, d, kw = args.pop(0).split("=", 2)
            sinks.append((name, d, set(k for k in kw.split(",") if k)))
        else:
            tag, feat, path = a.split("=", 2)
            tags.append((tag, feat.split(","), path))
    index = {}
    for name, d, _ in sinks:
        for f in sorted(os.listdir(d)):
            if not f.endswith(".env"):
                continue
            env = open(os.path.join(d, f), "rb").read()
            for r in env.split(b"\n")[1:]:
                m = re.match(rb"^<r-([^@>]*)@", r)
                if m:
                    index.setdefault((name, m.group(1).decode("latin-1")), []).append(os.path.join(d, f[:-4]))
    for tag, feat, path in tags:
        try:
            sent = open(path, "rb").read()
        except OSError as e:
            print(tag, "-", "input", "cannot read what was sent:", e)
            sent = None
        if sent is not None:
            print(tag, "-", "input", check_input(sent, feat))
        for name, d, offered in sinks:
            got = index.get((name, tag), [])
            checks = ["crlf", "line-length", "dot-stuffing", "header", "body", "mail-from"]
            if len(got) != 1 or sent is None:
                print(tag, name, "delivered", "%d transactions for r-%s" % (len(got), tag))
                for c in checks:
                    print(tag, name, c, "not delivered")
                continue
            print(tag, name, "delivered", "ok")
            base = got[0]
            w = open(base + ".wire", "rb").read()
            env = open(base + ".env", "rb").read()
            data = open(base + ".data", "rb").read()
            results = {
                "crlf": check_crlf(w),
                "line-length": check_length(w),
                "dot-stuffing": check_dots(w, sent),
                "header": check_header(w),
                "body": check_body(w, sent),
                "mail-from": check_mail(env, data, offered, folds_in(w, sent)),
            }
            for c in checks:
                print(tag, name, c, results[c][:300].replace("\n", " "))


if __name__ == "__main__":
    main()
