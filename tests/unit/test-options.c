/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>

#include "options.h"

#define MAX_ARGS 16

static char *argv_copy[MAX_ARGS + 1];
static int argc_copy;

/* Parse the NULL-terminated arguments (after the program name) from
 * writable copies; returns options_parse()'s result. */
static int
parse(struct options *opts, const char **error_r, ...)
{
	const char *arg, *error = NULL;
	va_list ap;
	int ret;

	for (int i = 0; i < argc_copy; i++)
		free(argv_copy[i]);
	argc_copy = 0;
	argv_copy[argc_copy++] = strdup("imapsync");
	va_start(ap, error_r);
	while ((arg = va_arg(ap, const char *)) != NULL && argc_copy < MAX_ARGS)
		argv_copy[argc_copy++] = strdup(arg);
	va_end(ap);
	argv_copy[argc_copy] = NULL;
	ret = options_parse(argc_copy, argv_copy, opts, &error);
	if (error_r != NULL)
		*error_r = ret < 0 ? error : NULL;
	return ret;
}

/* The error text of a failing parse, or "(ok)". */
#define ERR(...) err_of(parse(&o, &e, __VA_ARGS__, NULL), &e)

static const char *
err_of(int ret, const char **error)
{
	return ret == 0 ? "(ok)" : *error != NULL ? *error : "(no error text)";
}

TEST(defaults)
{
	struct options o;
	const char *e = NULL;

	CHECK_INT_EQ(parse(&o, &e, NULL), 0);
	CHECK_INT_EQ(o.command, OPTIONS_SYNC);
	CHECK_INT_EQ(o.targets, OPTIONS_TARGET_ALL);
	CHECK(o.config == NULL);
	CHECK(!o.watch && !o.notify && !o.quiet && o.debug == 0);
	CHECK(!o.help && !o.version);
	CHECK_INT_EQ(o.mailbox_count, 0);
}

TEST(simple_options)
{
	struct options o;
	const char *e = NULL;

	CHECK(parse(&o, &e, "--config=work", "-q", "--debug", "--debug",
	            "INBOX", "Sent", NULL) == 0);
	CHECK_STREQ(o.config, "work");
	CHECK(o.quiet);
	CHECK_INT_EQ(o.debug, 2);
	CHECK_INT_EQ(o.mailbox_count, 2);
	CHECK_STREQ(o.mailboxes[0], "INBOX");
	CHECK_STREQ(o.mailboxes[1], "Sent");

	CHECK_INT_EQ(parse(&o, &e, "--config", "/etc/x", "--quiet", NULL), 0);
	CHECK_STREQ(o.config, "/etc/x");
	CHECK(o.quiet);

	/* bundled short options */
	CHECK_INT_EQ(parse(&o, &e, "-qh", NULL), 0);
	CHECK(o.quiet && o.help);
}

TEST(help_and_version_win)
{
	struct options o;
	const char *e = NULL;

	CHECK_INT_EQ(parse(&o, &e, "--help", "--repair", "--delete", NULL), 0);
	CHECK(o.help);
	CHECK_INT_EQ(parse(&o, &e, "--version", "--rename", "a", NULL), 0);
	CHECK(o.version);
	CHECK(strstr(options_usage(), "--rename SOURCE DEST") != NULL);
	CHECK(strstr(options_usage_hint(), "imapsync --help") != NULL);
	CHECK_INT_EQ(parse(&o, &e, "-V", NULL), 0);
	CHECK(o.version);
	CHECK_INT_EQ(parse(&o, &e, "-qV", NULL), 0);
	CHECK(o.version && o.quiet);
	/* --help names the default files and the exit statuses */
	CHECK(strstr(options_usage(), "~/.config/imapsync/config") != NULL);
	CHECK(strstr(options_usage(), "HOST.db") != NULL);
	CHECK(strstr(options_usage(), "4 another imapsync holds") != NULL);
	CHECK(strstr(options_usage(), "-V, --version") != NULL);
}

TEST(commands)
{
	struct options o;
	const char *e = NULL;

	CHECK_INT_EQ(parse(&o, &e, "--repair", NULL), 0);
	CHECK(o.command == OPTIONS_REPAIR && o.mailbox_count == 0);
	CHECK_INT_EQ(parse(&o, &e, "--repair", "a", "b", NULL), 0);
	CHECK(o.command == OPTIONS_REPAIR && o.mailbox_count == 2);
	CHECK_INT_EQ(parse(&o, &e, "--delete", "a", "b", "c", NULL), 0);
	CHECK(o.command == OPTIONS_DELETE && o.mailbox_count == 3);
	CHECK_INT_EQ(o.targets, OPTIONS_TARGET_ALL);
	CHECK_INT_EQ(parse(&o, &e, "--rename", "a", "b", NULL), 0);
	CHECK(o.command == OPTIONS_RENAME && o.mailbox_count == 2);
	CHECK_STREQ(o.mailboxes[0], "a");
	CHECK_STREQ(o.mailboxes[1], "b");
	/* the same command twice is still one command */
	CHECK_INT_EQ(parse(&o, &e, "--delete", "--delete", "a", NULL), 0);
}

