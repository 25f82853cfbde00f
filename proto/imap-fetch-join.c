/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Held messages: the items of a FETCH response that lacked some of what
 * its command asked, deep-copied out of the parser (whose responses live
 * only until the next one), until the rest of the message's items come.
 * Each is matched to later responses by UID, or by sequence number where
 * one side has no UID; a later item replaces an earlier one of the same
 * name (the newer value). Servers that split a message send its pieces
 * one after the other, so the newest held message is looked at first. */
#include "imap-fetch-join.h"

#include "imap-decode.h"
#include "limits.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct held_item {
	struct imap_arg name, value; /* deep copies, owned */
};

struct held {
	struct held *prev, *next;
	const void *owner;
	uint32_t seq, uid; /* uid 0: not known yet */
	bool seq_known;    /* false once a VANISHED shifted numbers */
	bool ready;        /* an EXPUNGE or VANISHED ended it */
	unsigned have, want;
	struct held_item *items;
	size_t count, alloc;
	size_t bytes;
	unsigned files;
};

struct imap_fetch_join {
	struct held *head, *tail; /* oldest first */
	size_t count;
	size_t bytes;
	unsigned files;
	/* The held message handed on last (its items are in resp), freed
	 * at the next call. */
	struct held *gone;
	struct imap_response resp;
	struct imap_arg top;
	struct imap_arg *items;
	size_t items_alloc;
};

struct imap_fetch_join *
imap_fetch_join_create(void)
{
	return xcalloc(1, sizeof(struct imap_fetch_join));
}

static void
arg_free(struct imap_arg *a)
{
	size_t i;

	if (a->type == IMAP_ARG_LIST) {
		for (i = 0; i < a->len; i++)
			arg_free((struct imap_arg *)&a->list[i]);
		free((void *)a->list);
	} else if (a->str != NULL) {
		free((void *)a->str);
	} else if (a->fd >= 0) {
		close(a->fd);
	}
	a->list = NULL;
	a->str = NULL;
	a->fd = -1;
}

static void
held_free(struct imap_fetch_join *j, struct held *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->count; i++) {
		arg_free(&h->items[i].name);
		arg_free(&h->items[i].value);
	}
	free(h->items);
	j->count--;
	j->bytes -= h->bytes;
	j->files -= h->files;
	free(h);
}

static void
held_unlink(struct imap_fetch_join *j, struct held *h)
{
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		j->head = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	else
		j->tail = h->prev;
	h->prev = h->next = NULL;
}

static void
release_gone(struct imap_fetch_join *j)
{
	held_free(j, j->gone);
	j->gone = NULL;
}

void
imap_fetch_join_drop(struct imap_fetch_join *j, const void *owner)
{
	struct held *h, *next;

	for (h = j->head; h != NULL; h = next) {
		next = h->next;
		if (owner == NULL || h->owner == owner) {
			held_unlink(j, h);
			held_free(j, h);
		}
	}
}

void
imap_fetch_join_free(struct imap_fetch_join **jp)
{
	struct imap_fetch_join *j = *jp;

	if (j == NULL)
		return;
	release_gone(j);
	imap_fetch_join_drop(j, NULL);
	free(j->items);
	free(j);
	*jp = NULL;
}

size_t
imap_fetch_join_bytes(const struct imap_fetch_join *j)
{
	return j->bytes;
}

/* The bit of a response's item name (as the server sends it). */
static unsigned
item_bit(const char *s, size_t len)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
	    {"UID", IMAP_FETCH_UID},
	    {"FLAGS", IMAP_FETCH_FLAGS},
	    {"MODSEQ", IMAP_FETCH_MODSEQ},
	    {"INTERNALDATE", IMAP_FETCH_INTERNALDATE},
	    {"RFC822.SIZE", IMAP_FETCH_RFC822_SIZE},
	    {"BODY[]", IMAP_FETCH_BODY},
	    {"BINARY[]", IMAP_FETCH_BODY},
	    {"X-GUID", IMAP_FETCH_X_GUID},
	    {"EMAILID", IMAP_FETCH_EMAILID},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) == len &&
		    strncasecmp(s, names[i].name, len) == 0)
			return names[i].bit;
	}
	if (len > 11 && strncasecmp(s, "BODY[HEADER", 11) == 0 &&
	    s[len - 1] == ']')
		return IMAP_FETCH_HEADER;
	return 0;
}

