/*
 * main.c -- passthrough-gateway: the Gateway API (TLSRoute on TLS
 * Passthrough listeners) and passthrough Ingresses as a passthrough.conf.
 * `render` reads Kubernetes objects from files and writes the
 * configuration on stdout (and, with --status, the status it would set).
 * Exit status: 0 rendered, 1 bad input (one line on stderr, nothing on
 * stdout), 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render.h"
#include "tunables.h"

#define MAIN_EXIT_INPUT	1
#define MAIN_EXIT_USAGE	2

struct main_args {
	struct gw_options o;
	const char *status;
	const char *base;
	char now[32];
};

static void
main_usage(FILE *out)
{
	fprintf(out,
	    "usage: passthrough-gateway render [--status FILE] [--gateway-class NAME]\n"
	    "           [--controller-name NAME] [--ingress-class NAME] [--ingress-port PORT]\n"
	    "           [--listen-address ADDR] [--base FILE] FILE...\n"
	    "       passthrough-gateway -h | -V\n"
	    "Renders Kubernetes objects (YAML or JSON) into a passthrough.conf on stdout.\n"
	    "  --status FILE           write the status the controller would set (JSON)\n"
	    "  --gateway-class NAME    the GatewayClass taken without its object (passthrough)\n"
	    "  --controller-name NAME  this controller's name in GatewayClasses and status\n"
	    "                          (" GW_CONTROLLER_NAME ")\n"
	    "  --ingress-class NAME    the class of the passthrough Ingresses (passthrough)\n"
	    "  --ingress-port PORT     the port passthrough Ingresses are served on (443)\n"
	    "  --listen-address ADDR   the address every listener binds (all of them)\n"
	    "  --base FILE             a passthrough.conf whose other settings are kept\n"
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

/* Fills a from the command line after "render"; returns optind, or -1 after a usage message. */
static int
main_parse(int argc, char **argv, struct main_args *a)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ "gateway-class", required_argument, NULL, 'g' },
		{ "controller-name", required_argument, NULL, 'c' },
		{ "ingress-class", required_argument, NULL, 'i' },
		{ "ingress-port", required_argument, NULL, 'p' },
		{ "listen-address", required_argument, NULL, 'l' },
		{ "base", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned char addr[sizeof(struct in6_addr)];
	char *end;
	long port;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': a->status = optarg; break;
		case 'g': a->o.gateway_class = optarg; break;
		case 'c': a->o.controller_name = optarg; break;
		case 'i': a->o.ingress_class = optarg; break;
		case 'b': a->base = optarg; break;
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || port < 1 || port > 65535) {
				fprintf(stderr, "passthrough-gateway: --ingress-port: \"%s\" is not a "
				    "port (1 .. 65535)\n", optarg);
				return -1;
			}
			a->o.ingress_port = (int)port;
			break;
		case 'l':
			if (inet_pton(AF_INET, optarg, addr) != 1 && inet_pton(AF_INET6, optarg, addr) != 1) {
				fprintf(stderr, "passthrough-gateway: --listen-address: \"%s\" is not a "
				    "numeric IPv4 or IPv6 address\n", optarg);
				return -1;
			}
			a->o.listen_address = optarg;
			break;
		default:
			main_usage(stderr);
			return -1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "passthrough-gateway: render: no FILE\n");
		main_usage(stderr);
		return -1;
	}
	return optind;
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
	struct main_args a = { .o = { GW_OPTIONS_DEFAULTS } };
	int first;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		main_usage(stdout);
		return 0;
	}
	if (argc >= 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		printf("passthrough-gateway %s\n", PASSTHROUGH_VERSION);
		return 0;
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
