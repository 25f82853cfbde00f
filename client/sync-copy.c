/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Copying new messages: UID FETCH of their bodies on one side, each body
 * added to a MULTIAPPEND for the other side as it arrives (spilled
 * bodies are sent from their file), the intent to copy recorded before
 * the command goes out, the pairs recorded when APPENDUID comes back. */
#include "sync-private.h"

#include "buf.h"
#include "flagmap.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "limits.h"
#include "log.h"
#include "progress.h"
#include "state.h"
#include "uidset.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void sync_copy_batch_free(struct copy_batch **bp);

/* Whether APPENDUID can name the messages just appended to `to`: its
 * UIDVALIDITY the mailbox's, its UIDs new (from the UIDNEXT SELECT gave,
 * past what this run appended before), rising, one per message. A server
 * that says otherwise gets no pairs recorded: the copies are there, and
 * the next run finds them on both sides and pairs them by content, as
 * after a run killed before APPENDUID came. */
static int
copy_check_appenduid(struct mbox_side *to, const struct imap_resp_code *code,
                     const struct uidset *tuids, size_t count)
{
	uint32_t floor = to->uidnext, last = 0, uid;
	struct uidset_iter it;
	uint64_t n = 0;

	if (to->round.appended.n > 0 &&
	    to->round.appended.r[to->round.appended.n - 1].hi >= floor)
		floor = to->round.appended.r[to->round.appended.n - 1].hi + 1;
	if (code->uidvalidity == to->uidvalidity) {
		uidset_iter_init(&it, tuids);
		while (uidset_iter_next(&it, &uid)) {
			if (uid < floor || uid <= last)
				break;
			last = uid;
			n++;
		}
		if (n == count)
			return 0;
	}
	sync_fail(to->mb, to->side,
	          "the server's APPENDUID (UIDVALIDITY %" PRIu32
	          ") does not name %zu new %s of this mailbox "
	          "(UIDVALIDITY %" PRIu32 ", UIDs from %" PRIu32
	          "): no pairs recorded; the next run pairs the copies by "
	          "content",
	          code->uidvalidity, count,
	          log_plural(count, "message", "messages"), to->uidvalidity,
	          floor);
	return -1;
}

