#!/bin/bash
# Guards worker exit with a FIFO access log whose reader stopped reading: the pipe fills, connections keep being served (lines beyond it are dropped and counted), and SIGTERM still stops every worker within a few seconds (exit writes never block), exit status 0, no worker killed.
. "$(dirname "$0")/lib.sh"
need_tools "$PTLOOP"

sink_start E --echo
FIFO=$T/access.fifo
mkfifo -m 600 "$FIFO"
# The reader: this shell holds the FIFO open for reading and never reads.
exec 9<>"$FIFO"

PROXY_LOG_EXTRA="access = \"$FIFO\";" proxy_start -w 2 "
routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:${SINK_PORT[E]}\" ]; } );"
P=$PROXY_PORT

# ~250 bytes a line: 1500 lines are several times the pipe's 64 KiB.
CONNS=1500
loop_start fill --connect "127.0.0.1:$P" --hello fill.example.com --concurrency 20 \
    --total "$CONNS" --send-bytes 100 --echo --timeout-ms 10000
loop_wait fill 120
check_loop_clean "connections while the log's reader sleeps" "$CONNS"

echo "--- SIGTERM with the pipe full"
proxy_stop
echo "     stopped in $PROXY_STOP_MS ms"
check_eq "proxy exit status" 0 "$PROXY_RC"
check_range "stop time (ms): no worker waits on the pipe" 0 3000 "$PROXY_STOP_MS"
check_no_match "no worker had to be killed" "did not stop|killing them" "$(cat "$PROXY_LOG")"
check_match "the lines the pipe could not take are counted" \
    "log.access: [0-9]+ lines were dropped" "$(cat "$PROXY_LOG")"
exec 9<&-
check_log_faults "stalled FIFO"
finish
