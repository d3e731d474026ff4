#!/usr/bin/env python3
"""bench/soak.py: the two ends of bench/soak.sh, standard library only.

  soak.py sink --port P --log FILE --ready FILE
      An SMTP server on 127.0.0.1 port P that accepts everything (EHLO
      offers 8BITMIME, no PIPELINING, so a client sends its next command
      only after it has read the reply to the last). For each message it
      accepts it appends, before it answers 250, one line to FILE:
          250 CONN MARKER            (MARKER: the X-Soak field of the
                                      top-level header, "-" when none)
      and when that connection then sends another command (proof that
      the client read the 250):
          ack CONN MARKER
      A message with the null sender also gets "bounce CONN MARKER".
      FILE is flushed at every line. It runs until SIGTERM.

  soak.py send --hosts H1,H2 --port P --count N --tag TAG --local RCPT
               --remote-domain D --out FILE [--sessions S] [--limit SECONDS]
      Sends messages 1..N over SMTP (S sessions at once, default 8, each
      a thread with up to 20 messages per connection, alternating the
      hosts). Message I has the header field "X-Soak: TAG I" and a
      unique Message-ID; even I goes to RCPT, odd I to rI@D. A message
      is sent again until a 250 follows its data: after a 4xx or 5xx at
      any step, a refused or broken connection, or a timeout. Each line
      of FILE says what happened:
          accepted I                 250 after the data
          ambiguous I                the whole data was sent but no reply
                                     came (the message may be queued)
          retry I STEP TEXT          refused or failed before that point
          gaveup I                   no 250 after 500 tries (the limit)
      and the last line is "done SENT SECONDS" (SECONDS wall time) or
      "timeout" when --limit (default 3600) ran out. Exit 0 when every
      message was accepted, 1 otherwise.
"""
import argparse
import os
import signal
import smtplib
import socket
import socketserver
import sys
import threading
import time

BODY = "".join("soak body line %02d: the quick brown fox jumps over the lazy dog\r\n" % k for k in range(16))


# ---------------------------------------------------------------- sink
class SinkState:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.lock = threading.Lock()
        self.conns = 0

    def write(self, line):
        with self.lock:
            self.f.write(line + "\n")
            self.f.flush()

    def next_conn(self):
        with self.lock:
            self.conns += 1
            return self.conns


def marker_of(data):
    """The X-Soak field of the top-level header, or "-"."""
    for line in data.split(b"\r\n"):
        if line == b"":
            break
        if line[:8].lower() == b"x-soak: ":
            return line[8:].decode("latin-1").strip().replace(" ", "/")
    return "-"


class SinkHandler(socketserver.StreamRequestHandler):
    timeout = 120

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        st = self.server.state
        conn = st.next_conn()
        pending = None      # the marker of the last 250, until the next command
        sender = None
        rcpts = 0
        try:
            self.reply("220 soak sink ESMTP")
            while True:
                line = self.rfile.readline(4096)
                if not line:
                    return
                if pending is not None:
                    st.write("ack %d %s" % (conn, pending))
                    pending = None
                cmd = line[:4].upper()
                if cmd == b"EHLO":
                    self.wfile.write(b"250-soak sink\r\n250 8BITMIME\r\n")
                    self.wfile.flush()
                elif cmd == b"HELO":
                    self.reply("250 soak sink")
                elif cmd == b"MAIL":
                    sender = line[10:].strip()
                    rcpts = 0
                    self.reply("250 ok")
                elif cmd == b"RCPT":
                    if sender is None:
                        self.reply("503 MAIL first")
                    else:
                        rcpts += 1
                        self.reply("250 ok")
                elif cmd == b"DATA":
                    if not rcpts:
                        self.reply("503 RCPT first")
                        continue
                    self.reply("354 go ahead")
                    data = []
                    while True:
                        l = self.rfile.readline(1 << 20)
                        if not l:
                            return          # cut mid-data: not accepted
                        if l == b".\r\n":
                            break
                        if l.startswith(b"."):
                            l = l[1:]
                        data.append(l)
                    m = marker_of(b"".join(data))
                    st.write("250 %d %s" % (conn, m))
                    if sender in (b"<>", b""):
                        st.write("bounce %d %s" % (conn, m))
                    self.reply("250 ok queued")
                    pending = m
                    sender, rcpts = None, 0
                elif cmd == b"RSET":
                    sender, rcpts = None, 0
                    self.reply("250 ok")
                elif cmd == b"NOOP":
                    self.reply("250 ok")
                elif cmd == b"QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("502 unknown command")
        except OSError:
            return


class SinkServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128


