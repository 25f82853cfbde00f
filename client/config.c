/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config-private.h"

#include "limits.h"
#include "transport.h"
#include "xmalloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pcre2.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How interimap's read_config() validates each value (its regexes). */
enum config_check {
	CHECK_NOCTRL,       /* \P{Control}+ */
	CHECK_NOCTRL_EMPTY, /* \P{Control}* */
	CHECK_TYPE,         /* imaps?|tunnel */
	CHECK_BOOL,         /* YES|NO, any case */
	CHECK_ASCII,        /* [\x01-\x7F]+ */
	CHECK_AUTH,         /* atoms separated by single spaces */
	CHECK_SSL_PROTOCOLS,
	CHECK_FINGERPRINT,
	CHECK_ABSPATH,     /* /\P{Control}+ */
	CHECK_TEXT,        /* TEXT-CHAR+: ASCII without NUL, CR, LF */
	CHECK_TEXT_EMPTY,  /* TEXT-CHAR* */
	CHECK_SELECT_OPTS, /* LIST select options: atoms and spaces */
	CHECK_PERCENT,     /* 0 to 100, an optional % after */
	CHECK_COUNT,       /* 0 to 999999 */
	CHECK_SECONDS,     /* 1 to 86400 */
};

#define KEY_DEFAULT_ONLY 0x1 /* interimap reads it from the default section */

static const struct {
	const char *name;
	enum config_check check;
	unsigned flags;
} keys[CONFIG_KEY_COUNT] = {
    [CONFIG_DATABASE] = {"database", CHECK_NOCTRL, KEY_DEFAULT_ONLY},
    [CONFIG_LOGFILE] = {"logfile", CHECK_ABSPATH, KEY_DEFAULT_ONLY},
    [CONFIG_LOG_PREFIX] = {"log-prefix", CHECK_NOCTRL_EMPTY, KEY_DEFAULT_ONLY},
    [CONFIG_LIST_MAILBOX] = {"list-mailbox", CHECK_TEXT, KEY_DEFAULT_ONLY},
    [CONFIG_LIST_SELECT_OPTS] = {"list-select-opts", CHECK_SELECT_OPTS,
                                 KEY_DEFAULT_ONLY},
    [CONFIG_LIST_REFERENCE] = {"list-reference", CHECK_TEXT_EMPTY, 0},
    [CONFIG_IGNORE_MAILBOX] = {"ignore-mailbox", CHECK_TEXT, KEY_DEFAULT_ONLY},
    [CONFIG_TYPE] = {"type", CHECK_TYPE, 0},
    [CONFIG_HOST] = {"host", CHECK_NOCTRL, 0},
    [CONFIG_PORT] = {"port", CHECK_NOCTRL, 0},
    [CONFIG_PROXY] = {"proxy", CHECK_NOCTRL, 0},
    [CONFIG_COMMAND] = {"command", CHECK_NOCTRL, 0},
    [CONFIG_STARTTLS] = {"STARTTLS", CHECK_BOOL, 0},
    [CONFIG_AUTH] = {"auth", CHECK_AUTH, 0},
    [CONFIG_USERNAME] = {"username", CHECK_ASCII, 0},
    [CONFIG_PASSWORD] = {"password", CHECK_ASCII, 0},
    [CONFIG_PASSWORD_COMMAND] = {"password-command", CHECK_NOCTRL, 0},
    [CONFIG_COMPRESS] = {"compress", CHECK_BOOL, 0},
    [CONFIG_NULL_STDERR] = {"null-stderr", CHECK_BOOL, 0},
    [CONFIG_SSL_PROTOCOLS] = {"SSL_protocols", CHECK_SSL_PROTOCOLS, 0},
    [CONFIG_SSL_PROTOCOL_MIN] = {"SSL_protocol_min", CHECK_NOCTRL, 0},
    [CONFIG_SSL_PROTOCOL_MAX] = {"SSL_protocol_max", CHECK_NOCTRL, 0},
    [CONFIG_SSL_FINGERPRINT] = {"SSL_fingerprint", CHECK_FINGERPRINT, 0},
    [CONFIG_SSL_CIPHERLIST] = {"SSL_cipherlist", CHECK_NOCTRL, 0},
    [CONFIG_SSL_CIPHERSUITES] = {"SSL_ciphersuites", CHECK_NOCTRL_EMPTY, 0},
    [CONFIG_SSL_HOSTNAME] = {"SSL_hostname", CHECK_NOCTRL_EMPTY, 0},
    [CONFIG_SSL_VERIFY] = {"SSL_verify", CHECK_BOOL, 0},
    [CONFIG_SSL_CAPATH] = {"SSL_CApath", CHECK_NOCTRL, 0},
    [CONFIG_SSL_CAFILE] = {"SSL_CAfile", CHECK_NOCTRL, 0},
    [CONFIG_SAFETY_EXPUNGE] = {"safety-expunge", CHECK_PERCENT,
                               KEY_DEFAULT_ONLY},
    [CONFIG_SAFETY_DELETE] = {"safety-delete", CHECK_COUNT, KEY_DEFAULT_ONLY},
    [CONFIG_MAX_CREATE] = {"max-create", CHECK_COUNT, KEY_DEFAULT_ONLY},
    [CONFIG_PASSWORD_COMMAND_TIMEOUT] = {"password-command-timeout",
                                         CHECK_COUNT, 0},
    [CONFIG_TIMEOUT] = {"timeout", CHECK_SECONDS, KEY_DEFAULT_ONLY},
    [CONFIG_CONNECT_TIMEOUT] = {"connect-timeout", CHECK_SECONDS,
                                KEY_DEFAULT_ONLY},
    [CONFIG_SAFETY_MERGE] = {"safety-merge", CHECK_BOOL, KEY_DEFAULT_ONLY},
};

