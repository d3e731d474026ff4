#!/usr/bin/python3
# sluice-report: a summary of sluice's multilog logs over a period, like
# pflogsumm for Postfix (sluice-report(8)). A python3 script: a report
# tool reads trusted logs once a day, nothing in it runs per message.
#
#   sluice-report [--since T] [--until T] [--top N] [--html FILE] [LOG...]
#
# LOG is a multilog directory (its @*.s, @*.u and current files, oldest
# first) or a single file; default: every directory under conf-home/log.
# Lines without a tai64n stamp are taken as they come (their time is
# unknown: they count, but not in per-hour figures or delays).
import calendar
import html
import math
import os
import re
import sys
import time

HOME = "@HOME@"
TAI_OFFSET = (1 << 62) + 10

USAGE = "usage: sluice-report [--since T] [--until T] [--top N] [--html FILE] [LOG...]"


def die(code, text):
    sys.stderr.write("sluice-report: fatal: %s\n" % text)
    sys.exit(code)


def parse_time(s):
    """A UTC time: YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS], YYYY-MM-DDTHH:MM[:SS],
    today, yesterday, or -N[smhd] (that long before now)."""
    now = time.time()
    day = 86400
    if s == "today":
        return now - now % day
    if s == "yesterday":
        return now - now % day - day
    m = re.fullmatch(r"-(\d+)([smhd])", s)
    if m:
        return now - int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": day}[m.group(2)]
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            t = time.strptime(s, fmt)
        except ValueError:
            continue
        return float(calendar.timegm(t))
    die(100, "bad time: %s" % s)


def log_files(path):
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if n.startswith("@") and n[-2:] in (".s", ".u"))
        names.append("current")
        return [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]
    return [path]


def stamp_of(line):
    """(unix time or None, text) of one log line."""
    if len(line) > 26 and line[0] == "@" and line[25] == " ":
        try:
            v = int(line[1:25], 16)
        except ValueError:
            return None, line
        return (v >> 32) - TAI_OFFSET + (v & 0xFFFFFFFF) / 1e9, line[26:]
    return None, line


def domain_of(addr):
    return addr.rsplit("@", 1)[1].lower() if "@" in addr else "(local)"


def reason_group(text):
    """Deferral and rejection texts grouped: numbers and addresses masked."""
    t = re.sub(r"<[^>]*>", "<...>", text)
    t = re.sub(r"\[[0-9a-fA-F:.]+\]", "[ip]", t)
    t = re.sub(r"\b\d+\.\d+\.\d+\.\d+\b", "ip", t)
    t = re.sub(r"\b\d{4,}\b", "N", t)
    t = t.strip()
    return t[:100] if t else "(no text)"


class Stats:
    def __init__(self):
        self.received = self.received_bytes = 0
        self.delivered = self.deferred = self.bounced = self.bounces_sent = 0
        self.rejected = self.smtp_accepted = self.smtp_bytes = 0
        self.senders, self.recipients, self.domains, self.sender_domains = {}, {}, {}, {}
        self.deferrals, self.failures, self.rejections = {}, {}, {}
        self.delays = []
        self.hour_in, self.hour_out = {}, {}
        self.times_in, self.times_out = [], []
        self.births = {}     # msg id -> time of "info msg"
        self.starts = {}     # delivery number -> (msg id, channel, address)
        self.first = self.last = None


def bump(d, k, n=1):
    d[k] = d.get(k, 0) + n


def hour_key(t):
    return time.strftime("%Y-%m-%d %H:00", time.gmtime(t))


def take(st, t, text):
    if t is not None:
        st.first = t if st.first is None else min(st.first, t)
        st.last = t if st.last is None else max(st.last, t)
    m = re.match(r"info msg (\S+): bytes (\d+) from <(.*)> qp \d+", text)
    if m:
        msgid, size, sender = m.group(1), int(m.group(2)), m.group(3)
        st.received += 1
        st.received_bytes += size
        bump(st.senders, sender or "<>")
        bump(st.sender_domains, domain_of(sender) if sender else "<>")
        if t is not None:
            st.births[msgid] = t
            bump(st.hour_in, hour_key(t))
            st.times_in.append(t)
        return
    m = re.match(r"starting delivery (\d+): msg (\S+) to (local|remote) (.*)", text)
    if m:
        st.starts[m.group(1)] = (m.group(2), m.group(3), m.group(4))
        return
    m = re.match(r"delivery (\d+): (success|failure|deferral): (.*)", text)
    if m:
        num, result, rest = m.groups()
        msgid, channel, addr = st.starts.pop(num, (None, None, None))
        if channel == "remote" and addr and rest.startswith(addr + ": "):
            rest = rest[len(addr) + 2:]
        if result == "success":
            st.delivered += 1
            if addr:
                bump(st.recipients, addr)
                bump(st.domains, domain_of(addr))
            if t is not None:
                bump(st.hour_out, hour_key(t))
                st.times_out.append(t)
                if msgid in st.births:
                    st.delays.append(max(0.0, t - st.births[msgid]))
        elif result == "deferral":
            st.deferred += 1
            bump(st.deferrals, reason_group(rest))
        else:
            st.bounced += 1
            bump(st.failures, reason_group(rest.replace("too old: ", "", 1)))
        return
    if text.startswith("bounce msg "):
        st.bounces_sent += 1
        return
    m = re.match(r"sluice-smtpd: pid \d+ from (\S+) (.*) bytes (\d+) result (\S+)", text)
    if m:
        ip, middle, size, result = m.groups()
        for r in re.finditer(r" reject <[^>]*> (\S+)", " " + middle):
            st.rejected += 1
            bump(st.rejections, "RCPT " + r.group(1))
        if result.startswith("2"):
            st.smtp_accepted += 1
            st.smtp_bytes += int(size)
        elif result[:1] in ("4", "5"):
            st.rejected += 1
            bump(st.rejections, "transaction " + result)
        return


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(math.ceil(p / 100.0 * len(v))) - 1))
    return v[k]


