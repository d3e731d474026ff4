#!/bin/sh
# 100-metrics.sh: sluice-metrics(8) on a private instance with mail in it.
#  1. two messages injected while the delivery set is down: the queue
#     gauges say 2 messages, 2 in todo, an oldest message aged 0..600 s;
#  2. the real delivery set delivers them to a test user; its log (stderr
#     of sluice-start, put in a multilog-style directory with tai64n
#     stamps) plus a made-up smtpd log (tcpserver and sluice-smtpd
#     lines, one under TLS) give the counters: 2 received, 2 local
#     successes, the concurrency limits, SMTP sessions and results;
#  3. promtool check metrics (Debian's prometheus package) passes on
#     both outputs, when promtool is installed;
#  4. -o FILE writes the same text to FILE (textfile collector);
#     contrib/prometheus/http serves it over HTTP; every metric the
#     Grafana dashboard (contrib/grafana/sluice.json) queries exists.
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh

DOM=e2e100.test
U=sl100u
cleanup() { kill_set 100; userdel -r "$U" > /dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
echo "$DOM" > "$H/control/me"
echo "$DOM" > "$H/control/locals"
mkuser "$U"

inject() {
  printf 'From: a@sender100.example\nTo: %s@%s\nSubject: %s\n\nbody\n' "$U" "$DOM" "$1" > "$T/msg"
  printf 'Fa@sender100.example\0T%s@%s\0\0' "$U" "$DOM" > "$T/env"
  "$H/bin/sluice-queue" < "$T/msg" 1< "$T/env"
}
check "inject 1" inject one
check "inject 2" inject two

# value NAME{LABELS}: the sample's value in $T/out
value() { awk -v k="$1" '$1 == k { print $2 }' "$T/out"; }
promcheck() {
  if command -v promtool > /dev/null 2>&1; then
    promtool check metrics < "$1" > "$T/prom.log" 2>&1 || { cat "$T/prom.log"; return 1; }
    [ ! -s "$T/prom.log" ] || { cat "$T/prom.log"; return 1; }
  else
    echo "100-metrics: promtool missing (Debian package prometheus): not checked"
  fi
}

mkdir -p "$T/logs/sluice-send" "$T/logs/sluice-smtpd"
check "metrics with a full queue" sh -c "'$H/bin/sluice-metrics' '$T/logs/sluice-send' > '$T/out'"
check_eq "queue messages" "$(value sluice_queue_messages)" 2
check_eq "todo" "$(value 'sluice_queue_pending_messages{state="todo"}')" 2
age=$(value sluice_queue_oldest_message_age_seconds)
check "oldest age 0..600" test "${age:-x}" -ge 0 -a "${age:-x}" -le 600
check "promtool check metrics (queue)" promcheck "$T/out"

start_set
check "sluice-start running" kill -0 "$spid"
check "delivered" wait_for 60 queue_empty
kill_set 100
spid=''

# a multilog directory: tai64n stamps on each line, an older file
stamp() { awk '{ printf "@4000000069a1b2c3%08x %s\n", NR, $0 }'; }
head -n 3 "$T/log" | stamp > "$T/logs/sluice-send/@4000000069a1b2c300000000.s"
tail -n +4 "$T/log" | stamp > "$T/logs/sluice-send/current"
stamp > "$T/logs/sluice-smtpd/current" <<'LOG'
tcpserver: status: 1/40
tcpserver: ok 101 mx.e2e100.test:127.0.0.1:25 :127.0.0.1::40000
sluice-smtpd: pid 101 from 127.0.0.1 helo a mail <a@b.example> rcpt <u@e2e100.test> bytes 300 result 250 qp 77
tcpserver: end 101 status 0
tcpserver: ok 102 mx.e2e100.test:127.0.0.1:25 :127.0.0.1::40001
sluice-smtpd: pid 102 from 127.0.0.1 helo a mail <a@b.example> reject <x@e2e100.test> 550 bytes 0 result 554
tcpserver: ok 103 mx.e2e100.test:127.0.0.1:25 :127.0.0.1::40002
sluice-smtpd: pid 103 from 127.0.0.1 helo a mail <a@b.example> rcpt <u@e2e100.test> bytes 310 result 250 qp 78 tls TLSv1.3:TLS_AES_256_GCM_SHA384
tcpserver: deny 104 mx.e2e100.test:127.0.0.1:25 :127.0.0.1::40003
LOG
check "metrics after delivery" sh -c "'$H/bin/sluice-metrics' '$T/logs/sluice-send' '$T/logs/sluice-smtpd/' > '$T/out'"
check_eq "queue empty" "$(value sluice_queue_messages)" 0
check_eq "age 0 when empty" "$(value sluice_queue_oldest_message_age_seconds)" 0
check_eq "received" "$(value sluice_messages_received_total)" 2
check "received bytes" test "$(value sluice_messages_received_bytes_total)" -gt 100
check_eq "local successes" "$(value 'sluice_deliveries_total{channel="local",result="success"}')" 2
check_eq "no unknown channel" "$(value 'sluice_deliveries_total{channel="unknown",result="success"}')" 0
check_eq "local limit" "$(value 'sluice_concurrency_limit{channel="local"}')" "$(cat "$H/control/concurrencylocal" 2> /dev/null || echo 10)"
check_eq "local used at the end" "$(value 'sluice_concurrency_used{channel="local"}')" 0
check_eq "sessions" "$(value 'sluice_smtp_sessions_total{service="sluice-smtpd"}')" 3
check_eq "denied" "$(value 'sluice_smtp_sessions_denied_total{service="sluice-smtpd"}')" 1
check_eq "accepted" "$(value 'sluice_smtp_transactions_total{service="sluice-smtpd",result="accepted"}')" 2
check_eq "rejected" "$(value 'sluice_smtp_transactions_total{service="sluice-smtpd",result="permanent"}')" 1
check_eq "tls" "$(value 'sluice_smtp_tls_transactions_total{service="sluice-smtpd"}')" 1
check_eq "log readable" "$(value 'sluice_log_readable{service="sluice-send"}')" 1
check "promtool check metrics (logs)" promcheck "$T/out"
cp "$T/out" "$T/out.stdout"
check "-o FILE" "$H/bin/sluice-metrics" -o "$T/sluice.prom" "$T/logs/sluice-send" "$T/logs/sluice-smtpd"
check "-o FILE same text" cmp -s "$T/sluice.prom" "$T/out.stdout"
# contrib/prometheus/http answers an HTTP request with the same metrics
printf 'GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n' | HOME_DIR=$H sh contrib/prometheus/http > "$T/http"
check "http: 200" grep -q '^HTTP/1.0 200 OK' "$T/http"
check "http: metrics" grep -q '^sluice_queue_messages ' "$T/http"
# the Grafana dashboard is JSON and asks only for metrics sluice-metrics writes
check "grafana dashboard" python3 -c '
import json, re, sys
d = json.load(open("contrib/grafana/sluice.json"))
names = set(l.split("{")[0].split()[0] for l in open(sys.argv[1]) if l[0] != "#")
used = set(m for p in d["panels"] for t in p["targets"] for m in re.findall(r"sluice_[a-z_]+", t["expr"]))
sys.exit(0 if used and used <= names else "unknown: %s" % (used - names))' "$T/out.stdout"
check_fail "bad option" "$H/bin/sluice-metrics" -x
done_testing