static void
copy_append_done(struct imap_conn *conn, const struct imap_response *resp,
                 void *ctx)
{
	struct copy_batch *b = ctx;
	struct mbox *mb = b->mb;
	struct mbox_side *from = &mb->s[b->from], *to = mbox_other(from);
	struct uidset tuids = UIDSET_INIT, suids = UIDSET_INIT;
	struct uidset_iter it;
	struct imap_resp_code code;
	struct buf *s1 = NULL, *s2 = NULL;
	const char *error;
	size_t i;

	(void)conn;
	mb->run->appends_in_flight--;
	if (resp != NULL && resp->status == IMAP_STATUS_OK &&
	    (b->epoch == NULL || !b->epoch->saw_modseq))
		to->round.unsure = true;
	if (b->epoch != NULL)
		sync_epoch_close(b->epoch);
	if (resp == NULL)
		goto out; /* the connection failed; sync_run_wait reports it */
	if (resp->status != IMAP_STATUS_OK) {
		/* MULTIAPPEND is all or nothing (RFC 3502): no message of
		 * the batch was added, the intents can go. */
		sync_fail(mb, to->side, "APPEND of %zu %s failed: %s", b->count,
		          log_plural(b->count, "message", "messages"),
		          resp->text);
		goto drop_intents;
	}
	if (imap_decode_code(resp, &code, &tuids, NULL, &error) < 0 ||
	    code.code != IMAP_CODE_APPENDUID) {
		sync_fail(mb, to->side,
		          "APPEND gave no APPENDUID: the server must support "
		          "UIDPLUS");
		goto out;
	}
	if (uidset_count(&tuids) != b->count) {
		sync_fail(
		    mb, to->side, "APPENDUID names %" PRIu64 " %s for %zu %s",
		    uidset_count(&tuids),
		    log_plural(uidset_count(&tuids), "UID", "UIDs"), b->count,
		    log_plural(b->count, "message", "messages"));
		goto out;
	}
	if (copy_check_appenduid(to, &code, &tuids, b->count) < 0)
		goto out; /* the intents stay: the next run pairs by content */
	for (i = 0; i < b->count; i++) {
		if (sync_uids_add(from, &suids, b->uids[i], b->uids[i]) < 0)
			goto out; /* as above */
	}
	if (state_begin(mb->run->state, &error) < 0)
		goto db_error;
	uidset_iter_init(&it, &tuids);
	for (i = 0; i < b->count; i++) {
		uint32_t tuid = 0;

		uidset_iter_next(&it, &tuid);
		/* Appended with the flags the source had: the pair's
		 * base. */
		if (state_mapping_add_base(
		        mb->run->state, mb->idx,
		        b->from == SIDE_LOCAL ? b->uids[i] : tuid,
		        b->from == SIDE_LOCAL ? tuid : b->uids[i], b->sizes[i],
		        b->flags[i], &error) < 0 ||
		    state_pending_remove(mb->run->state, mb->idx, b->from,
		                         b->uids[i], &error) < 0) {
			sync_rollback(mb->run->state);
			goto db_error;
		}
		/* By runs: an initial copy of n messages keeps a handful
		 * of runs, not n entries. */
		if (flagruns_add(&to->round.appended, tuid, b->flags[i]) != 0)
			flagmap_set(&to->round.expect, tuid, b->flags[i], 0);
		to->round.added++;
		if (tuid > to->round.max_uid)
			to->round.max_uid = tuid;
	}
	if (state_commit(mb->run->state, &error) < 0)
		goto db_error;
	if (log_sync_tracing()) {
		uint64_t bytes = 0;

		for (i = 0; i < b->count; i++)
			bytes += b->sizes[i];
		sync_trace(
		    mb, -1,
		    "copied %s -> %s: UID(s) %s -> %s, %" PRIu64
		    " bytes (APPENDUID); pairs recorded, intents removed",
		    side_name(b->from), side_name(to->side),
		    sync_trace_uids(&suids), sync_trace_uids(&tuids), bytes);
	}
	sync_step("copies recorded");
	s1 = buf_create(SYNC_MAX_LOGGED_UIDS);
	s2 = buf_create(SYNC_MAX_LOGGED_UIDS);
	if (to->side == SIDE_LOCAL)
		log_info("local", mb->display, "Added %zu %s %s <- %s",
		         b->count, log_plural(b->count, "UID", "UIDs"),
		         sync_uids_str(&tuids, s1), sync_uids_str(&suids, s2));
	else
		log_info("remote", mb->display, "Added %zu %s %s -> %s",
		         b->count, log_plural(b->count, "UID", "UIDs"),
		         sync_uids_str(&suids, s1), sync_uids_str(&tuids, s2));
	mb->run->tally.added[to->side] += b->count;
	goto out;

drop_intents:
	if (state_begin(mb->run->state, &error) < 0)
		goto db_error;
	for (i = 0; i < b->count; i++) {
		if (state_pending_remove(mb->run->state, mb->idx, b->from,
		                         b->uids[i], &error) < 0) {
			sync_rollback(mb->run->state);
			goto db_error;
		}
	}
	if (state_commit(mb->run->state, &error) < 0)
		goto db_error;
	goto out;
db_error:
	sync_db_fail(mb, error);
out:
	buf_free(&s1);
	buf_free(&s2);
	uidset_free(&tuids);
	uidset_free(&suids);
	sync_copy_batch_free(&b);
}

static void
sync_copy_batch_free(struct copy_batch **bp)
{
	struct copy_batch *b = *bp;
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->count; i++)
		free(b->flags[i]);
	free(b->flags);
	free(b->uids);
	free(b->sizes);
	free(b);
	*bp = NULL;
}

/* Record the intents, then send the MULTIAPPEND. */
static void
copy_flush(struct mbox_side *from)
{
	struct copy_batch *b = from->copy.batch;
	struct mbox *mb = from->mb;
	const char *error;
	char floor[32];
	size_t i;

	if (b == NULL)
		return;
	from->copy.batch = NULL;
	if (sync_stopping(mb->run)) {
		/* No new copies once asked to stop: these stay new, for
		 * the next run. */
		imap_cmd_abort(b->cmd);
		sync_copy_batch_free(&b);
		return;
	}
	/* The intent keeps the target's UIDNEXT before the APPEND: what
	 * the APPEND makes is at or above it, a message the user put there
	 * before is below (sync_match_finish() tells them apart). */
	snprintf(floor, sizeof(floor), "%s%" PRIu32, SYNC_INTENT_FLOOR,
	         mbox_other(from)->uidnext);
	if (state_begin(mb->run->state, &error) < 0)
		goto db_error;
	for (i = 0; i < b->count; i++) {
		if (state_pending_add_base(mb->run->state, mb->idx, b->from,
		                           b->uids[i], floor, strlen(floor),
		                           b->flags[i], &error) < 0) {
			sync_rollback(mb->run->state);
			goto db_error;
		}
	}
	if (state_commit(mb->run->state, &error) < 0)
		goto db_error;
	if (log_sync_tracing()) {
		uint64_t bytes = 0;

		for (i = 0; i < b->count; i++)
			bytes += b->sizes[i];
		sync_trace(mb, -1,
		           "append %zu %s, %" PRIu64 " bytes, %s -> %s: "
		           "intents recorded (%s)",
		           b->count,
		           log_plural(b->count, "message", "messages"), bytes,
		           side_name(b->from), side_name(side_other(b->from)),
		           floor);
	}
	sync_step("intents recorded");
	/* Appended in the target's selection, the server reports the new
	 * messages, and any other change, in band: no CHECK to follow. */
	sync_release(mbox_other(from));
	/* SELECT, not EXAMINE: the session that selects a mailbox first
	 * after an APPEND claims \Recent, which Dovecot counts as a change
	 * (a higher MODSEQ); it must be this one, in band. */
	sync_select_live(mbox_other(from), true);
	b->epoch = sync_epoch_open(mbox_other(from));
	imap_cmd_end(b->cmd);
	b->cmd = NULL;
	mb->run->appends_in_flight++;
	return;
db_error:
	sync_db_fail(mb, error);
	imap_cmd_abort(b->cmd);
	sync_copy_batch_free(&b);
}

