/* tunables.h -- every fixed number passthrough uses, with its unit and why. */
#ifndef PASSTHROUGH_TUNABLES_H
#define PASSTHROUGH_TUNABLES_H

#define PASSTHROUGH_VERSION "0.1.0"

/*
 * Default configuration file when -c is not given: under SYSCONFDIR, which
 * the GNUmakefile passes as PT_SYSCONFDIR (/usr/local/etc for a plain make,
 * /etc with PREFIX=/usr, as the Debian package builds), so the binary finds
 * the file `make install` put there. The fallback is the GNUmakefile's own
 * default, for builds that do not pass it (the fuzz targets).
 */
#ifndef PT_SYSCONFDIR
#define PT_SYSCONFDIR "/usr/local/etc"
#endif
#define DEFAULT_CONFIG_PATH PT_SYSCONFDIR "/passthrough/passthrough.conf"

/* Configuration defaults and ranges (milliseconds, bytes, counts). */
#define DEFAULT_HELLO_MS        5000u     /* nginx preread_timeout is 30 s; 5 s bounds slowloris */
#define DEFAULT_CONNECT_MS      3000u     /* a healthy backend on a LAN answers in < 10 ms */
#define DEFAULT_IDLE_MS         600000u   /* 10 min: long polls and idle HTTP/2 survive */
#define DEFAULT_HELLO_BYTES     65536u    /* HAProxy/nginx stop at 16 KiB; PQ hellos grow */
#define DEFAULT_MAX_CONNECTIONS 100000u
#define DEFAULT_DRAIN_MS        30000u    /* graceful stop/retire: most requests end by then */
#define DEFAULT_WORKERS         0u        /* 0: one worker per online CPU */
#define MIN_CONNECTIONS         1u        /* 0 would refuse every connection */
/* Where -d and -s look for the pid when pid_file is not set. */
#define DEFAULT_PID_FILE        "/run/passthrough.pid"
#define MIN_TIMEOUT_MS          1u
#define MAX_TIMEOUT_MS          (7u * 24 * 3600 * 1000)   /* a week; beyond that use none */
#define MIN_HELLO_BYTES         512u      /* smallest legal hello with SNI fits in 512 */
#define MAX_HELLO_BYTES         (1u << 20) /* 1 MiB: far above any real ClientHello */
#define MAX_CONNECTIONS_LIMIT   10000000u
#define MAX_WORKERS             256u      /* slots in shared memory; far above core counts */
#define MAX_LISTEN              64u       /* listen addresses */
#define MAX_BACKENDS_PER_ROUTE  1024u
#define MAX_ROUTES              1000000u

/* Listening sockets: the kernel caps the backlog at net.core.somaxconn. */
#define LISTEN_BACKLOG 4096
/*
 * TCP_DEFER_ACCEPT: wake the accept only when the hello's first bytes came.
 * Seconds, and short: a silent client is handed over after this anyway, and
 * only then does timeouts.hello_ms start counting.
 */
#define DEFER_ACCEPT_SECONDS 1

/* io_uring sizing: the CQ holds several completions per submission. */
#define RING_SQ_ENTRIES 4096u
#define RING_CQ_ENTRIES (4u * RING_SQ_ENTRIES)
/* io-wq threads only serve IORING_OP_SPLICE (when chosen); all fds are non-blocking. */
#define RING_IOWQ_MAX_WORKERS 4u

/*
 * The epoll engine (worker/epoll.c). Events taken per epoll_wait: more
 * wait for the next turn (level-triggered: nothing is lost); 256 is
 * nginx's default too. Connections one readable listener hands over per
 * turn before the others' events get theirs (a multishot accept's burst).
 * Events the engine makes itself (cancels, timeouts) queued at first; the
 * queue doubles when a turn needs more. The fd table is as long as
 * RLIMIT_NOFILE allows, at most EPOLL_FDS_MAX entries (32 bytes each,
 * pages backed only when touched): fs.nr_open's default.
 */
#define EPOLL_EVENTS_MAX     256
#define EPOLL_ACCEPT_BATCH   64u
#define EPOLL_DONE_INITIAL   256u
#define EPOLL_FDS_MAX        (1u << 20)

/* The relay. */
#define DEFAULT_PIPE_BYTES   65536u   /* Linux's default pipe size; larger only helps bulk */
#define MIN_PIPE_BYTES       4096u
#define MAX_PIPE_BYTES       (1u << 20) /* fs.pipe-max-size default */
#define PIPE_POOL_MAX        256u     /* idle pipes kept per worker; the rest are closed */
/*
 * A direction whose splice filled its pipe streams: its pipe grows to
 * PIPE_GROW_BYTES, fs.pipe-max-size's default (16x fewer splices per GiB
 * than 64 KiB pipes; measured for download C=8 on loopback: worker CPU per
 * GiB -44% against 256 KiB, which was -25% against 64 KiB). Grown pipes
 * hold at most PIPE_GROW_PAGES pages over their size, shared by the
 * workers: a quarter of fs.pipe-user-pages-soft's default (16384), so pipes
 * made later are not shrunk to 2 pages by the kernel because of them (17
 * grown pipes with one worker). Pages of 4 KiB.
 */
