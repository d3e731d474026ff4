#!/bin/sh
# bench/peers.sh: sluice beside Postfix on the same machine, in the same
# run, with the same load generator (Postfix's smtp-source and
# smtp-sink), A B A B: the workload of PEERS.md (issue 14). Its speed and
# memory count only as ratios against the peer measured beside it.
#
# As root (otherwise it prints a skipped row and exits 0):
#  1. Postfix: installed from Debian when missing (debconf "No
#     configuration", apt-get install --no-install-recommends postfix).
#     It must not be running. /etc/postfix/main.cf, master.cf and
#     transport(.db), /etc/aliases(.db) are saved (/etc/aliases is
#     written with "postmaster: root" when missing), then written as PEERS.md
#     says: myhostname bench.example.test, mydestination example.test,
#     bench.example.test, localhost; only 127.0.0.1, IPv4; mynetworks
#     127.0.0.0/8; relay_domains sink.test with transport
#     "sink.test smtp:[127.0.0.1]:SINK_PORT"; home_mailbox Maildir/; no
#     outbound TLS, inbound TLS as for the tls runs below (or none with
#     BENCH_TLS=0); maillog_file /var/log/postfix.log; Debian's own
#     compatibility_level 3.6, biff no, append_dot_mydomain no and
#     aliases; everything else default. master.cf is Debian's
#     (/usr/share/postfix/master.cf.dist) with the smtp service on
#     127.0.0.1:BENCH_POSTFIX_PORT (2525). postmap, newaliases,
#     configure-instance.sh (the chroot), postfix start.
#  2. sluice: built for its own conf-home (SLUICE_PEERS_HOME, default
#     /tmp/sluice-peers/home; build SLUICE_PEERS_BUILD, default
#     build/peers) and started as `make run` does (tools/run: setup,
#     config with the name example.test, the SHIPPED boot/ service
#     scripts under svscan and supervise, shipped defaults), with the
#     ports in the environment the run scripts honour: SMTP on
#     BENCH_SLUICE_PORT (2527), QMTP and QMQP on the two ports after it.
#     The one control file added: smtproutes "sink.test:127.0.0.1:SINK_PORT"
#     (the counterpart of Postfix's transport map).
#  3. the bench user BENCH_USER (benchuser; made with useradd -m when
#     missing, removed at the end then) with an empty ~/Maildir, the
#     local recipient BENCH_USER@example.test of both.
#  4. BENCH_PAIRS (5) pairs; in each, the raw fsync rate first (1 and 20
#     writers: create, write 2 KB, fsync, rename, fsync the directory,
#     tests/helpers/fsyncrate), then every workload run against Postfix,
#     then against sluice (the other MTA idle):
#       local    smtp-source -s 20 -m BENCH_MESSAGES (5000) -l 2048 to
#                the bench user, a new connection per message; accept
#                rate (until smtp-source exits) and end-to-end rate (until
#                that many files are in Maildir/new, counted with inotify)
#       local -d the same with sessions kept open (smtp-source -d)
#       relay    the same to user@sink.test, routed to smtp-sink on
#                127.0.0.1:SINK_PORT (2526): done when smtp-sink counts
#                them; connects per message as smtp-sink counts sessions
#       relay -d the same with sessions kept open
#       latency  BENCH_LATENCY_SAMPLES (20) single messages, one at a
#                time, connect to file in Maildir/new, median
#     and for each load run whole-machine CPU per message (/proc/stat),
#     also less the machine's background (its busy time in the 2 s
#     before the run, nothing sent, times the run's length: an estimate),
#     the CPU of the MTA's own processes per message (every process
#     under Postfix's master or sluice's svscan, with what they reaped)
#     and the summed PSS of every process under them when the run ended
#     (/proc/PID/smaps_rollup); for sluice's local runs the deliveries
#     sluice-send logged as deferred because the user had
#     control/concurrencyuser deliveries running (per message).
#     bench/peers.py does the measuring.
#     With BENCH_TLS=1 (the default; 0 turns it off) each pair also has
#       tls      BENCH_TLS_MESSAGES (BENCH_MESSAGES) to the bench user with
#                STARTTLS on every connection, from bench/peers.py
#                tlssource (smtp-source has no STARTTLS): 20 processes,
#                a new connection per message, EHLO, STARTTLS, a full
#                handshake (no resumption, no verification), EHLO, MAIL,
#                RCPT, DATA of 2 KB, QUIT; accept and end-to-end rates
#                and the CPU and PSS figures as for local
#     Both MTAs get the same certificate, made for the run (openssl req,
#     self-signed RSA 2048 for bench.example.test, in ../tls, removed at
#     the end): Postfix as smtpd_tls_cert_file and smtpd_tls_key_file
#     with smtpd_tls_security_level = may (for every run then, as sluice
#     offers STARTTLS in every run: tools/config gives it a certificate),
#     sluice as control/tls/cert.pem (certificate then key; root, group
#     of the tls user, 0640), put there before tools/run so that
#     tools/config leaves it, and sluice-tlsd serves it.
#     BENCH_ONLY=tls runs the tls workload alone (no fsync-raw, local,
#     relay or latency runs); BENCH_ONLY=relay the relay and relay -d
#     workloads alone (no fsync-raw, local, tls or latency runs).
#     With BENCH_NOLOOKUP=1 each pair also has
#       nolookup the local workload against sluice once more, with
#                control/smtpdnamewait 0 (sluice-smtpd(8): no name lookup
#                for Received, not even /etc/hosts), the file restored
#                after the run; its end-to-end and accept rates, and the
#                median of the per-pair ratios shipped / no lookups
#  5. with BENCH_STRACE=1 (off by default), one extra local run of
#     BENCH_STRACE_MESSAGES (500) per MTA under strace -f attached to all
#     its processes (bench/lib.sh strace_attach; bench/peers.py count):
#     execve, fork/vfork/clone and fsync/fdatasync calls per message
#     (strace slows everything down: counts only).
#  5a. BENCH_ONLY=floor (what bench/floor.sh runs): no table and none
#     of the runs above; instead, per MTA, a warm-up local run of 200
#     messages (not measured), one local run of
#     BENCH_STRACE_MESSAGES under strace as in 5, and BENCH_PAIRS local
#     runs of BENCH_MESSAGES, A B A B, unstraced, with the CPU of every
#     process of the MTA by program (bench/peers.py run --byprog:
#     taskstats exit records and /proc/PID/schedstat, with
#     kernel.task_delayacct set to 1 for the run and put back). Rows on
#     fd 1 (bench/run's format):
#       floor-MTA-EVENT    calls per message under strace, EVENT one of
#                          calls (all system calls), execve, fork (a copy
#                          of the address space), vfork (CLONE_VM and
#                          CLONE_VFORK: posix_spawn and the like), fsync
#                          (fsync-file and fsync-dir: by what the
#                          descriptor names, a directory or not),
#                          fdatasync, sfr (sync_file_range), create (an
#                          open with O_CREAT that succeeded), and of
#                          those that succeeded: unlink (unlink,
#                          unlinkat, rmdir), rename, link; mkdir
#       floor-MTA-exec-PROG   execve of PROG per message
#       floor-MTA-cpu-PROG    CPU ms per message of the processes named
#                          PROG (comm), summed over the pairs; the
#                          reference says how many of them ended per
#                          message
#       floor-MTA-tcpu, floor-MTA-mcpu   the MTA's own CPU per message
#                          (its process tree, as tcpu above) and the
#                          whole machine's (mcpu), medians of the pairs
#       floor-MTA-e2e      end-to-end msg/s of those runs, median
#  6. prints the table (fd 2): per figure the median of Postfix, of
#     sluice, the min-max of each and the median of the per-pair ratios
#     sluice/Postfix, with which direction is better; rows for bench/run
#     on fd 1. The raw results stay in SLUICE_PEERS_HOME/../results.tsv,
#     Postfix's log in ../postfix.log, sluice's under SLUICE_PEERS_HOME/log.
# Every run is bounded by BENCH_LIMIT seconds (900), and ends when no
# message was done for BENCH_STALL seconds (60) after smtp-source
# finished: such a run is reported as incomplete (how many messages
# arrived, and for sluice the last alerts of sluice-send's log), its
# rates except the accept rate are left out, the other runs go on, and
# the script exits 1 after the table. Anything else that fails (an MTA
# that does not start, smtp-source failing) ends the benchmark with a
# message. At the end, and
# on any failure or signal, both MTAs are stopped (tools/stop, postfix
# stop), smtp-sink and smtp-source of these ports ended, Postfix's files
# restored, the bench user's mail removed (Postfix's queue emptied when
# it was empty before). Postfix's chroot under /var/spool/postfix keeps
# the files configure-instance.sh copied there (as Debian's own start
# does). Needs python3, the ports free, and loopback only.
cd "$(dirname "$0")/.." || exit 111
BENCH_ROW=peers
# shellcheck disable=SC2034 # read by bench/lib.sh
SLUICE_BENCH_HOME=${SLUICE_PEERS_HOME:-/tmp/sluice-peers/home}
# shellcheck disable=SC2034 # read by bench/lib.sh
SLUICE_BENCH_BUILD=${SLUICE_PEERS_BUILD:-build/peers}
. bench/lib.sh
PATH=$PATH:/usr/sbin:/sbin
export PATH
N=${BENCH_MESSAGES:-5000}
PAIRS=${BENCH_PAIRS:-5}
LIMIT=${BENCH_LIMIT:-900}
SAMPLES=${BENCH_LATENCY_SAMPLES:-20}
PF_PORT=${BENCH_POSTFIX_PORT:-2525}
SINK_PORT=${BENCH_SINK_PORT:-2526}
SL_PORT=${BENCH_SLUICE_PORT:-2527}
BU=${BENCH_USER:-benchuser}
STALL=${BENCH_STALL:-60}
STRACE=${BENCH_STRACE:-0}
STRACE_N=${BENCH_STRACE_MESSAGES:-500}
NOLOOKUP=${BENCH_NOLOOKUP:-0}
TLS=${BENCH_TLS:-1}
TLS_N=${BENCH_TLS_MESSAGES:-$N}
ONLY=${BENCH_ONLY:-}
W=$(dirname "$H")
R=$W/results.tsv
BK=$W/postfix-saved
PF_PID=/var/spool/postfix/pid/master.pid
SL_PID=$H/run/svscan.pid
PY="python3 bench/peers.py"
MARK='# written by sluice bench/peers.sh'
for v in "$N" "$PAIRS" "$LIMIT" "$SAMPLES" "$STALL" "$PF_PORT" "$SINK_PORT" "$SL_PORT" "$STRACE_N" "$TLS_N"; do
  case $v in ''|*[!0-9]*|0) die "BENCH_* numbers must be positive integers: $v" ;; esac
