/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the parts of the sync engine share: the state of each mailbox
 * being synced. Three layers:
 *
 * - the driver, sync.c: the flights of every mailbox's steps, the
 *   rounds, the brake, the commit, the dry run;
 * - the commands in a mailbox, sync-cmd.c: epochs, selections, held
 *   commands, and the routing of untagged replies to the step that
 *   asked;
 * - the steps (struct sync_phase), a file each: sync-select.c (SELECT),
 *   sync-scan.c (SCAN: --repair, --verify, a side that went back),
 *   sync-match.c (SIZES and MATCH) with sync-move.c (moves found by
 *   key), sync-apply.c (APPLY: expunges and flags) with sync-copy.c
 *   (copies) and sync-merge.c (flag conflicts), sync-check.c (CHECK).
 *
 * Besides: sync-names.c (mailbox names), sync-trace.c (the decision
 * trace, --debug=sync), sync-step.c (test hooks). */
#ifndef CLIENT_SYNC_PRIVATE_H
#define CLIENT_SYNC_PRIVATE_H

#include "flagmap.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "log.h"
#include "state.h"
#include "sync.h"
#include "uidset.h"
#include "xmalloc.h"

#include <stdarg.h>

struct buf;
struct imap_cmd;

/* A MULTIAPPEND is closed past this many messages or bytes in memory
 * (spilled bodies are read from their file and do not count). */
#define COPY_BATCH_MESSAGES 500
#define COPY_BATCH_BYTES (4 * 1024 * 1024)
/* APPLY/CHECK rounds before giving up on a mailbox that keeps changing
 * (the next run goes on from a consistent state). */
#define SYNC_MAX_ROUNDS 5
/* New messages up to which the first SELECT's flight asks their sizes
 * (~35 bytes each), rather than selecting again if MATCH or a move needs
 * them. */
#define SYNC_EARLY_SIZES 100

struct imap_fetch;
struct imap_resp_code;
struct mbox;
struct sync_held;
struct sync_phase;

struct sync_size {
	uint32_t uid, size;
};

/* What identifies a message across servers (sync-match.c). */
#define SYNC_KEY_LEN 16
struct sync_ident {
	uint32_t uid;
	uint32_t size; /* RFC822.SIZE, in the key too */
	unsigned char key[SYNC_KEY_LEN];
	char *flags;
	uint64_t modseq;
	bool taken; /* MATCH paired it */
	/* No Message-ID: the key is the size and INTERNALDATE only, which
	 * two different messages may share; it names no move. */
	bool weak;
};

/* A [COPYUID uidvalidity src dst] response code. */
struct sync_copyuid {
	struct sync_copyuid *next;
	uint32_t uidvalidity;
	struct uidset src, dst;
};

/* A message to move on one side (sync-move.c): its pair on the other
 * side was moved there. */
struct sync_move {
	uint32_t uid;       /* here, in the mailbox it leaves */
	struct mbox *to;    /* the mailbox it goes to */
	uint32_t other_uid; /* its pair, already in to on the other side */
	uint32_t size;
	char *flags, *other_flags;
	/* Its flags changed here since the last sync, as the twin was
	 * moved there: both sides' changes meet, as in a flag conflict. */
	bool changed;
	bool queued;
};

/* Messages being copied from one side into a MULTIAPPEND on the other. */
struct copy_batch {
	struct mbox *mb;
	enum side from;
	struct imap_cmd *cmd;     /* under construction; NULL once queued */
	struct sync_epoch *epoch; /* once queued, until answered */
	uint32_t *uids;           /* source UIDs, in APPEND order */
	uint32_t *sizes;          /* their sizes */
	char **flags;             /* their canonical flags */
	size_t count, alloc;
	size_t bytes;
};

/* What SELECT's step keeps of the first SELECT's answer (sync-select.c). */
struct sync_first {
	bool done, ok;
	char error[256];
};

