/* textbuf.c -- a growing text buffer that never truncates. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats_tool.h"
#include "textbuf.h"

void
textbuf_init(struct textbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void
textbuf_free(struct textbuf *b)
{
	free(b->data);
	textbuf_init(b);
}

void
textbuf_reset(struct textbuf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Room for extra more bytes and the NUL. 0, or -1 with failed set. */
static int
textbuf_reserve(struct textbuf *b, size_t extra)
{
	size_t need, cap;
	char *data;

	if (b->failed)
		return -1;
	if (extra >= TEXTBUF_MAX - b->len) {
		b->failed = 1;
		return -1;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	for (cap = b->cap < TEXTBUF_MIN ? TEXTBUF_MIN : b->cap; cap < need; cap *= 2)
		;
	data = realloc(b->data, cap);
	if (data == NULL) {
		b->failed = 1;
		return -1;
	}
	b->data = data;
	b->cap = cap;
	return 0;
}

/*
 * Lengthens the text by len bytes (NUL-terminated after them) and returns
 * where the caller writes them, or NULL with failed set.
 */
static char *
textbuf_extend(struct textbuf *b, size_t len)
{
	char *at;

	if (textbuf_reserve(b, len) != 0)
		return NULL;
	at = b->data + b->len;
	b->len += len;
	b->data[b->len] = '\0';
	return at;
}

void
textbuf_append(struct textbuf *b, const char *text, size_t len)
{
	char *at = textbuf_extend(b, len);

	if (at != NULL)
		memcpy(at, text, len);
}

void
textbuf_puts(struct textbuf *b, const char *text)
{
	textbuf_append(b, text, strlen(text));
}

void
textbuf_repeat(struct textbuf *b, char c, size_t count)
{
	char *at = textbuf_extend(b, count);

	if (at != NULL)
		memset(at, c, count);
}

void
textbuf_printf(struct textbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	if (textbuf_reserve(b, 0) != 0)
		return;
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n >= room) {
		/* It did not fit: grow to the size vsnprintf reported and format again. */
		if (textbuf_reserve(b, (size_t)n) != 0)
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

const char *
textbuf_text(const struct textbuf *b)
{
	if (b->failed)
		return NULL;
	return b->data != NULL ? b->data : "";
}

size_t
textbuf_utf8_len(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80)
		return p[0] != 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;	/* a continuation byte, an overlong lead, or past U+10FFFF */
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong 3- and 4-byte forms, UTF-16 surrogates, beyond Unicode. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}
