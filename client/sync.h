/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The sync engine: both servers, one run. Mailbox-list reconciliation is
 * in mailboxes*.c; the messages of one mailbox in sync.c. Both sides work
 * at the same time: every step queues its commands on both connections
 * and drives them together, so a step costs one round trip whatever the
 * number of messages. */
#ifndef CLIENT_SYNC_H
#define CLIENT_SYNC_H

#include "side.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct imap_conn;
struct mbox_side;
struct state;
struct sync_epoch;

/* One server for the whole run. */
struct sync_server {
	enum side side;
	struct imap_conn *conn;
	/* Hierarchy delimiter; '\0' for a flat namespace. */
	char delim;
	bool delim_known;
	const char *reference; /* list-reference, "" by default */
	uint64_t caps;
	/* The STATUS item that names a mailbox's stable id on this server
	 * (MAILBOXID, X-GUID), or NULL when it has none. */
	const char *id_item;
	/* Commands in flight that run in a mailbox (sync-private.h), oldest
	 * first, and the mailbox of the last SELECT queued. */
	struct sync_epoch *epoch_head, *epoch_tail;
	struct mbox_side *selected;
	/* The epoch whose untagged answer is being read, if any. */
	struct sync_epoch *answering;
	/* The mailbox of the oldest command the connection failed to get
	 * an answer to, for the message. */
	const char *lost_in;
};

/* What a run is asked to do besides syncing. */
struct sync_settings {
	bool dry_run;
	bool force;
	bool verify; /* --verify: compare, report, change nothing */
	/* A first run may merge two non-empty sides: --force, safety-merge
	 * = NO, or --import-interimap. */
	bool merge_ok;
	/* --restore-from: what vanished from the other side since the last
	 * run is lost there, not deleted: messages copied back from
	 * restore_from and paired again, mailboxes created again; nothing
	 * expunged or deleted on restore_from for it. */
	bool restore;
	enum side restore_from;
};

/* The brake needs at least this many messages gone, whatever the share:
 * emptying a small mailbox on purpose must not need --force. */
#define SYNC_BRAKE_MIN 10

/* What a run did, for its summary line (summary.c): each count on the
 * side it changed; in a dry run, what it would have done. */
struct sync_tally {
	uint64_t added[SIDE_COUNT];    /* messages copied to the side */
	uint64_t flagged[SIDE_COUNT];  /* messages whose flags were set */
	uint64_t expunged[SIDE_COUNT]; /* messages gone from the other */
	uint64_t moved[SIDE_COUNT];    /* messages moved by UID MOVE */
	unsigned created[SIDE_COUNT], renamed[SIDE_COUNT];
	unsigned deleted[SIDE_COUNT];
};

struct sync_run {
	struct sync_server server[SIDE_COUNT];
	struct state *state;
	const struct config *config;
	struct sync_settings set;
	/* Mailboxes that failed; the run goes on with the others. */
	unsigned mailbox_failures;
	/* A connection failed: the run must stop. */
	bool fatal;
	/* The safety brake stopped the run before it expunged anything. */
	bool braked;
	/* The brake stopped a first run that would merge two non-empty
	 * sides (sync-merge.c): nothing was written anywhere. */
	bool braked_merge;
	/* This run is a first one (the database knows no mailbox) that may
	 * not merge two non-empty sides: the lists count messages. */
	bool merge_check;
	/* The pairs of the mailboxes both sides list: what safety-expunge
	 * is a share of. */
	uint64_t paired;
	/* Watch mode's hooks (watch.c); NULL in a single run. stop: set by
	 * a signal, ends the run at the next step boundary, as safely as a
	 * crash would and without one. skip: leave this mailbox out (it
	 * keeps failing). synced: how a mailbox's sync ended. */
	const volatile sig_atomic_t *stop;
	bool (*skip)(void *ctx, const char *name, size_t len);
	void (*synced)(void *ctx, const char *name, size_t len, bool failed);
	void *hook_ctx;
	/* MULTIAPPENDs sent and not answered: a stop waits for them, so
	 * that no server session is left adding messages the database does
	 * not know of. */
	unsigned appends_in_flight;
	/* --verify's count: divergences, mailboxes compared, and those
	 * with a divergence. */
	uint64_t verify_diffs;
	unsigned verify_mailboxes, verify_bad;
	struct sync_tally tally;
};

/* An action line's verb: as done ("Added") in a run, as it would be
 * ("would add") in a dry run, which says the same lines. */
