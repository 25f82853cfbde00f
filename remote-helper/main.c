/* SPDX-License-Identifier: GPL-3.0-or-later */
/* imapsync-remote: the forced command of the key imapsync's client uses.
 *
 * sshd runs it for every connection made with that key, whatever the
 * client asked for; the client's request is only in SSH_ORIGINAL_COMMAND,
 * which is untrusted: empty or exactly "imap" starts Dovecot's imap,
 * pre-authenticated for the user the key belongs to; anything else gets a
 * "* BYE", a syslog line naming the client's address and exit status 1. */
#include "lib.h"
#include "str-sanitize.h"

#include "remote-session.h"
#include "remote-settings.h"
#include "remote-trust.h"

#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define REMOTE_NAME "imapsync-remote"
/* The one request besides none at all that the client makes. */
#define REMOTE_COMMAND "imap"

#ifndef IMAPSYNC_VERSION
#define IMAPSYNC_VERSION "0.1"
#endif

/* Exit statuses, as imapsync's: 1 refused, 2 usage, 3 setup failure. */
#define REMOTE_EXIT_REFUSED 1
#define REMOTE_EXIT_USAGE 2
#define REMOTE_EXIT_SETUP 3

/* --check: a person reads the output, not an IMAP client. */
static bool remote_by_hand = FALSE;

/* Say why on the IMAP stream, where the client looks first, then leave;
   with --check, on stderr alone. */
static void ATTR_NORETURN ATTR_FORMAT(2, 3)
    remote_bye(int status, const char *fmt, ...)
{
	va_list args;
	const char *reason;

	va_start(args, fmt);
	reason = t_strdup_vprintf(fmt, args);
	va_end(args);
	i_error("%s", reason);
	if (!remote_by_hand)
		printf("* BYE %s: %s\r\n", REMOTE_NAME, reason);
	fflush(stdout);
	lib_exit(status);
}

/* The client's address from sshd ("addr port addr port"), for the log. */
static const char *
remote_client_address(void)
{
	const char *conn = getenv("SSH_CONNECTION");

	if (conn == NULL || *conn == '\0')
		return "an unknown address (not started by sshd)";
	return str_sanitize(t_strcut(conn, ' '), 64);
}

static void ATTR_NORETURN
remote_refuse(const struct passwd *pw, const char *command)
{
	const char *client = remote_client_address();

	openlog(REMOTE_NAME, LOG_PID, LOG_AUTHPRIV);
	syslog(LOG_WARNING, "refused command \"%s\" from %s for user %s",
	       str_sanitize(command, 200), client, pw->pw_name);
	closelog();
	remote_bye(REMOTE_EXIT_REFUSED,
	           "this key only starts an IMAP session (refused \"%s\")",
	           str_sanitize(command, 80));
}

static void ATTR_NORETURN
remote_usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	        "usage: %s [--config=FILE] [--check] | --version\n"
	        "  Forced command of an authorized_keys line: starts "
	        "Dovecot's imap,\n  pre-authenticated for this user. "
	        "--check tests that it works.\n"
	        "  Settings: --config=FILE, else $IMAPSYNC_REMOTE_CONF "
	        "(ignored when\n  started by sshd), else %s.\n",
	        REMOTE_NAME, REMOTE_SETTINGS_DEFAULT_PATH);
	lib_exit(status);
}

/* Whether sshd started us: then the environment is partly the key
 * holder's (AcceptEnv, SetEnv), and only the authorized_keys line and
 * the files of root and the user may choose what runs. */
static bool
remote_from_sshd(void)
{
	return getenv("SSH_CONNECTION") != NULL ||
	       getenv("SSH_CLIENT") != NULL ||
	       getenv("SSH_ORIGINAL_COMMAND") != NULL;
}

/* $IMAPSYNC_REMOTE_CONF, for running the helper by hand; ignored (and
 * logged) in a session from sshd, where the client may have set it. */
