#!/bin/bash
# image-check.sh -- proves the container image's runtime stage without a
# container engine (`make image-check`; as root, with the network to the
# Debian mirror): builds the root file system the Dockerfile's runtime stage
# describes from Debian packages (mmdebstrap --variant=minbase, the stage's
# RUNTIME_PACKAGES and nothing else), applies the stage's RUN and COPY lines
# to it (the binaries of $BUILD, installed with make install NOBUILD=1
# PREFIX=/usr), then runs the stage's ENTRYPOINT and CMD in it as its USER,
# with its ENV, as PID 1 of a pid namespace, in a private network namespace:
# once as `docker run` would (the image alone) and once as the pod does
# (read-only root, emptyDirs at /dev/shm and XDG_RUNTIME_DIR, io_uring
# denied as by the RuntimeDefault seccomp profile: tests/tools/ptnouring). Each time a
# real TLS connection to the configuration's first route goes through it
# to an openssl s_server backend (on the loopback of that namespace, the
# route's host name in the root file system's /etc/hosts), and the master
# and its workers must run as that user with no capability and no
# supplementary group but its own. Prints "ok   WHAT" or "FAIL WHAT" per check; exits 1
# if one failed.
#
# Environment: BUILD (default build; a plain build: a sanitized one links
# libraries the image has not), DOCKERFILE (default the tree's),
# IMAGE_CHECK_KEEP=1 keeps $BUILD/image/rootfs. The mmdebstrap result is
# cached in $BUILD/image/base-KEY.tar, KEY a hash of the suite, package
# list and apt sources: only the first run downloads (~30 MB, ~45 s).
# The apt sources are the host's bookworm ones (apt-get indextargets), so
# it works wherever the host's apt does; else deb.debian.org.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SELF=$ROOT/tools/image-check.sh
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DOCKERFILE=${DOCKERFILE:-$ROOT/Dockerfile}
export BUILD DOCKERFILE	# absolute, for the run re-executed in namespaces
IMG=$BUILD/image
R=$IMG/rootfs
STAGE=$IMG/out
WORK=$IMG/work
PATH_DOCKER=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
FAILS=0
# A seccomp filter denying io_uring, as a runtime's default profile does.
PTNOURING=$ROOT/tests/tools/ptnouring

die() { echo "image-check: $*" >&2; exit 1; }
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
# check_eq WHAT EXPECTED GOT
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1: $3"; else fail "$1: expected '$2', got '$3'"; fi
}

