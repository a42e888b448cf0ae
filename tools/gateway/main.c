/*
 * main.c -- passthrough-gateway: the Gateway API (TLSRoute on TLS
 * Passthrough listeners) and passthrough Ingresses as a passthrough.conf.
 * `render` reads Kubernetes objects from files and writes the
 * configuration on stdout (and, with --status, the status it would set).
 * Exit status: 0 rendered, 1 bad input (one line on stderr, nothing on
 * stdout), 2 usage. `watch` is the controller (watch.c): exit status 0
 * after SIGTERM or SIGINT, 1 when it cannot start, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render.h"
#include "stats.h"
#include "tunables.h"
#include "watch_int.h"

#define MAIN_EXIT_INPUT	1
#define MAIN_EXIT_USAGE	2

struct main_args {
	struct gw_options o;
	const char *status;
	const char *base;
	char now[32];
	struct watch_options w;		/* watch */
};

/* The longest --debounce and --programmed-timeout taken: past them it is a typo. */
#define MAIN_DEBOUNCE_MAX_MS		60000
#define MAIN_PROGRAMMED_TIMEOUT_MAX_S	3600

static void
main_usage(FILE *out)
{
	fprintf(out,
	    "usage: passthrough-gateway render [--status FILE] [--gateway-class NAME]\n"
	    "           [--controller-name NAME] [--ingress-class NAME] [--ingress-port PORT]\n"
	    "           [--listen-address ADDR] [--base FILE] FILE...\n"
	    "       passthrough-gateway watch --config FILE [--kubeconfig FILE [--context NAME]]\n"
	    "           [--serviceaccount-dir DIR] [--base FILE] [--reload watch|signal]\n"
	    "           [--passthrough PATH] [--stats NAME] [--debounce MS]\n"
	    "           [--programmed-timeout SECONDS] [--gateway-class NAME]\n"
	    "           [--controller-name NAME] [--ingress-class NAME] [--ingress-port PORT]\n"
	    "           [--listen-address ADDR]\n"
	    "       passthrough-gateway -h | -V\n"
	    "render: Kubernetes objects (YAML or JSON) into a passthrough.conf on stdout.\n"
	    "  --status FILE           write the status the controller would set (JSON)\n"
	    "  --gateway-class NAME    the GatewayClass taken without its object (passthrough)\n"
	    "  --controller-name NAME  this controller's name in GatewayClasses and status\n"
	    "                          (" GW_CONTROLLER_NAME ")\n"
	    "  --ingress-class NAME    the class of the passthrough Ingresses (passthrough)\n"
	    "  --ingress-port PORT     the port passthrough Ingresses are served on (443)\n"
	    "  --listen-address ADDR   the address every listener binds (all of them)\n"
	    "  --base FILE             a passthrough.conf whose other settings are kept\n"
	    "watch: the controller; renders the cluster's objects into --config, sets status.\n"
	    "  --config FILE           the passthrough.conf written (atomically, -t first)\n"
	    "  --kubeconfig FILE       the API server and credentials (default: in cluster)\n"
	    "  --context NAME          the kubeconfig's context (its current-context)\n"
	    "  --serviceaccount-dir DIR  in cluster: token and ca.crt\n"
	    "                          (" KUBE_SERVICEACCOUNT_DIR ")\n"
	    "  --reload watch|signal   the daemon's watch_config reloads, or -s reload (watch)\n"
	    "  --passthrough PATH      the daemon, run for -t and -s (" WATCH_PASSTHROUGH ")\n"
	    "  --stats NAME            the statistics segment (the config's)\n"
	    "  --debounce MS           events within this make one render (100)\n"
	    "  --programmed-timeout SECONDS  not serving by then: Programmed Pending (10)\n"
	    "  -h, --help              this help\n"
	    "  -V, --version           the version\n");
}

/* The conditions' time: SOURCE_DATE_EPOCH when set (reproducible output), else now. */
static void
main_now(char *buf, size_t size)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t t = sde && *sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A number in [min, max] for option name; -1 after a message. */
static int
main_number(const char *name, const char *arg, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || errno != 0 || *out < min || *out > max) {
		fprintf(stderr, "passthrough-gateway: --%s: \"%s\" is not a number in %ld .. %ld\n",
		    name, arg, min, max);
		return -1;
	}
	return 0;
}