static char config_error[1024];

int
fail(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(config_error, sizeof(config_error), fmt, ap);
	va_end(ap);
	*error_r = config_error;
	return -1;
}

void
wipe_free(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

void
add_warning(struct config *config, const char *fmt, ...)
{
	va_list ap;

	config->warnings =
	    xreallocarray(config->warnings, config->warning_count + 1,
	                  sizeof(*config->warnings));
	va_start(ap, fmt);
	config->warnings[config->warning_count++] = xvasprintf(fmt, ap);
	va_end(ap);
}

/* XDG base directory: $VAR/imapsync/rel, or ~/dflt/imapsync/rel. The XDG
 * spec says to ignore empty and relative values of $VAR. */
static int
xdg_path(const char *var, const char *dflt, const char *rel, char **path_r,
         const char **error_r)
{
	const char *base = getenv(var), *home;

	if (rel[0] == '/') {
		*path_r = xstrdup(rel);
		return 0;
	}
	if (base != NULL && base[0] == '/')
		*path_r = xasprintf("%s/imapsync/%s", base, rel);
	else {
		home = getenv("HOME");
		if (home == NULL || home[0] != '/')
			return fail(error_r,
			            "neither $%s nor $HOME is set "
			            "to an absolute directory",
			            var);
		*path_r = xasprintf("%s/%s/imapsync/%s", home, dflt, rel);
	}
	return 0;
}

int
config_resolve_path(const char *arg, char **path_r, const char **error_r)
{
	if (arg == NULL)
		arg = "config";
	if (arg[0] == '\0')
		return fail(error_r, "empty config file name");
	return xdg_path("XDG_CONFIG_HOME", ".config", arg, path_r, error_r);
}

int
config_database_path(const struct config *config, char **path_r,
                     const char **error_r)
{
	char *name;
	int ret;

	if (config->database != NULL)
		return xdg_path("XDG_DATA_HOME", ".local/share",
		                config->database, path_r, error_r);
	/* interimap: [remote]'s host, whose default is "localhost"; the
	 * [local] fallback it also has cannot apply, as both sections are
	 * required. */
	name = xasprintf("%s.db", config->side[SIDE_REMOTE].host);
	ret = xdg_path("XDG_DATA_HOME", ".local/share", name, path_r, error_r);
	free(name);
	return ret;
}

int
config_database_check(const char *path, const char **error_r)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	struct stat st;

	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return fail(error_r,
			            "database %s is a symbolic link: imapsync "
			            "does not follow it (set database = to the "
			            "file it points to)",
			            path);
		if (!S_ISREG(st.st_mode))
			return fail(error_r,
			            "database %s is not a regular file", path);
	} else if (errno != ENOENT) {
		return fail(error_r, "database %s: %s", path, strerror(errno));
	}
	if (slash == NULL)
		return 0;
	dir = slash == path ? xstrdup("/") : xstrndup(path, slash - path);
	/* A directory imapsync creates is 0700; one that exists already is
	 * whatever it is. */
	if (stat(dir, &st) < 0) {
		free(dir);
		return 0;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		fail(error_r,
		     "database directory %s belongs to uid %ld, not to you: "
		     "its owner could replace the database (set database = "
		     "to a file in a directory of yours)",
		     dir, (long)st.st_uid);
		free(dir);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		fail(error_r,
		     "database directory %s is writable by group or others, "
		     "who could replace the database or plant files next to "
		     "it (chmod go-w %s)",
		     dir, dir);
		free(dir);
		return -1;
	}
	free(dir);
	return 0;
}

