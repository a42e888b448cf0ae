/* confpeek.c -- finds one string setting in libconfig text by its path, leniently, without libconfig. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confpeek.h"

/* What the lexer hands the walker: only as much of libconfig's grammar as placing a setting needs. */
enum confpeek_tok {
	CONFPEEK_END,		/* the end of the text, or an unterminated string or comment */
	CONFPEEK_NAME,		/* a setting name: [A-Za-z*][-A-Za-z0-9_*]* */
	CONFPEEK_STRING,	/* one "..." piece; adjacent pieces form one value */
	CONFPEEK_ASSIGN,	/* = or : */
	CONFPEEK_OPEN,		/* { ( or [ */
	CONFPEEK_CLOSE,		/* } ) or ] */
	CONFPEEK_OTHER,		/* ; , a number, a boolean, @include, anything else */
};

struct confpeek {
	const char *p, *end;	/* what is still to read */
	const char *tok;	/* the last token: a string's with its quotes */
	size_t tok_len;
};

static int
confpeek_at(const struct confpeek *cp, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(cp->end - cp->p) >= n && memcmp(cp->p, s, n) == 0;
}

/* Past white space and the three kinds of comment; an unterminated block comment ends the text. */
static void
confpeek_skip_blank(struct confpeek *cp)
{
	while (cp->p < cp->end) {
		if (isspace((unsigned char)*cp->p)) {
			cp->p++;
		} else if (*cp->p == '#' || confpeek_at(cp, "//")) {
			const char *nl = memchr(cp->p, '\n', (size_t)(cp->end - cp->p));

			cp->p = nl != NULL ? nl + 1 : cp->end;
		} else if (confpeek_at(cp, "/*")) {
			const char *close = memmem(cp->p + 2, (size_t)(cp->end - cp->p - 2), "*/", 2);

			cp->p = close != NULL ? close + 2 : cp->end;
		} else {
			return;
		}
	}
}

/* Characters of names, numbers and booleans (1.5e+3, 0x1F, -12, 100L, true). */
static int
confpeek_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '*' || c == '-' || c == '+' ||
	    c == '.';
}

/* Past a string whose opening quote is at cp->p. 0, or -1 when it never closes. */
static int
confpeek_skip_string(struct confpeek *cp)
{
	for (cp->p++; cp->p < cp->end; cp->p++) {
		if (*cp->p == '\\' && cp->p + 1 < cp->end)
			cp->p++;
		else if (*cp->p == '"')
			break;
	}
	if (cp->p >= cp->end)
		return -1;
	cp->p++;
	return 0;
}

static enum confpeek_tok
confpeek_next(struct confpeek *cp)
{
	char c;

	confpeek_skip_blank(cp);
	cp->tok = cp->p;
	cp->tok_len = 0;
	if (cp->p >= cp->end)
		return CONFPEEK_END;
	c = *cp->p;
	if (c == '"') {
		if (confpeek_skip_string(cp) != 0)
			return CONFPEEK_END;	/* all that follows is inside it */
		cp->tok_len = (size_t)(cp->p - cp->tok);
		return CONFPEEK_STRING;
	}
	if (c == '@' || confpeek_word_char(c)) {
		for (cp->p++; cp->p < cp->end && confpeek_word_char(*cp->p); cp->p++)
			;
		cp->tok_len = (size_t)(cp->p - cp->tok);
		return isalpha((unsigned char)c) || c == '*' ? CONFPEEK_NAME : CONFPEEK_OTHER;
	}
	cp->p++;
	cp->tok_len = 1;
	if (c == '=' || c == ':')
		return CONFPEEK_ASSIGN;
	if (c == '{' || c == '(' || c == '[')
		return CONFPEEK_OPEN;
	if (c == '}' || c == ')' || c == ']')
		return CONFPEEK_CLOSE;
	return CONFPEEK_OTHER;
}

static int
confpeek_hex(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/*
 * Decodes in[0..len) (a string without its quotes) into out, as libconfig
 * does: \n \r \t \f \\ \" and \xNN; any other backslash stands for itself.
 * Returns the bytes written (never more than len).
 */
static size_t
confpeek_unescape(char *out, const char *in, size_t len)
{
	static const char from[] = "nrtf\\\"", to[] = "\n\r\t\f\\\"";
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		const char *esc = i + 1 < len && in[i] == '\\' ? strchr(from, in[i + 1]) : NULL;

		if (in[i] != '\\' || i + 1 >= len) {
			out[n++] = in[i];
		} else if (esc != NULL && *esc != '\0') {
			out[n++] = to[esc - from];
			i++;
		} else if (in[i + 1] == 'x' && i + 3 < len && isxdigit((unsigned char)in[i + 2]) &&
		    isxdigit((unsigned char)in[i + 3])) {
			out[n++] = (char)(confpeek_hex(in[i + 2]) << 4 | confpeek_hex(in[i + 3]));
			i += 3;
		} else {
			out[n++] = '\\';
		}
	}
	return n;
}

