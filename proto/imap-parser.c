/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "imap-parser.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "limits.h"
#include "xmalloc.h"

/*
 * The parser runs one byte-level state machine twice per response. The first
 * run (scan mode) is resumable: it walks the bytes as they arrive, keeps its
 * whole state in struct parser_scan, checks every limit and moves large
 * literals out to spill files, and allocates nothing. Once it reaches the
 * end of a response, the same machine runs again from the start of that
 * response over the now complete bytes (build mode) and emits the tag,
 * keyword, code, arguments and text into a per-response arena. Running the
 * same code both times means the two passes cannot disagree about where a
 * token ends.
 *
 * A syntax error in the arguments of an untagged data response with no
 * literal so far ("* STATUS box (MAILBOXID (<control bytes>))") does not
 * end the connection: the rest of the line is skipped and the response is
 * returned with its keyword, no arguments and the error in `malformed`, so
 * the caller can decide whether the server just botched an optional item
 * (imap-conn.c fails the connection unless told to accept it). The line
 * ends at the next LF (a CR there is skipped like any other byte). A LF
 * among the garbage cuts it short: the line after a malformed one, if it
 * does not begin like a response (or is tagged without a status), is
 * taken as the rest of it, another malformed response of the same name.
 *
 * Line ends: CRLF is the rule, but a bare LF is accepted as a line end
 * (as Dovecot's own parser does) because it is unambiguous; a CR that is
 * not followed by LF is an error, since it could hide a line break from
 * one reader and not another.
 *
 * '[' inside an atom extends the atom to the matching ']' over spaces and
 * parentheses ("BODY[HEADER.FIELDS (DATE FROM)]") only in FETCH responses,
 * where servers send such items; elsewhere '[' is an ordinary atom
 * character, so a mailbox atom such as "foo[bar" in LIST stays one atom.
 */

enum scan_state {
	ST_START,      /* first byte of a response */
	ST_STAR,       /* after "*" */
	ST_TAG,        /* in the tag */
	ST_PLUS,       /* after "+" */
	ST_WORD_START, /* number or keyword expected */
	ST_WORD,       /* in the number or keyword */
	ST_STATUS_SP,  /* after "OK ": code or text */
	ST_CODE_NAME,  /* after "[" */
	ST_AFTER_CODE, /* after "]" */
	ST_TEXT,       /* free text up to the line end */
	ST_ARGS,       /* between arguments */
	ST_TILDE,      /* "~" at the start of an argument */
	ST_ATOM,
	ST_QUOTED,
	ST_QUOTED_ESC,
	ST_LIT_SIZE, /* after "{" */
	ST_LIT_CR,   /* after "}" */
	ST_LIT_LF,   /* after "}\r" */
	ST_LIT_DATA, /* inline literal bytes */
	ST_LIT_SPILL,
	ST_SKIP, /* the rest of a malformed line */
	ST_CR,   /* CR at the end of the response */
	ST_DONE,
};

struct parser_scan {
	enum scan_state state;
	size_t pos;       /* next byte, from the start of the response */
	size_t tok;       /* start of the current token */
	size_t lit_bytes; /* inline literal bytes before pos */
	size_t args;
	unsigned depth, max_depth;
	unsigned bracket;  /* '[' depth inside a FETCH atom */
	uint64_t lit_size; /* of the literal being read */
	uint64_t lit_left;
	uint64_t num; /* value of the word, while it is digits only */
	size_t nspill;
	bool lit_digits, lit8;
	bool untagged, has_number, status, fetch, in_code, digits;
	bool malformed; /* ST_SKIP was entered: no arguments returned */
	bool rest;      /* ... as the rest of the malformed line before */
};

struct spill {
	int fd;
	uint64_t len;
};

struct arena_block {
	struct arena_block *next;
	size_t size, used;
	max_align_t data[];
};

/* Build-mode output: arguments wait in scratch until their list closes,
 * then move into a list array of their own, so each list is contiguous. */
struct builder {
	struct imap_response *resp;
	struct imap_arg *scratch;
	size_t top, cap;
	size_t *frames;
	unsigned nframes, max_frames;
};

struct imap_parser {
	struct imap_parser_settings set;
	char *spill_dir;
	struct buf *in;
	struct parser_scan scan;
	struct spill spill[IMAP_MAX_SPILLED_LITERALS];
	/* Spill files of the response last returned, closed at the next call.
	 */
	struct spill done_spill[IMAP_MAX_SPILLED_LITERALS];
	size_t done_nspill;
	uint64_t spilled; /* bytes of the current response in spill files */
	struct arena_block *arena;
	struct imap_response resp;
	bool failed;
	bool limit; /* the failure is a limit, not a syntax error */
	const char *error;
	char errbuf[256];
	char malformed[256]; /* why the current response is malformed */
	/* The last response returned was malformed, named so: a line after
	 * it that does not even begin like a response is the rest of its
	 * garbage (a LF among the bytes cut it short). */
	bool after_malformed;
	char malformed_name[32];
};