/* Value checks, one per regex of interimap's read_config(). Perl's
 * \P{Control} also refuses bytes 0x80-0x9F of a byte string, which cuts
 * many UTF-8 file names; only ASCII controls are refused here. */
static bool
is_noctrl(const char *v)
{
	for (; *v != '\0'; v++) {
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return false;
	}
	return true;
}

static bool
is_text(const char *v)
{
	for (; *v != '\0'; v++) {
		unsigned char c = *v;

		if (c >= 0x80 || c == '\r' || c == '\n')
			return false;
	}
	return true;
}

static bool
is_atom_char(unsigned char c)
{
	/* RFC 3501 ATOM-CHAR: not ( ) { SP CTL % * " \ ] */
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/* Words separated by single spaces, each accepted by word(); the word
 * check gets the word's start and length. */
static bool
is_word_list(const char *v, bool (*word)(const char *, size_t))
{
	const char *sp;

	for (;;) {
		sp = strchr(v, ' ');
		if (!word(v, sp == NULL ? strlen(v) : (size_t)(sp - v)))
			return false;
		if (sp == NULL)
			return true;
		v = sp + 1;
	}
}

static bool
is_atom(const char *w, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (!is_atom_char(w[i]))
			return false;
	}
	return true;
}

static bool
is_ssl_protocol(const char *w, size_t len)
{
	static const char *const protos[] = {"SSLv2",   "SSLv3",   "TLSv1",
	                                     "TLSv1.0", "TLSv1.1", "TLSv1.2",
	                                     "TLSv1.3"};
	size_t i;

	if (len > 0 && w[0] == '!') {
		w++;
		len--;
	}
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (strlen(protos[i]) == len && memcmp(w, protos[i], len) == 0)
			return true;
	}
	return false;
}

static bool
is_fingerprint(const char *w, size_t len)
{
	const char *dollar = memchr(w, '$', len);
	size_t i;

	if (dollar != NULL) {
		if (dollar == w)
			return false;
		for (i = 0; w + i < dollar; i++) {
			if (!isalnum((unsigned char)w[i]))
				return false;
		}
		len -= dollar + 1 - w;
		w = dollar + 1;
	}
	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)w[i]))
			return false;
	}
	return true;
}

/* "50" or "50%": 0 to 100. */
int
parse_percent(const char *v, unsigned *percent_r)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; isdigit((unsigned char)v[i]) && i < 3; i++)
		n = n * 10 + (unsigned)(v[i] - '0');
	if (i == 0 || n > 100 || (v[i] != '\0' && strcmp(v + i, "%") != 0))
		return -1;
	if (percent_r != NULL)
		*percent_r = n;
	return 0;
}

