#!/bin/sh
# 78-callers.sh: mail from real callers, relayed byte-correct (issue 13).
#
# A private instance with the real delivery set relays to two SMTP
# sinks on loopback (tests/smtpsink.py, every byte of the data kept),
# routed with control/smtproutes: far78.test offers SIZE, 8BITMIME and
# SMTPUTF8, plain78.test offers no extension at all. Each caller sends
# one message to r-TAG@far78.test and r-TAG@plain78.test:
#   sendmail-crlf, sendmail-lf   sendmail -t, CR LF and LF input
#   php      PHP's mail() (php-cli)
#   mutt     mutt in batch mode
#   s-nail   s-nail (mime-encoding=8bit)
#   mail     GNU mailutils' mail
#   git      git send-email (git-email) with --smtp-server=sendmail
#   msmtp    msmtp over SMTP to sluice-smtpd (tcpserver, relay for
#            127.0.0.1 by tcprules)
#   smtplib  Python's smtplib over SMTP to sluice-smtpd
# The callers of sendmail get a wrapper ($T/sm) that keeps what the
# caller hands sendmail and runs the instance's sendmail with it: the
# reference for the body. A missing caller is installed from Debian
# (apt-get) first.
#
# Every message has a body line starting with a dot and one that is a
# single dot (where the caller leaves them so); some have an 8-bit UTF-8
# line, some lines of 5,000 bytes and of 998 (each also starting with a
# dot) (see the table in the prep step).
# tests/wirecheck.py then checks, per caller and per sink, each a check
# of its own: one transaction; CR LF line ends, no bare CR or LF; no
# line over 998 bytes (a long line broken by CR LF SPACE, as Postfix's
# smtp_line_length_limit does); dot-stuffing; header, empty line, body;
# the body byte for byte as the caller sent it; the MAIL FROM
# parameters (BODY=8BITMIME exactly for 8-bit mail to a sink offering
# 8BITMIME, no SMTPUTF8 for ASCII mail, nothing not offered).
. "$(dirname "$0")/../lib.sh"
need_root
. "$(dirname "$0")/../e2e.sh"
e2e_tools
inst_fresh
for p in tcpserver tcprules ss; do
  command -v $p > /dev/null 2>&1 || { bad "$p is missing (apt-get install ucspi-tcp-ipv6 iproute2)"; done_testing; }
done

DOM=c78.test
SU=call78
SENDER=$SU@$DOM
DUID=$(id -u sluiced) && DGID=$(id -g sluiced) || { bad "daemon user sluiced"; done_testing; }
free_ports 18000 3
SINKA=$P SINKB=$((P + 1)) SMTP=$((P + 2))
: > "$T/pids"

