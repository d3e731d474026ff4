#!/bin/sh
# tests/deb-inside.sh DEB: run by tests/sh/102-deb.sh as root inside a
# throwaway root (an overlay over / in private mount, pid and network
# namespaces, chrooted): installs, uses, removes and purges the package.
# Prints "ok NAME" or "FAIL NAME: why" per check.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
deb=$1
ok() { echo "ok $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }
check() { n=$1; shift; if "$@" > /dev/null 2>&1; then ok "$n"; else bad "$n" "$*"; fi; }
check_fail() { n=$1; shift; if "$@" > /dev/null 2>&1; then bad "$n" "$*"; else ok "$n"; fi; }
wait_for() { k=0; while [ $k -lt "$1" ]; do "$2" && return 0; sleep 1; k=$((k + 1)); done; return 1; }
ip link set lo up
# no init system here: nothing may try to start or stop one
rm -f /usr/sbin/policy-rc.d
# the MTAs this machine has, removed in the throwaway root only
mtas=$(dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Provides}\n' 2> /dev/null | awk '$1 == "ii" && /mail-transport-agent/ { print $2 }')
[ -z "$mtas" ] || dpkg --purge --force-depends $mtas > /tmp/purge-mta.log 2>&1 || bad "purge $mtas" "$(tail -3 /tmp/purge-mta.log)"
# an unowned sendmail for preinst to divert and postrm to give back
printf '#!/bin/sh\necho the-old-sendmail\n' > /usr/sbin/sendmail
chmod 755 /usr/sbin/sendmail
echo deb102.test > /etc/mailname
# the users of earlier test instances, removed so that postinst makes
# them and purge must remove them
for n in alias sluiced sluicel sluicep sluiceq sluicer sluices sluicet; do userdel "$n" 2> /dev/null; done
for n in sluice nofiles sluicet; do groupdel "$n" 2> /dev/null; done

check "dpkg -i" sh -c "dpkg -i '$deb' > /tmp/install.log 2>&1"
tail -5 /tmp/install.log | sed 's/^/  install: /'
check "installed" sh -c "dpkg-query -W -f '\${db:Status-Abbrev}' sluice | grep -q '^ii'"
check "user sluiceq made" getent passwd sluiceq
check "sluice-queue setuid" test -u /var/sluice/bin/sluice-queue
check "control/me from /etc/mailname" grep -qx deb102.test /var/sluice/control/me
check "4 diversions" sh -c "[ \$(dpkg-divert --list 'sluice' | wc -l) -eq 4 ]"
check "the old sendmail diverted" test -f /usr/sbin/sendmail.pre-sluice
check "/usr/sbin/sendmail is sluice's" sh -c "[ \$(readlink -f /usr/sbin/sendmail) = /var/sluice/bin/sendmail ]"
check "svscan runs" pgrep -x svscan
check "sluice.service enabled" test -L /etc/systemd/system/multi-user.target.wants/sluice.service
smtp() { timeout 5 tcpclient -RHl0 127.0.0.1 25 sh -c 'IFS= read -r l <&6; printf "%s\n" "$l"; printf "QUIT\r\n" >&7' 2> /dev/null | grep -q '^220 '; }
check "SMTP answers on 127.0.0.1:25" wait_for 30 smtp
printf 'To: postmaster\nSubject: deb102\n\nhello from the package test\n' | /usr/sbin/sendmail -t
got() { grep -lqs '^Subject: deb102' /var/sluice/alias/Maildir/new/*; }
check "a message to postmaster delivered" wait_for 60 got
check "mailq works" /usr/bin/mailq
check "newaliases works" /usr/bin/newaliases

check "dpkg -r" sh -c "dpkg -r sluice > /tmp/remove.log 2>&1"
sleep 1
check_fail "no svscan after remove" pgrep -x svscan
check_fail "no supervise after remove" pgrep -x supervise
check "the old sendmail back" sh -c "/usr/sbin/sendmail | grep -q the-old-sendmail"
check_fail "sluice.service disabled" test -e /etc/systemd/system/multi-user.target.wants/sluice.service
check "no diversion left" sh -c "[ -z \"\$(dpkg-divert --list sluice)\" ]"
check "dpkg -P" sh -c "dpkg -P sluice > /tmp/purge.log 2>&1"
check_fail "/var/sluice gone" test -e /var/sluice
check_fail "/var/lib/sluice gone" test -e /var/lib/sluice
check_fail "/usr/share/sluice gone" test -e /usr/share/sluice
check_fail "no sluice.service left" sh -c "ls /lib/systemd/system/sluice.service /etc/systemd/system/*/sluice.service"
check_fail "user sluiceq gone" getent passwd sluiceq
check_fail "group sluice gone" getent group sluice
check_fail "package unknown to dpkg" sh -c "dpkg-query -W -f '\${db:Status-Abbrev}' sluice 2> /dev/null | grep -q '^[ir][ic]'"
check_fail "no process of sluice left" sh -c "ps -eo comm | grep -E '^(sluice|multilog|tcpserver|svscan|supervise)'"
