#!/bin/bash
# Guards passthrough-gateway watch never writing a configuration passthrough -t refuses: when the user the base configuration names stops existing (the render itself is fine: every cluster object this test could find that the renderer accepts, -t accepts too), a TLSRoute change renders a file -t refuses: the running file stays byte for byte (same hash, same inode), passthrough keeps serving the old routes and does not reload, the controller logs -t's reason and the Gateway's status carries it; once the user is back, the next change is written and served.
# shellcheck disable=SC2317  # helpers run through wait_until look unreachable
#
# The test runs in its own mount namespace with a copy of /etc/passwd bound
# over it (rewritten in place: the bind mount holds the inode) and nscd's
# socket hidden, so every lookup of the user reads the test's file.
if [ -z "${PT_WATCH_NAMESPACE:-}" ]; then
	if ! unshare -m --propagation private true 2>/dev/null; then
		echo "SKIP: no mount namespace (unshare -m needs root or user namespaces)"
		exit 77
	fi
	PT_WATCH_NAMESPACE=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/gateway/watch/lib.sh"

# The user passthrough's workers run as: nobody's ids under a name of the test's.
USER_LINE="ptwatchuser:x:65534:65534:gateway_watch test:/nonexistent:/usr/sbin/nologin"
cp /etc/passwd "$T/passwd" && echo "$USER_LINE" >>"$T/passwd" && chmod 644 "$T/passwd" ||
    die "copying /etc/passwd"
mount --bind "$T/passwd" /etc/passwd || die "cannot bind $T/passwd over /etc/passwd"
mkdir -p "$T/empty"
for d in /run/nscd /var/run/nscd; do
	[ -d "$d" ] && { mount --bind "$T/empty" "$d" || die "cannot hide $d"; }
done
getent passwd ptwatchuser >/dev/null || die "the test's user is not seen through /etc/passwd"

watch_fixtures
backends_start a=127.0.0.2 b=127.0.0.3
kapi_start
kapi_apply "$FX/cluster.yaml" "$FX/route-a.yaml"
kubeconfig_write "$T/kubeconfig"
base_write 'watch_config = true;' 'user = "ptwatchuser";'
watch_start --kubeconfig "$T/kubeconfig" --debounce 50
pt_start
WAIT_S=10 wait_until sni_is app.example.com '^backend-a$' ||
    fail "app.example.com does not reach backend-a: $(sni_reaches app.example.com)"
WAIT_S=10 wait_until gw_programmed_is "True Programmed" || fail "Gateway gw not Programmed: $(gw_programmed)"

# The user goes: the file serving now is one -t refuses too.
grep -v '^ptwatchuser:' "$T/passwd" >"$T/passwd.new" && cat "$T/passwd.new" >"$T/passwd" || die "removing the user"
check_match "passthrough -t refuses the running file now" 'names no user' "$("$PT" -t -c "$PT_CONF" 2>&1)"
sum=$(sha256sum <"$PT_CONF")
inode=$(stat -c %i "$PT_CONF")
reloads=$(proxy_reloads)
lines=$(wc -l <"$WATCH_LOG")
kapi_apply "$FX/route-b.yaml"
WAIT_S=5 wait_until grep -q 'names no user' "$WATCH_LOG"
check_match "the controller logs -t's reason" 'names no user' "$(tail -n +$((lines + 1)) "$WATCH_LOG")"
check_eq "the running file is unchanged, byte for byte" "$sum" "$(sha256sum <"$PT_CONF")"
check_eq "... not replaced (inode)" "$inode" "$(stat -c %i "$PT_CONF")"
check_eq "no temp file left beside it" "pt.conf" "$(find "$T" -maxdepth 1 -name 'pt.conf*' -printf '%f\n' | tr '\n' ' ' | sed 's/ $//')"
check_eq "passthrough serves the old route still" backend-a "$(sni_reaches app.example.com)"
check_eq "passthrough did not reload" "$reloads" "$(proxy_reloads)"
WAIT_S=5 wait_until gw_status_has 'names no user'
gw=$(kapi_status Gateway edge gw)
check_match "the Gateway's status says why" 'names no user' "$(jq -r '.conditions[]? | "\(.type) \(.status) \(.reason): \(.message)"' <<<"$gw")"
echo "     Gateway conditions: $(jq -c '[.conditions[]? | [.type, .status, .reason, .message]]' <<<"$gw")"

# The user is back: the next change is written and served.
cp /etc/passwd "$T/passwd.new" && echo "$USER_LINE" >>"$T/passwd.new" && cat "$T/passwd.new" >"$T/passwd" || die "restoring the user"
t0=$(now_ms)
sed -e 's/hostnames:/hostnames:\n    - other.example.com/' "$FX/route-b.yaml" >"$T/route-b2.yaml"
kapi_apply "$T/route-b2.yaml"
check_within "the user back, the next change" 2000 app.example.com '^backend-b$' "$t0"
WAIT_S=5 wait_until gw_programmed_is "True Programmed"
check_eq "the Gateway is Programmed again" "True Programmed" "$(gw_programmed)"

watch_stop "controller"
PROXY_WORKERS=$(grep -c 'info: started:' "$PROXY_LOG")
proxy_stop
check_eq "proxy exit status" 0 "$PROXY_RC"
finish
