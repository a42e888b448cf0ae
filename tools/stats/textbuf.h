/*
 * textbuf.h -- a growing text buffer that never truncates: when it cannot
 * grow it remembers that it failed, and its text must not be used.
 */
#ifndef PASSTHROUGH_TEXTBUF_H
#define PASSTHROUGH_TEXTBUF_H

#include <stddef.h>

struct textbuf {
	char *data;		/* NUL-terminated once anything was added; may be NULL */
	size_t len;		/* bytes of text, without the NUL */
	size_t cap;
	int failed;		/* an allocation failed or TEXTBUF_MAX was reached */
};

void textbuf_init(struct textbuf *b);
void textbuf_free(struct textbuf *b);
/* Empties the text, keeps the memory, clears failed. */
void textbuf_reset(struct textbuf *b);

void textbuf_append(struct textbuf *b, const char *text, size_t len);
void textbuf_puts(struct textbuf *b, const char *text);
void textbuf_printf(struct textbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* count copies of c, for padding. */
void textbuf_repeat(struct textbuf *b, char c, size_t count);

/* The text ("" when empty), or NULL when the buffer failed. */
const char *textbuf_text(const struct textbuf *b);

/*
 * Bytes of the well-formed UTF-8 sequence at s (1 to 4), or 0 when s does
 * not start one. JSON and Prometheus labels must be UTF-8.
 */
size_t textbuf_utf8_len(const char *s);

#endif
