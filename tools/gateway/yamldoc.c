/*
 * yamldoc.c -- YAML documents (libyaml's event parser) into jansson trees,
 * one callback per document. Scalars are typed as YAML 1.2's core schema
 * types them (plain null/true/false, decimal integers, floats; anything
 * quoted is a string); every mapping carries its line as the hidden key
 * YAMLDOC_LINE_KEY, which no Kubernetes field name can be. Aliases are
 * refused (an alias bomb would multiply a small file into gigabytes), as
 * are non-scalar and duplicate keys and nesting deeper than GW_DEPTH_MAX.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "render_int.h"

struct yamldoc_frame {
	json_t *node;		/* an object or an array */
	char *key;		/* an object's key waiting for its value */
};

struct yamldoc {
	const char *name;
	struct yamldoc_frame stack[GW_DEPTH_MAX];
	int depth;
	json_t *root;
	int root_line;
	struct gw_err *e;
};

/* Is s (len bytes) all of: an optional sign, then digits? */
static int
yamldoc_is_int(const char *s, size_t len)
{
	size_t i = (len > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;

	if (i == len)
		return 0;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* [-+]? ( . digits | digits [ . digits* ] ) [ e [-+]? digits ], with a . or an e. */
static int
yamldoc_is_float(const char *s, size_t len)
{
	size_t i = (len > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0, d = 0;
	int dot = 0, has_exp = 0;

	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		d++;
	if (i < len && s[i] == '.') {
		dot = 1;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			d++;
	}
	if (d == 0)
		return 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t e0;

		has_exp = 1;
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		e0 = i;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == e0)
			return 0;
	}
	return i == len && (dot || has_exp);
}

/* The value of one scalar, typed; NULL with d->e set. */
static json_t *
yamldoc_scalar(struct yamldoc *d, const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	int line = (int)ev->start_mark.line + 1;
	char num[64];
	json_t *j;

	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.plain_implicit) {
		if (len == 0 || (len == 1 && v[0] == '~') || !strcmp(v, "null") ||
		    !strcmp(v, "Null") || !strcmp(v, "NULL"))
			return json_null();
		if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
			return json_true();
		if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
			return json_false();
		if (len < sizeof(num) && (yamldoc_is_int(v, len) || yamldoc_is_float(v, len))) {
			char *end;

			memcpy(num, v, len);
			num[len] = '\0';
			errno = 0;
			if (yamldoc_is_int(v, len)) {
				long long n = strtoll(num, &end, 10);

				if (errno == 0)
					return json_integer(n);
			} else {
				double f = strtod(num, &end);

				if (errno == 0 && (j = json_real(f)) != NULL)
					return j;
			}
			gw_fail(d->e, d->name, line, "the number %s is out of range", num);
			return NULL;
		}
		if (len >= sizeof(num) && yamldoc_is_int(v, len)) {
			gw_fail(d->e, d->name, line, "a number of %zu digits is out of range", len);
			return NULL;
		}
	}
	j = json_stringn(v, len);
	if (j == NULL)
		gw_fail(d->e, d->name, line, "a string that is not UTF-8");
	return j;
}

/* Puts v (a reference taken) where the parse is: a key, a value, an item or the root. */
static int
yamldoc_put(struct yamldoc *d, json_t *v, int line, int is_scalar)
{
	struct yamldoc_frame *f;

	if (d->depth == 0) {
		d->root = v;
		d->root_line = line;
		return 0;
	}
	f = &d->stack[d->depth - 1];
	if (json_is_array(f->node))
		return json_array_append_new(f->node, v) == 0 ? 0 :
		    gw_fail(d->e, d->name, line, "out of memory");
	if (f->key == NULL) {
		if (!is_scalar || !json_is_string(v)) {
			json_decref(v);
			return gw_fail(d->e, d->name, line, "a mapping key that is not a string");
		}
		f->key = strdup(json_string_value(v));
		json_decref(v);
		if (f->key == NULL)
			return gw_fail(d->e, d->name, line, "out of memory");
		if (json_object_get(f->node, f->key) != NULL)
			return gw_fail(d->e, d->name, line, "the key \"%s\" twice", f->key);
		return 0;
	}
	if (json_object_set_new(f->node, f->key, v) != 0)
		return gw_fail(d->e, d->name, line, "out of memory");
	free(f->key);
	f->key = NULL;
	return 0;
}

/* A mapping or sequence starts: put it, and parse into it. */
static int
yamldoc_open(struct yamldoc *d, int is_map, int line)
{
	json_t *v = is_map ? json_object() : json_array();

	if (v == NULL)
		return gw_fail(d->e, d->name, line, "out of memory");
	if (d->depth == GW_DEPTH_MAX) {
		json_decref(v);
		return gw_fail(d->e, d->name, line, "nested deeper than %d levels", GW_DEPTH_MAX);
	}
	if (is_map && json_object_set_new(v, YAMLDOC_LINE_KEY, json_integer(line)) != 0) {
		json_decref(v);
		return gw_fail(d->e, d->name, line, "out of memory");
	}
	json_incref(v);
	if (yamldoc_put(d, v, line, 0) != 0) {
		json_decref(v);
		return -1;
	}
	d->stack[d->depth].node = v;
	d->stack[d->depth].key = NULL;
	d->depth++;
	return 0;
}

static void
yamldoc_close(struct yamldoc *d)
{
	struct yamldoc_frame *f = &d->stack[--d->depth];

	free(f->key);
	f->key = NULL;
	json_decref(f->node);
}

/* One event; 1 at the end of the stream. */
static int
yamldoc_event(struct yamldoc *d, const yaml_event_t *ev, yamldoc_each each, void *ctx)
{
	int line = (int)ev->start_mark.line + 1, rc;
	json_t *v;

	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		d->root = NULL;
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		if (d->root == NULL)
			return 0;	/* an empty document: nothing to read */
		rc = each(ctx, d->root, d->root_line, d->e);
		json_decref(d->root);
		d->root = NULL;
		return rc;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		return yamldoc_open(d, ev->type == YAML_MAPPING_START_EVENT, line);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		yamldoc_close(d);
		return 0;
	case YAML_SCALAR_EVENT:
		/* A key is its text, whatever it looks like ("80", "true"); a value is typed. */
		if (d->depth > 0 && json_is_object(d->stack[d->depth - 1].node) &&
		    d->stack[d->depth - 1].key == NULL)
			v = json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);
		else if ((v = yamldoc_scalar(d, ev)) == NULL)
			return -1;
		if (v == NULL)
			return gw_fail(d->e, d->name, line, "a key that is not UTF-8");
		return yamldoc_put(d, v, line, 1);
	case YAML_ALIAS_EVENT:
		return gw_fail(d->e, d->name, line, "YAML aliases (*%s) are not supported",
		    (const char *)ev->data.alias.anchor);
	default:
		return 0;
	}
}

int
yamldoc_parse(const char *buf, size_t len, const char *name, yamldoc_each each, void *ctx,
    struct gw_err *e)
{
	struct yamldoc d = { .name = name, .e = e };
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		return gw_fail(e, name, 0, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (rc == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = gw_fail(e, name, (int)p.problem_mark.line + 1, "YAML: %s%s%s",
			    p.problem ? p.problem : "malformed", p.context ? " " : "",
			    p.context ? p.context : "");
			break;
		}
		rc = yamldoc_event(&d, &ev, each, ctx);
		yaml_event_delete(&ev);
	}
	while (d.depth > 0)
		yamldoc_close(&d);
	json_decref(d.root);
	yaml_parser_delete(&p);
	return rc < 0 ? -1 : 0;
}
