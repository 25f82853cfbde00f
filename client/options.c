/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "options.h"

#include "buf.h"
#include "limits.h"
#include "mutf7.h"
#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char options_error[512];
/* --config=~/... and --import-interimap=~/..., expanded. */
static char options_config_path[4096], options_import_path[4096];

static int fail(const char **error_r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(options_error, sizeof(options_error), fmt, ap);
	va_end(ap);
	*error_r = options_error;
	return -1;
}

enum {
	OPT_CONFIG = 256,
	OPT_TARGET,
	OPT_DEBUG,
	OPT_WATCH,
	OPT_NOTIFY,
	OPT_REPAIR,
	OPT_DELETE,
	OPT_RENAME,
	OPT_VERSION,
	OPT_IMPORT,
	OPT_DRY_RUN,
	OPT_FORCE,
	OPT_VERIFY,
	OPT_STATUS,
	OPT_JSON,
	OPT_RESTORE,
};

static const struct option long_options[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"quiet", no_argument, NULL, 'q'},
    {"target", required_argument, NULL, OPT_TARGET},
    {"debug", optional_argument, NULL, OPT_DEBUG},
    {"help", no_argument, NULL, 'h'},
    {"watch", optional_argument, NULL, OPT_WATCH},
    {"notify", no_argument, NULL, OPT_NOTIFY},
    {"repair", no_argument, NULL, OPT_REPAIR},
    {"delete", no_argument, NULL, OPT_DELETE},
    {"rename", no_argument, NULL, OPT_RENAME},
    {"version", no_argument, NULL, OPT_VERSION},
    {"import-interimap", required_argument, NULL, OPT_IMPORT},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"force", no_argument, NULL, OPT_FORCE},
    {"verify", no_argument, NULL, OPT_VERIFY},
    {"status", no_argument, NULL, OPT_STATUS},
    {"json", no_argument, NULL, OPT_JSON},
    {"restore-from", required_argument, NULL, OPT_RESTORE},
    {NULL, 0, NULL, 0},
};

static const char *const command_names[] = {
    [OPTIONS_SYNC] = "sync",
    [OPTIONS_REPAIR] = "--repair",
    [OPTIONS_DELETE] = "--delete",
    [OPTIONS_RENAME] = "--rename",
    [OPTIONS_VERIFY] = "--verify",
    [OPTIONS_STATUS] = "--status",
};

const char *
options_usage(void)
{
	return "Usage: imapsync [OPTIONS] [MAILBOX...]\n"
	       "  or:  imapsync [OPTIONS] --repair [MAILBOX...]\n"
	       "  or:  imapsync [OPTIONS] --delete MAILBOX...\n"
	       "  or:  imapsync [OPTIONS] --rename SOURCE DEST\n"
	       "  or:  imapsync [OPTIONS] --verify [MAILBOX...]\n"
	       "  or:  imapsync [OPTIONS] --status [--json]\n"
	       "Synchronize two IMAP servers both ways (QRESYNC).\n"
	       "\n"
	       "  --config=FILE      configuration file (relative to\n"
	       "                     $XDG_CONFIG_HOME/imapsync)\n"
	       "  --target=TARGET    local, remote or database (for --delete\n"
	       "                     and --rename; repeatable, comma lists)\n"
	       "  --watch[=SECONDS]  keep running: sync every SECONDS (60)\n"
	       "  --notify           keep running, woken by IMAP NOTIFY (or "
	       "IDLE)\n"
	       "  --dry-run          show what a sync would do, change "
	       "nothing\n"
	       "  --force            go past the safety brake: carry the "
	       "expunges and\n"
	       "                     deletions, or merge two stores on a "
	       "first run\n"
	       "  --restore-from=SIDE  local or remote: what vanished from "
	       "the other\n"
	       "                     side since the last run is copied "
	       "back from SIDE\n"
	       "                     (after the brake); nothing expunged "
	       "on SIDE\n"
	       "  --status           show the database's state (no "
	       "server); --json\n"
	       "                     for scripts\n"
	       "  --import-interimap=DB  start from interimap's database\n"
	       "  -q, --quiet        try to be quiet\n"
	       "  --debug[=WHAT]     trace imap (the traffic; twice:\n"
	       "                     credentials too), sync (the engine's\n"
	       "                     decisions), or both (the default)\n"
	       "  -h, --help         show this help and exit\n"
	       "  -V, --version      show the version and exit\n"
	       "\n"
	       "Options come before MAILBOX arguments.\n"
	       "\n"
	       "Files:\n"
	       "  $XDG_CONFIG_HOME/imapsync/config   the configuration\n"
	       "      (~/.config/imapsync/config)\n"
	       "  $XDG_DATA_HOME/imapsync/HOST.db    the state (the "
	       "database key;\n"
	       "      ~/.local/share/imapsync/; HOST is [remote]'s host,\n"
	       "      localhost for a tunnel)\n"
	       "\n"
	       "Exit status: 0 done, 1 some mailbox failed (the others were "
	       "synced),\n"
	       "  2 usage or configuration error, 3 server or database "
	       "error,\n"
	       "  4 another imapsync holds the database, 5 the safety brake "
	       "stopped\n"
	       "  the run (see --force), 6 --verify found the stores and the "
	       "database\n"
	       "  apart.\n"
	       "\n"
	       "See imapsync(1).\n";
}

