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

#include "buf.h"
#include "config.h"
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

#include <sodium.h>

/* A MULTIAPPEND is closed past this many messages or bytes in memory
 * (spilled bodies are read from their file and do not count). */
#define COPY_BATCH_MESSAGES 500
#define COPY_BATCH_BYTES (4 * 1024 * 1024)
/* APPLY/CHECK rounds before giving up on a mailbox that keeps changing
 * (the next run goes on from a consistent state). */
#define SYNC_MAX_ROUNDS 5
/* BLAKE2b of a message's body, recorded with the intent to copy it so a
 * resumed run can tell whether the copy happened. */
#define SYNC_FINGERPRINT_LEN 16
/* Seconds without a byte from either server before giving up. */
#define SYNC_TIMEOUT_MS (300 * 1000)

enum mbox_phase {
	PHASE_SELECT,
	PHASE_APPLY,
	PHASE_CHECK,
};

struct mbox;

/* Messages being copied from one side into a MULTIAPPEND on the other. */
struct copy_batch {
	struct mbox *mb;
	enum side from;
	struct imap_cmd *cmd; /* under construction; NULL once queued */
	uint32_t *uids;       /* source UIDs, in APPEND order */
	char **flags;         /* their canonical flags */
	unsigned char (*fp)[SYNC_FINGERPRINT_LEN]; /* their fingerprints */
	size_t count, alloc;
	size_t bytes;
};

struct mbox_side {
	struct mbox *mb;
	enum side side;
	char *wire; /* the name on this server */

	/* Stored state. */
	bool have_row;
	struct state_side_status row;

	/* What SELECT said. */
	bool select_done, select_ok;
	uint32_t uidvalidity, uidnext;
	uint64_t hms;
	bool nomodseq;
	char select_error[256];

	/* Reported by the server and not handled yet. */
	struct uidset vanished;
	struct flagmap modified;
	struct uidset fresh; /* new UIDs to copy to the other side */
	/* Flags that could not be stored on the other side (MODIFIED):
	 * merged into modified for the next round, so a conflict is seen. */
	struct flagmap carry;

	/* What the sync did on this side, to recognise it in CHECK. */
	struct flagmap expect;
	struct uidset expunged;
	uint64_t max_modseq, hms_seen;
	uint32_t max_uid;

	/* Copy from this side to the other. */
	struct copy_batch *batch;
	unsigned fetches; /* body FETCH commands in flight */
	uint64_t copy_total, copy_done, copy_bytes;
};

struct mbox {
	struct sync_run *run;
	int64_t idx;
	const char *name;
	size_t len;
	char *display;
	enum mbox_phase phase;
	struct mbox_side s[SIDE_COUNT];
	bool failed;
	bool foreign; /* CHECK found changes the sync did not make */
};

static struct sync_server *
mbox_server(struct mbox_side *ms)
{
	return &ms->mb->run->server[ms->side];
}

static struct mbox_side *
mbox_other(struct mbox_side *ms)
{
	return &ms->mb->s[side_other(ms->side)];
}

