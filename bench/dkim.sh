#!/bin/sh
# bench/dkim.sh: the CPU price of DKIM signing (sluice-dkimsign(8)) and
# verifying (sluice-authcheck(8)), beside the whole pipeline's.
#
# Injects DKIM_BENCH_N messages (default 200; 2 KB, a usual header) in
# a private instance, one sluice-queue run each, four ways:
#   queue       sluice-queue alone (the baseline: the whole injection)
#   unsigned    through sluice-dkimsign, From outside control/dkimdomains
#               (its start-up, the split, the read and the copy)
#   rsa-2048    through sluice-dkimsign, one rsa-sha256 signature
#   ed25519     through sluice-dkimsign, one ed25519-sha256 signature
# then hands the same number to sluice-authcheck (in front of
# sluice-queue, as sluice-smtpd would, the records served by
# tests/helpers/dnsd: SPF, DMARC p=none and the DKIM keys) three ways:
#   unsigned    SPF and DMARC, no signature
#   rsa-2048    and one rsa-sha256 signature verified
#   ed25519     and one ed25519-sha256 signature verified
# and last runs the whole pipeline once with the delivery set running
# (sluice-start: sluice-send, sluice-lspawn, sluice-local, sluice-clean):
# DKIM_BENCH_N unsigned messages injected (tests/helpers/qbench, 10 at
# once) until all are in a local user's Maildir/new.
# Prints the CPU microseconds (user + system of every child) per
# message of each, and of each signature or verification beyond the
# unsigned pass. The queue is emptied between the ways (the scheduler
# runs only in the last step).
BENCH_ROW=dkim
. bench/lib.sh
N=${DKIM_BENCH_N:-200}
bench_install
[ -x "$H/bin/sluice-dkimsign" ] || { printf 'dkim\t-\t-\tskipped: no sluice-dkimsign (libssl-dev missing)\n'; exit 0; }
"$H/bin/sluice-dkimkey" -t rsa rsa.example r > "$T/r" || die "dkimkey rsa"
"$H/bin/sluice-dkimkey" -t ed25519 ed.example e > "$T/e" || die "dkimkey ed25519"
sed -n 's/^control\/dkimdomains: //p' "$T/r" "$T/e" > "$H/control/dkimdomains"
awk 'BEGIN { for (i = 0; i < 30; i++) print "line " i " of a body of about two kilobytes, plain text, nothing more" }' > "$T/body"
# msg DOMAIN: a message from DOMAIN into $T/msg.DOMAIN
msg() {
  { printf 'From: Some One <one@%s>\nTo: two@far.example\nSubject: a benchmark\n' "$1"
    printf 'Date: Wed, 2 Dec 2026 10:00:00 +0000\nMessage-ID: <x@%s>\nMIME-Version: 1.0\n' "$1"
    printf 'Content-Type: text/plain; charset=us-ascii\n\n'; cat "$T/body"; } > "$T/msg.$1"
}
msg rsa.example; msg ed.example; msg other.example
printf 'Fone@x.example\0Ttwo@far.example\0\0' > "$T/env"
clear() { find "$H/queue/mess" "$H/queue/intd" "$H/queue/todo" -type f -exec rm -f {} +; }
# way PROG DOMAIN: N injections; $cpu microseconds per message
way() {
  clear
  cpu_mark
  i=0
  while [ $i -lt "$N" ]; do
    "$H/bin/$1" < "$T/msg.$2" 1< "$T/env" || die "$1 failed for $2"
    i=$((i + 1))
  done
  times > "$T/times"
  cpu=$((($(cpu_children) - cpu0) / N))
}
way sluice-queue other.example; q=$cpu
way sluice-dkimsign other.example; u=$cpu
way sluice-dkimsign rsa.example; r=$cpu
cp "$(find "$H/queue/mess" -type f | head -n 1)" "$T/msg.signed-rsa" || die "no signed rsa message"
way sluice-dkimsign ed.example; e=$cpu
cp "$(find "$H/queue/mess" -type f | head -n 1)" "$T/msg.signed-ed" || die "no signed ed25519 message"
clear
grep -q '^DKIM-Signature: v=1; a=rsa-sha256' "$T/msg.signed-rsa" || die "the rsa message is not signed"
grep -q '^DKIM-Signature: v=1; a=ed25519-sha256' "$T/msg.signed-ed" || die "the ed25519 message is not signed"

