/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the parts of the state database share: struct state, the ids of
 * the prepared statements, and the helpers that run them. Which file
 * owns what:
 *
 * - state.c: open, close and discard, the lock, transactions, the SQL of
 *   every prepared statement (stmt_sql) and the helpers below, the cache
 *   of flagset rows.
 * - state-schema.c: the tables, version by version (their comments say
 *   what each holds and why), and state_migrate().
 * - state-mapping.c: the mapping table (the pairs and their bases) and
 *   base_mark.
 * - state-intent.c: the pending and expunging tables, written before a
 *   command goes out.
 * - state-mailbox.c: the mailboxes table and each mailbox's rows in
 *   local, remote, mailbox_id and synced.
 * - state-dry.c: state_open_dry(), the database read into memory.
 * - state-import.c: state_import_interimap().
 * - state-side.c: the refusal and delimiter tables, about each side's
 *   server as a whole.
 *
 * Functions here follow state.h's convention: 0 (or 1 for "found") and
 * -1 with *error_r, a string in st->error (state_open_error when there
 * is no st yet). */
#ifndef CLIENT_STATE_PRIVATE_H
#define CLIENT_STATE_PRIVATE_H

#include "state.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

enum stmt {
	STMT_MAILBOX_FIND,
	STMT_MAILBOX_CREATE,
	STMT_MAILBOX_SUBSCRIBE,
	STMT_MAILBOX_LIST,
	STMT_RENAME_LIST,
	STMT_RENAME_SET,
	STMT_DELETE_MAPPING,
	STMT_DELETE_LOCAL,
	STMT_DELETE_REMOTE,
	STMT_DELETE_PENDING,
	STMT_DELETE_MAILBOX,
	STMT_STATUS_GET_LOCAL,
	STMT_STATUS_GET_REMOTE,
	STMT_STATUS_SET_LOCAL,
	STMT_STATUS_SET_REMOTE,
	STMT_MAPPING_REMOVE_LOCAL,
	STMT_MAPPING_REMOVE_REMOTE,
	STMT_MAPPING_LOOKUP_LOCAL,
	STMT_MAPPING_LOOKUP_REMOTE,
	STMT_MAPPING_COUNT,
	STMT_MAPPING_LIST_LOCAL,
	STMT_MAPPING_LIST_REMOTE,
	STMT_PENDING_ADD,
	STMT_PENDING_REMOVE,
	STMT_PENDING_LIST_ONE,
	STMT_PENDING_LIST_ALL,
	STMT_ID_SET,
	STMT_ID_FIND,
	STMT_ID_GET,
	STMT_ID_MISSING,
	STMT_MAILBOX_COUNT,
	STMT_REFUSAL_GET,
	STMT_REFUSAL_SET,
	STMT_SYNCED_SET,
	STMT_SYNCED_SET_RANGE,
	STMT_DELIM_SET,
	STMT_FLAGSET_FIND,
	STMT_FLAGSET_ADD,
	STMT_MAPPING_ADD_BASE,
	STMT_BASE_SET,
	STMT_BASE_GET_LOCAL,
	STMT_BASE_GET_REMOTE,
	STMT_MARK_GET,
	STMT_MARK_SET,
	STMT_BASE_FORGET,
	STMT_PENDING_ADD_BASE,
	STMT_PENDING_BASE_GET,
	STMT_EXPUNGING_ADD,
	STMT_EXPUNGING_REMOVE,
	STMT_EXPUNGING_LIST,
	STMT_EXPUNGING_ANY,
	STMT_DELETE_EXPUNGING,
	STMT_COUNT
};

#define FLAGS_CACHE 16

struct state {
	sqlite3 *db;
	char *path;
	int lock_fd;
	char *lock_path; /* PATH.lock, removed by state_close() */
	bool lock_kept;  /* a dry run's, found there: left there */
	int found_version;
	/* The flagset rows of the last lists stored (a copy of n messages
	 * repeats a handful of lists), replaced in turn; forgotten with a
	 * transaction that may have created them and did not commit. */
	struct {
		char *flags;
		int64_t id;
	} flags_cache[FLAGS_CACHE];
	unsigned flags_cache_next;
	/* In a batch (state_batch_begin()): the transaction the batch
	 * opened; state_begin() and its end are savepoints within it. */
	bool batch;
	sqlite3_stmt *stmts[STMT_COUNT];
	char error[1024];
};

/* state.c */
extern char state_open_error[1024];

int state_set_error(struct state *st, const char **error_r, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));
int state_db_error(struct state *st, const char **error_r, const char *what);
/* The prepared statement id, prepared on first use; NULL on error. */
sqlite3_stmt *state_stmt(struct state *st, enum stmt id, const char **error_r);
/* Reset s and clear its bindings, for the next use. */
void state_done(sqlite3_stmt *s);
int state_run(struct state *st, sqlite3_stmt *s, const char *what,
              const char **error_r);
int state_exec(struct state *st, const char *sql, const char **error_r);
int state_exec_list(struct state *st, const char *const *sql,
                    const char **error_r);
int state_pragma_int(struct state *st, const char *sql, int *value_r,
                     const char **error_r);
/* A savepoint: several statements all or nothing, inside whatever
 * transaction is open (a batch's parts are these too). Its end keeps
 * or undoes them; undoing leaves the error text of what failed alone. */
int state_savepoint(struct state *st, const char **error_r);
int state_savepoint_end(struct state *st, bool keep, const char **error_r);
int state_take_lock(const char *path, int *fd_r, char **lock_path_r,
                    bool *kept_r, const char **error_r);
int flagset_id(struct state *st, const char *flags, int64_t *id_r,
               const char **error_r);
void state_bind_or_null(sqlite3_stmt *s, int col, bool have, int64_t v);
int state_step_text(struct state *st, sqlite3_stmt *s, char **text_r,
                    const char *what, const char **error_r);

/* state-schema.c */
int state_migrate(struct state *st, int version, const char **error_r);

#endif
