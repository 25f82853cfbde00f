/* The mailbox list of both sides, reconciled, then each mailbox that
 * changed synced. */
#ifndef CLIENT_MAILBOXES_H
#define CLIENT_MAILBOXES_H

#include <stddef.h>

struct sync_run;

/* List both sides (args: the MAILBOX arguments, used as LIST patterns
 * instead of list-mailbox), create what one side lacks, carry
 * subscriptions, then sync the messages of every mailbox whose numbers
 * moved. Failures of single mailboxes are counted in the run; -1 when the
 * run cannot go on (a connection or the database failed). */
int mailboxes_sync(struct sync_run *run, char **args, size_t nargs);

#endif
