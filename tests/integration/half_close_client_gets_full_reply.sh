#!/bin/bash
# Guards half-close: after one side shuts down its writes, the other direction keeps flowing to the last byte (client first, and the mirror, backend first), with every relay ("kernel" too where the build has it); on both engines, io_uring and epoll, in every pass.
. "$(dirname "$0")/lib.sh"
run_per_engine

MIB=1048576
# Client first: the sink reads to EOF, then answers 1 MiB and closes.
sink_start reply --reply-after-eof "$MIB"
# Backend first: the sink sends 1 MiB, shuts down its writes, reads to EOF;
# 200 ms after the hello, so that relay "kernel" has its sockets before the
# backend's FIN (a socket past ESTABLISHED cannot join the map: that
# connection is copied, correctly, but it is not the path under test, and a
# slow, sanitized worker was sometimes not there first).
sink_start first --send-then-shutdown "$MIB" --send-after-ms 200
pattern=$("$PTCLIENT" --pattern "$MIB" | sha256sum | cut -d' ' -f1)

for relay in $RELAYS; do
	echo "--- relay = $relay"
	: >"$SINK_LOG"
	proxy_start "tuning = { relay = \"$relay\"; };
routes = (
  { sni = \"reply.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[reply]}\" ]; },
  { sni = \"first.example.com\"; backends = [ \"127.0.0.1:${SINK_PORT[first]}\" ]; }
);"

	# The client sends its hello and 64 KiB, shuts down its writes, and
	# must still receive the whole 1 MiB reply, then EOF.
	got=$("$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello reply.example.com \
	    --then-bytes 65536 --shutdown --read --timeout-ms 10000 2>"$T/c.err" |
	    sha256sum | cut -d' ' -f1)
	check_match "client half-closed first: read to EOF" "^result=eof received=$MIB " "$(cat "$T/c.err")"
	check_eq "client half-closed first: the reply is the 1 MiB pattern" "$pattern" "$got"
	sink_wait reply close 1
	check_eq "client half-closed first: the backend got the 64 KiB" "65536" "$(sink_field reply close post)"
	check_eq "client half-closed first: ... intact" "ok" "$(sink_field reply close post_pattern)"
	check_eq "client half-closed first: the backend sent 1 MiB" "$MIB" "$(sink_field reply close out)"

	# Mirror: the backend sends 1 MiB and half-closes; the client reads to
	# EOF, then sends 1 MiB, which must all reach the backend.
	got=$("$PTCLIENT" --connect "127.0.0.1:$PROXY_PORT" --hello first.example.com \
	    --read --after-eof-bytes "$MIB" --timeout-ms 10000 2>"$T/c.err" |
	    sha256sum | cut -d' ' -f1)
	check_match "backend half-closed first: client read to EOF" "^result=eof received=$MIB " "$(cat "$T/c.err")"
	check_eq "backend half-closed first: the client got the 1 MiB pattern" "$pattern" "$got"
	sink_wait first close 1
	check_eq "backend half-closed first: the backend then got the client's 1 MiB" "$MIB" "$(sink_field first close post)"
	check_eq "backend half-closed first: ... intact" "ok" "$(sink_field first close post_pattern)"

	proxy_wait_closes 2
	check_relay_used "$relay"
	proxy_stop
	check_eq "proxy exit status" 0 "$PROXY_RC"
	check_counters "normal=2"
done
finish