/* A message body arrived from side `from`: add it to the MULTIAPPEND
 * being built for the other side. */
void
sync_copy_message(struct mbox_side *from, const struct imap_fetch *f)
{
	struct mbox *mb = from->mb;
	struct mbox_side *to = mbox_other(from);
	struct copy_batch *b = from->copy.batch;
	struct buf *flags;
	char *fl;

	if (sync_stopping(mb->run)) {
		copy_flush(from); /* drops the batch being built */
		return;
	}
	if (f->body->type == IMAP_ARG_NIL || f->body->len == 0) {
		/* APPEND cannot take an empty message (RFC 3502 6.3.11). */
		log_warn(side_name(from->side), mb->display,
		         "Ignoring new 0-length message (UID %" PRIu32 ")",
		         f->uid);
		return;
	}
	if ((f->have & (IMAP_FETCH_INTERNALDATE | IMAP_FETCH_FLAGS)) !=
	    (IMAP_FETCH_INTERNALDATE | IMAP_FETCH_FLAGS)) {
		/* Without its flags the copy would lose them for good. */
		if (mb->failed)
			return; /* said once */
		sync_fail(mb, from->side,
		          "FETCH of UID %" PRIu32 " gave its body without its "
		          "%s, not even in another FETCH response: not copied",
		          f->uid,
		          (f->have & IMAP_FETCH_INTERNALDATE) == 0 ?
		          "INTERNALDATE" : "FLAGS");
		return;
	}
	flags = buf_create(SYNC_MAX_FLAGS_TEXT);
	if (flags_canonical(f->flags, f->flags_count, flags) < 0) {
		buf_free(&flags);
		sync_fail(mb, from->side, "bad FLAGS for UID %" PRIu32, f->uid);
		return;
	}
	if (b == NULL) {
		b = xcalloc(1, sizeof(*b));
		b->mb = mb;
		b->from = from->side;
		b->cmd = imap_conn_cmd_begin(mbox_server(to)->conn,
		                             copy_append_done, b);
		if (b->cmd == NULL) {
			free(b);
			buf_free(&flags);
			return; /* connection failed */
		}
		imap_cmd_add(b->cmd, "APPEND %s", to->wire);
		from->copy.batch = b;
	}
	if (b->count == b->alloc) {
		size_t n = b->alloc == 0 ? 64 : b->alloc * 2;

		b->uids = xreallocarray(b->uids, n, sizeof(*b->uids));
		b->sizes = xreallocarray(b->sizes, n, sizeof(*b->sizes));
		b->flags = xreallocarray(b->flags, n, sizeof(*b->flags));
		b->alloc = n;
	}
	fl = xstrdup(buf_data(flags));
	if (buf_len(flags) > 0)
		imap_cmd_add(b->cmd, " (%a)", fl);
	imap_cmd_add(b->cmd, " %q ", f->internaldate);
	if (f->body->str != NULL) {
		imap_cmd_add(b->cmd, "%L", f->body->str, f->body->len);
		b->bytes += f->body->len;
	} else {
		imap_cmd_add(b->cmd, "%F", f->body->fd, (uint64_t)f->body->len);
	}
	b->uids[b->count] = f->uid;
	/* The literal is the message as RFC822.SIZE counts it. */
	b->sizes[b->count] = f->body->len <= UINT32_MAX ? (uint32_t)f->body->len
	                                                : 0;
	b->flags[b->count] = fl;
	b->count++;
	buf_free(&flags);
	progress_copied(f->body->len);
	/* Without MULTIAPPEND, one message per APPEND (still pipelined). */
	if (b->count >=
	        ((mb->run->server[to->side].caps & IMAP_CAP_MULTIAPPEND) != 0
	             ? COPY_BATCH_MESSAGES
	             : 1) ||
	    b->bytes >= COPY_BATCH_BYTES)
		copy_flush(from);
}