done
case $TLS in 0|1) ;; *) die "BENCH_TLS must be 0 or 1: $TLS" ;; esac
case $NOLOOKUP in 0|1) ;; *) die "BENCH_NOLOOKUP must be 0 or 1: $NOLOOKUP" ;; esac
case $ONLY in ''|tls|relay|floor) ;; *) die "BENCH_ONLY must be empty, tls, relay or floor: $ONLY" ;; esac
[ "$ONLY" = tls ] && TLS=1
[ "$ONLY" = relay ] && TLS=0
[ "$ONLY" = floor ] && TLS=0
if [ "$STRACE" = 1 ] || [ "$ONLY" = floor ]; then
  command -v strace > /dev/null 2>&1 || die "BENCH_STRACE=1 and BENCH_ONLY=floor need strace (apt-get install strace)"
fi
command -v python3 > /dev/null 2>&1 || {
  printf '%s\t-\t-\tskipped: python3 missing\n' "$BENCH_ROW"
  exit 0
}

say() { echo "peers: $*" >&2; }
# bounded: CMD... under timeout, SECONDS first
bounded() { s=$1; shift; timeout -k 5 "$s" "$@"; }

pf_running() { postfix status > /dev/null 2>&1; }
pf_started=0
made_user=0
made_maildir=0
pf_queue_was_empty=0
delayacct0=''
# control/smtpdnamewait as it was before a nolookup run: - for none
namewait0=''
namewait_restore() {
  [ -n "$namewait0" ] || return 0
  if [ "$namewait0" = - ]; then rm -f "$H/control/smtpdnamewait"; else cp -p "$T/namewait0" "$H/control/smtpdnamewait"; fi
  namewait0=''
}

