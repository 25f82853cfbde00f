/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the parts of the mailbox list share: the lists of both sides and
 * the union of their names. mailboxes.c runs the passes and hands the
 * changed mailboxes to the sync engine, mailboxes-list.c lists both
 * sides, mailboxes-reconcile.c merges the lists and creates and
 * subscribes, mailboxes-rename.c carries renames, mailboxes-deletions.c
 * deletions, mailboxes-admin.c runs --delete and --rename. */
#ifndef CLIENT_MAILBOXES_PRIVATE_H
#define CLIENT_MAILBOXES_PRIVATE_H

#include "mailboxes.h"
#include "imap-decode.h"
#include "sync.h"

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_conn;
struct imap_response;

/* One name a side listed, with its LIST-STATUS numbers and id. */
struct mbx_entry {
	char *name; /* internal form */
	size_t len;
	char *wire;
	unsigned flags; /* enum imap_list_flag */
	struct imap_status_data status;
	bool have_status;
	char *id; /* X-GUID or MAILBOXID, NULL if the server gave none */
	/* --dry-run: the name the server still has for a mailbox the run
	 * renamed in the list only (name is the new one), NULL if none. */
	char *dry_wire;
	char *dry_old; /* the name before, until the pass is over */
};

/* One side's LIST. */
struct mbx_list {
	struct sync_server *srv;
	struct mbx_entry *e;
	size_t count, alloc;
	bool delim_seen;
	char delim;
	bool failed;
	bool messages; /* STATUS MESSAGES too (the first run's brake) */
	/* The STATUS item naming mailboxes' stable ids, or NULL; cleared
	 * (and the LIST sent again) when the server refuses it (BAD) or
	 * botches it (a STATUS line that does not parse, or does not
	 * decode). */
	const char *id_item;
	bool id_refused, id_botched;
	char id_why[200]; /* the server's words, or what is wrong */
	/* The entries by wire name, for STATUS answers in any order: open
	 * addressing, index + 1 (0: free), keyed SipHash so that no server
	 * can pick names that collide. */
	size_t *hash;
	size_t hash_size;
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
};

/* One mailbox of the union. */
struct mbx_item {
	struct sync_run *run;
	const char *name;
	size_t len;
	struct mbx_entry *e[SIDE_COUNT];
	int64_t idx;
	bool created; /* created on one side in this run */
	bool skip;    /* failed reconciliation */
	/* Its name cannot exist on one side (sync_name_fits): never
	 * created, renamed, deleted or recorded. */
	bool unfit;
	/* Its CREATE on create_on was refused: the row goes again. */
	bool create_failed;
	enum side create_on;
	/* Deleted on one side since the last run (not renamed): delete it
	 * on the other, which is that side. */
	bool delete;
	enum side delete_on;
	/* Its id on each side when the LIST did not give it: from STATUS
	 * (a mailbox new to the database, created in this run). */
	char *new_id[SIDE_COUNT];
	/* mbx_side_unchanged()'s answer for each side, once asked: 0 not
	 * yet, 1 unchanged, -1 not. */
	signed char unchanged[SIDE_COUNT];
};

/* The context of mbx_created_untagged(): the items (sorted) and the
 * side asked. */
struct mbx_created {
	struct sync_run *run;
	struct mbx_item *items;
	size_t n;
	enum side side;
};

/* mailboxes.c: the passes of a run. */
/* A modified UTF-7 name in UTF-8 for a message, valid until the second
 * call after. */
const char *mbx_u8(const char *wire);

/* mailboxes-list.c: the LIST of both sides. */
/* Free what l holds; l all zero after. */
void mbx_list_free(struct mbx_list *l);
/* A wire name in the internal form (caller frees), NULL when it is not
 * under srv's reference. */
char *mbx_unname(const struct sync_server *srv, char delim, const char *wire,
                 size_t wlen, size_t *len_r);
/* ENABLE QRESYNC, the delimiters and the LIST of both sides into lists
 * (args: the patterns, else list-mailbox); -1 when the run cannot go
 * on. */
