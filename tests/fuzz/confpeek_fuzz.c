/*
 * confpeek_fuzz.c -- libFuzzer target: the lenient config reader that
 * passthrough-stats and `passthrough -s` use on files the loader may
 * refuse. Any text, however broken, must give NULL or a short string.
 *
 * Input: configuration text, any bytes. Seeds: tests/fuzz/corpus/confpeek/
 * (the config target's seeds, the shipped example, escapes, decoys).
 *
 * Checked, for the settings the daemon peeks (pid_file, stats.name) and a
 * deeper path: no crash, leak or read outside the text (ASan, UBSan); a
 * value is never longer than the text it came from (escapes and joined
 * strings only shrink); the same text gives the same answer twice.
 */
#include <stdlib.h>
#include <string.h>

#include "confpeek.h"
#include "fuzz.h"

static void
confpeek_fuzz_path(const uint8_t *data, size_t size, const char *path)
{
	char *a = confpeek_string((const char *)data, size, path);
	char *b = confpeek_string((const char *)data, size, path);

	FUZZ_CHECK((a == NULL) == (b == NULL));
	if (a != NULL) {
		FUZZ_CHECK(strlen(a) <= size);
		FUZZ_CHECK(strcmp(a, b) == 0);
	}
	free(a);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	confpeek_fuzz_path(data, size, "pid_file");
	confpeek_fuzz_path(data, size, "stats.name");
	confpeek_fuzz_path(data, size, "a.b.c.d");
	return 0;
}
