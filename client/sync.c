/* The messages of one mailbox, both ways (after interimap's algorithm,
 * restructured so that both servers work at once and no step waits on a
 * per-message round trip).
 *
 * A mailbox goes through rounds of three steps, each one flight of
 * pipelined commands on both connections:
 *
 *   SELECT  SELECT (QRESYNC ...) on both sides: the server lists what
 *           vanished and which flags changed since the stored
 *           HIGHESTMODSEQ; the stored UIDNEXT tells which UIDs are new.
 *   APPLY   vanished messages are expunged on the other side; flag
 *           changes stored with UNCHANGEDSINCE, one STORE per distinct
 *           flag list; new messages fetched and streamed into MULTIAPPEND
 *           on the other side, with the intent recorded first.
 *   CHECK   UID FETCH 1:* (CHANGEDSINCE m VANISHED) on both sides, m the
 *           HIGHESTMODSEQ seen at SELECT: everything that changed since,
 *           ours and others'. What the sync did itself is recognised;
 *           anything else (a message delivered meanwhile, a flag set by a
 *           mail client) is applied in another APPLY round.
 *
 * UIDNEXT and HIGHESTMODSEQ are stored last, only after a CHECK saw
 * nothing foreign, in the transaction that closes the mailbox; the
 * mapping rows are written as each APPEND or EXPUNGE completes. */
#include "sync.h"

#include "sync-private.h"
#include "buf.h"
#include "flagmap.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "limits.h"
#include "log.h"
#include "state.h"
#include "uidset.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* A database failure is fatal for the run: the state can no longer be
 * trusted to describe what was done. */
void
sync_db_fail(struct mbox *mb, const char *error)
{
	log_error("database", mb->display, "%s", error);
	mb->failed = true;
	mb->run->fatal = true;
}

void
sync_step(const char *what)
{
	static long at = -1, n;

	if (at < 0) {
		const char *v = getenv("IMAPSYNC_DEBUG_EXIT_AT");

		at = v != NULL ? strtol(v, NULL, 10) : 0;
	}
	if (at > 0 && ++n == at) {
		fprintf(stderr, "imapsync: exiting at step %ld (%s)\n", n,
		        what);
		_exit(99);
	}
}

void
sync_rollback(struct state *st)
{
	const char *error;

	(void)state_rollback(st, &error);
}

int
sync_run_wait(struct sync_run *run)
{
	struct imap_conn *conns[SIDE_COUNT] = {
	    run->server[SIDE_LOCAL].conn,
	    run->server[SIDE_REMOTE].conn,
	};
	size_t i;

	if (run->fatal)
		return -1;
	if (imap_conn_run(conns, SIDE_COUNT, NULL, NULL, SYNC_TIMEOUT_MS) == 0)
		return 0;
	for (i = 0; i < SIDE_COUNT; i++) {
		const char *err = imap_conn_error(conns[i]);

		if (err[0] != '\0')
			log_error(NULL, NULL, "%s", err);
	}
	run->fatal = true;
	return -1;
}

char *
sync_wire_name(const struct sync_server *srv, const char *name, size_t len)
{
	size_t rlen = strlen(srv->reference), i;
	char *s = malloc(rlen + len + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, srv->reference, rlen);
	for (i = 0; i < len; i++) {
		if (name[i] == '\0') {
			if (srv->delim == '\0') {
				free(s);
				return NULL;
			}
			s[rlen + i] = srv->delim;
		} else {
			s[rlen + i] = name[i];
		}
	}
	s[rlen + len] = '\0';
	return s;
}

