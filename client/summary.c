/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "summary.h"

#include "buf.h"
#include "limits.h"
#include "log.h"
#include "side.h"
#include "sync.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

int64_t
summary_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
summary_any(const struct sync_run *run)
{
	const struct sync_tally *t = &run->tally;
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		if (t->added[s] + t->flagged[s] + t->expunged[s] + t->moved[s] +
		        t->created[s] + t->renamed[s] + t->deleted[s] >
		    0)
			return true;
	}
	return false;
}

/* "1.2 s", "2 min 5 s", "3 h 20 min". */
static void
summary_elapsed(struct buf *out, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (ms < 60 * 1000)
		buf_printf_fit(out, "%.1f s", (double)ms / 1000);
	else if (ms < 3600 * 1000)
		buf_printf_fit(out, "%d min %d s", (int)(ms / 60000),
		               (int)(ms / 1000 % 60));
	else
		buf_printf_fit(out, "%d h %d min", (int)(ms / 3600000),
		               (int)(ms / 60000 % 60));
}

/* One count of a side's list, in the run's tense: ", moved 2 messages". */
static void
summary_item(struct buf *out, bool dry, bool *first, const char *done,
             const char *would, uint64_t n, const char *one, const char *many)
{
	if (n == 0)
		return;
	buf_printf_fit(out, "%s%s %" PRIu64 " %s", *first ? "" : ", ",
	               dry ? would : done, n, log_plural(n, one, many));
	*first = false;
}

void
summary_log(const struct sync_run *run, int64_t started)
{
	const struct sync_tally *t = &run->tally;
	bool dry = run->set.dry_run;
	struct buf *b = buf_create(LOG_MAX_LINE);
	bool any_side = false;
	unsigned s;

	if (run->braked && !dry)
		buf_printf_fit(b, "%s", "Stopped by the safety brake after ");
	else if ((run->fatal && !run->braked) || sync_stopping(run))
		buf_printf_fit(
		    b, "%s", dry ? "Dry run stopped after " : "Stopped after ");
	else
		buf_printf_fit(b, "%s", dry ? "Dry run done in " : "Done in ");
	summary_elapsed(b, summary_clock() - started);
	if (run->braked && dry)
		buf_printf_fit(b, "%s",
		               "; a sync would stop at the safety brake");
	if (run->mailbox_failures > 0)
		buf_printf_fit(
		    b, ", %u %s failed", run->mailbox_failures,
		    log_plural(run->mailbox_failures, "mailbox", "mailboxes"));
	if (!summary_any(run)) {
		buf_printf_fit(b, "%s",
		               dry ? "; nothing would change"
		                   : "; nothing changed");
		goto out;
	}
	if (dry)
		buf_printf_fit(b, "%s", "; a sync would");
	for (s = 0; s < SIDE_COUNT; s++) {
		bool first = true;

		if (t->added[s] + t->flagged[s] + t->expunged[s] + t->moved[s] +
		        t->created[s] + t->renamed[s] + t->deleted[s] ==
		    0)
			continue;
		buf_printf_fit(b, "%s%s%s: ", dry && !any_side ? ", " : "; ",
		               dry ? "on " : "", side_name(s));
		any_side = true;
		summary_item(b, dry, &first, "added", "add", t->added[s],
		             "message", "messages");
		summary_item(b, dry, &first, "updated flags of",
		             "update flags of", t->flagged[s], "message",
		             "messages");
		summary_item(b, dry, &first, "expunged", "expunge",
		             t->expunged[s], "message", "messages");
		summary_item(b, dry, &first, "moved", "move", t->moved[s],
		             "message", "messages");
		summary_item(b, dry, &first, "created", "create", t->created[s],
		             "mailbox", "mailboxes");
		summary_item(b, dry, &first, "renamed", "rename", t->renamed[s],
		             "mailbox", "mailboxes");
		summary_item(b, dry, &first, "deleted", "delete", t->deleted[s],
		             "mailbox", "mailboxes");
	}
out:
	log_info(NULL, NULL, "%s", buf_data(b));
	buf_free(&b);
}