TEST(command_errors)
{
	struct options o;
	const char *e = NULL;

	CHECK_STREQ(ERR("--repair", "--delete", "a"),
	            "--repair and --delete cannot be used together");
	CHECK_STREQ(ERR("--rename", "--delete", "a", "b"),
	            "--delete and --rename cannot be used together");
	CHECK_STREQ(ERR("--delete"), "--delete needs at least one MAILBOX");
	CHECK_STREQ(ERR("--rename", "a"),
	            "--rename needs SOURCE and DEST (and options before "
	            "them)");
	CHECK_STREQ(ERR("--rename", "a", "b", "c"),
	            "--rename needs SOURCE and DEST (and options before "
	            "them)");
	/* options after the first MAILBOX are mailboxes (POSIX order) */
	CHECK_STREQ(ERR("--rename", "a", "b", "--target=local"),
	            "--rename needs SOURCE and DEST (and options before "
	            "them)");
	CHECK_INT_EQ(parse(&o, &e, "a", "--debug", NULL), 0);
	CHECK(o.debug == 0 && o.mailbox_count == 2);
	CHECK_STREQ(o.mailboxes[1], "--debug");
	CHECK_INT_EQ(parse(&o, &e, "--", "-dash", NULL), 0);
	CHECK_INT_EQ(o.mailbox_count, 1);
	CHECK_STREQ(o.mailboxes[0], "-dash");
}

TEST(targets)
{
	struct options o;
	const char *e = NULL;

	CHECK_INT_EQ(parse(&o, &e, "--target=local", "--delete", "a", NULL), 0);
	CHECK_INT_EQ(o.targets, OPTIONS_TARGET_LOCAL);
	CHECK(parse(&o, &e, "--target", "remote,database", "--rename", "a", "b",
	            NULL) == 0);
	CHECK_INT_EQ(o.targets, (OPTIONS_TARGET_REMOTE | OPTIONS_TARGET_DATABASE));
	CHECK(parse(&o, &e, "--target=local", "--target=database,", "--delete",
	            "a", NULL) == 0);
	CHECK_INT_EQ(o.targets, (OPTIONS_TARGET_LOCAL | OPTIONS_TARGET_DATABASE));
	CHECK_STREQ(ERR("--target=locale", "--delete", "a"),
	            "invalid target \"locale\" (local, remote or database "
	            "expected)");
	CHECK_STREQ(ERR("--target=local,,remote", "--delete", "a"),
	            "invalid target \"\" (local, remote or database "
	            "expected)");
	CHECK_STREQ(ERR("--target=", "--delete", "a"),
	            "invalid target \"\" (local, remote or database "
	            "expected)");
	CHECK_STREQ(ERR("--target=local"),
	            "--target only applies to --delete and --rename");
	CHECK_STREQ(ERR("--target=local", "--repair"),
	            "--target only applies to --delete and --rename");
}

TEST(watch_and_notify)
{
	struct options o;
	const char *e = NULL;

	CHECK_STREQ(ERR("--watch"), "(ok)");
	CHECK(o.watch && !o.notify && o.watch_seconds == 60);
	CHECK_STREQ(ERR("--watch=30"), "(ok)");
	CHECK_INT_EQ(o.watch_seconds, 30);
	CHECK_STREQ(ERR("--watch", "45", "INBOX"), "(ok)");
	CHECK(o.watch_seconds == 45 && o.mailbox_count == 1);
	CHECK_STREQ(ERR("--notify"), "(ok)");
	CHECK(o.watch && o.notify && o.watch_seconds == 900);
	CHECK_STREQ(ERR("--notify", "--watch=0"), "(ok)");
	CHECK_INT_EQ(o.watch_seconds, 900);
	CHECK_STREQ(ERR("--notify", "--watch=120"), "(ok)");
	CHECK(o.notify && o.watch_seconds == 120);
	CHECK_STREQ(ERR("--watch", "--dry-run"),
	            "--dry-run cannot be used with --watch");
	CHECK_STREQ(ERR("--watch=abc"),
	            "invalid value for --watch: \"abc\" (seconds expected)");
	CHECK_STREQ(ERR("--watch=-5"),
	            "invalid value for --watch: \"-5\" (seconds expected)");
	CHECK_STREQ(ERR("--repair", "--watch"),
	            "--repair cannot be used with --watch");
	CHECK_STREQ(ERR("--notify", "--delete", "x"),
	            "--delete cannot be used with --notify");
}

