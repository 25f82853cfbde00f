/* SPDX-License-Identifier: GPL-3.0-or-later */
/* imapsync: keep two IMAP servers in step, both ways. */
#include "config.h"
#include "log.h"
#include "mailboxes.h"
#include "options.h"
#include "progress.h"
#include "server.h"
#include "state.h"
#include "status.h"
#include "summary.h"
#include "sync.h"
#include "watch.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sys/prctl.h>

#ifndef IMAPSYNC_VERSION
#define IMAPSYNC_VERSION "0.1"
#endif

static int
run_command(struct sync_run *run, const struct options *opts)
{
	switch (opts->command) {
	case OPTIONS_SYNC:
		/* A restore compares every message, as --repair does. */
		return mailboxes_sync(run, opts->mailboxes, opts->mailbox_count,
		                      opts->restore);
	case OPTIONS_DELETE:
		return mailboxes_delete(run, opts->mailboxes,
		                        opts->mailbox_count, opts->targets);
	case OPTIONS_RENAME:
		return mailboxes_rename(run, opts->mailboxes[0],
		                        opts->mailboxes[1], opts->targets);
	case OPTIONS_REPAIR:
	case OPTIONS_VERIFY:
		return mailboxes_sync(run, opts->mailboxes, opts->mailbox_count,
		                      true);
	case OPTIONS_STATUS:
		break; /* main() answers it without a server */
	}
	return -1;
}

/* "UIDVALIDITY changed on both sides" with the default database is most
 * often a second account's config run against the first one's state:
 * every tunnel's default is localhost.db. Say so. */
static void
hint_shared_database(const struct config *config, const char *dbpath)
{
	if (config->database != NULL ||
	    strstr(log_last_error(), "UIDVALIDITY changed on both sides") ==
	        NULL)
		return;
	log_warn("database", NULL,
	         "%s is the default database of every configuration with "
	         "the same [remote] host (every tunnel's is localhost.db): "
	         "if this configuration is a second account, give it its "
	         "own with `database = NAME.db` in the default section",
	         dbpath);
}

int
main(int argc, char **argv)
{
	struct options opts;
	struct config *config = NULL;
	struct sync_run run;
	struct log_settings logset;
	char *path = NULL, *dbpath = NULL;
	const char *error;
	size_t i;
	int ret, status = IMAPSYNC_EXIT_OK;
	int64_t started = summary_clock();

	/* No core dump, no ptrace by the same user: the process holds the
	 * passwords until they are sent, and mail all along. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	memset(&run, 0, sizeof(run));
	if (options_parse(argc, argv, &opts, &error) < 0) {
		log_early(false, "%s", error);
		fputs(options_usage_hint(), stderr);
		return IMAPSYNC_EXIT_USAGE;
	}
	if (opts.help) {
		fputs(options_usage(), stdout);
		return IMAPSYNC_EXIT_OK;
	}
	if (opts.version) {
		printf("imapsync %s\n", IMAPSYNC_VERSION);
		return IMAPSYNC_EXIT_OK;
	}
	if (sodium_init() < 0) {
		log_early(false, "cannot initialise libsodium");
		return IMAPSYNC_EXIT_SERVER;
	}
	/* A tunnel that dies must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);

	if (config_resolve_path(opts.config, &path, &error) < 0 ||
	    config_load(path, &config, &error) < 0 ||
	    config_check_supported(config, &error) < 0) {
		log_early(false, "%s", error);
		status = IMAPSYNC_EXIT_USAGE;
		goto out;
	}
	for (i = 0; i < config->warning_count; i++)
		log_early(true, "%s", config->warnings[i]);
	memset(&logset, 0, sizeof(logset));
	/* A dry run is read on the terminal, and writes no file. */
	logset.logfile = opts.dry_run ? NULL : config->logfile;
	logset.prefix_fmt = config->log_prefix;
	logset.quiet = opts.quiet;
	logset.debug = (int)opts.debug;
	logset.debug_sync = opts.debug_sync;
	if (log_init(&logset, &error) < 0) {
		log_early(false, "%s", error);
		status = IMAPSYNC_EXIT_USAGE;
		goto out;
	}
	if (config_database_path(config, &dbpath, &error) < 0 ||
	    config_database_check(dbpath, &error) < 0) {
		log_error(NULL, NULL, "%s", error);
		status = IMAPSYNC_EXIT_USAGE;
		goto out;
	}
	if (opts.command == OPTIONS_STATUS) {
		status = status_show(dbpath, opts.json, stdout);
		goto out;
	}
	/* A dry run works on a copy in memory: it decides as the real run
	 * would, database changes included, and writes nothing. */
	ret = opts.dry_run || opts.command == OPTIONS_VERIFY
	          ? state_open_dry(dbpath, &run.state, &error)
	          : state_open(dbpath, &run.state, &error);
	if (ret < 0) {
		log_error("database", NULL, "%s", error);
		status = ret == STATE_LOCKED ? IMAPSYNC_EXIT_LOCKED
		                             : IMAPSYNC_EXIT_SERVER;
		goto out;
	}
	if (opts.import_interimap != NULL) {
		uint64_t pairs;

		if (state_import_interimap(run.state, opts.import_interimap,
		                           &pairs, &error) < 0) {
			log_error("database", NULL, "%s", error);
			status = IMAPSYNC_EXIT_USAGE;
			goto out;
		}
		log_info("database", NULL, "%s interimap's %s: %" PRIu64 " %s",
		         opts.dry_run ? "would import" : "Imported",
		         opts.import_interimap, pairs,
		         log_plural(pairs, "pair", "pairs"));
	}
	run.config = config;
	/* --verify changes nothing: what a sync would do is only said. */
	run.set.verify = opts.command == OPTIONS_VERIFY;
	run.set.dry_run = opts.dry_run || run.set.verify;
	run.set.force = opts.force;
	run.set.restore = opts.restore;
	run.set.restore_from = opts.restore_from;
	/* A first run may merge two non-empty sides when the database
	 * comes from interimap's, or when it changes nothing. */
	run.set.merge_ok = opts.import_interimap != NULL || run.set.verify;
	if (opts.watch) {
		status = watch_run(&run, &opts, path, &config);
		goto out;
	}
	ret = server_connect(&run, config, (int)opts.debug);
	/* One connection per run: the secrets are of no more use. */
	config_forget_secrets(config);
	if (ret < 0) {
		status = IMAPSYNC_EXIT_SERVER;
		goto out;
	}
	progress_start();
	if (run_command(&run, &opts) < 0 || run.fatal)
		status =
		    run.braked ? IMAPSYNC_EXIT_BRAKE : IMAPSYNC_EXIT_SERVER;
	else if (run.mailbox_failures > 0)
		status = IMAPSYNC_EXIT_PARTIAL;
	else if (run.set.verify)
		status = sync_verify_report(&run) ? IMAPSYNC_EXIT_OK
		                                  : IMAPSYNC_EXIT_DIFFER;
	if (status != IMAPSYNC_EXIT_OK)
		hint_shared_database(config, dbpath);
	server_log_stats(&run);
	/* --verify said its own summary. */
	if (!run.set.verify)
		summary_log(&run, started);
out:
	server_disconnect(&run);
	/* The first-run brake leaves no database behind (this run's). */
	if (run.braked_merge && run.state != NULL &&
	    state_found_version(run.state) == 0)
		state_discard(&run.state);
	state_close(&run.state);
	log_deinit();
	config_free(&config);
	free(dbpath);
	free(path);
	return status;
}
