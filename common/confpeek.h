/*
 * confpeek.h -- one string setting read out of libconfig text without
 * libconfig, leniently: for the tools and moments that need a single value
 * (stats.name, pid_file) of a file the daemon's config layer may not read.
 *
 * It knows libconfig's lexical rules (comments `#`, `//` and C-style blocks; strings
 * with escapes, adjacent strings joined; `=` or `:`; `;` or `,` optional;
 * groups `{}`, lists `()`, arrays `[]`), so a commented-out setting or one
 * inside another group is never taken. It does not validate: a token it
 * cannot place is passed over, so a syntax error elsewhere in the file does
 * not hide the setting. `@include`d files are not read.
 */
#ifndef PASSTHROUGH_CONFPEEK_H
#define PASSTHROUGH_CONFPEEK_H

#include <stddef.h>

/* A configuration file larger than this is not peeked into (no real one comes near). */
#define CONFPEEK_FILE_MAX	(16u << 20)

/*
 * The string setting at path ("pid_file", "stats.name": group names joined
 * by '.', from the top level) in text[0..len): a malloc'd copy, or NULL when
 * it is absent, empty, not a string, or memory ran out. The first match in
 * the text wins.
 */
char *confpeek_string(const char *text, size_t len, const char *path);

/* The same for the file at file; NULL also when it cannot be read. */
char *confpeek_file(const char *file, const char *path);

#endif