def fmt_secs(s):
    if s is None:
        return "-"
    if s < 60:
        return "%.1fs" % s
    if s < 3600:
        return "%.1fm" % (s / 60)
    if s < 86400:
        return "%.1fh" % (s / 3600)
    return "%.1fd" % (s / 86400)


def fmt_bytes(n):
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return ("%d%s" % (n, unit)) if unit == "B" else ("%.1f%s" % (n, unit))
        n /= 1024.0


def top(d, n):
    return sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def text_report(st, since, until, n):
    out = []
    w = out.append
    span = "%s .. %s" % (
        time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(st.first)) if st.first else "-",
        time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(st.last)) if st.last else "-")
    w("sluice-report: %s UTC" % span)
    w("")
    w("Grand totals")
    w("------------")
    for label, v in (("received", st.received), ("delivered", st.delivered), ("deferred", st.deferred),
                     ("bounced", st.bounced), ("rejected", st.rejected)):
        w("%9d  %s" % (v, label))
    w("%9s  bytes received" % fmt_bytes(st.received_bytes))
    w("%9d  bounce messages sent" % st.bounces_sent)
    w("%9d  SMTP transactions accepted (%s)" % (st.smtp_accepted, fmt_bytes(st.smtp_bytes)))
    w("%9d  senders, %d sending domains" % (len(st.senders), len(st.sender_domains)))
    w("%9d  recipients, %d recipient domains" % (len(st.recipients), len(st.domains)))
    w("")
    w("Delivery delay (info msg to successful delivery)")
    w("------------------------------------------------")
    w("  " + "  ".join("%s %s" % (name, fmt_secs(percentile(st.delays, p)))
                       for name, p in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99), ("max", 100))))
    for title, d in (("Top senders", st.senders), ("Top sender domains", st.sender_domains),
                     ("Top recipients", st.recipients), ("Top recipient domains", st.domains),
                     ("Deferral reasons", st.deferrals), ("Bounce (permanent failure) reasons", st.failures),
                     ("SMTP rejections", st.rejections)):
        w("")
        w(title)
        w("-" * len(title))
        rows = top(d, n)
        if not rows:
            w("  none")
        for k, v in rows:
            w("%7d  %s" % (v, k))
    w("")
    w("Per-hour traffic (UTC)")
    w("----------------------")
    w("  %-16s %9s %9s" % ("hour", "received", "delivered"))
    for h in sorted(set(st.hour_in) | set(st.hour_out)):
        w("  %-16s %9d %9d" % (h, st.hour_in.get(h, 0), st.hour_out.get(h, 0)))
    return "\n".join(out) + "\n"


# --- HTML ------------------------------------------------------------------