static const char *
remote_env_config(const struct passwd *pw)
{
	const char *conf = getenv("IMAPSYNC_REMOTE_CONF");

	if (conf == NULL || conf[0] == '\0' || !remote_from_sshd())
		return conf;
	openlog(REMOTE_NAME, LOG_PID, LOG_AUTHPRIV);
	syslog(LOG_WARNING,
	       "ignored IMAPSYNC_REMOTE_CONF=\"%s\" from %s for user %s: "
	       "sshd passed it on (AcceptEnv?); name the settings with "
	       "--config= in authorized_keys",
	       str_sanitize(conf, 200), remote_client_address(), pw->pw_name);
	closelog();
	i_warning("ignored IMAPSYNC_REMOTE_CONF: in a session from sshd only "
	          "--config= in authorized_keys names the settings");
	return NULL;
}

/* The files the settings name pass the checks the settings file passed;
 * doveadm is pinned to the file checked, so PATH cannot change it. */
static int
remote_trust_settings(struct remote_settings *set, const char **error_r)
{
	const char *doveadm;

	if (set->path != NULL &&
	    remote_trust_file(set->path, "settings", error_r) < 0)
		return -1;
	if (set->dovecot_config != NULL &&
	    remote_trust_file(set->dovecot_config, "dovecot.conf", error_r) < 0)
		return -1;
	doveadm = remote_session_find_doveadm(set->doveadm);
	if (doveadm == NULL) {
		/* The exec, or --check, says it is missing. */
		return 0;
	}
	if (remote_trust_file(doveadm, "doveadm", error_r) < 0)
		return -1;
	set->doveadm = p_strdup(default_pool, doveadm);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct remote_settings set;
	const struct passwd *pw;
	const char *conf = NULL, *command, *error;
	bool check = FALSE, must_exist = TRUE;
	int i;

	lib_init();
	i_set_failure_prefix("%s: ", REMOTE_NAME);
	/* The session's files (Dovecot's indexes, logs) are the user's
	   alone, whatever umask sshd or PAM left. */
	umask(0077);

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--check") == 0)
			check = remote_by_hand = TRUE;
		else if (strcmp(argv[i], "--version") == 0 ||
		         strcmp(argv[i], "-V") == 0) {
			printf("%s %s\n", REMOTE_NAME, IMAPSYNC_VERSION);
			lib_exit(0);
		} else if (str_begins(argv[i], "--config="))
			conf = argv[i] + 9;
		else if (strcmp(argv[i], "--help") == 0)
			remote_usage(0);
		else
			remote_usage(REMOTE_EXIT_USAGE);
	}
	/* Dovecot refuses root too; a root session would also own files in
	   every user's mail with the wrong owner. */
	if (getuid() == 0 || geteuid() == 0)
		remote_bye(REMOTE_EXIT_SETUP,
		           "refusing to run as root: put "
		           "the key in the mail user's authorized_keys");
	if (getuid() != geteuid())
		remote_bye(REMOTE_EXIT_SETUP, "refusing to run set-user-ID");
	pw = getpwuid(getuid());
	if (pw == NULL || pw->pw_dir == NULL || pw->pw_dir[0] != '/')
		remote_bye(REMOTE_EXIT_SETUP,
		           "uid %ld has no user entry "
		           "with a home directory",
		           (long)getuid());

	if (!check) {
		command = getenv("SSH_ORIGINAL_COMMAND");
		if (command != NULL && command[0] != '\0' &&
		    strcmp(command, REMOTE_COMMAND) != 0)
			remote_refuse(pw, command);
	}

	if (conf == NULL)
		conf = remote_env_config(pw);
	if (conf == NULL || conf[0] == '\0') {
		conf = REMOTE_SETTINGS_DEFAULT_PATH;
		must_exist = FALSE;
	}
	if (remote_settings_read(conf, must_exist, &set, &error) < 0 ||
	    (set.path != NULL &&
	     remote_trust_not_in_mail_store(set.path, &error) < 0) ||
	    remote_trust_settings(&set, &error) < 0)
		remote_bye(REMOTE_EXIT_SETUP, "%s", error);

	if (check)
		lib_exit(remote_session_check(&set, pw));
	remote_session_exec(&set, pw);
}
