/* main.c -- passthrough-stats: the operator's window into a running passthrough. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "render.h"
#include "segment.h"
#include "serve.h"
#include "stats_tool.h"
#include "top.h"
#include "tunables.h"

/* main_parse(): the command line asked for help or the version, now printed. */
#define MAIN_DONE	(-1)

enum main_mode {
	MAIN_TABLE,
	MAIN_JSON,
	MAIN_PROMETHEUS,
	MAIN_WATCH,
	MAIN_SERVE,
	MAIN_CHECK,
};

struct main_args {
	const char *config;		/* -c; the default when neither -c nor -n */
	const char *name;		/* -n */
	enum main_mode mode;
	int modes;			/* modes asked for: more than one is a usage error */
	double interval;		/* --watch */
	const char *listen;		/* --serve */
};

static void
main_usage(FILE *out)
{
	fprintf(out,
	    "usage: passthrough-stats [-c FILE | -n NAME] [--json | --prometheus |\n"
	    "                         --watch SECONDS | --serve ADDR:PORT | --check]\n"
	    "       passthrough-stats -h | -V\n"
	    "Shows the statistics of a running passthrough (read-only).\n"
	    "  -c, --config FILE     its configuration (default %s);\n"
	    "                        the segment is found as the proxy names it\n"
	    "  -n, --name NAME       the segment's shm name instead (stats.name)\n"
	    "  (no mode)             tables: master, workers, routes, backends, totals,\n"
	    "                        close reasons, latency percentiles\n"
	    "  -j, --json            one JSON document (keys: see tools/stats/render_json.c)\n"
	    "  -p, --prometheus      Prometheus text exposition format 0.0.4\n"
	    "  -w, --watch SECONDS   redraw every SECONDS with per-second rates; q quits\n"
	    "  -s, --serve ADDR:PORT serve GET /metrics over HTTP (\"*:9100\", \"127.0.0.1:9100\")\n"
	    "  -C, --check           exit 0 when the master and every worker serve (one\n"
	    "                        line on stdout; a failed last reload is named, not\n"
	    "                        a failure), else 1 and why on stderr (exec probes)\n"
	    "  -h, --help            this help\n"
	    "  -V, --version         the version\n"
	    "Exit status: 0 success, 1 error (no segment, I/O; --check: not serving),\n"
	    "2 usage.\n",
	    DEFAULT_CONFIG_PATH);
}

static int
main_interval(const char *text, double *interval)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !isfinite(v) ||
	    v < TOP_INTERVAL_MIN || v > TOP_INTERVAL_MAX) {
		fprintf(stderr, "passthrough-stats: --watch \"%s\": seconds from %g to %g\n", text,
		    TOP_INTERVAL_MIN, TOP_INTERVAL_MAX);
		return -1;
	}
	*interval = v;
	return 0;
}

/* Fills args from argv. 0, MAIN_DONE (help or version printed), or TOOL_EXIT_USAGE. */
static int
main_parse(int argc, char **argv, struct main_args *args)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "watch", required_argument, NULL, 'w' },
		{ "serve", required_argument, NULL, 's' },
		{ "check", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(args, 0, sizeof(*args));
	while ((opt = getopt_long(argc, argv, "c:n:jpw:s:ChV", options, NULL)) != -1) {
		switch (opt) {
		case 'c': args->config = optarg; break;
		case 'n': args->name = optarg; break;
		case 'j': args->mode = MAIN_JSON; args->modes++; break;
		case 'p': args->mode = MAIN_PROMETHEUS; args->modes++; break;
		case 'w':
			args->mode = MAIN_WATCH;
			args->modes++;
			if (main_interval(optarg, &args->interval) != 0)
				return TOOL_EXIT_USAGE;
			break;
		case 's': args->mode = MAIN_SERVE; args->modes++; args->listen = optarg; break;
		case 'C': args->mode = MAIN_CHECK; args->modes++; break;
		case 'h': main_usage(stdout); return MAIN_DONE;
		case 'V': printf("passthrough-stats %s\n", PASSTHROUGH_VERSION); return MAIN_DONE;
		default: main_usage(stderr); return TOOL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "passthrough-stats: unexpected argument \"%s\"\n", argv[optind]);
		return TOOL_EXIT_USAGE;
	}
	if (args->config != NULL && args->name != NULL) {
		fprintf(stderr, "passthrough-stats: -c and -n both name the segment: give one\n");
		return TOOL_EXIT_USAGE;
	}
	if (args->modes > 1) {
		fprintf(stderr, "passthrough-stats: --json, --prometheus, --watch, --serve and "
		    "--check exclude each other\n");
		return TOOL_EXIT_USAGE;
	}
	if (args->name == NULL && args->config == NULL)
		args->config = DEFAULT_CONFIG_PATH;
	return 0;
}

