#!/bin/bash
# Guards the configuration's documentation: every setting the loader knows (its key tables, walked by tests/tools/ptkeys) is documented in passthrough.conf(5) with a type, a default and an example, and in README.md's "Configuration reference"; every setting either documents is one the loader knows.
. "$(dirname "$0")/lib.sh"

PTKEYS=$BUILD/tests/ptkeys
PAGE=$ROOT/man/passthrough.conf.5
[ -x "$PTKEYS" ] || die "$PTKEYS is missing: build it with make BUILD=$BUILD $PTKEYS"
command -v python3 >/dev/null || die "python3 is missing: tools/deps.sh test installs it"

# The loader's settings, as dotted paths ("routes.backends.weight").
"$PTKEYS" >"$T/ptkeys.out" || die "ptkeys failed"
cut -d' ' -f1 "$T/ptkeys.out" | sort -u >"$T/loader"
# The walk reaches the tables behind every kind of getter: groups, the list
# of routes and its backends, listen groups, checks, listener groups.
for key in timeouts.hello_ms routes.sni routes.backends.weight listen.accept_proxy \
    routes.check.rise listeners.routes resolve_ms; do
	check_match "the loader's walk has $key" "^$key\$" "$(cat "$T/loader")"
done
check_match "listeners.routes takes the settings of routes" "^listeners\.routes routes\$" \
    "$(cat "$T/ptkeys.out")"

# passthrough.conf(5): in SETTINGS, each ".TP" then ".B key" is one setting;
# its text up to the next .TP or .SH must say its type, default and example.
awk -v out="$T/man.incomplete" '
	function done() { if (key != "" && !(body ~ /Type:/ && body ~ /Default:/ && body ~ /Example:/))
		print key >out }
	/^\.SH / { done(); key = ""; s = ($2 == "SETTINGS"); tp = 0; next }
	!s { next }
	tp && /^\.B / { done(); key = $2; body = ""; tp = 0; next }
	/^\.TP/ { tp = 1; next }
	{ tp = 0; body = body " " $0 }
	END { done() }
' "$PAGE"
awk '/^\.SH /{ s = ($2 == "SETTINGS") } s && tp && /^\.B / { print $2 } { tp = s && /^\.TP/ }' \
    "$PAGE" | sort -u >"$T/man"
touch "$T/man.incomplete"

# README.md, "## Configuration reference" up to the next "## ": a heading made
# only of setting names ("### user, group", "#### timeouts.hello_ms",
# "#### listen: address" is listen.address, "### listeners: listener groups"
# is listeners), and bullets that open with bold names ("- **sni**", nested
# "  - **weight**" under "- **backends**"), under the heading's setting.
python3 - "$ROOT/README.md" >"$T/readme.raw" <<'PY' || die "reading README.md failed"
import re, sys
inside = code = False
head, stack = None, []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("```"):
        code = not code
        continue
    if code:
        continue
    if line.startswith("## "):
        inside = line == "## Configuration reference"
        head, stack = None, []
        continue
    if not inside:
        continue
    m = re.match(r"#{3,4} (.*)", line)
    if m:
        head, stack, found = None, [], []
        for part in m.group(1).split(", "):
            mm = re.fullmatch(r"([a-z_]+(?:\.[a-z_]+)*)(?:: (.*))?", part)
            if not mm:
                found = []
                break
            sub = mm.group(2)
            found.append(mm.group(1) + "." + sub if sub and re.fullmatch(r"[a-z_]+", sub)
                         else mm.group(1))
        for key in found:
            print(key)
        if len(found) == 1:
            head = found[0]
        continue
    m = re.match(r"( *)- ((?:\*\*[a-z_]+\*\*(?:, )?)+)", line)
    if m and head is not None:
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        names = re.findall(r"\*\*([a-z_]+)\*\*", m.group(2))
        parent = ".".join([head] + [n for _, n in stack])
        for n in names:
            print(parent + "." + n)
        stack.append((indent, names[0]))
PY
sort -u "$T/readme.raw" >"$T/readme"

# words FILE: its lines as one line of words.
words() { tr '\n' ' ' <"$1" | sed 's/ $//'; }

# The same settings in all three.
for doc in man readme; do
	what=$([ $doc = man ] && echo "passthrough.conf(5)" || echo "README.md's Configuration reference")
	comm -23 "$T/loader" "$T/$doc" >"$T/$doc.missing"
	comm -13 "$T/loader" "$T/$doc" >"$T/$doc.unknown"
	check_eq "settings the loader knows and $what does not document" "" "$(words "$T/$doc.missing")"
	check_eq "settings $what documents and the loader does not know" "" "$(words "$T/$doc.unknown")"
done
check_eq "passthrough.conf(5) settings without Type:, Default: or Example:" "" \
    "$(words "$T/man.incomplete")"
check_range "settings the loader knows" 50 1000 "$(wc -l <"$T/loader")"

finish