/* SCAN's (sync-scan.c): every message on this side, and what SELECT
 * said vanished since the last run (an expunge, not a loss). */
struct sync_scan_side {
	struct flagmap all;
	struct uidset was_vanished;
};

/* SIZES' and MATCH's (sync-match.c). */
struct sync_match_side {
	/* The sizes of fresh and move.want messages; only those whose
	 * size is on the other side can pair, and get keys. */
	struct sync_size *sizes;
	size_t sizes_count, sizes_alloc;
	struct uidset size_want; /* asked by MATCH and moves, one FETCH */
	struct uidset sized;     /* in sizes since the first SELECT's flight */
	/* The keys of the fresh messages. */
	struct sync_ident *idents;
	size_t idents_count, idents_alloc;
};

/* The moves (sync-move.c): found in MATCH, made in APPLY. */
struct sync_move_side {
	/* The keys of the pairs of what vanished on the other side. */
	struct uidset want;
	struct sync_ident *idents;
	size_t idents_count, idents_alloc;
	/* The moves found. */
	struct sync_move *list;
	size_t count, alloc;
	/* The untagged [COPYUID]s that UID MOVEs sent (RFC 6851), oldest
	 * first, until the MOVE whose UIDs they name takes them: several
	 * MOVEs in flight may each have theirs before the first is
	 * answered, and a server may split one MOVE's. */
	struct sync_copyuid *copyuids;
};

/* A round's, APPLY and its CHECK (sync-apply.c, sync-check.c): what the
 * sync did on this side, to recognise it, and what its selection saw. */
struct sync_round_side {
	bool touched; /* this round changed something here: CHECK it */
	struct flagmap expect;
	/* The same for the messages appended here, by runs of UIDs. */
	struct flagruns appended;
	/* APPLY selects with QRESYNC from hms, so the server reports what
	 * changed since, and, while selected, every change as it is made:
	 * the selection is the CHECK when all of this round's changes
	 * here went through it and the message count adds up (base at
	 * SELECT, less what vanished since, plus what was appended,
	 * gives the last EXISTS, less what vanished after it: a VANISHED
	 * counts down without an EXISTS, RFC 7162 3.2.10, and neither
	 * Dovecot nor Cyrus sends one). */
	bool sel;        /* selected so in this APPLY flight */
	bool ro;         /* by EXAMINE: no STORE or EXPUNGE there */
	bool need_check; /* changed outside the selection (moved in) */
	bool exists;     /* an EXISTS came with the SELECT */
	/* An APPEND was answered without [HIGHESTMODSEQ]: the appended
	 * messages' MODSEQs are not covered (Dovecot leaves it out when
	 * it reports only EXISTS). */
	bool unsure;
	/* UIDs this flight STOREs: what the SELECT reports of them is the
	 * state before (UNCHANGEDSINCE catches a change by others). */
	struct uidset storing;
	uint32_t base, last;
	uint64_t gone, added;
	uint64_t gone_last; /* gone at the last EXISTS */
	struct uidset expunged;
	/* Of expunged, what the selection reported vanished. */
	struct uidset expunged_seen;
	uint64_t max_modseq, hms_seen;
	uint32_t max_uid, uidnext_seen;
};

/* Commands of an APPLY flight kept until the first APPEND here
 * (sync_cmd_step() in sync-cmd.c), oldest first. */
struct sync_hold {
	bool on;
	struct sync_held *head, **tail;
};

/* Copies from this side to the other (sync-copy.c). */
struct sync_copy_side {
	struct copy_batch *batch;
	unsigned fetches; /* body FETCH commands in flight */
};

/* One side of a mailbox being synced: what every step needs, and a
 * part of its own for each step (its file's, made and freed by its
 * struct sync_phase's side_init/side_free). */
struct mbox_side {
	struct mbox *mb;
	enum side side;
	char *wire; /* the name on this server */

	/* --dry-run: the mailbox is not there yet (the real run would
	 * have created it): empty, never selected. */
	bool absent;

