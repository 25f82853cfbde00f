/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Known mailboxes gone from one side: deleted on the other when they
 * were deleted, not renamed (that side's id for them is known), and the
 * other side's copy has not changed since the last run, within the brake
 * (safety-delete, safety-expunge); forgotten and created again under
 * --restore-from; else skipped, with advice that loses no mail. */
#include "mailboxes-private.h"

#include "config.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "log.h"
#include "state.h"
#include "sync.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A mailbox deleted on one side: DELETE on the other and forget it, in
 * the open transaction (rolled back if the DELETE fails). */
void
mbx_delete(struct sync_run *run, struct mbx_item *m, const char *display)
{
	struct sync_server *srv = &run->server[m->delete_on];
	char *wire = sync_wire_name(srv, m->name, m->len);
	const char *error;
	unsigned s;

	m->skip = true;
	if (wire == NULL)
		return;
	if (run->set.dry_run) {
		log_info(side_name(m->delete_on), NULL,
		         "would delete mailbox %s (deleted on %s)",
		         mbx_u8(wire), side_name(side_other(m->delete_on)));
		run->tally.deleted[m->delete_on]++;
		if (state_mailbox_delete(run->state, m->idx, &error) < 0)
			log_error("database", display, "%s", error);
		log_info("database", NULL, "would remove mailbox %s", display);
		free(wire);
		return;
	}
	imap_conn_cmd(srv->conn, mbx_item_done, m, "DELETE %s", wire);
	/* Subscriptions go by name and outlive a plain DELETE (Dovecot's):
	 * the deleted name is unsubscribed on both sides, or the next
	 * listing would carry a subscription of nothing. */
	for (s = 0; s < SIDE_COUNT; s++) {
		char *w = sync_wire_name(&run->server[s], m->name, m->len);

		if (w != NULL &&
		    (s != m->delete_on || mbx_subscribed(m->e[m->delete_on])))
			imap_conn_cmd(run->server[s].conn, NULL, NULL,
			              "UNSUBSCRIBE %s", w);
		free(w);
	}
	if (state_mailbox_delete(run->state, m->idx, &error) < 0)
		log_error("database", display, "%s", error);
	log_info(side_name(m->delete_on), NULL,
	         "Deleted mailbox %s (deleted on %s)", mbx_u8(wire),
	         side_name(side_other(m->delete_on)));
	run->tally.deleted[m->delete_on]++;
	log_info("database", NULL, "Removed mailbox %s", display);
	free(wire);
}

/* Whether a side's mailbox is as the last run left it (nothing new that
 * deleting it would lose). */
static bool
mbx_untouched(struct sync_run *run, const struct mbx_item *m, enum side s)
{
	const struct mbx_entry *e = m->e[s];
	struct state_side_status row;
	const char *error;

	if (e == NULL || !e->have_status ||
	    (e->status.have & IMAP_STATUS_HIGHESTMODSEQ) == 0 ||
	    state_status_get(run->state, m->idx, s, &row, &error) <= 0)
		return false;
	return row.uidvalidity == e->status.uidvalidity &&
	       row.uidnext == e->status.uidnext &&
	       row.highestmodseq == e->status.highestmodseq;
}

/* Deleting a mailbox expunges its messages: the pairs of the mailboxes
 * marked for deletion on each side, and of every known mailbox, for the
 * brake (a server come back empty lists none of its folders). */
static int
mbx_deletion_pairs(struct sync_run *run, const struct mbx_item *items, size_t n,
                   uint64_t pairs[SIDE_COUNT], uint64_t *total_r)
{
	const char *error;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct mbx_item *m = &items[i];
		uint64_t count;

		if (m->idx <= 0)
			continue;
		if (state_mapping_count(run->state, m->idx, &count, &error) <
		    0) {
			log_error("database", NULL, "%s", error);
			return -1;
		}
		*total_r += count;
		if (m->delete)
			pairs[m->delete_on] += count;
	}
	return 0;
}

struct mbx_estimate {
	struct sync_run *run;
	struct mbx_item *items;
	size_t n;
	enum side side;
	uint32_t *messages; /* per item; UINT32_MAX: no answer */
};

