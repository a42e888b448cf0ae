/*
 * hostname.c -- Gateway API host names: validity (RFC 1123 labels, an
 * optional "*." first label, no IP address) and the intersection of a
 * route's hostname with its listener's, as the TLSRoute spec defines it:
 * "*.example.com" matches any name below example.com, not example.com.
 */
#include <ctype.h>
#include <string.h>

#include "render_int.h"

/* The longest name a hostname may be (RFC 1123). */
#define HOSTNAME_MAX	253

int
hostname_valid(const char *h)
{
	size_t len = strlen(h), label = 0, i;
	int digits_only = 1;

	if (h[0] == '*') {
		if (h[1] != '.')
			return 0;
		h += 2;
		len -= 2;
	}
	if (len == 0 || len > HOSTNAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = h[i];

		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-'))
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (!isdigit((unsigned char)c) && c != '.')
			digits_only = 0;
		if (++label > 63)
			return 0;
	}
	/* No trailing dot or hyphen; an IPv4 address is all digits and dots. */
	return label > 0 && h[len - 1] != '-' && !digits_only;
}

/* Is name (exact) below the wildcard's suffix ("*.s": at least one label before ".s")? */
static int
hostname_below(const char *name, const char *wild)
{
	size_t n = strlen(name), s = strlen(wild + 1);	/* ".suffix" */

	return n > s && strcmp(name + n - s, wild + 1) == 0;
}

int
hostname_intersect(const char *r, const char *l, char *out)
{
	const char *pick = NULL;
	int rw = r[0] == '*', lw = l != NULL && l[0] == '*';

	if (l == NULL)
		pick = r;
	else if (!rw && !lw)
		pick = strcmp(r, l) == 0 ? r : NULL;
	else if (!rw && lw)
		pick = hostname_below(r, l) ? r : NULL;
	else if (rw && !lw)
		pick = hostname_below(l, r) ? l : NULL;
	else if (strcmp(r, l) == 0 || hostname_below(r + 2, l))
		pick = r;			/* *.a.example.com within *.example.com */
	else if (hostname_below(l + 2, r))
		pick = l;
	if (pick == NULL || strlen(pick) > HOSTNAME_MAX + 2)
		return 0;
	strcpy(out, pick);
	return 1;
}

int
hostname_more_specific(const char *a, const char *b)
{
	if (a == NULL)
		return 0;
	if (b == NULL)
		return 1;
	if ((a[0] == '*') != (b[0] == '*'))
		return b[0] == '*';
	return strlen(a) > strlen(b);
}
