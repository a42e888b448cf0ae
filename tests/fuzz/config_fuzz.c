/*
 * config_fuzz.c -- libFuzzer target: config_load() on any text either
 * refuses it with well-formed "file:line: ..." messages and an empty
 * config (but for the SHA-256 of the text, which it has either way), or
 * returns a config every part of which is in its documented range (and
 * the text's SHA-256), that compiles into a route table with its access
 * part (listen settings, address rules, send_proxy) as the master builds it;
 * config_free() leaves nothing behind (LeakSanitizer). config_pid_file()
 * and config_stats_name(), the lenient readers of the same file, run on
 * every input too.
 *
 * The text goes into a memfd, loaded as /proc/self/fd/N. Inputs with
 * "@include" are refused: libconfig would open the paths they name.
 *
 * Host names in backends are resolved with getaddrinfo(), which is
 * replaced here (a strong definition wins over libc's and ASan's): numeric
 * hosts and names listed in /etc/hosts resolve through the real function
 * (files only, no packet leaves); every other name fails at once as DNS
 * would, EAI_NONAME, or EAI_AGAIN for names ending in ".again". A random
 * name otherwise costs DNS queries, makes the run depend on the network,
 * and sends fuzzer garbage to whatever resolver the machine has. Measured
 * here on 712 inputs (seeds and finds, 53 with host names): 0.25 s with
 * this stand-in, 15.4 s with the real getaddrinfo() (build with
 * -DCONFIG_FUZZ_REAL_RESOLVER to compare).
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "acl.h"
#include "config.h"
#include "fuzz.h"
#include "routes.h"
#include "sha256.h"
#include "stats.h"
#include "tunables.h"

#define HOSTS_MAX	64u	/* names kept from /etc/hosts */
#define HOST_NAME_BYTES	256u

static int config_fd = -1;
static char config_path[64];
static char hosts[HOSTS_MAX][HOST_NAME_BYTES];
static unsigned host_count;

typedef int getaddrinfo_fn(const char *, const char *, const struct addrinfo *,
    struct addrinfo **);

/* The names /etc/hosts gives addresses to: "files" answers those without a packet. */
static void
hosts_load(void)
{
	char line[1024], *tok, *save;
	FILE *f = fopen("/etc/hosts", "re");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "#\n")] = '\0';
		tok = strtok_r(line, " \t", &save);	/* the address */
		while (tok != NULL && (tok = strtok_r(NULL, " \t", &save)) != NULL)
			if (host_count < HOSTS_MAX && strlen(tok) < HOST_NAME_BYTES)
				snprintf(hosts[host_count++], HOST_NAME_BYTES, "%s", tok);
	}
	fclose(f);
}

static bool
hosts_has(const char *name)
{
	unsigned i;

	for (i = 0; i < host_count; i++)
		if (strcasecmp(hosts[i], name) == 0)
			return true;
	return false;
}

#ifndef CONFIG_FUZZ_REAL_RESOLVER	/* defined: measure what real lookups cost */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
    struct addrinfo **res);

int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
    struct addrinfo **res)
{
	static getaddrinfo_fn *real;
	struct addrinfo numeric;
	size_t len;

	if (real == NULL)
		real = (getaddrinfo_fn *)(uintptr_t)dlsym(RTLD_NEXT, "getaddrinfo");
	FUZZ_CHECK(real != NULL);
	memset(&numeric, 0, sizeof(numeric));
	if (hints != NULL)
		numeric = *hints;
	numeric.ai_flags |= AI_NUMERICHOST;
	if (node == NULL || real(node, service, &numeric, res) == 0)
		return node == NULL ? real(node, service, hints, res) : 0;
	if (hosts_has(node))
		return real(node, service, hints, res);
	len = strlen(node);
	if (len >= 6 && strcmp(node + len - 6, ".again") == 0)
		return EAI_AGAIN;
	return EAI_NONAME;
}
#endif

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	config_fd = memfd_create("passthrough.conf", MFD_CLOEXEC);
	if (config_fd < 0) {
		perror("memfd_create");
		exit(1);
	}
	snprintf(config_path, sizeof(config_path), "/proc/self/fd/%d", config_fd);
	hosts_load();
	return 0;
}

static bool
is_control(char c)
{
	return (unsigned char)c < 0x20 || c == 0x7f;
}

