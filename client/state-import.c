/* SPDX-License-Identifier: GPL-3.0-or-later */
/* --import-interimap: the rows of an interimap database copied into a
 * new one (state_import_interimap()). */
#include "state-private.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

int
state_import_interimap(struct state *st, const char *from, uint64_t *pairs_r,
                       const char **error_r)
{
	static const char *const copy[] = {
	    "INSERT INTO main.mailboxes SELECT idx, mailbox, subscribed "
	    "FROM src.mailboxes",
	    "INSERT INTO main.local SELECT idx, UIDVALIDITY, UIDNEXT, "
	    "HIGHESTMODSEQ FROM src.local",
	    "INSERT INTO main.remote SELECT idx, UIDVALIDITY, UIDNEXT, "
	    "HIGHESTMODSEQ FROM src.remote",
	    "INSERT INTO main.mapping (idx, lUID, rUID) "
	    "SELECT idx, lUID, rUID FROM src.mapping",
	    NULL,
	};
	sqlite3_stmt *s = NULL;
	int version = -1, rows = -1, ret = -1;

	if (access(from, R_OK) < 0)
		return state_set_error(st, error_r, "cannot read %s: %s", from,
		                       strerror(errno));
	if (sqlite3_prepare_v2(st->db, "ATTACH DATABASE ? AS src", -1, &s,
	                       NULL) != SQLITE_OK)
		return state_db_error(st, error_r, "ATTACH");
	sqlite3_bind_text(s, 1, from, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		sqlite3_finalize(s);
		return state_db_error(st, error_r, "ATTACH");
	}
	sqlite3_finalize(s);
	if (state_pragma_int(st, "PRAGMA src.user_version", &version, error_r) <
	    0)
		goto detach;
	if (version != 1) {
		state_set_error(
		    st, error_r,
		    "%s is not an interimap database (schema version "
		    "%d, not 1)",
		    from, version);
		goto detach;
	}
	if (state_pragma_int(st, "SELECT count(*) FROM main.mailboxes", &rows,
	                     error_r) < 0)
		goto detach;
	if (rows != 0) {
		state_set_error(
		    st, error_r,
		    "database %s already holds %d %s: import "
		    "into a new database (the `database` key names it)",
		    st->path, rows, rows == 1 ? "mailbox" : "mailboxes");
		goto detach;
	}
	if (state_exec(st, "BEGIN", error_r) < 0)
		goto detach;
	if (state_exec_list(st, copy, error_r) < 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		goto detach;
	}
	if (state_exec(st, "COMMIT", error_r) < 0)
		goto detach;
	if (state_pragma_int(st, "SELECT count(*) FROM main.mapping", &rows,
	                     error_r) < 0)
		goto detach;
	*pairs_r = (uint64_t)rows;
	ret = 0;
detach:
	sqlite3_exec(st->db, "DETACH DATABASE src", NULL, NULL, NULL);
	return ret;
}
