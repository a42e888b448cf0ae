/*
 * confpeek_test.c -- common/confpeek.c: one string setting found by its
 * path in libconfig text, the way passthrough-stats reads stats.name: real
 * configurations, comments that hide a setting, a name in another group,
 * escapes, and files libconfig would refuse.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confpeek.h"

/* The value at path in text, compared and freed; want NULL: not found. */
static void
expect(const char *text, const char *path, const char *want)
{
	char *got = confpeek_string(text, strlen(text), path);

	if (want == NULL)
		cr_assert_null(got, "%s: found \"%s\" in:\n%s", path, got, text);
	else
		cr_assert(got != NULL && strcmp(got, want) == 0,
		    "%s: want \"%s\", got \"%s\" in:\n%s", path, want, got ? got : "(null)", text);
	free(got);
}

/* The syntax of etc/passthrough.conf, with a stats group and a pid_file added. */
static const char shipped[] =
    "# passthrough.conf -- example configuration (libconfig syntax).\n"
    "workers = 2;\n"
    "listen = [ \"127.0.0.1:8443\", \"[::1]:8443\" ];\n"
    "timeouts = {\n"
    "  hello_ms = 5000;      # the client must send its whole ClientHello within this\n"
    "  connect_ms = 3000;\n"
    "};\n"
    "tuning = {\n"
    "  relay = \"adaptive\";   # copy small records, splice(2) a direction once it streams;\n"
    "                        # \"splice\": splice from the first byte\n"
    "};\n"
    "log = {\n"
    "  level = \"info\";       # \"error\", \"warn\", \"info\" or \"debug\"\n"
    "};\n"
    "routes = (\n"
    "  { sni = \"app.example.com\"; backends = [ \"127.0.0.1:9443\" ]; },\n"
    "  { sni = \"*\";               backends = [ \"127.0.0.1:9445\" ]; }\n"
    ");\n"
    "stats = {\n"
    "  group = \"adm\";\n"
    "  name = \"pt-edge\";     # the shm object: /dev/shm/pt-edge\n"
    "};\n"
    "pid_file = \"/run/passthrough.pid\";\n";

Test(confpeek, settings_of_the_shipped_syntax)
{
	expect(shipped, "stats.name", "pt-edge");
	expect(shipped, "stats.group", "adm");
	expect(shipped, "pid_file", "/run/passthrough.pid");
	expect(shipped, "log.level", "info");
	expect(shipped, "tuning.relay", "adaptive");
}

Test(confpeek, absent_or_not_a_string)
{
	expect(shipped, "stats.user", NULL);
	expect(shipped, "workers", NULL);		/* a number */
	expect(shipped, "listen", NULL);		/* an array */
	expect(shipped, "stats", NULL);			/* a group */
	expect(shipped, "name", NULL);			/* only inside stats */
	expect(shipped, "sni", NULL);			/* inside a list's groups: no path reaches it */
	expect(shipped, "stats.name.x", NULL);
	expect(shipped, "", NULL);
	expect("stats = { name = \"\"; };", "stats.name", NULL);	/* empty: none */
	expect("", "pid_file", NULL);
}

Test(confpeek, commented_out_settings_are_not_found)
{
	expect("# stats = { name = \"a\"; };\n", "stats.name", NULL);
	expect("// pid_file = \"/a\";\n", "pid_file", NULL);
	expect("/* stats = { name = \"a\"; }; */\n", "stats.name", NULL);
	expect("/*\n pid_file = \"/a\";\n*/ pid_file = \"/b\";", "pid_file", "/b");
	expect("stats = {\n  # name = \"old\";\n  name = \"new\"; // not \"x\"\n};", "stats.name", "new");
	/* A comment marker inside a string is part of the string. */
	expect("stats = { name = \"a#b//c\"; };", "stats.name", "a#b//c");
	/* And a quote inside a comment opens no string. */
	expect("# don't \"\npid_file = \"/p\";", "pid_file", "/p");
}

