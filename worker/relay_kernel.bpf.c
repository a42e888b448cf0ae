/*
 * relay_kernel.bpf.c -- the kernel relay's stream verdict (tuning.relay =
 * "kernel"): each socket's bytes go straight to its peer's egress.
 *
 * A worker puts both sockets of a connection in "socks" (a sockhash keyed
 * by socket cookie) and names each one's peer in "peers" (cookie -> peer
 * cookie). The master loads one copy of this object per worker process, so
 * a worker's map holds its own sockets only (docs/architecture.md, "The
 * kernel relay"). Built with clang -target bpf; loaded by master/kernelrelay.c
 * from the copy embedded in the binary.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tunables.h"

/*
 * Sockets one worker relays at once: two per connection. The open-files
 * limit of this machine (20,000) bounds a worker below this.
 */
#define RELAY_KERNEL_SOCKETS 32768

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, RELAY_KERNEL_SOCKETS);
	__type(key, __u64);	/* the socket's cookie (SO_COOKIE) */
	__type(value, __u64);	/* written as the worker's fd, read back as the cookie */
} socks SEC(".maps");

/* Why a source stopped being redirected (relay_kernel_peer.stopped). */
enum { RELAY_KERNEL_PEER_MISSING = 1, RELAY_KERNEL_PEER_FULL = 2 };

/* What the worker and this program share about one source socket (worker/relay_kernel.c). */
struct relay_kernel_peer {
	__u64 peer;		/* the peer's cookie; 0: this source is no longer redirected */
	__u64 redirected;	/* bytes handed to the peer's egress so far */
	__u64 sent0;		/* the peer's bytes written in before the relay (the worker's) */
	__u64 stopped;		/* why peer became 0: RELAY_KERNEL_PEER_MISSING or _FULL */
};

/*
 * The peer's fields read here, relocated against the running kernel's BTF
 * (CO-RE: /sys/kernel/btf/vmlinux) by libbpf at load, so no vmlinux.h.
 */
struct tcp_sock {
	__u32 snd_una;		/* first byte not acknowledged */
	__u32 write_seq;	/* the byte after the last one written in */
	__u64 bytes_acked;	/* RFC 4898 tcpEStatsAppHCThruOctetsAcked */
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RELAY_KERNEL_SOCKETS);
	__type(key, __u64);	/* a socket's cookie */
	__type(value, struct relay_kernel_peer);
} peers SEC(".maps");

/*
 * 1 when the bytes redirected to p's peer that its socket has not taken
 * into its send queue yet (they wait in the peer's psock queue, outside
 * tcp_mem and every buffer limit) are more than RELAY_KERNEL_BACKLOG_BYTES.
 * The peer's bytes written in: acknowledged + still in its send queue.
 */
static __always_inline int
relay_kernel_full(struct relay_kernel_peer *p)
{
	struct bpf_sock *sk = bpf_map_lookup_elem(&socks, &p->peer);
	struct tcp_sock *tp;
	int full = 0;

	if (sk == NULL)
		return 0;	/* the redirect fails too: MISSING */
	tp = bpf_skc_to_tcp_sock(sk);
	if (tp != NULL) {
		__u64 in = tp->bytes_acked + (__u32)(tp->write_seq - tp->snd_una);

		full = (__s64)(p->redirected - (in - p->sent0)) > (__s64)RELAY_KERNEL_BACKLOG_BYTES;
	}
	bpf_sk_release(sk);
	return full;
}

SEC("sk_skb")
int
relay_kernel_verdict(struct __sk_buff *skb)
{
	struct relay_kernel_peer *p;
	__u64 cookie;

	/*
	 * A zero-length skb is the FIN: redirected, it would mark the peer
	 * with EPIPE and lose the reply after a half-close. The worker passes
	 * the FIN on itself, once every redirected byte has left.
	 */
	if (skb->len == 0)
		return SK_DROP;
	cookie = bpf_get_socket_cookie(skb);
	p = bpf_map_lookup_elem(&peers, &cookie);
	if (p == NULL || p->peer == 0)
		return SK_PASS;	/* not (or no longer) redirected: the worker reads it */
	/*
	 * The peer does not take what it gets (its reader stopped): these
	 * bytes and all after them stay in this socket, charged to its
	 * receive buffer, so TCP's window closes and the sender stalls. The
	 * worker copies this direction from then on.
	 */
	if (relay_kernel_full(p)) {
		p->stopped = RELAY_KERNEL_PEER_FULL;
		p->peer = 0;
		return SK_PASS;
	}
	if (bpf_sk_redirect_hash(skb, &socks, &p->peer, 0) == SK_PASS) {
		__sync_fetch_and_add(&p->redirected, skb->len);
		return SK_PASS;
	}
	/*
	 * The peer is not in the map (not yet, or gone). Dropped, these bytes
	 * would be lost, and TCP has acknowledged them: they go to this
	 * socket's own queue, and so does everything after them (p->peer = 0
	 * for good), so that bytes never overtake each other. The worker sees
	 * them readable and copies this direction from then on.
	 */
	p->stopped = RELAY_KERNEL_PEER_MISSING;
	p->peer = 0;
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