	/* Stored state. */
	bool have_row;
	struct state_side_status row;

	/* What the first SELECT said (after the scan, for a side that
	 * went back, what its messages showed). */
	uint32_t uidvalidity, uidnext;
	uint64_t hms;
	bool nomodseq;
	/* The mailbox is selected for this step's commands. */
	bool step_selected;

	/* Reported by the server and not handled yet. */
	struct uidset vanished;
	struct flagmap modified;
	struct uidset fresh; /* new UIDs to copy to the other side */
	struct uidset found; /* new UIDs APPLY's selection reported */
	/* Flags that could not be stored on the other side (MODIFIED):
	 * merged into modified for the next round, so a conflict is seen. */
	struct flagmap carry;
	/* What a killed run's expunge left flagged \Deleted here (the
	 * expunging table): that flag is the sync's, not shown as a
	 * change by any step; the SELECT step takes it off, or finishes
	 * the expunge. */
	struct uidset undelete;
	uint64_t undelete_modseq; /* the highest MODSEQ SELECT saw of them */

	struct sync_first first;
	struct sync_scan_side scan;
	struct sync_match_side match;
	struct sync_move_side move;
	struct sync_round_side round;
	struct sync_hold hold;
	struct sync_copy_side copy;
};

struct mbox {
	struct sync_run *run;
	int64_t idx;
	const char *name;
	size_t len;
	char *display;
	const struct sync_phase *phase; /* the step it is in (sync.c) */
	struct mbox_side s[SIDE_COUNT];
	bool failed;
	bool foreign; /* CHECK found changes the sync did not make */
	bool active;  /* still has rounds to go */
	bool move_in; /* messages are moved in: CHECK it before storing */
	bool repair;  /* --repair compares every message: MATCH pairs all */
	bool resumed; /* compared in full after a stopped first sync */
	/* UIDVALIDITY changed on recover_side: the pairs are made again
	 * by content, if every message there is found on the other side. */
	bool recover;
	enum side recover_side;
	/* HIGHESTMODSEQ or UIDNEXT went back on that side under the same
	 * UIDVALIDITY (an index lost): the stored numbers say nothing of
	 * what changed, so the mailbox is compared in full (sync-scan.c)
	 * and flags that differ are merged, never taken from one side. */
	bool went_back[SIDE_COUNT];
	/* The flags this round's STOREs set on a pair, by local UID, with
	 * in modseq how many of its STOREs are not answered yet
	 * (SYNC_SETTLE_FAILED once one was refused): when the last is
	 * answered, both sides hold them and they go to synced. */
	struct flagmap settling;
	/* Pairs whose two sides hold the same flags now, by local UID:
	 * their base for the next conflict (sync-apply.c), written with
	 * the mailbox's numbers. */
	struct flagmap synced;
};
#define SYNC_SETTLE_FAILED UINT64_MAX

/* A command in flight that runs in a mailbox: the server works through
 * commands in order and a SELECT waits for those before it, so untagged
 * responses belong to the mailbox of the oldest such command not yet
 * answered (APPEND, which names its mailbox, is not one). */
struct sync_epoch {
	struct sync_epoch *next;
	struct sync_server *srv;
	struct mbox_side *ms;
	/* The step that sent it: its untagged answers go there. */
	const struct sync_phase *phase;
	imap_cmd_fn *cb;
	void *ctx;
	bool select;     /* a SELECT: its untagged answers describe ms */
	bool saw_modseq; /* an untagged [HIGHESTMODSEQ] came with it */
	bool done;
};

/* A step of the sync: one flight of commands for every mailbox, run by
 * the driver (sync.c), its code and state in a file of its own. Each
 * command carries the step that queued it (sync_cmd()), and the server's
 * untagged answers to it come to that step's handlers, decoded
 * (sync-cmd.c), whatever step the mailbox has reached by then: a step
 * reads only the replies to what it asked. A NULL handler ignores them. */
