#!/bin/bash
# Guards the container image's runtime stage (Dockerfile), built without a container engine by tools/image-check.sh: the Debian root file system with only the stage's RUNTIME_PACKAGES, its RUN and COPY lines and this build's binaries has passthrough-gateway with all its libraries (it renders a fixture there, as uid 10001, into a configuration passthrough -t accepts), and runs its ENTRYPOINT and CMD as uid/gid 10001 with no capability, as PID 1 of its pid namespace, on port 8443, both as `docker run` would (stopped by SIGTERM) and as the pod does (read-only root, emptyDirs, io_uring denied: epoll; stopped gracefully by kill -QUIT 1 from /bin/sh in the container, the preStop hook), and routes real TLS connections (on 127.0.0.1 and [::1]) to the route's backend each time, which passthrough-stats counts (in the pod from the metrics sidecar's view: /dev/shm read-only); the stage has no compiler or headers; the Dockerfile's build packages are tools/deps.sh's build list less libcriterion-dev.
# once: builds a Debian root file system (mmdebstrap: ~45 s and ~30 MB from the mirror on a fresh machine, then cached in $BUILD/image); a sanitized build cannot run in it (the image has not the sanitizers' libraries) and changes nothing in the image.
. "$(dirname "$0")/lib.sh"

# The check installs $BUILD's binaries into the image: a sanitized BUILD
# (ONCE=1 with BUILD=build/sanitize) gets a plain build of its own beside.
IMAGE_BUILD=$BUILD
if ldd "$PT" | grep -qE 'libasan|libubsan'; then
	IMAGE_BUILD=$BUILD/plain
	echo "--- $PT is sanitized: a plain build into $IMAGE_BUILD"
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE nice make -s -C "$ROOT" -j2 \
	    WERROR=1 BUILD="$IMAGE_BUILD" all >"$T/make.log" 2>&1 || { tail -n 20 "$T/make.log"; die "make failed"; }
fi

echo "--- the Dockerfile"
df_arg() { sed -nE "s/^ARG $1=\"([^\"]*)\"\$/\\1/p" Dockerfile; }
deps_build=$(sed -nE 's/^build="([^"]*)"$/\1/p' tools/deps.sh)
check_eq "the build stage installs tools/deps.sh's build list less libcriterion-dev" \
    "$(tr ' ' '\n' <<<"$deps_build" | grep -vx libcriterion-dev | sort | xargs)" \
    "$(df_arg BUILD_PACKAGES | tr ' ' '\n' | sort | xargs)"
check_eq "two stages, both debian:12-slim" "2 2" \
    "$(grep -c '^FROM ' Dockerfile) $(grep -cE '^FROM debian:12-slim( |$)' Dockerfile)"
check_eq "the image runs as 10001:10001" "USER 10001:10001" "$(grep '^USER ' Dockerfile)"
check_eq "it exposes the listener and the metrics sidecar's port" "EXPOSE 8443 9100" "$(grep '^EXPOSE ' Dockerfile)"
check_eq ".dockerignore leaves out the build output and git's data" "build/ .git" \
    "$(grep -xE 'build/|\.git' .dockerignore | tr '\n' ' ' | sed 's/ $//')"

echo "--- tools/image-check.sh (BUILD=$IMAGE_BUILD)"
t0=$(date +%s)
out=$(BUILD=$IMAGE_BUILD tools/image-check.sh 2>&1)
rc=$?
echo "     took $(( $(date +%s) - t0 )) s"
# shellcheck disable=SC2001  # per line
sed 's/^/     | /' <<<"$out"
check_eq "image-check exit status" 0 "$rc"
check_no_match "image-check: no check failed" '^FAIL' "$out"
check_match "the runtime packages are the Dockerfile's" \
    "packages: $(df_arg RUNTIME_PACKAGES);" "$out"
check_match "no compiler in the root file system" '^ok   the root file system has no compiler' "$out"
check_match "no headers" '^ok   \.\.\. and no C headers \(files under /usr/include\): 0$' "$out"
check_match "passthrough's libraries are all there" '^ok   /usr/sbin/passthrough: every shared library it links' "$out"
check_match "passthrough-gateway's libraries are all there (libcurl, libjansson, libyaml, libconfig)" \
    '^ok   /usr/bin/passthrough-gateway: every shared library it links' "$out"