const char *
options_usage_hint(void)
{
	return "Usage: imapsync [OPTIONS] [COMMAND] [MAILBOX...]\n"
	       "Try 'imapsync --help' or consult the manpage for more "
	       "information.\n";
}

/* The command from the set of those given (a bit per command). */
static int
set_command(struct options *opts, unsigned seen, const char **error_r)
{
	enum options_command cmd, first = OPTIONS_SYNC;

	for (cmd = OPTIONS_REPAIR; cmd <= OPTIONS_STATUS; cmd++) {
		if ((seen & (1U << cmd)) == 0)
			continue;
		if (first != OPTIONS_SYNC)
			return fail(error_r,
			            "%s and %s cannot be used together",
			            command_names[first], command_names[cmd]);
		first = cmd;
	}
	opts->command = first;
	return 0;
}

/* --target: a comma list; like Perl's split, trailing empty fields are
 * dropped, but an empty value or an empty field elsewhere is an error. */
static int
add_targets(struct options *opts, const char *value, const char **error_r)
{
	const char *p = value, *comma;
	size_t len;

	if (value[0] == '\0')
		return fail(error_r, "invalid target \"\" (local, remote or "
		                     "database expected)");
	for (;;) {
		comma = strchr(p, ',');
		len = comma == NULL ? strlen(p) : (size_t)(comma - p);
		if (len == 0 && strspn(p, ",") == strlen(p))
			return 0;
		if (len == 5 && memcmp(p, "local", 5) == 0)
			opts->targets |= OPTIONS_TARGET_LOCAL;
		else if (len == 6 && memcmp(p, "remote", 6) == 0)
			opts->targets |= OPTIONS_TARGET_REMOTE;
		else if (len == 8 && memcmp(p, "database", 8) == 0)
			opts->targets |= OPTIONS_TARGET_DATABASE;
		else
			return fail(error_r,
			            "invalid target \"%.*s\" (local, remote "
			            "or database expected)",
			            (int)len, p);
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

static int
parse_seconds(const char *s, unsigned *seconds_r)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 7 * 24 * 3600)
		return -1;
	*seconds_r = v;
	return 0;
}

/* A path with a leading "~/" (which the shell leaves alone after "=")
 * rewritten with $HOME into buf; any other path returned as it is. */
