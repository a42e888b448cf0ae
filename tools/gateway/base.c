/*
 * base.c -- --base FILE: a passthrough.conf whose settings other than
 * listen, listeners and routes (timeouts, logs, user, stats...) the
 * rendered file keeps. Read with libconfig, the three removed, the rest
 * written back by libconfig: values exactly as passthrough will read them
 * (comments and layout are not kept). passthrough itself judges the
 * settings when it loads the result (passthrough -t).
 */
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>

#include "render_int.h"

char *
base_read(const char *path, struct gw_err *e)
{
	static const char *const drop[] = { "listen", "listeners", "routes" };
	config_t cfg;
	char *text = NULL;
	size_t len = 0, i;
	FILE *mem;

	config_init(&cfg);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			gw_fail(e, path, 0, "cannot read it");
		else
			gw_fail(e, config_error_file(&cfg) ? config_error_file(&cfg) : path,
			    config_error_line(&cfg), "%s", config_error_text(&cfg));
		config_destroy(&cfg);
		return NULL;
	}
	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (config_lookup(&cfg, drop[i]) != NULL)
			config_setting_remove(config_root_setting(&cfg), drop[i]);
	if ((mem = open_memstream(&text, &len)) == NULL) {
		config_destroy(&cfg);
		gw_fail(e, path, 0, "out of memory");
		return NULL;
	}
	config_write(&cfg, mem);
	if (fclose(mem) != 0) {
		free(text);
		text = NULL;
		gw_fail(e, path, 0, "out of memory");
	}
	config_destroy(&cfg);
	return text;
}
