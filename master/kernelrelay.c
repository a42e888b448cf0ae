/*
 * kernelrelay.c -- loads the kernel relay's BPF program and maps with
 * libbpf, from the object embedded in the binary (built from
 * worker/relay_kernel.bpf.c by clang -target bpf; see the GNUmakefile).
 * Builds without clang or libbpf compile kernelrelay_none.c instead.
 *
 * Each worker gets its own copy: a worker can only put its own sockets in
 * its map, so it can only redirect bytes between its own connections,
 * which it could do by copying them anyway. It gets no program fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernelrelay.h"
#include "log.h"

/* The object file, embedded by the GNUmakefile (.incbin). */
extern const unsigned char kernelrelay_obj[], kernelrelay_obj_end[];

/* libbpf's own messages: the caller logs the errno that decided. */
static int
kernelrelay_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* A map of obj by name, duplicated so that it outlives obj: fd, or -errno. */
static int
kernelrelay_map_dup(struct bpf_object *obj, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(obj, name);

	if (fd < 0)
		return -ENOENT;
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return fd < 0 ? -errno : fd;
}

int
kernelrelay_open(struct kernelrelay *k)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	int rc;

	k->socks_fd = k->peers_fd = -1;
	libbpf_set_print(kernelrelay_quiet);
	obj = bpf_object__open_mem(kernelrelay_obj,
	    (size_t)(kernelrelay_obj_end - kernelrelay_obj), NULL);
	if (obj == NULL)
		return errno ? -errno : -EINVAL;
	if ((rc = bpf_object__load(obj)) != 0)
		goto bad;
	prog = bpf_object__find_program_by_name(obj, "relay_kernel_verdict");
	if (prog == NULL) {
		rc = -ENOENT;
		goto bad;
	}
	if ((rc = kernelrelay_map_dup(obj, "socks")) < 0)
		goto bad;
	k->socks_fd = rc;
	if ((rc = kernelrelay_map_dup(obj, "peers")) < 0)
		goto bad;
	k->peers_fd = rc;
	/* The map holds the program from here on; the object's fds may go. */
	if (bpf_prog_attach(bpf_program__fd(prog), k->socks_fd,
	    BPF_SK_SKB_STREAM_VERDICT, 0) != 0) {
		rc = -errno;
		goto bad;
	}
	bpf_object__close(obj);
	return 0;
bad:
	bpf_object__close(obj);
	kernelrelay_close(k);
	return rc < 0 ? rc : -EINVAL;
}

void
kernelrelay_close(struct kernelrelay *k)
{
	if (k->socks_fd >= 0)
		close(k->socks_fd);
	if (k->peers_fd >= 0)
		close(k->peers_fd);
	k->socks_fd = k->peers_fd = -1;
}

void
kernelrelay_choose(struct routes_settings *s)
{
	/*
	 * A load relocates the program against the kernel's BTF (CO-RE), which
	 * libbpf parses each time: ~200 ms on a busy 2-core machine, measured,
	 * too long for every reload. What decides whether it loads (the kernel,
	 * the master's capabilities) does not change while the master runs, so
	 * once a load worked the check is not made again. Workers still load
	 * their own copies when they start (workers.c), and fall back alone.
	 */
	static int loaded;
	struct kernelrelay k;
	int rc;

	if (s->relay != RELAY_KERNEL || loaded)
		return;
	if ((rc = kernelrelay_open(&k)) != 0) {
		log_warn("relay \"kernel\": cannot load its BPF program (%s; it needs "
		    "CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON; tested on Linux 6.18"
		    "); relaying with \"adaptive\"", strerror(-rc));
		s->relay = RELAY_ADAPTIVE;
		return;
	}
	kernelrelay_close(&k);
	loaded = 1;
}