/* The bits of an item a command asks ("BODY.PEEK[]" is answered as
 * "BODY[]"); 0 if not known here. */
static unsigned
want_bit(const char *s, size_t len)
{
	char name[256];

	if (len == 4 && strncasecmp(s, "FAST", 4) == 0)
		return IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
		       IMAP_FETCH_RFC822_SIZE;
	if (len >= sizeof(name))
		return 0;
	if (len > 10 && strncasecmp(s, "BODY.PEEK[", 10) == 0) {
		memcpy(name, "BODY[", 5);
		memcpy(name + 5, s + 10, len - 10);
		return item_bit(name, len - 5);
	}
	if (len > 12 && strncasecmp(s, "BINARY.PEEK[", 12) == 0) {
		memcpy(name, "BINARY[", 7);
		memcpy(name + 7, s + 12, len - 12);
		return item_bit(name, len - 5);
	}
	return item_bit(s, len);
}

/* The end of the word at s[i]: a space, a ')' or the end of the line,
 * past any "[...]" (a section may hold spaces and parentheses). */
static size_t
word_end(const char *s, size_t len, size_t i)
{
	while (i < len && s[i] != ' ' && s[i] != ')' && s[i] != '\r' &&
	       s[i] != '\n') {
		if (s[i] == '[') {
			while (i < len && s[i] != ']')
				i++;
			if (i == len)
				return len;
		}
		i++;
	}
	return i;
}

bool
imap_fetch_join_want(const char *s, size_t len, unsigned *want_r,
                     struct uidset *uids, bool *all_r)
{
	size_t i, e, set, set_len;
	bool uid = false;
	unsigned want = 0, bit;
	const char *error;

	*want_r = 0;
	*all_r = false;
	i = word_end(s, len, 0); /* the tag */
	if (i < len && s[i] == ' ')
		i++;
	e = word_end(s, len, i);
	if (e - i == 3 && strncasecmp(s + i, "UID", 3) == 0) {
		uid = true;
		i = e + 1;
		e = word_end(s, len, i);
	}
	if (!uid && ((e - i == 6 && strncasecmp(s + i, "SELECT", 6) == 0) ||
	             (e - i == 7 && strncasecmp(s + i, "EXAMINE", 7) == 0))) {
		/* Its FETCH responses: what changed (RFC 7162 3.2.5.2). */
		if (memmem(s, len, "QRESYNC", 7) == NULL &&
		    memmem(s, len, "qresync", 7) == NULL)
			return false;
		*want_r = IMAP_FETCH_UID | IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ;
		*all_r = true;
		return true;
	}
	if (e - i != 5 || strncasecmp(s + i, "FETCH", 5) != 0 || e >= len)
		return false;
	set = e + 1;
	set_len = word_end(s, len, set) - set;
	i = set + set_len;
	if (i >= len || s[i] != ' ')
		return false;
	i++;
	if (s[i] == '(') {
		i++;
		for (;;) {
			e = word_end(s, len, i);
			if (e == i || (bit = want_bit(s + i, e - i)) == 0)
				return false;
			want |= bit;
			if (e < len && s[e] == ')')
				break;
			if (e >= len || s[e] != ' ')
				return false;
			i = e + 1;
		}
	} else {
		e = word_end(s, len, i);
		if (e == i || (bit = want_bit(s + i, e - i)) == 0)
			return false;
		want |= bit;
	}
	if (!uid || memchr(s + set, '*', set_len) != NULL) {
		*all_r = true;
	} else {
		if (uidset_parse(uids, s + set, set_len, NULL, &error) < 0)
			return false;
		uidset_normalize(uids);
	}
	*want_r = want | (uid ? IMAP_FETCH_UID : 0);
	return true;
}