static bool
value_is_valid(enum config_check check, const char *v)
{
	switch (check) {
	case CHECK_NOCTRL:
		return v[0] != '\0' && is_noctrl(v);
	case CHECK_NOCTRL_EMPTY:
		return is_noctrl(v);
	case CHECK_TYPE:
		return strcmp(v, "imap") == 0 || strcmp(v, "imaps") == 0 ||
		       strcmp(v, "tunnel") == 0;
	case CHECK_BOOL:
		return strcasecmp(v, "YES") == 0 || strcasecmp(v, "NO") == 0;
	case CHECK_ASCII:
		for (const char *p = v; *p != '\0'; p++) {
			if ((unsigned char)*p >= 0x80)
				return false;
		}
		return v[0] != '\0';
	case CHECK_AUTH:
		return is_word_list(v, is_atom);
	case CHECK_SSL_PROTOCOLS:
		return is_word_list(v, is_ssl_protocol);
	case CHECK_FINGERPRINT:
		return is_word_list(v, is_fingerprint);
	case CHECK_ABSPATH:
		return v[0] == '/' && v[1] != '\0' && is_noctrl(v);
	case CHECK_TEXT:
		return v[0] != '\0' && is_text(v);
	case CHECK_TEXT_EMPTY:
		return is_text(v);
	case CHECK_SELECT_OPTS:
		for (const char *p = v; *p != '\0'; p++) {
			if (*p != ' ' && !is_atom_char(*p))
				return false;
		}
		return true;
	case CHECK_PERCENT:
		return parse_percent(v, NULL) == 0;
	case CHECK_COUNT:
		return v[0] != '\0' && strlen(v) <= 6 &&
		       strspn(v, "0123456789") == strlen(v);
	case CHECK_SECONDS:
		return v[0] != '\0' && strlen(v) <= 5 &&
		       strspn(v, "0123456789") == strlen(v) &&
		       strtoul(v, NULL, 10) >= 1 &&
		       strtoul(v, NULL, 10) <= 86400;
	}
	return false;
}

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

int
find_key(const char *name, size_t len)
{
	int k;

	for (k = 0; k < CONFIG_KEY_COUNT; k++) {
		if (strlen(keys[k].name) == len &&
		    memcmp(keys[k].name, name, len) == 0)
			return k;
	}
	return -1;
}

/* The edit distance between a and b[0..blen), letters' case ignored;
 * capped at 9 (no suggestion is that far). */
