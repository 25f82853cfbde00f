/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The SQLite state database. Its tables are interimap 0.5.7's (schema
 * version 1: mailboxes, local, remote, mapping), so an interimap database
 * is imported by opening a copy of it; imapsync adds its own tables on
 * top (version 2: pending). Mailbox names are BLOBs holding the server's
 * bytes with the hierarchy delimiter replaced by NUL, as in interimap.
 *
 * One process at a time: state_open() takes a lock that a second instance
 * fails to get at once. Functions return 0 (or 1 for "found") and -1 with
 * *error_r, a string valid until the next call on the same state. */
#ifndef CLIENT_STATE_H
#define CLIENT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "side.h"

/* user_version: 1 is interimap's schema, 2 and 3 add imapsync's tables
 * (pending, mailbox_id), 4 a size column to interimap's mapping, 5 the
 * refusal table, 6 the synced and delimiter tables (for --status), 7
 * each pair's last synced flags (flagset, mapping.base, pending.base,
 * base_mark). */
#define STATE_SCHEMA_VERSION 8

/* state_open()'s result when another process holds the database. */
#define STATE_LOCKED (-2)

struct state;

/* What a side's server said of a mailbox when last synchronized. */
struct state_side_status {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq; /* at most INT64_MAX (RFC 7162) */
};

/* One row of mailboxes, with its local and remote rows if any. The name
 * is valid until the callback returns. */
struct state_mailbox {
	int64_t idx;
	const void *name;
	size_t name_len;
	bool subscribed;
	bool have[SIDE_COUNT];
	struct state_side_status status[SIDE_COUNT];
};

/* An intent to copy a message, recorded before its APPEND is sent. */
struct state_pending {
	int64_t idx;
	enum side from; /* the side holding the message */
	uint32_t uid;   /* its UID there */
	const void *fingerprint;
	size_t fingerprint_len;
	int64_t created; /* unix time */
};

/* Open (creating it and its directories, mode 0700/0600) and lock the
 * database at path, creating or upgrading its schema. STATE_LOCKED with
 * "another imapsync is running on PATH (pid N)" when locked. *state_r is
 * the caller's, for state_close(); *error_r is static here. */
int state_open(const char *path, struct state **state_r, const char **error_r);
/* The same for --dry-run: the database at path (if any) copied into
 * memory, where the run's changes go and are lost on state_close();
 * nothing is created on disk but the lock while it is read. */
int state_open_dry(const char *path, struct state **state_r,
                   const char **error_r);
/* Copy the rows of an interimap database (schema version 1: mailboxes,
 * local, remote, mapping) into this one, which must hold no mailbox yet,
 * so a user switching from interimap copies no mail again. *pairs_r is
 * the number of pairs imported. */
int state_import_interimap(struct state *state, const char *path,
                           uint64_t *pairs_r, const char **error_r);
/* Close the database (uncommitted changes are rolled back) and release
 * the lock; sets *state to NULL. */
void state_close(struct state **state);
/* state_close(), removing the database file (and its WAL) first: for a
 * database this run created and must not leave behind. */
void state_discard(struct state **state);
/* The schema version found before state_open() created or upgraded it
 * (0 for a new database). */
int state_found_version(const struct state *state);

int state_begin(struct state *state, const char **error_r);
int state_commit(struct state *state, const char **error_r);
int state_rollback(struct state *state, const char **error_r);
/* One transaction around many: between the two, state_begin(),
 * state_commit() and state_rollback() open, keep and undo savepoints,
 * and nothing reaches the disk before state_batch_end() commits it all
 * at once (one sync of the disk, not one a transaction). keep false:
 * roll it all back instead. For writes that need only be durable
 * before commands that are queued meanwhile are sent. */
int state_batch_begin(struct state *state, const char **error_r);
int state_batch_end(struct state *state, bool keep, const char **error_r);
/* Outside a transaction: lazy, the commits that follow do not wait for
 * the disk (a crash may lose them, never a later commit made with lazy
 * false, the default): for records nothing depends on. */
int state_set_lazy(struct state *state, bool lazy, const char **error_r);
/* Whether a transaction is open. */
bool state_in_transaction(const struct state *state);

/* 1 and *idx_r (and *subscribed_r unless NULL) when the mailbox is
 * known, 0 when not. */
int state_mailbox_find(struct state *state, const void *name, size_t len,
                       int64_t *idx_r, bool *subscribed_r,
                       const char **error_r);