/* A FETCH response's items, or false if it is not one we can read (the
 * caller's decoder will say what is wrong). */
static bool
resp_items(const struct imap_response *resp, const struct imap_arg **items_r,
           size_t *count_r)
{
	size_t i;

	if (resp->name == NULL || strcmp(resp->name, "FETCH") != 0 ||
	    !resp->has_number || resp->number == 0 || resp->count != 1 ||
	    !imap_arg_get_list(&resp->args[0], items_r, count_r) ||
	    *count_r % 2 != 0)
		return false;
	for (i = 0; i < *count_r; i += 2) {
		if ((*items_r)[i].type != IMAP_ARG_ATOM)
			return false;
	}
	return true;
}

/* The UID and the item bits of a readable response. */
static uint32_t
items_scan(const struct imap_arg *items, size_t count, unsigned *have_r)
{
	uint32_t uid = 0, u;
	size_t i;

	*have_r = 0;
	for (i = 0; i < count; i += 2) {
		unsigned bit = item_bit(items[i].str, items[i].len);

		if (bit == IMAP_FETCH_UID &&
		    !imap_arg_get_uint32(&items[i + 1], &u))
			continue; /* the decoder says so */
		if (bit == IMAP_FETCH_UID)
			uid = u;
		*have_r |= bit;
	}
	return uid;
}

uint32_t
imap_fetch_join_uid(const struct imap_response *resp)
{
	const struct imap_arg *items;
	size_t count;
	unsigned have;

	if (!resp_items(resp, &items, &count))
		return 0;
	return items_scan(items, count, &have);
}

static struct held *
held_find(struct imap_fetch_join *j, uint32_t seq, uint32_t uid)
{
	struct held *h;

	if (uid != 0) {
		for (h = j->tail; h != NULL; h = h->prev) {
			if (!h->ready && h->uid == uid)
				return h;
		}
	}
	for (h = j->tail; h != NULL; h = h->prev) {
		if (!h->ready && h->seq_known && h->seq == seq &&
		    (uid == 0 || h->uid == 0))
			return h;
	}
	return NULL;
}

/* Bytes and files a deep copy of a takes. */
static void
arg_cost(const struct imap_arg *a, size_t *bytes, unsigned *files)
{
	size_t i;

	*bytes += sizeof(*a);
	if (a->type == IMAP_ARG_LIST) {
		for (i = 0; i < a->len; i++)
			arg_cost(&a->list[i], bytes, files);
	} else if (a->str != NULL) {
		*bytes += a->len + 1;
	} else if (a->type == IMAP_ARG_LITERAL && a->fd >= 0) {
		(*files)++;
	}
}

static int
arg_copy(struct imap_arg *dst, const struct imap_arg *src)
{
	struct imap_arg *list;
	char *str;
	size_t i;

	*dst = *src;
	dst->list = NULL;
	dst->str = NULL;
	dst->fd = -1;
	if (src->type == IMAP_ARG_LIST) {
		dst->len = 0;
		list = xcalloc(src->len > 0 ? src->len : 1, sizeof(*list));
		for (i = 0; i < src->len; i++)
			list[i].fd = -1;
		dst->list = list;
		dst->len = src->len;
		for (i = 0; i < src->len; i++) {
			if (arg_copy(&list[i], &src->list[i]) < 0)
				return -1;
		}
	} else if (src->str != NULL) {
		str = xmalloc(src->len + 1);
		memcpy(str, src->str, src->len);
		str[src->len] = '\0';
		dst->str = str;
	} else if (src->type == IMAP_ARG_LITERAL && src->fd >= 0) {
		/* A spilled body: the parser closes its fd at the next
		 * response, this one stays until the message is handed on. */
		if ((dst->fd = dup(src->fd)) < 0)
			return -1;
	}
	return 0;
}

