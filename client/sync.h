/* The sync engine: both servers, one run. Mailbox-list reconciliation is
 * in mailboxes.c; the messages of one mailbox in sync.c. Both sides work
 * at the same time: every step queues its commands on both connections
 * and drives them together, so a step costs one round trip whatever the
 * number of messages. */
#ifndef CLIENT_SYNC_H
#define CLIENT_SYNC_H

#include "side.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct imap_conn;
struct state;

/* One server for the whole run. */
struct sync_server {
	enum side side;
	struct imap_conn *conn;
	/* Hierarchy delimiter; '\0' for a flat namespace. */
	char delim;
	bool delim_known;
	const char *reference; /* list-reference, "" by default */
	uint64_t caps;
};

/* What a run is asked to do besides syncing. */
struct sync_settings {
	bool dry_run;
	bool force;
};

/* The brake needs at least this many messages gone, whatever the share:
 * emptying a small mailbox on purpose must not need --force. */
#define SYNC_BRAKE_MIN 10

struct sync_run {
	struct sync_server server[SIDE_COUNT];
	struct state *state;
	const struct config *config;
	struct sync_settings set;
	/* Mailboxes that failed; the run goes on with the others. */
	unsigned mailbox_failures;
	/* A connection failed: the run must stop. */
	bool fatal;
	/* The safety brake stopped the run before it changed anything. */
	bool braked;
	/* Totals for the closing line. */
	uint64_t copied[SIDE_COUNT], expunged[SIDE_COUNT], flagged[SIDE_COUNT];
};

/* A step boundary. For tests: with IMAPSYNC_DEBUG_EXIT_AT=N in the
 * environment the process ends at the N-th boundary as abruptly as a
 * crash (_exit(99), nothing flushed, no LOGOUT), so a test can interrupt
 * a run at every step and check that the next run repairs it. */
void sync_step(const char *what);

/* Roll back the open transaction of st; the error that made the caller
 * roll back is the one worth reporting, so a failure here is not. */
void sync_rollback(struct state *st);

/* Drive both connections until neither has a command in flight; on a
 * connection failure log it, mark the run fatal and return -1. */
int sync_run_wait(struct sync_run *run);

/* Sync the messages of one mailbox that exists on both sides: name is the
 * internal name (NUL for the delimiter), idx its state row. With repair,
 * compare every message of both sides with the mapping first (--repair).
 * Returns 0; -1 if the mailbox failed (logged; the run goes on); -2 when
 * a connection failed (the run must stop). */
int sync_mailbox(struct sync_run *run, const char *name, size_t len,
                 int64_t idx, bool repair);

/* The name of a mailbox on one server: reference + name with the
 * server's delimiter. Caller frees. NULL if the name has a delimiter and
 * the server is flat. */
char *sync_wire_name(const struct sync_server *srv, const char *name,
                     size_t len);
/* The name for messages: NULs shown as the local delimiter ('/' if
 * flat). Caller frees. */
char *sync_display_name(const struct sync_run *run, const char *name,
                        size_t len);

#endif
