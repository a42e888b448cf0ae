#!/bin/bash
# Guards the shipped logrotate file (etc/logrotate.d/passthrough, its paths pointed at this test's): `logrotate -f` on a passthrough serving TLS connections moves access.log and error.log, creates the new files 0640 root:adm, and its postrotate (-s reopen) makes master and workers write to them: every connection has exactly one access line and one close line across old and new file, nothing is written to the old files after the reopen; with no passthrough running the rotation succeeds quietly, and a -s that fails otherwise fails it.
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"
command -v logrotate >/dev/null || [ -x /usr/sbin/logrotate ] ||
    die "logrotate is missing: run tools/deps.sh test"
LOGROTATE=$(command -v logrotate || echo /usr/sbin/logrotate)

sink_start E --echo
LOGS=$T/log
mkdir -m 755 "$LOGS"
ACCESS=$LOGS/access.log
ERRORS=$LOGS/error.log
PIDF=$T/passthrough.pid
P=$(free_port)
cat >"$T/proxy.conf" <<EOF
workers = 2;
pid_file = "$PIDF";
listen = [ "127.0.0.1:$P" ];
log = { level = "debug"; error = "$ERRORS"; access = "$ACCESS"; };
routes = ( { sni = "*"; backends = [ "127.0.0.1:${SINK_PORT[E]}" ]; } );
EOF
pt_conf_events "$T/proxy.conf"
# stderr (start-up, sanitizer reports) apart from the rotated files: the
# checks at exit read it.
PROXY_LOG=$T/stderr.log
PROXY_WORKERS=2
PROXY_PORT=$P
spawn "$PT" -f -c "$T/proxy.conf" 2>>"$PROXY_LOG"
PROXY_PID=$BG_PID
started() { [ "$(grep -c 'info: started:' "$ERRORS" 2>/dev/null)" -ge 2 ] && port_listening "$P"; }
WAIT_S=10 wait_until started || { cat "$PROXY_LOG" "$ERRORS"; die "the proxy did not start"; }

# The shipped file with this test's paths: its logs, the built binary and
# this configuration in place of the installed ones.
sed -e "s|/var/log/passthrough/|$LOGS/|" -e "s|@SBINDIR@|$BUILD|g" \
    -e "s|@SYSCONFDIR@/passthrough/passthrough.conf|$T/proxy.conf|g" \
    etc/logrotate.d/passthrough >"$T/logrotate.conf"
check_match "the logrotate file rotates the logs (paths put in)" "^$LOGS/\\*\\.log \\{" \
    "$(cat "$T/logrotate.conf")"
check_match "the logrotate file reopens (paths put in)" \
    "$BUILD/passthrough -s reopen -c $T/proxy.conf" "$(cat "$T/logrotate.conf")"
rotate() { "$LOGROTATE" -f -s "$T/logrotate.state" "$T/logrotate.conf" 2>&1; }

lines() { if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }
loop_start load --connect "127.0.0.1:$P" --hello rotate.example.com --concurrency 8 \
    --interval-ms 2 --send-bytes 64 --echo --timeout-ms 10000
WAIT_S=10 wait_until has_lines "$ACCESS" 200 || fail "no access lines before the rotation"

echo "--- logrotate -f under traffic"
out=$(rotate)
check_eq "logrotate: exit status and output" "0 " "$? $out"
check_eq "access.log moved to access.log.1 (delaycompress)" yes \
    "$([ -s "$ACCESS.1" ] && echo yes || echo no)"
check_eq "error.log moved to error.log.1" yes "$([ -s "$ERRORS.1" ] && echo yes || echo no)"
check_eq "new access.log: mode, owner, group (create)" "640 root adm" \
    "$(stat -c '%a %U %G' "$ACCESS" 2>&1)"
check_eq "new error.log: mode, owner, group (create)" "640 root adm" \
    "$(stat -c '%a %U %G' "$ERRORS" 2>&1)"
# Each worker logs its connections' closes: once both write to the new
# error.log they switched both files (one reopen hands over both).
both_switched() { grep -q 'worker 0: debug: .*closed: ' "$ERRORS" && grep -q 'worker 1: debug: .*closed: ' "$ERRORS"; }
WAIT_S=5 wait_until both_switched || fail "the workers do not write to the new error.log"
sleep 0.3
old_access=$(lines "$ACCESS.1")
old_errors=$(lines "$ERRORS.1")
new_access=$(lines "$ACCESS")
WAIT_S=10 wait_until has_lines "$ACCESS" $((new_access + 500)) ||
    fail "the new access.log does not grow: $(lines "$ACCESS") lines"
loop_stop load
check_loop_clean "connections during the rotation" 500
PROXY_LOG=$ERRORS proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"

echo "     access lines: $old_access in access.log.1, $(lines "$ACCESS") in access.log"
check_eq "access.log.1: no line written after the reopen" "$old_access" "$(lines "$ACCESS.1")"
check_eq "error.log.1: no line written after the reopen" "$old_errors" "$(lines "$ERRORS.1")"
check_match "the master writes to the new error.log" "master: info: stopped" "$(cat "$ERRORS")"
accepted=$(PROXY_LOG=$ERRORS proxy_counter accepted)
check_eq "connections = connections ptloop made" "$(field total "$LOOP_SUMMARY")" "$accepted"
check_eq "access lines across access.log.1 and access.log (one per connection)" "$accepted" \
    "$(cat "$ACCESS.1" "$ACCESS" | grep -c ' sni=rotate.example.com ')"
check_eq "close lines across error.log.1 and error.log (one per connection)" "$accepted" \
    "$(cat "$ERRORS.1" "$ERRORS" | grep -c 'debug: .*closed: ')"
check_no_match "no access line dropped" "lines were dropped|lines dropped" "$(cat "$ERRORS.1" "$ERRORS")"
PROXY_LOG=$ERRORS.1 check_log_faults "error.log.1"
PROXY_LOG=$ERRORS check_log_faults "error.log"

echo "--- logrotate -f with no passthrough running"
check_eq "the pid file is gone" no "$([ -e "$PIDF" ] && echo yes || echo no)"
out=$(rotate)
check_eq "no passthrough: logrotate exit status and output" "0 " "$? $out"
check_eq "no passthrough: rotated all the same (compressed the second time)" yes \
    "$([ -s "$ACCESS.2.gz" ] && [ -s "$ACCESS.1" ] && echo yes || echo no)"

echo "--- logrotate -f when -s reopen fails (the pid file cannot be read)"
echo "a line" >"$ACCESS"
mkdir "$PIDF"
out=$(rotate)
rc=$?
echo "     logrotate said: $out"
check_range "failed -s reopen: logrotate exit status" 1 255 "$rc"
check_match "failed -s reopen: logrotate says why" "$PIDF" "$out"
finish