/*
 * "PATH:LINE: TEXT" with 1 <= LINE <= lines, or "PATH: TEXT" for the file
 * as a whole; TEXT not empty; one line, no control characters (user text
 * is quoted with escapes).
 */
static void
check_error(const char *msg, unsigned lines)
{
	size_t plen = strlen(config_path), i;
	const char *p;
	unsigned long line;
	char *end;

	FUZZ_CHECK(strncmp(msg, config_path, plen) == 0);
	p = msg + plen;
	FUZZ_CHECK(p[0] == ':');
	if (p[1] >= '1' && p[1] <= '9') {
		line = strtoul(p + 1, &end, 10);
		FUZZ_CHECK(line >= 1 && line <= lines);
		p = end;
		FUZZ_CHECK(p[0] == ':');
	}
	FUZZ_CHECK(p[1] == ' ' && p[2] != '\0' && p[2] != ' ');
	for (i = 0; msg[i] != '\0'; i++)
		FUZZ_CHECK(!is_control(msg[i]));
}

static void
check_addr(const struct addr *a)
{
	if (a->u.sa.sa_family == AF_INET) {
		FUZZ_CHECK(a->len == sizeof(struct sockaddr_in));
		FUZZ_CHECK(a->u.in.sin_port != 0);
	} else {
		FUZZ_CHECK(a->u.sa.sa_family == AF_INET6);
		FUZZ_CHECK(a->len == sizeof(struct sockaddr_in6));
		FUZZ_CHECK(a->u.in6.sin6_port != 0);
	}
}

/* 1..max addresses, each well formed, none twice. */
static void
check_addrs(const struct addr *a, uint32_t n, uint32_t max)
{
	uint32_t i, j;

	FUZZ_CHECK(a != NULL && n >= 1 && n <= max);
	for (i = 0; i < n; i++) {
		check_addr(&a[i]);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(!addr_equal(&a[i], &a[j]));
	}
}

static bool
in_range(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v >= lo && v <= hi;
}

static bool
log_dest_ok(const char *v, bool off_ok)
{
	return v == NULL || strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0 ||
	    (off_ok && strcmp(v, "off") == 0) ||
	    (v[0] == '/' && strlen(v) < ROUTES_ACCESS_MAX);
}

