#!/usr/bin/python3
"""tests/smarthost.py: an SMTP smarthost for the tests of sluice-remote's
AUTH (tests/sh/92-smarthost.sh), made with aiosmtpd (Debian's
python3-aiosmtpd).

    smarthost.py --host H --port P --dir D --ready FILE [options]

  --starttls CERT,KEY   offer STARTTLS; AUTH and MAIL only after it
  --login L --password W
                        the one account; other credentials get
                        "535 5.7.8 smarthost: authentication credentials
                        invalid"
  --auth-code CODE      answer every AUTH with CODE (e.g. 454) and a
                        text naming it
  --no-auth             AUTH not offered (and not required)
  --mechs M,M           the mechanisms offered (default PLAIN,LOGIN)

Each accepted message is saved as D/N.data (the content as received)
and D/N.meta (one line: "login=LOGIN tls=PROTOCOL from=SENDER
rcpt=R,R"); D/log gets one line per AUTH attempt ("AUTH MECH LOGIN ok"
or "... refused": never the password) and per MAIL. FILE is made when
the server listens. Runs until killed.
"""
import argparse
import asyncio
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--starttls")
    ap.add_argument("--login", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--auth-code", type=int, default=0)
    ap.add_argument("--no-auth", action="store_true")
    ap.add_argument("--mechs", default="PLAIN,LOGIN")
    a = ap.parse_args()
    count = [0]

    def log(line):
        with open(os.path.join(a.dir, "log"), "a") as f:
            f.write(line + "\n")

    def authenticator(server, session, envelope, mechanism, data):
        login = data.login.decode("utf-8", "replace")
        if a.auth_code:
            log("AUTH %s %s refused %d" % (mechanism, login, a.auth_code))
            return AuthResult(success=False, handled=False,
                              message="%d 4.7.0 smarthost: temporary authentication trouble, try later"
                              % a.auth_code)
        if data.login == a.login.encode() and data.password == a.password.encode():
            log("AUTH %s %s ok" % (mechanism, login))
            return AuthResult(success=True, auth_data=data)
        log("AUTH %s %s refused" % (mechanism, login))
        return AuthResult(success=False, handled=False,
                          message="535 5.7.8 smarthost: authentication credentials invalid")

    class Handler:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            session.host_name = hostname
            if a.no_auth:
                responses = [r for r in responses if not r[4:].upper().startswith("AUTH")]
            return responses

        async def handle_MAIL(self, server, session, envelope, address, options):
            log("MAIL %s" % address)
            envelope.mail_from = address
            envelope.mail_options.extend(options)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            count[0] += 1
            n = count[0]
            with open(os.path.join(a.dir, "%d.data" % n), "wb") as f:
                f.write(envelope.original_content or envelope.content)
            login = session.login_data.decode() if session.login_data else "-"
            tls = session.ssl.get("cipher", ["-", "-"])[1] if session.ssl else "-"
            with open(os.path.join(a.dir, "%d.meta" % n), "w") as f:
                f.write("login=%s tls=%s from=%s rcpt=%s\n"
                        % (login, tls, envelope.mail_from, ",".join(envelope.rcpt_tos)))
            return "250 2.0.0 smarthost: queued as %d" % n

    kw = dict(hostname="smarthost.test", decode_data=False, enable_SMTPUTF8=True)
    if a.starttls:
        cert, key = a.starttls.split(",")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        kw.update(tls_context=ctx, require_starttls=True, auth_require_tls=True)
    else:
        kw.update(auth_require_tls=False)
    if not a.no_auth:
        kw.update(authenticator=authenticator, auth_required=True)
    offered = {m.upper() for m in a.mechs.split(",") if m}
    kw.update(auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if m not in offered])

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Handler()
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler, loop=loop, **kw), a.host, a.port))
    with open(a.ready, "w") as f:
        f.write("ready\n")
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
