/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Typed decoders over parsed responses. Every value a server sends is
 * checked for type and range before it lands in an output struct, and
 * every error names the response and the item, so a broken server is
 * reported precisely instead of desynchronising the client later. */
#include "imap-decode.h"

#include "limits.h"

#include <string.h>
#include <strings.h>

/* RFC 7162: mod-sequence-value is a positive 63-bit number. */
#define MODSEQ_MAX ((uint64_t)INT64_MAX)

static int
fail(const char **error_r, const char *msg)
{
	*error_r = msg;
	return -1;
}

/* Keywords are case-insensitive in IMAP, whatever the parser does. */
static bool
atom_is(const struct imap_arg *arg, const char *word)
{
	return arg->type == IMAP_ARG_ATOM && arg->str != NULL &&
	       arg->len == strlen(word) && strcasecmp(arg->str, word) == 0;
}

static bool
resp_is(const struct imap_response *resp, const char *name)
{
	return resp->kind == IMAP_RESP_UNTAGGED && resp->name != NULL &&
	       strcasecmp(resp->name, name) == 0;
}

/* Bytes that are text: present in memory and free of NULs, since the
 * callers hand them on as C strings. */
static bool
arg_is_text(const struct imap_arg *arg)
{
	return arg->str != NULL && memchr(arg->str, '\0', arg->len) == NULL;
}

static bool
get_uint32(const struct imap_arg *arg, bool nonzero, uint32_t *num_r)
{
	if (!imap_arg_get_uint32(arg, num_r))
		return false;
	return !nonzero || *num_r != 0;
}

static bool
get_modseq(const struct imap_arg *arg, bool nonzero, uint64_t *num_r)
{
	if (!imap_arg_get_uint64(arg, num_r) || *num_r > MODSEQ_MAX)
		return false;
	return !nonzero || *num_r != 0;
}

/* An astring holding a mailbox name we can keep as a C string. */
static bool
get_mailbox(const struct imap_arg *arg, const char **name_r, size_t *len_r)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_STRING &&
	    arg->type != IMAP_ARG_LITERAL)
		return false;
	if (!arg_is_text(arg) || arg->len > IMAP_MAX_MAILBOX_NAME)
		return false;
	*name_r = arg->str;
	*len_r = arg->len;
	return true;
}

/* "(objectid)" as in RFC 8474: a list of one atom of safe characters. */
static bool
get_objectid(const struct imap_arg *arg, const char **id_r)
{
	const struct imap_arg *items;
	size_t count, i;

	if (arg->type != IMAP_ARG_LIST ||
	    !imap_arg_get_list(arg, &items, &count) || count != 1)
		return false;
	if (items[0].type != IMAP_ARG_ATOM || items[0].str == NULL ||
	    items[0].len == 0 || items[0].len > IMAP_MAX_OBJECTID)
		return false;
	for (i = 0; i < items[0].len; i++) {
		char c = items[0].str[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	*id_r = items[0].str;
	return true;
}

/* Dovecot's X-GUID: an atom, or a quoted string when it holds specials. */
static bool
get_guid(const struct imap_arg *arg, const char **guid_r)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_STRING)
		return false;
	if (arg->len == 0 || !arg_is_text(arg))
		return false;
	*guid_r = arg->str;
	return true;
}

/* A list of flag atoms; "\*" only where the server may announce it. */
static bool
get_flags(const struct imap_arg *arg, bool allow_star,
          const struct imap_arg **flags_r, size_t *count_r)
{
	const struct imap_arg *items;
	size_t count, i;

	if (arg->type != IMAP_ARG_LIST ||
	    !imap_arg_get_list(arg, &items, &count))
		return false;
	for (i = 0; i < count; i++) {
		if (items[i].type != IMAP_ARG_ATOM || items[i].len == 0 ||
		    !arg_is_text(&items[i]))
			return false;
		if (!allow_star && strcmp(items[i].str, "\\*") == 0)
			return false;
	}
	*flags_r = items;
	*count_r = count;
	return true;
}