#define ARENA_MIN 8192

static void *
arena_alloc(struct imap_parser *p, size_t size, size_t align)
{
	struct arena_block *blk = p->arena;
	size_t off, bsize;

	if (blk != NULL) {
		off = (blk->used + align - 1) & ~(align - 1);
		if (off <= blk->size && size <= blk->size - off) {
			blk->used = off + size;
			return (char *)blk->data + off;
		}
	}
	bsize = blk == NULL ? ARENA_MIN : blk->size * 2;
	if (bsize < size)
		bsize = size;
	if (bsize > SIZE_MAX - sizeof(*blk))
		xmalloc_fatal(bsize);
	blk = xmalloc(sizeof(*blk) + bsize);
	blk->size = bsize;
	blk->used = size;
	blk->next = p->arena;
	p->arena = blk;
	return blk->data;
}

/* Keep one small block for the next response; a large one was for a large
 * response and should not stay allocated for the life of the connection. */
static void
arena_reset(struct imap_parser *p, bool all)
{
	struct arena_block *blk = p->arena, *next;

	while (blk != NULL) {
		next = blk->next;
		if (next == NULL && !all && blk->size == ARENA_MIN) {
			blk->used = 0;
			p->arena = blk;
			return;
		}
		free(blk);
		blk = next;
	}
	p->arena = NULL;
}

static void
close_spills(struct spill *sp, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (sp[i].fd >= 0)
			close(sp[i].fd);
	}
	*n = 0;
}

static int
parser_fail(struct imap_parser *p, const char *error)
{
	/* The connection is going away: give the descriptors back now. The
	 * files of the response last returned stay until the next call. */
	close_spills(p->spill, &p->scan.nspill);
	p->failed = true;
	p->error = error;
	return -1;
}

static int parser_failf(struct imap_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
parser_failf(struct imap_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->errbuf, sizeof(p->errbuf), fmt, ap);
	va_end(ap);
	return parser_fail(p, p->errbuf);
}

static bool
is_atom_char(unsigned char c)
{
	return c > ' ' && c != 0x7f && c != '(' && c != ')' && c != '{' &&
	       c != '"';
}

static bool
is_ctl(unsigned char c)
{
	return c < ' ' || c == 0x7f;
}

static int
fail_byte(struct imap_parser *p, unsigned char c, const char *where)
{
	if (c == '\0')
		return parser_failf(p, "NUL byte in %s", where);
	if (c == '\r' || c == '\n')
		return parser_failf(p, "line ends inside %s", where);
	if (is_ctl(c))
		return parser_failf(p, "control character in %s", where);
	return parser_failf(p, "invalid character '%c' in %s", c, where);
}

static char *
arena_strndup(struct imap_parser *p, const char *s, size_t len, bool upper)
{
	char *r = arena_alloc(p, len + 1, 1);
	size_t i;

	/* Most of what is copied is message bodies: one memcpy, not a
	 * test a byte (a third of a first sync's instructions). */
	if (upper) {
		for (i = 0; i < len; i++)
			r[i] = s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i];
	} else if (len > 0) {
		memcpy(r, s, len);
	}
	r[len] = '\0';
	return r;
}

/* Build mode: a new argument slot in the current list. */
static struct imap_arg *
builder_push(struct imap_parser *p, struct builder *b, enum imap_arg_type t)
{
	struct imap_arg *arg;

	if (b->top >= b->cap) {
		parser_fail(p, "internal error: argument count changed");
		return NULL;
	}
	arg = &b->scratch[b->top++];
	memset(arg, 0, sizeof(*arg));
	arg->type = t;
	arg->fd = -1;
	return arg;
}

static int
builder_open(struct imap_parser *p, struct builder *b)
{
	if (b->nframes >= b->max_frames)
		return parser_fail(p, "internal error: nesting changed");
	b->frames[b->nframes++] = b->top;
	return 0;
}

