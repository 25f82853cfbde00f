/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Typed decoders for the responses the sync needs. Each takes a parsed
 * response (or a response code) and fills a plain struct whose strings
 * point into the response: they are valid as long as the response is.
 * Each returns 0, or -1 with *error_r saying what was malformed; a decoder
 * never trusts a count or a number it has not range-checked. */
#ifndef PROTO_IMAP_DECODE_H
#define PROTO_IMAP_DECODE_H

#include "imap-parser.h"
#include "uidset.h"

#include <stdbool.h>
#include <stdint.h>

/* CAPABILITY: the ones the client acts on, as bits. */
enum imap_capability {
	IMAP_CAP_IMAP4REV1 = 1ULL << 0,
	IMAP_CAP_STARTTLS = 1ULL << 1,
	IMAP_CAP_LOGINDISABLED = 1ULL << 2,
	IMAP_CAP_AUTH_PLAIN = 1ULL << 3,
	IMAP_CAP_AUTH_LOGIN = 1ULL << 4,
	IMAP_CAP_AUTH_SCRAM_SHA_256 = 1ULL << 5,
	IMAP_CAP_SASL_IR = 1ULL << 6,
	IMAP_CAP_ENABLE = 1ULL << 7,
	IMAP_CAP_CONDSTORE = 1ULL << 8,
	IMAP_CAP_QRESYNC = 1ULL << 9,
	IMAP_CAP_LIST_EXTENDED = 1ULL << 10,
	IMAP_CAP_LIST_STATUS = 1ULL << 11,
	IMAP_CAP_UIDPLUS = 1ULL << 12,
	IMAP_CAP_MULTIAPPEND = 1ULL << 13,
	IMAP_CAP_LITERALPLUS = 1ULL << 14, /* LITERAL+ */
	IMAP_CAP_LITERALMINUS = 1ULL << 15, /* LITERAL- */
	IMAP_CAP_MOVE = 1ULL << 16,
	IMAP_CAP_COMPRESS_DEFLATE = 1ULL << 17,
	IMAP_CAP_OBJECTID = 1ULL << 18,
	IMAP_CAP_NOTIFY = 1ULL << 19,
	IMAP_CAP_IDLE = 1ULL << 20,
	IMAP_CAP_ESEARCH = 1ULL << 21,
	IMAP_CAP_BINARY = 1ULL << 22,
	IMAP_CAP_NAMESPACE = 1ULL << 23,
	IMAP_CAP_UNSELECT = 1ULL << 24,
	IMAP_CAP_ID = 1ULL << 25,
	IMAP_CAP_IMAP4REV2 = 1ULL << 26,
	IMAP_CAP_STATUS_SIZE = 1ULL << 27, /* STATUS=SIZE */
};

/* Decode the atoms of "* CAPABILITY ..." or of a [CAPABILITY ...] code
 * into a bit set (unknown capabilities are ignored). */
int imap_decode_capability(const struct imap_arg *args, size_t count,
			   uint64_t *caps_r, const char **error_r);
/* "* ENABLED ...": the same bits for what was enabled. */
int imap_decode_enabled(const struct imap_response *resp, uint64_t *caps_r,
			const char **error_r);

enum imap_list_flag {
	IMAP_LIST_NOSELECT = 1 << 0,
	IMAP_LIST_NONEXISTENT = 1 << 1,
	IMAP_LIST_NOINFERIORS = 1 << 2,
	IMAP_LIST_HASCHILDREN = 1 << 3,
	IMAP_LIST_HASNOCHILDREN = 1 << 4,
	IMAP_LIST_SUBSCRIBED = 1 << 5,
	IMAP_LIST_REMOTE = 1 << 6,
	IMAP_LIST_MARKED = 1 << 7,
	IMAP_LIST_UNMARKED = 1 << 8,
	/* CHILDINFO ("SUBSCRIBED") in the extended data. */
	IMAP_LIST_CHILD_SUBSCRIBED = 1 << 9,
};

struct imap_list {
	unsigned flags;   /* enum imap_list_flag */
	char delimiter;   /* '\0' when the server said NIL (flat) */
	const char *name; /* as on the wire: modified UTF-7 */
	size_t name_len;
	const char *oldname; /* extended data OLDNAME, or NULL */
};

/* "* LIST (flags) delim name [extended data]" (also LSUB). */
int imap_decode_list(const struct imap_response *resp, struct imap_list *list_r,
		     const char **error_r);

enum imap_status_item {
	IMAP_STATUS_MESSAGES = 1 << 0,
	IMAP_STATUS_UIDNEXT = 1 << 1,
	IMAP_STATUS_UIDVALIDITY = 1 << 2,
	IMAP_STATUS_UNSEEN = 1 << 3,
	IMAP_STATUS_RECENT = 1 << 4,
	IMAP_STATUS_HIGHESTMODSEQ = 1 << 5,
	IMAP_STATUS_SIZE = 1 << 6,
	IMAP_STATUS_X_GUID = 1 << 7,
	IMAP_STATUS_MAILBOXID = 1 << 8,
};

