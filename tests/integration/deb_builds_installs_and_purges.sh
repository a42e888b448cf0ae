#!/bin/bash
# Guards the Debian package: dpkg-buildpackage builds it from a copy of the tree, lintian finds no error (nor a hardening tag), dpkg -i installs the binaries (passthrough-gateway among them, which renders a fixture), man pages, unit (enabled, not started), logrotate file, conffile and user; the installed daemon starts on the packaged configuration (pid under /run/passthrough, logs under /var/log/passthrough) and relays TLS; dpkg -r stops it and keeps the configuration; dpkg -P removes configuration, logs and user.
# once: builds the package (about 30 s on 2 cores); a sanitized build of the tree changes nothing in it.
. "$(dirname "$0")/lib.sh"

CONF=/etc/passthrough/passthrough.conf
PIDF=/run/passthrough/passthrough.pid
LOGDIR=/var/log/passthrough
WANTS=/etc/systemd/system/multi-user.target.wants/passthrough.service
# The packaged configuration's own addresses (the tree's example): the
# daemon listens on 8443, app.example.com goes to 9443.
LISTEN_PORT=8443
APP_PORT=9443
INSTALLED=0

# This test installs the package on the machine, so it refuses to run over
# anything of passthrough's already there, and purges what it installed
# whatever happens.
installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' passthrough 2>/dev/null)" != "" ]; }
installed && die "the passthrough package is on this machine already (dpkg -l passthrough): this test installs and purges it"
for f in /usr/sbin/passthrough /usr/bin/passthrough-stats /usr/bin/passthrough-gateway /etc/passthrough "$LOGDIR"; do
	[ -e "$f" ] && die "$f exists already: this test installs the package and purges it"
done
getent passwd passthrough >/dev/null && die "a user passthrough exists already: purging the package would remove it"
for p in "$LISTEN_PORT" "$APP_PORT"; do
	port_listening "$p" && die "port $p is in use: the packaged configuration serves 127.0.0.1:$LISTEN_PORT and routes app.example.com to 127.0.0.1:$APP_PORT"
done