/* Who runs, where it logs, the statistics segment: as the README allows. */
static void
check_identity(const struct config *cfg)
{
	struct passwd *pw;
	struct group *gr;

	FUZZ_CHECK(cfg->path != NULL && strcmp(cfg->path, config_path) == 0);
	FUZZ_CHECK(cfg->workers <= MAX_WORKERS);
	FUZZ_CHECK(cfg->pid_file == NULL || cfg->pid_file[0] != '\0');
	FUZZ_CHECK(cfg->watch_config == 0 || cfg->watch_config == 1);
	FUZZ_CHECK(log_dest_ok(cfg->error_log, false));
	FUZZ_CHECK(log_dest_ok(cfg->access_log, true));
	if (cfg->stats_name != NULL)
		FUZZ_CHECK(cfg->stats_name[0] != '\0' &&
		    strlen(cfg->stats_name) <= STATS_NAME_MAX &&
		    strspn(cfg->stats_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(cfg->stats_name));
	if (cfg->user != NULL) {
		pw = getpwnam(cfg->user);
		FUZZ_CHECK(pw != NULL && pw->pw_uid == cfg->uid);
		if (cfg->group == NULL)
			FUZZ_CHECK(pw->pw_gid == cfg->gid);
	}
	if (cfg->group != NULL) {
		gr = getgrnam(cfg->group);
		FUZZ_CHECK(gr != NULL && gr->gr_gid == cfg->gid);
	}
	if (cfg->user == NULL && cfg->group == NULL)
		FUZZ_CHECK(cfg->uid == 0 && cfg->gid == 0);
	if (cfg->stats_group != NULL) {
		gr = getgrnam(cfg->stats_group);
		FUZZ_CHECK(gr != NULL && gr->gr_gid == cfg->stats_gid);
	} else {
		FUZZ_CHECK(cfg->stats_gid == (uint32_t)-1);
	}
}

/* Timeouts, limits, tuning and log settings within their ranges. */
static void
check_settings(const struct routes_settings *s)
{
	FUZZ_CHECK(s->access_format < ACCESS_FORMAT_COUNT);
	FUZZ_CHECK(s->log_level <= LOG_LVL_DEBUG);
	FUZZ_CHECK(in_range(s->hello_ms, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS));
	FUZZ_CHECK(in_range(s->connect_ms, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS));
	FUZZ_CHECK(in_range(s->idle_ms, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS));
	FUZZ_CHECK(s->drain_ms <= MAX_TIMEOUT_MS);
	FUZZ_CHECK(in_range(s->hello_bytes, MIN_HELLO_BYTES, MAX_HELLO_BYTES));
	FUZZ_CHECK(in_range(s->max_connections, MIN_CONNECTIONS, MAX_CONNECTIONS_LIMIT));
	FUZZ_CHECK(in_range(s->pipe_bytes, MIN_PIPE_BYTES, MAX_PIPE_BYTES));
	FUZZ_CHECK((s->pipe_bytes & (s->pipe_bytes - 1)) == 0);
	FUZZ_CHECK(s->relay < RELAY_METHOD_COUNT);
}

/* As acl_cidr_parse() leaves an entry: a family, a prefix within it, zero past the prefix. */
static void
check_cidr(const struct acl_cidr *c)
{
	unsigned b;

	FUZZ_CHECK(c->family == AF_INET || c->family == AF_INET6);
	FUZZ_CHECK(c->prefix <= (c->family == AF_INET ? 32 : 128));
	FUZZ_CHECK(c->reserved == 0);
	for (b = c->prefix; b < 8 * sizeof(c->addr); b++)
		FUZZ_CHECK((c->addr[b / 8] & (0x80u >> (b % 8))) == 0);
}

/*
 * One scope's lists, as the loader hands them on: an array exactly when not
 * empty, together within what acl_build() takes, each entry parsed.
 */
static struct routes_rules
check_rules(const struct config_rules *r)
{
	uint32_t i;

	FUZZ_CHECK((r->allow != NULL) == (r->allow_count != 0));
	FUZZ_CHECK((r->deny != NULL) == (r->deny_count != 0));
	FUZZ_CHECK((uint64_t)r->allow_count + r->deny_count <= ACL_ENTRIES_MAX);
	for (i = 0; i < r->allow_count; i++)
		check_cidr(&r->allow[i]);
	for (i = 0; i < r->deny_count; i++)
		check_cidr(&r->deny[i]);
	return (struct routes_rules){ .allow = r->allow, .allow_count = r->allow_count,
	    .deny = r->deny, .deny_count = r->deny_count };
}

/*
 * The listen entries (1..64 distinct addresses, both views alike; a PROXY
 * header accepted exactly where there are trusted sources, which are an
 * allow list only) and the top level's rules, into what the master builds
 * its image from.
 */
static struct routes_access
check_access(const struct config *cfg, struct listen_spec *listens)
{
	const struct config_listen *l;
	uint32_t i;

	check_addrs(cfg->listen, cfg->listen_count, MAX_LISTEN);
	FUZZ_CHECK(cfg->listens != NULL);
	for (i = 0; i < cfg->listen_count; i++) {
		l = &cfg->listens[i];
		FUZZ_CHECK(addr_equal(&l->addr, &cfg->listen[i]));
		FUZZ_CHECK(l->accept_proxy == 0 || l->accept_proxy == 1);
		FUZZ_CHECK(l->accept_proxy == (l->trusted.allow_count > 0));
		FUZZ_CHECK(l->trusted.deny_count == 0);
		listens[i].addr = l->addr;
		listens[i].flags = l->accept_proxy ? ROUTES_ACCEPT_PROXY : 0;
		listens[i].trusted = check_rules(&l->trusted);
		listens[i].rules = check_rules(&l->rules);
		FUZZ_CHECK(l->group < cfg->group_count);
		listens[i].group = l->group;
	}
	return (struct routes_access){ .listens = listens,
	    .listen_count = cfg->listen_count, .rules = check_rules(&cfg->rules),
	    .group_count = cfg->group_count };
}

/*
 * Routes: valid patterns, unique as lookups compare them, 1..1024 distinct
 * backends, send_proxy one of none/v1/v2; into specs[route_count].
 */
static void
check_routes(const struct config *cfg, unsigned lines, struct route_spec *specs)
{
	char key[ROUTES_KEY_MAX + 2], **keys;
	enum route_kind kind, *kinds;
	const char *why;
	uint32_t i, j;

	/* Listener groups: 1..MAX_LISTEN; routes may be none at all. */
	FUZZ_CHECK(cfg->groups != NULL && in_range(cfg->group_count, 1, MAX_LISTEN));
	FUZZ_CHECK(cfg->routes != NULL && cfg->route_count <= MAX_ROUTES);
	keys = calloc(cfg->route_count + 1, sizeof(*keys));
	kinds = calloc(cfg->route_count + 1, sizeof(*kinds));
	FUZZ_CHECK(keys != NULL && kinds != NULL);
	for (i = 0; i < cfg->route_count; i++) {
		const struct config_route *r = &cfg->routes[i];

		FUZZ_CHECK(r->pattern != NULL);
		FUZZ_CHECK(routes_pattern_key(r->pattern, key, &kind, &why) >= 0);
		FUZZ_CHECK(r->line >= 1 && (unsigned)r->line <= lines);
		FUZZ_CHECK(r->group < cfg->group_count);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(kinds[j] != kind || strcmp(keys[j], key) != 0 ||
			    cfg->routes[j].group != r->group || r->alpn_count + cfg->routes[j].alpn_count > 0);
		keys[i] = strdup(key);
		kinds[i] = kind;
		FUZZ_CHECK(keys[i] != NULL);
		check_addrs(r->backends, r->backend_count, MAX_BACKENDS_PER_ROUTE);
		FUZZ_CHECK(r->send_proxy <= ROUTES_PROXY_V2);
		specs[i].pattern = r->pattern;
		specs[i].backends = r->backends;
		specs[i].backend_count = r->backend_count;
		specs[i].send_proxy = r->send_proxy;
		specs[i].rules = check_rules(&r->rules);
		specs[i].group = r->group;
		specs[i].alpn = (const char *const *)r->alpn;
		specs[i].alpn_count = r->alpn_count;
	}
	for (i = 0; i < cfg->route_count; i++)
		free(keys[i]);
	free(keys);
	free(kinds);
}

static bool
rules_empty(const struct routes_rules *r)
{
	return r->allow_count == 0 && r->deny_count == 0;
}

/* The network address of entry c as a client (any port: rules ignore it). */
static struct addr
cidr_client(const struct acl_cidr *c)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(1) };
	struct addr a;

	if (c->family == AF_INET) {
		memcpy(&in.sin_addr, c->addr, sizeof(in.sin_addr));
		addr_from_sockaddr(&a, (const struct sockaddr *)&in, sizeof(in));
	} else {
		memcpy(&in6.sin6_addr, c->addr, sizeof(in6.sin6_addr));
		addr_from_sockaddr(&a, (const struct sockaddr *)&in6, sizeof(in6));
	}
	return a;
}

