/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The messages of the mailboxes that changed, both ways (after
 * interimap's algorithm, restructured so that both servers work at once,
 * all mailboxes move together, and no step waits on a per-message or
 * per-mailbox round trip).
 *
 * Each step is one flight of pipelined commands on both connections,
 * for every mailbox at once (a SELECT before each mailbox's commands):
 *
 *   SELECT  SELECT (QRESYNC ...) on both sides: the server lists what
 *           vanished and which flags changed since the stored
 *           HIGHESTMODSEQ; the stored UIDNEXT tells which UIDs are new.
 *   MATCH   where both sides have new messages, or one side has new and
 *           vanished ones (a move), their sizes, then the keys (size,
 *           date, Message-ID) of those whose size is on the other side:
 *           the same message on both sides is paired, not copied twice
 *           (a first sync of two full stores, a killed run).
 *   APPLY   SELECT (QRESYNC (uidvalidity m)), m the HIGHESTMODSEQ of the
 *           first SELECT; vanished messages are expunged on the other
 *           side; flag changes stored with UNCHANGEDSINCE, one STORE per
 *           distinct flag list; new messages fetched and streamed into
 *           MULTIAPPEND on the other side, into its selected mailbox,
 *           with the intent recorded first (sync-copy.c).
 *   CHECK   what changed since m, ours and others'. The APPLY selection
 *           reports it in band; a side whose count of messages does not
 *           add up, or that the server gave no HIGHESTMODSEQ for after an
 *           APPEND, is selected again with QRESYNC from m. What the sync
 *           did itself is recognised; anything else (a message delivered
 *           meanwhile, a flag set by a mail client) makes the mailbox go
 *           through APPLY and CHECK again.
 *
 * --dry-run goes through the same steps, every decision included, on a
 * copy of the database in memory (state_open_dry()) and with EXAMINE:
 * SELECT, MATCH and the moves read as in a run, the brake brakes; at
 * APPLY each part says what it would send ("would ...") instead of
 * sending it, the copies after asking which new messages are there, and
 * the run ends there. sync_cmd() refuses a command that writes.
 *
 * UIDNEXT and HIGHESTMODSEQ are stored last, only after a CHECK saw
 * nothing foreign, in the transaction that closes the mailbox; the
 * mapping rows are written as each APPEND or EXPUNGE completes.
 *
 * A run killed with APPENDs in flight leaves their copies on the target
 * (or not: MULTIAPPEND is all or nothing) with no mapping rows; the next
 * run finds them on both sides and MATCH pairs them. What it cannot see
 * is a copy the killed run's server session commits only after MATCH
 * looked (that session goes on with the commands it had read): a run
 * started within that moment would copy the message again. */
#include "sync.h"

#include "sync-private.h"
#include "buf.h"
#include "config.h"
#include "flagmap.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "limits.h"
#include "log.h"
#include "mutf7.h"
#include "state.h"
#include "uidset.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

void
sync_fail(struct mbox *mb, enum side side, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error(side_name(side), mb->display, "%s", msg);
	mb->failed = true;
}

void
sync_fail_uids(struct mbox_side *ms)
{
	if (ms->mb->failed)
		return;
	sync_fail(ms->mb, ms->side,
	          "more than %zu separate UID ranges to keep track of in one "
	          "set (IMAP_MAX_UIDSET_RANGES): this mailbox is skipped and "
	          "nothing of it recorded; move part of its messages to "
	          "another mailbox on the %s server",
	          uidset_max_ranges, side_name(ms->side));
}

int
sync_uids_add(struct mbox_side *ms, struct uidset *set, uint32_t lo,
              uint32_t hi)
{
	if (uidset_add_range(set, lo, hi) < 0) {
		sync_fail_uids(ms);
		return -1;
	}
	return 0;
}

/* A database failure is fatal for the run: the state can no longer be
 * trusted to describe what was done. */
void
sync_db_fail(struct mbox *mb, const char *error)
{
	log_error("database", mb->display, "%s", error);
	mb->failed = true;
	mb->run->fatal = true;
}

bool
sync_stopping(const struct sync_run *run)
{
	return run->stop != NULL && *run->stop != 0;
}

void
sync_rollback(struct state *st)
{
	const char *error;

	(void)state_rollback(st, &error);
}

/* Commands in flight on both connections. */
static size_t
sync_in_flight(const struct sync_run *run)
{
	return imap_conn_in_flight(run->server[SIDE_LOCAL].conn) +
	       imap_conn_in_flight(run->server[SIDE_REMOTE].conn);
}

static bool
sync_wait_done(void *ctx)
{
	struct sync_run *run = ctx;

	/* Asked to stop: what is left in flight only reads (or changes
	 * what the next run finds changed anyway), so hang up. */
	return (sync_stopping(run) && run->appends_in_flight == 0) ||
	       sync_in_flight(run) == 0;
}

/* Why the connection of side s failed ("remote: ..."), with the mailbox
 * it was working in when there was one. */
static void
sync_log_conn_error(struct sync_run *run, enum side s, int timeout_ms)
{
	struct sync_server *srv = &run->server[s];
	const char *err = imap_conn_error(srv->conn), *what;
	const char *in = srv->lost_in != NULL ? srv->lost_in : "";

	if (err[0] == '\0') {
		/* Only silence ends a wait without an error. */
		what = imap_conn_waiting_for(srv->conn);
		if (what != NULL)
			log_error(NULL, NULL,
			          "%s: the server sent nothing for %d s while "
			          "asked %s%s%s%s",
			          side_name(s), timeout_ms / 1000, what,
			          in[0] != '\0' ? " (mailbox " : "", in,
			          in[0] != '\0' ? ")" : "");
		return;
	}
	log_error(NULL, NULL, "%s%s%s%s", err,
	          in[0] != '\0' ? " (mailbox " : "", in,
	          in[0] != '\0' ? ")" : "");
}

int
sync_run_wait(struct sync_run *run)
{
	struct imap_conn *conns[SIDE_COUNT] = {
	    run->server[SIDE_LOCAL].conn,
	    run->server[SIDE_REMOTE].conn,
	};
	int timeout_ms = (int)run->config->timeout * 1000;
	bool failed;
	size_t i;

	if (run->fatal)
		return -1;
	/* Each connection's oldest command has timeout_ms to be answered
	 * (imap_conn_set_answer_timeout()); silence beyond twice that is
	 * only a backstop. */
	if (imap_conn_run(conns, SIDE_COUNT, sync_wait_done, run,
	                  2 * timeout_ms) == 0) {
		if (sync_in_flight(run) == 0)
			return 0;
		/* Stopped with commands in flight: the connections go
		 * (sync_messages frees them), their answers unread. */
		log_info(
		    NULL, NULL, "stopping: leaving %zu %s unanswered",
		    sync_in_flight(run),
		    log_plural(sync_in_flight(run), "command", "commands"));
		run->fatal = true;
		return -1;
	}
	/* A side that failed says why; the other, still waiting for an
	 * answer then, was not silent: it was cut off. */
	failed = false;
	for (i = 0; i < SIDE_COUNT; i++)
		failed |= imap_conn_error(conns[i])[0] != '\0';
	for (i = 0; i < SIDE_COUNT; i++) {
		if (!failed || imap_conn_error(conns[i])[0] != '\0')
			sync_log_conn_error(run, i, 2 * timeout_ms);
	}
	run->fatal = true;
	return -1;
}

/* "1:3,5" for messages; static storage, one at a time per buffer. */
const char *
sync_uids_str(const struct uidset *set, struct buf *b)
{
	buf_reset(b);
	if (uidset_format(set, b) < 0)
		return "(too many)";
	return buf_data(b);
}

/* --- The flights after SELECT -------------------------------------------- */

/* The one place a mailbox's phase changes, traced with what it has to
 * do. */
static void
mbox_set_phase(struct mbox *mb, const struct sync_phase *phase)
{
	if (log_sync_tracing())
		sync_trace_phase(mb, mb->phase, phase);
	mb->phase = phase;
}

static bool
mbox_has_work(struct mbox *mb)
{
	unsigned s;

	size_t i;

	for (s = 0; s < SIDE_COUNT; s++) {
		if (mb->s[s].vanished.n > 0 || mb->s[s].modified.count > 0 ||
		    mb->s[s].carry.count > 0 || mb->s[s].fresh.n > 0)
			return true;
		for (i = 0; i < mb->s[s].move.count; i++) {
			if (!mb->s[s].move.list[i].queued)
				return true;
		}
	}
	return false;
}

/* Store where the mailbox stands. exact: a CHECK saw nothing foreign, so
 * everything up to the UIDNEXT and HIGHESTMODSEQ it reported is in step;
 * else only what the first SELECT reported is. */
static void
mbox_commit(struct mbox *mb, bool exact)
{
	struct state *st = mb->run->state;
	struct flagmap_entry *e;
	uint64_t hms[SIDE_COUNT];
	uint32_t committed_uidnext[SIDE_COUNT];
	const char *error;
	size_t pos = 0;
	unsigned s;

	if (state_begin(st, &error) < 0)
		goto db_error;
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];
		struct state_side_status row = {
		    .uidvalidity = ms->uidvalidity,
		    .uidnext = ms->uidnext,
		    .highestmodseq = ms->hms,
		};

		if (exact) {
			if (ms->round.max_uid >= row.uidnext)
				row.uidnext = ms->round.max_uid + 1;
			if (ms->round.uidnext_seen > row.uidnext)
				row.uidnext = ms->round.uidnext_seen;
			if (ms->round.max_modseq > row.highestmodseq)
				row.highestmodseq = ms->round.max_modseq;
			if (ms->round.hms_seen > row.highestmodseq)
				row.highestmodseq = ms->round.hms_seen;
		}
		if (state_status_set(st, mb->idx, ms->side, &row, &error) < 0) {
			sync_rollback(st);
			goto db_error;
		}
		hms[s] = row.highestmodseq;
		committed_uidnext[s] = row.uidnext;
	}
	/* The flags the pairs agree on, with the numbers that cover the
	 * changes that made them: a run killed before has both sides
	 * report them again, and the same change on both is no
	 * conflict. The mark says that these numbers are imapsync's. */
	while ((e = flagmap_next(&mb->synced, &pos)) != NULL) {
		if (state_mapping_set_base(st, mb->idx, e->uid, e->flags,
		                           &error) < 0) {
			sync_rollback(st);
			goto db_error;
		}
	}
	if (state_base_mark(st, mb->idx, hms[SIDE_LOCAL], hms[SIDE_REMOTE],
	                    &error) < 0) {
		sync_rollback(st);
		goto db_error;
	}
	/* In step, unless rounds ran out with work left (--status). */
	if (!mb->foreign && !mbox_has_work(mb) &&
	    state_synced_set(st, mb->idx, (int64_t)time(NULL), &error) < 0) {
		sync_rollback(st);
		goto db_error;
	}
	if (state_commit(st, &error) < 0)
		goto db_error;
	if (log_sync_tracing()) {
		uint64_t pairs = 0;

		(void)state_mapping_count(st, mb->idx, &pairs, &error);
		sync_trace(mb, -1,
		           "committed (%s): local UIDVALIDITY %" PRIu32
		           " UIDNEXT %" PRIu32 " HIGHESTMODSEQ %" PRIu64
		           ", remote UIDVALIDITY %" PRIu32 " UIDNEXT %" PRIu32
		           " HIGHESTMODSEQ %" PRIu64 "; %" PRIu64 " %s, "
		           "%zu synced flag %s written%s",
		           exact ? "as the last CHECK saw it"
		                 : "as the first SELECT said",
		           mb->s[SIDE_LOCAL].uidvalidity, committed_uidnext[0],
		           hms[SIDE_LOCAL], mb->s[SIDE_REMOTE].uidvalidity,
		           committed_uidnext[1], hms[SIDE_REMOTE], pairs,
		           log_plural(pairs, "pair", "pairs"), mb->synced.count,
		           log_plural(mb->synced.count, "base", "bases"),
		           !mb->foreign && !mbox_has_work(mb)
		               ? ", in step"
		               : ", work left for the next run");
	}
	flagmap_clear(&mb->synced);
	sync_step("mailbox committed");
	return;