/* A sequence set without "*" appended to set; *added_r is how many UIDs
 * it holds. false when it is not one; when it holds more ranges than a
 * set takes, with uidset_parse()'s text naming the limit in *limit_r if
 * not NULL. */
static bool
get_uidset(const struct imap_arg *arg, struct uidset *set, uint64_t *added_r,
           const char **limit_r)
{
	uint64_t before = uidset_count(set);
	const char *error;

	if (arg->type != IMAP_ARG_ATOM || arg->str == NULL || arg->len == 0)
		return false;
	switch (uidset_parse(set, arg->str, arg->len, NULL, &error)) {
	case 0:
		break;
	case -2:
		if (limit_r != NULL)
			*limit_r = error;
		return false;
	default:
		return false;
	}
	if (added_r != NULL)
		*added_r = uidset_count(set) - before;
	return true;
}

static const struct {
	const char *name;
	uint64_t bit;
} capabilities[] = {
    {"IMAP4REV1", IMAP_CAP_IMAP4REV1},
    {"IMAP4REV2", IMAP_CAP_IMAP4REV2},
    {"STARTTLS", IMAP_CAP_STARTTLS},
    {"LOGINDISABLED", IMAP_CAP_LOGINDISABLED},
    {"AUTH=PLAIN", IMAP_CAP_AUTH_PLAIN},
    {"AUTH=LOGIN", IMAP_CAP_AUTH_LOGIN},
    {"AUTH=SCRAM-SHA-256", IMAP_CAP_AUTH_SCRAM_SHA_256},
    {"SASL-IR", IMAP_CAP_SASL_IR},
    {"ENABLE", IMAP_CAP_ENABLE},
    {"CONDSTORE", IMAP_CAP_CONDSTORE},
    {"QRESYNC", IMAP_CAP_QRESYNC},
    {"LIST-EXTENDED", IMAP_CAP_LIST_EXTENDED},
    {"LIST-STATUS", IMAP_CAP_LIST_STATUS},
    {"UIDPLUS", IMAP_CAP_UIDPLUS},
    {"MULTIAPPEND", IMAP_CAP_MULTIAPPEND},
    {"LITERAL+", IMAP_CAP_LITERALPLUS},
    {"LITERAL-", IMAP_CAP_LITERALMINUS},
    {"MOVE", IMAP_CAP_MOVE},
    {"COMPRESS=DEFLATE", IMAP_CAP_COMPRESS_DEFLATE},
    {"OBJECTID", IMAP_CAP_OBJECTID},
    {"NOTIFY", IMAP_CAP_NOTIFY},
    {"IDLE", IMAP_CAP_IDLE},
    {"ESEARCH", IMAP_CAP_ESEARCH},
    {"BINARY", IMAP_CAP_BINARY},
    {"NAMESPACE", IMAP_CAP_NAMESPACE},
    {"UNSELECT", IMAP_CAP_UNSELECT},
    {"ID", IMAP_CAP_ID},
    {"STATUS=SIZE", IMAP_CAP_STATUS_SIZE},
};

int
imap_decode_capability(const struct imap_arg *args, size_t count,
                       uint64_t *caps_r, const char **error_r)
{
	uint64_t caps = 0;
	size_t i, j;

	for (i = 0; i < count; i++) {
		if (args[i].type != IMAP_ARG_ATOM || args[i].str == NULL)
			return fail(error_r,
			            "CAPABILITY: a capability is not an atom");
		for (j = 0; j < sizeof(capabilities) / sizeof(*capabilities);
		     j++) {
			if (atom_is(&args[i], capabilities[j].name)) {
				caps |= capabilities[j].bit;
				break;
			}
		}
	}
	*caps_r = caps;
	return 0;
}

int
imap_decode_enabled(const struct imap_response *resp, uint64_t *caps_r,
                    const char **error_r)
{
	uint64_t caps;

	if (!resp_is(resp, "ENABLED"))
		return fail(error_r, "ENABLED: not an ENABLED response");
	if (imap_decode_capability(resp->args, resp->count, &caps, error_r) < 0)
		return fail(error_r, "ENABLED: a capability is not an atom");
	/* RFC 7162 3.2.3: enabling QRESYNC also enables CONDSTORE. */
	if ((caps & IMAP_CAP_QRESYNC) != 0)
		caps |= IMAP_CAP_CONDSTORE;
	*caps_r = caps;
	return 0;
}