struct sync_phase {
	const char *name; /* "SELECT", ...: the trace's */
	/* A FETCH that names a UID; in_select: it answers a SELECT. */
	void (*fetch)(struct mbox_side *ms, const struct imap_fetch *f,
	              bool in_select);
	/* A VANISHED (normalized); earlier: (EARLIER), in a SELECT. */
	void (*vanished)(struct mbox_side *ms, const struct uidset *uids,
	                 bool earlier);
	/* [UIDNEXT] and [HIGHESTMODSEQ], untagged (and in the first
	 * SELECT's tagged OK). */
	void (*numbers)(struct mbox_side *ms,
	                const struct imap_resp_code *code);
	/* EXISTS. */
	void (*exists)(struct mbox_side *ms, uint32_t count, bool in_select);
	/* A tagged OK's [HIGHESTMODSEQ] (UID EXPUNGE, FETCH). */
	void (*tagged_modseq)(struct mbox_side *ms, uint64_t modseq);
	/* A mailbox enters the step (mbox_step()), before it queues
	 * anything: what the step starts from. */
	void (*start)(struct mbox *mb);
	/* Make and free the step's part of a side (struct mbox_side), once
	 * a mailbox, by the driver's table (sync.c). */
	void (*side_init)(struct mbox_side *ms);
	void (*side_free)(struct mbox_side *ms);
};

/* The steps, each in its file: SELECT (sync-select.c), SCAN
 * (sync-scan.c, --repair and a side that went back), SIZES and MATCH
 * (sync-match.c), APPLY (sync-apply.c), CHECK (sync-check.c). */
extern const struct sync_phase sync_phase_select, sync_phase_scan,
    sync_phase_sizes, sync_phase_match, sync_phase_apply, sync_phase_check;

static inline struct sync_server *
mbox_server(struct mbox_side *ms)
{
	return &ms->mb->run->server[ms->side];
}

static inline struct mbox_side *
mbox_other(struct mbox_side *ms)
{
	return &ms->mb->s[side_other(ms->side)];
}

/* A mailbox-level failure: logged, the mailbox is left as it is and the
 * run goes on with the others. */
