#!/bin/bash
# Guards make install / make uninstall: into a DESTDIR, every file lands where PREFIX and the other variables say (binaries 0755, the rest 0644, nothing more), the installed passthrough -t accepts the installed configuration, the installed unit and logrotate file name the installed paths, a second install keeps an edited configuration, uninstall removes every file it put there (an edited configuration survives it, a foreign file too) and leaves no passthrough file; PREFIX=/usr and overridden variables land where they say.
. "$(dirname "$0")/lib.sh"
command -v logrotate >/dev/null || [ -x /usr/sbin/logrotate ] ||
    die "logrotate is missing: run tools/deps.sh test"
LOGROTATE=$(command -v logrotate || echo /usr/sbin/logrotate)

# A nested make would take `make test`'s MAKEFLAGS (WERROR, SANITIZE, BUILD):
# none of them, and NOBUILD=1, so it installs $BUILD's binaries as built.
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$ROOT" NOBUILD=1 BUILD="$BUILD" "$@"
}

# check_files WHAT ROOT "MODE PATH"...: ROOT holds exactly these files (no
# other), each with its mode.
check_files() {
	local what=$1 root=$2 want got
	shift 2
	want=$(printf '%s\n' "$@" | sort)
	got=$(cd "$root" && find . -type f -printf '%m /%P\n' | sort)
	check_eq "$what: the files and their modes" "$want" "$got"
}

# The man pages and dashboard files of the tree, where install puts them
# (under PREFIX $1): they are not all in every branch, so they are listed.
tree_extras() {
	local f
	for f in man/*.[1-8]; do
		[ -f "$f" ] && echo "644 $1/share/man/man${f##*.}/${f##*/}"
	done
	for f in etc/grafana/*.json etc/prometheus/*.yml; do
		[ -f "$f" ] && echo "644 $1/share/passthrough/$(basename "$(dirname "$f")")/${f##*/}"
	done
}