/* The render options both commands take: 1 taken, 0 not one of them, -1 after a message. */
static int
main_render_option(int c, const char *arg, struct main_args *a)
{
	unsigned char addr[sizeof(struct in6_addr)];
	long port;

	switch (c) {
	case 'g': a->o.gateway_class = arg; return 1;
	case 'c': a->o.controller_name = arg; return 1;
	case 'i': a->o.ingress_class = arg; return 1;
	case 'b': a->base = arg; return 1;
	case 'p':
		if (main_number("ingress-port", arg, 1, 65535, &port) != 0)
			return -1;
		a->o.ingress_port = (int)port;
		return 1;
	case 'l':
		if (inet_pton(AF_INET, arg, addr) != 1 && inet_pton(AF_INET6, arg, addr) != 1) {
			fprintf(stderr, "passthrough-gateway: --listen-address: \"%s\" is not a "
			    "numeric IPv4 or IPv6 address\n", arg);
			return -1;
		}
		a->o.listen_address = arg;
		return 1;
	}
	return 0;
}

#define MAIN_RENDER_OPTIONS \
	{ "gateway-class", required_argument, NULL, 'g' }, \
	{ "controller-name", required_argument, NULL, 'c' }, \
	{ "ingress-class", required_argument, NULL, 'i' }, \
	{ "ingress-port", required_argument, NULL, 'p' }, \
	{ "listen-address", required_argument, NULL, 'l' }, \
	{ "base", required_argument, NULL, 'b' }

/* Fills a from the command line after "render"; returns optind, or -1 after a usage message. */
static int
main_parse(int argc, char **argv, struct main_args *a)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		MAIN_RENDER_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((rc = main_render_option(c, optarg, a)) < 0)
			return -1;
		if (rc > 0)
			continue;
		if (c == 's') {
			a->status = optarg;
			continue;
		}
		main_usage(stderr);
		return -1;
	}
	if (optind >= argc) {
		fprintf(stderr, "passthrough-gateway: render: no FILE\n");
		main_usage(stderr);
		return -1;
	}
	return optind;
}

/* One of watch's own options; 0 taken, -1 after a message. */
static int
main_watch_option(int c, const char *arg, struct watch_options *w)
{
	long n;

	switch (c) {
	case 'C': w->config = arg; return 0;
	case 'k': w->kubeconfig = arg; return 0;
	case 'x': w->context = arg; return 0;
	case 'S': w->sa_dir = arg; return 0;
	case 'P': w->passthrough = arg; return 0;
	case 'r':
		if (!strcmp(arg, "watch") || !strcmp(arg, "signal")) {
			w->reload = arg[0] == 'w' ? WATCH_RELOAD_WATCH : WATCH_RELOAD_SIGNAL;
			return 0;
		}
		fprintf(stderr, "passthrough-gateway: --reload: \"%s\" is not watch or signal\n",
		    arg);
		return -1;
	case 't':
		w->stats = arg;
		if (arg[arg[0] == '/'] != '\0' && strchr(arg + 1, '/') == NULL &&
		    strlen(arg + (arg[0] == '/')) <= STATS_NAME_MAX)
			return 0;
		fprintf(stderr, "passthrough-gateway: --stats: \"%s\" is not a segment name "
		    "(no '/' but a leading one, at most %u bytes)\n", arg, STATS_NAME_MAX);
		return -1;
	case 'd':
		if (main_number("debounce", arg, 0, MAIN_DEBOUNCE_MAX_MS, &n) != 0)
			return -1;
		w->debounce_ms = (int)n;
		return 0;
	case 'T':
		if (main_number("programmed-timeout", arg, 1, MAIN_PROGRAMMED_TIMEOUT_MAX_S,
		    &n) != 0)
			return -1;
		w->programmed_timeout_s = (int)n;
		return 0;
	}
	main_usage(stderr);
	return -1;
}