static const struct {
	const char *name;
	unsigned flag;
} list_flags[] = {
    {"\\NOSELECT", IMAP_LIST_NOSELECT},
    {"\\NONEXISTENT", IMAP_LIST_NONEXISTENT},
    {"\\NOINFERIORS", IMAP_LIST_NOINFERIORS},
    {"\\HASCHILDREN", IMAP_LIST_HASCHILDREN},
    {"\\HASNOCHILDREN", IMAP_LIST_HASNOCHILDREN},
    {"\\SUBSCRIBED", IMAP_LIST_SUBSCRIBED},
    {"\\REMOTE", IMAP_LIST_REMOTE},
    {"\\MARKED", IMAP_LIST_MARKED},
    {"\\UNMARKED", IMAP_LIST_UNMARKED},
};

/* RFC 5258 mbox-list-extended: "(" [tag SP value *(SP tag SP value)] ")". */
static int
list_decode_extended(const struct imap_arg *arg, struct imap_list *list,
                     const char **error_r)
{
	const struct imap_arg *items, *vals;
	size_t count, nvals, i, j, len;
	const char *tag;

	if (arg->type != IMAP_ARG_LIST ||
	    !imap_arg_get_list(arg, &items, &count))
		return fail(error_r, "LIST: extended data is not a list");
	if (count % 2 != 0)
		return fail(error_r,
		            "LIST: extended data item without a value");
	for (i = 0; i < count; i += 2) {
		if (items[i].type == IMAP_ARG_LIST ||
		    !imap_arg_get_astring(&items[i], &tag))
			return fail(error_r,
			            "LIST: extended data tag is not a string");
		if (strcasecmp(tag, "CHILDINFO") == 0) {
			if (items[i + 1].type != IMAP_ARG_LIST ||
			    !imap_arg_get_list(&items[i + 1], &vals, &nvals) ||
			    nvals == 0)
				return fail(error_r,
				            "LIST: CHILDINFO is not a list");
			for (j = 0; j < nvals; j++) {
				const char *opt;

				if (vals[j].type == IMAP_ARG_LIST ||
				    !imap_arg_get_astring(&vals[j], &opt))
					return fail(error_r,
					            "LIST: CHILDINFO item is "
					            "not a string");
				if (strcasecmp(opt, "SUBSCRIBED") == 0)
					list->flags |=
					    IMAP_LIST_CHILD_SUBSCRIBED;
			}
		} else if (strcasecmp(tag, "OLDNAME") == 0) {
			if (items[i + 1].type != IMAP_ARG_LIST ||
			    !imap_arg_get_list(&items[i + 1], &vals, &nvals) ||
			    nvals != 1 ||
			    !get_mailbox(&vals[0], &list->oldname, &len))
				return fail(error_r,
				            "LIST: OLDNAME is not a list of "
				            "one mailbox name");
		}
	}
	return 0;
}