pt_version=$("$PT" -V 2>&1)
pt_version=${pt_version#passthrough }
echo "--- make install DESTDIR (PREFIX /usr/local)"
D=$T/root
out=$(mk install DESTDIR="$D" 2>&1)
check_eq "make install: exit status" 0 "$?"
mapfile -t extras < <(tree_extras /usr/local)
check_files "make install" "$D" \
    "755 /usr/local/sbin/passthrough" "755 /usr/local/bin/passthrough-stats" \
    "755 /usr/local/bin/passthrough-gateway" \
    "644 /usr/local/etc/passthrough/passthrough.conf" \
    "644 /usr/local/lib/systemd/system/passthrough.service" \
    "644 /usr/local/etc/logrotate.d/passthrough" "${extras[@]}"
echo "     ${#extras[@]} man pages and dashboard files in the tree"
check_eq "installed configuration: the example" same \
    "$(cmp -s etc/passthrough.conf "$D/usr/local/etc/passthrough/passthrough.conf" && echo same)"
check_eq "installed passthrough -t accepts the installed configuration" "configuration OK" \
    "$("$D/usr/local/sbin/passthrough" -t -c "$D/usr/local/etc/passthrough/passthrough.conf" 2>&1)"
check_match "installed passthrough: its default configuration is under SYSCONFDIR" \
    "default /usr/local/etc/passthrough/passthrough.conf" "$("$D/usr/local/sbin/passthrough" -h)"
check_match "installed passthrough-stats: its default configuration is under SYSCONFDIR" \
    "default /usr/local/etc/passthrough/passthrough.conf" "$("$D/usr/local/bin/passthrough-stats" -h)"
check_eq "installed passthrough-gateway runs: its version is passthrough's" \
    "passthrough-gateway ${pt_version:-?}" "$("$D/usr/local/bin/passthrough-gateway" --version 2>&1)"
check_eq "... and its man page is installed in section 1" yes \
    "$([ -f "$D/usr/local/share/man/man1/passthrough-gateway.1" ] && echo yes)"
unit=$(cat "$D/usr/local/lib/systemd/system/passthrough.service")
check_match "the unit starts the installed binary on the installed configuration" \
    "ExecStart=/usr/local/sbin/passthrough -f -c /usr/local/etc/passthrough/passthrough.conf" "$unit"
check_match "the unit checks the installed configuration first" \
    "ExecStartPre=/usr/local/sbin/passthrough -t -c /usr/local/etc/passthrough/passthrough.conf" "$unit"
check_match "the unit points at the man pages" \
    "Documentation=man:passthrough\\(8\\) man:passthrough.conf\\(5\\)" "$unit"
check_no_match "the unit: every template mark replaced" "@[A-Z]+@" "$unit"
check_eq "the unit: the template's bounding set" \
    "$(grep '^CapabilityBoundingSet=' etc/passthrough.service.in)" \
    "$(grep '^CapabilityBoundingSet=' <<<"$unit")"
rot=$(cat "$D/usr/local/etc/logrotate.d/passthrough")
check_match "the logrotate file reopens with the installed binary and configuration" \
    "/usr/local/sbin/passthrough -s reopen -c /usr/local/etc/passthrough/passthrough.conf" "$rot"
check_no_match "the logrotate file: every template mark replaced" "@[A-Z]+@" "$rot"
out=$("$LOGROTATE" -d -s "$T/lr.state" "$D/usr/local/etc/logrotate.d/passthrough" 2>&1)
check_eq "logrotate -d reads the installed file: exit status" 0 "$?"
check_no_match "logrotate -d reads the installed file: no error" "error" "$out"

echo "--- a second install over an edited configuration"
echo "workers = 1;" >>"$D/usr/local/etc/passthrough/passthrough.conf"
cp "$D/usr/local/etc/passthrough/passthrough.conf" "$T/edited.conf"
out=$(mk install DESTDIR="$D" 2>&1)
check_eq "second install: exit status" 0 "$?"
check_match "second install: says it kept the configuration" "kept .*/usr/local/etc/passthrough/passthrough.conf" "$out"
check_eq "second install: the edited configuration is kept" same \
    "$(cmp -s "$T/edited.conf" "$D/usr/local/etc/passthrough/passthrough.conf" && echo same)"

echo "--- make uninstall: the edited configuration and a foreign file stay"
echo foreign >"$D/usr/local/bin/other-tool"
out=$(mk uninstall DESTDIR="$D" 2>&1)
check_eq "uninstall: exit status" 0 "$?"
check_match "uninstall: says it kept the edited configuration" "kept .*passthrough.conf" "$out"
check_files "after uninstall (edited configuration)" "$D" \
    "644 /usr/local/etc/passthrough/passthrough.conf" "644 /usr/local/bin/other-tool"
rm "$D/usr/local/bin/other-tool"

echo "--- install and uninstall, the configuration unedited"
rm "$D/usr/local/etc/passthrough/passthrough.conf"
mk install DESTDIR="$D" >/dev/null 2>&1
out=$(mk uninstall DESTDIR="$D" 2>&1)
check_eq "uninstall: exit status" 0 "$?"
check_files "after uninstall: no file left" "$D"
check_eq "after uninstall: the configuration directory and DATADIR are gone" "" \
    "$(find "$D" -name passthrough)"

echo "--- PREFIX=/usr: /etc and /lib/systemd/system"
D=$T/usr
mk install DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1
check_eq "PREFIX=/usr: make install exit status" 0 "$?"
mapfile -t extras < <(tree_extras /usr)
check_files "PREFIX=/usr" "$D" \
    "755 /usr/sbin/passthrough" "755 /usr/bin/passthrough-stats" "755 /usr/bin/passthrough-gateway" \
    "644 /etc/passthrough/passthrough.conf" "644 /lib/systemd/system/passthrough.service" \
    "644 /etc/logrotate.d/passthrough" "${extras[@]}"
check_match "PREFIX=/usr: the unit's paths" \
    "ExecStart=/usr/sbin/passthrough -f -c /etc/passthrough/passthrough.conf" \
    "$(cat "$D/lib/systemd/system/passthrough.service")"
mk uninstall DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1
check_files "PREFIX=/usr: after uninstall" "$D"

echo "--- every variable overridden, with a man page and dashboard files of this test's own"
mkdir -p "$T/src/man" "$T/src/grafana" "$T/src/prometheus"
echo '.TH PT-PLACEHOLDER 7' >"$T/src/man/pt-placeholder.7"
echo '{}' >"$T/src/grafana/board.json"
echo 'groups: []' >"$T/src/prometheus/rules.yml"
D=$T/opt
vars=(DESTDIR="$D" PREFIX=/opt/x SYSCONFDIR=/srv/conf SBINDIR=/opt/s BINDIR=/opt/b
    MANDIR=/opt/m UNITDIR=/opt/u LOGROTATEDIR=/opt/lr DATADIR=/opt/d
    MAN_PAGES="$T/src/man/pt-placeholder.7" GRAFANA="$T/src/grafana/board.json"
    PROMETHEUS="$T/src/prometheus/rules.yml")
mk install "${vars[@]}" >/dev/null 2>&1
check_eq "overridden: make install exit status" 0 "$?"
check_files "overridden" "$D" \
    "755 /opt/s/passthrough" "755 /opt/b/passthrough-stats" "755 /opt/b/passthrough-gateway" \
    "644 /srv/conf/passthrough/passthrough.conf" "644 /opt/u/passthrough.service" \
    "644 /opt/lr/passthrough" "644 /opt/m/man7/pt-placeholder.7" \
    "644 /opt/d/grafana/board.json" "644 /opt/d/prometheus/rules.yml"
check_match "overridden: the unit's paths" \
    "ExecStart=/opt/s/passthrough -f -c /srv/conf/passthrough/passthrough.conf" \
    "$(cat "$D/opt/u/passthrough.service")"
check_match "overridden: the logrotate file's paths" \
    "/opt/s/passthrough -s reopen -c /srv/conf/passthrough/passthrough.conf" \
    "$(cat "$D/opt/lr/passthrough")"
mk uninstall "${vars[@]}" >/dev/null 2>&1
check_files "overridden: after uninstall" "$D"
check_eq "overridden: after uninstall, DATADIR is gone" no "$([ -e "$D/opt/d" ] && echo yes || echo no)"
finish