static int
expand_home(const char *opt, const char *path, char *buf, size_t size,
            const char **path_r, const char **error_r)
{
	const char *home = getenv("HOME");
	int len;

	if (strncmp(path, "~/", 2) != 0) {
		*path_r = path;
		return 0;
	}
	if (home == NULL || home[0] != '/')
		return fail(error_r,
		            "%s: cannot expand \"~/\": $HOME is not an "
		            "absolute directory",
		            opt);
	len = snprintf(buf, size, "%s%s%s", home,
	               home[strlen(home) - 1] == '/' ? "" : "/", path + 2);
	if (len < 0 || (size_t)len >= size)
		return fail(error_r, "%s: path too long", opt);
	*path_r = buf;
	return 0;
}

/* getopt_long takes any unambiguous prefix ("--conf"); Getopt::Long with
 * posix_default takes only the full name, and so do we. */
static bool
is_full_name(const char *arg, const char *name)
{
	size_t len = strlen(name);

	return strncmp(arg, "--", 2) == 0 && strncmp(arg + 2, name, len) == 0 &&
	       (arg[2 + len] == '\0' || arg[2 + len] == '=');
}

/* --debug[=imap,sync]: no value traces both. */
static int
add_debug(struct options *opts, const char *arg, const char **error_r)
{
	const char *p = arg;

	if (arg == NULL) {
		opts->debug++;
		opts->debug_sync = true;
		return 0;
	}
	for (;;) {
		size_t len = strcspn(p, ",");

		if (len == 4 && strncmp(p, "imap", 4) == 0)
			opts->debug++;
		else if (len == 4 && strncmp(p, "sync", 4) == 0)
			opts->debug_sync = true;
		else
			return fail(error_r,
			            "invalid value for --debug: \"%s\" (imap, "
			            "sync or both, comma separated)",
			            arg);
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

/* MAILBOX arguments when one of them had to be encoded: argv's strings
 * and those encoded (mine), for as long as the options are used. */
static struct {
	char **names;
	bool *mine;
	size_t count;
} options_names;

static void
options_names_free(void)
{
	for (size_t i = 0; i < options_names.count; i++) {
		if (options_names.mine[i])
			free(options_names.names[i]);
	}
	free(options_names.names);
	free(options_names.mine);
	memset(&options_names, 0, sizeof(options_names));
}

static bool
is_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return false;
	}
	return true;
}

/* A name with a non-ASCII byte is UTF-8, as the messages show names:
 * replaced by its modified UTF-7 form. An ASCII name is taken as
 * modified UTF-7 already, as interimap does. */
static int
encode_names(struct options *opts, const char **error_r)
{
	size_t n = opts->mailbox_count;
	struct buf *b = buf_create(IMAP_MAX_MAILBOX_NAME + 1);
	const char *error;

	options_names_free();
	options_names.names = xcalloc(n + 1, sizeof(*options_names.names));
	options_names.mine = xcalloc(n + 1, sizeof(*options_names.mine));
	options_names.count = n;
	for (size_t i = 0; i < n; i++) {
		const char *name = opts->mailboxes[i];

		options_names.names[i] = opts->mailboxes[i];
		if (is_ascii(name))
			continue;
		buf_reset(b);
		if (mutf7_encode(name, strlen(name), b, &error) < 0) {
			buf_free(&b);
			return fail(error_r, "invalid mailbox name \"%s\": %s",
			            name, error);
		}
		options_names.names[i] = xstrdup(buf_data(b));
		options_names.mine[i] = true;
	}
	buf_free(&b);
	opts->mailboxes = options_names.names;
	return 0;
}