void sync_fail(struct mbox *mb, enum side side, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A database failure: fatal for the run. */
void sync_db_fail(struct mbox *mb, const char *error);
/* One of ms's sets of UIDs would pass IMAP_MAX_UIDSET_RANGES: the
 * mailbox fails (said once), nothing of it recorded. */
void sync_fail_uids(struct mbox_side *ms);
/* uidset_add_range() into one of ms's sets; -1 when the set is full
 * (sync_fail_uids() has been called): the caller stops there, since a
 * UID left out would be data dropped. */
int sync_uids_add(struct mbox_side *ms, struct uidset *set, uint32_t lo,
                  uint32_t hi) __attribute__((warn_unused_result));
/* The set as text for a log line, in b. */
const char *sync_uids_str(const struct uidset *set, struct buf *b);
/* Whether uid on ms's side has a pair in the mapping table. */
bool sync_is_mapped(struct mbox_side *ms, uint32_t uid);
/* Keep of ms->vanished only the UIDs the mapping holds (one walk over
 * the mapping, whatever the ranges a server sent); warn of those under
 * the stored UIDNEXT that had no pair. -1 on a database failure. */
int sync_vanished_narrow(struct mbox_side *ms);
/* A response code of ms's mailbox (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ,
 * NOMODSEQ, COPYUID), untagged or in a tagged answer, to step p. */
void sync_on_code(struct mbox_side *ms, const struct sync_phase *p,
                  const struct imap_response *resp);
/* For a step's FETCH handler: f's FLAGS in canonical form into flags,
 * the sync's own \Deleted a killed run left (ms->undelete) taken out;
 * -1 (the mailbox failed) when they do not parse. */
int sync_fetch_flags(struct mbox_side *ms, const struct imap_fetch *f,
                     struct buf *flags) __attribute__((warn_unused_result));
/* For SCAN's and MATCH's FETCH handlers: f's flags as sync_fetch_flags()
 * gives them, in a new buffer, when f has FLAGS and no body; NULL for
 * anything else, and when f has some of a key's items but not all with
 * FLAGS (the mailbox fails, said once: a key made of a part would pair
 * nothing). */
struct buf *sync_fetch_key_flags(struct mbox_side *ms,
                                 const struct imap_fetch *f);

/* Queue a command that runs in ms's mailbox; with select it is the
 * SELECT (or EXAMINE) that makes it the selected one. */
struct imap_cmd *sync_cmd(struct mbox_side *ms, bool select, imap_cmd_fn *cb,
                          void *ctx, const char *fmt, ...);
/* Make sure ms's mailbox is selected for the commands this step queues
 * next on its side (once per step; in APPLY with QRESYNC, so the
 * selection also checks the side); write: they change it (else EXAMINE
 * does). */
void sync_select_for_step(struct mbox_side *ms, bool write);
/* Queue a command of the APPLY step in ms's mailbox, selecting it first;
 * or, while ms->hold, keep it for sync_release(). fmt takes only %a and
 * %U. */
void sync_cmd_step(struct mbox_side *ms, imap_cmd_fn *cb, void *ctx,
                   const char *fmt, ...);
/* A move without MOVE, after its UID COPY: expunge uids (set: the same,
 * written; one command's worth) on ms with UID STORE +FLAGS.SILENT
 * (\Deleted), then UID EXPUNGE once the STORE is answered, never
 * pipelined behind it: Dovecot may run the two side by side, and here
 * an EXPUNGE that missed would leave the message in both mailboxes.
 * (APPLY's own expunges pipeline them and check VANISHED instead.) */
void sync_expunge_uids(struct mbox_side *ms, const char *set,
                       const struct uidset *uids);
/* The messages of ms a killed run's expunge left \Deleted (the
 * expunging table), into ms->undelete; -1 (the mailbox failed) on a
 * database error. */
int sync_expunging_load(struct mbox_side *ms);
/* After its first SELECT: take that \Deleted off the messages still
 * paired (the run decides again what to expunge), and finish the expunge
 * of those whose pairs a run recorded gone (a move without MOVE). */
void sync_expunging_resume(struct mbox_side *ms);
/* Stop holding: select ms's mailbox and queue what was kept (true if
 * anything was). */
bool sync_release(struct mbox_side *ms);
/* Drop what was kept and never sent (the run stops): their callbacks
 * see a NULL response, so their contexts go. */
void sync_held_discard(struct mbox_side *ms);
/* Select ms's mailbox with QRESYNC from the first SELECT's
 * HIGHESTMODSEQ (EXAMINE unless write): every change since is
 * reported, ours and others'. */
void sync_select_qresync(struct mbox_side *ms, bool write);
/* Before a command that changes ms's mailbox without needing it
 * selected (APPEND): select it, as APPLY does, unless it already is, so
 * the change is reported and checked in band. */
void sync_select_live(struct mbox_side *ms, bool write);
/* The untagged responses of srv's connection, routed (installed by
 * sync_messages()). */
void sync_untagged(struct imap_conn *conn, const struct imap_response *resp,
                   void *ctx);
/* An epoch for a command queued outside sync_cmd() (APPEND): untagged
 * answers go to ms until sync_epoch_close(); owned by the server. */
struct sync_epoch *sync_epoch_open(struct mbox_side *ms);
void sync_epoch_close(struct sync_epoch *e);

/* sync-copy.c: FETCH the bodies of ms->fresh and stream them into
 * MULTIAPPEND on the other side. */
void sync_copy_start(struct mbox_side *ms);
/* A body arrived from FETCH on side from. */
void sync_copy_message(struct mbox_side *from, const struct imap_fetch *f);
/* --dry-run: say what sync_copy_start() found there to copy from this
 * side. */
void sync_copy_dry_report(struct mbox_side *from);
/* Drop the MULTIAPPEND being built from this side, unsent. */
void sync_copy_abort(struct mbox_side *from);

/* sync-select.c: the first SELECT of a side (and, with early_sizes, the
 * sizes of a few new messages); or, when LIST-STATUS said all it would,
 * its numbers from there (true); then whether the mailbox may be synced
 * (-1 logged), and its new UIDs into fresh. */
void sync_first_select(struct mbox_side *ms, const struct sync_target *t,
                       bool early_sizes);
bool sync_first_listed(struct mbox_side *ms, const struct sync_target *t);
int sync_first_check(struct mbox_side *ms);
/* Whether numbers (LIST-STATUS's or SELECT's) went back from the stored
 * ones on ms under the same UIDVALIDITY; the first time, warn. */
bool sync_first_went_back(struct mbox_side *ms, uint32_t uidvalidity,
                          uint32_t uidnext, uint64_t hms);
int sync_first_fresh(struct mbox_side *ms);
/* Whether LIST-STATUS shows more than new mail on this side. */
bool sync_first_churn(const struct mbox_side *ms, const struct sync_target *t);

/* sync-check.c: CHECK, and the replies APPLY's selection shares with it.
 * Queue the SELECT again of the sides whose selection did not see the
 * whole round. */
void sync_check_start(struct mbox *mb);
/* After APPLY: whether ms's selection saw the whole round, so the side
 * needs no CHECK. */
bool sync_live_checked(const struct mbox_side *ms);
/* The highest UID ms's server has shown to exist, plus one: UIDs past
 * it never did, whatever a VANISHED says. */
uint32_t sync_uid_limit(const struct mbox_side *ms);
/* The handlers of a selection that sees the round's changes as they are
 * made: a VANISHED (the sync's own expunges told from others'), UIDNEXT
 * and HIGHESTMODSEQ, and a message's flags (ours, or a foreign change:
 * into modified, or, a new message, into fresh). */
void sync_live_vanished(struct mbox_side *ms, const struct uidset *uids,
                        bool earlier);
void sync_live_numbers(struct mbox_side *ms, const struct imap_resp_code *code);
void sync_live_flags(struct mbox_side *ms, const struct imap_fetch *f,
                     const char *flags, struct uidset *fresh);

/* sync-apply.c: queue the APPLY step of a mailbox: vanished, modified
 * and fresh of both sides. */
void sync_apply_start(struct mbox *mb);

/* sync-store.c: queue APPLY's flag STOREs of both sides of mb. */
void sync_store_start(struct mbox *mb);

/* sync-match.c: when both sides have fresh messages, fetch their keys
 * (true if anything was queued); then pair the same message on both
 * sides (recorded in the mapping, dropped from fresh, flags that differ
 * queued as a conflict). */
bool sync_match_start(struct mbox *mb);
int sync_match_finish(struct mbox *mb);
/* SIZES: queue one FETCH per mailbox and side for all that MATCH
 * and moves asked (true if anything was queued). */
bool sync_match_sizes_flush(struct mbox *mbs, size_t n);
/* A size known without asking (the database's, for a pair). */
void sync_match_add_size(struct mbox_side *ms, uint32_t uid, uint32_t size);
/* After SIZES: queue the keys FETCH of the messages whose size
 * is found where they could pair (true if anything was queued). */
bool sync_match_narrow(struct mbox *mbs, size_t n);
/* The key of a FETCH answer, with its flags (canonical), into
 * ms->idents (nothing if it has no key). */
void sync_match_ident_add(struct mbox_side *ms, const struct imap_fetch *f,
                          const char *flags);
/* The FETCH items a message's key is made of (sync_match_key), asked
 * together with FLAGS. */
#define SYNC_KEY_ITEMS (IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_INTERNALDATE | \
                        IMAP_FETCH_HEADER)

