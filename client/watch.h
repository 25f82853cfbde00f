/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Watch mode (--watch, --notify): sync, wait for a change or the next
 * poll, sync again, until SIGTERM or SIGINT; reconnect with capped
 * backoff when a server goes away; re-read the configuration on SIGHUP. */
#ifndef CLIENT_WATCH_H
#define CLIENT_WATCH_H

struct config;
struct options;
struct sync_run;

/* Run run (state open, not connected) until told to stop; *config is
 * replaced (the old one freed) when SIGHUP re-reads config_path. Returns
 * the exit status: IMAPSYNC_EXIT_OK after SIGTERM or SIGINT, or
 * IMAPSYNC_EXIT_BRAKE when the safety brake stopped a sync. */
int watch_run(struct sync_run *run, const struct options *opts,
              const char *config_path, struct config **config);

#endif
