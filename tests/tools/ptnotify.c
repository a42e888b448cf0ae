/* ptnotify.c -- a stand-in for systemd's notification socket: prints every datagram a service sends to NOTIFY_SOCKET. */
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "pttools.h"

#define PROG "ptnotify"
/* sd_notify messages are small; systemd itself accepts up to a page or so. */
#define DATAGRAM_MAX 4096u

static struct {
	const char *path;
	unsigned long timeout_ms;
	int stamp;
} opt;

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ptnotify --path PATH [--timeout-ms T] [--stamp]\n"
	    "Binds a unix datagram socket at PATH (made anew) and prints each datagram\n"
	    "on one line, its newlines shown as \"|\". Exits 0 on SIGTERM/SIGINT or\n"
	    "after T ms (default: never).\n"
	    "  --stamp   start each line with \"@MONO @REAL \": CLOCK_MONOTONIC and\n"
	    "            CLOCK_REALTIME at receipt, in microseconds\n");
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "path", required_argument, NULL, 'p' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "stamp", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:t:sh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': opt.path = optarg; break;
		case 't': opt.timeout_ms = pt_number(PROG, "--timeout-ms", optarg); break;
		case 's': opt.stamp = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc || opt.path == NULL) {
		usage(stderr);
		exit(2);
	}
}

static uint64_t
clock_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int
main(int argc, char **argv)
{
	static char buf[DATAGRAM_MAX + 1];
	struct sockaddr_un sun;
	struct sigaction sa;
	struct pollfd pfd;
	uint64_t deadline = 0, now;
	ssize_t n;
	int fd, wait_ms;

	parse_args(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: poll returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(opt.path) >= sizeof(sun.sun_path))
		pt_die(PROG, "%s: path too long for a unix socket", opt.path);
	strcpy(sun.sun_path, opt.path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		pt_die(PROG, "socket:");
	(void)unlink(opt.path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		pt_die(PROG, "bind %s:", opt.path);
	if (opt.timeout_ms > 0)
		deadline = pt_now_ms() + opt.timeout_ms;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!stop) {
		wait_ms = -1;
		if (deadline != 0) {
			now = pt_now_ms();
			if (now >= deadline)
				break;
			wait_ms = (int)(deadline - now);
		}
		if (poll(&pfd, 1, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			pt_die(PROG, "poll:");
		}
		if (!(pfd.revents & POLLIN))
			continue;
		n = recv(fd, buf, DATAGRAM_MAX, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			pt_die(PROG, "recv:");
		}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = '|';
		buf[n] = '\0';
		if (opt.stamp)
			printf("@%llu @%llu ", (unsigned long long)clock_us(CLOCK_MONOTONIC),
			    (unsigned long long)clock_us(CLOCK_REALTIME));
		printf("%s\n", buf);
		fflush(stdout);
	}
	close(fd);
	unlink(opt.path);
	return 0;
}
