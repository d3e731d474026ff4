#!/bin/sh
# cdb-compat.sh: sluice's cdb reader and writer against the files of
# tinycdb's `cdb` tool and ucspi-tcp's tcprules, through the test helper
# build/tests/cdbtool. Missing tools are failures, not skips: the CI
# script installs tinycdb and ucspi-tcp-ipv6.
LC_ALL=C
export LC_ALL
top=$(pwd)
tool=$top/build/tests/cdbtool
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # check DESCRIPTION COMMAND...
  d=$1; shift
  if "$@"; then ok; else bad "$d"; fi
}
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit $?
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-cdb.XXXXXX") || { bad "mktemp"; finish; }
trap 'rm -rf "$tmp"' EXIT

[ -x "$tool" ] || { bad "$tool is missing (make units)"; finish; }
command -v cdb >/dev/null 2>&1 || bad "tinycdb's cdb is missing (apt-get install tinycdb)"
command -v tcprules >/dev/null 2>&1 || bad "tcprules is missing (apt-get install ucspi-tcp-ipv6)"
[ "$fail" -eq 0 ] || finish
cd "$tmp" || { bad "cd"; finish; }

# a small input in the cdbmake format: duplicates, an empty key, empty
# data, spaces, tabs and a key with "->" in it
tab=$(printf '\t')
{
  printf '+3,5:one->hello\n'
  printf '+3,7:two->goodbye\n'
  printf '+3,3:one->dup\n'
  printf '+0,9:->empty key\n'
  printf '+5,0:blank->\n'
  printf '+4,3:a b%s->x y\n' "$tab"
  printf '+2,2:->->->\n'
  printf '\n'
} > small.in

cdb -c theirs.cdb < small.in
check "cdb -c made a file" test -s theirs.cdb
"$tool" make ours.cdb < small.in
check "cdbtool make exits 0" test $? -eq 0
check "no temporary file left" test ! -e ours.cdb.tmp
check "identical bytes for the small input" cmp -s theirs.cdb ours.cdb

# our reader on their file
check "get one (theirs)" test "$("$tool" get theirs.cdb one)" = hello
check "get two (theirs)" test "$("$tool" get theirs.cdb two)" = goodbye
check "get empty key (theirs)" test "$("$tool" get theirs.cdb '')" = "empty key"
check "get key with -> (theirs)" test "$("$tool" get theirs.cdb '->')" = '->'
check "get key with tab (theirs)" test "$("$tool" get theirs.cdb "a b$tab")" = 'x y'
check "getall duplicates in order" test "$("$tool" getall theirs.cdb one | tr '\n' ,)" = "hello,dup,"
"$tool" get theirs.cdb missing > /dev/null
check "absent key exits 100" test $? -eq 100
check "dump equals the input" sh -c "'$tool' dump theirs.cdb | cmp -s - small.in"

# their reader on our file
check "cdb -q -n 1 one (ours)" test "$(cdb -q -n 1 ours.cdb one)" = hello
check "cdb -q -n 2 one (ours)" test "$(cdb -q -n 2 ours.cdb one)" = dup
check "cdb -q empty key (ours)" test "$(cdb -q ours.cdb '')" = "empty key"
check "cdb -d equals the input" sh -c "cdb -d ours.cdb | cmp -s - small.in"

# a larger input: many records, repeated keys, every table used
awk 'BEGIN {
  for (i = 0; i < 5000; i++) {
    k = "key" (i * 7919 % 1500); d = "data " i;
    printf "+%d,%d:%s->%s\n", length(k), length(d), k, d
  }
  printf "\n"
}' > big.in
cdb -c theirs-big.cdb < big.in
"$tool" make ours-big.cdb < big.in
check "identical bytes for 5000 records" cmp -s theirs-big.cdb ours-big.cdb
check "dump of theirs equals the input" sh -c "'$tool' dump theirs-big.cdb | cmp -s - big.in"
check "getall agrees with cdb -q -m" sh -c "'$tool' getall theirs-big.cdb key77 > a.out; cdb -q -m ours-big.cdb key77 > b.out; cmp -s a.out b.out"
check "getall finds every duplicate" test "$(wc -l < a.out)" -ge 3

printf '\n' | cdb -c theirs-empty.cdb
printf '\n' | "$tool" make ours-empty.cdb
check "identical empty databases" cmp -s theirs-empty.cdb ours-empty.cdb
"$tool" get ours-empty.cdb x > /dev/null
check "empty database: not found" test $? -eq 100

# a bad input leaves the old file in force
cp ours.cdb keep.cdb
printf '+3,5:one->hel\n\n' | "$tool" make ours.cdb 2> /dev/null
check "bad input exits 100" test $? -eq 100
check "old file kept after bad input" cmp -s ours.cdb keep.cdb
check "no temporary file after bad input" test ! -e ours.cdb.tmp

# tcprules files, as tcpserver reads them
echo '127.0.0.1:allow,RELAYCLIENT=""' | tcprules t.cdb t.tmp
check "tcprules made t.cdb" test -s t.cdb
check "tcprules rule for 127.0.0.1" test "$("$tool" get t.cdb 127.0.0.1 | tr '\000' @)" = "+RELAYCLIENT=@"
"$tool" get t.cdb 127.0.0.2 > /dev/null
check "tcprules: other address absent" test $? -eq 100
printf '%s\n' '=mx.example.org:allow,TAG="mx"' '10.1.:allow,RELAYCLIENT=""' '192.168.1.5:deny' ':allow' |
  tcprules r.cdb r.tmp
check "tcprules =host key" test "$("$tool" get r.cdb =mx.example.org | tr '\000' @)" = "+TAG=mx@"
check "tcprules prefix key" test "$("$tool" get r.cdb 10.1. | tr '\000' @)" = "+RELAYCLIENT=@"
check "tcprules deny" test "$("$tool" get r.cdb 192.168.1.5)" = D
check "tcprules default (empty key)" test "$("$tool" get r.cdb '')" = ""
check "tcprules dump agrees with cdb -d" sh -c "'$tool' dump r.cdb > a.out; cdb -d r.cdb > b.out; cmp -s a.out b.out"

cd "$top" || true
finish
