#!/bin/bash
# Guards the man pages: passthrough(8), passthrough.conf(5), passthrough-stats(1) and passthrough-gateway(1) render without a warning (groff -ww, mandoc -T lint); each option the binaries' -h prints is in their page's OPTIONS; every metric of a live proxy's --prometheus is in passthrough-stats(1) with its type and labels, and every key of its --json too.
. "$(dirname "$0")/lib.sh"

STATS=$BUILD/passthrough-stats
MAN=$ROOT/man
[ -x "$STATS" ] || die "$STATS is missing: build it with make BUILD=$BUILD all"
for tool in groff mandoc jq curl; do
	command -v $tool >/dev/null || die "$tool is missing: tools/deps.sh test installs it"
done

# ---- each page renders without a warning --------------------------------------

pages=("$MAN"/*.[1-8])
check_eq "the pages in man/" "passthrough-gateway.1 passthrough-stats.1 passthrough.8 passthrough.conf.5" \
    "$(basename -a "${pages[@]}" | tr '\n' ' ' | sed 's/ $//')"
for page in "${pages[@]}"; do
	name=$(basename "$page")
	tbl=()	# a page that needs tbl says so on its first line, as man(1) reads it
	head -n 1 "$page" | grep -q "^'\\\\\" .*t" && tbl=(-t)
	out=$(groff "${tbl[@]}" -ww -man -z "$page" 2>&1)
	rc=$?
	check_eq "$name: groff -ww -man -z exit status" 0 "$rc"
	check_eq "$name: groff -ww -man -z output" "" "$out"
	out=$(mandoc -T lint -W warning "$page" 2>&1)
	rc=$?
	check_eq "$name: mandoc -T lint -W warning exit status" 0 "$rc"
	check_eq "$name: mandoc -T lint -W warning output" "" "$out"
done

# render PAGE: its text as a reader sees it, without bold or underline, on
# lines long enough that no name is hyphenated or broken.
render() {
	groff -man -Tascii -P-cbou -rLL=400n -rHY=0 "$MAN/$1" 2>/dev/null
}

# section PAGE TITLE: the rendered text of one section (up to the next title).
section() {
	render "$1" | awk -v t="$2" '/^[A-Z]/ { s = ($0 == t); next } s'
}

# ---- options: every one -h prints is in OPTIONS ------------------------------

# options HELP: the options a usage text lists ("  -c FILE", "  -c, --config FILE").
options() {
	grep -oE '^ +-[A-Za-z](, --[a-z-]+)?' <<<"$1" | tr -d ' ' | tr ',' '\n'
}

for bin in passthrough:passthrough.8 passthrough-stats:passthrough-stats.1; do
	exe=$BUILD/${bin%%:*} page=${bin#*:}
	help=$("$exe" -h) || fail "${bin%%:*} -h: exit status $?"
	opts=$(options "$help")
	check_range "${bin%%:*} -h: options listed" 6 40 "$(wc -l <<<"$opts")"
	text=$(section "$page" OPTIONS)
	for o in $opts; do
		check_match "$page OPTIONS has $o" "(^|[^-[:alnum:]])$o([^-[:alnum:]]|\$)" "$text"
	done
done

# passthrough-gateway's options are long ones ("  --status FILE"), -h and -V aside.
GATEWAY=$BUILD/passthrough-gateway
[ -x "$GATEWAY" ] || die "$GATEWAY is missing: build it with make BUILD=$BUILD all"
help=$("$GATEWAY" -h) || fail "passthrough-gateway -h: exit status $?"
opts=$( (options "$help"; grep -oE '^ +--[a-z-]+' <<<"$help" | tr -d ' ') | sort -u)
check_range "passthrough-gateway -h: options listed" 9 40 "$(wc -l <<<"$opts")"
text=$(section passthrough-gateway.1 OPTIONS)
for o in $opts; do
	check_match "passthrough-gateway.1 OPTIONS has $o" "(^|[^-[:alnum:]])$o([^-[:alnum:]]|\$)" "$text"
done

# ---- metrics and JSON keys of a live proxy are in passthrough-stats(1) -------

# One route, one backend (nginx, actively checked), one real TLS connection:
# every labelled family has a series.
nginx_start app
proxy_start -w 2 "routes = (
  { sni = \"app.example.com\"; backends = [ \"127.0.0.1:${NGINX_PORT[app]}\" ];
    check = { interval_ms = 200; }; }
);"
out=$(curl_get app.example.com "$PROXY_PORT" whoami 2>&1)
check_match "a TLS connection through the proxy reaches nginx" "app" "$out"
WAIT_S=5 wait_until sh -c "'$STATS' -c '$PROXY_CONF' --json | jq -e '.totals.closes.normal == 1 and
    (.backends[0].checks_passed > 0)' >/dev/null" ||
    fail "passthrough-stats did not count the connection and a passed check within 5 s"
"$STATS" -c "$PROXY_CONF" --prometheus >"$T/prom" || fail "passthrough-stats --prometheus failed"
"$STATS" -c "$PROXY_CONF" --json >"$T/json" || fail "passthrough-stats --json failed"
proxy_stop

section passthrough-stats.1 METRICS >"$T/man.metrics"
section passthrough-stats.1 "JSON KEYS" >"$T/man.json"
check_match "the live output has a series labelled with the route" \
    '^passthrough_route_connections_total\{route="app.example.com"\} 1$' "$(cat "$T/prom")"
# One pass (a process per name would take seconds on a busy machine): each
# family of the live output with its type and labels (a histogram's le
# aside) against the page's entry, its name as a tag and "Type: TYPE.
# Labels: a, b." on the line after; each key of the document (the top
# level as a tag; inside totals, a worker, a route, a backend and the
# histograms, named in the text) against JSON KEYS. Prints what is wrong.
python3 - "$T/prom" "$T/man.metrics" "$T/json" "$T/man.json" >"$T/wrong" 2>&1 <<'PY'
import json, re, sys
prom, page, doc, keys_page = (open(f, encoding="utf-8").read() for f in sys.argv[1:])
families = re.findall(r"^# TYPE (\S+) (\S+)$", prom, re.M)
lines = page.split("\n")
for family, kind in families:
    labels = set()
    for m in re.finditer(r"^%s(?:_bucket|_sum|_count)?\{([^}]*)\}" % re.escape(family), prom, re.M):
        labels |= set(re.findall(r'([a-z_]+)="', m.group(1))) - {"le"}
    at = [i for i, l in enumerate(lines) if l.strip() == family]
    if not at or at[0] + 1 >= len(lines):
        print("metric", family, "is not in METRICS")
        continue
    m = re.match(r"\s+Type: (\w+)\. Labels: ([^.]*)\.", lines[at[0] + 1])
    if not m or m.group(1) != kind:
        print("metric", family, "is not said to be a", kind)
        continue
    named = set(re.split(r"[ ,]+", m.group(2))) - {"none", ""}
    for label in sorted(labels - named):
        print("metric", family, "lacks its label", label)
d = json.loads(doc)
for key in d:
    if not re.search(r"^ +%s( |$)" % re.escape(key), keys_page, re.M):
        print("JSON key", key, "is not in JSON KEYS")
inner = set()
for obj in (d["totals"], d["workers"][0], d["routes"][0], d["backends"][0], d["totals"]["histograms"]):
    inner |= set(obj)
for key in sorted(inner):
    if not re.search(r"(^|[^a-z_])%s([^a-z_]|$)" % re.escape(key), keys_page):
        print("JSON key", key, "(inside) is not in JSON KEYS")
PY
check_eq "live metrics and JSON keys passthrough-stats(1) lacks" "" "$(cat "$T/wrong")"
check_range "metric families in the live output" 40 200 "$(grep -c '^# TYPE ' "$T/prom")"

finish
