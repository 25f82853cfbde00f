/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The progress of a run's copies, as one line on a terminal: messages
 * and bytes copied out of the total, the rate and the time left, redrawn
 * at most twice a second (log_progress(): nothing when stderr is not a
 * terminal, or with --quiet). */
#ifndef CLIENT_PROGRESS_H
#define CLIENT_PROGRESS_H

#include <stdint.h>

/* A new run: the counts start from zero. */
void progress_start(void);
/* messages more are to be copied (a mailbox's new mail on one side). */
void progress_add(uint64_t messages);
/* One message of bytes was read from a side and is being copied. */
void progress_copied(uint64_t bytes);

#endif