db_error:
	sync_db_fail(mb, error);
}

/* A batch: the transactions of a flight's or a loop's mailboxes made
 * parts of one (state_batch_begin()), synced once instead of once a
 * mailbox. sync_batch_open() begins it at the first part;
 * sync_batch_close() commits it (keep) or undoes it: 1 if it committed
 * one, 0 if none was open. A database error there ends the run. */
static bool
sync_batch_open(struct sync_run *run, bool *batch)
{
	const char *error;

	if (*batch)
		return true;
	if (state_batch_begin(run->state, &error) < 0) {
		log_error("database", NULL, "%s", error);
		run->fatal = true;
		return false;
	}
	*batch = true;
	return true;
}

static int
sync_batch_close(struct sync_run *run, bool *batch, bool keep)
{
	const char *error;

	if (!*batch)
		return 0;
	*batch = false;
	if (state_batch_end(run->state, keep, &error) < 0) {
		log_error("database", NULL, "%s", error);
		run->fatal = true;
		return -1;
	}
	return keep ? 1 : 0;
}

/* The mailboxes one loop of the driver finishes: their numbers in one
 * batch (the same few pages, written once). A kill before its end loses
 * them all, as a kill before the first would. */
static void
mbox_commit_part(struct mbox *mb, bool exact, bool *batch)
{
	if (sync_batch_open(mb->run, batch))
		mbox_commit(mb, exact);
}