struct imap_status_data {
	unsigned have; /* enum imap_status_item */
	const char *mailbox; /* as on the wire */
	size_t mailbox_len;
	uint32_t messages, uidnext, uidvalidity, unseen, recent;
	uint64_t highestmodseq, size;
	const char *x_guid, *mailboxid;
};

/* "* STATUS mailbox (item value ...)". */
int imap_decode_status(const struct imap_response *resp,
		       struct imap_status_data *status_r, const char **error_r);

enum imap_fetch_item {
	IMAP_FETCH_UID = 1 << 0,
	IMAP_FETCH_FLAGS = 1 << 1,
	IMAP_FETCH_MODSEQ = 1 << 2,
	IMAP_FETCH_INTERNALDATE = 1 << 3,
	IMAP_FETCH_RFC822_SIZE = 1 << 4,
	IMAP_FETCH_BODY = 1 << 5, /* BODY[] (also BINARY[]) */
	IMAP_FETCH_X_GUID = 1 << 6,
	IMAP_FETCH_EMAILID = 1 << 7,
	IMAP_FETCH_HEADER = 1 << 8, /* BODY[HEADER...] */
};

struct imap_fetch {
	unsigned have; /* enum imap_fetch_item */
	uint32_t seq;
	uint32_t uid;
	/* FLAGS: the flag atoms, in the server's order. */
	const struct imap_arg *flags;
	size_t flags_count;
	uint64_t modseq;
	/* INTERNALDATE as sent ("17-Jul-1996 02:44:25 -0700"), ready to be
	 * given to APPEND, and as seconds since the epoch. */
	const char *internaldate;
	int64_t internaldate_time;
	uint32_t size; /* RFC822.SIZE */
	/* BODY[]: the literal (inline str, or spilled fd) or NIL. */
	const struct imap_arg *body;
	/* BODY[HEADER], BODY[HEADER.FIELDS (...)]: the first such item, a
	 * literal, string or NIL. */
	const struct imap_arg *header;
	const char *x_guid, *emailid;
};

/* "* n FETCH (item value ...)". */
int imap_decode_fetch(const struct imap_response *resp,
		      struct imap_fetch *fetch_r, const char **error_r);

/* "* VANISHED [(EARLIER)] uid-set": the UIDs are added to *uids (the
 * caller initialises it). */
int imap_decode_vanished(const struct imap_response *resp, bool *earlier_r,
			 struct uidset *uids, const char **error_r);

enum imap_code {
	IMAP_CODE_NONE,
	IMAP_CODE_OTHER, /* a code the client does not act on */
	IMAP_CODE_ALERT,
	IMAP_CODE_CAPABILITY,
	IMAP_CODE_PERMANENTFLAGS,
	IMAP_CODE_READ_ONLY,
	IMAP_CODE_READ_WRITE,
	IMAP_CODE_TRYCREATE,
	IMAP_CODE_UIDVALIDITY,
	IMAP_CODE_UIDNEXT,
	IMAP_CODE_UNSEEN,
	IMAP_CODE_HIGHESTMODSEQ,
	IMAP_CODE_NOMODSEQ,
	IMAP_CODE_APPENDUID,
	IMAP_CODE_COPYUID,
	IMAP_CODE_MODIFIED,
	IMAP_CODE_CLOSED,
	IMAP_CODE_ALREADYEXISTS,
	IMAP_CODE_NONEXISTENT,
	IMAP_CODE_MAILBOXID,
	IMAP_CODE_COMPRESSIONACTIVE,
	IMAP_CODE_OVERQUOTA,
	IMAP_CODE_UNAVAILABLE,
	IMAP_CODE_SERVERBUG,
	IMAP_CODE_LIMIT,
};

struct imap_resp_code {
	enum imap_code code;
	uint64_t caps;        /* CAPABILITY */
	uint32_t uidvalidity; /* UIDVALIDITY, APPENDUID, COPYUID */
	uint32_t uidnext;     /* UIDNEXT */
	uint32_t unseen;      /* UNSEEN */
	uint64_t modseq;      /* HIGHESTMODSEQ */
	/* APPENDUID: the new UIDs. COPYUID: source UIDs in set, destination
	 * UIDs in set2, in matching order. MODIFIED: the UIDs (or sequence
	 * numbers) that failed UNCHANGEDSINCE. The caller initialises the
	 * sets it passes; NULL skips them. */
	const struct imap_arg *flags; /* PERMANENTFLAGS list items */
	size_t flags_count;
	const char *mailboxid; /* MAILBOXID */
};

/* Decode resp->code (which may be NONE). set and set2 receive the UID
 * sets of APPENDUID, COPYUID and MODIFIED, in order; either may be NULL. */
int imap_decode_code(const struct imap_response *resp,
		     struct imap_resp_code *code_r, struct uidset *set,
		     struct uidset *set2, const char **error_r);

/* Parse an IMAP date-time ("17-Jul-1996 02:44:25 -0700") into seconds
 * since the epoch (UTC). -1 if malformed. */
int imap_decode_datetime(const char *s, int64_t *time_r);

#endif