char *
sync_display_name(const struct sync_run *run, const char *name, size_t len)
{
	char d = run->server[SIDE_LOCAL].delim;
	char *s = malloc(len + 1);
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		s[i] = name[i] == '\0' ? (d != '\0' ? d : '/') : name[i];
	s[len] = '\0';
	return s;
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

/* --- Responses ----------------------------------------------------------- */

/* Whether uid on this side is in the mapping table. */
bool
sync_is_mapped(struct mbox_side *ms, uint32_t uid)
{
	uint32_t other;
	const char *error;
	int ret = state_mapping_lookup(ms->mb->run->state, ms->mb->idx,
	                               ms->side, uid, &other, &error);

	if (ret < 0) {
		sync_db_fail(ms->mb, error);
		return false;
	}
	return ret > 0;
}

static void
mbox_on_fetch(struct mbox_side *ms, const struct imap_response *resp)
{
	struct mbox *mb = ms->mb;
	struct imap_fetch f;
	struct buf *flags;
	const char *error;
	struct flagmap_entry *e;

	if (imap_decode_fetch(resp, &f, &error) < 0) {
		sync_fail(mb, ms->side, "bad FETCH response: %s", error);
		return;
	}
	if ((f.have & IMAP_FETCH_UID) == 0)
		return; /* not about a message we can name */
	if ((f.have & IMAP_FETCH_BODY) != 0) {
		if (mb->phase == PHASE_APPLY &&
		    uidset_contains(&ms->fresh, f.uid))
			sync_copy_message(ms, &f);
		return;
	}
	if ((f.have & IMAP_FETCH_FLAGS) == 0)
		return;
	if (mb->phase == PHASE_APPLY)
		return; /* CHECK will report it again with everything else */
	flags = buf_create(64 * 1024);
	if (flags == NULL ||
	    flags_canonical(f.flags, f.flags_count, flags) < 0) {
		buf_free(&flags);
		sync_fail(mb, ms->side, "bad FLAGS for UID %" PRIu32, f.uid);
		return;
	}
	if (mb->phase == PHASE_MATCH) {
		sync_match_on_fetch(ms, &f, buf_data(flags));
		buf_free(&flags);
		return;
	}
	if (mb->phase == PHASE_SCAN) {
		flagmap_set(&ms->all, f.uid, buf_data(flags), f.modseq);
		buf_free(&flags);
		return;
	}
	if (mb->phase == PHASE_SELECT) {
		/* A message new since the stored UIDNEXT is copied, not
		 * updated. */
		if (f.uid < ms->row.uidnext || sync_is_mapped(ms, f.uid))
			flagmap_set(&ms->modified, f.uid, buf_data(flags),
			            f.modseq);
		buf_free(&flags);
		return;
	}
	/* CHECK: is it ours? */
	if (f.modseq > ms->max_modseq)
		ms->max_modseq = f.modseq;
	if (f.uid > ms->max_uid)
		ms->max_uid = f.uid;
	e = flagmap_get(&ms->expect, f.uid);
	if (e != NULL && flags_equal(e->flags, buf_data(flags))) {
		buf_free(&flags);
		return;
	}
	mb->foreign = true;
	if (f.uid < ms->uidnext || e != NULL || sync_is_mapped(ms, f.uid))
		flagmap_set(&ms->modified, f.uid, buf_data(flags), f.modseq);
	else
		uidset_add(&ms->fresh, f.uid);
	buf_free(&flags);
}

static void
mbox_on_vanished(struct mbox_side *ms, const struct imap_response *resp)
{
	struct mbox *mb = ms->mb;
	struct uidset uids = UIDSET_INIT;
	bool earlier;
	const char *error;
	size_t i;

	if (imap_decode_vanished(resp, &earlier, &uids, &error) < 0) {
		sync_fail(mb, ms->side, "bad VANISHED response: %s", error);
		return;
	}
	if (mb->phase == PHASE_SELECT) {
		for (i = 0; i < uids.n; i++)
			uidset_add_range(&ms->vanished, uids.r[i].lo,
			                 uids.r[i].hi);
	} else if (mb->phase == PHASE_CHECK) {
		struct uidset_iter it;
		uint32_t uid;

		uidset_iter_init(&it, &uids);
		while (uidset_iter_next(&it, &uid)) {
			if (uidset_contains(&ms->expunged, uid))
				continue;
			uidset_add(&ms->vanished, uid);
			mb->foreign = true;
		}
	}
	uidset_free(&uids);
}

static void
mbox_on_code(struct mbox_side *ms, const struct imap_response *resp)
{
	struct imap_resp_code code;
	const char *error;

	if (imap_decode_code(resp, &code, NULL, NULL, &error) < 0) {
		sync_fail(ms->mb, ms->side, "bad response code: %s", error);
		return;
	}
	switch (code.code) {
	case IMAP_CODE_UIDVALIDITY:
		ms->uidvalidity = code.uidvalidity;
		break;
	case IMAP_CODE_UIDNEXT:
		if (ms->mb->phase == PHASE_SELECT)
			ms->uidnext = code.uidnext;
		break;
	case IMAP_CODE_HIGHESTMODSEQ:
		if (ms->mb->phase == PHASE_SELECT)
			ms->hms = code.modseq;
		else if (code.modseq > ms->hms_seen)
			ms->hms_seen = code.modseq;
		break;
	case IMAP_CODE_NOMODSEQ:
		ms->nomodseq = true;
		break;
	default:
		break;
	}
}

static void
mbox_untagged(struct imap_conn *conn, const struct imap_response *resp,
              void *ctx)
{
	struct mbox_side *ms = ctx;

	(void)conn;
	if (resp->status == IMAP_STATUS_OK && resp->code != NULL)
		mbox_on_code(ms, resp);
	else if (resp->status == IMAP_STATUS_NO ||
	         resp->status == IMAP_STATUS_BAD)
		log_warn(side_name(ms->side), ms->mb->display, "%s",
		         resp->text);
	else if (strcmp(resp->name, "FETCH") == 0)
		mbox_on_fetch(ms, resp);
	else if (strcmp(resp->name, "VANISHED") == 0)
		mbox_on_vanished(ms, resp);
}

/* --- SELECT --------------------------------------------------------------- */

static void
mbox_select_done(struct imap_conn *conn, const struct imap_response *resp,
                 void *ctx)
{
	struct mbox_side *ms = ctx;

	(void)conn;
	ms->select_done = true;
	if (resp == NULL)
		return;
	if (resp->status != IMAP_STATUS_OK) {
		snprintf(ms->select_error, sizeof(ms->select_error), "%s",
		         resp->text);
		return;
	}
	if (resp->code != NULL)
		mbox_on_code(ms, resp);
	ms->select_ok = true;
}

static void
mbox_select(struct mbox_side *ms)
{
	struct imap_conn *conn = mbox_server(ms)->conn;
	/* --dry-run looks without touching, not even \Recent. */
	const char *verb = ms->mb->run->set.dry_run ? "EXAMINE" : "SELECT";

	if (ms->have_row && ms->row.highestmodseq > 0 &&
	    ms->row.uidvalidity > 0)
		imap_conn_cmd(conn, mbox_select_done, ms,
		              "%a %s (QRESYNC (%u %U))", verb, ms->wire,
		              ms->row.uidvalidity, ms->row.highestmodseq);
	else
		imap_conn_cmd(conn, mbox_select_done, ms, "%a %s", verb,
		              ms->wire);
}

/* After SELECT: may the mailbox be synced? */
static int
mbox_check_select(struct mbox_side *ms)
{
	struct mbox *mb = ms->mb;

	if (!ms->select_ok) {
		sync_fail(mb, ms->side, "cannot select mailbox: %s",
		          ms->select_error[0] != '\0' ? ms->select_error
		                                      : "connection lost");
		return -1;
	}
	if (ms->nomodseq || ms->hms == 0) {
		sync_fail(mb, ms->side,
		          "the mailbox does not keep MODSEQs (NOMODSEQ): it "
		          "cannot be synchronized statefully");
		return -1;
	}
	if (ms->uidvalidity == 0 || ms->uidnext == 0) {
		sync_fail(mb, ms->side,
		          "SELECT gave no UIDVALIDITY or UIDNEXT");
		return -1;
	}
	if (ms->have_row && ms->row.uidvalidity != 0 &&
	    ms->row.uidvalidity != ms->uidvalidity) {
		sync_fail(mb, ms->side,
		          "UIDVALIDITY changed (was %" PRIu32 ", now %" PRIu32
		          "): the stored UIDs mean nothing any more. Skipping "
		          "it; to sync it afresh, copying its messages again, "
		          "run `imapsync --target=database --delete %s`",
		          ms->row.uidvalidity, ms->uidvalidity, mb->display);
		return -1;
	}
	return 0;
}

struct mapped_from {
	enum side side;
	uint32_t lo;
	struct uidset *uids;
};

static int
mapped_from_add(void *ctx, uint32_t luid, uint32_t ruid)
{
	struct mapped_from *m = ctx;
	uint32_t uid = m->side == SIDE_LOCAL ? luid : ruid;

	if (uid >= m->lo && uidset_add(m->uids, uid) < 0)
		return -1;
	return 0;
}

/* New UIDs on ms at the first round: from the stored UIDNEXT to the one
 * SELECT gave, less those already paired (an interrupted run's). */
static int
mbox_first_fresh(struct mbox_side *ms)
{
	struct mbox *mb = ms->mb;
	struct uidset mapped = UIDSET_INIT;
	uint32_t lo = ms->row.uidnext > 0 ? ms->row.uidnext : 1, uid;
	const char *error;
	size_t i = 0;

	struct mapped_from mf = {ms->side, lo, &mapped};

	if (ms->uidnext <= lo)
		return 0;
	if (state_mapping_foreach(mb->run->state, mb->idx, ms->side,
	                          mapped_from_add, &mf, &error) != 0) {
		sync_db_fail(mb, error);
		return -1;
	}
	uidset_normalize(&mapped);
	/* [lo, uidnext-1] minus the mapped ranges. */
	uid = lo;
	for (i = 0; i < mapped.n && uid < ms->uidnext; i++) {
		if (mapped.r[i].hi < uid)
			continue;
		if (mapped.r[i].lo > uid)
			uidset_add_range(&ms->fresh, uid,
			                 mapped.r[i].lo - 1 < ms->uidnext - 1
			                     ? mapped.r[i].lo - 1
			                     : ms->uidnext - 1);
		if (mapped.r[i].hi == UINT32_MAX) {
			uid = UINT32_MAX;
			break;
		}
		uid = mapped.r[i].hi + 1;
	}
	if (uid < ms->uidnext)
		uidset_add_range(&ms->fresh, uid, ms->uidnext - 1);
	uidset_free(&mapped);
	return 0;
}

static bool
mbox_has_work(struct mbox *mb)
{
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		if (mb->s[s].vanished.n > 0 || mb->s[s].modified.count > 0 ||
		    mb->s[s].carry.count > 0 || mb->s[s].fresh.n > 0)
			return true;
	}
	return false;
}

