/*
 * instance.h -- the lock that says a master of a configuration runs: an
 * flock held for the master's whole life on a file in a directory only
 * its user can write, named like the statistics segment. Nothing else
 * (no name in /dev/shm, no pid, no process name) proves an instance runs.
 */
#ifndef PASSTHROUGH_INSTANCE_H
#define PASSTHROUGH_INSTANCE_H

#include <limits.h>

/*
 * Where a root master keeps its locks: created 0755 root:root when
 * missing; refused when another user owns it or its group or others may
 * write it (anyone who could create a file there could hold the lock).
 * A master that is not root uses $XDG_RUNTIME_DIR/passthrough, else
 * /tmp/passthrough-UID, under the same rule with its own uid.
 */
#define INSTANCE_DIR_ROOT	"/run/passthrough"
/* Attempts when the locked file was unlinked by a master exiting meanwhile. */
#define INSTANCE_LOCK_TRIES	5

struct instance {
	int held;			/* 0 in a zeroed struct: nothing to release */
	int fd;				/* the locked file, while held */
	char path[PATH_MAX];		/* "/run/passthrough/passthrough-1a2b3c4d.lock" */
};

/*
 * Takes the lock of the segment name ("/passthrough-1a2b3c4d"), without
 * waiting. 0 when it is held; -EEXIST when another process holds it (an
 * instance runs); -EPERM with *why set when the directory or the file is
 * not safe (see above); another -errno. in->path is set in every case.
 */
int instance_lock(struct instance *in, const char *name, const char **why);

/*
 * Releases the lock and removes its file. Only the master that holds it
 * calls this: a worker exits without it (the lock is shared with its
 * descriptor, but unlinking is the master's).
 */
void instance_unlock(struct instance *in);

#endif