static void
mbx_estimate_untagged(struct imap_conn *conn, const struct imap_response *resp,
                      void *ctx)
{
	struct mbx_estimate *c = ctx;
	const struct sync_server *srv = &c->run->server[c->side];
	struct imap_status_data st;
	struct mbx_item key, *m;
	const char *error;
	char *name;

	(void)conn;
	if (strcmp(resp->name, "STATUS") != 0 ||
	    imap_decode_status(resp, &st, &error) < 0 ||
	    (st.have & IMAP_STATUS_MESSAGES) == 0)
		return;
	name =
	    mbx_unname(srv, srv->delim, st.mailbox, st.mailbox_len, &key.len);
	if (name == NULL)
		return;
	key.name = name;
	m = bsearch(&key, c->items, c->n, sizeof(*c->items), mbx_item_cmp);
	free(name);
	if (m != NULL)
		c->messages[m - c->items] = st.messages;
}

/* With mailboxes about to be deleted on have: about how many paired
 * messages are gone from the other side's mailboxes it still lists (its
 * pairs less its messages, by STATUS): a server come back empty lists
 * INBOX, empty, and none of its folders, and the folders would be gone
 * before the messages' brake (sync.c) could weigh INBOX. One flight, on
 * a run that deletes mailboxes only. */
static int
mbx_gone_estimate(struct sync_run *run, struct mbx_item *items, size_t n,
                  enum side have, uint64_t *gone_r)
{
	struct mbx_estimate c;
	struct sync_server *srv = &run->server[side_other(have)];
	const char *error;
	size_t i;
	int ret = -1;

	c.run = run;
	c.items = items;
	c.n = n;
	c.side = side_other(have);
	c.messages = xcalloc(n + 1, sizeof(*c.messages));
	imap_conn_set_untagged(srv->conn, mbx_estimate_untagged, &c);
	imap_conn_accept_malformed(srv->conn, "STATUS");
	for (i = 0; i < n; i++) {
		struct mbx_item *m = &items[i];
		char *wire;

		c.messages[i] = UINT32_MAX;
		if (m->idx <= 0 || m->skip || !mbx_exists(m->e[0]) ||
		    !mbx_exists(m->e[1]))
			continue;
		wire = sync_wire_name(srv, m->name, m->len);
		if (wire == NULL)
			continue;
		imap_conn_cmd(srv->conn, NULL, NULL, "STATUS %s (MESSAGES)",
		              wire);
		free(wire);
	}
	if (sync_run_wait(run) < 0)
		goto out;
	*gone_r = 0;
	for (i = 0; i < n; i++) {
		uint64_t pairs;

		if (c.messages[i] == UINT32_MAX)
			continue;
		if (state_mapping_count(run->state, items[i].idx, &pairs,
		                        &error) < 0) {
			log_error("database", NULL, "%s", error);
			goto out;
		}
		if (pairs > c.messages[i])
			*gone_r += pairs - c.messages[i];
	}
	ret = 0;
out:
	if (srv->conn != NULL) {
		imap_conn_set_untagged(srv->conn, NULL, NULL);
		imap_conn_accept_malformed(srv->conn, NULL);
	}
	free(c.messages);
	return ret;
}

/* --restore-from: a known mailbox the other side no longer lists was
 * lost there, not deleted: the database forgets it, so that it is
 * created there again and filled from restore_from as a new one. */
int
mbx_restore_boxes(struct sync_run *run, struct mbx_item *items, size_t n)
{
	enum side keep = run->set.restore_from, lost = side_other(keep);
	const char *error;
	size_t i;

	for (i = 0; i < n; i++) {
		struct mbx_item *m = &items[i];
		char *display;

		if (m->idx <= 0 || m->skip || m->unfit ||
		    !mbx_exists(m->e[keep]) || m->e[lost] != NULL)
			continue;
		if (state_mailbox_delete(run->state, m->idx, &error) < 0) {
			log_error("database", NULL, "%s", error);
			return -1;
		}
		m->idx = 0;
		display = sync_display_name(run, m->name, m->len);
		log_info(side_name(lost), display,
		         "Restoring the mailbox, lost here: creating it "
		         "again, its mail copied back from %s",
		         side_name(keep));
		free(display);
	}
	return 0;
}

/* Mailboxes known to the database and gone from one side: deleted there
 * if that side's id for it is known (so it was not renamed: renames are
 * found first) and the other side's copy has not changed since; they are
 * marked for deletion, within the brake. */