static void
check_done(struct imap_conn *conn, const struct imap_response *resp, void *ctx)
{
	struct mbox_side *ms = ctx;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		sync_fail(ms->mb, ms->side,
		          "UID FETCH (CHANGEDSINCE) failed: %s", resp->text);
}

static void
mbox_check(struct mbox *mb)
{
	unsigned s;

	mb->phase = PHASE_CHECK;
	mb->foreign = false;
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];

		/* Looked up for every VANISHED UID: binary search. */
		uidset_normalize(&ms->expunged);
		imap_conn_cmd(mbox_server(ms)->conn, check_done, ms,
		              "UID FETCH 1:* (UID FLAGS MODSEQ) "
		              "(CHANGEDSINCE %U VANISHED)",
		              ms->hms);
	}
	sync_run_wait(mb->run);
}

/* Store where the mailbox stands. exact: a CHECK saw nothing foreign, so
 * everything up to the highest UID and MODSEQ seen is in step; else only
 * what SELECT reported is. */
static void
mbox_commit(struct mbox *mb, bool exact)
{
	struct state *st = mb->run->state;
	const char *error;
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
			if (ms->max_uid >= row.uidnext)
				row.uidnext = ms->max_uid + 1;
			if (ms->max_modseq > row.highestmodseq)
				row.highestmodseq = ms->max_modseq;
			if (ms->hms_seen > row.highestmodseq)
				row.highestmodseq = ms->hms_seen;
		}
		if (state_status_set(st, mb->idx, ms->side, &row, &error) < 0) {
			sync_rollback(st);
			goto db_error;
		}
	}
	if (state_commit(st, &error) < 0)
		goto db_error;
	sync_step("mailbox committed");
	return;
