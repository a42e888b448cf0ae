#!/bin/bash
# image-check.sh -- proves the container image's runtime stage without a
# container engine (`make image-check`; as root, with the network to the
# Debian mirror). It builds the root file system the Dockerfile's runtime
# stage describes: mmdebstrap --variant=minbase with the stage's
# RUNTIME_PACKAGES and nothing else, then the stage's RUN and COPY lines
# (the binaries of $BUILD, installed with make install NOBUILD=1
# PREFIX=/usr). In a private network namespace it runs the stage's
# ENTRYPOINT and CMD in it, as its USER with its ENV, as PID 1 of a pid
# namespace, twice: as `docker run` would (stopped by SIGTERM), and as the
# pod does (read-only root, emptyDirs at /dev/shm and XDG_RUNTIME_DIR,
# io_uring denied as by the RuntimeDefault seccomp profile:
# tests/tools/ptnouring; stopped by kill -QUIT 1 from /bin/sh inside, the
# preStop hook). Each time real TLS connections (127.0.0.1 and [::1]) to
# the configuration's first route go through it to an openssl s_server
# backend (the route's host name is 127.0.0.1 in the file system's
# /etc/hosts); the master and its workers must run as that user with no
# capability and no supplementary group but its own, and passthrough-stats
# (in the pod: as the metrics sidecar sees /dev/shm, read-only) must count
# the connections. passthrough-gateway (the pod's controller container in
# etc/kubernetes/gateway) must find its libraries, say the image's version
# and render a fixture into a configuration passthrough -t accepts. Prints "ok   WHAT" or "FAIL WHAT" per check; exits 1 if
# one failed.
#
# The build stage is by default not run but stood in for: its `make install
# PREFIX=/usr DESTDIR=/out NOBUILD=1` of $BUILD's binaries. With
# IMAGE_CHECK_BUILD_STAGE=1 (make image-check IMAGE_CHECK_BUILD_STAGE=1) it
# runs too, in a bookworm root file system with its BUILD_PACKAGES: its COPY
# of the tree (less .dockerignore's patterns), its RUN lines (~80 s more
# the first time: ~700 MB of packages, cached as a tar too).
#
# Environment: BUILD (default build; a plain build: a sanitized one links
# libraries the image has not), DOCKERFILE (default the tree's),
# IMAGE_CHECK_KEEP=1 keeps $BUILD/image/rootfs and buildroot. The
# mmdebstrap results are cached in $BUILD/image/base-STAGE-KEY.tar, KEY a
# hash of the suite, package list and apt sources: only the first run
# downloads (~30 MB and ~45 s for the runtime stage).
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

# ---- the Dockerfile -------------------------------------------------------------
# The one apt-get line a stage may have, with $VAR its package list (an ARG):
# mmdebstrap installs those packages instead.
# shellcheck disable=SC2016  # $VAR: a place holder
APT_RUN='apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $VAR && rm -rf /var/lib/apt/lists/*'

