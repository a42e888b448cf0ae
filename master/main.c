/* main.c -- passthrough's command line: check a configuration, or run the proxy. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "master.h"
#include "tunables.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: passthrough [-f] [-c FILE]   run in the foreground, logging to stderr\n"
	    "       passthrough -t [-c FILE]     check the configuration and exit\n"
	    "       passthrough -h | -V\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -f       stay in the foreground (the default)\n"
	    "  -t       check the configuration: prints \"configuration OK\" or every\n"
	    "           error as FILE:LINE: SETTING: MESSAGE; exits 0 or 1\n"
	    "  -h       this help\n"
	    "  -V       the version\n"
	    "signals: SIGTERM, SIGINT stop\n", DEFAULT_CONFIG_PATH);
}

/* Loads path; prints every error. Returns 0 or -1. */
static int
load(struct config *cfg, const char *path)
{
	struct config_errors errs = { 0 };
	int rc = config_load(cfg, path, &errs);

	for (uint32_t i = 0; i < errs.count; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	config_errors_free(&errs);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG_PATH;
	struct config cfg = { 0 };
	int opt, test = 0, rc;

	while ((opt = getopt(argc, argv, "c:fthV")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			break;
		case 't':
			test = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("passthrough %s\n", PASSTHROUGH_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "passthrough: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (load(&cfg, path) != 0)
		return 1;
	if (test) {
		printf("configuration OK\n");
		config_free(&cfg);
		return 0;
	}
	log_set_level(cfg.log_level);
	rc = master_run(&cfg);
	config_free(&cfg);
	return rc;
}
