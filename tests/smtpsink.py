#!/usr/bin/env python3
"""smtpsink.py: a scriptable SMTP test server for the sluice tests.

Standard library only. Listens on --host/--port, answers every stage as
told, logs every command line to DIR/log and saves each accepted message
as DIR/N.env (MAIL FROM and RCPT TO arguments, one a line), DIR/N.data
(the data as received with the dot-stuffing undone, CRLF kept) and
DIR/N.wire (every byte of the data as received, dot-stuffing included,
up to the final ".\r\n" left out), DIR/N.raw (every byte after the 354
reply, the final ".\r\n" included) and DIR/N.mail (the MAIL command
line exactly as received, CRLF included). With --conn every byte
received on a connection is appended to DIR/conn.K (K counts
connections from 1).
Like a strict server it answers 555 to a MAIL parameter SMTPUTF8 or
BODY=8BITMIME it did not offer, and 553 to a non-ASCII address in a
transaction without SMTPUTF8; likewise 555 to DSN parameters (MAIL RET=
ENVID=, RCPT NOTIFY= ORCPT=) without --dsn, and 502 to BDAT without
--chunking. A message sent by BDAT (RFC 3030) is saved as one by DATA:
DIR/N.data is the chunks joined (no dot handling), N.wire the same,
N.raw every byte of every chunk, and N.chunks the size of each chunk
with " LAST" on the last, one a line.

  --code STAGE=CODE      reply CODE at STAGE (greeting ehlo helo mail rcpt
                         data eom starttls bdat); "ehlo=502" makes a server
                         without EHLO; "starttls=454" one that offers
                         STARTTLS and refuses it; "bdat" is the reply to
                         each BDAT chunk but the last (which gets "eom")
  --rcpt PATTERN=CODE    reply CODE to RCPT when the local part matches the
                         shell pattern (first match wins; default 250)
  --pipelining / --size N / --8bitmime / --smtputf8 / --dsn / --chunking
                         EHLO keywords offered
  --sleep STAGE=SECONDS  sleep before replying at STAGE
  --garbage STAGE        reply a line without a code at STAGE
  --longline STAGE       precede the reply at STAGE by a 100000-byte line
                         of the same code as a continuation line
  --multiline STAGE      send the reply at STAGE as three lines
  --disconnect STAGE     close the connection at STAGE; "body" closes it
                         after the first line of the message data (with
                         BDAT: after the first BDAT command)
  --conn                 keep every byte of each connection in DIR/conn.K
  --connlog              append "open K" and "close K HOW" (HOW: client,
                         or idle when --idle closed it) to DIR/conns
  --idle SECONDS         close a connection silent for SECONDS (default 30)
  --starttls CERT,KEY    offer STARTTLS (RFC 3207) with the PEM certificate
                         chain CERT and key KEY (python's ssl module); a
                         message received over TLS also gets DIR/N.tls (the
                         protocol and cipher), and the log a line
                         "tls=PROTOCOL CIPHER" after the handshake
  --tls-broken           answer STARTTLS with 220, then send bytes that are
                         not TLS and close: the client's handshake fails
  --tls-old              with --starttls: speak only TLS 1.0 and 1.1 (an
                         old server, that sluice-tlsc must refuse)
  --tls-stall            answer STARTTLS with 220, then read and answer
                         nothing for 60 seconds: the handshake times out
  --auth KEYWORD         offer the EHLO line KEYWORD ("AUTH PLAIN LOGIN",
                         "AUTH=LOGIN") and answer AUTH as --auth-replies says
  --auth-replies CODES   the replies, in order, to AUTH and to each line the
                         client sends after a 334 (default 235): "334,334,235"
                         takes an AUTH LOGIN; the exchange ends at the first
                         reply that is not 334. Every line is logged as sent.
  --ready FILE           create FILE once listening
"""
import argparse
import fnmatch
import os
import select
import socket
import sys
import threading
import time

