/* SPDX-License-Identifier: GPL-3.0-or-later */
/* --delete and --rename: the named mailboxes listed, then deleted or
 * renamed on each --target (local, remote, database). */
#include "mailboxes-private.h"

#include "imap-conn.h"
#include "log.h"
#include "state.h"
#include "sync.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A command-line name (modified UTF-7) quoted for the shell, in UTF-8
 * where the command line reads that back (not ASCII). Caller frees. */
static char *
mbx_arg_quoted(const char *arg)
{
	const char *u = mbx_u8(arg), *p;

	for (p = u; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80)
			return log_shell_quote(u);
	}
	return log_shell_quote(arg);
}

/* A command-line name (local delimiter) in the internal form. */
static char *
mbx_arg_name(const struct sync_run *run, const char *arg, size_t *len_r)
{
	char d = run->server[SIDE_LOCAL].delim;
	size_t i, len = strlen(arg);
	char *s = xstrdup(arg);

	for (i = 0; i < len; i++) {
		if (d != '\0' && s[i] == d)
			s[i] = '\0';
	}
	*len_r = len;
	return s;
}

void
mbx_admin_done(struct imap_conn *conn, const struct imap_response *resp,
               void *ctx)
{
	bool *failed = ctx;

	if (resp == NULL)
		return;
	if (resp->status != IMAP_STATUS_OK) {
		log_error(imap_conn_name(conn), NULL, "%s", resp->text);
		*failed = true;
	}
}

int
mailboxes_delete(struct sync_run *run, char **args, size_t nargs,
                 unsigned targets)
{
	struct mbx_list lists[SIDE_COUNT];
	const char *error;
	bool failed = false;
	size_t i;
	unsigned s;
	int ret = -1;

	memset(lists, 0, sizeof(lists));
	if (mbx_list_both(run, lists, args, nargs) < 0)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++)
		mbx_internal_names(&lists[s]);
	for (i = 0; i < nargs; i++) {
		size_t len;
		char *name = mbx_arg_name(run, args[i], &len);
		int64_t idx;
		int found;

		if (len == 5 && strncasecmp(name, "INBOX", 5) == 0) {
			log_error(NULL, NULL, "INBOX can't be deleted");
			free(name);
			goto out;
		}
		for (s = 0; s < SIDE_COUNT; s++) {
			unsigned bit = s == SIDE_LOCAL
			                   ? MAILBOXES_TARGET_LOCAL
			                   : MAILBOXES_TARGET_REMOTE;
			struct mbx_entry *e = mbx_find(&lists[s], name, len);
			char *wire;

			if ((targets & bit) == 0 || !mbx_exists(e))
				continue;
			wire = sync_wire_name(&run->server[s], name, len);
			if (wire == NULL)
				continue;
			imap_conn_cmd(run->server[s].conn, mbx_admin_done,
			              &failed, "DELETE %s", wire);
			log_info(side_name(s), NULL, "Deleted mailbox %s",
			         mbx_u8(wire));
			run->tally.deleted[s]++;
			free(wire);
		}
		if (sync_run_wait(run) < 0 || failed) {
			free(name);
			goto out;
		}
		if ((targets & MAILBOXES_TARGET_DATABASE) != 0) {
			found = state_mailbox_find(run->state, name, len, &idx,
			                           NULL, &error);
			if (found < 0 ||
			    (found > 0 &&
			     (state_begin(run->state, &error) < 0 ||
			      state_mailbox_delete(run->state, idx, &error) <
			          0 ||
			      state_commit(run->state, &error) < 0))) {
				sync_rollback(run->state);
				log_error("database", NULL, "%s", error);
				free(name);
				goto out;
			}
			if (found > 0)
				log_info("database", NULL, "Removed mailbox %s",
				         mbx_u8(args[i]));
		}
		free(name);
	}
	ret = 0;
out:
	for (s = 0; s < SIDE_COUNT; s++)
		mbx_list_free(&lists[s]);
	return ret;
}

int
mailboxes_rename(struct sync_run *run, const char *from, const char *to,
                 unsigned targets)
{
	struct mbx_list lists[SIDE_COUNT];
	char *args[2] = {(char *)from, (char *)to};
	char *fname = NULL, *tname = NULL;
	size_t flen = 0, tlen = 0;
	const char *error;
	bool failed = false;
	unsigned s, count = 0;
	int64_t idx;
	int ret = -1, found;

	memset(lists, 0, sizeof(lists));
	if (mbx_list_both(run, lists, args, 2) < 0)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++)
		mbx_internal_names(&lists[s]);
	fname = mbx_arg_name(run, from, &flen);
	tname = mbx_arg_name(run, to, &tlen);
	for (s = 0; s < SIDE_COUNT; s++) {
		unsigned bit = s == SIDE_LOCAL ? MAILBOXES_TARGET_LOCAL
		                               : MAILBOXES_TARGET_REMOTE;

		if ((targets & bit) != 0 &&
		    mbx_exists(mbx_find(&lists[s], tname, tlen))) {
			char *q = mbx_arg_quoted(to);

			/* It may hold mail: no advice to delete it. */
			log_error(side_name(s), NULL,
			          "Mailbox %s exists. Choose another name, "
			          "or look at what it holds and move it out "
			          "of the way first.",
			          q);
			free(q);
			goto out;
		}
	}
	if ((targets & MAILBOXES_TARGET_DATABASE) != 0) {
		found = state_mailbox_find(run->state, tname, tlen, &idx, NULL,
		                           &error);
		if (found < 0) {
			log_error("database", NULL, "%s", error);
			goto out;
		}
		if (found > 0) {
			char *q = mbx_arg_quoted(to);

			log_error("database", NULL,
			          "Mailbox %s exists. Run `imapsync "
			          "--target=database --delete %s` to forget "
			          "it (no mail is deleted).",
			          q, q);
			free(q);
			goto out;
		}
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		unsigned bit = s == SIDE_LOCAL ? MAILBOXES_TARGET_LOCAL
		                               : MAILBOXES_TARGET_REMOTE;
		char *fw, *tw;

		/* \NonExistent names can be renamed too (they may have
		 * children): any listed name will do. */
		if ((targets & bit) == 0 ||
		    mbx_find(&lists[s], fname, flen) == NULL)
			continue;
		fw = sync_wire_name(&run->server[s], fname, flen);
		tw = sync_wire_name(&run->server[s], tname, tlen);
		if (fw != NULL && tw != NULL) {
			imap_conn_cmd(run->server[s].conn, mbx_admin_done,
			              &failed, "RENAME %s %s", fw, tw);
			log_info(side_name(s), NULL, "Renamed mailbox %s to %s",
			         mbx_u8(fw), mbx_u8(tw));
			run->tally.renamed[s]++;
		}
		free(fw);
		free(tw);
	}
	if (sync_run_wait(run) < 0 || failed)
		goto out;
	if ((targets & MAILBOXES_TARGET_DATABASE) != 0) {
		if (state_begin(run->state, &error) < 0 ||
		    state_mailbox_rename(run->state, fname, flen, tname, tlen,
		                         &count, &error) < 0 ||
		    state_commit(run->state, &error) < 0) {
			sync_rollback(run->state);
			log_error("database", NULL, "%s", error);
			goto out;
		}
		if (count > 0)
			log_info("database", NULL, "Renamed mailbox %s to %s",
			         mbx_u8(from), mbx_u8(to));
	}
	ret = 0;
out:
	free(fname);
	free(tname);
	for (s = 0; s < SIDE_COUNT; s++)
		mbx_list_free(&lists[s]);
	return ret;
}
