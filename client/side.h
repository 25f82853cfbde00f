/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The two servers a sync keeps in step. Two-sided data lives in [2]
 * arrays indexed by enum side (after isync), so the logic is written once
 * for both directions. */
#ifndef CLIENT_SIDE_H
#define CLIENT_SIDE_H

enum side {
	SIDE_LOCAL = 0,
	SIDE_REMOTE = 1,
};
#define SIDE_COUNT 2

/* "local" or "remote": the name interimap uses in its config sections,
 * log prefixes (%n) and its database tables. */
static inline const char *
side_name(enum side side)
{
	return side == SIDE_LOCAL ? "local" : "remote";
}

/* The other side. */
static inline enum side
side_other(enum side side)
{
	return side == SIDE_LOCAL ? SIDE_REMOTE : SIDE_LOCAL;
}

#endif
