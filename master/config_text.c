/*
 * config_text.c -- the text libconfig parses, kept beside its parse to
 * work around two libconfig 1.5 habits:
 *  - an integer literal without the L suffix is read into an int and wraps
 *    silently (4294967296 reads as 0): such literals are refused before the
 *    settings are checked;
 *  - a string inside an array or list carries the line of the token after
 *    it, so faults there are reported at the line the string is on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_int.h"

/* The kept text of the file s was read from, or NULL when it was not kept. */
static struct config_source *
config_source_of(struct config_ctx *ctx, const config_setting_t *s)
{
	const char *file = config_setting_source_file(s);
	unsigned i;

	if (file == NULL)
		return &ctx->src[0];
	for (i = 1; i < ctx->src_count; i++)
		if (strcmp(ctx->src[i].name, file) == 0)
			return &ctx->src[i];
	return NULL;
}

/* Line n (from 1) of src, or NULL; *end is set past its last character. */
static const char *
config_source_line(struct config_source *src, unsigned n, const char **end)
{
	size_t i;

	if (src->line_off == NULL) {
		unsigned lines = 1;

		for (i = 0; i < src->len; i++)
			lines += src->text[i] == '\n';
		src->line_off = malloc(lines * sizeof(*src->line_off));
		if (src->line_off == NULL)
			return NULL;
		src->line_off[0] = 0;
		src->line_count = 1;
		for (i = 0; i < src->len; i++)
			if (src->text[i] == '\n')
				src->line_off[src->line_count++] = i + 1;
	}
	if (n == 0 || n > src->line_count)
		return NULL;
	*end = n < src->line_count ? src->text + src->line_off[n] - 1
	    : src->text + src->len;
	return src->text + src->line_off[n - 1];
}

/* Whether a '"' comes on this line before any comment starts. */
static int
config_line_has_string(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*p == '"')
			return 1;
		if (*p == '#' || (*p == '/' && p + 1 < end && (p[1] == '/' || p[1] == '*')))
			return 0;
	}
	return 0;
}

/*
 * The line a fault in s is reported at. libconfig 1.5 gives a string inside
 * an array or list the line of the token after it (it looks ahead for
 * adjacent strings to join), so in
 *	backends = [
 *	  "a:1",
 *	  "b:2"
 *	];
 * "b:2" claims the line of "];". The string ends on the last line, from the
 * one the previous element ended on to that one, that has a '"' outside a
 * comment: that is the line returned. Other settings carry the line their
 * name (or, in a list, their opening bracket) is on, as libconfig says.
 */
unsigned
config_text_line(struct config_ctx *ctx, const config_setting_t *s)
{
	const config_setting_t *parent = config_setting_parent(s);
	struct config_source *src;
	unsigned line = config_setting_source_line(s), low, n;
	const char *p, *end;
	int index;

	if (parent == NULL)
		return 1;	/* the root: the top of the file */
	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    config_setting_is_group(parent))
		return line;
	index = config_setting_index(s);
	low = index > 0 ? config_setting_source_line(config_setting_get_elem(parent,
	    (unsigned)index - 1)) : config_setting_source_line(parent);
	src = config_source_of(ctx, s);
	if (src == NULL)
		return line;
	for (n = line; n >= low && n > 0; n--) {
		p = config_source_line(src, n, &end);
		if (p == NULL)
			break;
		if (config_line_has_string(p, end))
			return n;
	}
	return line;
}

/* Reads path into src; 0, or -errno with *what naming the step that failed. */
static int
config_source_read(struct config_source *src, const char *path, const char **what)
{
	struct stat st;
	size_t cap;
	ssize_t n;
	char *grown;
	int fd, err;

	*what = "cannot open";
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*what = "cannot read";
	cap = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	src->len = 0;
	src->text = NULL;
	for (;;) {
		if (src->len + 1 >= cap || src->text == NULL) {
			if (src->text != NULL)
				cap *= 2;
			grown = realloc(src->text, cap);
			if (grown == NULL) {
				err = -ENOMEM;
				goto bad;
			}
			src->text = grown;
		}
		n = read(fd, src->text + src->len, cap - src->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto bad;
		}
		if (n == 0)
			break;
		src->len += (size_t)n;
	}
	close(fd);
	src->text[src->len] = '\0';
	src->name = path;
	return 0;
bad:
	close(fd);
	free(src->text);
	src->text = NULL;
	return err;
}

void
config_text_free(struct config_ctx *ctx)
{
	unsigned i;

	for (i = 0; i < ctx->src_count; i++) {
		free(ctx->src[i].text);
		free(ctx->src[i].line_off);
	}
	free(ctx->src);
	ctx->src = NULL;
	ctx->src_count = 0;
}

static int
config_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
config_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || config_is_digit(c);
}

/* What libconfig's names are made of: [A-Za-z*][-A-Za-z0-9_*]*. */
static int
config_is_word(char c)
{
	return config_is_alnum(c) || c == '_' || c == '-' || c == '*';
}

/*
 * Reports each integer literal libconfig 1.5 would wrap: one without the L
 * suffix that does not fit in an int (it reads 4294967296 as 0 and
 * 4294967298 as 2, without a word). Strings and comments are skipped the way
 * libconfig's scanner skips them. Returns how many it reported.
 */
