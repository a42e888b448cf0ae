/* segment.c -- finding and mapping a running passthrough's statistics segment and worker areas. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confpeek.h"
#include "path.h"
#include "segment.h"

/*
 * stats.name is read from the file's text (common/confpeek.c), not with the
 * daemon's libconfig layer: the tool links neither libconfig nor liburing,
 * and a file with a syntax error (a failed reload keeps the master running
 * on the segment it made) still gives its stats.name.
 */
int
segment_name_for_config(char *buf, size_t size, const char *config_path)
{
	char abs_path[PATH_MAX];
	char *configured;

	if (path_absolute(config_path, abs_path, sizeof(abs_path)) == NULL)
		return -errno;
	configured = confpeek_file(config_path, "stats.name");
	stats_name(buf, size, configured, abs_path);
	free(configured);
	return 0;
}

int
segment_name_from_arg(char *buf, size_t size, const char *arg)
{
	const char *name = arg[0] == '/' ? arg + 1 : arg;

	if (name[0] == '\0' || strchr(name, '/') != NULL)
		return -EINVAL;
	if ((size_t)snprintf(buf, size, "/%s", name) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Whose a segment must be to be believed: the master's, which is root (or
 * the user that runs this tool, who trusts a master of its own), mode 0640
 * at most. Anyone may create a name in /dev/shm: a segment of another
 * owner, or one its group or others may write, is a forgery or a leftover.
 * 0, or -EPROTO with *why set.
 */
static int
segment_trusted(const struct stat *st, const char **why)
{
	static char text[160];

	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(text, sizeof(text), "is owned by uid %lu, not by root: refused "
		    "(passthrough's master makes its segment as root; this one may be forged)",
		    (unsigned long)st->st_uid);
		*why = text;
		return -EPROTO;
	}
	if ((st->st_mode & 07777 & ~(mode_t)0640) != 0) {
		snprintf(text, sizeof(text), "has mode %04o, not 0640 or less: refused "
		    "(passthrough's master makes its segment 0640; this one may be forged)",
		    (unsigned)(st->st_mode & 07777));
		*why = text;
		return -EPROTO;
	}
	return 0;
}

/* The identity of the object name holds now, if it is trusted. 0 or -errno (see above). */
static int
segment_identity(const char *name, dev_t *dev, ino_t *ino, const char **why)
{
	struct stat st;
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0)
		rc = -errno;
	close(fd);
	if (rc == 0)
		rc = segment_trusted(&st, why);
	if (rc != 0)
		return rc;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

int
segment_open(struct segment *seg, const char *name, const char **why)
{
	dev_t dev;
	ino_t ino;
	int rc;

	memset(seg, 0, sizeof(*seg));
	*why = NULL;
	if (strlen(name) >= sizeof(seg->name))
		return -ENAMETOOLONG;
	seg->areas = calloc(STATS_LINES, sizeof(*seg->areas));
	if (seg->areas == NULL)
		return -ENOMEM;
	snprintf(seg->name, sizeof(seg->name), "%s", name);
	rc = segment_identity(seg->name, &seg->dev, &seg->ino, why);
	if (rc == 0)
		rc = stats_open_readonly(&seg->stats, seg->name, why);
	/* What was mapped is what was checked: the name did not move in between. */
	if (rc == 0 && (segment_identity(seg->name, &dev, &ino, why) != 0 ||
	    dev != seg->dev || ino != seg->ino)) {
		stats_close(&seg->stats);
		*why = "changed while it was being opened; try again";
		rc = -EPROTO;
	}
	return rc;
}

int
segment_refresh(struct segment *seg, const char **why)
{
	char name[SEGMENT_NAME_MAX];
	dev_t dev;
	ino_t ino;
	int rc;

	*why = NULL;
	rc = segment_identity(seg->name, &dev, &ino, why);
	if (rc == 0 && seg->stats.hdr != NULL && dev == seg->dev && ino == seg->ino)
		return 0;
	snprintf(name, sizeof(name), "%s", seg->name);
	segment_close(seg);
	if (rc != 0) {
		snprintf(seg->name, sizeof(seg->name), "%s", name);
		return rc;
	}
	return segment_open(seg, name, why);
}

const struct stats_area *
segment_area(struct segment *seg, uint32_t line, uint64_t ino)
{
	struct segment_area *a = &seg->areas[line];
	char name[STATS_AREA_NAME_MAX];
	const char *why;
	struct stat st;
	int fd;

	if (a->map != NULL && a->ino == ino)
		return a->map;
	segment_area_drop(seg, line);
	stats_area_name(name, sizeof(name), seg->name, line);
	fd = shm_open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return NULL;
	/* What is mapped is what was checked: one descriptor for both. */
	if (fstat(fd, &st) == 0 && segment_trusted(&st, &why) == 0 &&
	    (uint64_t)st.st_ino == ino && (uint64_t)st.st_size >= STATS_AREA_SIZE) {
		a->map = stats_area_map(fd, 0);
		a->ino = ino;
	}
	close(fd);
	return a->map;
}

void
segment_area_drop(struct segment *seg, uint32_t line)
{
	struct segment_area *a = &seg->areas[line];

	stats_area_unmap(a->map);
	a->map = NULL;
	a->ino = 0;
}

void
segment_close(struct segment *seg)
{
	for (uint32_t i = 0; seg->areas != NULL && i < STATS_LINES; i++)
		segment_area_drop(seg, i);
	free(seg->areas);
	stats_close(&seg->stats);
	memset(seg, 0, sizeof(*seg));
}
