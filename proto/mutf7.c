/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "mutf7.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "limits.h"

static const char mutf7_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Where the output goes: out's cap and IMAP_MAX_MAILBOX_NAME both bound
 * it, and a failed call leaves out as it found it. */
struct mutf7_out {
	struct buf *buf;
	size_t start;
	const char *error;
};

static int
mutf7_out_append(struct mutf7_out *o, const void *data, size_t n)
{
	if (buf_len(o->buf) - o->start + n > IMAP_MAX_MAILBOX_NAME) {
		o->error = "mailbox name too long";
		return -1;
	}
	if (buf_append(o->buf, data, n) < 0) {
		o->error = "mailbox name does not fit in the output buffer";
		return -1;
	}
	return 0;
}

static int
mutf7_out_byte(struct mutf7_out *o, char c)
{
	return mutf7_out_append(o, &c, 1);
}

static int
mutf7_fail(struct mutf7_out *o, const char *error, const char **error_r)
{
	buf_truncate(o->buf, o->start);
	*error_r = error != NULL ? error : o->error;
	return -1;
}

static bool
mutf7_is_direct(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* Names that need no encoding go out in one copy. */
static bool
mutf7_is_plain(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!mutf7_is_direct((unsigned char)s[i]) || s[i] == '&')
			return false;
	}
	return true;
}

/* Read one code point from s[*i..len); -1 unless it is well-formed,
 * shortest-form UTF-8 of a scalar value other than NUL. */
static int
mutf7_utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp_r)
{
	unsigned char c = s[*i];
	unsigned char lo = 0x80, hi = 0xbf;
	uint32_t cp;
	size_t n, k;

	if (c == 0)
		return -1;
	if (c < 0x80) {
		*cp_r = c;
		*i += 1;
		return 0;
	}
	if (c < 0xc2 || c > 0xf4)
		return -1;
	if (c < 0xe0) {
		n = 1;
		cp = c & 0x1f;
	} else if (c < 0xf0) {
		n = 2;
		cp = c & 0x0f;
		/* The second byte's range is what rules out overlong forms
		 * and the surrogates. */
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else {
		n = 3;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	}
	if (len - *i <= n)
		return -1;
	for (k = 1; k <= n; k++) {
		c = s[*i + k];
		if (c < lo || c > hi)
			return -1;
		lo = 0x80;
		hi = 0xbf;
		cp = (cp << 6) | (c & 0x3f);
	}
	*cp_r = cp;
	*i += n + 1;
	return 0;
}

struct mutf7_b64_state {
	uint32_t acc;
	unsigned int nbits;
};

static int
mutf7_put_unit(struct mutf7_out *o, struct mutf7_b64_state *st, uint32_t unit)
{
	st->acc = (st->acc << 16) | unit;
	st->nbits += 16;
	while (st->nbits >= 6) {
		st->nbits -= 6;
		if (mutf7_out_byte(o, mutf7_b64[(st->acc >> st->nbits) & 63]) <
		    0)
			return -1;
	}
	st->acc &= (1u << st->nbits) - 1;
	return 0;
}

static int
mutf7_close_section(struct mutf7_out *o, struct mutf7_b64_state *st)
{
	if (st->nbits > 0 &&
	    mutf7_out_byte(o, mutf7_b64[(st->acc << (6 - st->nbits)) & 63]) < 0)
		return -1;
	st->acc = 0;
	st->nbits = 0;
	return mutf7_out_byte(o, '-');
}

int
mutf7_encode(const char *utf8, size_t len, struct buf *out,
             const char **error_r)
{
	const unsigned char *s = (const unsigned char *)utf8;
	struct mutf7_out o = {out, buf_len(out), NULL};
	struct mutf7_b64_state st = {0, 0};
	bool in_section = false;
	uint32_t cp;
	size_t i = 0;

	if (len > IMAP_MAX_MAILBOX_NAME)
		return mutf7_fail(&o, "mailbox name too long", error_r);
	if (mutf7_is_plain(utf8, len)) {
		if (mutf7_out_append(&o, utf8, len) < 0)
			return mutf7_fail(&o, NULL, error_r);
		return 0;
	}
	while (i < len) {
		if (mutf7_utf8_next(s, len, &i, &cp) < 0) {
			return mutf7_fail(&o,
			                  s[i] == 0
			                      ? "NUL in mailbox name"
			                      : "invalid UTF-8 in mailbox name",
			                  error_r);
		}
		if (mutf7_is_direct(cp)) {
			if (in_section && mutf7_close_section(&o, &st) < 0)
				return mutf7_fail(&o, NULL, error_r);
			in_section = false;
			if (mutf7_out_byte(&o, (char)cp) < 0 ||
			    (cp == '&' && mutf7_out_byte(&o, '-') < 0))
				return mutf7_fail(&o, NULL, error_r);
			continue;
		}
		if (!in_section && mutf7_out_byte(&o, '&') < 0)
			return mutf7_fail(&o, NULL, error_r);
		in_section = true;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			if (mutf7_put_unit(&o, &st, 0xd800 | (cp >> 10)) < 0 ||
			    mutf7_put_unit(&o, &st, 0xdc00 | (cp & 0x3ff)) < 0)
				return mutf7_fail(&o, NULL, error_r);
		} else if (mutf7_put_unit(&o, &st, cp) < 0) {
			return mutf7_fail(&o, NULL, error_r);
		}
	}
	if (in_section && mutf7_close_section(&o, &st) < 0)
		return mutf7_fail(&o, NULL, error_r);
	return 0;
}