int mbx_list_both(struct sync_run *run, struct mbx_list lists[SIDE_COUNT],
                  char **args, size_t nargs);
/* Each entry's internal name, once the delimiters are known. */
int mbx_internal_names(struct mbx_list *l);
/* Whether e (NULL: not listed) is a mailbox (not \NoSelect or
 * \NonExistent); whether it is subscribed. */
bool mbx_exists(const struct mbx_entry *e);
bool mbx_subscribed(const struct mbx_entry *e);
/* The entry of l with that internal name, or NULL. */
struct mbx_entry *mbx_find(struct mbx_list *l, const char *name, size_t len);

/* mailboxes-reconcile.c: the lists against the database. */
/* The order of items (qsort, bsearch): by internal name. */
int mbx_item_cmp(const void *a, const void *b);
/* Skip it, and fail the run (exit 1) the first time. */
void mbx_item_fail(struct mbx_item *it);
/* The answer to a command about one item (ctx): a refusal skips the
 * item. */
void mbx_item_done(struct imap_conn *conn, const struct imap_response *resp,
                   void *ctx);
/* Untagged handler (ctx: struct mbx_created): the ids STATUS gives,
 * into the items' new_id. */
void mbx_created_untagged(struct imap_conn *conn,
                          const struct imap_response *resp, void *ctx);
/* Queue a STATUS on side s for m's id when its LIST line lacked it. */
void mbx_ask_id(struct sync_run *run, struct mbx_item *m, enum side s);
/* m's id on side s, from its LIST line or asked since; NULL if none. */
const char *mbx_id(const struct mbx_item *m, enum side s);
/* Record both sides' ids of the known mailboxes, for the next run. */
int mbx_record_ids(struct sync_run *run, struct mbx_item *items, size_t n);
/* Create what one side lacks, carry subscriptions and deletions, in
 * the database too; -1 when the run cannot go on. */
int mbx_reconcile(struct sync_run *run, struct mbx_item *it, size_t n);
/* Whether side s of m stands where the database left it. */
bool mbx_side_unchanged(struct sync_run *run, struct mbx_item *m, enum side s);
/* The union of both lists by internal name, sorted; caller frees. */
struct mbx_item *mbx_match(struct sync_run *run,
                           struct mbx_list lists[SIDE_COUNT], size_t nargs,
                           size_t *n_r);
/* Skip m, saying what to change, when one side cannot hold its name. */
void mbx_check_fits(struct sync_run *run, struct mbx_item *m);
/* A first run: 0 to go on, else stop before merging two sides that both
 * hold mail. */
int mbx_merge_check(struct sync_run *run, struct mbx_item *items, size_t n);

/* mailboxes-rename.c: renames found by mailbox id. */
/* RENAME on the other side and in the database what one side renamed:
 * how many (the lists must be read again), or -1. */
int mbx_renames(struct sync_run *run, struct mbx_list lists[SIDE_COUNT],
                struct mbx_item *items, size_t n);

/* mailboxes-deletions.c: known mailboxes gone from one side. */
/* DELETE m on m->delete_on and forget it, in the open transaction. */
void mbx_delete(struct sync_run *run, struct mbx_item *m, const char *display);
/* --restore-from: forget what the other side lost. */
int mbx_restore_boxes(struct sync_run *run, struct mbx_item *items, size_t n);
/* Mark for deletion what one side deleted, within the brake (-1: the
 * run stops). */
int mbx_deletions(struct sync_run *run, struct mbx_item *items, size_t n);
/* A known mailbox gone from lack and not deleted: skipped, with advice. */
void mbx_gone(struct sync_run *run, struct mbx_item *m, const char *display,
              enum side lack);

/* mailboxes-admin.c: --delete and --rename. */
/* The answer to an administrative command (ctx: bool *failed, set when
 * refused). */
void mbx_admin_done(struct imap_conn *conn, const struct imap_response *resp,
                    void *ctx);

#endif
