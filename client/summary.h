/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The summary line at the end of a run and of a watch round: what it
 * changed on each side (run->tally, counted where each action line is
 * said) and how long it took. An action line like the others: suppressed
 * by --quiet, nothing sent to a server. */
#ifndef CLIENT_SUMMARY_H
#define CLIENT_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>

struct sync_run;

/* A start time for summary_log(): a monotonic clock, in milliseconds. */
int64_t summary_clock(void);
/* Whether the run changed (or, dry, would change) anything yet. */
bool summary_any(const struct sync_run *run);
/* Say the run's summary: how it ended (done, with failed mailboxes,
 * stopped, braked; a dry run says what a sync would do), the time since
 * started (summary_clock()), and the counts of each side, those that are
 * not zero. */
void summary_log(const struct sync_run *run, int64_t started);

#endif