/*
 * The value whose first string piece is the last token, joined with the
 * pieces that follow it: a malloc'd copy, or NULL when empty or out of memory.
 */
static char *
confpeek_value(struct confpeek *cp)
{
	char *value = NULL, *grown;
	size_t len = 0;

	for (;;) {
		const char *before;

		grown = realloc(value, len + cp->tok_len + 1);
		if (grown == NULL) {
			free(value);
			return NULL;
		}
		value = grown;
		len += confpeek_unescape(value + len, cp->tok + 1, cp->tok_len - 2);
		before = cp->p;
		if (confpeek_next(cp) != CONFPEEK_STRING) {
			cp->p = before;
			break;
		}
	}
	value[len] = '\0';
	if (value[0] == '\0') {
		free(value);
		return NULL;
	}
	return value;
}

/* Past the group, list or array whose opening bracket was the last token. */
static void
confpeek_skip_nested(struct confpeek *cp)
{
	unsigned depth = 1;

	while (depth > 0) {
		switch (confpeek_next(cp)) {
		case CONFPEEK_END:
			return;
		case CONFPEEK_OPEN:
			depth++;
			break;
		case CONFPEEK_CLOSE:
			depth--;
			break;
		default:
			break;
		}
	}
}

/*
 * Walks the settings of one group up to its closing bracket (top: the top
 * level, where a stray closing bracket is passed over) and returns the
 * string at path, relative to this group, or NULL. A token that cannot
 * start a setting is passed over: that is the leniency.
 */
static char *
confpeek_group(struct confpeek *cp, const char *path, int top)
{
	size_t seg = strcspn(path, ".");

	for (;;) {
		enum confpeek_tok t = confpeek_next(cp);
		const char *after;
		int match;

		if (t == CONFPEEK_END || (t == CONFPEEK_CLOSE && !top))
			return NULL;
		if (t != CONFPEEK_NAME)
			continue;
		match = cp->tok_len == seg && memcmp(cp->tok, path, seg) == 0;
		after = cp->p;
		if (confpeek_next(cp) != CONFPEEK_ASSIGN) {
			cp->p = after;	/* not a setting: what follows may be one */
			continue;
		}
		t = confpeek_next(cp);
		if (t == CONFPEEK_OPEN && match && path[seg] == '.' && *cp->tok == '{') {
			char *v = confpeek_group(cp, path + seg + 1, 0);

			if (v != NULL)
				return v;
		} else if (t == CONFPEEK_OPEN) {
			confpeek_skip_nested(cp);
		} else if (t == CONFPEEK_STRING && match && path[seg] == '\0') {
			return confpeek_value(cp);
		}
	}
}

char *
confpeek_string(const char *text, size_t len, const char *path)
{
	struct confpeek cp = { .p = text, .end = text + len };

	if (path[0] == '\0')
		return NULL;
	return confpeek_group(&cp, path, 1);
}

/* The whole file at file in a malloc'd buffer: 0, or -errno (-EFBIG: over CONFPEEK_FILE_MAX). */
static int
confpeek_read(const char *file, char **text, size_t *len)
{
	struct stat st;
	ssize_t n = 0;
	size_t got = 0;
	int fd = open(file, O_RDONLY | O_CLOEXEC), rc = 0;

	*text = NULL;
	*len = 0;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0)
		rc = -errno;
	else if (st.st_size < 0 || (uint64_t)st.st_size > CONFPEEK_FILE_MAX)
		rc = -EFBIG;
	else if ((*text = malloc((size_t)st.st_size + 1)) == NULL)
		rc = -ENOMEM;
	while (rc == 0 && got < (size_t)st.st_size) {
		n = read(fd, *text + got, (size_t)st.st_size - got);
		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n == 0)
			break;	/* it shrank: what was read is the file */
		else if (n > 0)
			got += (size_t)n;
	}
	close(fd);
	if (rc != 0) {
		free(*text);
		*text = NULL;
	}
	*len = got;
	return rc;
}

char *
confpeek_file(const char *file, const char *path)
{
	char *text, *value;
	size_t len;

	if (confpeek_read(file, &text, &len) != 0)
		return NULL;
	value = confpeek_string(text, len, path);
	free(text);
	return value;
}