# stage_read build|runtime: the Dockerfile's stage "FROM ... AS build", or
# its last stage, from its logical lines (continuations joined, comment
# lines dropped). Sets SUITE, PACKAGES, STEPS[] (each RUN but the apt-get
# one, and each COPY, in order, as "RUN|WORKDIR|COMMAND" or
# "COPY|WORKDIR|ARGUMENTS"), ARGS (name -> value), ENVS[], RUN_USER, PORTS,
# ARGV[] (ENTRYPOINT then CMD), LABEL_VERSION; an instruction the check
# cannot reproduce stops it.
stage_read() {
	local which=$1 line logical='' lines=() in=0 l word rest name value var workdir=/
	local entry=() cmd=()
	[ -f "$DOCKERFILE" ] || die "no $DOCKERFILE"
	while IFS= read -r line || [ -n "$line" ]; do
		[[ $line =~ ^[[:space:]]*# ]] && continue
		if [[ $line =~ \\$ ]]; then
			logical+="${line%\\} "
			continue
		fi
		logical+=$line
		line=$(tr -s ' \t' ' ' <<<"$logical" | sed -E 's/^ //; s/ $//')
		logical=
		[ -n "$line" ] || continue
		if [[ $line =~ ^FROM\  ]]; then
			[ "$which" = runtime ] && lines=()
			in=0
			[ "$which" = runtime ] || [[ $line =~ \ AS\ build$ ]] && in=1
		fi
		[ "$in" = 1 ] && lines+=("$line")
	done <"$DOCKERFILE"
	[ "${#lines[@]}" -gt 0 ] || die "no $which stage in $DOCKERFILE"
	declare -gA ARGS=()
	STEPS=() ENVS=() ARGV=() PACKAGES='' RUN_USER='' PORTS='' LABEL_VERSION='' SUITE=''
	for l in "${lines[@]}"; do
		word=${l%% *}
		rest=${l#* }
		case $word in
		FROM)
			case $rest in
			debian:12-slim | "debian:12-slim AS build") SUITE=bookworm ;;
			*) die "the $which stage is FROM $rest: only debian:12-slim (bookworm) is known here" ;;
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
			if grep -q 'apt-get' <<<"$rest"; then
				var=$(grep -oE '\$[A-Z_]+_PACKAGES' <<<"$rest" | head -n 1)
				[ "$rest" = "${APT_RUN//\$VAR/$var}" ] ||
				    die "the $which stage's apt-get RUN is not, exactly: ${APT_RUN//\$VAR/\$NAME_PACKAGES}"
				PACKAGES=${ARGS[${var#\$}]:-}
			else
				STEPS+=("RUN|$workdir|$rest")
			fi ;;
		WORKDIR) workdir=$rest ;;
		COPY) STEPS+=("COPY|$workdir|$rest") ;;
		ENV) ENVS+=("$rest") ;;
		USER) RUN_USER=$rest ;;
		EXPOSE) PORTS=$rest ;;
		ENTRYPOINT) mapfile -t entry < <(jq -r '.[]' <<<"$rest") || die "ENTRYPOINT is not a JSON array" ;;
		CMD) mapfile -t cmd < <(jq -r '.[]' <<<"$rest") || die "CMD is not a JSON array" ;;
		*) die "the $which stage has $word: tools/image-check.sh cannot reproduce it" ;;
		esac
	done
	ARGV=("${entry[@]}" "${cmd[@]}")
	[ -n "$PACKAGES" ] || die "the $which stage installs no packages (ARG NAME_PACKAGES and $APT_RUN)"
	[ "$which" = build ] && return 0
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

# base_get build|runtime: sets BASE, the cached tarball of the minbase
# system with that stage's PACKAGES.
base_get() {
	local which=$1 key sources
	command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: tools/deps.sh test installs it"
	mapfile -t sources < <(apt_sources)
	key=$(printf '%s\n' "$SUITE" minbase "$PACKAGES" "${sources[@]}" "$(mmdebstrap --version)" |
	    sha256sum | cut -c1-16)
	BASE=$IMG/base-$which-$key.tar
	if [ -s "$BASE" ]; then
		echo "     base: $BASE (cached)"
		return 0
	fi
	echo "     base: mmdebstrap --variant=minbase --include=${PACKAGES// /,} $SUITE, from:"
	printf '       %s\n' "${sources[@]}"
	rm -rf "$IMG/base-$which-"*.tar "$IMG"/partial-*.tar
	local t0=$SECONDS
	nice mmdebstrap --quiet --variant=minbase --include="${PACKAGES// /,}" "$SUITE" \
	    "$IMG/partial-$key.tar" "${sources[@]}" >"$IMG/mmdebstrap.log" 2>&1 ||
	    { tail -n 20 "$IMG/mmdebstrap.log" >&2; rm -f "$IMG/partial-$key.tar"; die "mmdebstrap failed"; }
	mv "$IMG/partial-$key.tar" "$BASE"
	echo "     base: built in $((SECONDS - t0)) s"
}

# ---- a stage applied -------------------------------------------------------------