check_match "passthrough-gateway --version runs in it and is the image's" \
    '^ok   /usr/bin/passthrough-gateway --version is the image.s version: passthrough-gateway [0-9]' "$out"
check_match "passthrough-gateway renders a fixture in it as the user" \
    '^ok   /usr/bin/passthrough-gateway render of tests/gateway/fixtures/simple, run as 10001:10001 \(its errors\): $' "$out"
check_match "... a route of the fixture" '^ok   \.\.\. routes app\.example\.com to the fixture.s Service: 1$' "$out"
check_match "... which the image's passthrough -t accepts" \
    '^ok   \.\.\. and passthrough -t accepts what it rendered, run as 10001:10001: configuration OK$' "$out"
check_match "... and the gateway pod's startupProbe command finds it in the image" \
    '^ok   \.\.\. and the pod.s startupProbe \(/usr/bin/test -s\) finds it, run as 10001:10001: 0$' "$out"
check_match "passthrough -t accepts the pod's configuration as the user" \
    '^ok   passthrough -t accepts /etc/passthrough/passthrough.conf, run as 10001:10001' "$out"
for mode in image pod; do
	check_match "$mode: it listens on 8443 as 10001:10001" \
	    "^ok   $mode: /usr/sbin/passthrough -f -c /etc/passthrough/passthrough.conf listens on port 8443 as 10001:10001\$" "$out"
	check_match "$mode: as PID 1" "^ok   $mode: the master is PID 1 of its pid namespace: 1\$" "$out"
	check_match "$mode: with 2 workers" "^ok   $mode: workers: 2\$" "$out"
	# The master and its 2 workers, each: uid, gid, groups, capabilities.
	check_eq "$mode: processes checked uid 10001" 3 \
	    "$(grep -cE "^ok   $mode: pid [0-9]+ .*uid: 10001 10001 10001 10001\$" <<<"$out")"
	check_eq "$mode: ... with no capability" 3 \
	    "$(grep -cE "^ok   $mode: pid [0-9]+ capabilities .*: 0000000000000000 0000000000000000\$" <<<"$out")"
	check_match "$mode: TLS through it on 127.0.0.1 reached the backend" \
	    "^ok   $mode: https://demo.example.com:8443/ on 127\\.0\\.0\\.1 through passthrough reached .*: backend-[0-9a-f]{16}\$" "$out"
	check_match "$mode: ... and on [::1]" \
	    "^ok   $mode: https://demo.example.com:8443/ on \\[::1\\] through passthrough reached .*: backend-[0-9a-f]{16}\$" "$out"
	check_match "$mode: the lock in XDG_RUNTIME_DIR" "^ok   $mode: the master's lock is in XDG_RUNTIME_DIR" "$out"
	check_match "$mode: passthrough-stats counts both" "^ok   $mode: \.\.\. and counts the 2 connections" "$out"
done
check_match "image: SIGTERM (docker stop) stops it, exit 0" "^ok   image: passthrough exits 0 on SIGTERM: 0\$" "$out"
check_match "pod: kill -QUIT 1 from /bin/sh in the container (the preStop hook) drains and stops it, exit 0" \
    "^ok   pod: passthrough exits 0 on SIGQUIT from a shell in the container \(the preStop hook\): 0\$" "$out"
check_match "pod: ... its 2 workers retired gracefully" "^ok   pod: \.\.\. after a graceful stop .*: 2\$" "$out"
check_match "pod: passthrough-stats reads the statistics as the metrics sidecar does (/dev/shm read-only)" \
    "^ok   pod: passthrough-stats reads the statistics from the metrics sidecar's read-only /dev/shm as 10001:10001 \\(exit status\\): 0\$" "$out"
check_eq "pod: both workers on epoll, io_uring denied" 2 \
    "$(grep -cE '^ok   pod: pid [0-9]+ runs on epoll \(io_uring denied\)' <<<"$out")"
check_eq "image-check cleaned up its root file system" gone \
    "$([ -e "$IMAGE_BUILD/image/rootfs" ] && echo there || echo gone)"
finish