static unsigned
key_distance(const char *a, const char *b, size_t blen)
{
	unsigned row[64], diag, up, cost;
	size_t alen = strlen(a), i, j;

	if (alen >= sizeof(row) / sizeof(row[0]) || blen >= 64)
		return 9;
	for (j = 0; j <= blen; j++)
		row[j] = j;
	for (i = 1; i <= alen; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= blen; j++) {
			up = row[j];
			cost = tolower((unsigned char)a[i - 1]) !=
			       tolower((unsigned char)b[j - 1]);
			row[j] = diag + cost;
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[blen] > 9 ? 9 : row[blen];
}

/* The known key closest to an unknown one (a typo, a case slip), or NULL
 * when none is close. */
const char *
suggest_key(const char *name, size_t len)
{
	const char *best = NULL;
	unsigned d, best_d = len <= 4 ? 2 : 3;

	for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
		d = key_distance(keys[k].name, name, len);
		if (d < best_d) {
			best = keys[k].name;
			best_d = d;
		}
	}
	return best;
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
		return fail(error_r, "%s:%u: NUL byte", p->path, lineno);
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
			add_warning(p->config,
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
		return fail(error_r,
		            "%s:%u: syntax error: expected KEY = VALUE "
		            "or [SECTION]",
		            p->path, lineno);
	if (*section == SECTION_OTHER)
		return 0;
	key = find_key(start, k_end - start);
	if (key < 0) {
		const char *close = suggest_key(start, k_end - start);

		return fail(error_r, "%s:%u: unknown option \"%.*s\"%s%s%s",
		            p->path, lineno, (int)(k_end - start), start,
		            close != NULL ? " (did you mean \"" : "",
		            close != NULL ? close : "",
		            close != NULL ? "\"?)" : "");
	}
	v_start = eq + 1;
	trim(&v_start, &end);
	wipe_free(p->raw[*section][key].value);
	p->raw[*section][key].value = xstrndup(v_start, end - v_start);
	p->raw[*section][key].line = lineno;
	return 0;
}

/* Split as Config::Tiny does: on \r\r\n, \r\n, \r or \n. */
int
parse_text(struct config_parse *p, char *text, size_t len, const char **error_r)
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
parse_list_mailbox(struct config *config, const char *v)
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

static char *
take(struct raw_value *rv)
{
	return rv->value == NULL ? NULL : xstrdup(rv->value);
}

static bool
yes(const char *v)
{
	return strcasecmp(v, "YES") == 0;
}

static int
build_default(struct config_parse *p, const char **error_r)
{
	struct config *config = p->config;
	struct raw_value *raw = p->raw[SECTION_DEFAULT];
	int errcode;
	PCRE2_SIZE erroffset;
	PCRE2_UCHAR msg[256];
	char *s;

	for (int k = 0; k < CONFIG_KEY_COUNT; k++)
		config->line[k] = raw[k].line;
	config->database = take(&raw[CONFIG_DATABASE]);
	config->logfile = take(&raw[CONFIG_LOGFILE]);
	config->log_prefix = raw[CONFIG_LOG_PREFIX].value != NULL
	                         ? take(&raw[CONFIG_LOG_PREFIX])
	                         : xstrdup(CONFIG_DEFAULT_LOG_PREFIX);
	if (raw[CONFIG_LIST_MAILBOX].value != NULL &&
	    parse_list_mailbox(config, raw[CONFIG_LIST_MAILBOX].value) < 0)
		return fail(error_r,
		            "%s:%u: invalid value for list-mailbox: %s",
		            p->path, raw[CONFIG_LIST_MAILBOX].line,
		            raw[CONFIG_LIST_MAILBOX].value);
	s = raw[CONFIG_LIST_SELECT_OPTS].value;
	if (s != NULL && s[0] != '\0') {
		config->list_select_opts = xstrdup(s);
		for (s = config->list_select_opts; *s != '\0'; s++)
			*s = toupper((unsigned char)*s);
	}
	config->safety_delete =
	    raw[CONFIG_SAFETY_DELETE].value != NULL
	        ? (unsigned)strtoul(raw[CONFIG_SAFETY_DELETE].value, NULL, 10)
	        : CONFIG_DEFAULT_SAFETY_DELETE;
	config->max_create =
	    raw[CONFIG_MAX_CREATE].value != NULL
	        ? (unsigned)strtoul(raw[CONFIG_MAX_CREATE].value, NULL, 10)
	        : IMAP_MAX_MAILBOX_CREATES;
	config->timeout =
	    raw[CONFIG_TIMEOUT].value != NULL
	        ? (unsigned)strtoul(raw[CONFIG_TIMEOUT].value, NULL, 10)
	        : CONFIG_DEFAULT_TIMEOUT;
	config->connect_timeout =
	    raw[CONFIG_CONNECT_TIMEOUT].value != NULL
	        ? (unsigned)strtoul(raw[CONFIG_CONNECT_TIMEOUT].value, NULL, 10)
	        : CONFIG_DEFAULT_CONNECT_TIMEOUT;
	config->safety_merge = raw[CONFIG_SAFETY_MERGE].value == NULL ||
	                       yes(raw[CONFIG_SAFETY_MERGE].value);
	config->safety_expunge = CONFIG_DEFAULT_SAFETY_EXPUNGE;
	if (raw[CONFIG_SAFETY_EXPUNGE].value != NULL)
		(void)parse_percent(raw[CONFIG_SAFETY_EXPUNGE].value,
		                    &config->safety_expunge);
	config->ignore_mailbox = take(&raw[CONFIG_IGNORE_MAILBOX]);
	if (config->ignore_mailbox != NULL) {
		config->ignore_re = pcre2_compile(
		    (PCRE2_SPTR)config->ignore_mailbox, PCRE2_ZERO_TERMINATED,
		    0, &errcode, &erroffset, NULL);
		if (config->ignore_re == NULL) {
			pcre2_get_error_message(errcode, msg, sizeof(msg));
			return fail(error_r,
			            "%s:%u: ignore-mailbox: bad regular "
			            "expression at offset %zu: %s",
			            p->path, raw[CONFIG_IGNORE_MAILBOX].line,
			            (size_t)erroffset, (const char *)msg);
		}
	}
	return 0;
}

static void
build_side(struct config_parse *p, enum side side)
{
	struct config_side *cs = &p->config->side[side];
	struct raw_value eff[CONFIG_KEY_COUNT];
	int k;

	/* interimap starts each side from a copy of the default section */
	for (k = 0; k < CONFIG_KEY_COUNT; k++) {
		eff[k] = p->raw[1 + side][k].value != NULL
		             ? p->raw[1 + side][k]
		             : p->raw[SECTION_DEFAULT][k];
		cs->line[k] = eff[k].line;
	}
	cs->section_line = p->section_line[1 + side];
	cs->type = CONFIG_TYPE_IMAPS;
	if (eff[CONFIG_TYPE].value != NULL) {
		if (strcmp(eff[CONFIG_TYPE].value, "imap") == 0)
			cs->type = CONFIG_TYPE_IMAP;
		else if (strcmp(eff[CONFIG_TYPE].value, "tunnel") == 0)
			cs->type = CONFIG_TYPE_TUNNEL;
	}
	cs->host = eff[CONFIG_HOST].value != NULL ? take(&eff[CONFIG_HOST])
	                                          : xstrdup("localhost");
	if (eff[CONFIG_PORT].value != NULL)
		cs->port = take(&eff[CONFIG_PORT]);
	else if (cs->type != CONFIG_TYPE_TUNNEL)
		cs->port =
		    xstrdup(cs->type == CONFIG_TYPE_IMAPS ? "993" : "143");
	cs->proxy = take(&eff[CONFIG_PROXY]);
	cs->command = take(&eff[CONFIG_COMMAND]);
	cs->starttls = eff[CONFIG_STARTTLS].value == NULL ||
	               yes(eff[CONFIG_STARTTLS].value);
	cs->auth = eff[CONFIG_AUTH].value != NULL ? take(&eff[CONFIG_AUTH])
	                                          : xstrdup("PLAIN LOGIN");
	cs->username = take(&eff[CONFIG_USERNAME]);
	cs->password = take(&eff[CONFIG_PASSWORD]);
	cs->password_command = take(&eff[CONFIG_PASSWORD_COMMAND]);
	cs->password_command_timeout =
	    eff[CONFIG_PASSWORD_COMMAND_TIMEOUT].value != NULL
	        ? (unsigned)strtoul(eff[CONFIG_PASSWORD_COMMAND_TIMEOUT].value,
	                            NULL, 10)
	        : CONFIG_DEFAULT_PASSWORD_COMMAND_TIMEOUT;
	cs->compress = eff[CONFIG_COMPRESS].value != NULL
	                   ? yes(eff[CONFIG_COMPRESS].value)
	                   : side == SIDE_REMOTE;
	cs->null_stderr = eff[CONFIG_NULL_STDERR].value != NULL &&
	                  yes(eff[CONFIG_NULL_STDERR].value);
	cs->list_reference = eff[CONFIG_LIST_REFERENCE].value != NULL
	                         ? take(&eff[CONFIG_LIST_REFERENCE])
	                         : xstrdup("");
	cs->ssl_protocols = take(&eff[CONFIG_SSL_PROTOCOLS]);
	cs->ssl_protocol_min = take(&eff[CONFIG_SSL_PROTOCOL_MIN]);
	cs->ssl_protocol_max = take(&eff[CONFIG_SSL_PROTOCOL_MAX]);
	cs->ssl_fingerprint = take(&eff[CONFIG_SSL_FINGERPRINT]);
	cs->ssl_cipherlist = take(&eff[CONFIG_SSL_CIPHERLIST]);
	cs->ssl_ciphersuites = take(&eff[CONFIG_SSL_CIPHERSUITES]);
	cs->ssl_hostname = take(&eff[CONFIG_SSL_HOSTNAME]);
	cs->ssl_verify = eff[CONFIG_SSL_VERIFY].value == NULL ||
	                 yes(eff[CONFIG_SSL_VERIFY].value);
	cs->ssl_capath = take(&eff[CONFIG_SSL_CAPATH]);
	cs->ssl_cafile = take(&eff[CONFIG_SSL_CAFILE]);
}

/* interimap validates the final value of each key of the default, [local]
 * and [remote] sections (the default section against every key too). */
int
check_values(struct config_parse *p, const char **error_r)
{
	for (int s = 0; s < SECTION_COUNT; s++) {
		for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
			struct raw_value *rv = &p->raw[s][k];

			if (rv->value == NULL ||
			    value_is_valid(keys[k].check, rv->value))
				continue;
			if (k == CONFIG_PASSWORD)
				return fail(error_r,
				            "%s:%u: invalid value for password "
				            "(ASCII expected)",
				            p->path, rv->line);
			if (keys[k].check == CHECK_ABSPATH)
				return fail(error_r,
				            "%s:%u: invalid value for %s: %s "
				            "(must be an absolute path)",
				            p->path, rv->line, keys[k].name,
				            rv->value);
			return fail(error_r, "%s:%u: invalid value for %s: %s",
			            p->path, rv->line, keys[k].name, rv->value);
		}
	}
	return 0;
}