Test(confpeek, a_name_inside_another_group_does_not_match)
{
	expect("log = { stats = { name = \"wrong\"; }; };\n", "stats.name", NULL);
	expect("log = { pid_file = \"/wrong\"; };\n", "pid_file", NULL);
	expect("log = { pid_file = \"/wrong\"; };\npid_file = \"/right\";", "pid_file", "/right");
	expect("stats = { log = { name = \"deep\"; }; name = \"flat\"; };", "stats.name", "flat");
	expect("routes = ( { name = \"r\"; } );\nstats = ( { name = \"l\"; } );", "stats.name", NULL);
	expect("xstats = { name = \"a\"; }; stats_x = { name = \"b\"; };", "stats.name", NULL);
	/* Brackets inside strings do not open or close anything. */
	expect("log = { file = \"}\"; name = \"in-log\"; };\nname = \"top\";", "name", "top");
}

Test(confpeek, both_assignments_and_optional_separators)
{
	expect("stats: { name: \"colon\" }", "stats.name", "colon");
	expect("stats = { group = \"g\", name = \"comma\", };", "stats.name", "comma");
	expect("stats={name=\"tight\"}pid_file=\"/t\"", "stats.name", "tight");
	expect("stats={name=\"tight\"}pid_file=\"/t\"", "pid_file", "/t");
	expect("workers = 2\nstats =\n{\n name\n =\n \"lines\"\n}\n", "stats.name", "lines");
}

Test(confpeek, escapes_and_joined_strings)
{
	expect("pid_file = \"/a\\\"b\\\\c\";", "pid_file", "/a\"b\\c");
	expect("pid_file = \"tab\\there\\nnl\";", "pid_file", "tab\there\nnl");
	expect("pid_file = \"\\x41\\x7a\";", "pid_file", "Az");
	expect("pid_file = \"\\q\";", "pid_file", "\\q");	/* an unknown escape stands for itself */
	expect("pid_file = \"/run/\" /* split */ \"pt.pid\";", "pid_file", "/run/pt.pid");
	expect("stats = { name = \"pt\" \"-\"\n \"x\"; };", "stats.name", "pt-x");
}

Test(confpeek, a_broken_file_still_gives_the_setting)
{
	/* A missing ';', a bad value, a stray bracket and token: libconfig refuses all of these. */
	expect("workers = 2\nlisten = [ \"a\" \nstats = { name = \"x\"; };", "stats.name", NULL);
	expect("workers = ;\n} ) ]\n!!\nstats = { bad bad; name = \"x\"; };", "stats.name", "x");
	expect("timeouts = { hello_ms = 5000 connect_ms 3000; };\npid_file = \"/p\"", "pid_file", "/p");
	expect("@include \"other.conf\"\nstats = { name = \"x\" };", "stats.name", "x");
	/* What follows the setting does not matter, even an unterminated string or comment. */
	expect("stats = { name = \"x\"; };\nlog = { level = \"info", "stats.name", "x");
	expect("pid_file = \"/p\";\n/* never closed", "pid_file", "/p");
	/* But an unterminated string before it swallows it, as it would libconfig. */
	expect("log = { level = \"info; };\nstats = { name = \"x\"; };", "stats.name", NULL);
	expect("stats = { name = \"never closed", "stats.name", NULL);
	expect("stats = { name = ", "stats.name", NULL);
	expect("stats = { name", "stats.name", NULL);
}

Test(confpeek, the_text_ends_where_it_is_told)
{
	static const char text[] = "pid_file = \"/p\";";

	cr_assert_null(confpeek_string(text, 12, "pid_file"), "the string is cut off");
}

Test(confpeek, files)
{
	char path[] = "/tmp/confpeek_test.XXXXXX";
	char *got;
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, shipped, strlen(shipped)), (ssize_t)strlen(shipped));
	close(fd);
	got = confpeek_file(path, "stats.name");
	cr_assert_str_eq(got, "pt-edge");
	free(got);
	unlink(path);
	cr_assert_null(confpeek_file(path, "stats.name"), "a missing file: NULL");
	cr_assert_null(confpeek_file("/", "stats.name"), "a directory: NULL");
}
