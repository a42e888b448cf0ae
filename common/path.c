/* path.c -- configuration file paths, spelled the same way by every process. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

char *
path_absolute(const char *path, char *out, size_t size)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(path, '/'), *base;
	size_t dlen;

	if (slash == NULL) {
		strcpy(dir, ".");
		base = path;
	} else {
		dlen = slash == path ? 1 : (size_t)(slash - path);
		if (dlen >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			return NULL;
		}
		memcpy(dir, path, dlen);
		dir[dlen] = '\0';
		base = slash + 1;
	}
	if (realpath(dir, real) == NULL)
		return NULL;
	if ((size_t)snprintf(out, size, "%s%s%s", real, strcmp(real, "/") == 0 ? "" : "/",
	    base) >= size) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return out;
}
