/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The configuration file: interimap's INI format (Config::Tiny syntax),
 * keys, meanings and defaults, so a user switches by pointing imapsync at
 * the config they have. Keys of the default section (before any
 * [section]) are inherited by [local] and [remote], as in interimap.
 *
 * Every error reads "FILE:LINE: what is wrong" (or "FILE: ..." when no
 * line is to blame). Strings returned through error_r live in a static
 * buffer, valid until the next config_* call. */
#ifndef CLIENT_CONFIG_H
#define CLIENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "side.h"

struct buf;

/* The default of safety-expunge, in percent. */
#define CONFIG_DEFAULT_SAFETY_EXPUNGE 50

/* The default of safety-delete, in mailboxes. */
#define CONFIG_DEFAULT_SAFETY_DELETE 10

/* The default of password-command-timeout, in seconds: room to type a
 * passphrase into a prompt, not to wait for ever. */
#define CONFIG_DEFAULT_PASSWORD_COMMAND_TIMEOUT 60

/* The defaults of timeout and connect-timeout, in seconds. */
#define CONFIG_DEFAULT_TIMEOUT 300
#define CONFIG_DEFAULT_CONNECT_TIMEOUT 60

/* The default log-prefix of interimap: "local(INBOX): " and such. */
#define CONFIG_DEFAULT_LOG_PREFIX "%?n?%?m?%n(%m)&%n?: ?"

/* Every key interimap 0.5.7 accepts, in any section, and imapsync's own
 * few (which interimap would refuse). */
enum config_key {
	CONFIG_DATABASE,
	CONFIG_LOGFILE,
	CONFIG_LOG_PREFIX,
	CONFIG_LIST_MAILBOX,
	CONFIG_LIST_SELECT_OPTS,
	CONFIG_LIST_REFERENCE,
	CONFIG_IGNORE_MAILBOX,
	CONFIG_TYPE,
	CONFIG_HOST,
	CONFIG_PORT,
	CONFIG_PROXY,
	CONFIG_COMMAND,
	CONFIG_STARTTLS,
	CONFIG_AUTH,
	CONFIG_USERNAME,
	CONFIG_PASSWORD,
	CONFIG_PASSWORD_COMMAND, /* imapsync's own */
	CONFIG_COMPRESS,
	CONFIG_NULL_STDERR,
	CONFIG_SSL_PROTOCOLS,
	CONFIG_SSL_PROTOCOL_MIN,
	CONFIG_SSL_PROTOCOL_MAX,
	CONFIG_SSL_FINGERPRINT,
	CONFIG_SSL_CIPHERLIST,
	CONFIG_SSL_CIPHERSUITES,
	CONFIG_SSL_HOSTNAME,
	CONFIG_SSL_VERIFY,
	CONFIG_SSL_CAPATH,
	CONFIG_SSL_CAFILE,
	/* imapsync's own, default section: the safety brake. */
	CONFIG_SAFETY_EXPUNGE,
	CONFIG_SAFETY_DELETE,
	CONFIG_MAX_CREATE,
	/* imapsync's own, any section. */
	CONFIG_PASSWORD_COMMAND_TIMEOUT,
	/* imapsync's own, default section: how long a server may take. */
	CONFIG_TIMEOUT,
	CONFIG_CONNECT_TIMEOUT,
	/* imapsync's own, default section: the first-run brake. */
	CONFIG_SAFETY_MERGE,
	CONFIG_KEY_COUNT
};

enum config_type {
	CONFIG_TYPE_IMAP,
	CONFIG_TYPE_IMAPS,
	CONFIG_TYPE_TUNNEL,
};

/* One list-mailbox pattern: bytes as written after unescaping, with NUL
 * standing for the hierarchy delimiter (hence the length). */
struct config_mailbox {
	char *name;
	size_t len;
};

/* One of [local] and [remote], with the default section folded in and
 * interimap's defaults applied. Strings are NULL when unset. */
struct config_side {
	enum config_type type; /* default imaps */
	char *host;            /* default "localhost", even for tunnels */
	char *port;            /* a service: 993, 143, NULL for tunnels */
	char *proxy;           /* socks5[h]://[user:pass@]host[:port] */
	char *command;         /* type=tunnel */
	bool starttls;         /* default YES; only type=imap reads it */
	char *auth;            /* default "PLAIN LOGIN" */
	char *username;
	char *password; /* wiped when freed */
	/* Run through /bin/sh -c; the first line it prints is the
	 * password (imapsync's own key). */
	char *password_command;
	/* Seconds password-command may take; 0: no limit. */
	unsigned password_command_timeout;
	bool compress; /* default NO for [local], YES for [remote] */
	bool null_stderr;
	char *list_reference; /* default "" */
	char *ssl_protocols;  /* deprecated in interimap */
	char *ssl_protocol_min, *ssl_protocol_max;
	char *ssl_fingerprint; /* "[ALGO$]HEX ..." */
	char *ssl_cipherlist, *ssl_ciphersuites;
	char *ssl_hostname; /* NULL: from host; "" disables SNI */
	bool ssl_verify;    /* default YES */
	char *ssl_capath, *ssl_cafile;

