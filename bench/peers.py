#!/usr/bin/env python3
"""bench/peers.py: the measuring half of bench/peers.sh (which installs,
configures, starts and stops the two MTAs and calls this once per run).
Not a benchmark on its own: bench/run runs only bench/*.sh.

  peers.py run --root PIDFILE --n N --limit S [--stall S2] (--new DIR | --sink PORT --sink-user U)
               -- SMTP-SOURCE ARGS...
      One load run: starts smtp-sink first with --sink, then the command
      (smtp-source) and waits, at most S seconds, until N messages are
      done: N new names in DIR (a Maildir's new/, watched with inotify)
      or smtp-sink's counter at N. Prints one line of name=value fields:
        accept  messages per second until the command exited
        e2e     messages per second until the N-th was done
        mcpu    whole-machine busy CPU (/proc/stat: user, nice, system,
                irq, softirq, steal) per message, ms, over the same time
        bg      the machine's busy CPU in the 2 s before the run (nothing
                sent), in % of one core: what others were doing
        mcpunet mcpu less that background over the run's time (an
                estimate: the background changes)
        tcpu    CPU of the MTA's processes per message, ms: every process
                under the pid in PIDFILE, its own time and that of its
                children it reaped (so processes that came and went in
                the run count), before and after
        pss     PSS of every process under that pid when the run ended, MB
                (from /proc/PID/smaps_rollup)
        nproc   how many processes that was
        conn    (with --sink) SMTP sessions smtp-sink saw per message
      When the run did not finish within S seconds, or no message was
      done for --stall seconds (60) after the command exited: a message
      on fd 2, "incomplete=1 got=K [accept=RATE]" on fd 1, exit 3. Exit 2
      with a message on fd 2 when the command failed.

  peers.py latency --new DIR --port P --to RCPT --from SENDER --samples K --limit S
      K times, one at a time: connect to 127.0.0.1:P, send one 2 KB
      message over SMTP, and wait for its file in DIR; prints
      "lat=MEDIAN_MS samples=A,B,...". The file is removed after each
      sample.

  peers.py tlssource --port P --n N --conc C --from SENDER --to RCPT --limit S [--info FILE]
      The load generator of the TLS rows (smtp-source has no STARTTLS):
      C processes send N messages in all to 127.0.0.1:P, a new
      connection per message: greeting, EHLO, STARTTLS (it must be
      offered), a full TLS handshake (no session resumption, no
      certificate verification), EHLO again, MAIL, RCPT, DATA of 2 KB,
      QUIT. Every reply is checked; exit 1 with a message on fd 2 at
      the first failure, or when S seconds pass. With --info, the
      first connection's protocol version and cipher go to FILE.

  peers.py pids --root PIDFILE
      The pids of every process under that pid, one line, for strace.

  peers.py table FILE
      FILE holds lines "PAIR<TAB>MTA<TAB>FIGURE<TAB>VALUE" (MTA postfix,
      sluice or raw); prints the table of medians, min-max and the median
      of the per-pair ratios on fd 2, and rows for bench/run on fd 1.
"""
import ctypes
import os
import re
import select
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import time

IN_CREATE = 0x100
IN_MOVED_TO = 0x80
IN_Q_OVERFLOW = 0x4000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
HZ = os.sysconf("SC_CLK_TCK")
BACKGROUND_SECONDS = 2.0


def die(text, code=2):
    sys.stderr.write("bench/peers.py: %s\n" % text)
    sys.exit(code)


class Watch:
    """Counts names created in or moved into a directory (inotify)."""

    def __init__(self, path):
        self.path = path
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            die("inotify_init1: %s" % os.strerror(ctypes.get_errno()))
        if libc.inotify_add_watch(self.fd, path.encode(), IN_CREATE | IN_MOVED_TO) < 0:
            die("inotify_add_watch %s: %s" % (path, os.strerror(ctypes.get_errno())))
        self.count = len(os.listdir(path))
        self.names = []

    def wait(self, timeout):
        """Reads what came within timeout seconds; returns the count."""
        r, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not r:
            return self.count
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return self.count
        i = 0
        overflow = False
        while i + 16 <= len(data):
            _wd, mask, _cookie, ln = struct.unpack_from("iIII", data, i)
            name = data[i + 16:i + 16 + ln].rstrip(b"\0")
            i += 16 + ln
            if mask & IN_Q_OVERFLOW:
                overflow = True
            elif mask & (IN_CREATE | IN_MOVED_TO):
                self.count += 1
                self.names.append(name)
        if overflow:
            self.count = len(os.listdir(self.path))
        return self.count

    def close(self):
        os.close(self.fd)


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest is in user)
    return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)


