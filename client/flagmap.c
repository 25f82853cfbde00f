/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "flagmap.h"

#include "buf.h"
#include "imap-parser.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
flagmap_init(struct flagmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
flagmap_clear(struct flagmap *m)
{
	size_t i;

	for (i = 0; i < m->size; i++) {
		free(m->slots[i].flags);
		memset(&m->slots[i], 0, sizeof(m->slots[i]));
	}
	m->count = 0;
}

void
flagmap_free(struct flagmap *m)
{
	flagmap_clear(m);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static size_t
flagmap_hash(uint32_t uid, size_t size)
{
	return (size_t)((uid * 2654435761u) & (size - 1));
}

static struct flagmap_entry *
flagmap_find_slot(const struct flagmap_entry *slots, size_t size, uint32_t uid)
{
	size_t i = flagmap_hash(uid, size);

	while (slots[i].uid != 0 && slots[i].uid != uid)
		i = (i + 1) & (size - 1);
	return (struct flagmap_entry *)&slots[i];
}

static void
flagmap_grow(struct flagmap *m)
{
	size_t nsize = m->size == 0 ? 64 : m->size * 2, i;
	struct flagmap_entry *ns = xcalloc(nsize, sizeof(*ns));

	for (i = 0; i < m->size; i++) {
		if (m->slots[i].uid != 0)
			*flagmap_find_slot(ns, nsize, m->slots[i].uid) =
			    m->slots[i];
	}
	free(m->slots);
	m->slots = ns;
	m->size = nsize;
}

void
flagmap_set(struct flagmap *m, uint32_t uid, const char *flags, uint64_t modseq)
{
	struct flagmap_entry *e;
	char *copy = xstrdup(flags != NULL ? flags : "");

	if ((m->count + 1) * 4 > m->size * 3)
		flagmap_grow(m);
	e = flagmap_find_slot(m->slots, m->size, uid);
	if (e->uid == 0) {
		e->uid = uid;
		m->count++;
	} else {
		free(e->flags);
	}
	e->flags = copy;
	e->modseq = modseq;
}

struct flagmap_entry *
flagmap_get(const struct flagmap *m, uint32_t uid)
{
	struct flagmap_entry *e;

	if (m->size == 0 || uid == 0)
		return NULL;
	e = flagmap_find_slot(m->slots, m->size, uid);
	return e->uid == uid ? e : NULL;
}

bool
flagmap_remove(struct flagmap *m, uint32_t uid)
{
	struct flagmap_entry *e = flagmap_get(m, uid);
	size_t i, j;

	if (e == NULL)
		return false;
	free(e->flags);
	i = (size_t)(e - m->slots);
	memset(e, 0, sizeof(*e));
	m->count--;
	/* Re-insert the rest of the probe run so lookups still find it. */
	for (j = (i + 1) & (m->size - 1); m->slots[j].uid != 0;
	     j = (j + 1) & (m->size - 1)) {
		struct flagmap_entry moved = m->slots[j];

		memset(&m->slots[j], 0, sizeof(m->slots[j]));
		*flagmap_find_slot(m->slots, m->size, moved.uid) = moved;
	}
	return true;
}

struct flagmap_entry *
flagmap_next(const struct flagmap *m, size_t *pos)
{
	while (*pos < m->size) {
		struct flagmap_entry *e = &m->slots[(*pos)++];

		if (e->uid != 0)
			return e;
	}
	return NULL;
}

static int
flag_cmp(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sort, drop \Recent and duplicates, join. */
static int
flags_join(const char **v, size_t n, struct buf *out)
{
	size_t i;
	bool first = true;

	qsort(v, n, sizeof(*v), flag_cmp);
	for (i = 0; i < n; i++) {
		if (strcasecmp(v[i], "\\Recent") == 0)
			continue;
		if (i > 0 && strcasecmp(v[i], v[i - 1]) == 0)
			continue;
		if ((!first && buf_append_byte(out, ' ') < 0) ||
		    buf_append_str(out, v[i]) < 0)
			return -1;
		first = false;
	}
	return 0;
}

int
flags_canonical(const struct imap_arg *flags, size_t count, struct buf *out)
{
	const char **v;
	size_t i;
	int ret;

	v = xcalloc(count + 1, sizeof(*v));
	for (i = 0; i < count; i++) {
		if (flags[i].type != IMAP_ARG_ATOM) {
			free(v);
			return -1;
		}
		v[i] = flags[i].str;
	}
	ret = flags_join(v, count, out);
	free(v);
	return ret;
}

/* Split a canonical list in place into words. */
static size_t
flags_split(char *s, const char **v, size_t max)
{
	size_t n = 0;
	char *save = NULL, *w;

	for (w = strtok_r(s, " ", &save); w != NULL && n < max;
	     w = strtok_r(NULL, " ", &save))
		v[n++] = w;
	return n;
}

int
flags_union(const char *a, const char *b, struct buf *out)
{
	size_t la = strlen(a), lb = strlen(b), n;
	char *s = xmalloc(la + lb + 2);
	const char **v;
	int ret;

	memcpy(s, a, la);
	s[la] = ' ';
	memcpy(s + la + 1, b, lb + 1);
	v = xcalloc(la + lb + 2, sizeof(*v));
	n = flags_split(s, v, la + lb + 2);
	ret = flags_join(v, n, out);
	free(v);
	free(s);
	return ret;
}

bool
flags_equal(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

void
flags_drop(struct buf *list, const char *flag)
{
	char *copy = xstrdup(buf_data(list)), *word, *save = NULL;

	buf_reset(list);
	for (word = strtok_r(copy, " ", &save); word != NULL;
	     word = strtok_r(NULL, " ", &save)) {
		if (strcasecmp(word, flag) == 0)
			continue;
		/* Never longer than what was there: it always fits. */
		if ((buf_len(list) > 0 && buf_append_byte(list, ' ') < 0) ||
		    buf_append_str(list, word) < 0)
			break;
	}
	free(copy);
}

/* A canonical list split into words, in its own copy, sorted as
 * flags_canonical() sorts (a list from elsewhere too), so that a flag is
 * looked up in log time: a server's lists may hold thousands. */
struct flag_words {
	char *s;
	const char **v;
	size_t n;
};

static void
flag_words_split(const char *list, struct flag_words *w)
{
	size_t len = strlen(list);

	w->s = xstrdup(list);
	w->v = xcalloc(len / 2 + 2, sizeof(*w->v));
	w->n = flags_split(w->s, w->v, len / 2 + 2);
	if (w->n > 1)
		qsort(w->v, w->n, sizeof(*w->v), flag_cmp);
}

/* One change for flags_merge3(): ", +FLAG from NAME". The text is for a
 * log line: past its cap it ends in "..." rather than failing the
 * merge. */
static void
flag_change_add(struct buf *changes, bool set, const char *flag,
                const char *who)
{
	size_t start = buf_len(changes);

	if (start >= 3 && strcmp(buf_data(changes) + start - 3, "...") == 0)
		return;
	if ((start > 0 && buf_append_str(changes, ", ") < 0) ||
	    buf_append_byte(changes, set ? '+' : '-') < 0 ||
	    buf_append_str(changes, flag) < 0 ||
	    buf_append_str(changes, " from ") < 0 ||
	    buf_append_str(changes, who) < 0) {
		buf_truncate(changes, start);
		while (buf_avail(changes) < 3 && buf_len(changes) > 0)
			buf_truncate(changes, buf_len(changes) - 1);
		if (buf_append_str(changes, "...") < 0)
			return; /* a cap under 3 bytes: nothing said */
	}
}

static bool
flag_words_has(const struct flag_words *w, const char *flag)
{
	return w->n > 0 &&
	       bsearch(&flag, w->v, w->n, sizeof(*w->v), flag_cmp) != NULL;
}

int
flags_merge3(const char *base, const char *a, const char *b, const char *a_name,
             const char *b_name, struct buf *out, struct buf *changes)
{
	struct flag_words w[3] = {
	    {NULL, NULL, 0}, {NULL, NULL, 0}, {NULL, NULL, 0}};
	const char **res;
	size_t i, k, n = 0;
	int ret;

	flag_words_split(base, &w[0]);
	flag_words_split(a, &w[1]);
	flag_words_split(b, &w[2]);
	res = xcalloc(w[0].n + w[1].n + w[2].n + 1, sizeof(*res));
	for (k = 0; k < 3; k++) {
		for (i = 0; i < w[k].n; i++) {
			const char *f = w[k].v[i];
			bool in_base, in_a, in_b, set;
			const char *who = NULL;

			/* Each flag once: at its first list. */
			if ((k > 0 && flag_words_has(&w[0], f)) ||
			    (k > 1 && flag_words_has(&w[1], f)))
				continue;
			in_base = flag_words_has(&w[0], f);
			in_a = flag_words_has(&w[1], f);
			in_b = flag_words_has(&w[2], f);
			set = in_base;
			if (in_a != in_base) {
				set = in_a;
				who = in_b != in_base ? "both sides" : a_name;
			} else if (in_b != in_base) {
				set = in_b;
				who = b_name;
			}
			if (set)
				res[n++] = f;
			if (who != NULL && changes != NULL)
				flag_change_add(changes, set, f, who);
		}
	}
	ret = flags_join(res, n, out);
	free(res);
	for (k = 0; k < 3; k++) {
		free(w[k].s);
		free(w[k].v);
	}
	return ret;
}

/* Distinct flag lists compared before a new copy is kept. */
#define FLAGRUNS_INTERN_LOOK 64

void
flagruns_init(struct flagruns *fr)
{
	memset(fr, 0, sizeof(*fr));
}

void
flagruns_free(struct flagruns *fr)
{
	size_t i;

	for (i = 0; i < fr->nstrs; i++)
		free(fr->strs[i]);
	free(fr->strs);
	free(fr->r);
	memset(fr, 0, sizeof(*fr));
}

static void
flagruns_reserve(struct flagruns *fr)
{
	if (fr->n == fr->alloc) {
		size_t n = fr->alloc == 0 ? 16 : fr->alloc * 2;

		fr->r = xreallocarray(fr->r, n, sizeof(*fr->r));
		fr->alloc = n;
	}
}

/* One copy of each flag list: messages' flags mix a few lists (\Seen,
 * \Seen \Answered, none...), so runs break often but strings repeat.
 * The most recent lists are looked at, a bounded number. */
static const char *
flagruns_intern(const struct flagruns *fr, const char *flags)
{
	size_t i, k;

	for (i = fr->nstrs, k = 0; i > 0 && k < FLAGRUNS_INTERN_LOOK;
	     i--, k++) {
		if (strcmp(fr->strs[i - 1], flags) == 0)
			return fr->strs[i - 1];
	}
	return NULL;
}

int
flagruns_add(struct flagruns *fr, uint32_t uid, const char *flags)
{
	struct flagrun *last = fr->n > 0 ? &fr->r[fr->n - 1] : NULL;
	const char *str;

	if (uid == 0 || (last != NULL && uid <= last->hi))
		return 1;
	if (last != NULL && strcmp(last->flags, flags) == 0) {
		if (uid == last->hi + 1) {
			last->hi = uid;
			return 0;
		}
		str = last->flags;
	} else if ((str = flagruns_intern(fr, flags)) == NULL) {
		if (fr->nstrs == fr->strs_alloc) {
			size_t n =
			    fr->strs_alloc == 0 ? 16 : fr->strs_alloc * 2;

			fr->strs =
			    xreallocarray(fr->strs, n, sizeof(*fr->strs));
			fr->strs_alloc = n;
		}
		str = fr->strs[fr->nstrs++] = xstrdup(flags);
	}
	flagruns_reserve(fr);
	fr->r[fr->n].lo = fr->r[fr->n].hi = uid;
	fr->r[fr->n].flags = str;
	fr->n++;
	return 0;
}

/* The index of the run holding uid, or n. */
static size_t
flagruns_find(const struct flagruns *fr, uint32_t uid)
{
	size_t lo = 0, hi = fr->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fr->r[mid].hi < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < fr->n && fr->r[lo].lo <= uid ? lo : fr->n;
}

const char *
flagruns_get(const struct flagruns *fr, uint32_t uid)
{
	size_t i = flagruns_find(fr, uid);

	return i < fr->n ? fr->r[i].flags : NULL;
}

void
flagruns_remove(struct flagruns *fr, uint32_t uid)
{
	size_t i = flagruns_find(fr, uid);
	struct flagrun *run;

	if (i == fr->n)
		return;
	run = &fr->r[i];
	if (run->lo == run->hi) {
		memmove(run, run + 1, (fr->n - i - 1) * sizeof(*run));
		fr->n--;
		return;
	}
	if (uid == run->lo) {
		run->lo++;
		return;
	}
	if (uid == run->hi) {
		run->hi--;
		return;
	}
	flagruns_reserve(fr);
	run = &fr->r[i];
	memmove(run + 1, run, (fr->n - i) * sizeof(*run));
	fr->n++;
	run[0].hi = uid - 1;
	run[1].lo = uid + 1;
}