def svg_bars(title, labels, series, colors, names, ylabel):
    """A bar chart: one group of bars per label, one bar per series."""
    W, H, L, B, T = 760, 280, 60, 60, 30
    n = max(1, len(labels))
    vmax = max([1] + [v for s in series for v in s])
    gw = (W - L - 10) / n
    bw = max(1.0, gw * 0.8 / max(1, len(series)))
    e = html.escape
    p = ['<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">' % (W, H, W, H, e(title))]
    p.append('<text x="%d" y="18" font-size="14" font-weight="bold">%s</text>' % (L, e(title)))
    p.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (L, H - B, W - 10, H - B))
    p.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (L, T, L, H - B))
    for k in range(5):
        v = vmax * k / 4.0
        y = H - B - (H - B - T) * k / 4.0
        p.append('<text x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>' % (L - 4, y + 3, ("%d" % v) if vmax >= 4 else ("%.1f" % v)))
        p.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (L, y, W - 10, y))
    p.append('<text x="12" y="%d" font-size="10" transform="rotate(-90 12 %d)">%s</text>' % ((H - B + T) // 2, (H - B + T) // 2, e(ylabel)))
    step = max(1, int(math.ceil(n / 12.0)))
    for i, lab in enumerate(labels):
        x0 = L + i * gw + gw * 0.1
        for j, s in enumerate(series):
            h = (H - B - T) * s[i] / vmax
            p.append('<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d</title></rect>'
                     % (x0 + j * bw, H - B - h, bw, h, colors[j], e(lab), e(names[j]), s[i]))
        if i % step == 0:
            p.append('<text x="%.1f" y="%d" font-size="9" text-anchor="end" transform="rotate(-40 %.1f %d)">%s</text>'
                     % (x0 + gw * 0.4, H - B + 12, x0 + gw * 0.4, H - B + 12, e(lab)))
    for j, name in enumerate(names):
        p.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" font-size="11">%s</text>'
                 % (W - 200 + j * 100, 8, colors[j], W - 186 + j * 100, 17, e(name)))
    p.append("</svg>")
    return "\n".join(p)


DELAY_BUCKETS = [(1, "<1s"), (5, "1-5s"), (30, "5-30s"), (60, "30s-1m"), (300, "1-5m"), (1800, "5-30m"),
                 (3600, "30m-1h"), (14400, "1-4h"), (86400, "4h-1d"), (float("inf"), ">1d")]


def throughput_buckets(st):
    times = st.times_in + st.times_out
    if not times:
        return [], [], []
    t0, t1 = min(times), max(times)
    span = max(1.0, t1 - t0)
    for size in (60, 300, 900, 3600, 21600, 86400):
        if span / size <= 48:
            break
    start = t0 - t0 % size
    n = int((t1 - start) // size) + 1
    fmt = "%H:%M" if size < 86400 else "%m-%d"
    if span > 86400 and size < 86400:
        fmt = "%m-%d %H:%M"
    labels = [time.strftime(fmt, time.gmtime(start + i * size)) for i in range(n)]
    a, b = [0] * n, [0] * n
    for t in st.times_in:
        a[int((t - start) // size)] += 1
    for t in st.times_out:
        b[int((t - start) // size)] += 1
    return labels, a, b


def html_report(st, text):
    labels, a, b = throughput_buckets(st)
    counts = [0] * len(DELAY_BUCKETS)
    for d in st.delays:
        for i, (lim, _) in enumerate(DELAY_BUCKETS):
            if d < lim:
                counts[i] += 1
                break
    c1 = svg_bars("Throughput over time (UTC)", labels, [a, b], ["#4e79a7", "#59a14f"], ["received", "delivered"], "messages")
    c2 = svg_bars("Delivery delay distribution", [lab for _, lab in DELAY_BUCKETS], [counts], ["#f28e2b"], ["deliveries"], "deliveries")
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sluice-report</title>
<style>body{font-family:sans-serif;margin:2em;max-width:60em}pre{background:#f6f6f6;padding:1em;overflow:auto}
svg.chart{display:block;margin:1em 0;background:#fff;border:1px solid #ccc}</style></head>
<body><h1>sluice mail report</h1>
<div id="charts">
%s
%s
</div>
<h2>Summary</h2>
<pre>%s</pre>
</body></html>
""" % (c1, c2, html.escape(text))


def main(argv):
    since = until = None
    n = 10
    html_file = None
    logs = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--since", "--until", "--top", "--html") and i + 1 < len(argv):
            v = argv[i + 1]
            i += 2
            if a == "--since":
                since = parse_time(v)
            elif a == "--until":
                until = parse_time(v)
            elif a == "--top":
                if not v.isdigit():
                    die(100, USAGE)
                n = int(v)
            else:
                html_file = v
            continue
        if a == "--":
            logs.extend(argv[i + 1:])
            break
        if a.startswith("-"):
            die(100, USAGE)
        logs.append(a)
        i += 1
    if not logs:
        base = os.path.join(HOME, "log")
        try:
            logs = [os.path.join(base, d) for d in sorted(os.listdir(base))]
        except OSError as e:
            die(111, "unable to read %s: %s" % (base, e.strerror))
    st = Stats()
    for path in logs:
        try:
            files = log_files(path)
        except OSError as e:
            die(111, "unable to read %s: %s" % (path, e.strerror))
        for f in files:
            try:
                with open(f, "r", encoding="utf-8", errors="replace") as fh:
                    for line in fh:
                        t, text = stamp_of(line.rstrip("\n"))
                        if t is not None and ((since is not None and t < since) or (until is not None and t >= until)):
                            continue
                        take(st, t, text)
            except OSError as e:
                die(111, "unable to read %s: %s" % (f, e.strerror))
    text = text_report(st, since, until, n)
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
        if html_file:
            tmp = html_file + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(html_report(st, text))
            os.replace(tmp, html_file)
    except OSError as e:
        die(111, "unable to write: %s" % e.strerror)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