TEST(debug_kinds)
{
	struct options o;
	const char *e = NULL;

	/* Alone: the wire and the decisions; twice: credentials too. */
	CHECK_INT_EQ(parse(&o, &e, "--debug", NULL), 0);
	CHECK(o.debug == 1 && o.debug_sync);
	CHECK_INT_EQ(parse(&o, &e, "--debug=sync", NULL), 0);
	CHECK(o.debug == 0 && o.debug_sync);
	CHECK_INT_EQ(parse(&o, &e, "--debug=imap", NULL), 0);
	CHECK(o.debug == 1 && !o.debug_sync);
	CHECK_INT_EQ(parse(&o, &e, "--debug=imap,sync", "--debug=imap", NULL),
	             0);
	CHECK(o.debug == 2 && o.debug_sync);
	/* A value only after "=": the next word is a mailbox. */
	CHECK_INT_EQ(parse(&o, &e, "--debug", "sync", NULL), 0);
	CHECK(o.debug == 1 && o.mailbox_count == 1);
	CHECK_STREQ(ERR("--debug=wire"),
	            "invalid value for --debug: \"wire\" (imap, sync or both, "
	            "comma separated)");
	CHECK_STREQ(ERR("--debug="),
	            "invalid value for --debug: \"\" (imap, sync or both, "
	            "comma separated)");
	CHECK_STREQ(ERR("--debug=imap,"),
	            "invalid value for --debug: \"imap,\" (imap, sync or "
	            "both, comma separated)");
}

TEST(bad_options)
{
	struct options o;
	const char *e = NULL;

	CHECK_STREQ(ERR("--frobnicate"), "unrecognized option '--frobnicate'");
	CHECK_STREQ(ERR("--conf=x"), "unrecognized option '--conf'");
	CHECK_STREQ(ERR("--rep"), "unrecognized option '--rep'");
	CHECK_STREQ(ERR("-x"), "unknown option '-x'");
	CHECK_STREQ(ERR("-qx"), "unknown option '-x'");
	CHECK_STREQ(ERR("--config"), "option '--config' needs a value");
	CHECK_STREQ(ERR("--repair=1"), "option '--repair' takes no value");
	CHECK_STREQ(ERR("-debug"), "unknown option '-d'");
}

TEST(mailbox_names)
{
	struct options o;
	const char *e = NULL;

	CHECK_INT_EQ(parse(&o, &e, "inbox", "InBoX", "inboxes", NULL), 0);
	CHECK_STREQ(o.mailboxes[0], "INBOX");
	CHECK_STREQ(o.mailboxes[1], "INBOX");
	CHECK_STREQ(o.mailboxes[2], "inboxes");
	/* UTF-8, as the messages show names: encoded for the wire. */
	CHECK_INT_EQ(parse(&o, &e, "caf\xc3\xa9",
	                   "Caf\xc3\xa9 & Co/Gr\xc3\xb6\xc3\x9f"
	                   "e",
	                   "A&B", NULL),
	             0);
	CHECK_STREQ(o.mailboxes[0], "caf&AOk-");
	CHECK_STREQ(o.mailboxes[1], "Caf&AOk- &- Co/Gr&APYA3w-e");
	CHECK_STREQ(o.mailboxes[2], "A&B"); /* ASCII: modified UTF-7 */
	CHECK_STREQ(ERR("caf\xc3"), "invalid mailbox name \"caf\xc3\": "
	                            "invalid UTF-8 in mailbox name");
	CHECK_STREQ(ERR("--delete", ""), "invalid mailbox name \"\"");
	CHECK_INT_EQ(parse(&o, &e, "Caf&AOk-", NULL), 0);
}

TEST(cleanup)
{
	for (int i = 0; i < argc_copy; i++)
		free(argv_copy[i]);
	argc_copy = 0;
	CHECK_INT_EQ(argc_copy, 0);
}