/* Fills a->w from the command line after "watch"; 0, or -1 after a message. */
static int
main_parse_watch(int argc, char **argv, struct main_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "context", required_argument, NULL, 'x' },
		{ "serviceaccount-dir", required_argument, NULL, 'S' },
		{ "reload", required_argument, NULL, 'r' },
		{ "passthrough", required_argument, NULL, 'P' },
		{ "stats", required_argument, NULL, 't' },
		{ "debounce", required_argument, NULL, 'd' },
		{ "programmed-timeout", required_argument, NULL, 'T' },
		MAIN_RENDER_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((rc = main_render_option(c, optarg, a)) < 0)
			return -1;
		if (rc == 0 && main_watch_option(c, optarg, &a->w) != 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "passthrough-gateway: watch: \"%s\": no FILE is read, the objects "
		    "come from the API server\n", argv[optind]);
		return -1;
	}
	if (a->w.config == NULL) {
		fprintf(stderr, "passthrough-gateway: watch: --config FILE is needed\n");
		main_usage(stderr);
		return -1;
	}
	if (a->w.context != NULL && a->w.kubeconfig == NULL) {
		fprintf(stderr, "passthrough-gateway: watch: --context needs --kubeconfig\n");
		return -1;
	}
	a->w.base = a->base;
	a->w.o = a->o;
	return 0;
}

/* The status List into path. */
static int
main_status(const char *path, const json_t *status)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL) {
		fprintf(stderr, "passthrough-gateway: %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = json_dumpf(status, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (rc == 0 && fputc('\n', f) == EOF)
		rc = -1;
	if (fclose(f) != 0 || rc != 0) {
		fprintf(stderr, "passthrough-gateway: %s: write failed\n", path);
		return -1;
	}
	return 0;
}

/* render: load, translate, write; the configuration reaches stdout only whole. */
static int
main_render(struct main_args *a, char **files, int nfiles)
{
	struct gw_input in = { 0 };
	struct gw_result r = { 0 };
	struct gw_err e = { "" };
	char *base = NULL, *text = NULL;
	size_t len = 0;
	FILE *mem;
	int i, wrc, rc = MAIN_EXIT_INPUT;

	for (i = 0; i < nfiles; i++)
		if (load_file(&in, files[i], &e) != 0)
			goto out;
	if (a->base != NULL && (base = base_read(a->base, &e)) == NULL)
		goto out;
	if (render_run(&in, &a->o, &r, &e) != 0)
		goto out;
	if ((mem = open_memstream(&text, &len)) == NULL) {
		snprintf(e.msg, sizeof(e.msg), "out of memory");
		goto out;
	}
	wrc = confout_write(mem, &r, &a->o, base, files, (size_t)nfiles);
	if (fclose(mem) != 0 || wrc != 0) {
		snprintf(e.msg, sizeof(e.msg), "out of memory");
		goto out;
	}
	if (a->status != NULL && main_status(a->status, r.status) != 0)
		goto out_quiet;
	if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
		snprintf(e.msg, sizeof(e.msg), "stdout: write failed");
		goto out;
	}
	rc = 0;
	goto out_quiet;
out:
	fprintf(stderr, "passthrough-gateway: %s\n", e.msg);
out_quiet:
	free(text);
	free(base);
	render_free(&r);
	load_free(&in);
	return rc;
}

int
main(int argc, char **argv)
{
	struct main_args a = { .o = { GW_OPTIONS_DEFAULTS },
	    .w = { .reload = WATCH_RELOAD_WATCH, .passthrough = WATCH_PASSTHROUGH,
	        .debounce_ms = WATCH_DEBOUNCE_MS,
	        .programmed_timeout_s = WATCH_PROGRAMMED_TIMEOUT_S } };
	int first;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		main_usage(stdout);
		return 0;
	}
	if (argc >= 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		printf("passthrough-gateway %s\n", PASSTHROUGH_VERSION);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "watch")) {
		if (main_parse_watch(argc - 1, argv + 1, &a) != 0)
			return MAIN_EXIT_USAGE;
		return watch_main(&a.w);
	}
	if (argc < 2 || strcmp(argv[1], "render") != 0) {
		main_usage(stderr);
		return MAIN_EXIT_USAGE;
	}
	main_now(a.now, sizeof(a.now));
	a.o.now = a.now;
	if ((first = main_parse(argc - 1, argv + 1, &a)) < 0)
		return MAIN_EXIT_USAGE;
	return main_render(&a, argv + 1 + first, argc - 1 - first);
}
