#!/bin/sh
# 56-newu.sh: sluice-newu compiles users/assign into users/cdb
# (sluice-newu(8), sluice-users(5)):
#  - a good file gives the documented keys ("=" or "+" and the
#    lower-cased local part or prefix) and records (six fields, each
#    ended by NUL), mode 0644, nothing left beside it;
#  - each malformed file is refused with "users/assign:LINE: why" and
#    exit 111, and the old users/cdb stays byte for byte;
#  - a missing users/assign: exit 111, old cdb kept.
. "$(dirname "$0")/../lib.sh"
need_root
inst_fresh

CDB=$BIN/tests/cdbtool
A=$H/users/assign
newu() { "$H/bin/sluice-newu" > "$T/out" 2>&1; nrc=$?; }
# get KEY: the record for KEY with each NUL shown as '|'
get() { "$CDB" get "$H/users/cdb" "$1" | tr '\0' '|'; }

cat > "$A" <<'EOF'
=joe:joeuser:1001:1002:/home/joe:::
=Mixed:mixuser:01003:1003:/home/mix:-:x:
+list-:lists:2000:2001:/var/lists:-:l-:
+:catchall:3000:3000:/var/all:-::
.
lines after the final dot are ignored
EOF
newu
check_eq "good file: exit 0" "$nrc" 0
check_eq "good file: quiet" "$(cat "$T/out")" ""
check_eq "exact record" "$(get =joe)" "joeuser|1001|1002|/home/joe|||"
check_eq "key lower-cased, number normalised" "$(get =mixed)" "mixuser|1003|1003|/home/mix|-|x|"
check_eq "prefix record" "$(get +list-)" "lists|2000|2001|/var/lists|-|l-|"
check_eq "empty prefix" "$(get +)" "catchall|3000|3000|/var/all|-||"
check_fail "no key with upper case" "$CDB" get "$H/users/cdb" =Mixed
check_eq "four records" "$("$CDB" dump "$H/users/cdb" | grep -c '^+')" 4
check_eq "mode 0644" "$(stat -c %a "$H/users/cdb")" 644
check_fail "no temporary file left" test -e "$H/users/cdb.tmp"
cp "$H/users/cdb" "$T/cdb.good"

# refused FILE-TEXT LINE WHY: sluice-newu refuses with that line and
# why, exits 111, leaves the old cdb in force.
refused() {
  printf '%s' "$1" > "$A"
  newu
  check_eq "$3: exit 111" "$nrc" 111
  check "$3: message" grep -q "users/assign:$2: $3" "$T/out"
  check "$3: old cdb kept" cmp -s "$H/users/cdb" "$T/cdb.good"
  check_fail "$3: no temporary file left" test -e "$H/users/cdb.tmp"
}
G='=a:u:5:5:/h:::
'
refused "$G$G" 3 "missing the final line"
refused "$G=b:u:x:5:/h:::
.
" 2 "uid is not a number"
refused "$G$G$G=b:u:5:5x:/h:::
.
" 4 "gid is not a number"
refused "=b:u:0:5:/h:::
.
" 1 "uid 0 is not allowed"
refused "$G=b:u:5:5:/h::
.
" 2 "too few fields"
refused "$G=b:u:5:5:/h:::::
.
" 2 "too many fields"
refused "$G=b:u:5:5:/h:::x
.
" 2 "the line does not end with a colon"
refused "=b::5:5:/h:::
.
" 1 "user name is empty"
refused "=b:u:5:5:relative:::
.
" 1 "home is not an absolute path"
refused "$G# comment
.
" 2 "the line does not start with =, + or ."
refused "$G$G
.
" 3 "the line does not start with =, + or ."
long=$(head -c 5000 /dev/zero | tr '\0' h)
refused "$G$G$G$G=b:u:5:5:/$long:::
.
" 5 "line is too long"

rm -f "$A"
newu
check_eq "missing assign: exit 111" "$nrc" 111
check "missing assign: said so" grep -q "users/assign" "$T/out"
check "missing assign: old cdb kept" cmp -s "$H/users/cdb" "$T/cdb.good"
done_testing
