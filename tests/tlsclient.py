# tests/tlsclient.py CA PORT MODE [ARG...]: the SMTP client of the TLS
# tests (84-tls, 110-tlsgate), python3's smtplib and ssl, trusting the
# test CA in CA (no host name check), talking to 127.0.0.1:PORT. Each
# MODE prints what the test compares, one line per fact:
#   starttls    STARTTLS offered before and not after, a message sent
#   pipelined   STARTTLS and NOOP in one write: only 221 inside TLS
#   reset       the EHLO state is forgotten after STARTTLS
#   required    MAIL refused before STARTTLS, taken after
#   implicit    TLS first (port 465), then a message
#   bulk        5000 pipelined NOOPs and a 3 MB message through the relay
#   silent      STARTTLS and no handshake: the server closes
#   hold, holdplain  a TLS (plaintext) session held open: the local port
#               goes to the file ARG1, then until the file ARG2 exists
#               (30 s at most), then NOOP
#   refused     STARTTLS refused (454): the session goes on and delivers
#   submission  AUTH offered only after STARTTLS
import base64, smtplib, socket, ssl, sys, os, time
ca, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
def lines(f):
    out = []
    while True:
        l = f.readline()
        if not l:
            break
        out.append(l.decode().rstrip("\r\n"))
        if len(l) < 4 or l[3:4] != b"-":
            break
    return out
def hold(s, n):
    open(sys.argv[n], "w").write(str(s.sock.getsockname()[1]))
    for i in range(300):
        if os.path.exists(sys.argv[n + 1]):
            break
        time.sleep(0.1)
if mode == "starttls":
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=20)
    s.ehlo()
    print("before:", "starttls" if s.has_extn("starttls") else "none")
    code, _ = s.starttls(context=ctx)
    print("starttls:", code, s.sock.version())
    s.ehlo()
    print("after:", "starttls" if s.has_extn("starttls") else "none")
    print("again:", s.docmd("STARTTLS")[0])
    s.sendmail("a@client.test", ["u@example.test"], "Subject: over TLS\r\n\r\nhello\r\n")
    print("sent")
    s.quit()
elif mode == "pipelined":
    # STARTTLS and NOOP in one write; after the handshake, QUIT: the
    # only reply inside TLS must be the 221.
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = raw.makefile("rb")
    lines(f)
    raw.sendall(b"EHLO client.test\r\n")
    lines(f)
    raw.sendall(b"STARTTLS\r\nNOOP\r\n")
    print("reply:", lines(f)[0][:3])
    tls = ctx.wrap_socket(raw, server_hostname="mx.example.test")
    print("handshake:", tls.version())
    tls.sendall(b"QUIT\r\n")
    data = b""
    while True:
        d = tls.recv(4096)
        if not d:
            break
        data += d
    print("inside:", data.decode().replace("\r\n", "|"))
elif mode == "reset":
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=20)
    s.ehlo()
    s.starttls(context=ctx)
    print("mail without ehlo:", s.docmd("MAIL FROM:<a@client.test>")[0])
    s.ehlo()
    print("mail after ehlo:", s.docmd("MAIL FROM:<a@client.test>")[0])
    s.quit()
elif mode == "required":
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=20)
    s.ehlo()
    print("before:", " ".join(str(x) for x in s.docmd("MAIL FROM:<a@client.test>")))
    s.starttls(context=ctx)
    s.ehlo()
    print("after:", s.docmd("MAIL FROM:<a@client.test>")[0])
    s.quit()
elif mode == "implicit":
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    tls = ctx.wrap_socket(raw, server_hostname="mx.example.test")
    f = tls.makefile("rb")
    print("version:", tls.version())
    print("greeting:", lines(f)[0][:3])
    tls.sendall(b"EHLO client.test\r\n")
    ehlo = lines(f)
    print("starttls offered:", any("STARTTLS" in l for l in ehlo))
    for c in (b"MAIL FROM:<a@client.test>", b"RCPT TO:<u@example.test>", b"DATA"):
        tls.sendall(c + b"\r\n")
        lines(f)
    tls.sendall(b"Subject: implicit\r\n\r\nhello\r\n.\r\n")
    print("data:", lines(f)[0][:3])
    tls.sendall(b"QUIT\r\n")
    lines(f)
elif mode == "bulk":
    # through the relay: 5000 pipelined commands in one write, and a
    # 3 MB message
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=60)
    s.ehlo()
    s.starttls(context=ctx)
    s.ehlo()
    s.sock.sendall(b"NOOP\r\n" * 5000)
    n = 0
    for i in range(5000):
        code, _ = s.getreply()
        n += code == 250
    print("noops:", n)
    body = "".join("line %07d of a long message over TLS\r\n" % i for i in range(75000))
    print("big:", len(body) > 3000000, s.sendmail("a@client.test", ["u@example.test"], "Subject: big\r\n\r\n" + body))
    s.quit()
elif mode == "silent":
    # STARTTLS, then no handshake: the server must close the connection
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = raw.makefile("rb")
    lines(f)
    raw.sendall(b"EHLO client.test\r\n")
    lines(f)
    raw.sendall(b"STARTTLS\r\n")
    print("reply:", lines(f)[0][:3])
    try:
        print("then:", "closed" if raw.recv(100) == b"" else "bytes")
    except socket.timeout:
        print("then: still open after 30 s")
elif mode in ("hold", "holdplain"):
    # a TLS (holdplain: plaintext) session kept open until argv[5] exists
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=40)
    s.ehlo()
    if mode == "hold":
        s.starttls(context=ctx)
        s.ehlo()
    hold(s, 4)
    print("noop:", s.docmd("NOOP")[0])
    s.quit()
elif mode == "refused":
    # STARTTLS refused (454): the plaintext session goes on and delivers
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=20)
    s.ehlo()
    print("offered:", s.has_extn("starttls"))
    print("starttls:", " ".join(str(x) for x in s.docmd("STARTTLS")))
    print("noop:", s.docmd("NOOP")[0])
    s.sendmail("a@client.test", ["u@example.test"], "Subject: plaintext after 454\r\n\r\nhello\r\n")
    print("sent")
    s.quit()
elif mode == "submission":
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=20)
    s.ehlo()
    print("auth before:", s.has_extn("auth"))
    print("auth cmd before:", s.docmd("AUTH PLAIN " + base64.b64encode(b"\0u\0p").decode())[0])
    print("mail before:", s.docmd("MAIL FROM:<a@example.test>")[0])
    s.starttls(context=ctx)
    s.ehlo()
    print("tls:", s.sock.version())
    print("auth after:", s.has_extn("auth") and s.esmtp_features["auth"].strip())
    s.quit()
