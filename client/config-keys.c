/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The keys: each key a config file may set, where it may be set, and the
 * check of its value (interimap's read_config() regexes, one by one),
 * the suggestion for a key mistyped, and config_check_supported(), what
 * imapsync refuses of values interimap would take. */
#include "config-private.h"

#include "transport.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
config_parse_percent(const char *v, unsigned *percent_r)
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
		return config_parse_percent(v, NULL) == 0;
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

int
config_find_key(const char *name, size_t len)
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
config_suggest_key(const char *name, size_t len)
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

/* interimap validates the final value of each key of the default, [local]
 * and [remote] sections (the default section against every key too). */
int
config_check_values(struct config_parse *p, const char **error_r)
{
	for (int s = 0; s < SECTION_COUNT; s++) {
		for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
			struct raw_value *rv = &p->raw[s][k];

			if (rv->value == NULL ||
			    value_is_valid(keys[k].check, rv->value))
				continue;
			if (k == CONFIG_PASSWORD)
				return config_fail(
				    error_r,
				    "%s:%u: invalid value for password "
				    "(ASCII expected)",
				    p->path, rv->line);
			if (keys[k].check == CHECK_ABSPATH)
				return config_fail(
				    error_r,
				    "%s:%u: invalid value for %s: %s "
				    "(must be an absolute path)",
				    p->path, rv->line, keys[k].name, rv->value);
			return config_fail(
			    error_r, "%s:%u: invalid value for %s: %s", p->path,
			    rv->line, keys[k].name, rv->value);
		}
	}
	return 0;
}

void
config_warn_ignored(struct config_parse *p)
{
	for (int s = 1; s < SECTION_COUNT; s++) {
		for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
			if ((keys[k].flags & KEY_DEFAULT_ONLY) == 0 ||
			    p->raw[s][k].value == NULL)
				continue;
			config_add_warning(
			    p->config,
			    "%s:%u: %s is only read from the default "
			    "section (before any [section]); ignored",
			    p->path, p->raw[s][k].line, keys[k].name);
		}
	}
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
				return config_fail(
				    error_r,
				    "%s:%u: [%s] type=tunnel needs a "
				    "command",
				    config->path, cs->section_line, name);
			continue;
		}
		if (cs->proxy != NULL &&
		    transport_socks5_parse_url(cs->proxy, &url, &uerr) < 0) {
			sodium_memzero(&url, sizeof(url));
			return config_fail(error_r, "%s:%u: [%s] %s",
			                   config->path, cs->line[CONFIG_PROXY],
			                   name, uerr);
		}
		sodium_memzero(&url, sizeof(url));
		if (cs->ssl_protocol_min != NULL &&
		    !is_tls_version(cs->ssl_protocol_min))
			return config_fail(
			    error_r,
			    "%s:%u: [%s] invalid SSL_protocol_min: %s "
			    "(TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)",
			    config->path, cs->line[CONFIG_SSL_PROTOCOL_MIN],
			    name, cs->ssl_protocol_min);
		if (cs->ssl_protocol_max != NULL &&
		    !is_tls_version(cs->ssl_protocol_max))
			return config_fail(
			    error_r,
			    "%s:%u: [%s] invalid SSL_protocol_max: %s "
			    "(TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)",
			    config->path, cs->line[CONFIG_SSL_PROTOCOL_MAX],
			    name, cs->ssl_protocol_max);
		if (cs->password != NULL && cs->password_command != NULL)
			return config_fail(
			    error_r,
			    "%s:%u: [%s] password and password-command "
			    "are both set: keep one",
			    config->path, cs->line[CONFIG_PASSWORD_COMMAND],
			    name);
	}
	return 0;
}