void sync_match_free(struct mbox_side *ms);
/* The UIDs on side s of mb that an intent names (a copy or a move a
 * killed or failed run may have made): MATCH may pair them; with
 * copies, those of copies only. -1 failed the run (database). */
int sync_pending_uids(struct mbox *mb, enum side s, bool copies,
                      struct uidset *uids);
/* The mark of a move's intent in the pending table's fingerprint column
 * (a copy's is empty): a move that was never sent can still be made. */
#define SYNC_INTENT_MOVE "move"
/* A copy's intent: this and the target's UIDNEXT before the APPEND. */
#define SYNC_INTENT_FLOOR "floor "
#define SYNC_INTENT_MOVE_LEN 4
/* Queue the FETCH of the keys of uids (normalized) on ms, in the step's
 * flight (in SIZES their sizes only); the answers reach
 * sync_match_on_size(), or sync_match_on_fetch() and
 * sync_move_on_fetch(). */
void sync_match_fetch_keys(struct mbox_side *ms, const struct uidset *uids);
/* The key of a FETCH answer into id (uid, modseq, key; flags NULL); -1
 * when it lacks RFC822.SIZE or INTERNALDATE. */
int sync_match_key(const struct imap_fetch *f, struct sync_ident *id);

/* sync-move.c: when one side has both vanished and new messages, fetch
 * the keys of the new ones and of the vanished ones' pairs (true if
 * anything was queued); then turn each vanished-and-new couple with the
 * same key into a move of the pair on the other side. */