int state_mailbox_create(struct state *state, const void *name, size_t len,
                         bool subscribed, int64_t *idx_r, const char **error_r);
int state_mailbox_set_subscribed(struct state *state, int64_t idx,
                                 bool subscribed, const char **error_r);
/* Delete the mailbox and its local, remote, mapping and pending rows
 * (not its children: IMAP DELETE is not recursive either). */
int state_mailbox_delete(struct state *state, int64_t idx,
                         const char **error_r);
/* Rename from and every mailbox under it (name starting with from + NUL)
 * to to; *count_r (unless NULL) is how many rows changed. Fails when to
 * or one of the new names exists, or when to lies under from. */
int state_mailbox_rename(struct state *state, const void *from, size_t from_len,
                         const void *to, size_t to_len, unsigned *count_r,
                         const char **error_r);

typedef int state_mailbox_fn(void *context, const struct state_mailbox *mb);
/* Call fn for each mailbox in name order; a non-zero return from fn
 * stops and is returned. fn must not change the mailboxes table. */
int state_mailbox_foreach(struct state *state, state_mailbox_fn *fn,
                          void *context, const char **error_r);

/* 1 and *status_r when the side has a row for the mailbox, 0 if not. */
int state_status_get(struct state *state, int64_t idx, enum side side,
                     struct state_side_status *status_r, const char **error_r);
/* Insert or update the side's row. */
int state_status_set(struct state *state, int64_t idx, enum side side,
                     const struct state_side_status *status,
                     const char **error_r);

/* size: the message's RFC822.SIZE, 0 if not known. */
int state_mapping_add(struct state *state, int64_t idx, uint32_t luid,
                      uint32_t ruid, uint32_t size, const char **error_r);
/* The same, with the pair's flags as last synchronized (canonical, ""
 * for none; NULL: not known). */
int state_mapping_add_base(struct state *state, int64_t idx, uint32_t luid,
                           uint32_t ruid, uint32_t size, const char *base,
                           const char **error_r);
/* Set the last synchronized flags of the pair of local UID luid (NULL:
 * not known); no pair, no change. */
int state_mapping_set_base(struct state *state, int64_t idx, uint32_t luid,
                           const char *base, const char **error_r);
/* 1 and *base_r (the caller frees it) when the pair holding uid on side
 * has its last synchronized flags; 0 (and NULL) when it has none or
 * there is no pair. */
int state_mapping_get_base(struct state *state, int64_t idx, enum side side,
                           uint32_t uid, char **base_r, const char **error_r);
/* Record that the bases of mailbox idx go with these HIGHESTMODSEQs of
 * its local and remote rows (written with them). */
int state_base_mark(struct state *state, int64_t idx, uint64_t local_hms,
                    uint64_t remote_hms, const char **error_r);
/* Unless the mark of mailbox idx says these HIGHESTMODSEQs (those of its
 * rows now), another program synced it without keeping the bases: they
 * are forgotten (set to NULL; *forgotten_r says how many). */
int state_base_check(struct state *state, int64_t idx, uint64_t local_hms,
                     uint64_t remote_hms, uint64_t *forgotten_r,
                     const char **error_r);
/* Remove the pair holding uid on side: 1 if removed, 0 if none. */
int state_mapping_remove(struct state *state, int64_t idx, enum side side,
                         uint32_t uid, const char **error_r);
/* 1 and *other_r, the UID paired with uid on side, or 0 if none. */
int state_mapping_lookup(struct state *state, int64_t idx, enum side side,
                         uint32_t uid, uint32_t *other_r, const char **error_r);
/* The same, and *size_r: the pair's stored size, 0 if not known. */
int state_mapping_lookup_size(struct state *state, int64_t idx,
                              enum side side, uint32_t uid, uint32_t *other_r,
                              uint32_t *size_r, const char **error_r);
/* Remove every pair of mailbox idx. */
int state_mapping_clear(struct state *state, int64_t idx, const char **error_r);
int state_mapping_count(struct state *state, int64_t idx, uint64_t *count_r,
                        const char **error_r);

typedef int state_mapping_fn(void *context, uint32_t luid, uint32_t ruid);
/* Call fn for each pair of the mailbox in the order of side's UIDs; a
 * non-zero return from fn stops and is returned. fn must not change this
 * mailbox's mapping. */
int state_mapping_foreach(struct state *state, int64_t idx, enum side order,
                          state_mapping_fn *fn, void *context,
                          const char **error_r);