static void
mbox_commit_end(struct sync_run *run, bool *batch)
{
	if (sync_batch_close(run, batch, true) > 0)
		sync_step("mailboxes committed");
}

/* The steps, in the order a mailbox goes through them: SELECT, SCAN
 * (only a mailbox compared in full), SIZES and MATCH, then APPLY and
 * CHECK in rounds (sync_rounds()). Their parts of each side are made and
 * freed from here. */
static const struct sync_phase *const sync_phases[] = {
    &sync_phase_select, &sync_phase_scan,  &sync_phase_sizes,
    &sync_phase_match,  &sync_phase_apply, &sync_phase_check,
};
#define SYNC_PHASES (sizeof(sync_phases) / sizeof(sync_phases[0]))

static void
mbox_free(struct mbox *mb)
{
	unsigned s;
	size_t p;

	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];
		struct sync_server *srv = &mb->run->server[s];

		free(ms->wire);
		uidset_free(&ms->vanished);
		uidset_free(&ms->fresh);
		uidset_free(&ms->found);
		uidset_free(&ms->undelete);
		flagmap_free(&ms->modified);
		flagmap_free(&ms->carry);
		for (p = 0; p < SYNC_PHASES; p++) {
			if (sync_phases[p]->side_free != NULL)
				sync_phases[p]->side_free(ms);
		}
		sync_held_discard(ms);
		if (srv->selected == ms)
			srv->selected = NULL;
	}
	flagmap_free(&mb->settling);
	flagmap_free(&mb->synced);
	free(mb->display);
}