static int
mutf7_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

static int
mutf7_put_utf8(struct mutf7_out *o, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return mutf7_out_append(o, u, n);
}

/* Decode the base64 of one section, s[*i] being the first byte after the
 * '&', up to and including its '-'. Anything another encoder could have
 * written differently is refused, so encoding the result gives back the
 * input byte for byte. */
static int
mutf7_decode_section(const unsigned char *s, size_t len, size_t *i,
                     struct mutf7_out *o, const char **error_r)
{
	uint32_t acc = 0, unit, high = 0;
	unsigned int nbits = 0;
	int v;

	for (;; (*i)++) {
		if (*i == len) {
			*error_r = "unterminated & section in mailbox name";
			return -1;
		}
		if (s[*i] == '-')
			break;
		if ((v = mutf7_b64_value(s[*i])) < 0) {
			*error_r = "invalid base64 in mailbox name";
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		unit = (acc >> nbits) & 0xffff;
		acc &= (1u << nbits) - 1;
		if (unit >= 0xd800 && unit <= 0xdbff) {
			if (high != 0)
				goto bad_pair;
			high = unit;
			continue;
		}
		if (unit >= 0xdc00 && unit <= 0xdfff) {
			if (high == 0)
				goto bad_pair;
			unit =
			    0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00);
			high = 0;
		} else if (high != 0) {
			goto bad_pair;
		} else if (unit == 0) {
			*error_r = "NUL in mailbox name";
			return -1;
		} else if (mutf7_is_direct(unit)) {
			*error_r = "encoded printable ASCII in mailbox name";
			return -1;
		}
		if (mutf7_put_utf8(o, unit) < 0) {
			*error_r = o->error;
			return -1;
		}
	}
	(*i)++;
	if (high != 0)
		goto bad_pair;
	if (nbits >= 6) {
		*error_r = "base64 section of wrong length in mailbox name";
		return -1;
	}
	if (acc != 0) {
		*error_r = "nonzero base64 padding bits in mailbox name";
		return -1;
	}
	return 0;
bad_pair:
	*error_r = "broken UTF-16 surrogate pair in mailbox name";
	return -1;
}

int
mutf7_decode(const char *mutf7, size_t len, struct buf *out,
             const char **error_r)
{
	const unsigned char *s = (const unsigned char *)mutf7;
	struct mutf7_out o = {out, buf_len(out), NULL};
	const char *error;
	bool after_section = false;
	size_t i = 0, start;

	if (len > IMAP_MAX_MAILBOX_NAME)
		return mutf7_fail(&o, "mailbox name too long", error_r);
	if (mutf7_is_plain(mutf7, len)) {
		if (mutf7_out_append(&o, mutf7, len) < 0)
			return mutf7_fail(&o, NULL, error_r);
		return 0;
	}
	while (i < len) {
		start = i;
		while (i < len && mutf7_is_direct(s[i]) && s[i] != '&')
			i++;
		if (i > start) {
			if (mutf7_out_append(&o, s + start, i - start) < 0)
				return mutf7_fail(&o, NULL, error_r);
			after_section = false;
			continue;
		}
		if (s[i] != '&') {
			return mutf7_fail(&o,
			                  "non-ASCII or control byte in "
			                  "mailbox name",
			                  error_r);
		}
		i++;
		if (i < len && s[i] == '-') {
			i++;
			if (mutf7_out_byte(&o, '&') < 0)
				return mutf7_fail(&o, NULL, error_r);
			after_section = false;
			continue;
		}
		if (after_section) {
			return mutf7_fail(&o,
			                  "two encoded sections back to back "
			                  "in mailbox name",
			                  error_r);
		}
		if (mutf7_decode_section(s, len, &i, &o, &error) < 0)
			return mutf7_fail(&o, error, error_r);
		after_section = true;
	}
	return 0;
}