# ---- the Dockerfile's runtime stage -------------------------------------------
# Its logical lines (continuations joined, comment lines dropped) after the
# last FROM. Sets SUITE, PACKAGES, RUNS[], COPIES[], ENVS[], RUN_USER,
# PORTS, ARGV[] (ENTRYPOINT then CMD), LABEL_VERSION; an instruction the
# check cannot reproduce stops it.
dockerfile_read() {
	local line logical='' stage=() l word rest name value
	[ -f "$DOCKERFILE" ] || die "no $DOCKERFILE"
	while IFS= read -r line || [ -n "$line" ]; do
		[[ $line =~ ^[[:space:]]*# ]] && continue
		if [[ $line =~ \\$ ]]; then
			logical+="${line%\\} "
			continue
		fi
		logical+=$line
		[[ $logical =~ ^[[:space:]]*$ ]] || stage+=("$logical")
		[[ $logical =~ ^FROM[[:space:]] ]] && stage=("$logical")
		logical=
	done <"$DOCKERFILE"
	declare -gA ARGS=()
	RUNS=() COPIES=() ENVS=() ARGV=() PACKAGES='' RUN_USER='' PORTS='' LABEL_VERSION='' SUITE=''
	local entry=() cmd=()
	for l in "${stage[@]}"; do
		word=${l%%[[:space:]]*}
		rest=$(sed -E 's/^[A-Z]+[[:space:]]+//; s/[[:space:]]+$//' <<<"$l")
		case $word in
		FROM)
			case $rest in
			debian:12-slim | debian:12-slim\ *) SUITE=bookworm ;;
			*) die "the runtime stage is FROM $rest: only debian:12-slim (bookworm) is known here" ;;
			esac ;;
		ARG)
			name=${rest%%=*}
			value=${rest#*=}
			value=${value#\"}
			ARGS[$name]=${value%\"} ;;
		LABEL)
			LABEL_VERSION=$(grep -oE 'org\.opencontainers\.image\.version="[^"]*"' <<<"$rest" | cut -d'"' -f2)
			LABEL_VERSION=${LABEL_VERSION//\$VERSION/${ARGS[VERSION]:-}} ;;
		RUN)
			# The one apt-get install: the packages mmdebstrap installs.
			if grep -q 'apt-get install' <<<"$rest"; then
				# shellcheck disable=SC2016  # the literal $RUNTIME_PACKAGES
				grep -q '\$RUNTIME_PACKAGES' <<<"$rest" ||
				    die "the runtime stage's apt-get install does not install \$RUNTIME_PACKAGES"
				PACKAGES=${ARGS[RUNTIME_PACKAGES]:-}
			else
				RUNS+=("$rest")
			fi ;;
		COPY) COPIES+=("$rest") ;;
		ENV) ENVS+=("$rest") ;;
		USER) RUN_USER=$rest ;;
		EXPOSE) PORTS=$rest ;;
		ENTRYPOINT) mapfile -t entry < <(jq -r '.[]' <<<"$rest") || die "ENTRYPOINT is not a JSON array" ;;
		CMD) mapfile -t cmd < <(jq -r '.[]' <<<"$rest") || die "CMD is not a JSON array" ;;
		*) die "the runtime stage has $word: tools/image-check.sh cannot reproduce it" ;;
		esac
	done
	ARGV=("${entry[@]}" "${cmd[@]}")
	[ -n "$SUITE" ] || die "no FROM in $DOCKERFILE"
	[ -n "$PACKAGES" ] || die "the runtime stage installs no RUNTIME_PACKAGES"
	[[ $RUN_USER =~ ^[0-9]+:[0-9]+$ ]] || die "the runtime stage's USER is '$RUN_USER', not numeric UID:GID"
	[ "${#ARGV[@]}" -gt 0 ] || die "no ENTRYPOINT"
}

# ---- the base: mmdebstrap, cached ----------------------------------------------

# The host's apt sources for SUITE (and its -updates, -security), one-line
# style; deb.debian.org when the host has none.
apt_sources() {
	local lines
	# shellcheck disable=SC2016  # apt's $(FIELD) syntax
	lines=$(apt-get indextargets --format '$(IDENTIFIER) $(SITE) $(RELEASE) $(COMPONENT)' 2>/dev/null |
	    awk -v s="$SUITE" '$1 == "Packages" && $4 == "main" &&
	        ($3 == s || $3 == s "-updates" || $3 == s "-security") { print "deb " $2 " " $3 " main" }' |
	    sort -u)
	[ -n "$lines" ] || lines="deb http://deb.debian.org/debian $SUITE main"
	printf '%s\n' "$lines"
}

# Sets BASE, the cached tarball of the minbase system with PACKAGES.
base_get() {
	local key sources
	command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: tools/deps.sh test installs it"
	mapfile -t sources < <(apt_sources)
	key=$(printf '%s\n' "$SUITE" minbase "$PACKAGES" "${sources[@]}" "$(mmdebstrap --version)" |
	    sha256sum | cut -c1-16)
	BASE=$IMG/base-$key.tar
	if [ -s "$BASE" ]; then
		echo "     base: $BASE (cached)"
		return 0
	fi
	echo "     base: mmdebstrap --variant=minbase --include=${PACKAGES// /,} $SUITE, from:"
	printf '       %s\n' "${sources[@]}"
	rm -rf "$IMG"/base-*.tar "$IMG"/partial-*.tar
	local t0=$SECONDS
	nice mmdebstrap --quiet --variant=minbase --include="${PACKAGES// /,}" "$SUITE" \
	    "$IMG/partial-$key.tar" "${sources[@]}" >"$IMG/mmdebstrap.log" 2>&1 ||
	    { tail -n 20 "$IMG/mmdebstrap.log" >&2; rm -f "$IMG/partial-$key.tar"; die "mmdebstrap failed"; }
	mv "$IMG/partial-$key.tar" "$BASE"
	echo "     base: built in $((SECONDS - t0)) s"
}