/* The source failed: the batch under construction is never sent. */
void
sync_copy_abort(struct mbox_side *from)
{
	if (from->copy.batch == NULL)
		return;
	imap_cmd_abort(from->copy.batch->cmd);
	sync_copy_batch_free(&from->copy.batch);
}

static void
copy_fetch_done(struct imap_conn *conn, const struct imap_response *resp,
                void *ctx)
{
	struct mbox_side *from = ctx;

	(void)conn;
	from->copy.fetches--;
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		sync_fail(from->mb, from->side, "UID FETCH failed: %s",
		          resp->text);
	if (from->copy.fetches == 0) {
		if (from->mb->failed)
			sync_copy_abort(from);
		else
			copy_flush(from);
		/* Nothing to append after all: what waited for it goes. */
		sync_release(mbox_other(from));
	}
}

static void
copy_dry_done(struct imap_conn *conn, const struct imap_response *resp,
              void *ctx)
{
	struct mbox_side *from = ctx;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		sync_fail(from->mb, from->side, "UID FETCH failed: %s",
		          resp->text);
}

void
sync_copy_dry_report(struct mbox_side *from)
{
	struct mbox *mb = from->mb;
	struct buf *s = NULL;
	uint64_t n = uidset_count(&from->found);

	if (n == 0 || mb->failed)
		goto out;
	s = buf_create(SYNC_MAX_LOGGED_UIDS);
	uidset_normalize(&from->found);
	/* The shape of copy_recorded()'s line; "?": the UIDs the server
	 * would give. */
	if (from->side == SIDE_REMOTE)
		log_info("local", mb->display,
		         "would add %" PRIu64 " %s ? <- %s", n,
		         log_plural(n, "UID", "UIDs"),
		         sync_uids_str(&from->found, s));
	else
		log_info("remote", mb->display,
		         "would add %" PRIu64 " %s %s -> ?", n,
		         log_plural(n, "UID", "UIDs"),
		         sync_uids_str(&from->found, s));
	mb->run->tally.added[side_other(from->side)] += n;
out:
	buf_free(&s);
	uidset_clear(&from->found);
}

void
sync_copy_start(struct mbox_side *ms)
{
	size_t pos = 0;

	uidset_normalize(&ms->fresh);
	if (ms->fresh.n > 0)
		mbox_other(ms)->round.touched = true;
	if (ms->fresh.n > 0)
		sync_trace(ms->mb, (int)ms->side,
		           "copy UID(s) %s to %s: new here, no pair, no move%s",
		           sync_trace_uids(&ms->fresh),
		           side_name(side_other(ms->side)),
		           ms->mb->run->set.dry_run
		               ? " (dry run: only asked which are there)"
		               : "");
	if (!ms->mb->run->set.dry_run)
		progress_add(uidset_count(&ms->fresh));
	while (pos < ms->fresh.n) {
		struct buf *b = buf_create(IMAP_MAX_UIDSET_CMD * 2);

		if (uidset_format_chunk(&ms->fresh, &pos, IMAP_MAX_UIDSET_CMD,
		                        b) == 0) {
			/* b holds a chunk and one range more. */
			buf_free(&b);
			sync_fail(ms->mb, ms->side,
			          "internal error: a UID "
			          "range longer than IMAP_MAX_UIDSET_CMD");
			return;
		}
		if (ms->mb->run->set.dry_run) {
			/* Which are there to copy: the bodies stay. */
			sync_select_for_step(ms, false);
			(void)sync_cmd(ms, false, copy_dry_done, ms,
			               "UID FETCH %a (FLAGS)", buf_data(b));
			buf_free(&b);
			continue;
		}
		ms->copy.fetches++;
		if (ms->hold.on) {
			sync_cmd_step(ms, copy_fetch_done, ms,
			              "UID FETCH %a (FLAGS INTERNALDATE "
			              "BODY.PEEK[])",
			              buf_data(b));
			buf_free(&b);
			continue;
		}
		sync_select_for_step(ms, false);
		if (sync_cmd(ms, false, copy_fetch_done, ms,
		             "UID FETCH %a (FLAGS INTERNALDATE BODY.PEEK[])",
		             buf_data(b)) == NULL)
			ms->copy.fetches--;
		buf_free(&b);
	}
}
