/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The file's syntax: reading it (config_read_file(), capped), splitting it into
 * lines and each line into a [section] or a KEY = VALUE by Config::Tiny's
 * rules (config_parse_text()), and the words of list-mailbox, quoted or not
 * (config_parse_list_mailbox()). */
#include "config-private.h"

#include "limits.h"
#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool
is_space(char c)
{
	/* Perl's \s on a byte string */
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

/* Trim [*start, *end) of \s on both sides. */
static void
trim(const char **start, const char **end)
{
	while (*start < *end && is_space(**start))
		(*start)++;
	while (*end > *start && is_space((*end)[-1]))
		(*end)--;
}

/* One line, by Config::Tiny 2.28's rules: comments are lines starting
 * with # or ; (after blanks) and " ; text" at the end of a line; there is
 * no quoting, and blanks around keys and values are dropped. */
static int
parse_line(struct config_parse *p, char *line, size_t len, unsigned lineno,
           int *section, const char **error_r)
{
	const char *start = line, *end = line + len, *eq, *k_end, *v_start;
	size_t i;
	int key;

	if (memchr(line, '\0', len) != NULL)
		return config_fail(error_r, "%s:%u: NUL byte", p->path, lineno);
	while (start < end && is_space(*start))
		start++;
	if (start == end || *start == '#' || *start == ';')
		return 0;
	/* s/\s\;\s.+$//: the leftmost blank-semicolon-blank with text
	 * after it starts a comment */
	for (i = 0; i + 3 < len; i++) {
		if (is_space(line[i]) && line[i + 1] == ';' &&
		    is_space(line[i + 2])) {
			end = line + i;
			break;
		}
	}
	trim(&start, &end);

	if (*start == '[' && end - start >= 3 && end[-1] == ']') {
		const char *name = start + 1, *name_end = end - 1;
		size_t nlen;

		trim(&name, &name_end);
		nlen = name_end - name;
		if (nlen == 5 && memcmp(name, "local", 5) == 0)
			*section = 1 + SIDE_LOCAL;
		else if (nlen == 6 && memcmp(name, "remote", 6) == 0)
			*section = 1 + SIDE_REMOTE;
		else {
			*section = SECTION_OTHER;
			config_add_warning(
			    p->config,
			    "%s:%u: section [%.*s] is not read by "
			    "imapsync (only [local] and [remote])",
			    p->path, lineno, (int)nlen, name);
			return 0;
		}
		if (p->section_line[*section] == 0)
			p->section_line[*section] = lineno;
		return 0;
	}

	eq = memchr(start, '=', end - start);
	k_end = eq;
	if (eq != NULL)
		trim(&start, &k_end);
	if (eq == NULL || k_end == start)
		return config_fail(error_r,
		                   "%s:%u: syntax error: expected KEY = VALUE "
		                   "or [SECTION]",
		                   p->path, lineno);
	if (*section == SECTION_OTHER)
		return 0;
	key = config_find_key(start, k_end - start);
	if (key < 0) {
		const char *close = config_suggest_key(start, k_end - start);

		return config_fail(
		    error_r, "%s:%u: unknown option \"%.*s\"%s%s%s", p->path,
		    lineno, (int)(k_end - start), start,
		    close != NULL ? " (did you mean \"" : "",
		    close != NULL ? close : "", close != NULL ? "\"?)" : "");
	}
	v_start = eq + 1;
	trim(&v_start, &end);
	config_wipe_free(p->raw[*section][key].value);
	p->raw[*section][key].value = xstrndup(v_start, end - v_start);
	p->raw[*section][key].line = lineno;
	return 0;
}

/* Split as Config::Tiny does: on \r\r\n, \r\n, \r or \n. */
int
config_parse_text(struct config_parse *p, char *text, size_t len,
                  const char **error_r)
{
	size_t pos = 0, eol, next;
	unsigned lineno = 0;
	int section = SECTION_DEFAULT;

	while (pos < len) {
		for (eol = pos; eol < len; eol++) {
			if (text[eol] == '\r' || text[eol] == '\n')
				break;
		}
		next = eol;
		if (next + 2 < len && text[next] == '\r' &&
		    text[next + 1] == '\r' && text[next + 2] == '\n')
			next += 3;
		else if (next + 1 < len && text[next] == '\r' &&
		         text[next + 1] == '\n')
			next += 2;
		else if (next < len)
			next++;
		lineno++;
		if (parse_line(p, text + pos, eol - pos, lineno, &section,
		               error_r) < 0)
			return -1;
		pos = next;
	}
	return 0;
}

static int
parse_quoted(const char *s, size_t *pos_r, char *out, size_t *out_len_r)
{
	size_t pos = *pos_r + 1, n = 0;
	unsigned hi, lo;

	for (;; pos++) {
		unsigned char c = s[pos];

		if (c == '"')
			break;
		if (c == '\\') {
			c = s[++pos];
			switch (c) {
			case '"':
			case '\\':
				break;
			case '0':
				c = '\0';
				break;
			case 'a':
				c = '\a';
				break;
			case 'b':
				c = '\b';
				break;
			case 't':
				c = '\t';
				break;
			case 'n':
				c = '\n';
				break;
			case 'f':
				c = '\f';
				break;
			case 'r':
				c = '\r';
				break;
			case 'v':
				/* interimap evaluates each escape as a Perl
				 * string, where "\v" is a plain "v" */
				c = 'v';
				break;
			case 'x':
				if (!isxdigit((unsigned char)s[pos + 1]) ||
				    !isxdigit((unsigned char)s[pos + 2]))
					return -1;
				hi = isdigit((unsigned char)s[pos + 1])
				         ? s[pos + 1] - '0'
				         : (s[pos + 1] | 0x20) - 'a' + 10;
				lo = isdigit((unsigned char)s[pos + 2])
				         ? s[pos + 2] - '0'
				         : (s[pos + 2] | 0x20) - 'a' + 10;
				c = hi << 4 | lo;
				pos += 2;
				break;
			default:
				return -1;
			}
		} else if (c < 0x20 || c > 0x7e) {
			return -1;
		}
		out[n++] = c;
	}
	if (n == 0)
		return -1;
	*pos_r = pos + 1;
	*out_len_r = n;
	return 0;
}

static bool
is_list_char(unsigned char c)
{
	/* interimap: [\x21\x23-\x27\x2A-\x5B\x5D-\x7A\x7C-\x7E] */
	return c > 0x20 && c < 0x7f && strchr("\"(){\\", c) == NULL;
}

/* list-mailbox: words separated by blanks; a word is unquoted list-chars
 * or a double-quoted string with C escapes and \xHH. */
int
config_parse_list_mailbox(struct config *config, const char *v)
{
	size_t pos = 0, start, len, vlen = strlen(v);
	struct config_mailbox *mb;
	char *name;

	for (;;) {
		name = xmalloc(vlen + 1);
		start = pos;
		if (is_list_char(v[pos])) {
			while (is_list_char(v[pos]))
				pos++;
			len = pos - start;
			memcpy(name, v + start, len);
		} else if (v[pos] != '"' ||
		           parse_quoted(v, &pos, name, &len) < 0) {
			free(name);
			return -1;
		}
		name[len] = '\0';
		mb = xreallocarray(config->list_mailbox,
		                   config->list_mailbox_count + 1, sizeof(*mb));
		mb[config->list_mailbox_count].name = name;
		mb[config->list_mailbox_count++].len = len;
		config->list_mailbox = mb;
		start = pos;
		while (is_space(v[pos]))
			pos++;
		if (v[pos] == '\0')
			return 0;
		if (pos == start)
			return -1; /* a word glued to the next one */
	}
}

int
config_read_file(const char *path, char **text_r, size_t *len_r,
                 struct stat *st_r, const char **error_r)
{
	struct stat st;
	char *text;
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return config_fail(error_r, "%s: cannot open config file: %s",
		                   path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return config_fail(error_r, "%s: not a regular file", path);
	}
	if (st.st_size > CONFIG_MAX_FILE_SIZE) {
		close(fd);
		return config_fail(error_r,
		                   "%s: config file larger than %d bytes", path,
		                   CONFIG_MAX_FILE_SIZE);
	}
	text = xmalloc(CONFIG_MAX_FILE_SIZE + 1);
	while (len < CONFIG_MAX_FILE_SIZE) {
		n = read(fd, text + len, CONFIG_MAX_FILE_SIZE - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			config_fail(error_r, "%s: read: %s", path,
			            strerror(errno));
			sodium_memzero(text, len);
			free(text);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	text[len] = '\0';
	*text_r = text;
	*len_r = len;
	*st_r = st;
	return 0;
}