int
imap_decode_list(const struct imap_response *resp, struct imap_list *list_r,
                 const char **error_r)
{
	const struct imap_arg *flags, *args = resp->args;
	size_t nflags, i, j;

	memset(list_r, 0, sizeof(*list_r));
	if (!resp_is(resp, "LIST") && !resp_is(resp, "LSUB"))
		return fail(error_r, "LIST: not a LIST or LSUB response");
	if (resp->count < 3)
		return fail(error_r, "LIST: missing flags, delimiter or name");
	if (resp->count > 4)
		return fail(error_r, "LIST: unexpected data after the name");

	if (args[0].type != IMAP_ARG_LIST ||
	    !imap_arg_get_list(&args[0], &flags, &nflags))
		return fail(error_r, "LIST: flags are not a list");
	for (i = 0; i < nflags; i++) {
		if (flags[i].type != IMAP_ARG_ATOM || flags[i].str == NULL)
			return fail(error_r, "LIST: a flag is not an atom");
		for (j = 0; j < sizeof(list_flags) / sizeof(*list_flags); j++) {
			if (atom_is(&flags[i], list_flags[j].name))
				list_r->flags |= list_flags[j].flag;
		}
	}

	if (args[1].type == IMAP_ARG_NIL)
		list_r->delimiter = '\0';
	else if (args[1].type == IMAP_ARG_STRING && args[1].len == 1 &&
	         args[1].str != NULL && args[1].str[0] != '\0')
		list_r->delimiter = args[1].str[0];
	else
		return fail(
		    error_r,
		    "LIST: delimiter is not NIL or one quoted character");

	if (!get_mailbox(&args[2], &list_r->name, &list_r->name_len))
		return fail(error_r,
		            "LIST: mailbox name is not a valid string");

	if (resp->count == 4 &&
	    list_decode_extended(&args[3], list_r, error_r) < 0)
		return -1;
	return 0;
}

/* One STATUS item and its value; unknown items are skipped. */
static int
status_decode_item(const struct imap_arg *name, const struct imap_arg *value,
                   struct imap_status_data *st, const char **error_r)
{
	if (name->type != IMAP_ARG_ATOM || name->str == NULL)
		return fail(error_r, "STATUS: item name is not an atom");
	if (atom_is(name, "MESSAGES")) {
		if (!get_uint32(value, false, &st->messages))
			return fail(error_r,
			            "STATUS: MESSAGES is not a number");
		st->have |= IMAP_STATUS_MESSAGES;
	} else if (atom_is(name, "UIDNEXT")) {
		if (!get_uint32(value, true, &st->uidnext))
			return fail(error_r,
			            "STATUS: UIDNEXT is not a non-zero number");
		st->have |= IMAP_STATUS_UIDNEXT;
	} else if (atom_is(name, "UIDVALIDITY")) {
		if (!get_uint32(value, true, &st->uidvalidity))
			return fail(error_r, "STATUS: UIDVALIDITY is not a "
			                     "non-zero number");
		st->have |= IMAP_STATUS_UIDVALIDITY;
	} else if (atom_is(name, "UNSEEN")) {
		if (!get_uint32(value, false, &st->unseen))
			return fail(error_r, "STATUS: UNSEEN is not a number");
		st->have |= IMAP_STATUS_UNSEEN;
	} else if (atom_is(name, "RECENT")) {
		if (!get_uint32(value, false, &st->recent))
			return fail(error_r, "STATUS: RECENT is not a number");
		st->have |= IMAP_STATUS_RECENT;
	} else if (atom_is(name, "HIGHESTMODSEQ")) {
		/* mod-sequence-valzer: 0 for a mailbox without one. */
		if (!get_modseq(value, false, &st->highestmodseq))
			return fail(error_r, "STATUS: HIGHESTMODSEQ is not a "
			                     "63-bit number");
		st->have |= IMAP_STATUS_HIGHESTMODSEQ;
	} else if (atom_is(name, "SIZE")) {
		/* RFC 8438 number64 */
		if (!get_modseq(value, false, &st->size))
			return fail(error_r,
			            "STATUS: SIZE is not a 63-bit number");
		st->have |= IMAP_STATUS_SIZE;
	} else if (atom_is(name, "X-GUID")) {
		if (!get_guid(value, &st->x_guid))
			return fail(error_r, "STATUS: X-GUID is not an atom");
		st->have |= IMAP_STATUS_X_GUID;
	} else if (atom_is(name, "MAILBOXID")) {
		if (!get_objectid(value, &st->mailboxid))
			return fail(error_r, "STATUS: MAILBOXID is not a list "
			                     "of one object id");
		st->have |= IMAP_STATUS_MAILBOXID;
	}
	return 0;
}

int
imap_decode_status(const struct imap_response *resp,
                   struct imap_status_data *status_r, const char **error_r)
{
	const struct imap_arg *items;
	size_t count, i;

