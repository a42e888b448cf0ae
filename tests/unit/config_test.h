/*
 * config_test.h -- what the config_load() tests share: a temporary file to
 * load, the loaded config and its faults, and the checks that a text loads
 * or fails with exactly the given "file:line: setting: message" lines.
 * Each test file is its own binary and includes this once; the helpers are
 * static inline so that one which a file does not use costs no warning.
 */
#ifndef PASSTHROUGH_CONFIG_TEST_H
#define PASSTHROUGH_CONFIG_TEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* The smallest valid file; tests append to it or replace parts. */
#define LISTEN_OK "listen = [ \"127.0.0.1:8443\" ];\n"
#define ROUTES_OK "routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:9445\" ]; } );\n"

static char conf_path[] = "/tmp/config_test.XXXXXX";
static struct config cfg;
static struct config_errors errs;

/* Writes text to a new temporary file; returns its path (static storage). */
static inline const char *
write_temp(char *path_template, const char *text)
{
	size_t len = strlen(text);
	int fd = mkstemp(path_template);

	cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path_template;
}

static inline void
teardown(void)
{
	config_free(&cfg);
	config_errors_free(&errs);
	if (strcmp(conf_path, "/tmp/config_test.XXXXXX") != 0)
		unlink(conf_path);
}

/* Lets a test write a second file into conf_path. */
static inline void
reset_temp(void)
{
	unlink(conf_path);
	strcpy(conf_path, "/tmp/config_test.XXXXXX");
}

static inline int
load(const char *text)
{
	return config_load(&cfg, write_temp(conf_path, text), &errs);
}

static inline void
dump_errors(void)
{
	uint32_t i;

	for (i = 0; i < errs.count; i++)
		cr_log_error("got: %s", errs.msg[i]);
}

/*
 * Loads text, expects failure with exactly these messages (NULL-terminated),
 * each written without the file name: ":3: workers: ...".
 */
static inline void
expect_errors(const char *text, ...)
{
	char want[1024];
	const char *suffix;
	uint32_t n = 0;
	va_list ap;
	int rc = load(text);

	if (rc != -1 || errs.count == 0)
		dump_errors();
	cr_assert_eq(rc, -1, "config_load accepted:\n%s", text);
	va_start(ap, text);
	while ((suffix = va_arg(ap, const char *)) != NULL) {
		if (n >= errs.count) {
			dump_errors();
			cr_assert_fail("missing error %u: %s%s", n, conf_path, suffix);
		}
		snprintf(want, sizeof(want), "%s%s", conf_path, suffix);
		if (strcmp(errs.msg[n], want) != 0)
			dump_errors();
		cr_assert_str_eq(errs.msg[n], want);
		n++;
	}
	va_end(ap);
	if (errs.count != n)
		dump_errors();
	cr_assert_eq(errs.count, n, "%u errors, expected %u", errs.count, n);
	/* On failure nothing is kept. */
	cr_assert_null(cfg.path);
	cr_assert_null(cfg.listen);
	cr_assert_null(cfg.routes);
	cr_assert_eq(cfg.route_count, 0);
}

static inline void
expect_ok(const char *text)
{
	int rc = load(text);

	if (rc != 0)
		dump_errors();
	cr_assert_eq(rc, 0);
	cr_assert_eq(errs.count, 0);
}

static inline const char *
fmt_addr(const struct addr *a)
{
	static char buf[ADDR_STRLEN];

	return addr_format(a, buf, sizeof(buf));
}
#endif
