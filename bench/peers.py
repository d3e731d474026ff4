#!/usr/bin/env python3
"""bench/peers.py: the measuring half of bench/peers.sh (which installs,
configures, starts and stops the two MTAs and calls this once per run).
Not a benchmark on its own: bench/run runs only bench/*.sh.

  peers.py run --root PIDFILE --n N --limit S [--stall S2] (--new DIR | --sink PORT --sink-user U)
               [--byprog FILE] -- SMTP-SOURCE ARGS...
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
      With --byprog, the CPU of the MTA's processes by program, written
      to FILE, one line per program name (comm): "NAME EXITS CPU_NS",
      EXITS the processes of that name that ended in the run, CPU_NS
      their CPU time in the run (see Taskstats below); the first line
      "- UNATTRIBUTED_EXITS UNATTRIBUTED_NS DROPPED" counts what ended
      outside the tree and the exit records the kernel dropped.
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

  peers.py count --n N TRACE
      Counts the system calls in TRACE (strace -f -qq -s 256 output, as
      bench/lib.sh strace_attach writes it) and prints per message (N
      messages) one line of name=value fields: calls (every call),
      execve, fork (fork, or clone/clone3 that copy the address space),
      exec:PROG (execve of PROG, by its file name),
      vfork (vfork, or clone/clone3 with CLONE_VM and CLONE_VFORK),
      thread (CLONE_THREAD), fsync-file and fsync-dir (fsync of a
      descriptor that names a directory, looked at when counting; -y
      gives the names), fdatasync, sfr (sync_file_range),
      create (open/openat/creat with O_CREAT that succeeded: new names and
      truncations alike), mkdir, and those that succeeded of unlink
      (unlink, unlinkat, rmdir), rename (rename, renameat, renameat2),
      link (link, linkat). On fd 2 the
      execve calls by program and the calls by name, per message.

Taskstats (run --byprog): the kernel sends a record for every process
that exits (its comm, pid, parent pid, and with kernel.task_delayacct=1
its exact CPU time, cpu_run_virtual_total, else user and system time in
microseconds, sampled by the tick) to a generic netlink socket
registered for every CPU. A process of the tree at the start or the
end counts with /proc/PID/schedstat (exact CPU time) at the end, or at
its exit, less that at the start; one that came and went counts when
its parent is one of the tree's or one of those (transitively). BSD
process accounting (acct) is not used: it keeps user and system time
in whole 1/100 s (comp_t of AHZ ticks, truncated), so a process that
used less than 10 ms of CPU, as nearly all of an MTA's short-lived
processes do, counts as 0.

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


NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
NLM_F_REQUEST = 1
NLMSG_ERROR = 2


def nla(kind, data):
    n = 4 + len(data)
    return struct.pack("HH", n, kind) + data + b"\0" * ((4 - n % 4) % 4)


def nla_parse(data):
    out, i = {}, 0
    while i + 4 <= len(data):
        n, kind = struct.unpack_from("HH", data, i)
        if n < 4:
            break
        out.setdefault(kind & 0x3fff, []).append(data[i + 4:i + n])
        i += (n + 3) & ~3
    return out


class Taskstats:
    """Exit records of every process (generic netlink TASKSTATS)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        self.sock.bind((0, 0))
        self.seq = 0
        # the family id of TASKSTATS
        reply = self.request(GENL_ID_CTRL, 3, 1, nla(2, b"TASKSTATS\0"))
        self.family = struct.unpack_from("H", nla_parse(reply[4:])[1][0])[0]
        cpus = "0-%d" % (os.cpu_count() - 1)
        self.request(self.family, 1, 1, nla(3, cpus.encode() + b"\0"), ack=True)
        self.records, self.dropped, self.stop = [], 0, False
        import threading
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def request(self, family, cmd, version, attrs, ack=False):
        self.seq += 1
        body = struct.pack("BBH", cmd, version, 0) + attrs
        self.sock.send(struct.pack("IHHII", 16 + len(body), family, NLM_F_REQUEST | (4 if ack else 0),
                                   self.seq, 0) + body)
        while True:
            data = self.sock.recv(65536)
            n, kind, _flags, seq, _pid = struct.unpack_from("IHHII", data, 0)
            if seq != self.seq:
                continue
            if kind == NLMSG_ERROR:
                err = struct.unpack_from("i", data, 16)[0]
                if err:
                    die("taskstats: netlink error %d (%s)" % (err, os.strerror(-err)))
                return b""
            return data[16:n]

    def loop(self):
        while not self.stop:
            try:
                r, _, _ = select.select([self.sock], [], [], 0.2)
                if r:
                    self.take(self.sock.recv(1 << 20))
            except OSError:  # ENOBUFS: records were dropped
                self.dropped += 1

    def take(self, data):
        i = 0
        while i + 16 <= len(data):
            n, kind = struct.unpack_from("IH", data, i)
            if n < 16:
                break
            if kind == self.family:
                for agg in nla_parse(data[i + 20:i + n]).get(4, []):  # TASKSTATS_TYPE_AGGR_PID
                    a = nla_parse(agg)
                    if 3 in a:
                        st = a[3][0]
                        comm = st[80:112].split(b"\0")[0].decode(errors="replace")
                        pid, ppid = struct.unpack_from("II", st, 128)
                        virt = struct.unpack_from("Q", st, 72)[0]
                        ut, sy = struct.unpack_from("QQ", st, 152)
                        self.records.append((pid, ppid, comm, virt if virt else (ut + sy) * 1000))
            i += (n + 3) & ~3

    def close(self):
        self.sock.setblocking(False)
        try:
            while True:
                self.take(self.sock.recv(1 << 20))
        except (BlockingIOError, OSError):
            pass
        self.stop = True
        self.thread.join(1)
        self.sock.close()