daemon_pid() { tr -d '\n' <"$PIDF" 2>/dev/null; }
deb_cleanup() {
	local rc=$? pid
	if [ "$INSTALLED" = 1 ]; then
		pid=$(daemon_pid)
		if [[ $pid =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = passthrough ]; then
			kill -TERM "$pid" 2>/dev/null
			pid_wait_exit "$pid" 10 || kill -KILL "$pid" 2>/dev/null
		fi
		[ -s "$LOGDIR/error.log" ] && { echo "--- $LOGDIR/error.log (tail)"; tail -n 20 "$LOGDIR/error.log"; }
		echo "--- purging the package (the test ended early)"
		dpkg -P passthrough
	fi
	(exit "$rc")
	cleanup
}
trap deb_cleanup EXIT

echo "--- the source, copied"
mkdir -p "$T/src" || die "mkdir"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$ROOT" ls-files -co --exclude-standard | grep -v '^build/' |
	    while IFS= read -r f; do [ -e "$ROOT/$f" ] && printf '%s\n' "$f"; done >"$T/files"
	tar -C "$ROOT" -cf - -T "$T/files" | tar -C "$T/src" -xf - || die "copying the tree"
else	# a tree without git: everything but build/ and what make deb leaves in debian/
	tar -C "$ROOT" --exclude=./build --exclude=./.git --exclude=./debian/passthrough \
	    --exclude=./debian/.debhelper -cf - . | tar -C "$T/src" -xf - || die "copying the tree"
fi

echo "--- dpkg-buildpackage -b -us -uc"
# The suite's make (BUILD, SANITIZE, WERROR in MAKEFLAGS and in the
# environment) is not the package's: debian/rules sets its own. The unit
# tests are make test's; the package build leaves them out (nocheck).
t0=$(date +%s)
(cd "$T/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u WERROR -u BUILD \
    DEB_BUILD_OPTIONS="nocheck parallel=2" DEB_BUILD_PROFILES=nocheck \
    nice dpkg-buildpackage -b -us -uc) >"$T/build.log" 2>&1
rc=$?
echo "     dpkg-buildpackage took $(( $(date +%s) - t0 )) s"
if [ $rc -ne 0 ]; then
	tail -n 40 "$T/build.log"
	die "dpkg-buildpackage failed (exit $rc)"
fi
VERSION=$(cd "$T/src" && dpkg-parsechangelog -SVersion)
DEB=$T/passthrough_${VERSION}_$(dpkg --print-architecture).deb
[ -f "$DEB" ] || die "no $DEB after the build: $(ls "$T")"
check_match "the compiler got dpkg-buildflags' hardening flags" \
    ' -fstack-protector-strong .*-D_FORTIFY_SOURCE=2 .*-c -o build/deb/obj/master/main\.o ' "$(cat "$T/build.log")"

echo "--- lintian"
lint=$(lintian -I --fail-on error --tag-display-limit 0 "$DEB" 2>&1)
rc=$?
# shellcheck disable=SC2001  # per line
sed 's/^/     | /' <<<"$lint" | grep -v 'running with root privileges'
check_eq "lintian --fail-on error exit status" 0 "$rc"
check_no_match "lintian: no errors" '^E: ' "$lint"
# -I: the hardening tags are infos (hardening-no-fortify-functions, -bindnow).
check_no_match "lintian: the hardening flags reached the binaries" 'hardening-no-' "$lint"

echo "--- dpkg -i"
INSTALLED=1
dpkg -i "$DEB" >"$T/install.log" 2>&1
rc=$?
sed 's/^/     | /' "$T/install.log"
check_eq "dpkg -i exit status" 0 "$rc"
check_eq "dpkg says installed" "ii " "$(dpkg-query -W -f='${db:Status-Abbrev}' passthrough)"
files=$(dpkg -L passthrough)
for f in /usr/sbin/passthrough /usr/bin/passthrough-stats /usr/bin/passthrough-gateway \
    /usr/share/man/man1/passthrough-gateway.1.gz /lib/systemd/system/passthrough.service \
    /etc/logrotate.d/passthrough "$CONF" /usr/share/doc/passthrough/copyright; do
	check_match "the package has $f" "^$f\$" "$files"
done
check_eq "/usr/sbin/passthrough is executable" yes "$([ -x /usr/sbin/passthrough ] && echo yes)"
check_eq "/usr/bin/passthrough-gateway is executable" yes "$([ -x /usr/bin/passthrough-gateway ] && echo yes)"
# The package's Depends (dh_shlibdeps) has the package of every library
# passthrough-gateway links: libjansson and libyaml always (render), libcurl
# once watch calls it (the package build links --as-needed), libconfig.
depends=$(dpkg-query -W -f='${Depends}' passthrough)
needed=$(readelf -d /usr/bin/passthrough-gateway | sed -nE 's/.*\(NEEDED\).*\[(.*)\]$/\1/p')
check_match "passthrough-gateway links libjansson" '^libjansson\.so\.4$' "$needed"
check_match "passthrough-gateway links libyaml" '^libyaml-0\.so\.2$' "$needed"
declare -A lib_package=([libjansson.so.4]=libjansson4 [libyaml-0.so.2]=libyaml-0-2 [libcurl.so.4]=libcurl4
    [libconfig.so.9]=libconfig9)
for so in $needed; do
	[ -n "${lib_package[$so]:-}" ] || continue
	check_match "the package depends on ${lib_package[$so]} (passthrough-gateway links $so)" \
	    "(^|, )${lib_package[$so]}( |,|\$)" "$depends"
done
# Every man page of the tree, compressed, in its section.
pages=0
for m in "$T"/src/man/*.[1-8]; do
	[ -f "$m" ] || continue
	pages=$((pages + 1))
	check_match "the package has the man page $(basename "$m")" \
	    "^/usr/share/man/man${m##*.}/$(basename "$m")\\.gz\$" "$files"
done
echo "     $pages man page(s) in the tree"
for d in "$T"/src/etc/grafana/*.json "$T"/src/etc/prometheus/*.yml; do
	[ -f "$d" ] || continue
	sub=$(basename "$(dirname "$d")")
	check_match "the package has $sub/$(basename "$d")" "^/usr/share/passthrough/$sub/$(basename "$d")\$" "$files"
done
conffiles=$(dpkg-query -W -f='${Conffiles}' passthrough)
check_match "$CONF is a conffile" "^ $CONF [0-9a-f]{32}\$" "$conffiles"
check_match "/etc/logrotate.d/passthrough is a conffile" "^ /etc/logrotate.d/passthrough [0-9a-f]{32}\$" "$conffiles"

echo "--- what postinst made"
check_match "a system user passthrough, no home, no shell" \
    '^passthrough:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:/usr/sbin/nologin$' "$(getent passwd passthrough)"
uid=$(id -u passthrough 2>/dev/null)
check_range "... with a system uid" 1 999 "${uid:-x}"
check_eq "... and its group" passthrough "$(id -gn passthrough 2>/dev/null)"
check_eq "the unit is enabled (multi-user.target wants it)" /lib/systemd/system/passthrough.service \
    "$(readlink "$WANTS")"
check_eq "... and not started: no pid file" no "$([ -e "$PIDF" ] && echo yes || echo no)"
check_eq "$LOGDIR: root's, 0755" "root root 755" "$(stat -c '%U %G %a' "$LOGDIR" 2>/dev/null)"

echo "--- the installed files"
check_eq "passthrough -V is the package's version" "passthrough $VERSION" "$(passthrough -V 2>&1)"
check_match "passthrough -h: the default configuration is $CONF" "$CONF" "$(passthrough -h 2>&1)"
out=$(cd / && passthrough -t 2>&1)
check_eq "passthrough -t (no -c) exit status" 0 "$?"
check_eq "passthrough -t (no -c) on the packaged configuration" "configuration OK" "$out"
out=$(passthrough-stats --help 2>&1)
check_eq "passthrough-stats --help exit status" 0 "$?"
check_match "passthrough-stats --help says what it does" '--prometheus' "$out"
check_eq "passthrough-gateway --version is the package's version" "passthrough-gateway $VERSION" \
    "$(passthrough-gateway --version 2>&1)"
out=$(passthrough-gateway render "$T"/src/tests/gateway/fixtures/simple/*.yaml 2>&1 >"$T/gateway.conf")
check_eq "the installed passthrough-gateway renders tests/gateway/fixtures/simple (its errors)" "" "$out"
check_eq "... into a configuration the installed passthrough -t accepts" "configuration OK" \
    "$(passthrough -t -c "$T/gateway.conf" 2>&1)"
for want in '^user = "passthrough";' "^pid_file = \"$PIDF\";" "^  error = \"$LOGDIR/error.log\";" \
    "^  access = \"$LOGDIR/access.log\";"; do
	check_match "the packaged configuration sets /$want/" "$want" "$(cat "$CONF")"
done
check_eq "... and keeps the example's routes" "$(grep '^ *{ sni = ' etc/passthrough.conf)" \
    "$(grep '^ *{ sni = ' "$CONF")"
unit=$(cat /lib/systemd/system/passthrough.service)
check_match "the unit starts /usr/sbin/passthrough on $CONF" "^ExecStart=/usr/sbin/passthrough -f -c $CONF\$" "$unit"
check_match "the unit has /run/passthrough (the pid file's directory)" '^RuntimeDirectory=passthrough$' "$unit"
check_match "the unit has /var/log/passthrough" '^LogsDirectory=passthrough$' "$unit"
lr=$(logrotate -d -s "$T/logrotate.state" /etc/logrotate.d/passthrough 2>&1)
check_eq "logrotate reads /etc/logrotate.d/passthrough (logrotate -d exit status)" 0 "$?"
check_match "... which rotates $LOGDIR/*.log" "$LOGDIR/\\*\\.log" "$lr"

echo "--- the daemon on the packaged configuration"
# app.example.com routes to 127.0.0.1:9443: a relay there to an nginx.
nginx_start app
spawn "$PTSHAPER" --listen "127.0.0.1:$APP_PORT" --target "127.0.0.1:${NGINX_PORT[app]}" \
    --port-file "$T/shaper.port" 2>>"$T/shaper.log"
WAIT_S=10 wait_until test -s "$T/shaper.port" || die "no relay on 127.0.0.1:$APP_PORT"
out=$(cd / && passthrough -d 2>&1 </dev/null)
check_eq "passthrough -d (no -c) exit status" 0 "$?"
check_eq "passthrough -d said nothing" "" "$out"
pid=$(daemon_pid)
check_eq "the pid file $PIDF names a passthrough" passthrough "$(cat "/proc/$pid/comm" 2>/dev/null)"
check_eq "its workers run as passthrough" "passthrough passthrough" \
    "$(ps -o user= --ppid "$pid" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//')"
check_match "it logs to $LOGDIR/error.log" 'info: started: ' "$(cat "$LOGDIR/error.log" 2>/dev/null)"
check_eq "app.example.com through the packaged daemon" backend-app \
    "$(curl_get app.example.com "$LISTEN_PORT" whoami 2>&1)"
WAIT_S=5 wait_until grep -q 'sni=app.example.com' "$LOGDIR/access.log"
check_match "... logged in $LOGDIR/access.log" \
    'sni=app\.example\.com .*backend=127\.0\.0\.1:9443 .*reason=normal' "$(cat "$LOGDIR/access.log" 2>/dev/null)"
check_match "passthrough-stats (no -c) reads its statistics" '^passthrough_' \
    "$(cd / && passthrough-stats --prometheus 2>&1)"
out=$(cd / && passthrough -s reload 2>&1)
check_eq "passthrough -s reload (no -c) exit status, through $PIDF" 0 "$?"
out=$(cd / && passthrough -s reopen 2>&1)
check_eq "passthrough -s reopen (no -c) exit status" 0 "$?"

echo "--- dpkg -r, the daemon running"
dpkg -r passthrough >"$T/remove.log" 2>&1
rc=$?
sed 's/^/     | /' "$T/remove.log"
check_eq "dpkg -r exit status" 0 "$rc"
check_eq "dpkg -r stopped the daemon" stopped "$(pid_wait_exit "$pid" 2 && echo stopped || echo running)"
for f in /usr/sbin/passthrough /usr/bin/passthrough-stats /usr/bin/passthrough-gateway \
    /usr/share/man/man1/passthrough-gateway.1.gz /lib/systemd/system/passthrough.service; do
	check_eq "dpkg -r removed $f" gone "$([ -e "$f" ] && echo there || echo gone)"
done
check_eq "dpkg -r kept $CONF" there "$([ -f "$CONF" ] && echo there || echo gone)"
check_eq "dpkg -r kept the logs" there "$([ -f "$LOGDIR/access.log" ] && echo there || echo gone)"
check_eq "dpkg -r kept the user" passthrough "$(getent passwd passthrough | cut -d: -f1)"
check_eq "dpkg says removed, configuration kept" "rc " "$(dpkg-query -W -f='${db:Status-Abbrev}' passthrough)"

echo "--- dpkg -P"
dpkg -P passthrough >"$T/purge.log" 2>&1
rc=$?
sed 's/^/     | /' "$T/purge.log"
check_eq "dpkg -P exit status" 0 "$rc"
INSTALLED=0
installed && fail "dpkg still knows the package after dpkg -P: $(dpkg -l passthrough | tail -n 1)"
for f in /etc/passthrough "$LOGDIR" /etc/logrotate.d/passthrough "$WANTS"; do
	check_eq "dpkg -P removed $f" gone "$([ -e "$f" ] || [ -L "$f" ] && echo there || echo gone)"
done
check_eq "dpkg -P removed the user" "" "$(getent passwd passthrough)"
check_eq "dpkg -P removed the group" "" "$(getent group passthrough)"
finish
