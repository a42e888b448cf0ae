/*
 * top.c -- passthrough-stats --watch: a refreshing view with per-second
 * rates (accepted, closed by reason, bytes each way) per worker and in
 * total, beside the gauges. top_render() draws a frame from two snapshots;
 * top_run() owns the terminal and the clock.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "grid.h"
#include "human.h"
#include "top.h"

/* ANSI/xterm sequences. */
#define TOP_ALT_SCREEN_ON	"\033[?1049h\033[?25l"	/* alternate screen, cursor hidden */
#define TOP_ALT_SCREEN_OFF	"\033[?25h\033[?1049l"	/* as the operator left them */
#define TOP_HOME		"\033[H"
#define TOP_CLEAR_EOL		"\033[K"	/* each line erases what a longer old one left */
#define TOP_CLEAR_EOS		"\033[J"	/* and the frame what an older, taller one left */
#define TOP_KEYS_MAX		64		/* key bytes read per wakeup */
#define TOP_KEY_QUIT		'q'
#define TOP_KEY_QUIT_UPPER	'Q'
#define TOP_INDENT		"  "

static volatile sig_atomic_t top_quit;

/* Rates of one counter, "-" when there is nothing to compare with. */
struct top_span {
	int valid;		/* prev exists, same master, seconds > 0 */
	double seconds;
};

static int
top_rate(const struct top_span *span, uint64_t cur, uint64_t prev, double *rate)
{
	if (!span->valid || cur < prev)
		return 0;	/* nothing before, or the counter restarted */
	*rate = (double)(cur - prev) / span->seconds;
	return 1;
}

/* A rate cell: the rate as human writes it, then unit; "-" when there is none. */
static void
top_cell_per_s(struct grid *g, const struct top_span *span, uint64_t cur, uint64_t prev,
    char *(*human)(double, char *, size_t), const char *unit)
{
	char buf[HUMAN_LEN];
	double rate;

	if (top_rate(span, cur, prev, &rate))
		grid_cell(g, "%s%s", human(rate, buf, sizeof(buf)), unit);
	else
		grid_cell(g, "-");
}

static void
top_cell_rate(struct grid *g, const struct top_span *span, uint64_t cur, uint64_t prev)
{
	top_cell_per_s(g, span, cur, prev, human_rate, "");
}

static void
top_cell_bytes(struct grid *g, const struct top_span *span, uint64_t cur, uint64_t prev)
{
	top_cell_per_s(g, span, cur, prev, human_bytes, "/s");
}

/* The rate cells of a worker or of the totals: accepted, closed, in, out. */
static void
top_cells_rates(struct grid *g, const struct top_span *span, const struct stats_counters *cur,
    const struct stats_counters *prev)
{
	static const struct stats_counters zero;

	if (prev == NULL)
		prev = &zero;
	top_cell_rate(g, span, cur->accepted, prev->accepted);
	top_cell_rate(g, span, snapshot_closes(cur), snapshot_closes(prev));
	top_cell_bytes(g, span, cur->bytes_in, prev->bytes_in);
	top_cell_bytes(g, span, cur->bytes_out, prev->bytes_out);
}

static void
top_header(struct textbuf *out, const struct snapshot *cur, const struct top_span *span)
{
	const struct stats_header *h = &cur->hdr;
	char now[HUMAN_LEN], up[HUMAN_LEN], ago[HUMAN_LEN];

	textbuf_printf(out, "passthrough %s  %s", cur->segment,
	    human_time_ms(cur->taken_ms, now, sizeof(now)));
	if (span->valid)
		textbuf_printf(out, "  rates over %.1f s", span->seconds);
	textbuf_puts(out, "  (q: quit)\n");
	textbuf_printf(out, "master %" PRIu32 ", up %s, generation %" PRIu64 ", reloads %" PRIu64
	    " ok / %" PRIu64 " failed", h->master_pid, human_age_ms(snapshot_age_ms(cur,
	    h->started_ms), up, sizeof(up)), h->generation, h->reloads_ok,
	    h->reloads_failed);
	if (h->last_reload_ms != 0)
		textbuf_printf(out, ", last %s %s ago", h->last_reload_ok ? "ok" : "FAILED",
		    human_age_ms(snapshot_age_ms(cur, h->last_reload_ms), ago, sizeof(ago)));
	textbuf_printf(out, "\nconnections %" PRIu64 " active (%" PRIu64 " in hello, %" PRIu64
	    " relaying), %" PRIu64 " accepted since start\n\n", cur->active, cur->in_hello,
	    cur->relaying, cur->totals.accepted);
}