static int
mbox_init(struct mbox *mb, struct sync_run *run, const struct sync_target *t)
{
	const char *error;
	unsigned s;
	size_t p;

	mb->run = run;
	mb->phase = &sync_phase_select;
	mb->idx = t->idx;
	mb->name = t->name;
	mb->len = t->len;
	flagmap_init(&mb->settling);
	flagmap_init(&mb->synced);
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];

		ms->mb = mb;
		ms->side = s;
		uidset_init(&ms->vanished);
		uidset_init(&ms->fresh);
		uidset_init(&ms->found);
		uidset_init(&ms->undelete);
		flagmap_init(&ms->modified);
		flagmap_init(&ms->carry);
		for (p = 0; p < SYNC_PHASES; p++) {
			if (sync_phases[p]->side_init != NULL)
				sync_phases[p]->side_init(ms);
		}
	}
	mb->display = sync_display_name(run, t->name, t->len);
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];
		int ret;

		ms->wire = t->wire[s] != NULL ? xstrdup(t->wire[s])
		                              : sync_wire_name(&run->server[s],
		                                               t->name, t->len);
		ms->absent = t->absent[s];
		if (ms->wire == NULL)
			return -1;
		ret = state_status_get(run->state, t->idx, s, &ms->row, &error);
		if (ret < 0) {
			sync_db_fail(mb, error);
			return -1;
		}
		ms->have_row = ret > 0;
	}
	if (mb->s[SIDE_LOCAL].have_row && mb->s[SIDE_REMOTE].have_row) {
		uint64_t forgotten;

		if (state_base_check(run->state, mb->idx,
		                     mb->s[SIDE_LOCAL].row.highestmodseq,
		                     mb->s[SIDE_REMOTE].row.highestmodseq,
		                     &forgotten, &error) < 0) {
			sync_db_fail(mb, error);
			return -1;
		}
		if (forgotten > 0)
			log_info("database", mb->display,
			         "synced by another program since: the last "
			         "synced flags of its %" PRIu64 " %s "
			         "forgotten (a flag conflict takes the union "
			         "once)",
			         forgotten,
			         log_plural(forgotten, "pair is", "pairs are"));
	}
	mb->active = true;
	return 0;
}

struct intent_list {
	struct state_pending *p;
	size_t count, alloc;
};

static int
intent_collect(void *ctx, const struct state_pending *p)
{
	struct intent_list *l = ctx;

	if (l->count == l->alloc) {
		size_t n = l->alloc == 0 ? 16 : l->alloc * 2;

		l->p = xreallocarray(l->p, n, sizeof(*l->p));
		l->alloc = n;
	}
	l->p[l->count] = *p;
	l->p[l->count].fingerprint = NULL;
	l->count++;
	return 0;
}

/* Intents left by a run that was killed: by now the copies they name are
 * either paired (MATCH found them on both sides) or still fresh and about
 * to be copied again, so they can go. */
static int
mbox_drop_intents(struct mbox *mb)
{
	struct intent_list l = {NULL, 0, 0};
	struct state *st = mb->run->state;
	const char *error = NULL;
	size_t i;

	if (state_pending_foreach(st, mb->idx, intent_collect, &l, &error) != 0)
		goto db_error;
	if (l.count == 0)
		return 0;
	log_info("database", mb->display, "%s %zu interrupted %s",
	         sync_verb(mb->run, "Resuming", "would resume"), l.count,
	         log_plural(l.count, "copy", "copies"));
	if (state_begin(st, &error) < 0)
		goto db_error;
	for (i = 0; i < l.count; i++) {
		if (state_pending_remove(st, mb->idx, l.p[i].from, l.p[i].uid,
		                         &error) < 0) {
			sync_rollback(st);
			goto db_error;
		}
	}
	if (state_commit(st, &error) < 0)
		goto db_error;
	sync_trace(mb, -1,
	           "dropped %zu %s of a stopped run: each is paired "
	           "now or still new, copied again",
	           l.count, log_plural(l.count, "intent", "intents"));
	free(l.p);
	sync_step("intents dropped");
	return 0;
db_error:
	free(l.p);
	sync_db_fail(mb, error);
	return -1;
}

