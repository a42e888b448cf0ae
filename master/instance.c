/* instance.c -- the flock that says a master of this configuration runs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instance.h"

/* The lock directory for this process's user (see INSTANCE_DIR_ROOT). */
static void
instance_dir(char *buf, size_t size)
{
	const char *run = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		snprintf(buf, size, "%s", INSTANCE_DIR_ROOT);
	else if (run != NULL && run[0] == '/')
		snprintf(buf, size, "%s/passthrough", run);
	else
		snprintf(buf, size, "/tmp/passthrough-%lu", (unsigned long)geteuid());
}

/* The directory, made when missing, as an fd; -errno or -EPERM with *why. */
static int
instance_dir_open(const char *dir, const char **why)
{
	struct stat st;
	int fd;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		*why = lstat(dir, &st) == 0 && S_ISLNK(st.st_mode) ? "is a symbolic link" :
		    "is not a directory";
		return -EPERM;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	if (st.st_uid != geteuid())
		*why = "belongs to another user";
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		*why = "is writable by its group or by others";
	if (*why != NULL) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* One attempt on the file base in dfd: 0 held, -EAGAIN try again, or -errno. */
static int
instance_try(struct instance *in, int dfd, const char *base, const char **why)
{
	struct stat st, now;
	int fd = openat(dfd, base, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return errno == ELOOP ? (*why = "is a symbolic link", -EPERM) : -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		*why = "is not a regular file of this user";
		close(fd);
		return -EPERM;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int rc = errno == EWOULDBLOCK ? -EEXIST : -errno;

		close(fd);
		return rc;
	}
	/* A master exiting unlinks its file: hold the one at the path now, not that one. */
	if (fstatat(dfd, base, &now, AT_SYMLINK_NOFOLLOW) != 0 || now.st_dev != st.st_dev ||
	    now.st_ino != st.st_ino) {
		close(fd);
		return -EAGAIN;
	}
	in->fd = fd;
	in->held = 1;
	return 0;
}

int
instance_lock(struct instance *in, const char *name, const char **why)
{
	char dir[PATH_MAX - 64];
	const char *base;
	int dfd, rc = -EAGAIN;

	in->held = 0;
	in->fd = -1;
	*why = NULL;
	instance_dir(dir, sizeof(dir));
	name += name[0] == '/';
	snprintf(in->path, sizeof(in->path), "%s/%s.lock", dir, name);
	dfd = instance_dir_open(dir, why);
	if (dfd < 0) {
		snprintf(in->path, sizeof(in->path), "%s", dir);
		return dfd;
	}
	base = strrchr(in->path, '/') + 1;
	for (int i = 0; i < INSTANCE_LOCK_TRIES && rc == -EAGAIN; i++)
		rc = instance_try(in, dfd, base, why);
	close(dfd);
	return rc;
}

void
instance_unlock(struct instance *in)
{
	if (!in->held)
		return;
	/* Unlinked while still held: a starter that opened it meanwhile retries on a new file. */
	unlink(in->path);
	close(in->fd);
	in->fd = -1;
	in->held = 0;
}
