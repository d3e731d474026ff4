#!/bin/sh
# 106-packages.sh: tools/packages, the one list of Debian packages that
# `make check` and .ci/run use, and what `make check` does on a machine
# without them. A fresh machine is simulated (the CI machine's packages
# are never removed): a PATH of a few basic tools only, a fake dpkg that
# knows no package and a fake apt-get that records its arguments and
# "installs" by putting stub commands on that PATH.
#  1. on this machine (set up by .ci/run) nothing is missing;
#  2. as an ordinary user (nobody) on the fresh machine, tools/packages
#     check and `make check` (in a copy of the tree) print one line
#     naming the missing packages and the apt-get command, and fail
#     before building or testing anything;
#  3. as root on the fresh machine, tools/packages check runs apt-get
#     update and apt-get install -y --no-install-recommends with the
#     missing packages, and succeeds once they are there;
#  4. .ci/run installs through tools/packages and keeps no list of its
#     own; make check runs tools/packages before the build.
. "$(dirname "$0")/../lib.sh"
need_root
[ -n "$T" ] && [ -d "$T" ] || { bad "scratch directory"; done_testing; }

# --- 1 ---
check_eq "nothing missing here" "$(sh tools/packages list)" ""

# --- the fresh machine ---
F=$T/fresh
mkdir "$F" || { bad "mkdir $F"; done_testing; }
for t in sh awk sed tr cat id grep sort head tail mkdir rm cp chmod env basename dirname ls; do
  p=$(command -v "$t") && ln -s "$p" "$F/$t"
done
ln -s "$(command -v make)" "$F/make"
printf '#!/bin/sh\n[ -f "%s/installed" ]\n' "$T" > "$F/dpkg"
{
  echo '#!/bin/sh'
  echo "echo \"\$*\" >> '$T/apt.log'"
  echo '[ "$1" = install ] || exit 0'
  echo '# stub commands for the packages asked for'
  echo 'for a; do'
  echo "  awk -v p=\"\$a\" '/^LIST\$/ { on = 0 } on && \$2 == p && \$1 != \"-\" { print \$1 } /<<.LIST.\$/ { on = 1 }' '$TOP/tools/packages' |"
  echo "    while read -r c; do printf '#!/bin/sh\\nexit 0\\n' > '$F/'\"\$c\"; chmod 755 '$F/'\"\$c\"; done"
  echo 'done'
  echo ": > '$T/installed'"
} > "$F/apt-get"
chmod 755 "$F/dpkg" "$F/apt-get"
chmod 755 "$T"

# --- 2 ---
mkdir "$T/tree"
cp -R Makefile tools conf-cc conf-ld conf-home conf-split conf-users "$T/tree/"
chmod -R a+rX "$T/tree"
chmod a+w "$T/tree"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env -i PATH="$F" HOME=/nonexistent "$@"; }
out=$(cd "$T/tree" && as_nobody sh tools/packages check 2>&1)
rc=$?
check_eq "user: check fails" "$rc" 1
check_eq "user: one line" "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 1
case $out in
  "make check: missing Debian packages: "*"; install them with: sudo apt-get install --no-install-recommends "*) ok "user: the line" ;;
  *) bad "user: the line" "$out" ;;
esac
for p in tinycdb libssl-dev ucspi-tcp-ipv6 gcc prometheus; do
  case " $out " in *" $p "*) ok "user: names $p" ;; *) bad "user: names $p" "$out" ;; esac
done
out=$(cd "$T/tree" && as_nobody make check 2>&1)
rc=$?
check "user: make check fails" test "$rc" -ne 0
check_eq "user: make check says it in one line (plus make's own)" \
  "$(printf '%s\n' "$out" | grep -v '^make: \*\*\*' | wc -l | tr -d ' ')" 1
check "user: make check names the packages" sh -c "printf '%s\n' \"\$1\" | grep -q '^make check: missing Debian packages: .*tinycdb'" - "$out"
check_fail "user: nothing built" test -d "$T/tree/build"
check_fail "user: apt-get not run" test -f "$T/apt.log"

# --- 3 ---
out=$(cd "$T/tree" && env -i PATH="$F" HOME=/root sh tools/packages check 2>&1)
check_eq "root: check succeeds" "$?" 0
check "root: apt-get update" grep -qx 'update -qq' "$T/apt.log"
check "root: apt-get install" grep -q '^install -y -qq --no-install-recommends .*tinycdb.*libssl-dev' "$T/apt.log"
check_eq "root: nothing missing after" "$(cd "$T/tree" && env -i PATH="$F" sh tools/packages list)" ""

# --- 4 ---
check ".ci/run uses tools/packages" grep -q '^sh tools/packages install' .ci/run
check_fail ".ci/run keeps no list" grep -q '^want \|dpkg -s' .ci/run
check "make check: packages before the build" sh -c "env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory -n check | head -n 1 | grep -q 'tools/packages check'"
done_testing