int
mbx_deletions(struct sync_run *run, struct mbx_item *items, size_t n)
{
	unsigned count[SIDE_COUNT] = {0, 0}, s;
	unsigned share = run->config->safety_expunge;
	uint64_t pairs[SIDE_COUNT] = {0, 0}, total = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		struct mbx_item *m = &items[i];
		bool ex0 = mbx_exists(m->e[0]), ex1 = mbx_exists(m->e[1]);
		enum side gone, have;
		const char *error;
		char id[256];

		if (m->idx <= 0 || m->skip || ex0 == ex1)
			continue;
		gone = ex0 ? SIDE_REMOTE : SIDE_LOCAL;
		have = side_other(gone);
		/* Listed at all (\NonExistent with children, \NoSelect)
		 * is not gone. */
		if (m->e[gone] != NULL)
			continue;
		if (state_mailbox_id_get(run->state, m->idx, gone, id,
		                         sizeof(id), &error) <= 0 ||
		    !mbx_untouched(run, m, have))
			continue;
		m->delete = true;
		m->delete_on = have;
		count[have]++;
	}
	if (count[0] + count[1] > 0 &&
	    mbx_deletion_pairs(run, items, n, pairs, &total) < 0)
		return -1;
	for (s = 0; s < SIDE_COUNT; s++) {
		bool many = count[s] > run->config->safety_delete;
		uint64_t also = 0, lost;
		bool mail;

		if (count[s] > 0 && !many && !run->set.force &&
		    mbx_gone_estimate(run, items, n, s, &also) < 0)
			return -1;
		lost = pairs[s] + also;
		mail = lost >= SYNC_BRAKE_MIN && lost * 100 > total * share;
		if (count[s] > 0 && log_sync_tracing())
			sync_trace_text(
			    "brake safety-delete: %u %s to delete on %s "
			    "(limit %u), holding %" PRIu64 " %s, and %" PRIu64
			    " more gone from the others, of %" PRIu64
			    " (safety-expunge %u%%, at least %d): %s",
			    count[s],
			    log_plural(count[s], "mailbox", "mailboxes"),
			    side_name(s), run->config->safety_delete, pairs[s],
			    log_plural(pairs[s], "pair", "pairs"), also, total,
			    share, SYNC_BRAKE_MIN,
			    !many && !mail ? "within"
			    : run->set.force
			        ? "past it, --force goes on"
			        : "past it, the run stops (exit 5)");

		if (!many && !mail)
			continue;
		if (run->set.force) {
			log_warn(side_name(s), NULL,
			         "deleting %u %s (%" PRIu64 " paired %s), past "
			         "%s: --force",
			         count[s],
			         log_plural(count[s], "mailbox", "mailboxes"),
			         pairs[s],
			         log_plural(pairs[s], "message", "messages"),
			         many ? "safety-delete" : "safety-expunge");
			continue;
		}
		log_error(side_name(s), NULL,
		          "%u mailboxes holding %" PRIu64 " of the %" PRIu64
		          " paired messages are gone from %s (and %" PRIu64
		          " more paired messages from the mailboxes it still "
		          "lists), so this run would delete them here: more "
		          "than %s (%u%s) allows. Nothing was changed. If "
		          "they were deleted on purpose, run again with "
		          "--force, which deletes "
		          "them here too. If they were lost there (a server "
		          "restored empty), run again with --restore-from=%s, "
		          "which creates them there again and copies their "
		          "mail back from here.",
		          count[s], pairs[s], total, side_name(side_other(s)),
		          also, many ? "safety-delete" : "safety-expunge",
		          many ? run->config->safety_delete : share,
		          many ? "" : "%", side_name(s));
		run->braked = true;
		return -1;
	}
	return 0;
}

/* A known mailbox gone from side lack and not deleted on the other
 * (changed there since, or lack's id for it unknown): skipped, with
 * advice that loses no mail. */
void
mbx_gone(struct sync_run *run, struct mbx_item *m, const char *display,
         enum side lack)
{
	const char *ls = side_name(lack), *hs = side_name(side_other(lack));
	char *q = sync_arg_quoted(run, m->name, m->len);

	log_error(ls, display,
	          "the mailbox is gone from %s but known to the database, "
	          "and %s still has it: skipping it. If it was renamed on "
	          "%s, rename it back there first (`imapsync --target=%s "
	          "--rename NEWNAME %s`). To copy it to %s again, run "
	          "`imapsync --target=database --delete %s` (the database "
	          "forgets it; %s keeps its mail) and run again. To be rid "
	          "of it, look at what %s's copy holds and delete it there "
	          "yourself.",
	          ls, hs, ls, ls, q, ls, q, hs, hs);
	free(q);
	mbx_item_fail(m);
}