	/* Line of the value each key took (in the side's section or in the
	 * default section), 0 when the default applies. */
	unsigned line[CONFIG_KEY_COUNT];
	/* Line of the section's first [header]. */
	unsigned section_line;
};

struct config {
	char *path;
	/* Keys read only from the default section, as in interimap. */
	char *database;   /* as written; see config_database_path() */
	char *logfile;    /* absolute */
	char *log_prefix; /* CONFIG_DEFAULT_LOG_PREFIX when unset */
	struct config_mailbox *list_mailbox; /* none: every mailbox ("*") */
	size_t list_mailbox_count;
	char *list_select_opts; /* upper-cased; NULL when unset or empty */
	char *ignore_mailbox;   /* the pattern as written */
	void *ignore_re;        /* its compiled pcre2_code */
	/* safety-expunge: the share of a side's paired messages (percent)
	 * a run may expunge before it stops and asks for --force. */
	unsigned safety_expunge;
	/* safety-delete: how many mailboxes deleted on one side a run may
	 * delete on the other before it stops and asks for --force. */
	unsigned safety_delete;
	/* safety-merge: a first run stops before merging two sides that
	 * both hold mail (YES, the default) or merges them (NO). */
	bool safety_merge;
	/* max-create: how many mailboxes one run creates on a side. */
	unsigned max_create;
	/* timeout: seconds a server may take to answer a command (more
	 * while data flows), and to send nothing at all; connect-timeout:
	 * seconds to connect, be greeted and log in, whatever comes. */
	unsigned timeout, connect_timeout;
	unsigned line[CONFIG_KEY_COUNT]; /* default-section lines */

	struct config_side side[SIDE_COUNT];

	/* Things worth telling the user that do not stop the run (a file
	 * holding a password readable by others, ignored keys). */
	char **warnings;
	size_t warning_count;
};

/* The config file to read: arg (from --config; NULL for "config") when
 * absolute, else relative to $XDG_CONFIG_HOME/imapsync/ or
 * ~/.config/imapsync/. *path_r is the caller's to free. */
int config_resolve_path(const char *arg, char **path_r, const char **error_r);

/* Read and check the file. *config_r is the caller's, for config_free().
 * Warnings, if any, are in (*config_r)->warnings. */
int config_load(const char *path, struct config **config_r,
                const char **error_r);
/* Wipe and drop the secrets (password, proxy) of both sides, once they
 * are sent and no reconnection will need them. */
void config_forget_secrets(struct config *config);

/* Free the config, wiping the passwords; sets *config to NULL. */
void config_free(struct config **config);

/* The state database: `database`, or "HOST.db" from [remote]'s host when
 * unset (interimap: so "localhost.db" for a tunnel without host); when
 * relative, under $XDG_DATA_HOME/imapsync/ or ~/.local/share/imapsync/.
 * *path_r is the caller's to free. Creates nothing. */
int config_database_path(const struct config *config, char **path_r,
                         const char **error_r);

/* Refuse a database path that is a symbolic link (or not a regular file)
 * or whose existing directory another user owns or may write: the
 * database decides what gets deleted. 0, or -1 with *error_r. */
int config_database_check(const char *path, const char **error_r);

/* -1 and an error naming the key and FILE:LINE for the first setting that
 * cannot work: a tunnel without a command, a proxy that is not a SOCKS5
 * URL, an unknown TLS version, both password and password-command. */
int config_check_supported(const struct config *config, const char **error_r);

/* Whether the ignore-mailbox pattern matches a mailbox name (NUL for the
 * hierarchy delimiter, list-reference trimmed); false without a pattern. */
bool config_ignore_mailbox(const struct config *config, const char *name,
                           size_t len);

/* Append log-prefix fmt expanded as interimap does to buf: %n the side
 * name, %m the mailbox (either may be NULL, i.e. empty), %% a %, and
 * %?X?then&else? conditionals on whether %X is non-empty; \&, \? and \\
 * stand for &, ? and \. -1 when buf's cap is reached. */
int config_log_prefix_format(const char *fmt, const char *side_name,
                             const char *mailbox, struct buf *buf)
    __attribute__((warn_unused_result));

#endif
