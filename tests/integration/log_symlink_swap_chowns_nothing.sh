#!/bin/bash
# Guards the log-symlink attack: with the log directory writable by the worker user (nobody), access.log replaced by a symlink to a root-owned 0600 file and SIGUSR1 sent, the target keeps its owner, mode and content, the master says why it refused the path, and the workers keep logging to the file they had.
. "$(dirname "$0")/lib.sh"

nginx_start a
chmod 755 "$T"
LOGS=$T/logs
mkdir "$LOGS"
chown nobody "$LOGS"
chmod 755 "$LOGS"
ACCESS=$LOGS/access.log
SECRET=$T/secret
printf 'root only\n' >"$SECRET"
chown root:root "$SECRET"
chmod 600 "$SECRET"

PROXY_LOG_EXTRA="access = \"$ACCESS\";" proxy_start -w 2 "user = \"nobody\";
routes = ( { sni = \"a.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[a]}\" ]; } );"
P=$PROXY_PORT

access_lines() { grep -c ' sni=a.example.com ' "$1" 2>/dev/null || echo 0; }
has_lines() { [ "$(access_lines "$1")" -ge "$2" ]; }

check_eq "curl a.example.com" backend-a "$(curl_get a.example.com "$P" whoami 2>&1)"
WAIT_S=10 wait_until has_lines "$ACCESS" 1 || fail "no access log line before the swap"

echo "--- the worker user swaps access.log for a symlink to a root-only file, then SIGUSR1"
mv "$ACCESS" "$LOGS/kept.log"
setpriv --reuid=nobody --regid=nogroup --clear-groups ln -s "$SECRET" "$ACCESS" ||
    die "nobody could not make the symlink"
kill -USR1 "$PROXY_PID"
refused() { grep -q "log.access: cannot open $ACCESS: it is a symbolic link" "$PROXY_LOG"; }
WAIT_S=5 wait_until refused || fail "the master did not say it refused the symlink"
sleep 0.3
check_eq "curl a.example.com after the swap" backend-a "$(curl_get a.example.com "$P" whoami 2>&1)"
check_eq "curl a.example.com again" backend-a "$(curl_get a.example.com "$P" whoami 2>&1)"
WAIT_S=10 wait_until has_lines "$LOGS/kept.log" 3 ||
    fail "the workers did not keep logging to the file they had ($(access_lines "$LOGS/kept.log") lines)"
check_eq "the target's owner and mode" "root:root 600" "$(stat -c '%U:%G %a' "$SECRET")"
check_eq "the target's content" "root only" "$(cat "$SECRET")"

echo "--- the same with log.error: a reload that names a symlink is refused too"
ERR=$LOGS/error.log
setpriv --reuid=nobody --regid=nogroup --clear-groups ln -s "$SECRET" "$ERR" ||
    die "nobody could not make the second symlink"
sed -i "s|log = {|log = { error = \"$ERR\";|" "$PROXY_CONF"
kill -HUP "$PROXY_PID"
err_refused() { grep -q "log.error: cannot open $ERR: it is a symbolic link" "$PROXY_LOG"; }
WAIT_S=5 wait_until err_refused || fail "the master did not refuse log.error through a symlink"
sleep 0.3
check_eq "the target's owner and mode after the reload" "root:root 600" "$(stat -c '%U:%G %a' "$SECRET")"
check_eq "the target's content after the reload" "root only" "$(cat "$SECRET")"

proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_log_faults "log symlink"
finish