/* Close the innermost list: move its items out of scratch. */
static int
builder_close(struct imap_parser *p, struct builder *b,
              const struct imap_arg **list_r, size_t *count_r)
{
	size_t start, n;
	struct imap_arg *items;

	if (b->nframes == 0)
		return parser_fail(p, "internal error: list closed twice");
	start = b->frames[--b->nframes];
	n = b->top - start;
	items = arena_alloc(p, (n > 0 ? n : 1) * sizeof(*items),
	                    _Alignof(struct imap_arg));
	if (n > 0)
		memcpy(items, b->scratch + start, n * sizeof(*items));
	else
		*items = (struct imap_arg){.type = IMAP_ARG_NIL, .fd = -1};
	b->top = start;
	*list_r = items;
	*count_r = n;
	return 0;
}

static int
emit_atom(struct imap_parser *p, struct builder *b, const char *s, size_t len)
{
	struct imap_arg *arg;

	if (b == NULL)
		return 0;
	if (len == 3 && strncasecmp(s, "NIL", 3) == 0)
		return builder_push(p, b, IMAP_ARG_NIL) == NULL ? -1 : 0;
	if ((arg = builder_push(p, b, IMAP_ARG_ATOM)) == NULL)
		return -1;
	arg->len = len;
	arg->str = arena_strndup(p, s, len, false);
	return 0;
}

static int
emit_quoted(struct imap_parser *p, struct builder *b, const char *s, size_t len)
{
	struct imap_arg *arg;
	char *out;
	size_t i, n = 0;

	if (b == NULL)
		return 0;
	if ((arg = builder_push(p, b, IMAP_ARG_STRING)) == NULL)
		return -1;
	out = arena_alloc(p, len + 1, 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		out[n++] = s[i];
	}
	out[n] = '\0';
	arg->str = out;
	arg->len = n;
	return 0;
}