	memset(status_r, 0, sizeof(*status_r));
	if (!resp_is(resp, "STATUS"))
		return fail(error_r, "STATUS: not a STATUS response");
	if (resp->count != 2)
		return fail(error_r,
		            "STATUS: expected a mailbox and a list of items");
	if (!get_mailbox(&resp->args[0], &status_r->mailbox,
	                 &status_r->mailbox_len))
		return fail(error_r, "STATUS: mailbox name is not a valid "
		                     "string");
	if (resp->args[1].type != IMAP_ARG_LIST ||
	    !imap_arg_get_list(&resp->args[1], &items, &count))
		return fail(error_r, "STATUS: items are not a list");
	if (count % 2 != 0)
		return fail(error_r, "STATUS: item without a value");
	for (i = 0; i < count; i += 2) {
		if (status_decode_item(&items[i], &items[i + 1], status_r,
		                       error_r) < 0)
			return -1;
	}
	return 0;
}

/* One FETCH item and its value; unknown items are skipped. */
static int
fetch_decode_item(const struct imap_arg *name, const struct imap_arg *value,
                  struct imap_fetch *f, const char **error_r)
{
	const struct imap_arg *items;
	size_t count;

	if (name->type != IMAP_ARG_ATOM || name->str == NULL)
		return fail(error_r, "FETCH: item name is not an atom");
	if (atom_is(name, "UID")) {
		if (!get_uint32(value, true, &f->uid))
			return fail(error_r,
			            "FETCH: UID is not a non-zero number");
		f->have |= IMAP_FETCH_UID;
	} else if (atom_is(name, "FLAGS")) {
		if (value->type != IMAP_ARG_LIST)
			return fail(error_r, "FETCH: FLAGS is not a list");
		if (!get_flags(value, false, &f->flags, &f->flags_count))
			return fail(error_r,
			            "FETCH: FLAGS holds something not a flag");
		f->have |= IMAP_FETCH_FLAGS;
	} else if (atom_is(name, "MODSEQ")) {
		if (value->type != IMAP_ARG_LIST ||
		    !imap_arg_get_list(value, &items, &count) || count != 1)
			return fail(error_r,
			            "FETCH: MODSEQ is not a list of one value");
		if (!get_modseq(&items[0], true, &f->modseq))
			return fail(error_r, "FETCH: MODSEQ is not a non-zero "
			                     "63-bit number");
		f->have |= IMAP_FETCH_MODSEQ;
	} else if (atom_is(name, "INTERNALDATE")) {
		if (value->type != IMAP_ARG_STRING || !arg_is_text(value) ||
		    imap_decode_datetime(value->str, &f->internaldate_time) < 0)
			return fail(error_r,
			            "FETCH: INTERNALDATE is not a valid date");
		f->internaldate = value->str;
		f->have |= IMAP_FETCH_INTERNALDATE;
	} else if (atom_is(name, "RFC822.SIZE")) {
		if (!get_uint32(value, false, &f->size))
			return fail(error_r,
			            "FETCH: RFC822.SIZE is not a number");
		f->have |= IMAP_FETCH_RFC822_SIZE;
	} else if (atom_is(name, "BODY[]") || atom_is(name, "BINARY[]")) {
		if (value->type != IMAP_ARG_LITERAL &&
		    value->type != IMAP_ARG_STRING &&
		    value->type != IMAP_ARG_NIL)
			return fail(error_r,
			            "FETCH: BODY[] is not a string or NIL");
		f->body = value;
		f->have |= IMAP_FETCH_BODY;
	} else if (strncasecmp(name->str, "BODY[HEADER", 11) == 0) {
		if (value->type != IMAP_ARG_LITERAL &&
		    value->type != IMAP_ARG_STRING &&
		    value->type != IMAP_ARG_NIL)
			return fail(error_r,
			            "FETCH: BODY[HEADER] is not a string or NIL");
		if (f->header == NULL)
			f->header = value;
		f->have |= IMAP_FETCH_HEADER;
	} else if (strncasecmp(name->str, "BODY[HEADER", 11) == 0) {
		if (value->type != IMAP_ARG_LITERAL &&
		    value->type != IMAP_ARG_STRING &&
		    value->type != IMAP_ARG_NIL)
			return fail(error_r,
			            "FETCH: BODY[HEADER] is not a string or NIL");
		if (f->header == NULL)
			f->header = value;
		f->have |= IMAP_FETCH_HEADER;
	} else if (atom_is(name, "X-GUID")) {
		if (!get_guid(value, &f->x_guid))
			return fail(error_r, "FETCH: X-GUID is not an atom");
		f->have |= IMAP_FETCH_X_GUID;
	} else if (atom_is(name, "EMAILID")) {
		if (!get_objectid(value, &f->emailid))
			return fail(error_r, "FETCH: EMAILID is not a list of "
			                     "one object id");
		f->have |= IMAP_FETCH_EMAILID;
	}
	return 0;
}