def sink(a):
    srv = SinkServer(("127.0.0.1", a.port), SinkHandler)
    srv.state = SinkState(a.log)
    signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))
    with open(a.ready, "w") as f:
        f.write("ready\n")
    srv.serve_forever()


# ---------------------------------------------------------------- send
class Sender:
    def __init__(self, a):
        self.a = a
        self.hosts = a.hosts.split(",")
        self.lock = threading.Lock()
        self.next_id = 1
        self.out = open(a.out, "w", buffering=1)
        self.failed = 0
        self.deadline = time.time() + a.limit
        self.timed_out = False

    def log(self, line):
        with self.lock:
            self.out.write(line + "\n")

    def take(self):
        with self.lock:
            if self.next_id > self.a.count:
                return None
            i = self.next_id
            self.next_id += 1
            return i

    def message(self, i, rcpt):
        a = self.a
        return ("From: soak <soak@%s>\r\nTo: <%s>\r\nSubject: soak %s %d\r\n"
                "Message-ID: <soak.%s.%d@soak.example>\r\nX-Soak: %s %d\r\n"
                "Date: %s\r\n\r\n%s.\r\n" % (a.remote_domain, rcpt, a.tag, i, a.tag, i, a.tag, i,
                                              time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
                                              BODY)).encode()

    def worker(self, k):
        a = self.a
        conn = None
        in_conn = 0
        turn = k
        while True:
            i = self.take()
            if i is None:
                break
            rcpt = a.local if i % 2 == 0 else "r%d@%s" % (i, a.remote_domain)
            msg = self.message(i, rcpt)
            tries = 0
            while True:
                if time.time() > self.deadline:
                    self.timed_out = True
                    return
                tries += 1
                if tries > 500:
                    self.log("gaveup %d" % i)
                    with self.lock:
                        self.failed += 1
                    break
                step = "connect"
                whole_sent = False
                try:
                    if conn is None:
                        turn += 1
                        conn = smtplib.SMTP(self.hosts[turn % len(self.hosts)], a.port,
                                            local_hostname="soak.example", timeout=60)
                        step = "ehlo"
                        c, t = conn.ehlo()
                        if c != 250:
                            raise smtplib.SMTPResponseException(c, t)
                        in_conn = 0
                    step = "mail"
                    c, t = conn.mail("soak@%s" % a.remote_domain)
                    if c != 250:
                        raise smtplib.SMTPResponseException(c, t)
                    step = "rcpt"
                    c, t = conn.rcpt(rcpt)
                    if c != 250:
                        raise smtplib.SMTPResponseException(c, t)
                    step = "data"
                    conn.putcmd("data")
                    c, t = conn.getreply()
                    if c != 354:
                        raise smtplib.SMTPResponseException(c, t)
                    step = "body"
                    conn.send(msg)
                    whole_sent = True
                    step = "eom"
                    c, t = conn.getreply()
                    if c != 250:
                        whole_sent = False   # refused: the server said it has not got it
                        raise smtplib.SMTPResponseException(c, t)
                    self.log("accepted %d" % i)
                    in_conn += 1
                    if in_conn >= 20:
                        try:
                            conn.quit()
                        except (smtplib.SMTPException, OSError):
                            pass
                        conn = None
                    break
                except (smtplib.SMTPException, OSError) as e:
                    if whole_sent:
                        self.log("ambiguous %d" % i)
                    else:
                        self.log("retry %d %s %s" % (i, step, str(e).replace("\n", " ")[:120]))
                    try:
                        if conn is not None:
                            conn.close()
                    except OSError:
                        pass
                    conn = None
                    time.sleep(0.3)
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                pass

    def run(self):
        t0 = time.time()
        threads = [threading.Thread(target=self.worker, args=(k,), daemon=True) for k in range(self.a.sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(1.0, self.deadline - time.time() + 120))
        if self.timed_out or any(t.is_alive() for t in threads):
            self.log("timeout")
            return 1
        self.log("done %d %.1f" % (self.a.count, time.time() - t0))
        return 1 if self.failed else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sink")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--ready", required=True)
    c = sub.add_parser("send")
    c.add_argument("--hosts", default="127.0.0.1")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--count", type=int, required=True)
    c.add_argument("--tag", required=True)
    c.add_argument("--local", required=True)
    c.add_argument("--remote-domain", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--sessions", type=int, default=8)
    c.add_argument("--limit", type=float, default=3600)
    a = p.parse_args()
    if a.cmd == "sink":
        sink(a)
        return 0
    return Sender(a).run()


if __name__ == "__main__":
    sys.exit(main())