cleanup() {
  kill_set 100
  for p in $(cat "$T/pids" 2> /dev/null); do kill "$p" 2> /dev/null; done
  userdel -r "$SU" > /dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "$DOM" > "$H/control/me"
echo "$DOM" > "$H/control/locals"
echo "$DOM" > "$H/control/rcpthosts"
printf 'far78.test:127.0.0.1:%s\nplain78.test:127.0.0.1:%s\n' "$SINKA" "$SINKB" > "$H/control/smtproutes"
echo 5 > "$H/control/timeoutconnect"
echo 30 > "$H/control/timeoutremote"
mkuser "$SU"
SHOME=$(home_of "$SU")

# --- the sinks, sluice-smtpd, the delivery set ---
mkdir "$T/a" "$T/b"
python3 tests/smtpsink.py --port "$SINKA" --dir "$T/a" --ready "$T/a.ready" \
  --pipelining --size 100000000 --8bitmime --smtputf8 2> "$T/a.err" &
echo $! >> "$T/pids"
python3 tests/smtpsink.py --port "$SINKB" --dir "$T/b" --ready "$T/b.ready" 2> "$T/b.err" &
echo $! >> "$T/pids"
printf '127.0.0.1:allow,RELAYCLIENT=""\n:deny\n' > "$T/rules"
tcprules "$T/rules.cdb" "$T/rules.tmp" < "$T/rules" || bad "tcprules"
tcpserver -q -H -R -l "$DOM" -u "$DUID" -g "$DGID" -x "$T/rules.cdb" 127.0.0.1 "$SMTP" "$H/bin/sluice-smtpd" \
  2> "$T/smtpd.log" &
echo $! >> "$T/pids"
start_set
check "sluice-start running" kill -0 "$spid"

# --- the callers' inputs ---
# features of each caller's message (tests/wirecheck.py): dots always;
# utf8 or ascii; long where the caller passes a long line on as it is
# (mutt and s-nail turn one into quoted-printable, git send-email
# refuses one)
cat > "$T/features" <<'EOF'
sendmail-crlf dots,utf8,long
sendmail-lf dots,ascii,long
php dots,utf8,long
mutt dots,utf8
s-nail dots,utf8
mail dots,ascii,long
git dots,utf8
msmtp dots,ascii,long
smtplib dots,utf8,long
EOF
mkdir "$T/in"
chown "$SU" "$T/in"
cat > "$T/prep.py" <<'EOF'
import email.utils, sys
d, sender = sys.argv[1], sys.argv[2]
LONG = b"long:" + (b"0123456789" * 500)[:4995]
UTF8 = "utf8: gr\u00fc\u00dfe, na\u00efve caf\u00e9, \u65e5\u672c\u8a9e, \u2603".encode()

def body(tag, feat):
    l = [b"first line of " + tag.encode(), b".dot line", b"..two dots", b".", b""]
    if "utf8" in feat:
        l.append(UTF8)
    if "long" in feat:
        # 5,000 bytes; 998 (not broken, nor when starting with a dot:
        # the stuffed dot does not count, RFC 5321 4.5.3.1.6); 5,000
        # starting with a dot
        l += [LONG, b".after the long line", b"x" * 998, b"." + b"y" * 997, b"." + LONG[1:], b"after"]
    return l + [b"last line"]

def head(tag, feat):
    cs = b"utf-8" if "utf8" in feat else b"us-ascii"
    # an SMTP client submits a complete message; sendmail and msmtp add
    # what is missing themselves
    whole = [b"Date: " + email.utils.formatdate().encode(),
             b"Message-ID: <" + tag.encode() + b"@c78.test>"] if tag == "smtplib" else []
    return whole + [b"From: <" + sender.encode() + b">",
            b"To: <r-" + tag.encode() + b"@far78.test>, <r-" + tag.encode() + b"@plain78.test>",
            b"Subject: c78 " + tag.encode(), b"MIME-Version: 1.0",
            b"Content-Type: text/plain; charset=" + cs,
            b"Content-Transfer-Encoding: " + (b"8bit" if "utf8" in feat else b"7bit"), b""]

def put(name, b):
    open(d + "/" + name, "wb").write(b)

for line in open(d + "/features"):
    tag, feat = line.split()
    feat = feat.split(",")
    b = body(tag, feat)
    for name, eol in (("sendmail-crlf", b"\r\n"), ("sendmail-lf", b"\n"), ("msmtp", b"\n"), ("smtplib", b"\r\n")):
        if tag == name:
            put("in/" + tag, eol.join(head(tag, feat) + b) + eol)
    if tag in ("mutt", "s-nail", "mail"):
        put(tag + ".body", b"\n".join(b) + b"\n")
    if tag == "php":
        put("php.body", b"\r\n".join(b))
    if tag == "git":
        put("git.msg", b"\n".join([b"c78 git", b""] + b) + b"\n")
        put("git.file", UTF8 + b"\n.a dot line in the file\n")
EOF
python3 "$T/prep.py" "$T" "$SENDER" || bad "prep"
chmod 644 "$T"/in/* "$T"/*.body "$T"/git.* 2> /dev/null

# $T/sm: a sendmail for the callers that keeps what they hand it
cat > "$T/sm" <<EOF
#!/bin/sh
cat > "$T/in/\$C78_TAG" || exit 75
printf '%s\n' "\$*" > "$T/in/\$C78_TAG.args"
exec "$H/bin/sendmail" "\$@" < "$T/in/\$C78_TAG"
EOF
chmod 755 "$T/sm"

# have PACKAGE CMD...: CMD succeeds, after installing PACKAGE from
# Debian when it did not
have() {
  pkg=$1; shift
  "$@" > /dev/null 2>&1 && return 0
  echo "# installing $pkg" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" < /dev/null > "$T/apt.log" 2>&1 \
    || { apt-get update -qq < /dev/null > /dev/null 2>&1 \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" < /dev/null \
              > "$T/apt.log" 2>&1; }
  "$@" > /dev/null 2>&1 && return 0
  bad "$pkg installed" "$(tail -n 2 "$T/apt.log")"
  return 1
}
# caller TAG CMD...: CMD as the user, with C78_TAG=TAG for $T/sm; one
# check that it exits 0 and says nothing on stderr; TAG in $T/ran, and
# in $T/sent when it exited 0
: > "$T/ran"
: > "$T/sent"
caller() {
  tag=$1; shift
  (cd / && as "$SU" env HOME="$SHOME" C78_TAG="$tag" GIT_CONFIG_NOSYSTEM=1 "$@") > "$T/$tag.out" 2> "$T/$tag.err"
  rc=$?
  check_eq "$tag: the caller exits 0, stderr empty" "$rc:$(head -c 300 "$T/$tag.err")" "0:"
  echo "$tag" >> "$T/ran"
  [ $rc -eq 0 ] && echo "$tag" >> "$T/sent"
}
rcpts() { echo "r-$1@far78.test r-$1@plain78.test"; }

# --- the callers ---
check "sink ready (8BITMIME)" wait_for 10 test -f "$T/a.ready"
check "sink ready (no extension)" wait_for 10 test -f "$T/b.ready"

# sendmail -t, CR LF and LF input
for tag in sendmail-crlf sendmail-lf; do
  caller $tag "$H/bin/sendmail" -t < "$T/in/$tag"
done

# PHP's mail(): CR LF line ends, its own sendmail_path with -t -i
if have php-cli command -v php; then
  cat > "$T/mail.php" <<'EOF'
<?php
$body = file_get_contents($argv[1]);
$ok = mail("<r-php@far78.test>, <r-php@plain78.test>", "c78 php", $body,
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit");
exit($ok ? 0 : 1);
EOF
  caller php php -n -d "sendmail_path=$T/sm -t -i" "$T/mail.php" "$T/php.body"
fi

# mutt in batch mode with Debian's default sendmail flags
if have mutt command -v mutt; then
  mkdir "$T/mutt.tmp" && chown "$SU" "$T/mutt.tmp"
  cat > "$T/muttrc" <<EOF
set sendmail="$T/sm -oem -oi"
set from="$SENDER"
set use_from=yes
set use_envelope_from=yes
set charset="utf-8"
set send_charset="us-ascii:utf-8"
set hostname="$DOM"
set tmpdir="$T/mutt.tmp"
unset record
EOF
  caller mutt mutt -n -F "$T/muttrc" -s "c78 mutt" $(rcpts mutt) < "$T/mutt.body"
fi

# s-nail, no resource files, 8-bit body
if have s-nail command -v s-nail; then
  caller s-nail s-nail -:/ -Sv15-compat -Smta="$T/sm" -Sfrom="$SENDER" -Shostname="$DOM" -Sttycharset=utf-8 \
    -Ssendcharsets=utf-8 -Smime-encoding=8bit -s "c78 s-nail" $(rcpts s-nail) < "$T/s-nail.body"
fi

# GNU mailutils' mail
if have mailutils command -v mail.mailutils; then
  caller mail mail.mailutils --no-site-config --no-user-config -E "set sendmail=sendmail://$T/sm" -r "$SENDER" \
    -s "c78 mail" $(rcpts mail) < "$T/mail.body"
fi

# git send-email: one commit whose message has the dot lines, sent with
# the sendmail wrapper as its --smtp-server
if have git command -v git && have git-email sh -c 'test -x "$(git --exec-path)/git-send-email"'; then
  mkdir "$T/git" && chown "$SU" "$T/git"
  gitc() { (cd "$T/git" && as "$SU" env HOME="$SHOME" GIT_CONFIG_NOSYSTEM=1 git -c user.name=Caller -c "user.email=$SENDER" "$@"); }
  { gitc init -q . && gitc commit -q --allow-empty -m base && cp "$T/git.file" "$T/git/f" && chown "$SU" "$T/git/f" \
      && gitc add f && gitc commit -q --cleanup=verbatim -F "$T/git.msg"; } > "$T/git.setup" 2>&1
  check_eq "git: the repository made" "$?:$(head -c 300 "$T/git.setup")" "0:"
  caller git sh -c 'cd "$1" && shift && exec "$@"' sh "$T/git" git -c user.name=Caller -c "user.email=$SENDER" \
    send-email --quiet --confirm=never --suppress-cc=all --8bit-encoding=UTF-8 --smtp-server="$T/sm" \
    --from="$SENDER" --to=r-git@far78.test --to=r-git@plain78.test -1
fi

# msmtp over SMTP to sluice-smtpd
check "sluice-smtpd listening" wait_for 10 sh -c "ss -Hltn | grep -q ':$SMTP '"
if have msmtp command -v msmtp; then
  cat > "$T/msmtprc" <<EOF
account default
host 127.0.0.1
port $SMTP
auth off
tls off
from $SENDER
domain client.$DOM
EOF
  chown "$SU" "$T/msmtprc" && chmod 600 "$T/msmtprc"
  caller msmtp msmtp -C "$T/msmtprc" $(rcpts msmtp) < "$T/in/msmtp"
fi

# Python's smtplib over SMTP to sluice-smtpd (BODY=8BITMIME for 8 bits)
cat > "$T/smtp-client.py" <<'EOF'
import smtplib, sys
port, path, sender, *rcpts = sys.argv[1:]
msg = open(path, "rb").read()
opts = ["BODY=8BITMIME"] if any(c >= 0x80 for c in msg) else []
with smtplib.SMTP("127.0.0.1", int(port), local_hostname="client.c78.test", timeout=30) as s:
    s.sendmail(sender, rcpts, msg, mail_options=opts)
EOF
caller smtplib python3 "$T/smtp-client.py" "$SMTP" "$T/in/smtplib" "$SENDER" $(rcpts smtplib)

# --- what arrived ---
n=$(wc -l < "$T/sent" | tr -d ' ')
arrived() {
  [ "$(ls "$T/a" | grep -c '\.data$')" -ge "$n" ] && [ "$(ls "$T/b" | grep -c '\.data$')" -ge "$n" ] && queue_empty
}
check "every message relayed to both sinks" wait_for 90 arrived
set --
for tag in $(cat "$T/ran"); do
  set -- "$@" "$tag=$(sed -n "s/^$tag //p" "$T/features")=$T/in/$tag"
done
python3 tests/wirecheck.py --sink 8bitmime="$T/a"=SIZE,8BITMIME,SMTPUTF8 --sink plain="$T/b"= "$@" > "$T/results" \
  2> "$T/wirecheck.err"
check_eq "wirecheck ran" "$?:$(head -c 300 "$T/wirecheck.err")" "0:"
while read -r tag sink name why; do
  case $sink in -) where='' ;; *) where=" (to the $sink sink)" ;; esac
  check_eq "$tag$where: $name" "$why" ok
done < "$T/results"
check_eq "one transaction per message at each sink" \
  "$(ls "$T/a" | grep -c '\.data$') $(ls "$T/b" | grep -c '\.data$')" "$n $n"
check_eq "no bounce" "$(ls "$SHOME/Maildir/new" | wc -l | tr -d ' ')" 0
end_checks local remote info mess todo
done_testing