int
imap_decode_fetch(const struct imap_response *resp, struct imap_fetch *fetch_r,
                  const char **error_r)
{
	const struct imap_arg *items;
	size_t count, i;

	memset(fetch_r, 0, sizeof(*fetch_r));
	if (!resp_is(resp, "FETCH"))
		return fail(error_r, "FETCH: not a FETCH response");
	if (!resp->has_number || resp->number == 0)
		return fail(error_r,
		            "FETCH: no non-zero message sequence number");
	fetch_r->seq = resp->number;
	if (resp->count != 1 || resp->args[0].type != IMAP_ARG_LIST ||
	    !imap_arg_get_list(&resp->args[0], &items, &count))
		return fail(error_r, "FETCH: items are not one list");
	if (count % 2 != 0)
		return fail(error_r, "FETCH: item without a value");
	for (i = 0; i < count; i += 2) {
		if (fetch_decode_item(&items[i], &items[i + 1], fetch_r,
		                      error_r) < 0)
			return -1;
	}
	return 0;
}

int
imap_decode_vanished(const struct imap_response *resp, bool *earlier_r,
                     struct uidset *uids, const char **error_r)
{
	const struct imap_arg *args = resp->args, *mods;
	size_t count = resp->count, nmods;
	const char *limit;

	*earlier_r = false;
	if (!resp_is(resp, "VANISHED"))
		return fail(error_r, "VANISHED: not a VANISHED response");
	if (count == 2) {
		if (args[0].type != IMAP_ARG_LIST ||
		    !imap_arg_get_list(&args[0], &mods, &nmods) || nmods != 1 ||
		    !atom_is(&mods[0], "EARLIER"))
			return fail(error_r,
			            "VANISHED: modifier is not (EARLIER)");
		*earlier_r = true;
		args++;
		count--;
	}
	if (count != 1)
		return fail(error_r, "VANISHED: expected one UID set");
	limit = NULL;
	if (!get_uidset(&args[0], uids, NULL, &limit))
		return fail(error_r, limit != NULL
		                         ? limit
		                         : "VANISHED: malformed UID set");
	return 0;
}

static const struct {
	const char *name;
	enum imap_code code;
} codes[] = {
    {"ALERT", IMAP_CODE_ALERT},
    {"CAPABILITY", IMAP_CODE_CAPABILITY},
    {"PERMANENTFLAGS", IMAP_CODE_PERMANENTFLAGS},
    {"READ-ONLY", IMAP_CODE_READ_ONLY},
    {"READ-WRITE", IMAP_CODE_READ_WRITE},
    {"TRYCREATE", IMAP_CODE_TRYCREATE},
    {"UIDVALIDITY", IMAP_CODE_UIDVALIDITY},
    {"UIDNEXT", IMAP_CODE_UIDNEXT},
    {"UNSEEN", IMAP_CODE_UNSEEN},
    {"HIGHESTMODSEQ", IMAP_CODE_HIGHESTMODSEQ},
    {"NOMODSEQ", IMAP_CODE_NOMODSEQ},
    {"APPENDUID", IMAP_CODE_APPENDUID},
    {"COPYUID", IMAP_CODE_COPYUID},
    {"MODIFIED", IMAP_CODE_MODIFIED},
    {"CLOSED", IMAP_CODE_CLOSED},
    {"ALREADYEXISTS", IMAP_CODE_ALREADYEXISTS},
    {"NONEXISTENT", IMAP_CODE_NONEXISTENT},
    {"MAILBOXID", IMAP_CODE_MAILBOXID},
    {"COMPRESSIONACTIVE", IMAP_CODE_COMPRESSIONACTIVE},
    {"OVERQUOTA", IMAP_CODE_OVERQUOTA},
    {"UNAVAILABLE", IMAP_CODE_UNAVAILABLE},
    {"SERVERBUG", IMAP_CODE_SERVERBUG},
    {"LIMIT", IMAP_CODE_LIMIT},
};

