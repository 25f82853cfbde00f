/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sync_step(): a no-op in the programs users run; in the tests' build
 * (-DIMAPSYNC_TEST_HOOKS, $(BUILD)/tests/imapsync-hooks) the point where
 * IMAPSYNC_DEBUG_EXIT_AT ends the process. Kept out of libclient.a so
 * that each program says which one it links. */
#include "sync.h"

#ifdef IMAPSYNC_TEST_HOOKS
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
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