static int
check_mailboxes(struct options *opts, const char **error_r)
{
	for (size_t i = 0; i < opts->mailbox_count; i++) {
		if (!is_ascii(opts->mailboxes[i])) {
			if (encode_names(opts, error_r) < 0)
				return -1;
			break;
		}
	}
	for (size_t i = 0; i < opts->mailbox_count; i++) {
		char *m = opts->mailboxes[i];

		/* interimap: [\x01-\x7F]+, modified UTF-7 expected (or
		 * UTF-8, encoded above) */
		if (m[0] == '\0')
			return fail(error_r, "invalid mailbox name \"\"");
		/* INBOX is case-insensitive */
		if (strcasecmp(m, "INBOX") == 0)
			memcpy(m, "INBOX", 5);
	}
	return 0;
}

static int
check_combination(struct options *opts, bool target_given, const char **error_r)
{
	const char *name = command_names[opts->command];

	if (opts->command == OPTIONS_DELETE && opts->mailbox_count == 0)
		return fail(error_r, "--delete needs at least one MAILBOX");
	if (opts->command == OPTIONS_RENAME && opts->mailbox_count != 2)
		return fail(error_r, "--rename needs SOURCE and DEST (and "
		                     "options before them)");
	if (opts->command != OPTIONS_SYNC && opts->watch)
		return fail(error_r, "%s cannot be used with %s", name,
		            opts->notify ? "--notify" : "--watch");
	if (target_given && opts->command != OPTIONS_DELETE &&
	    opts->command != OPTIONS_RENAME)
		return fail(error_r, "--target only applies to --delete and "
		                     "--rename");
	if (opts->import_interimap != NULL && opts->command != OPTIONS_SYNC)
		return fail(error_r,
		            "--import-interimap cannot be used with "
		            "%s",
		            name);
	if (opts->dry_run && opts->command != OPTIONS_SYNC &&
	    opts->command != OPTIONS_REPAIR)
		return fail(error_r, "--dry-run cannot be used with %s", name);
	if (opts->json && opts->command != OPTIONS_STATUS)
		return fail(error_r, "--json only applies to --status");
	if (opts->command == OPTIONS_STATUS && opts->mailbox_count > 0)
		return fail(error_r, "--status takes no MAILBOX");
	if (opts->command == OPTIONS_STATUS && (opts->force || opts->dry_run))
		return fail(error_r, "--status cannot be used with %s",
		            opts->force ? "--force" : "--dry-run");
	if (opts->restore && opts->command != OPTIONS_SYNC)
		return fail(error_r, "--restore-from cannot be used with %s",
		            name);
	if (opts->restore && opts->watch)
		return fail(error_r, "--restore-from cannot be used with %s",
		            opts->notify ? "--notify" : "--watch");
	if (opts->restore && opts->force)
		return fail(error_r, "--restore-from and --force cannot be "
		                     "used together: one copies back what "
		                     "vanished, the other expunges it");
	if (opts->restore && opts->import_interimap != NULL)
		return fail(error_r, "--restore-from cannot be used with "
		                     "--import-interimap");
	if (opts->dry_run && opts->watch)
		return fail(error_r, "--dry-run cannot be used with %s",
		            opts->notify ? "--notify" : "--watch");
	return 0;
}

