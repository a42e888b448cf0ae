# netns.sh -- sourced first by the tests that run as a pod would: re-runs
# the test (as root) in a new network and mount namespace (unshare -mn), so
# its ports, /etc/hosts and /dev/shm are its own and nothing is left behind.
# netns_enter NEEDS: NEEDS names what root is for, in the failure line.
netns_enter() {
	[ "${PT_K8S_POD_NS:-}" = 1 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "FAIL: $(basename "$0") needs root ($1)"
		exit 1
	fi
	PT_K8S_POD_NS=1 exec unshare -mn --propagation private -- "$0"
}
