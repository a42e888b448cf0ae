/* token.c -- a client's bytes made into one log token by percent-encoding. */
#include <string.h>

#include "token.h"

static int
token_safe(unsigned char ch, const char *extra)
{
	if (ch == '\0')
		return 0;
	return strchr(TOKEN_SAFE, ch) != NULL || (extra != NULL && strchr(extra, ch) != NULL);
}

size_t
token_escape(char *out, size_t size, const char *s, const char *extra)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	if (size == 0)
		return 0;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (token_safe(ch, extra)) {
			if (n + 1 >= size)
				break;
			out[n++] = (char)ch;
		} else {
			if (n + 3 >= size)
				break;
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 0x0f];
		}
	}
	out[n] = '\0';
	return n;
}