static inline const char *
sync_verb(const struct sync_run *run, const char *done, const char *would)
{
	return run->set.dry_run ? would : done;
}

/* The run was asked to stop (SIGTERM in watch mode). */
bool sync_stopping(const struct sync_run *run);
/* A line of the decision trace with neither side nor mailbox, "sync:
 * text" (sync-trace.c; the engine's own lines go through sync_trace()).
 * Callers test log_sync_tracing() first. */
void sync_trace_text(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* A step boundary (client/sync-step.c). In the tests' build only
 * (IMAPSYNC_TEST_HOOKS): with IMAPSYNC_DEBUG_EXIT_AT=N in the environment
 * the process ends at the N-th boundary as abruptly as a crash (_exit(99),
 * nothing flushed, no LOGOUT), so a test can interrupt a run at every step
 * and check that the next run repairs it. */
void sync_step(const char *what);

/* Roll back the open transaction of st; the error that made the caller
 * roll back is the one worth reporting, so a failure here is not. */
void sync_rollback(struct state *st);

/* Drive both connections until neither has a command in flight; on a
 * connection failure log it, mark the run fatal and return -1. */
int sync_run_wait(struct sync_run *run);

/* A mailbox that exists on both sides: its internal name (NUL for the
 * delimiter) and its state row. */
struct sync_target {
	const char *name;
	size_t len;
	int64_t idx;
	/* --dry-run: the name the mailbox still has on a side where the
	 * real run would have renamed it first (NULL: name); a side where
	 * it would have been created, and is empty as it would be. */
	const char *wire[SIDE_COUNT];
	bool absent[SIDE_COUNT];
	/* The side's numbers by LIST-STATUS, 0 where it gave none. */
	struct {
		uint32_t uidvalidity, uidnext;
		uint64_t highestmodseq;
	} listed[SIDE_COUNT];
};

/* Sync the messages of the mailboxes, all at once: each step is one
 * flight of pipelined commands on both connections, whatever the number
 * of mailboxes. With repair, compare every message of both sides with
 * the mapping first (--repair). Mailboxes that fail are logged and counted
 * in run->mailbox_failures; -1 when the run must stop (a connection or
 * the database failed). */
int sync_messages(struct sync_run *run, const struct sync_target *targets,
                  size_t n, bool repair);

/* A mailbox of a first run, for sync_merge_check(): where it exists and
 * its messages there (LIST-STATUS MESSAGES). */
struct sync_merge_box {
	const char *name; /* internal name */
	size_t len;
	bool exists[SIDE_COUNT];
	uint32_t messages[SIDE_COUNT];
};

/* A first run (the database knows no mailbox) that would merge two
 * sides both holding mail: say what it would pair and copy each way and
 * stop (run->braked, braked_merge, fatal; 1). 0 when one side holds no
 * mail; -1 when a connection failed. */
int sync_merge_check(struct sync_run *run, const struct sync_merge_box *boxes,
                     size_t n);

/* After --verify: say what it found; true when nothing. */
bool sync_verify_report(struct sync_run *run);

/* Whether a mailbox of that internal name can exist on srv: none of its
 * parts holds the server's delimiter (it would be read as a hierarchy),
 * and it has no hierarchy if the server is flat. */
bool sync_name_fits(const struct sync_server *srv, const char *name,
                    size_t len);
/* The name of a mailbox on one server: reference + name with the
 * server's delimiter. Caller frees. NULL when the name does not fit the
 * server (sync_name_fits). */
char *sync_wire_name(const struct sync_server *srv, const char *name,
                     size_t len);
/* The name for messages: NULs shown as the local delimiter ('/' if
 * flat), modified UTF-7 decoded to UTF-8 (as it is when it is not
 * modified UTF-7). Caller frees. */
char *sync_display_name(const struct sync_run *run, const char *name,
                        size_t len);
/* A server's name of a mailbox (sync_wire_name()) for messages: in
 * UTF-8, as sync_display_name(); the wire's form is for --debug's trace.
 * Caller frees. */
char *sync_utf8_name(const char *wire);
/* The name to give imapsync's command line for the mailbox, quoted for
 * the shell (advice): UTF-8 when it is not ASCII (options.c encodes it
 * back), else the modified UTF-7 form. Caller frees. */
char *sync_arg_quoted(const struct sync_run *run, const char *name, size_t len);

#endif