static unsigned
config_scan_ints(struct config_ctx *ctx, const struct config_source *src)
{
	const char *p = src->text, *end = src->text + src->len, *tok;
	char number[64];
	unsigned line = 1, found = 0;
	int hex, real;
	long long v;

	while (p < end) {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#' || (*p == '/' && p[1] == '/')) {
			while (p < end && *p != '\n')
				p++;
		} else if (*p == '/' && p[1] == '*') {
			for (p += 2; p < end && !(p[0] == '*' && p[1] == '/'); p++)
				line += *p == '\n';
			p = p < end ? p + 2 : end;
		} else if (*p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				line += *p == '\n';
			}
			p = p < end ? p + 1 : end;
		} else if (config_is_word(*p) && !config_is_digit(*p) && *p != '-') {
			while (p < end && config_is_word(*p))	/* a name, true, false */
				p++;
		} else if (config_is_digit(*p) || ((*p == '-' || *p == '+' || *p == '.') &&
		    config_is_digit(p[1]))) {
			tok = p++;
			hex = *tok == '0' && (*p == 'x' || *p == 'X');
			real = 0;
			while (p < end && (config_is_alnum(*p) || *p == '.' ||
			    (!hex && (*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E')))) {
				real |= *p == '.' || (!hex && (*p == 'e' || *p == 'E'));
				p++;
			}
			real |= *tok == '.';
			if (real || p[-1] == 'L' || (size_t)(p - tok) >= sizeof(number))
				continue;	/* floats, 64-bit integers, nonsense libconfig refuses */
			memcpy(number, tok, (size_t)(p - tok));
			number[p - tok] = '\0';
			errno = 0;
			v = strtoll(number, NULL, hex ? 16 : 10);
			if (errno == 0 && (hex ? v <= INT_MAX : v >= INT_MIN && v <= INT_MAX))
				continue;
			config_err_at(ctx, src->name, line, "", "%s does not fit in 32 bits "
			    "(libconfig 1.5 would wrap it); add L for a 64-bit integer",
			    number);
			found++;
		} else {
			p++;
		}
	}
	return found;
}

/*
 * Keeps the text of each file libconfig @included, for config_scan_ints()
 * and config_text_line(). A file that cannot be read now is skipped: libconfig
 * read it a moment ago, and these checks are only refinements.
 */
static void
config_sources_add_includes(struct config_ctx *ctx, const config_t *lc)
{
	struct config_source *grown;
	const char *what;
	unsigned i;

	grown = realloc(ctx->src, (1 + lc->num_filenames) * sizeof(*grown));
	if (grown == NULL)
		return;
	ctx->src = grown;
	for (i = 0; i < lc->num_filenames; i++) {
		memset(&ctx->src[ctx->src_count], 0, sizeof(ctx->src[0]));
		if (config_source_read(&ctx->src[ctx->src_count], lc->filenames[i], &what) == 0)
			ctx->src_count++;
	}
}

/* A NUL byte in the main file: libconfig stops there and would ignore the rest. */
static int
config_text_refuse_nul(struct config_ctx *ctx)
{
	const struct config_source *src = &ctx->src[0];
	const char *nul = memchr(src->text, '\0', src->len), *p;
	unsigned line = 1;

	if (nul == NULL)
		return 0;
	for (p = src->text; p < nul; p++)
		line += *p == '\n';
	config_err_at(ctx, ctx->path, line, "", "has a NUL byte");
	return -EINVAL;
}

int
config_text_parse(struct config_ctx *ctx, config_t *lc)
{
	const char *what;
	unsigned i, wide;
	int rc;

	ctx->src = calloc(1, sizeof(*ctx->src));
	if (ctx->src == NULL) {
		config_err_at(ctx, ctx->path, 0, "", "out of memory");
		return -ENOMEM;
	}
	rc = config_source_read(&ctx->src[0], ctx->path, &what);
	if (rc != 0) {
		config_err_at(ctx, ctx->path, 0, "", "%s: %s", what, strerror(-rc));
		return rc;
	}
	ctx->src_count = 1;
	/* The bytes the load is judged on, refused or not (stats: config_sha256). */
	sha256_digest(ctx->src[0].text, ctx->src[0].len, ctx->cfg->sha256);
	if ((rc = config_text_refuse_nul(ctx)) != 0)
		return rc;
	/*
	 * The text read above is what libconfig parses: one read, an exact
	 * errno, and the text at hand for the checks libconfig 1.5 lacks.
	 */
	if (!config_read_string(lc, ctx->src[0].text)) {
		config_err_at(ctx, config_error_file(lc) != NULL ? config_error_file(lc)
		    : ctx->path, (unsigned)config_error_line(lc), "", "%s",
		    config_error_text(lc));
		return -EINVAL;
	}
	config_sources_add_includes(ctx, lc);
	for (i = 0, wide = 0; i < ctx->src_count; i++)
		wide += config_scan_ints(ctx, &ctx->src[i]);
	return wide != 0 ? -EINVAL : 0;
}