/* Why the segment of args could not be mapped, for the operator. */
static void
main_open_failed(const struct main_args *args, const char *name, int rc, const char *why)
{
	if (rc == -ENOENT && args->mode == MAIN_CHECK) {
		/* One line, as a probe's output is read. */
		fprintf(stderr, "passthrough-stats: not serving: no statistics segment %s%s%s: "
		    "passthrough is not running%s\n", name, args->config != NULL ? " for " : "",
		    args->config != NULL ? args->config : "",
		    args->config != NULL ? " with this configuration" : "");
	} else if (rc == -ENOENT && args->config != NULL) {
		fprintf(stderr, "passthrough-stats: no statistics segment %s for %s "
		    "(is passthrough running with this configuration?)\n", name, args->config);
		/* Unreadable, its stats.name (if any) was not seen: the name may be wrong. */
		if (access(args->config, R_OK) != 0)
			fprintf(stderr, "passthrough-stats: note: %s: %s%s\n", args->config,
			    strerror(errno), errno == ENOENT ? "" :
			    "; if it sets stats.name, give that name with -n");
	} else if (rc == -ENOENT) {
		fprintf(stderr, "passthrough-stats: no statistics segment %s "
		    "(is passthrough running?)\n", name);
	} else if (rc == -EPROTO && why != NULL) {
		fprintf(stderr, "passthrough-stats: %s %s\n", name, why);
	} else if (rc == -EACCES) {
		fprintf(stderr, "passthrough-stats: %s: %s (the segment is readable by root and "
		    "the group set with stats.group)\n", name, strerror(-rc));
	} else {
		fprintf(stderr, "passthrough-stats: %s: %s\n", name, strerror(-rc));
	}
}

/* Names and maps the segment of args. An exit status. */
static int
main_open(const struct main_args *args, struct segment *seg)
{
	char name[SEGMENT_NAME_MAX];
	const char *why;
	int rc;

	if (args->name != NULL) {
		rc = segment_name_from_arg(name, sizeof(name), args->name);
		if (rc != 0) {
			fprintf(stderr, "passthrough-stats: -n \"%s\": %s\n", args->name, rc == -EINVAL ?
			    "a shm name is one path component" : "too long for a shm name here");
			return TOOL_EXIT_USAGE;
		}
	} else {
		rc = segment_name_for_config(name, sizeof(name), args->config);
		if (rc != 0) {
			fprintf(stderr, "passthrough-stats: %s: %s%s\n", args->config, strerror(-rc),
			    rc == -ENOENT ? " (name the configuration with -c FILE, or the "
			    "segment with -n NAME)" : "");
			return TOOL_EXIT_FAIL;
		}
	}
	rc = segment_open(seg, name, &why);
	if (rc != 0) {
		main_open_failed(args, name, rc, why);
		segment_close(seg);
		return TOOL_EXIT_FAIL;
	}
	return TOOL_EXIT_OK;
}

/* The table, JSON or Prometheus text of one snapshot to stdout. An exit status. */
static int
main_print(const struct main_args *args, struct segment *seg)
{
	struct snapshot snap;
	struct textbuf out;
	const char *text;
	int rc = snapshot_take(&snap, seg);

	if (rc != 0) {
		fprintf(stderr, "passthrough-stats: %s: %s\n", seg->name, rc == -EAGAIN ?
		    "the master kept folding worker counters (did it die mid-update?)" :
		    strerror(-rc));
		return TOOL_EXIT_FAIL;
	}
	textbuf_init(&out);
	if (args->mode == MAIN_JSON)
		render_json(&out, &snap);
	else if (args->mode == MAIN_PROMETHEUS)
		render_prom(&out, &snap);
	else
		render_table(&out, &snap);
	snapshot_free(&snap);
	text = textbuf_text(&out);
	rc = TOOL_EXIT_OK;
	if (text == NULL) {
		fprintf(stderr, "passthrough-stats: out of memory rendering %s\n", seg->name);
		rc = TOOL_EXIT_FAIL;
	} else if (fwrite(text, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		fprintf(stderr, "passthrough-stats: writing: %s\n", strerror(errno));
		rc = TOOL_EXIT_FAIL;
	}
	textbuf_free(&out);
	return rc;
}

int
main(int argc, char **argv)
{
	struct main_args args;
	struct segment seg;
	int rc = main_parse(argc, argv, &args);

	if (rc != 0)
		return rc == MAIN_DONE ? TOOL_EXIT_OK : rc;
	rc = main_open(&args, &seg);
	if (rc != TOOL_EXIT_OK)
		return rc;
	switch (args.mode) {
	case MAIN_WATCH:
		rc = top_run(&seg, args.interval);
		break;
	case MAIN_SERVE:
		rc = serve_run(&seg, args.listen);
		break;
	case MAIN_CHECK:
		rc = check_run(&seg);
		break;
	case MAIN_TABLE:
	case MAIN_JSON:
	case MAIN_PROMETHEUS:
		rc = main_print(&args, &seg);
		break;
	}
	segment_close(&seg);
	return rc;
}