/* A mailbox-level failure: logged once per message, the run goes on. */
static void
mbox_fail(struct mbox *mb, enum side side, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
mbox_fail(struct mbox *mb, enum side side, const char *fmt, ...)
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
static void
mbox_db_fail(struct mbox *mb, const char *error)
{
	log_error("database", mb->display, "%s", error);
	mb->failed = true;
	mb->run->fatal = true;
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
static const char *
uids_str(const struct uidset *set, struct buf *b)
{
	buf_reset(b);
	if (uidset_format(set, b) < 0)
		return "(too many)";
	return buf_data(b);
}

/* --- Copying new messages --------------------------------------------- */

/* The fingerprint of a body, inline or spilled to a file. */
static int
sync_fingerprint(const struct imap_arg *body,
		 unsigned char out[SYNC_FINGERPRINT_LEN])
{
	crypto_generichash_state st;
	unsigned char chunk[65536];
	uint64_t off = 0;

	crypto_generichash_init(&st, NULL, 0, SYNC_FINGERPRINT_LEN);
	if (body->str != NULL) {
		crypto_generichash_update(&st, (const unsigned char *)body->str,
					  body->len);
	} else {
		while (off < body->len) {
			size_t want = body->len - off < sizeof(chunk)
					      ? (size_t)(body->len - off)
					      : sizeof(chunk);
			ssize_t n = pread(body->fd, chunk, want, (off_t)off);

			if (n <= 0)
				return -1;
			crypto_generichash_update(&st, chunk, (size_t)n);
			off += (uint64_t)n;
		}
	}
	crypto_generichash_final(&st, out, SYNC_FINGERPRINT_LEN);
	return 0;
}

static void copy_batch_free(struct copy_batch **bp);

static void
copy_append_done(struct imap_conn *conn, const struct imap_response *resp,
		 void *ctx)
{
	struct copy_batch *b = ctx;
	struct mbox *mb = b->mb;
	struct mbox_side *from = &mb->s[b->from], *to = mbox_other(from);
	struct uidset tuids = UIDSET_INIT, suids = UIDSET_INIT;
	struct imap_resp_code code;
	struct buf *s1 = NULL, *s2 = NULL;
	const char *error;
	size_t i;

	(void)conn;
	if (resp == NULL)
		goto out; /* the connection failed; sync_run_wait reports it */
	if (resp->status != IMAP_STATUS_OK) {
		/* MULTIAPPEND is all or nothing (RFC 3502): no message of
		 * the batch was added, the intents can go. */
		mbox_fail(mb, to->side, "APPEND of %zu message(s) failed: %s",
			  b->count, resp->text);
		goto drop_intents;
	}
	if (imap_decode_code(resp, &code, &tuids, NULL, &error) < 0 ||
	    code.code != IMAP_CODE_APPENDUID) {
		mbox_fail(mb, to->side,
			  "APPEND gave no APPENDUID: the server must support "
			  "UIDPLUS");
		goto out;
	}
	if (uidset_count(&tuids) != b->count) {
		mbox_fail(mb, to->side,
			  "APPENDUID names %" PRIu64 " UID(s) for %zu "
			  "message(s)",
			  uidset_count(&tuids), b->count);
		goto out;
	}
	if (state_begin(mb->run->state, &error) < 0)
		goto db_error;
	for (i = 0; i < b->count; i++) {
		uint32_t tuid = 0;

		uidset_nth(&tuids, i, &tuid);
		if (state_mapping_add(mb->run->state, mb->idx,
				      b->from == SIDE_LOCAL ? b->uids[i] : tuid,
				      b->from == SIDE_LOCAL ? tuid : b->uids[i],
				      &error) < 0 ||
		    state_pending_remove(mb->run->state, mb->idx, b->from,
					 b->uids[i], &error) < 0) {
			sync_rollback(mb->run->state);
			goto db_error;
		}
		flagmap_set(&to->expect, tuid, b->flags[i], 0);
		uidset_add(&suids, b->uids[i]);
		if (tuid > to->max_uid)
			to->max_uid = tuid;
	}
	if (state_commit(mb->run->state, &error) < 0)
		goto db_error;
	mb->run->copied[to->side] += b->count;
	s1 = buf_create(1 << 20);
	s2 = buf_create(1 << 20);
	if (s1 != NULL && s2 != NULL) {
		if (to->side == SIDE_LOCAL)
			log_info("local", mb->display,
				 "Added %zu UID(s) %s <- %s", b->count,
				 uids_str(&tuids, s1), uids_str(&suids, s2));
		else
			log_info("remote", mb->display,
				 "Added %zu UID(s) %s -> %s", b->count,
				 uids_str(&suids, s1), uids_str(&tuids, s2));
	}
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
	mbox_db_fail(mb, error);
out:
	buf_free(&s1);
	buf_free(&s2);
	uidset_free(&tuids);
	uidset_free(&suids);
	copy_batch_free(&b);
}

static void
copy_batch_free(struct copy_batch **bp)
{
	struct copy_batch *b = *bp;
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->count; i++)
		free(b->flags[i]);
	free(b->flags);
	free(b->fp);
	free(b->uids);
	free(b);
	*bp = NULL;
}

/* Record the intents, then send the MULTIAPPEND. */
static void
copy_flush(struct mbox_side *from)
{
	struct copy_batch *b = from->batch;
	struct mbox *mb = from->mb;
	const char *error;
	size_t i;

	if (b == NULL)
		return;
	from->batch = NULL;
	if (state_begin(mb->run->state, &error) < 0)
		goto db_error;
	for (i = 0; i < b->count; i++) {
		if (state_pending_add(mb->run->state, mb->idx, b->from,
				      b->uids[i], b->fp[i], sizeof(b->fp[i]),
				      &error) < 0) {
			sync_rollback(mb->run->state);
			goto db_error;
		}
	}
	if (state_commit(mb->run->state, &error) < 0)
		goto db_error;
	imap_cmd_end(b->cmd);
	b->cmd = NULL;
	return;
db_error:
	mbox_db_fail(mb, error);
	imap_cmd_abort(b->cmd);
	copy_batch_free(&b);
}

/* A message body arrived from side `from`: add it to the MULTIAPPEND
 * being built for the other side. */
static void
copy_message(struct mbox_side *from, const struct imap_fetch *f)
{
	struct mbox *mb = from->mb;
	struct mbox_side *to = mbox_other(from);
	struct copy_batch *b = from->batch;
	unsigned char fp[SYNC_FINGERPRINT_LEN];
	struct buf *flags;
	char *fl;

	if (f->body->type == IMAP_ARG_NIL || f->body->len == 0) {
		/* APPEND cannot take an empty message (RFC 3502 6.3.11). */
		log_warn(side_name(from->side), mb->display,
			 "Ignoring new 0-length message (UID %" PRIu32 ")",
			 f->uid);
		return;
	}
	if ((f->have & IMAP_FETCH_INTERNALDATE) == 0) {
		mbox_fail(mb, from->side,
			  "FETCH of UID %" PRIu32 " gave no INTERNALDATE",
			  f->uid);
		return;
	}
	if (sync_fingerprint(f->body, fp) < 0) {
		mbox_fail(mb, from->side,
			  "cannot read the spilled body of UID %" PRIu32 ": %s",
			  f->uid, strerror(errno));
		return;
	}
	flags = buf_create(64 * 1024);
	if (flags == NULL ||
	    flags_canonical(f->flags, f->flags_count, flags) < 0) {
		buf_free(&flags);
		mbox_fail(mb, from->side, "bad FLAGS for UID %" PRIu32, f->uid);
		return;
	}
	if (b == NULL) {
		b = calloc(1, sizeof(*b));
		if (b == NULL)
			goto nomem;
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
		from->batch = b;
	}
	if (b->count == b->alloc) {
		size_t n = b->alloc == 0 ? 64 : b->alloc * 2;
		uint32_t *u = realloc(b->uids, n * sizeof(*u));
		char **fv;
		unsigned char(*nfp)[SYNC_FINGERPRINT_LEN];

		if (u == NULL)
			goto nomem;
		b->uids = u;
		fv = realloc(b->flags, n * sizeof(*fv));
		if (fv == NULL)
			goto nomem;
		b->flags = fv;
		nfp = realloc(b->fp, n * sizeof(*nfp));
		if (nfp == NULL)
			goto nomem;
		b->fp = nfp;
		b->alloc = n;
	}
	fl = strdup(buf_data(flags));
	if (fl == NULL)
		goto nomem;
	if (buf_len(flags) > 0)
		imap_cmd_add(b->cmd, " (%a)", fl);
	imap_cmd_add(b->cmd, " %q ", f->internaldate);
	if (f->body->str != NULL) {
		imap_cmd_add(b->cmd, "%L", f->body->str, f->body->len);
		b->bytes += f->body->len;
	} else {
		imap_cmd_add(b->cmd, "%F", f->body->fd,
			     (uint64_t)f->body->len);
	}
	memcpy(b->fp[b->count], fp, sizeof(fp));
	b->uids[b->count] = f->uid;
	b->flags[b->count] = fl;
	b->count++;
	from->copy_done++;
	from->copy_bytes += f->body->len;
	buf_free(&flags);
	log_progress("%s: copying %s: %" PRIu64 "/%" PRIu64 " message(s), "
		     "%" PRIu64 " kB",
		     mb->display, side_name(from->side), from->copy_done,
		     from->copy_total, from->copy_bytes / 1024);
	if (b->count >= COPY_BATCH_MESSAGES || b->bytes >= COPY_BATCH_BYTES)
		copy_flush(from);
	return;
nomem:
	buf_free(&flags);
	mbox_fail(mb, from->side, "out of memory");
	mb->run->fatal = true;
}

/* The source failed: the batch under construction is never sent. */
static void
copy_abort(struct mbox_side *from)
{
	if (from->batch == NULL)
		return;
	imap_cmd_abort(from->batch->cmd);
	copy_batch_free(&from->batch);
}

static void
copy_fetch_done(struct imap_conn *conn, const struct imap_response *resp,
		void *ctx)
{
	struct mbox_side *from = ctx;

	(void)conn;
	from->fetches--;
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		mbox_fail(from->mb, from->side, "UID FETCH failed: %s",
			  resp->text);
	if (from->fetches == 0) {
		if (from->mb->failed)
			copy_abort(from);
		else
			copy_flush(from);
	}
}

/* --- Responses ----------------------------------------------------------- */

/* Whether uid on this side is in the mapping table. */
static bool
mbox_is_mapped(struct mbox_side *ms, uint32_t uid)
{
	uint32_t other;
	const char *error;
	int ret = state_mapping_lookup(ms->mb->run->state, ms->mb->idx,
				       ms->side, uid, &other, &error);

	if (ret < 0) {
		mbox_db_fail(ms->mb, error);
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
		mbox_fail(mb, ms->side, "bad FETCH response: %s", error);
		return;
	}
	if ((f.have & IMAP_FETCH_UID) == 0)
		return; /* not about a message we can name */
	if ((f.have & IMAP_FETCH_BODY) != 0) {
		if (mb->phase == PHASE_APPLY &&
		    uidset_contains(&ms->fresh, f.uid))
			copy_message(ms, &f);
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
		mbox_fail(mb, ms->side, "bad FLAGS for UID %" PRIu32, f.uid);
		return;
	}
	if (mb->phase == PHASE_SELECT) {
		/* A message new since the stored UIDNEXT is copied, not
		 * updated. */
		if (f.uid < ms->row.uidnext || mbox_is_mapped(ms, f.uid))
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
	if (f.uid < ms->uidnext || e != NULL || mbox_is_mapped(ms, f.uid))
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
		mbox_fail(mb, ms->side, "bad VANISHED response: %s", error);
		return;
	}
	if (mb->phase == PHASE_SELECT) {
		for (i = 0; i < uids.n; i++)
			uidset_add_range(&ms->vanished, uids.r[i].lo,
					 uids.r[i].hi);
	} else if (mb->phase == PHASE_CHECK) {
		uint64_t n, k = uidset_count(&uids);
		uint32_t uid;

		for (n = 0; n < k && uidset_nth(&uids, n, &uid); n++) {
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
		mbox_fail(ms->mb, ms->side, "bad response code: %s", error);
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

	if (ms->have_row && ms->row.highestmodseq > 0 &&
	    ms->row.uidvalidity > 0)
		imap_conn_cmd(conn, mbox_select_done, ms,
			      "SELECT %s (QRESYNC (%u %U))", ms->wire,
			      ms->row.uidvalidity, ms->row.highestmodseq);
	else
		imap_conn_cmd(conn, mbox_select_done, ms, "SELECT %s",
			      ms->wire);
}

/* After SELECT: may the mailbox be synced? */
static int
mbox_check_select(struct mbox_side *ms)
{
	struct mbox *mb = ms->mb;

	if (!ms->select_ok) {
		mbox_fail(mb, ms->side, "cannot select mailbox: %s",
			  ms->select_error[0] != '\0' ? ms->select_error
						      : "connection lost");
		return -1;
	}
	if (ms->nomodseq || ms->hms == 0) {
		mbox_fail(mb, ms->side,
			  "the mailbox does not keep MODSEQs (NOMODSEQ): it "
			  "cannot be synchronized statefully");
		return -1;
	}
	if (ms->uidvalidity == 0 || ms->uidnext == 0) {
		mbox_fail(mb, ms->side,
			  "SELECT gave no UIDVALIDITY or UIDNEXT");
		return -1;
	}
	if (ms->have_row && ms->row.uidvalidity != 0 &&
	    ms->row.uidvalidity != ms->uidvalidity) {
		mbox_fail(mb, ms->side,
			  "UIDVALIDITY changed (was %" PRIu32 ", now %" PRIu32
			  "): the stored UIDs mean nothing any more. Skipping "
			  "it; to sync it afresh, copying its messages again, "
			  "run `imapsync --target=database --delete %s`",
			  ms->row.uidvalidity, ms->uidvalidity, mb->display);
		return -1;
	}
	return 0;
}

/* --- APPLY ------------------------------------------------------------------ */

/* A UID STORE or EXPUNGE over a set: context for its completion. */
struct set_cmd {
	struct mbox_side *ms; /* the side the command runs on */
	struct uidset uids;
	char *flags;	   /* STORE: the flags set */
	uint32_t *partner; /* STORE: the other side's UID, by position */
	bool last;	   /* EXPUNGE: the last chunk */
};

static void
set_cmd_free(struct set_cmd *sc)
{
	uidset_free(&sc->uids);
	free(sc->flags);
	free(sc->partner);
	free(sc);
}

static void
expunge_done(struct imap_conn *conn, const struct imap_response *resp,
	     void *ctx)
{
	struct set_cmd *sc = ctx;
	struct mbox_side *ms = sc->ms;
	struct mbox *mb = ms->mb;
	struct buf *s = NULL;
	const char *error;
	uint64_t n, k;
	uint32_t uid;

	(void)conn;
	if (resp == NULL)
		goto out;
	if (resp->status != IMAP_STATUS_OK) {
		mbox_fail(mb, ms->side, "UID EXPUNGE failed: %s", resp->text);
		goto out;
	}
	/* Only now may the pairs go: a crash before leaves them, and the
	 * next run expunges again. */
	if (state_begin(mb->run->state, &error) < 0)
		goto db_error;
	k = uidset_count(&sc->uids);
	for (n = 0; n < k && uidset_nth(&sc->uids, n, &uid); n++) {
		if (state_mapping_remove(mb->run->state, mb->idx, ms->side, uid,
					 &error) < 0) {
			sync_rollback(mb->run->state);
			goto db_error;
		}
		uidset_add(&ms->expunged, uid);
	}
	if (state_commit(mb->run->state, &error) < 0)
		goto db_error;
	mb->run->expunged[ms->side] += k;
	s = buf_create(1 << 20);
	if (s != NULL)
		log_info(side_name(ms->side), mb->display,
			 "Removed %" PRIu64 " UID(s) %s", k,
			 uids_str(&sc->uids, s));
	goto out;
db_error:
	mbox_db_fail(mb, error);
out:
	buf_free(&s);
	set_cmd_free(sc);
}

static void
ignore_done(struct imap_conn *conn, const struct imap_response *resp,
	    void *ctx)
{
	struct mbox_side *ms = ctx;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		mbox_fail(ms->mb, ms->side, "%s", resp->text);
}

/* Expunge uids (normalized) on ms: STORE \Deleted and UID EXPUNGE, one
 * pair of commands per chunk of the set, all pipelined. */
static void
apply_expunge(struct mbox_side *ms, const struct uidset *uids)
{
	struct imap_conn *conn = mbox_server(ms)->conn;
	size_t pos = 0, i;

	while (pos < uids->n) {
		struct set_cmd *sc = calloc(1, sizeof(*sc));
		size_t start = pos;
		struct buf *b = buf_create(IMAP_MAX_UIDSET_CMD * 2);

		if (sc == NULL || b == NULL ||
		    uidset_format_chunk(uids, &pos, IMAP_MAX_UIDSET_CMD, b) ==
			    0) {
			free(sc);
			buf_free(&b);
			mbox_fail(ms->mb, ms->side, "out of memory");
			return;
		}
		sc->ms = ms;
		uidset_init(&sc->uids);
		for (i = start; i < pos; i++)
			uidset_add_range(&sc->uids, uids->r[i].lo,
					 uids->r[i].hi);
		imap_conn_cmd(conn, ignore_done, ms,
			      "UID STORE %a +FLAGS.SILENT (\\Deleted)",
			      buf_data(b));
		imap_conn_cmd(conn, expunge_done, sc, "UID EXPUNGE %a",
			      buf_data(b));
		buf_free(&b);
	}
}

/* Vanished on one side: expunge the partners on the other. */
static void
apply_vanished(struct mbox *mb)
{
	struct uidset remove[SIDE_COUNT] = {UIDSET_INIT, UIDSET_INIT};
	struct state *st = mb->run->state;
	const char *error;
	unsigned s;

	if (state_begin(st, &error) < 0)
		goto db_error;
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s], *os = mbox_other(ms);
		uint64_t n, k, unmatched = 0;
		uint32_t uid, partner;

		uidset_normalize(&ms->vanished);
		k = uidset_count(&ms->vanished);
		for (n = 0; n < k && uidset_nth(&ms->vanished, n, &uid); n++) {
			int ret = state_mapping_lookup(st, mb->idx, ms->side,
						       uid, &partner, &error);

			flagmap_remove(&ms->modified, uid);
			if (ret < 0)
				goto db_error_rollback;
			if (ret == 0) {
				if (uid < ms->row.uidnext)
					unmatched++;
				continue;
			}
			flagmap_remove(&os->modified, partner);
			if (uidset_contains(&os->vanished, partner)) {
				/* Gone on both sides: only the pair left. */
				if (state_mapping_remove(st, mb->idx, ms->side,
							 uid, &error) < 0)
					goto db_error_rollback;
				continue;
			}
			uidset_add(&remove[os->side], partner);
		}
		if (unmatched > 0)
			log_warn(side_name(os->side), mb->display,
				 "No match for %" PRIu64
				 " vanished %s UID(s). Ignoring.",
				 unmatched, side_name(ms->side));
	}
	if (state_commit(st, &error) < 0)
		goto db_error;
	for (s = 0; s < SIDE_COUNT; s++) {
		uidset_normalize(&remove[s]);
		if (remove[s].n > 0)
			apply_expunge(&mb->s[s], &remove[s]);
		uidset_clear(&mb->s[s].vanished);
		uidset_free(&remove[s]);
	}
	return;
db_error_rollback:
	sync_rollback(st);
db_error:
	mbox_db_fail(mb, error);
	for (s = 0; s < SIDE_COUNT; s++)
		uidset_free(&remove[s]);
}

static void
store_done(struct imap_conn *conn, const struct imap_response *resp,
	   void *ctx)
{
	struct set_cmd *sc = ctx;
	struct mbox_side *ms = sc->ms, *os = mbox_other(ms);
	struct mbox *mb = ms->mb;
	struct uidset modified = UIDSET_INIT, done = UIDSET_INIT;
	struct imap_resp_code code;
	struct buf *s = NULL;
	const char *error;
	uint64_t n, k;
	uint32_t uid;

	(void)conn;
	if (resp == NULL)
		goto out;
	if (resp->status != IMAP_STATUS_OK) {
		mbox_fail(mb, ms->side, "UID STORE failed: %s", resp->text);
		goto out;
	}
	if (imap_decode_code(resp, &code, &modified, NULL, &error) < 0) {
		mbox_fail(mb, ms->side, "bad STORE response: %s", error);
		goto out;
	}
	if (code.code != IMAP_CODE_MODIFIED)
		uidset_clear(&modified);
	k = uidset_count(&sc->uids);
	for (n = 0; n < k && uidset_nth(&sc->uids, n, &uid); n++) {
		if (uidset_contains(&modified, uid)) {
			/* Changed meanwhile: keep what the other side asked
			 * for, so the next round sees a conflict. */
			flagmap_set(&os->carry, sc->partner[n], sc->flags, 0);
			flagmap_remove(&ms->expect, uid);
			continue;
		}
		uidset_add(&done, uid);
	}
	mb->run->flagged[ms->side] += uidset_count(&done);
	s = buf_create(1 << 20);
	if (s != NULL && done.n > 0)
		log_info(side_name(ms->side), mb->display,
			 "Updated flags (%s) for UID %s", sc->flags,
			 uids_str(&done, s));
	if (s != NULL && modified.n > 0)
		log_info(side_name(ms->side), mb->display,
			 "Couldn't update flags (%s) for UID %s, will try "
			 "again later",
			 sc->flags, uids_str(&modified, s));
out:
	buf_free(&s);
	uidset_free(&modified);
	uidset_free(&done);
	set_cmd_free(sc);
}

/* One group of messages on one side to be set to one flag list. */
struct flag_group {
	char *flags;
	uint32_t *uids, *partners;
	size_t count, alloc;
};

struct flag_groups {
	struct flag_group *g;
	size_t count, alloc;
};

static int
flag_groups_add(struct flag_groups *gs, const char *flags, uint32_t uid,
		uint32_t partner)
{
	struct flag_group *g = NULL;
	size_t i;

	for (i = 0; i < gs->count; i++) {
		if (strcmp(gs->g[i].flags, flags) == 0) {
			g = &gs->g[i];
			break;
		}
	}
	if (g == NULL) {
		if (gs->count == gs->alloc) {
			size_t n = gs->alloc == 0 ? 8 : gs->alloc * 2;
			struct flag_group *ng =
				realloc(gs->g, n * sizeof(*ng));

			if (ng == NULL)
				return -1;
			gs->g = ng;
			gs->alloc = n;
		}
		g = &gs->g[gs->count];
		memset(g, 0, sizeof(*g));
		g->flags = strdup(flags);
		if (g->flags == NULL)
			return -1;
		gs->count++;
	}
	if (g->count == g->alloc) {
		size_t n = g->alloc == 0 ? 16 : g->alloc * 2;
		uint32_t *u = realloc(g->uids, n * sizeof(*u)), *p;

		if (u == NULL)
			return -1;
		g->uids = u;
		p = realloc(g->partners, n * sizeof(*p));
		if (p == NULL)
			return -1;
		g->partners = p;
		g->alloc = n;
	}
	g->uids[g->count] = uid;
	g->partners[g->count] = partner;
	g->count++;
	return 0;
}

static void
flag_groups_free(struct flag_groups *gs)
{
	size_t i;

	for (i = 0; i < gs->count; i++) {
		free(gs->g[i].flags);
		free(gs->g[i].uids);
		free(gs->g[i].partners);
	}
	free(gs->g);
	memset(gs, 0, sizeof(*gs));
}

struct uid_pair {
	uint32_t uid, partner;
};

static int
uid_pair_cmp(const void *a, const void *b)
{
	const struct uid_pair *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Send one group: UID STORE (UNCHANGEDSINCE m) FLAGS.SILENT, split so no
 * set passes IMAP_MAX_UIDSET_CMD. */
static int
apply_store_group(struct mbox_side *ms, struct flag_group *g)
{
	struct imap_conn *conn = mbox_server(ms)->conn;
	struct uid_pair *pairs = calloc(g->count, sizeof(*pairs));
	size_t i = 0;

	if (pairs == NULL)
		return -1;
	for (i = 0; i < g->count; i++) {
		pairs[i].uid = g->uids[i];
		pairs[i].partner = g->partners[i];
		flagmap_set(&ms->expect, g->uids[i], g->flags, 0);
	}
	qsort(pairs, g->count, sizeof(*pairs), uid_pair_cmp);
	i = 0;
	while (i < g->count) {
		struct set_cmd *sc = calloc(1, sizeof(*sc));
		struct buf *b = buf_create(IMAP_MAX_UIDSET_CMD * 2);
		size_t n = 0;
		uint64_t since = ms->hms;

		if (sc == NULL || b == NULL)
			goto nomem;
		sc->ms = ms;
		uidset_init(&sc->uids);
		sc->flags = strdup(g->flags);
		sc->partner = calloc(g->count, sizeof(uint32_t));
		if (sc->flags == NULL || sc->partner == NULL)
			goto nomem;
		/* Take UIDs while the formatted set stays short. */
		for (; i < g->count; i++) {
			if (uidset_add(&sc->uids, pairs[i].uid) < 0)
				goto nomem;
			sc->partner[n++] = pairs[i].partner;
			if (sc->uids.n * 22 > IMAP_MAX_UIDSET_CMD) {
				i++;
				break;
			}
		}
		if (uidset_format(&sc->uids, b) < 0)
			goto nomem;
		/* After a CHECK, every change up to the highest MODSEQ it
		 * saw is accounted for, our own STOREs included. */
		if (ms->max_modseq > since)
			since = ms->max_modseq;
		if (ms->hms_seen > since)
			since = ms->hms_seen;
		imap_conn_cmd(conn, store_done, sc,
			      "UID STORE %a (UNCHANGEDSINCE %U) FLAGS.SILENT "
			      "(%a)",
			      buf_data(b), since, g->flags);
		buf_free(&b);
		continue;
	nomem:
		if (sc != NULL)
			set_cmd_free(sc);
		buf_free(&b);
		free(pairs);
		return -1;
	}
	free(pairs);
	return 0;
}

/* Flag changes: each side's to the other, conflicts to the union of
 * both lists on both sides, one STORE per distinct list. */
static void
apply_modified(struct mbox *mb)
{
	struct flag_groups groups[SIDE_COUNT] = {{NULL, 0, 0}, {NULL, 0, 0}};
	struct state *st = mb->run->state;
	struct buf *u = buf_create(64 * 1024);
	const char *error;
	unsigned s;

	if (u == NULL)
		goto nomem;
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];
		struct flagmap_entry *e;
		size_t pos = 0;

		/* Flags MODIFIED refused last round, unless newer news. */
		while ((e = flagmap_next(&ms->carry, &pos)) != NULL) {
			if (flagmap_get(&ms->modified, e->uid) == NULL)
				flagmap_set(&ms->modified, e->uid, e->flags,
					    e->modseq);
		}
		flagmap_clear(&ms->carry);
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s], *os = mbox_other(ms);
		struct flagmap_entry *e, *oe;
		size_t pos = 0;
		uint32_t partner;
		int ret;

		while ((e = flagmap_next(&ms->modified, &pos)) != NULL) {
			ret = state_mapping_lookup(st, mb->idx, ms->side,
						   e->uid, &partner, &error);
			if (ret < 0)
				goto db_error;
			if (ret == 0) {
				log_warn(side_name(os->side), mb->display,
					 "No match for modified %s UID %" PRIu32
					 ". Try '--repair'.",
					 side_name(ms->side), e->uid);
				continue;
			}
			oe = flagmap_get(&os->modified, partner);
			if (oe == NULL) {
				if (flag_groups_add(&groups[os->side], e->flags,
						    partner, e->uid) < 0)
					goto nomem;
				continue;
			}
			/* Both changed: handled once, from local. */
			if (ms->side != SIDE_LOCAL ||
			    flags_equal(e->flags, oe->flags))
				continue;
			buf_reset(u);
			if (flags_union(e->flags, oe->flags, u) < 0)
				goto nomem;
			log_warn(NULL, NULL,
				 "Conflicting flag update in %s for local UID "
				 "%" PRIu32 " (%s) and remote UID %" PRIu32
				 " (%s). Setting both to the union (%s).",
				 mb->display, e->uid, e->flags, partner,
				 oe->flags, buf_data(u));
			if (flag_groups_add(&groups[ms->side], buf_data(u),
					    e->uid, partner) < 0 ||
			    flag_groups_add(&groups[os->side], buf_data(u),
					    partner, e->uid) < 0)
				goto nomem;
		}
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		size_t i;

		for (i = 0; i < groups[s].count; i++) {
			if (apply_store_group(&mb->s[s], &groups[s].g[i]) < 0)
				goto nomem;
		}
		flagmap_clear(&mb->s[s].modified);
	}
	goto out;