/* APPENDUID uidvalidity uid-set, COPYUID uidvalidity set set. */
static int
code_decode_uidplus(const struct imap_response *resp, struct imap_resp_code *c,
                    struct uidset *set, struct uidset *set2,
                    const char **error_r)
{
	const struct imap_arg *args = resp->code_args;
	struct uidset tmp = UIDSET_INIT, tmp2 = UIDSET_INIT;
	uint64_t n1, n2;
	bool ok;

	if (c->code == IMAP_CODE_APPENDUID) {
		if (resp->code_count != 2 ||
		    !get_uint32(&args[0], true, &c->uidvalidity))
			return fail(error_r, "APPENDUID: expected a non-zero "
			                     "UIDVALIDITY and a UID set");
		ok = get_uidset(&args[1], set != NULL ? set : &tmp, NULL, NULL);
		uidset_free(&tmp);
		if (!ok)
			return fail(error_r, "APPENDUID: malformed UID set");
		return 0;
	}
	if (resp->code_count != 3 ||
	    !get_uint32(&args[0], true, &c->uidvalidity))
		return fail(error_r, "COPYUID: expected a non-zero UIDVALIDITY "
		                     "and two UID sets");
	ok = get_uidset(&args[1], set != NULL ? set : &tmp, &n1, NULL) &&
	     get_uidset(&args[2], set2 != NULL ? set2 : &tmp2, &n2, NULL);
	uidset_free(&tmp);
	uidset_free(&tmp2);
	if (!ok)
		return fail(error_r, "COPYUID: malformed UID set");
	if (n1 != n2)
		return fail(error_r,
		            "COPYUID: source and destination sets differ "
		            "in size");
	return 0;
}

static int
code_decode_args(const struct imap_response *resp, struct imap_resp_code *c,
                 struct uidset *set, struct uidset *set2, const char **error_r)
{
	const struct imap_arg *args = resp->code_args;
	size_t count = resp->code_count;

