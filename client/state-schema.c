/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The state database's tables, version by version, and state_migrate(), which
 * brings a database of any version up to STATE_SCHEMA_VERSION. */
#include "state-private.h"

#include <stddef.h>

/* interimap 0.5.7's schema, verbatim (user_version 1), so that an
 * interimap database opens as it is and interimap can still read ours.
 * Invariants (interimap's): UIDVALIDITY never changes; every change below
 * UIDNEXT and HIGHESTMODSEQ of both sides has been propagated; a local row
 * goes with a remote row; the hierarchy delimiter in mailbox names is
 * NUL. Its tables do not cascade deletes: state_mailbox_delete() removes
 * the rows in its order (mapping, local, remote, mailboxes). */
static const char *const schema_v1[] = {
    "CREATE TABLE mailboxes ("
    "idx INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "
    "mailbox BLOB COLLATE BINARY NOT NULL CHECK (mailbox != '') UNIQUE, "
    "subscribed BOOLEAN NOT NULL)",
    "CREATE TABLE local ("
    "idx INTEGER NOT NULL PRIMARY KEY REFERENCES mailboxes(idx), "
    "UIDVALIDITY UNSIGNED INT NOT NULL CHECK (UIDVALIDITY > 0), "
    "UIDNEXT UNSIGNED INT NOT NULL, "
    "HIGHESTMODSEQ UNSIGNED BIGINT NOT NULL)",
    "CREATE TABLE remote ("
    "idx INTEGER NOT NULL PRIMARY KEY REFERENCES mailboxes(idx), "
    "UIDVALIDITY UNSIGNED INT NOT NULL CHECK (UIDVALIDITY > 0), "
    "UIDNEXT UNSIGNED INT NOT NULL, "
    "HIGHESTMODSEQ UNSIGNED BIGINT NOT NULL)",
    "CREATE TABLE mapping ("
    "idx INTEGER NOT NULL REFERENCES mailboxes(idx), "
    "lUID UNSIGNED INT NOT NULL CHECK (lUID > 0), "
    "rUID UNSIGNED INT NOT NULL CHECK (rUID > 0), "
    "PRIMARY KEY (idx,lUID), "
    "UNIQUE (idx,rUID))",
    NULL,
};

/* imapsync's own tables (user_version 2). pending: the intent to copy a
 * message, written and committed before its APPEND is sent and removed in
 * the transaction that adds its mapping row; a row left by a killed run
 * names a message that may or may not have reached the other side, which
 * the next run settles by pairing (sync-match.c: the same message found
 * on both sides) instead of copying it again. The fingerprint column
 * stays in the schema; the sync leaves it empty, pairing needs none. */
static const char *const schema_v2[] = {
    "CREATE TABLE pending ("
    "idx INTEGER NOT NULL REFERENCES mailboxes(idx) ON DELETE CASCADE, "
    "side TEXT NOT NULL CHECK (side IN ('local', 'remote')), "
    "uid UNSIGNED INT NOT NULL CHECK (uid > 0), "
    "fingerprint BLOB NOT NULL, "
    "created INTEGER NOT NULL, "
    "PRIMARY KEY (idx, side, uid))",
    NULL,
};

/* Version 3. mailbox_id: each side's stable id of a mailbox (Dovecot's
 * X-GUID, or RFC 8474's MAILBOXID), which a RENAME keeps: a known mailbox
 * missing under its name but present under another with its id was
 * renamed, not deleted. */
static const char *const schema_v3[] = {
    "CREATE TABLE mailbox_id ("
    "idx INTEGER NOT NULL REFERENCES mailboxes(idx) ON DELETE CASCADE, "
    "side TEXT NOT NULL CHECK (side IN ('local', 'remote')), "
    "id TEXT NOT NULL, "
    "PRIMARY KEY (idx, side))",
    "CREATE INDEX mailbox_id_by_id ON mailbox_id (side, id)",
    NULL,
};

/* Version 4: the size of each paired message (RFC822.SIZE, the same on
 * both sides), where the sync learnt it: a message that vanished is
 * matched by size against new ones (a move) without asking the other
 * side. NULL in rows from before, or written by interimap. */
static const char *const schema_v4[] = {
    "ALTER TABLE mapping ADD COLUMN size INTEGER",
    NULL,
};

/* Version 5. refusal: an optional item or extension a side's server
 * refused or botched (feature, e.g. "X-GUID", "STATUS MAILBOXID"), with
 * why, so later runs do without it instead of asking again. */
static const char *const schema_v5[] = {
    "CREATE TABLE refusal ("
    "side TEXT NOT NULL CHECK (side IN ('local', 'remote')), "
    "feature TEXT NOT NULL, "
    "reason TEXT NOT NULL, "
    "created INTEGER NOT NULL, "
    "PRIMARY KEY (side, feature))",
    NULL,
};