pf_stop() {
  if pf_running; then
    bounded 120 postfix stop > /dev/null 2>&1 || say "postfix stop failed"
    k=0
    while pf_running && [ $k -lt 300 ]; do sleep 0.1; k=$((k + 1)); done
    pf_running && say "Postfix still runs after 30 s"
  fi
}
# pf_restore: Postfix's files as they were before
pf_restore() {
  [ -d "$BK" ] || return 0
  for f in postfix/main.cf postfix/master.cf postfix/transport postfix/transport.db aliases aliases.db; do
    if [ -e "$BK/$f" ]; then
      cp -p "$BK/$f" "/etc/$f"
    elif [ -e "$BK/$f.absent" ]; then
      rm -f "/etc/$f"
    fi
  done
  # Postfix's log of the run is kept beside the results
  [ -f /var/log/postfix.log ] && cp /var/log/postfix.log "$W/postfix.log"
  [ -e "$BK/postfix.log.absent" ] && rm -f /var/log/postfix.log
  rm -rf "$BK"
}
cleanup() {
  trap '' INT TERM HUP
  [ -n "$strace_pid" ] && kill -INT "$strace_pid" 2> /dev/null
  [ -n "$delayacct0" ] && sysctl -q -w kernel.task_delayacct="$delayacct0" > /dev/null 2>&1
  namewait_restore
  for p in $(pgrep -f "smtp-(source|sink) .*127\.0\.0\.1:($PF_PORT|$SL_PORT|$SINK_PORT)( |\$)" 2> /dev/null) \
    $(pgrep -f "bench/peers\.py tlssource --port ($PF_PORT|$SL_PORT) " 2> /dev/null); do
    kill -TERM "$p" 2> /dev/null
  done
  if [ -f "$SL_PID" ] || [ -d "$H/service" ]; then
    bounded 120 sh tools/stop "$H" > "$T/stop.log" 2>&1 || { say "tools/stop $H failed:"; cat "$T/stop.log" >&2; }
  fi
  if [ "$pf_started" -eq 1 ]; then
    pf_stop
    [ "$pf_queue_was_empty" -eq 1 ] && postsuper -d ALL > /dev/null 2>&1
  fi
  pf_restore
  rm -rf "$W/tls"
  if [ "$made_user" -eq 1 ]; then
    userdel -r "$BU" > /dev/null 2>&1
  elif [ "$made_maildir" -eq 1 ] && [ -n "${BH:-}" ]; then
    rm -rf "$BH/Maildir"
  fi
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 111' INT TERM HUP

port_free() { [ -z "$(ss -Hltn "sport = :$1" 2> /dev/null)" ]; }
for p in "$PF_PORT" "$SINK_PORT" "$SL_PORT" $((SL_PORT + 1)) $((SL_PORT + 2)); do
  port_free "$p" || die "port $p is in use (BENCH_POSTFIX_PORT, BENCH_SINK_PORT, BENCH_SLUICE_PORT and the two after it must be free)"
done
mkdir -p "$W" || die "cannot make $W"
# the certificate of both, for the tls runs
TLSDIR=$W/tls
pf_tls="smtpd_tls_security_level = none"
if [ "$TLS" = 1 ]; then
  command -v openssl > /dev/null 2>&1 || die "BENCH_TLS=1 needs openssl (apt-get install openssl; or BENCH_TLS=0)"
  rm -rf "$TLSDIR"
  (umask 077 && mkdir "$TLSDIR" &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench.example.test \
      -addext subjectAltName=DNS:bench.example.test -keyout "$TLSDIR/key.pem" -out "$TLSDIR/cert.pem" > /dev/null 2>&1) ||
    die "openssl req failed"
  pf_tls="smtpd_tls_security_level = may
smtpd_tls_cert_file = $TLSDIR/cert.pem
smtpd_tls_key_file = $TLSDIR/key.pem"
fi

# --- Postfix ---
if ! command -v postfix > /dev/null 2>&1 || ! command -v smtp-source > /dev/null 2>&1; then
  say "installing Postfix from Debian (No configuration)"
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections || die "debconf-set-selections failed"
  bounded 600 apt-get update -qq < /dev/null > /dev/null || die "apt-get update failed"
  bounded 600 apt-get install -y -qq --no-install-recommends postfix < /dev/null > /dev/null || die "apt-get install postfix failed"
fi
for p in postfix postconf postmap postsuper smtp-source smtp-sink; do
  command -v $p > /dev/null 2>&1 || die "$p missing after installing postfix"
done
# a run killed before its cleanup left our main.cf and the saved files
if [ -d "$BK" ] && grep -q "^$MARK" /etc/postfix/main.cf 2> /dev/null; then
  say "restoring Postfix's files left by an earlier run"
  pf_stop
  pf_restore
fi
rm -rf "$BK"
pf_running && die "Postfix is running with its own configuration: stop it first (postfix stop); the benchmark reconfigures it and leaves it stopped"
mkdir -p "$BK/postfix" || die "cannot make $BK"
for f in postfix/main.cf postfix/master.cf postfix/transport postfix/transport.db aliases aliases.db; do
  if [ -e "/etc/$f" ]; then cp -p "/etc/$f" "$BK/$f" || die "cannot save /etc/$f"; else : > "$BK/$f.absent"; fi
done
[ -e /var/log/postfix.log ] || : > "$BK/postfix.log.absent"
[ -e /etc/aliases ] || printf 'postmaster: root\n' > /etc/aliases || die "cannot write /etc/aliases"
[ -f /usr/share/postfix/master.cf.dist ] || die "/usr/share/postfix/master.cf.dist is missing"
n=$(find /var/spool/postfix/incoming /var/spool/postfix/active /var/spool/postfix/deferred \
  /var/spool/postfix/hold /var/spool/postfix/maildrop -type f 2> /dev/null | wc -l)
[ "$n" -eq 0 ] && pf_queue_was_empty=1
[ "$n" -eq 0 ] || say "Postfix's queue holds $n messages already: they are left there"

cat > /etc/postfix/main.cf << EOF || die "cannot write main.cf"
$MARK (PEERS.md); the original is restored at its end
compatibility_level = 3.6
biff = no
append_dot_mydomain = no
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
myhostname = bench.example.test
mydestination = example.test, bench.example.test, localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = sink.test
transport_maps = hash:/etc/postfix/transport
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
home_mailbox = Maildir/
$pf_tls
smtp_tls_security_level = none
maillog_file = /var/log/postfix.log
EOF
sed "s/^smtp      inet  n       -       y       -       -       smtpd\$/127.0.0.1:$PF_PORT inet n - y - - smtpd/" \
  /usr/share/postfix/master.cf.dist > /etc/postfix/master.cf || die "cannot write master.cf"
grep -q "^127.0.0.1:$PF_PORT inet" /etc/postfix/master.cf || die "master.cf.dist has no smtp inet line to move"
printf 'sink.test smtp:[127.0.0.1]:%s\n' "$SINK_PORT" > /etc/postfix/transport || die "cannot write transport"
bounded 60 postmap /etc/postfix/transport || die "postmap failed"
bounded 60 newaliases || die "newaliases failed"
bounded 60 /usr/lib/postfix/configure-instance.sh - > /dev/null 2>&1 || die "configure-instance.sh failed"
pf_started=1
bounded 60 postfix start > "$T/postfix.log" 2>&1 || { cat "$T/postfix.log" >&2; die "postfix start failed"; }

# --- sluice, as make run installs it ---
if [ -f "$SL_PID" ]; then bounded 120 sh tools/stop "$H" > /dev/null 2>&1; fi
bench_install
if [ "$TLS" = 1 ]; then
  [ -x "$H/bin/sluice-tlsd" ] || die "BENCH_TLS=1: $H/bin/sluice-tlsd was not built (libssl-dev missing?); or BENCH_TLS=0"
  g=$(stat -c %G "$H/control/tls") || die "$H/control/tls is missing"
  cat "$TLSDIR/cert.pem" "$TLSDIR/key.pem" > "$H/control/tls/.bench.pem" &&
    chown "0:$g" "$H/control/tls/.bench.pem" && chmod 640 "$H/control/tls/.bench.pem" &&
    mv -f "$H/control/tls/.bench.pem" "$H/control/tls/cert.pem" || die "cannot install $H/control/tls/cert.pem"
fi
SLUICE_SMTPD_PORT=$SL_PORT SLUICE_QMTPD_PORT=$((SL_PORT + 1)) SLUICE_QMQPD_PORT=$((SL_PORT + 2)) \
  bounded 300 sh tools/run "$SLUICE_TEST_BUILD" "$H" example.test > "$T/run.log" 2>&1 ||
  { cat "$T/run.log" >&2; die "tools/run (make run) failed"; }
printf 'sink.test:127.0.0.1:%s\n' "$SINK_PORT" > "$H/control/smtproutes" && chmod 644 "$H/control/smtproutes" ||
  die "cannot write $H/control/smtproutes"

# --- the bench user ---
if ! id -u "$BU" > /dev/null 2>&1; then
  useradd -m -s /bin/sh "$BU" || die "useradd $BU failed"
  made_user=1
fi
BH=$(getent passwd "$BU" | cut -d: -f6)
[ -d "$BH" ] || die "$BU has no home directory"
if [ ! -d "$BH/Maildir" ]; then
  made_maildir=1
  setpriv --reuid="$(id -u "$BU")" --regid="$(id -g "$BU")" --init-groups \
    sh -c 'umask 077 && mkdir -p "$1/tmp" "$1/new" "$1/cur"' sh "$BH/Maildir" || die "cannot make $BH/Maildir"
fi
NEW=$BH/Maildir/new
[ -z "$(ls -A "$NEW")" ] || die "$NEW is not empty: move that mail away first"
clear_mail() { find "$BH/Maildir/new" "$BH/Maildir/tmp" "$BH/Maildir/cur" -mindepth 1 -maxdepth 1 -type f -delete; }

# both answer?
for p in "$PF_PORT" "$SL_PORT"; do
  k=0
  until bounded 5 python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1", int(sys.argv[1])), 3); sys.exit(0 if s.recv(100).startswith(b"220") else 1)' "$p" 2> /dev/null; do
    k=$((k + 1))
    [ $k -lt 60 ] || die "nothing answers SMTP on 127.0.0.1:$p after 60 s"
    sleep 1
  done
done
say "Postfix on 127.0.0.1:$PF_PORT, sluice ($H, shipped boot/ scripts) on 127.0.0.1:$SL_PORT, smtp-sink on :$SINK_PORT"

: > "$R"
fails=''
rec() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$R"; }
port_of() { if [ "$1" = postfix ]; then echo "$PF_PORT"; else echo "$SL_PORT"; fi; }
pid_of() { if [ "$1" = postfix ]; then echo "$PF_PID"; else echo "$SL_PID"; fi; }
# userbusy: sluice-send's "too many deliveries in progress for this user"
# deferrals logged so far (control/concurrencyuser, retried in 2 s)
userbusy() { cat "$H"/log/sluice-send/current "$H"/log/sluice-send/@* 2> /dev/null | grep -c 'too many deliveries in progress for this user'; }
# field NAME LINE: the value of NAME=VALUE in LINE
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# load PAIR MTA local|relay [-d]
load() {
  pair=$1 mta=$2 kind=$3 d=${4:-}
  if [ "$kind" = local ]; then to=$BU@example.test; how="--new $NEW"; else to=user@sink.test; how="--sink $SINK_PORT --sink-user nobody"; fi
  say "pair $pair: $mta $kind ${d:+-d }($N messages)"
  [ "$mta" = sluice ] && busy0=$(userbusy)
  # shellcheck disable=SC2086
  rc=0
  out=$(bounded $((LIMIT + 60)) $PY run --root "$(pid_of "$mta")" --n "$N" --limit "$LIMIT" --stall "$STALL" $how -- \
    smtp-source $d -s 20 -m "$N" -l 2048 -f sender@example.test -t "$to" "127.0.0.1:$(port_of "$mta")") || rc=$?
  pre=''
  [ -n "$d" ] && pre=d_
  if [ "$rc" -eq 3 ]; then
    # incomplete: the accept rate stands, nothing else; the run goes on
    say "  INCOMPLETE: $out"
    fails="$fails
  pair $pair, $mta $kind ${d:+-d }: only $(field got "$out") of $N messages done (bench/peers.py's message above)"
    if [ "$mta" = sluice ]; then
      say "  sluice-send's last alerts and warnings ($H/log/sluice-send):"
      grep -a -h 'alert:\|warning:' "$H"/log/sluice-send/@* "$H"/log/sluice-send/current 2> /dev/null | tail -5 >&2
    fi
    a=$(field accept "$out")
    if [ -n "$a" ]; then
      if [ "$kind" = local ]; then rec "$pair" "$mta" "${pre}accept" "$a"; elif [ -z "$d" ]; then rec "$pair" "$mta" relayaccept "$a"; fi
    fi
    [ "$kind" = local ] && clear_mail
    sleep 1
    return 0
  fi
  [ "$rc" -eq 0 ] || die "$mta $kind ${d:+-d }run failed (see above)"
  say "  $out"
  if [ "$kind" = local ]; then
    rec "$pair" "$mta" "${pre}e2e" "$(field e2e "$out")"
    rec "$pair" "$mta" "${pre}accept" "$(field accept "$out")"
    rec "$pair" "$mta" "${pre}mcpu" "$(field mcpu "$out")"
    rec "$pair" "$mta" "${pre}mcpunet" "$(field mcpunet "$out")"
    rec "$pair" "$mta" "${pre}tcpu" "$(field tcpu "$out")"
    if [ "$mta" = sluice ] && [ -z "$d" ]; then
      rec "$pair" sluice userbusy "$(awk -v a="$busy0" -v b="$(userbusy)" -v n="$N" 'BEGIN { printf "%.3f", (b - a) / n }')"
    fi
    if [ -z "$d" ]; then
      rec "$pair" "$mta" pss "$(field pss "$out")"
      rec "$pair" "$mta" nproc "$(field nproc "$out")"
      rec "$pair" "$mta" bg "$(field bg "$out")"
    fi
    clear_mail
  else
    rec "$pair" "$mta" "${pre}relay" "$(field e2e "$out")"
    rec "$pair" "$mta" "${pre}conn" "$(field conn "$out")"
    if [ -z "$d" ]; then
      rec "$pair" "$mta" relayaccept "$(field accept "$out")"
      rec "$pair" "$mta" mcpu_relay "$(field mcpu "$out")"
      rec "$pair" "$mta" mcpunet_relay "$(field mcpunet "$out")"
      rec "$pair" "$mta" tcpu_relay "$(field tcpu "$out")"
      rec "$pair" "$mta" pss_relay "$(field pss "$out")"
    fi
  fi
  sleep 1
}
# nolookup PAIR: the local workload against sluice with
# control/smtpdnamewait 0, the file put back after
nolookup() {
  if [ -e "$H/control/smtpdnamewait" ]; then
    cp -p "$H/control/smtpdnamewait" "$T/namewait0" || die "cannot save control/smtpdnamewait"
    namewait0=saved
  else
    namewait0=-
  fi
  echo 0 > "$H/control/smtpdnamewait" && chmod 644 "$H/control/smtpdnamewait" || die "cannot write control/smtpdnamewait"
  say "pair $1: sluice local, control/smtpdnamewait 0 ($N messages)"
  out=$(bounded $((LIMIT + 60)) $PY run --root "$SL_PID" --n "$N" --limit "$LIMIT" --stall "$STALL" --new "$NEW" -- \
    smtp-source -s 20 -m "$N" -l 2048 -f sender@example.test -t "$BU@example.test" "127.0.0.1:$SL_PORT") ||
    die "sluice nolookup run failed (see above)"
  namewait_restore
  say "  $out"
  rec "$1" sluice nl_e2e "$(field e2e "$out")"
  rec "$1" sluice nl_accept "$(field accept "$out")"
  clear_mail
  sleep 1
}
# straced MTA N: the local workload of N messages against MTA under
# strace (bench/lib.sh strace_attach); the counts per message
# (bench/peers.py count) in $counts
straced() {
  pids=$($PY pids --root "$(pid_of "$1")") || die "no processes of $1"
  # shellcheck disable=SC2086 # the pids
  strace_attach "$T/strace.$1" $pids
  say "strace: $1 local ($2 messages)"
  bounded $((LIMIT + 60)) $PY run --root "$(pid_of "$1")" --n "$2" --limit "$LIMIT" --new "$NEW" -- \
    smtp-source -s 20 -m "$2" -l 2048 -f sender@example.test -t "$BU@example.test" "127.0.0.1:$(port_of "$1")" > /dev/null ||
    die "$1 strace run failed"
  strace_detach
  counts=$($PY count --n "$2" "$T/strace.$1") || die "counting $1's calls failed"
  rm -f "$T/strace.$1"
  clear_mail
}
# tls PAIR MTA: the local workload with STARTTLS on every connection
tls() {
  say "pair $1: $2 tls ($TLS_N messages, STARTTLS on every connection)"
  rc=0
  out=$(bounded $((LIMIT + 60)) $PY run --root "$(pid_of "$2")" --n "$TLS_N" --limit "$LIMIT" --stall "$STALL" --new "$NEW" -- \
    python3 bench/peers.py tlssource --port "$(port_of "$2")" --n "$TLS_N" --conc 20 --limit "$LIMIT" \
    --from sender@example.test --to "$BU@example.test" --info "$T/tlsinfo") || rc=$?
  if [ "$rc" -eq 3 ]; then
    say "  INCOMPLETE: $out"
    fails="$fails
  pair $1, $2 tls: only $(field got "$out") of $TLS_N messages done (bench/peers.py's message above)"
    a=$(field accept "$out")
    [ -n "$a" ] && rec "$1" "$2" tls_accept "$a"
    clear_mail
    sleep 1
    return 0
  fi
  [ "$rc" -eq 0 ] || die "$2 tls run failed (see above)"
  say "  $out (first connection: $(cat "$T/tlsinfo" 2> /dev/null))"
  for f in e2e accept mcpu mcpunet tcpu pss; do rec "$1" "$2" "tls_$f" "$(field "$f" "$out")"; done
  # the background row, when no local run gives it
  [ "$ONLY" = tls ] && rec "$1" "$2" bg "$(field bg "$out")"
  clear_mail
  sleep 1
}
latency() {
  say "pair $1: $2 latency ($SAMPLES samples)"
  out=$(bounded $((LIMIT + 60)) $PY latency --new "$NEW" --port "$(port_of "$2")" --to "$BU@example.test" \
    --from sender@example.test --samples "$SAMPLES" --limit "$LIMIT") || die "$2 latency failed (see above)"
  say "  $out"
  rec "$1" "$2" lat "$(field lat "$out")"
  clear_mail
}
# raw PAIR: files per second, 1 writer and 20 at once
raw() {
  mkdir -p "$H/fsyncbench" || die "cannot make $H/fsyncbench"
  # shellcheck disable=SC2046 # its three numbers
  set -- "$1" $(bounded "$LIMIT" "$FSR" "$H/fsyncbench" 500 rename)
  [ "$3" -gt 0 ] || die "fsyncrate: no time measured"
  rec "$1" raw raw1 $(($2 * 1000000 / $3))
  t0=$(date +%s%N)
  i=0
  while [ $i -lt 20 ]; do
    bounded "$LIMIT" "$FSR" "$H/fsyncbench" 100 rename > "$T/raw.$i" &
    i=$((i + 1))
  done
  wait
  t1=$(date +%s%N)
  [ "$(cat "$T"/raw.* | awk 'NF == 3' | wc -l)" -eq 20 ] || die "a parallel fsyncrate failed"
  rec "$1" raw raw20 $((2000 * 1000000000 / (t1 - t0)))
  rm -f "$T"/raw.*
}

# floor: the counts and the CPU by program (5a above)
if [ "$ONLY" = floor ]; then
  for m in postfix sluice; do
    say "$m: a warm-up run of 200 messages (Postfix starts its processes), not measured"
    bounded $((LIMIT + 60)) $PY run --root "$(pid_of "$m")" --n 200 --limit "$LIMIT" --new "$NEW" -- \
      smtp-source -s 20 -m 200 -l 2048 -f sender@example.test -t "$BU@example.test" "127.0.0.1:$(port_of "$m")" > /dev/null ||
      die "$m warm-up run failed"
    clear_mail
    straced "$m" "$STRACE_N"
    say "  $counts"
    for kv in $counts; do
      k=${kv%%=*} v=${kv#*=}
      case $k in
        exec:*) printf 'floor-%s-exec-%s\t%s\tcalls/msg\texecve of %s per message (strace, %s msgs)\n' "$m" "${k#exec:}" "$v" "${k#exec:}" "$STRACE_N" ;;
        *) printf 'floor-%s-%s\t%s\tcalls/msg\tstrace -f, %s msgs, local workload\n' "$m" "$k" "$v" "$STRACE_N" ;;
      esac
    done
  done
  delayacct0=$(sysctl -n kernel.task_delayacct 2> /dev/null) || delayacct0=''
  [ -n "$delayacct0" ] && { sysctl -q -w kernel.task_delayacct=1 > /dev/null || die "cannot set kernel.task_delayacct"; }
  p=1
  while [ $p -le "$PAIRS" ]; do
    for m in postfix sluice; do
      say "pair $p: $m local, CPU by program ($N messages)"
      out=$(bounded $((LIMIT + 60)) $PY run --root "$(pid_of "$m")" --n "$N" --limit "$LIMIT" --stall "$STALL" --new "$NEW" \
        --byprog "$T/byprog" -- smtp-source -s 20 -m "$N" -l 2048 -f sender@example.test -t "$BU@example.test" \
        "127.0.0.1:$(port_of "$m")") || die "$m run failed (see above)"
      say "  $out"
      for f in e2e tcpu mcpu; do rec "$p" "$m" "$f" "$(field "$f" "$out")"; done
      sed "s/^/$m /" "$T/byprog" >> "$T/byprog.all"
      clear_mail
      sleep 1
    done
    p=$((p + 1))
  done
  [ -n "$delayacct0" ] && sysctl -q -w kernel.task_delayacct="$delayacct0" > /dev/null
  delayacct0=''
  for m in postfix sluice; do
    for f in e2e tcpu mcpu; do
      v=$(awk -F '\t' -v m="$m" -v f="$f" '$2 == m && $3 == f { print $4 }' "$R" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
      case $f in
        e2e) printf 'floor-%s-e2e\t%s\tmsg/s\tend to end, median of %s runs of %s msgs (the runs below)\n' "$m" "$v" "$PAIRS" "$N" ;;
        tcpu) printf 'floor-%s-tcpu\t%s\tms/msg\tCPU of its process tree, median of %s runs\n' "$m" "$v" "$PAIRS" ;;
        mcpu) printf 'floor-%s-mcpu\t%s\tms/msg\twhole machine busy, median of %s runs\n' "$m" "$v" "$PAIRS" ;;
      esac
    done
    awk -v m="$m" -v n=$((N * PAIRS)) '
      $1 == m && $2 == "-" { ox += $3; ons += $4; dr += $5; next }
      $1 == m { x[$2] += $3; ns[$2] += $4 }
      END {
        for (k in ns) printf "floor-%s-cpu-%s\t%.4f\tms/msg\tCPU of the processes named %s, %.3f of them ended per msg (taskstats, schedstat; %d msgs)\n", m, k, ns[k] / 1e6 / n, k, x[k] / n, n
        printf "floor-%s-cpu-unattributed\t%.4f\tms/msg\tprocesses ended outside its tree (the load generator, other work on the machine): %.3f per msg; exit records dropped: %d\n", m, ons / 1e6 / n, ox / n, dr
      }' "$T/byprog.all" | sort -t "$(printf '\t')" -k2,2gr
  done
  exit 0
