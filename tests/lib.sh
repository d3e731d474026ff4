# tests/lib.sh: shared by the shell tests under tests/sh. Source it with
#   . "$(dirname "$0")/../lib.sh"
# from the top of the tree (tests/run runs every script from there).
#
# The tests never touch a live installation: they build a private
# instance whose conf-home is $SLUICE_TEST_HOME (default
# /tmp/sluice-check/home), compiled into build/check, and install it
# there with tools/setup as production does (users, owners, setuid bit).
#
#   ok NAME / bad NAME TEXT     count a passed / failed assertion
#   check NAME CMD...           ok when CMD exits 0, bad otherwise
#   check_fail NAME CMD...      ok when CMD exits non-zero
#   check_eq NAME GOT WANT      ok when the strings are equal
#   need_root                   fail the whole script unless running as root
#   inst_build                  build the private instance (once per run)
#   inst_fresh                  wipe $SLUICE_TEST_HOME and install it anew
#   done_testing                print "N passed, N failed" and exit
#   tmpdir                      a scratch directory removed at exit: $T
set -u
LC_ALL=C
export LC_ALL
TOP=$(pwd)
SLUICE_TEST_HOME=${SLUICE_TEST_HOME:-/tmp/sluice-check/home}
SLUICE_TEST_BUILD=${SLUICE_TEST_BUILD:-build/check}
export SLUICE_TEST_HOME SLUICE_TEST_BUILD
H=$SLUICE_TEST_HOME
BIN=$TOP/$SLUICE_TEST_BUILD
t_pass=0
t_fail=0

ok() { t_pass=$((t_pass + 1)); }
bad() { t_fail=$((t_fail + 1)); echo "FAIL $1${2:+: $2}"; }
check() { _check_name=$1; shift; if "$@"; then ok "$_check_name"; else bad "$_check_name" "command failed: $*"; fi; }
check_fail() { _check_name=$1; shift; if "$@"; then bad "$_check_name" "command succeeded: $*"; else ok "$_check_name"; fi; }
check_eq() {
  if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got [$2] want [$3]"; fi
}
done_testing() { echo "$t_pass passed, $t_fail failed"; [ "$t_fail" -eq 0 ]; exit $?; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "FAIL this test needs root (CI runs it as root)"
    echo "0 passed, 1 failed"
    exit 1
  fi
}

T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-t.XXXXXX") || exit 1
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT

inst_build() {
  make -s B="$SLUICE_TEST_BUILD" CONF_HOME="$SLUICE_TEST_HOME" all > "$T/build.log" 2>&1 || {
    cat "$T/build.log"; echo "FAIL instance build"; echo "0 passed, 1 failed"; exit 1; }
}

inst_fresh() {
  inst_build
  rm -rf "$SLUICE_TEST_HOME"
  mkdir -p "$(dirname "$SLUICE_TEST_HOME")"
  chmod 755 "$(dirname "$SLUICE_TEST_HOME")"
  sh tools/setup "$SLUICE_TEST_BUILD" "$SLUICE_TEST_HOME" > "$T/setup.log" 2>&1 || {
    cat "$T/setup.log"; echo "FAIL instance setup"; echo "0 passed, 1 failed"; exit 1; }
}
