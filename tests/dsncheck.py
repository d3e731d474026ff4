#!/usr/bin/env python3
"""dsncheck.py: checks a bounce built by sluice with Python's email package.

Reads one message on stdin (LF or CRLF line ends). By default it must be
an RFC 3464 delivery status notification: multipart/report with
report-type=delivery-status, three parts (text/plain, message/delivery-
status, text/rfc822-headers), a per-message block with Reporting-MTA and
per-recipient blocks with Final-Recipient, Action and Status. Prints one
line per recipient, "ADDRESS STATUS ACTION", and exits 0; on a problem
prints it to stderr and exits 1.

With --qsbmf the message must be in qmail's bounce format instead; then
each recipient paragraph prints "ADDRESS STATUS" (the status taken from
its "(#x.y.z)", "-" when there is none).
"""
import email
import email.policy
import re
import sys


def fail(why):
    sys.stderr.write("dsncheck: " + why + "\n")
    sys.exit(1)


def need_headers(msg, names):
    for name in names:
        if msg[name] is None:
            fail("missing header " + name)


def check_dsn(msg):
    need_headers(msg, ["Date", "From", "To", "Subject", "Message-ID",
                       "MIME-Version", "Auto-Submitted"])
    if msg.get_content_type() != "multipart/report":
        fail("content type is " + msg.get_content_type())
    if msg.get_param("report-type") != "delivery-status":
        fail("report-type is %r" % (msg.get_param("report-type"),))
    parts = msg.get_payload()
    if not isinstance(parts, list) or len(parts) != 3:
        fail("expected 3 parts")
    want = ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    for part, ctype in zip(parts, want):
        if part.get_content_type() != ctype:
            fail("part is %s, expected %s" % (part.get_content_type(), ctype))
    blocks = parts[1].get_payload()
    if not isinstance(blocks, list) or len(blocks) < 2:
        fail("delivery-status part has no recipient block")
    if blocks[0]["Reporting-MTA"] is None:
        fail("no Reporting-MTA")
    if blocks[0]["Arrival-Date"] is None:
        fail("no Arrival-Date")
    for block in blocks[1:]:
        need_headers(block, ["Final-Recipient", "Action", "Status"])
        kind, _, addr = str(block["Final-Recipient"]).partition(";")
        if kind.strip().lower() != "rfc822":
            fail("Final-Recipient type " + kind)
        status = str(block["Status"]).strip()
        if not re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", status):
            fail("bad Status " + status)
        action = str(block["Action"]).strip()
        diag = block["Diagnostic-Code"]
        if diag is not None and ";" not in str(diag):
            fail("Diagnostic-Code without a type")
        print(addr.strip(), status, action)


def check_qsbmf(raw):
    text = raw.replace(b"\r\n", b"\n").decode("ascii", "replace")
    head, sep, body = text.partition("\n\n")
    if not sep:
        fail("no body")
    msg = email.message_from_string(head + "\n\n", policy=email.policy.default)
    need_headers(msg, ["Date", "From", "To", "Subject"])
    if not body.startswith("Hi. This is the"):
        fail("body does not start with 'Hi. This is the'")
    paras = body.split("\n\n")
    for i, para in enumerate(paras):
        if para.startswith("-"):
            break
        if i == 0:
            continue
        first, _, rest = para.partition("\n")
        m = re.fullmatch(r"<(.*)>:", first)
        if not m:
            fail("recipient paragraph starts with %r" % first)
        st = re.search(r"\(#([245]\.\d{1,3}\.\d{1,3})\)", rest)
        print(m.group(1), st.group(1) if st else "-")
    else:
        fail("no break paragraph")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--qsbmf":
        check_qsbmf(sys.stdin.buffer.read())
        return
    msg = email.message_from_binary_file(sys.stdin.buffer, policy=email.policy.default)
    check_dsn(msg)


if __name__ == "__main__":
    main()
