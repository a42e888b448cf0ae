/* main.c -- passthrough's command line: check a configuration, run the proxy, or signal it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "events.h"
#include "log.h"
#include "master.h"
#include "path.h"
#include "stats.h"
#include "tunables.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: passthrough [-f | -d] [-c FILE]   run the proxy\n"
	    "       passthrough -t [-c FILE]          check the configuration\n"
	    "       passthrough -s SIGNAL [-c FILE]   signal the running daemon\n"
	    "       passthrough -h | -V\n"
	    "  -c FILE    configuration file (default %s)\n"
	    "  -f         stay in the foreground, log to stderr (the default)\n"
	    "  -d         detach: return once serving, write pid_file (default %s),\n"
	    "             log to syslog unless log.error names a file\n"
	    "  -t         check the configuration: prints \"configuration OK\" or every\n"
	    "             error as FILE:LINE: SETTING: MESSAGE; exits 0 or 1; warns\n"
	    "             when the workers would not get io_uring (tuning.events)\n"
	    "  -s SIGNAL  reload (SIGHUP: waits for the outcome, exit 1 if refused),\n"
	    "             stop (SIGTERM), quit (SIGQUIT: finish open\n"
	    "             connections first) or reopen (SIGUSR1: reopen the log file),\n"
	    "             sent to the pid in the configuration's pid_file;\n"
	    "             exit 3 when no passthrough runs there\n"
	    "  -h         this help\n"
	    "  -V         the version\n",
	    DEFAULT_CONFIG_PATH, DEFAULT_PID_FILE);
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

/*
 * -t: says (on stderr, as a warning: the file is fine) when the workers
 * would not get io_uring here with cfg's tuning.events.
 */
static void
check_events(const struct config *cfg)
{
	struct events_choice c;

	events_decide(cfg, 1, &c);
	if (c.msg[0] != '\0')
		fprintf(stderr, "passthrough: warning: %s\n", c.msg);
	if (c.kind == ENGINE_EPOLL && cfg->settings.relay == RELAY_SPLICE_RING)
		fprintf(stderr, "passthrough: warning: relay \"splice_ring\" needs io_uring: "
		    "the workers would relay with \"splice\"\n");
}

static int
send_signal(const char *path, const char *name)
{
	char *pid_file = config_pid_file(path), *configured = config_stats_name(path);
	char abs_path[PATH_MAX], shm[STATS_NAME_MAX + 16];
	int rc;

	if (path_absolute(path, abs_path, sizeof(abs_path)) == NULL)
		snprintf(abs_path, sizeof(abs_path), "%s", path);
	stats_name(shm, sizeof(shm), configured, abs_path);
	rc = daemon_signal(pid_file != NULL ? pid_file : DEFAULT_PID_FILE, shm, name);
	free(pid_file);
	free(configured);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG_PATH, *signal_name = NULL;
	static char abs_path[PATH_MAX];
	struct config cfg = { 0 };
	int opt, test = 0, flags = 0;

	while ((opt = getopt(argc, argv, "c:dfs:thV")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			flags |= MASTER_DAEMON;
			break;
		case 'f':
			flags &= ~MASTER_DAEMON;
			break;
		case 's':
			signal_name = optarg;
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
	if (signal_name != NULL)
		return send_signal(path, signal_name);
	if (test) {
		/* Messages name the file as given. */
		if (load(&cfg, path) != 0)
			return 1;
		check_events(&cfg);
		printf("configuration OK\n");
		config_free(&cfg);
		return 0;
	}
	/* A daemon works from /; reloads must still find the file. */
	if (path_absolute(path, abs_path, sizeof(abs_path)) == NULL) {
		fprintf(stderr, "passthrough: %s: %s\n", path, strerror(errno));
		return 1;
	}
	path = abs_path;
	if (load(&cfg, path) != 0)
		return 1;
	log_set_level(cfg.settings.log_level);
	return master_run(&cfg, path, flags);
}
