/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "summary.h"
#include "sync.h"

/* The summary line of run, its time as run for the milliseconds ago
 * (static; the logfile's date left out). */
static const char *
summary_of(const struct sync_run *run, int64_t ago)
{
	static char line[1024];
	char path[] = "/tmp/test-summary-XXXXXX";
	struct log_settings set = {.logfile = path};
	const char *error, *p;
	FILE *f;
	int fd;

	line[0] = '\0';
	fd = mkstemp(path);
	if (fd < 0)
		return "(no file)";
	close(fd);
	if (log_init(&set, &error) < 0) {
		unlink(path);
		return "(no log)";
	}
	summary_log(run, summary_clock() - ago);
	log_deinit();
	f = fopen(path, "r");
	unlink(path);
	if (f == NULL)
		return "(no file)";
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	/* "2026-03-01 14:05:09.123+0100 " */
	p = strchr(line, ' ');
	p = p != NULL ? strchr(p + 1, ' ') : NULL;
	return p != NULL ? p + 1 : line;
}

TEST(nothing)
{
	struct sync_run run;

	memset(&run, 0, sizeof(run));
	CHECK_STREQ(summary_of(&run, 61200),
	            "Done in 1 min 1 s; nothing changed");
	CHECK(!summary_any(&run));
	run.set.dry_run = true;
	CHECK_STREQ(summary_of(&run, 3 * 3600000 + 20 * 60000 + 500),
	            "Dry run done in 3 h 20 min; nothing would change");
}

TEST(counts_each_side)
{
	struct sync_run run;

	memset(&run, 0, sizeof(run));
	run.tally.added[SIDE_LOCAL] = 1;
	run.tally.flagged[SIDE_LOCAL] = 2;
	run.tally.created[SIDE_LOCAL] = 1;
	run.tally.added[SIDE_REMOTE] = 12;
	run.tally.expunged[SIDE_REMOTE] = 1;
	run.tally.moved[SIDE_REMOTE] = 3;
	run.tally.renamed[SIDE_REMOTE] = 2;
	run.tally.deleted[SIDE_REMOTE] = 1;
	CHECK(summary_any(&run));
	CHECK_STREQ(summary_of(&run, 61200),
	            "Done in 1 min 1 s; local: added 1 message, updated flags "
	            "of 2 messages, created 1 mailbox; remote: added 12 "
	            "messages, expunged 1 message, moved 3 messages, renamed "
	            "2 mailboxes, deleted 1 mailbox");
	run.set.dry_run = true;
	CHECK_STREQ(summary_of(&run, 61200),
	            "Dry run done in 1 min 1 s; a sync would, on local: add 1 "
	            "message, update flags of 2 messages, create 1 mailbox; on "
	            "remote: add 12 messages, expunge 1 message, move 3 "
	            "messages, rename 2 mailboxes, delete 1 mailbox");
	/* One side only. */
	memset(&run.tally, 0, sizeof(run.tally));
	run.tally.expunged[SIDE_REMOTE] = 20;
	CHECK_STREQ(summary_of(&run, 61200),
	            "Dry run done in 1 min 1 s; a sync would, on remote: "
	            "expunge 20 messages");
}

TEST(how_it_ended)
{
	struct sync_run run;

	memset(&run, 0, sizeof(run));
	run.mailbox_failures = 1;
	run.tally.added[SIDE_LOCAL] = 2;
	CHECK_STREQ(summary_of(&run, 61200),
	            "Done in 1 min 1 s, 1 mailbox failed; local: added 2 "
	            "messages");
	run.mailbox_failures = 0;
	run.fatal = true;
	CHECK_STREQ(summary_of(&run, 61200),
	            "Stopped after 1 min 1 s; local: added 2 messages");
	memset(&run.tally, 0, sizeof(run.tally));
	run.braked = true;
	CHECK_STREQ(summary_of(&run, 61200),
	            "Stopped by the safety brake after 1 min 1 s; nothing "
	            "changed");
	run.set.dry_run = true;
	CHECK_STREQ(
	    summary_of(&run, 61200),
	    "Dry run done in 1 min 1 s; a sync would stop at the safety "
	    "brake; nothing would change");
}

TEST(quiet)
{
	struct sync_run run;
	char path[] = "/tmp/test-summary-XXXXXX";
	struct log_settings set = {.logfile = path, .quiet = true};
	const char *error;
	FILE *f;
	int fd;

	memset(&run, 0, sizeof(run));
	run.tally.added[SIDE_LOCAL] = 2;
	fd = mkstemp(path);
	if (!CHECK(fd >= 0))
		return;
	close(fd);
	CHECK_INT_EQ(log_init(&set, &error), 0);
	summary_log(&run, summary_clock());
	log_deinit();
	f = fopen(path, "r");
	unlink(path);
	if (!CHECK(f != NULL))
		return;
	CHECK(fgetc(f) == EOF);
	fclose(f);
}

TEST(plural)
{
	CHECK_STREQ(log_plural(0, "message", "messages"), "messages");
	CHECK_STREQ(log_plural(1, "message", "messages"), "message");
	CHECK_STREQ(log_plural(2, "mailbox", "mailboxes"), "mailboxes");
}
