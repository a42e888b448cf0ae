/*
 * config_err.c -- the config loader's faults, each kept as
 * "file:line: setting: message" (or "file:line: message"), with the
 * setting named by its path and user text quoted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

void
config_err_at(struct config_ctx *ctx, const char *file, unsigned line,
    const char *setting, const char *fmt, ...)
{
	struct config_errors *errs = ctx->errs;
	char msg[LOG_LINE_MAX], **grown, *full;
	va_list ap;
	int n;

	ctx->faults++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line == 0)
		n = asprintf(&full, "%s: %s%s%s", file, setting,
		    setting[0] != '\0' ? ": " : "", msg);
	else
		n = asprintf(&full, "%s:%u: %s%s%s", file, line, setting,
		    setting[0] != '\0' ? ": " : "", msg);
	if (n < 0)
		return;	/* out of memory: the load fails on what it could report */
	grown = realloc(errs->msg, (errs->count + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(full);
		return;
	}
	errs->msg = grown;
	errs->msg[errs->count++] = full;
}

/* What s is, as "expected ..., got <this>" says it. */
static const char *
config_type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:	return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:	return "an integer";
	case CONFIG_TYPE_FLOAT:	return "a float";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL:	return "a boolean";
	case CONFIG_TYPE_ARRAY:	return "an array";
	case CONFIG_TYPE_LIST:	return "a list";
	default:		return "nothing";
	}
}

const char *
config_quote(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	buf[n++] = '"';
	for (; *s != '\0' && n + 8 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			n += (size_t)snprintf(buf + n, size - n, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	if (*s != '\0')
		n += (size_t)snprintf(buf + n, size - n, "...");
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

char *
config_path(const config_setting_t *s, char *buf, size_t size)
{
	const config_setting_t *parent = config_setting_parent(s);
	size_t n;

	buf[0] = '\0';
	if (parent == NULL)
		return buf;
	config_path(parent, buf, size);
	n = strlen(buf);
	if (config_setting_is_group(parent))
		snprintf(buf + n, size - n, "%s%s", n != 0 ? "." : "",
		    config_setting_name(s));
	else
		snprintf(buf + n, size - n, "[%d]", config_setting_index(s));
	return buf;
}

const char *
config_file(const struct config_ctx *ctx, const config_setting_t *s)
{
	const char *file = config_setting_source_file(s);

	return file != NULL ? file : ctx->path;
}

void
config_err(struct config_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
{
	char path[CONFIG_PATH_MAX], msg[LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	config_err_at(ctx, config_file(ctx, s), config_text_line(ctx, s),
	    config_path(s, path, sizeof(path)), "%s", msg);
}

void
config_err_type(struct config_ctx *ctx, const config_setting_t *s, const char *want)
{
	config_err(ctx, s, "expected %s, got %s", want, config_type_name(s));
}