/* A mailbox that failed stops here; one whose steps are over is done. */
static bool
mbox_going(struct mbox *mb)
{
	if (mb->failed)
		mb->active = false;
	return mb->active && !mb->run->fatal;
}

/* Start a step: each mailbox selects again before its commands. */
static void
mbox_step(struct mbox *mb, const struct sync_phase *phase)
{
	unsigned s;

	mbox_set_phase(mb, phase);
	for (s = 0; s < SIDE_COUNT; s++)
		mb->s[s].step_selected = false;
	if (phase->start != NULL)
		phase->start(mb);
}

/* The safety brake (safety-expunge): a side that lost far more of the
 * pairs than usual (a server restored empty, a wrong mail_location)
 * would have the sync expunge them all on the other. Counted once the
 * first SELECT said what vanished and the moves are known (a message
 * moved is not gone), before anything is expunged. */
static int
sync_brake(struct sync_run *run, struct mbox *mbs, size_t n)
{
	uint64_t gone[SIDE_COUNT] = {0, 0};
	unsigned share = run->config->safety_expunge, s;
	const char *error;
	size_t i;

	for (i = 0; i < n; i++) {
		struct mbox *mb = &mbs[i];

		for (s = 0; s < SIDE_COUNT && mbox_going(mb); s++) {
			struct uidset_iter it;
			uint32_t uid, partner;

			uidset_normalize(&mb->s[s].vanished);
			uidset_iter_init(&it, &mb->s[s].vanished);
			while (uidset_iter_next(&it, &uid)) {
				int ret = state_mapping_lookup(
				    run->state, mb->idx, s, uid, &partner,
				    &error);

				if (ret < 0) {
					sync_db_fail(mb, error);
					break;
				}
				gone[s] += (uint64_t)ret;
			}
		}
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		sync_trace(
		    NULL, -1,
		    "brake safety-expunge: %" PRIu64 " of %" PRIu64
		    " %s gone from %s, to expunge on %s; limit %u%% "
		    "(and at least %d): %s",
		    gone[s], run->paired,
		    log_plural(run->paired, "pair", "pairs"), side_name(s),
		    side_name(side_other(s)), share, SYNC_BRAKE_MIN,
		    gone[s] < SYNC_BRAKE_MIN ||
		            gone[s] * 100 <= run->paired * share
		        ? "within"
		    : run->set.force ? "past it, --force goes on"
		                     : "past it, the run stops (exit 5)");
		if (gone[s] < SYNC_BRAKE_MIN ||
		    gone[s] * 100 <= run->paired * share)
			continue;
		if (run->set.force) {
			log_warn(side_name(side_other(s)), NULL,
			         "%s %" PRIu64 " of %" PRIu64
			         " paired messages, past safety-expunge "
			         "(%u%%): --force",
			         sync_verb(run, "expunging", "would expunge"),
			         gone[s], run->paired, share);
			continue;
		}
		if (run->set.dry_run)
			log_error(
			    side_name(side_other(s)), NULL,
			    "%" PRIu64 " of the %" PRIu64 " paired "
			    "messages are gone from %s: the real run "
			    "would stop here (exit 5) rather than expunge "
			    "them here, more than safety-expunge (%u%%) "
			    "allows. If they were deleted on purpose, "
			    "run with --force, which expunges them here "
			    "too. If they were lost there (a server "
			    "restored empty), run with --restore-from=%s, "
			    "which copies them back there from here.",
			    gone[s], run->paired, side_name(s), share,
			    side_name(side_other(s)));
		else
			log_error(
			    side_name(side_other(s)), NULL,
			    "%" PRIu64 " of the %" PRIu64 " paired "
			    "messages are gone from %s, so this run would "
			    "expunge them here: more than safety-expunge "
			    "(%u%%) allows. Nothing was expunged. If they "
			    "were deleted on purpose, run again with "
			    "--force, which expunges them here too. If "
			    "they were lost there (a server restored "
			    "empty), run again with --restore-from=%s, "
			    "which copies them back there from here, with "
			    "their flags, and expunges nothing here.",
			    gone[s], run->paired, side_name(s), share,
			    side_name(side_other(s)));
		run->braked = true;
		run->fatal = true;
		return -1;
	}
	return 0;
}

/* One round's APPLY flight: each mailbox's commands queued, what must be
 * on disk before they go (move intents, the messages an expunge marks
 * \Deleted) written in one transaction, synced once for the flight
 * instead of once a mailbox. Nothing is sent before that commit: the
 * commands only go in sync_run_wait(). 1 if commands were queued, 0 if
 * no mailbox had any, -1 if the run failed. */
