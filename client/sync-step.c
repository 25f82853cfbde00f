/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sync_step(): a no-op in the programs users run; in the tests' build
 * (-DIMAPSYNC_TEST_HOOKS, $(BUILD)/tests/imapsync-hooks) the point where
 * IMAPSYNC_DEBUG_EXIT_AT ends the process (and where
 * IMAPSYNC_DEBUG_MAX_UID_RANGES lowers a limit). Kept out of libclient.a so
 * that each program says which one it links. */
#include "sync.h"

#ifdef IMAPSYNC_TEST_HOOKS
#include "uidset.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* IMAPSYNC_DEBUG_MAX_UID_RANGES: a lower uidset_max_ranges, so that a
 * test reaches the limit with a mailbox of a few messages. */
static void __attribute__((constructor))
sync_step_hooks_init(void)
{
	const char *v = getenv("IMAPSYNC_DEBUG_MAX_UID_RANGES");

	if (v != NULL && strtoul(v, NULL, 10) > 0)
		uidset_max_ranges = strtoul(v, NULL, 10);
}
#endif

void
sync_step(const char *what)
{
#ifdef IMAPSYNC_TEST_HOOKS
	static long at = -1, n;
	static int list;

	if (at < 0) {
		const char *v = getenv("IMAPSYNC_DEBUG_EXIT_AT");

		at = v != NULL ? strtol(v, NULL, 10) : 0;
		/* IMAPSYNC_DEBUG_STEPS: say each step, to pick one. */
		list = getenv("IMAPSYNC_DEBUG_STEPS") != NULL;
	}
	n++;
	if (list)
		fprintf(stderr, "imapsync: step %ld (%s)\n", n, what);
	if (at > 0 && n == at) {
		fprintf(stderr, "imapsync: exiting at step %ld (%s)\n", n,
		        what);
		_exit(99);
	}
#else
	(void)what;
#endif
}
