#!/bin/sh
# bench/dkim.sh: the CPU price of DKIM signing (sluice-dkimsign(8)).
#
# Injects DKIM_BENCH_N messages (default 200; 2 KB, a usual header) in
# a private instance, one sluice-queue run each, four ways:
#   queue       sluice-queue alone (the baseline: the whole injection)
#   unsigned    through sluice-dkimsign, From outside control/dkimdomains
#               (its start-up, the split, the read and the copy)
#   rsa-2048    through sluice-dkimsign, one rsa-sha256 signature
#   ed25519     through sluice-dkimsign, one ed25519-sha256 signature
# and prints the CPU microseconds (user + system of every child) per
# message of each, and of each signature beyond the unsigned pass.
# The queue is emptied between the ways (the scheduler is not running).
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
way sluice-dkimsign ed.example; e=$cpu
clear
printf 'dkim queue alone\t%s\tus/msg\tCPU of one sluice-queue injection, %s messages\n' "$q" "$N"
printf 'dkim unsigned pass\t%s\tus/msg\tsluice-dkimsign + sluice-queue, no matching domain\n' "$u"
printf 'dkim rsa-2048\t%s\tus/msg\tsigned, total; %s us over the unsigned pass\n' "$r" "$((r - u))"
printf 'dkim ed25519\t%s\tus/msg\tsigned, total; %s us over the unsigned pass\n' "$e" "$((e - u))"
