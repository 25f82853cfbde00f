/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The mailbox list of both sides, reconciled, then each mailbox that
 * changed synced. */
#ifndef CLIENT_MAILBOXES_H
#define CLIENT_MAILBOXES_H

#include <stdbool.h>
#include <stddef.h>

struct sync_run;

/* List both sides (args: the MAILBOX arguments, used as LIST patterns
 * instead of list-mailbox), create what one side lacks, carry
 * subscriptions, then sync the messages of every mailbox whose numbers
 * moved (of every mailbox, comparing all messages, with repair). Failures of
 * single mailboxes are counted in the run; -1 when the run cannot go on (a
 * connection or the database failed). */
int mailboxes_sync(struct sync_run *run, char **args, size_t nargs,
                   bool repair);

/* --target bits, as in options.h. */
#define MAILBOXES_TARGET_LOCAL 0x1
#define MAILBOXES_TARGET_REMOTE 0x2
#define MAILBOXES_TARGET_DATABASE 0x4

/* --delete: DELETE each named mailbox (local delimiter in the names)
 * where it exists among targets, and forget it in the database. Not
 * recursive, as IMAP's DELETE is not. -1 on the first failure. */
int mailboxes_delete(struct sync_run *run, char **args, size_t nargs,
                     unsigned targets);
/* --rename: RENAME from to to on each target where from is listed, and
 * in the database with its children; refused when to exists on a
 * target. */
int mailboxes_rename(struct sync_run *run, const char *from, const char *to,
                     unsigned targets);

#endif
