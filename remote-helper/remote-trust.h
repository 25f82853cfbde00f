/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Whether a file the helper reads or runs can be trusted: only root and
 * the calling user may have written it or be able to replace it. */
#ifndef REMOTE_TRUST_H
#define REMOTE_TRUST_H

/* Check path (what names it in the error: "settings", "dovecot.conf",
 * "doveadm"): with symlinks resolved, a regular file owned by root or by
 * the calling user and not writable by group or others, in directories
 * that are likewise owned and not writable by others (a sticky directory
 * owned by root, such as /tmp, is accepted: nobody else can replace a
 * file in it). Returns 0, or -1 with *error_r. */
int remote_trust_file(const char *path, const char *what,
                      const char **error_r);

/* Refuse a settings file inside a Dovecot mail store (a directory on its
 * way up to / holds Dovecot's index or uidlist files, or it sits in a
 * maildir's cur/new/tmp): whoever can send mail or APPEND to the account
 * writes files there. Returns 0, or -1 with *error_r. */
int remote_trust_not_in_mail_store(const char *path, const char **error_r);

#endif
