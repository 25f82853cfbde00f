/* SPDX-License-Identifier: GPL-3.0-or-later */
/* log-prefix: interimap's printf-like format for the start of each log
 * line, kept apart from the file parser. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "limits.h"

/* The log-prefix conditionals: interimap rewrites them with the Perl
 * regex
 *   %\?([[:alpha:]])\?(BODY)(?:&(BODY))?\?
 *   BODY = (?:(?>(?:[^%&?\\]|%[^?]|\\[&?\\])+)|(?R))*
 * again and again until nothing matches, then unescapes \&, \? and \\,
 * then expands %%, %m and %n. The matcher below follows that regex: a
 * body is a run of plain characters, two-character %X and \X pairs and
 * nested conditionals; it cannot backtrack into anything that would make
 * it end at & or ?, so one forward pass decides. Nesting stops at
 * LOG_PREFIX_MAX_DEPTH (limits.h). */

static size_t body_end(const char *s, size_t len, size_t pos, int depth);

/* End of the conditional starting at pos, or 0 if none starts there. */
static size_t
cond_match(const char *s, size_t len, size_t pos, int depth, char *letter_r,
           size_t then_r[2], size_t else_r[2])
{
	size_t p;

	if (depth > LOG_PREFIX_MAX_DEPTH || pos + 3 >= len || s[pos] != '%' ||
	    s[pos + 1] != '?' || !isalpha((unsigned char)s[pos + 2]) ||
	    s[pos + 3] != '?')
		return 0;
	*letter_r = s[pos + 2];
	then_r[0] = pos + 4;
	p = then_r[1] = body_end(s, len, pos + 4, depth);
	else_r[0] = else_r[1] = 0;
	if (p < len && s[p] == '&') {
		size_t e = body_end(s, len, p + 1, depth);

		if (e < len && s[e] == '?') {
			else_r[0] = p + 1;
			else_r[1] = e;
			return e + 1;
		}
		return 0;
	}
	return p < len && s[p] == '?' ? p + 1 : 0;
}

static size_t
body_end(const char *s, size_t len, size_t pos, int depth)
{
	size_t t[2], e[2], end;
	char letter;

	while (pos < len) {
		char c = s[pos];

		if (c != '%' && c != '&' && c != '?' && c != '\\')
			pos++;
		else if (c == '%' && pos + 1 < len && s[pos + 1] != '?')
			pos += 2;
		else if (c == '\\' && pos + 1 < len &&
		         strchr("&?\\", s[pos + 1]) != NULL && s[pos + 1])
			pos += 2;
		else if (c == '%' && (end = cond_match(s, len, pos, depth + 1,
		                                       &letter, t, e)) != 0)
			pos = end;
		else
			break;
	}
	return pos;
}

int
config_log_prefix_format(const char *fmt, const char *side_name,
                         const char *mailbox, struct buf *buf)
{
	struct buf *cur, *next;
	size_t len, pos, end, t[2], e[2];
	bool changed;
	const char *s;
	char letter;
	int ret = 0;

	if (side_name == NULL)
		side_name = "";
	if (mailbox == NULL)
		mailbox = "";
	cur = buf_create(buf_max(buf) + strlen(fmt) + 1);
	next = buf_create(buf_max(buf) + strlen(fmt) + 1);
	if (buf_append_str(cur, fmt) < 0)
		ret = -1;
	do {
		changed = false;
		s = buf_data(cur);
		len = buf_len(cur);
		buf_reset(next);
		for (pos = 0; ret == 0 && pos < len;) {
			end = cond_match(s, len, pos, 0, &letter, t, e);
			if (end == 0) {
				ret = buf_append_byte(next, s[pos++]);
				continue;
			}
			const char *v = letter == 'n'   ? side_name
			                : letter == 'm' ? mailbox
			                                : "";
			const size_t *branch = v[0] != '\0' ? t : e;

			ret = buf_append(next, s + branch[0],
			                 branch[1] - branch[0]);
			pos = end;
			changed = true;
		}
		struct buf *tmp = cur;
		cur = next;
		next = tmp;
	} while (changed && ret == 0);

	/* unescape \&, \? and \\, then expand %%, %m, %n */
	s = buf_data(cur);
	len = buf_len(cur);
	buf_reset(next);
	for (pos = 0; ret == 0 && pos < len; pos++) {
		if (s[pos] == '\\' && pos + 1 < len &&
		    strchr("&?\\", s[pos + 1]) != NULL && s[pos + 1] != '\0')
			pos++;
		ret = buf_append_byte(next, s[pos]);
	}
	s = buf_data(next);
	len = buf_len(next);
	for (pos = 0; ret == 0 && pos < len; pos++) {
		if (s[pos] == '%' && pos + 1 < len) {
			switch (s[pos + 1]) {
			case '%':
				ret = buf_append_byte(buf, '%');
				pos++;
				continue;
			case 'n':
				ret = buf_append_str(buf, side_name);
				pos++;
				continue;
			case 'm':
				ret = buf_append_str(buf, mailbox);
				pos++;
				continue;
			}
		}
		ret = buf_append_byte(buf, s[pos]);
	}
	buf_free(&cur);
	buf_free(&next);
	return ret;
}
