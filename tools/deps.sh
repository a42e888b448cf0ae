#!/bin/sh
# deps.sh -- installs (as root) or names (otherwise) the Debian packages that
# a make target needs: deps.sh build|run|test|bench.
set -eu

# clang and libbpf-dev: the kernel relay (relay = "kernel"); without them
# plain make builds the daemon without it. libjansson-dev and libyaml-dev:
# passthrough-gateway (JSON and YAML input); libcurl4-openssl-dev: its watch
# (the Kubernetes API server).
build="gcc make libc6-dev libconfig-dev liburing-dev libcriterion-dev clang libbpf-dev libjansson-dev libyaml-dev libcurl4-openssl-dev"
run="$build"
# The tests also render the man pages (groff, mandoc), rotate a live log
# (logrotate), parse the alerting rules (python3-yaml), deny io_uring with a
# seccomp filter (python3-seccomp: tests/tools/ptnouring) and build, lint and
# install the Debian package (debhelper, dpkg-dev, lintian, fakeroot; adduser,
# which the package depends on), build the container image's root file
# system (mmdebstrap) and validate the Kubernetes manifests (node and npm:
# tests/k8s, installed with npm ci from its lock file).
test="$build clang libclang-rt-14-dev openssl curl nginx-light haproxy procps iproute2 coreutils util-linux jq valgrind groff mandoc logrotate python3-yaml python3-seccomp debhelper dpkg-dev lintian fakeroot adduser mmdebstrap"
bench="$test haproxy nginx-light libnginx-mod-stream sniproxy gnuplot-nox linux-perf"

case "${1:-build}" in
build) want=$build ;;
run) want=$run ;;
test) want=$test ;;
bench) want=$bench ;;
*) echo "usage: $0 build|run|test|bench" >&2; exit 2 ;;
esac

# Debian's nodejs and npm, unless a node (with its npm) is there already.
if [ "${1:-build}" = test ] && ! command -v npm >/dev/null; then
	want="$want nodejs npm"
fi

missing=
for p in $want; do
	case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done
# The npm packages the tests use, pinned by tests/k8s/package-lock.json.
npm_ci() {
	k8s=$(dirname "$0")/../tests/k8s
	# Again whenever the lock file is not the one last installed.
	if [ "${1:-build}" = test ] && [ -f "$k8s/package-lock.json" ] &&
	    ! cmp -s "$k8s/package-lock.json" "$k8s/node_modules/.installed-lock"; then
		echo "installing the npm packages of tests/k8s" >&2
		npm ci --prefix "$k8s" --no-audit --no-fund --loglevel=error >&2
		cp "$k8s/package-lock.json" "$k8s/node_modules/.installed-lock"
	fi
}
if [ -z "$missing" ]; then
	npm_ci "${1:-build}"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "passthrough needs these Debian packages:$missing" >&2
	echo "install them with:  sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
npm_ci "${1:-build}"