void
warn_ignored(struct config_parse *p)
{
	for (int s = 1; s < SECTION_COUNT; s++) {
		for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
			if ((keys[k].flags & KEY_DEFAULT_ONLY) == 0 ||
			    p->raw[s][k].value == NULL)
				continue;
			add_warning(p->config,
			            "%s:%u: %s is only read from the default "
			            "section (before any [section]); ignored",
			            p->path, p->raw[s][k].line, keys[k].name);
		}
	}
}

int
read_file(const char *path, char **text_r, size_t *len_r, struct stat *st_r,
          const char **error_r)
{
	struct stat st;
	char *text;
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(error_r, "%s: cannot open config file: %s", path,
		            strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(error_r, "%s: not a regular file", path);
	}
	if (st.st_size > CONFIG_MAX_FILE_SIZE) {
		close(fd);
		return fail(error_r, "%s: config file larger than %d bytes",
		            path, CONFIG_MAX_FILE_SIZE);
	}
	text = xmalloc(CONFIG_MAX_FILE_SIZE + 1);
	while (len < CONFIG_MAX_FILE_SIZE) {
		n = read(fd, text + len, CONFIG_MAX_FILE_SIZE - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(error_r, "%s: read: %s", path, strerror(errno));
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

/* Whether a proxy URL carries a password (socks5://user:pass@...). */
static bool
proxy_has_password(const char *proxy)
{
	struct transport_socks5_url url;
	const char *error;
	bool ret;

	if (proxy == NULL)
		return false;
	ret = transport_socks5_parse_url(proxy, &url, &error) == 0 &&
	      url.password[0] != '\0';
	sodium_memzero(&url, sizeof(url));
	return ret;
}

/* The file's commands (command=, password-command=) run as the user, and
 * its passwords are theirs: say so when someone else could write it or
 * read them. */
static void
warn_file_trust(struct config *config, const char *path, const struct stat *st,
                bool has_password)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		add_warning(config,
		            "%s belongs to uid %ld, not to you: its owner "
		            "chooses the commands imapsync runs as you "
		            "(chown it, or use a copy of your own)",
		            path, (long)st->st_uid);
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		add_warning(config,
		            "%s is writable by group or others (mode %04o), "
		            "who choose the commands imapsync runs as you "
		            "(chmod go-w %s)",
		            path, (unsigned)(st->st_mode & 07777), path);
	if (has_password && (st->st_mode & 077) != 0)
		add_warning(config,
		            "%s: holds a password but its mode is %04o: "
		            "others may read it (chmod 600 %s)",
		            path, (unsigned)(st->st_mode & 07777), path);
}

int
config_load(const char *path, struct config **config_r, const char **error_r)
{
	struct config_parse p;
	struct config *config;
	char *text = NULL;
	size_t len = 0;
	struct stat st = {0};
	bool has_password = false;
	int ret;

	*config_r = NULL;
	if (read_file(path, &text, &len, &st, error_r) < 0)
		return -1;
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.config = config = xcalloc(1, sizeof(*config));
	config->path = xstrdup(path);

	ret = parse_text(&p, text, len, error_r);
	sodium_memzero(text, len);
	free(text);
	if (ret == 0 && p.section_line[1 + SIDE_LOCAL] == 0)
		ret = fail(error_r, "%s: no [local] section", path);
	if (ret == 0 && p.section_line[1 + SIDE_REMOTE] == 0)
		ret = fail(error_r, "%s: no [remote] section", path);
	if (ret == 0)
		ret = check_values(&p, error_r);
	if (ret == 0)
		ret = build_default(&p, error_r);
	if (ret == 0) {
		warn_ignored(&p);
		build_side(&p, SIDE_LOCAL);
		build_side(&p, SIDE_REMOTE);
	}
	for (int s = 0; s < SECTION_COUNT; s++) {
		if (p.raw[s][CONFIG_PASSWORD].value != NULL ||
		    proxy_has_password(p.raw[s][CONFIG_PROXY].value))
			has_password = true;
		for (int k = 0; k < CONFIG_KEY_COUNT; k++)
			wipe_free(p.raw[s][k].value);
	}
	if (ret < 0) {
		config_free(&config);
		return -1;
	}
	warn_file_trust(config, path, &st, has_password);
	*config_r = config;
	return 0;
}

static void
side_free(struct config_side *cs)
{
	char **strs[] = {
	    &cs->host,
	    &cs->port,
	    &cs->command,
	    &cs->password_command,
	    &cs->auth,
	    &cs->username,
	    &cs->list_reference,
	    &cs->ssl_protocols,
	    &cs->ssl_protocol_min,
	    &cs->ssl_protocol_max,
	    &cs->ssl_fingerprint,
	    &cs->ssl_cipherlist,
	    &cs->ssl_ciphersuites,
	    &cs->ssl_hostname,
	    &cs->ssl_capath,
	    &cs->ssl_cafile,
	};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	wipe_free(cs->password);
	wipe_free(cs->proxy);
}

void
config_forget_secrets(struct config *config)
{
	for (int s = 0; s < SIDE_COUNT; s++) {
		struct config_side *cs = &config->side[s];

		wipe_free(cs->password);
		cs->password = NULL;
		/* socks5://user:password@... */
		wipe_free(cs->proxy);
		cs->proxy = NULL;
	}
}

void
config_free(struct config **_config)
{
	struct config *config = *_config;

	if (config == NULL)
		return;
	*_config = NULL;
	free(config->path);
	free(config->database);
	free(config->logfile);
	free(config->log_prefix);
	for (size_t i = 0; i < config->list_mailbox_count; i++)
		free(config->list_mailbox[i].name);
	free(config->list_mailbox);
	free(config->list_select_opts);
	free(config->ignore_mailbox);
	pcre2_code_free(config->ignore_re);
	for (int s = 0; s < SIDE_COUNT; s++)
		side_free(&config->side[s]);
	for (size_t i = 0; i < config->warning_count; i++)
		free(config->warnings[i]);
	free(config->warnings);
	free(config);
}

static bool
is_tls_version(const char *v)
{
	return is_ssl_protocol(v, strlen(v)) && v[0] != '!' &&
	       strcmp(v, "SSLv2") != 0;
}

int
config_check_supported(const struct config *config, const char **error_r)
{
	struct transport_socks5_url url;
	const char *uerr;

	for (int s = 0; s < SIDE_COUNT; s++) {
		const struct config_side *cs = &config->side[s];
		const char *name = side_name(s);

		if (cs->type == CONFIG_TYPE_TUNNEL) {
			if (cs->command == NULL)
				return fail(error_r,
				            "%s:%u: [%s] type=tunnel needs a "
				            "command",
				            config->path, cs->section_line,
				            name);
			continue;
		}
		if (cs->proxy != NULL &&
		    transport_socks5_parse_url(cs->proxy, &url, &uerr) < 0) {
			sodium_memzero(&url, sizeof(url));
			return fail(error_r, "%s:%u: [%s] %s", config->path,
			            cs->line[CONFIG_PROXY], name, uerr);
		}
		sodium_memzero(&url, sizeof(url));
		if (cs->ssl_protocol_min != NULL &&
		    !is_tls_version(cs->ssl_protocol_min))
			return fail(error_r,
			            "%s:%u: [%s] invalid SSL_protocol_min: %s "
			            "(TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)",
			            config->path,
			            cs->line[CONFIG_SSL_PROTOCOL_MIN], name,
			            cs->ssl_protocol_min);
		if (cs->ssl_protocol_max != NULL &&
		    !is_tls_version(cs->ssl_protocol_max))
			return fail(error_r,
			            "%s:%u: [%s] invalid SSL_protocol_max: %s "
			            "(TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)",
			            config->path,
			            cs->line[CONFIG_SSL_PROTOCOL_MAX], name,
			            cs->ssl_protocol_max);
		if (cs->password != NULL && cs->password_command != NULL)
			return fail(error_r,
			            "%s:%u: [%s] password and password-command "
			            "are both set: keep one",
			            config->path,
			            cs->line[CONFIG_PASSWORD_COMMAND], name);
	}
	return 0;
}

bool
config_ignore_mailbox(const struct config *config, const char *name, size_t len)
{
	pcre2_match_data *md;
	int rc;

	if (config->ignore_re == NULL)
		return false;
	md = pcre2_match_data_create_from_pattern(config->ignore_re, NULL);
	if (md == NULL)
		xmalloc_fatal(0);
	rc = pcre2_match(config->ignore_re, (PCRE2_SPTR)name, len, 0, 0, md,
	                 NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}
