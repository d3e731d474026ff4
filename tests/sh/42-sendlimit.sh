#!/bin/sh
# 42-sendlimit.sh: boot/sluice-send/run starts the delivery set under
# softlimit: sluice-start (here a stand-in that reports its limits) runs
# with a soft data limit (RLIMIT_DATA) of 1000000000 bytes and the hard
# limit it was given, so sluice-send, the spawners and the deliveries
# they run inherit a cap that a program may still raise (see INSTALL).
. "$(dirname "$0")/../lib.sh"
command -v softlimit > /dev/null 2>&1 || { bad "softlimit installed" "apt-get install daemontools"; done_testing; }

mkdir -p "$T/home/bin"
cat > "$T/home/bin/sluice-start" <<EOS
#!/bin/sh
grep '^Max data size' /proc/\$\$/limits > "$T/limits"
echo started > "$T/started"
EOS
chmod 755 "$T/home/bin/sluice-start"
sed "s|@HOME@|$T/home|g" boot/sluice-send/run > "$T/run"
hard=$(ulimit -H -d)
[ "$hard" = unlimited ] || hard=$((hard * 1024))
timeout 20 sh "$T/run" > "$T/run.out" 2>&1
check "the run script started sluice-start" test -f "$T/started"
# "Max data size  SOFT  HARD  bytes"
set -- $(cat "$T/limits" 2> /dev/null) x x x x x x
check_eq "soft data limit of the set" "$4" 1000000000
check_eq "hard data limit untouched" "$5" "$hard"
done_testing