bool sync_move_start(struct mbox *mbs, size_t n);
void sync_move_finish(struct mbox *mbs, size_t n);
void sync_move_on_fetch(struct mbox_side *ms, const struct imap_fetch *f,
                        const char *flags);
/* APPLY: queue the moves out of ms's mailbox. */
void sync_move_apply(struct mbox_side *ms);
void sync_move_free(struct mbox_side *ms);
/* Make and free ms->move (MATCH's side_init/side_free). */
void sync_move_side_init(struct mbox_side *ms);
void sync_move_side_free(struct mbox_side *ms);
/* Free a list of COPYUID codes, *list NULL after. */
void sync_copyuid_free(struct sync_copyuid **list);

/* sync-trace.c: the decision trace (--debug=sync). sync_trace(mb, side,
 * fmt, ...) logs "sync: SIDE MAILBOX: text" (side -1: no side; mb NULL:
 * the run); a macro, so that nothing of its arguments is evaluated (no
 * set formatted, no database asked) unless the trace is on. */
#define sync_trace(mb, side, ...)                                              \
	do {                                                                   \
		if (log_sync_tracing())                                        \
			sync_trace_line((mb), (side), __VA_ARGS__);            \
	} while (0)
void sync_trace_line(const struct mbox *mb, int side, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* For a trace line's arguments: texts in a ring of buffers owned here
 * (sync-trace.c's TRACE_RING, eight: at most seven per line, the line's
 * own mailbox name takes one), valid for the line being made. A UID set ("1:3,5", cut when long,
 * "none" when empty); the first bytes of a message key in hex; the flags
 * a change from one canonical list to another adds and removes ("+\Seen
 * -\Flagged"). */
const char *sync_trace_uids(const struct uidset *set);
const char *sync_trace_key(const unsigned char *key);
const char *sync_trace_flag_diff(const char *from, const char *to);
/* The mailbox's name in UTF-8 when it decodes as modified UTF-7, else
 * as mb->display has it. */
const char *sync_trace_name(const struct mbox *mb);
/* A mailbox going from one phase to the next, with what it has to do. */
void sync_trace_phase(const struct mbox *mb, const struct sync_phase *from,
                      const struct sync_phase *to);

/* sync-scan.c: after SELECT, fetch every message's flags on both sides
 * (start), then compare them with the mapping and fill vanished, modified
 * and fresh with what must be done, as interimap's --repair does. */
void sync_repair_start(struct mbox *mb);
int sync_repair_compare(struct mbox *mb);

#endif