static int
open_spill(struct imap_parser *p)
{
	char *path;
	int fd;

	fd = open(p->spill_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* Filesystems without O_TMPFILE: a named file, unlinked at once. */
	path = xasprintf("%s/imapsync-literal.XXXXXX", p->spill_dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	free(path);
	return fd;
}

static int
write_full(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The literal header "{n}CRLF" has been read: decide inline or spilled. */
static int
literal_begin(struct imap_parser *p, struct parser_scan *s, struct builder *b,
              const char *d)
{
	struct imap_arg *arg;
	struct spill *sp;

	s->tok = s->pos;
	s->lit_left = s->lit_size;
	if (s->lit_size > p->set.max_inline_literal) {
		if (b != NULL) {
			if (s->nspill >= IMAP_MAX_SPILLED_LITERALS)
				return parser_fail(p, "internal error: spill");
			if ((arg = builder_push(p, b, IMAP_ARG_LITERAL)) ==
			    NULL)
				return -1;
			sp = &p->spill[s->nspill++];
			arg->literal8 = s->lit8;
			arg->len = (size_t)sp->len;
			arg->fd = sp->fd;
			s->state = ST_ARGS;
			return 0;
		}
		if (s->nspill >= IMAP_MAX_SPILLED_LITERALS)
			return parser_failf(p,
			                    "more than %d large literals in "
			                    "one response",
			                    IMAP_MAX_SPILLED_LITERALS);
		if (s->lit_size > SIZE_MAX)
			return parser_fail(p, "literal too large to address");
		sp = &p->spill[s->nspill];
		sp->len = s->lit_size;
		if ((sp->fd = open_spill(p)) < 0)
			return parser_failf(p,
			                    "cannot create a temporary file "
			                    "for a literal in %.100s: %s",
			                    p->spill_dir, strerror(errno));
		s->nspill++;
		s->state = ST_LIT_SPILL;
		return 0;
	}
	if (s->pos + s->lit_size > p->set.max_response)
		return parser_failf(p, "response longer than %zu bytes",
		                    p->set.max_response);
	s->state = ST_LIT_DATA;
	if (s->lit_size > 0 || b == NULL)
		return 0;
	/* {0}: complete without any data byte. */
	s->state = ST_ARGS;
	if ((arg = builder_push(p, b, IMAP_ARG_LITERAL)) == NULL)
		return -1;
	arg->literal8 = s->lit8;
	arg->str = arena_strndup(p, d, 0, false);
	return 0;
}

/* Inline literal bytes: skipped over in scan mode, copied in build mode. */
static int
literal_data(struct imap_parser *p, struct parser_scan *s, struct builder *b,
             const char *d, size_t end)
{
	struct imap_arg *arg;
	size_t k = end - s->pos;

	if (k > s->lit_left)
		k = (size_t)s->lit_left;
	s->pos += k;
	s->lit_left -= k;
	s->lit_bytes += k;
	if (s->lit_left > 0)
		return 0;
	s->state = ST_ARGS;
	if (b == NULL)
		return 1;
	if ((arg = builder_push(p, b, IMAP_ARG_LITERAL)) == NULL)
		return -1;
	arg->literal8 = s->lit8;
	arg->len = (size_t)s->lit_size;
	arg->str = arena_strndup(p, d + s->tok, arg->len, false);
	return 1;
}

/* Move the literal bytes at the scan position out to its spill file, so
 * the buffer holds only what follows. Returns the new end of data. */
static int
literal_spill(struct imap_parser *p, struct parser_scan *s, size_t *end)
{
	char *d = (char *)buf_data(p->in); /* the parser owns p->in */
	struct spill *sp = &p->spill[s->nspill - 1];
	size_t k = *end - s->pos;

	if (k > s->lit_left)
		k = (size_t)s->lit_left;
	if (write_full(sp->fd, d + s->pos, k) < 0)
		return parser_failf(p,
		                    "cannot write a literal to a "
		                    "temporary file: %s",
		                    strerror(errno ? errno : ENOSPC));
	if (s->pos + k < *end)
		memmove(d + s->pos, d + s->pos + k, *end - s->pos - k);
	buf_truncate(p->in, buf_len(p->in) - k);
	*end -= k;
	s->lit_left -= k;
	p->spilled += k;
	if (s->lit_left == 0)
		s->state = ST_ARGS;
	return 0;
}

static int
word_end(struct imap_parser *p, struct parser_scan *s, struct builder *b,
         const char *d, unsigned char c)
{
	static const struct {
		const char *name;
		enum imap_status status;
	} statuses[] = {
	    {"OK", IMAP_STATUS_OK},           {"NO", IMAP_STATUS_NO},
	    {"BAD", IMAP_STATUS_BAD},         {"BYE", IMAP_STATUS_BYE},
	    {"PREAUTH", IMAP_STATUS_PREAUTH},
	};
	const char *w = d + s->tok;
	size_t i, len = s->pos - s->tok;
	bool eol = c == '\r' || c == '\n';

	if (s->untagged && !s->has_number && s->digits) {
		if (len > 10 || s->num > UINT32_MAX)
			return parser_fail(p, "message number too large");
		if (eol)
			return parser_fail(p, "missing keyword after number");
		s->has_number = true;
		if (b != NULL) {
			b->resp->has_number = true;
			b->resp->number = (uint32_t)s->num;
		}
		s->pos++;
		s->state = ST_WORD_START;
		return 0;
	}
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		if (strlen(statuses[i].name) == len &&
		    strncasecmp(w, statuses[i].name, len) == 0) {
			s->status = true;
			if (b != NULL)
				b->resp->status = statuses[i].status;
		}
	}
	if (!s->untagged && !s->status && p->after_malformed)
		return parser_fail(p, "tagged response without a status");
	s->fetch = len == 5 && strncasecmp(w, "FETCH", 5) == 0;
	if (b != NULL)
		b->resp->name = arena_strndup(p, w, len, true);
	if (eol) {
		/* "A1 OK" with no text; the end-of-line states take it. */
		s->tok = s->pos;
		s->state = s->status ? ST_TEXT : ST_ARGS;
		return 0;
	}
	s->pos++;
	s->state = s->status ? ST_STATUS_SP : ST_ARGS;
	return 0;
}

static int
code_name_end(struct imap_parser *p, struct parser_scan *s, struct builder *b,
              const char *d, unsigned char c)
{
	size_t len = s->pos - s->tok;

	if (len == 0)
		return parser_fail(p, "empty response code");
	if (b != NULL)
		b->resp->code = arena_strndup(p, d + s->tok, len, true);
	s->pos++;
	if (c == ']') {
		s->state = ST_AFTER_CODE;
		return 0;
	}
	s->in_code = true;
	s->state = ST_ARGS;
	return b == NULL ? 0 : builder_open(p, b);
}

static int
text_end(struct imap_parser *p, struct parser_scan *s, struct builder *b,
         const char *d)
{
	if (b == NULL)
		return 0;
	b->resp->text = arena_strndup(p, d + s->tok, s->pos - s->tok, false);
	return 0;
}

/* A CR or LF where the response may end. */
static void
line_end(struct parser_scan *s, unsigned char c)
{
	s->pos++;
	s->state = c == '\r' ? ST_CR : ST_DONE;
}

static int
args_byte(struct imap_parser *p, struct parser_scan *s, struct builder *b,
          unsigned char c)
{
	struct imap_arg *arg;

	switch (c) {
	case ' ':
		s->pos++;
		return 0;
	case '\r':
	case '\n':
		if (s->in_code)
			return parser_fail(p, "unterminated response code");
		if (s->depth > 0)
			return parser_fail(p, "missing ')' at end of line");
		line_end(s, c);
		return 0;
	case ')':
		if (s->depth == 0)
			return parser_fail(p, "unbalanced ')'");
		s->depth--;
		s->pos++;
		if (b == NULL)
			return 0;
		arg = &b->scratch[b->frames[b->nframes - 1] - 1];
		return builder_close(p, b, &arg->list, &arg->len);
	case ']':
		if (!s->in_code)
			break;
		if (s->depth > 0)
			return parser_fail(p, "missing ')' in response code");
		s->in_code = false;
		s->pos++;
		s->state = ST_AFTER_CODE;
		if (b == NULL)
			return 0;
		return builder_close(p, b, &b->resp->code_args,
		                     &b->resp->code_count);
	default:
		break;
	}
	if (c != '(' && c != '"' && c != '{' && !is_atom_char(c))
		return fail_byte(p, c, "response");
	if (++s->args > p->set.max_args) {
		p->limit = true;
		return parser_failf(p, "more than %zu arguments in a response",
		                    p->set.max_args);
	}
	s->tok = s->pos;
	switch (c) {
	case '(':
		if (++s->depth > p->set.max_depth) {
			p->limit = true;
			return parser_failf(p, "lists nested deeper than %u",
			                    p->set.max_depth);
		}
		if (s->depth > s->max_depth)
			s->max_depth = s->depth;
		s->pos++;
		if (b == NULL)
			return 0;
		if (builder_push(p, b, IMAP_ARG_LIST) == NULL)
			return -1;
		return builder_open(p, b);
	case '"':
		s->pos++;
		s->tok = s->pos;
		s->state = ST_QUOTED;
		return 0;
	case '{':
		s->lit8 = false;
		s->pos++;
		s->lit_size = 0;
		s->lit_digits = false;
		s->state = ST_LIT_SIZE;
		return 0;
	case '~':
		s->pos++;
		s->state = ST_TILDE;
		return 0;
	default:
		s->bracket = 0;
		s->state = ST_ATOM;
		return 0;
	}
}

static int
atom_byte(struct imap_parser *p, struct parser_scan *s, struct builder *b,
          const char *d, unsigned char c)
{
	if (s->bracket > 0) {
		/* FETCH section: anything printable up to the matching ']'. */
		if (is_ctl(c))
			return fail_byte(p, c, "a FETCH item's [section]");
		if (c == '[')
			s->bracket++;
		else if (c == ']')
			s->bracket--;
		s->pos++;
		return 0;
	}
	if (c == ' ' || c == '\r' || c == '\n' || c == ')' ||
	    (c == ']' && s->in_code)) {
		s->state = ST_ARGS;
		return emit_atom(p, b, d + s->tok, s->pos - s->tok);
	}
	if (!is_atom_char(c))
		return fail_byte(p, c, "an atom");
	if (c == '[' && s->fetch && !s->in_code)
		s->bracket = 1;
	s->pos++;
	return 0;
}

static int
literal_size_byte(struct imap_parser *p, struct parser_scan *s, unsigned char c)
{
	uint64_t v, max = p->set.max_literal;

	if (c >= '0' && c <= '9') {
		if (s->lit_size > max / 10)
			goto too_large;
		v = s->lit_size * 10;
		if ((uint64_t)(c - '0') > max - v)
			goto too_large;
		s->lit_size = v + (uint64_t)(c - '0');
		s->lit_digits = true;
		s->pos++;
		return 0;
	}
	if (c == '+')
		return parser_fail(p, "non-synchronizing literal {n+} "
		                      "from the server");
	if (c != '}' || !s->lit_digits)
		return parser_fail(p, "invalid literal size");
	s->pos++;
	s->state = ST_LIT_CR;
	return 0;
too_large:
	p->limit = true;
	return parser_failf(p, "literal larger than %llu bytes",
	                    (unsigned long long)max);
}

/* After an error at the current byte: true when the line can be skipped
 * instead (an untagged data response, in its arguments, with no literal
 * before: nothing of it was spilled or needs framing beyond the line).
 * A limit stays fatal: a server past one is not botching an item. */
static bool
parser_recover(struct imap_parser *p, struct parser_scan *s)
{
	bool start = false;

	switch (s->state) {
	case ST_START:
	case ST_STAR:
	case ST_TAG:
	case ST_WORD_START:
	case ST_WORD:
		start = true;
		break;
	case ST_ARGS:
	case ST_TILDE:
	case ST_ATOM:
	case ST_QUOTED:
	case ST_QUOTED_ESC:
	case ST_LIT_SIZE: /* "{" in garbage: no literal byte read yet */
	case ST_LIT_CR:
	case ST_LIT_LF:
		break;
	default:
		return false;
	}
	if (p->limit || s->lit_bytes > 0 || s->nspill > 0 || p->spilled > 0)
		return false;
	if (start ? !p->after_malformed
	          : !s->untagged || s->status || s->in_code)
		return false;
	if (!s->malformed)
		snprintf(p->malformed, sizeof(p->malformed), "%s%s", p->error,
		         start ? " (after a malformed line)" : "");
	s->rest = start;
	p->failed = false;
	p->error = NULL;
	s->malformed = true;
	s->state = ST_SKIP;
	return true;
}

/* Run the state machine over [s->pos, end). Scan mode (b NULL) may stop
 * anywhere and resume; build mode runs over one complete response. */
static int
parser_run(struct imap_parser *p, struct parser_scan *s, struct builder *b,
           size_t end)
{
	const char *d = buf_data(p->in);
	unsigned char c;
	size_t at;
	int ret = 0;

	while (ret == 0 && s->state != ST_DONE) {
		if (s->state == ST_LIT_DATA) {
			if (s->pos == end)
				return 0;
			ret = literal_data(p, s, b, d, end);
			ret = ret < 0 ? -1 : 0;
			continue;
		}
		if (s->state == ST_LIT_SPILL) {
			if (s->pos == end)
				return 0;
			ret = literal_spill(p, s, &end);
			continue;
		}
		if (s->pos == end)
			return 0;
		c = (unsigned char)d[s->pos];
		at = s->pos;
		switch (s->state) {
		case ST_START:
			if (c == '+') {
				s->pos++;
				s->state = ST_PLUS;
				if (b != NULL)
					b->resp->kind = IMAP_RESP_CONTINUATION;
			} else if (c == '*') {
				s->pos++;
				s->untagged = true;
				s->state = ST_STAR;
			} else if (c == '\r' || c == '\n') {
				ret = parser_fail(p, "empty line");
			} else if (c == ' ') {
				ret = parser_fail(p, "missing tag");
			} else if (!is_atom_char(c)) {
				ret = fail_byte(p, c, "the tag");
			} else {
				s->tok = s->pos++;
				s->state = ST_TAG;
				if (b != NULL)
					b->resp->kind = IMAP_RESP_TAGGED;
			}
			break;
		case ST_STAR:
			if (c != ' ')
				ret = parser_fail(p, "no space after '*'");
			s->pos++;
			s->state = ST_WORD_START;
			break;
		case ST_TAG:
			if (c == ' ') {
				if (b != NULL)
					b->resp->tag = arena_strndup(
					    p, d + s->tok, s->pos - s->tok,
					    false);
				s->pos++;
				s->state = ST_WORD_START;
			} else if (c == '\r' || c == '\n') {
				ret = parser_fail(p, "missing keyword after "
				                     "tag");
			} else if (!is_atom_char(c)) {
				ret = fail_byte(p, c, "the tag");
			} else {
				s->pos++;
			}
			break;
		case ST_PLUS:
			/* "+ text", but also "+" and "+text". */
			if (c == ' ')
				s->pos++;
			s->tok = s->pos;
			s->state = ST_TEXT;
			break;
		case ST_WORD_START:
			if (c == '\r' || c == '\n' || c == ' ')
				ret = parser_fail(p, "missing response "
				                     "keyword");
			s->tok = s->pos;
			s->digits = true;
			s->num = 0;
			s->state = ST_WORD;
			break;
		case ST_WORD:
			if (c == ' ' || c == '\r' || c == '\n') {
				ret = word_end(p, s, b, d, c);
			} else if (!is_atom_char(c) || c == '[' || c == ']') {
				ret = fail_byte(p, c, "the response keyword");
			} else {
				if (c < '0' || c > '9')
					s->digits = false;
				else if (s->num <= UINT32_MAX)
					s->num =
					    s->num * 10 + (uint64_t)(c - '0');
				s->pos++;
			}
			break;
		case ST_STATUS_SP:
			if (c == '[') {
				s->pos++;
				s->tok = s->pos;
				s->state = ST_CODE_NAME;
			} else {
				s->tok = s->pos;
				s->state = ST_TEXT;
			}
			break;
		case ST_CODE_NAME:
			if (c == ']' || c == ' ')
				ret = code_name_end(p, s, b, d, c);
			else if (!is_atom_char(c) || c == '[')
				ret = fail_byte(p, c, "the response code");
			else
				s->pos++;
			break;
		case ST_AFTER_CODE:
			if (c == ' ')
				s->pos++;
			s->tok = s->pos;
			s->state = ST_TEXT;
			break;
		case ST_TEXT:
			if (c == '\r' || c == '\n') {
				ret = text_end(p, s, b, d);
				line_end(s, c);
			} else if (c == '\0') {
				ret = fail_byte(p, c, "the response text");
			} else {
				s->pos++;
			}
			break;
		case ST_ARGS:
			ret = args_byte(p, s, b, c);
			break;
		case ST_TILDE:
			if (c == '{') {
				s->lit8 = true;
				s->pos++;
				s->lit_size = 0;
				s->lit_digits = false;
				s->state = ST_LIT_SIZE;
			} else {
				s->bracket = 0;
				s->state = ST_ATOM;
			}
			break;
		case ST_ATOM:
			ret = atom_byte(p, s, b, d, c);
			break;
		case ST_QUOTED:
			if (c == '"') {
				ret = emit_quoted(p, b, d + s->tok,
				                  s->pos - s->tok);
				s->state = ST_ARGS;
			} else if (c == '\\') {
				s->state = ST_QUOTED_ESC;
			} else if (c == '\0' || c == '\r' || c == '\n') {
				ret = fail_byte(p, c, "a quoted string");
			}
			s->pos++;
			break;
		case ST_QUOTED_ESC:
			if (c != '\\' && c != '"')
				ret = parser_fail(p, "invalid escape in quoted "
				                     "string");
			s->state = ST_QUOTED;
			s->pos++;
			break;
		case ST_LIT_SIZE:
			ret = literal_size_byte(p, s, c);
			break;
		case ST_LIT_CR:
		case ST_LIT_LF:
			if (c == '\r' && s->state == ST_LIT_CR) {
				s->pos++;
				s->state = ST_LIT_LF;
			} else if (c == '\n') {
				s->pos++;
				ret = literal_begin(p, s, b, d);
				/* A limit or a spill file: not the line's. */
				if (ret < 0)
					p->limit = true;
			} else {
				ret = parser_fail(p, "literal size not "
				                     "followed by CRLF");
			}
			break;
		case ST_SKIP:
			/* Only LF ends it: a botched item may hold a CR
			 * (Cyrus's garbage MAILBOXID does), and nothing of
			 * the line is used either way. */
			if (c == '\n')
				line_end(s, c);
			else
				s->pos++;
			break;
		case ST_CR:
			if (c != '\n')
				ret = parser_fail(p, "CR not followed by LF");
			s->pos++;
			s->state = ST_DONE;
			break;
		case ST_LIT_DATA:
		case ST_LIT_SPILL:
		case ST_DONE:
			break;
		}
		if (ret < 0 && parser_recover(p, s)) {
			s->pos = at;
			ret = 0;
		}
	}
	return ret < 0 ? -1 : 1;
}

/* Scan what has arrived; 1 when a whole response is in, with every limit
 * checked on the part seen so far. */
static int
parser_scan(struct imap_parser *p)
{
	struct parser_scan *s = &p->scan;
	size_t line;
	int ret;

	if (p->failed)
		return -1;
	if (s->state == ST_DONE)
		return 1;
	ret = parser_run(p, s, NULL, buf_len(p->in));
	if (ret < 0)
		return -1;
	line = s->pos - s->lit_bytes;
	if (line > p->set.max_line)
		return parser_failf(p, "response line longer than %zu bytes",
		                    p->set.max_line);
	if (ret == 0 && buf_avail(p->in) == 0)
		return parser_failf(p, "response longer than %zu bytes",
		                    p->set.max_response);
	return ret;
}

static int
parser_build(struct imap_parser *p)
{
	struct parser_scan s = {.state = ST_START};
	struct builder b = {.resp = &p->resp};
	int ret;

	memset(&p->resp, 0, sizeof(p->resp));
	b.cap = p->scan.args;
	b.max_frames = p->scan.max_depth + 2;
	b.scratch = arena_alloc(p, (b.cap > 0 ? b.cap : 1) * sizeof(*b.scratch),
	                        _Alignof(struct imap_arg));
	b.frames =
	    arena_alloc(p, b.max_frames * sizeof(*b.frames), _Alignof(size_t));
	b.frames[b.nframes++] = 0;
	ret = parser_run(p, &s, &b, p->scan.pos);
	if (ret < 0)
		return -1;
	if (ret == 0 || s.pos != p->scan.pos ||
	    s.malformed != p->scan.malformed)
		return parser_fail(p, "internal error: response end moved");
	if (s.malformed) {
		if (s.rest) {
			memset(&p->resp, 0, sizeof(p->resp));
			p->resp.kind = IMAP_RESP_UNTAGGED;
			p->resp.name = p->malformed_name;
		}
		p->resp.malformed = p->malformed;
		p->resp.args = NULL;
		p->resp.count = 0;
		return 0;
	}
	if (b.nframes != 1)
		return parser_fail(p, "internal error: response end moved");
	if (p->resp.kind != IMAP_RESP_CONTINUATION && !s.status)
		return builder_close(p, &b, &p->resp.args, &p->resp.count);
	if (p->resp.text == NULL)
		p->resp.text = "";
	return 0;
}

struct imap_parser *
imap_parser_create(const struct imap_parser_settings *set)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));
	const char *dir;

	if (set != NULL)
		p->set = *set;
	if (p->set.max_line == 0)
		p->set.max_line = IMAP_MAX_LINE;
	if (p->set.max_literal == 0)
		p->set.max_literal = IMAP_MAX_LITERAL;
	if (p->set.max_inline_literal == 0)
		p->set.max_inline_literal = IMAP_MAX_INLINE_LITERAL;
	if (p->set.max_response == 0)
		p->set.max_response = IMAP_MAX_RESPONSE;
	if (p->set.max_depth == 0)
		p->set.max_depth = IMAP_MAX_DEPTH;
	if (p->set.max_args == 0)
		p->set.max_args = IMAP_MAX_ARGS;
	dir = p->set.spill_dir;
	if (dir == NULL || *dir == '\0')
		dir = getenv("TMPDIR");
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	p->spill_dir = xstrdup(dir);
	p->set.spill_dir = p->spill_dir;
	p->in = buf_create(p->set.max_response);
	p->scan.state = ST_START;
	return p;
}

