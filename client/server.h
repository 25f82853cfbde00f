/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Reaching the two servers: start both connections at once, read both
 * greetings, check that each offers what the sync needs. */
#ifndef CLIENT_SERVER_H
#define CLIENT_SERVER_H

struct sync_run;
struct config;

/* Connect both sides of run as the config says; errors are logged with
 * the side's name. -1 on failure (run->server[*].conn may be set: free
 * with server_disconnect()). */
int server_connect(struct sync_run *run, const struct config *config,
                   int debug);
/* LOGOUT where the connection is usable, then free both connections. */
void server_disconnect(struct sync_run *run);
/* Log each side's traffic totals. */
void server_log_stats(const struct sync_run *run);

#endif
