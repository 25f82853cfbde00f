/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The helper's own settings: which Dovecot to start and with which
 * dovecot.conf. Read from one small "key = value" file that the server's
 * administrator or the user writes; never from the SSH client. */
#ifndef REMOTE_SETTINGS_H
#define REMOTE_SETTINGS_H

/* Where the settings are read from when neither --config=FILE nor (outside
 * sshd) $IMAPSYNC_REMOTE_CONF names a file; a missing file means
 * defaults. */
#define REMOTE_SETTINGS_DEFAULT_PATH "/etc/imapsync/remote.conf"

struct remote_settings {
	/* Passed to doveadm as -c; NULL: Dovecot's own default. */
	const char *dovecot_config;
	/* doveadm, as a path or a name looked up in the cleaned PATH. */
	const char *doveadm;
	/* The file the settings came from, or NULL for defaults only. */
	const char *path;
};

/* Fill set_r from path (allocated from the data stack frame the caller is
 * in, or the default pool for the process lifetime). A missing file gives
 * the defaults when must_exist is false. The file must belong to root or
 * to the calling user and must not be writable by anyone else, so another
 * local user cannot choose the program the key runs. Returns 0, or -1 with
 * *error_r. */
int remote_settings_read(const char *path, bool must_exist,
                         struct remote_settings *set_r, const char **error_r);

#endif