static int
sync_apply_flight(struct sync_run *run, struct mbox *mbs, size_t n,
                  unsigned round)
{
	bool batch = false;
	size_t i, queued = 0;

	for (i = 0; i < n; i++) {
		if (!mbox_going(&mbs[i]))
			continue;
		if (queued++ == 0) {
			sync_trace(NULL, -1, "round %u: APPLY flight",
			           round + 1);
			if (!sync_batch_open(run, &batch))
				return -1;
		}
		mbox_step(&mbs[i], &sync_phase_apply);
		sync_apply_start(&mbs[i]);
	}
	if (queued == 0)
		return 0;
	/* A database failure on the way made the run fatal: nothing of
	 * the flight is sent, so nothing of it is kept either. */
	if (sync_batch_close(run, &batch, !run->fatal) <= 0)
		return -1;
	sync_trace(NULL, -1,
	           "round %u: APPLY flight's records committed for %zu "
	           "%s, before its commands go",
	           round + 1, queued,
	           log_plural(queued, "mailbox", "mailboxes"));
	sync_step("apply flight recorded");
	return 1;
}

/* --dry-run's APPLY: the same decisions, said instead of sent (each
 * part logs what it would do), and which of the new messages are there
 * to copy, read. */
static void
sync_dry_apply(struct sync_run *run, struct mbox *mbs, size_t n)
{
	unsigned s;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!mbox_going(&mbs[i]))
			continue;
		mbox_step(&mbs[i], &sync_phase_apply);
		sync_apply_start(&mbs[i]);
	}
	if (sync_run_wait(run) < 0)
		return;
	for (i = 0; i < n; i++) {
		if (!mbox_going(&mbs[i]))
			continue;
		for (s = 0; s < SIDE_COUNT; s++)
			sync_copy_dry_report(&mbs[i].s[s]);
		mbs[i].active = false;
	}
}

/* The flights after SELECT: MATCH, then APPLY and CHECK until every
 * mailbox's CHECK sees nothing foreign. */
static void
sync_rounds(struct sync_run *run, struct mbox *mbs, size_t n)
{
	struct imap_conn *conns[SIDE_COUNT] = {run->server[0].conn,
	                                       run->server[1].conn};
	bool queued = false, any, batch = false;
	unsigned round, s;
	size_t i;

	/* Stopping leaves each mailbox's numbers as they were, its mapping
	 * as far as the last flight got: the next run goes on from there,
	 * as after a crash. */
	if (sync_stopping(run))
		return;
	for (i = 0; i < n; i++) {
		if (mbox_going(&mbs[i])) {
			mbox_step(&mbs[i], &sync_phase_sizes);
			sync_match_start(&mbs[i]);
		}
	}
	sync_move_start(mbs, n);
	queued = sync_match_sizes_flush(mbs, n);
	if (queued && sync_run_wait(run) < 0)
		return;
	for (i = 0; i < n; i++)
		mbox_step(&mbs[i], &sync_phase_match);
	/* Sizes from the database may narrow even with nothing fetched. */
	if (sync_match_narrow(mbs, n) && sync_run_wait(run) < 0)
		return;
	/* Moves first: a new message whose key is that of a pair that
	 * vanished on the same side, the pair's other message still there,
	 * was moved, even if the other side has a new one with that key in
	 * the same mailbox (a copy of it moved there too). MATCH pairs what
	 * is left, and what a killed run may have copied already. */
	sync_move_finish(mbs, n);
	for (i = 0; i < n; i++) {
		if (mbox_going(&mbs[i]))
			sync_match_finish(&mbs[i]);
	}
	if (sync_brake(run, mbs, n) < 0)
		return;
	for (i = 0; i < n; i++) {
		struct mbox *mb = &mbs[i];

		sync_match_free(&mb->s[SIDE_LOCAL]);
		sync_match_free(&mb->s[SIDE_REMOTE]);
		if (!mbox_going(mb))
			continue;
		if (mbox_drop_intents(mb) < 0)
			continue;
		if (!mbox_has_work(mb) && !mb->move_in) {
			sync_trace(mb, -1,
			           "nothing to apply: only the numbers "
			           "moved");
			/* Only the numbers moved (an expunge of a message
			 * we never knew, a flag set back): store them as
			 * SELECT gave them. */
			mbox_commit_part(mb, false, &batch);
			mb->active = false;
		}
	}
	mbox_commit_end(run, &batch);
	if (run->fatal)
		return;
	if (run->set.dry_run) {
		sync_dry_apply(run, mbs, n);
		return;
	}
	for (round = 0; round < SYNC_MAX_ROUNDS; round++) {
		if (sync_stopping(run))
			return;
		if (sync_apply_flight(run, mbs, n, round) <= 0)
			return;
		/* A FETCH must not outrun the APPEND it feeds. */
		for (s = 0; s < SIDE_COUNT; s++)
			imap_conn_throttle(conns[s], conns[side_other(s)]);
		sync_run_wait(run);
		/* Held for copies that never came (failed, or empty). */
		any = false;
		for (i = 0; i < n && !run->fatal; i++) {
			for (s = 0; s < SIDE_COUNT; s++)
				any |= sync_release(&mbs[i].s[s]);
		}
		if (any)
			sync_run_wait(run);
		for (s = 0; s < SIDE_COUNT; s++)
			imap_conn_throttle(conns[s], NULL);
		log_progress_end();
		if (run->fatal)
			return;
		sync_step("applied");
		if (sync_stopping(run))
			return;
		sync_trace(NULL, -1, "round %u: CHECK flight", round + 1);
		for (i = 0; i < n; i++) {
			for (s = 0; s < SIDE_COUNT; s++) {
				struct mbox_side *ms = &mbs[i].s[s];

				uidset_free(&ms->fresh);
				ms->fresh = ms->found;
				uidset_init(&ms->found);
			}
			if (mbox_going(&mbs[i])) {
				mbox_set_phase(&mbs[i], &sync_phase_check);
				sync_check_start(&mbs[i]);
			}
		}
		if (sync_run_wait(run) < 0)
			return;
		sync_step("checked");
		for (i = 0; i < n; i++) {
			struct mbox *mb = &mbs[i];

			for (s = 0; s < SIDE_COUNT; s++) {
				mb->s[s].round.touched = false;
				mb->s[s].round.need_check = false;
			}
			/* Foreign changes, or flags a move left to set. */
			if (mbox_going(mb) &&
			    (mb->foreign || mbox_has_work(mb)))
				sync_trace(
				    mb, -1, "round %u: another round (%s)",
				    round + 1,
				    mb->foreign ? "foreign changes"
				                : "flags a move left to set");
			if (!mbox_going(mb) || mb->foreign || mbox_has_work(mb))
				continue;
			mbox_commit_part(mb, true, &batch);
			mb->active = false;
		}
		mbox_commit_end(run, &batch);
		if (run->fatal)
			return;
	}
	for (i = 0; i < n; i++) {
		if (!mbox_going(&mbs[i]))
			continue;
		log_warn(NULL, mbs[i].display,
		         "still changing after %d rounds; the next run goes "
		         "on from here",
		         SYNC_MAX_ROUNDS);
		mbox_commit_part(&mbs[i], false, &batch);
	}
	mbox_commit_end(run, &batch);
}

