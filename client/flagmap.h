/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A map from UID to a flag list (canonical string) and MODSEQ, for the
 * changes one side reported and the changes the sync made itself. */
#ifndef CLIENT_FLAGMAP_H
#define CLIENT_FLAGMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_arg;
struct buf;

struct flagmap_entry {
	uint32_t uid; /* 0: empty slot */
	uint64_t modseq;
	char *flags;
};

struct flagmap {
	struct flagmap_entry *slots;
	size_t count, size;
};

void flagmap_init(struct flagmap *m);
void flagmap_free(struct flagmap *m);
void flagmap_clear(struct flagmap *m);
/* Set uid's flags (copied) and modseq. */
void flagmap_set(struct flagmap *m, uint32_t uid, const char *flags,
                 uint64_t modseq);
/* The entry for uid, or NULL. */
struct flagmap_entry *flagmap_get(const struct flagmap *m, uint32_t uid);
bool flagmap_remove(struct flagmap *m, uint32_t uid);
/* Visit every entry: *pos starts at 0; NULL at the end. Removing the
 * entry just returned is allowed. */
struct flagmap_entry *flagmap_next(const struct flagmap *m, size_t *pos);

/* The flags of UIDs that come in increasing order with the same flags
 * one after another (the messages a sync appends: APPENDUID numbers
 * them in order, and most share their flags), kept as runs: memory by
 * run, not by message. */
struct flagrun {
	uint32_t lo, hi;
	const char *flags; /* one of strs */
};

struct flagruns {
	struct flagrun *r;
	size_t n, alloc;
	char **strs; /* the distinct strings, one per change of flags */
	size_t nstrs, strs_alloc;
};

void flagruns_init(struct flagruns *fr);
void flagruns_free(struct flagruns *fr);
/* Add uid, above every UID added so far, with flags (copied unless the
 * last run's). 0 if added; 1 if uid is not above the last (the caller
 * keeps it elsewhere). */
int flagruns_add(struct flagruns *fr, uint32_t uid, const char *flags);
/* uid's flags, or NULL. */
const char *flagruns_get(const struct flagruns *fr, uint32_t uid);
/* Forget uid (a run splits in two). */
void flagruns_remove(struct flagruns *fr, uint32_t uid);

/* The canonical form of a FLAGS list: \Recent dropped, duplicates
 * dropped, sorted case-insensitively, joined by spaces. -1 if an item is
 * not an atom, or out's cap is passed (SYNC_MAX_FLAGS_TEXT holds any
 * list a server can send). */
int flags_canonical(const struct imap_arg *flags, size_t count, struct buf *out)
    __attribute__((warn_unused_result));
/* The union of two canonical lists, canonical; -1 if out's cap is
 * passed: SYNC_MAX_FLAGS_MERGED holds the union of any two lists of
 * SYNC_MAX_FLAGS_TEXT. */
int flags_union(const char *a, const char *b, struct buf *out)
    __attribute__((warn_unused_result));
/* The three-way merge of two canonical lists a and b that both started
 * from base: each flag as the side that changed it left it (a flag
 * changed on both sides was changed the same way), into out
 * (canonical). With changes, each change is appended to it, in the
 * order of the lists, as "+FLAG from NAME" or "-FLAG from NAME" (NAME
 * a_name, b_name or "both sides"), joined by ", ", ending in "..." where
 * changes' cap is reached. The result holds flags of a and b only: -1
 * if out's cap is passed, which SYNC_MAX_FLAGS_MERGED never is. */
int flags_merge3(const char *base, const char *a, const char *b,
                 const char *a_name, const char *b_name, struct buf *out,
                 struct buf *changes) __attribute__((warn_unused_result));
/* Take flag out of the canonical list (still canonical). */
void flags_drop(struct buf *list, const char *flag);
/* Whether two canonical lists hold the same flags. */
bool flags_equal(const char *a, const char *b);

#endif