# --- verifying: sluice-authcheck, the records from tests/helpers/dnsd ---
PATH=$PATH:/usr/sbin:/sbin
BU=slbenchk
dpid=''
cleanup() {
  [ -n "$dpid" ] && kill "$dpid" 2> /dev/null
  kill_set 300
  userdel -r "$BU" > /dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 111' INT TERM HUP
[ -x "$BIN/tests/dnsd" ] || die "tests/helpers/dnsd missing in $BIN/tests"
free_ports 24600 1
{ for d in rsa.example ed.example other.example; do
    printf 'TXT %s v=spf1 ip4:127.0.0.2 -all\nTXT _dmarc.%s v=DMARC1; p=none\n' "$d" "$d"
  done
  cat "$T/r" "$T/e" | sed -n 's/^\([^ ]*\)\. IN TXT "\(.*\)"$/TXT \1 \2/p' | sed 's/" "//g'; } > "$T/zone"
"$BIN/tests/dnsd" 127.0.0.1 "$P" "$T/zone" > "$T/dns.log" 2> "$T/dns.err" &
dpid=$!
i=0
while ! grep -q '^ready$' "$T/dns.log" 2> /dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -q '^ready$' "$T/dns.log" || die "dnsd did not start: $(cat "$T/dns.err")"
echo bench.example > "$H/control/me"
TCPREMOTEIP=127.0.0.2 SMTPHELO=client.example DNSCACHEIP=127.0.0.1:$P
export TCPREMOTEIP SMTPHELO DNSCACHEIP
# one check by hand: the three messages give the results the figures
# are meant to measure
for m in other.example:none signed-rsa:pass signed-ed:pass; do
  printf 'Fone@%s\0Ttwo@bench.example\0\0' "$(sed -n 's/^From: .*@\([a-z.]*\)>$/\1/p' "$T/msg.${m%%:*}")" > "$T/env"
  "$H/bin/sluice-authcheck" < "$T/msg.${m%%:*}" 1< "$T/env" || die "sluice-authcheck failed for ${m%%:*}"
  f=$(find "$H/queue/mess" -type f | head -n 1)
  grep -q "dkim=${m#*:}" "$f" || die "${m%%:*}: no dkim=${m#*:}: $(sed -n '/^Authentication-Results/,/^[^\t]/p' "$f")"
  grep -q 'spf=pass' "$f" || die "${m%%:*}: no spf=pass"
  clear
done
# vway MESSAGE: N runs of sluice-authcheck; $cpu microseconds per message
vway() {
  printf 'Fone@%s\0Ttwo@bench.example\0\0' "$(sed -n 's/^From: .*@\([a-z.]*\)>$/\1/p' "$T/msg.$1")" > "$T/env"
  clear
  cpu_mark
  i=0
  while [ $i -lt "$N" ]; do
    "$H/bin/sluice-authcheck" < "$T/msg.$1" 1< "$T/env" || die "sluice-authcheck failed for $1"
    i=$((i + 1))
  done
  times > "$T/times"
  cpu=$((($(cpu_children) - cpu0) / N))
}
vway other.example; va=$cpu
vway signed-rsa; vr=$cpu
vway signed-ed; ve=$cpu
clear
kill "$dpid"
wait "$dpid" 2> /dev/null
dpid=''
unset TCPREMOTEIP SMTPHELO DNSCACHEIP

# --- the whole pipeline: injection to Maildir, the delivery set running ---
[ -x "$QB" ] || die "qbench missing in $BIN/tests"
userdel -r "$BU" > /dev/null 2>&1
useradd -m -s /bin/sh "$BU" || die "useradd $BU failed"
BH=$(getent passwd "$BU" | cut -d: -f6)
(cd "$BH" && setpriv --reuid="$(id -u $BU)" --regid="$(id -g $BU)" --init-groups "$H/bin/sluice-maildirmake" Maildir) ||
  die "maildirmake failed"
echo example.org > "$H/control/me"
echo example.org > "$H/control/locals"
echo 1000 > "$H/control/concurrencyuser"
printf '=user:%s:%s:%s:%s:::\n.\n' "$BU" "$(id -u $BU)" "$(id -g $BU)" "$BH" > "$H/users/assign"
"$H/bin/sluice-newu" || die "sluice-newu failed"
count() { set -- "$BH"/Maildir/new/*; got=$#; [ -e "$1" ] || got=0; }
cpu_mark
start_set
kill -0 "$spid" 2> /dev/null || die "sluice-start did not start: $(cat "$T/log")"
set -- $("$QB" "$H/bin/sluice-queue" 10 "$N" 2048) || die "qbench had failures: $*"
k=0
count
while [ "$got" -lt "$N" ] && [ $k -lt 3000 ]; do sleep 0.1; k=$((k + 1)); count; done
[ "$got" -eq "$N" ] || die "only $got of $N messages delivered within 300 s"
stop_set "$N"
pipe=$cpu

printf 'dkim queue alone\t%s\tus/msg\tCPU of one sluice-queue injection, %s messages\n' "$q" "$N"
printf 'dkim unsigned pass\t%s\tus/msg\tsluice-dkimsign + sluice-queue, no matching domain\n' "$u"
printf 'dkim rsa-2048\t%s\tus/msg\tsigned, total; %s us over the unsigned pass\n' "$r" "$((r - u))"
printf 'dkim ed25519\t%s\tus/msg\tsigned, total; %s us over the unsigned pass\n' "$e" "$((e - u))"
printf 'dkim verify unsigned\t%s\tus/msg\tsluice-authcheck + sluice-queue: SPF, DMARC, no signature\n' "$va"
printf 'dkim verify rsa-2048\t%s\tus/msg\tverified, total; %s us over the unsigned check\n' "$vr" "$((vr - va))"
printf 'dkim verify ed25519\t%s\tus/msg\tverified, total; %s us over the unsigned check\n' "$ve" "$((ve - va))"
printf 'dkim pipeline\t%s\tus/msg\tCPU of all processes per message, injection to Maildir, unsigned (%s x 2 KB)\n' "$pipe" "$N"
