"""mhclient.py: the sending side of tests/sh/104-multihost.sh and
bench/multihost.sh. Behaves as a sending MTA would: looks up the MX
records of the domain at a DNS server (its own small stub: MX and A
queries over UDP), tries the MX hosts of the best preference in random
order, then the next preference, and keeps every message it could not
hand over for a later try.

  python3 mhclient.py DNSIP DOMAIN RCPT COUNT WORKERS DEADLINE OUTDIR [probe ADDR]

Sends COUNT messages to RCPT, each with "Subject: mh104 N" (N from 0).
OUTDIR/progress holds the number of messages accepted so far (rewritten
about five times a second). At the end OUTDIR/result holds
   accepted A count C attempts T tempbefore B tempafter F perm P
and OUTDIR/ambiguous the numbers of the messages whose end of data was
sent but not answered 250 (the server may have queued them: only these
may be duplicated, RFC 1047). Exit 0 when every message was accepted
before DEADLINE seconds, 1 otherwise. With "probe ADDR" it only prints
the reply code of RCPT TO:<ADDR> at the first MX host and exits."""
import os, random, smtplib, socket, struct, sys, threading, time

dnsip, domain, rcpt = sys.argv[1], sys.argv[2], sys.argv[3]
count, workers, deadline, outdir = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), sys.argv[7]

def dns_query(name, qtype):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        for _ in range(3):
            s.sendto(q, (dnsip, 53))
            try:
                r, _ = s.recvfrom(4096)
            except socket.timeout:
                continue
            if len(r) >= 12 and struct.unpack(">H", r[:2])[0] == qid:
                return r
    finally:
        s.close()
    return None

def read_name(r, p):
    labels, jumped, end = [], False, None
    for _ in range(64):
        n = r[p]
        if n >= 0xC0:
            if not jumped:
                end = p + 2
            p = ((n & 0x3F) << 8) | r[p + 1]
            jumped = True
            continue
        p += 1
        if n == 0:
            break
        labels.append(r[p:p + n].decode())
        p += n
    return ".".join(labels), (end if jumped else p)

def answers(r, qtype):
    qd, an = struct.unpack(">HH", r[4:8])
    p = 12
    for _ in range(qd):
        _, p = read_name(r, p)
        p += 4
    out = []
    for _ in range(an):
        _, p = read_name(r, p)
        t, _c, _ttl, rdlen = struct.unpack(">HHIH", r[p:p + 10])
        p += 10
        if t == qtype == 15:
            pref = struct.unpack(">H", r[p:p + 2])[0]
            out.append((pref, read_name(r, p + 2)[0]))
        elif t == qtype == 1 and rdlen == 4:
            out.append(socket.inet_ntoa(r[p:p + 4]))
        p += rdlen
    return out

def mx_hosts():
    r = dns_query(domain, 15)
    mx = answers(r, 15) if r else []
    if not mx:
        return [domain]
    prefs = sorted(set(p for p, _ in mx))
    order = []
    for pr in prefs:
        same = [h for p, h in mx if p == pr]
        random.shuffle(same)
        order += same
    return order

def addr_of(host):
    r = dns_query(host, 1)
    a = answers(r, 1) if r else []
    return a[0] if a else None

def message(n):
    return ("From: <client@mhclient.test>\r\nTo: <%s>\r\nSubject: mh104 %d\r\n"
            "Message-ID: <%d.%d@mhclient.test>\r\n\r\nmessage %d of the stream\r\n.dot line\r\n"
            % (rcpt, n, n, os.getpid(), n))

def send_one(ip, n):
    """'ok', 'before' (nothing handed over), 'after' (end of data sent, no 250), 'perm'"""
    try:
        s = smtplib.SMTP(timeout=3)
        s.connect(ip, 25)
    except (OSError, smtplib.SMTPException):
        return "before"
    sent_end = False
    try:
        s.sock.settimeout(15)
        code, _ = s.ehlo("mhclient.test")
        if code != 250:
            return "before"
        code, _ = s.mail("client@mhclient.test")
        if code != 250:
            return "perm" if code >= 500 else "before"
        code, _ = s.rcpt(rcpt)
        if code not in (250, 251):
            return "perm" if code >= 500 else "before"
        s.putcmd("data")
        code, _ = s.getreply()
        if code != 354:
            return "perm" if code >= 500 else "before"
        data = smtplib.quotedata(message(n))
        s.send((data + "\r\n.\r\n").encode())
        sent_end = True
        code, _ = s.getreply()
        if code == 250:
            return "ok"
        return "perm" if code >= 500 else "after"
    except (OSError, smtplib.SMTPException):
        return "after" if sent_end else "before"
    finally:
        try:
            s.close()
        except OSError:
            pass

if len(sys.argv) > 9 and sys.argv[8] == "probe":
    ip = addr_of(mx_hosts()[0])
    s = smtplib.SMTP(ip, 25, timeout=10)
    s.ehlo("mhclient.test")
    s.mail("client@mhclient.test")
    print(s.rcpt(sys.argv[9])[0])
    s.quit()
    sys.exit(0)

lock = threading.Lock()
todo = [(0.0, n) for n in range(count)]  # (not before, number)
accepted, ambiguous = set(), []
stats = {"attempts": 0, "before": 0, "after": 0, "perm": 0}
end = time.time() + deadline

def worker():
    while time.time() < end:
        with lock:
            if not todo:
                if len(accepted) + stats["perm"] >= count:
                    return
                item = None
            else:
                todo.sort()
                item = todo.pop(0) if todo[0][0] <= time.time() else None
        if item is None:
            time.sleep(0.05)
            continue
        n = item[1]
        result = "before"
        for host in mx_hosts():
            ip = addr_of(host)
            if ip is None:
                continue
            result = send_one(ip, n)
            with lock:
                stats["attempts"] += 1
                if result != "ok":
                    stats[result] += 1
                if result == "after":
                    ambiguous.append(n)
            if result != "before":
                break
        with lock:
            if result == "ok":
                accepted.add(n)
            elif result != "perm":
                todo.append((time.time() + 0.5, n))

def progress():
    while time.time() < end:
        with lock:
            a = len(accepted)
            done = a + stats["perm"] >= count
        with open(os.path.join(outdir, "progress.tmp"), "w") as f:
            f.write("%d\n" % a)
        os.rename(os.path.join(outdir, "progress.tmp"), os.path.join(outdir, "progress"))
        if done:
            return
        time.sleep(0.2)

t0 = time.time()
threads = [threading.Thread(target=worker) for _ in range(workers)]
pt = threading.Thread(target=progress)
for t in threads + [pt]:
    t.start()
for t in threads + [pt]:
    t.join()
with open(os.path.join(outdir, "ambiguous"), "w") as f:
    for n in sorted(ambiguous):
        f.write("%d\n" % n)
with open(os.path.join(outdir, "result"), "w") as f:
    f.write("accepted %d count %d attempts %d tempbefore %d tempafter %d perm %d seconds %.3f\n"
            % (len(accepted), count, stats["attempts"], stats["before"], stats["after"], stats["perm"],
               time.time() - t0))
sys.exit(0 if len(accepted) == count else 1)
