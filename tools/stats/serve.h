/*
 * serve.h -- passthrough-stats --serve ADDR:PORT: a small HTTP/1.1 server
 * for Prometheus to scrape. One thread, poll(2), non-blocking sockets, a
 * few dozen clients at once, every request and response bounded in size
 * and time, one request per connection (Connection: close). Read-only.
 */
#ifndef PASSTHROUGH_SERVE_H
#define PASSTHROUGH_SERVE_H

#include <stddef.h>

#include "addr.h"
#include "segment.h"

/* The HTTP statuses it answers with. */
enum serve_status {
	SERVE_OK = 200,
	SERVE_BAD_REQUEST = 400,
	SERVE_NOT_FOUND = 404,
	SERVE_BAD_METHOD = 405,
	SERVE_TIMEOUT = 408,
	SERVE_TOO_LARGE = 431,
	SERVE_INTERNAL = 500,
	SERVE_UNAVAILABLE = 503,	/* no segment: passthrough is not running */
};

enum serve_target {
	SERVE_TARGET_NONE,		/* the request was refused */
	SERVE_TARGET_INDEX,		/* GET / */
	SERVE_TARGET_METRICS,		/* GET /metrics */
};

struct serve_request {
	enum serve_target target;
	int head_only;			/* HEAD: the headers of a GET, no body */
};

/*
 * Parses a request head (len bytes, the blank line included) into req.
 * Returns SERVE_OK, SERVE_BAD_REQUEST (malformed), SERVE_BAD_METHOD (not
 * GET or HEAD) or SERVE_NOT_FOUND (another path). Reads nothing else.
 */
enum serve_status serve_parse(const char *head, size_t len, struct serve_request *req);

/* A listening TCP socket on a, non-blocking. The fd or -errno. */
int serve_listen(const struct addr *a);

/*
 * Answers clients on listen_fd with snapshots of seg until SIGINT or
 * SIGTERM. Returns an exit status.
 */
int serve_loop(int listen_fd, struct segment *seg);

/* serve_listen() on addr_text ("127.0.0.1:9100", "*:9100", "[::1]:9100"), then serve_loop(). */
int serve_run(struct segment *seg, const char *addr_text);

#endif
