/* check.c -- passthrough-stats --check: does this passthrough serve? One line, one status. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "stats_tool.h"

/* How old a heartbeat stamped at seen_ms is; 0 if it is later (a stamp made during the copy). */
static uint64_t
check_age_ms(const struct check_env *env, uint64_t seen_ms)
{
	return env->now_ms > seen_ms ? env->now_ms - seen_ms : 0;
}

/* The worker that serves slot: its newest live line that is not retiring, or NULL. */
static const struct snapshot_worker *
check_slot_worker(const struct snapshot *snap, uint32_t slot)
{
	const struct snapshot_worker *found = NULL;

	/* snap->workers is by slot, oldest first: the last match is the newest. */
	for (uint32_t i = 0; i < snap->worker_count; i++)
		if (snap->workers[i].slot == slot && !snap->workers[i].retiring)
			found = &snap->workers[i];
	return found;
}

/* Why the master does not serve, into line; 0 when it does. */
static int
check_master(const struct snapshot *snap, const struct check_env *env, char *line, size_t size)
{
	const struct stats_header *h = &snap->hdr;
	uint64_t age = check_age_ms(env, h->seen_ms);

	if (env->same_pidns && !env->pid_alive(h->master_pid)) {
		snprintf(line, size, "master pid %u is gone (its statistics segment is left over)",
		    h->master_pid);
		return -1;
	}
	if (age > CHECK_STALE_MS) {
		snprintf(line, size, "master pid %u not seen for %.1f s (stopped, hung or gone)",
		    h->master_pid, (double)age / MS_PER_S);
		return -1;
	}
	return 0;
}

/* Why slot does not serve, into line; 0 when it does. */
static int
check_slot(const struct snapshot *snap, const struct check_env *env, uint32_t slot,
    char *line, size_t size)
{
	const struct snapshot_worker *w = check_slot_worker(snap, slot);
	uint32_t slots = snap->hdr.workers;
	uint64_t age;

	if (w == NULL) {
		if (snap->areas_refused > 0)
			snprintf(line, size, "worker %u of %u is not running (%u live worker "
			    "areas are missing or not the master's)", slot, slots,
			    snap->areas_refused);
		else
			snprintf(line, size, "worker %u of %u is not running (the master "
			    "restarts it)", slot, slots);
		return -1;
	}
	if (env->same_pidns && !env->pid_alive(w->pid)) {
		snprintf(line, size, "worker %u of %u (pid %u) is gone (not replaced yet)", slot,
		    slots, w->pid);
		return -1;
	}
	if (!w->ready) {
		snprintf(line, size, "worker %u of %u (pid %u) is not accepting yet", slot, slots,
		    w->pid);
		return -1;
	}
	age = check_age_ms(env, w->seen_ms);
	if (age > CHECK_STALE_MS) {
		snprintf(line, size, "worker %u of %u (pid %u) not seen for %.1f s (stopped or "
		    "hung)", slot, slots, w->pid, (double)age / MS_PER_S);
		return -1;
	}
	return 0;
}

/* The master's message (NUL-terminated by the snapshot) as one printable line. */
static void
check_one_line(char *out, size_t size, const char *message)
{
	size_t i;

	for (i = 0; i + 1 < size && message[i] != '\0'; i++)
		out[i] = (unsigned char)message[i] < 0x20 || message[i] == 0x7f ? ' ' : message[i];
	out[i] = '\0';
}

enum check_verdict
check_judge(const struct snapshot *snap, const struct check_env *env, char *line, size_t size)
{
	const struct stats_header *h = &snap->hdr;
	char msg[STATS_MESSAGE_MAX];

	if (check_master(snap, env, line, size) != 0)
		return CHECK_NOT_SERVING;
	if (h->workers == 0) {
		snprintf(line, size, "the master configures no workers");
		return CHECK_NOT_SERVING;
	}
	for (uint32_t slot = 0; slot < h->workers; slot++)
		if (check_slot(snap, env, slot, line, size) != 0)
			return CHECK_NOT_SERVING;
	/* Not a fault: the configuration before serves on (see check.h). */
	if (h->last_reload_ms != 0 && !h->last_reload_ok) {
		check_one_line(msg, sizeof(msg), h->last_reload_message);
		snprintf(line, size, "last reload failed: %s; generation %llu serves",
		    msg[0] != '\0' ? msg : "(no message)", (unsigned long long)h->generation);
	} else {
		snprintf(line, size, "serving: generation %llu, %u of %u workers, master pid %u",
		    (unsigned long long)h->generation, h->workers, h->workers, h->master_pid);
	}
	return CHECK_SERVING;
}

int
check_pid_alive(uint32_t pid)
{
	char path[32], text[512], *paren;
	ssize_t n;
	int fd;

	if (pid == 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
		return 0;
	/* A process nobody reaped is no server: "PID (comm) S ...", comm may hold ')'. */
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	text[n] = '\0';
	paren = strrchr(text, ')');
	return !(paren != NULL && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

int
check_run(struct segment *seg)
{
	struct check_env env = { .pid_alive = check_pid_alive };
	struct snapshot snap;
	char line[STATS_MESSAGE_MAX + 128];
	enum check_verdict verdict;
	int rc = snapshot_take(&snap, seg);

	if (rc != 0) {
		fprintf(stderr, "passthrough-stats: not serving: %s: %s\n", seg->name,
		    rc == -EAGAIN ? "the master kept folding worker counters (did it die "
		    "mid-update?)" : strerror(-rc));
		return TOOL_EXIT_FAIL;
	}
	env.now_ms = snap.taken_mono_ns / NS_PER_MS;
	env.same_pidns = snap.hdr.pidns != 0 && snap.hdr.pidns == stats_pidns();
	verdict = check_judge(&snap, &env, line, sizeof(line));
	snapshot_free(&snap);
	if (verdict != CHECK_SERVING) {
		fprintf(stderr, "passthrough-stats: not serving: %s\n", line);
		return TOOL_EXIT_FAIL;
	}
	printf("%s\n", line);
	return fflush(stdout) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
}