db_error:
	sync_db_fail(mb, error);
}

static void
mbox_free(struct mbox *mb)
{
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];

		free(ms->wire);
		uidset_free(&ms->vanished);
		uidset_free(&ms->fresh);
		uidset_free(&ms->expunged);
		flagmap_free(&ms->modified);
		flagmap_free(&ms->carry);
		flagmap_free(&ms->expect);
		flagmap_free(&ms->all);
		sync_match_free(ms);
		sync_copy_abort(ms);
		imap_conn_set_untagged(mb->run->server[s].conn, NULL, NULL);
	}
	free(mb->display);
}

static int
mbox_init(struct mbox *mb, struct sync_run *run, const char *name, size_t len,
          int64_t idx)
{
	const char *error;
	unsigned s;

	mb->run = run;
	mb->idx = idx;
	mb->name = name;
	mb->len = len;
	mb->display = sync_display_name(run, name, len);
	if (mb->display == NULL)
		return -1;
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];
		int ret;

		ms->mb = mb;
		ms->side = s;
		uidset_init(&ms->vanished);
		uidset_init(&ms->fresh);
		uidset_init(&ms->expunged);
		flagmap_init(&ms->modified);
		flagmap_init(&ms->carry);
		flagmap_init(&ms->expect);
		flagmap_init(&ms->all);
		ms->wire = sync_wire_name(&run->server[s], name, len);
		if (ms->wire == NULL)
			return -1;
		ret = state_status_get(run->state, idx, s, &ms->row, &error);
		if (ret < 0) {
			sync_db_fail(mb, error);
			return -1;
		}
		ms->have_row = ret > 0;
		imap_conn_set_untagged(run->server[s].conn, mbox_untagged, ms);
	}
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
		struct state_pending *np = realloc(l->p, n * sizeof(*np));

		if (np == NULL)
			return -1;
		l->p = np;
		l->alloc = n;
	}
	l->p[l->count] = *p;
	l->p[l->count].fingerprint = NULL;
	l->count++;
	return 0;
}