db_error:
	mbox_db_fail(mb, error);
	goto out;
nomem:
	mbox_fail(mb, SIDE_LOCAL, "out of memory");
	mb->run->fatal = true;
out:
	buf_free(&u);
	for (s = 0; s < SIDE_COUNT; s++)
		flag_groups_free(&groups[s]);
}

/* New messages: UID FETCH their bodies, split by set size; each body is
 * streamed into the MULTIAPPEND on the other side as it arrives. */
static void
apply_copy(struct mbox_side *ms)
{
	struct imap_conn *conn = mbox_server(ms)->conn;
	size_t pos = 0;

	uidset_normalize(&ms->fresh);
	ms->copy_total += uidset_count(&ms->fresh);
	while (pos < ms->fresh.n) {
		struct buf *b = buf_create(IMAP_MAX_UIDSET_CMD * 2);

		if (b == NULL ||
		    uidset_format_chunk(&ms->fresh, &pos, IMAP_MAX_UIDSET_CMD,
					b) == 0) {
			buf_free(&b);
			mbox_fail(ms->mb, ms->side, "out of memory");
			return;
		}
		ms->fetches++;
		imap_conn_cmd(conn, copy_fetch_done, ms,
			      "UID FETCH %a (UID MODSEQ FLAGS INTERNALDATE "
			      "BODY.PEEK[])",
			      buf_data(b));
		buf_free(&b);
	}
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
		mbox_db_fail(mb, error);
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
mbox_apply(struct mbox *mb)
{
	unsigned s;

	mb->phase = PHASE_APPLY;
	apply_vanished(mb);
	if (!mb->failed)
		apply_modified(mb);
	for (s = 0; s < SIDE_COUNT && !mb->failed; s++)
		apply_copy(&mb->s[s]);
	/* A FETCH must not outrun the APPEND it feeds. */
	for (s = 0; s < SIDE_COUNT; s++)
		imap_conn_throttle(mb->run->server[s].conn,
				   mb->run->server[side_other(s)].conn);
	sync_run_wait(mb->run);
	for (s = 0; s < SIDE_COUNT; s++) {
		imap_conn_throttle(mb->run->server[s].conn, NULL);
		uidset_clear(&mb->s[s].fresh);
	}
	log_progress_end();
}

static void
check_done(struct imap_conn *conn, const struct imap_response *resp,
	   void *ctx)
{
	struct mbox_side *ms = ctx;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		mbox_fail(ms->mb, ms->side, "UID FETCH (CHANGEDSINCE) failed: %s",
			  resp->text);
}

static void
mbox_check(struct mbox *mb)
{
	unsigned s;

	mb->phase = PHASE_CHECK;
	mb->foreign = false;
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];

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
	return;
db_error:
	mbox_db_fail(mb, error);
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
		if (ms->batch != NULL) {
			imap_cmd_abort(ms->batch->cmd);
			copy_batch_free(&ms->batch);
		}
		imap_conn_set_untagged(mb->run->server[s].conn, NULL, NULL);
	}
	free(mb->display);
}

