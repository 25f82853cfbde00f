/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Sets of UIDs (or sequence numbers) as ranges: parsed from what servers
 * send, built from UIDs the client collects, and written back in the
 * shortest range form, split so no command carries more than
 * IMAP_MAX_UIDSET_CMD bytes of set. */
#ifndef PROTO_UIDSET_H
#define PROTO_UIDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

struct uid_range {
	uint32_t lo, hi; /* lo <= hi */
};

/* Ranges in the order they were added or parsed (a COPYUID pair of sets
 * is matched by position), until uidset_normalize() sorts and merges. */
struct uidset {
	struct uid_range *r;
	size_t n, alloc;
	/* Kept true while the ranges are sorted and apart, so that
	 * uidset_contains() can search without scanning first. */
	bool normalized;
};

#define UIDSET_INIT {NULL, 0, 0, true}

/* The ranges one set may hold: IMAP_MAX_UIDSET_RANGES, lowered only by
 * the tests' build (tests/imapsync-hooks, IMAPSYNC_DEBUG_MAX_UID_RANGES)
 * so that a real server's mailbox of a few messages reaches it. */
extern size_t uidset_max_ranges;

void uidset_init(struct uidset *set);
void uidset_free(struct uidset *set);
void uidset_clear(struct uidset *set);

/* Append a UID or a range (any order; lo and hi are swapped if needed).
 * A UID next to the last range extends it. -1 if that would pass
 * uidset_max_ranges (a server's mailbox can get there: fail the
 * mailbox, never drop the UID), set unchanged. */
int uidset_add(struct uidset *set, uint32_t uid)
    __attribute__((warn_unused_result));
int uidset_add_range(struct uidset *set, uint32_t lo, uint32_t hi)
    __attribute__((warn_unused_result));

/* Parse "1:3,5,9:7" (0 is not a UID; "*" is refused unless star is given,
 * in which case it reads as *star). Ranges are appended to set. -1 with
 * *error_r on malformed input, -2 with *error_r (naming the limit) when
 * set would pass uidset_max_ranges; set is then left as before the
 * call. */
int uidset_parse(struct uidset *set, const char *s, size_t len,
                 const uint32_t *star, const char **error_r)
    __attribute__((warn_unused_result));

/* Sort and merge overlapping and adjacent ranges. */
void uidset_normalize(struct uidset *set);

/* Take every UID of minus out of set (both are normalized first), in
 * time linear in their ranges. -1 if the ranges left would pass
 * IMAP_MAX_UIDSET_RANGES (each UID of minus can split a range), set
 * unchanged. */
int uidset_subtract(struct uidset *set, struct uidset *minus)
    __attribute__((warn_unused_result));

/* Number of UIDs (counting duplicates if not normalized). */
uint64_t uidset_count(const struct uidset *set);
/* The n-th UID (0-based) in set order; false past the end. */
bool uidset_nth(const struct uidset *set, uint64_t n, uint32_t *uid_r);
/* Walking a set UID by UID in set order, in constant time per UID:
 *	struct uidset_iter it;
 *	uidset_iter_init(&it, set);
 *	while (uidset_iter_next(&it, &uid)) ... */
struct uidset_iter {
	const struct uidset *set;
	size_t range;
	uint64_t next; /* the next UID of set->r[range] */
};
void uidset_iter_init(struct uidset_iter *it, const struct uidset *set);
bool uidset_iter_next(struct uidset_iter *it, uint32_t *uid_r);

/* Whether uid is in the set (binary search when normalized, else linear). */
bool uidset_contains(const struct uidset *set, uint32_t uid);
bool uidset_is_normalized(const struct uidset *set);

/* Write the whole set ("1:3,5") to out. -1 if out's cap is reached
 * (out unchanged). */
int uidset_format(const struct uidset *set, struct buf *out)
    __attribute__((warn_unused_result));
/* Write ranges from *pos on, stopping before the written set would pass
 * max bytes (at least one range is always written); *pos moves past what
 * was written. Returns the number of ranges written: 0 when *pos is at the
 * end. Loop on it to split one command into several. Ranges that would
 * pass out's cap are not written (0 with *pos short of set->n if none
 * fit). */
size_t uidset_format_chunk(const struct uidset *set, size_t *pos, size_t max,
			   struct buf *out);

#endif
