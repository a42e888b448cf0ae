/*
 * config_sha256_test.c -- config_load() records the SHA-256 of the main
 * file's bytes as it read them (the hash the statistics segment publishes
 * as config_sha256 and last_reload_sha256): for a file that loads, for one
 * that is refused (kept when everything else is emptied), none for a file
 * that cannot be read, and not the bytes of a file it @includes.
 */
#include <arpa/inet.h>

#include "config_test.h"
#include "sha256.h"

TestSuite(config_sha256, .fini = teardown);

/* cr_assert that cfg.sha256 is the digest of text. */
static void
assert_sha256_of(const char *text)
{
	char got[SHA256_HEX_SIZE], want[SHA256_HEX_SIZE];
	uint8_t d[SHA256_BYTES];

	sha256_digest(text, strlen(text), d);
	sha256_hex(d, want);
	sha256_hex(cfg.sha256, got);
	cr_assert_str_eq(got, want);
}

Test(config_sha256, a_file_that_loads_has_the_hash_of_its_bytes)
{
	static const char text[] = LISTEN_OK ROUTES_OK "# a comment is bytes too\n";

	cr_assert_eq(load(text), 0);
	assert_sha256_of(text);
}

Test(config_sha256, a_refused_file_keeps_the_hash_of_what_was_read)
{
	static const char text[] = LISTEN_OK "workers = \"many\";\n" ROUTES_OK;

	cr_assert_eq(load(text), -1);
	cr_assert_gt(errs.count, 0);
	cr_assert_null(cfg.path);
	assert_sha256_of(text);
}

Test(config_sha256, a_syntax_error_keeps_the_hash_too)
{
	static const char text[] = LISTEN_OK "routes = ( {\n";

	cr_assert_eq(load(text), -1);
	assert_sha256_of(text);
}

Test(config_sha256, a_file_that_cannot_be_read_has_none)
{
	memset(cfg.sha256, 0xff, sizeof(cfg.sha256));
	cr_assert_eq(config_load(&cfg, "/nonexistent/passthrough.conf", &errs), -1);
	cr_assert(sha256_is_zero(cfg.sha256));
}

/* The hash is of the main file: an @included file's edit does not move it. */
Test(config_sha256, included_files_are_not_hashed)
{
	char inc[] = "/tmp/config_sha256_inc.XXXXXX", text[256];
	uint8_t first[SHA256_BYTES];
	FILE *f;

	write_temp(inc, ROUTES_OK);
	snprintf(text, sizeof(text), LISTEN_OK "@include \"%s\"\n", inc);
	cr_assert_eq(load(text), 0);
	cr_assert_eq(cfg.route_count, 1);
	assert_sha256_of(text);
	memcpy(first, cfg.sha256, sizeof(first));
	config_free(&cfg);
	f = fopen(inc, "w");
	cr_assert_not_null(f);
	fputs("routes = ( { sni = \"*\"; backends = [ \"127.0.0.1:9446\" ]; } );\n", f);
	fclose(f);
	cr_assert_eq(config_load(&cfg, conf_path, &errs), 0);
	unlink(inc);
	cr_assert_eq(cfg.routes[0].backends[0].u.in.sin_port, htons(9446), "the edit was read");
	cr_assert_arr_eq(cfg.sha256, first, SHA256_BYTES);
}
