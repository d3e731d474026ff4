#!/bin/sh
# 102-deb.sh: `make deb` and the package's life in a throwaway root.
#  1. make deb builds build-deb/sluice_*.deb; its control fields say
#     Provides, Conflicts and Replaces mail-transport-agent and Depends
#     on daemontools and ucspi-tcp-ipv6; lintian reports no error;
#  2. tests/deb-inside.sh runs as root in a throwaway root: an overlay
#     mount over / (changes in a tmpfs, dropped at the end) in private
#     mount, pid and network namespaces (unshare, chroot): the MTA this
#     machine has (postfix...) is purged there only, an unowned
#     /usr/sbin/sendmail put in place, the sluice users deleted; then
#     dpkg -i (users, queue, control/me from /etc/mailname, diversions,
#     svscan, SMTP on 127.0.0.1:25 of the private network), a message
#     through /usr/sbin/sendmail -t to postmaster, mailq and newaliases,
#     sluice.service enabled, dpkg -r (nothing runs, the unit disabled, the old sendmail is back, no diversion),
#     dpkg -P (no /var/sluice, /var/lib/sluice, /usr/share/sluice, users
#     or groups left). Nothing of it reaches this machine: checked by
#     its /var/sluice, diversions and /usr/sbin/sendmail before and after.
. "$(dirname "$0")/../lib.sh"
need_root
PATH=$PATH:/usr/sbin:/sbin
for t in dpkg-deb lintian unshare chroot; do
  command -v "$t" > /dev/null 2>&1 || { bad "$t missing (Debian packages dpkg, lintian, util-linux, coreutils)"; done_testing; }
done
grep -qw overlay /proc/filesystems || modprobe overlay 2> /dev/null

check "make deb" sh -c "env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory deb > '$T/deb.log' 2>&1"
deb=$(tail -n 1 "$T/deb.log")
check "a .deb" test -f "$deb"
[ -f "$deb" ] || { cat "$T/deb.log"; done_testing; }
field() { dpkg-deb -f "$deb" "$1"; }
check_eq "Provides" "$(field Provides)" mail-transport-agent
check_eq "Conflicts" "$(field Conflicts)" mail-transport-agent
check_eq "Replaces" "$(field Replaces)" mail-transport-agent
check "Depends daemontools" sh -c "dpkg-deb -f '$deb' Depends | grep -q 'daemontools'"
check "Depends ucspi-tcp-ipv6" sh -c "dpkg-deb -f '$deb' Depends | grep -q 'ucspi-tcp-ipv6'"
check "systemd unit in the package" sh -c "dpkg-deb -c '$deb' | grep './lib/systemd/system/sluice.service\$' > /dev/null"
if command -v systemd-analyze > /dev/null 2>&1; then
  check "systemd-analyze verify" sh -c "systemd-analyze verify debian/sluice.service 2>&1 | grep -v 'man sluice-' | grep . && exit 1 || exit 0"
fi
check "programs in the package" sh -c "dpkg-deb -c '$deb' | grep './usr/lib/sluice/build/sluice-queue\$' > /dev/null"
timeout 600 lintian "$deb" > "$T/lintian" 2>&1
echo "102-deb: lintian: $(grep -c '^E:' "$T/lintian") errors, $(grep -c '^W:' "$T/lintian") warnings"; grep '^E:' "$T/lintian"
check_fail "lintian: no error" grep -q '^E:' "$T/lintian"
check "lintian ran" grep -q 'sluice' "$T/lintian"

# --- the throwaway root ---
# (other tests add and remove users meanwhile: only sluice's are compared)
state() {
  ls -ld /var/sluice /var/lib/sluice /usr/share/sluice /usr/sbin/sendmail 2>&1
  dpkg-divert --list | sort
  getent passwd alias sluiced sluicel sluicep sluiceq sluicer sluices sluicet
  getent group sluice nofiles sluicet
}
before=$(state)
B=$T/ovl
mkdir -p "$B"
cat > "$T/outer.sh" <<OUTER
set -e
mount -t tmpfs tmpfs "$B"
mkdir -p "$B/u" "$B/w" "$B/m"
mount -t overlay overlay -o lowerdir=/,upperdir="$B/u",workdir="$B/w" "$B/m"
mount -t proc proc "$B/m/proc"
mount --rbind /dev "$B/m/dev"
mount -t tmpfs tmpfs "$B/m/tmp"
mount -t tmpfs tmpfs "$B/m/run"
cp "$deb" "$B/m/tmp/sluice.deb"
cp tests/deb-inside.sh "$B/m/tmp/inside.sh"
chroot "$B/m" sh /tmp/inside.sh /tmp/sluice.deb
OUTER
timeout 600 unshare --mount --pid --net --uts --ipc --fork sh "$T/outer.sh" > "$T/inside.log" 2>&1
grep -v '^ok ' "$T/inside.log" | head -n 40
n_ok=$(grep -c '^ok ' "$T/inside.log")
check "throwaway root: every step ran" test "$n_ok" -ge 29
while read -r line; do
  case $line in
    ok\ *) ok "${line#ok }" ;;
    FAIL\ *) bad "throwaway root: ${line#FAIL }" ;;
  esac
done < "$T/inside.log"
after=$(state)
check_eq "this machine untouched" "$after" "$before"
check "nothing mounted left" sh -c "! grep -q '$B' /proc/mounts"
done_testing