int
options_parse(int argc, char **argv, struct options *opts_r,
              const char **error_r)
{
	struct options *opts = opts_r;
	bool target_given = false, watch_seen = false;
	unsigned watch = 0, seen = 0;
	int c, index, before;

	memset(opts, 0, sizeof(*opts));
	opts->targets = OPTIONS_TARGET_ALL;
	/* glibc: 0 reinitialises getopt fully, so we may be called again */
	optind = 0;
	opterr = 0;
	for (;;) {
		before = optind == 0 ? 1 : optind;
		index = -1;
		c = getopt_long(argc, argv, "+:qhV", long_options, &index);
		if (c == -1)
			break;
		if (index >= 0 && c != '?' && c != ':' &&
		    !is_full_name(argv[before], long_options[index].name))
			return fail(error_r, "unrecognized option '%.*s'",
			            (int)strcspn(argv[before], "="),
			            argv[before]);
		switch (c) {
		case 'q':
			opts->quiet = true;
			break;
		case 'h':
			opts->help = true;
			break;
		case OPT_CONFIG:
			if (expand_home("--config", optarg, options_config_path,
			                sizeof(options_config_path),
			                &opts->config, error_r) < 0)
				return -1;
			break;
		case OPT_TARGET:
			if (!target_given)
				opts->targets = 0;
			target_given = true;
			if (add_targets(opts, optarg, error_r) < 0)
				return -1;
			break;
		case OPT_DEBUG:
			if (add_debug(opts, optarg, error_r) < 0)
				return -1;
			break;
		case OPT_WATCH:
			watch_seen = true;
			/* Getopt::Long takes "--watch 30" too */
			if (optarg == NULL && optind < argc &&
			    argv[optind][0] != '\0' &&
			    strspn(argv[optind], "0123456789") ==
			        strlen(argv[optind]))
				optarg = argv[optind++];
			if (optarg != NULL && optarg[0] != '\0' &&
			    parse_seconds(optarg, &watch) < 0)
				return fail(error_r,
				            "invalid value for --watch: \"%s\" "
				            "(seconds expected)",
				            optarg);
			break;
		case OPT_NOTIFY:
			opts->notify = true;
			break;
		case OPT_REPAIR:
			seen |= 1U << OPTIONS_REPAIR;
			break;
		case OPT_DELETE:
			seen |= 1U << OPTIONS_DELETE;
			break;
		case OPT_RENAME:
			seen |= 1U << OPTIONS_RENAME;
			break;
		case OPT_VERIFY:
			seen |= 1U << OPTIONS_VERIFY;
			break;
		case 'V':
		case OPT_VERSION:
			opts->version = true;
			break;
		case OPT_IMPORT:
			if (optarg[0] == '\0')
				return fail(error_r, "--import-interimap needs "
				                     "the path of interimap's "
				                     "database");
			if (expand_home("--import-interimap", optarg,
			                options_import_path,
			                sizeof(options_import_path),
			                &opts->import_interimap, error_r) < 0)
				return -1;
			break;
		case OPT_DRY_RUN:
			opts->dry_run = true;
			break;
		case OPT_FORCE:
			opts->force = true;
			break;
		case OPT_STATUS:
			seen |= 1U << OPTIONS_STATUS;
			break;
		case OPT_JSON:
			opts->json = true;
			break;
		case OPT_RESTORE:
			opts->restore = true;
			if (strcmp(optarg, "local") == 0)
				opts->restore_from = SIDE_LOCAL;
			else if (strcmp(optarg, "remote") == 0)
				opts->restore_from = SIDE_REMOTE;
			else
				return fail(error_r,
				            "invalid value for --restore-from: "
				            "\"%s\" (local or remote expected)",
				            optarg);
			break;
		case ':':
			return fail(error_r, "option '%s' needs a value",
			            argv[optind - 1]);
		case '?':
		default:
			if (optopt != 0 && strncmp(argv[before], "--", 2) != 0)
				return fail(error_r, "unknown option '-%c'",
				            optopt);
			if (optopt != 0)
				return fail(error_r,
				            "option '%.*s' takes no value",
				            (int)strcspn(argv[before], "="),
				            argv[before]);
			return fail(error_r, "unrecognized option '%.*s'",
			            (int)strcspn(argv[before], "="),
			            argv[before]);
		}
	}
	opts->mailboxes = argv + optind;
	opts->mailbox_count = argc - optind;
	opts->watch = watch_seen || opts->notify;
	if (opts->watch)
		opts->watch_seconds = watch != 0     ? watch
		                      : opts->notify ? 900
		                                     : 60;
	/* interimap answers --help and --version before anything else */
	if (opts->help || opts->version)
		return 0;
	if (set_command(opts, seen, error_r) < 0)
		return -1;
	if (check_combination(opts, target_given, error_r) < 0)
		return -1;
	return check_mailboxes(opts, error_r);
}