static void
top_workers(struct textbuf *out, const struct snapshot *prev, const struct snapshot *cur,
    const struct top_span *span)
{
	static const struct grid_column cols[] = {
		{ "SLOT", GRID_RIGHT }, { "PID", GRID_RIGHT }, { "STATE", GRID_LEFT },
		{ "ACCEPTED/S", GRID_RIGHT }, { "CLOSED/S", GRID_RIGHT }, { "IN/S", GRID_RIGHT },
		{ "OUT/S", GRID_RIGHT }, { "ACTIVE", GRID_RIGHT }, { "HELLO", GRID_RIGHT },
		{ "RELAYING", GRID_RIGHT },
	};
	struct grid g;

	grid_init(&g, cols, sizeof(cols) / sizeof(cols[0]));
	for (uint32_t i = 0; i < cur->worker_count; i++) {
		const struct snapshot_worker *w = &cur->workers[i], *pw;
		struct top_span wspan = *span;

		pw = span->valid ? snapshot_find_worker(prev, w->pid) : NULL;
		/* A worker born since prev has no rate yet: its counts are not per second. */
		wspan.valid = pw != NULL;
		grid_cell(&g, "%" PRIu32, w->slot);
		grid_cell(&g, "%" PRIu32, w->pid);
		grid_cell(&g, "%s", w->retiring ? "draining" : "serving");
		top_cells_rates(&g, &wspan, &w->c, pw != NULL ? &pw->c : NULL);
		grid_cell(&g, "%" PRIu64, w->active);
		grid_cell(&g, "%" PRIu64, w->in_hello);
		grid_cell(&g, "%" PRIu64, w->relaying);
	}
	grid_cell(&g, "total");
	grid_cell(&g, "%s", "");
	grid_cell(&g, "%s", "");
	top_cells_rates(&g, span, &cur->totals, span->valid ? &prev->totals : NULL);
	grid_cell(&g, "%" PRIu64, cur->active);
	grid_cell(&g, "%" PRIu64, cur->in_hello);
	grid_cell(&g, "%" PRIu64, cur->relaying);
	grid_render(&g, out, TOP_INDENT);
	grid_free(&g);
}

/* Every reason counted since start, with its rate now. */
static void
top_closes_by_reason(struct textbuf *out, const struct snapshot *prev, const struct snapshot *cur,
    const struct top_span *span)
{
	static const struct grid_column cols[] = {
		{ "CLOSE REASON", GRID_LEFT }, { "PER SECOND", GRID_RIGHT }, { "TOTAL", GRID_RIGHT },
	};
	struct grid g;
	int any = 0;

	textbuf_puts(out, "\n");
	grid_init(&g, cols, sizeof(cols) / sizeof(cols[0]));
	for (unsigned r = 0; r < CLOSE_REASON_COUNT; r++) {
		uint64_t n = cur->totals.closes[r];

		if (n == 0)
			continue;
		any = 1;
		grid_cell(&g, "%s", close_reason_str(r));
		top_cell_rate(&g, span, n, span->valid ? prev->totals.closes[r] : 0);
		grid_cell(&g, "%" PRIu64, n);
	}
	if (any)
		grid_render(&g, out, TOP_INDENT);
	else
		textbuf_puts(out, TOP_INDENT "(no connection closed yet)\n");
	grid_free(&g);
}

void
top_render(struct textbuf *out, const struct snapshot *prev, const struct snapshot *cur,
    double seconds)
{
	struct top_span span = { 0, seconds };

	span.valid = prev != NULL && seconds > 0 && prev->hdr.master_pid == cur->hdr.master_pid &&
	    prev->hdr.started_ms == cur->hdr.started_ms;
	top_header(out, cur, &span);
	top_workers(out, prev, cur, &span);
	top_closes_by_reason(out, prev, cur, &span);
}

/* --- the terminal and the clock --- */

struct top {
	struct segment *seg;
	double interval;		/* seconds between frames */
	int key_fd;			/* stdin while it can send keys; -1 after EOF */
	int tty_out;			/* stdout is a terminal: redraw in place */
	int tty_in_saved;		/* termios changed: restore it */
	struct termios saved;
	struct snapshot snaps[2];	/* the current one and the one before */
	int have_prev;
	struct textbuf frame, screen;
};

static void
top_on_signal(int sig)
{
	(void)sig;
	top_quit = 1;
}

static void
top_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = top_on_signal;	/* no SA_RESTART: poll returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;	/* a closed stdout is an EPIPE, handled */
	sigaction(SIGPIPE, &sa, NULL);
}

/* Writes all of text to stdout. 0 or -errno. */
static int
top_write(const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Keys arrive one by one and unechoed; Ctrl-C still signals (ISIG kept). */
static void
top_terminal_enter(struct top *t)
{
	struct termios raw;

	t->key_fd = STDIN_FILENO;
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0) {
		raw = t->saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		t->tty_in_saved = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
	}
	t->tty_out = isatty(STDOUT_FILENO);
	if (t->tty_out)
		top_write(TOP_ALT_SCREEN_ON, strlen(TOP_ALT_SCREEN_ON));
}

