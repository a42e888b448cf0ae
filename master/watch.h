/*
 * watch.h -- noticing that the configuration file changed (watch_config):
 * inotify on the file's directory, and on its target's directory when it
 * is a symlink, so an edit in place, an atomic rename and the Kubernetes
 * ConfigMap swap of the `..data` symlink are all seen.
 */
#ifndef PASSTHROUGH_WATCH_H
#define PASSTHROUGH_WATCH_H

#include <stdint.h>

/* An inotify fd watching what path depends on, or -errno. Re-open after each reload. */
int watch_open(const char *path);

/* Reads every pending event; 1 if there were any, else 0. */
int watch_drain(int fd);

/* A hash of the file's bytes (0 when it cannot be read), to skip no-op changes. */
uint64_t watch_file_hash(const char *path);

#endif