void
imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;

	if (p == NULL)
		return;
	close_spills(p->done_spill, &p->done_nspill);
	close_spills(p->spill, &p->scan.nspill);
	arena_reset(p, true);
	buf_free(&p->in);
	free(p->spill_dir);
	free(p);
	*pp = NULL;
}

void *
imap_parser_input_space(struct imap_parser *p, size_t *size_r)
{
	size_t avail = buf_avail(p->in);
	void *space;

	/* Full: spilling a literal may make room without a next() call. */
	if (avail == 0 && p->scan.state == ST_LIT_SPILL) {
		(void)parser_scan(p);
		avail = buf_avail(p->in);
	}
	space = buf_space(p->in, avail < 4096 ? avail : 4096, size_r);
	if (space == NULL)
		*size_r = 0;
	return space;
}

void
imap_parser_input_commit(struct imap_parser *p, size_t n)
{
	buf_commit(p->in, n);
	/* Move a large literal out of memory as soon as its bytes land. */
	if (p->scan.state == ST_LIT_SPILL)
		(void)parser_scan(p);
}

size_t
imap_parser_feed(struct imap_parser *p, const void *data, size_t len)
{
	const char *src = data;
	size_t done = 0, n;
	void *space;

	while (done < len) {
		space = imap_parser_input_space(p, &n);
		if (space == NULL || n == 0)
			break;
		if (n > len - done)
			n = len - done;
		memcpy(space, src + done, n);
		imap_parser_input_commit(p, n);
		done += n;
	}
	return done;
}

int
imap_parser_next(struct imap_parser *p, const struct imap_response **resp_r,
                 const char **error_r)
{
	int ret;

	close_spills(p->done_spill, &p->done_nspill);
	arena_reset(p, false);
	ret = parser_scan(p);
	if (ret == 1 && parser_build(p) < 0)
		ret = -1;
	if (ret < 0) {
		*error_r = p->error;
		return -1;
	}
	if (ret == 0)
		return 0;
	p->after_malformed = p->resp.malformed != NULL;
	if (p->after_malformed && p->resp.name != p->malformed_name)
		snprintf(p->malformed_name, sizeof(p->malformed_name), "%s",
		         p->resp.name != NULL ? p->resp.name : "");
	buf_consume(p->in, p->scan.pos);
	memcpy(p->done_spill, p->spill, p->scan.nspill * sizeof(p->spill[0]));
	p->done_nspill = p->scan.nspill;
	memset(&p->scan, 0, sizeof(p->scan));
	p->scan.state = ST_START;
	p->spilled = 0;
	*resp_r = &p->resp;
	return 1;
}

size_t
imap_parser_pending(const struct imap_parser *p)
{
	return buf_len(p->in) + (size_t)p->spilled;
}