/* Whether a side of mb has no numbers while the mapping has pairs. */
static bool
mbox_interrupted(struct mbox *mb)
{
	uint64_t pairs = 0;
	const char *error;

	if (mb->s[SIDE_LOCAL].have_row && mb->s[SIDE_REMOTE].have_row)
		return false;
	if (state_mapping_count(mb->run->state, mb->idx, &pairs, &error) < 0) {
		sync_db_fail(mb, error);
		return false;
	}
	return pairs > 0;
}

/* Whether a mailbox is being compared in full (it went back). */
static bool
sync_any_scan(const struct mbox *mbs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (mbs[i].phase == &sync_phase_scan && !mbs[i].failed)
			return true;
	}
	return false;
}

int
sync_messages(struct sync_run *run, const struct sync_target *all,
              size_t n_all, bool repair)
{
	struct mbox *mbs = xcalloc(n_all + 1, sizeof(*mbs));
	struct sync_target *targets = xcalloc(n_all + 1, sizeof(*targets));
	/* A side where something else than new mail happened (see
	 * sync_first_churn()). */
	bool churn[SIDE_COUNT] = {false, false};
	/* Expunges a killed run left half done (usually none). */
	bool expunging = false;
	const char *error;
	unsigned s;
	size_t i, n = 0;

	if (state_expunging_any(run->state, &expunging, &error) < 0) {
		log_error("database", NULL, "%s", error);
		free(mbs);
		free(targets);
		return -1;
	}
	for (i = 0; i < n_all; i++) {
		if (run->skip == NULL ||
		    !run->skip(run->hook_ctx, all[i].name, all[i].len))
			targets[n++] = all[i];
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		imap_conn_set_untagged(run->server[s].conn, sync_untagged,
		                       &run->server[s]);
		run->server[s].lost_in = NULL;
	}
	for (i = 0; i < n; i++) {
		if (mbox_init(&mbs[i], run, &targets[i]) < 0 ||
		    (expunging &&
		     (sync_expunging_load(&mbs[i].s[SIDE_LOCAL]) < 0 ||
		      sync_expunging_load(&mbs[i].s[SIDE_REMOTE]) < 0))) {
			mbs[i].failed = true;
			continue;
		}
		for (s = 0; s < SIDE_COUNT; s++) {
			churn[s] |= sync_first_churn(&mbs[i].s[s], &targets[i]);
			(void)sync_first_went_back(
			    &mbs[i].s[s], targets[i].listed[s].uidvalidity,
			    targets[i].listed[s].uidnext,
			    targets[i].listed[s].highestmodseq);
		}
	}
	for (i = 0; i < n; i++) {
		if (mbs[i].failed)
			continue;
		mbox_set_phase(&mbs[i], &sync_phase_select);
		for (s = 0; s < SIDE_COUNT; s++) {
			struct mbox_side *ms = &mbs[i].s[s];

			if (ms->absent) {
				/* --dry-run: as the CREATE would leave it. */
				ms->first.done = ms->first.ok = true;
				ms->uidvalidity = ms->uidnext = 1;
				ms->hms = 1;
				continue;
			}
			if (!repair && ms->undelete.n == 0 &&
			    sync_first_listed(ms, &targets[i]))
				continue;
			sync_first_select(ms, &targets[i], churn[s]);
			if (ms->undelete.n > 0)
				sync_expunging_resume(ms);
		}
	}
	if (sync_run_wait(run) < 0)
		goto out;
	sync_step("selected");
	for (i = 0; i < n; i++) {
		struct mbox *mb = &mbs[i];

		for (s = 0; s < SIDE_COUNT && !mb->failed; s++) {
			if (sync_first_check(&mb->s[s]) < 0)
				break;
		}
		if (mb->failed)
			continue;
		if (!repair && !mb->recover && mbox_interrupted(mb) &&
		    !mb->failed) {
			/* Pairs but no numbers: a run stopped before this
			 * mailbox's first commit. What it meant to do still
			 * (flags a move left to set) no SELECT reports:
			 * compare it in full. */
			sync_trace(mb, -1,
			           "compared in full: pairs but no "
			           "numbers, a first sync was stopped");
			mbox_step(mb, &sync_phase_scan);
			mb->repair = true;
			mb->resumed = true;
			sync_repair_start(mb);
			continue;
		}
		if ((repair || ((mb->went_back[SIDE_LOCAL] ||
		                 mb->went_back[SIDE_REMOTE]) &&
		                !mb->recover)) &&
		    mb->s[SIDE_LOCAL].have_row && mb->s[SIDE_REMOTE].have_row) {
			sync_trace(mb, -1, "compared in full: %s",
			           repair ? "--repair or --verify"
			                  : "a side went back");
			mbox_step(mb, &sync_phase_scan);
			mb->repair = true;
			sync_repair_start(mb);
			continue;
		}
		for (s = 0; s < SIDE_COUNT && !mb->recover; s++) {
			if (sync_vanished_narrow(&mb->s[s]) < 0 ||
			    sync_first_fresh(&mb->s[s]) < 0)
				break;
		}
		if (mb->recover)
			sync_trace(mb, (int)mb->recover_side,
			           "UIDVALIDITY changed: every message of both "
			           "sides is new, to pair again by key");
		for (s = 0; s < SIDE_COUNT && mb->recover; s++) {
			/* Every message on both sides, to pair again. */
			struct mbox_side *ms = &mb->s[s];

			uidset_clear(&ms->vanished);
			flagmap_clear(&ms->modified);
			if (ms->uidnext > 1 &&
			    sync_uids_add(ms, &ms->fresh, 1, ms->uidnext - 1) <
			        0)
				break; /* the mailbox failed */
		}
	}
	if (repair || sync_any_scan(mbs, n)) {
		if (sync_run_wait(run) < 0)
			goto out;
		for (i = 0; i < n; i++) {
			if (mbs[i].phase == &sync_phase_scan && !mbs[i].failed)
				sync_repair_compare(&mbs[i]);
		}
	}
	sync_rounds(run, mbs, n);
out:
	if (run->fatal) {
		/* Commands still in flight name these mailboxes: end them
		 * (their callbacks see a NULL response) before the mailboxes
		 * go. */
		for (s = 0; s < SIDE_COUNT; s++)
			imap_conn_free(&run->server[s].conn);
	}
	for (i = 0; i < n; i++) {
		if (mbs[i].failed)
			run->mailbox_failures++;
		if (run->synced != NULL && !run->fatal && !sync_stopping(run))
			run->synced(run->hook_ctx, targets[i].name,
			            targets[i].len, mbs[i].failed);
		mbox_free(&mbs[i]);
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		if (run->server[s].conn != NULL)
			imap_conn_set_untagged(run->server[s].conn, NULL, NULL);
		run->server[s].selected = NULL;
		run->server[s].lost_in = NULL;
	}
	free(mbs);
	free(targets);
	return run->fatal ? -1 : 0;
}