static bool
same_name(const struct imap_arg *a, const struct imap_arg *b)
{
	return a->len == b->len && strncasecmp(a->str, b->str, a->len) == 0;
}

static const char fail_cap[] =
    "its items came in several FETCH responses, and more than "
    "IMAP_MAX_FETCH_HELD bytes of such items (or "
    "IMAP_MAX_FETCH_HELD_FILES bodies, or the items of "
    "IMAP_MAX_FETCH_HELD_MESSAGES messages) waited for the rest: not put "
    "together";
/* A spilled body's file could not be kept open (dup() failed: too many
 * open files). */
static const char fail_nofd[] =
    "cannot keep a message body's file open while waiting for the rest "
    "of its FETCH items (too many open files)";

/* Copy items into h, replacing those of the same name. */
static int
held_merge(struct imap_fetch_join *j, struct held *h,
           const struct imap_arg *items, size_t count, const char **error_r)
{
	size_t i, k, bytes = 0;
	unsigned files = 0;
	struct held_item *it;

	for (i = 0; i < count; i++)
		arg_cost(&items[i], &bytes, &files);
	bytes += (count / 2) * sizeof(*h->items);
	if (bytes > IMAP_MAX_FETCH_HELD - j->bytes ||
	    files > IMAP_MAX_FETCH_HELD_FILES - j->files) {
		*error_r = fail_cap;
		return -1;
	}
	for (i = 0; i < count; i += 2) {
		for (k = 0; k < h->count; k++) {
			if (same_name(&h->items[k].name, &items[i]))
				break;
		}
		if (k < h->count) {
			arg_free(&h->items[k].name);
			arg_free(&h->items[k].value);
			memmove(&h->items[k], &h->items[k + 1],
			        (h->count - k - 1) * sizeof(*h->items));
			h->count--;
		}
		if (h->count == h->alloc) {
			size_t n = h->alloc == 0 ? 8 : h->alloc * 2;

			it = xreallocarray(h->items, n, sizeof(*it));
			h->items = it;
			h->alloc = n;
		}
		it = &h->items[h->count];
		it->name.fd = it->value.fd = -1;
		it->name.type = it->value.type = IMAP_ARG_NIL;
		it->name.str = it->value.str = NULL;
		it->name.list = it->value.list = NULL;
		it->name.len = it->value.len = 0;
		h->count++;
		if (arg_copy(&it->name, &items[i]) < 0 ||
		    arg_copy(&it->value, &items[i + 1]) < 0)
			goto nofd;
		h->have |= item_bit(items[i].str, items[i].len);
	}
	/* The cost as counted: what a copy takes, items' slots included. */
	h->bytes += bytes;
	h->files += files;
	j->bytes += bytes;
	j->files += files;
	return 0;
nofd:
	*error_r = fail_nofd;
	return -1;
}

/* Hand on h (unlinked), joined with resp's items (resp may be NULL). */
static const struct imap_response *
held_response(struct imap_fetch_join *j, struct held *h,
              const struct imap_response *resp, const char **error_r)
{
	const struct imap_arg *items = NULL;
	size_t count = 0, n = 0, i, k;

	j->gone = h;
	if (resp != NULL)
		(void)resp_items(resp, &items, &count);
	if (h->count * 2 + count > j->items_alloc) {
		size_t want = h->count * 2 + count;
		struct imap_arg *a = xreallocarray(j->items, want, sizeof(*a));

		j->items = a;
		j->items_alloc = want;
	}
	for (k = 0; k < h->count; k++) {
		for (i = 0; i < count; i += 2) {
			if (same_name(&h->items[k].name, &items[i]))
				break;
		}
		if (i < count)
			continue; /* the newer value comes below */
		j->items[n++] = h->items[k].name;
		j->items[n++] = h->items[k].value;
	}
	for (i = 0; i < count; i++)
		j->items[n++] = items[i];
	memset(&j->top, 0, sizeof(j->top));
	j->top.type = IMAP_ARG_LIST;
	j->top.list = j->items;
	j->top.len = n;
	j->top.fd = -1;
	memset(&j->resp, 0, sizeof(j->resp));
	j->resp.kind = IMAP_RESP_UNTAGGED;
	j->resp.has_number = true;
	j->resp.number = resp != NULL ? resp->number : h->seq;
	j->resp.name = "FETCH";
	j->resp.status = IMAP_STATUS_NONE;
	j->resp.args = &j->top;
	j->resp.count = 1;
	return &j->resp;
}

