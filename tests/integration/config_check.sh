#!/bin/bash
# Guards configuration checking: passthrough -t accepts the shipped example, reports every fault of a bad file as FILE:LINE: SETTING: MESSAGE (FILE as given) with exit 1, and the proxy refuses to start on a bad file.
. "$(dirname "$0")/lib.sh"

# The shipped example is valid.
out=$("$PT" -t -c etc/passthrough.conf 2>&1)
rc=$?
check_eq "passthrough -t etc/passthrough.conf: exit status" 0 "$rc"
check_eq "passthrough -t etc/passthrough.conf: output" "configuration OK" "$out"

# A file with one fault per line (and two on line 9): each is reported, in file order.
bad=$T/bad.conf
cat >"$bad" <<'EOF'
workers = "two";
listen = [ "127.0.0.1" ];
timeouts = { hello_ms = 0; };
routes = (
  { sni = "app.example.com"; backends = [ "127.0.0.1" ]; },
  { sni = "APP.example.com."; backends = [ "127.0.0.1:9" ]; }
);
wrokers = 3;
tuning = { relay = "copy"; pipe_size = 3; };
EOF
"$PT" -t -c "$bad" >"$T/out" 2>"$T/err"
rc=$?
err=$(cat "$T/err")
check_eq "bad file: exit status" 1 "$rc"
check_eq "bad file: nothing on stdout" "" "$(cat "$T/out")"
check_match "bad file: line 1, workers" "^$bad:1: workers: .*integer" "$err"
check_match "bad file: line 2, listen[0] without a port" "^$bad:2: listen\\[0\\]: .*127\\.0\\.0\\.1.*port" "$err"
check_match "bad file: line 3, timeouts.hello_ms out of range" "^$bad:3: timeouts\\.hello_ms: .*range" "$err"
check_match "bad file: line 5, routes[0].backends[0] without a port" "^$bad:5: routes\\[0\\]\\.backends\\[0\\]: .*port" "$err"
check_match "bad file: line 6, a duplicate route (case, trailing dot)" "^$bad:6: routes\\[1\\]\\.sni: .*duplicates routes\\[0\\]" "$err"
check_match "bad file: line 8, an unknown setting" "^$bad:8: .*wrokers" "$err"
check_match "bad file: line 9, tuning.relay" "^$bad:9: tuning\\.relay: .*copy" "$err"
check_match "bad file: line 9, unknown tuning setting" "^$bad:9: tuning: .*pipe_size" "$err"
check_eq "bad file: one line per fault" 8 "$(grep -c . <<<"$err")"
check_eq "bad file: faults in file order" "1 2 3 5 6 8 9 9" \
    "$(sed -E "s|^$bad:([0-9]+):.*|\\1|" <<<"$err" | tr '\n' ' ' | sed 's/ $//')"
# A relative path is named as given, as an editor would want it.
err=$(cd "$T" && "$PT" -t -c bad.conf 2>&1)
check_match "bad file by a relative path: named as given" "^bad\.conf:1: workers: " "$err"

# A syntax error names its line.
cat >"$T/syntax.conf" <<'EOF'
listen = [ "127.0.0.1:1" ];
routes = (
  { sni = "*"; backends = [ "127.0.0.1:2" ; },
);
EOF
err=$("$PT" -t -c "$T/syntax.conf" 2>&1)
rc=$?
check_eq "syntax error: exit status" 1 "$rc"
check_match "syntax error: FILE:LINE: syntax error" "^$T/syntax\\.conf:3: .*syntax error" "$err"

err=$("$PT" -t -c "$T/missing.conf" 2>&1)
rc=$?
check_eq "missing file: exit status" 1 "$rc"
check_match "missing file: cannot open" "^$T/missing\\.conf: .*No such file or directory" "$err"

# The proxy refuses to start on a bad file: exit 1, the fault on stderr, no listener.
port=$(free_port)
cat >"$T/badroute.conf" <<EOF
listen = [ "127.0.0.1:$port" ];
routes = ( { sni = "*"; backends = [ "127.0.0.1" ]; } );
EOF
proxy_exit_status "$T/badroute.conf" "$T/run.err"
check_eq "proxy on a bad file: exit status" 1 "$PROXY_RC"
check_match "proxy on a bad file: reports the fault" "^$T/badroute\\.conf:2: routes\\[0\\]\\.backends\\[0\\]: " "$(cat "$T/run.err")"
check_eq "proxy on a bad file: listens on nothing" "" "$(ss -Htln "( sport = :$port )")"

# A good generated file passes too, and the proxy starts on it.
cat >"$T/good.conf" <<EOF
listen = [ "127.0.0.1:$port" ];
routes = ( { sni = "*"; backends = [ "127.0.0.1:9" ]; } );
EOF
check_eq "minimal good file" "configuration OK" "$("$PT" -t -c "$T/good.conf" 2>&1)"
finish