# ---- the runtime stage applied ---------------------------------------------------

# copy_one [--from=build] SRC DEST: as COPY does (root's, modes kept);
# --from=build reads the build stage's /out, which is $STAGE here.
copy_one() {
	local from='' src dest
	case $1 in --from=build) from=build; shift ;; --*) die "COPY $1: not known here" ;; esac
	[ $# -eq 2 ] || die "COPY $*: one source and one destination only"
	src=$1 dest=$2
	if [ "$from" = build ]; then
		[[ $src == /out/* ]] || die "COPY --from=build $src: only /out is known here"
		src=$STAGE/${src#/out/}
	else
		src=$ROOT/$src
	fi
	[ -e "$src" ] || die "COPY: $src is missing"
	mkdir -p "$R$(dirname "$dest")"
	cp -a "$src" "$R$dest" && chown -R 0:0 "$R$dest"
}

rootfs_make() {
	local c r
	rm -rf "$R" "$STAGE"
	mkdir -p "$R"
	tar --numeric-owner -xpf "$BASE" -C "$R" || die "cannot unpack $BASE"
	# The build stage's `make install PREFIX=/usr DESTDIR=/out NOBUILD=1`, of
	# $BUILD's binaries; a nested make takes none of the caller's flags.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$ROOT" install NOBUILD=1 \
	    BUILD="$BUILD" PREFIX=/usr DESTDIR="$STAGE" >"$IMG/install.log" 2>&1 ||
	    { cat "$IMG/install.log" >&2; die "make install failed"; }
	for r in "${RUNS[@]}"; do
		echo "     RUN $r"
		chroot "$R" /usr/bin/env -i PATH="$PATH_DOCKER" /bin/sh -ec "$r" ||
		    die "RUN failed in the root file system: $r"
	done
	for c in "${COPIES[@]}"; do
		echo "     COPY $c"
		# shellcheck disable=SC2086  # COPY's words
		copy_one $c
	done
}

# ---- static checks ----------------------------------------------------------------

rootfs_check() {
	local n d found='' lib out conf
	for n in cc gcc c99 clang cpp ld as make; do
		for d in /usr/bin /bin /usr/local/bin; do
			[ -e "$R$d/$n" ] && found="$found $d/$n"
		done
	done
	check_eq "the root file system has no compiler, linker or make" "" "${found# }"
	check_eq "... and no C headers (files under /usr/include)" 0 \
	    "$(find "$R/usr/include" -type f 2>/dev/null | wc -l)"
	for n in "${ARGV[0]}" /usr/bin/passthrough-stats; do
		out=$(chroot "$R" /usr/bin/ldd "$n" 2>&1)
		lib=$(grep -E 'not found|not a dynamic' <<<"$out" | tr -s ' \t\n' ' ')
		check_eq "$n: every shared library it links is in the root file system" "" "${lib% }"
	done
	check_eq "the user $RUN_USER: passthrough, no home, no shell" \
	    "passthrough:x:${RUN_USER%:*}:${RUN_USER#*:}::/nonexistent:/usr/sbin/nologin" \
	    "$(chroot "$R" getent passwd "${RUN_USER%:*}")"
	if [ -n "$XDG" ]; then
		check_eq "XDG_RUNTIME_DIR $XDG: the user's, mode 0700" "$RUN_USER 700" \
		    "$(stat -c '%u:%g %a' "$R$XDG" 2>&1)"
	else
		fail "the runtime stage sets no ENV XDG_RUNTIME_DIR (where a master that is not root keeps its lock)"
	fi
	conf=$(conf_path)
	check_eq "$conf is etc/kubernetes/passthrough.conf" same \
	    "$(cmp -s "$ROOT/etc/kubernetes/passthrough.conf" "$R$conf" && echo same)"
	check_eq "the OCI version label is what passthrough -V says" "passthrough $LABEL_VERSION" \
	    "$(chroot "$R" "${ARGV[0]}" -V 2>&1)"
	check_eq "passthrough -t accepts $conf, run as $RUN_USER" "configuration OK" \
	    "$(chroot --userspec="$RUN_USER" "$R" "${ARGV[0]}" -t -c "$conf" 2>&1)"
}

# The configuration ARGV names (-c FILE).
conf_path() {
	local i
	for ((i = 0; i < ${#ARGV[@]} - 1; i++)); do
		[ "${ARGV[i]}" = -c ] && { echo "${ARGV[i + 1]}"; return; }
	done
	die "the ENTRYPOINT and CMD name no -c FILE"
}

# Sets ROUTE_SNI, ROUTE_HOST, ROUTE_PORT (the configuration's first route)
# and WORKERS; writes the host name into the root file system's /etc/hosts
# as 127.0.0.1 (a cluster's DNS name: the check has no cluster).
route_read() {
	local conf line
	conf=$R$(conf_path)
	line=$(grep -m1 -E '\{ *sni *= *"[^"]+" *; *backends *= *\[ *"[^"]+:[0-9]+"' "$conf") ||
	    die "no route { sni = \"...\"; backends = [ \"HOST:PORT\" ... in $conf"
	ROUTE_SNI=$(sed -E 's/.*sni *= *"([^"]+)".*/\1/' <<<"$line")
	ROUTE_HOST=$(sed -E 's/.*backends *= *\[ *"([^"]+):([0-9]+)".*/\1/' <<<"$line")
	ROUTE_PORT=$(sed -E 's/.*backends *= *\[ *"([^"]+):([0-9]+)".*/\2/' <<<"$line")
	WORKERS=$(sed -nE 's/^workers *= *([0-9]+) *;.*/\1/p' "$conf")
	WORKERS=${WORKERS:-1}
	printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$ROUTE_HOST" >"$R/etc/hosts"
}

# ---- serving, inside unshare -m -n ----------------------------------------------------

# The backend's certificate (for ROUTE_SNI) and the page it serves.
backend_files() {
	mkdir -p "$WORK/www"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	    -subj "/CN=$ROUTE_SNI" -addext "subjectAltName=DNS:$ROUTE_SNI" \
	    -keyout "$WORK/backend.key" -out "$WORK/backend.crt" 2>"$WORK/openssl.log" ||
	    { cat "$WORK/openssl.log" >&2; die "openssl req failed"; }
	MARKER=backend-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	echo "$MARKER" >"$WORK/www/marker.txt"
}

listening() { [ -n "$(ss -Htln "( sport = :$1 )" 2>/dev/null)" ]; }
children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }
# status_of PID FIELD: that line of /proc/PID/status, tabs as spaces.
status_of() { sed -nE "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null | tr -s '\t ' ' ' | sed 's/ $//'; }

# engine_of PID: io_uring or epoll, by the kernel objects the process holds.
engine_of() {
	local links
	links=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null)
	if grep -q '^anon_inode:\[io_uring\]$' <<<"$links"; then
		echo io_uring
	elif grep -q '^anon_inode:\[eventpoll\]$' <<<"$links"; then
		echo epoll
	else
		echo "no known engine"
	fi
}

# serve MODE (image | pod): runs in its own mount and network namespaces.
serve() {
	local mode=$1 listen_port=${PORTS%% *} uid=${RUN_USER%:*} gid=${RUN_USER#*:}
	local env=() wrap=() e srv ns master p i out groups how log=$WORK/$mode.log rc
	ip link set lo up || die "ip link set lo up failed"
	if [ "$mode" = pod ]; then
		# readOnlyRootFilesystem, and the pod's two emptyDirs (medium Memory).
		if ! mount --bind "$R" "$R" || ! mount -o remount,bind,ro "$R"; then
			die "cannot make $R read-only"
		fi
		mount -t tmpfs -o mode=0777 pt-shm "$R/dev/shm" || die "cannot mount /dev/shm"
		mount -t tmpfs -o mode=0777 pt-run "$R${XDG:-/run/passthrough}" || die "cannot mount the run directory"
	else
		# docker run: a private tmpfs at /dev/shm.
		mount -t tmpfs -o mode=1777,size=64m pt-shm "$R/dev/shm" || die "cannot mount /dev/shm"
	fi
	# The host's pid view for the tools run beside the proxy (a sidecar's
	# view: another pid namespace); the proxy gets its own below.
	mount -t proc proc "$R/proc" || die "cannot mount /proc"
	(cd "$WORK/www" && exec openssl s_server -quiet -accept "127.0.0.1:$ROUTE_PORT" \
	    -cert "$WORK/backend.crt" -key "$WORK/backend.key" -WWW) >"$WORK/s_server-$mode.log" 2>&1 &
	srv=$!
	for e in "${ENVS[@]}"; do env+=("$e"); done
	# The pod on the RuntimeDefault seccomp profile, which denies io_uring:
	# the configuration's events = "auto" must serve on epoll there.
	[ "$mode" = pod ] && wrap=("$PTNOURING")
	"${wrap[@]}" unshare --pid --fork --mount-proc="$R/proc" \
	    chroot --userspec="$uid:$gid" "$R" /usr/bin/env -i PATH="$PATH_DOCKER" HOME=/nonexistent \
	    "${env[@]}" "${ARGV[@]}" 2>"$log" &
	ns=$!
	for ((i = 0; i < 100; i++)); do
		master=$(children "$ns")
		[ -n "$master" ] && listening "$listen_port" && listening "$ROUTE_PORT" &&
		    [ "$(wc -w <<<"$(children "$master")")" -ge "$WORKERS" ] &&
		    [ "$(grep -c 'info: started:' "$log")" -ge "$WORKERS" ] && break
		kill -0 "$ns" 2>/dev/null || break
		sleep 0.1
	done
	if ! kill -0 "$ns" 2>/dev/null || ! listening "$listen_port"; then
		fail "$mode: passthrough did not start (its log below)"
		sed 's/^/       | /' "$log"
		kill "$srv" 2>/dev/null
		return
	fi
	pass "$mode: ${ARGV[*]} listens on port $listen_port as $RUN_USER"
	check_eq "$mode: the master is PID 1 of its pid namespace" 1 "$(status_of "$master" NSpid | awk '{ print $NF }')"
	check_eq "$mode: workers" "$WORKERS" "$(wc -w <<<"$(children "$master")")"
	for p in $(children "$master"); do
		if [ "$mode" = pod ]; then
			check_eq "$mode: pid $p runs on epoll (io_uring denied)" epoll "$(engine_of "$p")"
		else
			echo "     $mode: pid $p runs on $(engine_of "$p")"
		fi
	done
	for p in "$master" $(children "$master"); do
		check_eq "$mode: pid $p ($(cat "/proc/$p/comm")) uid" "$uid $uid $uid $uid" "$(status_of "$p" Uid)"
		check_eq "$mode: pid $p gid" "$gid $gid $gid $gid" "$(status_of "$p" Gid)"
		# None, or only its own group (containerd adds the primary gid).
		groups=$(status_of "$p" Groups)
		check_eq "$mode: pid $p supplementary groups: none but $gid" "" "${groups//$gid/}"
		check_eq "$mode: pid $p capabilities (permitted, effective)" \
		    "0000000000000000 0000000000000000" "$(status_of "$p" CapPrm) $(status_of "$p" CapEff)"
	done
	out=$(curl -sS --max-time 10 --cacert "$WORK/backend.crt" \
	    --resolve "$ROUTE_SNI:$listen_port:127.0.0.1" "https://$ROUTE_SNI:$listen_port/marker.txt" 2>&1)
	check_eq "$mode: https://$ROUTE_SNI:$listen_port/ through passthrough reached $ROUTE_HOST:$ROUTE_PORT" \
	    "$MARKER" "$out"
	check_eq "$mode: the master's lock is in XDG_RUNTIME_DIR (${XDG:-unset})" yes \
	    "$(find "$R${XDG:-/nonexistent}/passthrough" -name '*.lock' -uid "$uid" 2>/dev/null | grep -q . && echo yes)"
	out=$(chroot --userspec="$uid:$gid" "$R" /usr/bin/env -i PATH="$PATH_DOCKER" "${env[@]}" \
	    /usr/bin/passthrough-stats -c "$(conf_path)" --prometheus 2>&1)
	rc=$?
	check_eq "$mode: passthrough-stats reads the statistics from /dev/shm as $RUN_USER (exit status)" 0 "$rc"
	if grep -qE '^passthrough_connections_accepted_total(\{[^}]*\})? [1-9]' <<<"$out"; then
		pass "$mode: ... and counts the connection (passthrough_connections_accepted_total)"
	else
		fail "$mode: ... passthrough_connections_accepted_total is not 1 or more in:"
		head -n 10 <<<"$out" | sed 's/^/       | /'
	fi
	if [ "$mode" = pod ]; then
		# The pod's preStop hook: a shell in the container (same pid and
		# mount namespaces, root directory and user) sends SIGQUIT to PID 1,
		# which a PID 1 gets only for a signal it handles: graceful stop.
		how="SIGQUIT from a shell in the container (the preStop hook)"
		nsenter --target "$master" --pid --mount --root --wd --setuid "$uid" --setgid "$gid" \
		    /bin/sh -c 'kill -QUIT 1' >"$WORK/prestop.log" 2>&1
		check_eq "$mode: /bin/sh in the container, as $RUN_USER, ran kill -QUIT 1" 0 "$?"
	else
		# docker stop: SIGTERM to PID 1, from outside its namespace.
		how=SIGTERM
		kill -TERM "$master"
	fi
	for ((i = 0; i < 100; i++)); do kill -0 "$ns" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$ns" 2>/dev/null; then
		fail "$mode: passthrough did not exit within 10 s of $how"
		kill -KILL "$master" 2>/dev/null
	fi
	wait "$ns"
	check_eq "$mode: passthrough exits 0 on $how" 0 "$?"
	if [ "$mode" = pod ]; then
		check_eq "$mode: ... after a graceful stop (its workers logged 'retiring')" "$WORKERS" \
		    "$(grep -c 'info: retiring: ' "$log")"
	fi
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	if [ "$FAILS" -gt 0 ]; then
		echo "     --- $mode: passthrough's log"
		sed 's/^/       | /' "$log"
	fi
}

# ---- main ----------------------------------------------------------------------------

dockerfile_read
XDG=
for e in "${ENVS[@]}"; do
	case $e in XDG_RUNTIME_DIR=*) XDG=${e#XDG_RUNTIME_DIR=} ;; esac
done

if [ "${1:-}" = --serve ]; then
	# Re-executed by the main run below, in private namespaces.
	ROUTE_SNI=$3 ROUTE_HOST=$4 ROUTE_PORT=$5 WORKERS=$6 MARKER=$7
	serve "$2"
	exit $((FAILS > 0))
fi

[ "$(id -u)" = 0 ] || die "run it as root (mmdebstrap, chroot, namespaces)"
/usr/bin/python3 -c 'import seccomp' 2>/dev/null ||
    die "python3-seccomp is missing (tests/tools/ptnouring): tools/deps.sh test installs it"
for c in jq openssl curl ss unshare nsenter chroot; do
	command -v "$c" >/dev/null || die "$c is missing: tools/deps.sh test installs it"
done
for b in "$BUILD/passthrough" "$BUILD/passthrough-stats"; do
	[ -x "$b" ] || die "$b is missing: make BUILD=${BUILD#"$ROOT"/} all"
done
if ldd "$BUILD/passthrough" | grep -qE 'libasan|libubsan'; then
	die "$BUILD/passthrough is a sanitized build: the image's libraries do not include the sanitizers' (use a plain BUILD)"
fi
mkdir -p "$IMG"
echo "image-check: the runtime stage of $DOCKERFILE: $SUITE, packages: $PACKAGES; user $RUN_USER; ${ARGV[*]}"
base_get
rootfs_make
route_read
rootfs_check
rm -rf "$WORK"
mkdir -p "$WORK"
backend_files
for mode in image pod; do
	echo "--- $mode: ${ARGV[*]} (route $ROUTE_SNI -> $ROUTE_HOST:$ROUTE_PORT)"
	unshare --mount --net --propagation private "$SELF" --serve "$mode" \
	    "$ROUTE_SNI" "$ROUTE_HOST" "$ROUTE_PORT" "$WORKERS" "$MARKER" || FAILS=$((FAILS + 1))
done
[ "${IMAGE_CHECK_KEEP:-0}" = 1 ] || rm -rf "$R" "$STAGE" "$WORK"
if [ "$FAILS" -gt 0 ]; then
	echo "image-check: FAILED"
	exit 1
fi
echo "image-check: ok"