/*
 * The rules at off are r's: none exactly when r is empty; in a scope of
 * only one list, each entry's own network address gets that list's verdict
 * (nothing of the other kind can be longer).
 */
static void
check_scope(const struct routes_image *img, uint32_t off, const struct routes_rules *r)
{
	const struct acl *acl = routes_acl(img, off);
	struct addr c;
	uint32_t i;

	FUZZ_CHECK((acl == NULL) == rules_empty(r));
	FUZZ_CHECK(off % 8 == 0);
	for (i = 0; r->deny_count == 0 && i < r->allow_count; i++) {
		c = cidr_client(&r->allow[i]);
		FUZZ_CHECK(acl_allows(acl, &c));
	}
	for (i = 0; r->allow_count == 0 && i < r->deny_count; i++) {
		c = cidr_client(&r->deny[i]);
		FUZZ_CHECK(!acl_allows(acl, &c));
	}
}

/*
 * What loads, compiles, access part and all: the loader checks at least
 * what the builder does. Each listen address finds its settings; one
 * without rules of its own has the top level's; routes carry send_proxy
 * and their rules.
 */
static void
check_image(const struct config *cfg, const struct route_spec *specs,
    const struct routes_access *access)
{
	const struct routes_listen *l;
	const struct listen_spec *ls;
	struct routes_image *img;
	size_t size;
	uint32_t i;

	size = routes_image_size(specs, cfg->route_count, access);
	img = malloc(size);
	FUZZ_CHECK(img != NULL);
	FUZZ_CHECK(routes_image_build(img, size, specs, cfg->route_count, access,
	    &cfg->settings, 1, 0) == 0);
	FUZZ_CHECK(img->listen_count == access->listen_count);
	check_scope(img, img->acl_off, &access->rules);
	for (i = 0; i < access->listen_count; i++) {
		ls = &access->listens[i];
		l = routes_listen_find(img, &ls->addr);
		FUZZ_CHECK(l != NULL && l->flags == ls->flags);
		check_scope(img, l->trusted_off, &ls->trusted);
		if (rules_empty(&ls->rules))
			FUZZ_CHECK(l->acl_off == img->acl_off);
		else
			check_scope(img, l->acl_off, &ls->rules);
	}
	for (i = 0; i < cfg->route_count; i++) {
		FUZZ_CHECK(routes_at(img, i)->send_proxy == specs[i].send_proxy);
		check_scope(img, routes_at(img, i)->acl_off, &specs[i].rules);
	}
	free(img);
}

