#!/bin/bash
# Guards the checking of the PROXY protocol and address rule settings: accept_proxy without trusted (or with an empty one), trusted without accept_proxy, CIDRs with bits past the prefix, a prefix past the address, a host name, send_proxy other than "v1"/"v2", allow as a string, each reported as FILE:LINE: SETTING: MESSAGE by passthrough -t; the proxy refuses to start on such a file, and a running proxy keeps serving when reloaded with one.
. "$(dirname "$0")/lib.sh"

bad=$T/bad.conf
cat >"$bad" <<'CONF'
listen = ( "127.0.0.1:10001",
  { address = "127.0.0.1:10002"; accept_proxy = true; },
  { address = "127.0.0.1:10003"; accept_proxy = true; trusted = [ ]; },
  { address = "127.0.0.1:10004"; trusted = [ "10.0.0.0/8" ]; },
  { address = "127.0.0.1:10005"; allow = [ "10.0.0.1/8" ]; },
  { address = "127.0.0.1:10006"; deny = [ "10.0.0.0/33" ]; }
);
allow = [ "proxy.example.com" ];
deny = [ "2001:db8::/129" ];
routes = (
  { sni = "a.example.com"; backends = [ "127.0.0.1:9" ]; send_proxy = "v3"; },
  { sni = "b.example.com"; backends = [ "127.0.0.1:9" ]; allow = "10.0.0.0/8"; },
  { sni = "c.example.com"; backends = [ "127.0.0.1:9" ]; send_proxy = 2; }
);
CONF
"$PT" -t -c "$bad" >"$T/out" 2>"$T/err"
rc=$?
err=$(cat "$T/err")
echo "     passthrough -t:"
sed 's/^/       | /' <<<"$err"
check_eq "bad file: exit status" 1 "$rc"
check_match "line 2: accept_proxy without trusted" "^$bad:2: listen\\[1\\]\\.(accept_proxy|trusted): .*trusted" "$err"
check_match "line 3: accept_proxy with an empty trusted" "^$bad:3: listen\\[2\\]\\.(accept_proxy|trusted): .*(empty|trusted)" "$err"
check_match "line 4: trusted without accept_proxy" "^$bad:4: listen\\[3\\]\\.(accept_proxy|trusted)(\\[0\\])?: .*accept_proxy" "$err"
check_match "line 5: bits set past the prefix" "^$bad:5: listen\\[4\\]\\.allow\\[0\\]: .*10\\.0\\.0\\.1/8" "$err"
check_match "line 6: a prefix past 32 bits" "^$bad:6: listen\\[5\\]\\.deny\\[0\\]: .*10\\.0\\.0\\.0/33" "$err"
check_match "line 8: a host name" "^$bad:8: allow\\[0\\]: .*proxy\\.example\\.com" "$err"
check_match "line 9: a prefix past 128 bits" "^$bad:9: deny\\[0\\]: .*2001:db8::/129" "$err"
check_match "line 11: send_proxy \"v3\"" "^$bad:11: routes\\[0\\]\\.send_proxy: .*v3" "$err"
check_match "line 12: allow as a string" "^$bad:12: routes\\[1\\]\\.allow: " "$err"
check_match "line 13: send_proxy as a number" "^$bad:13: routes\\[2\\]\\.send_proxy: " "$err"
check_eq "bad file: one line per fault" 10 "$(grep -c . <<<"$err")"

# The same forms, valid, pass: both listen forms, every rule scope, both versions.
good=$T/good.conf
cat >"$good" <<'CONF'
listen = ( "127.0.0.1:10001", "[::1]:10001",
  { address = "127.0.0.1:10002"; accept_proxy = true; trusted = [ "10.0.0.0/8", "::1/128" ];
    allow = [ "192.0.2.0/24", "2001:db8::/32" ]; deny = [ "192.0.2.66/32", "2001:db8::1" ]; }
);
allow = [ "127.0.0.0/8", "::1" ];
deny = [ "127.0.0.2/32" ];
routes = (
  { sni = "a.example.com"; backends = [ "127.0.0.1:9" ]; send_proxy = "v1"; },
  { sni = "b.example.com"; backends = [ "127.0.0.1:9" ]; send_proxy = "v2"; deny = [ "10.1.0.0/16" ]; }
);
CONF
out=$("$PT" -t -c "$good" 2>&1)
check_eq "the valid forms: passthrough -t" "configuration OK" "$out"

# The proxy refuses to start on the bad file.
proxy_exit_status "$bad" "$T/run.err"
check_eq "proxy on the bad file: exit status" 1 "$PROXY_RC"
check_match "proxy on the bad file: reports the faults" "^$bad:2: " "$(cat "$T/run.err")"

# A running proxy reloaded with such a file keeps serving its routes.
nginx_start a
proxy_start "routes = ( { sni = \"who.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[a]}\" ]; } );"
P=$PROXY_PORT
check_eq "before the reload: served" backend-a "$(curl_get who.example.com "$P" whoami 2>&1)"
{
	printf 'workers = 1;\nlisten = ( "127.0.0.1:%s", { address = "127.0.0.1:%s"; accept_proxy = true; } );\n' \
	    "$P" "$(free_port)"
	printf 'log = { level = "debug"; };\nallow = [ "10.0.0.1/8" ];\n'
	printf 'routes = ( { sni = "who.example.com"; backends = [ "127.0.0.1:%s" ]; send_proxy = "v3"; } );\n' \
	    "${NGINX_PORT[a]}"
} >"$PROXY_CONF.tmp" && pt_conf_events "$PROXY_CONF.tmp" && mv -f "$PROXY_CONF.tmp" "$PROXY_CONF"
kill -HUP "$PROXY_PID"
failed() { grep -q 'master: error: reload failed: ' "$PROXY_LOG"; }
WAIT_S=10 wait_until failed || fail "reload with bad rules: no 'reload failed' line"
check_match "reload: the log names each fault" "master: error: $PROXY_CONF:2: listen\\[1\\]" "$(cat "$PROXY_LOG")"
check_match "reload: ... the bad CIDR" "master: error: $PROXY_CONF:4: allow\\[0\\]" "$(cat "$PROXY_LOG")"
check_match "reload: ... send_proxy" "master: error: $PROXY_CONF:5: routes\\[0\\]\\.send_proxy" "$(cat "$PROXY_LOG")"
check_eq "reload: no 'reloaded' line" 0 "$(proxy_reloads)"
for i in 1 2 3; do
	check_eq "after the failed reload, request $i: served" backend-a "$(curl_get who.example.com "$P" whoami 2>&1)"
done
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