	switch (c->code) {
	case IMAP_CODE_NONE:
	case IMAP_CODE_OTHER:
		return 0;
	case IMAP_CODE_CAPABILITY:
		if (imap_decode_capability(args, count, &c->caps, error_r) < 0)
			return -1;
		return 0;
	case IMAP_CODE_PERMANENTFLAGS:
		if (count != 1 ||
		    !get_flags(&args[0], true, &c->flags, &c->flags_count))
			return fail(error_r,
			            "PERMANENTFLAGS: not a list of flags");
		return 0;
	case IMAP_CODE_UIDVALIDITY:
		if (count != 1 || !get_uint32(&args[0], true, &c->uidvalidity))
			return fail(error_r,
			            "UIDVALIDITY: not a non-zero number");
		return 0;
	case IMAP_CODE_UIDNEXT:
		if (count != 1 || !get_uint32(&args[0], true, &c->uidnext))
			return fail(error_r, "UIDNEXT: not a non-zero number");
		return 0;
	case IMAP_CODE_UNSEEN:
		if (count != 1 || !get_uint32(&args[0], true, &c->unseen))
			return fail(error_r, "UNSEEN: not a non-zero number");
		return 0;
	case IMAP_CODE_HIGHESTMODSEQ:
		if (count != 1 || !get_modseq(&args[0], true, &c->modseq))
			return fail(error_r, "HIGHESTMODSEQ: not a non-zero "
			                     "63-bit number");
		return 0;
	case IMAP_CODE_APPENDUID:
	case IMAP_CODE_COPYUID:
		return code_decode_uidplus(resp, c, set, set2, error_r);
	case IMAP_CODE_MODIFIED: {
		struct uidset tmp = UIDSET_INIT;
		bool ok =
		    count == 1 &&
		    get_uidset(&args[0], set != NULL ? set : &tmp, NULL, NULL);

		uidset_free(&tmp);
		if (!ok)
			return fail(error_r, "MODIFIED: not a UID set");
		return 0;
	}
	case IMAP_CODE_MAILBOXID:
		if (count != 1 || !get_objectid(&args[0], &c->mailboxid))
			return fail(error_r,
			            "MAILBOXID: not a list of one object id");
		return 0;
	case IMAP_CODE_ALERT:
	case IMAP_CODE_READ_ONLY:
	case IMAP_CODE_READ_WRITE:
	case IMAP_CODE_TRYCREATE:
	case IMAP_CODE_NOMODSEQ:
	case IMAP_CODE_CLOSED:
	case IMAP_CODE_ALREADYEXISTS:
	case IMAP_CODE_NONEXISTENT:
	case IMAP_CODE_COMPRESSIONACTIVE:
	case IMAP_CODE_OVERQUOTA:
	case IMAP_CODE_UNAVAILABLE:
	case IMAP_CODE_SERVERBUG:
	case IMAP_CODE_LIMIT:
		if (count != 0)
			return fail(error_r,
			            "response code takes no arguments");
		return 0;
	}
	return 0;
}

int
imap_decode_code(const struct imap_response *resp,
                 struct imap_resp_code *code_r, struct uidset *set,
                 struct uidset *set2, const char **error_r)
{
	size_t i;

	memset(code_r, 0, sizeof(*code_r));
	code_r->code = IMAP_CODE_NONE;
	if (resp->code == NULL)
		return 0;
	code_r->code = IMAP_CODE_OTHER;
	for (i = 0; i < sizeof(codes) / sizeof(*codes); i++) {
		if (strcasecmp(resp->code, codes[i].name) == 0) {
			code_r->code = codes[i].code;
			break;
		}
	}
	return code_decode_args(resp, code_r, set, set2, error_r);
}

static int
digits(const char *s, unsigned n)
{
	int v = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), so no timegm(), TZ or locale is involved. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned
days_in_month(int year, unsigned month)
{
	static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30,
	                                        31, 31, 30, 31, 30, 31};

	if (month == 2 &&
	    (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return 29;
	return mdays[month - 1];
}

int
imap_decode_datetime(const char *s, int64_t *time_r)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int day, year, hour, min, sec, zh, zm;
	unsigned month;

	/* "dd-Mon-yyyy hh:mm:ss +zzzz", the day possibly " d" */
	if (strlen(s) != 26 || s[2] != '-' || s[6] != '-' || s[11] != ' ' ||
	    s[14] != ':' || s[17] != ':' || s[20] != ' ' ||
	    (s[21] != '+' && s[21] != '-'))
		return -1;
	day = s[0] == ' ' ? digits(s + 1, 1) : digits(s, 2);
	for (month = 0; month < 12; month++) {
		if (strncasecmp(s + 3, months + month * 3, 3) == 0)
			break;
	}
	month++;
	year = digits(s + 7, 4);
	hour = digits(s + 12, 2);
	min = digits(s + 15, 2);
	sec = digits(s + 18, 2);
	zh = digits(s + 22, 2);
	zm = digits(s + 24, 2);
	if (month > 12 || year < 1 || day < 1 ||
	    (unsigned)day > days_in_month(year, month) || hour < 0 ||
	    hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60 || zh < 0 ||
	    zh > 23 || zm < 0 || zm > 59)
		return -1;
	*time_r = days_from_civil(year, month, (unsigned)day) * 86400 +
	          hour * 3600 + min * 60 + sec -
	          (s[21] == '-' ? -1 : 1) * (zh * 3600 + zm * 60);
	return 0;
}
