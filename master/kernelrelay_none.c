/*
 * kernelrelay_none.c -- the kernel relay in a build without it (clang or
 * libbpf-dev was missing at build time; the GNUmakefile said so): a
 * configuration that asks for it relays with "adaptive", and says so.
 */
#include <errno.h>

#include "kernelrelay.h"
#include "log.h"

int
kernelrelay_open(struct kernelrelay *k)
{
	k->socks_fd = k->peers_fd = -1;
	return -EOPNOTSUPP;
}

void
kernelrelay_close(struct kernelrelay *k)
{
	k->socks_fd = k->peers_fd = -1;
}

void
kernelrelay_choose(struct routes_settings *s)
{
	if (s->relay != RELAY_KERNEL)
		return;
	log_warn("relay \"kernel\": this build has no kernel relay (clang or libbpf-dev was "
	    "missing when it was built); relaying with \"adaptive\"");
	s->relay = RELAY_ADAPTIVE;
}
