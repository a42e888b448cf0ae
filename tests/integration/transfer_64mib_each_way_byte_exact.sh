#!/bin/bash
# Guards the relay's integrity: 64 MiB of random bytes downloaded and 64 MiB uploaded through the proxy over TLS 1.3 arrive byte-exact, with every relay ("kernel" too where the build has it); the access log's bytes_in/bytes_out per connection add up to the workers' byte counters (copied bytes of "adaptive" included), and only "adaptive" copies past the hello while every mode splices the bulk ("kernel": a direction whose sink fell behind is copied from then on, logged).
. "$(dirname "$0")/lib.sh"

SIZE=$((64 * 1024 * 1024))
nginx_start big

head -c "$SIZE" /dev/urandom >"$T/www/big/blob" || die "making the 64 MiB file"
want=$(sha256sum <"$T/www/big/blob" | cut -d' ' -f1)

# Every relay ("splice_ring" where the engine is io_uring), and small pipes
# (many partial splices); "kernel" where the build has it (it counts what
# it moved as spliced).
tunings=('relay = "splice";' 'relay = "adaptive";' 'relay = "splice"; pipe_bytes = 4096;')
relay_on_engine splice_ring && tunings+=('relay = "splice_ring";')
pt_has_kernel_relay && tunings+=('relay = "kernel";')
for tuning in "${tunings[@]}"; do
	echo "--- tuning = { $tuning }"
	rm -rf "$T/www/big/up"
	: >"$T/access.log"
	PROXY_LOG_EXTRA="access = \"$T/access.log\";" proxy_start "tuning = { $tuning };
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${NGINX_PORT[big]}\" ]; } );"
	# Download: the body curl got hashes the same as the file nginx served.
	got=$(curl_get big.example.com "$PROXY_PORT" blob --tlsv1.3 --fail | sha256sum | cut -d' ' -f1)
	check_eq "download sha256" "$want" "$got"

	# Upload: the file nginx stored hashes the same as the file curl sent.
	code=$(curl_get big.example.com "$PROXY_PORT" up/blob --tlsv1.3 -T "$T/www/big/blob" \
	    -o /dev/null -w '%{http_code}' 2>&1)
	check_eq "upload HTTP status" 201 "$code"
	check_eq "uploaded size" "$SIZE" "$(stat -c %s "$T/www/big/up/blob" 2>/dev/null)"
	got=$(sha256sum <"$T/www/big/up/blob" 2>/dev/null | cut -d' ' -f1)
	check_eq "upload sha256" "$want" "$got"

	proxy_wait_closes 2
	# How the bytes moved: only "adaptive" copies past the hello (at least the
	# first 16 KiB read of a streaming direction); every mode splices the bulk.
	copied=$("$BUILD/passthrough-stats" -c "$PROXY_CONF" --json | jq .totals.bytes_copied)
	spliced=$("$BUILD/passthrough-stats" -c "$PROXY_CONF" --json | jq .totals.bytes_spliced)
	case $tuning in
	*adaptive*) check_range "bytes copied (adaptive)" 16384 $((SIZE / 2)) "$copied" ;;
	*kernel*)
		# A direction whose sink falls behind the kernel's redirects by
		# RELAY_KERNEL_BACKLOG_BYTES is copied by the worker from then on
		# (on loopback nginx outruns curl: the download usually is).
		grep 'copied by the worker from now on' "$PROXY_LOG" | sed 's/^.*relay "kernel": /     /'
		spliced=$((spliced + copied)) ;;
	*) check_range "bytes copied (the two hellos only)" 1 8191 "$copied" ;;
	esac
	check_range "bytes spliced (both 64 MiB transfers; \"kernel\": or copied)" \
	    $((2 * SIZE - 1048576)) $((2 * SIZE + 1048576)) "$spliced"
	case $tuning in *kernel*) check_relay_used kernel ;; esac
	proxy_stop
	check_eq "proxy exit status" 0 "$PROXY_RC"
	check_range "bytes relayed client -> backend" "$SIZE" $((SIZE + 1048576)) "$(proxy_counter bytes_in)"
	check_range "bytes relayed backend -> client" "$SIZE" $((SIZE + 1048576)) "$(proxy_counter bytes_out)"
	check_counters_tls 2
	# Each connection's line counts what it moved, however it moved it.
	check_eq "access log lines" 2 "$(grep -c ' reason=' "$T/access.log")"
	for dir in in out; do
		sum=$(grep -oE " bytes_$dir=[0-9]+" "$T/access.log" | awk -F= '{ s += $2 } END { print s + 0 }')
		check_eq "access log bytes_$dir add up to the counter" "$(proxy_counter "bytes_$dir")" "$sum"
	done
	check_range "the download's line: bytes_out" "$SIZE" $((SIZE + 1048576)) \
	    "$(grep -m1 -oE ' bytes_out=[0-9]+' "$T/access.log" | cut -d= -f2)"
done
finish
