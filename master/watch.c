/* watch.c -- noticing that the configuration file changed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "hash.h"
#include "watch.h"

/* Everything that can replace or rewrite a file in a directory. */
#define WATCH_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | \
	IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

static int
watch_dir_of(int fd, const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return inotify_add_watch(fd, dir, WATCH_EVENTS) < 0 ? -errno : 0;
}

int
watch_open(const char *path)
{
	char real[PATH_MAX];
	int fd, rc;

	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = watch_dir_of(fd, path);
	/* A symlink (ConfigMap: file -> ..data/file -> ..2026_../file): watch where it leads. */
	if (rc == 0 && realpath(path, real) != NULL && strcmp(real, path) != 0)
		(void)watch_dir_of(fd, real);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int
watch_drain(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int seen = 0;

	while (read(fd, buf, sizeof(buf)) > 0)
		seen = 1;
	return seen;
}

uint64_t
watch_file_hash(const char *path)
{
	uint64_t h = HASH_FNV64_BASIS;
	unsigned char buf[8192];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		h = hash_fnv64(h, buf, (size_t)n);
	close(fd);
	return n < 0 ? 0 : h;
}