def schedstat(root):
    """pid: (ppid, comm, CPU ns) of every process under root."""
    out = {}
    for p in tree(root):
        try:
            with open("/proc/%d/schedstat" % p) as f:
                ns = int(f.read().split()[0])
            with open("/proc/%d/stat" % p) as f:
                s = f.read()
        except (OSError, ValueError):
            continue
        out[p] = (int(s[s.rindex(")") + 2:].split()[1]), s[s.index("(") + 1:s.rindex(")")], ns)
    return out


def byprog(start, end, records):
    """{comm: [exits, ns]} and the unattributed [exits, ns]."""
    known = set(start) | set(end)
    exited = {}
    for pid, ppid, comm, ns in records:
        if pid not in end:
            exited[pid] = (ppid, comm, ns)
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _c, _n) in exited.items():
            if pid not in known and ppid in known:
                known.add(pid)
                grew = True
    progs, other = {}, [0, 0]
    for pid, (ppid, comm, ns) in exited.items():
        if pid not in known:
            other[0] += 1
            other[1] += ns
            continue
        v = progs.setdefault(comm, [0, 0])
        v[0] += 1
        v[1] += ns - (start[pid][2] if pid in start else 0)
    for pid, (ppid, comm, ns) in end.items():
        v = progs.setdefault(comm, [0, 0])
        v[1] += ns - (start[pid][2] if pid in start else 0)
    return progs, other


def cmd_count(argv):
    opts, rest = parse(argv, ("n",), positional=True)
    n = float(opts["n"])
    line_re = re.compile(r"^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)(\(| resumed>)(.*)$")
    calls, execs = {}, {}
    c = dict.fromkeys(("calls", "execve", "fork", "vfork", "thread", "fsync-file", "fsync-dir", "fdatasync", "sfr", "create",
                       "mkdir", "unlink", "rename", "link"), 0)
    pending = {}
    with open(rest[0], errors="replace") as f:
        for line in f:
            m = line_re.match(line)
            if not m:
                continue
            name, how, rest_of = m.groups()
            pid = line.split(None, 1)[0]
            if how == "(":
                c["calls"] += 1
                calls[name] = calls.get(name, 0) + 1
                if rest_of.endswith("<unfinished ...>"):
                    pending[pid] = rest_of
                    continue
                args = rest_of
            else:
                args = pending.pop(pid, "") + rest_of
            ok = re.search(r"\)\s+=\s+(\d+)(<[^>]*>)?$", args.rstrip())
            if name == "execve":
                if not ok:
                    continue
                c["execve"] += 1
                prog = args.split('"')[1].rsplit("/", 1)[-1] if '"' in args else "?"
                execs[prog] = execs.get(prog, 0) + 1
            elif name in ("fork", "vfork", "clone", "clone3"):
                if "CLONE_THREAD" in args:
                    c["thread"] += 1
                elif name == "vfork" or ("CLONE_VM" in args and "CLONE_VFORK" in args):
                    c["vfork"] += 1
                else:
                    c["fork"] += 1
            elif name == "fsync":
                fd = re.match(r"\d+<([^>]*)>", args)
                c["fsync-dir" if fd and os.path.isdir(fd.group(1)) else "fsync-file"] += 1
            elif name == "fdatasync":
                c[name] += 1
            elif name == "sync_file_range":
                c["sfr"] += 1
            elif name == "creat" or (name in ("open", "openat", "openat2") and "O_CREAT" in args):
                if ok:
                    c["create"] += 1
            elif name in ("mkdir", "mkdirat"):
                c["mkdir"] += 1
            elif name in ("unlink", "unlinkat", "rmdir") and ok:
                c["unlink"] += 1
            elif name in ("rename", "renameat", "renameat2") and ok:
                c["rename"] += 1
            elif name in ("link", "linkat") and ok:
                c["link"] += 1
    sys.stderr.write("  execve by program, per message: %s\n" %
                     ", ".join("%s %.3g" % (k, v / n) for k, v in sorted(execs.items(), key=lambda kv: -kv[1])))
    top = sorted(calls.items(), key=lambda kv: -kv[1])
    sys.stderr.write("  calls per message: %s\n" % ", ".join("%s %.3g" % (k, v / n) for k, v in top[:25]))
    print(" ".join(["%s=%.4g" % (k, v / n) for k, v in c.items()] +
                   ["exec:%s=%.4g" % (re.sub(r"[^\w.+-]", "_", k), v / n) for k, v in sorted(execs.items())]))