static int
mbox_init(struct mbox *mb, struct sync_run *run, const char *name,
	  size_t len, int64_t idx)
{
	const char *error;
	unsigned s;

	memset(mb, 0, sizeof(*mb));
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
		ms->wire = sync_wire_name(&run->server[s], name, len);
		if (ms->wire == NULL)
			return -1;
		ret = state_status_get(run->state, idx, s, &ms->row, &error);
		if (ret < 0) {
			mbox_db_fail(mb, error);
			return -1;
		}
		ms->have_row = ret > 0;
		imap_conn_set_untagged(run->server[s].conn, mbox_untagged, ms);
	}
	return 0;
}

int
sync_mailbox(struct sync_run *run, const char *name, size_t len, int64_t idx)
{
	struct mbox mb;
	unsigned s, round;
	bool exact = false;
	int ret;

	if (mbox_init(&mb, run, name, len, idx) < 0) {
		mbox_free(&mb);
		return run->fatal ? -2 : -1;
	}
	for (s = 0; s < SIDE_COUNT; s++)
		mbox_select(&mb.s[s]);
	if (sync_run_wait(run) < 0)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++) {
		if (mbox_check_select(&mb.s[s]) < 0)
			goto out;
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		if (mbox_first_fresh(&mb.s[s]) < 0)
			goto out;
	}
	if (!mbox_has_work(&mb)) {
		/* Only the numbers moved (an expunge of a message we never
		 * knew, a flag set back): store them as SELECT gave them. */
		mbox_commit(&mb, false);
		goto out;
	}
	for (round = 0; round < SYNC_MAX_ROUNDS; round++) {
		mbox_apply(&mb);
		if (mb.failed || run->fatal)
			goto out;
		mbox_check(&mb);
		if (mb.failed || run->fatal)
			goto out;
		if (!mb.foreign) {
			exact = true;
			break;
		}
	}
	if (!exact)
		log_warn(NULL, mb.display,
			 "still changing after %d rounds; the next run goes "
			 "on from here",
			 SYNC_MAX_ROUNDS);
	mbox_commit(&mb, exact);
out:
	ret = run->fatal ? -2 : mb.failed ? -1 : 0;
	mbox_free(&mb);
	return ret;
}