/* Intents left by a run that was killed: by now the copies they name are
 * either paired (sync_match found them on both sides) or still fresh and
 * about to be copied again, so they can go. */
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
	log_info("database", mb->display, "Resuming %zu interrupted copie(s)",
	         l.count);
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
	free(l.p);
	sync_step("intents dropped");
	return 0;
db_error:
	free(l.p);
	sync_db_fail(mb, error != NULL ? error : "out of memory");
	return -1;
}

/* --dry-run: what the first round would do, from what EXAMINE said. */
static void
mbox_dry_run(struct mbox *mb)
{
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s], *os = mbox_other(ms);
		uint64_t copies = uidset_count(&os->fresh);
		uint64_t gone = uidset_count(&os->vanished);

		if (copies > 0)
			log_info(side_name(s), mb->display,
			         "would add %" PRIu64 " message(s) from %s "
			         "(less any found on both sides)",
			         copies, side_name(os->side));
		if (gone > 0)
			log_info(side_name(s), mb->display,
			         "would remove the pairs of %" PRIu64
			         " message(s) gone from %s",
			         gone, side_name(os->side));
		if (os->modified.count > 0)
			log_info(side_name(s), mb->display,
			         "would update the flags of %zu message(s) "
			         "changed on %s",
			         os->modified.count, side_name(os->side));
	}
}

/* APPLY and CHECK until a CHECK sees nothing foreign, then store the
 * numbers. */
static void
mbox_rounds(struct mbox *mb)
{
	unsigned round;
	bool exact = false;

	for (round = 0; round < SYNC_MAX_ROUNDS; round++) {
		sync_apply(mb);
		if (mb->failed || mb->run->fatal)
			return;
		sync_step("applied");
		mbox_check(mb);
		if (mb->failed || mb->run->fatal)
			return;
		sync_step("checked");
		if (!mb->foreign) {
			exact = true;
			break;
		}
	}
	if (!exact)
		log_warn(NULL, mb->display,
		         "still changing after %d rounds; the next run goes "
		         "on from here",
		         SYNC_MAX_ROUNDS);
	mbox_commit(mb, exact);
}

/* SELECT on both sides and check what they said. */
static int
mbox_select_both(struct mbox *mb)
{
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++)
		mbox_select(&mb->s[s]);
	if (sync_run_wait(mb->run) < 0)
		return -1;
	sync_step("selected");
	for (s = 0; s < SIDE_COUNT; s++) {
		if (mbox_check_select(&mb->s[s]) < 0)
			return -1;
	}
	return 0;
}

int
sync_mailbox(struct sync_run *run, const char *name, size_t len, int64_t idx,
             bool repair)
{
	struct mbox mb;
	unsigned s;
	int ret;

	memset(&mb, 0, sizeof(mb));
	mb.run = run;
	if (mbox_init(&mb, run, name, len, idx) < 0)
		goto out;
	if (repair && mb.s[SIDE_LOCAL].have_row && mb.s[SIDE_REMOTE].have_row) {
		if (mbox_select_both(&mb) < 0 || sync_repair_compare(&mb) < 0 ||
		    sync_match(&mb) < 0 || mbox_drop_intents(&mb) < 0)
			goto out;
		mbox_rounds(&mb);
		goto out;
	}
	if (mbox_select_both(&mb) < 0)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++) {
		if (mbox_first_fresh(&mb.s[s]) < 0)
			goto out;
	}
	if (run->set.dry_run) {
		mbox_dry_run(&mb);
		goto out;
	}
	if (sync_match(&mb) < 0 || mbox_drop_intents(&mb) < 0)
		goto out;
	if (!mbox_has_work(&mb)) {
		/* Only the numbers moved (an expunge of a message we never
		 * knew, a flag set back): store them as SELECT gave them. */
		mbox_commit(&mb, false);
		goto out;
	}
	mbox_rounds(&mb);
out:
	ret = run->fatal ? -2 : mb.failed ? -1 : 0;
	mbox_free(&mb);
	return ret;
}
