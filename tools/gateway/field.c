/*
 * field.c -- typed reads of a Kubernetes object's fields: absent is the
 * default, the wrong type is one message naming the file, the line (a
 * YAML mapping's, when known), the object and the field.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "render_int.h"

int
gw_fail(struct gw_err *e, const char *file, int line, const char *fmt, ...)
{
	char what[768], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (file == NULL)
		snprintf(e->msg, sizeof(e->msg), "%s", what);
	else if (line > 0)
		snprintf(e->msg, sizeof(e->msg), "%s:%d: %s", file, line, what);
	else
		snprintf(e->msg, sizeof(e->msg), "%s: %s", file, what);
	/* One line whatever the input's names hold: control bytes become '?'. */
	for (p = e->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

int
gw_line(const json_t *obj, int def)
{
	json_t *l = json_object_get(obj, YAMLDOC_LINE_KEY);

	return json_is_integer(l) ? (int)json_integer_value(l) : def;
}

int
field_fail(const struct gw_object *o, const json_t *parent, struct gw_err *e, const char *fmt, ...)
{
	char what[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (o->ns[0] != '\0')
		return gw_fail(e, o->file, gw_line(parent, o->line), "%s %s/%s: %s", o->kind, o->ns,
		    o->name, what);
	return gw_fail(e, o->file, gw_line(parent, o->line), "%s %s: %s", o->kind, o->name, what);
}

/* parent[key], NULL when absent or null (parent need not be an object). */
static json_t *
field_get(const json_t *parent, const char *key)
{
	json_t *v = json_object_get(parent, key);

	return json_is_null(v) ? NULL : v;
}

static const char *
field_sep(const char *path)
{
	return path[0] ? "." : "";
}

int
field_str(const struct gw_object *o, const json_t *parent, const char *path, const char *key,
    const char **out, struct gw_err *e)
{
	json_t *v = field_get(parent, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return field_fail(o, parent, e, "%s%s%s: not a string", path, field_sep(path), key);
	*out = json_string_value(v);
	return 0;
}

int
field_int(const struct gw_object *o, const json_t *parent, const char *path, const char *key,
    long long min, long long max, long long def, long long *out, struct gw_err *e)
{
	json_t *v = field_get(parent, key);

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return field_fail(o, parent, e, "%s%s%s: not an integer", path, field_sep(path), key);
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return field_fail(o, parent, e, "%s%s%s: %lld is not in %lld .. %lld", path,
		    field_sep(path), key, (long long)json_integer_value(v), min, max);
	*out = json_integer_value(v);
	return 0;
}

int
field_obj(const struct gw_object *o, const json_t *parent, const char *path, const char *key,
    json_t **out, struct gw_err *e)
{
	json_t *v = field_get(parent, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_object(v))
		return field_fail(o, parent, e, "%s%s%s: not an object", path, field_sep(path), key);
	*out = v;
	return 0;
}

int
field_arr(const struct gw_object *o, const json_t *parent, const char *path, const char *key,
    json_t **out, struct gw_err *e)
{
	json_t *v = field_get(parent, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return field_fail(o, parent, e, "%s%s%s: not a list", path, field_sep(path), key);
	*out = v;
	return 0;
}