def cmd_run(argv):
    opts, cmd = parse(argv, ("root", "n", "limit", "stall", "new", "sink", "sink-user", "byprog"))
    n, limit = int(opts["n"]), float(opts["limit"])
    stall = float(opts.get("stall", 60))
    root = read_pid(opts["root"])
    watch = sink = src = ts = None
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
        if "byprog" in opts:
            ts = Taskstats()
            s0 = schedstat(root)
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
                if ts:
                    s1 = schedstat(root)
                    ts.close()
                    progs, other = byprog(s0, s1, ts.records)
                    with open(opts["byprog"], "w") as out:
                        out.write("- %d %d %d\n" % (other[0], other[1], ts.dropped))
                        for k, v in sorted(progs.items(), key=lambda kv: -kv[1][1]):
                            out.write("%s %d %d\n" % (k.replace(" ", "_"), v[0], v[1]))
                    ts = None
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
        if ts:
            ts.close()
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
SELF = [
    ("e2e", "nl_e2e", "sluice shipped / smtpdnamewait 0, end-to-end"),
    ("accept", "nl_accept", "sluice shipped / smtpdnamewait 0, accept"),
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
    # sluice against itself: shipped scripts / no name lookups
    for key, base, title in SELF:
        a, b = data.get(("sluice", key), {}), data.get(("sluice", base), {})
        ratios = [a[k] / b[k] for k in a if k in b and b[k] > 0]
        if not ratios:
            continue
        r = statistics.median(ratios)
        rows.append((title, "ratio", "", "", "%.2f" % r, "%.2f-%.2f" % (min(ratios), max(ratios)), "", "~1"))
        print("peers-%s\t%.2f\tshipped/nolookup\t%s: median of %d pair ratios (within 5%%: 0.95 or more); "
              "shipped %s, smtpdnamewait 0 %s msg/s (medians)" %
              ("nolookup-" + base.replace("nl_", ""), r, title, len(ratios), fmt(statistics.median(a.values())),
               fmt(statistics.median(b.values()))))
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


def parse(argv, names, positional=False):
    opts, cmd = {}, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--" or (positional and not a.startswith("--")):
            cmd = argv[i + 1:] if a == "--" else argv[i:]
            break
        if not a.startswith("--") or a[2:] not in names or i + 1 >= len(argv):
            die("bad argument %s" % a, 100)
        opts[a[2:]] = argv[i + 1]
        i += 2
    return opts, cmd


def main():
    if len(sys.argv) < 2:
        die("usage: peers.py run|latency|tlssource|pids|count|table ...", 100)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(111))
    {"run": cmd_run, "latency": cmd_latency, "pids": cmd_pids, "table": cmd_table,
     "tlssource": cmd_tlssource, "count": cmd_count}.get(
        sys.argv[1], lambda _: die("unknown command %s" % sys.argv[1], 100))(sys.argv[2:])


if __name__ == "__main__":
    main()