static void
top_terminal_leave(struct top *t)
{
	if (t->tty_out)
		top_write(TOP_ALT_SCREEN_OFF, strlen(TOP_ALT_SCREEN_OFF));
	if (t->tty_in_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
}

static uint64_t
top_now_ns(void)
{
	return clock_read_ns(CLOCK_MONOTONIC);
}

/* The frame of this moment into t->frame; the new snapshot becomes the current one. */
static void
top_frame(struct top *t)
{
	struct snapshot *prev = &t->snaps[0], *cur = &t->snaps[1];
	const char *why;
	int rc;

	textbuf_reset(&t->frame);
	rc = segment_refresh(t->seg, &why);
	if (rc == 0)
		rc = snapshot_take(cur, t->seg);
	if (rc != 0) {
		textbuf_printf(&t->frame, "passthrough %s: %s; retrying every %.1f s  (q: quit)\n",
		    t->seg->name, why != NULL ? why : rc == -ENOENT ?
		    "not running (no statistics segment)" : strerror(-rc), t->interval);
		t->have_prev = 0;
		return;
	}
	top_render(&t->frame, t->have_prev ? prev : NULL, cur,
	    t->have_prev ? (double)(cur->taken_mono_ns - prev->taken_mono_ns) / NS_PER_S : 0);
	snapshot_free(prev);
	*prev = *cur;
	memset(cur, 0, sizeof(*cur));
	t->have_prev = 1;
}

/* Shows t->frame: in place on a terminal, else one frame after another. 0 or -errno. */
static int
top_show(struct top *t)
{
	const char *text = textbuf_text(&t->frame);

	if (text == NULL)
		text = "passthrough-stats: out of memory for this frame\n";
	textbuf_reset(&t->screen);
	if (!t->tty_out) {
		textbuf_printf(&t->screen, "%s\n", text);
	} else {
		textbuf_puts(&t->screen, TOP_HOME);
		for (const char *nl; (nl = strchr(text, '\n')) != NULL; text = nl + 1) {
			textbuf_append(&t->screen, text, (size_t)(nl - text));
			textbuf_puts(&t->screen, TOP_CLEAR_EOL "\n");
		}
		textbuf_puts(&t->screen, TOP_CLEAR_EOS);
	}
	if (textbuf_text(&t->screen) == NULL)
		return -ENOMEM;
	return top_write(t->screen.data, t->screen.len);
}

/* Reads pending keys; 1 when one asks to quit. */
static int
top_keys(struct top *t)
{
	char keys[TOP_KEYS_MAX];
	ssize_t n = read(t->key_fd, keys, sizeof(keys));

	if (n <= 0) {
		if (n == 0 || errno != EINTR)
			t->key_fd = -1;	/* EOF: no keys, but Ctrl-C still works */
		return 0;
	}
	return memchr(keys, TOP_KEY_QUIT, (size_t)n) != NULL ||
	    memchr(keys, TOP_KEY_QUIT_UPPER, (size_t)n) != NULL;
}

/* Sleeps until deadline_ns, watching for keys and signals. 1 when it is time to quit. */
static int
top_wait(struct top *t, uint64_t deadline_ns)
{
	for (;;) {
		uint64_t now = top_now_ns();
		struct pollfd p = { .fd = t->key_fd, .events = POLLIN };
		int ms;

		if (top_quit)
			return 1;
		if (now >= deadline_ns)
			return 0;
		ms = (int)((deadline_ns - now + NS_PER_MS - 1) / NS_PER_MS);
		if (poll(&p, 1, ms) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) &&
		    top_keys(t))
			return 1;
	}
}

int
top_run(struct segment *seg, double interval)
{
	struct top t;
	uint64_t next;
	int rc = 0;

	memset(&t, 0, sizeof(t));
	t.seg = seg;
	t.interval = interval;
	textbuf_init(&t.frame);
	textbuf_init(&t.screen);
	top_signals();
	top_terminal_enter(&t);
	next = top_now_ns();
	while (!top_quit) {
		top_frame(&t);
		rc = top_show(&t);
		if (rc != 0)
			break;
		next += (uint64_t)(interval * NS_PER_S);
		if (next < top_now_ns())
			next = top_now_ns();	/* a stopped terminal: do not catch up */
		if (top_wait(&t, next))
			break;
	}
	top_terminal_leave(&t);
	snapshot_free(&t.snaps[0]);
	snapshot_free(&t.snaps[1]);
	textbuf_free(&t.frame);
	textbuf_free(&t.screen);
	if (rc != 0 && rc != -EPIPE)
		fprintf(stderr, "passthrough-stats: writing the view: %s\n", strerror(-rc));
	return rc == 0 || rc == -EPIPE ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
}
