/* path.h -- configuration file paths, spelled the same way by every process. */
#ifndef PASSTHROUGH_PATH_H
#define PASSTHROUGH_PATH_H

#include <stddef.h>

/*
 * The absolute form of path: its directory resolved (realpath), its last
 * component kept as written, so a file that is a symlink (a Kubernetes
 * ConfigMap) stays the symlink. The master works from / as a daemon, and
 * passthrough-stats derives the statistics segment's name from this form.
 * Returns out, or NULL (errno set).
 */
char *path_absolute(const char *path, char *out, size_t size);

#endif
