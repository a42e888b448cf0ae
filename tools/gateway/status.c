/*
 * status.c -- the pieces of the status the controller sets: conditions
 * as metav1.Condition has them, and an item of the status List shaped as
 * a patch of the object's /status subresource (apiVersion, kind,
 * metadata name/namespace/generation, status).
 */
#include <string.h>

#include "render_int.h"

json_t *
status_condition(const char *type, int ok, const char *reason, const char *message,
    long long generation, const char *now)
{
	return json_pack("{ss ss ss ss sI ss}", "type", type, "status", ok ? "True" : "False",
	    "reason", reason, "message", message, "observedGeneration", (json_int_t)generation,
	    "lastTransitionTime", now);
}

long long
status_generation(const struct gw_object *o)
{
	json_t *g = json_object_get(json_object_get(o->j, "metadata"), "generation");

	return json_is_integer(g) && json_integer_value(g) > 0 ? json_integer_value(g) : 1;
}

json_t *
status_item(const struct gw_object *o, json_t *status)
{
	json_t *md, *gen = json_object_get(json_object_get(o->j, "metadata"), "generation");

	if (status == NULL)
		return NULL;
	md = json_pack("{ss}", "name", o->name);
	if (md != NULL && o->ns[0] != '\0')
		json_object_set_new(md, "namespace", json_string(o->ns));
	if (md != NULL && json_is_integer(gen))
		json_object_set(md, "generation", gen);
	return json_pack("{ss ss so so}", "apiVersion", o->apiversion, "kind", o->kind,
	    "metadata", md, "status", status);
}

json_t *
status_copy(const json_t *j)
{
	json_t *c = json_deep_copy(j);

	json_object_del(c, YAMLDOC_LINE_KEY);
	return c;
}