#define PIPE_GROW_BYTES      (1024u * 1024)
#define PIPE_GROW_PAGES      4096u
/* Bytes one direction may move per readiness event before yielding to others. */
#define RELAY_BUDGET_BYTES   (1u << 20)
/*
 * relay "kernel": a FIN waits until every byte redirected before it left;
 * nothing wakes the worker when they do, so it looks again this often. ms
 */
#define RELAY_KERNEL_FIN_POLL_MS 1u
/*
 * relay "kernel": bytes move without waking the worker; it reads the
 * sockets' counters this often for the statistics (and the idle timeout). ms
 */
#define RELAY_KERNEL_COUNT_MS 1000u
/*
 * relay "kernel": bytes redirected to a sink that its socket has not taken
 * into its send queue yet; they wait in the kernel outside every socket
 * buffer limit (and tcp_mem). Past this the verdict stops redirecting that
 * source: its bytes stay in its own socket, charged to its receive buffer,
 * and the worker copies that direction. 4 MiB: the send buffer's
 * autotuning ceiling (tcp_wmem[2]) by default, so a sink that reads
 * keeps up well below it; a sink that does not read bounds the
 * connection at this plus its socket buffers. bytes
 */
#define RELAY_KERNEL_BACKLOG_BYTES (4u << 20)

/* Backends of a route tried for one connection before giving up (HAProxy: retries 3). */
#define CONNECT_TRIES_MAX 3u
/* After the unrecognized_name alert, wait this long for the client to close first. ms */
#define ALERT_LINGER_MS 2000u
/* Recv calls one drain may make before yielding to other connections. */
#define DRAIN_BURST 16u
/* Log at most one line per this many ms for a repeating per-connection failure. */
#define LOG_REPEAT_MS 1000u

/* Hello buffers (taken at the first byte) start small: most hellos are 0.5 to 2 KiB. */
#define HELLO_BUF_INITIAL 2048u

/* Below this much room under max_connections a worker accepts one connection at a time. */
#define ACCEPT_MULTISHOT_ROOM 64u

/* File descriptors a worker keeps free for listeners, logs and pipes in use. */
#define FD_RESERVE 64u
/* ... and the pipe pool's fds, when full. */
#define FD_RESERVE_ALL (FD_RESERVE + 2 * PIPE_POOL_MAX)

/* A stopping worker waits this long for its accepts to be cancelled. ms */
#define EXIT_CANCEL_MS 200u
/* Shutdown: how long the master waits for workers before SIGKILL. Milliseconds. */
#define STOP_GRACE_MS 5000u

/* Worker restart backoff after an early crash. Milliseconds. */
#define RESTART_BACKOFF_MIN_MS 100u
#define RESTART_BACKOFF_MAX_MS 10000u
/* A worker that lived this long is considered healthy: backoff resets. */
#define RESTART_HEALTHY_MS 10000u

/*
 * Host names of backends (resolve_ms): resolved again this often by default,
 * not more often than the floor (a DNS server is not a health check), and a
 * resolver child that has not answered by RESOLVE_CHILD_MAX_MS (or resolve_ms
 * when shorter) is killed: the last good addresses stay. Milliseconds.
 */
#define DEFAULT_RESOLVE_MS      30000u
#define MIN_RESOLVE_MS          1000u
#define MAX_RESOLVE_MS          (24u * 3600 * 1000)   /* a day */
#define RESOLVE_CHILD_MAX_MS    10000u
/* Addresses kept per host name: as many as a route may hold backends. */
#define RESOLVE_ADDRS_MAX       MAX_BACKENDS_PER_ROUTE

/* Active health checks (check = { ... }): HAProxy's inter 2s, rise 2, fall 3. */
#define DEFAULT_CHECK_INTERVAL_MS 2000u
#define DEFAULT_CHECK_TIMEOUT_MS  1000u
#define DEFAULT_CHECK_RISE        2u
#define DEFAULT_CHECK_FALL        3u
#define MIN_CHECK_INTERVAL_MS     100u     /* below this a check is load, not a probe */
#define MAX_CHECK_INTERVAL_MS     3600000u /* an hour */
#define MIN_CHECK_TIMEOUT_MS      10u
#define MAX_CHECK_COUNT           100u     /* rise and fall */
/* Checks the master keeps in flight at once; the rest wait their turn (each is one fd). */
#define CHECKS_INFLIGHT_MAX       256u

#endif