int
imap_fetch_join_add(struct imap_fetch_join *j, const struct imap_response *resp,
                    const void *owner, unsigned want,
                    const struct imap_response **out_r, const char **error_r)
{
	const struct imap_arg *items;
	struct imap_fetch f;
	const char *bad;
	size_t count;
	unsigned have;
	uint32_t uid;
	struct held *h;

	release_gone(j);
	*out_r = resp;
	/* A piece that does not decode goes on as it came, for the
	 * caller's decoder to say so: joined, a later item of the same
	 * name would hide what was wrong. */
	if (!resp_items(resp, &items, &count) ||
	    imap_decode_fetch(resp, &f, &bad) < 0)
		return 1;
	uid = (f.have & IMAP_FETCH_UID) != 0 ? f.uid : 0;
	have = f.have;
	h = held_find(j, resp->number, uid);
	if (h == NULL) {
		/* Nothing it asked (a STORE's answer, a change by another
		 * session), or all of it: on at once, as it came. */
		if (owner == NULL || (have & want) == want ||
		    (have & want & ~(unsigned)IMAP_FETCH_UID) == 0)
			return 1;
		if (j->count >= IMAP_MAX_FETCH_HELD_MESSAGES) {
			*error_r = fail_cap;
			imap_fetch_join_drop(j, owner);
			return -1;
		}
		h = xcalloc(1, sizeof(*h));
		j->count++;
		h->owner = owner;
		h->want = want;
		h->prev = j->tail;
		if (j->tail != NULL)
			j->tail->next = h;
		else
			j->head = h;
		j->tail = h;
	} else if (((h->have | have) & h->want) == h->want) {
		held_unlink(j, h);
		*out_r = held_response(j, h, resp, error_r);
		return *out_r != NULL ? 1 : -1;
	}
	h->seq = resp->number;
	h->seq_known = true;
	if (uid != 0)
		h->uid = uid;
	if (held_merge(j, h, items, count, error_r) < 0) {
		const void *o = h->owner;

		imap_fetch_join_drop(j, o);
		if (owner != o && owner != NULL)
			imap_fetch_join_drop(j, owner);
		return -1;
	}
	return 0;
}

int
imap_fetch_join_next(struct imap_fetch_join *j, const void *owner,
                     const struct imap_response **out_r)
{
	struct held *h;
	const char *error;

	release_gone(j);
	for (h = j->head; h != NULL; h = h->next) {
		if (owner != NULL ? h->owner == owner : h->ready)
			break;
	}
	if (h == NULL)
		return 0;
	held_unlink(j, h);
	*out_r = held_response(j, h, NULL, &error);
	return *out_r != NULL ? 1 : -1;
}

void
imap_fetch_join_expunge(struct imap_fetch_join *j, uint32_t seq)
{
	struct held *h;

	for (h = j->head; h != NULL; h = h->next) {
		if (!h->seq_known)
			continue;
		if (h->seq == seq)
			h->ready = true;
		else if (h->seq > seq)
			h->seq--;
	}
}

void
imap_fetch_join_vanished(struct imap_fetch_join *j, const struct uidset *uids)
{
	struct held *h;

	for (h = j->head; h != NULL; h = h->next) {
		if (h->uid == 0 || uidset_contains(uids, h->uid))
			h->ready = true;
		h->seq_known = false;
	}
}
