/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The command line, parsed as interimap parses its own (Getopt::Long with
 * posix_default and bundling): options come before the first MAILBOX
 * (a later "--debug" is a mailbox name), long options are never
 * abbreviated, and one command at most. No I/O: the caller prints. */
#ifndef CLIENT_OPTIONS_H
#define CLIENT_OPTIONS_H

#include "side.h"

#include <stdbool.h>
#include <stddef.h>

/* The exit status of imapsync (documented in the man page). */
enum imapsync_exit {
	IMAPSYNC_EXIT_OK = 0,
	/* Some mailbox failed; the others were synchronized. */
	IMAPSYNC_EXIT_PARTIAL = 1,
	/* Bad command line or configuration file. */
	IMAPSYNC_EXIT_USAGE = 2,
	/* A server could not be reached or broke the protocol. */
	IMAPSYNC_EXIT_SERVER = 3,
	/* Another imapsync holds the lock of the state database. */
	IMAPSYNC_EXIT_LOCKED = 4,
	/* The safety brake stopped the run before it changed anything. */
	IMAPSYNC_EXIT_BRAKE = 5,
	/* --verify found the stores and the database apart. */
	IMAPSYNC_EXIT_DIFFER = 6,
};

enum options_command {
	OPTIONS_SYNC,   /* the default */
	OPTIONS_REPAIR, /* --repair [MAILBOX...] */
	OPTIONS_DELETE, /* --delete MAILBOX... */
	OPTIONS_RENAME, /* --rename SOURCE DEST */
	OPTIONS_VERIFY, /* --verify [MAILBOX...] */
	OPTIONS_STATUS, /* --status: the database's view, no server */
};

/* --target bits. */
#define OPTIONS_TARGET_LOCAL 0x1
#define OPTIONS_TARGET_REMOTE 0x2
#define OPTIONS_TARGET_DATABASE 0x4
#define OPTIONS_TARGET_ALL 0x7

struct options {
	enum options_command command;
	unsigned targets;       /* OPTIONS_TARGET_ALL unless --target */
	const char *config;     /* --config, NULL for the default */
	bool watch;             /* --watch or --notify */
	unsigned watch_seconds; /* 60, or 900 with --notify */
	bool notify;
	bool quiet;
	unsigned debug;  /* how many --debug or --debug=imap: the wire */
	bool debug_sync; /* --debug or --debug=sync: the engine's decisions */
	bool help;      /* --help: print options_usage(), exit 0 */
	bool version;   /* --version: print the version, exit 0 */
	/* --import-interimap=PATH: start from interimap's database. */
	const char *import_interimap;
	bool dry_run; /* --dry-run: say what would be done, do nothing */
	bool force;   /* --force: past the safety brake */
	bool json;    /* --json: --status for scripts */
	/* --restore-from=SIDE: what vanished from the other side since the
	 * last run is lost there, not deleted: copied back from
	 * restore_from. */
	bool restore;
	enum side restore_from;
	/* MAILBOX arguments: argv's own strings ("inbox" in any case is
	 * rewritten in place to "INBOX", as interimap does). */
	char **mailboxes;
	size_t mailbox_count;
};

/* Fill *opts_r from argv (argv's strings may be modified). -1 with
 * *error_r (a static string) on a usage error; the caller prints it with
 * options_usage_hint() and exits with IMAPSYNC_EXIT_USAGE. */
int options_parse(int argc, char **argv, struct options *opts_r,
                  const char **error_r);

/* The --help text (static). */
const char *options_usage(void);
/* The two lines printed after a usage error (static). */
const char *options_usage_hint(void);

#endif
