/* ptkeys.c -- prints every setting the config loader knows, one dotted path a line ("routes.backends.weight"), for the documentation checks. */
#include <stdio.h>
#include <string.h>

#include "config.h"

#define PROG "ptkeys"

/* "path", or "path same_as" for a group or list whose settings another one lists. */
static void
ptkeys_print(const char *path, const char *same_as, void *arg)
{
	(void)arg;
	if (same_as != NULL)
		printf("%s %s\n", path, same_as);
	else
		printf("%s\n", path);
}

int
main(int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, "usage: %s\n"
		    "Prints every setting passthrough.conf may hold, as a dotted path a line;\n"
		    "a group or list with the settings of another shown earlier is followed by\n"
		    "that one's path (\"listeners.routes routes\").\n", PROG);
		return strcmp(argv[1], "-h") == 0 ? 0 : 2;
	}
	if (config_keys_list(ptkeys_print, NULL) != 0) {
		fprintf(stderr, "%s: the walk of the key tables ran out of room\n", PROG);
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