/* Version 6, for `imapsync --status`, which reads the database alone.
 * synced: when each mailbox was last found in step on both sides (a sync
 * that ended with its numbers stored, or a run that found it unchanged).
 * delimiter: each side's hierarchy delimiter as last listed ("" for a
 * flat namespace), so the NULs of the names can be shown as the user
 * knows them without asking a server. */
static const char *const schema_v6[] = {
    "CREATE TABLE synced ("
    "idx INTEGER NOT NULL PRIMARY KEY REFERENCES mailboxes(idx) "
    "ON DELETE CASCADE, "
    "time INTEGER NOT NULL)",
    "CREATE TABLE delimiter ("
    "side TEXT NOT NULL PRIMARY KEY CHECK (side IN ('local', 'remote')), "
    "delim TEXT NOT NULL)",
    NULL,
};

/* Version 7: each pair's flags as last synchronized (the base of the
 * three-way merge of a flag conflict, sync-apply.c). A flag list is
 * stored once in flagset and a pair names it by id (most messages share
 * a handful of lists); mapping.base is NULL where the base is not known
 * (rows from before, imported from interimap, paired by MATCH with flags
 * apart, synced by interimap since): such a pair's conflict falls back to
 * the union once. flagset
 * rows are never removed: there are as many as distinct lists. */
static const char *const schema_v7[] = {
    "CREATE TABLE flagset ("
    "id INTEGER NOT NULL PRIMARY KEY, "
    "flags TEXT NOT NULL UNIQUE)",
    "ALTER TABLE mapping ADD COLUMN base INTEGER",
    /* The HIGHESTMODSEQs imapsync stored with a mailbox's bases: others
     * in local and remote mean that another program (interimap) synced
     * it since, without keeping the bases, so they are forgotten. */
    /* An intent's base: the flags a copy is appended with, the base of
     * the pair a move takes along, for the pair MATCH makes of it if
     * the run stops before recording it. */
    "ALTER TABLE pending ADD COLUMN base INTEGER",
    "CREATE TABLE base_mark ("
    "idx INTEGER NOT NULL PRIMARY KEY "
    "REFERENCES mailboxes(idx) ON DELETE CASCADE, "
    "local_hms INTEGER NOT NULL, "
    "remote_hms INTEGER NOT NULL)",
    NULL,
};

/* Version 8. expunging: the messages an expunge is about to flag
 * \Deleted, written in the transaction that decides it (before the
 * STORE is sent) and removed in the one that records it done. A row a
 * killed run left names a \Deleted that is the sync's, not the user's:
 * the next run takes it off before it looks at the message (and expunges
 * again if it still should), so it is never carried to the other side. */
static const char *const schema_v8[] = {
    "CREATE TABLE expunging ("
    "idx INTEGER NOT NULL REFERENCES mailboxes(idx) ON DELETE CASCADE, "
    "side TEXT NOT NULL CHECK (side IN ('local', 'remote')), "
    "uid UNSIGNED INT NOT NULL CHECK (uid > 0), "
    "PRIMARY KEY (idx, side, uid))",
    NULL,
};

/* Bring the schema from version to STATE_SCHEMA_VERSION, inside the open
 * transaction. */
int
state_migrate(struct state *st, int version, const char **error_r)
{
	int tables;

	if (version > STATE_SCHEMA_VERSION)
		return state_set_error(
		    st, error_r,
		    "database %s: schema version %d is newer than "
		    "this imapsync knows (%d)",
		    st->path, version, STATE_SCHEMA_VERSION);
	if (version == 0) {
		if (state_pragma_int(st, "SELECT COUNT(*) FROM sqlite_schema",
		                     &tables, error_r) < 0)
			return -1;
		/* interimap before 0.5 kept the delimiter in names; only
		 * its own upgrade, which asks the servers, can fix that */
		if (tables != 0)
			return state_set_error(
			    st, error_r,
			    "database %s: schema version 0 with "
			    "tables (interimap < 0.5?): run "
			    "interimap 0.5 or later on it once",
			    st->path);
		if (state_exec_list(st, schema_v1, error_r) < 0)
			return -1;
		version = 1;
	}
	if (version == 1) {
		if (state_exec_list(st, schema_v2, error_r) < 0)
			return -1;
		version = 2;
	}
	if (version == 2) {
		if (state_exec_list(st, schema_v3, error_r) < 0)
			return -1;
		version = 3;
	}
	if (version == 3) {
		if (state_exec_list(st, schema_v4, error_r) < 0)
			return -1;
		version = 4;
	}
	if (version == 4) {
		if (state_exec_list(st, schema_v5, error_r) < 0)
			return -1;
		version = 5;
	}
	if (version == 5) {
		if (state_exec_list(st, schema_v6, error_r) < 0)
			return -1;
		version = 6;
	}
	if (version == 6) {
		if (state_exec_list(st, schema_v7, error_r) < 0)
			return -1;
		version = 7;
	}
	if (version == 7) {
		if (state_exec_list(st, schema_v8, error_r) < 0)
			return -1;
		version = 8;
	}
	return state_exec(st, "PRAGMA user_version = 8", error_r);
}