fi

started=$(date +%s)
p=1
while [ $p -le "$PAIRS" ]; do
  if [ "$ONLY" = relay ]; then
    for w in "relay" "relay -d"; do
      for m in postfix sluice; do
        # shellcheck disable=SC2086
        load "$p" "$m" $w
      done
    done
  elif [ "$ONLY" != tls ]; then
    raw "$p"
    for w in "local" "local -d" "relay" "relay -d"; do
      for m in postfix sluice; do
        # shellcheck disable=SC2086
        load "$p" "$m" $w
      done
      [ "$w" = local ] && [ "$NOLOOKUP" = 1 ] && nolookup "$p"
    done
  fi
  if [ "$TLS" = 1 ]; then
    for m in postfix sluice; do tls "$p" "$m"; done
  fi
  if [ -z "$ONLY" ]; then
    for m in postfix sluice; do latency "$p" "$m"; done
  fi
  p=$((p + 1))
done

# strace: counts per message on a short extra run
if [ "$STRACE" = 1 ]; then
  for m in postfix sluice; do
    straced "$m" "$STRACE_N"
    rec s "$m" execs "$(field execve "$counts")"
    rec s "$m" forks "$(awk -v a="$(field fork "$counts")" -v b="$(field vfork "$counts")" 'BEGIN { print a + b }')"
    rec s "$m" syncs "$(awk -v a="$(field fsync-file "$counts")" -v b="$(field fsync-dir "$counts")" -v c="$(field fdatasync "$counts")" 'BEGIN { print a + b + c }')"
  done
fi

echo "peers: $PAIRS pairs of $N messages in $(($(date +%s) - started)) s" >&2
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; other work on it counts in every figure" >&2
$PY table "$R"
say "raw results: $R"
if [ -n "$fails" ]; then
  say "runs that did not finish (their rates are left out of the table; later runs may have met their leftovers):$fails"
  exit 1
fi
exit 0
