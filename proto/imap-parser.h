/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Incremental parser for what an IMAP server sends: the greeting, untagged,
 * tagged and continuation responses.
 *
 * Peer bytes are written into the parser's own capped buffer
 * (imap_parser_input_space/commit); imap_parser_next() returns one complete
 * response at a time. Incomplete input stays in the buffer untouched and
 * the scan resumes where it stopped, so feeding byte by byte or all at once
 * gives the same responses in the same time. Nothing is allocated for a
 * response until it is complete, except literals larger than the inline
 * limit, which are moved to an unlinked temporary file as they arrive so
 * memory stays flat in the size of a message. Line length, literal size,
 * nesting depth and argument count are checked on partial input. */
#ifndef PROTO_IMAP_PARSER_H
#define PROTO_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_arg_type {
	IMAP_ARG_NIL,
	IMAP_ARG_ATOM,
	IMAP_ARG_STRING,  /* quoted string, escapes removed */
	IMAP_ARG_LITERAL, /* {n} or ~{n} */
	IMAP_ARG_LIST,    /* ( ... ) */
};

struct imap_arg {
	enum imap_arg_type type;
	bool literal8; /* the literal was ~{n} */
	/* ATOM, STRING, LITERAL: bytes in str (or in fd). LIST: items. */
	size_t len;
	/* ATOM, STRING, inline LITERAL: the bytes, NUL-terminated (a literal
	 * may hold NULs itself: use len). NULL for a spilled literal. */
	const char *str;
	/* LIST: the items. */
	const struct imap_arg *list;
	/* Spilled LITERAL: an unlinked file holding len bytes from offset 0;
	 * read it with pread(). -1 otherwise. Owned by the parser: dup() it
	 * to keep it past the next imap_parser_next() call. */
	int fd;
};

enum imap_resp_kind {
	IMAP_RESP_UNTAGGED,     /* "* ..." */
	IMAP_RESP_TAGGED,       /* "A12 OK ..." */
	IMAP_RESP_CONTINUATION, /* "+ ..." */
};

enum imap_status {
	IMAP_STATUS_NONE, /* a data response: FETCH, LIST, ... */
	IMAP_STATUS_OK,
	IMAP_STATUS_NO,
	IMAP_STATUS_BAD,
	IMAP_STATUS_BYE,
	IMAP_STATUS_PREAUTH,
};

/* One response. Everything it points to belongs to the parser and stays
 * valid until the next imap_parser_next() or imap_parser_free(). */
struct imap_response {
	enum imap_resp_kind kind;
	const char *tag; /* TAGGED only */
	/* "* 12 FETCH", "* 3 EXISTS", "* 2 EXPUNGE": the number. */
	bool has_number;
	uint32_t number;
	/* The response keyword, upper-cased: "OK", "FETCH", "LIST",
	 * "CAPABILITY", "VANISHED", ... NULL for a continuation. */
	const char *name;
	enum imap_status status;
	/* Status responses: the response code in [ ], name upper-cased, and
	 * its arguments ("[APPENDUID 38505 3955]" gives "APPENDUID" and two
	 * atoms). NULL and 0 when there is none. */
	const char *code;
	const struct imap_arg *code_args;
	size_t code_count;
	/* Status responses: the human-readable text after the code.
	 * Continuations: everything after "+ " (base64 for AUTHENTICATE). */
	const char *text;
	/* Data responses: the arguments after the keyword. */
	const struct imap_arg *args;
	size_t count;
	/* Untagged data responses whose arguments do not parse: what is
	 * wrong (args NULL, count 0; name and number kept). NULL otherwise. */
	const char *malformed;
};

struct imap_parser_settings {
	size_t max_line;          /* IMAP_MAX_LINE */
	uint64_t max_literal;     /* IMAP_MAX_LITERAL */
	size_t max_inline_literal; /* IMAP_MAX_INLINE_LITERAL */
	size_t max_response;      /* IMAP_MAX_RESPONSE */
	unsigned max_depth;       /* IMAP_MAX_DEPTH */
	size_t max_args;          /* IMAP_MAX_ARGS */
	/* Where spill files go; NULL: $TMPDIR or /tmp. */
	const char *spill_dir;
};

struct imap_parser;

/* A new parser; set may be NULL for the limits in limits.h, and any zero
 * field takes its default. Free with imap_parser_free(). */
struct imap_parser *imap_parser_create(const struct imap_parser_settings *set);
void imap_parser_free(struct imap_parser **p);

/* Where to put the next peer bytes: up to *size_r bytes at the returned
 * pointer. *size_r is 0 only when the parser cannot take more before
 * imap_parser_next() has returned what it holds. */
void *imap_parser_input_space(struct imap_parser *p, size_t *size_r);
/* Say that n bytes were written at the space just returned. */
void imap_parser_input_commit(struct imap_parser *p, size_t n);
/* Copy up to len bytes in; returns how many were taken. */
size_t imap_parser_feed(struct imap_parser *p, const void *data, size_t len);

/* The next complete response: 1 and *resp_r set; 0 when more input is
 * needed; -1 on a protocol or limit violation, with *error_r saying what
 * (the connection must then be dropped; later calls keep returning -1). */
int imap_parser_next(struct imap_parser *p, const struct imap_response **resp_r,
		     const char **error_r);

/* Bytes received but not yet returned as responses. */
size_t imap_parser_pending(const struct imap_parser *p);

/* Helpers for decoding arguments. Each returns false when the argument is
 * not of the wanted form. */
bool imap_arg_is_atom(const struct imap_arg *arg, const char *atom);
/* ATOM, STRING or LITERAL (inline) as a C string. */
bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r);
/* Like astring, or NIL as NULL. */
bool imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r);
/* An atom of decimal digits that fits: no sign, no leading '+'. */
bool imap_arg_get_uint32(const struct imap_arg *arg, uint32_t *num_r);
bool imap_arg_get_uint64(const struct imap_arg *arg, uint64_t *num_r);
/* A list: its items and their count. */
bool imap_arg_get_list(const struct imap_arg *arg,
		       const struct imap_arg **list_r, size_t *count_r);

#endif
