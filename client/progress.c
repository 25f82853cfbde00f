/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "progress.h"

#include "log.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A terminal over SSH gets a few hundred bytes a second at most, and the
 * line still moves. */
#define PROGRESS_REDRAW_MS 500

static struct {
	uint64_t total, done, bytes;
	int64_t start_ms, drawn_ms;
	bool started;
} progress;

static int64_t
progress_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "12.3 MiB" into buf. */
static void
progress_size(char *buf, size_t size, double bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	unsigned u = 0;

	while (bytes >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%.0f %s", bytes, units[u]);
	else
		snprintf(buf, size, "%.1f %s", bytes, units[u]);
}

void
progress_start(void)
{
	memset(&progress, 0, sizeof(progress));
}

void
progress_add(uint64_t messages)
{
	if (messages == 0)
		return;
	if (!progress.started) {
		progress.started = true;
		progress.start_ms = progress_now_ms();
	}
	progress.total += messages;
}

void
progress_copied(uint64_t bytes)
{
	char done[32], total[32], rate[32], left[32];
	int64_t now, elapsed;
	uint64_t secs;

	progress.done++;
	progress.bytes += bytes;
	if (progress.total < progress.done)
		progress.total = progress.done;
	now = progress_now_ms();
	if (progress.drawn_ms != 0 &&
	    now - progress.drawn_ms < PROGRESS_REDRAW_MS)
		return;
	progress.drawn_ms = now;
	elapsed = now - progress.start_ms;
	progress_size(done, sizeof(done), (double)progress.bytes);
	/* The sizes of what is still to come are not asked for: the
	 * average so far stands for them. */
	progress_size(total, sizeof(total),
	              (double)progress.bytes * (double)progress.total /
	                  (double)progress.done);
	rate[0] = left[0] = '\0';
	if (elapsed >= 1000) {
		progress_size(rate, sizeof(rate),
		              (double)progress.bytes * 1000 / (double)elapsed);
		secs =
		    (uint64_t)((double)(progress.total - progress.done) *
		               (double)elapsed / (double)progress.done / 1000);
		if (secs >= 3600)
			snprintf(left, sizeof(left),
			         ", %" PRIu64 ":%02u:%02u left", secs / 3600,
			         (unsigned)(secs / 60 % 60),
			         (unsigned)(secs % 60));
		else
			snprintf(left, sizeof(left), ", %u:%02u left",
			         (unsigned)(secs / 60), (unsigned)(secs % 60));
	}
	log_progress("copying %" PRIu64 "/%" PRIu64 " messages, %s of %s%s%s%s"
	             "%s%s",
	             progress.done, progress.total, done,
	             progress.done < progress.total ? "~" : "", total,
	             rate[0] != '\0' ? ", " : "", rate,
	             rate[0] != '\0' ? "/s" : "", left);
}