def read_pid(pidfile):
    try:
        with open(pidfile) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        die("no pid in %s" % pidfile)


def tree(root):
    """root and every process below it."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def tree_cpu(root):
    """Ticks of every process under root: own and reaped children's."""
    t = 0
    for p in tree(root):
        try:
            with open("/proc/%d/stat" % p) as f:
                s = f.read()
        except OSError:
            continue
        v = s[s.rindex(")") + 2:].split()
        t += int(v[11]) + int(v[12]) + int(v[13]) + int(v[14])
    return t


def tree_pss(root):
    kb, n = 0, 0
    for p in tree(root):
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        kb += int(line.split()[1])
                        n += 1
                        break
        except OSError:
            continue
    return kb / 1024.0, n


def wait_port(port, limit):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def cmd_run(argv):
    opts, cmd = parse(argv, ("root", "n", "limit", "stall", "new", "sink", "sink-user"))
    n, limit = int(opts["n"]), float(opts["limit"])
    stall = float(opts.get("stall", 60))
    root = read_pid(opts["root"])
    watch = sink = src = None
    sinkbuf = b""
    msgs = sess = 0
    done_at = None
    try:
        if "sink" in opts:
            port = int(opts["sink"])
            sink = subprocess.Popen(["smtp-sink", "-u", opts.get("sink-user", "nobody"), "-c",
                                     "127.0.0.1:%d" % port, "1000"],
                                    stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            os.set_blocking(sink.stdout.fileno(), False)
            if not wait_port(port, 10):
                die("smtp-sink does not answer on 127.0.0.1:%d" % port)
            # the probe above was a session of its own: count from here
            time.sleep(0.1)
            try:
                sinkbuf = os.read(sink.stdout.fileno(), 65536)
            except BlockingIOError:
                pass
            base_sess = int((re.findall(rb"sess=(\d+)", sinkbuf) or [b"0"])[-1])
        else:
            watch = Watch(opts["new"])
            if watch.count != 0:
                die("%s is not empty (%d names)" % (opts["new"], watch.count))
        errf = tempfile.TemporaryFile()
        # the machine's background: busy ticks per second while idle
        b0, bt0 = machine_busy(), time.monotonic()
        time.sleep(BACKGROUND_SECONDS)
        bg = (machine_busy() - b0) / (time.monotonic() - bt0)
        c0, m0 = tree_cpu(root), machine_busy()
        t0 = time.monotonic()
        src = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
        accept_at = None
        end = t0 + limit
        last_got, last_change = -1, t0
        while True:
            now = time.monotonic()
            if accept_at is None and src.poll() is not None:
                accept_at = now
                if src.returncode != 0:
                    errf.seek(0)
                    err = errf.read().decode(errors="replace").strip()
                    die("%s failed (exit %d): %s" % (cmd[0], src.returncode, err[-600:]))
            got = msgs if sink else watch.count
            if got != last_got:
                last_got, last_change = got, now
            stalled = accept_at is not None and now - max(last_change, accept_at) > stall
            if now > end or stalled:
                why = ("no message done for %d s after %s finished" % (stall, cmd[0]) if stalled
                       else "timed out after %d s" % limit)
                sys.stderr.write("bench/peers.py: INCOMPLETE: %s: %d of %d messages done%s\n" %
                                 (why, got, n, "" if accept_at else ", %s still sending" % cmd[0]))
                print("incomplete=1 got=%d%s" % (got, " accept=%.4g" % (n / (accept_at - t0)) if accept_at else ""))
                sys.exit(3)
            if sink:
                r, _, _ = select.select([sink.stdout], [], [], 0.05)
                if r:
                    try:
                        chunk = os.read(sink.stdout.fileno(), 65536)
                    except BlockingIOError:
                        chunk = b""
                    if not chunk and sink.poll() is not None:
                        die("smtp-sink exited")
                    sinkbuf = (sinkbuf + chunk)[-4096:]
                    m = re.findall(rb"mesg=(\d+)", sinkbuf)
                    if m:
                        msgs = int(m[-1])
                got = msgs
            else:
                got = watch.wait(0.05)
            if got >= n and done_at is None:
                done_at = time.monotonic()
                c1, m1 = tree_cpu(root), machine_busy()
                pss, nproc = tree_pss(root)
            if done_at is not None and accept_at is not None:
                break
        out = {
            "accept": n / (accept_at - t0),
            "e2e": n / (done_at - t0),
            "mcpu": (m1 - m0) * 1000.0 / HZ / n,
            "mcpunet": max(m1 - m0 - bg * (done_at - t0), 0) * 1000.0 / HZ / n,
            "bg": bg * 100.0 / HZ,
            "tcpu": (c1 - c0) * 1000.0 / HZ / n,
            "pss": pss,
            "nproc": nproc,
        }
        if sink:
            # sessions are counted as they end: wait until the count
            # stays put for 2.5 s (a connection cache closes its
            # connections after its idle time), at most 10 s
            last, still, end2 = None, time.monotonic(), time.monotonic() + 10
            while time.monotonic() < end2:
                r, _, _ = select.select([sink.stdout], [], [], 0.2)
                if r:
                    try:
                        sinkbuf = (sinkbuf + os.read(sink.stdout.fileno(), 65536))[-4096:]
                    except BlockingIOError:
                        pass
                s = re.findall(rb"sess=(\d+)", sinkbuf)
                cur = int(s[-1]) if s else 0
                if cur != last:
                    last, still = cur, time.monotonic()
                elif time.monotonic() - still > 2.5:
                    break
            out["conn"] = (last - base_sess) / n
        print(" ".join("%s=%.4g" % kv for kv in out.items()))
    finally:
        stop(src)
        stop(sink)
        if watch:
            watch.close()


MESSAGE = None


def message():
    global MESSAGE
    if MESSAGE is None:
        lines = ["Subject: latency probe", "From: <sender@example.test>", ""]
        line = "0123456789" * 7 + "\r\n"
        MESSAGE = ("\r\n".join(lines) + "\r\n" + line * (2048 // len(line)) + ".\r\n").encode()
    return MESSAGE


def smtp_one(port, sender, rcpt, limit):
    s = socket.create_connection(("127.0.0.1", port), timeout=limit)
    f = s.makefile("rb")

    def reply(want):
        while True:
            line = f.readline()
            if not line:
                raise OSError("connection closed")
            if len(line) < 4 or line[3:4] != b"-":
                break
        if not line.startswith(want):
            raise OSError("unexpected reply: %r" % line)

    def cmd(text, want):
        s.sendall(text.encode() + b"\r\n")
        reply(want)

    reply(b"220")
    cmd("EHLO latency.example.test", b"250")
    cmd("MAIL FROM:<%s>" % sender, b"250")
    cmd("RCPT TO:<%s>" % rcpt, b"250")
    cmd("DATA", b"354")
    s.sendall(message())
    reply(b"250")
    cmd("QUIT", b"221")
    f.close()
    s.close()


def cmd_latency(argv):
    opts, _ = parse(argv, ("new", "port", "to", "from", "samples", "limit"))
    k, limit, port = int(opts["samples"]), float(opts["limit"]), int(opts["port"])
    samples = []
    end = time.monotonic() + limit
    for _ in range(k):
        watch = Watch(opts["new"])
        if watch.count != 0:
            die("%s is not empty (%d names)" % (opts["new"], watch.count))
        t0 = time.monotonic()
        try:
            smtp_one(port, opts["from"], opts["to"], max(end - t0, 1))
        except OSError as e:
            die("latency probe: %s" % e)
        while watch.count < 1:
            if time.monotonic() > end:
                die("timed out after %d s waiting for a latency probe's delivery" % limit)
            watch.wait(0.5)
        samples.append((time.monotonic() - t0) * 1000.0)
        for name in watch.names:
            try:
                os.unlink(os.path.join(opts["new"], name.decode()))
            except OSError:
                pass
        watch.close()
        time.sleep(0.05)
    print("lat=%.4g samples=%s" % (statistics.median(samples), ",".join("%.1f" % x for x in samples)))


def tls_session(port, sender, rcpt, ctx, timeout):
    """One message over STARTTLS on a new connection; (version, cipher)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s = raw
    try:
        f = s.makefile("rb")

        def reply(want):
            lines = []
            while True:
                line = f.readline()
                if not line:
                    raise OSError("connection closed")
                lines.append(line)
                if len(line) < 4 or line[3:4] != b"-":
                    break
            if not line.startswith(want):
                raise OSError("unexpected reply: %r" % line)
            return lines

        def cmd(text, want):
            s.sendall(text.encode() + b"\r\n")
            return reply(want)

        reply(b"220")
        ext = cmd("EHLO tls.example.test", b"250")
        if not any(x[4:].strip().upper() == b"STARTTLS" for x in ext):
            raise OSError("STARTTLS not offered")
        cmd("STARTTLS", b"220")
        f.close()
        s = ctx.wrap_socket(raw, server_hostname=None)
        f = s.makefile("rb")
        info = (s.version(), s.cipher()[0])
        ext = cmd("EHLO tls.example.test", b"250")
        if any(x[4:].strip().upper() == b"STARTTLS" for x in ext):
            raise OSError("STARTTLS offered again inside TLS")
        cmd("MAIL FROM:<%s>" % sender, b"250")
        cmd("RCPT TO:<%s>" % rcpt, b"250")
        cmd("DATA", b"354")
        s.sendall(message())
        reply(b"250")
        cmd("QUIT", b"221")
        f.close()
        return info
    finally:
        s.close()


def tls_worker(port, sender, rcpt, counter, n, end, info):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    while True:
        with counter.get_lock():
            if counter.value >= n:
                return
            counter.value += 1
            first = counter.value == 1
        left = end - time.monotonic()
        if left <= 0:
            die("tlssource: timed out", 1)
        try:
            v = tls_session(port, sender, rcpt, ctx, left)
        except (OSError, ssl.SSLError) as e:
            die("tlssource: %s" % e, 1)
        if first and info:
            with open(info, "w") as out:
                out.write("%s %s\n" % v)


def cmd_tlssource(argv):
    import multiprocessing
    opts, _ = parse(argv, ("port", "n", "conc", "from", "to", "limit", "info"))
    n, conc, port = int(opts["n"]), int(opts["conc"]), int(opts["port"])
    end = time.monotonic() + float(opts["limit"])
    counter = multiprocessing.Value("l", 0)
    procs = [multiprocessing.Process(target=tls_worker,
                                     args=(port, opts["from"], opts["to"], counter, n, end, opts.get("info")))
             for _ in range(min(conc, n))]
    for p in procs:
        p.daemon = True
    for p in procs:
        p.start()
    bad = 0
    for p in procs:
        p.join(max(end - time.monotonic(), 0) + 5)
        if p.exitcode is None:
            p.terminate()
            p.join(5)
            bad += 1
        elif p.exitcode != 0:
            bad += 1
    if bad:
        for p in procs:
            if p.exitcode is None:
                p.terminate()
        die("tlssource: %d of %d senders failed" % (bad, len(procs)), 1)


def cmd_pids(argv):
    opts, _ = parse(argv, ("root",))
    print(" ".join(str(p) for p in tree(read_pid(opts["root"]))))


# figure: (title, unit, higher is better)
FIGURES = [
    ("e2e", "end-to-end to Maildir/new", "msg/s", True),
    ("accept", "SMTP accept", "msg/s", True),
    ("relay", "relay, at smtp-sink", "msg/s", True),
    ("relayaccept", "relay, SMTP accept", "msg/s", True),
    ("d_e2e", "-d: end-to-end to Maildir/new", "msg/s", True),
    ("d_accept", "-d: SMTP accept", "msg/s", True),
    ("d_relay", "-d: relay, at smtp-sink", "msg/s", True),
    ("lat", "latency connect -> Maildir/new", "ms", False),
    ("mcpu", "machine CPU per message, local", "ms", False),
    ("mcpunet", "machine CPU per message, local, less background", "ms", False),
    ("mcpu_relay", "machine CPU per message, relay", "ms", False),
    ("mcpunet_relay", "machine CPU per message, relay, less background", "ms", False),
    ("d_mcpu", "-d: machine CPU per message, local", "ms", False),
    ("d_mcpunet", "-d: machine CPU per message, local, less background", "ms", False),
    ("tcpu", "MTA's own CPU per message, local", "ms", False),
    ("tcpu_relay", "MTA's own CPU per message, relay", "ms", False),
    ("d_tcpu", "-d: MTA's own CPU per message, local", "ms", False),
    ("tls_e2e", "STARTTLS: end-to-end to Maildir/new", "msg/s", True),
    ("tls_accept", "STARTTLS: SMTP accept", "msg/s", True),
    ("tls_mcpu", "STARTTLS: machine CPU per message, local", "ms", False),
    ("tls_mcpunet", "STARTTLS: machine CPU per msg, less background", "ms", False),
    ("tls_tcpu", "STARTTLS: MTA's own CPU per message, local", "ms", False),
    ("tls_pss", "STARTTLS: PSS of all its processes, local", "MB", False),
    ("pss", "PSS of all its processes, local", "MB", False),
    ("pss_relay", "PSS of all its processes, relay", "MB", False),
    ("nproc", "processes at the end of the local run", "", False),
    ("bg", "background busy before a local run (% of a core)", "%", False),
    ("userbusy", "local: deliveries deferred as user busy, per msg", "", False),
    ("conn", "relay: connects per message", "", False),
    ("d_conn", "-d: relay: connects per message", "", False),
    ("execs", "strace: execve per message, local", "", False),
    ("forks", "strace: fork/clone per message, local", "", False),
    ("syncs", "strace: fsync+fdatasync per message, local", "", False),
]
RAW = [
    ("raw1", "fsync-raw, 1 writer (create, 2 KB, fsync, rename, dir fsync)", "files/s"),
    ("raw20", "fsync-raw, 20 writers at once", "files/s"),
]


def fmt(x):
    if x is None:
        return "-"
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    return "%.2f" % x


def cmd_table(argv):
    data = {}
    pairs = set()
    with open(argv[0]) as f:
        for line in f:
            v = line.rstrip("\n").split("\t")
            if len(v) != 4:
                continue
            pair, mta, fig, val = v
            pairs.add(pair)
            data.setdefault((mta, fig), {})[pair] = float(val)
    err = sys.stderr
    head = ("figure", "unit", "Postfix", "min-max", "sluice", "min-max", "sluice/Postfix", "better")
    rows = []
    for key, title, unit, higher in FIGURES:
        p = data.get(("postfix", key), {})
        s = data.get(("sluice", key), {})
        if not p and not s:
            continue
        ratios = [s[k] / p[k] for k in p if k in s and p[k] > 0]
        r = statistics.median(ratios) if ratios else None
        rows.append((title, unit,
                     fmt(statistics.median(p.values())) if p else "-",
                     "%s-%s" % (fmt(min(p.values())), fmt(max(p.values()))) if p else "-",
                     fmt(statistics.median(s.values())) if s else "-",
                     "%s-%s" % (fmt(min(s.values())), fmt(max(s.values()))) if s else "-",
                     "%.2f" % r if r is not None else "-",
                     "higher" if higher else "lower"))
        print("peers-%s\t%s\tsluice/Postfix\t%s: median of %d pair ratios (%s better); Postfix %s, sluice %s %s" %
              (key.replace("_", "-"), "%.2f" % r if r is not None else "-", title, len(ratios),
               "higher" if higher else "lower", rows[-1][2], rows[-1][4], unit))
    for key, title, unit in RAW:
        v = data.get(("raw", key), {})
        if not v:
            continue
        rows.append((title, unit, fmt(statistics.median(v.values())),
                     "%s-%s" % (fmt(min(v.values())), fmt(max(v.values()))), "", "", "", "higher"))
        print("peers-%s\t%s\t%s\t%s, median of %d" % (key, fmt(statistics.median(v.values())), unit, title, len(v)))
    w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    err.write("\nbench/peers.sh: Postfix and sluice side by side, %d A/B pairs (medians; min-max;\n"
              "median of the per-pair ratios sluice/Postfix). fsync-raw rows: the disk alone.\n\n"
              % len([x for x in pairs if x.isdigit()]))
    for r in [head] + rows:
        err.write("  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i]) for i, c in enumerate(r)).rstrip() + "\n")
    bgs = list(data.get(("postfix", "bg"), {}).values()) + list(data.get(("sluice", "bg"), {}).values())
    if bgs and statistics.median(bgs) > 20:
        err.write("\nNOTE: the machine was %.0f%% of a core busy before the runs with nothing sent\n"
                  "(median; other work on it): the whole-machine CPU figures hold that work,\n"
                  "the \"less background\" ones are estimates, and the rates are lower than on\n"
                  "an idle machine. Compare the ratios, not the absolute figures.\n" % statistics.median(bgs))
    err.write("\n")


def parse(argv, names):
    opts, cmd = {}, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            cmd = argv[i + 1:]
            break
        if not a.startswith("--") or a[2:] not in names or i + 1 >= len(argv):
            die("bad argument %s" % a, 100)
        opts[a[2:]] = argv[i + 1]
        i += 2
    return opts, cmd


def main():
    if len(sys.argv) < 2:
        die("usage: peers.py run|latency|tlssource|pids|table ...", 100)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(111))
    {"run": cmd_run, "latency": cmd_latency, "pids": cmd_pids, "table": cmd_table,
     "tlssource": cmd_tlssource}.get(
        sys.argv[1], lambda _: die("unknown command %s" % sys.argv[1], 100))(sys.argv[2:])


if __name__ == "__main__":
    main()