# copy_one INTO WORKDIR [--from=build] SRC DEST: as COPY does into the root
# file system INTO (root's, modes kept): --from=build reads the build
# stage's root file system, FROM_BUILD; SRC "." is the context (the tree
# less .dockerignore's patterns); else SRC is a file of the tree.
copy_one() {
	local into=$1 workdir=$2 from='' src dest p excludes=()
	shift 2
	case $1 in --from=build) from=build; shift ;; --*) die "COPY $1: not known here" ;; esac
	[ $# -eq 2 ] || die "COPY $*: one source and one destination only"
	src=$1 dest=$2
	[[ $dest == /* ]] || dest=$workdir/$dest
	if [ "$from" = build ]; then
		src=$FROM_BUILD$src
	elif [ "$src" = . ]; then
		while IFS= read -r p; do
			[[ $p =~ ^[[:space:]]*(#|$) ]] || excludes+=(--exclude="./${p%/}")
		done <"$ROOT/.dockerignore"
		mkdir -p "$into$dest"
		tar -C "$ROOT" "${excludes[@]}" -cf - . | tar -C "$into$dest" --no-same-owner -xf - ||
		    die "COPY . $dest failed"
		return 0
	else
		src=$ROOT/$src
	fi
	[ -e "$src" ] || die "COPY: $src is missing"
	mkdir -p "$into$(dirname "$dest")"
	cp -a "$src" "$into$dest" && chown -R 0:0 "$into$dest"
}

# stage_apply INTO: the STEPS of the stage read last, applied to the root
# file system INTO: RUN in a chroot (in a private mount namespace with
# /proc, the ARGs and ENVs in the environment), COPY by copy_one.
stage_apply() {
	local into=$1 step kind dir rest env=() a
	for a in "${!ARGS[@]}"; do env+=("$a=${ARGS[$a]}"); done
	env+=("${ENVS[@]}")
	for step in "${STEPS[@]}"; do
		kind=${step%%|*}
		rest=${step#*|}
		dir=${rest%%|*}
		rest=${rest#*|}
		echo "     $kind $rest"
		if [ "$kind" = RUN ]; then
			# shellcheck disable=SC2016  # expanded by the inner shell
			unshare --mount --propagation private sh -ec 'mount -t proc proc "$1/proc"; shift; exec chroot "$@"' \
			    sh "$into" "$into" /usr/bin/env -i PATH="$PATH_DOCKER" "${env[@]}" \
			    /bin/sh -ec "mkdir -p '$dir' && cd '$dir' && $rest" >>"$IMG/run.log" 2>&1 ||
			    { tail -n 30 "$IMG/run.log" >&2; die "RUN failed in $into: $rest"; }
		else
			# shellcheck disable=SC2086  # COPY's words
			copy_one "$into" "$dir" $rest
		fi
	done
}

# The build stage: with IMAGE_CHECK_BUILD_STAGE=1 the Dockerfile's own
# (its packages, its COPY of the tree, its make and make install, in a
# bookworm root file system), into $IMG/buildroot; otherwise what it
# installs, from $BUILD's binaries: `make install NOBUILD=1 PREFIX=/usr
# DESTDIR=/out` into $IMG/buildroot/out (a nested make takes none of the
# caller's flags). Sets FROM_BUILD.
build_stage() {
	FROM_BUILD=$IMG/buildroot
	rm -rf "$FROM_BUILD"
	mkdir -p "$FROM_BUILD"
	if [ "${IMAGE_CHECK_BUILD_STAGE:-0}" = 1 ]; then
		stage_read build
		echo "--- the build stage: $PACKAGES"
		base_get build
		tar --numeric-owner -xpf "$BASE" -C "$FROM_BUILD" || die "cannot unpack $BASE"
		stage_apply "$FROM_BUILD"
		return 0
	fi
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$ROOT" install NOBUILD=1 \
	    BUILD="$BUILD" PREFIX=/usr DESTDIR="$FROM_BUILD/out" >"$IMG/install.log" 2>&1 ||
	    { cat "$IMG/install.log" >&2; die "make install failed"; }
}

rootfs_make() {
	rm -rf "$R"
	mkdir -p "$R"
	tar --numeric-owner -xpf "$BASE" -C "$R" || die "cannot unpack $BASE"
	stage_apply "$R"
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
	for n in "${ARGV[0]}" /usr/bin/passthrough-stats /usr/bin/passthrough-gateway; do
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
	if [ "${IMAGE_CHECK_BUILD_STAGE:-0}" = 1 ]; then
		check_eq "the build stage's passthrough defaults to $(conf_path) (built with PREFIX=/usr)" \
		    "$(conf_path)" "$(chroot "$R" "${ARGV[0]}" -h 2>&1 | sed -nE 's/.*configuration file \(default ([^)]*)\).*/\1/p')"
	fi
	check_eq "the OCI version label is what passthrough -V says" "passthrough $LABEL_VERSION" \
	    "$(chroot "$R" "${ARGV[0]}" -V 2>&1)"
	check_eq "passthrough -t accepts $conf, run as $RUN_USER" "configuration OK" \
	    "$(chroot --userspec="$RUN_USER" "$R" "${ARGV[0]}" -t -c "$conf" 2>&1)"
	gateway_check
}

# passthrough-gateway in the root file system, as the pod's controller
# container runs it (etc/kubernetes/gateway): its version is the image's,
# and it renders the fixture tests/gateway/fixtures/simple with the
# component's base, as RUN_USER, into a configuration the image's
# passthrough -t accepts.
gateway_check() {
	local gw=/usr/bin/passthrough-gateway in=/tmp/image-check-gateway out
	check_eq "$gw --version is the image's version" "passthrough-gateway $LABEL_VERSION" \
	    "$(chroot --userspec="$RUN_USER" "$R" "$gw" --version 2>&1)"
	rm -rf "$R$in"
	mkdir -p "$R$in" || die "mkdir $R$in"
	cp "$ROOT"/tests/gateway/fixtures/simple/*.yaml "$ROOT/etc/kubernetes/gateway/passthrough.conf" "$R$in/" &&
	    chmod -R a+rX "$R$in" && chmod 0777 "$R$in" || die "copying the gateway fixture into $R$in"
	out=$(chroot --userspec="$RUN_USER" "$R" "$gw" render --base "$in/passthrough.conf" \
	    "$in/gateway.yaml" "$in/route.yaml" 2>&1 >"$R$in/rendered.conf")
	check_eq "$gw render of tests/gateway/fixtures/simple, run as $RUN_USER (its errors)" "" "$out"
	check_eq "... routes app.example.com to the fixture's Service" 1 \
	    "$(grep -c '{ sni = "app.example.com"; backends = ($' "$R$in/rendered.conf")"
	check_eq "... and passthrough -t accepts what it rendered, run as $RUN_USER" "configuration OK" \
	    "$(chroot --userspec="$RUN_USER" "$R" "${ARGV[0]}" -t -c "$in/rendered.conf" 2>&1)"
	# etc/kubernetes/gateway's startupProbe: the proxy starts once it passes.
	check_eq "... and the pod's startupProbe (/usr/bin/test -s) finds it, run as $RUN_USER" 0 \
	    "$(chroot --userspec="$RUN_USER" "$R" /usr/bin/test -s "$in/rendered.conf"; echo $?)"
	rm -rf "$R$in"
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

# serve_mounts MODE: the container's mounts on the root file system.
serve_mounts() {
	if [ "$1" = pod ]; then
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
	# view: another pid namespace); the proxy gets its own.
	mount -t proc proc "$R/proc" || die "cannot mount /proc"
	STATS_ROOT=$R STATS_VIEW="/dev/shm"
	[ "$1" = pod ] || return 0
	# The metrics sidecar's container: the same image, read-only, with the
	# shm emptyDir mounted read-only.
	STATS_ROOT=$WORK/sidecar STATS_VIEW="the metrics sidecar's read-only /dev/shm"
	mkdir -p "$STATS_ROOT"
	if ! mount --bind "$R" "$STATS_ROOT" || ! mount -o remount,bind,ro "$STATS_ROOT" ||
	    ! mount --bind "$R/dev/shm" "$STATS_ROOT/dev/shm" ||
	    ! mount -o remount,bind,ro "$STATS_ROOT/dev/shm" ||
	    ! mount -t proc proc "$STATS_ROOT/proc"; then
		die "cannot make the sidecar's root"
	fi
}

# serve_start MODE: the backend (SRV_PID) and ENTRYPOINT + CMD as USER with
# ENV, chrooted, as PID 1 of a new pid namespace (NS_PID: unshare, whose
# child is the master, MASTER_PID). 0 once it listens with every worker.
serve_start() {
	local mode=$1 wrap=() i
	(cd "$WORK/www" && exec openssl s_server -quiet -accept "127.0.0.1:$ROUTE_PORT" \
	    -cert "$WORK/backend.crt" -key "$WORK/backend.key" -WWW) >"$WORK/s_server-$mode.log" 2>&1 &
	SRV_PID=$!
	# The pod on the RuntimeDefault seccomp profile, which denies io_uring:
	# the configuration's events = "auto" must serve on epoll there.
	[ "$mode" = pod ] && wrap=("$PTNOURING")
	"${wrap[@]}" unshare --pid --fork --mount-proc="$R/proc" \
	    chroot --userspec="$UID_:$GID_" "$R" /usr/bin/env -i PATH="$PATH_DOCKER" HOME=/nonexistent \
	    "${ENVS[@]}" "${ARGV[@]}" 2>"$LOG" &
	NS_PID=$!
	for ((i = 0; i < 100; i++)); do
		MASTER_PID=$(children "$NS_PID")
		[ -n "$MASTER_PID" ] && listening "$LISTEN_PORT" && listening "$ROUTE_PORT" &&
		    [ "$(wc -w <<<"$(children "$MASTER_PID")")" -ge "$WORKERS" ] &&
		    [ "$(grep -c 'info: started:' "$LOG")" -ge "$WORKERS" ] && return 0
		kill -0 "$NS_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "$mode: passthrough did not start with $WORKERS workers listening on $LISTEN_PORT (its log below)"
	sed 's/^/       | /' "$LOG"
	return 1
}

# serve_check_processes MODE: PID 1, the workers, their engine, user,
# groups and capabilities.
serve_check_processes() {
	local mode=$1 p groups
	check_eq "$mode: the master is PID 1 of its pid namespace" 1 \
	    "$(status_of "$MASTER_PID" NSpid | awk '{ print $NF }')"
	check_eq "$mode: workers" "$WORKERS" "$(wc -w <<<"$(children "$MASTER_PID")")"
	for p in $(children "$MASTER_PID"); do
		if [ "$mode" = pod ]; then
			check_eq "$mode: pid $p runs on epoll (io_uring denied)" epoll "$(engine_of "$p")"
		else
			echo "     $mode: pid $p runs on $(engine_of "$p")"
		fi
	done
	for p in "$MASTER_PID" $(children "$MASTER_PID"); do
		check_eq "$mode: pid $p ($(cat "/proc/$p/comm")) uid" "$UID_ $UID_ $UID_ $UID_" "$(status_of "$p" Uid)"
		check_eq "$mode: pid $p gid" "$GID_ $GID_ $GID_ $GID_" "$(status_of "$p" Gid)"
		# None, or only its own group (containerd adds the primary gid).
		groups=$(status_of "$p" Groups)
		check_eq "$mode: pid $p supplementary groups: none but $GID_" "" "${groups//$GID_/}"
		check_eq "$mode: pid $p capabilities (permitted, effective)" \
		    "0000000000000000 0000000000000000" "$(status_of "$p" CapPrm) $(status_of "$p" CapEff)"
	done
}

# serve_check_traffic MODE: TLS through it to the backend, the lock, the
# statistics.
serve_check_traffic() {
	local mode=$1 out rc a
	# The configuration listens on IPv4 and IPv6: both addresses of lo.
	for a in 127.0.0.1 '[::1]'; do
		out=$(curl -sS --max-time 10 --cacert "$WORK/backend.crt" \
		    --resolve "$ROUTE_SNI:$LISTEN_PORT:$a" "https://$ROUTE_SNI:$LISTEN_PORT/marker.txt" 2>&1)
		check_eq "$mode: https://$ROUTE_SNI:$LISTEN_PORT/ on $a through passthrough reached $ROUTE_HOST:$ROUTE_PORT" \
		    "$MARKER" "$out"
	done
	check_eq "$mode: the master's lock is in XDG_RUNTIME_DIR (${XDG:-unset})" yes \
	    "$(find "$R${XDG:-/nonexistent}/passthrough" -name '*.lock' -uid "$UID_" 2>/dev/null | grep -q . && echo yes)"
	out=$(chroot --userspec="$UID_:$GID_" "$STATS_ROOT" /usr/bin/env -i PATH="$PATH_DOCKER" "${ENVS[@]}" \
	    /usr/bin/passthrough-stats -c "$(conf_path)" --prometheus 2>&1)
	rc=$?
	check_eq "$mode: passthrough-stats reads the statistics from $STATS_VIEW as $RUN_USER (exit status)" 0 "$rc"
	if grep -qE '^passthrough_connections_accepted_total(\{[^}]*\})? 2$' <<<"$out"; then
		pass "$mode: ... and counts the 2 connections (passthrough_connections_accepted_total)"
	else
		fail "$mode: ... passthrough_connections_accepted_total is not 2 in:"
		head -n 10 <<<"$out" | sed 's/^/       | /'
	fi
}

# serve_stop MODE: image: SIGTERM from outside (docker stop); pod: the
# preStop hook, a shell in the container (its pid and mount namespaces,
# root directory and user) sending SIGQUIT to PID 1, which a PID 1 gets
# only for a signal it handles: a graceful stop. Either: exit status 0.
serve_stop() {
	local mode=$1 how i
	if [ "$mode" = pod ]; then
		how="SIGQUIT from a shell in the container (the preStop hook)"
		nsenter --target "$MASTER_PID" --pid --mount --root --wd --setuid "$UID_" --setgid "$GID_" \
		    /bin/sh -c 'kill -QUIT 1' >"$WORK/prestop.log" 2>&1
		check_eq "$mode: /bin/sh in the container, as $RUN_USER, ran kill -QUIT 1" 0 "$?"
	else
		how=SIGTERM
		kill -TERM "$MASTER_PID"
	fi
	for ((i = 0; i < 100; i++)); do kill -0 "$NS_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$NS_PID" 2>/dev/null; then
		fail "$mode: passthrough did not exit within 10 s of $how"
		kill -KILL "$MASTER_PID" 2>/dev/null
	fi
	wait "$NS_PID"
	check_eq "$mode: passthrough exits 0 on $how" 0 "$?"
	NS_PID=
	if [ "$mode" = pod ]; then
		check_eq "$mode: ... after a graceful stop (its workers logged 'retiring')" "$WORKERS" \
		    "$(grep -c 'info: retiring: ' "$LOG")"
	fi
}

# Whatever ended the run: nothing it started stays (PID 1 of the pid
# namespace takes the rest with it).
serve_cleanup() {
	[ -n "${NS_PID:-}" ] && [ -n "${MASTER_PID:-}" ] && kill -KILL "$MASTER_PID" 2>/dev/null
	[ -n "${NS_PID:-}" ] && kill -KILL "$NS_PID" 2>/dev/null
	[ -n "${SRV_PID:-}" ] && kill "$SRV_PID" 2>/dev/null
	wait 2>/dev/null
}

# serve MODE (image | pod): runs in its own mount and network namespaces.
serve() {
	local mode=$1
	LISTEN_PORT=${PORTS%% *} UID_=${RUN_USER%:*} GID_=${RUN_USER#*:} LOG=$WORK/$mode.log
	SRV_PID='' NS_PID='' MASTER_PID=''
	trap serve_cleanup EXIT
	ip link set lo up || die "ip link set lo up failed"
	serve_mounts "$mode"
	serve_start "$mode" || return
	pass "$mode: ${ARGV[*]} listens on port $LISTEN_PORT as $RUN_USER"
	serve_check_processes "$mode"
	serve_check_traffic "$mode"
	serve_stop "$mode"
	if [ "$FAILS" -gt 0 ]; then
		echo "     --- $mode: passthrough's log"
		sed 's/^/       | /' "$LOG"
	fi
}

# ---- main ----------------------------------------------------------------------------

stage_read runtime
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
for b in "$BUILD/passthrough" "$BUILD/passthrough-stats" "$BUILD/passthrough-gateway"; do
	[ -x "$b" ] || die "$b is missing: make BUILD=${BUILD#"$ROOT"/} all"
done
if ldd "$BUILD/passthrough" | grep -qE 'libasan|libubsan'; then
	die "$BUILD/passthrough is a sanitized build: the image's libraries do not include the sanitizers' (use a plain BUILD)"
fi
mkdir -p "$IMG"
: >"$IMG/run.log"
build_stage
stage_read runtime
echo "image-check: the runtime stage of $DOCKERFILE: $SUITE, packages: $PACKAGES; user $RUN_USER; ${ARGV[*]}"
base_get runtime
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
[ "${IMAGE_CHECK_KEEP:-0}" = 1 ] || rm -rf "$R" "$FROM_BUILD" "$WORK"
if [ "$FAILS" -gt 0 ]; then
	echo "image-check: FAILED"
	exit 1
fi
echo "image-check: ok"