/* Everything a loaded config holds is what the README allows. */
static void
check_config(const struct config *cfg, unsigned lines)
{
	struct listen_spec listens[MAX_LISTEN];
	struct routes_access access;
	struct route_spec *specs;

	check_identity(cfg);
	check_settings(&cfg->settings);
	access = check_access(cfg, listens);
	specs = calloc(cfg->route_count + 1, sizeof(*specs));
	FUZZ_CHECK(specs != NULL);
	check_routes(cfg, lines, specs);
	check_image(cfg, specs, &access);
	free(specs);
}

/* libconfig's directive, in any case (its scanner's rules are not ours to rely on). */
static bool
has_include(const uint8_t *data, size_t size)
{
	size_t i;

	for (i = 0; i + 8 <= size; i++)
		if (data[i] == '@' && strncasecmp((const char *)data + i, "@include", 8) == 0)
			return true;
	return false;
}

static bool
all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0)
		if (*b++ != 0)
			return false;
	return true;
}

static bool
same_string(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct config_errors errs = { NULL, 0 };
	uint8_t sha256[SHA256_BYTES];
	char *pid_file, *stats_name;
	unsigned lines = 1;
	uint32_t i;
	size_t k;
	int rc;

	if (has_include(data, size))
		return -1;	/* not worth keeping: it would read other files */
	for (k = 0; k < size; k++)
		lines += data[k] == '\n';
	FUZZ_CHECK(ftruncate(config_fd, 0) == 0);
	FUZZ_CHECK(pwrite(config_fd, data, size, 0) == (ssize_t)size);

	rc = config_load(&cfg, config_path, &errs);
	FUZZ_CHECK(rc == 0 || rc == -1);
	/* Loaded or refused, sha256 is that of the bytes read. */
	sha256_digest(data, size, sha256);
	FUZZ_CHECK(memcmp(cfg.sha256, sha256, SHA256_BYTES) == 0);
	if (rc == -1) {
		FUZZ_CHECK(errs.count >= 1 && errs.msg != NULL);
		/* "cfg is then left empty but for cfg->sha256" */
		FUZZ_CHECK(all_zero(&cfg, offsetof(struct config, sha256)));
		FUZZ_CHECK(all_zero(cfg.sha256 + SHA256_BYTES, sizeof(cfg) -
		    offsetof(struct config, sha256) - SHA256_BYTES));
	} else {
		FUZZ_CHECK(errs.count == 0);
		check_config(&cfg, lines);
	}
	for (i = 0; i < errs.count; i++)
		check_error(errs.msg[i], lines);

	/*
	 * The lenient readers: never a crash, never an empty string; on a file
	 * that loads they read the setting config_load() read (none included).
	 */
	pid_file = config_pid_file(config_path);
	stats_name = config_stats_name(config_path);
	FUZZ_CHECK(pid_file == NULL || pid_file[0] != '\0');
	FUZZ_CHECK(stats_name == NULL || stats_name[0] != '\0');
	if (rc == 0) {
		FUZZ_CHECK(same_string(pid_file, cfg.pid_file));
		FUZZ_CHECK(same_string(stats_name, cfg.stats_name));
	}
	free(pid_file);
	free(stats_name);

	config_errors_free(&errs);
	config_free(&cfg);
	FUZZ_CHECK(all_zero(&cfg, sizeof(cfg)));
	return 0;
}