/* The same for the pairs whose UID on side order is in [lo, hi] (found
 * by the index, not read through). */
int state_mapping_foreach_range(struct state *state, int64_t idx,
                                enum side order, uint32_t lo, uint32_t hi,
                                state_mapping_fn *fn, void *context,
                                const char **error_r);

/* Record the intent to copy message uid of side from into the other
 * side's mailbox idx (one intent per source message). */
int state_pending_add(struct state *state, int64_t idx, enum side from,
                      uint32_t uid, const void *fingerprint, size_t fp_len,
                      const char **error_r);
/* The same, with the base the pair made of it will have (NULL: none
 * known): the flags a copy is appended with, the base a move's pair
 * takes along. */
int state_pending_add_base(struct state *state, int64_t idx, enum side from,
                           uint32_t uid, const void *fingerprint,
                           size_t fp_len, const char *base,
                           const char **error_r);
/* 1 and *base_r (the caller frees it) when the intent for uid of side
 * from has a base; 0 (and NULL) if not, or no such intent. */
int state_pending_get_base(struct state *state, int64_t idx, enum side from,
                           uint32_t uid, char **base_r, const char **error_r);
/* 1 if the intent was there and is removed, 0 if there was none. */
int state_pending_remove(struct state *state, int64_t idx, enum side from,
                         uint32_t uid, const char **error_r);

typedef int state_pending_fn(void *context, const struct state_pending *p);
/* Call fn for each intent of mailbox idx (every mailbox when idx is 0),
 * oldest first. fn must not change the pending table. */
int state_pending_foreach(struct state *state, int64_t idx,
                          state_pending_fn *fn, void *context,
                          const char **error_r);

/* The messages of side in mailbox idx an expunge is flagging \Deleted
 * (recorded before the STORE, removed with the expunge's record): what a
 * killed run leaves names a \Deleted that is the sync's own. */
int state_expunging_add(struct state *state, int64_t idx, enum side side,
                        uint32_t uid, const char **error_r);
int state_expunging_remove(struct state *state, int64_t idx, enum side side,
                           uint32_t uid, const char **error_r);
/* Whether any mailbox has such messages (the usual answer: no). */
int state_expunging_any(struct state *state, bool *any_r,
                        const char **error_r);
typedef int state_uid_fn(void *context, uint32_t uid);
/* Call fn for each of them, by UID; a non-zero return from fn stops and
 * is returned. */
int state_expunging_foreach(struct state *state, int64_t idx, enum side side,
                            state_uid_fn *fn, void *context,
                            const char **error_r);

/* Record side's stable id of mailbox idx (X-GUID or MAILBOXID). */
int state_mailbox_id_set(struct state *state, int64_t idx, enum side side,
                         const char *id, const char **error_r);
/* 1 and the id (truncated to size) of mailbox idx on side; 0 if none. */
int state_mailbox_id_get(struct state *state, int64_t idx, enum side side,
                         char *id, size_t size, const char **error_r);
/* How many mailboxes the database knows. */
int state_mailbox_count(struct state *state, uint64_t *count_r,
                        const char **error_r);
/* How many mailboxes have no id recorded for side. */
int state_mailbox_ids_missing(struct state *state, enum side side,
                              uint64_t *count_r, const char **error_r);
/* 1 and *idx_r: the mailbox whose id on side is id; 0 if none. */
int state_mailbox_id_find(struct state *state, enum side side, const char *id,
                          int64_t *idx_r, const char **error_r);

/* Whether side's server refused or botched feature before (a row of
 * state_refusal_set). */
int state_refusal_get(struct state *state, enum side side, const char *feature,
                      bool *refused_r, const char **error_r);
/* Remember that side's server refused or botched feature, and why: later
 * runs do without it (delete the row to try again). */
int state_refusal_set(struct state *state, enum side side, const char *feature,
                      const char *reason, const char **error_r);

/* Record that mailbox idx was found in step on both sides at when (unix
 * time). */
int state_synced_set(struct state *state, int64_t idx, int64_t when,
                     const char **error_r);
/* The same for every mailbox lo..hi (one statement where their rows
 * exist: a run that finds 500 mailboxes in step writes them at once). */
int state_synced_set_range(struct state *state, int64_t lo, int64_t hi,
                           int64_t when, const char **error_r);
/* Record side's hierarchy delimiter ('\0': flat), for --status. */
int state_delimiter_set(struct state *state, enum side side, char delim,
                        const char **error_r);

#endif
