/*
 * resolve_wire.c -- the records a resolver child writes on its pipe, and
 * the master's strict reading of them: the child parsed DNS answers from
 * the network, so nothing it says is believed unchecked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "resolve.h"
#include "tunables.h"

size_t
resolve_wire_put(uint8_t *out, uint32_t index, int status, const struct addr *addrs,
    uint32_t count)
{
	struct resolve_wire_head h = { .index = index, .status = status, .count = 0 };
	struct resolve_wire_addr w;
	size_t n = sizeof(h);

	if (status == 0)
		h.count = count > RESOLVE_ADDRS_MAX ? RESOLVE_ADDRS_MAX : count;
	for (uint32_t i = 0; i < h.count; i++) {
		memset(&w, 0, sizeof(w));
		w.family = addrs[i].u.sa.sa_family;
		if (w.family == AF_INET) {
			memcpy(w.ip, &addrs[i].u.in.sin_addr, 4);
		} else {
			memcpy(w.ip, &addrs[i].u.in6.sin6_addr, 16);
			w.scope = addrs[i].u.in6.sin6_scope_id;
		}
		memcpy(out + n, &w, sizeof(w));
		n += sizeof(w);
	}
	memcpy(out, &h, sizeof(h));
	return n;
}

/* One address record into a (port 0). 0, or -EINVAL when it is not one we write. */
static int
resolve_wire_addr_get(const struct resolve_wire_addr *w, struct addr *a)
{
	static const uint8_t zeros[12];

	memset(a, 0, sizeof(*a));
	if (w->zero != 0)
		return -EINVAL;
	if (w->family == AF_INET) {
		if (w->scope != 0 || memcmp(w->ip + 4, zeros, sizeof(zeros)) != 0)
			return -EINVAL;
		a->u.in.sin_family = AF_INET;
		memcpy(&a->u.in.sin_addr, w->ip, 4);
		a->len = sizeof(a->u.in);
		return 0;
	}
	if (w->family == AF_INET6) {
		a->u.in6.sin6_family = AF_INET6;
		memcpy(&a->u.in6.sin6_addr, w->ip, 16);
		a->u.in6.sin6_scope_id = w->scope;
		a->len = sizeof(a->u.in6);
		return 0;
	}
	return -EINVAL;
}

enum resolve_wire_result
resolve_wire_next(const uint8_t *buf, size_t len, size_t *off, uint32_t want, int *status,
    struct addr *addrs, uint32_t *count)
{
	struct resolve_wire_head h;
	struct resolve_wire_addr w;
	size_t at = *off;

	*count = 0;
	if (at > len || len - at < sizeof(h))
		return RESOLVE_WIRE_TORN;
	memcpy(&h, buf + at, sizeof(h));
	at += sizeof(h);
	if (h.index != want)
		return RESOLVE_WIRE_MALFORMED;
	if (h.status == 0 ? h.count == 0 || h.count > RESOLVE_ADDRS_MAX
	    : (h.status != -ENOENT && h.status != -EAGAIN) || h.count != 0)
		return RESOLVE_WIRE_MALFORMED;
	/* The count is bounded above: this product cannot wrap. */
	if (len - at < (size_t)h.count * sizeof(w))
		return RESOLVE_WIRE_TORN;
	for (uint32_t i = 0; i < h.count; i++, at += sizeof(w)) {
		memcpy(&w, buf + at, sizeof(w));
		if (resolve_wire_addr_get(&w, &addrs[i]) != 0)
			return RESOLVE_WIRE_MALFORMED;
	}
	*status = h.status;
	*count = h.count;
	*off = at;
	return RESOLVE_WIRE_OK;
}