TEST(import_dry_run_force)
{
	char a0[] = "imapsync", a1[] = "--import-interimap=/x/i.db",
	     a2[] = "--dry-run", a3[] = "--force";
	char *argv[] = {a0, a1, a2, a3, NULL};
	char b1[] = "--repair", b2[] = "--dry-run";
	char *argv2[] = {a0, b1, b2, NULL};
	char d1[] = "--verify";
	char *argv4[] = {a0, d1, b2, NULL};
	char c1[] = "--import-interimap=";
	char *argv3[] = {a0, c1, NULL};
	struct options o;
	const char *error;

	CHECK_INT_EQ(options_parse(4, argv, &o, &error), 0);
	CHECK_STREQ(o.import_interimap, "/x/i.db");
	CHECK(o.dry_run && o.force);
	/* --repair --dry-run says what the repair would do. */
	CHECK_INT_EQ(options_parse(3, argv2, &o, &error), 0);
	CHECK(o.dry_run && o.command == OPTIONS_REPAIR);
	CHECK_INT_EQ(options_parse(3, argv4, &o, &error), -1);
	CHECK(strstr(error, "--dry-run") != NULL);
	CHECK_INT_EQ(options_parse(2, argv3, &o, &error), -1);
}

/* The shell expands "~" only at the start of a word, not after "=". */
TEST(tilde_after_equals)
{
	struct options o;
	const char *e = NULL;
	char *home = getenv("HOME") != NULL ? strdup(getenv("HOME")) : NULL;

	setenv("HOME", "/home/alice", 1);
	CHECK(parse(&o, &e, "--import-interimap=~/.local/share/i.db", NULL) ==
	      0);
	CHECK_STREQ(o.import_interimap, "/home/alice/.local/share/i.db");
	CHECK_INT_EQ(parse(&o, &e, "--config=~/imapsync.conf", NULL), 0);
	CHECK_STREQ(o.config, "/home/alice/imapsync.conf");
	setenv("HOME", "/", 1);
	CHECK_INT_EQ(parse(&o, &e, "--config=~/c", NULL), 0);
	CHECK_STREQ(o.config, "/c");
	/* Only a leading "~/" */
	CHECK_INT_EQ(parse(&o, &e, "--import-interimap=a/~/b", NULL), 0);
	CHECK_STREQ(o.import_interimap, "a/~/b");
	CHECK_INT_EQ(parse(&o, &e, "--config=~bob/c", NULL), 0);
	CHECK_STREQ(o.config, "~bob/c");
	unsetenv("HOME");
	CHECK_INT_EQ(parse(&o, &e, "--import-interimap=~/i.db", NULL), -1);
	CHECK(e != NULL && strstr(e, "$HOME") != NULL);
	if (home != NULL)
		setenv("HOME", home, 1);
	free(home);
}

TEST(status_json)
{
	struct options o;
	const char *e = NULL;

	CHECK_INT_EQ(parse(&o, &e, "--status", NULL), 0);
	CHECK_INT_EQ(o.command, OPTIONS_STATUS);
	CHECK(!o.json);
	CHECK_INT_EQ(parse(&o, &e, "--status", "--json", NULL), 0);
	CHECK(o.json);
	CHECK_STREQ(ERR("--json"), "--json only applies to --status");
	CHECK_STREQ(ERR("--status", "INBOX"), "--status takes no MAILBOX");
	CHECK_STREQ(ERR("--status", "--force"),
	            "--status cannot be used with --force");
	CHECK_STREQ(ERR("--status", "--repair"),
	            "--repair and --status cannot be used together");
	CHECK_STREQ(ERR("--status", "--watch"),
	            "--status cannot be used with --watch");
}

TEST(restore_from)
{
	struct options o;
	const char *e = NULL;

	CHECK_INT_EQ(parse(&o, &e, NULL), 0);
	CHECK(!o.restore);
	CHECK_INT_EQ(parse(&o, &e, "--restore-from=local", NULL), 0);
	CHECK(o.restore && o.restore_from == SIDE_LOCAL);
	CHECK_INT_EQ(parse(&o, &e, "--restore-from", "remote", NULL), 0);
	CHECK(o.restore && o.restore_from == SIDE_REMOTE);
	CHECK_STREQ(ERR("--restore-from=both"),
	            "invalid value for --restore-from: \"both\" (local or "
	            "remote expected)");
	CHECK(strstr(ERR("--restore-from=local", "--force"),
	             "cannot be used together") != NULL);
	CHECK_STREQ(ERR("--restore-from=local", "--repair"),
	            "--restore-from cannot be used with --repair");
	CHECK_STREQ(ERR("--restore-from=local", "--watch"),
	            "--restore-from cannot be used with --watch");
	/* A dry run of a restore says what it would copy back. */
	CHECK_STREQ(ERR("--restore-from=local", "--dry-run"), "(ok)");
	CHECK(o.restore && o.dry_run);
}
