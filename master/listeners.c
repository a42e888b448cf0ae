/* listeners.c -- the listening sockets, one per worker slot and address. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listeners.h"
#include "log.h"
#include "sock.h"

/* Where old keeps the socket of (slot, a), or NULL. */
static int *
listeners_find(struct listeners *old, unsigned slot, const struct addr *a)
{
	if (old == NULL || slot >= old->slots)
		return NULL;
	for (unsigned i = 0; i < old->count; i++)
		if (addr_equal(&old->addrs[i], a) && old->fds[slot * old->count + i] >= 0)
			return &old->fds[slot * old->count + i];
	return NULL;
}

/*
 * Without net.ipv4.tcp_migrate_req (a host-wide setting passthrough leaves
 * alone), closing a listening socket resets the connections queued on it.
 * So the sockets no slot keeps are not closed with their queues full: new
 * connections to each address are steered to the set's sockets only, the
 * sockets left in old refuse new SYNs, and their retiring workers keep
 * accepting until the handshakes begun before the steering came in, then
 * close them (worker/listener.c).
 *
 * The steering program picks an index below set->slots in the group's
 * socket array, which is in listen() order and where a closing socket's
 * place goes to the last one. The set's sockets are the first set->slots
 * ones: slot s's socket was opened after slot s-1's and kept sockets are
 * older than new ones, while the sockets of retiring slots (the higher
 * ones) come after and, closing, only move among themselves. Only when a
 * reload re-adds sockets to an address whose retiring sockets are still
 * open (a reload within LISTEN_LINGER_MS, 1.3 s, of the last one, see
 * worker/listener.c) may a new connection meet a retiring socket: its SYN
 * is dropped and the client's retry, 1 or 3 s later, finds a socket that
 * stays.
 */
static void
listeners_steer(const struct listeners *set, struct listeners *old)
{
	char text[ADDR_STRLEN];
	int rc;

	for (unsigned i = 0; i < set->count; i++)
		if ((rc = sock_listen_steer(set->fds[i], set->slots)) != 0)
			log_warn("listen %s: cannot steer new connections to the current "
			    "workers: %s; a retiring worker may reset some",
			    addr_format(&set->addrs[i], text, sizeof(text)), strerror(-rc));
	if (old == NULL)
		return;
	for (unsigned s = 0; s < old->slots; s++)
		for (unsigned i = 0; i < old->count; i++)
			if (old->fds[s * old->count + i] >= 0 &&
			    (rc = sock_listen_refuse(old->fds[s * old->count + i])) != 0)
				log_warn("listen %s: cannot make the retiring socket refuse "
				    "new connections: %s", addr_format(&old->addrs[i], text,
				    sizeof(text)), strerror(-rc));
}

int
listeners_open(struct listeners *set, unsigned slots, const struct addr *addrs,
    unsigned count, struct listeners *old)
{
	char text[ADDR_STRLEN];
	const char *what;
	int fd;

	memset(set, 0, sizeof(*set));
	set->addrs = calloc(count, sizeof(*set->addrs));
	set->fds = malloc(sizeof(int) * slots * count);
	if (set->addrs == NULL || set->fds == NULL) {
		listeners_close(set);
		return -ENOMEM;
	}
	memcpy(set->addrs, addrs, sizeof(*addrs) * count);
	set->slots = slots;
	set->count = count;
	for (unsigned i = 0; i < slots * count; i++)
		set->fds[i] = -1;
	/* Open what is new first: on failure, old must still hold all it had. */
	for (unsigned s = 0; s < slots; s++) {
		for (unsigned i = 0; i < count; i++) {
			if (listeners_find(old, s, &addrs[i]) != NULL)
				continue;
			fd = sock_listen(&addrs[i], &what);
			if (fd < 0) {
				log_error("listen %s: %s: %s",
				    addr_format(&addrs[i], text, sizeof(text)), what,
				    strerror(-fd));
				listeners_close(set);
				return fd;
			}
			set->fds[s * count + i] = fd;
		}
	}
	for (unsigned s = 0; s < slots; s++) {
		for (unsigned i = 0; i < count; i++) {
			int *kept = listeners_find(old, s, &addrs[i]);

			if (kept != NULL && set->fds[s * count + i] < 0) {
				set->fds[s * count + i] = *kept;
				*kept = -1;
			}
		}
	}
	listeners_steer(set, old);
	return 0;
}

void
listeners_close(struct listeners *set)
{
	if (set->fds != NULL)
		for (unsigned i = 0; i < set->slots * set->count; i++)
			if (set->fds[i] >= 0)
				close(set->fds[i]);
	free(set->fds);
	free(set->addrs);
	memset(set, 0, sizeof(*set));
}

void
listeners_keep_slot(const struct listeners *set, unsigned slot)
{
	for (unsigned s = 0; s < set->slots; s++)
		if (s != slot)
			for (unsigned i = 0; i < set->count; i++)
				if (set->fds[s * set->count + i] >= 0)
					close(set->fds[s * set->count + i]);
}

int
listeners_same(const struct listeners *set, unsigned slots, const struct addr *addrs,
    unsigned count)
{
	if (set->slots != slots || set->count != count)
		return 0;
	for (unsigned i = 0; i < count; i++)
		if (!addr_equal(&set->addrs[i], &addrs[i]))
			return 0;
	return 1;
}
