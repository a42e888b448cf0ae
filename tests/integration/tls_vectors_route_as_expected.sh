#!/bin/bash
# Guards the outcome of every ClientHello vector in tests/vectors (see its README): good hellos reach the right backend byte-exact, truncated ones time out, SSL 2/3 ones are refused, none of those reaching a backend.
. "$(dirname "$0")/lib.sh"

HELLO_MS=1000
sink_start lh
sink_start def
proxy_start "timeouts = { hello_ms = $HELLO_MS; };
routes = (
  { sni = \"localhost\"; backends = [ \"127.0.0.1:${SINK_PORT[lh]}\" ]; },
  { sni = \"*\";         backends = [ \"127.0.0.1:${SINK_PORT[def]}\" ]; }
);"
P=$PROXY_PORT

# The expected outcome of a vector, from tests/vectors/README.md.
expect() {
	case $1 in
	sniproxy-good_data_[1-5] | sniproxy-bad_data_4) echo lh ;;
	sniproxy-bad_data_1) echo def ;;	# SNI "lodalhost"
	sniproxy-bad_data_2 | sniproxy-bad_data_3) echo timeout ;;
	sniproxy-ssl30_request) echo malformed ;;
	sniproxy-ssl20_client_hello) echo not_tls ;;
	openssl-*) echo def ;;			# real hellos, none for "localhost"
	*) echo unknown ;;
	esac
}

normal=0 timeouts=0 malformed=0 not_tls=0 others=0
timeout_files=()
for f in tests/vectors/*.hex; do
	name=$(basename "$f" .hex)
	want=$(expect "$name")
	case $want in
	lh | def)
		other=def
		[ "$want" = def ] && other=lh
		before=$(sink_count "$other" accept)
		check_hello_reaches "$name" "$want" --hex-file "$f"
		check_eq "$name: nothing reached sink $other" "$before" "$(sink_count "$other" accept)"
		normal=$((normal + 1))
		;;
	timeout)
		# These wait for the hello timeout: run them side by side, check below.
		spawn "$PTCLIENT" --connect "127.0.0.1:$P" --hex-file "$f" --read --timeout-ms 10000 \
		    >/dev/null 2>"$T/$name.err"
		timeout_files+=("$name:$BG_PID")
		timeouts=$((timeouts + 1))
		;;
	malformed | not_tls)
		"$PTCLIENT" --connect "127.0.0.1:$P" --hex-file "$f" --read --timeout-ms 10000 \
		    >/dev/null 2>"$T/$name.err"
		res=$(grep '^result=' "$T/$name.err")
		check_match "$name: closed" "^result=(eof|reset)" "$res"
		# Refused at once, not by the hello timeout.
		check_range "$name: closed within (ms)" 0 $((HELLO_MS / 2)) "$(field elapsed_ms "$res")"
		if [ "$want" = malformed ]; then malformed=$((malformed + 1)); else not_tls=$((not_tls + 1)); fi
		;;
	*)
		fail "$name: no expected outcome known: add it to tests/vectors/README.md and here"
		others=$((others + 1))
		;;
	esac
done

for entry in "${timeout_files[@]}"; do
	name=${entry%%:*} pid=${entry#*:}
	wait "$pid"
	res=$(grep '^result=' "$T/$name.err")
	check_match "$name: closed by the proxy" "^result=(eof|reset)" "$res"
	# hello_ms counts from the accept, which is at once: the data came with the connection.
	# The upper bound is generous: a loaded machine may retransmit a SYN (1 s).
	check_range "$name: closed after hello_ms (ms)" $((HELLO_MS - 50)) $((HELLO_MS + 4000)) \
	    "$(field elapsed_ms "$res")"
done

total=$((normal + timeouts + malformed + not_tls + others))
check_eq "connections that reached a sink (only the good hellos)" "$normal" \
    $(( $(sink_count lh accept) + $(sink_count def accept) ))
proxy_wait_closes "$total"
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
check_eq "connections accepted" "$total" "$(proxy_counter accepted)"
check_counters "normal=$normal hello_timeout=$timeouts hello_malformed=$malformed not_tls=$not_tls"
finish