STAGES = ("greeting", "ehlo", "helo", "mail", "rcpt", "data", "eom", "quit", "body", "starttls", "bdat", "rset")
DEFAULT = {"greeting": 220, "ehlo": 250, "helo": 250, "mail": 250, "rcpt": 250, "data": 354, "eom": 250, "quit": 221,
           "starttls": 220, "bdat": 250, "rset": 250}


def kv(s):
    k, _, v = s.partition("=")
    return k, v


class Conn:
    def __init__(self, sock, opt, counter, conn):
        self.s = sock
        self.opt = opt
        self.buf = bytearray()  # received, not yet read from self.pos on
        self.pos = 0
        self.counter = counter
        self.conn = os.path.join(opt.dir, "conn.%d" % conn)
        self.s.settimeout(opt.idle if opt.idle else 30)
        self.tls = None

    def log(self, line):
        with open(os.path.join(self.opt.dir, "log"), "ab") as f:
            f.write(line + b"\n")

    def readline(self):
        # a position in one growing buffer: large messages take linear time
        while True:
            i = self.buf.find(b"\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i + 1])
                self.pos = i + 1
                if self.pos > 65536:
                    del self.buf[:self.pos]
                    self.pos = 0
                return line
            d = self.s.recv(65536)
            if not d:
                return None
            if self.opt.conn:
                with open(self.conn, "ab") as f:
                    f.write(d)
            self.buf += d

    def read_exact(self, n):
        """n bytes of a BDAT chunk, or None at end of file."""
        while len(self.buf) - self.pos < n:
            d = self.s.recv(65536)
            if not d:
                return None
            if self.opt.conn:
                with open(self.conn, "ab") as f:
                    f.write(d)
            self.buf += d
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        if self.pos > 65536:
            del self.buf[:self.pos]
            self.pos = 0
        return out

    def save(self, data, wire, raw, mail_line, env_from, rcpts, chunks=None):
        n = self.counter()
        base = os.path.join(self.opt.dir, str(n))
        with open(base + ".wire", "wb") as f:
            f.write(wire)
        with open(base + ".raw", "wb") as f:
            f.write(raw)
        with open(base + ".mail", "wb") as f:
            f.write(mail_line)
        if chunks is not None:
            with open(base + ".chunks", "w") as f:
                f.write("".join(c + "\n" for c in chunks))
        with open(base + ".data.tmp", "wb") as f:
            f.write(data)
        with open(base + ".env", "wb") as f:
            f.write(env_from + b"\n" + b"".join(r + b"\n" for r in rcpts))
        if self.tls is not None:
            with open(base + ".tls", "w") as f:
                f.write(self.tls + "\n")
        os.rename(base + ".data.tmp", base + ".data")

    def drain(self):
        """Takes in the bytes the client has sent so far, without waiting."""
        while select.select([self.s], [], [], 0)[0]:
            d = self.s.recv(65536)
            if not d:
                return
            if self.opt.conn:
                with open(self.conn, "ab") as f:
                    f.write(d)
            self.buf += d

    def pending(self):
        """1 when the client already sent more bytes (pipelining)."""
        time.sleep(0.3)
        if len(self.buf) > self.pos:
            return True
        r, _, _ = select.select([self.s], [], [], 0)
        return bool(r)

    def reply(self, stage, code, text=None):
        o = self.opt
        if text is None or code // 100 != 2:
            if code // 100 == 2:
                text = "ok"
            elif stage == "rcpt":
                text = "%d.1.1 no such user here" % (code // 100)
            elif code == 354:
                text = "go ahead"
            else:
                text = "%d.0.0 refused at %s" % (code // 100, stage)
        if stage in o.sleep:
            time.sleep(o.sleep[stage])
        if stage in o.disconnect:
            raise EOFError
        if stage in o.garbage:
            self.s.sendall(b"hello there, this is not SMTP\r\n")
            return
        out = b""
        if stage in o.longline:
            out += str(code).encode() + b"-" + b"x" * 100000 + b"\r\n"
        if stage in o.multiline:
            out += str(code).encode() + b"-first line\r\n" + str(code).encode() + b"-second line\r\n"
        out += str(code).encode() + b" " + text.encode() + b"\r\n"
        self.s.sendall(out)

    def code(self, stage):
        return self.opt.code.get(stage, DEFAULT[stage])

    def run(self):
        o = self.opt
        self.reply("greeting", self.code("greeting"), "sink ESMTP")
        env_from, rcpts, utf8, mail_line = None, [], False, b""
        bdat = None  # the chunks of a BDAT transaction: [data, raw, sizes, failed]
        while True:
            line = self.readline()
            if line is None:
                return
            self.log(line.rstrip(b"\r\n"))
            cmd = line[:4].upper()
            arg = line.rstrip(b"\r\n")
            if cmd == b"EHLO":
                c = self.code("ehlo")
                if c // 100 == 2:
                    kw = ["sink"]
                    if o.pipelining:
                        kw.append("PIPELINING")
                    if o.size is not None:
                        kw.append("SIZE %d" % o.size)
                    if o.eightbitmime:
                        kw.append("8BITMIME")
                    if o.smtputf8:
                        kw.append("SMTPUTF8")
                    if o.dsn:
                        kw.append("DSN")
                    if o.chunking:
                        kw.append("CHUNKING")
                    if (o.starttls or o.tls_broken or o.tls_stall) and self.tls is None:
                        kw.append("STARTTLS")
                    if o.auth:
                        kw.append(o.auth)
                    if "ehlo" in o.sleep:
                        time.sleep(o.sleep["ehlo"])
                    if "ehlo" in o.disconnect:
                        return
                    out = b"".join(("%d-%s\r\n" % (c, k)).encode() for k in kw[:-1])
                    out += ("%d %s\r\n" % (c, kw[-1])).encode()
                    self.s.sendall(out)
                else:
                    self.reply("ehlo", c, "no EHLO here")
            elif cmd == b"HELO":
                self.reply("helo", self.code("helo"), "hello")
            elif cmd == b"MAIL":
                self.log(b"pipelined=" + (b"yes" if self.pending() else b"no"))
                c = self.code("mail")
                words = arg.split(b">", 1)[-1].upper().split()
                utf8 = b"SMTPUTF8" in words
                if (utf8 and not o.smtputf8) or (b"BODY=8BITMIME" in words and not o.eightbitmime):
                    self.s.sendall(b"555 5.5.4 parameter not offered\r\n")
                    continue
                if not utf8 and any(ch > 127 for ch in arg):
                    self.s.sendall(b"553 5.6.7 non-ASCII address without SMTPUTF8\r\n")
                    continue
                if not o.dsn and any(w.startswith(b"RET=") or w.startswith(b"ENVID=") for w in words):
                    self.s.sendall(b"555 5.5.4 DSN parameter not offered\r\n")
                    continue
                env_from = arg[5:] if c // 100 == 2 else None
                bdat = None
                mail_line = line
                rcpts = []
                self.reply("mail", c)
            elif cmd == b"RCPT":
                if env_from is not None and not utf8 and any(ch > 127 for ch in arg):
                    self.s.sendall(b"553 5.6.7 non-ASCII address without SMTPUTF8\r\n")
                    continue
                words = arg.split(b">", 1)[-1].upper().split()
                if not o.dsn and any(w.startswith(b"NOTIFY=") or w.startswith(b"ORCPT=") for w in words):
                    self.s.sendall(b"555 5.5.4 DSN parameter not offered\r\n")
                    continue
                c = self.code("rcpt")
                a = arg[8:].decode("latin-1").split(">", 1)[0].strip("<")
                local = a.rpartition("@")[0]
                for pat, pc in o.rcpt:
                    if fnmatch.fnmatchcase(local, pat):
                        c = pc
                        break
                if env_from is None and c // 100 == 2:
                    c = 503
                if o.chunking and o.pipelining and self.pending():
                    self.drain()
                    if b"BDAT " in self.buf[self.pos:]:
                        self.log(b"bdat-before-rcpt-reply")
                if c // 100 == 2:
                    rcpts.append(arg[8:])
                self.reply("rcpt", c)
            elif cmd == b"DATA":
                c = self.code("data")
                if not rcpts:
                    c = 503
                self.reply("data", c)
                if c != 354:
                    continue
                data, wire, raw = bytearray(), bytearray(), bytearray()
                first = True
                while True:
                    l = self.readline()
                    if l is None:
                        return
                    if first and "body" in o.disconnect:
                        return
                    first = False
                    raw += l
                    if l == b".\r\n":
                        break
                    wire += l
                    if l.startswith(b"."):
                        l = l[1:]
                    data += l
                c = self.code("eom")
                if c // 100 == 2:
                    self.save(data, wire, raw, mail_line, env_from, rcpts)
                self.reply("eom", c, "queued")
                env_from, rcpts = None, []
            elif cmd == b"BDAT" and o.chunking:
                w = arg.split()
                last = len(w) == 3 and w[2].upper() == b"LAST"
                if len(w) not in (2, 3) or not w[1].isdigit() or (len(w) == 3 and not last):
                    self.s.sendall(b"501 5.5.4 bad BDAT\r\n")
                    return
                size = int(w[1])
                if "body" in o.disconnect:
                    return
                chunk = self.read_exact(size)
                if chunk is None:
                    return
                self.log(b"chunk=%d" % size + (b" LAST" if last else b"") +
                         b" pipelined=" + (b"yes" if len(self.buf) > self.pos else b"no"))
                if env_from is None or not rcpts:
                    self.s.sendall(b"503 5.5.1 no valid recipients\r\n" if env_from is None
                                   else b"554 5.5.1 no valid recipients\r\n")
                    continue
                if bdat is None:
                    bdat = [bytearray(), bytearray(), [], False]
                if bdat[3]:
                    self.s.sendall(b"503 5.5.1 transaction failed before\r\n")
                    continue
                bdat[0] += chunk
                bdat[1] += b"BDAT " + w[1] + (b" LAST" if last else b"") + b"\r\n" + chunk
                bdat[2].append("%d%s" % (size, " LAST" if last else ""))
                if not last:
                    c = self.code("bdat")
                    if c // 100 != 2:
                        bdat[3] = True
                        self.reply("bdat", c)
                    else:
                        self.reply("bdat", c, "%d octets received" % size)
                    continue
                c = self.code("eom")
                if c // 100 == 2:
                    self.save(bytes(bdat[0]), bytes(bdat[0]), bytes(bdat[1]), mail_line, env_from, rcpts, bdat[2])
                self.reply("eom", c, "queued")
                env_from, rcpts, bdat = None, [], None
            elif line.rstrip(b"\r\n").upper() == b"STARTTLS" and (o.starttls or o.tls_broken or o.tls_stall) and self.tls is None:
                if self.code("starttls") != 220:
                    self.reply("starttls", self.code("starttls"))
                    continue
                if o.tls_broken:
                    self.s.sendall(b"220 go ahead\r\nthis is not a TLS record\r\n")
                    return
                if o.tls_stall:
                    self.s.sendall(b"220 go ahead\r\n")
                    time.sleep(60)
                    return
                self.s.sendall(b"220 2.0.0 ready to start TLS\r\n")
                self.buf, self.pos = bytearray(), 0  # RFC 3207 4.2: nothing sent before TLS counts
                self.s = o.tls_context.wrap_socket(self.s, server_side=True)
                self.tls = "%s %s" % (self.s.version(), self.s.cipher()[0])
                self.log(("tls=" + self.tls).encode())
                env_from, rcpts = None, []
            elif cmd == b"AUTH" and o.auth:
                for i, c in enumerate(o.auth_replies):
                    if c == 334:
                        self.s.sendall(b"334 VXNlcm5hbWU6\r\n" if i == 0 else b"334 UGFzc3dvcmQ6\r\n")
                        line = self.readline()
                        if line is None:
                            return
                        self.log(line.rstrip(b"\r\n"))
                        continue
                    if c == 235:
                        self.s.sendall(b"235 2.7.0 authenticated\r\n")
                    else:
                        self.s.sendall(b"%d %d.7.0 refused at auth\r\n" % (c, c // 100))
                    break
            elif cmd == b"RSET":
                env_from, rcpts, bdat = None, [], None
                self.reply("rset", self.code("rset"))
                if self.code("rset") == 421:
                    return
            elif cmd == b"QUIT":
                self.reply("quit", 221, "bye")
                return
            else:
                self.s.sendall(b"502 unknown command\r\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--code", action="append", default=[])
    p.add_argument("--rcpt", action="append", default=[])
    p.add_argument("--pipelining", action="store_true")
    p.add_argument("--size", type=int)
    p.add_argument("--8bitmime", dest="eightbitmime", action="store_true")
    p.add_argument("--smtputf8", action="store_true")
    p.add_argument("--dsn", action="store_true")
    p.add_argument("--chunking", action="store_true")
    p.add_argument("--conn", action="store_true")
    p.add_argument("--idle", type=float, default=0)
    p.add_argument("--connlog", action="store_true")
    p.add_argument("--sleep", action="append", default=[])
    p.add_argument("--garbage", action="append", default=[])
    p.add_argument("--longline", action="append", default=[])
    p.add_argument("--multiline", action="append", default=[])
    p.add_argument("--disconnect", action="append", default=[])
    p.add_argument("--starttls")
    p.add_argument("--tls-broken", action="store_true")
    p.add_argument("--tls-stall", action="store_true")
    p.add_argument("--tls-old", action="store_true")
    p.add_argument("--auth")
    p.add_argument("--auth-replies", default="235")
    p.add_argument("--ready")
    o = p.parse_args()
    o.auth_replies = [int(c) for c in o.auth_replies.split(",")]
    o.tls_context = None
    if o.starttls:
        import ssl
        cert, _, key = o.starttls.partition(",")
        o.tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        o.tls_context.load_cert_chain(cert, key)
        if o.tls_old:
            import warnings
            warnings.simplefilter("ignore", DeprecationWarning)
            o.tls_context.set_ciphers("DEFAULT:@SECLEVEL=0")
            o.tls_context.minimum_version = ssl.TLSVersion.TLSv1
            o.tls_context.maximum_version = ssl.TLSVersion.TLSv1_1
    o.code = {k: int(v) for k, v in map(kv, o.code)}
    o.rcpt = [(k, int(v)) for k, v in map(kv, o.rcpt)]
    o.sleep = {k: float(v) for k, v in map(kv, o.sleep)}
    for s in list(o.code) + list(o.sleep) + o.garbage + o.longline + o.multiline + o.disconnect:
        if s not in STAGES:
            sys.exit("smtpsink: unknown stage " + s)
    os.makedirs(o.dir, exist_ok=True)
    fam = socket.AF_INET6 if ":" in o.host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((o.host, o.port))
    ls.listen(16)
    lock = threading.Lock()
    count = [0]
    conns = [0]

    def counter():
        with lock:
            count[0] += 1
            return count[0]

    def connlog(line):
        if o.connlog:
            with lock:
                with open(os.path.join(o.dir, "conns"), "a") as f:
                    f.write(line + "\n")

    def serve(c, k):
        how = "client"
        connlog("open %d" % k)
        try:
            Conn(c, o, counter, k).run()
        except socket.timeout:
            how = "idle"
        except (EOFError, OSError, ValueError):
            pass
        finally:
            c.close()
            connlog("close %d %s" % (k, how))

    if o.ready:
        open(o.ready, "w").close()
    while True:
        c, _ = ls.accept()
        conns[0] += 1
        threading.Thread(target=serve, args=(c, conns[0]), daemon=True).start()


if __name__ == "__main__":
    main()
