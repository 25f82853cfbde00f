/* SPDX-License-Identifier: GPL-3.0-or-later */
/* config_load(): the file read (config-parse.c), its values checked
 * (config-keys.c) and built into a struct config with interimap's
 * defaults; the warnings that do not stop a run; config_free(). */
#include "config-private.h"

#include "limits.h"
#include "transport.h"
#include "xmalloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <pcre2.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char config_error[1024];

int
config_fail(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(config_error, sizeof(config_error), fmt, ap);
	va_end(ap);
	*error_r = config_error;
	return -1;
}

void
config_wipe_free(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

void
config_add_warning(struct config *config, const char *fmt, ...)
{
	va_list ap;

	config->warnings =
	    xreallocarray(config->warnings, config->warning_count + 1,
	                  sizeof(*config->warnings));
	va_start(ap, fmt);
	config->warnings[config->warning_count++] = xvasprintf(fmt, ap);
	va_end(ap);
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
	    config_parse_list_mailbox(config, raw[CONFIG_LIST_MAILBOX].value) <
	        0)
		return config_fail(error_r,
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
		(void)config_parse_percent(raw[CONFIG_SAFETY_EXPUNGE].value,
		                           &config->safety_expunge);
	config->ignore_mailbox = take(&raw[CONFIG_IGNORE_MAILBOX]);
	if (config->ignore_mailbox != NULL) {
		config->ignore_re = pcre2_compile(
		    (PCRE2_SPTR)config->ignore_mailbox, PCRE2_ZERO_TERMINATED,
		    0, &errcode, &erroffset, NULL);
		if (config->ignore_re == NULL) {
			pcre2_get_error_message(errcode, msg, sizeof(msg));
			return config_fail(
			    error_r,
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
		config_add_warning(
		    config,
		    "%s belongs to uid %ld, not to you: its owner "
		    "chooses the commands imapsync runs as you "
		    "(chown it, or use a copy of your own)",
		    path, (long)st->st_uid);
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		config_add_warning(
		    config,
		    "%s is writable by group or others (mode %04o), "
		    "who choose the commands imapsync runs as you "
		    "(chmod go-w %s)",
		    path, (unsigned)(st->st_mode & 07777), path);
	if (has_password && (st->st_mode & 077) != 0)
		config_add_warning(config,
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
	if (config_read_file(path, &text, &len, &st, error_r) < 0)
		return -1;
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.config = config = xcalloc(1, sizeof(*config));
	config->path = xstrdup(path);

	ret = config_parse_text(&p, text, len, error_r);
	sodium_memzero(text, len);
	free(text);
	if (ret == 0 && p.section_line[1 + SIDE_LOCAL] == 0)
		ret = config_fail(error_r, "%s: no [local] section", path);
	if (ret == 0 && p.section_line[1 + SIDE_REMOTE] == 0)
		ret = config_fail(error_r, "%s: no [remote] section", path);
	if (ret == 0)
		ret = config_check_values(&p, error_r);
	if (ret == 0)
		ret = build_default(&p, error_r);
	if (ret == 0) {
		config_warn_ignored(&p);
		build_side(&p, SIDE_LOCAL);
		build_side(&p, SIDE_REMOTE);
	}
	for (int s = 0; s < SECTION_COUNT; s++) {
		if (p.raw[s][CONFIG_PASSWORD].value != NULL ||
		    proxy_has_password(p.raw[s][CONFIG_PROXY].value))
			has_password = true;
		for (int k = 0; k < CONFIG_KEY_COUNT; k++)
			config_wipe_free(p.raw[s][k].value);
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
	config_wipe_free(cs->password);
	config_wipe_free(cs->proxy);
}

void
config_forget_secrets(struct config *config)
{
	for (int s = 0; s < SIDE_COUNT; s++) {
		struct config_side *cs = &config->side[s];

		config_wipe_free(cs->password);
		cs->password = NULL;
		/* socks5://user:password@... */
		config_wipe_free(cs->proxy);
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
