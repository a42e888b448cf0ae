/*
 * routes_alpn.c -- a route's ALPN protocol names (RFC 7301) in wire form:
 * each name as one length byte and its bytes, back to back, as a client's
 * protocol_name_list carries them, so a lookup compares lists without
 * converting either.
 */
#include <errno.h>
#include <string.h>

#include "routes.h"

int
routes_alpn_size(const char *const *names, uint32_t count, size_t *size)
{
	size_t n, total = 0;

	*size = 0;
	if (count > ROUTES_ALPN_NAMES_MAX || (count > 0 && names == NULL))
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++) {
		n = names[i] != NULL ? strlen(names[i]) : 0;
		if (n == 0 || n > ROUTES_ALPN_NAME_MAX)
			return -EINVAL;
		total += 1 + n;
	}
	*size = total;
	return 0;
}

void
routes_alpn_write(uint8_t *out, const char *const *names, uint32_t count)
{
	size_t n;

	for (uint32_t i = 0; i < count; i++) {
		n = strlen(names[i]);
		*out++ = (uint8_t)n;
		memcpy(out, names[i], n);
		out += n;
	}
}

/* Whether list (wire form, list_len bytes) holds the name of len bytes at name. */
static int
routes_alpn_has(const uint8_t *list, size_t list_len, const uint8_t *name, size_t len)
{
	size_t i = 0;

	while (i < list_len) {
		size_t n = list[i];

		if (n > list_len - i - 1)
			return 0;	/* a torn list: nothing past it */
		if (n == len && memcmp(list + i + 1, name, len) == 0)
			return 1;
		i += 1 + n;
	}
	return 0;
}

const uint8_t *
routes_alpn_choose(const uint8_t *list, size_t list_len, const uint8_t *offered,
    size_t offered_len, size_t *len)
{
	size_t i = 0;

	*len = 0;
	while (offered != NULL && i < offered_len) {
		size_t n = offered[i];

		if (n > offered_len - i - 1)
			return NULL;
		if (n > 0 && routes_alpn_has(list, list_len, offered + i + 1, n)) {
			*len = n;
			return offered + i + 1;
		}
		i += 1 + n;
	}
	return NULL;
}
